// alert_rule.h
// An alert rule: what to watch for (a type, its threshold and window, the
// filters of `pveam access log`), stored with every other rule as one JSON
// document in the store's settings (key "alert.rules"), so the CLI of every
// node, the web UI and pveauditd share them. docs/alerts.md describes the
// types and their semantics.
// Thread safety: plain value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/filter.h"
#include "core/status.h"

namespace pveaudit {

// The settings key of the rules document.
inline constexpr std::string_view kAlertRulesKey = "alert.rules";
// Event.source of a fired alert.
inline constexpr std::string_view kAlertSource = "pveaudit-alert";

enum class AlertType {
  kFailedLogin,
  kBruteForceSuccess,
  kActionRate,
  kOffHours,
  kPrivilegeChange,
  kNewIp,
};

// "failed-login", "brute-force-success", ...
const char* AlertTypeName(AlertType t);
bool ParseAlertType(std::string_view s, AlertType* out);
// Every type name, in the order of docs/alerts.md.
std::vector<std::string> AlertTypeNames();

struct AlertRule {
  uint64_t id = 0;
  AlertType type = AlertType::kFailedLogin;
  uint64_t threshold = 3;
  int64_t window_us = 15 * 60 * 1000000LL;
  int64_t cooldown_us = 15 * 60 * 1000000LL;
  std::string group_by = "user";  // user, ip, resource or action
  bool enabled = true;
  std::vector<std::string> notify;  // "syslog", "webhook": for the export destinations
  // Filters as given to `pveam access alert add` (the same as `pveam access
  // log`'s); "" = not set.
  std::string user, node, resource, ip, action;
  std::string start, end;  // off-hours: times of day "HH:MM"
  std::string days;        // off-hours: "mon-fri", "sat,sun", "" = every day
  // The rule judges events stored after it was added (id > from_id), so
  // adding a rule does not raise alerts for last year's logs.
  uint64_t from_id = 0;
  int64_t created_us = 0;
  std::string created_by;
};

struct AlertRuleSet {
  uint64_t next_id = 1;
  std::vector<AlertRule> rules;
};

// The settings document and back. Parsing names the bad key.
std::string AlertRuleSetToJson(const AlertRuleSet& set);
Result<AlertRuleSet> AlertRuleSetFromJson(std::string_view text);
// One rule as `pveam access alert list --output-format json` shows it.
std::string AlertRuleToJson(const AlertRule& r);

// "15m", "90s", "1h", "2d", "1w" or a number of seconds -> microseconds.
// False on anything else (a zero or negative duration too).
bool ParseDuration(std::string_view text, int64_t* us);
// The shortest exact form: "15m", "1h30m" -> "90m", "45s".
std::string FormatDuration(int64_t us);

// "mon-fri", "sat,sun", "mon,wed-fri" -> bit mask (bit 0 = Sunday, as
// struct tm's tm_wday). False on anything else.
bool ParseWeekdays(std::string_view text, uint8_t* mask);

// The rule's filter (core/filter.h) and weekday mask, checked. Errors name
// the rule and the bad value.
struct RuleMatcher {
  Filter filter;
  uint8_t weekdays = 0x7f;
};
Result<RuleMatcher> MakeRuleMatcher(const AlertRule& r);

// True when `e` passes the rule's filters: the same comparisons as `pveam
// access log` (query/log_query.cc) makes on an event, plus the weekdays.
bool RuleMatches(const RuleMatcher& m, const Event& e);

// The defaults `pveam access alert add --type T` fills in: failed-login is
// the product page's rule (3 attempts within 15 minutes).
AlertRule DefaultRule(AlertType t);

// One line describing the rule, for audit events and text output:
// "failed-login: 3 within 15m per user".
std::string DescribeRule(const AlertRule& r);

}  // namespace pveaudit

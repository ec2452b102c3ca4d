// quarterly.h
// The product page's "Quarterly Audit Template" as code: the five checks
// (user list verification, permission review, 2FA compliance, expired
// accounts, orphaned permissions) produce Findings with severity, subject,
// evidence and a suggested fix; the review renders as one self-contained
// HTML page plus CSV/JSON of the findings. docs/reports.md states every
// rule.
// Thread safety: pure functions of their inputs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pve/access_config.h"
#include "report/model.h"
#include "report/render.h"

namespace pveaudit::report {

struct Quarter {
  int year = 0, q = 0;               // q: 1..4
  int64_t start_us = 0, end_us = 0;  // [first day 00:00, first day of next quarter), cluster zone
  std::string Name() const { return std::to_string(year) + "Q" + std::to_string(q); }
};

// Parses "2026Q4" (also "2026-Q4", lower-case q). False on bad text.
bool ParseQuarter(const std::string& text, Quarter* out);
// The quarter containing `us` (cluster zone).
Quarter QuarterOf(int64_t us);

enum class Severity { kHigh, kMedium, kLow, kInfo };
const char* SeverityName(Severity s);  // "high", "medium", "low", "info"

struct Finding {
  int check = 0;     // 1..5 (the template's checklist items)
  std::string rule;  // "users.inactive", "perm.root-propagate", ...
  Severity severity = Severity::kLow;
  std::string subject;  // the user, token, group, ACL entry or "event store"
  std::string evidence;
  std::string fix;
};

const char* CheckName(int check);  // 1 -> "User list verification", ...

// Runs the five checks. `facts` should cover opt.period (shared accounts).
// Findings are ordered by check, severity, rule, subject.
std::vector<Finding> RunQuarterlyChecks(const pve::PveConfig& cfg, const StoreFacts& facts,
                                        const ReportOptions& opt);

// Findings as a table: check, check_name, rule, severity, subject, evidence, fix.
Table FindingsTable(const std::vector<Finding>& findings);

// The user list of check 1: userid, enabled, expire, groups, last_login,
// last_login_ip, last_activity, tfa.
Table ReviewUsersTable(const pve::PveConfig& cfg, const StoreFacts& facts, const ReportOptions& opt,
                       bool local_times);

struct ReviewMeta {
  Quarter quarter;
  std::string reviewer;  // "alice@pam"
  std::string pve_dir;
  std::string store;  // data dir, or "" when there is none
};

// The printable review page (no external assets). Deterministic for equal
// inputs, so its digest identifies the review.
std::string QuarterlyHtml(const ReviewMeta& meta, const pve::PveConfig& cfg,
                          const StoreFacts& facts, const ReportOptions& opt,
                          const std::vector<Finding>& findings);

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(const std::string& data);

}  // namespace pveaudit::report

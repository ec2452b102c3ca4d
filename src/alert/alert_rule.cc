#include "alert/alert_rule.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "core/actions.h"
#include "core/time_spec.h"
#include "query/log_query.h"

namespace pveaudit {
namespace {

constexpr int64_t kSecond = 1000000;

struct TypeName {
  AlertType type;
  const char* name;
};
constexpr TypeName kTypes[] = {
    {AlertType::kFailedLogin, "failed-login"},
    {AlertType::kBruteForceSuccess, "brute-force-success"},
    {AlertType::kActionRate, "action-rate"},
    {AlertType::kOffHours, "off-hours"},
    {AlertType::kPrivilegeChange, "privilege-change"},
    {AlertType::kNewIp, "new-ip"},
};

constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

int DayIndex(std::string_view d) {
  for (int i = 0; i < 7; ++i)
    if (d == kDayNames[i]) return i;
  return -1;
}

nlohmann::ordered_json RuleJson(const AlertRule& r) {
  nlohmann::ordered_json j;
  j["id"] = r.id;
  j["type"] = AlertTypeName(r.type);
  j["threshold"] = r.threshold;
  j["window"] = r.window_us / kSecond;
  j["cooldown"] = r.cooldown_us / kSecond;
  j["group_by"] = r.group_by;
  j["enabled"] = r.enabled;
  j["notify"] = r.notify;
  j["user"] = r.user;
  j["node"] = r.node;
  j["resource"] = r.resource;
  j["ip"] = r.ip;
  j["action"] = r.action;
  j["start"] = r.start;
  j["end"] = r.end;
  j["days"] = r.days;
  j["from_id"] = r.from_id;
  j["created"] = r.created_us ? FormatRfc3339Utc(r.created_us) : std::string();
  j["created_us"] = r.created_us;
  j["created_by"] = r.created_by;
  return j;
}

}  // namespace

const char* AlertTypeName(AlertType t) {
  for (const TypeName& n : kTypes)
    if (n.type == t) return n.name;
  return "?";
}

bool ParseAlertType(std::string_view s, AlertType* out) {
  for (const TypeName& n : kTypes)
    if (s == n.name) {
      *out = n.type;
      return true;
    }
  return false;
}

std::vector<std::string> AlertTypeNames() {
  std::vector<std::string> v;
  for (const TypeName& n : kTypes) v.emplace_back(n.name);
  return v;
}

std::string AlertRuleToJson(const AlertRule& r) { return RuleJson(r).dump(); }

std::string AlertRuleSetToJson(const AlertRuleSet& set) {
  nlohmann::ordered_json j;
  j["next_id"] = set.next_id;
  j["rules"] = nlohmann::ordered_json::array();
  for (const AlertRule& r : set.rules) j["rules"].push_back(RuleJson(r));
  return j.dump();
}

Result<AlertRuleSet> AlertRuleSetFromJson(std::string_view text) {
  AlertRuleSet set;
  if (text.empty()) return set;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("alert rules: not JSON: ") + e.what());
  }
  std::string where = "alert rules";
  try {
    set.next_id = j.at("next_id").get<uint64_t>();
    for (const auto& o : j.at("rules")) {
      AlertRule r;
      r.id = o.at("id").get<uint64_t>();
      where = "alert rule " + std::to_string(r.id);
      std::string type = o.at("type").get<std::string>();
      if (!ParseAlertType(type, &r.type))
        return Status::Corruption(where + ": unknown type '" + type + "'");
      r.threshold = o.at("threshold").get<uint64_t>();
      r.window_us = o.at("window").get<int64_t>() * kSecond;
      r.cooldown_us = o.value("cooldown", int64_t(0)) * kSecond;
      r.group_by = o.value("group_by", std::string("user"));
      r.enabled = o.at("enabled").get<bool>();
      r.notify = o.value("notify", std::vector<std::string>{});
      r.user = o.value("user", "");
      r.node = o.value("node", "");
      r.resource = o.value("resource", "");
      r.ip = o.value("ip", "");
      r.action = o.value("action", "");
      r.start = o.value("start", "");
      r.end = o.value("end", "");
      r.days = o.value("days", "");
      r.from_id = o.value("from_id", uint64_t(0));
      r.created_us = o.value("created_us", int64_t(0));
      r.created_by = o.value("created_by", "");
      set.rules.push_back(std::move(r));
    }
  } catch (const std::exception& e) {
    return Status::Corruption(where + ": " + e.what());
  }
  return set;
}

bool ParseDuration(std::string_view text, int64_t* us) {
  if (text.empty() || text.size() > 12) return false;
  size_t digits = text.find_first_not_of("0123456789");
  if (digits == 0) return false;
  std::string_view num = text.substr(0, digits), unit;
  if (digits != std::string_view::npos) unit = text.substr(digits);
  int64_t mult = 0;
  if (unit.empty() || unit == "s")
    mult = 1;
  else if (unit == "m")
    mult = 60;
  else if (unit == "h")
    mult = 3600;
  else if (unit == "d")
    mult = 86400;
  else if (unit == "w")
    mult = 7 * 86400;
  else
    return false;
  int64_t n = std::stoll(std::string(num));
  // Up to ten years: beyond that a window means nothing and could overflow.
  if (n <= 0 || n * mult > 10 * 366 * 86400LL) return false;
  *us = n * mult * kSecond;
  return true;
}

std::string FormatDuration(int64_t us) {
  int64_t s = us / kSecond;
  if (s > 0 && s % (7 * 86400) == 0) return std::to_string(s / (7 * 86400)) + "w";
  if (s > 0 && s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s > 0 && s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s > 0 && s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

bool ParseWeekdays(std::string_view text, uint8_t* mask) {
  uint8_t m = 0;
  if (text.empty()) return false;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view part = text.substr(pos, comma - pos);
    size_t dash = part.find('-');
    if (dash == std::string_view::npos) {
      int d = DayIndex(part);
      if (d < 0) return false;
      m |= uint8_t(1u << d);
    } else {
      int a = DayIndex(part.substr(0, dash)), b = DayIndex(part.substr(dash + 1));
      if (a < 0 || b < 0) return false;
      // "fri-mon" wraps over the weekend.
      for (int d = a;; d = (d + 1) % 7) {
        m |= uint8_t(1u << d);
        if (d == b) break;
      }
    }
    pos = comma + 1;
  }
  *mask = m;
  return true;
}

Result<RuleMatcher> MakeRuleMatcher(const AlertRule& r) {
  RuleMatcher m;
  std::string where = "alert rule " + std::to_string(r.id) + ": ";
  if (!r.user.empty()) m.filter.user = r.user;
  if (!r.node.empty()) m.filter.node = r.node;
  if (!r.action.empty()) m.filter.action = r.action;
  if (!r.resource.empty()) {
    if (r.resource[0] != '/')
      return Status::InvalidArgument(where + "invalid resource '" + r.resource + "'");
    m.filter.resource = r.resource;
  }
  if (!r.ip.empty()) {
    IpRange range;
    if (!ParseIpRange(r.ip, &range))
      return Status::InvalidArgument(where + "invalid address '" + r.ip + "'");
    m.filter.ip = range;
  }
  for (const auto& [text, dst] :
       {std::pair{&r.start, &m.filter.tod_start}, std::pair{&r.end, &m.filter.tod_end}}) {
    if (text->empty()) continue;
    auto t = ParseTimeSpec(*text, 0);
    if (!t.ok() || t->kind != TimeSpec::Kind::kTimeOfDay)
      return Status::InvalidArgument(where + "invalid time of day '" + *text + "'");
    *dst = t->seconds_of_day;
  }
  if (!r.days.empty() && !ParseWeekdays(r.days, &m.weekdays))
    return Status::InvalidArgument(where + "invalid days '" + r.days + "'");
  return m;
}

bool RuleMatches(const RuleMatcher& m, const Event& e) {
  const Filter& f = m.filter;
  if (!MatchesFilter(f, e)) return false;  // as `pveam access log` decides
  if (m.weekdays != 0x7f) {
    time_t t = time_t(e.time_us / kSecond);
    struct tm tm;
    localtime_r(&t, &tm);
    int day = tm.tm_wday;
    // A window that wraps midnight (18:00-08:00) belongs to the day it
    // started on: Friday night's 02:00 is still "fri".
    if (f.tod_start && f.tod_end && *f.tod_start > *f.tod_end &&
        SecondsOfDayLocal(e.time_us) < *f.tod_end)
      day = (day + 6) % 7;
    if (!(m.weekdays & (1u << day))) return false;
  }
  return true;
}

AlertRule DefaultRule(AlertType t) {
  AlertRule r;
  r.type = t;
  switch (t) {
    case AlertType::kFailedLogin:
    case AlertType::kBruteForceSuccess:
      r.threshold = 3;
      r.window_us = r.cooldown_us = 15 * 60 * kSecond;
      break;
    case AlertType::kActionRate:
      r.threshold = 10;
      r.window_us = r.cooldown_us = 3600 * kSecond;
      break;
    case AlertType::kOffHours:
      r.threshold = 1;
      r.window_us = r.cooldown_us = 15 * 60 * kSecond;
      break;
    case AlertType::kPrivilegeChange:
      // Every change is worth its own alert.
      r.threshold = 1;
      r.window_us = 1 * kSecond;
      r.cooldown_us = 0;
      r.group_by = "resource";
      break;
    case AlertType::kNewIp:
      r.threshold = 1;
      r.window_us = 90 * 86400 * kSecond;  // "never seen in the last 90 days"
      r.cooldown_us = 0;
      break;
  }
  return r;
}

std::string DescribeRule(const AlertRule& r) {
  std::string s = std::string(AlertTypeName(r.type)) + ": ";
  switch (r.type) {
    case AlertType::kFailedLogin:
      s += std::to_string(r.threshold) + " failed logins within " + FormatDuration(r.window_us) +
           " per " + r.group_by;
      break;
    case AlertType::kBruteForceSuccess:
      s += "a successful login after " + std::to_string(r.threshold) + " failures within " +
           FormatDuration(r.window_us) + " per " + r.group_by;
      break;
    case AlertType::kActionRate:
      s += std::to_string(r.threshold) + " x " + r.action + " within " +
           FormatDuration(r.window_us) + " per " + r.group_by;
      break;
    case AlertType::kOffHours:
      s += "activity between " + r.start + " and " + r.end +
           (r.days.empty() ? std::string() : " on " + r.days);
      break;
    case AlertType::kPrivilegeChange:
      s += "a change of users, groups, roles, ACLs, tokens, realms or TFA";
      break;
    case AlertType::kNewIp:
      s += "a login from an address not seen for that user within " + FormatDuration(r.window_us);
      break;
  }
  if (r.type != AlertType::kActionRate && !r.action.empty()) s += "; action " + r.action;
  if (!r.user.empty()) s += "; user " + r.user;
  if (!r.ip.empty()) s += "; ip " + r.ip;
  if (!r.node.empty()) s += "; node " + r.node;
  if (!r.resource.empty()) s += "; resource " + r.resource;
  return s;
}

}  // namespace pveaudit

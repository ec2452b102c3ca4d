// The checks of `pveam access log`'s arguments, shared by the CLI and the
// HTTPS API (log_params.h).
#include "query/log_params.h"

#include <ctime>

#include "core/time_spec.h"

namespace pveaudit {
namespace {

// Local midnight of the day after the day containing `us`.
int64_t NextLocalMidnight(int64_t us) {
  time_t t = time_t(us / 1000000 + 30 * 3600);  // well inside the next day, whatever DST does
  struct tm tm;
  localtime_r(&t, &tm);
  return LocalCivilToUs(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 0, 0, 0);
}

Status Bad(std::string msg) { return Status::InvalidArgument(std::move(msg)); }

}  // namespace

bool ParseWholeNumber(const std::string& v, uint64_t min, uint64_t* out) {
  bool digits =
      !v.empty() && v.size() < 19 && v.find_first_not_of("0123456789") == std::string::npos;
  uint64_t n = digits ? std::stoull(v) : 0;
  if (!digits || n < min) return false;
  *out = n;
  return true;
}

Result<LogRequest> ParseLogParams(const LogParams& o, int64_t now, std::string_view prefix) {
  const std::string pre(prefix);
  auto flag = [&](const char* name) { return pre + name; };
  auto count = [&](const char* name, const std::string& v, uint64_t* out) {
    if (ParseWholeNumber(v, 1, out)) return Status::OK();
    return Bad("invalid value '" + v + "' for " + flag(name) + ": expected a whole number >= 1");
  };
  LogRequest req;
  Filter& f = req.filter;
  if (!o.user.empty()) f.user = o.user;
  if (!o.node.empty()) f.node = o.node;
  if (!o.action.empty()) f.action = o.action;
  if (!o.resource.empty()) {
    if (o.resource[0] != '/')
      return Bad("invalid value '" + o.resource + "' for " + flag("resource") +
                 ": expected an ACL path such as /vms/100");
    std::string r = o.resource;
    while (r.size() > 1 && r.back() == '/') r.pop_back();
    f.resource = r;
  }
  if (!o.failed.empty()) {
    if (o.failed != "0" && o.failed != "1")
      return Bad("invalid value '" + o.failed + "' for " + flag("failed") + ": expected 0 or 1");
    f.failed = o.failed == "1";
  }
  if (!o.ip.empty()) {
    IpRange r;
    if (!ParseIpRange(o.ip, &r))
      return Bad("invalid value '" + o.ip + "' for " + flag("ip") +
                 ": expected an address or CIDR range such as 192.0.2.0/24");
    f.ip = r;
  }
  std::optional<TimeSpec> s, e;
  if (!o.start.empty()) {
    auto r = ParseTimeSpec(o.start, now);
    if (!r.ok()) return Bad(flag("start") + ": " + r.status().message());
    s = *r;
  }
  if (!o.end.empty()) {
    auto r = ParseTimeSpec(o.end, now);
    if (!r.ok()) return Bad(flag("end") + ": " + r.status().message());
    e = *r;
  }
  bool tod =
      (s && s->kind == TimeSpec::Kind::kTimeOfDay) || (e && e->kind == TimeSpec::Kind::kTimeOfDay);
  if (tod) {
    // "start 18:00, end 08:00": every day's window, wrapping midnight.
    if ((s && s->kind != TimeSpec::Kind::kTimeOfDay) ||
        (e && e->kind != TimeSpec::Kind::kTimeOfDay))
      return Bad(flag("start") + " and " + flag("end") +
                 " must both be times of day (HH:MM) or both dates; "
                 "for a time on one day write 'YYYY-MM-DD HH:MM'");
    if (s) f.tod_start = s->seconds_of_day;
    if (e) f.tod_end = e->seconds_of_day;
    if (s && e && s->seconds_of_day == e->seconds_of_day)
      return Bad(flag("start") + " and " + flag("end") +
                 " are the same time of day; the window would be empty");
  } else {
    if (s) f.start_us = s->us;
    if (e) f.end_us = e->date_only ? NextLocalMidnight(e->us) : e->us;
    if (f.start_us && f.end_us && *f.start_us >= *f.end_us)
      return Bad(flag("start") + " " + o.start + " is not before " + flag("end") + " " + o.end);
  }
  req.counting = !o.count.empty();
  if (!req.counting && (!o.hour.empty() || !o.group_by.empty()))
    return Bad(flag(!o.hour.empty() ? "hour" : "group-by") + " needs " + flag("count") + " N");
  if (!o.limit.empty()) {
    uint64_t n = 0;
    if (Status st = count("limit", o.limit, &n); !st.ok()) return st;
    req.limit = size_t(n);
  }
  if (req.counting) {
    if (Status st = count("count", o.count, &req.spec.min_count); !st.ok()) return st;
    if (!o.hour.empty()) {
      uint64_t h = 0;
      if (Status st = count("hour", o.hour, &h); !st.ok()) return st;
      req.spec.window_us = int64_t(h) * 3600 * 1000000;
    }
    if (!o.group_by.empty() && !ParseGroupBy(o.group_by, &req.spec.group_by))
      return Bad("invalid value '" + o.group_by + "' for " + flag("group-by") +
                 ": expected user, ip, resource or action");
  }
  return req;
}

}  // namespace pveaudit

#include "evidence/log_review.h"

#include <cstdio>
#include <ctime>

#include "core/actions.h"
#include "core/time_spec.h"
#include "evidence/audit_event.h"
#include "query/log_query.h"

namespace pveaudit {
namespace {

constexpr int64_t kDayUs = int64_t(86400) * 1000000;

// Weekday of a UTC day start, ISO numbering (Monday 1 .. Sunday 7).
int IsoWeekday(int64_t day_us) {
  time_t t = time_t(day_us / 1000000);
  struct tm tm;
  gmtime_r(&t, &tm);
  return tm.tm_wday == 0 ? 7 : tm.tm_wday;
}

// UTC midnight of the Monday of week 1 of ISO year `y`: the week with 4 January.
int64_t Week1MondayUtc(int y) {
  int64_t jan4 = CivilToUs(y, 1, 4, 0, 0, 0);
  return jan4 - int64_t(IsoWeekday(jan4) - 1) * kDayUs;
}

int WeeksInYear(int y) { return int((Week1MondayUtc(y + 1) - Week1MondayUtc(y)) / (7 * kDayUs)); }

// Local midnight of the civil day whose UTC midnight is `day_utc_us`.
int64_t LocalDay(int64_t day_utc_us) {
  time_t t = time_t(day_utc_us / 1000000);
  struct tm tm;
  gmtime_r(&t, &tm);
  return LocalCivilToUs(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 0, 0, 0);
}

// The number after " key=" in `detail`; clears *ok when there is none.
uint64_t Field(const std::string& detail, const std::string& key, bool* ok) {
  size_t p = detail.find(" " + key + "=");
  if (p == std::string::npos) {
    *ok = false;
    return 0;
  }
  p += key.size() + 2;
  uint64_t v = 0;
  bool digits = false;
  while (p < detail.size() && detail[p] >= '0' && detail[p] <= '9') {
    v = v * 10 + uint64_t(detail[p++] - '0');
    digits = true;
  }
  *ok &= digits;
  return v;
}

}  // namespace

std::string IsoWeek::Name() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-W%02d", year, week);
  return buf;
}

bool ParseIsoWeek(const std::string& text, IsoWeek* out) {
  if (text.size() != 8 || text[4] != '-' || (text[5] != 'W' && text[5] != 'w')) return false;
  for (size_t i : {0, 1, 2, 3, 6, 7})
    if (text[i] < '0' || text[i] > '9') return false;
  int y = std::stoi(text.substr(0, 4)), w = std::stoi(text.substr(6, 2));
  if (y < 1971 || w < 1 || w > WeeksInYear(y)) return false;
  const int64_t monday = Week1MondayUtc(y) + int64_t(w - 1) * 7 * kDayUs;
  out->year = y;
  out->week = w;
  out->start_us = LocalDay(monday);
  out->end_us = LocalDay(monday + 7 * kDayUs);
  return true;
}

IsoWeek IsoWeekOf(int64_t us) {
  time_t t = time_t(us / 1000000);
  struct tm tm;
  localtime_r(&t, &tm);
  // The local civil day as a UTC day, then its ISO week.
  const int64_t day = CivilToUs(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 0, 0, 0);
  int y = tm.tm_year + 1900;
  if (day < Week1MondayUtc(y))
    --y;
  else if (day >= Week1MondayUtc(y + 1))
    ++y;
  IsoWeek w;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-W%02d", y,
                int((day - Week1MondayUtc(y)) / (7 * kDayUs)) + 1);
  ParseIsoWeek(buf, &w);
  return w;
}

bool IsReviewPrivilegeChange(const Event& e) {
  if (e.result == Outcome::kFailure) return false;
  std::string_view a = e.action;
  std::string_view obj = a.substr(0, a.find(':'));
  bool access_object = false;
  for (std::string_view o : {"acl", "user", "group", "role", "token", "tfa", "realm"})
    access_object |= obj == o;
  return access_object &&
         (ActionClasses(a) & (kClassCreate | kClassDelete | kClassModify | kClassConfig));
}

bool IsReviewOffHours(const Event& e) {
  const uint32_t c = ActionClasses(e.action);
  if (c == 0 || (c & ~(kClassRead | kClassSession)) == 0) return false;
  time_t t = time_t(e.time_us / 1000000);
  struct tm tm;
  localtime_r(&t, &tm);
  const bool weekend = tm.tm_wday == 0 || tm.tm_wday == 6;
  return weekend || tm.tm_hour < 8 || tm.tm_hour >= 18;
}

Result<WeekCounts> CountWeek(EventStore& store, const IsoWeek& week) {
  WeekCounts c;
  Filter f;
  f.start_us = week.start_us;
  f.end_us = week.end_us;
  Status st = ForEachEvent(store, f, 0, kFieldAll, [&](Event&& e) {
    ++c.events;
    if ((ActionClasses(e.action) & kClassLogin) && e.result == Outcome::kFailure) ++c.failed_logins;
    if (e.action.rfind("alert:", 0) == 0) ++c.alerts;
    if (IsReviewPrivilegeChange(e)) ++c.privilege_changes;
    if (IsReviewOffHours(e)) ++c.off_hours;
    return true;
  });
  if (!st.ok()) return st;
  return c;
}

Event LogReviewEvent(const IsoWeek& week, const WeekCounts& c, const std::string& reviewer,
                     const std::string& note, const std::string& node, int64_t now_us) {
  return OwnAuditEvent("audit:log-review", reviewer, node,
                       "week=" + week.Name() + " events=" + std::to_string(c.events) +
                           " failed_logins=" + std::to_string(c.failed_logins) +
                           " alerts=" + std::to_string(c.alerts) +
                           " privilege_changes=" + std::to_string(c.privilege_changes) +
                           " off_hours=" + std::to_string(c.off_hours) + " note=" + note,
                       now_us);
}

bool ParseLogReview(const Event& e, LogReview* out) {
  if (e.action != "audit:log-review" || e.source != "pveaudit" || e.detail.rfind("week=", 0) != 0)
    return false;
  const size_t note = e.detail.find(" note=");
  if (note == std::string::npos) return false;
  const std::string head = e.detail.substr(0, note);
  LogReview r;
  r.id = e.id;
  r.time_us = e.time_us;
  r.reviewer = e.user;
  r.week = head.substr(5, head.find(' ') - 5);
  r.note = e.detail.substr(note + 6);
  bool ok = true;
  r.counts.events = Field(head, "events", &ok);
  r.counts.failed_logins = Field(head, "failed_logins", &ok);
  r.counts.alerts = Field(head, "alerts", &ok);
  r.counts.privilege_changes = Field(head, "privilege_changes", &ok);
  r.counts.off_hours = Field(head, "off_hours", &ok);
  IsoWeek w;
  if (!ok || !ParseIsoWeek(r.week, &w)) return false;
  *out = std::move(r);
  return true;
}

}  // namespace pveaudit

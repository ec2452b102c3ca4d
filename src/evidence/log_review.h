// log_review.h
// Weekly log reviews (best practice 2 of the product page, "Review logs
// weekly"): `pveam access review --week 2026-W47` shows the reviewer the
// week's counts that call for attention and records that the week was
// reviewed, by whom, with those counts, as an audit:log-review event.
// Compliance checks later look for weeks without one.
// Thread safety: free functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "store/event_store.h"

namespace pveaudit {

// An ISO 8601 week in the cluster's time zone: Monday 00:00 to the next
// Monday 00:00.
struct IsoWeek {
  int year = 0, week = 0;  // ISO week-numbering year; week 1..52 or 53
  int64_t start_us = 0, end_us = 0;
  std::string Name() const;  // "2026-W47"
};
// Parses "2026-W47" (also lower-case w). False on anything else, including
// week 53 of a year that has 52.
bool ParseIsoWeek(const std::string& text, IsoWeek* out);
// The week containing `us` (cluster zone).
IsoWeek IsoWeekOf(int64_t us);

// What a reviewer is shown. Each count is of the events `pveam access log`
// shows for the week (one per real action):
//   failed_logins      login class, result failure
//   alerts             alerts pveauditd fired (alert:*)
//   privilege_changes  changes (not reads, not failed) of users, groups,
//                      roles, ACLs, tokens, TFA or realms
//   off_hours          actions other than reads and session activity
//                      outside Monday-Friday 08:00-18:00 (cluster zone)
struct WeekCounts {
  uint64_t events = 0, failed_logins = 0, alerts = 0, privilege_changes = 0, off_hours = 0;
};
Result<WeekCounts> CountWeek(EventStore& store, const IsoWeek& week);

// The classification behind the counts, for tests and the docs.
bool IsReviewPrivilegeChange(const Event& e);
bool IsReviewOffHours(const Event& e);

// The audit:log-review event recording a review: user `reviewer`, detail
// "week=2026-W47 events=... failed_logins=... alerts=...
// privilege_changes=... off_hours=... note=<note>".
Event LogReviewEvent(const IsoWeek& week, const WeekCounts& c, const std::string& reviewer,
                     const std::string& note, const std::string& node, int64_t now_us);

// A recorded review, read back from its event.
struct LogReview {
  uint64_t id = 0;
  int64_t time_us = 0;
  std::string week, reviewer, note;
  WeekCounts counts;
};
// False when `e` is not an audit:log-review event of this format.
bool ParseLogReview(const Event& e, LogReview* out);

}  // namespace pveaudit

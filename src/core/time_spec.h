// time_spec.h
// Time parsing and formatting for the CLI and the parsers, in the cluster's
// time zone (config `timezone`, else $TZ, else the system zone; applied with
// SetClusterTimeZone before anything is parsed or printed).
// Thread safety: SetClusterTimeZone must be called before other threads use
// these functions; the rest are safe to call concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace pveaudit {

// Sets the zone used for local-time parsing and printing ("Europe/Vienna",
// "UTC"); empty keeps $TZ / the system zone.
void SetClusterTimeZone(const std::string& tz);

// One --start / --end argument.
struct TimeSpec {
  enum class Kind { kInstant, kTimeOfDay };
  Kind kind = Kind::kInstant;
  int64_t us = 0;          // kInstant: UTC microseconds
  int seconds_of_day = 0;  // kTimeOfDay: 0..86399, cluster-local
  bool date_only = false;  // kInstant given as YYYY-MM-DD (an --end includes that whole day)
};

// Parses YYYY-MM-DD, "YYYY-MM-DD HH:MM[:SS]", "YYYY-MM-DDTHH:MM[:SS][.frac]",
// RFC 3339 with Z or +hh:mm, epoch seconds (all digits, >= 5 digits), the
// ausearch keywords now, recent (10 minutes ago), today, yesterday,
// this-week (Monday 00:00), week-ago, this-month, this-year, and a bare time
// of day HH:MM[:SS] (kind kTimeOfDay). `now_us` anchors the keywords.
// Errors name the bad part: "invalid month 13 in '2025-13-01'".
Result<TimeSpec> ParseTimeSpec(std::string_view text, int64_t now_us);

// A retention period: "13 months", "1 month", "7 years", "1 year", as
// months (1..1200). InvalidArgument naming the value otherwise.
Result<int> ParseRetentionPeriod(const std::string& text);
// "7 years" / "13 months": the inverse, for messages.
std::string FormatMonths(int months);

// Seconds since local midnight (cluster zone) of a UTC instant.
int SecondsOfDayLocal(int64_t us);

// "2025-01-15 12:42:28" in the cluster zone.
std::string FormatLocal(int64_t us);
// FormatLocal into `out` (replaced), reusing its capacity: a listing
// formats one time per event.
void FormatLocalTo(int64_t us, std::string* out);
// "2025-01-15T12:42:28Z" (or with ".123456" when there are microseconds).
std::string FormatRfc3339Utc(int64_t us);
// FormatRfc3339Utc into `out` (replaced), reusing its capacity.
void FormatRfc3339UtcTo(int64_t us, std::string* out);

// UTC microseconds of a civil date/time in UTC (no zone applied).
int64_t CivilToUs(int year, int month, int day, int hour, int minute, int second);
// UTC microseconds of a civil date/time in the cluster zone.
int64_t LocalCivilToUs(int year, int month, int day, int hour, int minute, int second);

int64_t NowUs();

}  // namespace pveaudit

// time_spec.cc
// Civil-time arithmetic is pure (Howard Hinnant's days_from_civil /
// civil_from_days); only the cluster zone's UTC offset comes from the C
// library (localtime_r / mktime after SetClusterTimeZone's setenv+tzset).
// Offsets are cached per hour and thread so the per-row formatters do not go
// through the C library for every row.
#include "core/time_spec.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace pveaudit {
namespace {

constexpr int64_t kUsPerSec = 1000000;
constexpr int64_t kSecPerDay = 86400;
// 9999-12-31T23:59:59Z.
constexpr int64_t kMaxEpochSeconds = 253402300799;

// Bumped by SetClusterTimeZone; invalidates every thread's offset cache.
std::atomic<uint64_t> g_tz_generation{1};

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);             // [0, 399]
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t year;
  int month;
  int day;
};

Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);                // [0, 146096]
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  // [0, 365]
  const unsigned mp = (5 * doy + 2) / 153;                       // [0, 11]
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;               // [1, 31]
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;                  // [1, 12]
  return Civil{y + (m <= 2), static_cast<int>(m), static_cast<int>(d)};
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// UTC offset (seconds east) of the cluster zone at `secs`, from the C library.
int OffsetFromLibc(int64_t secs) {
  time_t t = static_cast<time_t>(secs);
  struct tm tm;
  if (localtime_r(&t, &tm) == nullptr) return 0;
  const int64_t local = DaysFromCivil(tm.tm_year + 1900LL, static_cast<unsigned>(tm.tm_mon + 1),
                                      static_cast<unsigned>(tm.tm_mday)) *
                            kSecPerDay +
                        tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
  return static_cast<int>(local - secs);
}

// UTC offset at `secs`, cached per hour (direct-mapped, per thread). An hour
// is cached only when its first and last second have the same offset, so
// transitions at odd times (e.g. on the half hour) are still exact.
int LocalOffset(int64_t secs) {
  struct Entry {
    uint64_t generation = 0;
    int64_t hour = 0;
    int offset = 0;
  };
  constexpr int kEntries = 64;
  thread_local Entry cache[kEntries];
  const uint64_t gen = g_tz_generation.load(std::memory_order_acquire);
  const int64_t hour = FloorDiv(secs, 3600);
  Entry& e = cache[static_cast<uint64_t>(hour) % kEntries];
  if (e.generation == gen && e.hour == hour) return e.offset;
  const int first = OffsetFromLibc(hour * 3600);
  const int last = OffsetFromLibc(hour * 3600 + 3599);
  if (first != last) return OffsetFromLibc(secs);
  e.generation = gen;
  e.hour = hour;
  e.offset = first;
  return first;
}

char* Put2(char* p, int v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
  return p + 2;
}

// Writes "YYYY-MM-DD<sep>HH:MM:SS" for `secs` (already shifted to the wanted
// zone) and returns the end.
char* PutDateTime(char* p, int64_t secs, char sep) {
  const int64_t days = FloorDiv(secs, kSecPerDay);
  const int sod = static_cast<int>(secs - days * kSecPerDay);
  const Civil c = CivilFromDays(days);
  if (c.year >= 0 && c.year <= 9999) {
    const int y = static_cast<int>(c.year);
    p = Put2(p, y / 100);
    p = Put2(p, y % 100);
  } else {
    p += std::snprintf(p, 24, "%lld", static_cast<long long>(c.year));
  }
  *p++ = '-';
  p = Put2(p, c.month);
  *p++ = '-';
  p = Put2(p, c.day);
  *p++ = sep;
  p = Put2(p, sod / 3600);
  *p++ = ':';
  p = Put2(p, sod / 60 % 60);
  *p++ = ':';
  return Put2(p, sod % 60);
}

// ----- parsing helpers -----

const char kExpected[] =
    "expected YYYY-MM-DD, 'YYYY-MM-DD HH:MM[:SS]', RFC 3339, epoch seconds, HH:MM or one of now, "
    "recent, today, yesterday, this-week, week-ago, this-month, this-year";

Status Generic(std::string_view text) {
  return Status::InvalidArgument("invalid time '" + std::string(text) + "': " + kExpected);
}

Status BadField(const char* what, int value, std::string_view text) {
  return Status::InvalidArgument("invalid " + std::string(what) + " " + std::to_string(value) +
                                 " in '" + std::string(text) + "'");
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `*pos`.
bool ReadDigits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

// Reads ".digits" (at least one digit) as microseconds; extra digits are
// truncated. Leaves *pos alone and returns true when there is no '.'.
bool ReadFraction(std::string_view s, size_t* pos, int64_t* us) {
  *us = 0;
  if (*pos >= s.size() || s[*pos] != '.') return true;
  size_t i = *pos + 1;
  int64_t v = 0;
  int digits = 0;
  while (i < s.size() && IsDigit(s[i])) {
    if (digits < 6) {
      v = v * 10 + (s[i] - '0');
      ++digits;
    }
    ++i;
  }
  if (i == *pos + 1) return false;
  for (; digits < 6; ++digits) v *= 10;
  *us = v;
  *pos = i;
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Local midnight `days_back` days before the local date of `now_us`
// (calendar arithmetic, so DST days of 23 or 25 hours are handled).
int64_t LocalMidnight(int64_t now_us, int64_t days_back) {
  const int64_t secs = FloorDiv(now_us, kUsPerSec);
  const int64_t local_days = FloorDiv(secs + LocalOffset(secs), kSecPerDay);
  const Civil c = CivilFromDays(local_days - days_back);
  return LocalCivilToUs(static_cast<int>(c.year), c.month, c.day, 0, 0, 0);
}

Civil LocalDate(int64_t now_us) {
  const int64_t secs = FloorDiv(now_us, kUsPerSec);
  return CivilFromDays(FloorDiv(secs + LocalOffset(secs), kSecPerDay));
}

std::optional<TimeSpec> ParseKeyword(std::string_view s, int64_t now_us) {
  TimeSpec spec;
  if (EqualsIgnoreCase(s, "now")) {
    spec.us = now_us;
  } else if (EqualsIgnoreCase(s, "recent")) {
    spec.us = now_us - 10 * 60 * kUsPerSec;
  } else if (EqualsIgnoreCase(s, "today")) {
    spec.us = LocalMidnight(now_us, 0);
  } else if (EqualsIgnoreCase(s, "yesterday")) {
    spec.us = LocalMidnight(now_us, 1);
  } else if (EqualsIgnoreCase(s, "this-week")) {
    const int64_t secs = FloorDiv(now_us, kUsPerSec);
    const int64_t local_days = FloorDiv(secs + LocalOffset(secs), kSecPerDay);
    // 1970-01-01 was a Thursday; 0 = Monday.
    const int64_t weekday = ((local_days + 3) % 7 + 7) % 7;
    spec.us = LocalMidnight(now_us, weekday);
  } else if (EqualsIgnoreCase(s, "week-ago")) {
    spec.us = LocalMidnight(now_us, 7);
  } else if (EqualsIgnoreCase(s, "this-month")) {
    const Civil c = LocalDate(now_us);
    spec.us = LocalCivilToUs(static_cast<int>(c.year), c.month, 1, 0, 0, 0);
  } else if (EqualsIgnoreCase(s, "this-year")) {
    const Civil c = LocalDate(now_us);
    spec.us = LocalCivilToUs(static_cast<int>(c.year), 1, 1, 0, 0, 0);
  } else {
    return std::nullopt;
  }
  return spec;
}

Status CheckTime(int hour, int minute, int second, std::string_view text) {
  if (hour > 23) return BadField("hour", hour, text);
  if (minute > 59) return BadField("minute", minute, text);
  if (second > 59) return BadField("second", second, text);
  return Status::OK();
}

// Epoch seconds: >= 5 digits, optional fraction. nullopt when `s` is not of
// that shape.
std::optional<Result<TimeSpec>> ParseEpoch(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && IsDigit(s[i])) ++i;
  if (i < 5) return std::nullopt;
  size_t pos = i;
  int64_t frac = 0;
  if (!ReadFraction(s, &pos, &frac) || pos != s.size()) return std::nullopt;
  int64_t secs = 0;
  for (size_t k = 0; k < i; ++k) {
    secs = secs * 10 + (s[k] - '0');
    if (secs > kMaxEpochSeconds) {
      return Result<TimeSpec>(
          Status::InvalidArgument("epoch seconds out of range in '" + std::string(s) + "'"));
    }
  }
  TimeSpec spec;
  spec.us = secs * kUsPerSec + frac;
  return Result<TimeSpec>(spec);
}

// H:MM, HH:MM, HH:MM:SS. nullopt when `s` is not of that shape.
std::optional<Result<TimeSpec>> ParseTimeOfDay(std::string_view s) {
  size_t pos = 0;
  int hour = 0, minute = 0, second = 0;
  const size_t hour_digits = s.size() > 1 && s[1] == ':' ? 1 : 2;
  if (!ReadDigits(s, &pos, hour_digits, &hour)) return std::nullopt;
  if (pos >= s.size() || s[pos] != ':') return std::nullopt;
  ++pos;
  if (!ReadDigits(s, &pos, 2, &minute)) return std::nullopt;
  if (pos < s.size()) {
    if (s[pos] != ':') return std::nullopt;
    ++pos;
    if (!ReadDigits(s, &pos, 2, &second)) return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  Status st = CheckTime(hour, minute, second, s);
  if (!st.ok()) return Result<TimeSpec>(st);
  TimeSpec spec;
  spec.kind = TimeSpec::Kind::kTimeOfDay;
  spec.seconds_of_day = hour * 3600 + minute * 60 + second;
  return Result<TimeSpec>(spec);
}

// YYYY-MM-DD[(T| )HH:MM[:SS][.frac][Z|±hh:mm|±hhmm]]. nullopt when `s` is
// not of that shape.
std::optional<Result<TimeSpec>> ParseDateTime(std::string_view s) {
  size_t pos = 0;
  int year = 0, month = 0, day = 0;
  if (!ReadDigits(s, &pos, 4, &year) || pos >= s.size() || s[pos++] != '-' ||
      !ReadDigits(s, &pos, 2, &month) || pos >= s.size() || s[pos++] != '-' ||
      !ReadDigits(s, &pos, 2, &day)) {
    return std::nullopt;
  }
  bool date_only = pos == s.size();
  int hour = 0, minute = 0, second = 0;
  int64_t frac = 0;
  bool has_zone = false;
  int zone_sign = 1, zone_hour = 0, zone_minute = 0;
  size_t zone_begin = 0;
  if (!date_only) {
    const char sep = s[pos++];
    if (sep != 'T' && sep != 't' && sep != ' ') return std::nullopt;
    if (!ReadDigits(s, &pos, 2, &hour) || pos >= s.size() || s[pos++] != ':' ||
        !ReadDigits(s, &pos, 2, &minute)) {
      return std::nullopt;
    }
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!ReadDigits(s, &pos, 2, &second)) return std::nullopt;
    }
    if (!ReadFraction(s, &pos, &frac)) return std::nullopt;
    if (pos < s.size()) {
      zone_begin = pos;
      const char z = s[pos++];
      has_zone = true;
      if (z == 'Z' || z == 'z') {
        // UTC.
      } else if (z == '+' || z == '-') {
        zone_sign = z == '-' ? -1 : 1;
        if (!ReadDigits(s, &pos, 2, &zone_hour)) return std::nullopt;
        if (pos < s.size() && s[pos] == ':') ++pos;
        if (!ReadDigits(s, &pos, 2, &zone_minute)) return std::nullopt;
      } else {
        return std::nullopt;
      }
      if (pos != s.size()) return std::nullopt;
    }
  }
  if (year < 1970) return Result<TimeSpec>(BadField("year", year, s));
  if (month < 1 || month > 12) return Result<TimeSpec>(BadField("month", month, s));
  if (day < 1 || day > DaysInMonth(year, month)) return Result<TimeSpec>(BadField("day", day, s));
  Status st = CheckTime(hour, minute, second, s);
  if (!st.ok()) return Result<TimeSpec>(st);
  if (has_zone && (zone_hour > 23 || zone_minute > 59)) {
    return Result<TimeSpec>(Status::InvalidArgument("invalid UTC offset '" +
                                                    std::string(s.substr(zone_begin)) + "' in '" +
                                                    std::string(s) + "'"));
  }
  TimeSpec spec;
  spec.date_only = date_only;
  if (has_zone) {
    const int64_t offset = zone_sign * (zone_hour * 3600 + zone_minute * 60);
    spec.us = CivilToUs(year, month, day, hour, minute, second) - offset * kUsPerSec + frac;
  } else {
    spec.us = LocalCivilToUs(year, month, day, hour, minute, second) + frac;
  }
  return Result<TimeSpec>(spec);
}

}  // namespace

void SetClusterTimeZone(const std::string& tz) {
  if (!tz.empty()) setenv("TZ", tz.c_str(), 1);
  tzset();
  g_tz_generation.fetch_add(1, std::memory_order_acq_rel);
}

Result<TimeSpec> ParseTimeSpec(std::string_view text, int64_t now_us) {
  const std::string_view s = Trim(text);
  if (s.empty()) return Generic(text);
  if (std::optional<TimeSpec> kw = ParseKeyword(s, now_us)) return *kw;
  if (auto r = ParseEpoch(s)) return std::move(*r);
  if (auto r = ParseDateTime(s)) return std::move(*r);
  if (auto r = ParseTimeOfDay(s)) return std::move(*r);
  return Generic(s);
}

int SecondsOfDayLocal(int64_t us) {
  const int64_t secs = FloorDiv(us, kUsPerSec);
  const int64_t local = secs + LocalOffset(secs);
  return static_cast<int>(local - FloorDiv(local, kSecPerDay) * kSecPerDay);
}

void FormatLocalTo(int64_t us, std::string* out) {
  const int64_t secs = FloorDiv(us, kUsPerSec);
  char buf[48];
  char* end = PutDateTime(buf, secs + LocalOffset(secs), ' ');
  out->assign(buf, end);
}

std::string FormatLocal(int64_t us) {
  std::string s;
  FormatLocalTo(us, &s);
  return s;
}

void FormatRfc3339UtcTo(int64_t us, std::string* out) {
  const int64_t secs = FloorDiv(us, kUsPerSec);
  const int micros = static_cast<int>(us - secs * kUsPerSec);
  char buf[56];
  char* p = PutDateTime(buf, secs, 'T');
  if (micros != 0) {
    *p++ = '.';
    int v = micros;
    for (int i = 5; i >= 0; --i) {
      p[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += 6;
  }
  *p++ = 'Z';
  out->assign(buf, p);
}

std::string FormatRfc3339Utc(int64_t us) {
  std::string s;
  FormatRfc3339UtcTo(us, &s);
  return s;
}

int64_t CivilToUs(int year, int month, int day, int hour, int minute, int second) {
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return (days * kSecPerDay + hour * 3600LL + minute * 60LL + second) * kUsPerSec;
}

int64_t LocalCivilToUs(int year, int month, int day, int hour, int minute, int second) {
  struct tm tm = {};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  tm.tm_isdst = -1;
  errno = 0;
  const time_t t = mktime(&tm);
  if (t == static_cast<time_t>(-1) && errno != 0) {
    // Out of the C library's range: apply the offset found near that instant.
    const int64_t guess = CivilToUs(year, month, day, hour, minute, second) / kUsPerSec;
    return (guess - LocalOffset(guess - LocalOffset(guess))) * kUsPerSec;
  }
  return static_cast<int64_t>(t) * kUsPerSec;
}

int64_t NowUs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kUsPerSec + ts.tv_nsec / 1000;
}

Result<int> ParseRetentionPeriod(const std::string& text) {
  auto bad = [&] {
    return Status::InvalidArgument(
        "invalid retention period '" + text +
        "': expected \"N months\" or \"N years\" (1 month to 100 years)");
  };
  size_t sp = text.find(' ');
  if (sp == std::string::npos || sp == 0 || sp > 4) return bad();
  int n = 0;
  for (size_t i = 0; i < sp; ++i) {
    if (text[i] < '0' || text[i] > '9') return bad();
    n = n * 10 + (text[i] - '0');
  }
  std::string unit = text.substr(sp + 1);
  int months = 0;
  if (unit == "month" || unit == "months")
    months = n;
  else if (unit == "year" || unit == "years")
    months = n * 12;
  else
    return bad();
  if (months < 1 || months > 1200) return bad();
  return months;
}

std::string FormatMonths(int months) {
  if (months % 12 == 0) return std::to_string(months / 12) + (months == 12 ? " year" : " years");
  return std::to_string(months) + (months == 1 ? " month" : " months");
}

}  // namespace pveaudit

#include "core/time_spec.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <string>

namespace pveaudit {
namespace {

constexpr int64_t kSec = 1000000;

const char kExpected[] =
    "expected YYYY-MM-DD, 'YYYY-MM-DD HH:MM[:SS]', RFC 3339, epoch seconds, HH:MM or one of now, "
    "recent, today, yesterday, this-week, week-ago, this-month, this-year";

// Switches the cluster zone for one test and restores $TZ afterwards.
class TimeSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = std::getenv("TZ");
    had_tz_ = tz != nullptr;
    if (had_tz_) old_tz_ = tz;
    SetClusterTimeZone("UTC");
  }
  void TearDown() override {
    if (had_tz_) {
      setenv("TZ", old_tz_.c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    SetClusterTimeZone("");
  }

  static TimeSpec Parse(std::string_view text, int64_t now_us) {
    Result<TimeSpec> r = ParseTimeSpec(text, now_us);
    EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
    return r.ok() ? *r : TimeSpec{};
  }
  static int64_t ParseUs(std::string_view text, int64_t now_us = 0) {
    TimeSpec t = Parse(text, now_us);
    EXPECT_EQ(t.kind, TimeSpec::Kind::kInstant) << text;
    return t.us;
  }
  static std::string Error(std::string_view text, int64_t now_us = 0) {
    Result<TimeSpec> r = ParseTimeSpec(text, now_us);
    EXPECT_FALSE(r.ok()) << text;
    if (r.ok()) return "";
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    return r.status().message();
  }

  bool had_tz_ = false;
  std::string old_tz_;
};

TEST_F(TimeSpecTest, CivilToUsKnownValues) {
  EXPECT_EQ(CivilToUs(1970, 1, 1, 0, 0, 0), 0);
  EXPECT_EQ(CivilToUs(2025, 1, 15, 12, 42, 28), 1736944948 * kSec);
  EXPECT_EQ(CivilToUs(2000, 3, 1, 0, 0, 0), 951868800 * kSec);
  EXPECT_EQ(CivilToUs(2024, 2, 29, 0, 0, 0), 1709164800 * kSec);
  EXPECT_EQ(CivilToUs(9999, 12, 31, 23, 59, 59), 253402300799 * kSec);
}

TEST_F(TimeSpecTest, CivilToUsMatchesTimegm) {
  for (int year = 1970; year <= 9999; year += 7) {
    for (int month = 1; month <= 12; month += 5) {
      struct tm tm = {};
      tm.tm_year = year - 1900;
      tm.tm_mon = month - 1;
      tm.tm_mday = 28;
      tm.tm_hour = 13;
      tm.tm_min = 14;
      tm.tm_sec = 15;
      ASSERT_EQ(CivilToUs(year, month, 28, 13, 14, 15), static_cast<int64_t>(timegm(&tm)) * kSec)
          << year << "-" << month;
    }
  }
}

TEST_F(TimeSpecTest, FormatRfc3339Utc) {
  EXPECT_EQ(FormatRfc3339Utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339Utc(1736944948 * kSec), "2025-01-15T12:42:28Z");
  EXPECT_EQ(FormatRfc3339Utc(1736944948 * kSec + 123456), "2025-01-15T12:42:28.123456Z");
  EXPECT_EQ(FormatRfc3339Utc(1736944948 * kSec + 5), "2025-01-15T12:42:28.000005Z");
  EXPECT_EQ(FormatRfc3339Utc(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339Utc(253402300799 * kSec), "9999-12-31T23:59:59Z");
}

TEST_F(TimeSpecTest, FormatLocalUtc) {
  EXPECT_EQ(FormatLocal(1736944948 * kSec + 999999), "2025-01-15 12:42:28");
  EXPECT_EQ(SecondsOfDayLocal(1736944948 * kSec), 12 * 3600 + 42 * 60 + 28);
  EXPECT_EQ(SecondsOfDayLocal(-1), 86399);
}

TEST_F(TimeSpecTest, KeywordsUtc) {
  const int64_t now = CivilToUs(2025, 1, 15, 12, 42, 28) + 500;  // a Wednesday
  EXPECT_EQ(ParseUs("now", now), now);
  EXPECT_EQ(ParseUs("recent", now), now - 600 * kSec);
  EXPECT_EQ(ParseUs("today", now), CivilToUs(2025, 1, 15, 0, 0, 0));
  EXPECT_EQ(ParseUs("yesterday", now), CivilToUs(2025, 1, 14, 0, 0, 0));
  EXPECT_EQ(ParseUs("this-week", now), CivilToUs(2025, 1, 13, 0, 0, 0));
  EXPECT_EQ(ParseUs("week-ago", now), CivilToUs(2025, 1, 8, 0, 0, 0));
  EXPECT_EQ(ParseUs("this-month", now), CivilToUs(2025, 1, 1, 0, 0, 0));
  EXPECT_EQ(ParseUs("this-year", now), CivilToUs(2025, 1, 1, 0, 0, 0));
  EXPECT_FALSE(Parse("today", now).date_only);
  EXPECT_EQ(ParseUs("Today", now), CivilToUs(2025, 1, 15, 0, 0, 0));
  EXPECT_EQ(ParseUs(" now ", now), now);
}

TEST_F(TimeSpecTest, KeywordsAcrossBoundaries) {
  // Monday: this-week is today.
  const int64_t monday = CivilToUs(2025, 1, 13, 0, 0, 0);
  EXPECT_EQ(ParseUs("this-week", monday), monday);
  // Sunday: six days back.
  EXPECT_EQ(ParseUs("this-week", CivilToUs(2025, 1, 19, 23, 59, 59)), monday);
  // Year and month boundaries.
  const int64_t jan1 = CivilToUs(2025, 1, 1, 0, 0, 1);
  EXPECT_EQ(ParseUs("yesterday", jan1), CivilToUs(2024, 12, 31, 0, 0, 0));
  EXPECT_EQ(ParseUs("week-ago", jan1), CivilToUs(2024, 12, 25, 0, 0, 0));
  EXPECT_EQ(ParseUs("this-week", jan1), CivilToUs(2024, 12, 30, 0, 0, 0));
  EXPECT_EQ(ParseUs("yesterday", CivilToUs(2024, 3, 1, 8, 0, 0)), CivilToUs(2024, 2, 29, 0, 0, 0));
}

TEST_F(TimeSpecTest, KeywordsViennaAcrossDst) {
  SetClusterTimeZone("Europe/Vienna");
  // Monday after the switch to CEST on Sunday 2025-03-30.
  const int64_t now = CivilToUs(2025, 3, 31, 10, 0, 0);
  EXPECT_EQ(ParseUs("today", now), CivilToUs(2025, 3, 30, 22, 0, 0));      // CEST midnight
  EXPECT_EQ(ParseUs("yesterday", now), CivilToUs(2025, 3, 29, 23, 0, 0));  // CET midnight
  EXPECT_EQ(ParseUs("this-week", now), CivilToUs(2025, 3, 30, 22, 0, 0));
  EXPECT_EQ(ParseUs("week-ago", now), CivilToUs(2025, 3, 23, 23, 0, 0));
  EXPECT_EQ(ParseUs("this-month", now), CivilToUs(2025, 2, 28, 23, 0, 0));
  EXPECT_EQ(ParseUs("this-year", now), CivilToUs(2024, 12, 31, 23, 0, 0));
  // 23:30 UTC on Sunday is already Monday in Vienna.
  EXPECT_EQ(ParseUs("today", CivilToUs(2025, 1, 12, 23, 30, 0)), CivilToUs(2025, 1, 12, 23, 0, 0));
}

TEST_F(TimeSpecTest, LocalTimesVienna) {
  SetClusterTimeZone("Europe/Vienna");
  EXPECT_EQ(ParseUs("2025-01-15 12:00"), CivilToUs(2025, 1, 15, 11, 0, 0));
  EXPECT_EQ(ParseUs("2025-07-01 12:00:30"), CivilToUs(2025, 7, 1, 10, 0, 30));
  EXPECT_EQ(ParseUs("2025-07-01T12:00:30.25"), CivilToUs(2025, 7, 1, 10, 0, 30) + 250000);
  TimeSpec d = Parse("2025-07-01", 0);
  EXPECT_TRUE(d.date_only);
  EXPECT_EQ(d.us, CivilToUs(2025, 6, 30, 22, 0, 0));
  // Explicit offsets ignore the zone.
  EXPECT_EQ(ParseUs("2025-07-01T12:00:00Z"), CivilToUs(2025, 7, 1, 12, 0, 0));
  EXPECT_EQ(LocalCivilToUs(2025, 1, 15, 12, 0, 0), CivilToUs(2025, 1, 15, 11, 0, 0));

  EXPECT_EQ(FormatLocal(CivilToUs(2025, 7, 1, 10, 0, 0)), "2025-07-01 12:00:00");
  EXPECT_EQ(FormatLocal(CivilToUs(2025, 1, 15, 11, 0, 0)), "2025-01-15 12:00:00");
  EXPECT_EQ(SecondsOfDayLocal(CivilToUs(2025, 7, 1, 22, 30, 0)), 30 * 60);
  // Fall back on 2025-10-26: 02:00-03:00 local happens twice.
  EXPECT_EQ(FormatLocal(CivilToUs(2025, 10, 26, 0, 30, 0)), "2025-10-26 02:30:00");
  EXPECT_EQ(FormatLocal(CivilToUs(2025, 10, 26, 0, 59, 59)), "2025-10-26 02:59:59");
  EXPECT_EQ(FormatLocal(CivilToUs(2025, 10, 26, 1, 0, 0)), "2025-10-26 02:00:00");
  EXPECT_EQ(FormatLocal(CivilToUs(2025, 10, 26, 1, 30, 0)), "2025-10-26 02:30:00");
  // RFC 3339 output stays UTC.
  EXPECT_EQ(FormatRfc3339Utc(CivilToUs(2025, 7, 1, 10, 0, 0)), "2025-07-01T10:00:00Z");
}

// The per-hour offset cache must agree with localtime_r second by second,
// also where a zone changes its offset on the half hour.
TEST_F(TimeSpecTest, FormatLocalMatchesLibcAroundTransitions) {
  for (const char* zone : {"Europe/Vienna", "Australia/Lord_Howe", "America/New_York"}) {
    SetClusterTimeZone(zone);
    for (int year : {2024, 2025}) {
      const int64_t begin = CivilToUs(year, 1, 1, 0, 0, 0) / kSec;
      const int64_t end = CivilToUs(year + 1, 1, 1, 0, 0, 0) / kSec;
      for (int64_t s = begin; s < end; s += 599) {
        time_t t = static_cast<time_t>(s);
        struct tm tm;
        ASSERT_NE(localtime_r(&t, &tm), nullptr);
        char buf[32];
        strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
        ASSERT_EQ(FormatLocal(s * kSec), buf) << zone << " " << s;
        ASSERT_EQ(SecondsOfDayLocal(s * kSec), tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
      }
    }
  }
}

TEST_F(TimeSpecTest, DatesAndLocalTimesUtc) {
  TimeSpec d = Parse("2025-01-15", 0);
  EXPECT_EQ(d.kind, TimeSpec::Kind::kInstant);
  EXPECT_TRUE(d.date_only);
  EXPECT_EQ(d.us, CivilToUs(2025, 1, 15, 0, 0, 0));
  EXPECT_FALSE(Parse("2025-01-15 12:42", 0).date_only);
  EXPECT_EQ(ParseUs("2025-01-15 12:42"), CivilToUs(2025, 1, 15, 12, 42, 0));
  EXPECT_EQ(ParseUs("2025-01-15 12:42:28"), CivilToUs(2025, 1, 15, 12, 42, 28));
  EXPECT_EQ(ParseUs("2025-01-15T12:42"), CivilToUs(2025, 1, 15, 12, 42, 0));
  EXPECT_EQ(ParseUs("2025-01-15T12:42:28.5"), CivilToUs(2025, 1, 15, 12, 42, 28) + 500000);
  EXPECT_EQ(ParseUs("1970-01-01"), 0);
  EXPECT_EQ(ParseUs("9999-12-31 23:59:59"), 253402300799 * kSec);
}

TEST_F(TimeSpecTest, LeapDays) {
  EXPECT_EQ(ParseUs("2024-02-29"), CivilToUs(2024, 2, 29, 0, 0, 0));
  EXPECT_EQ(ParseUs("2000-02-29"), CivilToUs(2000, 2, 29, 0, 0, 0));
  EXPECT_EQ(Error("2025-02-29"), "invalid day 29 in '2025-02-29'");
  EXPECT_EQ(Error("2100-02-29"), "invalid day 29 in '2100-02-29'");
  EXPECT_EQ(ParseUs("2024-12-31"), CivilToUs(2024, 12, 31, 0, 0, 0));
}

TEST_F(TimeSpecTest, Rfc3339) {
  const int64_t t = CivilToUs(2025, 1, 15, 12, 42, 28);
  EXPECT_EQ(ParseUs("2025-01-15T12:42:28Z"), t);
  EXPECT_EQ(ParseUs("2025-01-15t12:42:28z"), t);
  EXPECT_EQ(ParseUs("2025-01-15T14:42:28+02:00"), t);
  EXPECT_EQ(ParseUs("2025-01-15T07:42:28-05:00"), t);
  EXPECT_EQ(ParseUs("2025-01-15T07:42:28-0500"), t);
  EXPECT_EQ(ParseUs("2025-01-15T18:12:28+05:30"), t);
  EXPECT_EQ(ParseUs("2025-01-15T12:42:28.123456Z"), t + 123456);
  EXPECT_EQ(ParseUs("2025-01-15T12:42:28.1234567Z"), t + 123456);
  EXPECT_EQ(ParseUs("2025-01-15T12:42:28.5+00:00"), t + 500000);
  EXPECT_EQ(ParseUs("2025-01-15 12:42:28Z"), t);
  EXPECT_EQ(ParseUs("2025-01-15T12:42Z"), t - 28 * kSec);
  // Offsets may cross the date line.
  EXPECT_EQ(ParseUs("2025-01-01T00:30:00+01:00"), CivilToUs(2024, 12, 31, 23, 30, 0));
  EXPECT_FALSE(Parse("2025-01-15T12:42:28Z", 0).date_only);
}

TEST_F(TimeSpecTest, EpochSeconds) {
  EXPECT_EQ(ParseUs("1736944948"), 1736944948 * kSec);
  EXPECT_EQ(ParseUs("1736944948.25"), 1736944948 * kSec + 250000);
  EXPECT_EQ(ParseUs("12345"), 12345 * kSec);
  EXPECT_EQ(ParseUs("00000"), 0);
  EXPECT_FALSE(Parse("1736944948", 0).date_only);
  EXPECT_EQ(Error("99999999999999"), "epoch seconds out of range in '99999999999999'");
  EXPECT_EQ(Error("1234"), std::string("invalid time '1234': ") + kExpected);
  EXPECT_EQ(Error("12345."), std::string("invalid time '12345.': ") + kExpected);
}

TEST_F(TimeSpecTest, TimeOfDay) {
  TimeSpec t = Parse("09:30", 0);
  EXPECT_EQ(t.kind, TimeSpec::Kind::kTimeOfDay);
  EXPECT_EQ(t.seconds_of_day, 9 * 3600 + 30 * 60);
  EXPECT_EQ(Parse("9:30", 0).seconds_of_day, 9 * 3600 + 30 * 60);
  EXPECT_EQ(Parse("23:59:59", 0).seconds_of_day, 86399);
  EXPECT_EQ(Parse("00:00", 0).seconds_of_day, 0);
  EXPECT_EQ(Error("25:00"), "invalid hour 25 in '25:00'");
  EXPECT_EQ(Error("24:00"), "invalid hour 24 in '24:00'");
  EXPECT_EQ(Error("12:60"), "invalid minute 60 in '12:60'");
  EXPECT_EQ(Error("12:00:61"), "invalid second 61 in '12:00:61'");
  EXPECT_EQ(Error("12:5"), std::string("invalid time '12:5': ") + kExpected);
  EXPECT_EQ(Error("123:00"), std::string("invalid time '123:00': ") + kExpected);
}

TEST_F(TimeSpecTest, ErrorMessages) {
  EXPECT_EQ(Error("2025-13-01"), "invalid month 13 in '2025-13-01'");
  EXPECT_EQ(Error("2025-00-01"), "invalid month 0 in '2025-00-01'");
  EXPECT_EQ(Error("2025-02-30"), "invalid day 30 in '2025-02-30'");
  EXPECT_EQ(Error("2025-04-31"), "invalid day 31 in '2025-04-31'");
  EXPECT_EQ(Error("2025-01-00"), "invalid day 0 in '2025-01-00'");
  EXPECT_EQ(Error("1969-12-31"), "invalid year 1969 in '1969-12-31'");
  EXPECT_EQ(Error("2025-01-15 24:00"), "invalid hour 24 in '2025-01-15 24:00'");
  EXPECT_EQ(Error("2025-01-15T12:61"), "invalid minute 61 in '2025-01-15T12:61'");
  EXPECT_EQ(Error("2025-01-15T12:00:60Z"), "invalid second 60 in '2025-01-15T12:00:60Z'");
  EXPECT_EQ(Error("2025-01-15T12:00:00+24:00"),
            "invalid UTC offset '+24:00' in '2025-01-15T12:00:00+24:00'");
  EXPECT_EQ(Error("2025-01-15T12:00:00-0160"),
            "invalid UTC offset '-0160' in '2025-01-15T12:00:00-0160'");
  EXPECT_EQ(Error("2025-01-01 12"),
            "invalid time '2025-01-01 12': expected YYYY-MM-DD, 'YYYY-MM-DD HH:MM[:SS]', RFC "
            "3339, epoch seconds, HH:MM or one of now, recent, today, yesterday, this-week, "
            "week-ago, this-month, this-year");
  for (const char* bad : {"tomorrow", "2025-1-15", "2025/01/15", "2025-01-15X", "2025-01-15T",
                          "2025-01-15T12:00:00+02", "2025-01-15T12:00:00.Z", "now-1h", "-5"}) {
    EXPECT_EQ(Error(bad), std::string("invalid time '") + bad + "': " + kExpected);
  }
  EXPECT_EQ(Error(""), std::string("invalid time '': ") + kExpected);
}

TEST_F(TimeSpecTest, NowUsIsCurrent) {
  const int64_t before = static_cast<int64_t>(time(nullptr)) * kSec;
  const int64_t now = NowUs();
  EXPECT_GE(now, before);
  EXPECT_LT(now, before + 5 * kSec);
}

}  // namespace
}  // namespace pveaudit

#include <gtest/gtest.h>

#include "core/time_spec.h"
#include "ingest/line_parser.h"
#include "ingest/test_util.h"

namespace pveaudit {
namespace {

using testing::ParseAll;
using testing::ReadLines;

constexpr int64_t kS = 1000000;
// 2025-07-08T12:42:30+02:00 (Europe/Vienna summer time)
constexpr int64_t kT = 1751971350 * kS;

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override { SetClusterTimeZone("Europe/Vienna"); }
  void TearDown() override { SetClusterTimeZone("UTC"); }
  std::unique_ptr<LineParser> Make(int64_t reference_us = CivilToUs(2025, 7, 9, 12, 0, 0),
                                   std::string node = "") {
    ParseContext ctx;
    ctx.node = std::move(node);
    ctx.origin = "auth.log";
    ctx.reference_us = reference_us;
    return MakeLineParser(LineFormat::kAuth, ctx);
  }
};

TEST_F(AuthTest, ClassicSyslog) {
  auto p = Make();
  EXPECT_EQ(p->format(), LineFormat::kAuth);
  auto r = ParseAll(*p, ReadLines("auth-syslog.log"));
  ASSERT_EQ(r.verdicts.size(), 10u);
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(r.verdicts[i], LineVerdict::kEvents) << i;
  for (size_t i = 7; i < 10; ++i) EXPECT_EQ(r.verdicts[i], LineVerdict::kIgnored) << i;
  ASSERT_EQ(r.events.size(), 7u);

  const Event& f = r.events[0];
  EXPECT_EQ(f.time_us, kT);
  EXPECT_EQ(f.node, "pve1");
  EXPECT_EQ(f.user, "root@pam");
  EXPECT_EQ(f.ip, "192.0.2.12");
  EXPECT_EQ(f.action, "login");
  EXPECT_EQ(f.resource, "/access/users/root@pam");
  EXPECT_EQ(f.result, Outcome::kFailure);
  EXPECT_EQ(f.source, "auth");
  EXPECT_EQ(f.detail, "Authentication failure");
  EXPECT_EQ(f.origin, "auth.log");
  EXPECT_EQ(f.origin_line, 1u);

  // "<root@pam>" is not the actor
  const Event& s = r.events[1];
  EXPECT_EQ(s.time_us, kT + 11 * kS);
  EXPECT_EQ(s.user, "alice@pve");
  EXPECT_EQ(s.ip, "");
  EXPECT_EQ(s.action, "login");
  EXPECT_EQ(s.result, Outcome::kSuccess);
  EXPECT_EQ(s.detail, "successful auth for user 'alice@pve'");
  EXPECT_EQ(r.events[2].user, "alice@pve");

  const Event& pw = r.events[3];
  EXPECT_EQ(pw.action, "user:password");
  EXPECT_EQ(pw.user, "");
  EXPECT_EQ(pw.resource, "/access/users/bob@pve");
  EXPECT_EQ(pw.result, Outcome::kSuccess);

  const Event& of = r.events[4];
  EXPECT_EQ(of.action, "login");
  EXPECT_EQ(of.user, "");
  EXPECT_EQ(of.ip, "192.0.2.40");
  EXPECT_EQ(of.result, Outcome::kFailure);
  EXPECT_EQ(of.detail, "Failed to contact issuer");
  EXPECT_EQ(of.resource, "/access");

  EXPECT_EQ(r.events[5].user, "carol@oidc");
  EXPECT_EQ(r.events[5].action, "login");
  EXPECT_EQ(r.events[5].result, Outcome::kSuccess);

  EXPECT_EQ(r.events[6].action, "access:ticket");
  EXPECT_EQ(r.events[6].result, Outcome::kFailure);
  EXPECT_EQ(r.events[6].detail, "401 permission denied - invalid PVE ticket");
}

TEST_F(AuthTest, NodeOverride) {
  auto p = Make(CivilToUs(2025, 7, 9, 12, 0, 0), "pve9");
  auto r = ParseAll(*p, ReadLines("auth-syslog.log"));
  ASSERT_FALSE(r.events.empty());
  EXPECT_EQ(r.events[0].node, "pve9");
}

TEST_F(AuthTest, Journal) {
  auto p = Make();
  auto r = ParseAll(*p, ReadLines("auth-journal.log"));
  ASSERT_EQ(r.verdicts.size(), 3u);
  EXPECT_EQ(r.verdicts[0], LineVerdict::kIgnored);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].time_us, kT);
  EXPECT_EQ(r.events[0].action, "login");
  EXPECT_EQ(r.events[1].time_us, kT + 11 * kS + 250001);
  EXPECT_EQ(r.events[1].user, "alice@pve");
}

TEST_F(AuthTest, IsoAndRfc5424) {
  SetClusterTimeZone("UTC");  // explicit offsets do not depend on the zone
  auto p = Make();
  auto r = ParseAll(*p, ReadLines("auth-iso.log"));
  ASSERT_EQ(r.verdicts.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(r.verdicts[i], LineVerdict::kEvents) << r.reasons[i];
  ASSERT_EQ(r.events.size(), 4u);
  EXPECT_EQ(r.events[0].time_us, kT);
  EXPECT_EQ(r.events[1].time_us, kT + 123456);
  EXPECT_EQ(r.events[2].time_us, kT + 123000);
  EXPECT_EQ(r.events[3].time_us, kT);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r.events[i].user, "root@pam");
    EXPECT_EQ(r.events[i].ip, "192.0.2.12");
    EXPECT_EQ(r.events[i].result, Outcome::kFailure);
    EXPECT_EQ(r.events[i].node, "pve1");
  }
  EXPECT_EQ(r.events[3].user, "alice@pve");
  EXPECT_EQ(r.events[3].result, Outcome::kSuccess);
}

// journalctl -o short-unix ("%10llu.%06llu", systemd logs-show.c) and
// -o short-full (TIMESTAMP_PRETTY: "Tue 2025-07-08 12:42:30 CEST").
TEST_F(AuthTest, ShortUnixAndShortFull) {
  const std::string msg =
      " pve1 pvedaemon[1234]: authentication failure; rhost=::ffff:192.0.2.12 user=root@pam "
      "msg=Authentication failure";
  auto time_of = [&](const std::string& stamp) -> int64_t {
    auto p = Make();
    std::vector<Event> out;
    std::string reason;
    EXPECT_EQ(p->Parse(stamp + msg, 1, &out, &reason), LineVerdict::kEvents) << stamp << reason;
    if (out.size() != 1) return -1;
    EXPECT_EQ(out[0].user, "root@pam");
    EXPECT_EQ(out[0].ip, "192.0.2.12");
    EXPECT_EQ(out[0].node, "pve1");
    return out[0].time_us;
  };
  EXPECT_EQ(time_of("1751971350.000000"), kT);
  EXPECT_EQ(time_of("1751971350.250001"), kT + 250001);
  EXPECT_EQ(time_of("Tue 2025-07-08 12:42:30 CEST"), kT);
  EXPECT_EQ(time_of("Tue 2025-07-08 10:42:30 UTC"), kT);  // journalctl --utc
  EXPECT_EQ(time_of("Tue 2025-07-08 13:42:30 +03"), kT);  // a zone without abbreviation
  // When clocks go back, the abbreviation tells the two 02:30 apart.
  EXPECT_EQ(time_of("Sun 2025-10-26 02:30:00 CEST"), CivilToUs(2025, 10, 26, 0, 30, 0));
  EXPECT_EQ(time_of("Sun 2025-10-26 02:30:00 CET"), CivilToUs(2025, 10, 26, 1, 30, 0));
  EXPECT_EQ(time_of("Sun 2025-01-12 09:00:00 CET"), CivilToUs(2025, 1, 12, 8, 0, 0));

  auto p = Make();
  std::vector<Event> out;
  std::string reason;
  // A zone that is not the cluster's: rejected, not guessed.
  EXPECT_EQ(p->Parse("Tue 2025-07-08 12:42:30 EST" + msg, 1, &out, &reason),
            LineVerdict::kRejected);
  EXPECT_EQ(reason,
            "time zone 'EST' is not the cluster time zone's at that time (CEST): set the cluster "
            "time zone or export with journalctl --utc in 'Tue 2025-07-08 12:42:30 EST'");
  // ... but only when the line is an audit record.
  EXPECT_EQ(
      p->Parse("Tue 2025-07-08 12:42:30 EST pve1 pvedaemon[1234]: worker exit", 2, &out, &reason),
      LineVerdict::kIgnored);
  EXPECT_EQ(p->Parse("Mon 2025-07-08 12:42:30 CEST" + msg, 3, &out, &reason),
            LineVerdict::kRejected);
  EXPECT_EQ(reason, "weekday does not match the date in 'Mon 2025-07-08 12:42:30 CEST'");
  EXPECT_EQ(p->Parse("Tue 2025-07-32 12:42:30 CEST" + msg, 4, &out, &reason),
            LineVerdict::kRejected);
  EXPECT_EQ(reason, "bad date 'Tue 2025-07-32 12:42:30 CEST'");
  EXPECT_EQ(p->Parse("99999999999999.5" + msg, 5, &out, &reason), LineVerdict::kRejected);
  // Look-alikes that are not short-unix: a pveproxy peer address, seconds
  // without the fraction.
  EXPECT_EQ(p->Parse("192.0.2.10 pvedaemon[1]: authentication failure; rhost=x user=y msg=z", 6,
                     &out, &reason),
            LineVerdict::kRejected);
  EXPECT_EQ(reason, "unrecognised syslog header");
  EXPECT_EQ(p->Parse("1751971350" + msg, 7, &out, &reason), LineVerdict::kRejected);
  EXPECT_EQ(reason, "unrecognised syslog header");
  EXPECT_TRUE(out.empty());
}

// rsyslog's RSYSLOG_SyslogProtocol23Format: "<%PRI%>1 %TIMESTAMP:::date-
// rfc3339% %HOSTNAME% %APP-NAME% %PROCID% %MSGID% %STRUCTURED-DATA%
// %msg%\n"; %msg% keeps the space that followed "pvedaemon[1234]:", so
// without structured data there are two spaces before the message.
TEST_F(AuthTest, RsyslogProtocol23Format) {
  SetClusterTimeZone("UTC");
  auto p = Make();
  std::vector<Event> out;
  std::string reason;
  EXPECT_EQ(p->Parse("<83>1 2025-07-08T12:42:30.123456+02:00 pve1 pvedaemon 1234 - -  "
                     "authentication failure; rhost=::ffff:192.0.2.12 user=root@pam "
                     "msg=Authentication failure",
                     1, &out, &reason),
            LineVerdict::kEvents)
      << reason;
  EXPECT_EQ(p->Parse("<30>1 2025-07-08T12:42:41+02:00 pve1 pvedaemon - - -  <root@pam> "
                     "successful auth for user 'alice@pve'",
                     2, &out, &reason),
            LineVerdict::kEvents)
      << reason;
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].time_us, kT + 123456);
  EXPECT_EQ(out[0].detail, "Authentication failure");
  EXPECT_EQ(out[1].user, "alice@pve");
  EXPECT_EQ(out[1].time_us, kT + 11 * kS);
  auto d = DetectLineFormat({"<30>1 2025-07-08T12:42:41+02:00 pve1 systemd 1 - -  Started x."});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, LineFormat::kAuth);
}

TEST_F(AuthTest, Malformed) {
  auto p = Make();
  auto r = ParseAll(*p, ReadLines("auth-malformed.log"));
  ASSERT_EQ(r.verdicts.size(), 6u);
  for (auto v : r.verdicts) EXPECT_EQ(v, LineVerdict::kRejected);
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(r.reasons[0], "bad date 'Jul 32 12:42:30'");
  EXPECT_EQ(r.reasons[1], "authentication failure line without rhost=");
  EXPECT_EQ(r.reasons[2], "authentication failure line without user=");
  EXPECT_EQ(r.reasons[3], "authentication failure line without msg=");
  EXPECT_EQ(r.reasons[4], "missing quoted user in 'successful auth' line");
  EXPECT_EQ(r.reasons[5], "bad timestamp '2025-07-08T25:42:30+02:00'");
}

TEST_F(AuthTest, IgnoredLines) {
  auto p = Make();
  std::vector<Event> out;
  std::string reason;
  for (std::string_view line : {
           "",
           "random text",
           "Jul  8 12:42:30 pve1 pvedaemon[1234]: worker 5678 finished",
           "Jul  8 12:42:30 pve1 pvestatd[1234]: authentication failure; rhost=x user=y msg=z",
           "Jul  8 12:42:30 pve1 pveproxy[1234]: proxy detected vanished client connection",
           "-- Reboot --",
           "Jux  8 12:42:30 pve1 sshd[1]: x",
       }) {
    EXPECT_EQ(p->Parse(line, 1, &out, &reason), LineVerdict::kIgnored) << line;
  }
  EXPECT_TRUE(out.empty());
  // an auth message behind an unparsable header is rejected, not dropped
  EXPECT_EQ(p->Parse("garbage pvedaemon[1]: authentication failure; rhost=x user=y msg=z", 1, &out,
                     &reason),
            LineVerdict::kRejected);
  EXPECT_EQ(reason, "unrecognised syslog header");
}

TEST_F(AuthTest, YearInference) {
  auto year_of = [&](int64_t ref, std::string_view line) {
    auto p = Make(ref);
    std::vector<Event> out;
    std::string reason;
    EXPECT_EQ(p->Parse(line, 1, &out, &reason), LineVerdict::kEvents) << reason;
    return out.empty() ? std::string() : FormatLocal(out[0].time_us).substr(0, 10);
  };
  const std::string tail =
      " 10:00:00 pve1 pvedaemon[1]: <root@pam> successful auth for user 'a@pve'";
  int64_t jan5 = LocalCivilToUs(2026, 1, 5, 9, 0, 0);
  EXPECT_EQ(year_of(jan5, "Dec 31" + tail), "2025-12-31");
  EXPECT_EQ(year_of(jan5, "Jan  5" + tail), "2026-01-05");
  EXPECT_EQ(year_of(jan5, "Jan  6" + tail), "2026-01-06");  // one day ahead: clock skew
  EXPECT_EQ(year_of(jan5, "Jan  7" + tail), "2025-01-07");
  EXPECT_EQ(year_of(jan5, "Jan  1" + tail), "2026-01-01");
  int64_t jul9 = LocalCivilToUs(2025, 7, 9, 9, 0, 0);
  EXPECT_EQ(year_of(jul9, "Jul 10" + tail), "2025-07-10");
  EXPECT_EQ(year_of(jul9, "Jul 11" + tail), "2024-07-11");
  EXPECT_EQ(year_of(jul9, "Feb 29" + tail), "2024-02-29");
  // Feb 29 goes back one more year when needed, but not two
  EXPECT_EQ(year_of(LocalCivilToUs(2025, 3, 1, 9, 0, 0), "Feb 29" + tail), "2024-02-29");
  int64_t mar1 = LocalCivilToUs(2026, 3, 1, 9, 0, 0);
  auto p = Make(mar1);
  std::vector<Event> out;
  std::string reason;
  EXPECT_EQ(p->Parse("Feb 29" + tail, 1, &out, &reason), LineVerdict::kRejected);
  EXPECT_EQ(reason, "bad date 'Feb 29 10:00:00'");
}

}  // namespace
}  // namespace pveaudit

// Tests of the journalctl -o json / json-seq parser. The fixture's shape
// (every value a string, __REALTIME_TIMESTAMP in µs, __CURSOR, _BOOT_ID,
// MESSAGE as an array of byte values when it is not printable UTF-8, null
// for fields of 4096 bytes or more) is what systemd's
// src/shared/logs-show.c (journal_entry_to_json, update_json_data) writes;
// the field names are systemd.journal-fields(7)'s.
#include <gtest/gtest.h>

#include "core/time_spec.h"
#include "ingest/line_parser.h"
#include "ingest/test_util.h"

namespace pveaudit {
namespace {

using testing::ParseAll;
using testing::ReadLines;

constexpr int64_t kS = 1000000;
constexpr int64_t kT = 1751978550 * kS;  // 2025-07-08T12:42:30Z

std::unique_ptr<LineParser> Make(LineFormat f, std::string origin = "journal.json") {
  ParseContext ctx;
  ctx.origin = std::move(origin);
  ctx.reference_us = CivilToUs(2025, 7, 9, 12, 0, 0);
  return MakeLineParser(f, ctx);
}

TEST(JournalJsonTest, Fixture) {
  auto p = Make(LineFormat::kJournalJson);
  EXPECT_EQ(p->format(), LineFormat::kJournalJson);
  auto r = ParseAll(*p, ReadLines("journal.json"));
  ASSERT_EQ(r.verdicts.size(), 6u);
  EXPECT_EQ(r.verdicts[2], LineVerdict::kIgnored);  // systemd's own entry
  ASSERT_EQ(r.events.size(), 5u);
  const Event& f = r.events[0];
  EXPECT_EQ(f.time_us, kT);
  EXPECT_EQ(f.node, "pve1");  // _HOSTNAME without its domain
  EXPECT_EQ(f.user, "root@pam");
  EXPECT_EQ(f.ip, "192.0.2.12");
  EXPECT_EQ(f.action, "login");
  EXPECT_EQ(f.result, Outcome::kFailure);
  EXPECT_EQ(f.source, "auth");
  EXPECT_EQ(f.origin, "journal.json");
  EXPECT_EQ(f.origin_line, 1u);
  EXPECT_EQ(r.events[1].time_us, kT + 11250001);
  EXPECT_EQ(r.events[1].user, "alice@pve");
  // MESSAGE as bytes (not valid UTF-8): decoded, not dropped.
  EXPECT_EQ(r.events[2].user, "m\xfcller@pve");
  EXPECT_EQ(r.events[2].origin_line, 4u);
  EXPECT_EQ(r.events[3].action, "access:ticket");
  EXPECT_EQ(r.events[4].action, "user:password");
  EXPECT_EQ(r.events[4].node, "pve2");
}

// The same entries give the same events as their short-iso-precise text
// (what the daemon's journal source feeds the auth parser), and as json-seq.
TEST(JournalJsonTest, SameEventsAsTextAndJsonSeq) {
  auto text = ParseAll(*Make(LineFormat::kAuth), ReadLines("journal-equiv.log"));
  auto json = ParseAll(*Make(LineFormat::kJournalJson), ReadLines("journal.json"));
  std::vector<std::string> seq_lines;
  for (const std::string& l : ReadLines("journal.json")) seq_lines.push_back("\x1e" + l);
  auto seq = ParseAll(*Make(LineFormat::kJournalJson), seq_lines);
  ASSERT_EQ(text.events.size(), 5u);
  ASSERT_EQ(json.events.size(), text.events.size());
  ASSERT_EQ(seq.events.size(), text.events.size());
  for (size_t i = 0; i < text.events.size(); ++i) {
    Event a = text.events[i], b = json.events[i], c = seq.events[i];
    a.origin = b.origin = c.origin = "";
    EXPECT_EQ(a, b) << i;
    EXPECT_EQ(b, c) << i;
  }
  EXPECT_EQ(text.verdicts, json.verdicts);
  EXPECT_EQ(json.verdicts, seq.verdicts);
}

TEST(JournalJsonTest, ValueForms) {
  auto p = Make(LineFormat::kJournalJson);
  std::vector<Event> out;
  std::string reason;
  const std::string head =
      R"({"__REALTIME_TIMESTAMP":"1751978550000000","_HOSTNAME":"pve1","SYSLOG_IDENTIFIER":)";
  // A field with several values is an array of values: the first counts.
  EXPECT_EQ(p->Parse(head + R"("pvedaemon","MESSAGE":["successful auth for user 'a@pve'","x"]})", 1,
                     &out, &reason),
            LineVerdict::kEvents)
      << reason;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].user, "a@pve");
  // Line breaks in the bytes become spaces (as FormatJournalLine does).
  out.clear();
  std::string bytes;
  for (char c : std::string("successful auth for user 'b@pve'\n")) {
    if (!bytes.empty()) bytes += ',';
    bytes += std::to_string(int(c));
  }
  EXPECT_EQ(p->Parse(head + R"("pvedaemon","MESSAGE":[)" + bytes + "]}", 2, &out, &reason),
            LineVerdict::kEvents)
      << reason;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].user, "b@pve");
  // MESSAGE null: too long for journalctl's JSON; cannot be judged.
  EXPECT_EQ(p->Parse(head + R"("pvedaemon","MESSAGE":null})", 3, &out, &reason),
            LineVerdict::kRejected);
  EXPECT_EQ(reason, "MESSAGE left out by journalctl (4096 bytes or more); export with --all");
  EXPECT_EQ(p->Parse(head + R"("pvedaemon"})", 4, &out, &reason), LineVerdict::kRejected);
  EXPECT_EQ(reason, "journal entry without MESSAGE");
  EXPECT_EQ(p->Parse(head + R"("pvedaemon","MESSAGE":[1,300]})", 5, &out, &reason),
            LineVerdict::kRejected);
  EXPECT_EQ(reason, "MESSAGE is neither text nor bytes");
  EXPECT_EQ(
      p->Parse(R"({"__REALTIME_TIMESTAMP":"12a","SYSLOG_IDENTIFIER":"pveproxy","MESSAGE":"x"})", 6,
               &out, &reason),
      LineVerdict::kRejected);
  EXPECT_EQ(reason, "journal entry without a valid __REALTIME_TIMESTAMP");
  EXPECT_EQ(p->Parse("{\"MESSAGE\":", 7, &out, &reason), LineVerdict::kRejected);
  EXPECT_EQ(reason, "not a journalctl JSON object: '{\"MESSAGE\":'");
  // Other programs' entries are no audit records, even when malformed
  // otherwise; a look-alike identifier does not count.
  EXPECT_EQ(p->Parse(head + R"("pvedaemonx","MESSAGE":"successful auth for user 'a@pve'"})", 8,
                     &out, &reason),
            LineVerdict::kIgnored);
  EXPECT_EQ(p->Parse(R"({"MESSAGE":null})", 9, &out, &reason), LineVerdict::kIgnored);
  EXPECT_EQ(p->Parse("\x1e", 10, &out, &reason), LineVerdict::kIgnored);
  EXPECT_EQ(out.size(), 1u);
}

}  // namespace
}  // namespace pveaudit

// Tests of the cluster log parser. The entry shape is pmxcfs's
// (proxmox/pve-cluster src/pmxcfs/logger.c, clog_dump_json: uid, time,
// pri, tag, pid, node, user, msg; newest first); the field list also
// matches the client model in Wolffyx/ProxmoxAngulaFrontEnd
// src/app/interfaces/log.ts. pvesh prints it with pve-common
// PVE/CLIFormatter.pm: --output-format json is to_json(canonical) on one
// line, json-pretty Perl JSON's pretty form. The fixtures
// (tests/data/ingest/clusterlog*) hold the same five entries in the three
// forms; the task lines are pve-common RESTEnvironment.pm's
// "starting task UPID" / "end task UPID STATUS".
#include <gtest/gtest.h>

#include "core/time_spec.h"
#include "ingest/line_parser.h"
#include "ingest/test_util.h"

namespace pveaudit {
namespace {

using testing::ParseAll;
using testing::ReadLines;

constexpr int64_t kS = 1000000;
constexpr int64_t kUpidStart = 0x686D1234LL * kS;

std::unique_ptr<LineParser> Make() {
  ParseContext ctx;
  ctx.origin = "clusterlog";
  ctx.reference_us = CivilToUs(2025, 7, 9, 12, 0, 0);
  return MakeLineParser(LineFormat::kClusterLog, ctx);
}

void ExpectFixtureEvents(const std::vector<Event>& ev, const char* form) {
  SCOPED_TRACE(form);
  ASSERT_EQ(ev.size(), 4u);
  // end task ... OK
  EXPECT_EQ(ev[0].action, "vm:start");
  EXPECT_EQ(ev[0].resource, "/vms/210");
  EXPECT_EQ(ev[0].user, "alice@pve");
  EXPECT_EQ(ev[0].node, "pve1");
  EXPECT_EQ(ev[0].time_us, kUpidStart);  // the task's start, as in the task index
  EXPECT_EQ(ev[0].status, "OK");
  EXPECT_EQ(ev[0].result, Outcome::kSuccess);
  EXPECT_EQ(ev[0].detail, "UPID:pve1:00001A2B:0000ABCD:686D1234:qmstart:210:alice@pve:");
  EXPECT_EQ(ev[0].source, "clusterlog");
  // starting task: running
  EXPECT_EQ(ev[1].action, "vm:start");
  EXPECT_EQ(ev[1].status, "running");
  EXPECT_EQ(ev[1].result, Outcome::kUnknown);
  EXPECT_EQ(ev[1].detail, ev[0].detail);
  // log_msg auth line: the actor is in the message, not in "user"
  EXPECT_EQ(ev[2].action, "login");
  EXPECT_EQ(ev[2].user, "alice@pve");
  EXPECT_EQ(ev[2].result, Outcome::kSuccess);
  EXPECT_EQ(ev[2].time_us, 1751978546 * kS);
  EXPECT_EQ(ev[2].node, "pve1");
  EXPECT_EQ(ev[2].source, "clusterlog");
  // a failed backup on another node
  EXPECT_EQ(ev[3].action, "guest:backup");
  EXPECT_EQ(ev[3].node, "pve2");
  EXPECT_EQ(ev[3].status, "job errors");
  EXPECT_EQ(ev[3].result, Outcome::kFailure);
}

TEST(ClusterLogTest, OneLineArray) {
  auto p = Make();
  auto r = ParseAll(*p, ReadLines("clusterlog.json"));
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0], LineVerdict::kEvents) << r.reasons[0];
  ExpectFixtureEvents(r.events, "json");
  for (const Event& e : r.events) EXPECT_EQ(e.origin_line, 1u);
}

TEST(ClusterLogTest, PrettyPrinted) {
  auto p = Make();
  auto r = ParseAll(*p, ReadLines("clusterlog-pretty.json"));
  for (size_t i = 0; i < r.verdicts.size(); ++i)
    EXPECT_NE(r.verdicts[i], LineVerdict::kRejected) << i << ": " << r.reasons[i];
  ExpectFixtureEvents(r.events, "json-pretty");
  // Each event names the line where its entry starts ("   {").
  ASSERT_EQ(r.events.size(), 4u);
  EXPECT_EQ(r.events[0].origin_line, 2u);
  EXPECT_EQ(r.events[1].origin_line, 22u);
}

TEST(ClusterLogTest, PmxcfsDump) {
  auto p = Make();
  auto r = ParseAll(*p, ReadLines("clusterlog-raw"));
  for (size_t i = 0; i < r.verdicts.size(); ++i)
    EXPECT_NE(r.verdicts[i], LineVerdict::kRejected) << i << ": " << r.reasons[i];
  ExpectFixtureEvents(r.events, ".clusterlog");
  // The API's raw answer on one line.
  std::string one;
  for (const std::string& l : ReadLines("clusterlog-raw")) one += l;
  std::vector<Event> out;
  std::string reason;
  EXPECT_EQ(Make()->Parse(one, 1, &out, &reason), LineVerdict::kEvents) << reason;
  ExpectFixtureEvents(out, "raw one line");
}

TEST(ClusterLogTest, Malformed) {
  auto p = Make();
  std::vector<Event> out;
  std::string reason;
  EXPECT_EQ(p->Parse("[{\"time\":1,\"msg\":\"x\"", 1, &out, &reason), LineVerdict::kRejected);
  EXPECT_EQ(reason, "invalid JSON: '[{\"time\":1,\"msg\":\"x\"'");
  // One bad entry rejects its line (kept whole in the rejected table), and
  // none of the line's events is kept.
  EXPECT_EQ(p->Parse(R"([{"time":1751978546,"tag":"pvedaemon","node":"pve1",)"
                     R"("msg":"successful auth for user 'a@pve'"},{"time":"soon","msg":"x"}])",
                     2, &out, &reason),
            LineVerdict::kRejected);
  EXPECT_EQ(reason, "entry 2: missing or bad \"time\"");
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(p->Parse(R"({"time":1751978546,"node":"pve1"})", 3, &out, &reason),
            LineVerdict::kRejected);
  EXPECT_EQ(reason, "missing or bad \"msg\"");
  EXPECT_EQ(
      p->Parse(R"({"time":1751978546,"msg":"starting task UPID:pve1:xx:"})", 4, &out, &reason),
      LineVerdict::kRejected);
  EXPECT_EQ(reason, "bad UPID 'UPID:pve1:xx:': too few fields");
  EXPECT_EQ(p->Parse("hello", 5, &out, &reason), LineVerdict::kRejected);
  EXPECT_EQ(reason, "not cluster log JSON: 'hello'");
  EXPECT_EQ(p->Parse("\"x\"", 6, &out, &reason), LineVerdict::kRejected);
  // Look-alikes that are no audit records: other tags' auth-like words, a
  // task word without a UPID.
  EXPECT_EQ(p->Parse(R"([{"time":1751978546,"tag":"pvestatd","node":"pve1",)"
                     R"("msg":"successful auth for user 'a@pve'"},)"
                     R"({"time":1751978546,"tag":"pvedaemon","node":"pve1",)"
                     R"("msg":"starting task soon"}])",
                     7, &out, &reason),
            LineVerdict::kIgnored);
  EXPECT_EQ(p->Parse("[]", 8, &out, &reason), LineVerdict::kIgnored);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace pveaudit

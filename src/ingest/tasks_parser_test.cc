#include <gtest/gtest.h>

#include "ingest/line_parser.h"
#include "ingest/test_util.h"

namespace pveaudit {
namespace {

using testing::ParseAll;
using testing::ReadLines;

constexpr int64_t kS = 1000000;

std::unique_ptr<LineParser> Make() {
  ParseContext ctx;
  ctx.node = "ignored";  // tasks always carry their node in the UPID
  ctx.origin = "index";
  return MakeLineParser(LineFormat::kTasks, ctx);
}

TEST(TasksParser, Index) {
  auto p = Make();
  EXPECT_EQ(p->format(), LineFormat::kTasks);
  auto r = ParseAll(*p, ReadLines("tasks-index"));
  ASSERT_EQ(r.verdicts.size(), 7u);
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(r.verdicts[i], LineVerdict::kEvents) << r.reasons[i];
  ASSERT_EQ(r.events.size(), 7u);

  const Event& e = r.events[0];
  EXPECT_EQ(e.time_us, 1751978548 * kS);  // 0x686D1234
  EXPECT_EQ(e.node, "pve1");
  EXPECT_EQ(e.user, "root@pam");
  EXPECT_EQ(e.ip, "");
  EXPECT_EQ(e.action, "vm:start");
  EXPECT_EQ(e.resource, "/vms/210");
  EXPECT_EQ(e.result, Outcome::kSuccess);
  EXPECT_EQ(e.status, "OK");
  EXPECT_EQ(e.source, "tasks");
  EXPECT_EQ(e.detail, "UPID:pve1:00001A2B:0000ABCD:686D1234:qmstart:210:root@pam:");
  EXPECT_EQ(e.origin, "index");
  EXPECT_EQ(e.origin_line, 1u);

  // token user, warnings count as success
  EXPECT_EQ(r.events[1].user, "91a1da29-a47d-11f0-84e0-fafbfc944d00@pam!some-token");
  EXPECT_EQ(r.events[1].action, "guest:backup");
  EXPECT_EQ(r.events[1].resource, "/vms/100");
  EXPECT_EQ(r.events[1].status, "WARNINGS: 2");
  EXPECT_EQ(r.events[1].result, Outcome::kSuccess);

  // 9-digit pstart; error text with spaces is the status
  EXPECT_EQ(r.events[2].status, "start failed: QEMU exited with code 1");
  EXPECT_EQ(r.events[2].result, Outcome::kFailure);
  EXPECT_EQ(r.events[2].user, "alice@pve");

  // empty id
  EXPECT_EQ(r.events[3].action, "node:console");
  EXPECT_EQ(r.events[3].resource, "/nodes/pve1");
  EXPECT_EQ(r.events[3].time_us, 1767296496 * kS);

  EXPECT_EQ(r.events[4].node, "example-node");
  EXPECT_EQ(r.events[4].action, "node:update");
  EXPECT_EQ(r.events[4].time_us, 1758930844 * kS);

  EXPECT_EQ(r.events[5].node, "x");
  EXPECT_EQ(r.events[5].user, "terraform-prov@pve");
  EXPECT_EQ(r.events[5].action, "vm:config");
  EXPECT_EQ(r.events[5].resource, "/vms/113");
  EXPECT_EQ(r.events[5].time_us, 1637159089 * kS);

  EXPECT_EQ(r.events[6].action, "ct:start");
  EXPECT_EQ(r.events[6].status, "unexpected status");
  EXPECT_EQ(r.events[6].result, Outcome::kFailure);
}

TEST(TasksParser, Active) {
  auto p = Make();
  auto r = ParseAll(*p, ReadLines("tasks-active"));
  ASSERT_EQ(r.events.size(), 3u) << r.reasons[0] << r.reasons[1] << r.reasons[2];
  EXPECT_EQ(r.events[0].status, "OK");
  EXPECT_EQ(r.events[0].result, Outcome::kSuccess);
  EXPECT_EQ(r.events[1].action, "vm:migrate");
  EXPECT_EQ(r.events[1].status, "running");
  EXPECT_EQ(r.events[1].result, Outcome::kUnknown);
  EXPECT_EQ(r.events[2].action, "guest:console");
  EXPECT_EQ(r.events[2].user, "alice@pve");
  EXPECT_EQ(r.events[2].status, "running");
  EXPECT_EQ(r.events[2].result, Outcome::kUnknown);
}

TEST(TasksParser, Malformed) {
  auto p = Make();
  auto r = ParseAll(*p, ReadLines("tasks-malformed"));
  ASSERT_EQ(r.verdicts.size(), 6u);
  for (auto v : r.verdicts) EXPECT_EQ(v, LineVerdict::kRejected);
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(r.reasons[0],
            "bad UPID 'UPID:example-node:000934AF:0D015579:68BF3A41:broken': too few fields");
  EXPECT_EQ(r.reasons[1],
            "bad UPID 'UPID:pve1:1A2B:0000ABCD:686D1234:qmstart:210:root@pam:': bad pid '1A2B'");
  EXPECT_EQ(r.reasons[2],
            "bad UPID 'UPID:pve1:00001A2B:0000ABCD:686D1234:qmstart:210:root@pam': missing final "
            "':'");
  EXPECT_EQ(r.reasons[3], "bad end time '686D12'");
  EXPECT_EQ(r.reasons[4],
            "bad UPID 'UPID:-pve1:00001A2B:0000ABCD:686D1234:qmstart:210:root@pam:': bad node "
            "'-pve1'");
  EXPECT_EQ(r.reasons[5], "bad UPID 'hello': missing 'UPID:'");
}

TEST(TasksParser, MoreCases) {
  auto p = Make();
  std::vector<Event> out;
  std::string reason;
  auto rej = [&](std::string_view line) {
    reason.clear();
    EXPECT_EQ(p->Parse(line, 1, &out, &reason), LineVerdict::kRejected) << line;
    return reason;
  };
  EXPECT_EQ(rej("UPID:n:00000001:0000000G:686D1234:qmstart:1:u@pam:"),
            "bad UPID 'UPID:n:00000001:0000000G:686D1234:qmstart:1:u@pam:': bad pstart "
            "'0000000G'");
  EXPECT_EQ(rej("UPID:n:00000001:00000001:686D123:qmstart:1:u@pam:"),
            "bad UPID 'UPID:n:00000001:00000001:686D123:qmstart:1:u@pam:': bad start time "
            "'686D123'");
  EXPECT_EQ(rej("UPID:n:00000001:00000001:686D1234::1:u@pam:"),
            "bad UPID 'UPID:n:00000001:00000001:686D1234::1:u@pam:': bad type ''");
  EXPECT_EQ(rej("UPID:n:00000001:00000001:686D1234:qmstart:1::"),
            "bad UPID 'UPID:n:00000001:00000001:686D1234:qmstart:1::': bad user ''");
  EXPECT_EQ(rej("UPID:n:00000001:00000001:686D1234:qmstart:1:u:x:"),
            "bad UPID 'UPID:n:00000001:00000001:686D1234:qmstart:1:u:x:': bad user 'u:x'");
  EXPECT_EQ(rej("UPID:n:00000001:00000001:686D1234:qm/start:1:u@pam:"),
            "bad UPID 'UPID:n:00000001:00000001:686D1234:qm/start:1:u@pam:': bad type "
            "'qm/start'");
  EXPECT_EQ(rej("UPID:n:00000001:00000001:686D1234:qmstart:1:u@pam: 2 686D1235 OK"),
            "bad end time '2'");
  // end time without status, tab separators, long statuses are cut
  ASSERT_EQ(
      p->Parse("UPID:n:00000001:00000001:686D1234:qmstart:1:u@pam:\t686D1235", 1, &out, &reason),
      LineVerdict::kEvents);
  EXPECT_EQ(out.back().result, Outcome::kUnknown);
  EXPECT_EQ(out.back().status, "");
  std::string longline = "UPID:n:00000001:00000001:686D1234:qmstart:1:u@pam: 686D1235 ";
  longline += std::string(300, 'e');
  ASSERT_EQ(p->Parse(longline, 1, &out, &reason), LineVerdict::kEvents);
  EXPECT_EQ(out.back().status.size(), 200u);
  EXPECT_EQ(out.back().result, Outcome::kFailure);
  EXPECT_EQ(p->Parse("", 1, &out, &reason), LineVerdict::kIgnored);
}

}  // namespace
}  // namespace pveaudit

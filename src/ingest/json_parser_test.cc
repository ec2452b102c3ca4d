#include <gtest/gtest.h>

#include "core/event_json.h"
#include "ingest/line_parser.h"
#include "ingest/test_util.h"

namespace pveaudit {
namespace {

using testing::ParseAll;
using testing::ReadLines;

TEST(JsonParser, Fixture) {
  ParseContext ctx;
  ctx.origin = "events.jsonl";
  auto p = MakeLineParser(LineFormat::kJson, ctx);
  EXPECT_EQ(p->format(), LineFormat::kJson);
  auto r = ParseAll(*p, ReadLines("events.jsonl"));
  ASSERT_EQ(r.verdicts.size(), 4u);
  EXPECT_EQ(r.verdicts[0], LineVerdict::kEvents);
  EXPECT_EQ(r.verdicts[1], LineVerdict::kEvents);
  EXPECT_EQ(r.verdicts[2], LineVerdict::kIgnored);
  EXPECT_EQ(r.verdicts[3], LineVerdict::kRejected);
  EXPECT_EQ(r.reasons[3], "missing key 'user'");
  ASSERT_EQ(r.events.size(), 2u);

  const Event& a = r.events[0];
  EXPECT_EQ(a.id, 0u);
  EXPECT_EQ(a.time_us, 1751978548000000);
  EXPECT_EQ(a.action, "vm:start");
  EXPECT_EQ(a.source, "pveproxy");
  EXPECT_EQ(a.origin, "/var/log/pveproxy/access.log");  // provenance kept
  EXPECT_EQ(a.origin_line, 1u);

  const Event& b = r.events[1];
  EXPECT_EQ(b.time_us, 1751978550500000);
  EXPECT_EQ(b.source, "json");
  EXPECT_EQ(b.ip, "192.0.2.12");
  EXPECT_EQ(b.result, Outcome::kFailure);
  EXPECT_EQ(b.origin, "events.jsonl");
  EXPECT_EQ(b.origin_line, 2u);
}

TEST(JsonParser, RoundTripThroughParser) {
  Event e;
  e.time_us = 1751978548123456;
  e.user = "bob@pve!ci";
  e.action = "acl:modify";
  e.resource = "/access";
  e.source = "pveproxy";
  e.origin = "a.log";
  e.origin_line = 3;
  auto p = MakeLineParser(LineFormat::kJson, ParseContext{});
  std::vector<Event> out;
  std::string reason;
  ASSERT_EQ(p->Parse(EventToJson(e).dump(), 9, &out, &reason), LineVerdict::kEvents) << reason;
  EXPECT_EQ(out[0], e);
}

TEST(JsonParser, Garbage) {
  auto p = MakeLineParser(LineFormat::kJson, ParseContext{});
  std::vector<Event> out;
  std::string reason;
  EXPECT_EQ(p->Parse("not json", 1, &out, &reason), LineVerdict::kRejected);
  EXPECT_EQ(reason.substr(0, 14), "invalid JSON: ");
  EXPECT_EQ(p->Parse("\"str\"", 1, &out, &reason), LineVerdict::kRejected);
  EXPECT_EQ(reason, "not a JSON object");
  EXPECT_EQ(p->Parse("  \t ", 1, &out, &reason), LineVerdict::kIgnored);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace pveaudit

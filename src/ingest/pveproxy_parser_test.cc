#include <gtest/gtest.h>

#include "ingest/line_parser.h"
#include "ingest/test_util.h"

namespace pveaudit {
namespace {

using testing::ParseAll;
using testing::ReadLines;

constexpr int64_t kS = 1000000;

class PveproxyTest : public ::testing::Test {
 protected:
  std::unique_ptr<LineParser> Make(std::string node = "pve1") {
    ParseContext ctx;
    ctx.node = std::move(node);
    ctx.origin = "access.log";
    return MakeLineParser(LineFormat::kPveproxy, ctx);
  }
};

TEST_F(PveproxyTest, Fixture) {
  auto p = Make();
  EXPECT_EQ(p->format(), LineFormat::kPveproxy);
  auto lines = ReadLines("access.log");
  ASSERT_EQ(lines.size(), 10u);
  auto r = ParseAll(*p, lines);
  for (size_t i = 0; i < 9; ++i) EXPECT_EQ(r.verdicts[i], LineVerdict::kEvents) << r.reasons[i];
  EXPECT_EQ(r.verdicts[9], LineVerdict::kIgnored);
  ASSERT_EQ(r.events.size(), 9u);

  const Event& e = r.events[0];
  EXPECT_EQ(e.time_us, 1751978548 * kS);
  EXPECT_EQ(e.node, "pve1");
  EXPECT_EQ(e.user, "root@pam");
  EXPECT_EQ(e.ip, "192.0.2.10");
  EXPECT_EQ(e.action, "vm:start");
  EXPECT_EQ(e.resource, "/vms/100");
  EXPECT_EQ(e.result, Outcome::kSuccess);
  EXPECT_EQ(e.status, "200");
  EXPECT_EQ(e.source, "pveproxy");
  EXPECT_EQ(e.detail, "POST /api2/json/nodes/pve1/qemu/100/status/start");
  EXPECT_EQ(e.origin, "access.log");
  EXPECT_EQ(e.origin_line, 1u);
  EXPECT_EQ(e.id, 0u);

  // login attempt: no user in access.log, recorded as a ticket request
  EXPECT_EQ(r.events[1].user, "");
  EXPECT_EQ(r.events[1].ip, "192.0.2.12");
  EXPECT_EQ(r.events[1].action, "access:ticket");
  EXPECT_EQ(r.events[1].resource, "/access");
  EXPECT_EQ(r.events[1].result, Outcome::kFailure);
  EXPECT_EQ(r.events[1].status, "401");

  // extjs logs 200 for everything: unknown, never success; +0200 offset
  EXPECT_EQ(r.events[2].time_us, 1751971382 * kS);
  EXPECT_EQ(r.events[2].result, Outcome::kUnknown);
  EXPECT_EQ(r.events[2].action, "access:ticket");

  // IPv6 peer, %40 decoded in the resource, not in the detail
  EXPECT_EQ(r.events[3].ip, "2001:db8::5");
  EXPECT_EQ(r.events[3].action, "user:modify");
  EXPECT_EQ(r.events[3].resource, "/access/users/bob@pve");
  EXPECT_EQ(r.events[3].detail, "PUT /api2/extjs/access/users/bob%40pve");
  EXPECT_EQ(r.events[3].result, Outcome::kUnknown);

  // token user, query string kept, size "-"
  EXPECT_EQ(r.events[4].user, "bob@pve!ci");
  EXPECT_EQ(r.events[4].ip, "198.51.100.7");
  EXPECT_EQ(r.events[4].action, "vm:read");
  EXPECT_EQ(r.events[4].detail, "GET /api2/json/nodes/pve1/qemu/100/config?current=1");

  // pre-2017 month names; non-API path
  EXPECT_EQ(r.events[5].time_us, 1492070462 * kS);
  EXPECT_EQ(r.events[5].action, "http:read");
  EXPECT_EQ(r.events[5].resource, "/");
  EXPECT_EQ(r.events[5].result, Outcome::kUnknown);  // 3xx: neither (docs/actions.md)
  EXPECT_EQ(r.events[5].status, "304");

  // console websocket; the ticket in the query string is redacted
  EXPECT_EQ(r.events[6].action, "vm:console");
  EXPECT_EQ(r.events[6].result, Outcome::kSuccess);
  EXPECT_EQ(r.events[6].detail,
            "GET /api2/json/nodes/pve1/qemu/100/vncwebsocket?port=5900&vncticket=REDACTED");

  EXPECT_EQ(r.events[7].action, "ct:delete");
  EXPECT_EQ(r.events[7].resource, "/vms/105");
  EXPECT_EQ(r.events[7].result, Outcome::kFailure);

  // extjs with a non-200 code is a real failure
  EXPECT_EQ(r.events[8].action, "ct:stop");
  EXPECT_EQ(r.events[8].result, Outcome::kFailure);
  EXPECT_EQ(r.events[8].origin_line, 9u);
}

// Regression: pveproxy's 308 (plain HTTP redirected to HTTPS) on a ticket
// request was stored as a successful ticket request. Status classes: 1xx
// and 2xx success, 3xx unknown, 4xx and 5xx failure.
TEST_F(PveproxyTest, StatusClasses) {
  auto p = Make();
  auto line = [](const char* code) {
    return std::string("::ffff:192.0.2.12 - - [08/07/2025:12:42:30 +0000] ") +
           "\"POST /api2/json/access/ticket HTTP/1.1\" " + code + " 0";
  };
  const std::pair<const char*, Outcome> kCases[] = {
      {"101", Outcome::kSuccess}, {"200", Outcome::kSuccess}, {"204", Outcome::kSuccess},
      {"299", Outcome::kSuccess}, {"300", Outcome::kUnknown}, {"301", Outcome::kUnknown},
      {"308", Outcome::kUnknown}, {"399", Outcome::kUnknown}, {"400", Outcome::kFailure},
      {"401", Outcome::kFailure}, {"500", Outcome::kFailure}, {"599", Outcome::kFailure}};
  for (const auto& [code, want] : kCases) {
    auto r = ParseAll(*p, {line(code)});
    ASSERT_EQ(r.events.size(), 1u) << code;
    EXPECT_EQ(r.events[0].result, want) << code;
    EXPECT_EQ(r.events[0].status, code);
  }
}

TEST_F(PveproxyTest, Malformed) {
  auto p = Make();
  auto r = ParseAll(*p, ReadLines("access-malformed.log"));
  ASSERT_EQ(r.verdicts.size(), 6u);
  for (auto v : r.verdicts) EXPECT_EQ(v, LineVerdict::kRejected);
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(r.reasons[0], "bad date '32/13/2025:12:42:28 +0000'");
  EXPECT_EQ(r.reasons[1], "missing '[' before time");
  EXPECT_EQ(r.reasons[2], "bad status code '2000'");
  EXPECT_EQ(r.reasons[3], "bad size '1k'");
  EXPECT_EQ(r.reasons[4], "expected ' - ' after client address");
  EXPECT_EQ(r.reasons[5], "missing '\"' after request line");
}

TEST_F(PveproxyTest, MoreRejects) {
  auto p = Make();
  std::vector<Event> out;
  std::string reason;
  auto rej = [&](std::string_view line) {
    reason.clear();
    EXPECT_EQ(p->Parse(line, 1, &out, &reason), LineVerdict::kRejected) << line;
    return reason;
  };
  EXPECT_EQ(rej("x"), "expected ' - ' after client address");
  EXPECT_EQ(rej(" - u [x] \"GET / HTTP/1.1\" 200 1"), "missing client address");
  EXPECT_EQ(rej("1.2.3.4 - u [08/07/2025:12:42:28 +0000 \"GET /\" 200 1"),
            "missing ']' after time");
  EXPECT_EQ(rej("1.2.3.4 - u [08/07/2025:12:42:28 +0000] GET / 200 1"),
            "missing '\"' before request line");
  EXPECT_EQ(rej("1.2.3.4 - u [08/07/2025:12:42:28 +0000] \"GET /\""),
            "missing status code and size");
  EXPECT_EQ(rej("1.2.3.4 - u [08/07/2025:12:42:28 +0000] \"GET /\" 099 1"),
            "bad status code '099'");
  EXPECT_EQ(rej("1.2.3.4 - u [08/Jux/2025:12:42:28 +0000] \"GET /\" 200 1"),
            "bad date '08/Jux/2025:12:42:28 +0000'");
  EXPECT_EQ(rej("1.2.3.4 - u [29/02/2025:12:42:28 +0000] \"GET /\" 200 1"),
            "bad date '29/02/2025:12:42:28 +0000'");
  EXPECT_EQ(rej("1.2.3.4 - u [08/07/2025:12:42:28] \"GET /\" 200 1"),
            "bad date '08/07/2025:12:42:28'");
  EXPECT_EQ(rej("1.2.3.4 - u [08/07/2025:12:42:28 +0000] \"GET /\" 200 \x01"), "bad size '?'");
  EXPECT_TRUE(out.empty());
}

TEST_F(PveproxyTest, Oddities) {
  auto p = Make("");
  std::vector<Event> out;
  std::string reason;
  // default node, a '"' inside the request line, CRLF, the "-" request line
  ASSERT_EQ(p->Parse("::ffff:192.0.2.1 - root@pam [08/07/2025:12:42:28 -0130] "
                     "\"GET /api2/json/nodes/\"x HTTP/1.1\" 200 5\r",
                     3, &out, &reason),
            LineVerdict::kEvents)
      << reason;
  ASSERT_EQ(p->Parse("- - - [08/07/2025:12:42:28 +0000] \"-\" 500 -", 4, &out, &reason),
            LineVerdict::kEvents)
      << reason;
  ASSERT_EQ(p->Parse("192.0.2.1 - root@pam [08/07/2025:12:42:28 +0000] "
                     "\"CONNECT pvespiceproxy:abc:100:pve1::def HTTP/1.0\" 200 -",
                     5, &out, &reason),
            LineVerdict::kEvents);
  ASSERT_EQ(p->Parse("192.0.2.1 - root@pam [08/07/2025:12:42:28 +0000] "
                     "\"POST /api2/json/access/ticket?username=x&password=secret HTTP/1.1\" 200 9",
                     6, &out, &reason),
            LineVerdict::kEvents);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].node, "localhost");
  EXPECT_EQ(out[0].time_us, (1751978548 + 5400) * kS);
  EXPECT_EQ(out[0].detail, "GET /api2/json/nodes/\"x");
  EXPECT_EQ(out[1].action, "http:request");
  EXPECT_EQ(out[1].user, "");
  EXPECT_EQ(out[1].ip, "");
  EXPECT_EQ(out[1].detail, "-");
  EXPECT_EQ(out[1].result, Outcome::kFailure);
  EXPECT_EQ(out[2].action, "http:connect");
  EXPECT_EQ(out[3].detail, "POST /api2/json/access/ticket?username=x&password=REDACTED");
  // blank lines are ignored
  EXPECT_EQ(p->Parse("", 7, &out, &reason), LineVerdict::kIgnored);
  EXPECT_EQ(p->Parse("  \r", 8, &out, &reason), LineVerdict::kIgnored);
}

TEST_F(PveproxyTest, ApiFormats) {
  auto p = Make();
  for (const char* fmt : {"json", "extjs", "htmljs", "spiceconfig", "html"}) {
    std::vector<Event> out;
    std::string reason;
    std::string line =
        std::string("192.0.2.1 - root@pam [08/07/2025:12:42:28 +0000] \"POST /api2/") + fmt +
        "/nodes/pve1/lxc/105/status/start HTTP/1.1\" 200 5";
    ASSERT_EQ(p->Parse(line, 1, &out, &reason), LineVerdict::kEvents);
    EXPECT_EQ(out[0].action, "ct:start") << fmt;
  }
}

}  // namespace
}  // namespace pveaudit

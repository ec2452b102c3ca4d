#include "core/event_json.h"

#include <gtest/gtest.h>

#include "core/time_spec.h"

namespace pveaudit {
namespace {

Event Sample() {
  Event e;
  e.id = 42;
  e.time_us = 1751978548000000;  // 2025-07-08T12:42:28Z
  e.node = "pve1";
  e.user = "root@pam";
  e.ip = "192.0.2.10";
  e.action = "vm:start";
  e.resource = "/vms/100";
  e.result = Outcome::kSuccess;
  e.status = "200";
  e.source = "pveproxy";
  e.session = "s1";
  e.detail = "POST /api2/json/nodes/pve1/qemu/100/status/start";
  e.origin = "/var/log/pveproxy/access.log";
  e.origin_line = 17;
  return e;
}

TEST(EventJson, Keys) {
  nlohmann::json j = EventToJson(Sample());
  EXPECT_EQ(j["id"], 42);
  EXPECT_EQ(j["time"], "2025-07-08T12:42:28Z");
  EXPECT_EQ(j["node"], "pve1");
  EXPECT_EQ(j["user"], "root@pam");
  EXPECT_EQ(j["ip"], "192.0.2.10");
  EXPECT_EQ(j["action"], "vm:start");
  EXPECT_EQ(j["resource"], "/vms/100");
  EXPECT_EQ(j["result"], "success");
  EXPECT_EQ(j["status"], "200");
  EXPECT_EQ(j["source"], "pveproxy");
  EXPECT_EQ(j["session"], "s1");
  EXPECT_EQ(j["detail"], "POST /api2/json/nodes/pve1/qemu/100/status/start");
  EXPECT_EQ(j["origin"], "/var/log/pveproxy/access.log");
  EXPECT_EQ(j["line"], 17);
  EXPECT_EQ(j.size(), 14u);
}

TEST(EventJson, RoundTrip) {
  Event e = Sample();
  e.time_us += 123456;  // microseconds survive
  auto r = EventFromJson(EventToJson(e).dump());
  ASSERT_TRUE(r.ok()) << r.status().message();
  Event back = *r;
  EXPECT_EQ(back.id, 0u);  // ids are assigned by the store
  back.id = e.id;
  EXPECT_EQ(back, e);
}

TEST(EventJson, RoundTripEveryOutcome) {
  for (Outcome o : {Outcome::kSuccess, Outcome::kFailure, Outcome::kUnknown}) {
    Event e = Sample();
    e.result = o;
    auto r = EventFromJson(EventToJson(e).dump());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->result, o);
  }
}

TEST(EventJson, InvalidUtf8IsReplaced) {
  Event e = Sample();
  e.detail = std::string("GET /\xff\xfe ok \xc3\xa9");
  nlohmann::json j = EventToJson(e);
  std::string dumped = j.dump();  // must not throw
  EXPECT_EQ(j["detail"], "GET /\xEF\xBF\xBD\xEF\xBF\xBD ok \xc3\xa9");
}

TEST(EventJson, Minimal) {
  auto r = EventFromJson(R"({"time":"2025-07-08T14:42:28.5+02:00","user":"","action":"login"})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->time_us, 1751978548500000);
  EXPECT_EQ(r->user, "");
  EXPECT_EQ(r->action, "login");
  EXPECT_EQ(r->result, Outcome::kUnknown);
  EXPECT_EQ(r->origin_line, 0u);
}

TEST(EventJson, IpIsCanonicalised) {
  auto r = EventFromJson(
      R"({"time":"2025-07-08T12:42:28Z","user":"u@pve","action":"login","ip":"::ffff:192.0.2.5"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ip, "192.0.2.5");
}

TEST(EventJson, NullsAreAbsent) {
  auto r = EventFromJson(
      R"({"time":"2025-07-08T12:42:28Z","user":"u@pve","action":"login","node":null,"line":null})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->node, "");
}

TEST(EventJson, Errors) {
  auto msg = [](std::string_view text) {
    auto r = EventFromJson(text);
    return r.ok() ? std::string("OK") : r.status().message();
  };
  EXPECT_EQ(msg("[1,2]"), "not a JSON object");
  EXPECT_EQ(msg(R"({"user":"","action":"login"})"), "missing key 'time'");
  EXPECT_EQ(msg(R"({"time":"2025-07-08T12:42:28Z","action":"login"})"), "missing key 'user'");
  EXPECT_EQ(msg(R"({"time":"2025-07-08T12:42:28Z","user":""})"), "missing key 'action'");
  EXPECT_EQ(msg(R"({"time":"2025-07-08T12:42:28Z","user":"","action":""})"), "empty key 'action'");
  EXPECT_EQ(msg(R"({"time":1751978548,"user":"","action":"login"})"),
            "key 'time' must be a string");
  EXPECT_EQ(msg(R"({"time":"2025-07-08 12:42","user":"","action":"login"})"),
            "bad time '2025-07-08 12:42' (want RFC 3339)");
  EXPECT_EQ(msg(R"({"time":"2025-02-30T12:42:28Z","user":"","action":"login"})"),
            "bad time '2025-02-30T12:42:28Z' (want RFC 3339)");
  EXPECT_EQ(msg(R"({"time":"2025-07-08T12:42:28","user":"","action":"login"})"),
            "bad time '2025-07-08T12:42:28' (want RFC 3339)");
  EXPECT_EQ(msg(R"({"time":"today","user":"","action":"login"})"),
            "bad time 'today' (want RFC 3339)");
  EXPECT_EQ(msg(R"({"time":"2025-07-08T12:42:28Z","user":5,"action":"login"})"),
            "key 'user' must be a string");
  EXPECT_EQ(msg(R"({"time":"2025-07-08T12:42:28Z","user":"","action":"login","result":"ok"})"),
            "bad key 'result': 'ok' (want success, failure or unknown)");
  EXPECT_EQ(msg(R"({"time":"2025-07-08T12:42:28Z","user":"","action":"login","line":-1})"),
            "key 'line' must be a non-negative integer");
  EXPECT_EQ(msg(R"({"time":"2025-07-08T12:42:28Z","user":"","action":"login","line":"3"})"),
            "key 'line' must be a non-negative integer");
  EXPECT_EQ(msg("{\"time\":").substr(0, 14), "invalid JSON: ");
  EXPECT_EQ(msg("").substr(0, 14), "invalid JSON: ");
}

}  // namespace
}  // namespace pveaudit

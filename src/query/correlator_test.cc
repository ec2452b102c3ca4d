#include "query/correlator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "query/log_query.h"
#include "query/store_fixture.h"

namespace pveaudit {
namespace {

constexpr int64_t kT0 = 1735689600LL * 1000000;  // 2025-01-01T00:00:00Z

Event Request(int64_t t, const std::string& user, const std::string& ip) {
  Event e;
  e.time_us = t;
  e.node = "pve1";
  e.user = user;
  e.ip = ip;
  e.action = "vm:start";
  e.resource = "/vms/100";
  e.result = Outcome::kUnknown;  // /api2/extjs logs 200 whatever happened
  e.status = "200";
  e.source = "pveproxy";
  e.detail = "POST /api2/extjs/nodes/pve1/qemu/100/status/start";
  return e;
}

Event Task(int64_t t, const std::string& user, Outcome r) {
  Event e;
  e.time_us = t;
  e.node = "pve1";
  e.user = user;
  e.action = "vm:start";
  e.resource = "/vms/100";
  e.result = r;
  e.status = r == Outcome::kFailure ? "start failed: QEMU exited with code 1" : "OK";
  e.source = "tasks";
  e.detail = "UPID:pve1:00001A2B:0000ABCD:677E6F20:qmstart:100:" + user + ":";
  return e;
}

using CorrelatorTest = StoreFixture;

TEST_F(CorrelatorTest, TaskGetsTheRequestsIpAndTheResultIsShownOnce) {
  auto req = Add({Request(kT0, "alice@pve", "192.0.2.10"),
                  Request(kT0 + 100 * 1000000LL, "bob@pve", "192.0.2.20")});
  // alice's task failed 1 s after her request; bob's request has no task;
  // carol's task has no request.
  Add({Task(kT0 + 1000000, "alice@pve", Outcome::kFailure),
       Task(kT0 + 50 * 1000000LL, "carol@pve", Outcome::kSuccess)});
  Filter f;
  f.action = "vm:start";
  std::vector<Event> events = Find(f);
  // alice's request is absorbed by her task: shown once, as a failure.
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].source, "tasks");
  EXPECT_EQ(events[0].user, "alice@pve");
  EXPECT_EQ(events[0].result, Outcome::kFailure);
  EXPECT_EQ(events[0].ip, "192.0.2.10");
  EXPECT_NE(events[0].detail.find(" request=#" + std::to_string(req[0]) +
                                  " POST /api2/extjs/nodes/pve1/qemu/100/status/start"),
            std::string::npos)
      << events[0].detail;
  EXPECT_EQ(events[1].user, "carol@pve");
  EXPECT_EQ(events[1].ip, "");
  EXPECT_EQ(events[1].detail.find("request="), std::string::npos);
  EXPECT_EQ(events[2].user, "bob@pve");
  EXPECT_EQ(events[2].result, Outcome::kUnknown);
}

TEST_F(CorrelatorTest, CountsCountARequestAndItsTaskOnce) {
  Add({Request(kT0, "alice@pve", "192.0.2.10"),
       Request(kT0 + 60 * 1000000LL, "alice@pve", "192.0.2.10"),
       Task(kT0 + 1000000, "alice@pve", Outcome::kSuccess),
       Task(kT0 + 61 * 1000000LL, "alice@pve", Outcome::kSuccess)});
  Filter f;
  f.action = "vm:start";
  CountSpec spec;
  spec.min_count = 1;
  spec.window_us = 3600LL * 1000000;
  auto rows = CountGroups(*store_, f, spec);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].key, "alice@pve");
  EXPECT_EQ((*rows)[0].count, 2u);  // two starts, not four events
}

TEST_F(CorrelatorTest, RequestsOutsideTheWindowOrOfOtherUsersDoNotMatch) {
  Add({Request(kT0, "alice@pve", "192.0.2.10"),
       Request(kT0 + 30 * 1000000LL, "bob@pve", "192.0.2.20"),
       Task(kT0 + kTaskRequestBeforeUs + 1, "alice@pve", Outcome::kSuccess),  // too late
       Task(kT0 + 31 * 1000000LL, "alice@pve", Outcome::kSuccess)});          // bob's request
  std::vector<Event> v = Find();
  ASSERT_EQ(v.size(), 4u);
  for (const Event& e : v)
    if (e.source == "tasks") {
      EXPECT_EQ(e.ip, "") << e.detail;
    }
}

TEST_F(CorrelatorTest, OneRequestStartsOneTask) {
  Add({Request(kT0, "alice@pve", "192.0.2.10"), Task(kT0 + 1000000, "alice@pve", Outcome::kSuccess),
       Task(kT0 + 2000000, "alice@pve", Outcome::kSuccess)});
  std::vector<Event> v = Find();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].ip, "192.0.2.10");
  EXPECT_EQ(v[1].ip, "");
}

}  // namespace
}  // namespace pveaudit

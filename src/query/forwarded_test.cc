// Requests forwarded between cluster nodes (docs/correlation.md,
// "Forwarded requests"): the pair is shown and counted once, as the
// forwarding node's copy with the client's address; a task started by it
// absorbs both copies, whatever the order in which they were stored.
// Against a real SQLite store.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "query/correlator.h"
#include "query/log_query.h"
#include "query/store_fixture.h"

namespace pveaudit {
namespace {

constexpr int64_t kS = 1000000;
constexpr int64_t kT0 = 1735689600LL * kS;  // 2025-01-01T00:00:00Z
const std::string kStart = "POST /api2/json/nodes/pve2/qemu/100/status/start";
const std::string kClient = "192.0.2.10";
const std::string kPve1Addr = "10.0.0.1";  // pve1's address, as pve2's pveproxy logs it

Event Req(int64_t t, const std::string& node, const std::string& ip,
          const std::string& detail = kStart, const std::string& user = "alice@pve",
          const std::string& status = "200") {
  Event e;
  e.time_us = t;
  e.node = node;
  e.user = user;
  e.ip = ip;
  e.action = "vm:start";
  e.resource = "/vms/100";
  e.result = status == "200" ? Outcome::kSuccess : Outcome::kFailure;
  e.status = status;
  e.source = "pveproxy";
  e.detail = detail;
  e.origin = "/var/log/pveproxy/access.log";
  return e;
}

Event Task(int64_t t, const std::string& node = "pve2") {
  Event e;
  e.time_us = t;
  e.node = node;
  e.user = "alice@pve";
  e.action = "vm:start";
  e.resource = "/vms/100";
  e.result = Outcome::kSuccess;
  e.status = "OK";
  e.source = "tasks";
  e.detail = "UPID:" + node + ":00001A2B:0000ABCD:677E6F20:qmstart:100:alice@pve:";
  return e;
}

class ForwardedTest : public StoreFixture {
 protected:
  std::vector<GroupRow> Count(GroupBy g, const Filter& f = {}) {
    CountSpec spec;
    spec.group_by = g;
    auto r = CountGroups(*store_, f, spec);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<GroupRow>{};
  }
  static std::vector<uint64_t> Ids(const std::vector<Event>& v) {
    std::vector<uint64_t> ids;
    for (const Event& e : v) ids.push_back(e.id);
    return ids;
  }
};

TEST(RequestPathNodeTest, OnlyAccessLogPathsUnderNodes) {
  Event e = Req(kT0, "pve1", kClient);
  EXPECT_EQ(RequestPathNode(e), "pve2");
  e.detail = "GET /api2/extjs/nodes/pve3?x=1";
  EXPECT_EQ(RequestPathNode(e), "pve3");
  e.detail = "GET /api2/json/nodes";
  EXPECT_EQ(RequestPathNode(e), "");
  e.detail = "GET /api2/json/cluster/nodes/pve2";
  EXPECT_EQ(RequestPathNode(e), "");
  e.detail = "GET /nodes/pve2/status";  // not the API
  EXPECT_EQ(RequestPathNode(e), "");
  e.detail = "GET /api2/json/nodes/localhost/status";  // served locally
  EXPECT_EQ(RequestPathNode(e), "");
  e.detail = kStart;
  e.source = "json";
  EXPECT_EQ(RequestPathNode(e), "");
}

TEST_F(ForwardedTest, PairShownOnceAsTheForwardingCopyWithTheClientAddress) {
  // pve2 (executes) logs first, with pve1's address; pve1 logs when it has
  // relayed the answer. Both import orders.
  for (bool b_first : {true, false}) {
    SCOPED_TRACE(b_first);
    TearDown();
    SetUp();
    Event a = Req(kT0 + 1 * kS, "pve1", kClient), b = Req(kT0, "pve2", kPve1Addr);
    uint64_t ida, idb;
    if (b_first) {
      idb = Add({b})[0];
      ida = Add({a})[0];
    } else {
      ida = Add({a})[0];
      idb = Add({b})[0];
    }
    std::vector<Event> v = Find();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].id, ida);
    EXPECT_EQ(v[0].ip, kClient);
    EXPECT_EQ(v[0].node, "pve1");
    EXPECT_EQ(v[0].time_us, kT0 + 1 * kS);
    EXPECT_EQ(v[0].detail, kStart + " forwarded=#" + std::to_string(idb) + " executed on pve2");

    auto by_ip = Count(GroupBy::kIp);
    ASSERT_EQ(by_ip.size(), 1u);
    EXPECT_EQ(by_ip[0].key, kClient);
    EXPECT_EQ(by_ip[0].count, 1u);
    auto by_user = Count(GroupBy::kUser);
    ASSERT_EQ(by_user.size(), 1u);
    EXPECT_EQ(by_user[0].count, 1u);
  }
}

TEST_F(ForwardedTest, Tolerance) {
  // B's copy may be up to 5 s before A's, or up to 2 s after (clock skew).
  struct Case {
    int64_t b_minus_a;
    bool merged;
  };
  for (Case c : {Case{0, true}, Case{-5 * kS, true}, Case{-5 * kS - 1, false}, Case{2 * kS, true},
                 Case{2 * kS + 1, false}}) {
    SCOPED_TRACE(c.b_minus_a);
    TearDown();
    SetUp();
    int64_t ta = kT0 + 100 * kS;
    Add({Req(ta, "pve1", kClient), Req(ta + c.b_minus_a, "pve2", kPve1Addr)});
    EXPECT_EQ(Find().size(), c.merged ? 1u : 2u);
    EXPECT_EQ(Count(GroupBy::kUser)[0].count, c.merged ? 1u : 2u);
  }
}

TEST_F(ForwardedTest, NoFalseMerges) {
  // Two genuine identical requests by alice in the same second from two
  // clients, both logged on pve2 only: the node condition keeps both.
  Add({Req(kT0, "pve2", "192.0.2.10"), Req(kT0, "pve2", "192.0.2.11")});
  // Same request line on two nodes, neither of them the one the path names.
  Add({Req(kT0 + 20 * kS, "pve1", kClient), Req(kT0 + 20 * kS, "pve3", "192.0.2.11")});
  // Different user, different status, different query, different request.
  Add({Req(kT0 + 40 * kS, "pve1", kClient),
       Req(kT0 + 40 * kS, "pve2", kPve1Addr, kStart, "bob@pve")});
  Add({Req(kT0 + 60 * kS, "pve1", kClient),
       Req(kT0 + 60 * kS, "pve2", kPve1Addr, kStart, "alice@pve", "500")});
  Add({Req(kT0 + 80 * kS, "pve1", kClient, kStart + "?a=1"),
       Req(kT0 + 80 * kS, "pve2", kPve1Addr)});
  Add({Req(kT0 + 100 * kS, "pve1", kClient),
       Req(kT0 + 100 * kS, "pve2", kPve1Addr, "POST /api2/json/nodes/pve2/qemu/100/status/stop")});
  // Both copies on one node (no --node given to the import: empty node).
  Add({Req(kT0 + 120 * kS, "", kClient), Req(kT0 + 120 * kS, "", kPve1Addr)});
  std::vector<Event> v = Find();
  EXPECT_EQ(v.size(), 14u);
  for (const Event& e : v) EXPECT_EQ(e.detail.find("forwarded="), std::string::npos) << e.detail;
  EXPECT_EQ(Count(GroupBy::kResource)[0].count, 14u);
}

TEST_F(ForwardedTest, EachCopyPairsOnceAndPrefersAnotherAddress) {
  // alice double-clicks: pve1 forwards two identical requests and pve2
  // logs two (from pve1's address): two pairs, two events.
  auto ids = Add({Req(kT0, "pve2", kPve1Addr), Req(kT0, "pve2", kPve1Addr),
                  Req(kT0, "pve1", kClient), Req(kT0, "pve1", kClient)});
  std::vector<Event> v = Find();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(Ids(v), (std::vector<uint64_t>{ids[2], ids[3]}));
  EXPECT_NE(v[0].detail, v[1].detail);  // each names its own copy on pve2

  // A direct request to pve2 from the client and a forwarded one: the
  // forwarded copy (pve1's address) is the one absorbed.
  TearDown();
  SetUp();
  ids = Add({Req(kT0, "pve2", kPve1Addr), Req(kT0, "pve2", kClient), Req(kT0, "pve1", kClient)});
  v = Find();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(Ids(v), (std::vector<uint64_t>{ids[1], ids[2]}));
  EXPECT_EQ(v[1].detail, kStart + " forwarded=#" + std::to_string(ids[0]) + " executed on pve2");
}

TEST_F(ForwardedTest, RepeatedRequestsPairWithinTheTolerance) {
  // pve2 logged alice's status polls every 4 s from pve1's address; pve1's
  // copies are each 3 s later. Regression: the merger's index outlived the
  // first copy it had flushed.
  std::vector<Event> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(Req(kT0 + i * 4 * kS, "pve2", kPve1Addr));
  for (int i = 0; i < 5; ++i) batch.push_back(Req(kT0 + i * 4 * kS + 3 * kS, "pve1", kClient));
  auto ids = Add(batch);
  std::vector<Event> v = Find();
  ASSERT_EQ(v.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(v[i].id, ids[5 + i]);
    EXPECT_EQ(v[i].detail, kStart + " forwarded=#" + std::to_string(ids[i]) + " executed on pve2");
  }
  EXPECT_EQ(Count(GroupBy::kUser)[0].count, 5u);
}

TEST_F(ForwardedTest, LimitCountsPairsOnce) {
  auto x = Add({Req(kT0 - 60 * kS, "pve1", kClient, "GET /api2/json/version")})[0];
  auto ids = Add({Req(kT0, "pve2", kPve1Addr), Req(kT0 + kS, "pve1", kClient)});
  EXPECT_EQ(Ids(Find({}, 1)), (std::vector<uint64_t>{ids[1]}));
  std::vector<Event> v = Find({}, 2);
  EXPECT_EQ(Ids(v), (std::vector<uint64_t>{x, ids[1]}));
  EXPECT_NE(v[1].detail.find("executed on pve2"), std::string::npos);
}

TEST_F(ForwardedTest, TimeRangeEdges) {
  auto ids = Add({Req(kT0, "pve2", kPve1Addr), Req(kT0 + kS, "pve1", kClient)});
  // The pair is one event at the forwarding copy's time.
  Filter f;
  f.start_us = kT0 + kS;
  std::vector<Event> v = Find(f);
  ASSERT_EQ(Ids(v), (std::vector<uint64_t>{ids[1]}));
  EXPECT_NE(v[0].detail.find("forwarded=#" + std::to_string(ids[0])), std::string::npos);
  EXPECT_EQ(Count(GroupBy::kUser, f)[0].count, 1u);
  f = Filter{};
  f.end_us = kT0 + kS;  // only pve2's copy lies before the end
  EXPECT_TRUE(Find(f).empty());
  EXPECT_TRUE(Count(GroupBy::kUser, f).empty());
}

TEST_F(ForwardedTest, NodeFilterSelectsTheNodeThatLoggedOrExecutedIt) {
  // The pair is one event (pve1's copy); it ran on pve2, which its path
  // names, so --node pve2 finds it as well as --node pve1.
  auto ids = Add({Req(kT0, "pve2", kPve1Addr), Req(kT0 + kS, "pve1", kClient)});
  Filter f;
  f.node = "pve2";
  EXPECT_EQ(Ids(Find(f)), (std::vector<uint64_t>{ids[1]}));
  f.node = "pve1";
  EXPECT_EQ(Ids(Find(f)), (std::vector<uint64_t>{ids[1]}));
  f.node = "pve3";
  EXPECT_TRUE(Find(f).empty());
}

TEST_F(ForwardedTest, TaskGetsTheClientAddressWhateverTheImportOrder) {
  // Every order of pve1's log, pve2's log and pve2's task index: the join
  // is made at query time, so all give the same one event.
  std::vector<std::vector<int>> orders = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                          {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  for (const auto& order : orders) {
    SCOPED_TRACE(::testing::PrintToString(order));
    TearDown();
    SetUp();
    Event parts[3] = {Req(kT0 + kS, "pve1", kClient), Req(kT0, "pve2", kPve1Addr), Task(kT0)};
    uint64_t id[3] = {};
    for (int i : order) id[i] = Add({parts[i]})[0];

    std::vector<Event> v = Find();
    ASSERT_EQ(Ids(v), (std::vector<uint64_t>{id[2]}));
    EXPECT_EQ(v[0].ip, kClient);
    EXPECT_EQ(v[0].node, "pve2");
    const std::string& d = v[0].detail;
    EXPECT_EQ(d, parts[2].detail + " request=#" + std::to_string(id[0]) + " " + kStart +
                     " forwarded=#" + std::to_string(id[1]) + " executed on pve2");
    auto by_user = Count(GroupBy::kUser);
    ASSERT_EQ(by_user.size(), 1u);
    EXPECT_EQ(by_user[0].count, 1u);
    auto by_ip = Count(GroupBy::kIp);
    ASSERT_EQ(by_ip.size(), 1u);
    EXPECT_EQ(by_ip[0].key, kClient);
    Filter f;
    f.action = "vm:start";
    EXPECT_EQ(Count(GroupBy::kAction, f)[0].count, 1u);
  }
}

TEST_F(ForwardedTest, TaskWithOnlyOneCopyStored) {
  // Only the forwarding node's log (pve1) or only the executing node's.
  for (bool pve1 : {true, false}) {
    SCOPED_TRACE(pve1);
    TearDown();
    SetUp();
    Event r = pve1 ? Req(kT0 + kS, "pve1", kClient) : Req(kT0, "pve2", kPve1Addr);
    uint64_t req = Add({r})[0];
    uint64_t task = Add({Task(kT0)})[0];
    std::vector<Event> v = Find();
    ASSERT_EQ(Ids(v), (std::vector<uint64_t>{task}));
    EXPECT_EQ(v[0].ip, pve1 ? kClient : kPve1Addr);
    EXPECT_NE(v[0].detail.find(" request=#" + std::to_string(req) + " "), std::string::npos);
  }
}

TEST_F(ForwardedTest, TaskOnTheForwardingNodeIsNotMatched) {
  // A task on pve1 has nothing to do with a request executed on pve2.
  auto ids = Add({Req(kT0, "pve2", kPve1Addr), Req(kT0 + kS, "pve1", kClient), Task(kT0, "pve1")});
  std::vector<Event> v = Find();
  ASSERT_EQ(Ids(v), (std::vector<uint64_t>{ids[2], ids[1]}));
  EXPECT_EQ(v[0].ip, "");
  EXPECT_EQ(v[0].detail.find("request="), std::string::npos);
}

}  // namespace
}  // namespace pveaudit

// ComputeLogStats must count what `pveam access log` lists: per hour the
// events FindEvents returns for that hour, and the failures grouped as
// CountGroups groups them, including joined events (a task and the request
// that started it are one event) and with a visibility filter.
#include "query/log_stats.h"

#include <gtest/gtest.h>

#include <random>

#include "core/time_spec.h"
#include "query/log_query.h"
#include "query/store_fixture.h"

namespace pveaudit {
namespace {

constexpr int64_t kS = 1000000;
constexpr int64_t kT0 = 1735689600LL * kS;  // 2025-01-01T00:00:00Z, a Wednesday

class LogStatsTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    SetClusterTimeZone("UTC");
    std::mt19937 rng(7);
    const char* users[] = {"alice@pve", "bob@pve", "root@pam", ""};
    const char* ips[] = {"192.0.2.10", "192.0.2.11", "198.51.100.7"};
    std::vector<Event> batch;
    for (int i = 0; i < 600; ++i) {
      Event e;
      e.time_us = kT0 + int64_t(rng() % (3 * 86400)) * kS;
      e.node = "pve1";
      e.user = users[rng() % 4];
      e.ip = ips[rng() % 3];
      const bool failed = rng() % 3 == 0;
      e.action = rng() % 2 ? "login" : "vm:start";
      e.resource = e.action == "login" ? "" : "/vms/" + std::to_string(100 + rng() % 2);
      e.result = failed ? Outcome::kFailure : Outcome::kSuccess;
      e.status = failed ? "401" : "200";
      e.source = e.action == "login" ? "auth" : "pveproxy";
      e.origin = "test";
      batch.push_back(e);
    }
    // A request and the task it started: one event in the views.
    Event req;
    req.time_us = kT0 + 5 * 3600 * kS + 30 * kS;
    req.node = "pve1";
    req.user = "alice@pve";
    req.ip = "192.0.2.10";
    req.action = "vm:start";
    req.resource = "/vms/100";
    req.result = Outcome::kSuccess;
    req.status = "200";
    req.source = "pveproxy";
    req.detail = "POST /api2/json/nodes/pve1/qemu/100/status/start HTTP/1.1";
    req.origin = "access.log";
    Event task = req;
    task.time_us -= kS;
    task.ip.clear();
    task.status = "OK";
    task.source = "tasks";
    task.detail = "UPID:pve1:00001A2B:0000ABCD:677E6F20:qmstart:100:alice@pve:";
    task.origin = "tasks/index";
    batch.push_back(req);
    batch.push_back(task);
    std::sort(batch.begin(), batch.end(),
              [](const Event& a, const Event& b) { return a.time_us < b.time_us; });
    Add(batch);
  }
};

TEST_F(LogStatsTest, EachHourCountsWhatTheLogListsForThatHour) {
  Filter f;
  auto s = ComputeLogStats(*store_, f, 10);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->total, Find(f).size());
  EXPECT_LT(s->total, 602u) << "the request and its task are one event";
  uint64_t sum = 0;
  for (const auto& [h, c] : s->hours) {
    Filter hf;
    hf.start_us = h;
    hf.end_us = h + 3600 * kS;
    EXPECT_EQ(c.total, Find(hf).size()) << FormatRfc3339Utc(h);
    hf.failed = true;
    EXPECT_EQ(c.failed, Find(hf).size()) << FormatRfc3339Utc(h);
    EXPECT_EQ((h - kT0) % (3600 * kS), 0);
    sum += c.total;
  }
  EXPECT_EQ(sum, s->total);
}

TEST_F(LogStatsTest, HeatMapPlacesEventsByLocalWeekdayAndHour) {
  Filter f;
  f.failed = true;
  auto s = ComputeLogStats(*store_, f, 0);
  ASSERT_TRUE(s.ok());
  uint64_t sum = 0;
  for (int d = 0; d < 7; ++d)
    for (int h = 0; h < 24; ++h) {
      sum += s->heat[d][h].total;
      EXPECT_EQ(s->heat[d][h].total, s->heat[d][h].failed);
      // 2025-01-01 is a Wednesday: three days, Wednesday to Friday.
      if (d < 2 || d > 4) {
        EXPECT_EQ(s->heat[d][h].total, 0u) << d << " " << h;
      }
    }
  EXPECT_EQ(sum, s->total);
  // Wednesday 05:00-06:00 as a range query.
  Filter hf = f;
  hf.start_us = kT0 + 5 * 3600 * kS;
  hf.end_us = kT0 + 6 * 3600 * kS;
  EXPECT_EQ(s->heat[2][5].total, Find(hf).size());
}

TEST_F(LogStatsTest, TopUsersAndAddressesAreTheFailedCountGroups) {
  Filter f;
  f.action = "login";
  auto s = ComputeLogStats(*store_, f, 2);
  ASSERT_TRUE(s.ok());
  f.failed = true;
  for (GroupBy g : {GroupBy::kUser, GroupBy::kIp}) {
    CountSpec spec;
    spec.group_by = g;
    auto groups = CountGroups(*store_, f, spec);
    ASSERT_TRUE(groups.ok());
    const auto& top = g == GroupBy::kUser ? s->top_users : s->top_ips;
    ASSERT_EQ(top.size(), 2u);
    for (size_t i = 0; i < top.size(); ++i) {
      EXPECT_EQ(top[i].key, (*groups)[i].key);
      EXPECT_EQ(top[i].value, (*groups)[i].value);
      EXPECT_EQ(top[i].anonymous_ip, (*groups)[i].anonymous_ip);
      EXPECT_EQ(top[i].count, (*groups)[i].count);
      EXPECT_EQ(top[i].first_us, (*groups)[i].first_us);
      EXPECT_EQ(top[i].last_us, (*groups)[i].last_us);
    }
  }
}

TEST_F(LogStatsTest, KeepLeavesOutWhatTheCallerMayNotSee) {
  Filter f;
  auto keep = [](const Event& e) { return e.user == "bob@pve"; };
  auto s = ComputeLogStats(*store_, f, 10, keep);
  ASSERT_TRUE(s.ok());
  Filter bob;
  bob.user = "bob@pve";
  EXPECT_EQ(s->total, Find(bob).size());
  ASSERT_EQ(s->top_users.size(), 1u);
  EXPECT_EQ(s->top_users[0].value, "bob@pve");
}

void ExpectSame(const LogStats& a, const LogStats& b, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(a.total, b.total);
  EXPECT_EQ(a.failed, b.failed);
  ASSERT_EQ(a.hours.size(), b.hours.size());
  for (auto i = a.hours.begin(), j = b.hours.begin(); i != a.hours.end(); ++i, ++j) {
    EXPECT_EQ(i->first, j->first);
    EXPECT_EQ(i->second.total, j->second.total) << FormatRfc3339Utc(i->first);
    EXPECT_EQ(i->second.failed, j->second.failed) << FormatRfc3339Utc(i->first);
  }
  for (int d = 0; d < 7; ++d)
    for (int h = 0; h < 24; ++h) EXPECT_EQ(a.heat[d][h].total, b.heat[d][h].total) << d << " " << h;
  for (auto [x, y] : {std::pair{&a.top_users, &b.top_users}, std::pair{&a.top_ips, &b.top_ips}}) {
    ASSERT_EQ(x->size(), y->size());
    for (size_t i = 0; i < x->size(); ++i) {
      EXPECT_EQ((*x)[i].key, (*y)[i].key);
      EXPECT_EQ((*x)[i].count, (*y)[i].count);
      EXPECT_EQ((*x)[i].first_us, (*y)[i].first_us);
      EXPECT_EQ((*x)[i].last_us, (*y)[i].last_us);
    }
  }
}

// The cache answers what a fresh pass answers: for whole and partial
// hours, with filters, and after lines are appended, also a late line
// that joins one stored before it (a request stored after its task).
TEST_F(LogStatsTest, CacheEqualsAFreshPassAlsoAfterAppends) {
  StatsCache cache;
  std::vector<Filter> filters(5);
  filters[1].start_us = kT0 + 5 * 3600 * kS + 17 * 60 * kS;  // mid-hour
  filters[1].end_us = kT0 + 30 * 3600 * kS + 5 * 60 * kS;
  filters[2].failed = true;
  filters[3].action = "login";
  filters[3].start_us = kT0 + 24 * 3600 * kS;
  filters[4].start_us = kT0 + 5 * 3600 * kS + 10 * kS;  // within one hour
  filters[4].end_us = kT0 + 5 * 3600 * kS + 50 * 60 * kS;
  auto check = [&](const std::string& when) {
    for (size_t i = 0; i < filters.size(); ++i) {
      auto want = ComputeLogStats(*store_, filters[i], 3);
      ASSERT_TRUE(want.ok());
      for (int round = 0; round < 2; ++round) {
        auto got = cache.Compute(*store_, filters[i], 3);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        ExpectSame(*got, *want, when + " filter " + std::to_string(i));
      }
    }
  };
  check("first");
  // A task stored now whose request was stored earlier, and a request
  // stored now for a task already stored: each joins across the append.
  Event task;
  task.time_us = kT0 + 40 * 3600 * kS;
  task.node = "pve1";
  task.user = "bob@pve";
  task.action = "vm:start";
  task.resource = "/vms/101";
  task.result = Outcome::kFailure;
  task.status = "start failed";
  task.source = "tasks";
  task.detail = "UPID:pve1:00001A2C:0000ABCE:677E6F21:qmstart:101:bob@pve:";
  task.origin = "tasks/index";
  Event req = task;
  req.time_us += 1 * kS;
  req.ip = "192.0.2.11";
  req.result = Outcome::kSuccess;
  req.status = "200";
  req.source = "pveproxy";
  req.detail = "POST /api2/json/nodes/pve1/qemu/101/status/start HTTP/1.1";
  req.origin = "access.log";
  Add({req});
  check("after the request");
  Add({task});
  check("after its task");
  // A late line at an hour boundary and a failure in a new hour.
  Event late = req;
  late.time_us = kT0 + 6 * 3600 * kS - 20 * kS;
  late.result = Outcome::kFailure;
  late.status = "403";
  late.detail = "GET /api2/json/nodes HTTP/1.1";
  late.action = "node:read";
  Event next = late;
  next.time_us = kT0 + 80 * 3600 * kS;
  Add({late, next});
  check("after a late line");
}

TEST_F(LogStatsTest, HoursStartAtTheLocalHourInAHalfHourZone) {
  SetClusterTimeZone("Asia/Kolkata");    // UTC+05:30
  const int64_t t = kT0 + 10 * 60 * kS;  // 05:40 local
  EXPECT_EQ(LocalHourStart(t), kT0 - 30 * 60 * kS);
  EXPECT_EQ(LocalWeekday(t), 2);  // Wednesday
  SetClusterTimeZone("UTC");
  EXPECT_EQ(LocalHourStart(t), kT0);
}

}  // namespace
}  // namespace pveaudit

// FindEvents with a limit scans a growing window at the end of the range
// instead of the whole range: its answer must be the same as the tail of a
// full scan, whatever the density of events near the end, the filter, or
// forwarded pairs straddling a window's edge.
#include <gtest/gtest.h>

#include <random>

#include "query/log_query.h"
#include "query/store_fixture.h"

namespace pveaudit {
namespace {

constexpr int64_t kS = 1000000;
constexpr int64_t kT0 = 1735689600LL * kS;  // 2025-01-01T00:00:00Z

Event Ev(int64_t t, const std::string& node, const std::string& user, const std::string& detail,
         bool failed) {
  Event e;
  e.time_us = t;
  e.node = node;
  e.user = user;
  e.ip = node == "pve1" ? "192.0.2.10" : "10.0.0.1";
  e.action = "vm:start";
  e.resource = "/vms/100";
  e.result = failed ? Outcome::kFailure : Outcome::kSuccess;
  e.status = failed ? "403" : "200";
  e.source = "pveproxy";
  e.detail = detail;
  e.origin = "/var/log/pveproxy/access.log";
  return e;
}

class LimitTest : public StoreFixture {
 protected:
  // 30 days: dense in the first days, then sparser, the last event 40 days
  // before "now" would be; some requests forwarded pve1 -> pve2 (both
  // copies, within the merge tolerance), a few exactly at hour boundaries
  // measured from the end.
  void Fill() {
    std::mt19937_64 rng(7);
    std::vector<Event> all;
    int64_t t = kT0;
    for (int i = 0; i < 6000; ++i) {
      t += int64_t(rng() % (i < 4000 ? 60 : 3600)) * kS + 1;
      static const char* kUsers[] = {"u0@pve", "u1@pve", "u2@pve", "u3@pve", "u4@pve"};
      std::string user = kUsers[rng() % 5];
      bool failed = rng() % 10 == 0;
      if (rng() % 7 == 0) {  // forwarded: pve2 logs first, pve1 up to 2 s later
        std::string d = "POST /api2/json/nodes/pve2/qemu/100/status/start?i=" + std::to_string(i);
        all.push_back(Ev(t, "pve2", user, d, failed));
        all.push_back(Ev(t + int64_t(rng() % 2000000), "pve1", user, d, failed));
      } else {
        all.push_back(Ev(t, "pve1", user, "GET /api2/json/version?i=" + std::to_string(i), failed));
      }
    }
    std::sort(all.begin(), all.end(),
              [](const Event& a, const Event& b) { return a.time_us < b.time_us; });
    last_ = all.back().time_us;
    ASSERT_TRUE(store_->Append(&all, {}, nullptr).ok());
  }
  static std::vector<uint64_t> Ids(const std::vector<Event>& v) {
    std::vector<uint64_t> ids;
    for (const Event& e : v) ids.push_back(e.id);
    return ids;
  }
  void ExpectSameAsFullScan(const Filter& f) {
    auto full = FindEvents(*store_, f, 0);
    ASSERT_TRUE(full.ok());
    for (size_t limit : {size_t(1), size_t(3), size_t(40), size_t(700), size_t(5000), full->size(),
                         full->size() + 10}) {
      auto got = FindEvents(*store_, f, limit);
      ASSERT_TRUE(got.ok());
      std::vector<uint64_t> want = Ids(*full);
      if (want.size() > limit) want.erase(want.begin(), want.end() - long(limit));
      EXPECT_EQ(Ids(*got), want) << "limit " << limit;
      if (!got->empty() && !full->empty()) {
        EXPECT_EQ(got->back().detail, full->back().detail);
      }
    }
  }
  int64_t last_ = 0;
};

TEST_F(LimitTest, NewestEventsEqualTheTailOfAFullScan) {
  Fill();
  ExpectSameAsFullScan(Filter());
}

TEST_F(LimitTest, WithFiltersAndAnExplicitRange) {
  Fill();
  Filter user;
  user.user = "u3@pve";
  ExpectSameAsFullScan(user);
  Filter failed;
  failed.failed = true;
  ExpectSameAsFullScan(failed);
  Filter range;
  range.start_us = kT0 + 2 * 86400 * kS;
  range.end_us = last_ - 5 * 86400 * kS;
  ExpectSameAsFullScan(range);
  Filter hour_edge;  // an end exactly one window (1 h) after a forwarded pair
  hour_edge.end_us = last_ - 3600 * kS + 1;
  ExpectSameAsFullScan(hour_edge);
}

TEST_F(LimitTest, EmptyStoreAndNoMatch) {
  auto r = FindEvents(*store_, Filter(), 10);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  Fill();
  Filter nobody;
  nobody.user = "nobody@pve";
  r = FindEvents(*store_, nobody, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

}  // namespace
}  // namespace pveaudit

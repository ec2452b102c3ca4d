// GroupCommitStore: several source threads share one writer; every call is
// durable when it returns, calls are grouped into fewer transactions, and a
// failed transaction fails every caller in it and stores nothing.
#include "store/group_commit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <latch>
#include <map>
#include <random>
#include <set>
#include <thread>

namespace pveaudit {
namespace {

namespace fs = std::filesystem;

class GroupCommitTest : public ::testing::Test {
 protected:
  GroupCommitTest() {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("pveaudit-group-test-" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  ~GroupCommitTest() override { fs::remove_all(dir_); }
  std::unique_ptr<EventStore> OpenBase(bool read_only = false) {
    StoreOptions o;
    o.read_only = read_only;
    o.block_events = 64;
    auto s = OpenSqliteStore(dir_.string(), o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(s.value());
  }
  static Event Ev(int source, int n) {
    Event e;
    e.time_us = 1735689600000000 + int64_t(n) * 1000;
    e.node = "pve1";
    e.user = "user" + std::to_string(source) + "@pve";
    e.action = "vm:start";
    e.resource = "/vms/" + std::to_string(100 + source);
    e.result = Outcome::kSuccess;
    e.status = "200";
    e.source = "pveproxy";
    e.detail = "n=" + std::to_string(n);
    e.origin = "src" + std::to_string(source);
    e.origin_line = uint64_t(n);
    return e;
  }
  fs::path dir_;
};

// Four sources append 200 batches each, concurrently, each with its own
// cursor: every event is stored once, ids are unique, every cursor holds
// its last batch, the chain verifies, and batches were grouped.
TEST_F(GroupCommitTest, ConcurrentSourcesAreGroupedAndStoredExactlyOnce) {
  constexpr int kSources = 4, kBatches = 200, kPerBatch = 5;
  auto base = OpenBase();
  GroupCommitOptions opt;
  opt.max_wait = std::chrono::milliseconds(20);
  std::set<uint64_t> ids;
  std::mutex ids_mu;
  {
    GroupCommitStore store(*base, opt);
    std::vector<std::thread> threads;
    for (int s = 0; s < kSources; ++s) {
      threads.emplace_back([&, s] {
        for (int b = 0; b < kBatches; ++b) {
          GroupCommitStore::Activity a(store);
          std::vector<Event> ev;
          for (int i = 0; i < kPerBatch; ++i) ev.push_back(Ev(s, b * kPerBatch + i));
          std::vector<RejectedLine> rej;
          if (b % 50 == 0) rej.push_back(RejectedLine{0, "src" + std::to_string(s), 1, "bad", "x"});
          SourceCursor c;
          c.key = "k" + std::to_string(s);
          c.path = "p";
          c.offset = uint64_t(b + 1);
          ASSERT_TRUE(store.Append(&ev, rej, &c).ok());
          std::lock_guard<std::mutex> l(ids_mu);
          for (const Event& e : ev) {
            ASSERT_NE(e.id, 0u);
            EXPECT_TRUE(ids.insert(e.id).second) << "id " << e.id << " given twice";
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    GroupCommitStats st = store.stats();
    EXPECT_EQ(st.calls, uint64_t(kSources * kBatches));
    EXPECT_EQ(st.events, uint64_t(kSources * kBatches * kPerBatch));
    EXPECT_LT(st.commits, st.calls) << "no two calls were ever committed together";
    EXPECT_EQ(st.failed, 0u);
  }
  // Everything is in the underlying store, readable by another connection.
  auto reader = OpenBase(true);
  std::map<std::string, int> per_source;
  ASSERT_TRUE(reader
                  ->Scan(Filter(), kFieldAll,
                         [&](const Event& e) {
                           ++per_source[e.origin];
                           return true;
                         })
                  .ok());
  for (int s = 0; s < kSources; ++s)
    EXPECT_EQ(per_source["src" + std::to_string(s)], kBatches * kPerBatch);
  for (int s = 0; s < kSources; ++s) {
    auto c = reader->GetCursor("k" + std::to_string(s));
    ASSERT_TRUE(c.ok() && c->has_value());
    EXPECT_EQ((*c)->offset, uint64_t(kBatches));
  }
  auto rej = reader->ListRejected(0);
  ASSERT_TRUE(rej.ok());
  EXPECT_EQ(rej->size(), size_t(kSources * 4));
  auto v = reader->Verify(nullptr);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->reason;
  EXPECT_EQ(v->events_checked, uint64_t(kSources * kBatches * kPerBatch));
}

// With no other source polling, a lone batch is committed at once rather
// than after max_wait.
TEST_F(GroupCommitTest, LoneBatchDoesNotWaitForOthers) {
  auto base = OpenBase();
  GroupCommitOptions opt;
  opt.max_wait = std::chrono::seconds(30);
  GroupCommitStore store(*base, opt);
  std::vector<Event> ev{Ev(0, 1)};
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(store.Append(&ev, {}, nullptr).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_EQ(ev[0].id, 1u);
}

// A source that is polling (holds an Activity) makes the writer wait for
// it, so two sources' batches share one transaction.
TEST_F(GroupCommitTest, WaitsForAPollingSourceUpToMaxWait) {
  auto base = OpenBase();
  GroupCommitOptions opt;
  opt.max_wait = std::chrono::seconds(30);
  GroupCommitStore store(*base, opt);
  std::atomic<bool> first_done{false};
  std::thread a;
  // b polls for a while before it appends; a's batch must wait for it.
  // b announces its poll before a starts. Regression: a started first and,
  // on a loaded machine, queued its batch while it was the only source
  // polling, which rightly commits at once; the test then failed.
  {
    GroupCommitStore::Activity act(store);
    a = std::thread([&] {
      GroupCommitStore::Activity act(store);
      std::vector<Event> ev{Ev(0, 1)};
      ASSERT_TRUE(store.Append(&ev, {}, nullptr).ok());
      first_done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_FALSE(first_done) << "the writer did not wait for the polling source";
    std::vector<Event> ev{Ev(1, 2)};
    ASSERT_TRUE(store.Append(&ev, {}, nullptr).ok());
  }
  a.join();
  EXPECT_EQ(store.stats().commits, 1u);
  EXPECT_EQ(store.stats().calls, 2u);
}

// The store cannot be written: every caller of the group gets the error,
// no event gets an id, and the (other) writable store sees nothing.
TEST_F(GroupCommitTest, FailedCommitFailsEveryCallerAndStoresNothing) {
  { auto create = OpenBase(); }
  auto base = OpenBase(/*read_only=*/true);
  GroupCommitStore store(*base, GroupCommitOptions{});
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int s = 0; s < 3; ++s) {
    threads.emplace_back([&, s] {
      GroupCommitStore::Activity act(store);
      std::vector<Event> ev{Ev(s, 1), Ev(s, 2)};
      SourceCursor c;
      c.key = "k" + std::to_string(s);
      Status st = store.Append(&ev, {}, &c);
      if (!st.ok()) ++failed;
      for (const Event& e : ev) EXPECT_EQ(e.id, 0u);
      EXPECT_EQ(ev[1].detail, "n=2") << "the caller's events must come back";
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed, 3);
  EXPECT_GE(store.stats().failed, 1u);
  auto info = store.Info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->events, 0u);
  auto c = store.GetCursor("k0");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->has_value());
}

// Three polling sources append 8 events each at once: with room for all
// they share one transaction; with max_events 10 no two fit together.
TEST_F(GroupCommitTest, MaxEventsCapsAGroup) {
  auto base = OpenBase();
  auto run = [&](size_t max_events) {
    GroupCommitOptions opt;
    opt.max_events = max_events;
    opt.max_wait = std::chrono::seconds(30);
    GroupCommitStore store(*base, opt);
    std::latch all_polling(3);
    std::vector<std::thread> threads;
    for (int s = 0; s < 3; ++s) {
      threads.emplace_back([&, s] {
        GroupCommitStore::Activity act(store);
        all_polling.arrive_and_wait();
        std::vector<Event> ev;
        for (int i = 0; i < 8; ++i) ev.push_back(Ev(s, i));
        EXPECT_TRUE(store.Append(&ev, {}, nullptr).ok());
      });
    }
    for (auto& t : threads) t.join();
    return store.stats().commits;
  };
  EXPECT_EQ(run(100), 1u);
  EXPECT_EQ(run(10), 3u) << "8+8 > 10: no two of these batches fit in one group";
  auto info = base->Info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->events, 48u);
}

}  // namespace
}  // namespace pveaudit

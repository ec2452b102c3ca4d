#include "export/export_loop.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <thread>

#include "core/time_spec.h"

namespace pveaudit {
namespace {

// A destination inside the test: records what it took, and refuses the
// next `fail` calls with `code`.
class RecordingSink : public Sink {
 public:
  struct Shared {
    std::vector<uint64_t> ids;
    std::vector<Event> events;
    int fail = 0;
    Status::Code code = Status::Code::kIOError;
    int calls = 0;
    int resets = 0;
    std::mutex mu;
  };
  explicit RecordingSink(std::shared_ptr<Shared> s) : s_(std::move(s)) {}
  Status Deliver(std::span<const Event> batch) override {
    std::lock_guard<std::mutex> l(s_->mu);
    ++s_->calls;
    EXPECT_FALSE(batch.empty());
    if (s_->fail > 0) {
      --s_->fail;
      return s_->code == Status::Code::kIOError ? Status::IOError("connection refused")
                                                : Status::InvalidArgument("refused");
    }
    for (const Event& e : batch) {
      s_->ids.push_back(e.id);
      s_->events.push_back(e);
    }
    return Status::OK();
  }
  void Reset() override {
    std::lock_guard<std::mutex> l(s_->mu);
    ++s_->resets;
  }
  std::string Describe() const override { return "test sink"; }

 private:
  std::shared_ptr<Shared> s_;
};

class ExportLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pveaudit-export-test-" + std::to_string(std::random_device()()));
    auto s = OpenSqliteStore(dir_.string(), StoreOptions{});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Appends n events; every third fails, every fifth is an alert.
  void Add(int n) {
    std::vector<Event> v;
    for (int i = 0; i < n; ++i, ++seq_) {
      Event e;
      e.time_us = CivilToUs(2025, 1, 1, 0, 0, 0) + seq_ * 1000000LL;
      e.node = "pve1";
      e.user = "u" + std::to_string(seq_) + "@pve";
      e.action = seq_ % 5 == 4 ? "alert:failed-login" : "vm:start";
      e.result = seq_ % 3 == 2 ? Outcome::kFailure : Outcome::kSuccess;
      e.source = "test";
      v.push_back(e);
    }
    ASSERT_TRUE(store_->Append(&v, {}, nullptr).ok());
  }
  std::unique_ptr<ExportLoop> Loop(ExportLoopOptions o = {}) {
    if (o.consumer.empty()) o.consumer = "syslog:test";
    return std::make_unique<ExportLoop>(*store_, std::make_unique<RecordingSink>(shared_), o);
  }
  // Steps until idle (or a failure); returns the last status.
  Status Drain(ExportLoop& l) {
    for (int i = 0; i < 10000; ++i) {
      bool idle = false;
      Status s = l.Step(&idle);
      if (!s.ok() || idle) return s;
    }
    return Status::Internal("never idle");
  }
  std::filesystem::path dir_;
  std::unique_ptr<EventStore> store_;
  std::shared_ptr<RecordingSink::Shared> shared_ = std::make_shared<RecordingSink::Shared>();
  int seq_ = 0;
};

TEST_F(ExportLoopTest, NewDestinationStartsAtTheStoresEnd) {
  Add(10);
  auto l = Loop();
  ASSERT_TRUE(Drain(*l).ok());
  EXPECT_TRUE(shared_->ids.empty());
  EXPECT_EQ(l->cursor(), 10u);
  Add(3);
  ASSERT_TRUE(Drain(*l).ok());
  EXPECT_EQ(shared_->ids, (std::vector<uint64_t>{11, 12, 13}));
  auto c = store_->GetConsumer("syslog:test");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ(**c, 13u);
}

TEST_F(ExportLoopTest, FromStartSendsEverythingInIdOrderInBatches) {
  Add(1234);
  ExportLoopOptions o;
  o.from_start = true;
  o.batch = 100;
  auto l = Loop(o);
  ASSERT_TRUE(Drain(*l).ok());
  ASSERT_EQ(shared_->ids.size(), 1234u);
  for (size_t i = 0; i < shared_->ids.size(); ++i) EXPECT_EQ(shared_->ids[i], i + 1);
  EXPECT_EQ(shared_->calls, 13);
  EXPECT_EQ(l->State().delivered, 1234u);
  EXPECT_EQ(l->State().undelivered, 0u);
}

TEST_F(ExportLoopTest, CursorMovesOnlyAfterTheDestinationTookTheBatch) {
  ExportLoopOptions o;
  o.from_start = true;
  o.batch = 10;
  auto l = Loop(o);
  Add(25);
  shared_->fail = 3;
  bool idle = false;
  for (int i = 0; i < 3; ++i) {
    Status s = l->Step(&idle);
    EXPECT_EQ(s.code(), Status::Code::kIOError);
    EXPECT_EQ(l->cursor(), 0u);
    auto c = store_->GetConsumer("syslog:test");
    ASSERT_TRUE(c.ok() && c->has_value());
    EXPECT_EQ(**c, 0u);
    EXPECT_EQ(l->State().last_error, "connection refused");
  }
  EXPECT_GE(shared_->resets, 3);
  ASSERT_TRUE(Drain(*l).ok());
  std::vector<uint64_t> want;
  for (uint64_t i = 1; i <= 25; ++i) want.push_back(i);
  EXPECT_EQ(shared_->ids, want);
  EXPECT_EQ(l->State().last_error, "");
  EXPECT_EQ(l->State().failures, 3u);
}

TEST_F(ExportLoopTest, ARestartedLoopResumesFromTheStoredCursor) {
  ExportLoopOptions o;
  o.from_start = true;
  o.batch = 7;
  Add(20);
  {
    auto l = Loop(o);
    bool idle;
    ASSERT_TRUE(l->Step(&idle).ok());
    ASSERT_TRUE(l->Step(&idle).ok());
  }
  EXPECT_EQ(shared_->ids.size(), 14u);
  Add(5);
  auto l = Loop(o);  // from_start is ignored: the consumer has a cursor
  ASSERT_TRUE(Drain(*l).ok());
  ASSERT_EQ(shared_->ids.size(), 25u);
  for (size_t i = 0; i < 25; ++i) EXPECT_EQ(shared_->ids[i], i + 1);
}

TEST_F(ExportLoopTest, SelectionKeepsAlertsOrFailuresAndStillAdvances) {
  Add(30);
  ExportLoopOptions o;
  o.from_start = true;
  o.selection = EventSelection::kAlerts;
  o.consumer = "syslog:alerts";
  auto l = Loop(o);
  ASSERT_TRUE(Drain(*l).ok());
  for (const Event& e : shared_->events) EXPECT_EQ(e.action, "alert:failed-login");
  EXPECT_EQ(shared_->events.size(), 6u);
  EXPECT_EQ(l->cursor(), 30u);

  shared_->events.clear();
  o.selection = EventSelection::kFailed;
  o.consumer = "syslog:failed";
  auto f = Loop(o);
  ASSERT_TRUE(Drain(*f).ok());
  size_t want = 0;
  for (int i = 0; i < 30; ++i) want += (i % 3 == 2 || i % 5 == 4);
  EXPECT_EQ(shared_->events.size(), want);
  for (const Event& e : shared_->events)
    EXPECT_TRUE(e.result == Outcome::kFailure || e.action == "alert:failed-login");
}

TEST_F(ExportLoopTest, RunBacksOffAndDeliversOnceTheDestinationRecovers) {
  Add(5);
  ExportLoopOptions o;
  o.from_start = true;
  o.min_backoff_us = 20000;
  o.max_backoff_us = 80000;
  o.idle_poll_us = 10000;
  shared_->fail = 4;
  auto l = Loop(o);
  std::atomic<bool> stop{false};
  std::thread t([&] { l->Run(stop); });
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until) {
    {
      std::lock_guard<std::mutex> g(shared_->mu);
      if (shared_->ids.size() >= 5) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  t.join();
  EXPECT_EQ(shared_->ids, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(shared_->calls, 5);  // 4 refused, 1 taken; nothing more while idle
}

}  // namespace
}  // namespace pveaudit

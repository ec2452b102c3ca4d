#include "export/export_loop.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/actions.h"
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
    int fail_after = -1;  // >= 0: take that many more calls, then fail once
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
    if (s_->fail_after == 0) {
      s_->fail_after = -1;
      return Status::IOError("connection reset");
    }
    if (s_->fail_after > 0) --s_->fail_after;
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
      // Appended, not "u" + ...: GCC 12 warns (-Wrestrict) on that.
      e.user = std::string("u").append(std::to_string(seq_)).append("@pve");
      e.action = seq_ % 5 == 4 ? "alert:failed-login" : "vm:start";
      e.result = seq_ % 3 == 2 ? Outcome::kFailure : Outcome::kSuccess;
      e.source = "test";
      v.push_back(e);
    }
    ASSERT_TRUE(store_->Append(&v, {}, nullptr).ok());
  }
  // hold_us 0 unless `keep_hold`: these tests are about the cursor.
  std::unique_ptr<ExportLoop> Loop(ExportLoopOptions o = {}, bool keep_hold = false) {
    if (o.consumer.empty()) o.consumer = "syslog:test";
    if (!keep_hold) o.hold_us = 0;
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
  o.max_round = 7;  // one batch per round, as when caught up
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

// A backlog: each round that read all it asked for reads twice as many
// next time (up to max_round), delivers them in Deliver calls of `batch`
// and stores the cursor once. A Deliver that fails in the middle of a
// round moves nothing: the round is sent again from the cursor (at least
// once), and the cursor never passes what the destination did not take.
TEST_F(ExportLoopTest, ABacklogIsReadInGrowingRoundsWithOneCursorWriteEach) {
  ExportLoopOptions o;
  o.from_start = true;
  o.batch = 10;
  o.max_round = 40;
  Add(200);
  auto l = Loop(o);
  bool idle = false;
  ASSERT_TRUE(l->Step(&idle).ok());  // 10
  EXPECT_EQ(l->cursor(), 10u);
  ASSERT_TRUE(l->Step(&idle).ok());  // 20, in two calls
  EXPECT_EQ(l->cursor(), 30u);
  EXPECT_EQ(shared_->calls, 3);
  shared_->calls = 0;
  ASSERT_TRUE(l->Step(&idle).ok());  // 40, in four calls
  EXPECT_EQ(l->cursor(), 70u);
  EXPECT_EQ(shared_->calls, 4);
  auto c = store_->GetConsumer("syslog:test");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ(**c, 70u);
  ASSERT_TRUE(Drain(*l).ok());
  ASSERT_EQ(shared_->ids.size(), 200u);
  for (size_t i = 0; i < 200; ++i) EXPECT_EQ(shared_->ids[i], i + 1);
  EXPECT_EQ(l->cursor(), 200u);
}

TEST_F(ExportLoopTest, AFailureInTheMiddleOfARoundResendsItFromTheCursor) {
  ExportLoopOptions o;
  o.from_start = true;
  o.batch = 10;
  o.max_round = 40;
  Add(100);
  auto l = Loop(o);
  bool idle = false;
  ASSERT_TRUE(l->Step(&idle).ok());  // 1..10
  ASSERT_TRUE(l->Step(&idle).ok());  // 11..30
  ASSERT_EQ(l->cursor(), 30u);
  // The next round is 31..70 in four calls; the sink takes two, then
  // fails: nothing moves.
  shared_->fail_after = 2;
  EXPECT_FALSE(l->Step(&idle).ok());
  EXPECT_EQ(l->cursor(), 30u);
  auto c = store_->GetConsumer("syslog:test");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ(**c, 30u) << "the cursor passed events the destination did not take";
  ASSERT_EQ(shared_->ids.size(), 50u);  // 1..30, then 31..50 taken
  ASSERT_TRUE(Drain(*l).ok());
  // 31..50 twice (the round in flight), everything at least once.
  std::map<uint64_t, int> seen;
  for (uint64_t id : shared_->ids) ++seen[id];
  ASSERT_EQ(seen.size(), 100u);
  for (auto [id, n] : seen) EXPECT_EQ(n, id > 30 && id <= 50 ? 2 : 1) << id;
  EXPECT_EQ(l->cursor(), 100u);
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

namespace pveaudit {
namespace {

constexpr int64_t kS = 1000000;

Event AuthFailAt(int64_t t) {
  Event e;
  e.time_us = t;
  e.node = "pve1";
  e.user = "alice@pve";
  e.ip = "192.0.2.10";
  e.action = "login";
  e.resource = "/access/users/alice@pve";
  e.result = Outcome::kFailure;
  e.source = "auth";
  e.detail = "invalid credentials";
  return e;
}

Event TicketRequestAt(int64_t t) {
  ActionMapping m = MapApiRequest("POST", "/access/ticket");
  Event e;
  e.time_us = t;
  e.node = "pve1";
  e.ip = "192.0.2.10";
  e.action = m.action;
  e.resource = m.resource;
  e.result = Outcome::kFailure;
  e.status = "401";
  e.source = "pveproxy";
  e.detail = "POST /api2/json/access/ticket";
  return e;
}

Event AlertAt(int64_t t) {
  Event e;
  e.time_us = t;
  e.node = "pve1";
  e.user = "alice@pve";
  e.action = "alert:failed-login";
  e.result = Outcome::kSuccess;
  e.source = "alert";
  e.detail = "rule 1";
  return e;
}

// What pveam access log shows is what is exported: a failed login's auth
// line and its ticket request are one event, with the request's status.
TEST_F(ExportLoopTest, AFailedLoginAndItsTicketRequestAreOneEvent) {
  const int64_t t0 = NowUs() - 3600 * kS;
  std::vector<Event> v = {AuthFailAt(t0), TicketRequestAt(t0 + 3 * kS)};
  ASSERT_TRUE(store_->Append(&v, {}, nullptr).ok());
  ExportLoopOptions o;
  o.from_start = true;
  auto l = Loop(o);  // hold 0: decided with what is stored
  ASSERT_TRUE(Drain(*l).ok());
  ASSERT_EQ(shared_->events.size(), 1u);
  EXPECT_EQ(shared_->events[0].id, v[0].id);
  EXPECT_EQ(shared_->events[0].status, "401");
  EXPECT_EQ(shared_->events[0].detail, "invalid credentials request=#" + std::to_string(v[1].id) +
                                           " POST /api2/json/access/ticket");
  EXPECT_EQ(l->cursor(), v[1].id);
}

// The request is stored first and held; its auth line comes within the
// hold: one event. An alert is not held.
TEST_F(ExportLoopTest, HeldRequestIsJoinedWithALineThatComesLaterAndAlertsGoAtOnce) {
  const int64_t t0 = NowUs();
  ExportLoopOptions o;
  o.from_start = true;
  o.hold_us = 3600 * kS;  // longer than the test
  auto l = Loop(o, /*keep_hold=*/true);
  std::vector<Event> req = {TicketRequestAt(t0 + 3 * kS)};
  ASSERT_TRUE(store_->Append(&req, {}, nullptr).ok());
  std::vector<Event> alert = {AlertAt(t0 + 4 * kS)};
  ASSERT_TRUE(store_->Append(&alert, {}, nullptr).ok());
  ASSERT_TRUE(Drain(*l).ok());
  ASSERT_EQ(shared_->events.size(), 1u);  // the alert, not the held request
  EXPECT_EQ(shared_->events[0].action, "alert:failed-login");
  EXPECT_EQ(l->cursor(), 0u) << "the held request keeps the cursor before it";
  EXPECT_EQ(l->State().held, 1u);
  std::vector<Event> auth = {AuthFailAt(t0)};
  ASSERT_TRUE(store_->Append(&auth, {}, nullptr).ok());
  // Still held: the auth line too. A later event, an hour newer, passes
  // them: they are decided without waiting for the hold.
  ASSERT_TRUE(Drain(*l).ok());
  EXPECT_EQ(shared_->events.size(), 1u);
  Event later = AlertAt(t0 + 3700 * kS);
  later.action = "vm:start";
  later.source = "test";
  std::vector<Event> lv = {later};
  ASSERT_TRUE(store_->Append(&lv, {}, nullptr).ok());
  ASSERT_TRUE(Drain(*l).ok());
  ASSERT_EQ(shared_->events.size(), 2u);
  EXPECT_EQ(shared_->events[1].id, auth[0].id);
  EXPECT_EQ(shared_->events[1].status, "401");
  EXPECT_EQ(l->cursor(), auth[0].id) << "the newest event is still held";
}

// The survivor went out alone before its partner came (the ticket request
// logged after the hold): the survivor is sent again, joined, under its
// own id (the same externalId: a SIEM keeps one event), and the request is
// not sent as an event of its own: one login is never two events.
TEST_F(ExportLoopTest, ALatePartnerResendsItsSurvivorJoinedUnderTheSameId) {
  const int64_t t0 = NowUs() - 3600 * kS;
  ExportLoopOptions o;
  o.from_start = true;
  auto l = Loop(o);
  std::vector<Event> auth = {AuthFailAt(t0)};
  ASSERT_TRUE(store_->Append(&auth, {}, nullptr).ok());
  ASSERT_TRUE(Drain(*l).ok());
  ASSERT_EQ(shared_->events.size(), 1u);
  EXPECT_EQ(shared_->events[0].id, auth[0].id);
  EXPECT_EQ(shared_->events[0].status, "");
  std::vector<Event> req = {TicketRequestAt(t0 + 3 * kS)};
  ASSERT_TRUE(store_->Append(&req, {}, nullptr).ok());
  ASSERT_TRUE(Drain(*l).ok());
  ASSERT_EQ(shared_->events.size(), 2u);
  EXPECT_EQ(shared_->events[1].id, auth[0].id) << "sent as an event of its own";
  EXPECT_EQ(shared_->events[1].status, "401");
  EXPECT_EQ(shared_->events[1].detail, "invalid credentials request=#" + std::to_string(req[0].id) +
                                           " POST /api2/json/access/ticket");
  EXPECT_EQ(l->cursor(), req[0].id);
  // Decided: nothing more goes out for it.
  std::vector<Event> later = {AlertAt(t0 + 10 * kS)};
  ASSERT_TRUE(store_->Append(&later, {}, nullptr).ok());
  ASSERT_TRUE(Drain(*l).ok());
  ASSERT_EQ(shared_->events.size(), 3u);
  EXPECT_EQ(shared_->events[2].id, later[0].id);
}

// The same through the hold: the auth line is held 1 s, goes out alone;
// the request is stored 1.5 s later, held, then the login goes again
// joined; every event the destination got has the login's id.
TEST_F(ExportLoopTest, APartnerStoredAfterTheHoldIsNotASecondEvent) {
  const int64_t t0 = NowUs();
  ExportLoopOptions o;
  o.from_start = true;
  o.hold_us = 300000;
  auto l = Loop(o, /*keep_hold=*/true);
  std::vector<Event> auth = {AuthFailAt(t0)};
  ASSERT_TRUE(store_->Append(&auth, {}, nullptr).ok());
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (shared_->events.empty() && std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(Drain(*l).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(shared_->events.size(), 1u);
  std::vector<Event> req = {TicketRequestAt(t0 + 3 * kS)};
  ASSERT_TRUE(store_->Append(&req, {}, nullptr).ok());
  while (l->cursor() != req[0].id && std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(Drain(*l).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(l->cursor(), req[0].id);
  ASSERT_EQ(shared_->events.size(), 2u);
  for (const Event& e : shared_->events) EXPECT_EQ(e.id, auth[0].id);
  EXPECT_EQ(shared_->events[1].status, "401");
}

// An alert sent ahead of an older held event is written down: a restart
// does not send it again (repeats after a crash are only the batch in
// flight), and the held event still goes once its hold is over.
TEST_F(ExportLoopTest, EventsSentAheadOfAHeldOneAreNotSentAgainAfterARestart) {
  const int64_t t0 = NowUs();
  ExportLoopOptions o;
  o.from_start = true;
  o.hold_us = 3600 * kS;
  std::vector<Event> v = {TicketRequestAt(t0), AlertAt(t0 + kS)};
  ASSERT_TRUE(store_->Append(&v, {}, nullptr).ok());
  {
    auto l = Loop(o, /*keep_hold=*/true);
    ASSERT_TRUE(Drain(*l).ok());
    ASSERT_EQ(shared_->ids, (std::vector<uint64_t>{v[1].id}));
    EXPECT_EQ(l->cursor(), 0u);
  }
  {
    auto l = Loop(o, /*keep_hold=*/true);  // a restart
    ASSERT_TRUE(Drain(*l).ok());
    EXPECT_EQ(shared_->ids, (std::vector<uint64_t>{v[1].id})) << "the alert was sent again";
    EXPECT_EQ(l->State().held, 1u);
  }
  o.hold_us = 0;  // the hold is over
  auto l = Loop(o, /*keep_hold=*/true);
  ASSERT_TRUE(Drain(*l).ok());
  EXPECT_EQ(shared_->ids, (std::vector<uint64_t>{v[1].id, v[0].id}));
  EXPECT_EQ(l->cursor(), v[1].id);
  auto ahead = store_->GetSetting("export.ahead.syslog:test");
  ASSERT_TRUE(ahead.ok());
  EXPECT_EQ(ahead->value_or(""), "") << "nothing above the cursor any more";
}

// The auth line (stored second, but older) is passed by the stream and
// goes out joined while its request is still held; when the request's
// hold ends it is not sent on its own: the survivor carried it.
TEST_F(ExportLoopTest, ARequestHeldAfterItsSurvivorWentOutIsNotSentOnItsOwn) {
  const int64_t t0 = NowUs() - 3600 * kS;
  ExportLoopOptions o;
  o.from_start = true;
  o.hold_us = 300000;
  auto l = Loop(o, /*keep_hold=*/true);
  std::vector<Event> req = {TicketRequestAt(t0 + 3 * kS)};
  ASSERT_TRUE(store_->Append(&req, {}, nullptr).ok());
  std::vector<Event> auth = {AuthFailAt(t0)};
  ASSERT_TRUE(store_->Append(&auth, {}, nullptr).ok());
  ASSERT_TRUE(Drain(*l).ok());
  ASSERT_EQ(shared_->events.size(), 1u);
  EXPECT_EQ(shared_->events[0].id, auth[0].id);
  EXPECT_EQ(shared_->events[0].status, "401");
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (l->cursor() != auth[0].id && std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(Drain(*l).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(l->cursor(), auth[0].id);
  EXPECT_EQ(shared_->events.size(), 1u) << "the request was sent on its own";
}

// The request is read first, so its hold ends first, while its survivor
// (the auth line, read later) is still held: the request waits for it,
// keeping the cursor before it, and is dropped once the survivor goes out
// carrying it.
TEST_F(ExportLoopTest, AnAbsorbedEventWaitsForItsHeldSurvivorAndKeepsTheCursor) {
  const int64_t t0 = NowUs();
  ExportLoopOptions o;
  o.from_start = true;
  o.hold_us = 300000;
  auto l = Loop(o, /*keep_hold=*/true);
  std::vector<Event> req = {TicketRequestAt(t0 + 100000)};
  ASSERT_TRUE(store_->Append(&req, {}, nullptr).ok());
  ASSERT_TRUE(Drain(*l).ok());  // read: held
  // Read later than the request (the order is what matters, not the time).
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  std::vector<Event> auth = {AuthFailAt(t0)};
  ASSERT_TRUE(store_->Append(&auth, {}, nullptr).ok());
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (l->cursor() != auth[0].id && std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(Drain(*l).ok());
    if (shared_->events.empty()) {
      EXPECT_EQ(l->cursor(), 0u) << "the waiting request let the cursor pass it";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(shared_->events.size(), 1u);
  EXPECT_EQ(shared_->events[0].id, auth[0].id);
  EXPECT_EQ(shared_->events[0].status, "401");
  EXPECT_EQ(l->cursor(), auth[0].id);
}

// A catch-up of files imported one after another: the ticket request
// (access.log) is stored long before its auth line (auth.log), with more
// events between them than the loop reads ahead. The view already joins
// them (both are stored), and the hold is judged by event time against the
// store's newest event (an hour later), not by how long the loop held
// them: the login goes out once, joined, without waiting, the request is
// not sent on its own, and the cursor reaches the end. (It used to wait
// for the auth line with the read-ahead full, then go out unjoined.)
TEST_F(ExportLoopTest, ACatchUpJoinsPartnersStoredFarApartWithoutWaiting) {
  const int64_t t0 = NowUs() - 7200 * kS;
  std::vector<Event> v = {TicketRequestAt(t0 + 3 * kS)};
  for (int i = 0; i < 40; ++i) {
    Event e = AlertAt(t0 + (10 + i) * kS);
    e.action = "vm:start";
    e.source = "test";
    e.node = "pve2";
    v.push_back(e);
  }
  v.push_back(AuthFailAt(t0));
  Event last = AlertAt(t0 + 3600 * kS);
  last.action = "vm:start";
  last.source = "test";
  v.push_back(last);
  ASSERT_TRUE(store_->Append(&v, {}, nullptr).ok());
  const uint64_t req = v[0].id, auth = v[41].id;
  ExportLoopOptions o;
  o.from_start = true;
  o.batch = 4;
  o.max_round = 8;
  o.max_pending = 10;  // far fewer than lie between the two
  auto sent_auth = [&] {
    for (const Event& e : shared_->events)
      if (e.id == auth) return true;
    return false;
  };
  {
    auto l = Loop(o, /*keep_hold=*/true);  // the default hold (40 s)
    for (int i = 0; i < 100 && !sent_auth(); ++i) {
      bool idle = false;
      ASSERT_TRUE(l->Step(&idle).ok());
      ASSERT_FALSE(idle) << "the loop waited";
    }
    ASSERT_TRUE(sent_auth());
    EXPECT_LT(l->cursor(), auth) << "sent ahead of the cursor";
  }
  // A restart before the read reached the auth line: it is not sent again.
  auto l = Loop(o, /*keep_hold=*/true);
  ASSERT_TRUE(Drain(*l).ok());
  // Everything but the newest event (held: its partners may still come).
  EXPECT_EQ(l->cursor(), auth) << "the loop waited";
  std::map<uint64_t, int> sent;
  for (const Event& e : shared_->events) ++sent[e.id];
  EXPECT_EQ(sent.count(req), 0u) << "the request went out on its own";
  ASSERT_EQ(sent[auth], 1);
  for (const Event& e : shared_->events)
    if (e.id == auth) {
      EXPECT_EQ(e.status, "401");
      EXPECT_EQ(e.detail, "invalid credentials request=#" + std::to_string(req) +
                              " POST /api2/json/access/ticket");
    }
  EXPECT_EQ(shared_->events.size(), v.size() - 2) << "one event per action, each once";
  // Nothing decided above the cursor is left to write down.
  auto ahead = store_->GetSetting("export.ahead.syslog:test");
  ASSERT_TRUE(ahead.ok());
  EXPECT_EQ(ahead->value_or(""), "");
}

// Two files of the same hours imported one after the other: the view scan
// of a round of the first decides the second file's events of those hours
// too (their join windows lie inside it and have closed): they go at once,
// ahead of the cursor, each once, and are skipped when the read reaches
// them; a restart in between does not send them again.
TEST_F(ExportLoopTest, ACatchUpSendsOtherFilesEventsOfTheScannedHoursOnce) {
  const int64_t t0 = NowUs() - 7200 * kS;
  std::vector<Event> v;
  for (int f = 0; f < 2; ++f)
    for (int i = 0; i < 30; ++i) {
      Event e = AlertAt(t0 + i * 10 * kS);
      e.action = "vm:start";
      e.source = "test";
      e.node = f ? "pve2" : "pve1";
      v.push_back(e);
    }
  Event last = AlertAt(t0 + 3600 * kS);  // makes the others' hold over by event time
  last.action = "vm:start";
  last.source = "test";
  v.push_back(last);
  ASSERT_TRUE(store_->Append(&v, {}, nullptr).ok());
  ExportLoopOptions o;
  o.from_start = true;
  o.batch = 10;
  o.max_round = 10;
  {
    auto l = Loop(o, /*keep_hold=*/true);
    bool idle = false;
    ASSERT_TRUE(l->Step(&idle).ok());  // the first 10 of pve1
    ASSERT_FALSE(idle);
    EXPECT_EQ(l->cursor(), v[9].id);
    std::set<uint64_t> got(shared_->ids.begin(), shared_->ids.end());
    EXPECT_EQ(got.size(), shared_->ids.size()) << "an event went twice";
    EXPECT_TRUE(got.count(v[30].id) && got.count(v[38].id))
        << "pve2's events of the same minutes were not sent with them";
  }
  auto l = Loop(o, /*keep_hold=*/true);  // a restart
  ASSERT_TRUE(Drain(*l).ok());
  std::map<uint64_t, int> n;
  for (uint64_t id : shared_->ids) ++n[id];
  for (size_t i = 0; i + 1 < v.size(); ++i) EXPECT_EQ(n[v[i].id], 1) << "event " << v[i].id;
  EXPECT_EQ(n.count(v.back().id), 0u) << "the newest is still held";
  EXPECT_EQ(l->cursor(), v[59].id);
  auto ahead = store_->GetSetting("export.ahead.syslog:test");
  ASSERT_TRUE(ahead.ok());
  EXPECT_EQ(ahead->value_or(""), "");
}

// The ids decided above the cursor, as ranges: adjacent ids merge, the
// cursor drops what it passed, the written form reads back, and a value
// that is not such a list reads as nothing (those events go again).
TEST(IdRangesTest, MergesDropsAndRoundTrips) {
  IdRanges r;
  for (uint64_t id : {5, 7, 6, 9, 3, 10, 4}) r.Add(id);
  EXPECT_EQ(r.Encode(), "3-7,9-10");
  EXPECT_TRUE(r.Has(3));
  EXPECT_TRUE(r.Has(10));
  EXPECT_FALSE(r.Has(8));
  EXPECT_FALSE(r.Has(2));
  r.Add(8);
  EXPECT_EQ(r.Encode(), "3-10");
  r.DropThrough(5);
  EXPECT_EQ(r.Encode(), "6-10");
  r.Add(20);
  r.DropThrough(10);
  EXPECT_EQ(r.Encode(), "20");
  IdRanges back;
  ASSERT_TRUE(back.Decode("1-3,5,7-9"));
  EXPECT_EQ(back.Encode(), "1-3,5,7-9");
  ASSERT_TRUE(back.Decode("1-3,4"));
  EXPECT_EQ(back.Encode(), "1-4");
  for (const char* bad : {"x", "3-1", "5,2", "1-", "1,,2", "1;2"}) {
    EXPECT_FALSE(back.Decode(bad)) << bad;
    EXPECT_TRUE(back.empty()) << bad;
  }
  ASSERT_TRUE(back.Decode(""));
  EXPECT_TRUE(back.empty());
}

}  // namespace
}  // namespace pveaudit

// SpoolingStore (spooling_store.h) against a real PostgreSQL server that
// the test binary starts (pg_test_server.h) and stops in the middle of the
// work, as an administrator (fast shutdown) or a crash (immediate) would.
#include "store/spooling_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "store/forwarding_store.h"
#include "store/pg_store.h"
#include "store/pg_test_server.h"

namespace pveaudit {
namespace {

namespace fs = std::filesystem;

// An event whose content names `n` (origin_line and the request line), so
// each event stored can be told apart and counted.
Event Numbered(uint64_t n, const std::string& tag = "") {
  Event e;
  e.time_us = (1735689600 + int64_t(n)) * 1000000;
  e.node = "pve1";
  e.user = "alice@pve";
  e.ip = "192.0.2.7";
  e.action = "vm:start";
  e.resource = "/vms/100";
  e.status = "200";
  e.source = "pveproxy";
  e.result = Outcome::kSuccess;
  e.detail = "POST /api2/json/nodes/pve1/qemu/100/status/start" + tag;
  e.origin = "/var/log/pveproxy/access.log";
  e.origin_line = n;
  return e;
}

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server().error().empty()) << server().error();
    auto c = server().FreshSchema();
    ASSERT_TRUE(c.ok()) << c.status().message();
    conninfo_ = *c;
    std::random_device rd;
    dir_ = (fs::temp_directory_path() / ("pveaudit-spool-test-" + std::to_string(rd()))).string();
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (halted_) (void)server().Resume();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static PgTestServer& server() { return PgTestServer::Shared(); }

  void Halt(bool immediate) {
    ASSERT_TRUE(server().Halt(immediate).ok());
    halted_ = true;
  }
  void Resume() {
    Status st = server().Resume();
    ASSERT_TRUE(st.ok()) << st.message();
    halted_ = false;
  }

  SpoolingStore::Opener Opener() const {
    return [c = conninfo_]() {
      StoreOptions o;
      o.writer = "pve1";
      return OpenPostgresStore(c, o);
    };
  }
  std::unique_ptr<SpoolingStore> Open(SpoolingStore::Opener opener = nullptr) {
    SpoolOptions o;
    o.spool_dir = dir_ + "/spool";
    o.writer = "pve1";
    o.retry = std::chrono::milliseconds(50);
    o.forward_batch = 7;  // several forwarded transactions from a small spool
    auto s = SpoolingStore::Open(opener ? opener : Opener(), o);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::unique_ptr<EventStore> Database() {
    StoreOptions o;
    o.read_only = true;
    auto s = OpenPostgresStore(conninfo_, o);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Appends events first..last (numbered) with the cursor `key` at `last`.
  Status AppendRange(EventStore& s, uint64_t first, uint64_t last,
                     const std::vector<RejectedLine>& rejected = {}, const std::string& tag = "") {
    std::vector<Event> batch;
    for (uint64_t n = first; n <= last; ++n) batch.push_back(Numbered(n, tag));
    SourceCursor c{"fp:access", "/var/log/pveproxy/access.log", last * 100, last, "s"};
    return s.Append(&batch, rejected, &c);
  }

  // Waits until the spool is drained (the forwarder's work is done).
  static bool Drained(const SpoolingStore& s) {
    for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
         std::chrono::steady_clock::now() < until;
         std::this_thread::sleep_for(std::chrono::milliseconds(20)))
      if (!s.State().spooling) return true;
    return false;
  }

  // What the database holds, in id order: "origin_line/detail" each.
  std::vector<std::string> Stored() {
    std::vector<std::string> out;
    auto db = Database();
    if (!db) return out;
    Status st = db->ScanAfter(0, 0, kFieldAll, [&](Event& e) {
      out.push_back(std::to_string(e.origin_line) + e.detail.substr(e.detail.find("start") + 5));
      return true;
    });
    EXPECT_TRUE(st.ok()) << st.message();
    return out;
  }
  static std::vector<std::string> Expected(uint64_t first, uint64_t last,
                                           const std::string& tag = "") {
    std::vector<std::string> v;
    for (uint64_t n = first; n <= last; ++n) v.push_back(std::to_string(n) + tag);
    return v;
  }
  static std::vector<std::string> Concat(std::vector<std::string> a,
                                         const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }

  std::string conninfo_, dir_;
  bool halted_ = false;
};

class SpoolShutdownTest : public SpoolTest, public ::testing::WithParamInterface<bool> {};

// Ingest goes on while the server is down; what was spooled reaches the
// database once, in order, with the cursors and rejected lines, and the
// spool is removed. Batches that look alike (the same events again under
// another batch) are each kept: the forwarder skips nothing by content.
TEST_P(SpoolShutdownTest, AppendsWhileTheDatabaseIsDownAreForwardedOnceInOrder) {
  auto s = Open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(AppendRange(*s, 1, 10).ok());
  EXPECT_FALSE(s->State().spooling);
  Halt(GetParam());

  // Each append returns once durable in the spool.
  ASSERT_TRUE(AppendRange(*s, 11, 20).ok());
  SpoolState st = s->State();
  EXPECT_TRUE(st.spooling);
  EXPECT_FALSE(st.database_up);
  EXPECT_EQ(st.events, 10u);
  EXPECT_EQ(st.oldest_us, Numbered(11).time_us);
  EXPECT_GT(st.bytes, 0u);
  EXPECT_FALSE(st.error.empty());
  EXPECT_TRUE(fs::exists(dir_ + "/spool"));
  // The source resumes from what it wrote, the database being away.
  auto c = s->GetCursor("fp:access");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->line, 20u);
  // Reads say why they cannot be served.
  auto info = s->Info();
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find("local spool"), std::string::npos);

  RejectedLine bad{0, "/var/log/pveproxy/access.log", 25, "unparsable", "garbage"};
  ASSERT_TRUE(AppendRange(*s, 21, 30, {bad}).ok());
  ASSERT_TRUE(AppendRange(*s, 11, 20, {}, " again").ok());  // look-alike of 11..20
  EXPECT_EQ(s->State().events, 30u);

  Resume();
  ASSERT_TRUE(Drained(*s));
  EXPECT_FALSE(fs::exists(dir_ + "/spool"));
  ASSERT_TRUE(AppendRange(*s, 31, 35).ok());  // to the database again
  EXPECT_FALSE(s->State().spooling);
  EXPECT_EQ(s->State().forwarded, 30u);

  const auto want = Concat(Concat(Expected(1, 30), Expected(11, 20, " again")), Expected(31, 35));
  EXPECT_EQ(Stored(), want);
  auto db = Database();
  ASSERT_TRUE(db);
  auto v = db->Verify(nullptr);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->reason;
  auto cur = db->GetCursor("fp:access");
  ASSERT_TRUE(cur.ok() && cur->has_value());
  EXPECT_EQ((*cur)->line, 35u);
  auto rej = db->ListRejected(0);
  ASSERT_TRUE(rej.ok());
  ASSERT_EQ(rej->size(), 1u);
  EXPECT_EQ((*rej)[0].text, "garbage");
}

INSTANTIATE_TEST_SUITE_P(FastAndImmediate, SpoolShutdownTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Immediate" : "Fast"; });

// pveauditd restarted while the database is still away: it goes on into
// the spool it left, from the cursors there, and forwards it all once.
TEST_F(SpoolTest, ARestartWithAnUndrainedSpoolGoesOnFromItsCursors) {
  {
    auto s = Open();
    ASSERT_TRUE(s);
    ASSERT_TRUE(AppendRange(*s, 1, 5).ok());
    Halt(true);
    ASSERT_TRUE(AppendRange(*s, 6, 12).ok());
  }
  auto s = Open();
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->State().spooling);
  auto c = s->GetCursor("fp:access");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->line, 12u);
  // A cursor only the database has cannot be answered now: an error, not
  // "none" (which would read that file again from its start).
  auto other = s->GetCursor("fp:other");
  EXPECT_FALSE(other.ok());
  ASSERT_TRUE(AppendRange(*s, 13, 20).ok());
  Resume();
  ASSERT_TRUE(Drained(*s));
  EXPECT_EQ(Stored(), Expected(1, 20));
  auto other_now = s->GetCursor("fp:other");
  ASSERT_TRUE(other_now.ok()) << other_now.status().message();
  EXPECT_FALSE(other_now->has_value());
}

// A file that appears during the outage (logrotate made a new access.log):
// its cursor is known to be absent, so the source reads it from its start
// into the spool instead of waiting for the database.
TEST_F(SpoolTest, ANewFileDuringTheOutageIsReadWithoutTheDatabase) {
  auto s = Open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(AppendRange(*s, 1, 3).ok());
  Halt(true);
  ASSERT_TRUE(AppendRange(*s, 4, 5).ok());
  auto fresh = s->GetCursor("fp:rotated");
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_FALSE(fresh->has_value());
  auto known = s->GetCursor("fp:access");
  ASSERT_TRUE(known.ok() && known->has_value());
  EXPECT_EQ((*known)->line, 5u);
  std::vector<Event> batch = {Numbered(6)};
  SourceCursor c{"fp:rotated", "/var/log/pveproxy/access.log", 80, 1, "s"};
  ASSERT_TRUE(s->Append(&batch, {}, &c).ok());
  Resume();
  ASSERT_TRUE(Drained(*s));
  EXPECT_EQ(Stored(), Expected(1, 6));
  auto db = Database();
  ASSERT_TRUE(db);
  auto r = db->GetCursor("fp:rotated");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->line, 1u);
}

// The database unreachable from the start: nothing is lost and the spool
// is forwarded when it comes.
TEST_F(SpoolTest, ADatabaseDownAtStartIsWaitedFor) {
  Halt(false);
  auto s = Open();
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->State().spooling);
  // A cursor the spool does not have cannot be answered yet.
  EXPECT_FALSE(s->GetCursor("fp:access").ok());
  std::vector<Event> batch = {Numbered(1)};
  ASSERT_TRUE(s->Append(&batch, {}, nullptr).ok());
  Resume();
  ASSERT_TRUE(Drained(*s));
  EXPECT_EQ(Stored(), Expected(1, 1));
}

// The daemon's status goes to the spool while the database is away (what
// `pveam access status` reads then); other settings are refused.
TEST_F(SpoolTest, OnlyTheDaemonStatusIsKeptInTheSpool) {
  auto s = Open();
  ASSERT_TRUE(s);
  Halt(false);
  ASSERT_TRUE(AppendRange(*s, 1, 2).ok());
  EXPECT_TRUE(s->PutSetting("daemon.status.pve1", "{}", "pveauditd").ok());
  EXPECT_FALSE(s->PutSetting("alert.rules", "[]", "root@pam").ok());
  auto spool = OpenSpoolForReading(dir_);
  ASSERT_TRUE(spool.ok()) << spool.status().message();
  auto v = (*spool)->GetSetting("daemon.status.pve1");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, "{}");
}

// The connection dropping between COMMIT and its answer cannot be caused on
// purpose with a real server, so this stand-in for the database's
// connection commits through the real PostgreSQL store and then loses the
// answer once (or, with `commit` false, fails before committing).
class LosesAnAnswer final : public ForwardingStore {
 public:
  LosesAnAnswer(std::unique_ptr<EventStore> base, int fail_at, bool commit)
      : ForwardingStore(std::move(base)), fail_at_(fail_at), commit_(commit) {}
  Status AppendBatch(std::vector<Event>* e, const std::vector<RejectedLine>& r,
                     std::span<const SourceCursor> c, const std::vector<Hash256>* d) override {
    if (++calls_ != fail_at_) return base().AppendBatch(e, r, c, d);
    if (commit_) {
      Status st = base().AppendBatch(e, r, c, d);
      if (!st.ok()) return st;
      for (Event& ev : *e) ev.id = 0;
    }
    return Status::IOError("PostgreSQL: server closed the connection unexpectedly");
  }

 private:
  int calls_ = 0;
  const int fail_at_;
  const bool commit_;
};

class LostAnswerTest : public SpoolTest, public ::testing::WithParamInterface<bool> {};

// The second append's answer is lost. Committed: the spooled copy is not
// forwarded again. Not committed (a look-alike failure): it is forwarded.
// Either way each event is in the database once, in order.
TEST_P(LostAnswerTest, EachEventIsStoredOnceWhetherTheLostCommitHappenedOrNot) {
  const bool committed = GetParam();
  auto base = Opener();
  auto s = Open([base, committed]() -> Result<std::unique_ptr<EventStore>> {
    auto db = base();
    if (!db.ok()) return db.status();
    return std::unique_ptr<EventStore>(
        std::make_unique<LosesAnAnswer>(std::move(*db), 2, committed));
  });
  ASSERT_TRUE(s);
  ASSERT_TRUE(AppendRange(*s, 1, 4).ok());
  ASSERT_TRUE(AppendRange(*s, 5, 9).ok());  // its answer is lost: spooled
  ASSERT_TRUE(AppendRange(*s, 10, 12).ok());
  ASSERT_TRUE(Drained(*s));
  ASSERT_TRUE(AppendRange(*s, 13, 14).ok());
  EXPECT_EQ(Stored(), Expected(1, 14));
  auto db = Database();
  ASSERT_TRUE(db);
  auto v = db->Verify(nullptr);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->reason;
}

INSTANTIATE_TEST_SUITE_P(CommittedOrNot, LostAnswerTest, ::testing::Bool(), [](const auto& info) {
  return info.param ? "Committed" : "NotCommitted";
});

}  // namespace
}  // namespace pveaudit

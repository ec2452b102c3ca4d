// Store contract tests. They are written against EventStore and run once
// per backend (StoreContractTest is typed): SQLite, SQLite behind the group
// committer, and PostgreSQL on a real server the binary starts itself
// (pg_test_server.h). Tampering tests edit the stored data the way an
// attacker with access to the database would.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "core/time_spec.h"
#include "store/audited_setting.h"
#include "store/block_codec.h"
#include "store/event_store.h"
#include "store/group_commit.h"
#include "store/pg_store.h"
#include "store/pg_test_server.h"
#include "store/spooling_store.h"
#include "store/sqlite_db.h"

namespace pveaudit {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("pveaudit-store-test-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

Event Ev(int64_t sec, std::string user, std::string action, std::string resource,
         Outcome r = Outcome::kSuccess, std::string ip = "192.0.2.10", std::string node = "pve1") {
  Event e;
  e.time_us = sec * 1000000;
  e.user = std::move(user);
  e.action = std::move(action);
  e.resource = std::move(resource);
  e.result = r;
  e.ip = std::move(ip);
  e.node = std::move(node);
  e.status = r == Outcome::kFailure ? "401" : "200";
  e.source = "pveproxy";
  e.detail = "POST /api2/json/x";
  e.origin = "/var/log/pveproxy/access.log";
  e.origin_line = uint64_t(sec);
  return e;
}

constexpr int64_t kT0 = 1735689600;  // 2025-01-01T00:00:00Z

struct SqliteBackend {
  static Result<std::unique_ptr<EventStore>> Open(const std::string& dir, uint32_t block) {
    StoreOptions o;
    o.block_events = block;
    return OpenSqliteStore(dir, o);
  }
  // A read-only open of a store that does not exist (yet).
  static Result<std::unique_ptr<EventStore>> OpenMissingReadOnly(const std::string& dir) {
    StoreOptions o;
    o.read_only = true;
    return OpenSqliteStore(dir + "/nothing-here", o);
  }
};

template <typename Backend>
class StoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override { SetClusterTimeZone("UTC"); }
  std::unique_ptr<EventStore> Open(uint32_t block = 4) {
    auto s = Backend::Open(dir_.str(), block);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(s.value());
  }
  static std::vector<Event> All(EventStore& s, const Filter& f = Filter()) {
    std::vector<Event> out;
    Status st = s.Scan(f, kFieldAll, [&](const Event& e) {
      out.push_back(e);
      return true;
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
  static std::vector<uint64_t> Ids(const std::vector<Event>& v) {
    std::vector<uint64_t> ids;
    for (const auto& e : v) ids.push_back(e.id);
    return ids;
  }
  TempDir dir_;
};

// The daemon's one writer (group_commit.h) in front of SQLite: the same
// contract must hold through it.
struct GroupCommitSqliteBackend {
  static Result<std::unique_ptr<EventStore>> Open(const std::string& dir, uint32_t block) {
    auto base = SqliteBackend::Open(dir, block);
    if (!base.ok()) return base.status();
    return std::unique_ptr<EventStore>(
        std::make_unique<GroupCommitStore>(std::move(base.value()), GroupCommitOptions{}));
  }
  static Result<std::unique_ptr<EventStore>> OpenMissingReadOnly(const std::string& dir) {
    return SqliteBackend::OpenMissingReadOnly(dir);
  }
};

// PostgreSQL: each test directory stands for a schema of its own on the
// binary's one server, so every test starts from an empty store and a
// reopen of the same directory reopens the same store. The directory
// itself is not used.
struct PgBackend {
  static Result<std::string> Conninfo(const std::string& dir) {
    static std::mutex mu;  // tests with several writer threads
    static std::map<std::string, std::string> by_dir;
    std::lock_guard<std::mutex> lock(mu);
    auto it = by_dir.find(dir);
    if (it != by_dir.end()) return it->second;
    auto c = PgTestServer::Shared().FreshSchema();
    if (!c.ok()) return c.status();
    return by_dir[dir] = *c;
  }
  static Result<std::unique_ptr<EventStore>> Open(const std::string& dir, uint32_t block) {
    auto c = Conninfo(dir);
    if (!c.ok()) return c.status();
    StoreOptions o;
    o.block_events = block;
    return OpenPostgresStore(*c, o);
  }
  static Result<std::unique_ptr<EventStore>> OpenMissingReadOnly(const std::string& dir) {
    auto c = Conninfo(dir + "/nothing-here");
    if (!c.ok()) return c.status();
    StoreOptions o;
    o.read_only = true;
    return OpenPostgresStore(*c, o);
  }
};

// pveauditd's store on a cluster database (spooling_store.h): the same
// contract through it while the database answers.
struct SpoolingPgBackend {
  static Result<std::unique_ptr<EventStore>> Open(const std::string& dir, uint32_t block) {
    auto c = PgBackend::Conninfo(dir);
    if (!c.ok()) return c.status();
    SpoolOptions so;
    so.spool_dir = dir + "/spool";
    so.writer = "contract";
    auto s = SpoolingStore::Open(
        [conninfo = *c, block]() {
          StoreOptions o;
          o.block_events = block;
          o.writer = "contract";
          return OpenPostgresStore(conninfo, o);
        },
        so);
    if (!s.ok()) return s.status();
    return std::unique_ptr<EventStore>(std::move(*s));
  }
  static Result<std::unique_ptr<EventStore>> OpenMissingReadOnly(const std::string& dir) {
    return PgBackend::OpenMissingReadOnly(dir);
  }
};

using kBackends =
    ::testing::Types<SqliteBackend, GroupCommitSqliteBackend, PgBackend, SpoolingPgBackend>;
TYPED_TEST_SUITE(StoreContractTest, kBackends);

TYPED_TEST(StoreContractTest, AppendAssignsIdsAndRoundTripsEveryField) {
  auto s = this->Open();
  std::vector<Event> in;
  for (int i = 0; i < 10; ++i) in.push_back(Ev(kT0 + i, "alice@pve", "vm:start", "/vms/100"));
  in[3].session = "sess-1";
  in[4].ip = "2001:db8::1";
  std::vector<Event> want = in;  // Append may move detail/session out of `in`
  ASSERT_TRUE(s->Append(&in, {}, nullptr).ok());
  EXPECT_EQ(in.front().id, 1u);
  EXPECT_EQ(in.back().id, 10u);
  for (size_t i = 0; i < want.size(); ++i) want[i].id = in[i].id;
  auto out = this->All(*s);
  ASSERT_EQ(out.size(), 10u);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], want[i]) << i;
}

// Consumers follow the store in the order events were stored: a late
// batch with older times comes after, not before, what was stored earlier.
TYPED_TEST(StoreContractTest, ScanAfterVisitsIdsInStoredOrderFromACursor) {
  auto s = this->Open(/*block=*/4);
  std::vector<Event> a, b;
  for (int i = 0; i < 7; ++i) a.push_back(Ev(kT0 + 100 + i, "alice@pve", "vm:start", "/vms/100"));
  for (int i = 0; i < 6; ++i)
    b.push_back(Ev(kT0 + i, i % 2 ? "bob@pve" : "carol@pve", "vm:stop", "/vms/101"));
  ASSERT_TRUE(s->Append(&a, {}, nullptr).ok());
  ASSERT_TRUE(s->Append(&b, {}, nullptr).ok());
  auto after = [&](uint64_t id, size_t limit) {
    std::vector<Event> out;
    Status st = s->ScanAfter(id, limit, kFieldAll, [&](const Event& e) {
      out.push_back(e);
      return true;
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  };
  std::vector<Event> all = after(0, 0);
  ASSERT_EQ(all.size(), 13u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].id, i + 1);
  EXPECT_EQ(all[7].user, "carol@pve");  // the first event of the late batch, fields filled
  EXPECT_EQ(all[7].time_us, kT0 * 1000000);
  EXPECT_EQ(all[7].action, "vm:stop");
  std::vector<Event> part = after(5, 4);
  ASSERT_EQ(part.size(), 4u);
  EXPECT_EQ(this->Ids(part), (std::vector<uint64_t>{6, 7, 8, 9}));
  EXPECT_TRUE(after(13, 0).empty());
}

TYPED_TEST(StoreContractTest, ConsumerPositionsAreKeptAcrossReopen) {
  {
    auto s = this->Open();
    auto none = s->GetConsumer("export:siem");
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
    ASSERT_TRUE(s->PutConsumer("export:siem", 42).ok());
    ASSERT_TRUE(s->PutConsumer("alert", 7).ok());
    ASSERT_TRUE(s->PutConsumer("export:siem", 43).ok());
  }
  auto s = this->Open();
  auto got = s->GetConsumer("export:siem");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, 43u);
  auto list = s->ListConsumers();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "alert");
  EXPECT_EQ((*list)[0].last_id, 7u);
  EXPECT_EQ((*list)[1].name, "export:siem");
  EXPECT_GT((*list)[1].updated_us, 0);
}

// Who changed pveaudit's own configuration is evidence: the event is
// stored with the actor, the before and after values, then the setting.
TYPED_TEST(StoreContractTest, AuditedSettingRecordsWhoChangedWhatBeforeTheSetting) {
  auto s = this->Open();
  Actor actor{"root@pam", "", "sudo by alice"};
  SettingChange c;
  c.key = "export.syslog.siem";
  c.before = "{\"enabled\":true}";
  c.after = "{\"enabled\":false}";
  c.action = "pveaudit:syslog-disable";
  c.resource = "/pveaudit/syslog/siem";
  c.summary = "syslog destination siem disabled";
  c.node = "pve1";
  uint64_t id = 0;
  ASSERT_TRUE(PutAuditedSetting(*s, actor, c, &id).ok());
  auto v = s->GetSetting("export.syslog.siem");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, "{\"enabled\":false}");
  auto all = this->All(*s);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id, id);
  EXPECT_EQ(all[0].user, "root@pam");
  EXPECT_EQ(all[0].action, "pveaudit:syslog-disable");
  EXPECT_EQ(all[0].resource, "/pveaudit/syslog/siem");
  EXPECT_EQ(all[0].source, "pveaudit");
  EXPECT_EQ(all[0].detail,
            "syslog destination siem disabled (sudo by alice); before: {\"enabled\":true}; "
            "after: {\"enabled\":false}");
}

TYPED_TEST(StoreContractTest, ScanIsInTimeOrderAcrossOverlappingBatches) {
  auto s = this->Open();
  std::vector<Event> a, b;
  for (int i = 0; i < 9; ++i) a.push_back(Ev(kT0 + 2 * i, "alice@pve", "vm:start", "/vms/100"));
  for (int i = 0; i < 9; ++i) b.push_back(Ev(kT0 + 2 * i + 1, "bob@pve", "vm:stop", "/vms/101"));
  ASSERT_TRUE(s->Append(&a, {}, nullptr).ok());
  ASSERT_TRUE(s->Append(&b, {}, nullptr).ok());
  auto out = this->All(*s);
  ASSERT_EQ(out.size(), 18u);
  for (size_t i = 1; i < out.size(); ++i) EXPECT_LT(out[i - 1].time_us, out[i].time_us);
}

TYPED_TEST(StoreContractTest, FiltersSelectExactlyTheMatchingEvents) {
  auto s = this->Open();
  std::vector<Event> in = {
      Ev(kT0 + 0, "alice@pve", "vm:start", "/vms/100"),
      Ev(kT0 + 10, "bob@pve", "login", "/access", Outcome::kFailure, "198.51.100.7"),
      Ev(kT0 + 20, "alice@pve", "vm:config", "/vms/1000"),
      Ev(kT0 + 30, "alice@pve", "storage:read", "/storage/local", Outcome::kSuccess, "10.0.0.5"),
      Ev(kT0 + 40, "root@pam", "ct:stop", "/vms/200", Outcome::kFailure, "192.0.2.99", "pve2"),
      Ev(kT0 + 19 * 3600, "bob@pve", "vm:start", "/vms/100"),  // 19:00
  };
  ASSERT_TRUE(s->Append(&in, {}, nullptr).ok());
  Filter f;
  f.user = "alice@pve";
  EXPECT_EQ(this->Ids(this->All(*s, f)), (std::vector<uint64_t>{1, 3, 4}));
  f = Filter();
  f.user = "nobody@pve";
  EXPECT_TRUE(this->All(*s, f).empty());
  f = Filter();
  f.action = "power";
  EXPECT_EQ(this->Ids(this->All(*s, f)), (std::vector<uint64_t>{1, 5, 6}));
  f.action = "vm";
  EXPECT_EQ(this->Ids(this->All(*s, f)), (std::vector<uint64_t>{1, 3, 6}));
  f.action = "vm:start";
  EXPECT_EQ(this->Ids(this->All(*s, f)), (std::vector<uint64_t>{1, 6}));
  f = Filter();
  f.resource = "/vms/100";
  EXPECT_EQ(this->Ids(this->All(*s, f)), (std::vector<uint64_t>{1, 6}));  // not /vms/1000
  f.resource = "/vms";
  EXPECT_EQ(this->Ids(this->All(*s, f)), (std::vector<uint64_t>{1, 3, 5, 6}));
  f = Filter();
  f.failed = true;
  EXPECT_EQ(this->Ids(this->All(*s, f)), (std::vector<uint64_t>{2, 5}));
  f.failed = false;
  EXPECT_EQ(this->Ids(this->All(*s, f)), (std::vector<uint64_t>{1, 3, 4, 6}));
  f = Filter();
  ASSERT_TRUE(ParseIpRange("192.0.2.0/24", &f.ip.emplace()));
  EXPECT_EQ(this->Ids(this->All(*s, f)), (std::vector<uint64_t>{1, 3, 5, 6}));
  f = Filter();
  f.node = "pve2";
  EXPECT_EQ(this->Ids(this->All(*s, f)), (std::vector<uint64_t>{5}));
  f = Filter();
  f.start_us = (kT0 + 10) * 1000000;
  f.end_us = (kT0 + 30) * 1000000;
  EXPECT_EQ(this->Ids(this->All(*s, f)), (std::vector<uint64_t>{2, 3}));
  f = Filter();
  f.tod_start = 18 * 3600;
  f.tod_end = 8 * 3600;  // wraps midnight: 00:00:00..00:00:40 and 19:00 match
  EXPECT_EQ(this->Ids(this->All(*s, f)), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
  f.tod_start = 18 * 3600;
  f.tod_end = 20 * 3600;
  EXPECT_EQ(this->Ids(this->All(*s, f)), (std::vector<uint64_t>{6}));
}

TYPED_TEST(StoreContractTest, FailedQueriesSeeTheSameEventsAsFullScans) {
  auto s = this->Open(8);
  std::vector<Event> in;
  for (int i = 0; i < 100; ++i)
    in.push_back(Ev(kT0 + i, i % 3 ? "alice@pve" : "bob@pve", i % 2 ? "login" : "vm:start",
                    "/vms/100", i % 7 == 0 ? Outcome::kFailure : Outcome::kSuccess));
  in[14].detail = "POST /api2/json/access/ticket?x=1";
  ASSERT_TRUE(s->Append(&in, {}, nullptr).ok());
  Filter all;
  std::vector<Event> want;
  for (const Event& e : this->All(*s, all))
    if (e.result == Outcome::kFailure && e.user == "bob@pve") want.push_back(e);
  Filter f;
  f.failed = true;
  f.user = "bob@pve";
  auto got = this->All(*s, f);
  EXPECT_EQ(got, want);
  EXPECT_EQ(got.size(), 5u);  // i = 0, 21, 42, 63, 84
}

// Blocks of several column chunks: a user filter reads only that user's
// chunks, and must still return exactly what a full scan filters out.
TYPED_TEST(StoreContractTest, UserQueriesOnMultiChunkBlocksMatchFullScans) {
  auto s = this->Open(2048);
  std::vector<Event> in;
  std::mt19937 rng(7);
  const char* users[] = {"alice@pve", "bob@pve", "carol@pve", "root@pam", "ci@pve!deploy"};
  for (int i = 0; i < 5000; ++i) {
    Event e = Ev(kT0 + i, users[rng() % 5], i % 3 ? "vm:start" : "vm:stop", "/vms/100",
                 rng() % 10 == 0 ? Outcome::kFailure : Outcome::kSuccess);
    e.detail = "GET /api2/json/x?i=" + std::to_string(i);
    in.push_back(e);
  }
  ASSERT_TRUE(s->Append(&in, {}, nullptr).ok());
  auto all = this->All(*s);
  ASSERT_EQ(all.size(), 5000u);
  for (const char* u : users) {
    Filter f;
    f.user = u;
    f.start_us = (kT0 + 1000) * 1000000;
    f.end_us = (kT0 + 4500) * 1000000;
    std::vector<Event> want;
    for (const Event& e : all)
      if (e.user == u && e.time_us >= *f.start_us && e.time_us < *f.end_us) want.push_back(e);
    EXPECT_EQ(this->All(*s, f), want) << u;
  }
  auto v = s->Verify(nullptr);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->reason;
}

TYPED_TEST(StoreContractTest, SmallAppendsFillBlocksAndReopenContinuesTheChain) {
  {
    auto s = this->Open(4);
    for (int i = 0; i < 11; ++i) {
      std::vector<Event> one = {Ev(kT0 + i, "alice@pve", "vm:start", "/vms/100")};
      ASSERT_TRUE(s->Append(&one, {}, nullptr).ok());
      EXPECT_EQ(one[0].id, uint64_t(i + 1));
    }
  }
  auto s = this->Open(4);
  std::vector<Event> more = {Ev(kT0 + 100, "bob@pve", "vm:stop", "/vms/101")};
  ASSERT_TRUE(s->Append(&more, {}, nullptr).ok());
  EXPECT_EQ(more[0].id, 12u);
  EXPECT_EQ(this->All(*s).size(), 12u);
  auto v = s->Verify(nullptr);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->reason;
  EXPECT_EQ(v->events_checked, 12u);
}

// Regression: a store object that scanned (loading its dictionary caches),
// then appended new strings, failed its next scan with "dictionary 1 has no
// entry" (the daemon scans for correlation between appends).
TYPED_TEST(StoreContractTest, ScanAfterAppendSeesNewStrings) {
  auto s = this->Open();
  std::vector<Event> a = {Ev(kT0, "alice@pve", "vm:start", "/vms/100")};
  ASSERT_TRUE(s->Append(&a, {}, nullptr).ok());
  EXPECT_EQ(this->All(*s).size(), 1u);
  std::vector<Event> b = {Ev(kT0 + 1, "zed@pve", "vm:newverb", "/vms/999")};
  b[0].status = "418";
  ASSERT_TRUE(s->Append(&b, {}, nullptr).ok());
  auto all = this->All(*s);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].user, "zed@pve");
  EXPECT_EQ(all[1].status, "418");
  Filter f;
  f.action = "vm:newverb";
  EXPECT_EQ(this->All(*s, f).size(), 1u);
}

TYPED_TEST(StoreContractTest, CursorCommitsWithItsEvents) {
  auto s = this->Open();
  SourceCursor c;
  c.key = "fp:abc";
  c.path = "/var/log/pveproxy/access.log";
  c.offset = 1234;
  c.line = 10;
  c.state = "state";
  std::vector<Event> in = {Ev(kT0, "alice@pve", "vm:start", "/vms/100")};
  ASSERT_TRUE(s->Append(&in, {RejectedLine{0, "f", 3, "bad date", "junk"}}, &c).ok());
  auto got = s->GetCursor("fp:abc");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->offset, 1234u);
  EXPECT_EQ((*got)->line, 10u);
  EXPECT_EQ((*got)->state, "state");
  auto none = s->GetCursor("fp:other");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto info = s->Info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->rejected_lines, 1u);
  EXPECT_EQ(info->events, 1u);
  auto rej = s->ListRejected(0);
  ASSERT_TRUE(rej.ok());
  ASSERT_EQ(rej->size(), 1u);
  EXPECT_EQ((*rej)[0].origin, "f");
  EXPECT_EQ((*rej)[0].line, 3u);
  EXPECT_EQ((*rej)[0].reason, "bad date");
  EXPECT_EQ((*rej)[0].text, "junk");
  EXPECT_GT((*rej)[0].stored_us, 0);
}

TYPED_TEST(StoreContractTest, ListCursorsGivesEveryCursorByKey) {
  auto s = this->Open();
  auto empty = s->ListCursors();
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->empty());
  const SourceCursor a{"fp:b", "/var/log/syslog", 7, 1, "s1"}, b{"fp:a", "/x", 9, 2, ""};
  std::vector<Event> none;
  const std::vector<SourceCursor> both = {a, b};
  ASSERT_TRUE(s->AppendBatch(&none, {}, both, nullptr).ok());
  SourceCursor a2 = a;
  a2.offset = 70;
  ASSERT_TRUE(s->Append(&none, {}, &a2).ok());
  auto got = s->ListCursors();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].key, "fp:a");
  EXPECT_EQ((*got)[0].path, "/x");
  EXPECT_EQ((*got)[0].offset, 9u);
  EXPECT_EQ((*got)[0].line, 2u);
  EXPECT_EQ((*got)[1].key, "fp:b");
  EXPECT_EQ((*got)[1].offset, 70u);
  EXPECT_EQ((*got)[1].state, "s1");
}

TYPED_TEST(StoreContractTest, ReadOnlyOpenOfMissingStoreSaysHowToCreateOne) {
  auto s = TypeParam::OpenMissingReadOnly(this->dir_.str());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kNotFound);
  EXPECT_NE(s.status().message().find("pveam access import"), std::string::npos);
}

// Every string is stored as bytes: a log line may carry invalid UTF-8 or a
// NUL byte (an attacker's user name in a failed login), and neither may be
// refused, altered or allowed to break the chain.
TYPED_TEST(StoreContractTest, StringsRoundTripByteForByte) {
  auto s = this->Open();
  std::vector<Event> in = {
      Ev(kT0, std::string("\xff\xfe@pve", 6), "login", "/access", Outcome::kFailure)};
  in[0].detail = std::string("GET /a\0b\xc3(", 11);
  in[0].session = std::string("\x80", 1);
  std::vector<Event> want = in;
  SourceCursor c;
  c.key = "fp:x:pveproxy:node\xff";
  c.path = "/var/log/\xfe";
  c.state = std::string("s\0t", 3);
  ASSERT_TRUE(
      s->Append(&in, {RejectedLine{0, "/var/log/\xfe", 1, "bad", std::string("\0\xff", 2)}}, &c)
          .ok());
  want[0].id = in[0].id;
  EXPECT_EQ(this->All(*s), want);
  Filter f;
  f.user = want[0].user;
  EXPECT_EQ(this->Ids(this->All(*s, f)), (std::vector<uint64_t>{1}));
  auto got = s->GetCursor(c.key);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->path, c.path);
  EXPECT_EQ((*got)->state, c.state);
  auto rej = s->ListRejected(0);
  ASSERT_TRUE(rej.ok() && rej->size() == 1u);
  EXPECT_EQ((*rej)[0].text, std::string("\0\xff", 2));
  auto v = s->Verify(nullptr);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->reason;
}

// Several writers (threads here, processes or hosts in a cluster), each
// with its own store object: every batch gets contiguous ids, the ids of
// all batches are 1..N without gaps, and the chain is one.
TYPED_TEST(StoreContractTest, ConcurrentWritersGetContiguousIdsAndOneChain) {
  auto first = this->Open();  // creates the store before the writers race
  constexpr int kWriters = 3, kBatches = 15, kPerBatch = 5;
  std::vector<std::vector<uint64_t>> ids(kWriters);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w)
    threads.emplace_back([&, w] {
      auto s = TypeParam::Open(this->dir_.str(), 4);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Event> in;
        for (int i = 0; i < kPerBatch; ++i)
          in.push_back(Ev(kT0 + b * 10 + i, "w" + std::to_string(w) + "@pve", "vm:start", "/"));
        ASSERT_TRUE((*s)->Append(&in, {}, nullptr).ok());
        for (int i = 1; i < kPerBatch; ++i) EXPECT_EQ(in[i].id, in[0].id + i);
        for (const Event& e : in) ids[w].push_back(e.id);
      }
    });
  for (auto& t : threads) t.join();
  std::vector<uint64_t> all;
  for (const auto& v : ids) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), size_t(kWriters * kBatches * kPerBatch));
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], i + 1);
  auto v = first->Verify(nullptr);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->reason;
  EXPECT_EQ(v->events_checked, all.size());
}

// ----------------------------------------------------------- tampering
// These edit the SQLite file directly, as an attacker with file access
// would, then expect Verify to name the first broken event.

// The physical key of a column chunk (see sqlite_store.cc).
int64_t ColKey(int64_t block, int col, size_t chunk) {
  return ((block * 32 + col) << 4) | int64_t(chunk);
}

void ReadRows(Db& db, int64_t bid, int base, std::vector<Row>* rows) {
  for (int c = 0; c < kNumColumns; ++c)
    for (size_t k = 0; k < ChunkCount(rows->size()); ++k) {
      auto q = db.Prepare("SELECT data FROM block_cols WHERE key=" +
                          std::to_string(ColKey(bid, base + c, k)));
      ASSERT_TRUE(q.ok() && q->Step());
      size_t lo = k * kChunkRows, len = std::min<size_t>(kChunkRows, rows->size() - lo);
      ASSERT_TRUE(DecodeColumnChunk(c, q->Text(0), rows->data() + lo, len).ok());
    }
}

void WriteRows(Db& db, int64_t bid, int base, const std::vector<Row>& rows) {
  for (int c = 0; c < kNumColumns; ++c) {
    auto chunks = EncodeColumn(c, rows);
    for (size_t k = 0; k < chunks.size(); ++k) {
      auto w = db.Prepare("INSERT OR REPLACE INTO block_cols(key,data) VALUES(?,?)");
      ASSERT_TRUE(w.ok());
      ASSERT_TRUE(w->Bind(1, ColKey(bid, base + c, k)).BindBlob(2, chunks[k]).Run().ok());
    }
  }
}

class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetClusterTimeZone("UTC");
    StoreOptions o;
    o.block_events = 4;
    auto s = OpenSqliteStore(dir_.str(), o);
    ASSERT_TRUE(s.ok());
    std::vector<Event> in;
    for (int i = 0; i < 10; ++i)
      in.push_back(Ev(kT0 + i, i == 5 ? "bob@pve" : "alice@pve", "vm:start", "/vms/100"));
    ASSERT_TRUE((*s)->Append(&in, {}, nullptr).ok());
    auto v = (*s)->Verify(nullptr);
    ASSERT_TRUE(v.ok() && v->intact);
  }
  VerifyReport VerifyNow() {
    StoreOptions o;
    o.read_only = true;
    o.block_events = 4;
    auto s = OpenSqliteStore(dir_.str(), o);
    EXPECT_TRUE(s.ok());
    auto v = (*s)->Verify(nullptr);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return *v;
  }
  void Sql(const std::string& sql) {
    Db db;
    ASSERT_TRUE(db.Open(dir_.str() + "/pveaudit.db", false).ok());
    Status st = db.Exec(sql);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  // Decodes block `bid`, lets `edit` change its rows (given in id order),
  // writes it back with the stored hashes untouched.
  void EditBlock(int64_t bid, const std::function<void(std::vector<Row>*)>& edit) {
    Db db;
    ASSERT_TRUE(db.Open(dir_.str() + "/pveaudit.db", false).ok());
    auto n = db.Prepare("SELECT n FROM blocks WHERE id=" + std::to_string(bid));
    ASSERT_TRUE(n.ok() && n->Step());
    std::vector<Row> rows(size_t(n->Int(0)));
    ReadRows(db, bid, 0, &rows);
    // Edit in id order, store in block order, as the store does.
    auto by_id = [](const Row& a, const Row& b) { return a.id < b.id; };
    std::sort(rows.begin(), rows.end(), by_id);
    edit(&rows);
    uint64_t first = rows.front().id, last = rows.back().id;
    std::stable_sort(rows.begin(), rows.end(), BlockOrder);
    WriteRows(db, bid, 0, rows);
    auto m = db.Prepare("UPDATE blocks SET n=?, first_id=?, last_id=? WHERE id=?");
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(m->Bind(1, int64_t(rows.size()))
                    .Bind(2, int64_t(first))
                    .Bind(3, int64_t(last))
                    .Bind(4, bid)
                    .Run()
                    .ok());
  }
  TempDir dir_;
};

TEST_F(TamperTest, EditedDictionaryValueIsDetectedAtItsFirstEvent) {
  Sql("UPDATE dict SET value='mallory@pve' WHERE kind=1 AND value='bob@pve'");
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 6u);
  EXPECT_EQ(v.reason,
            "event 6: contents do not match its chain hash (edited, or an event before it was "
            "altered)");
}

TEST_F(TamperTest, EditedFieldIsDetected) {
  EditBlock(2, [](std::vector<Row>* rows) { (*rows)[2].result = uint8_t(Outcome::kFailure); });
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 7u);
}

TEST_F(TamperTest, DeletedEventIsDetected) {
  EditBlock(2, [](std::vector<Row>* rows) { rows->erase(rows->begin() + 1); });
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 6u);
  EXPECT_EQ(v.reason, "event 6 is missing: the chain jumps from event 5 to 7 (deleted)");
}

TEST_F(TamperTest, InsertedEventIsDetected) {
  EditBlock(2, [](std::vector<Row>* rows) { rows->insert(rows->begin() + 2, (*rows)[1]); });
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 6u);
  EXPECT_EQ(v.reason, "event 6 appears again after event 6 (inserted or duplicated)");
}

TEST_F(TamperTest, TruncatedTailIsDetectedThroughTheChainHead) {
  Sql("DELETE FROM block_cols WHERE key >= " + std::to_string(ColKey(3, 0, 0)) +
      "; DELETE FROM blocks WHERE id = 3");
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 9u);
  EXPECT_EQ(v.reason,
            "the chain ends at event 8 but the chain head records 10 events (truncated: events "
            "9-10 are gone)");
}

TEST_F(TamperTest, DeletedWholeBlockInTheMiddleIsDetected) {
  Sql("DELETE FROM block_cols WHERE key >= " + std::to_string(ColKey(2, 0, 0)) + " AND key < " +
      std::to_string(ColKey(3, 0, 0)) + "; DELETE FROM blocks WHERE id = 2");
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 5u);
}

TEST_F(TamperTest, EditedFailureIndexIsDetected) {
  // Make event 6 a failure in the failure projection only: a --failed 1
  // query would show it, so verify must notice.
  StoreOptions o;
  o.block_events = 4;
  {
    auto s = OpenSqliteStore(dir_.str(), o);
    ASSERT_TRUE(s.ok());
    std::vector<Event> in = {Ev(kT0 + 100, "eve@pve", "login", "/access", Outcome::kFailure)};
    ASSERT_TRUE((*s)->Append(&in, {}, nullptr).ok());
  }
  Db db;
  ASSERT_TRUE(db.Open(dir_.str() + "/pveaudit.db", false).ok());
  auto bid = db.Prepare("SELECT id FROM blocks WHERE failures > 0");
  ASSERT_TRUE(bid.ok() && bid->Step());
  int64_t block = bid->Int(0);
  std::vector<Row> rows(1);
  ReadRows(db, block, 16, &rows);
  rows[0].dict[kDictUser] = 1;  // alice@pve instead of eve@pve
  WriteRows(db, block, 16, rows);
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_NE(v.reason.find("the index of failed events does not match the events"),
            std::string::npos)
      << v.reason;
}

TEST_F(TamperTest, EditedTimeIsDetected) {
  EditBlock(1, [](std::vector<Row>* rows) { (*rows)[0].time_us += 1000000; });
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 1u);
}

// The PostgreSQL store applies filters in C++ on rows, the SQLite store on
// dictionary ids and blocks: on the same events, every filter must select
// the same events, in the same order, and ScanKeys the same keys.
TEST(PgStoreTest, ScansMatchTheSqliteStoreOnRandomFilters) {
  SetClusterTimeZone("Europe/Berlin");
  TempDir dir;
  auto lite = SqliteBackend::Open(dir.str(), 64);
  ASSERT_TRUE(lite.ok()) << lite.status().ToString();
  auto pg = PgBackend::Open(dir.str(), 64);
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  const char* users[] = {"alice@pve", "bob@pve", "root@pam", "ci@pve!deploy", ""};
  // With look-alikes of the object ranges the server is asked for ("vm0"
  // lies in ["vm", "vm;") but is not object vm; "login:tfa" is).
  const char* actions[] = {"vm:start",  "vm:stop",       "ct:stop",       "login", "acl:modify",
                           "login:tfa", "session:renew", "access:ticket", "vm0",   "vmx:start",
                           ""};
  const char* resources[] = {"/vms/100", "/vms/1000", "/vms", "/storage/local", "/", ""};
  const char* ips[] = {"192.0.2.10", "192.0.2.200", "198.51.100.7", "2001:db8::1", ""};
  const char* nodes[] = {"pve1", "pve2", ""};
  const char* action_specs[] = {"vm",     "power",         "vm:stop",       "login",
                                "nosuch", "vm:*",          "ct:stop",       "session",
                                "guest",  "session:renew", "access:ticket", "login:*"};
  const char* ranges[] = {"192.0.2.0/24", "2001:db8::/32", "198.51.100.7", "0.0.0.0/0"};
  std::mt19937 rng(42);
  auto pick = [&](const auto& a) { return a[rng() % std::size(a)]; };
  for (int batch = 0; batch < 4; ++batch) {  // batches overlap in time
    std::vector<Event> in;
    for (int i = 0; i < 500; ++i) {
      Event e = Ev(kT0 + int64_t(rng() % (3 * 86400)), pick(users), pick(actions), pick(resources),
                   Outcome(rng() % 3), pick(ips), pick(nodes));
      e.time_us += rng() % 3 ? 0 : 1;  // some ties in seconds, a few in microseconds
      in.push_back(e);
    }
    std::vector<Event> copy = in;
    ASSERT_TRUE((*lite)->Append(&in, {}, nullptr).ok());
    ASSERT_TRUE((*pg)->Append(&copy, {}, nullptr).ok());
  }
  auto scan = [](EventStore& s, const Filter& f, uint32_t fields) {
    std::vector<Event> out;
    EXPECT_TRUE(s.Scan(f, fields, [&](Event& e) {
                   out.push_back(e);
                   return true;
                 }).ok());
    return out;
  };
  auto keys = [](EventStore& s, const Filter& f) {
    std::vector<std::string> names;
    std::vector<std::pair<uint64_t, std::string>> out;
    std::vector<std::pair<uint64_t, uint32_t>> raw;
    EXPECT_TRUE(s.ScanKeys(f, kFieldAction, &names, [&](int64_t, uint32_t k, uint64_t id) {
                   raw.emplace_back(id, k);
                   return true;
                 }).ok());
    for (auto [id, k] : raw) out.emplace_back(id, k < names.size() ? names[k] : "?");
    return out;
  };
  auto tuples = [](EventStore& s, const Filter& f) {
    std::vector<std::vector<std::string>> names;
    std::vector<std::string> out;
    EXPECT_TRUE(s.ScanKeyTuples(f, {kFieldNode, kFieldResource, kFieldAction, kFieldUser}, &names,
                                [&](int64_t t, const uint32_t* k) {
                                  // Every key is named when it is handed out.
                                  std::string row = std::to_string(t);
                                  for (size_t i = 0; i < 4; ++i)
                                    row += "|" + (k[i] < names[i].size() ? names[i][k[i]]
                                                                         : std::string("?"));
                                  out.push_back(row);
                                  return true;
                                })
                    .ok());
    std::sort(out.begin(), out.end());
    return out;
  };
  for (int round = 0; round < 200; ++round) {
    Filter f;
    if (rng() % 4 == 0) f.user = pick(users);
    if (rng() % 4 == 0) f.action = pick(action_specs);
    if (rng() % 4 == 0) f.resource = pick(resources);
    if (rng() % 4 == 0) {
      ASSERT_TRUE(ParseIpRange(pick(ranges), &f.ip.emplace()));
    }
    if (rng() % 5 == 0) f.node = pick(nodes);
    if (rng() % 4 == 0) f.failed = rng() % 2 == 0;
    if (rng() % 3 == 0) f.start_us = (kT0 + int64_t(rng() % 86400)) * 1000000;
    if (rng() % 3 == 0) f.end_us = (kT0 + 86400 + int64_t(rng() % 86400)) * 1000000;
    if (rng() % 5 == 0) {
      f.tod_start = int(rng() % 86400);
      f.tod_end = int(rng() % 86400);
    }
    if (rng() % 6 == 0) {
      // A few long windows, or more than the PostgreSQL store reads in one
      // statement (kWindowChunk = 128 in pg_store.cc).
      const int n = rng() % 2 ? 3 : 300;
      int64_t t = kT0 * 1000000;
      for (int w = 0; w < n; ++w) {
        t += int64_t(rng() % (n == 3 ? 40000 : 400)) * 1000000;
        int64_t len = int64_t(1 + rng() % (n == 3 ? 20000 : 400)) * 1000000;
        f.windows.emplace_back(t, t + len);
        t += len;
      }
    }
    const uint32_t fields = rng() % 2 ? kFieldAll : kFieldUser | kFieldIp;
    auto want = scan(**lite, f, fields);
    EXPECT_EQ(scan(**pg, f, fields), want) << "round " << round;
    if (f.windows.size() > 3) {  // a scan stopped early stops across the chunks too
      std::vector<uint64_t> first;
      EXPECT_TRUE((*pg)
                      ->Scan(f, 0,
                             [&](Event& e) {
                               first.push_back(e.id);
                               return first.size() < 5;
                             })
                      .ok());
      std::vector<uint64_t> expect;
      for (size_t i = 0; i < want.size() && i < 5; ++i) expect.push_back(want[i].id);
      EXPECT_EQ(first, expect) << "round " << round;
    }
    EXPECT_EQ(keys(**pg, f), keys(**lite, f)) << "round " << round;
    // Key tuples: the events' (time, node, resource, action, user), in any
    // order, are those of Scan; SQLite's dictionary ids and the default's
    // numbering (PostgreSQL) name the same strings.
    std::vector<std::string> expect;
    for (const Event& e : fields == kFieldAll ? want : scan(**lite, f, kFieldAll))
      expect.push_back(std::to_string(e.time_us) + "|" + e.node + "|" + e.resource + "|" +
                       e.action + "|" + e.user);
    std::sort(expect.begin(), expect.end());
    EXPECT_EQ(tuples(**lite, f), expect) << "round " << round;
    EXPECT_EQ(tuples(**pg, f), expect) << "round " << round;
  }
  SetClusterTimeZone("UTC");
}

// ------------------------------------------------- tampering (PostgreSQL)
// These edit the rows with SQL, as a superuser would (switching the
// append-only trigger off: session_replication_role = replica), then
// expect Verify to name the first broken event.

class PgTamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetClusterTimeZone("UTC");
    auto c = PgTestServer::Shared().FreshSchema();
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    conninfo_ = *c;
    StoreOptions o;
    o.writer = "pve1";
    auto s = OpenPostgresStore(conninfo_, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    std::vector<Event> in;
    for (int i = 0; i < 10; ++i)
      in.push_back(Ev(kT0 + i, i == 5 ? "bob@pve" : "alice@pve", "vm:start", "/vms/100"));
    ASSERT_TRUE((*s)->Append(&in, {}, nullptr).ok());
    auto v = (*s)->Verify(nullptr);
    ASSERT_TRUE(v.ok() && v->intact);
  }
  VerifyReport VerifyNow() {
    StoreOptions o;
    o.read_only = true;
    auto s = OpenPostgresStore(conninfo_, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    auto v = (*s)->Verify(nullptr);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return *v;
  }
  // Runs `sql` as the test server's superuser, with triggers on unless
  // `as_superuser_bypassing_triggers`; "" when it worked, else the error.
  std::string TrySql(const std::string& sql, bool bypass_triggers,
                     const std::string& conninfo = "") {
    PGconn* c = PQconnectdb((conninfo.empty() ? conninfo_ : conninfo).c_str());
    EXPECT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    const std::string text =
        (bypass_triggers ? "SET session_replication_role = replica; " : "") + sql;
    PGresult* r = PQexec(c, text.c_str());
    std::string err;
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
      err = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    return err;
  }
  void Sql(const std::string& sql) { EXPECT_EQ(TrySql(sql, true), "") << sql; }
  // Makes the login role `role` (password "pw") in `group` (pveaudit_node,
  // pveaudit_reader) and returns the conninfo that logs in with it; the
  // role is dropped in TearDown.
  std::string LoginIn(const std::string& group, const std::string& role) {
    EXPECT_EQ(TrySql("DROP ROLE IF EXISTS " + role + "; CREATE ROLE " + role +
                         " LOGIN PASSWORD 'pw' IN ROLE " + group,
                     false),
              "");
    roles_.push_back(role);
    return conninfo_ + " user=" + role + " password=pw";
  }
  void TearDown() override {
    for (const std::string& role : roles_)
      (void)TrySql("DROP OWNED BY " + role + "; DROP ROLE " + role, false);
  }
  std::vector<std::string> roles_;
  // SQL that stores a copy of event 10 as event 11, with these SQL
  // expressions for its writer and sequence number.
  static std::string CopyOfEvent10(const std::string& writer, const std::string& seq) {
    return "INSERT INTO events SELECT 11, time_us, result, origin_line, node, \"user\", ip,"
           " action, resource, status, source, session, detail, origin, digest, hash, " +
           writer + ", " + seq + " FROM events WHERE id = 10";
  }
  std::string conninfo_;
};

// Stored events cannot be changed, removed or truncated with the trigger
// on, even by the tables' owner; the store is as it was.
TEST_F(PgTamperTest, EventsAreAppendOnlyEvenForTheOwner) {
  for (const char* sql :
       {"UPDATE events SET \"user\" = convert_to('mallory@pve', 'UTF8') WHERE id = 6",
        "DELETE FROM events WHERE id = 6", "TRUNCATE events", "DELETE FROM rejected",
        // A month's partition and an edge partition, addressed directly.
        "UPDATE events_202501 SET \"user\" = convert_to('mallory@pve', 'UTF8') WHERE id = 6",
        "DELETE FROM events_202501 WHERE id = 6", "TRUNCATE events_202501",
        "DELETE FROM events_before_1970"}) {
    const std::string err = TrySql(sql, false);
    EXPECT_NE(err.find("refused: stored events are never changed or removed"), std::string::npos)
        << sql << ": " << err;
  }
  auto v = VerifyNow();
  EXPECT_TRUE(v.intact) << v.reason;
  EXPECT_EQ(v.events_checked, 10u);
}

// A store of schema 1 (one chain, no trigger, no role), made here as that
// version made it: read-only opens refuse it with what to do, the first
// writable open upgrades it to one chain per writer, keeping its events,
// ids and chain head (its chain becomes the writer '' chain); a newer
// schema than the program's is refused.
TEST(PgSchemaTest, TheFirstWritableOpenUpgradesASchema1Store) {
  SetClusterTimeZone("UTC");
  auto c = PgTestServer::Shared().FreshSchema();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  PGconn* db = PQconnectdb(c->c_str());
  ASSERT_EQ(PQstatus(db), CONNECTION_OK) << PQerrorMessage(db);
  PQsetNoticeProcessor(
      db, [](void*, const char*) {}, nullptr);
  auto exec = [&](const std::string& sql) {
    PGresult* r = PQexec(db, sql.c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r) << " in " << sql;
    PQclear(r);
  };
  // Schema 1's tables (pg_store.cc kSchema at git 5145f63).
  exec(R"sql(
CREATE TABLE meta(key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE events(id bigint PRIMARY KEY, time_us bigint NOT NULL,
  result smallint NOT NULL, origin_line bigint NOT NULL, node bytea NOT NULL,
  "user" bytea NOT NULL, ip bytea NOT NULL, action bytea NOT NULL, resource bytea NOT NULL,
  status bytea NOT NULL, source bytea NOT NULL, session bytea NOT NULL, detail bytea NOT NULL,
  origin bytea NOT NULL, digest bytea NOT NULL, hash bytea NOT NULL);
CREATE INDEX events_time ON events(time_us, id);
CREATE TABLE chain_head(id smallint PRIMARY KEY CHECK (id = 1),
  last_id bigint NOT NULL, hash bytea NOT NULL, updated_us bigint NOT NULL);
CREATE TABLE cursors(key bytea PRIMARY KEY, path bytea NOT NULL,
  "offset" bigint NOT NULL, line bigint NOT NULL, state bytea NOT NULL,
  updated_us bigint NOT NULL);
CREATE TABLE rejected(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time_us bigint NOT NULL, origin bytea NOT NULL, line bigint NOT NULL, reason bytea NOT NULL,
  text bytea NOT NULL);
CREATE TABLE settings(key text PRIMARY KEY, value text NOT NULL,
  changed_by text NOT NULL, changed_us bigint NOT NULL);
CREATE TABLE consumers(name text PRIMARY KEY, last_id bigint NOT NULL,
  updated_us bigint NOT NULL);
INSERT INTO meta VALUES('schema_version', '1');
)sql");
  // Ten events chained as schema 1 chained them: H(id) over the ids.
  ChainHasher hasher;
  Hash256 h{};
  auto hex = [](const std::string& bytes) {
    static const char* d = "0123456789abcdef";
    std::string out = "'\\x";
    for (unsigned char b : bytes) out += {d[b >> 4], d[b & 15]};
    return out + "'::bytea";
  };
  auto bytes = [](const Hash256& x) { return std::string(x.begin(), x.end()); };
  std::vector<Event> events;
  for (int i = 0; i < 10; ++i) {
    Event e = Ev(kT0 + i, i == 5 ? "bob@pve" : "alice@pve", "vm:start", "/vms/100");
    e.id = uint64_t(i + 1);
    const Hash256 d = hasher.Digest(e);
    h = hasher.Link(h, e.id, d);
    std::string row = std::to_string(e.id) + ", " + std::to_string(e.time_us) + ", " +
                      std::to_string(int(e.result)) + ", " + std::to_string(e.origin_line);
    for (const std::string* f : {&e.node, &e.user, &e.ip, &e.action, &e.resource, &e.status,
                                 &e.source, &e.session, &e.detail, &e.origin})
      row += ", " + hex(*f);
    exec("INSERT INTO events VALUES(" + row + ", " + hex(bytes(d)) + ", " + hex(bytes(h)) + ")");
    events.push_back(std::move(e));
  }
  exec("INSERT INTO chain_head VALUES(1, 10, " + hex(bytes(h)) + ", 0)");
  PQfinish(db);
  const std::string v1_head = HexHash(h);

  StoreOptions ro;
  ro.read_only = true;
  auto r = OpenPostgresStore(*c, ro);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("has store schema 1, older than this pveaudit's (6)"),
            std::string::npos)
      << r.status().message();

  StoreOptions w;
  w.writer = "pve1";
  {
    auto s = OpenPostgresStore(*c, w);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    auto v = (*s)->Verify(nullptr);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_TRUE(v->intact) << v->reason;
    EXPECT_EQ(v->head_hash, v1_head) << "the old chain, unchanged";
    ASSERT_EQ(v->chains.size(), 1u);
    EXPECT_EQ(v->chains[0].writer, "");
    // A new writer's events start a chain of their own.
    std::vector<Event> more = {Ev(kT0 + 20, "carol@pve", "vm:stop", "/vms/101")};
    ASSERT_TRUE((*s)->Append(&more, {}, nullptr).ok());
    EXPECT_EQ(more[0].id, 11u);
    v = (*s)->Verify(nullptr);
    ASSERT_TRUE(v.ok() && v->intact) << v->reason;
    ASSERT_EQ(v->chains.size(), 2u);
    EXPECT_EQ(v->chains[1].writer, "pve1");
    EXPECT_EQ(v->chains[1].events, 1u);
    auto info = (*s)->Info();
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->head_hash, v->head_hash);
    EXPECT_NE(info->head_hash, v1_head);
  }
  // Events and the trigger as a store made at schema 3 has them.
  {
    auto s = OpenPostgresStore(*c, ro);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    std::vector<Event> got;
    ASSERT_TRUE((*s)->ScanAfter(0, 0, kFieldAll,
                                [&](Event& e) {
                                  got.push_back(e);
                                  return true;
                                })
                    .ok());
    ASSERT_EQ(got.size(), 11u);
    for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(got[i], events[i]) << i;
  }
  db = PQconnectdb(c->c_str());
  // The indexes for the page's queries (schemas 4 and 6).
  PGresult* idx = PQexec(db,
                         "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes"
                         " WHERE tablename = 'events' AND schemaname = current_schema()");
  ASSERT_EQ(PQresultStatus(idx), PGRES_TUPLES_OK) << PQresultErrorMessage(idx);
  EXPECT_EQ(std::string(PQgetvalue(idx, 0, 0)),
            "events_failed,events_login_time,events_pkey,events_time,events_user_time,"
            "events_writer_seq");
  PQclear(idx);
  // Schema 5: the old events moved into month partitions.
  PGresult* part = PQexec(db,
                          "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i"
                          " JOIN pg_class c ON c.oid = i.inhrelid"
                          " WHERE i.inhparent = 'events'::regclass");
  ASSERT_EQ(PQresultStatus(part), PGRES_TUPLES_OK) << PQresultErrorMessage(part);
  EXPECT_EQ(std::string(PQgetvalue(part, 0, 0)),
            "events_202501,events_before_1970,events_from_10000");
  PQclear(part);
  PGresult* del = PQexec(db, "DELETE FROM events WHERE id = 0");
  EXPECT_NE(std::string(PQresultErrorMessage(del)).find("refused"), std::string::npos);
  PQclear(del);
  PQclear(PQexec(db, "UPDATE meta SET value = '99' WHERE key = 'schema_version'"));
  PQfinish(db);
  auto newer = OpenPostgresStore(*c, w);
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.status().message().find("has store schema 99, newer than this pveaudit's (6)"),
            std::string::npos)
      << newer.status().message();
}

// The role a node connects with (a login role in pveaudit_node) appends,
// reads and keeps its cursors and settings, but cannot UPDATE, DELETE or
// TRUNCATE events, nor switch the trigger off.
TEST_F(PgTamperTest, TheNodeRoleAppendsButCannotRewriteHistory) {
  const std::string node = LoginIn("pveaudit_node", "pveaudit_t_node" + std::to_string(getpid()));
  {
    StoreOptions o;
    o.writer = "pve2";
    auto s = OpenPostgresStore(node, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    // The second event is of a month no partition exists for yet: the node
    // role, which may not create tables, makes it through
    // pveaudit_month_partition.
    std::vector<Event> more = {Ev(kT0 + 20, "carol@pve", "vm:stop", "/vms/101"),
                               Ev(1939248000, "carol@pve", "vm:stop", "/vms/101")};
    SourceCursor cur{"fp:node-test", "/var/log/pveproxy/access.log", 100, 1, ""};
    RejectedLine bad{0, "access.log", 2, "not an access.log line", "garbage"};
    ASSERT_TRUE((*s)->Append(&more, {bad}, &cur).ok());
    EXPECT_EQ(more[0].id, 11u);
    ASSERT_TRUE((*s)->PutSetting("test.key", "v", "node").ok());
    ASSERT_TRUE((*s)->PutConsumer("alerts", 11).ok());
    cur.offset = 200;
    std::vector<Event> none;
    ASSERT_TRUE((*s)->Append(&none, {}, &cur).ok());
    auto v = (*s)->Verify(nullptr);
    ASSERT_TRUE(v.ok() && v->intact);
  }
  for (const char* sql :
       {"UPDATE events SET \"user\" = convert_to('mallory@pve', 'UTF8') WHERE id = 6",
        "DELETE FROM events WHERE id = 6", "TRUNCATE events", "DELETE FROM rejected",
        "ALTER TABLE events DISABLE TRIGGER events_append_only",
        "DROP TRIGGER events_append_only ON events",
        "UPDATE events_203106 SET \"user\" = convert_to('mallory@pve', 'UTF8')",
        "DELETE FROM events_203106", "ALTER TABLE events DETACH PARTITION events_203106",
        "CREATE TABLE events_209901 (LIKE events)"}) {
    const std::string err = TrySql(sql, false, node);
    EXPECT_TRUE(err.find("permission denied") != std::string::npos ||
                err.find("must be owner") != std::string::npos)
        << sql << ": " << err;
  }
  // session_replication_role is for superusers only.
  EXPECT_NE(TrySql("DELETE FROM events WHERE id = 6", true, node), "");
  auto v = VerifyNow();
  EXPECT_TRUE(v.intact) << v.reason;
  EXPECT_EQ(v.events_checked, 12u);
}

// The role an auditor's or the web UI's read-only login gets
// (pveaudit_reader): every read works, every write is refused, by the
// grants (so the append-only trigger is not what stops it).
TEST_F(PgTamperTest, TheReaderRoleReadsEverythingAndWritesNothing) {
  const std::string reader =
      LoginIn("pveaudit_reader", "pveaudit_t_reader" + std::to_string(getpid()));
  {
    StoreOptions ro;
    ro.read_only = true;
    auto s = OpenPostgresStore(reader, ro);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    size_t n = 0;
    ASSERT_TRUE((*s)->Scan(Filter{}, kFieldAll,
                           [&](Event&) {
                             ++n;
                             return true;
                           })
                    .ok());
    EXPECT_EQ(n, 10u);
    auto v = (*s)->Verify(nullptr);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_TRUE(v->intact) << v->reason;
    auto info = (*s)->Info();
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->events, 10u);
    EXPECT_TRUE((*s)->GetSetting("daemon.status").ok());
    EXPECT_TRUE((*s)->ListConsumers().ok());
    EXPECT_TRUE((*s)->ListCursors().ok());
    EXPECT_TRUE((*s)->ListRejected(0).ok());
  }
  {
    StoreOptions w;
    w.writer = "pve9";
    auto s = OpenPostgresStore(reader, w);
    if (s.ok()) {
      std::vector<Event> more = {Ev(kT0 + 20, "carol@pve", "vm:stop", "/vms/101")};
      Status st = (*s)->Append(&more, {}, nullptr);
      EXPECT_FALSE(st.ok());
      EXPECT_NE(st.message().find("permission denied"), std::string::npos) << st.message();
    } else {
      EXPECT_NE(s.status().message().find("permission denied"), std::string::npos)
          << s.status().message();
    }
  }
  for (const std::string& sql :
       {CopyOfEvent10("writer", "11"),
        std::string("INSERT INTO settings VALUES ('k', 'v', 'r', 0)"),
        std::string("UPDATE consumers SET last_id = 0"),
        std::string("UPDATE events SET \"user\" = '\\x'::bytea WHERE id = 6"),
        std::string("SELECT pveaudit_month_partition(0)")}) {
    const std::string err = TrySql(sql, false, reader);
    EXPECT_NE(err.find("permission denied"), std::string::npos) << sql << ": " << err;
  }
  auto v = VerifyNow();
  EXPECT_TRUE(v.intact) << v.reason;
  EXPECT_EQ(v.events_checked, 10u);
}

TEST_F(PgTamperTest, EditedFieldIsDetected) {
  Sql("UPDATE events SET \"user\" = convert_to('mallory@pve', 'UTF8') WHERE id = 6");
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 6u);
  EXPECT_EQ(v.reason,
            "node pve1: event 6 (#6): contents do not match its chain hash (edited, or an event "
            "before it was altered)");
}

TEST_F(PgTamperTest, EditedTimeIsDetected) {
  Sql("UPDATE events SET time_us = time_us + 1000000 WHERE id = 1");
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 1u);
}

TEST_F(PgTamperTest, EditedDigestIsDetected) {
  Sql("UPDATE events SET digest = sha256(digest) WHERE id = 3");
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 3u);
  EXPECT_EQ(v.reason,
            "node pve1: event 3 (#3): its stored digest does not match its contents (edited)");
}

TEST_F(PgTamperTest, DeletedEventIsDetected) {
  Sql("DELETE FROM events WHERE id = 6");
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 7u);
  EXPECT_EQ(v.reason, "node pve1: #6 is missing: the chain jumps from #5 to #7, event 7 (deleted)");
}

TEST_F(PgTamperTest, TruncatedTailIsDetectedThroughTheChainHead) {
  Sql("DELETE FROM events WHERE id >= 9");
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 0u);
  EXPECT_EQ(v.reason,
            "node pve1: the chain ends at #8 but its chain head records #10 (truncated: #9-#10 "
            "are gone)");
}

TEST_F(PgTamperTest, EventBeyondTheChainHeadIsDetected) {
  Sql(CopyOfEvent10("writer", "11"));
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 11u);
  EXPECT_EQ(v.reason,
            "node pve1: event 11 (#11) lies beyond its chain head, which ends at #10 (inserted)");
}

// Two nodes append in turn: ids interleave, each node's events form a
// chain of their own, and a break names the node and the event.
TEST_F(PgTamperTest, EachNodeHasItsOwnChainAndABreakNamesTheNode) {
  StoreOptions o;
  o.writer = "pve2";
  {
    auto s = OpenPostgresStore(conninfo_, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    for (int i = 0; i < 3; ++i) {
      std::vector<Event> ev = {Ev(kT0 + 100 + i, "carol@pve", "vm:stop", "/vms/101")};
      ASSERT_TRUE((*s)->Append(&ev, {}, nullptr).ok());
      EXPECT_EQ(ev[0].id, 11u + 2 * i);
      o.writer = "pve1";  // from another connection, as another node
      auto p1 = OpenPostgresStore(conninfo_, o);
      ASSERT_TRUE(p1.ok());
      std::vector<Event> ev1 = {Ev(kT0 + 200 + i, "dave@pve", "vm:start", "/vms/102")};
      ASSERT_TRUE((*p1)->Append(&ev1, {}, nullptr).ok());
      EXPECT_EQ(ev1[0].id, 12u + 2 * i);
    }
  }
  auto v = VerifyNow();
  ASSERT_TRUE(v.intact) << v.reason;
  EXPECT_EQ(v.events_checked, 16u);
  ASSERT_EQ(v.chains.size(), 2u);
  EXPECT_EQ(v.chains[0].writer, "pve1");
  EXPECT_EQ(v.chains[0].events, 13u);
  EXPECT_EQ(v.chains[1].writer, "pve2");
  EXPECT_EQ(v.chains[1].events, 3u);
  // Event 13 is pve2's second.
  Sql("UPDATE events SET \"user\" = convert_to('mallory@pve', 'UTF8') WHERE id = 13");
  v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 13u);
  EXPECT_EQ(v.reason,
            "node pve2: event 13 (#2): contents do not match its chain hash (edited, or an event "
            "before it was altered)");
}

// A row stored again (a retried batch's row: same node, number and time)
// is refused by the unique (writer, seq, time_us) index, even to a
// superuser. One that takes #5 of the chain again at another time (months
// are partitions, so the index must hold the time) is a duplicate that
// verify names.
TEST_F(PgTamperTest, AnEventUnderAnotherNodeOrSequenceTakenTwiceIsDetected) {
  EXPECT_NE(TrySql(CopyOfEvent10("writer", "seq"), true)
                .find("duplicate key value violates unique constraint"),
            std::string::npos);
  Sql(CopyOfEvent10("writer", "5"));
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 11u);
  EXPECT_EQ(v.reason, "node pve1: event 11 (#5) appears again after #5 (inserted or duplicated)");
}

// A row copied under another node's name has no chain to belong to.
TEST_F(PgTamperTest, AnEventUnderAnotherNodeIsDetected) {
  Sql(CopyOfEvent10("convert_to('pve9', 'UTF8')", "1"));
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 11u);
  EXPECT_EQ(v.reason,
            "node pve9: event 11 belongs to no chain: its node has no chain head (inserted)");
}

TEST_F(PgTamperTest, RewrittenChainHeadIsDetected) {
  Sql("UPDATE chain_heads SET hash = sha256(hash)");
  auto v = VerifyNow();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_id, 10u);
  EXPECT_EQ(v.reason,
            "node pve1: the recomputed chain head does not match the recorded chain head (events "
            "were rewritten)");
}

// ------------------------------------------------- month partitions (PostgreSQL)

class PgPartitionTest : public PgTamperTest {
 protected:
  // The table that holds each event, by id.
  std::map<uint64_t, std::string> Holders() {
    std::map<uint64_t, std::string> out;
    PGconn* c = PQconnectdb(conninfo_.c_str());
    EXPECT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    PGresult* r = PQexec(c, "SELECT id, tableoid::regclass::text FROM events ORDER BY id");
    EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
    for (int i = 0; i < PQntuples(r); ++i)
      out[std::stoull(PQgetvalue(r, i, 0))] = PQgetvalue(r, i, 1);
    PQclear(r);
    PQfinish(c);
    return out;
  }
  // The first column of the first row of `sql`, as text.
  std::string One(const std::string& sql) {
    PGconn* c = PQconnectdb(conninfo_.c_str());
    EXPECT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    PGresult* r = PQexec(c, sql.c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
    std::string v = PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    PQfinish(c);
    return v;
  }
  std::unique_ptr<EventStore> Writer() {
    StoreOptions o;
    o.writer = "pve1";
    auto s = OpenPostgresStore(conninfo_, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  static Event At(int64_t us) {
    Event e = Ev(0, "erin@pve", "vm:start", "/vms/100");
    e.time_us = us;
    return e;
  }
};

// Events land in the partition of their UTC month, made as they come: the
// last microsecond of a month stays in it (9999-12-31T23:59:59.999999Z
// too, which seconds as a double round into year 10000), times before 1970
// and from year 10000 have a partition each, and everything reads back in
// time order and verifies.
TEST_F(PgPartitionTest, EventsLandInThePartitionOfTheirMonth) {
  const int64_t feb = 1738368000LL * 1000000;  // 2025-02-01T00:00:00Z
  std::vector<Event> in = {At(feb - 1),
                           At(feb),
                           At(1741996800LL * 1000000),
                           At(-5000000),
                           At(253402300799999999),
                           At(253402300800000000)};
  auto s = Writer();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Append(&in, {}, nullptr).ok());
  auto held = Holders();
  EXPECT_EQ(held[1], "events_202501");  // SetUp's ten, January 2025
  EXPECT_EQ(held[11], "events_202501");
  EXPECT_EQ(held[12], "events_202502");
  EXPECT_EQ(held[13], "events_202503");
  EXPECT_EQ(held[14], "events_before_1970");
  EXPECT_EQ(held[15], "events_999912");
  EXPECT_EQ(held[16], "events_from_10000");
  // The store asks for a month by its first microsecond; asked with an
  // event's own time, the function gives the same month.
  EXPECT_EQ(One("SELECT pveaudit_month_partition(253402300799999999)"), "events_999912");
  EXPECT_EQ(One("SELECT pveaudit_month_partition(" + std::to_string(feb - 1) + ")"),
            "events_202501");
  std::vector<uint64_t> order;
  ASSERT_TRUE(s->Scan(Filter{}, 0, [&](Event& e) {
                 order.push_back(e.id);
                 return true;
               }).ok());
  ASSERT_EQ(order.size(), 16u);
  EXPECT_EQ(order.front(), 14u);  // 1969 first
  EXPECT_EQ(order[11], 11u);
  EXPECT_EQ(order[12], 12u);
  EXPECT_EQ(order[13], 13u);
  EXPECT_EQ(order[14], 15u);
  EXPECT_EQ(order[15], 16u);
  Filter february;
  february.start_us = feb;
  february.end_us = feb + 28LL * 86400 * 1000000;
  std::vector<uint64_t> got;
  ASSERT_TRUE(s->Scan(february, 0, [&](Event& e) {
                 got.push_back(e.id);
                 return true;
               }).ok());
  EXPECT_EQ(got, std::vector<uint64_t>{12});
  auto info = s->Info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->events, 16u);
  EXPECT_GT(info->bytes_on_disk, 8 * 8192u) << "the partitions' size is counted";
  auto v = VerifyNow();
  EXPECT_TRUE(v.intact) << v.reason;
  EXPECT_EQ(v.events_checked, 16u);
}

// pveaudit_month_partition runs as the tables' owner: a caller's temporary
// table named like a month (temporary tables come first in a session's
// search_path) must not stand in for the month's partition.
TEST_F(PgPartitionTest, ACallersTemporaryTableDoesNotStandInForAMonth) {
  const std::string t = std::to_string(1941840000LL * 1000000);  // 2031-07-15
  EXPECT_EQ(
      One("CREATE TEMP TABLE events_203107 (x int); SELECT pveaudit_month_partition(" + t + ")"),
      "events_203107");
  EXPECT_EQ(One("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass AND"
                " inhrelid::regclass::text = 'events_203107'"),
            "1");
}

// A month detached from the table (as retention will detach whole months)
// keeps its name: a late event of that month gets a partition of its own,
// events_202501_1, whether this store had seen the month (its COPY is
// refused, and it asks for the month again) or not, and appends go on.
TEST_F(PgPartitionTest, ALateEventOfADetachedMonthGetsAPartitionOfItsOwn) {
  auto seen = Writer();  // makes and remembers January's partition
  std::vector<Event> first = {Ev(kT0 + 100, "erin@pve", "vm:start", "/vms/100")};
  ASSERT_TRUE(seen && seen->Append(&first, {}, nullptr).ok());
  Sql("ALTER TABLE events DETACH PARTITION events_202501");
  std::vector<Event> late = {Ev(kT0 + 200, "erin@pve", "vm:stop", "/vms/100")};
  ASSERT_TRUE(seen->Append(&late, {}, nullptr).ok());
  auto fresh = Writer();
  std::vector<Event> later = {Ev(kT0 + 300, "erin@pve", "vm:stop", "/vms/100")};
  ASSERT_TRUE(fresh && fresh->Append(&later, {}, nullptr).ok());
  auto held = Holders();
  EXPECT_EQ(held.count(1), 0u) << "January is detached";
  EXPECT_EQ(held[late[0].id], "events_202501_1");
  EXPECT_EQ(held[later[0].id], "events_202501_1");
}

}  // namespace
}  // namespace pveaudit

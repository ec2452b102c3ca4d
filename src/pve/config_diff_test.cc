// config_diff_test.cc: DiffPveConfig on fixture pairs (tests/data/pve/diff:
// every change type), the persisted snapshot (round trip, no secrets) and
// AttributeChanges against a real SQLite store in a temp dir.
#include "pve/config_diff.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

#include "core/actions.h"
#include "store/event_store.h"

namespace pveaudit::pve {
namespace {

const std::string kDiff = std::string(PVEAUDIT_TESTDATA) + "/pve/diff";
constexpr int64_t kT = 1767225600'000000;  // 2026-01-01T00:00:00Z

PveConfig Load(const std::string& dir) {
  auto c = LoadPveConfig(dir);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  PveConfig cfg = c.ok() ? std::move(*c) : PveConfig{};
  cfg.dir = "/etc/pve";  // origins as in production
  return cfg;
}

struct Row {
  std::string action, resource, origin, detail;
  bool operator==(const Row&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Row& r) {
  return os << "{" << r.action << " " << r.resource << " " << r.origin << " " << r.detail << "}";
}
std::vector<Row> Rows(const std::vector<Event>& events) {
  std::vector<Row> rows;
  for (const Event& e : events) rows.push_back({e.action, e.resource, e.origin, e.detail});
  return rows;
}

TEST(DiffPveConfigTest, EveryChangeTypeOfTheFixturePair) {
  PveConfig before = Load(kDiff + "/before"), after = Load(kDiff + "/after");
  std::vector<Event> events = DiffPveConfig(before, after, kT, "pve1");
  std::vector<Row> want = {
      {"user:modify", "/access/users/alice@pve", "/etc/pve/user.cfg",
       R"(modified: user alice@pve: enable 1 -> 0, expire never -> 2026-01-01T00:00:00Z, email alice@example.com -> alice@corp.example, comment "" -> "On call", groups ops -> admins,ops)"},
      {"user:modify", "/access/users/bob@pve", "/etc/pve/user.cfg",
       R"(modified: user bob@pve: groups ops -> "", keys x -> x!oath)"},
      {"user:delete", "/access/users/carol@pve", "/etc/pve/user.cfg",
       R"(deleted: user carol@pve enable=1 expire=never groups=legacy)"},
      {"user:modify", "/access/users/dave@pve", "/etc/pve/user.cfg",
       R"(modified: user dave@pve: keys legacy(1) -> legacy(2))"},
      {"user:create", "/access/users/erin@pve", "/etc/pve/user.cfg",
       R"(created: user erin@pve enable=1 expire=never groups=ops email=erin@example.com)"},
      {"token:modify", "/access/users/alice@pve", "/etc/pve/user.cfg",
       R"(modified: token alice@pve!ci: expire never -> 2026-01-01T00:00:00Z, privsep 1 -> 0)"},
      {"token:create", "/access/users/alice@pve", "/etc/pve/user.cfg",
       R"(created: token alice@pve!new expire=never privsep=1)"},
      {"token:delete", "/access/users/bob@pve", "/etc/pve/user.cfg",
       R"(deleted: token bob@pve!old expire=never privsep=1)"},
      {"group:create", "/access/groups/admins", "/etc/pve/user.cfg",
       R"(created: group admins members=alice@pve)"},
      {"group:delete", "/access/groups/legacy", "/etc/pve/user.cfg",
       R"(deleted: group legacy members=carol@pve)"},
      {"group:modify", "/access/groups/ops", "/etc/pve/user.cfg",
       R"(modified: group ops: members alice@pve,bob@pve -> alice@pve,erin@pve)"},
      {"role:create", "/access", "/etc/pve/user.cfg", R"(created: role Auditor2 privs=Sys.Audit)"},
      {"role:delete", "/access", "/etc/pve/user.cfg", R"(deleted: role Gone privs=VM.Audit)"},
      {"role:modify", "/access", "/etc/pve/user.cfg",
       R"(modified: role VMOperator: privs VM.Audit,VM.PowerMgmt -> VM.Audit,VM.Console)"},
      {"pool:modify", "/pool/dev", "/etc/pve/user.cfg",
       R"(modified: pool dev: vms 100,101 -> 100,102, storages local -> local,nfs)"},
      {"pool:delete", "/pool/old", "/etc/pve/user.cfg", R"(deleted: pool old vms=200 storages="")"},
      {"pool:create", "/pool/web", "/etc/pve/user.cfg", R"(created: pool web vms="" storages="")"},
      {"acl:modify", "/", "/etc/pve/user.cfg",
       R"(removed: acl path=/ principal=bob@pve role=Gone propagate=1)"},
      {"acl:modify", "/storage/local", "/etc/pve/user.cfg",
       R"(removed: acl path=/storage/local principal=carol@pve role=PVEDatastoreUser propagate=1)"},
      {"acl:modify", "/vms/100", "/etc/pve/user.cfg",
       R"(modified: acl path=/vms/100 principal=@ops role=PVEVMUser: propagate 1 -> 0)"},
      {"acl:modify", "/vms/100", "/etc/pve/user.cfg",
       R"(added: acl path=/vms/100 principal=erin@pve role=PVEVMAdmin propagate=1)"},
      {"tfa:add", "/access/users/alice@pve", "/etc/pve/priv/tfa.cfg",
       R"(added: tfa user=alice@pve type=recovery id=recovery enabled=1)"},
      {"tfa:modify", "/access/users/alice@pve", "/etc/pve/priv/tfa.cfg",
       R"(modified: tfa user=alice@pve type=totp id=totp-1: enabled 1 -> 0, description phone -> "old phone")"},
      {"tfa:remove", "/access/users/alice@pve", "/etc/pve/priv/tfa.cfg",
       R"(removed: tfa user=alice@pve type=webauthn id=wa-1 description=key enabled=1)"},
      {"tfa:lock", "/access/users/bob@pve", "/etc/pve/priv/tfa.cfg", R"(locked: tfa user=bob@pve)"},
      {"tfa:add", "/access/users/erin@pve", "/etc/pve/priv/tfa.cfg",
       R"(added: tfa user=erin@pve type=totp id=totp-9 enabled=1)"},
      {"realm:modify", "/access/realm/corp", "/etc/pve/domains.cfg",
       R"(modified: realm corp: default 0 -> 1, comment Corp -> "Corporate LDAP")"},
      {"tfa:remove", "/access/realm/corp", "/etc/pve/domains.cfg",
       R"(removed: realm tfa realm=corp type=oath)"},
      {"realm:delete", "/access/realm/old", "/etc/pve/domains.cfg",
       R"(deleted: realm old type=ad default=0)"},
      {"tfa:add", "/access/realm/pam", "/etc/pve/domains.cfg",
       R"(added: realm tfa realm=pam type=oath)"},
      {"realm:modify", "/access/realm/pve", "/etc/pve/domains.cfg",
       R"(modified: realm pve: default 1 -> 0)"},
      {"realm:create", "/access/realm/sso", "/etc/pve/domains.cfg",
       R"(created: realm sso type=openid default=0)"}};
  EXPECT_EQ(Rows(events), want);
  for (const Event& e : events) {
    EXPECT_EQ(e.time_us, kT);
    EXPECT_EQ(e.node, "pve1");
    EXPECT_EQ(e.result, Outcome::kSuccess);
    EXPECT_EQ(e.status, "changed");
    EXPECT_EQ(e.source, "pve-config");
    EXPECT_EQ(e.user, "");
    EXPECT_EQ(e.ip, "");
    EXPECT_EQ(e.id, 0u);
    // Every produced action is one the taxonomy knows as an object.
    EXPECT_TRUE(IsKnownActionSpec(e.action.substr(0, e.action.find(':')))) << e.action;
  }
}

TEST(DiffPveConfigTest, ReverseDirectionMirrorsCreatesAndDeletes) {
  PveConfig before = Load(kDiff + "/before"), after = Load(kDiff + "/after");
  std::vector<Event> events = DiffPveConfig(after, before, kT, "pve1");
  std::map<std::string, int> count;
  for (const Event& e : events) ++count[e.action];
  EXPECT_EQ(count["user:create"], 1);  // carol back
  EXPECT_EQ(count["user:delete"], 1);  // erin gone
  EXPECT_EQ(count["realm:create"], 1);
  EXPECT_EQ(count["realm:delete"], 1);
  EXPECT_EQ(count["tfa:unlock"], 1);
  EXPECT_EQ(Rows({events.front()}),
            (std::vector<Row>{{"user:modify", "/access/users/alice@pve", "/etc/pve/user.cfg",
                               "modified: user alice@pve: enable 0 -> 1, expire "
                               "2026-01-01T00:00:00Z -> never, email alice@corp.example -> "
                               "alice@example.com, comment \"On call\" -> \"\", groups "
                               "admins,ops -> ops"}}));
}

TEST(DiffPveConfigTest, IdenticalConfigsAndSnapshotsGiveNoEvents) {
  for (const std::string& dir :
       {kDiff + "/before", kDiff + "/after", std::string(PVEAUDIT_TESTDATA) + "/pve/cluster"}) {
    PveConfig cfg = Load(dir);
    EXPECT_TRUE(DiffPveConfig(cfg, cfg, kT, "pve1").empty()) << dir;
    // A snapshot read back compares equal to the files it was taken from,
    // in both directions (built-in roles, keys summaries, member order).
    auto snap = ParseDiffSnapshot(SerializeDiffSnapshot(cfg, kT));
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    EXPECT_EQ(snap->taken_us, kT);
    EXPECT_EQ(snap->config.dir, "/etc/pve");
    EXPECT_EQ(Rows(DiffPveConfig(snap->config, cfg, kT, "pve1")), std::vector<Row>{}) << dir;
    EXPECT_EQ(Rows(DiffPveConfig(cfg, snap->config, kT, "pve1")), std::vector<Row>{}) << dir;
  }
}

TEST(DiffPveConfigTest, DiffAgainstASnapshotEqualsDiffAgainstTheFiles) {
  PveConfig before = Load(kDiff + "/before"), after = Load(kDiff + "/after");
  auto snap = ParseDiffSnapshot(SerializeDiffSnapshot(before, kT));
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(Rows(DiffPveConfig(snap->config, after, kT, "pve1")),
            Rows(DiffPveConfig(before, after, kT, "pve1")));
}

TEST(DiffSnapshotTest, CanonicalAndFreeOfSecrets) {
  PveConfig cfg = Load(kDiff + "/after");
  std::string text = SerializeDiffSnapshot(cfg, kT);
  EXPECT_EQ(text, SerializeDiffSnapshot(Load(kDiff + "/after"), kT));
  auto snap = ParseDiffSnapshot(text);
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(SerializeDiffSnapshot(snap->config, kT), text);
  // TOTP secrets, recovery codes, yubico key ids and legacy keys stay out.
  for (const char* secret : {"SECRETSECRETSECR", "OTHERSECRETOTHER", "JBSWY3DPEHPK3PXP",
                             "cccccckeyid1", "aaaa", "otpauth"})
    EXPECT_EQ(text.find(secret), std::string::npos) << secret;
  EXPECT_NE(text.find("\"legacy(2)\""), std::string::npos);
  // Built-in roles are not stored.
  EXPECT_EQ(text.find("PVEVMAdmin\":"), std::string::npos);
}

TEST(DiffSnapshotTest, RejectsWhatItDidNotWrite) {
  for (const char* bad : {"", "{}", "[1]", "{\"version\":2}", "not json"}) {
    auto s = ParseDiffSnapshot(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), Status::Code::kCorruption) << bad;
  }
  std::string text = SerializeDiffSnapshot(Load(kDiff + "/before"), kT);
  std::string broken = text;
  broken.replace(broken.find("\"type\":\"user\""), 13, "\"type\":\"alien\"");
  EXPECT_FALSE(ParseDiffSnapshot(broken).ok());
}

TEST(KeysSummaryTest, KeepsMarkersHidesSecrets) {
  EXPECT_EQ(KeysSummary(""), "");
  EXPECT_EQ(KeysSummary("x"), "x");
  EXPECT_EQ(KeysSummary("x!oath"), "x!oath");
  EXPECT_EQ(KeysSummary("JBSWY3DPEHPK3PXP"), "legacy(1)");
  EXPECT_EQ(KeysSummary("ccccccabcdef,ccccccfedcba"), "legacy(2)");
  EXPECT_EQ(KeysSummary("x!a=b"), "legacy(1)");
  EXPECT_EQ(KeysSummary(KeysSummary("AAAA BBBB")), "legacy(2)");
}

TEST(ChangeIdTest, StableAndDistinct) {
  EXPECT_EQ(ChangeId("a", "b"), ChangeId("a", "b"));
  EXPECT_EQ(ChangeId("a", "b").size(), 16u);
  EXPECT_NE(ChangeId("a", "b"), ChangeId("b", "a"));
  EXPECT_NE(ChangeId("ab", ""), ChangeId("a", "b"));
}

// ---- attribution ----

// A real SQLite store in a temp dir (project rule: real parts, not fakes).
// Request() appends an access.log-like request; reads() counts the read
// transactions the store ran (each Scan is exactly one "BEGIN", appends
// use "BEGIN IMMEDIATE"), observed through an SQLite trace hook that
// OpenSqliteStore's connection gets via sqlite3_auto_extension.
int g_read_txns = 0;

int TraceStmt(unsigned, void*, void*, void* sql) {
  if (std::strcmp(static_cast<const char*>(sql), "BEGIN") == 0) ++g_read_txns;
  return 0;
}

int InstallTrace(sqlite3* db, const char**, const sqlite3_api_routines*) {
  sqlite3_trace_v2(db, SQLITE_TRACE_STMT, TraceStmt, nullptr);
  return SQLITE_OK;
}

class TestStore {
 public:
  TestStore() {
    // void (*)(void) is the generic function pointer type sqlite expects.
    sqlite3_auto_extension(reinterpret_cast<void (*)(void)>(&InstallTrace));
    char tmpl[] = "/tmp/pveaudit-diff-XXXXXX";
    EXPECT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto s = OpenSqliteStore(dir_, StoreOptions{});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (s.ok()) store_ = std::move(s.value());
    reads_at_open_ = g_read_txns;
  }
  ~TestStore() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  operator EventStore&() { return *store_; }

  void Append(std::vector<Event>* events) { ASSERT_TRUE(store_->Append(events, {}, nullptr).ok()); }

  // Stores an access.log-like request `method path` (mapped by the taxonomy).
  uint64_t Request(int64_t time_us, const std::string& user, const std::string& ip,
                   const std::string& method, const std::string& path,
                   const std::string& node = "pve1", Outcome result = Outcome::kSuccess) {
    ActionMapping m = MapApiRequest(method, path);
    Event e;
    e.time_us = time_us;
    e.node = node;
    e.user = user;
    e.ip = ip;
    e.action = m.action;
    e.resource = m.resource;
    e.result = result;
    e.status = result == Outcome::kFailure ? "403" : "200";
    e.source = "pveproxy";
    e.detail = method + " /api2/json" + path;
    e.origin = "/var/log/pveproxy/access.log";
    std::vector<Event> v{e};
    Append(&v);
    return v[0].id;
  }

  // Read transactions (scans) since the store was opened.
  int reads() const { return g_read_txns - reads_at_open_; }

 private:
  std::string dir_;
  std::unique_ptr<EventStore> store_;
  int reads_at_open_ = 0;
};

Event Change(const std::string& action, const std::string& resource, int64_t t = kT,
             const std::string& node = "pve1") {
  Event e;
  e.time_us = t;
  e.node = node;
  e.action = action;
  e.resource = resource;
  e.result = Outcome::kSuccess;
  e.status = "changed";
  e.source = "pve-config";
  e.detail = "x";
  return e;
}

constexpr int64_t kS = 1'000'000;

TEST(AttributeChangesTest, AclChangeGoesToThePutAclRequest) {
  TestStore store;
  store.Request(kT - 40 * kS, "old@pve", "192.0.2.9", "PUT", "/access/acl");  // outside 30 s
  store.Request(kT - 2 * kS, "bob@pve", "192.0.2.2", "GET", "/access/acl");   // a read
  store.Request(kT - 1 * kS, "eve@pve", "192.0.2.6", "PUT", "/access/acl", "pve1",
                Outcome::kFailure);  // refused: changed nothing
  uint64_t id = store.Request(kT, "alice@pve", "192.0.2.10", "PUT", "/access/acl");
  store.Request(kT, "carol@pve", "192.0.2.3", "PUT", "/access/users/carol@pve");  // other object
  std::vector<Event> changes = {Change("acl:modify", "/vms/100")};
  ASSERT_TRUE(AttributeChanges(store, &changes).ok());
  EXPECT_EQ(changes[0].user, "alice@pve");
  EXPECT_EQ(changes[0].ip, "192.0.2.10");
  EXPECT_EQ(changes[0].detail,
            "x; attributed from event " + std::to_string(id) + " (PUT /api2/json/access/acl)");
}

TEST(AttributeChangesTest, NoMatchingRequestMeansActorUnknown) {
  TestStore store;
  store.Request(kT - 31 * kS, "alice@pve", "192.0.2.10", "PUT", "/access/acl");
  store.Request(kT + 6 * kS, "alice@pve", "192.0.2.10", "PUT", "/access/acl");
  store.Request(kT, "alice@pve", "192.0.2.10", "PUT", "/access/users/bob@pve");
  std::vector<Event> changes = {Change("acl:modify", "/"),
                                Change("user:modify", "/access/users/alice@pve"),
                                Change("tfa:lock", "/access/users/alice@pve")};
  ASSERT_TRUE(AttributeChanges(store, &changes).ok());
  for (const Event& c : changes) {
    EXPECT_EQ(c.user, "") << c.action;
    EXPECT_EQ(c.ip, "") << c.action;
    EXPECT_EQ(c.detail, "x; actor unknown") << c.action;
  }
}

TEST(AttributeChangesTest, WindowEdgesAreInclusive) {
  TestStore store;
  uint64_t early = store.Request(kT - 30 * kS, "a@pve", "192.0.2.1", "POST", "/access/users");
  uint64_t late =
      store.Request(kT + 5 * kS, "b@pve", "192.0.2.2", "DELETE", "/access/users/gone@pve");
  std::vector<Event> changes = {Change("user:create", "/access/users/new@pve"),
                                Change("user:delete", "/access/users/gone@pve")};
  ASSERT_TRUE(AttributeChanges(store, &changes).ok());
  EXPECT_EQ(changes[0].user, "a@pve");
  EXPECT_NE(changes[0].detail.find("event " + std::to_string(early) + " "), std::string::npos);
  EXPECT_EQ(changes[1].user, "b@pve");
  EXPECT_NE(changes[1].detail.find("event " + std::to_string(late) + " "), std::string::npos);
}

TEST(AttributeChangesTest, PrefersTheObjectItselfThenTheAnswerAfterTheWrite) {
  TestStore store;
  // A collection request (POST /access/users: user:create on /access/users)
  // and a request on alice herself: the latter wins for alice.
  store.Request(kT, "bob@pve", "192.0.2.2", "PUT", "/access/groups/ops");
  store.Request(kT - 3 * kS, "root@pam", "192.0.2.1", "PUT", "/access/users/alice@pve");
  // Two ACL edits: pveproxy logs a request when it answers, so the one
  // logged at or just after the change's second made it, not the earlier.
  store.Request(kT - 2 * kS, "carol@pve", "192.0.2.3", "PUT", "/access/acl");
  store.Request(kT + 1 * kS, "dave@pve", "192.0.2.4", "PUT", "/access/acl");
  store.Request(kT + 3 * kS, "erin@pve", "192.0.2.5", "PUT", "/access/acl");
  std::vector<Event> changes = {Change("user:modify", "/access/users/alice@pve", kT + 500000),
                                Change("acl:modify", "/vms/100", kT + 500000),
                                Change("group:modify", "/access/groups/ops")};
  ASSERT_TRUE(AttributeChanges(store, &changes).ok());
  EXPECT_EQ(changes[0].user, "root@pam");
  EXPECT_EQ(changes[1].user, "dave@pve");
  EXPECT_EQ(changes[2].user, "bob@pve");
}

TEST(AttributeChangesTest, SameNodePreferredThenNewest) {
  TestStore store;
  store.Request(kT, "other@pve", "192.0.2.7", "PUT", "/access/acl", "pve2");
  store.Request(kT, "alice@pve", "192.0.2.10", "PUT", "/access/acl", "pve1");
  store.Request(kT, "zed@pve", "192.0.2.8", "PUT", "/access/acl", "pve3");
  std::vector<Event> changes = {Change("acl:modify", "/vms/100", kT, "pve1"),
                                Change("acl:modify", "/vms/101", kT, "pve9")};
  ASSERT_TRUE(AttributeChanges(store, &changes).ok());
  EXPECT_EQ(changes[0].user, "alice@pve");
  EXPECT_EQ(changes[1].user, "zed@pve");  // no node matches: the newest id
}

TEST(AttributeChangesTest, RelatedRequestsAndRealmTfa) {
  TestStore store;
  // Deleting a user removes its ACL entries and tokens too.
  store.Request(kT, "root@pam", "192.0.2.1", "DELETE", "/access/users/carol@pve");
  // Realm-enforced TFA is set by editing the realm.
  store.Request(kT, "admin@pam", "192.0.2.9", "PUT", "/access/domains/corp");
  store.Request(kT, "mallory@pve", "192.0.2.66", "PUT", "/access/domains/other");
  // A user's own TFA factor.
  store.Request(kT, "bob@pve", "192.0.2.2", "POST", "/access/tfa/bob@pve");
  std::vector<Event> changes = {Change("acl:modify", "/storage/local"),
                                Change("token:delete", "/access/users/carol@pve"),
                                Change("tfa:remove", "/access/realm/corp"),
                                Change("tfa:add", "/access/users/bob@pve"),
                                Change("tfa:add", "/access/users/alice@pve"),
                                Change("pve-config events are never requests", "/")};
  changes.back().action = "role:modify";
  ASSERT_TRUE(AttributeChanges(store, &changes).ok());
  EXPECT_EQ(changes[0].user, "root@pam");
  EXPECT_EQ(changes[1].user, "root@pam");
  EXPECT_EQ(changes[2].user, "admin@pam");
  EXPECT_EQ(changes[3].user, "bob@pve");
  EXPECT_EQ(changes[4].user, "");  // bob's request is not alice's factor
  EXPECT_EQ(changes[5].user, "");
}

TEST(AttributeChangesTest, EarlierChangeEventsAreNotRequests) {
  TestStore store;
  std::vector<Event> old = {Change("acl:modify", "/vms/1", kT - kS)};
  old[0].user = "ghost@pve";
  store.Append(&old);
  std::vector<Event> changes = {Change("acl:modify", "/vms/2")};
  ASSERT_TRUE(AttributeChanges(store, &changes).ok());
  EXPECT_EQ(changes[0].user, "");
}

TEST(AttributeChangesTest, OneScanPerRequestObject) {
  TestStore store;
  std::vector<Event> changes = {Change("acl:modify", "/a"), Change("acl:modify", "/b"),
                                Change("role:create", "/access")};
  ASSERT_TRUE(AttributeChanges(store, &changes).ok());
  // acl: acl, user, group, role, token, pool; role: role (shared).
  EXPECT_EQ(store.reads(), 6);
  std::vector<Event> none;
  ASSERT_TRUE(AttributeChanges(store, &none).ok());
  EXPECT_EQ(store.reads(), 6);
}

TEST(CandidateRequestActionsTest, ByChangeKind) {
  using V = std::vector<std::string>;
  EXPECT_EQ(CandidateRequestActions(Change("user:create", "/access/users/a@pve")),
            (V{"user:create", "realm:sync"}));
  EXPECT_EQ(CandidateRequestActions(Change("token:create", "/access/users/a@pve")),
            (V{"token:create"}));
  EXPECT_EQ(CandidateRequestActions(Change("realm:delete", "/access/realm/x")),
            (V{"realm:delete"}));
  EXPECT_EQ(CandidateRequestActions(Change("tfa:lock", "/access/users/a@pve")), V{});
  EXPECT_EQ(CandidateRequestActions(Change("tfa:unlock", "/access/users/a@pve")),
            (V{"tfa:unlock"}));
}

}  // namespace
}  // namespace pveaudit::pve

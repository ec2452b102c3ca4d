// config_diff_test.cc: DiffPveConfig on fixture pairs (tests/data/pve/diff:
// every change type) and the persisted snapshot (round trip, no secrets).
// Who made a change is a query view: src/query/views_test.cc.
#include "pve/config_diff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/actions.h"

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

}  // namespace
}  // namespace pveaudit::pve

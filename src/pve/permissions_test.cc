// permissions_test.cc: every rule of the effective-permission algorithm,
// each with a case where that rule decides the result (docs/permissions.md
// maps rules to these tests).
#include "pve/permissions.h"

#include <gtest/gtest.h>

namespace pveaudit::pve {
namespace {

using PrivSet = std::set<std::string>;

PveConfig Cfg(const std::string& user_cfg) {
  PveConfig cfg;
  cfg.access = ParseUserCfg(user_cfg, "user.cfg");
  return cfg;
}

PrivSet Privs(const PveConfig& cfg, const std::string& who, const std::string& path) {
  PrivSet out;
  for (const auto& [priv, propagate] : EffectivePrivileges(cfg, who, path)) out.insert(priv);
  return out;
}

PrivSet Role(const std::string& name) { return BuiltinRoles().at(name); }

PrivSet Union(PrivSet a, const PrivSet& b) {
  a.insert(b.begin(), b.end());
  return a;
}

PrivSet Intersect(const PrivSet& a, const PrivSet& b) {
  PrivSet out;
  for (const std::string& p : a)
    if (b.count(p)) out.insert(p);
  return out;
}

const char* kUsers =
    "user:alice@pve:1:0::::::\n"
    "user:bob@pve:1:0::::::\n"
    "group:ops:alice@pve:\n"
    "group:dev:alice@pve:\n";

// Rule: root@pam is Administrator everywhere, whatever the ACLs say.
TEST(PermissionsTest, RootIsAdministrator) {
  PveConfig cfg = Cfg(std::string(kUsers) + "acl:1:/:root@pam:NoAccess:\n");
  EXPECT_EQ(Privs(cfg, "root@pam", "/vms/100"), AllPrivileges());
  EXPECT_EQ(Privs(cfg, "root@pam", "/"), AllPrivileges());
  EXPECT_TRUE(EffectivePrivileges(cfg, "root@pam", "/").at("Sys.Modify"));  // propagates
  EXPECT_EQ(EffectiveRoles(cfg, "root@pam", "/vms"),
            (std::map<std::string, bool>{{"Administrator", true}}));
}

// Rule: no ACL entry, no privilege.
TEST(PermissionsTest, NothingWithoutAcl) {
  PveConfig cfg = Cfg(kUsers);
  EXPECT_TRUE(Privs(cfg, "alice@pve", "/").empty());
  EXPECT_TRUE(Privs(cfg, "nobody@pve", "/").empty());
  EXPECT_TRUE(Privs(cfg, "not a user", "/").empty());
}

// Rule: a propagating entry is inherited by every path below.
TEST(PermissionsTest, PropagatingEntryInherited) {
  PveConfig cfg = Cfg(std::string(kUsers) + "acl:1:/vms:bob@pve:PVEVMUser:\n");
  EXPECT_EQ(Privs(cfg, "bob@pve", "/vms/100"), Role("PVEVMUser"));
  EXPECT_EQ(Privs(cfg, "bob@pve", "/vms"), Role("PVEVMUser"));
  EXPECT_TRUE(Privs(cfg, "bob@pve", "/storage").empty());
  EXPECT_TRUE(EffectivePrivileges(cfg, "bob@pve", "/vms/100").at("VM.Audit"));
}

// Rule: propagate 0 applies on its own path only.
TEST(PermissionsTest, PropagateZeroNotInherited) {
  PveConfig cfg = Cfg(std::string(kUsers) + "acl:0:/vms:bob@pve:PVEVMUser:\n");
  EXPECT_EQ(Privs(cfg, "bob@pve", "/vms"), Role("PVEVMUser"));
  EXPECT_FALSE(EffectivePrivileges(cfg, "bob@pve", "/vms").at("VM.Audit"));  // printed as 0
  EXPECT_TRUE(Privs(cfg, "bob@pve", "/vms/100").empty());
}

// Rule: a non-propagating entry on an ancestor neither grants nor overrides:
// the inherited role from "/" survives below /vms.
TEST(PermissionsTest, NonPropagatingAncestorEntryDoesNotOverride) {
  PveConfig cfg = Cfg(std::string(kUsers) +
                      "acl:1:/:bob@pve:PVEAuditor:\n"
                      "acl:0:/vms:bob@pve:PVEVMAdmin:\n");
  EXPECT_EQ(Privs(cfg, "bob@pve", "/vms/100"), Role("PVEAuditor"));
  // On the final node it applies and replaces what / gave.
  EXPECT_EQ(Privs(cfg, "bob@pve", "/vms"), Role("PVEVMAdmin"));
}

// Rule: at one level, user entries beat group entries.
TEST(PermissionsTest, UserBeatsGroupAtSameLevel) {
  PveConfig cfg = Cfg(std::string(kUsers) +
                      "acl:1:/vms:@ops:PVEVMAdmin:\n"
                      "acl:1:/vms:alice@pve:PVEAuditor:\n");
  EXPECT_EQ(Privs(cfg, "alice@pve", "/vms/100"), Role("PVEAuditor"));
}

// Rule: a user entry that does not apply at a level (propagate 0 above the
// final node) does not hide the groups' entries there.
TEST(PermissionsTest, InapplicableUserEntryLeavesGroupEntries) {
  PveConfig cfg = Cfg(std::string(kUsers) +
                      "acl:0:/vms:alice@pve:PVEAuditor:\n"
                      "acl:1:/vms:@ops:PVEVMUser:\n");
  EXPECT_EQ(Privs(cfg, "alice@pve", "/vms/100"), Role("PVEVMUser"));
  EXPECT_EQ(Privs(cfg, "alice@pve", "/vms"), Role("PVEAuditor"));
}

// Rule: "user beats group" is per level: a deeper group entry replaces the
// role inherited from a user entry higher up.
TEST(PermissionsTest, DeeperGroupReplacesInheritedUserRole) {
  PveConfig cfg = Cfg(std::string(kUsers) +
                      "acl:1:/:alice@pve:PVEVMAdmin:\n"
                      "acl:1:/vms/100:@ops:PVEAuditor:\n");
  EXPECT_EQ(Privs(cfg, "alice@pve", "/vms/100"), Role("PVEAuditor"));
  EXPECT_EQ(Privs(cfg, "alice@pve", "/vms/101"), Role("PVEVMAdmin"));
}

// Rule: the entries of all the user's groups at one level are united.
TEST(PermissionsTest, GroupsUnitedAtSameLevel) {
  PveConfig cfg = Cfg(std::string(kUsers) +
                      "acl:1:/:@ops:PVEVMUser:\n"
                      "acl:1:/:@dev:PVEDatastoreUser:\n"
                      "acl:1:/:@other:PVESysAdmin:\n");
  EXPECT_EQ(Privs(cfg, "alice@pve", "/storage/local"),
            Union(Role("PVEVMUser"), Role("PVEDatastoreUser")));
  EXPECT_TRUE(Privs(cfg, "bob@pve", "/").empty());  // not a member
}

// Rule: membership is the group's list: a user defined after the group line
// is a member (Proxmox keeps the member with a warning).
TEST(PermissionsTest, GroupMemberDefinedLaterIsMember) {
  PveConfig cfg =
      Cfg("group:late:carol@pve:\n"
          "user:carol@pve:1:0::::::\n"
          "acl:1:/:@late:PVEAuditor:\n");
  EXPECT_EQ(Privs(cfg, "carol@pve", "/"), Role("PVEAuditor"));
}

// Rule: a deeper level replaces what was inherited (user entries too).
TEST(PermissionsTest, DeeperLevelReplacesInherited) {
  PveConfig cfg = Cfg(std::string(kUsers) +
                      "acl:1:/:bob@pve:PVEAdmin:\n"
                      "acl:1:/vms/100:bob@pve:PVEVMUser:\n");
  EXPECT_EQ(Privs(cfg, "bob@pve", "/vms/100"), Role("PVEVMUser"));
}

// Rule: NoAccess in the final set cancels every other role.
TEST(PermissionsTest, NoAccessWins) {
  PveConfig cfg = Cfg(std::string(kUsers) +
                      "acl:1:/vms:bob@pve:PVEVMAdmin,NoAccess:\n"
                      "acl:1:/:@ops:PVEVMUser:\n"
                      "acl:1:/:@dev:NoAccess:\n");
  EXPECT_TRUE(Privs(cfg, "bob@pve", "/vms/100").empty());
  EXPECT_EQ(EffectiveRoles(cfg, "bob@pve", "/vms/100"),
            (std::map<std::string, bool>{{"NoAccess", true}}));
  // The same through the union of two groups.
  EXPECT_TRUE(Privs(cfg, "alice@pve", "/nodes/pve1").empty());
}

// Rule: NoAccess is judged on the final set only, so a deeper grant lifts
// an inherited NoAccess.
TEST(PermissionsTest, DeeperGrantLiftsInheritedNoAccess) {
  PveConfig cfg = Cfg(std::string(kUsers) +
                      "acl:1:/:bob@pve:NoAccess:\n"
                      "acl:1:/vms/100:bob@pve:PVEVMUser:\n");
  EXPECT_EQ(Privs(cfg, "bob@pve", "/vms/100"), Role("PVEVMUser"));
  EXPECT_TRUE(Privs(cfg, "bob@pve", "/vms/101").empty());
}

// Rule: a privilege propagates if any role granting it propagates.
TEST(PermissionsTest, PrivilegePropagateIsAnyRole) {
  PveConfig cfg = Cfg(std::string(kUsers) +
                      "acl:0:/vms:bob@pve:PVEVMAdmin:\n"
                      "acl:1:/vms:bob@pve:PVEAuditor:\n");
  auto privs = EffectivePrivileges(cfg, "bob@pve", "/vms");
  EXPECT_TRUE(privs.at("VM.Audit"));      // in both
  EXPECT_FALSE(privs.at("VM.Allocate"));  // only in the non-propagating role
  EXPECT_TRUE(privs.at("Sys.Audit"));
}

const char* kPool =
    "user:alice@pve:1:0::::::\n"
    "pool:dev::100,101:local:\n";

// Rule: pool roles are added on the exact member paths, without propagation,
// next to the regular roles.
TEST(PermissionsTest, PoolAddsRoleOnMembers) {
  PveConfig cfg = Cfg(std::string(kPool) +
                      "acl:1:/pool/dev:alice@pve:PVEVMUser:\n"
                      "acl:1:/vms:alice@pve:PVEAuditor:\n");
  EXPECT_EQ(Privs(cfg, "alice@pve", "/vms/100"), Union(Role("PVEVMUser"), Role("PVEAuditor")));
  EXPECT_EQ(Privs(cfg, "alice@pve", "/storage/local"), Role("PVEVMUser"));
  EXPECT_EQ(Privs(cfg, "alice@pve", "/vms/102"), Role("PVEAuditor"));  // not a member
  EXPECT_TRUE(Privs(cfg, "alice@pve", "/storage").empty());            // not a member path
  auto privs = EffectivePrivileges(cfg, "alice@pve", "/vms/100");
  EXPECT_FALSE(privs.at("VM.PowerMgmt"));  // pool-derived: never propagating
  EXPECT_TRUE(privs.at("VM.Audit"));       // also a regular, propagating role
  EXPECT_EQ(EffectiveRoles(cfg, "alice@pve", "/vms/100"),
            (std::map<std::string, bool>{{"PVEAuditor", true}, {"PVEVMUser", false}}));
}

// Rule: a pool NoAccess trumps the regular ACL on member paths.
TEST(PermissionsTest, PoolNoAccessTrumpsRegularRoles) {
  PveConfig cfg = Cfg(std::string(kPool) +
                      "acl:1:/vms:alice@pve:PVEVMAdmin:\n"
                      "acl:1:/pool/dev:alice@pve:NoAccess:\n");
  EXPECT_TRUE(Privs(cfg, "alice@pve", "/vms/100").empty());
  EXPECT_EQ(EffectiveRoles(cfg, "alice@pve", "/vms/100"),
            (std::map<std::string, bool>{{"NoAccess", false}}));
  EXPECT_EQ(Privs(cfg, "alice@pve", "/vms/102"), Role("PVEVMAdmin"));
}

// Rule: a pool role never lifts a regular NoAccess.
TEST(PermissionsTest, PoolDoesNotLiftRegularNoAccess) {
  PveConfig cfg = Cfg(std::string(kPool) +
                      "acl:1:/vms/100:alice@pve:NoAccess:\n"
                      "acl:1:/pool/dev:alice@pve:PVEVMAdmin:\n");
  EXPECT_TRUE(Privs(cfg, "alice@pve", "/vms/100").empty());
  EXPECT_EQ(Privs(cfg, "alice@pve", "/vms/101"), Role("PVEVMAdmin"));
}

// Rule: pool roles come from roles() on /pool/ID, so they inherit from a
// parent pool's propagating ACL (nested pools) like any path.
TEST(PermissionsTest, NestedPoolInheritsParentPoolAcl) {
  PveConfig cfg =
      Cfg("user:alice@pve:1:0::::::\nuser:bob@pve:1:0::::::\n"
          "pool:dev::100::\npool:dev/web::105::\n"
          "acl:1:/pool/dev:alice@pve:PVEVMUser:\n"
          "acl:0:/pool/dev:bob@pve:PVEVMUser:\n");
  EXPECT_EQ(Privs(cfg, "alice@pve", "/vms/105"), Role("PVEVMUser"));
  EXPECT_EQ(Privs(cfg, "bob@pve", "/vms/100"), Role("PVEVMUser"));
  EXPECT_TRUE(Privs(cfg, "bob@pve", "/vms/105").empty());
}

const char* kTokens =
    "user:alice@pve:1:0::::::\n"
    "token:alice@pve!sep:0:1::\n"
    "token:alice@pve!full:0:0::\n"
    "token:root@pam!sep:0:1::\n";

// Rule: a privilege-separated token gets the intersection of its own and
// its user's privileges; a privilege propagates only if it does in both.
TEST(PermissionsTest, PrivsepTokenIntersection) {
  PveConfig cfg = Cfg(std::string(kTokens) +
                      "acl:0:/vms:alice@pve:PVEVMUser:\n"
                      "acl:1:/vms:alice@pve!sep:PVEAuditor:\n"
                      "acl:1:/storage:alice@pve!sep:PVEDatastoreAdmin:\n");
  EXPECT_EQ(Privs(cfg, "alice@pve!sep", "/vms"), Intersect(Role("PVEVMUser"), Role("PVEAuditor")));
  EXPECT_FALSE(EffectivePrivileges(cfg, "alice@pve!sep", "/vms").at("VM.Audit"));
  // The user has nothing on /storage: neither has the token.
  EXPECT_TRUE(Privs(cfg, "alice@pve!sep", "/storage").empty());
  // EffectiveRoles of a privsep token: its own roles (before the intersection).
  EXPECT_EQ(EffectiveRoles(cfg, "alice@pve!sep", "/storage"),
            (std::map<std::string, bool>{{"PVEDatastoreAdmin", true}}));
}

// Rule: a privilege-separated token without ACLs of its own has nothing,
// even when its user has everything.
TEST(PermissionsTest, PrivsepTokenNeedsOwnAcl) {
  PveConfig cfg = Cfg(std::string(kTokens) + "acl:1:/:alice@pve:Administrator:\n");
  EXPECT_TRUE(Privs(cfg, "alice@pve!sep", "/").empty());
  EXPECT_EQ(Privs(cfg, "alice@pve", "/"), AllPrivileges());
}

// Rule: at one level token entries come first; a privsep token sees its
// own entries only (a token is never a user or a group member).
TEST(PermissionsTest, TokenEntriesReplaceAlongThePath) {
  PveConfig cfg = Cfg(std::string(kTokens) +
                      "group:ops:alice@pve:\n"
                      "acl:1:/:alice@pve:PVEAdmin:\n"
                      "acl:1:/:alice@pve!sep:PVEAdmin:\n"
                      "acl:1:/vms:@ops:PVEAuditor:\n"
                      "acl:1:/vms/100:alice@pve!sep:PVEVMUser:\n");
  // The group entry on /vms does not touch the token: it keeps PVEAdmin on
  // /vms/101, intersected with alice's PVEAuditor there.
  EXPECT_EQ(Privs(cfg, "alice@pve!sep", "/vms/101"),
            Intersect(Role("PVEAdmin"), Role("PVEAuditor")));
  // On /vms/100 the token's own deeper entry replaces PVEAdmin.
  EXPECT_EQ(Privs(cfg, "alice@pve!sep", "/vms/100"),
            Intersect(Role("PVEVMUser"), Role("PVEAuditor")));
}

// Rule: a token without privilege separation has exactly its user's
// privileges; its own ACL entries are ignored.
TEST(PermissionsTest, NonPrivsepTokenEqualsUser) {
  PveConfig cfg = Cfg(std::string(kTokens) +
                      "pool:dev::100::\n"
                      "acl:1:/vms:alice@pve:PVEVMUser:\n"
                      "acl:1:/pool/dev:alice@pve:PVEAuditor:\n"
                      "acl:1:/vms:alice@pve!full:NoAccess:\n");
  for (const char* path : {"/", "/vms", "/vms/100", "/vms/101", "/storage"})
    EXPECT_EQ(EffectivePrivileges(cfg, "alice@pve!full", path),
              EffectivePrivileges(cfg, "alice@pve", path))
        << path;
  EXPECT_EQ(Privs(cfg, "alice@pve!full", "/vms/101"), Role("PVEVMUser"));
  EXPECT_EQ(EffectiveRoles(cfg, "alice@pve!full", "/vms/101"),
            EffectiveRoles(cfg, "alice@pve", "/vms/101"));
}

// Rule: an unknown token has nothing (its ACL lines were dropped at parse
// time, and the user's privileges are not inherited).
TEST(PermissionsTest, UnknownTokenHasNothing) {
  PveConfig cfg = Cfg(std::string(kTokens) + "acl:1:/:alice@pve:Administrator:\n");
  EXPECT_TRUE(Privs(cfg, "alice@pve!ghost", "/").empty());
  EXPECT_TRUE(EffectiveRoles(cfg, "alice@pve!ghost", "/").empty());
  EXPECT_TRUE(PermissionTree(cfg, "alice@pve!ghost").empty());
}

// Rule: root@pam's privilege-separated token has its own privileges (the
// intersection with Administrator changes nothing).
TEST(PermissionsTest, RootPrivsepTokenHasOwnPrivileges) {
  PveConfig cfg = Cfg(std::string(kTokens) + "acl:0:/nodes:root@pam!sep:PVESysAdmin:\n");
  EXPECT_EQ(Privs(cfg, "root@pam!sep", "/nodes"), Role("PVESysAdmin"));
  EXPECT_TRUE(Privs(cfg, "root@pam!sep", "/nodes/pve1").empty());
}

// Rule: unknown privileges in custom roles are dropped at parse time.
TEST(PermissionsTest, UnknownPrivilegeDropped) {
  PveConfig cfg = Cfg(std::string(kUsers) +
                      "role:Legacy:VM.Monitor,VM.Audit:\n"
                      "acl:1:/:bob@pve:Legacy:\n");
  EXPECT_EQ(Privs(cfg, "bob@pve", "/vms/100"), PrivSet{"VM.Audit"});
}

// Rule: a role: line cannot redefine a built-in role.
TEST(PermissionsTest, BuiltinRoleNotRedefinable) {
  PveConfig cfg = Cfg(std::string(kUsers) +
                      "role:PVEVMUser:Sys.Modify,Permissions.Modify:\n"
                      "acl:1:/:bob@pve:PVEVMUser:\n");
  EXPECT_EQ(Privs(cfg, "bob@pve", "/"), Role("PVEVMUser"));
  EXPECT_FALSE(Privs(cfg, "bob@pve", "/").count("Sys.Modify"));
}

// Rule: an ACL naming a role before its role: line is dropped.
TEST(PermissionsTest, AclBeforeRoleDefinitionDropped) {
  PveConfig cfg = Cfg(std::string(kUsers) +
                      "acl:1:/:bob@pve:Operator:\n"
                      "role:Operator:VM.PowerMgmt:\n");
  EXPECT_TRUE(Privs(cfg, "bob@pve", "/").empty());
}

// Rule: disabled and expired users still hold their ACLs.
TEST(PermissionsTest, DisabledAndExpiredUsersStillHoldAcls) {
  PveConfig cfg =
      Cfg("user:off@pve:0:0::::::\nuser:old@pve:1:1000::::::\n"
          "acl:1:/:off@pve,old@pve:PVEAuditor:\n");
  EXPECT_EQ(Privs(cfg, "off@pve", "/"), Role("PVEAuditor"));
  EXPECT_EQ(Privs(cfg, "old@pve", "/"), Role("PVEAuditor"));
}

// Rule: paths are normalised as Proxmox does before the walk.
TEST(PermissionsTest, PathNormalised) {
  PveConfig cfg = Cfg(std::string(kUsers) + "acl:0:/vms/100/:bob@pve:PVEVMUser:\n");
  EXPECT_EQ(Privs(cfg, "bob@pve", "vms//100/"), Role("PVEVMUser"));
  EXPECT_TRUE(Privs(cfg, "bob@pve", "/vm$").empty());
}

// PermissionTree = `pveum user permissions USERID [--path PATH]`.
TEST(PermissionTreeTest, PathsLikeGetEffectivePermissions) {
  PveConfig cfg =
      Cfg("user:alice@pve:1:0::::::\n"
          "pool:dev::100:local:\n"
          "acl:1:/:alice@pve:PVEAuditor:\n"
          "acl:0:/sdn/zones/z1:alice@pve:PVESDNUser:\n"
          "acl:1:/pool/dev:alice@pve:PVEVMUser:\n"
          "acl:1:/mapping/pci:alice@pve:NoAccess:\n");
  auto tree = PermissionTree(cfg, "alice@pve");
  std::vector<std::string> paths;
  for (const auto& [path, privs] : tree) paths.push_back(path);
  // Fixed top-level paths, every ACL tree node (with its ancestors), pool
  // member paths; paths without privileges (/mapping/pci) are left out.
  EXPECT_EQ(paths,
            (std::vector<std::string>{"/", "/access", "/access/groups", "/mapping", "/nodes",
                                      "/pool", "/pool/dev", "/sdn", "/sdn/zones", "/sdn/zones/z1",
                                      "/storage", "/storage/local", "/vms", "/vms/100"}));
  EXPECT_EQ(tree.at("/vms/100").size(), Union(Role("PVEAuditor"), Role("PVEVMUser")).size());
  // The user entry on the final node replaced PVEAuditor from "/".
  EXPECT_EQ(tree.at("/sdn/zones/z1"),
            (std::map<std::string, bool>{{"SDN.Audit", false}, {"SDN.Use", false}}));
  // --path: that path only, even when nothing is granted there.
  auto one = PermissionTree(cfg, "alice@pve", "/mapping/pci/");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_TRUE(one.at("/mapping/pci").empty());
  EXPECT_TRUE(PermissionTree(cfg, "bob@pve").empty());
}

}  // namespace
}  // namespace pveaudit::pve

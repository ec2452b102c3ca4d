// user_cfg_test.cc: ParseUserCfg against parse_user_config's behaviour,
// warnings word for word with their line numbers.
#include <gtest/gtest.h>

#include "pve/access_config.h"

namespace pveaudit::pve {
namespace {

using Strings = std::vector<std::string>;

// "LINE: message" of every warning, for exact comparisons.
Strings Warnings(const AccessConfig& cfg) {
  Strings out;
  for (const ConfigWarning& w : cfg.warnings) {
    EXPECT_EQ(w.file, "user.cfg");
    out.push_back(std::to_string(w.line) + ": " + w.message);
  }
  return out;
}

const Acl* FindAcl(const AccessConfig& cfg, const std::string& path, const std::string& principal,
                   const std::string& role) {
  for (const Acl& a : cfg.acls)
    if (a.path == path && a.principal == principal && a.role == role) return &a;
  return nullptr;
}

// proxmox/pve-access-control src/test/parser_writer.pl, $default_raw.
TEST(UserCfgTest, CanonicalWriterOutput) {
  AccessConfig cfg = ParseUserCfg(
      "user:root@pam:1:0::::::\n"
      "user:test@pam:1:0::::::\n"
      "token:test@pam!full:0:0::\n"
      "user:test2@pam:1:0::::::\n"
      "token:test2@pam!privsep:0:1::\n"
      "token:test2@pam!expired:1:0::\n"
      "\n"
      "group:testgroup:test2@pam,test@pam::\n"
      "\n"
      "pool:testpool::123,1234:local,local-zfs:\n"
      "\n"
      "role:testrole:Datastore.Audit,VM.Allocate:\n"
      "\n"
      "acl:1:/storage:test2@pam!expired,test@pam!full:PVEDatastoreAdmin:\n"
      "acl:0:/:@testgroup:PVEVMAdmin:\n"
      "acl:1:/:@testgroup,test@pam:PVEVMAdmin:\n",
      "user.cfg");
  EXPECT_EQ(Warnings(cfg), Strings{});
  EXPECT_EQ(cfg.users.size(), 3u);
  ASSERT_EQ(cfg.tokens.size(), 3u);
  EXPECT_FALSE(cfg.tokens.at("test@pam!full").privsep);
  EXPECT_TRUE(cfg.tokens.at("test2@pam!privsep").privsep);
  EXPECT_EQ(cfg.tokens.at("test2@pam!expired").expire, 1);
  EXPECT_EQ(cfg.tokens.at("test2@pam!expired").userid, "test2@pam");
  EXPECT_EQ(cfg.groups.at("testgroup").members, (Strings{"test2@pam", "test@pam"}));
  EXPECT_EQ(cfg.users.at("test@pam").groups, Strings{"testgroup"});
  EXPECT_EQ(cfg.pools.at("testpool").vms, (std::vector<int>{123, 1234}));
  EXPECT_EQ(cfg.pools.at("testpool").storages, (Strings{"local", "local-zfs"}));
  EXPECT_EQ(cfg.roles.at("testrole").privs,
            (std::set<std::string>{"Datastore.Audit", "VM.Allocate"}));
  EXPECT_FALSE(cfg.roles.at("testrole").builtin);
  // The same (path, group, role) twice: the later line's propagate wins.
  ASSERT_NE(FindAcl(cfg, "/", "testgroup", "PVEVMAdmin"), nullptr);
  EXPECT_TRUE(FindAcl(cfg, "/", "testgroup", "PVEVMAdmin")->propagate);
  EXPECT_EQ(FindAcl(cfg, "/", "testgroup", "PVEVMAdmin")->line, 16);
  ASSERT_NE(FindAcl(cfg, "/storage", "test@pam!full", "PVEDatastoreAdmin"), nullptr);
  EXPECT_EQ(FindAcl(cfg, "/storage", "test@pam!full", "PVEDatastoreAdmin")->type,
            PrincipalType::kToken);
  EXPECT_EQ(cfg.acls.size(), 4u);
}

// proxmox/pve-access-control user.cfg.ex: the type match is case-sensitive
// and VM.ConfigureCD / VM.Create are not privileges.
TEST(UserCfgTest, UpstreamExampleIsMostlyIgnored) {
  AccessConfig cfg = ParseUserCfg(
      "User:joe@localhost:1:\n"
      "\n"
      "group:testgroup:joe@localhost:\n"
      "\n"
      "role:admin:VM.ConfigureCD,VM.Create,Permissions.Modify,VM.Console:\n"
      "\n"
      "acl:0:/users:@testgroup,joe@localhost:Administrator:\n",
      "user.cfg");
  EXPECT_EQ(Warnings(cfg), (Strings{"1: user config - ignore config line: User:joe@localhost:1:",
                                    "3: user config - ignore invalid group member 'joe@localhost'",
                                    "5: user config - ignore invalid privilege 'VM.ConfigureCD'",
                                    "5: user config - ignore invalid privilege 'VM.Create'",
                                    "7: user config - ignore invalid acl member 'joe@localhost'"}));
  EXPECT_FALSE(cfg.users.count("joe@localhost"));
  EXPECT_EQ(cfg.roles.at("admin").privs,
            (std::set<std::string>{"Permissions.Modify", "VM.Console"}));
  // Members and ACL entries of not (yet) defined users are kept.
  EXPECT_EQ(cfg.groups.at("testgroup").members, Strings{"joe@localhost"});
  EXPECT_NE(FindAcl(cfg, "/users", "joe@localhost", "Administrator"), nullptr);
  EXPECT_NE(FindAcl(cfg, "/users", "testgroup", "Administrator"), nullptr);
}

// src/test/test8.cfg: no trailing ':' on the ACL line.
TEST(UserCfgTest, TrailingColonOptional) {
  AccessConfig cfg = ParseUserCfg(
      "user:max@pve:1:\n"
      "token:max@pve!token::0:\n"
      "token:max@pve!token2::1:\n"
      "role:storage_manager:Datastore.AllocateSpace:\n"
      "role:customer:VM.Audit\n"
      "acl:1:/vms/200:max@pve!token:storage_manager\n"
      "acl:0:/vms/300:max@pve:customer:\n",
      "user.cfg");
  EXPECT_EQ(Warnings(cfg), Strings{});
  EXPECT_NE(FindAcl(cfg, "/vms/200", "max@pve!token", "storage_manager"), nullptr);
  EXPECT_EQ(cfg.roles.at("customer").privs, std::set<std::string>{"VM.Audit"});
  EXPECT_FALSE(FindAcl(cfg, "/vms/300", "max@pve", "customer")->propagate);
}

TEST(UserCfgTest, MinimalLinesTakeDefaults) {
  AccessConfig cfg = ParseUserCfg(
      "user:root@pam\ntoken:root@pam!test\ngroup:testgroup\npool:testpool\nrole:testrole\nacl::/"
      ":\n",
      "user.cfg");
  EXPECT_EQ(Warnings(cfg), Strings{});
  // 'user:root@pam' is an existing root@pam with enable 0: not re-enabled.
  EXPECT_FALSE(cfg.users.at("root@pam").enabled);
  EXPECT_FALSE(cfg.tokens.at("root@pam!test").privsep);  // empty privsep is false
  EXPECT_TRUE(cfg.groups.count("testgroup"));
  EXPECT_TRUE(cfg.pools.count("testpool"));
  EXPECT_TRUE(cfg.roles.at("testrole").privs.empty());
  EXPECT_TRUE(cfg.acls.empty());  // the empty ACL disappears
}

TEST(UserCfgTest, UserFieldsTrimmedDecodedAndTruthy) {
  AccessConfig cfg = ParseUserCfg(
      "  user : alice@pve : 1 : 1767225600 : Al%3Aice : J%C3%B6rg : a@example.com : "
      "Ops%3A%20100%25 : yubikey1,yubikey2 :  \n"
      "user:bob@pve::::::::\n"
      "user:carol@pve:00:0:0:0::0:0:\n",
      "user.cfg");
  EXPECT_EQ(Warnings(cfg), Strings{});
  const User& a = cfg.users.at("alice@pve");
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.expire, 1767225600);
  EXPECT_EQ(a.firstname, "Al:ice");
  EXPECT_EQ(a.lastname, "J\xC3\xB6rg");
  EXPECT_EQ(a.email, "a@example.com");
  EXPECT_EQ(a.comment, "Ops: 100%");
  EXPECT_EQ(a.keys, "yubikey1,yubikey2");
  EXPECT_FALSE(cfg.users.at("bob@pve").enabled);  // empty enable is false
  const User& c = cfg.users.at("carol@pve");
  EXPECT_TRUE(c.enabled);      // "00" is true in Perl
  EXPECT_EQ(c.firstname, "");  // "0" is false: not set
  EXPECT_EQ(c.comment, "");
  EXPECT_EQ(c.keys, "");
  EXPECT_TRUE(cfg.users.at("root@pam").enabled);  // added when missing
}

TEST(UserCfgTest, InvalidEntriesWarnWithProxmoxWording) {
  AccessConfig cfg = ParseUserCfg(
      "user:bad:1:0:\n"                                       // 1
      "user:bob@pve:1:12abc:\n"                               // 2
      "user:alice@pve:1:0:\n"                                 // 3
      "token:alice@pve!tk:soon:1:\n"                          // 4
      "token:ghost@pve!tk:0:1:\n"                             // 5
      "token:alice@pve:0:1:\n"                                // 6
      "group:b@d:alice@pve:\n"                                // 7
      "group:ops:alice@pve,nobody,ghost@pve:\n"               // 8
      "role:b@d:VM.Audit:\n"                                  // 9
      "acl:1::alice@pve:PVEAuditor:\n"                        // 10
      "acl:1:/vm$:alice@pve:PVEAuditor:\n"                    // 11
      "acl:1:/vms:alice@pve:b@d,Unknown,PVEAuditor:\n"        // 12
      "acl:1:/vms:@nogroup,@,x,alice@pve!nope:PVEAuditor:\n"  // 13
      "pool:a/b/c/d::100::\n"                                 // 14
      "pool:p1::100,abc,100:local,1bad:\n"                    // 15
      "pool:p2::0100::\n"                                     // 16
      "#comment: not a comment\n"                             // 17
      "token:alice@pve!t:0:1:\n",                             // 18
      "user.cfg");
  EXPECT_EQ(Warnings(cfg),
            (Strings{
                "1: user config - ignore user 'bad' - invalid user name",
                "2: user config - ignore user 'bob@pve' - (illegal characters in expire '12abc')",
                "4: user config - ignore token 'alice@pve!tk' - (illegal characters in expire "
                "'soon')",
                "5: user config - ignore token 'ghost@pve!tk' - user does not exist",
                "6: user config - ignore invalid tokenid 'alice@pve'",
                "7: user config - ignore group 'b@d' - invalid characters in group name",
                "8: user config - ignore invalid group member 'nobody'",
                "8: user config - ignore invalid group member 'ghost@pve'",
                "9: user config - ignore role 'b@d' - invalid characters in role name",
                "10: user config - ignore invalid path in acl ''",
                "11: user config - ignore invalid path in acl '/vm$'",
                "12: user config - ignore invalid role name 'b@d' in acl",
                "12: user config - ignore invalid acl role 'Unknown'",
                "13: user config - ignore invalid acl group 'nogroup'",
                "13: user config - invalid user/group '@' in acl",
                "13: user config - invalid user/group 'x' in acl",
                "13: user config - ignore invalid acl token 'alice@pve!nope'",
                "14: user config - ignore pool 'a/b/c/d' - invalid characters in pool name",
                "15: user config - ignore invalid vmid 'abc' in pool 'p1'",
                "15: user config - ignore duplicate vmid '100' in pool 'p1'",
                "15: user config - ignore invalid storage '1bad' in pool 'p1'",
                "16: user config - ignore duplicate vmid '100' in pool 'p2'",
                "17: user config - ignore config line: #comment: not a comment",
                "18: user config - ignore invalid tokenid 'alice@pve!t'",  // name: 2+ characters
            }));
  EXPECT_FALSE(cfg.users.count("bob@pve"));
  EXPECT_TRUE(cfg.tokens.empty());
  // ghost@pve is a member although it does not exist; "nobody" is not a userid.
  EXPECT_EQ(cfg.groups.at("ops").members, (Strings{"alice@pve", "ghost@pve"}));
  // The group ACL of a missing group is kept; the unknown token's is not.
  EXPECT_NE(FindAcl(cfg, "/vms", "nogroup", "PVEAuditor"), nullptr);
  EXPECT_EQ(FindAcl(cfg, "/vms", "alice@pve!nope", "PVEAuditor"), nullptr);
  EXPECT_NE(FindAcl(cfg, "/vms", "alice@pve", "PVEAuditor"), nullptr);
  EXPECT_EQ(cfg.pools.at("p1").vms, std::vector<int>{100});
  EXPECT_EQ(cfg.pools.at("p1").storages, Strings{"local"});
  EXPECT_TRUE(cfg.pools.at("p2").vms.empty());
}

TEST(UserCfgTest, SequentialValidation) {
  AccessConfig cfg = ParseUserCfg(
      "acl:1:/vms:alice@pve:Operator:\n"       // role not defined yet: dropped
      "acl:1:/vms:alice@pve!ci:PVEAuditor:\n"  // token not defined yet: dropped
      "group:ops:alice@pve:\n"                 // user not defined yet: warned, kept
      "role:Operator:VM.PowerMgmt:\n"
      "user:alice@pve:1:0:\n"
      "token:alice@pve!ci:0:1:\n"
      "acl:1:/vms/100:alice@pve:Operator:\n"
      "acl:1:/vms/100:alice@pve!ci:PVEAuditor:\n",
      "user.cfg");
  EXPECT_EQ(Warnings(cfg), (Strings{"1: user config - ignore invalid acl role 'Operator'",
                                    "2: user config - ignore invalid acl token 'alice@pve!ci'",
                                    "3: user config - ignore invalid group member 'alice@pve'"}));
  EXPECT_EQ(cfg.acls.size(), 2u);
  EXPECT_EQ(cfg.users.at("alice@pve").groups, Strings{"ops"});
}

TEST(UserCfgTest, UserLineRedefinitionDropsEarlierTokens) {
  AccessConfig cfg = ParseUserCfg(
      "user:alice@pve:1:0:\ntoken:alice@pve!aa:0:1:\nuser:alice@pve:0:0:\ntoken:alice@pve!bb:0:1:"
      "\n",
      "user.cfg");
  EXPECT_FALSE(cfg.tokens.count("alice@pve!aa"));
  EXPECT_TRUE(cfg.tokens.count("alice@pve!bb"));
  EXPECT_FALSE(cfg.users.at("alice@pve").enabled);
}

TEST(UserCfgTest, TokenFields) {
  AccessConfig cfg = ParseUserCfg(
      "user:alice@pve:1:0:\n"
      "token:alice@pve!ci:1767225600:1:CI%3A%20deploy:\n"
      "token:alice@pve!ci::0::\n",  // a repeated line updates; an empty comment keeps the old
      "user.cfg");
  const Token& t = cfg.tokens.at("alice@pve!ci");
  EXPECT_EQ(t.userid, "alice@pve");
  EXPECT_EQ(t.expire, 0);
  EXPECT_FALSE(t.privsep);
  EXPECT_EQ(t.comment, "CI: deploy");
}

TEST(UserCfgTest, AclPathsNormalisedAndListsSplit) {
  AccessConfig cfg = ParseUserCfg(
      "user:alice@pve:1:0:\nuser:bob@pve:1:0:\ngroup:ops:alice@pve;bob@pve:\n"
      "acl:1:vms//100/:alice@pve bob@pve;@ops:PVEAuditor,PVEVMUser:\n",
      "user.cfg");
  EXPECT_EQ(Warnings(cfg), Strings{});
  EXPECT_EQ(cfg.acls.size(), 6u);
  for (const Acl& a : cfg.acls) {
    EXPECT_EQ(a.path, "/vms/100");
    EXPECT_EQ(a.line, 4);
  }
  EXPECT_EQ(FindAcl(cfg, "/vms/100", "ops", "PVEVMUser")->type, PrincipalType::kGroup);
  EXPECT_EQ(PrincipalTypeName(PrincipalType::kGroup), "group");
}

TEST(UserCfgTest, NestedPoolsCreateTheirParents) {
  AccessConfig cfg = ParseUserCfg("pool:dev/web/eu:Web%20EU:105::\npool:dev::100::\n", "user.cfg");
  EXPECT_EQ(Warnings(cfg), Strings{});
  ASSERT_TRUE(cfg.pools.count("dev/web"));
  EXPECT_TRUE(cfg.pools.at("dev/web").vms.empty());
  EXPECT_EQ(cfg.pools.at("dev/web/eu").comment, "Web EU");
  EXPECT_EQ(cfg.pools.at("dev/web/eu").vms, std::vector<int>{105});
  EXPECT_EQ(cfg.pools.at("dev").vms, std::vector<int>{100});
}

TEST(UserCfgTest, BuiltinRolesCannotBeRedefined) {
  AccessConfig cfg =
      ParseUserCfg("role:PVEVMUser:Sys.Modify:\nrole:NoAccess:VM.Audit:\n", "user.cfg");
  EXPECT_EQ(
      Warnings(cfg),
      (Strings{"1: user config - ignore role 'PVEVMUser' - built-in roles cannot be redefined",
               "2: user config - ignore role 'NoAccess' - built-in roles cannot be redefined"}));
  EXPECT_EQ(cfg.roles.at("PVEVMUser").privs, BuiltinRoles().at("PVEVMUser"));
  EXPECT_TRUE(cfg.roles.at("PVEVMUser").builtin);
  EXPECT_TRUE(cfg.roles.at("NoAccess").privs.empty());
}

TEST(UserCfgTest, UnknownPrivilegesDropped) {
  // VM.Monitor was dropped in 9.0 (replaced by VM.GuestAgent.*).
  AccessConfig cfg = ParseUserCfg("role:Old:VM.Monitor,VM.Audit;Sys.AccessNetwork:\n", "user.cfg");
  EXPECT_EQ(Warnings(cfg), Strings{"1: user config - ignore invalid privilege 'VM.Monitor'"});
  EXPECT_EQ(cfg.roles.at("Old").privs, (std::set<std::string>{"Sys.AccessNetwork", "VM.Audit"}));
}

TEST(UserCfgTest, CrlfAndBlankLines) {
  AccessConfig cfg =
      ParseUserCfg("\r\n   \nuser:alice@pve:1:0:\r\n\n\tgroup:g:alice@pve:\r\n", "user.cfg");
  EXPECT_EQ(Warnings(cfg), Strings{});
  EXPECT_EQ(cfg.groups.at("g").members, Strings{"alice@pve"});
}

TEST(BuiltinRolesTest, RoleSetsOfThisRelease) {
  const auto& r = BuiltinRoles();
  EXPECT_EQ(r.size(), 17u);
  EXPECT_EQ(AllPrivileges().size(), 47u);
  auto set = [](std::initializer_list<const char*> l) {
    return std::set<std::string>(l.begin(), l.end());
  };
  EXPECT_EQ(r.at("PVEAuditor"), set({"Datastore.Audit", "Mapping.Audit", "Pool.Audit", "SDN.Audit",
                                     "Sys.Audit", "VM.Audit", "VM.GuestAgent.Audit"}));
  EXPECT_EQ(r.at("PVEVMUser"),
            set({"VM.Audit", "VM.Backup", "VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console",
                 "VM.GuestAgent.Audit", "VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt",
                 "VM.GuestAgent.FileWrite", "VM.PowerMgmt"}));
  EXPECT_EQ(r.at("PVEVMAdmin").size(), 23u);
  EXPECT_EQ(r.at("PVEDatastoreUser"), set({"Datastore.AllocateSpace", "Datastore.Audit"}));
  EXPECT_EQ(r.at("PVESysAdmin"), set({"Sys.Audit", "Sys.Console", "Sys.Syslog"}));
  EXPECT_EQ(r.at("PVEUserAdmin"), set({"Group.Allocate", "Realm.AllocateUser", "User.Modify"}));
  EXPECT_EQ(r.at("PVEPoolUser"), set({"Pool.Audit"}));
  EXPECT_EQ(r.at("PVESDNUser"), set({"SDN.Audit", "SDN.Use"}));
  EXPECT_EQ(r.at("PVEMappingAdmin"), set({"Mapping.Audit", "Mapping.Modify", "Mapping.Use"}));
  EXPECT_EQ(r.at("PVETemplateUser"), set({"VM.Audit", "VM.Clone"}));
  EXPECT_FALSE(r.count("PVESysUser"));  // Sys has no user privileges
  EXPECT_FALSE(r.count("PVEUserUser"));
  EXPECT_FALSE(r.at("PVEAdmin").count("Mapping.Modify"));
  EXPECT_FALSE(r.at("PVEAdmin").count("Permissions.Modify"));
  EXPECT_FALSE(r.at("PVEAdmin").count("Sys.Modify"));
  EXPECT_TRUE(r.at("PVEAdmin").count("Sys.Console"));
  EXPECT_EQ(r.at("Administrator"), AllPrivileges());
  EXPECT_TRUE(r.at("NoAccess").empty());
}

}  // namespace
}  // namespace pveaudit::pve

// pve_config_test.cc: LoadPveConfig on a config dir and UserTfaStatus.
#include <gtest/gtest.h>

#include "pve/access_config.h"

namespace pveaudit::pve {
namespace {

const std::string kCluster = std::string(PVEAUDIT_TESTDATA) + "/pve/cluster";

TEST(LoadPveConfigTest, ReadsEveryFile) {
  auto cfg = LoadPveConfig(kCluster);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->dir, kCluster);
  EXPECT_EQ(cfg->access.users.size(), 6u);
  EXPECT_EQ(cfg->access.users.at("alice@pve").lastname, "Sm\xC3\xB6th");
  EXPECT_EQ(cfg->access.users.at("alice@pve").comment, "Ops: on-call");
  EXPECT_EQ(cfg->access.tokens.at("alice@pve!ci").comment, "CI pipeline");
  EXPECT_EQ(cfg->access.users.at("alice@pve").groups, std::vector<std::string>{"ops"});
  EXPECT_EQ(cfg->realms.at("corp").tfa_type, "oath");
  EXPECT_EQ(cfg->inventory.storages, (std::set<std::string>{"local", "local-lvm"}));
  EXPECT_EQ(cfg->inventory.guests,
            (std::map<int, std::string>{{100, "qemu"}, {101, "lxc"}, {103, "qemu"}}));
  EXPECT_EQ(cfg->inventory.guest_node.at(103), "pve2");
  EXPECT_EQ(cfg->tfa.locked, std::set<std::string>{"carol@pve"});
  // user.cfg warnings carry the full path and line.
  std::vector<std::string> got;
  for (const ConfigWarning& w : cfg->warnings)
    got.push_back(w.file.substr(kCluster.size()) + ":" + std::to_string(w.line) + ": " + w.message);
  EXPECT_EQ(got, (std::vector<std::string>{
                     "/user.cfg:16: user config - ignore invalid privilege 'VM.Monitor'",
                     "/user.cfg:24: user config - ignore invalid acl member 'ghost@pve'",
                 }));
}

TEST(LoadPveConfigTest, MissingUserCfgIsAnErrorNamingIt) {
  std::string dir = std::string(PVEAUDIT_TESTDATA) + "/pve/no-such-dir";
  auto cfg = LoadPveConfig(dir);
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(cfg.status().message(), "cannot read " + dir + "/user.cfg: No such file or directory");
}

TEST(LoadPveConfigTest, OptionalFilesMayBeAbsent) {
  // tests/data/pve/minimal holds only a user.cfg.
  std::string dir = std::string(PVEAUDIT_TESTDATA) + "/pve/minimal/";
  auto cfg = LoadPveConfig(dir);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->realms.size(), 2u);
  EXPECT_TRUE(cfg->tfa.users.empty());
  EXPECT_TRUE(cfg->inventory.guests.empty());
  std::vector<std::string> got;
  for (const ConfigWarning& w : cfg->warnings)
    got.push_back(w.file.substr(dir.size()) + ": " + w.message);
  EXPECT_EQ(got, (std::vector<std::string>{
                     "priv/tfa.cfg: not found; no user has TFA factors",
                     "domains.cfg: not found; only the pam and pve realms exist",
                     "storage.cfg: not found; no storages known",
                     "nodes: not found; guest inventory is empty",
                 }));
}

TEST(UserTfaStatusTest, FactorsLegacyKeysAndRealmEnforcement) {
  auto cfg = LoadPveConfig(kCluster);
  ASSERT_TRUE(cfg.ok());
  // Enabled factors only (alice's webauthn key is disabled).
  TfaStatus alice = UserTfaStatus(*cfg, "alice@pve");
  EXPECT_EQ(alice.types, (std::vector<std::string>{"recovery", "totp"}));
  EXPECT_FALSE(alice.realm_enforced);
  EXPECT_TRUE(alice.any());
  // "x!oath" only marks entries in tfa.cfg (there are none); the realm enforces oath.
  TfaStatus bob = UserTfaStatus(*cfg, "bob@corp");
  EXPECT_TRUE(bob.types.empty());
  EXPECT_TRUE(bob.realm_enforced);
  EXPECT_EQ(bob.realm_type, "oath");
  // A legacy secret in the keys field still counts.
  EXPECT_EQ(UserTfaStatus(*cfg, "dave@pve").types, std::vector<std::string>{"legacy"});
  EXPECT_EQ(UserTfaStatus(*cfg, "carol@pve").types, std::vector<std::string>{"yubico"});
  EXPECT_FALSE(UserTfaStatus(*cfg, "erin@pve").any());
  EXPECT_FALSE(UserTfaStatus(*cfg, "nobody@pve").any());
}

TEST(UserTfaStatusTest, KeysMarkers) {
  PveConfig cfg;
  cfg.access = ParseUserCfg(
      "user:a@pve:1:0:::::x:\nuser:b@pve:1:0:::::x!u2f:\nuser:c@pve:1:0:::::xyz:\n", "user.cfg");
  EXPECT_FALSE(UserTfaStatus(cfg, "a@pve").any());
  EXPECT_FALSE(UserTfaStatus(cfg, "b@pve").any());
  EXPECT_EQ(UserTfaStatus(cfg, "c@pve").types, std::vector<std::string>{"legacy"});
}

}  // namespace
}  // namespace pveaudit::pve

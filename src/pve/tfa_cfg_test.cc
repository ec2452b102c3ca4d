// tfa_cfg_test.cc: priv/tfa.cfg in both formats.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "pve/access_config.h"

namespace pveaudit::pve {
namespace {

std::string ReadFixture(const std::string& rel) {
  std::string path = PVEAUDIT_TESTDATA "/pve/";  // not a + chain: GCC PR 105651 at -O1
  path += rel;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Types(const std::vector<TfaFactor>& factors) {
  std::string out;
  for (const TfaFactor& f : factors)
    out += (out.empty() ? "" : " ") + f.type + (f.enabled ? "" : "(disabled)");
  return out;
}

TEST(TfaCfgTest, JsonFormat) {
  auto cfg = ParseTfaCfg(R"({
    "webauthn": {"rp": "pve", "origin": "https://pve:8006", "id": "pve"},
    "users": {
      "alice@pve": {
        "totp": [{"id": "t-1", "description": "phone", "created": 1700000000,
                  "entry": "otpauth://totp/x?secret=SECRETSECRET"}],
        "webauthn": [{"id": "w-1", "created": 1700000001, "enable": false, "entry": {"cred": {}}}],
        "recovery": {"secret": "s3cr3t", "entries": ["a1", null, "b2"], "created": 1700000002}
      },
      "bob@pve": {"yubico": [{"id": "y-1", "created": 1, "entry": "ccccccid"}], "totp-locked": true},
      "carol@pve": {"u2f": [{"id": "u-1", "created": 2, "entry": {"key": {}}}],
                    "tfa-locked-until": 4102444800},
      "dave@pve": {"recovery": {"secret": "x", "entries": [null, null], "created": 3},
                   "tfa-locked-until": 1000},
      "bad user": {"totp": []}
    }})",
                         "tfa.cfg");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->users.size(), 4u);
  EXPECT_EQ(Types(cfg->users.at("alice@pve")), "totp webauthn(disabled) recovery");
  const TfaFactor& t = cfg->users.at("alice@pve")[0];
  EXPECT_EQ(t.id, "t-1");
  EXPECT_EQ(t.description, "phone");
  EXPECT_EQ(t.created, 1700000000);
  EXPECT_EQ(cfg->users.at("alice@pve")[2].id, "recovery");
  EXPECT_EQ(cfg->users.at("alice@pve")[2].created, 1700000002);
  EXPECT_EQ(Types(cfg->users.at("bob@pve")), "yubico");
  EXPECT_EQ(Types(cfg->users.at("carol@pve")), "u2f");
  EXPECT_EQ(Types(cfg->users.at("dave@pve")), "recovery(disabled)");  // every code used
  // totp-locked, and a tfa-locked-until in the future; an expired one is dropped.
  EXPECT_EQ(cfg->locked, (std::set<std::string>{"bob@pve", "carol@pve"}));
  ASSERT_EQ(cfg->warnings.size(), 1u);
  EXPECT_EQ(cfg->warnings[0].message,
            "user tfa config - ignore user 'bad user' - invalid user name");
  EXPECT_EQ(cfg->warnings[0].file, "tfa.cfg");
}

TEST(TfaCfgTest, OldLineFormat) {
  auto cfg = ParseTfaCfg(ReadFixture("tfa-old.cfg"), "tfa.cfg");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  // One TOTP factor per key of an oath line, one per yubico key id, one per
  // u2f registration; a partial u2f registration (challenge) is discarded.
  EXPECT_EQ(Types(cfg->users.at("alice@pve")), "totp totp");
  EXPECT_EQ(Types(cfg->users.at("bob@pve")), "yubico yubico");
  EXPECT_EQ(Types(cfg->users.at("carol@pve")), "u2f");
  EXPECT_EQ(Types(cfg->users.at("dave@pve")), "");
  EXPECT_EQ(cfg->users.at("carol@pve")[0].id, "v1-entry");
  EXPECT_EQ(cfg->users.at("carol@pve")[0].description, "<old version 1 entry>");
}

TEST(TfaCfgTest, EmptyFileIsEmptyConfig) {
  auto cfg = ParseTfaCfg("", "tfa.cfg");
  ASSERT_TRUE(cfg.ok());
  EXPECT_TRUE(cfg->users.empty());
  EXPECT_TRUE(ParseTfaCfg("{}", "tfa.cfg").ok());
  EXPECT_TRUE(ParseTfaCfg("\n# nothing\n", "tfa.cfg").ok());
}

TEST(TfaCfgTest, NeitherFormatIsCorruption) {
  for (const char* text : {
           "garbage",
           "alice@pve:oath:not-base64!",
           "alice@pve:sms:e30=",                                    // {} of an unknown type
           R"({"users": {"alice@pve": {"totp": [], "sms": []}}})",  // deny_unknown_fields
           R"({"users": {"alice@pve": {"totp": [{"id": "x", "entry": "y"}]}}})",  // no created
           R"({"users": []})",
       }) {
    auto cfg = ParseTfaCfg(text, "/etc/pve/priv/tfa.cfg");
    ASSERT_FALSE(cfg.ok()) << text;
    EXPECT_EQ(cfg.status().code(), Status::Code::kCorruption);
    EXPECT_EQ(
        cfg.status().message().rfind(
            "/etc/pve/priv/tfa.cfg: failed to parse TFA file, neither old style nor valid json", 0),
        0u)
        << cfg.status().message();
  }
}

}  // namespace
}  // namespace pveaudit::pve

// domains_cfg_test.cc: realms from domains.cfg.
#include <gtest/gtest.h>

#include "pve/access_config.h"

namespace pveaudit::pve {
namespace {

TEST(DomainsCfgTest, SectionsPropertiesAndRealmTfa) {
  std::vector<ConfigWarning> warnings;
  auto realms = ParseDomainsCfg(
      "# realms\n"                                               // 1
      "pve: pve\n"                                               // 2
      "\tcomment Proxmox VE authentication server\n"             // 3
      "\tdefault 1\n"                                            // 4
      "\n"                                                       // 5
      "ldap: corp\n"                                             // 6
      "\tbase_dn dc=corp,dc=example\n"                           // 7
      "\tserver1 ldap.corp.example\n"                            // 8
      "\ttfa type=oath,step=30,digits=6\n"                       // 9
      "\tcomment Corp%3A%20LDAP\n"                               // 10
      "\n"                                                       // 11
      "AD: Win\n"                                                // 12
      "\tdomain win.example\n"                                   // 13
      "\ttfa type=yubico,id=42,key=k,url=https://api.example\n"  // 14
      "\n"                                                       // 15
      "bogus: thing\n"                                           // 16
      "\tfoo bar\n"                                              // 17
      "\n"                                                       // 18
      "openid: 1bad\n"                                           // 19
      "\tissuer-url https://id.example\n"                        // 20
      "\n"                                                       // 21
      "ldap: lab\n"                                              // 22
      "\ttfa type=sms\n"                                         // 23
      "notaproperty\n"                                           // 24
      "\n"                                                       // 25
      "stray line\n",                                            // 26
      "domains.cfg", &warnings);
  ASSERT_TRUE(realms.ok());
  EXPECT_EQ(realms->size(), 5u);  // pve, corp, Win, lab + forced pam
  EXPECT_TRUE(realms->at("pve").is_default);
  EXPECT_EQ(realms->at("corp").type, "ldap");
  EXPECT_EQ(realms->at("corp").tfa_type, "oath");
  EXPECT_EQ(realms->at("corp").comment, "Corp: LDAP");
  EXPECT_FALSE(realms->at("corp").is_default);
  EXPECT_EQ(realms->at("Win").type, "ad");  // the type is lower-cased
  EXPECT_EQ(realms->at("Win").tfa_type, "yubico");
  EXPECT_EQ(realms->at("lab").tfa_type, "");
  EXPECT_EQ(realms->at("pam").comment, "Linux PAM standard authentication");
  std::vector<std::string> got;
  for (const ConfigWarning& w : warnings) {
    EXPECT_EQ(w.file, "domains.cfg");
    got.push_back(std::to_string(w.line) + ": " + w.message);
  }
  EXPECT_EQ(got, (std::vector<std::string>{
                     "16: skip section 'thing': unsupported type 'bogus'",
                     "19: skip section '1bad': value does not look like a valid realm",
                     "23: section 'lab' - unable to parse value of 'tfa': value 'sms' does not "
                     "have a value in the enumeration 'yubico, oath'",
                     "24: section 'lab' - ignore config line: notaproperty",
                     "26: ignore config line: stray line",
                 }));
}

TEST(DomainsCfgTest, PamAndPveAlwaysExist) {
  auto realms = ParseDomainsCfg("", "domains.cfg");
  ASSERT_TRUE(realms.ok());
  ASSERT_EQ(realms->size(), 2u);
  EXPECT_EQ(realms->at("pam").type, "pam");
  EXPECT_EQ(realms->at("pve").type, "pve");
  EXPECT_EQ(realms->at("pve").comment, "Proxmox VE authentication server");
  EXPECT_FALSE(realms->at("pve").is_default);
}

}  // namespace
}  // namespace pveaudit::pve

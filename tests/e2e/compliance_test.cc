// pveam compliance requirements / exception add|list|remove.
#include "e2e_util.h"

namespace e2e {
namespace {

class ComplianceCliTest : public E2eTest {};

TEST_F(ComplianceCliTest, ExceptionsAreAddedListedAndRemovedAsAuditedChanges) {
  RunResult r = Sh("pveam compliance requirements --output-format json");
  ASSERT_EQ(r.code, 0) << r;
  auto reqs = Json(r);
  ASSERT_EQ(reqs.size(), 13u) << r;
  EXPECT_EQ(reqs[6]["id"], "pci-dss:2fa");
  EXPECT_EQ(reqs[6]["citation"], "PCI DSS v4.0.1 8.4.3");

  r =
      Sh("pveam compliance exception add --requirement pci-dss:2fa --subject svc-backup@pve "
         "--reason \"backup robot\" --approved-by ciso@pve --expires 2099-03-31");
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out,
            "exception 1 added: pci-dss:2fa (2FA for remote access, PCI DSS v4.0.1 8.4.3) for "
            "svc-backup@pve until 2099-03-31, approved by ciso@pve\n");
  r = Sh("pveam compliance exception list --output-format json");
  ASSERT_EQ(r.code, 0) << r;
  auto list = Json(r);
  ASSERT_EQ(list.size(), 1u) << r;
  EXPECT_EQ(list[0]["state"], "active");
  EXPECT_EQ(list[0]["subject"], "svc-backup@pve");
  r = Sh("pveam compliance exception remove 1");
  ASSERT_EQ(r.code, 0) << r;
  r = Sh("pveam compliance exception list");
  EXPECT_EQ(r.out, "no exception recorded\n") << r;
  r = Sh("pveam access log --action pveaudit --output-format json");
  ASSERT_EQ(r.code, 0) << r;
  auto ev = Json(r);
  ASSERT_EQ(ev.size(), 2u) << r;
  EXPECT_EQ(ev[0]["action"], "pveaudit:exception-add");
  EXPECT_EQ(ev[1]["action"], "pveaudit:exception-remove");
  EXPECT_TRUE(r.err.empty()) << r;
}

TEST_F(ComplianceCliTest, BadValuesExitTwoNamingThemAndCreateNoStore) {
  const std::string base =
      "pveam compliance exception add --subject s@pve --reason r --approved-by a@pve ";
  struct Case {
    std::string line, names;
  } cases[] = {
      {base + "--requirement pci-dss:mfa --expires 2099-01-01", "'pci-dss:mfa'"},
      {base + "--requirement pci-dss:2fa --expires 2099-02-30", "'2099-02-30'"},
      {base + "--requirement pci-dss:2fa --expires 2001-01-01", "that day is over"},
      {base + "--requirement pci-dss:2fa", "--expires"},
      {"pveam compliance exception remove x", "'x'"},
      {"pveam compliance frobnicate", "frobnicate"},
  };
  for (const Case& c : cases) {
    RunResult r = Sh(c.line);
    EXPECT_EQ(r.code, 2) << r;
    EXPECT_TRUE(Contains(r.err, c.names)) << r;
  }
  EXPECT_FALSE(std::filesystem::exists(data_dir_));
}

}  // namespace
}  // namespace e2e

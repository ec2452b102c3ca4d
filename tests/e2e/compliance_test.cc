// pveam compliance requirements / exception add|list|remove.
#include <map>

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

TEST_F(ComplianceCliTest, CheckReportsEachRequirementWithEvidenceAndFailsWhenOneFails) {
  ImportStandard();  // January 2025: nothing logged in the last 24 hours
  const std::string pve = kFixtures + "/../report/pve";
  RunResult r = Pveam({"compliance", "check", "--standard", "pci-dss", "--pve-dir", pve,
                       "--output-format", "json"});
  EXPECT_EQ(r.code, 1) << r;  // a requirement failed
  auto j = Json(r);
  ASSERT_TRUE(j.contains("checks")) << r;
  ASSERT_EQ(j["checks"].size(), 5u) << r;
  std::map<std::string, nlohmann::json> by;
  for (const auto& c : j["checks"]) by[c["requirement"]] = c;
  EXPECT_EQ(by["pci-dss:access-logging"]["result"], "FAIL");
  EXPECT_TRUE(Contains(by["pci-dss:access-logging"]["evidence"].get<std::string>(),
                       "node pve1: no event in 30 days"))
      << r;
  EXPECT_EQ(by["pci-dss:access-review"]["result"], "FAIL");
  // The fixture's logins are from January 2025: no session in the last 30 days.
  EXPECT_EQ(by["pci-dss:unique-ids"]["result"], "PASS");
  EXPECT_EQ(by["pci-dss:2fa"]["result"], "PASS");
  EXPECT_EQ(by["pci-dss:access-logging"]["citation"], "PCI DSS v4.0.1 10.2.1");

  r = Pveam({"compliance", "check", "--standard", "pci-dss", "--pve-dir", pve});
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_TRUE(Contains(r.out,
                       "\nFAIL       pci-dss:access-logging  Access logging (PCI DSS "
                       "v4.0.1 10.2.1)\n"))
      << r;
  // The fixture's events are from January 2025: the months since are a gap.
  EXPECT_TRUE(Contains(r.out, "summary: 2 PASS, 3 FAIL\n")) << r;
  EXPECT_TRUE(Contains(r.out, " month(s) without any event held: ")) << r;

  const std::string html = work_ + "/check.html";
  r = Pveam({"compliance", "check", "--standard", "hipaa", "--pve-dir", pve, "--output", html});
  EXPECT_EQ(r.out, "wrote " + html + "\n") << r;
  EXPECT_TRUE(Contains(ReadFile(html), "<html")) << ReadFile(html).substr(0, 200);
  EXPECT_TRUE(Contains(ReadFile(html), "HIPAA 45 CFR 164.312(d)"));
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
      {"pveam compliance check", "--standard"},
      {"pveam compliance check --standard iso27001", "'iso27001'"},
      {"pveam compliance check --standard sox --output-format pdf", "'pdf'"},
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

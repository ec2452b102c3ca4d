// pveum reports and pool-granted permissions, with the real pveum binary:
// a pool member path that no ACL names gets the pool's roles in `pveum
// user permissions`, and so it must in `pveum acl report` (coverage) and
// `pveum user report` (permissions column). Regression test for reports
// that listed only "/pool/p: R".
#include "e2e_util.h"

namespace e2e {
namespace {

class PoolReportTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    pve_dir_ = work_ + "/pve";
    std::filesystem::create_directories(pve_dir_);
    WriteFile(pve_dir_ + "/user.cfg",
              "user:root@pam:1:0::::::\n"
              "user:intern@pve:1:0::::::\n"
              "role:R:VM.Audit:\n"
              "pool:p::700::\n"
              "acl:1:/pool/p:intern@pve:R:\n");
  }
  std::vector<std::string> PveEnv() const { return {"PVEAUDIT_PVE_DIR=" + pve_dir_}; }
  std::string pve_dir_;
};

TEST_F(PoolReportTest, PoolMemberWithoutAclInEveryReport) {
  RunResult r = Sh("pveum user permissions intern@pve --output-format json", PveEnv());
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "/vms/700")) << r;
  EXPECT_TRUE(Contains(r.out, "VM.Audit")) << r;

  r = Sh("pveum acl report --output-format json", PveEnv());
  ASSERT_EQ(r.code, 0) << r;
  nlohmann::json j = Json(r);
  ASSERT_TRUE(j.contains("coverage")) << r;
  bool found = false;
  for (const auto& row : j["coverage"]) {
    if (row.value("path", "") != "/vms/700") continue;
    found = true;
    EXPECT_EQ(row.value("principal", ""), "intern@pve");
    EXPECT_EQ(row.value("roles", ""), "R");
    EXPECT_EQ(row.value("privileges", ""), "VM.Audit");
  }
  EXPECT_TRUE(found) << j["coverage"].dump();

  std::string out = work_ + "/user-access-report.csv";
  r = Sh("pveum user report --output " + out, PveEnv());
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(ReadFile(out), "/pool/p: R; /vms/700: R (this path only)")) << ReadFile(out);
}

}  // namespace
}  // namespace e2e

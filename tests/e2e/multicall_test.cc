// The multi-call front end: pveum (symlink) and pveam subcommands that
// belong to Proxmox's own tools when those are not installed.
#include "e2e_util.h"

namespace e2e {
namespace {

bool SystemToolInstalled(const std::string& name) {
  return std::filesystem::exists("/usr/bin/" + name) ||
         std::filesystem::exists("/usr/sbin/" + name);
}

TEST_F(E2eTest, PveumWithoutSystemPveumExits2) {
  if (SystemToolInstalled("pveum")) GTEST_SKIP() << "Proxmox's pveum is installed here";
  RunResult r = Sh("pveum user list");
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "pveum: 'pveum user list' is not provided by pveaudit and Proxmox's pveum is not "
            "installed\n");
  EXPECT_FALSE(std::filesystem::exists(data_dir_));
}

TEST_F(E2eTest, PveamForeignSubcommandWithoutSystemPveamExits2) {
  if (SystemToolInstalled("pveam")) GTEST_SKIP() << "Proxmox's pveam is installed here";
  RunResult r = Sh("pveam update");
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(Contains(r.err, "unknown command 'update'")) << r;
}

TEST_F(E2eTest, PveamVersion) {
  RunResult r = Sh("pveam --version");
  // Regression: `pveam --version` was reported as a parse error (exit 2).
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "pveaudit")) << r;
}

TEST_F(E2eTest, LogOnEmptyDataDirExits1WithHint) {
  RunResult r = Sh("pveam access log");
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_TRUE(Contains(r.err, "pveam access import")) << r;
  EXPECT_FALSE(std::filesystem::exists(data_dir_));
}

}  // namespace
}  // namespace e2e

// pveam access import of the further input formats (docs/formats.md):
// journalctl -o json / json-seq / short-full / short-unix and the cluster
// log as pvesh prints it, auto-detected, with the real pveam binary. The
// fixtures are the unit tests' (tests/data/ingest), copied to
// tests/data/e2e; their sources are cited in the unit tests.
#include "e2e_util.h"

namespace e2e {
namespace {

class InputFormatsTest : public E2eTest {
 protected:
  // Imports `name` with --format auto; returns the format it was read as
  // (the summary line's "(FORMAT)").
  std::string Import(const std::string& name) {
    std::string path = Fixture(name);
    RunResult r = Pveam({"access", "import", path});
    EXPECT_EQ(r.code, 0) << r;
    auto open = r.out.find(" ("), close = r.out.find("):");
    if (open == std::string::npos || close == std::string::npos) return "? " + r.out;
    return r.out.substr(open + 2, close - open - 2);
  }
  nlohmann::json Log(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"access", "log", "--output-format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = Pveam(args);
    EXPECT_EQ(r.code, 0) << r;
    return Json(r);
  }
  // "user action result" of each event, oldest first.
  std::vector<std::string> Summary() {
    std::vector<std::string> out;
    for (const auto& e : Log())
      out.push_back(e.value("user", "") + " " + e.value("action", "") + " " +
                    e.value("result", ""));
    return out;
  }
};

TEST_F(InputFormatsTest, JournalctlJson) {
  EXPECT_EQ(Import("journal.json"), "journal-json");
  EXPECT_EQ(EventCount(), 5);
  auto log = Log({"--user", "alice@pve"});
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].value("node", ""), "pve1");
  EXPECT_EQ(log[0].value("time", ""), "2025-07-08T12:42:41.250001Z");
}

TEST_F(InputFormatsTest, JournalctlJsonSeq) {
  EXPECT_EQ(Import("journal.seq"), "journal-json");
  EXPECT_EQ(EventCount(), 5);
}

TEST_F(InputFormatsTest, ShortFullAndShortUnixGiveTheSameEvents) {
  EXPECT_EQ(Import("auth-short-full.log"), "auth");
  auto full = Summary();
  EXPECT_EQ(full, (std::vector<std::string>{"root@pam login failure", "alice@pve login success"}));
  auto times = Log();
  ASSERT_EQ(times.size(), 2u);
  EXPECT_EQ(times[0].value("time", ""), "2025-07-08T10:42:30Z");
  // A separate store for the short-unix copy of the same entries.
  data_dir_ = root_ + "/data-unix";
  EXPECT_EQ(Import("auth-short-unix.log"), "auth");
  EXPECT_EQ(Summary(), full);
  auto unix_times = Log();
  ASSERT_EQ(unix_times.size(), 2u);
  EXPECT_EQ(unix_times[0].value("time", ""), "2025-07-08T10:42:30Z");
  EXPECT_EQ(unix_times[1].value("time", ""), "2025-07-08T10:42:41.250001Z");
}

TEST_F(InputFormatsTest, ClusterLogOneLine) {
  EXPECT_EQ(Import("clusterlog.json"), "clusterlog");
  EXPECT_EQ(EventCount(), 4);
  // "starting task" and "end task" of one UPID are stored (evidence) and
  // shown as one task with the final status.
  auto tasks = Log({"--action", "vm:start"});
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].value("user", ""), "alice@pve");
  EXPECT_EQ(tasks[0].value("resource", ""), "/vms/210");
  EXPECT_EQ(tasks[0].value("source", ""), "clusterlog");
  EXPECT_EQ(tasks[0].value("result", ""), "success");
  nlohmann::json failed = nlohmann::json::array();
  for (const auto& e : Log())
    if (e.value("result", "") == "failure") failed.push_back(e);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].value("status", ""), "job errors");
  EXPECT_EQ(failed[0].value("node", ""), "pve2");
}

TEST_F(InputFormatsTest, ClusterLogPrettyPrintedAndAgainStoresNothing) {
  std::string path = Fixture("clusterlog-pretty.json");
  RunResult r = Pveam({"access", "import", path});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "(clusterlog)")) << r;
  EXPECT_EQ(EventCount(), 4);
  r = Pveam({"access", "import", path});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(EventCount(), 4);
}

}  // namespace
}  // namespace e2e

// pveam access export / export verify / key: a month's evidence bundle,
// checked on "another machine" (another data dir, no store) by pveam and
// by the public tools an auditor has (sha256sum, openssl).
#include "e2e_util.h"

namespace e2e {
namespace {

class ExportBundleTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    ImportStandard();
  }
  // A command run by /bin/sh in `dir` (the auditor's tools).
  static int Tool(const std::string& dir, const std::string& cmd) {
    return std::system(("cd '" + dir + "' && " + cmd + " >/dev/null 2>&1").c_str());
  }
};

TEST_F(ExportBundleTest, AMonthIsTheLogsOutputSignedAndVerifiesElsewhereWithoutAStore) {
  RunResult key = Sh("pveam access key --pem");
  ASSERT_EQ(key.code, 0) << key;
  ASSERT_TRUE(Contains(key.out, "BEGIN PUBLIC KEY")) << key;
  const std::string key_file = work_ + "/pve1-key.pem";
  WriteFile(key_file, key.out);
  const int64_t before = EventCount();

  const std::string dir = work_ + "/2025-01";
  RunResult r =
      Pveam({"access", "export", "--month", "2025-01", "--output", dir, "--user", "auditor@pve"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "events of 2025-01 (events.csv)")) << r;
  // The month ends before 2025-02-01 00:00 (event 20 is logged at exactly
  // that instant: it belongs to February).
  RunResult log = Pveam({"access", "log", "--start", "2025-01-01", "--end", "2025-02-01 00:00:00",
                         "--output-format", "csv"});
  ASSERT_EQ(log.code, 0) << log;
  EXPECT_EQ(ReadFile(dir + "/events.csv"), log.out);
  EXPECT_TRUE(Contains(log.out, "\r\n19,2025-01-31T23:59:00Z,")) << log;
  EXPECT_FALSE(Contains(log.out, "\r\n20,")) << log;

  // The export is an audit event, with the bundle's digest.
  EXPECT_EQ(EventCount(), before + 1);
  RunResult ev = Sh("pveam access log --action audit:export --output-format json");
  ASSERT_EQ(ev.code, 0) << ev;
  auto j = Json(ev);
  ASSERT_EQ(j.size(), 1u) << ev;
  EXPECT_EQ(j[0]["user"], "auditor@pve");
  EXPECT_TRUE(Contains(j[0]["detail"].get<std::string>(), "month=2025-01 format=csv")) << ev;
  EXPECT_TRUE(ev.err.empty()) << ev;  // a known action: no "not a known action" note

  // Another machine: a data dir with no store; nothing is created there.
  const std::string elsewhere = root_ + "/auditor";
  std::vector<std::string> env = {"PVEAUDIT_DATA_DIR=" + elsewhere};
  RunResult v =
      RunProgram(kPveam, {"pveam", "access", "export", "verify", dir, "--key", key_file}, Env(env));
  EXPECT_EQ(v.code, 0) << v;
  EXPECT_EQ(v.out.rfind("OK: " + dir + ", ", 0), 0u) << v;
  EXPECT_TRUE(Contains(v.out, "checked against the trusted key")) << v;
  EXPECT_FALSE(std::filesystem::exists(elsewhere));
  v = RunProgram(kPveam, {"pveam", "access", "export", "verify", dir, "--output-format", "json"},
                 Env(env));
  EXPECT_EQ(v.code, 0) << v;
  EXPECT_EQ(Json(v)["intact"], 1) << v;
  EXPECT_EQ(Json(v)["trusted_key"], 0) << v;
  // The documented check with public tools.
  EXPECT_EQ(Tool(dir, "sha256sum -c SHA256SUMS"), 0);
  EXPECT_EQ(Tool(dir, "openssl pkeyutl -verify -pubin -inkey '" + key_file +
                          "' -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig"),
            0);

  // One flipped byte: pveam names the file; sha256sum fails too.
  std::string csv = ReadFile(dir + "/events.csv");
  csv[csv.size() / 3] ^= 0x20;
  WriteFile(dir + "/events.csv", csv);
  v = RunProgram(kPveam, {"pveam", "access", "export", "verify", dir, "--key", key_file}, Env(env));
  EXPECT_EQ(v.code, 1) << v;
  EXPECT_EQ(v.out.rfind("BROKEN: events.csv: sha256 ", 0), 0u) << v;
  EXPECT_NE(Tool(dir, "sha256sum -c SHA256SUMS"), 0);
}

TEST_F(ExportBundleTest, BadArgumentsExitTwoNamingTheValueAndChangeNothing) {
  const int64_t before = EventCount();
  const std::string busy = work_ + "/busy";
  std::filesystem::create_directories(busy);
  WriteFile(busy + "/mine.txt", "x");
  struct Case {
    std::vector<std::string> args;
    std::string names;
  } cases[] = {
      {{"access", "export", "--month", "2025-13", "--output", work_ + "/a"}, "'2025-13'"},
      {{"access", "export", "--month", "2099-01", "--output", work_ + "/a"}, "has not begun"},
      {{"access", "export", "--month", "2025-01", "--output", work_ + "/a", "--output-format",
        "xml"},
       "'xml'"},
      {{"access", "export", "--output", work_ + "/a"}, "--month"},
      {{"access", "export", "--month", "2025-01"}, "--output"},
      {{"access", "export", "--month", "2025-01", "--output", busy}, "'" + busy + "'"},
      {{"access", "export", "verify", work_ + "/a", "--key", busy + "/mine.txt"},
       "'" + busy + "/mine.txt'"},
      {{"access", "export", "verify", work_ + "/a", "--output-format", "csv"}, "'csv'"},
  };
  for (const Case& c : cases) {
    RunResult r = Pveam(c.args);
    EXPECT_EQ(r.code, 2) << r;
    EXPECT_TRUE(Contains(r.err, c.names)) << r;
  }
  EXPECT_FALSE(std::filesystem::exists(work_ + "/a"));
  EXPECT_FALSE(std::filesystem::exists(data_dir_ + "/signing-key.pem"));
  EXPECT_EQ(ReadFile(busy + "/mine.txt"), "x");
  EXPECT_EQ(EventCount(), before);
}

}  // namespace
}  // namespace e2e

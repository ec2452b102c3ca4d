// What a new user meets first (issue 8), with the real binaries: the demo
// on data that ends now with a matching Proxmox config dir, every --help
// within 80 columns, --version, commands not built yet, whether pveauditd
// really runs (`pveam access status`), unknown time zones, the store's file
// modes, and the report's --output names.
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <thread>

#include "e2e_util.h"

namespace e2e {
namespace {

const std::string kPveauditd = PVEAUDITD_BIN;
const std::string kSourceDir = SOURCE_DIR;

std::string Join(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 07777;
  return st.st_mode & 0777;
}

// The names listed under "Subcommands:" in a help text (entry lines start
// with two blanks; wrapped descriptions with more).
std::vector<std::string> SubcommandsIn(const std::string& help) {
  std::vector<std::string> names;
  bool in = false;
  for (const std::string& l : Lines(help)) {
    if (l == "Subcommands:") {
      in = true;
      continue;
    }
    if (!in) continue;
    if (l.empty()) break;
    if (l.size() > 2 && l.rfind("  ", 0) == 0 && l[2] != ' ')
      names.push_back(l.substr(2, l.find(' ', 2) - 2));
  }
  return names;
}

class FirstRunTest : public E2eTest {
 protected:
  void TearDown() override {
    StopProcess(&daemon_, SIGKILL);
    E2eTest::TearDown();
  }
  // Starts pveauditd following an (empty) access.log into data_dir_ and
  // waits until `pveam access status` reports it.
  void StartDaemon() {
    const std::string log = work_ + "/access.log";
    WriteFile(log, "");
    daemon_ = SpawnQuiet(kPveauditd,
                         {"pveauditd", "--data-dir", data_dir_, "--access-log", log, "--node",
                          "pve1", "--pve-dir", work_},
                         Env());
    ASSERT_GT(daemon_, 0);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < until) {
      RunResult r = Pveam({"access", "status", "--output-format", "json"});
      auto j = nlohmann::json::parse(r.out, nullptr, false);
      if (j.is_object() && j["daemon"].is_object() && j["daemon"].value("pid", -1) == daemon_)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "pveauditd did not publish its status";
  }
  // Writes the daemon's status row as a pveauditd with `pid` would.
  void ForgeDaemonStatus(long pid, time_t updated_at = 0) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(DbPath().c_str(), &db), SQLITE_OK);
    time_t now = updated_at ? updated_at : time(nullptr);
    char updated[32];
    strftime(updated, sizeof updated, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    nlohmann::json j = {{"pid", pid}, {"updated", updated}, {"healthy", true}};
    std::string sql =
        "INSERT OR REPLACE INTO settings(key,value,changed_by,changed) VALUES('daemon.status','" +
        j.dump() + "','pveauditd',0)";
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
    sqlite3_free(err);
    sqlite3_close(db);
  }
  pid_t daemon_ = -1;
};

// ------------------------------------------------------------------ help --

// Regression: CLI11 printed each option's description on one line, up to
// 200 columns wide.
TEST_F(FirstRunTest, EveryHelpLineFitsIn80Columns) {
  // `pveum user --help` and `pveum acl --help` belong to Proxmox's pveum:
  // their pveaudit subcommands are visited directly.
  std::vector<std::vector<std::string>> todo = {{"pveam"},
                                                {"pveum"},
                                                {"pveum", "user", "report"},
                                                {"pveum", "user", "permissions"},
                                                {"pveum", "acl", "report"}};
  std::set<std::string> checked;
  while (!todo.empty()) {
    std::vector<std::string> words = todo.back();
    todo.pop_back();
    std::vector<std::string> args = words;
    args.push_back("--help");
    RunResult r = RunProgram(words[0] == "pveum" ? kPveum : kPveam, args, Env());
    if (words.size() == 2 && (words[1] == "user" || words[1] == "acl")) continue;
    if (checked.count(Join(words))) continue;
    ASSERT_EQ(r.code, 0) << Join(args) << "\n" << r;
    for (const std::string& l : Lines(r.out)) EXPECT_LE(l.size(), 80u) << Join(args) << ":\n" << l;
    checked.insert(Join(words));
    for (const std::string& sub : SubcommandsIn(r.out)) {
      std::vector<std::string> w = words;
      w.push_back(sub);
      todo.push_back(w);
    }
  }
  RunResult r = RunProgram(kPveauditd, {"pveauditd", "--help"}, Env());
  ASSERT_EQ(r.code, 0) << r;
  for (const std::string& l : Lines(r.out)) EXPECT_LE(l.size(), 80u) << "pveauditd --help:\n" << l;
  // Every command was reached, e.g. the deepest ones.
  for (const char* c :
       {"pveam access log", "pveam access import", "pveam access status", "pveam access sessions",
        "pveam access rejected", "pveam access verify", "pveum user report",
        "pveum user permissions", "pveum acl report", "pveum audit quarterly"})
    EXPECT_TRUE(checked.count(c)) << c;
  // Wrapping keeps the words: a long description is still all there.
  RunResult log = Pveam({"access", "log", "--help"});
  EXPECT_TRUE(Contains(log.out, "this-week, week-ago, this-month,")) << log.out;
}

TEST_F(FirstRunTest, VersionOfEveryBinary) {
  // Regression: `pveauditd --version` was an unknown option (exit 2).
  RunResult d = RunProgram(kPveauditd, {"pveauditd", "--version"}, Env());
  EXPECT_EQ(d.code, 0) << d;
  EXPECT_EQ(d.out, "pveaudit 0.1.0\n");
  RunResult a = Pveam({"--version"});
  EXPECT_EQ(a.code, 0) << a;
  EXPECT_EQ(a.out, d.out);
  RunResult u = Sh("pveum --version");
  EXPECT_EQ(u.code, 0) << u;
  EXPECT_EQ(u.out, d.out);
}

// Regression: the product page's `pveam access syslog` answered "unknown
// command 'syslog' (did you mean 'log'?)".
// Every command of the product page is built (syslog and notify were
// answered "not built yet" until issue 9); a typo gets a hint.
TEST_F(FirstRunTest, TypoOfACommandGetsAHint) {
  // A look-alike typo is still an unknown command with a hint.
  RunResult r = Sh("pveam access syslg");
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "unknown command 'syslg'")) << r;
  EXPECT_FALSE(std::filesystem::exists(data_dir_));
}

// ------------------------------------------------------------ time zones --

// Regression: an unknown zone silently became UTC (glibc's fallback), which
// shifted every off-hours window and every date.
TEST_F(FirstRunTest, UnknownTimezoneInTheConfigIsAnError) {
  WriteFile(config_, "\n\ntimezone = \"Europe/Viena\"\n");
  RunResult c = RunProgram(kPveauditd, {"pveauditd", "--check-config", "--config", config_}, {});
  EXPECT_EQ(c.code, 2) << c;
  EXPECT_TRUE(Contains(c.err, config_ + ":3: key 'timezone': unknown time zone 'Europe/Viena'"))
      << c;
  for (const char* line : {"pveam access log --start today", "pveam access status",
                           "pveum user report --output-format csv"}) {
    RunResult r = Sh(line, {"PVEAUDIT_PVE_DIR=" + kFixtures + "/pve"});
    EXPECT_EQ(r.code, 2) << line << "\n" << r;
    EXPECT_TRUE(Contains(r.err, "key 'timezone': unknown time zone 'Europe/Viena'")) << line << "\n"
                                                                                     << r;
  }
  EXPECT_FALSE(std::filesystem::exists(data_dir_));
}

TEST_F(FirstRunTest, KnownTimezonesAreAccepted) {
  std::vector<std::string> zones = {"UTC", "CET-1CEST,M3.5.0,M10.5.0/3", "<+0330>-3:30"};
  if (std::filesystem::exists("/usr/share/zoneinfo/Europe/Vienna")) {
    zones.push_back("Europe/Vienna");
    zones.push_back(":America/New_York");
  }
  for (const std::string& z : zones) {
    WriteFile(config_, "timezone = \"" + z + "\"\n");
    RunResult c = RunProgram(kPveauditd, {"pveauditd", "--check-config", "--config", config_}, {});
    EXPECT_EQ(c.code, 0) << z << "\n" << c;
    RunResult r = Sh("pveam access log");
    EXPECT_EQ(r.code, 1) << z << "\n" << r;  // no store yet: not an argument error
  }
}

TEST_F(FirstRunTest, UnknownTzEnvironmentIsAnErrorWithoutAConfigZone) {
  RunResult r = Sh("pveam access log --start today", {"TZ=Mars/Olympus"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "environment variable TZ: unknown time zone 'Mars/Olympus'")) << r;
  RunResult d = RunProgram(kPveauditd, {"pveauditd", "--check-config", "--config", config_},
                           {"TZ=Mars/Olympus"});
  EXPECT_EQ(d.code, 2) << d;
  EXPECT_TRUE(Contains(d.err, "TZ")) << d;
  // The config's zone wins over $TZ, so a bad $TZ is not used and not an error.
  WriteFile(config_, "timezone = \"UTC\"\n");
  RunResult ok = Sh("pveam access log", {"TZ=Mars/Olympus"});
  EXPECT_EQ(ok.code, 1) << ok;  // no store yet
}

// ------------------------------------------------------------ file modes --

// Regression: the store was created 0644 in a 0755 directory: user names
// and client addresses readable by every local account.
TEST_F(FirstRunTest, StoreIsReadableOnlyByItsOwner) {
  const mode_t old = umask(0);  // even with a permissive umask
  ImportStandard();
  umask(old);
  EXPECT_EQ(ModeOf(data_dir_), 0700u);
  EXPECT_EQ(ModeOf(DbPath()), 0600u);
  for (const char* ext : {"-wal", "-shm"})
    if (std::filesystem::exists(DbPath() + ext)) {
      EXPECT_EQ(ModeOf(DbPath() + ext), 0600u) << ext;
    }
}

TEST_F(FirstRunTest, DaemonFilesAreReadableOnlyByItsOwner) {
  const mode_t old = umask(0);
  StartDaemon();
  umask(old);
  // While the daemon has the store open, its WAL and shared-memory files exist.
  EXPECT_EQ(ModeOf(data_dir_), 0700u);
  for (const char* ext : {"", "-wal", "-shm"}) {
    ASSERT_TRUE(std::filesystem::exists(DbPath() + ext)) << ext;
    EXPECT_EQ(ModeOf(DbPath() + ext), 0600u) << ext;
  }
}

TEST_F(FirstRunTest, ExistingLooseStoreIsTightened) {
  ImportStandard();
  ASSERT_EQ(chmod(data_dir_.c_str(), 0755), 0);
  ASSERT_EQ(chmod(DbPath().c_str(), 0644), 0);
  WriteFile(DbPath() + "-shm", "");  // as a crashed writer leaves it
  ASSERT_EQ(chmod((DbPath() + "-shm").c_str(), 0644), 0);
  // Reading does not change modes; writing (import, daemon) tightens them.
  ASSERT_EQ(Pveam({"access", "log", "--limit", "1"}).code, 0);
  EXPECT_EQ(ModeOf(DbPath()), 0644u);
  RunResult r = Pveam({"access", "import", "--format", "json", Fixture("events.jsonl")});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(ModeOf(data_dir_), 0700u);
  EXPECT_EQ(ModeOf(DbPath()), 0600u);
  if (std::filesystem::exists(DbPath() + "-shm")) {
    EXPECT_EQ(ModeOf(DbPath() + "-shm"), 0600u);
  }
}

// A data dir shared with other files (not the store's own) keeps its mode:
// only the store's files are restricted.
TEST_F(FirstRunTest, SharedDataDirKeepsItsMode) {
  std::filesystem::create_directories(data_dir_);
  ASSERT_EQ(chmod(data_dir_.c_str(), 0755), 0);
  WriteFile(data_dir_ + "/notes.txt", "not ours\n");
  ImportStandard();
  EXPECT_EQ(ModeOf(data_dir_), 0755u);
  EXPECT_EQ(ModeOf(DbPath()), 0600u);
}

// ---------------------------------------------------------------- status --

// Regression: `pveam access status` showed a dead daemon's pid as if it
// were running, and exited 0.
TEST_F(FirstRunTest, StatusSaysWhetherPveauditdIsRunning) {
  StartDaemon();
  RunResult r = Pveam({"access", "status"});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "pveauditd: running (pid " + std::to_string(daemon_))) << r;
  RunResult j = Pveam({"access", "status", "--output-format", "json"});
  EXPECT_EQ(j.code, 0) << j;
  EXPECT_EQ(Json(j).value("daemon_state", ""), "running") << j;

  const pid_t pid = daemon_;
  EXPECT_EQ(StopProcess(&daemon_, SIGKILL), 128 + SIGKILL);
  r = Pveam({"access", "status"});
  EXPECT_EQ(r.code, 3) << r;
  EXPECT_TRUE(Contains(r.out, "pveauditd: not running (last seen ")) << r;
  EXPECT_TRUE(Contains(r.out, "pid " + std::to_string(pid) + " has exited")) << r;
  EXPECT_FALSE(Contains(r.out, "pveauditd: running")) << r;
  j = Pveam({"access", "status", "--output-format", "json"});
  EXPECT_EQ(j.code, 3) << j;
  EXPECT_EQ(Json(j).value("daemon_state", ""), "not running") << j;
  EXPECT_EQ(Json(j)["daemon"].value("pid", -1), pid) << j;  // as last seen
}

// The pid is alive but belongs to another program (reused after a crash or
// reboot): not running. This test process plays that program.
TEST_F(FirstRunTest, StatusOfAPidReusedByAnotherProgram) {
  ImportStandard();
  ForgeDaemonStatus(getpid());
  RunResult r = Pveam({"access", "status"});
  EXPECT_EQ(r.code, 3) << r;
  EXPECT_TRUE(Contains(r.out, "pveauditd: not running")) << r;
  EXPECT_TRUE(Contains(r.out, "not pveauditd")) << r;
}

// A live pveauditd whose status is two minutes old (here: one stuck
// retrying a store it cannot create) is stalled, exit 3; with a fresh
// status the same pid counts as running.
TEST_F(FirstRunTest, StatusOfAStalledPveauditd) {
  ImportStandard();
  WriteFile(work_ + "/file", "");
  daemon_ = SpawnQuiet(kPveauditd,
                       {"pveauditd", "--data-dir", work_ + "/file/store", "--access-log",
                        work_ + "/none.log", "--node", "pve1"},
                       Env());
  ASSERT_GT(daemon_, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ForgeDaemonStatus(daemon_, time(nullptr) - 120);
  RunResult r = Pveam({"access", "status"});
  EXPECT_EQ(r.code, 3) << r;
  EXPECT_TRUE(Contains(r.out, "pveauditd: stalled (pid " + std::to_string(daemon_) +
                                  " is alive but has not updated its status for 1"))
      << r;
  ForgeDaemonStatus(daemon_);
  r = Pveam({"access", "status"});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "pveauditd: running (pid " + std::to_string(daemon_))) << r;
}

TEST_F(FirstRunTest, StatusOfAStoreOnlyImportedExits0) {
  ImportStandard();
  RunResult r = Pveam({"access", "status"});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "pveauditd: not started (has not run against this store)")) << r;
  EXPECT_EQ(Status()["daemon_state"], "not started");
}

// --------------------------------------------------------------- reports --

// Regression: --output r.xlsx was silently written as CSV.
TEST_F(FirstRunTest, ReportOutputWithAnUnknownExtensionIsRefused) {
  const std::vector<std::string> env = {"PVEAUDIT_PVE_DIR=" + kFixtures + "/pve"};
  for (const char* cmd : {"pveum user report --output ", "pveum acl report --output "}) {
    const std::string out = work_ + "/r.xlsx";
    std::filesystem::remove(out);
    RunResult r = Sh(cmd + out, env);
    EXPECT_EQ(r.code, 2) << cmd << "\n" << r;
    EXPECT_TRUE(Contains(r.err, "'" + out + "'")) << r;
    EXPECT_TRUE(Contains(r.err, ".csv, .json, .html")) << r;
    EXPECT_FALSE(std::filesystem::exists(out));
    // Look-alikes that are honoured: an explicit format, a known extension
    // in capitals, a name without an extension, dots in the name.
    for (const std::string& ok : {out + " --output-format csv", work_ + "/R.CSV", work_ + "/report",
                                  work_ + "/q4.2026.review.json"}) {
      RunResult w = Sh(cmd + ok, env);
      EXPECT_EQ(w.code, 0) << cmd << ok << "\n" << w;
    }
  }
  EXPECT_EQ(ReadFile(work_ + "/r.xlsx").rfind("section,", 0), 0u);  // the acl report, as CSV
  // An existing FIFO's name is not a file type (PveumTest's report.fifo).
}

TEST_F(FirstRunTest, ReportWithoutUserCfgPointsToPveDir) {
  RunResult r = Sh("pveum user report", {"PVEAUDIT_PVE_DIR=" + work_});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, work_ + "/user.cfg")) << r;
  EXPECT_TRUE(Contains(r.err, "--pve-dir")) << r;
  EXPECT_TRUE(Contains(r.err, "pve_dir")) << r;
}

// ------------------------------------------------------------------ demo --

#ifdef GEN_BIN
const std::string kGen = GEN_BIN;

// Access-log times of one file, epoch seconds ("[30/11/2026:03:34:29 +0000]").
std::vector<int64_t> AccessTimes(const std::string& path) {
  std::vector<int64_t> v;
  for (const std::string& l : Lines(ReadFile(path))) {
    size_t b = l.find('[');
    struct tm tm = {};
    if (b == std::string::npos || !strptime(l.c_str() + b + 1, "%d/%m/%Y:%H:%M:%S", &tm)) continue;
    v.push_back(timegm(&tm));
  }
  return v;
}

// The demo's data ends at --now: nothing later, people active in the last
// hours, and every planned line written or counted as cut.
TEST_F(FirstRunTest, GeneratorEndDateTodayEndsAtNow) {
  const int64_t now = 1772620200;  // 2026-03-04T10:30:00Z
  const std::string out = work_ + "/gen";
  RunResult g = RunProgram(kGen,
                           {"pveaudit-gen", "--events", "20000", "--days", "3", "--end-date",
                            "today", "--now", "2026-03-04T10:30:00Z", "--out", out},
                           {});
  ASSERT_EQ(g.code, 0) << g;
  int64_t newest = 0, oldest = INT64_MAX;
  for (const char* node : {"pve1", "pve2", "pve3"})
    for (int64_t t : AccessTimes(out + "/" + node + "/access.log")) {
      EXPECT_LE(t, now);
      newest = std::max(newest, t);
      oldest = std::min(oldest, t);
    }
  EXPECT_GE(newest, now - 1800) << "nothing in the last half hour";
  EXPECT_GE(oldest, now - 2 * 86400 - 10 * 3600 - 1800);  // from 2026-03-02T00:00Z
  std::string manifest = ReadFile(out + "/MANIFEST.txt");
  EXPECT_TRUE(Contains(manifest, "start=2026-03-02\n")) << manifest;
  EXPECT_TRUE(Contains(manifest, "end_date=2026-03-04\n")) << manifest;
  auto value = [&](const std::string& key) {
    size_t p = manifest.find("\n" + key + "=");
    return p == std::string::npos ? -1 : std::stoll(manifest.substr(p + key.size() + 2));
  };
  EXPECT_GT(value("cut_after_now"), 0);
  EXPECT_EQ(value("total_lines") + value("cut_after_now"), 20000);
}

// The fixed default window, which the benchmark's figures rely on, is not
// changed by the new options: --end-date naming the same last day and
// --pve-dir give the same log bytes.
TEST_F(FirstRunTest, GeneratorDefaultWindowUnchangedByNewOptions) {
  auto run = [&](const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args = {"pveaudit-gen", "--events", "5000", "--out",
                                     work_ + "/" + name};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = RunProgram(kGen, args, {});
    EXPECT_EQ(r.code, 0) << r;
  };
  run("a", {});
  run("b", {"--end-date", "2025-01-30", "--pve-dir", work_ + "/pve"});
  for (const char* f : {"pve1/access.log", "pve2/auth.log", "pve3/tasks/index"})
    EXPECT_EQ(ReadFile(work_ + "/a/" + f), ReadFile(work_ + "/b/" + f)) << f;
  EXPECT_TRUE(Contains(ReadFile(work_ + "/a/MANIFEST.txt"), "start=2025-01-01\n"));
  EXPECT_TRUE(std::filesystem::exists(work_ + "/pve/user.cfg"));
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--end-date", "tomorrow"},
        std::vector<std::string>{"--end-date", "2025-01-30", "--start", "2025-01-01"},
        std::vector<std::string>{"--end-date", "2025-01-30", "--now", "1"}}) {
    std::vector<std::string> args = {"pveaudit-gen", "--events", "10", "--out", work_ + "/c"};
    args.insert(args.end(), bad.begin(), bad.end());
    RunResult r = RunProgram(kGen, args, {});
    EXPECT_EQ(r.code, 2) << Join(bad) << "\n" << r;
  }
}

// Regression: the demo's data was fixed in January 2025, so `pveam access
// sessions` and `--start today` showed nothing, and the reports had no
// Proxmox config to read.
TEST_F(FirstRunTest, DemoShowsSessionsNowAndTheReportsWork) {
  const std::string demo = root_ + "/demo";
  const std::string bin = std::filesystem::path(kPveam).parent_path().string();
  RunResult d = RunProgram("/bin/bash", {"bash", kSourceDir + "/scripts/demo"},
                           {"DEMO_SKIP_BUILD=1", "DEMO_BIN=" + bin, "DEMO_DIR=" + demo,
                            "DEMO_EVENTS=40000", "DEMO_DAYS=7"});
  ASSERT_EQ(d.code, 0) << d;
  EXPECT_TRUE(Contains(d.out, "export PVEAUDIT_CONFIG=" + demo + "/pveaudit.toml")) << d.out;
  // As the user would after the demo: the config file names everything.
  const std::vector<std::string> env = {"PVEAUDIT_CONFIG=" + demo + "/pveaudit.toml",
                                        "PVEAUDIT_DATA_DIR=", "TZ="};
  auto json = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "pveam");
    args.push_back("--output-format");
    args.push_back("json");
    RunResult r = RunProgram(kPveam, args, env);
    EXPECT_EQ(r.code, 0) << Join(args) << "\n" << r;
    return Json(r);
  };
  EXPECT_GE(json({"access", "sessions"}).size(), 1u) << "no session open now";
  EXPECT_GE(json({"access", "log", "--start", "today", "--limit", "5"}).size(), 1u);
  EXPECT_GE(json({"access", "log", "--start", "this-week", "--limit", "5"}).size(), 1u);
  nlohmann::json st = json({"access", "status"});
  EXPECT_EQ(st.value("data_dir", ""), demo + "/store");
  EXPECT_GT(st.value("events", 0), 30000);
  // Nothing from the future.
  char now[32];
  time_t t = time(nullptr);
  strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  EXPECT_LE(st.value("last_time", ""), std::string(now));

  for (const char* report : {"user", "acl"}) {
    const std::string out = root_ + "/" + report + ".csv";
    RunResult r = RunProgram(kPveum, {"pveum", report, "report", "--output", out}, env);
    EXPECT_EQ(r.code, 0) << report << "\n" << r;
    EXPECT_TRUE(std::filesystem::file_size(out) > 100) << out;
  }
  // The config matches the logs: everyone who did something successfully
  // (users and API tokens) is defined in user.cfg, and no node is unknown.
  const std::string user_cfg = ReadFile(demo + "/pve/user.cfg");
  nlohmann::json users =
      json({"access", "log", "--failed", "0", "--count", "1", "--group-by", "user"});
  ASSERT_GE(users.size(), 10u);
  for (const auto& u : users) {
    const std::string id = u.value("user", "");
    if (id.empty() || id == "-") continue;
    const bool token = id.find('!') != std::string::npos;
    EXPECT_TRUE(Contains(user_cfg, (token ? "token:" : "user:") + id + ":")) << id;
  }
  for (const char* n : {"pve1", "pve2", "pve3"})
    EXPECT_TRUE(std::filesystem::is_directory(demo + "/pve/nodes/" + n)) << n;
  // The attackers' names are not users (their failures stay "unknown user").
  EXPECT_FALSE(Contains(user_cfg, "user:toor@pam:"));
}
#endif

}  // namespace
}  // namespace e2e

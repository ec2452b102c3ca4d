// pveam access import: summary lines, exactly-once semantics (re-import,
// .gz copy, appended lines), rejected lines, bad arguments.
#include <signal.h>
#include <sys/wait.h>
#include <zlib.h>

#include <chrono>
#include <regex>
#include <thread>

#include "e2e_util.h"

namespace e2e {
namespace {

class ImportTest : public E2eTest {
 protected:
  // Writes a gzip copy of `src` to `dst` with zlib.
  static void Gzip(const std::string& src, const std::string& dst) {
    std::string data = ReadFile(src);
    gzFile gz = gzopen(dst.c_str(), "wb9");
    ASSERT_NE(gz, nullptr) << dst;
    ASSERT_EQ(gzwrite(gz, data.data(), unsigned(data.size())), int(data.size()));
    ASSERT_EQ(gzclose(gz), Z_OK);
  }
  static std::string Summary(const std::string& path, const std::string& fmt, int lines, int stored,
                             int dups, int ignored, int rejected) {
    return path + " (" + fmt + "): " + std::to_string(lines) + (lines == 1 ? " line" : " lines") +
           " read, " + std::to_string(stored) + " stored, " + std::to_string(dups) +
           (dups == 1 ? " duplicate" : " duplicates") + " skipped, " + std::to_string(ignored) +
           " ignored, " + std::to_string(rejected) + " rejected\n";
  }
};

const std::regex kTiming(R"(^\d+\.\d\d s, [0-9,]+ events/s\n)");

TEST_F(ImportTest, SummaryLineAndExitCode) {
  std::string access = Fixture("access.log");
  RunResult r = Pveam({"access", "import", "--node", "pve1", access});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, Summary(access, "pveproxy", 20, 20, 0, 0, 0));
  EXPECT_TRUE(std::regex_search(r.err, kTiming)) << r.err;
  EXPECT_FALSE(Contains(r.err, "rejected")) << r.err;
  EXPECT_EQ(EventCount(), 20);
}

TEST_F(ImportTest, AutoDetectsEveryFormatAndPrintsTotal) {
  std::string access = Fixture("access.log");
  std::string auth = Fixture("auth.log", kAuthMtime);
  std::string tasks = Fixture("tasks-index");
  std::string json = Fixture("events.jsonl");
  RunResult r = Pveam({"access", "import", "--node", "pve1", access, auth, tasks, json});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out,
            Summary(access, "pveproxy", 20, 20, 0, 0, 0) + Summary(auth, "auth", 15, 12, 0, 3, 0) +
                Summary(tasks, "tasks", 23, 23, 0, 0, 0) + Summary(json, "json", 2, 2, 0, 0, 0) +
                "total: 60 lines read, 57 stored, 0 duplicates skipped, 3 ignored, 0 "
                "rejected\n");
  EXPECT_EQ(EventCount(), 57);
}

TEST_F(ImportTest, SameFileAgainStoresNothing) {
  std::string access = Fixture("access.log");
  ASSERT_EQ(Pveam({"access", "import", "--node", "pve1", access}).code, 0);
  auto before = Status();
  RunResult r = Pveam({"access", "import", "--node", "pve1", access});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, Summary(access, "pveproxy", 20, 0, 20, 0, 0));
  auto after = Status();
  EXPECT_EQ(after["events"], 20);
  EXPECT_EQ(after["chain_head"], before["chain_head"]);
}

TEST_F(ImportTest, SameAuthFileAgainStoresNothing) {
  std::string auth = Fixture("auth.log", kAuthMtime);
  ASSERT_EQ(Pveam({"access", "import", auth}).code, 0);
  RunResult r = Pveam({"access", "import", auth});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, Summary(auth, "auth", 15, 0, 15, 0, 0));
  EXPECT_EQ(EventCount(), 12);
}

TEST_F(ImportTest, GzipCopyOfImportedFileStoresNothing) {
  std::string access = Fixture("access.log");
  ASSERT_EQ(Pveam({"access", "import", "--node", "pve1", access}).code, 0);
  std::string gz = work_ + "/access.log.1.gz";
  Gzip(access, gz);
  RunResult r = Pveam({"access", "import", "--node", "pve1", gz});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, Summary(gz, "pveproxy", 20, 0, 20, 0, 0));
  EXPECT_EQ(EventCount(), 20);
}

TEST_F(ImportTest, GzipFirstThenPlainStoresOnce) {
  // The rotated, compressed copy imported first; the live file then adds
  // only its new lines.
  std::string access = Fixture("access.log");
  std::string gz = work_ + "/access.log.2.gz";
  Gzip(access, gz);
  RunResult r = Pveam({"access", "import", "--node", "pve1", gz});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, Summary(gz, "pveproxy", 20, 20, 0, 0, 0));
  std::ofstream(access, std::ios::app)
      << "::ffff:192.0.2.10 - admin@example.com [02/02/2025:09:00:00 +0000] \"POST "
         "/api2/json/nodes/pve1/qemu/100/status/start HTTP/1.1\" 200 69\n";
  r = Pveam({"access", "import", "--node", "pve1", access});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, Summary(access, "pveproxy", 21, 1, 20, 0, 0));
  EXPECT_EQ(EventCount(), 21);
}

TEST_F(ImportTest, AppendedLinesAreImportedOnce) {
  std::string access = Fixture("access.log");
  ASSERT_EQ(Pveam({"access", "import", "--node", "pve1", access}).code, 0);
  std::ofstream(access, std::ios::app)
      << "::ffff:192.0.2.10 - admin@example.com [02/02/2025:09:00:00 +0000] \"POST "
         "/api2/json/nodes/pve1/qemu/100/status/start HTTP/1.1\" 200 69\n"
         "::ffff:192.0.2.10 - admin@example.com [02/02/2025:09:01:00 +0000] \"POST "
         "/api2/json/nodes/pve1/qemu/100/status/stop HTTP/1.1\" 200 69\n";
  RunResult r = Pveam({"access", "import", "--node", "pve1", access});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, Summary(access, "pveproxy", 22, 2, 20, 0, 0));
  r = Pveam({"access", "log", "--start", "2025-02-02", "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  auto j = Json(r);
  ASSERT_EQ(j.size(), 2u) << r;
  EXPECT_EQ(j[0]["id"], 21);
  EXPECT_EQ(j[0]["action"], "vm:start");
  EXPECT_EQ(j[1]["id"], 22);
  EXPECT_EQ(j[1]["action"], "vm:stop");
}

TEST_F(ImportTest, MalformedLinesAreCountedAsRejected) {
  std::string bad = Fixture("access-malformed.log");
  RunResult r = Pveam({"access", "import", "--node", "pve1", bad});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, Summary(bad, "pveproxy", 5, 2, 0, 0, 3));
  EXPECT_TRUE(Contains(r.err, "3 lines were rejected")) << r.err;
  auto st = Status();
  EXPECT_EQ(st["events"], 2);
  EXPECT_EQ(st["rejected_lines"], 3);
  // The good lines around the bad ones are stored with their line numbers.
  r = Pveam({"access", "log", "--output-format", "json"});
  auto j = Json(r);
  ASSERT_EQ(j.size(), 2u) << r;
  EXPECT_EQ(j[0]["line"], 1);
  EXPECT_EQ(j[0]["user"], "dave@pve");
  EXPECT_EQ(j[1]["line"], 5);
  EXPECT_EQ(j[1]["action"], "node:read");
  // Importing again neither stores nor rejects anything twice.
  r = Pveam({"access", "import", "--node", "pve1", bad});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, Summary(bad, "pveproxy", 5, 0, 5, 0, 0));
  EXPECT_EQ(Status()["rejected_lines"], 3);
}

TEST_F(ImportTest, RejectedHintNamesAnExistingCommand) {
  std::string bad = Fixture("access-malformed.log");
  RunResult r = Pveam({"access", "import", "--node", "pve1", bad});
  ASSERT_EQ(r.code, 0) << r;
  ASSERT_TRUE(Contains(r.err, "see them with: pveam access rejected")) << r.err;
  // Regression: the import's hint named `pveam access rejected` before that
  // command existed. The hint must name a command that exists.
  RunResult hint = Pveam({"access", "rejected"});
  EXPECT_EQ(hint.code, 0) << hint;
  EXPECT_FALSE(Contains(hint.err, "unknown command")) << hint;
}

TEST_F(ImportTest, MissingFileExits2AndImportsNothing) {
  std::string access = Fixture("access.log");
  std::string missing = work_ + "/no-such.log";
  RunResult r = Pveam({"access", "import", "--node", "pve1", access, missing});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(Contains(r.err, "cannot read " + missing)) << r.err;
  // Checked before anything is imported: not even access.log is stored.
  if (std::filesystem::exists(DbPath())) {
    EXPECT_EQ(EventCount(), 0);
  }
}

TEST_F(ImportTest, MissingFileLeavesExistingStoreUnchanged) {
  ImportStandard();
  auto before = Status();
  std::string tasks = Fixture("tasks-index");
  std::string missing = work_ + "/gone/index";
  RunResult r = Pveam({"access", "import", missing, tasks});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, missing)) << r.err;
  auto after = Status();
  EXPECT_EQ(after["events"], 57);
  EXPECT_EQ(after["chain_head"], before["chain_head"]);
}

TEST_F(ImportTest, DirectoryExits2) {
  RunResult r = Pveam({"access", "import", work_});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, work_)) << r.err;
  EXPECT_TRUE(Contains(r.err, "directory")) << r.err;
}

TEST_F(ImportTest, BogusFormatExits2) {
  std::string access = Fixture("access.log");
  RunResult r = Pveam({"access", "import", "--format", "bogus", access});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(Contains(r.err, "invalid value 'bogus' for --format")) << r.err;
  EXPECT_FALSE(std::filesystem::exists(DbPath()));
}

TEST_F(ImportTest, NoFilesExits2) {
  RunResult r = Pveam({"access", "import"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "files")) << r.err;
}

TEST_F(ImportTest, UnrecognisedFileExits1WithHint) {
  std::string junk = work_ + "/notes.txt";
  WriteFile(junk, "hello world\nthis is not a log\n");
  RunResult r = Pveam({"access", "import", junk});
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_TRUE(Contains(r.err, "--format")) << r.err;
}

TEST_F(ImportTest, ClassicSyslogYearComesFromMtime) {
  // The same lines dated from a file last written in February 2026 land in
  // January 2026.
  std::string auth = Fixture("auth.log", kAuthMtime + 365 * 86400);
  ASSERT_EQ(Pveam({"access", "import", auth}).code, 0);
  RunResult r = Pveam({"access", "log", "--output-format", "json"});
  auto j = Json(r);
  ASSERT_EQ(j.size(), 12u) << r;
  EXPECT_EQ(j[0]["time"], "2026-01-08T12:42:27Z");
  EXPECT_EQ(j[11]["time"], "2026-01-10T11:05:00Z");
}

TEST_F(ImportTest, RenewalDetectedAcrossResumedImport) {
  // The first three lines of auth.log (login at 12:42:27), imported, then
  // the rest appended and imported: the 12:57:27 success is still a
  // renewal, because the login tracker state is kept with the cursor.
  std::string full = ReadFile(kFixtures + "/auth.log");
  std::vector<std::string> lines = Lines(full);
  ASSERT_EQ(lines.size(), 15u);
  std::string auth = work_ + "/auth.log";
  WriteFile(auth, lines[0] + "\n" + lines[1] + "\n" + lines[2] + "\n");
  SetMtime(auth, kAuthMtime);
  RunResult r = Pveam({"access", "import", auth});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, Summary(auth, "auth", 3, 1, 0, 2, 0));
  WriteFile(auth, full);
  SetMtime(auth, kAuthMtime);
  r = Pveam({"access", "import", auth});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, Summary(auth, "auth", 15, 11, 3, 1, 0));
  r = Pveam({"access", "log", "--user", "admin@example.com", "--output-format", "json"});
  auto j = Json(r);
  ASSERT_EQ(j.size(), 2u) << r;
  EXPECT_EQ(j[0]["action"], "login");
  EXPECT_EQ(j[1]["action"], "session:renew");
  EXPECT_EQ(j[1]["time"], "2025-01-08T12:57:27Z");
}

TEST_F(ImportTest, OneLineSaysOneLine) {
  std::string one = work_ + "/one.log";
  WriteFile(one,
            "::ffff:192.0.2.10 - admin@example.com [02/02/2025:09:00:00 +0000] \"POST "
            "/api2/json/nodes/pve1/qemu/100/status/start HTTP/1.1\" 200 69\n");
  RunResult r = Pveam({"access", "import", "--node", "pve1", one});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, one +
                       " (pveproxy): 1 line read, 1 stored, 0 duplicates skipped, 0 ignored, "
                       "0 rejected\n");
  r = Pveam({"access", "import", "--node", "pve1", one});
  EXPECT_EQ(r.out, one +
                       " (pveproxy): 1 line read, 0 stored, 1 duplicate skipped, 0 ignored, "
                       "0 rejected\n");
}

TEST_F(ImportTest, TwoAuthLogsSharingTheirFirstLineAreBothStoredEntirely) {
  // Regression: the second file was recognised by its first line alone and
  // resumed at the first one's offset: "3 lines read, 1 stored, 2
  // duplicates skipped", its own second and third lines lost.
  const std::string first =
      "Jan 10 17:34:01 pve1 pvedaemon[1234]: authentication failure; rhost=::ffff:192.0.2.12 "
      "user=root@pam msg=Authentication failure\n";
  std::string a = work_ + "/auth-a.log", b = work_ + "/auth-b.log";
  WriteFile(a, first +
                   "Jan 10 17:34:09 pve1 pvedaemon[1234]: authentication failure; "
                   "rhost=::ffff:192.0.2.13 user=bob@pve msg=Authentication failure\n" +
                   "Jan 10 17:35:00 pve1 pvedaemon[1234]: <root@pam> successful auth for user "
                   "'alice@pve'\n");
  WriteFile(b, first +
                   "Jan 10 17:34:09 pve1 pvedaemon[1234]: authentication failure; "
                   "rhost=::ffff:192.0.2.14 user=carol@pve msg=Authentication failure\n" +
                   "Jan 10 17:35:00 pve1 pvedaemon[1234]: <root@pam> successful auth for user "
                   "'dave@pve'\n");
  SetMtime(a, kAuthMtime);
  SetMtime(b, kAuthMtime);
  RunResult r = Pveam({"access", "import", "--node", "pve1", a});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, Summary(a, "auth", 3, 3, 0, 0, 0));
  r = Pveam({"access", "import", "--node", "pve1", b});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, Summary(b, "auth", 3, 3, 0, 0, 0));
  EXPECT_TRUE(Contains(r.err, "differs from it: reading it as a new file")) << r.err;
  for (const std::string& f : {a, b}) {
    r = Pveam({"access", "import", "--node", "pve1", f});
    EXPECT_EQ(r.out, Summary(f, "auth", 3, 0, 3, 0, 0));
    EXPECT_FALSE(Contains(r.err, "new file")) << r.err;
  }
  EXPECT_EQ(EventCount(), 6);
  for (const char* user : {"carol@pve", "dave@pve"}) {
    r = Pveam({"access", "log", "--user", user, "--output-format", "json"});
    EXPECT_EQ(Json(r).size(), 1u) << user << "\n" << r;
  }
}

TEST_F(ImportTest, TruncatedGzipIsReportedAsDamagedAndKeepsItsLines) {
  std::string text;
  for (int i = 0; i < 20000; ++i) {
    char line[256];
    std::snprintf(line, sizeof line,
                  "::ffff:192.0.2.10 - u%d@pve [02/02/2025:%02d:%02d:%02d +0000] \"GET "
                  "/api2/json/nodes/pve1/qemu/%d/config?x=%d HTTP/1.1\" 200 69\n",
                  i % 31, i / 3600 % 24, i / 60 % 60, i % 60, 100 + i % 7, i * 7919 % 100003);
    text += line;
  }
  std::string plain = work_ + "/access.log.2";
  WriteFile(plain, text);
  std::string gz = plain + ".gz";
  Gzip(plain, gz);
  std::filesystem::resize_file(gz, std::filesystem::file_size(gz) / 2);
  RunResult r = Pveam({"access", "import", "--node", "pve1", gz});
  EXPECT_EQ(r.code, 1) << r;
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(r.err, m,
                        std::regex("error: " + std::regex_replace(gz, std::regex("\\."), "\\.") +
                                   R"( is damaged \([^)]*\): ([0-9,]+) lines before the )"
                                   R"(damage are stored; the rest cannot be read)")))
      << r.err;
  EXPECT_FALSE(Contains(r.err, "/proc/self")) << r.err;
  EXPECT_FALSE(Contains(r.err, "<fd:")) << r.err;
  EXPECT_TRUE(Contains(r.err, "(unexpected end of file)")) << r.err;
  EXPECT_FALSE(Contains(r.err, "run the import again")) << r.err;
  std::string n = std::regex_replace(m[1].str(), std::regex(","), "");
  EXPECT_GT(std::stoi(n), 1000);
  EXPECT_EQ(EventCount(), std::stoi(n));
  // Again: the same damage, nothing stored twice.
  r = Pveam({"access", "import", "--node", "pve1", gz});
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_TRUE(Contains(r.err, " is damaged ")) << r.err;
  EXPECT_EQ(EventCount(), std::stoi(n));
}

// 1: pveam catches SIGINT; 0: not yet; -1: it has ended (a zombie).
// The name matters: the shell that execs pveam catches SIGINT too (dash
// does), and a Ctrl-C sent then reaches pveam before its handler is set
// (seen in CI as "killed by signal 2").
int SigintState(pid_t pid) {
  std::string st = ReadFile("/proc/" + std::to_string(pid) + "/status");
  if (st.empty() || st.find("State:\tZ") != std::string::npos) return -1;
  if (st.rfind("Name:\tpveam\n", 0) != 0) return 0;
  size_t at = st.find("SigCgt:");
  return at != std::string::npos && (std::stoull(st.substr(at + 7), nullptr, 16) & 2) ? 1 : 0;
}

// Waits (up to a minute) until pveam catches SIGINT or ends; SigintState's value.
int WaitUntilCatchingSigint(pid_t pid) {
  int seen = 0;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
       (seen = SigintState(pid)) == 0 && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return seen;
}

TEST_F(ImportTest, CtrlCSaysWhatIsStoredAndARerunContinues) {
  constexpr int kLines = 600000;
  std::string big = work_ + "/access.log";
  {
    std::string text;
    text.reserve(size_t(kLines) * 130);
    char line[256];
    for (int i = 0; i < kLines; ++i) {
      int len =
          std::snprintf(line, sizeof line,
                        "::ffff:10.0.%d.%d - u%d@pve [02/02/2025:%02d:%02d:%02d +0000] "
                        "\"GET /api2/json/nodes/pve1/qemu/100/config?i=%d HTTP/1.1\" 200 "
                        "69\n",
                        (i >> 8) & 255, i & 255, i % 31, i / 3600 % 24, i / 60 % 60, i % 60, i);
      text.append(line, size_t(len));
    }
    WriteFile(big, text);
  }
  std::string out = work_ + "/out", err = work_ + "/err";
  pid_t pid = SpawnQuiet(
      "/bin/sh",
      {"sh", "-c",
       "exec " + kPveam + " access import --node pve1 " + big + " >" + out + " 2>" + err},
      Env());
  ASSERT_GT(pid, 0);
  // Ctrl-C once pveam catches SIGINT (its handler is set when the import
  // starts): a fixed wait sent it earlier under the sanitizers, and the
  // default action killed pveam (seen in CI).
  int seen = WaitUntilCatchingSigint(pid);
  ASSERT_NE(seen, 0) << "pveam did not start its import";
  if (seen == 1) std::this_thread::sleep_for(std::chrono::milliseconds(200));  // some lines stored
  kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  if (WEXITSTATUS(status) == 0) GTEST_SKIP() << "the import finished before Ctrl-C";
  EXPECT_EQ(WEXITSTATUS(status), 130);
  std::string e = ReadFile(err);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(e, m,
                                std::regex(R"(interrupted: ([0-9,]+) events? of this run safely )"
                                           R"(stored; run the same command again to continue)")))
      << e;
  int stored = std::stoi(std::regex_replace(m[1].str(), std::regex(","), ""));
  EXPECT_EQ(EventCount(), stored);
  EXPECT_LT(stored, kLines);
  RunResult r = Pveam({"access", "import", "--node", "pve1", big});
  ASSERT_EQ(r.code, 0) << r;
  auto th = [](int n) {  // 1234567 -> "1,234,567"
    std::string s = std::to_string(n), out;
    for (size_t k = 0; k < s.size(); ++k) {
      if (k > 0 && (s.size() - k) % 3 == 0) out += ',';
      out += s[k];
    }
    return out;
  };

  // Singular when the interrupt came after the first line (seen in CI).
  EXPECT_EQ(r.out, big + " (pveproxy): " + th(kLines) + " lines read, " + th(kLines - stored) +
                       " stored, " + th(stored) + (stored == 1 ? " duplicate" : " duplicates") +
                       " skipped, 0 ignored, 0 rejected\n");
  EXPECT_EQ(EventCount(), kLines);
}

// Ctrl-C at any moment of an import, including after the last file while
// pveam prints its summary and closes the store, ends it with 0 or 130,
// never by the signal: it once restored the default action after the last
// file (a CI failure: "killed by signal 2").
TEST_F(ImportTest, CtrlCAtAnyMomentExitsWithAStatusNotBySignal) {
  std::string log = work_ + "/access.log";
  {
    std::string text;
    for (int i = 0; i < 3000; ++i)
      text += "::ffff:10.0.0." + std::to_string(i % 200) +
              " - root@pam [02/02/2025:10:" + std::to_string(10 + i / 60 % 50) + ":" +
              std::to_string(10 + i % 50) +
              " +0000] \"GET /api2/json/version?i=" + std::to_string(i) + " HTTP/1.1\" 200 69\n";
    WriteFile(log, text);
  }
  for (int round = 0; round < 20; ++round) {
    pid_t pid = SpawnQuiet(
        "/bin/sh",
        {"sh", "-c",
         "exec " + kPveam + " access import --node pve1 " + log + " >/dev/null 2>/dev/null"},
        Env());
    ASSERT_GT(pid, 0);
    ASSERT_NE(WaitUntilCatchingSigint(pid), 0) << "pveam did not start its import";
    // Ctrl-C again and again until pveam has ended: one of them lands after
    // the last file is read.
    while (SigintState(pid) == 1) {
      kill(pid, SIGINT);
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status))
        << "round " << round << ": killed by signal " << WTERMSIG(status);
    EXPECT_TRUE(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 130)
        << "round " << round << ": exit " << WEXITSTATUS(status);
  }
  // Whatever each round stored, a last run completes the file exactly once.
  RunResult r = Pveam({"access", "import", "--node", "pve1", log});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(EventCount(), 3000);
}

}  // namespace
}  // namespace e2e

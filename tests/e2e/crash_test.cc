// Crash safety of pveam access import: SIGKILL at random moments, re-run,
// and the store ends up with every line exactly once and an intact chain.
#include <chrono>
#include <random>
#include <thread>

#include "e2e_util.h"

namespace e2e {
namespace {

constexpr int kLines = 300000;

// Writes `n` valid, distinct access.log lines (one per second from
// 2025-01-01 00:00:00 UTC) with stdio.
void WriteBigAccessLog(const std::string& path, int n) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr) << path;
  static const char* kPaths[] = {
      "GET /api2/json/cluster/resources", "POST /api2/json/nodes/pve1/qemu/%d/status/start",
      "GET /api2/json/nodes/pve1/qemu/%d/config", "PUT /api2/json/nodes/pve1/qemu/%d/config",
      "POST /api2/json/nodes/pve1/lxc/%d/status/stop"};
  std::vector<char> buf(1 << 20);
  size_t used = 0;
  char req[128], line[512];
  for (int i = 0; i < n; ++i) {
    time_t t = 1735689600 + i;  // 2025-01-01T00:00:00Z
    struct tm tm;
    gmtime_r(&t, &tm);
    std::snprintf(req, sizeof req, kPaths[i % 5], 100 + i % 50);
    int len = std::snprintf(line, sizeof line,
                            "::ffff:10.%d.%d.%d - user%d@pve [%02d/%02d/%04d:%02d:%02d:%02d +0000] "
                            "\"%s HTTP/1.1\" %d %d\n",
                            (i >> 16) & 255, (i >> 8) & 255, i & 255, i % 97, tm.tm_mday,
                            tm.tm_mon + 1, tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, req,
                            i % 13 == 0 ? 403 : 200, 20 + i % 1000);
    if (used + size_t(len) > buf.size()) {
      ASSERT_EQ(std::fwrite(buf.data(), 1, used, f), used);
      used = 0;
    }
    std::memcpy(buf.data() + used, line, size_t(len));
    used += size_t(len);
  }
  ASSERT_EQ(std::fwrite(buf.data(), 1, used, f), used);
  ASSERT_EQ(std::fclose(f), 0);
}

// Regression: a kill while the store was being created left a pveaudit.db
// without its schema, and every later command (verify, log, the next
// import) failed with "not a pveaudit store". The store is now built under
// a temporary name and renamed into place: at every kill there is either no
// store or a whole one.
TEST_F(E2eTest, KillDuringStoreCreationLeavesNoHalfMadeStore) {
  std::string log = work_ + "/access.log";
  WriteBigAccessLog(log, 50);
  if (HasFatalFailure()) return;
  std::vector<std::string> argv = {"pveam", "access", "import", "--node", "pve1", log};
  int whole = 0;
  for (int round = 0; round < 60; ++round) {
    std::filesystem::remove_all(data_dir_);
    pid_t pid = SpawnQuiet(kPveam, argv, Env());
    ASSERT_GT(pid, 0);
    // Kill times spread over the first ~12 ms, where the store is created.
    std::this_thread::sleep_for(std::chrono::microseconds(200 * round));
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (!std::filesystem::exists(DbPath())) continue;
    ++whole;
    RunResult v = Pveam({"access", "verify"});
    ASSERT_EQ(v.code, 0) << "killed after " << 200 * round << " us:\n" << v;
    // The next import completes the file.
    RunResult r = Pveam({"access", "import", "--node", "pve1", log});
    ASSERT_EQ(r.code, 0) << r;
  }
  RecordProperty("stores_seen", std::to_string(whole));
}

TEST_F(E2eTest, ImportSurvivesSigkill) {
  std::string big = work_ + "/access.log";
  WriteBigAccessLog(big, kLines);
  if (HasFatalFailure()) return;

  std::random_device rd;
  unsigned seed = rd();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(50, 400);
  RecordProperty("seed", std::to_string(seed));
  std::vector<std::string> argv = {"pveam", "access", "import", "--node", "pve1", big};

  int killed = 0;
  std::string progress;  // "delay ms:events stored" per round, for the record
  for (int round = 0; round < 5; ++round) {
    int ms = delay_ms(rng);
    pid_t pid = SpawnQuiet(kPveam, argv, Env());
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) {
      ++killed;
    } else {
      // It finished before the kill: fine, but it must have succeeded.
      EXPECT_EQ(WEXITSTATUS(status), 0) << "round " << round << ", seed " << seed;
    }
    // Whatever was committed so far is consistent.
    int64_t stored = 0;
    if (std::filesystem::exists(DbPath())) {
      RunResult v = Pveam({"access", "verify"});
      EXPECT_EQ(v.code, 0) << "after kill at " << ms << " ms, seed " << seed << "\n" << v;
      stored = EventCount();
      EXPECT_GE(stored, 0);
      EXPECT_LE(stored, kLines);
    }
    progress += std::to_string(ms) + "ms:" + std::to_string(stored) + " ";
  }
  RecordProperty("killed", std::to_string(killed));
  RecordProperty("progress", progress);

  RunResult r = RunProgram(kPveam, argv, Env());
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "(pveproxy): 300,000 lines read, ")) << r;
  EXPECT_TRUE(Contains(r.out, " 0 ignored, 0 rejected\n")) << r;

  auto st = Status();
  EXPECT_EQ(st["events"], kLines) << "seed " << seed << ", killed " << killed;
  EXPECT_EQ(st["last_id"], kLines) << "seed " << seed;
  EXPECT_EQ(st["first_time"], "2025-01-01T00:00:00Z");
  EXPECT_EQ(st["last_time"], "2025-01-04T11:19:59Z");  // + 299,999 s
  RunResult v = Pveam({"access", "verify"});
  EXPECT_EQ(v.code, 0) << v;
  EXPECT_TRUE(Contains(v.out, "OK: 300,000 events")) << v;

  // Nothing stored twice: 403 on every 13th line.
  RunResult c = Pveam({"access", "log", "--failed", "1", "--count", "1", "--group-by", "action",
                       "--output-format", "json"});
  ASSERT_EQ(c.code, 0) << c;
  int64_t failures = 0;
  for (const auto& g : Json(c)) failures += g["count"].get<int64_t>();
  EXPECT_EQ(failures, (kLines + 12) / 13);

  // A further run stores nothing.
  r = RunProgram(kPveam, argv, Env());
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "300,000 lines read, 0 stored, 300,000 duplicates skipped")) << r;
}

}  // namespace
}  // namespace e2e

// [export] monthly: pveauditd writes the signed bundle of the month that
// closed, once, and records it as an audit:export event.
#include <chrono>
#include <ctime>
#include <thread>

#include "e2e_util.h"

namespace e2e {
namespace {

const std::string kPveauditd = PVEAUDITD_BIN;

class MonthlyExportTest : public E2eTest {
 protected:
  void TearDown() override {
    StopProcess(&pid_, SIGKILL);
    E2eTest::TearDown();
  }
  void StartDaemon() {
    pid_ = SpawnQuiet(
        kPveauditd, {"pveauditd", "--data-dir", data_dir_, "--access-log", log_, "--node", "pve1"},
        Env({"TZ=UTC"}));
    ASSERT_GT(pid_, 0);
  }
  std::vector<nlohmann::json> ExportEvents() {
    RunResult r =
        Pveam({"access", "log", "--action", "audit:export", "--output-format", "json"}, {"TZ=UTC"});
    EXPECT_EQ(r.code, 0) << r;
    std::vector<nlohmann::json> out;
    for (const auto& e : Json(r)) out.push_back(e);
    return out;
  }
  std::string log_;
  pid_t pid_ = -1;
};

TEST_F(MonthlyExportTest, TheClosedMonthIsExportedOnceSignedAndRecorded) {
  // The month pveauditd exports: the last one over for its hour of grace.
  time_t t = time(nullptr) - 3600;
  struct tm tm;
  gmtime_r(&t, &tm);
  int year = tm.tm_year + 1900, month = tm.tm_mon;  // the previous month, 1-based
  if (month == 0) {
    month = 12;
    --year;
  }
  char name[16], day[32], next_day[32];
  std::snprintf(name, sizeof name, "%04d-%02d", year, month);
  std::snprintf(day, sizeof day, "15/%02d/%04d", month, year);
  std::snprintf(next_day, sizeof next_day, "01/%02d/%04d", month == 12 ? 1 : month + 1,
                month == 12 ? year + 1 : year);
  log_ = work_ + "/access.log";
  auto line = [](const std::string& date, const std::string& user, int vm) {
    return "::ffff:192.0.2.10 - " + user + " [" + date + "] \"POST /api2/json/nodes/pve1/qemu/" +
           std::to_string(vm) + "/status/start HTTP/1.1\" 200 69\n";
  };
  WriteFile(log_, line(std::string(day) + ":09:00:00 +0000", "alice@pve", 100) +
                      line(std::string(day) + ":09:00:05 +0000", "bob@pve", 101) +
                      line(std::string(day) + ":23:59:59 +0000", "carol@pve", 102) +
                      line(std::string(next_day) + ":00:00:00 +0000", "dave@pve", 103));
  const std::string exports = work_ + "/exports";
  WriteFile(config_, "[export]\nmonthly = \"" + exports + "\"\n");

  StartDaemon();
  const std::string dir = exports + "/" + name;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < until && !std::filesystem::exists(dir + "/SHA256SUMS"))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(std::filesystem::exists(dir + "/SHA256SUMS")) << dir;

  RunResult key = Pveam({"access", "key", "--pem"});
  ASSERT_EQ(key.code, 0) << key;
  WriteFile(work_ + "/key.pem", key.out);
  RunResult v = Pveam(
      {"access", "export", "verify", dir, "--key", work_ + "/key.pem", "--output-format", "json"});
  EXPECT_EQ(v.code, 0) << v;
  EXPECT_EQ(Json(v)["intact"], 1) << v;
  EXPECT_EQ(Json(v)["events"], 3) << v;  // dave's start belongs to the next month
  std::string csv = ReadFile(dir + "/events.csv");
  EXPECT_TRUE(Contains(csv, "carol@pve")) << csv;
  EXPECT_FALSE(Contains(csv, "dave@pve")) << csv;

  // Recorded once; a restart does not export (or record) it again.
  until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until && ExportEvents().empty())
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto events = ExportEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(Contains(events[0]["detail"].get<std::string>(),
                       "month=" + std::string(name) + " format=csv events=3 "))
      << events[0];
  until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  RunResult st;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    st = Pveam({"access", "status"});
  } while (std::chrono::steady_clock::now() < until &&
           !Contains(st.out, std::string(name) + " written since start (3 events)"));
  EXPECT_TRUE(Contains(
      st.out, "monthly export to " + exports + ": " + name + " written since start (3 events)\n"))
      << st;
  ASSERT_EQ(StopProcess(&pid_, SIGTERM), 0);
  StartDaemon();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(ExportEvents().size(), 1u);
  size_t bundles = 0;
  for (auto& e : std::filesystem::directory_iterator(exports)) bundles += e.is_directory();
  EXPECT_EQ(bundles, 1u);
}

TEST_F(MonthlyExportTest, AMonthBeforeTheStoresFirstEventGetsNoBundle) {
  // Only today's events: the node was installed this month.
  time_t now = time(nullptr);
  struct tm tm;
  gmtime_r(&now, &tm);
  char today[32];
  std::strftime(today, sizeof today, "%d/%m/%Y:%H:%M:%S +0000", &tm);
  log_ = work_ + "/access.log";
  WriteFile(log_, "::ffff:192.0.2.10 - alice@pve [" + std::string(today) +
                      "] \"GET /api2/json/version HTTP/1.1\" 200 69\n");
  const std::string exports = work_ + "/exports";
  WriteFile(config_, "[export]\nmonthly = \"" + exports + "\"\n");
  StartDaemon();
  // Caught up, and the exporter had its first look.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  RunResult st;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    st = Pveam({"access", "status"});
  } while (std::chrono::steady_clock::now() < until &&
           !Contains(st.out, "monthly export to " + exports + ": nothing written since start"));
  ASSERT_TRUE(Contains(st.out, "nothing written since start")) << st;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_FALSE(std::filesystem::exists(exports) && !std::filesystem::is_empty(exports));
  EXPECT_TRUE(ExportEvents().empty());
}

TEST_F(MonthlyExportTest, BadExportSettingsAreNamedAndStopTheStart) {
  struct Case {
    std::string toml, names;
  } cases[] = {
      {"[export]\nmonthly_format = \"xml\"\n", "'export.monthly_format' = \"xml\""},
      {"[export]\nmonthly = \"exports\"\n", "'export.monthly' = \"exports\" must be an absolute"},
      {"[export]\nmonthy = \"/srv/x\"\n", "unknown key 'export.monthy'"},
  };
  for (const Case& c : cases) {
    WriteFile(config_, c.toml);
    RunResult r =
        RunProgram(kPveauditd, {"pveauditd", "--check-config", "--config", config_}, Env());
    EXPECT_EQ(r.code, 2) << r;
    EXPECT_TRUE(Contains(r.err, c.names)) << r;
  }
}

}  // namespace
}  // namespace e2e

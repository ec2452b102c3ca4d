// End-to-end tests of pveauditd's access-control watcher
// (src/daemon/pve_config_source.*): an ACL added to user.cfg shows in
// `pveam access log --action acl:modify` as one event with the user whose
// PUT /api2/json/access/acl came just before (joined at query time); changes made while the
// daemon was stopped appear once on restart; SIGKILL at random moments
// neither loses nor duplicates a change.
#include <chrono>
#include <random>
#include <thread>

#include "e2e_util.h"

namespace e2e {
namespace {

const std::string kPveauditd = PVEAUDITD_BIN;
using Clock = std::chrono::steady_clock;

const std::string kUserCfg =
    "user:root@pam:1:0::::::\n"
    "user:alice@pve:1:0:::alice@example.com:::\n"
    "user:bob@pve:1:0::::::\n"
    "\n"
    "group:ops:bob@pve::\n"
    "\n"
    "acl:1:/:alice@pve:Administrator:\n";

const std::string kTfaCfg =
    R"({"users":{"alice@pve":{"totp":[{"id":"totp-1","description":"phone","created":1700000000,)"
    R"("entry":"otpauth://totp/x?secret=SECRETSECRETSECR"}]}}})"
    "\n";

// An access.log line for `request` by `user` from `ip`, logged now.
std::string AccessLine(const std::string& ip, const std::string& user, const std::string& request) {
  time_t t = time(nullptr);
  struct tm tm;
  gmtime_r(&t, &tm);
  char date[64];
  strftime(date, sizeof date, "%d/%m/%Y:%H:%M:%S +0000", &tm);
  return "::ffff:" + ip + " - " + user + " [" + date + "] \"" + request + " HTTP/1.1\" 200 4\n";
}

class ConfigWatchTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    log_ = work_ + "/access.log";
    pve_ = work_ + "/pve";
    std::filesystem::create_directories(pve_ + "/priv");
    WriteFile(log_, "");
    WriteFile(pve_ + "/priv/tfa.cfg", kTfaCfg);
    WriteFile(pve_ + "/domains.cfg", "pve: pve\n\tcomment Proxmox VE authentication server\n");
    WriteUserCfg(kUserCfg);
    // Files written "now" are read once they have been quiet for a second;
    // old ones at once, so the first poll takes the baseline.
    SetMtime(pve_ + "/priv/tfa.cfg", time(nullptr) - 10);
    SetMtime(pve_ + "/domains.cfg", time(nullptr) - 10);
  }
  void TearDown() override {
    StopDaemon(SIGKILL);
    E2eTest::TearDown();
  }
  // Writes user.cfg as pmxcfs does (a new file renamed into place). With
  // `old`, its mtime is set 10 s back so the daemon does not wait for it to
  // settle.
  void WriteUserCfg(const std::string& text, bool old = true) {
    std::string tmp = pve_ + "/user.cfg.tmp";
    WriteFile(tmp, text);
    if (old) SetMtime(tmp, time(nullptr) - 10);
    ASSERT_EQ(std::rename(tmp.c_str(), (pve_ + "/user.cfg").c_str()), 0);
  }
  void StartDaemon() {
    pid_ = SpawnQuiet(kPveauditd,
                      {"pveauditd", "--data-dir", data_dir_, "--access-log", log_, "--pve-dir",
                       pve_, "--node", "pve1"},
                      Env());
    ASSERT_GT(pid_, 0);
  }
  // Waits until the daemon says it has caught up: every lane polled its
  // sources once, so the access-control baseline is stored. Regression: this
  // waited for any status, published before the baseline, and a SIGKILL
  // right after it left no baseline; the next start took one that already
  // held the change written meanwhile, and that change was never reported.
  void WaitForDaemon() {
    auto until = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < until) {
      RunResult r = Pveam({"access", "status", "--output-format", "json"});
      if (r.code == 0) {
        auto j = nlohmann::json::parse(r.out, nullptr, false);
        if (j.is_object() && j.contains("daemon") && j["daemon"].is_object() &&
            j["daemon"].value("pid", -1) == pid_ && j["daemon"].value("caught_up", false))
          return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "pveauditd did not say it has caught up";
  }
  int StopDaemon(int sig = SIGTERM) { return StopProcess(&pid_, sig); }
  // The stored change events (source pve-config), oldest first.
  std::vector<nlohmann::json> Changes(const std::string& action = "") {
    std::vector<std::string> args = {"access", "log", "--output-format", "json"};
    if (!action.empty()) args.insert(args.end(), {"--action", action});
    RunResult r = Pveam(args);
    std::vector<nlohmann::json> out;
    if (r.code != 0) return out;
    for (const auto& e : Json(r))
      if (e.value("source", "") == "pve-config") out.push_back(e);
    return out;
  }
  std::vector<nlohmann::json> WaitForChanges(size_t n, const std::string& action = "") {
    auto until = Clock::now() + std::chrono::seconds(10);
    std::vector<nlohmann::json> got;
    do {
      got = Changes(action);
      if (got.size() >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (Clock::now() < until);
    return got;
  }

  std::string log_, pve_;
  pid_t pid_ = -1;
};

TEST_F(ConfigWatchTest, AclChangeIsAttributedToThePutAclRequest) {
  StartDaemon();
  WaitForDaemon();
  EXPECT_TRUE(Changes().empty()) << "the first start only takes a baseline";

  AppendFile(log_, AccessLine("192.0.2.10", "alice@pve", "PUT /api2/json/access/acl"));
  // The new ACL is written "now": the daemon waits for it to settle.
  WriteUserCfg(kUserCfg + "acl:1:/vms/100:@ops:PVEVMUser:\n", /*old=*/false);

  // `pveam access log --action acl:modify` shows the request and the change.
  std::vector<nlohmann::json> got = WaitForChanges(1, "acl:modify");
  ASSERT_EQ(got.size(), 1u) << Pveam({"access", "log"}).out;
  const nlohmann::json& e = got[0];
  EXPECT_EQ(e.value("action", ""), "acl:modify");
  EXPECT_EQ(e.value("resource", ""), "/vms/100");
  EXPECT_EQ(e.value("user", ""), "alice@pve");
  EXPECT_EQ(e.value("ip", ""), "192.0.2.10");
  EXPECT_EQ(e.value("result", ""), "success");
  EXPECT_EQ(e.value("status", ""), "changed");
  EXPECT_EQ(e.value("node", ""), "pve1");
  EXPECT_EQ(e.value("origin", ""), pve_ + "/user.cfg");

  // One event: the request is part of the change (a view, docs/correlation.md),
  // not listed beside it. Regression (issue 8, point 4): it was listed
  // twice, once as the request line and once as the change.
  RunResult r = Pveam({"access", "log", "--action", "acl:modify", "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  ASSERT_EQ(Json(r).size(), 1u) << r;
  const std::string d = e.value("detail", "");
  const std::string head =
      "added: acl path=/vms/100 principal=@ops role=PVEVMUser propagate=1; change ";
  EXPECT_EQ(d.substr(0, head.size()), head) << d;
  const std::string mark = "; attributed from event ";
  size_t at = d.find(mark);
  ASSERT_NE(at, std::string::npos) << d;
  EXPECT_EQ(d.substr(d.find(' ', at + mark.size())), " (PUT /api2/json/access/acl)") << d;
  const int64_t request_id = std::stoll(d.substr(at + mark.size()));
  RunResult all = Pveam({"access", "log", "--output-format", "json"});
  ASSERT_EQ(all.code, 0) << all;
  for (const auto& x : Json(all)) EXPECT_NE(x.value("id", int64_t(-1)), request_id) << x.dump();

  // The change also answers `--user alice@pve` and `--resource /vms/100`.
  r = Pveam({"access", "log", "--user", "alice@pve", "--resource", "/vms/100"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "acl:modify")) << r;
  EXPECT_EQ(StopDaemon(), 0);
  RunResult v = Pveam({"access", "verify"});
  EXPECT_EQ(v.code, 0) << v;
}

TEST_F(ConfigWatchTest, ChangesWhileStoppedAppearOnceOnRestart) {
  StartDaemon();
  WaitForDaemon();
  ASSERT_EQ(StopDaemon(), 0);

  // While stopped: a user is created (through the API of this node, whose
  // access.log line is caught up first), a TFA factor removed, a realm added.
  AppendFile(log_, AccessLine("192.0.2.1", "root@pam", "POST /api2/json/access/users"));
  WriteUserCfg(
      "user:root@pam:1:0::::::\n"
      "user:alice@pve:1:0:::alice@example.com:::\n"
      "user:bob@pve:1:0::::::\n"
      "user:erin@pve:1:0::::::\n"
      "\n"
      "group:ops:bob@pve::\n"
      "\n"
      "acl:1:/:alice@pve:Administrator:\n",
      /*old=*/false);
  WriteFile(pve_ + "/priv/tfa.cfg", "{\"users\":{}}\n");
  WriteFile(pve_ + "/domains.cfg",
            "pve: pve\n\tcomment Proxmox VE authentication server\n\n"
            "ldap: corp\n\tbase_dn dc=corp\n\tserver1 ldap.corp\n\tuser_attr uid\n");

  StartDaemon();
  std::vector<nlohmann::json> got = WaitForChanges(3);
  ASSERT_EQ(got.size(), 3u);
  std::map<std::string, nlohmann::json> by_action;
  for (const auto& e : got) by_action[e.value("action", "")] = e;
  ASSERT_TRUE(by_action.count("user:create"));
  ASSERT_TRUE(by_action.count("tfa:remove"));
  ASSERT_TRUE(by_action.count("realm:create"));
  EXPECT_EQ(by_action["user:create"].value("user", ""), "root@pam");
  EXPECT_EQ(by_action["user:create"].value("resource", ""), "/access/users/erin@pve");
  EXPECT_TRUE(Contains(by_action["tfa:remove"].value("detail", ""),
                       "removed: tfa user=alice@pve type=totp id=totp-1 description=phone "
                       "enabled=1; change "));
  EXPECT_TRUE(Contains(by_action["tfa:remove"].value("detail", ""), "; actor unknown"));
  EXPECT_EQ(by_action["tfa:remove"].value("user", ""), "");
  EXPECT_EQ(by_action["realm:create"].value("resource", ""), "/access/realm/corp");
  for (const auto& e : got) EXPECT_FALSE(Contains(e.dump(), "SECRET")) << e.dump();

  // A second restart finds nothing new.
  ASSERT_EQ(StopDaemon(), 0);
  StartDaemon();
  WaitForDaemon();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(Changes().size(), 3u);
}

TEST_F(ConfigWatchTest, KillNineLosesAndDuplicatesNoChange) {
  constexpr int kRounds = 20;
  std::mt19937 rng(4242);
  std::string cfg = kUserCfg;
  StartDaemon();
  WaitForDaemon();  // the baseline
  StopDaemon(SIGKILL);
  for (int i = 1; i <= kRounds; ++i) {
    StartDaemon();
    cfg += "acl:1:/vms/" + std::to_string(i) + ":bob@pve:PVEVMUser:\n";
    WriteUserCfg(cfg);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 400));
    StopDaemon(SIGKILL);
  }
  StartDaemon();
  WaitForChanges(kRounds, "acl:modify");
  WaitForDaemon();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::vector<nlohmann::json> got = Changes("acl:modify");
  // Every ACL is reported exactly once (several may share one change set
  // when the daemon was killed before it saw the previous one).
  std::map<std::string, int> seen;
  for (const auto& e : got) {
    std::string d = e.value("detail", "");
    ASSERT_EQ(d.rfind("added: acl path=/vms/", 0), 0u) << d;
    ++seen[e.value("resource", "")];
  }
  for (int i = 1; i <= kRounds; ++i)
    EXPECT_EQ(seen["/vms/" + std::to_string(i)], 1) << "/vms/" << i;
  EXPECT_EQ(got.size(), size_t(kRounds));
  StopDaemon();
  RunResult v = Pveam({"access", "verify"});
  EXPECT_EQ(v.code, 0) << v;
}

}  // namespace
}  // namespace e2e

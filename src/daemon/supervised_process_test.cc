#include "daemon/supervised_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"

namespace pveaudit {
namespace {

using Clock = std::chrono::steady_clock;

class SupervisedProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pveaudit-supervise-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    chmod(dir_.c_str(), 0777);  // the child may run as nobody
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  SupervisedProcessOptions Sh(const std::string& script) {
    SupervisedProcessOptions o;
    o.name = "test-child";
    o.argv = {"/bin/sh", "-c", script};
    o.run_as = "nobody";
    o.min_backoff_ms = 50;
    o.max_backoff_ms = 200;
    o.stop_grace_ms = 300;
    o.log = [this](const char* level, const std::string& m) {
      std::lock_guard<std::mutex> l(log_mu_);
      log_ += std::string(level) + ": " + m + "\n";
    };
    return o;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Polls `p` until `done` or 20 s.
  template <typename F>
  static bool PollUntil(SupervisedProcess& p, F done) {
    for (auto until = Clock::now() + std::chrono::seconds(20); Clock::now() < until;) {
      p.Poll();
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  std::string dir_;
  std::mutex log_mu_;
  std::string log_;
};

TEST_F(SupervisedProcessTest, RestartsAChildThatDiesAndSaysHow) {
  SupervisedProcess p(Sh("exec sleep 60"));
  ASSERT_TRUE(PollUntil(p, [&] { return p.State().pid > 0; })) << log_;
  const pid_t first = p.State().pid;
  ASSERT_EQ(kill(first, SIGKILL), 0);
  ASSERT_TRUE(PollUntil(p, [&] { return p.State().pid > 0 && p.State().pid != first; })) << log_;
  auto s = p.State();
  EXPECT_EQ(s.starts, 2u);
  EXPECT_EQ(s.last_exit, "killed by signal 9 (SIGKILL)");
  EXPECT_NE(log_.find("test-child killed by signal 9 (SIGKILL)"), std::string::npos) << log_;
  p.Stop();
  EXPECT_EQ(p.State().pid, 0);
  EXPECT_EQ(kill(s.pid, 0), -1) << "the child is gone after Stop";
}

TEST_F(SupervisedProcessTest, ACrashLoopBacksOffInsteadOfSpinning) {
  SupervisedProcess p(Sh("exit 3"));
  const auto t0 = Clock::now();
  while (Clock::now() - t0 < std::chrono::milliseconds(1500)) {
    p.Poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto s = p.State();
  EXPECT_EQ(s.last_exit, "exit status 3") << log_;
  // 50, 100, 200, 200, ... ms between starts: about 8 in 1.5 s, never
  // the hundreds a loop without a delay would start.
  EXPECT_GE(s.starts, 3u) << log_;
  EXPECT_LE(s.starts, 12u) << log_;
}

TEST_F(SupervisedProcessTest, OnlyTheStandardDescriptorsReachTheChild) {
  // A descriptor without close-on-exec, as a careless library might leave.
  const std::string secret = dir_ + "/store.db";
  int fd = open(secret.c_str(), O_CREAT | O_RDWR, 0600);
  ASSERT_GE(fd, 3);
  const std::string out = dir_ + "/fds";
  SupervisedProcess p(Sh("if [ -e /proc/$$/fd/" + std::to_string(fd) + " ]; then echo open > " +
                         out + "; else echo closed > " + out + "; fi; exec sleep 60"));
  ASSERT_TRUE(PollUntil(p, [&] { return Read(out).size() > 0; })) << log_;
  EXPECT_EQ(Read(out), "closed\n");
  p.Stop();
  close(fd);
}

TEST_F(SupervisedProcessTest, StopKillsAChildThatIgnoresSigterm) {
  const std::string ready = dir_ + "/ready";
  SupervisedProcess p(Sh("trap '' TERM; touch " + ready + "; while :; do sleep 1; done"));
  ASSERT_TRUE(PollUntil(p, [&] { return std::filesystem::exists(ready); })) << log_;
  const auto t0 = Clock::now();
  p.Stop();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(p.State().pid, 0);
  EXPECT_EQ(p.State().last_exit, "killed by signal 9 (SIGKILL)");
  EXPECT_NE(log_.find("did not stop within 300 ms of SIGTERM"), std::string::npos) << log_;
}

TEST_F(SupervisedProcessTest, AsRootTheChildRunsAsItsOwnUserAndNeverAsRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to change users (CI runs as root)";
  const std::string out = dir_ + "/uid";
  SupervisedProcess p(Sh("id -u > " + out + "; exec sleep 60"));
  ASSERT_TRUE(PollUntil(p, [&] { return Read(out).size() > 0; })) << log_;
  EXPECT_EQ(Read(out), "65534\n");  // nobody
  p.Stop();

  auto o = Sh("id -u > " + out);
  o.run_as = "";
  SupervisedProcess root(o);
  root.Poll();
  EXPECT_EQ(root.State().pid, 0);
  EXPECT_NE(root.State().error.find("would run as root"), std::string::npos) << root.State().error;
  o.run_as = "no-such-user-here";
  SupervisedProcess nouser(o);
  nouser.Poll();
  EXPECT_NE(nouser.State().error.find("no user 'no-such-user-here'"), std::string::npos)
      << nouser.State().error;
}

// A supervisor killed by SIGKILL takes its child along (PR_SET_PDEATHSIG),
// also when the child runs as another user: as root this failed before,
// because changing the user clears the death signal.
TEST_F(SupervisedProcessTest, TheChildEndsWithAKilledSupervisorAlsoAsAnotherUser) {
  const std::string out = dir_ + "/pid";
  pid_t supervisor = fork();
  ASSERT_GE(supervisor, 0);
  if (supervisor == 0) {
    SupervisedProcess p(
        Sh("echo $$ > " + out + ".tmp; mv " + out + ".tmp " + out + "; exec sleep 60"));
    for (int i = 0; i < 20000; ++i) {  // until killed, at most 200 s
      p.Poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    _exit(0);
  }
  pid_t child = 0;
  for (auto until = Clock::now() + std::chrono::seconds(20); Clock::now() < until && !child;) {
    child = pid_t(std::atoi(Read(out).c_str()));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(child, 0) << "the supervised child did not start";
  ASSERT_EQ(kill(supervisor, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(supervisor, &status, 0), supervisor);
  // Gone, or a zombie waiting for whoever adopted it.
  auto alive = [&] {
    std::string st = Read("/proc/" + std::to_string(child) + "/stat");
    return !st.empty() && st.find(") Z") == std::string::npos;
  };
  for (auto until = Clock::now() + std::chrono::seconds(20); Clock::now() < until && alive();)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(alive()) << "child " << child << " outlived its supervisor";
  if (alive()) kill(child, SIGKILL);
}

}  // namespace
}  // namespace pveaudit

#include "daemon/supervised_process.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace pveaudit {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* n = sigabbrev_np(WTERMSIG(status));
    return "killed by signal " + std::to_string(WTERMSIG(status)) +
           (n ? std::string(" (SIG") + n + ")" : std::string());
  }
  return "status " + std::to_string(status);
}

}  // namespace

SupervisedProcess::SupervisedProcess(SupervisedProcessOptions o) : o_(std::move(o)) {
  if (!o_.log) o_.log = [](const char*, const std::string&) {};
}

SupervisedProcess::~SupervisedProcess() { Stop(); }

Status SupervisedProcess::Spawn() {
  if (o_.argv.empty()) return Status::InvalidArgument("no program to run");
  // Everything the child needs is looked up before fork: after it, only
  // async-signal-safe calls.
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  bool drop = geteuid() == 0;
  if (drop) {
    if (o_.run_as.empty() || o_.run_as == "root")
      return Status::InvalidArgument(o_.name + " would run as root: set the user it runs as");
    errno = 0;
    passwd* pw = getpwnam(o_.run_as.c_str());
    if (!pw) return Status::NotFound("no user '" + o_.run_as + "' to run " + o_.name + " as");
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    if (uid == 0) return Status::InvalidArgument("user '" + o_.run_as + "' is root");
    // The user's own groups from the system's group database, as a login
    // would have them: e.g. `www-data`, which reads the node's certificate
    // key as it does for pveproxy (docs/web.md). pveauditd's are dropped.
    int n = 16;
    groups.resize(size_t(n));
    while (getgrouplist(o_.run_as.c_str(), gid, groups.data(), &n) < 0) groups.resize(size_t(n));
    groups.resize(size_t(n));
  }
  std::vector<char*> argv;
  for (auto& a : o_.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return Status::IOError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // The signals pveauditd blocks or ignores are the child's own again.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s : {SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGUSR1, SIGUSR2}) signal(s, SIG_DFL);
    // No descriptor but the standard ones: the store, the sockets and the
    // files pveauditd follows stay out of reach.
    close_range(3, ~0U, 0);
    if (drop) {
      if (setgroups(groups.size(), groups.data()) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
        _exit(126);
      if (setuid(0) == 0) _exit(126);  // the drop must not be undoable
    }
    // The child dies with pveauditd, even if pveauditd is SIGKILLed. Set
    // after the change of user, which clears it (prctl(2)); regression: a
    // web process as another user outlived a killed pveauditd.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(126);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    execv(argv[0], argv.data());
    _exit(127);
  }
  std::lock_guard<std::mutex> l(mu_);
  state_.pid = pid;
  ++state_.starts;
  state_.error.clear();
  started_ms_ = NowMs();
  return Status::OK();
}

void SupervisedProcess::Reap(int status) {
  const int64_t ran = NowMs() - started_ms_;
  std::string what = DescribeExit(status);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    what += " (could not run " + o_.argv[0] + ")";
  if (WIFEXITED(status) && WEXITSTATUS(status) == 126) what += " (could not drop privileges)";
  backoff_ms_ = ran >= o_.healthy_after_ms || backoff_ms_ == 0
                    ? o_.min_backoff_ms
                    : std::min(backoff_ms_ * 2, o_.max_backoff_ms);
  next_start_ms_ = NowMs() + backoff_ms_;
  {
    std::lock_guard<std::mutex> l(mu_);
    state_.pid = 0;
    state_.last_exit = what;
  }
  o_.log("warning", o_.name + " " + what + " after " + std::to_string(ran / 1000) +
                        " s; restarting in " + std::to_string(backoff_ms_) + " ms");
}

void SupervisedProcess::Poll() {
  pid_t pid;
  {
    std::lock_guard<std::mutex> l(mu_);
    pid = state_.pid;
  }
  if (pid > 0) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) Reap(status);
    return;
  }
  if (NowMs() < next_start_ms_) return;
  Status s = Spawn();
  if (!s.ok()) {
    // A setting that will not heal by itself: said once per attempt, at
    // the longest delay.
    backoff_ms_ = o_.max_backoff_ms;
    next_start_ms_ = NowMs() + backoff_ms_;
    bool changed;
    {
      std::lock_guard<std::mutex> l(mu_);
      changed = state_.error != s.message();
      state_.error = s.message();
    }
    if (changed) o_.log("error", "cannot start " + o_.name + ": " + s.message());
    return;
  }
  o_.log("info", "started " + o_.name + " (pid " + std::to_string(State().pid) + ")");
}

void SupervisedProcess::Stop() {
  pid_t pid;
  {
    std::lock_guard<std::mutex> l(mu_);
    pid = state_.pid;
  }
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  int status = 0;
  const int64_t until = NowMs() + o_.stop_grace_ms;
  pid_t r = 0;
  while ((r = waitpid(pid, &status, WNOHANG)) == 0 && NowMs() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (r == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    o_.log("warning", o_.name + " did not stop within " + std::to_string(o_.stop_grace_ms) +
                          " ms of SIGTERM: killed");
  }
  std::lock_guard<std::mutex> l(mu_);
  state_.pid = 0;
  state_.last_exit = DescribeExit(status);
}

SupervisedProcessState SupervisedProcess::State() const {
  std::lock_guard<std::mutex> l(mu_);
  return state_;
}

}  // namespace pveaudit

// supervised_process.h
// A child program that pveauditd keeps running: started with a clean
// environment of file descriptors (only stdin/stdout/stderr cross over, so
// a child never holds the store's writable files), as another user when
// pveauditd is root, restarted with a growing delay when it exits, and
// stopped with SIGTERM (then SIGKILL) when pveauditd stops. pveaudit-web
// runs this way (docs/web.md): a flaw in its HTTP handling stays in a
// process that cannot write the store.
// Thread safety: one thread (the daemon's main loop) calls everything but
// State(), which any thread may call.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"

namespace pveaudit {

struct SupervisedProcessOptions {
  std::string name;               // for logs, e.g. "pveaudit-web"
  std::vector<std::string> argv;  // argv[0] is the program's path
  // When pveauditd runs as root: the user (and that user's primary group)
  // the child runs as; required then (root children are refused). Ignored
  // when pveauditd is not root: the child runs as the same user.
  std::string run_as;
  int64_t min_backoff_ms = 1000;   // delay before the first restart
  int64_t max_backoff_ms = 30000;  // the delay doubles up to this
  int64_t stop_grace_ms = 5000;    // SIGTERM, then SIGKILL after this
  // A child that ran this long before exiting restarts after min_backoff
  // again (it was not crashing in a loop).
  int64_t healthy_after_ms = 60000;
  std::function<void(const char* level, const std::string& msg)> log;
};

struct SupervisedProcessState {
  pid_t pid = 0;          // 0 while not running
  uint64_t starts = 0;    // since pveauditd started
  std::string last_exit;  // "exit status 1", "killed by signal 11", ...
  std::string error;      // why it could not be started, if it could not
};

class SupervisedProcess {
 public:
  explicit SupervisedProcess(SupervisedProcessOptions o);
  ~SupervisedProcess();  // Stop()
  SupervisedProcess(const SupervisedProcess&) = delete;
  SupervisedProcess& operator=(const SupervisedProcess&) = delete;

  // Starts the child, or restarts it when it has exited and its delay has
  // passed; reaps it without blocking. Call it often (every 100 ms-1 s).
  void Poll();
  // SIGTERM, wait up to stop_grace_ms, then SIGKILL; reaps the child.
  void Stop();
  SupervisedProcessState State() const;

 private:
  Status Spawn();
  void Reap(int status);

  SupervisedProcessOptions o_;
  mutable std::mutex mu_;
  SupervisedProcessState state_;
  int64_t started_ms_ = 0;     // monotonic, of the running child
  int64_t next_start_ms_ = 0;  // monotonic: not before this
  int64_t backoff_ms_ = 0;
};

}  // namespace pveaudit

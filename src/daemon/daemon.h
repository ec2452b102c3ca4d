// daemon.h
// Daemon is pveauditd's main loop. Its sources run in lanes, one thread
// each (docs/daemon.md): "logs" = pveproxy access.log, the task index and
// the access-control files, in that order (a task is joined with its
// request, a config change attributed to its request); "auth" = the
// authentication lines (a syslog file and/or the systemd journal);
// "syslog" = the listener. Their batches meet in one writer
// (store/group_commit.h) that commits them together, each with its source's
// cursor, so every event is stored exactly once. The main thread publishes
// the state for `pveam access status` every second and handles signals.
// Failure policy, like auditd's disk_error_action: when the store cannot be
// written (disk full, I/O error) the lanes keep retrying without advancing
// any cursor ("retry", the default) or the daemon exits 1 so a supervisor
// notices ("exit").
// Signals: SIGTERM/SIGINT finish the current polls, commit and exit 0;
// SIGHUP reloads the configuration file (lanes are rebuilt; the writer's
// commit_ms/commit_events are read at start only).
// Thread safety: Run() on one thread; RequestStop/RequestReload are
// async-signal-safe.
#pragma once

#include <string>

#include "config/config.h"

namespace pveaudit {

struct DaemonOptions {
  Config config;
  std::string config_path;  // for SIGHUP reloads ("" = lookup order)
  std::string data_dir;
  // True when sources were named on the command line: the config file's
  // sources are then ignored (also on reload).
  bool sources_from_flags = false;
  // Applied after every (re)load of the config file: the command line's
  // --node and --pve-dir win over the file.
  std::string node_override, pve_dir_override;
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions options) : opt_(std::move(options)) {}
  // Runs until stopped; returns the process exit code.
  int Run();

  static void RequestStop();
  static void RequestReload();

 private:
  DaemonOptions opt_;
};

}  // namespace pveaudit

// daemon.h
// Daemon is pveauditd's main loop: it follows the configured file sources
// (pveproxy access.log, authentication lines in a syslog file, the task
// index) across rotations, writes their events to the store exactly once
// (each batch commits with its file cursor), and publishes its state for
// `pveam access status`. Failure policy, like auditd's disk_error_action:
// when the store cannot be written (disk full, I/O error) it either keeps
// retrying without advancing any cursor ("retry", the default) or exits
// non-zero so a supervisor notices ("exit").
// Signals: SIGTERM/SIGINT finish the current batch and exit 0; SIGHUP
// reloads the configuration file.
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

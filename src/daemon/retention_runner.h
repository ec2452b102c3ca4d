// retention_runner.h
// RetentionRunner applies the retention policy (evidence/retention.h,
// docs/retention.md) in pveauditd: once the sources have been read after
// the start, then every hour, it archives the whole months past the online
// period and purges archives past the archive period that no legal hold
// covers, as `pveam access archive run` does. It writes through a SQLite
// connection of its own (the daemon's writer notices the audit events it
// appends and reloads), so a long archive never holds up ingest. Failures
// are logged once and retried at the next run.
// Thread safety: Start/Stop from one thread; State() from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "daemon/periodic_worker.h"
#include "evidence/retention.h"
#include "store/event_store.h"

namespace pveaudit {

struct RetentionRunnerOptions {
  RetentionPolicy policy;
  std::string data_dir;  // the SQLite store and the node's signing key
  std::string node;
  int64_t every_us = int64_t(3600) * 1000000;
};

class RetentionRunner {
 public:
  using LogFn = std::function<void(const char* level, const std::string& msg)>;
  RetentionRunner(RetentionRunnerOptions o, LogFn log);
  ~RetentionRunner();

  void Start() { worker_.Start(); }
  void Stop() { worker_.Stop(); }
  void SetCaughtUp(bool v) { worker_.SetCaughtUp(v); }

  // {"policy", "archive_dir", "last_run", "archived", "purged", "held",
  // "error"} for the daemon's status.
  nlohmann::json State() const;

 private:
  void RunOnce();

  RetentionRunnerOptions o_;
  LogFn log_;
  mutable std::mutex state_mu_;
  std::string last_run_, error_;
  uint64_t archived_ = 0, purged_ = 0, held_ = 0;
  PeriodicWorker worker_;  // last: stopped before the members it uses go
};

}  // namespace pveaudit

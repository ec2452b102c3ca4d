// monthly_export.h
// MonthlyExporter writes the evidence bundle of each month that closed
// (docs/evidence.md) into `[export] monthly`/YYYY-MM, on a thread of its
// own, reading through a read-only connection of its own: a big month
// never holds up ingest. A month is exported once it has been over for
// `grace` (late lines of its last minutes are in by then) and its directory
// does not exist yet, and not before the daemon's sources have all been
// read once since its start (SetCaughtUp); it checks every minute, so a
// daemon that was down across the turn of a month catches up when it
// starts. Each bundle is
// recorded as an audit:export event through the daemon's store. Failures
// are logged and retried at the next check.
// Thread safety: Start/Stop from one thread; State() from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "daemon/periodic_worker.h"
#include "store/event_store.h"

namespace pveaudit {

struct MonthlyExportOptions {
  std::string dir;             // where YYYY-MM bundles go
  std::string format = "csv";  // csv, json or cef
  std::string data_dir;        // holds the node's signing key
  std::string node;
  int64_t grace_us = int64_t(3600) * 1000000;  // how long after a month's end
  int64_t check_every_us = int64_t(60) * 1000000;
};

class MonthlyExporter {
 public:
  using LogFn = std::function<void(const char* level, const std::string& msg)>;
  // `store`: the daemon's store (thread-safe), for the audit events; the
  // events are read from a read-only connection to `where` (or `store`
  // when it has neither a data dir nor a URL).
  MonthlyExporter(EventStore& store, StoreLocation where, MonthlyExportOptions o, LogFn log);
  ~MonthlyExporter();

  void Start() { worker_.Start(); }
  void Stop() { worker_.Stop(); }
  // Whether every source has been read once since the start (the daemon's
  // "caught up"): until then the lines of a closed month may still be in
  // their files, so nothing is exported.
  void SetCaughtUp(bool v) { worker_.SetCaughtUp(v); }

  // {"dir", "last_month", "last_events", "error"} for the daemon's status.
  nlohmann::json State() const;

 private:
  // Exports the last month closed for grace_us if it has no bundle yet.
  void CheckOnce();

  EventStore& store_;
  StoreLocation where_;
  MonthlyExportOptions o_;
  LogFn log_;
  mutable std::mutex state_mu_;
  std::string last_month_, error_;
  uint64_t last_events_ = 0;
  PeriodicWorker worker_;  // last: stopped before the members it uses go
};

}  // namespace pveaudit

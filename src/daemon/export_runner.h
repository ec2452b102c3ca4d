// export_runner.h
// ExportRunner runs pveauditd's export destinations: one thread per
// enabled destination, each an ExportLoop (export/export_loop.h) following
// the store by its own consumer cursor. A watcher thread re-reads the
// destination settings every 500 ms (keys "export.syslog" and
// "export.webhook", JSON objects name -> destination, written by `pveam
// access syslog` / `pveam access notify`), so an enable, a disable or a
// change takes effect within a second, without a restart or SIGHUP: a
// changed destination's loop is stopped and started again with the new
// settings, from its cursor.
// Thread safety: Start/Stop from one thread; States() from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "export/export_loop.h"
#include "store/event_store.h"

namespace pveaudit {

class ExportRunner {
 public:
  using LogFn = std::function<void(const char* level, const std::string& msg)>;
  // `store` must be usable from several threads (the daemon's
  // GroupCommitStore): cursor writes go through it. Each destination reads
  // through its own read-only connection to the store at `where` (neither
  // a data dir nor a URL: through `store`). `host`: this host's name in the
  // syslog header.
  ExportRunner(EventStore& store, StoreLocation where, std::string host, LogFn log);
  ~ExportRunner();

  void Start();
  void Stop();

  // One object per configured destination (ExportState::ToJson plus
  // "kind"), for the daemon's status ("destinations").
  nlohmann::json States() const;

 private:
  struct Running {
    std::string kind, name, config;  // config: the destination's JSON, to see changes
    std::unique_ptr<ExportLoop> loop;
    std::atomic<bool> stop{false};
    std::thread thread;
    std::string error;  // a destination that cannot run (bad settings)
    bool enabled = true;
  };
  void Watch();
  void Sync(const std::string& kind, const std::string& setting_key);
  void StopOne(Running* r);

  EventStore& store_;
  StoreLocation where_;
  std::string host_;
  LogFn log_;
  std::atomic<bool> stop_{false};
  std::thread watcher_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Running>> running_;  // by "<kind>:<name>"
};

}  // namespace pveaudit

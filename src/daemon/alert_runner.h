// alert_runner.h
// AlertRunner is the alert engine's thread in pveauditd (docs/alerts.md).
// It follows the store by its own cursor (SourceCursor "consumer:alert":
// the last event id judged, and the engine's windows as its state), reads
// the rules from the settings (key "alert.rules") at least every second so
// a change made with `pveam access alert ...` takes effect without a
// restart, judges new events in the order they were stored, and appends
// the alerts that fire together with the advanced cursor in one
// transaction: after a crash it resumes from the last commit, so no alert
// is lost or repeated.
// Thread safety: Start/Stop/State from one thread (the daemon's main
// thread); the runner's own thread uses the store.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "store/event_store.h"

namespace pveaudit {

// The key of the engine's cursor in the store's cursor table.
inline constexpr const char* kAlertCursorKey = "consumer:alert";

class AlertRunner {
 public:
  using LogFn = std::function<void(const char* level, const std::string& msg)>;
  // `store` (the daemon's one writer) must outlive the runner.
  AlertRunner(EventStore& store, LogFn log) : store_(store), log_(std::move(log)) {}
  ~AlertRunner() { Stop(); }
  AlertRunner(const AlertRunner&) = delete;
  AlertRunner& operator=(const AlertRunner&) = delete;

  // pveauditd follows authentication lines (the auth log or the journal):
  // a failed ticket request stored before the first of them is held for
  // its auth line too (access.log stored ahead when pveauditd starts;
  // docs/alerts.md). Before Start.
  void ExpectAuthLines(bool on) { expect_auth_ = on; }
  void Start();
  void Stop();
  // For `pveam access status`: rules in use, the cursor, alerts fired since
  // start, the last error.
  nlohmann::json State() const;

 private:
  void Loop();

  EventStore& store_;
  LogFn log_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  bool expect_auth_ = false;
  mutable std::mutex mu_;
  nlohmann::json state_ = nlohmann::json::object();  // guarded by mu_
};

}  // namespace pveaudit

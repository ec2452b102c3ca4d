// export_loop.h
// ExportLoop follows the store for one export destination by its consumer
// cursor (EventStore::GetConsumer/PutConsumer, name "syslog:<name>" or
// "webhook:<name>"): it reads the events stored after the cursor in id
// order, keeps those the destination selected (EventSelection), hands them
// to Sink::Deliver in batches and moves the cursor past a batch only once
// Deliver returned OK. A failed Deliver is retried from the cursor with
// exponential backoff and jitter (0.5 s doubling to 60 s, or the sink's
// Retry-After), so a destination that is down delays nothing but itself:
// ingest never waits for an export (docs/export.md).
// What is sent: the stored events one by one (the raw evidence, as
// `pveam access verify` checks it); the views of docs/correlation.md are not
// applied yet (docs/export.md, "Limits").
// Thread safety: Run/Step on one thread; State() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "core/event.h"
#include "export/sink.h"
#include "store/event_store.h"

namespace pveaudit {

// True when `e` belongs to `sel`: all; alerts = action "alert:*"; failed =
// result failure (alerts are sent to "failed" destinations too: an alert
// is about failures or worse).
bool SelectedFor(EventSelection sel, const Event& e);

struct ExportLoopOptions {
  std::string consumer;     // "syslog:<name>"
  std::string destination;  // "<name>" for status
  EventSelection selection = EventSelection::kAll;
  size_t batch = 500;       // events per Deliver, at most
  bool from_start = false;  // no cursor yet: start at the first event, not the store's end
  int64_t min_backoff_us = 500000;
  int64_t max_backoff_us = 60 * 1000000LL;
  int64_t idle_poll_us = 100000;  // how often an idle loop looks for new events
};

// What `pveam access status` and `pveam access syslog` show.
struct ExportState {
  std::string destination, consumer, describe;
  bool enabled = true;
  uint64_t cursor = 0;
  uint64_t undelivered = 0;  // events stored after the cursor (selected or not)
  int64_t lag_s = 0;         // how long the oldest of them has waited (0 when caught up)
  std::string last_error;    // "" after a success
  int64_t last_error_us = 0;
  uint64_t delivered = 0;  // events delivered since start
  uint64_t failures = 0;   // failed Deliver calls since start
  nlohmann::json ToJson() const;
};

class ExportLoop {
 public:
  ExportLoop(EventStore& store, std::unique_ptr<Sink> sink, ExportLoopOptions options);

  // Reads the cursor (creating it at the store's end, or 0 with
  // from_start, when the consumer has none).
  Status Init();

  // One round: reads up to `batch` events after the cursor and delivers the
  // selected ones. Returns OK with *idle = true when nothing was left; a
  // failed Deliver returns its Status (the cursor did not move).
  Status Step(bool* idle);

  // Steps until `stop`, sleeping between rounds: idle_poll_us when caught
  // up, the backoff after a failure.
  void Run(const std::atomic<bool>& stop);

  ExportState State() const;
  uint64_t cursor() const { return cursor_; }

 private:
  void SetError(const Status& s);
  void Nap(int64_t us, const std::atomic<bool>& stop);

  EventStore& store_;
  std::unique_ptr<Sink> sink_;
  ExportLoopOptions opt_;
  std::atomic<uint64_t> cursor_{0};
  bool initialized_ = false;
  int64_t backoff_us_ = 0;
  std::mt19937_64 rng_;
  mutable std::mutex mu_;
  ExportState state_;
  int64_t pending_since_us_ = 0;  // when events after the cursor were first seen
  int64_t last_info_us_ = 0;
};

}  // namespace pveaudit

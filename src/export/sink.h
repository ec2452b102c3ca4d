// sink.h
// A Sink is one export destination (a syslog server, a webhook URL). The
// export loop (export/export_loop.h) follows the store by a consumer cursor
// (EventStore::GetConsumer/PutConsumer), selects events for the
// destination, and hands them to Deliver in batches, in id order. Delivery
// is at least once: the loop advances the cursor only after Deliver
// returned OK, and after a failure or a restart it resends from the cursor.
// A Sink is used by one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>

#include "core/event.h"
#include "core/status.h"

namespace pveaudit {

// Which events a destination receives (`--events all|alerts|failed`).
enum class EventSelection { kAll, kAlerts, kFailed };

class Sink {
 public:
  virtual ~Sink() = default;

  // Delivers `batch` (in id order, never empty). OK only once the
  // destination has taken every event of it (TCP/TLS: written and flushed;
  // HTTP: a 2xx answer). kBusy or kIOError: a transient failure (connection
  // refused, timeout, 5xx, 408, 429); the loop backs off and resends the
  // same events. Any other code: the destination refused them (a 4xx, a
  // certificate that does not verify); the loop reports it and retries
  // slowly, without advancing.
  virtual Status Deliver(std::span<const Event> batch) = 0;

  // How long the destination asked to be left alone after the last failed
  // Deliver (Retry-After), in microseconds; 0 = the loop's own backoff.
  virtual int64_t RetryAfterUs() const { return 0; }

  // Drops a connection after a failure so the next Deliver reconnects.
  virtual void Reset() {}

  // A flag the sink may poll while it waits (connecting, a slow server),
  // to give up early when the loop is being stopped (a disabled or changed
  // destination takes effect within a second). May be null.
  virtual void SetCancel(const std::atomic<bool>* cancel) { (void)cancel; }

  // One line for logs and `pveam access status`, e.g.
  // "syslog tcp://siem.example.com:514 (cef)". Never holds a secret.
  virtual std::string Describe() const = 0;
};

}  // namespace pveaudit

// syslog_source.h
// SyslogSource: the syslog listener (pipeline/syslog_listener.h) as a
// source of the store. Forwarded lines are parsed as authentication lines
// and stored in one transaction per Poll. There is no cursor to commit with
// them: a line is durable once that transaction commits, and lines still
// queued when the process dies are lost (syslog has no acknowledgement).
//
// With an allow-list (ListenOptions::peers) a line is stored under the node
// its peer maps to. A line from a peer not on the list, or one whose
// HOSTNAME names another node (it would forge that node's evidence), is not
// stored as an event: it is kept as a rejected line (`pveam access
// rejected`, origin "syslog:PEER") and counted.
//
// Thread safety: Start/Poll from one thread; the accessors from any.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "ingest/line_parser.h"
#include "ingest/login_tracker.h"
#include "pipeline/syslog_listener.h"
#include "store/event_store.h"

namespace pveaudit {

// Whether a line's HOSTNAME `claimed` names `node`: the same name, or its
// first label ("pve2.example.com" names "pve2"), case-insensitively.
bool SyslogHostnameNames(std::string_view claimed, std::string_view node);

class SyslogSource {
 public:
  Status Start(const ListenOptions& options);
  void Stop() { listener_.Stop(); }
  // Stores what arrived since the last call. On a store error the batch is
  // kept and retried.
  Status Poll(EventStore& store);

  const SyslogListener& listener() const { return listener_; }
  uint64_t events() const { return events_.load(); }
  // Lines kept aside as rejected (unparseable, peer not allowed, node-name
  // mismatch), and of them the node-name mismatches.
  uint64_t rejected() const { return rejected_.load(); }
  uint64_t node_mismatches() const { return node_mismatches_.load(); }

 private:
  SyslogListener listener_;
  std::unique_ptr<LineParser> parser_;
  LoginTracker tracker_;
  std::vector<Event> pending_events_;
  std::vector<RejectedLine> pending_rejected_;
  uint64_t seq_ = 0;
  uint64_t pending_mismatches_ = 0;
  std::atomic<uint64_t> events_{0}, rejected_{0}, node_mismatches_{0};
};

}  // namespace pveaudit

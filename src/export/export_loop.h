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
// What is sent is what `pveam access log` shows: one real action = one
// event (docs/correlation.md). An event that the view may still join with a
// line yet to come is held `hold_us` after the loop first saw it (default
// 40 s: the views' join window plus the poll), then the view is computed
// over its time range with everything stored by then: the event is sent
// joined (a failed login with its ticket request's status, a task with its
// request's address), the absorbed half of a pair is not sent on its own,
// and when it arrives after its survivor was already sent, the survivor is
// sent again, joined, under its own id (a repeat of one event, never a
// second event). Alerts (`alert:*`) and pveaudit's own setting changes
// are never joined and go at once. docs/export.md has the details.
// Thread safety: Run/Step on one thread; State() from any thread.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/event.h"
#include "export/sink.h"
#include "store/event_store.h"

namespace pveaudit {

// True when `e` belongs to `sel`: all; alerts = action "alert:*"; failed =
// result failure (alerts are sent to "failed" destinations too: an alert
// is about failures or worse).
bool SelectedFor(EventSelection sel, const Event& e);

// Gives consumer `consumer` its starting position unless it has one: the
// store's current end (a new destination gets what is stored from now on),
// or 0 with `from_start`. The commands that add a destination call it, so
// the start is when the user asked, not when pveauditd noticed; *start gets
// the position (the existing one when there was one).
Status StartConsumer(EventStore& store, const std::string& consumer, bool from_start,
                     uint64_t* start);

// A set of ids kept as ranges (the ids decided above an export's cursor: a
// catch-up decides whole stretches of a file at once, so they stay few
// ranges however many ids). Written as "3-7,9,12-20".
class IdRanges {
 public:
  bool Has(uint64_t id) const;
  void Add(uint64_t id);
  void DropThrough(uint64_t id);  // removes every id <= id
  bool empty() const { return r_.empty(); }
  std::string Encode() const;
  // False (and *this empty) when `s` is not such a list.
  bool Decode(const std::string& s);

 private:
  std::map<uint64_t, uint64_t> r_;  // first -> last (inclusive), disjoint, not adjacent
};

struct ExportLoopOptions {
  std::string consumer;     // "syslog:<name>"
  std::string destination;  // "<name>" for status
  EventSelection selection = EventSelection::kAll;
  size_t batch = 500;  // events per Deliver, at most
  // Events read and decided per round while a backlog exists: a round
  // that read all it asked for asks for twice as many next time, from
  // `batch` up to this; it is delivered in Deliver calls of `batch` and the
  // cursor is stored once, after the last of them succeeded (a durable
  // write per round, not per batch). A crash resends at most one round.
  size_t max_round = 32768;
  bool from_start = false;  // no cursor yet: start at the first event, not the store's end
  int64_t min_backoff_us = 500000;
  int64_t max_backoff_us = 60 * 1000000LL;
  int64_t idle_poll_us = 100000;  // how often an idle loop looks for new events
  // How long an event that may still be joined is held (see above); 0 =
  // decide at once with what is stored.
  int64_t hold_us = 40 * 1000000LL;
  size_t max_pending = 100000;  // events read ahead of the cursor, at most
};

// False for events the views never join (alerts, pveaudit's own setting
// changes): they are sent without a hold.
bool MayBeJoined(const Event& e);

// What `pveam access status` and `pveam access syslog` show.
struct ExportState {
  std::string destination, consumer, describe;
  bool enabled = true;
  uint64_t cursor = 0;
  uint64_t undelivered = 0;  // events stored after the cursor (selected or not)
  uint64_t held = 0;         // of them, read and waiting for a possible join
  int64_t lag_s = 0;         // how long the oldest of them has waited (0 when caught up)
  std::string last_error;    // "" after a success
  int64_t last_error_us = 0;
  uint64_t delivered = 0;  // events delivered since start
  uint64_t failures = 0;   // failed Deliver calls since start
  nlohmann::json ToJson() const;
};

class ExportLoop {
 public:
  // `store`: cursor and state writes (and reads when there is no
  // `reader`). `reader`, when given: a read-only connection of the same
  // store for the scans, so they do not wait for (or hold up) the daemon's
  // writer.
  ExportLoop(EventStore& store, std::unique_ptr<Sink> sink, ExportLoopOptions options,
             std::unique_ptr<EventStore> reader = nullptr);

  // Reads the cursor (creating it at the store's end, or 0 with
  // from_start, when the consumer has none).
  Status Init();

  // One round: reads up to `batch` more events after the cursor, decides
  // those whose hold is over (or that are never joined) through the view
  // and delivers the selected ones. The cursor moves to just before the
  // oldest event not yet decided. Returns OK with *idle = true when nothing
  // was due; a failed Deliver returns its Status (nothing moved).
  Status Step(bool* idle);

  // Steps until `stop`, sleeping between rounds: idle_poll_us when caught
  // up, the backoff after a failure.
  void Run(const std::atomic<bool>& stop);

  ExportState State() const;
  uint64_t cursor() const { return cursor_; }

 private:
  void SetError(const Status& s);
  // Sets held, lag and (at most once a second) undelivered.
  void PublishBacklog(int64_t now_us, bool caught_up);
  struct Decision {
    std::vector<Event> send;                             // joined, selected, in id order
    std::vector<uint64_t> decided;                       // pending ids done once sent
    std::vector<std::pair<uint64_t, uint64_t>> waits;    // absorbed id -> its undecided survivor
    std::vector<std::pair<uint64_t, uint64_t>> carried;  // absorbed id -> survivor sent now
    std::vector<uint64_t> ahead;  // survivors not read yet, sent now (a catch-up)
  };
  // What to do with the `due` pending ids: the view joins them with what
  // is stored; an absorbed event waits for its survivor when that one is
  // not decided yet.
  // `overdue`: absorbed events that waited too long for their survivor.
  Status Decide(const std::vector<uint64_t>& due, const std::vector<uint64_t>& overdue,
                Decision* d);
  struct Pending {  // read and not decided yet
    Event e;
    int64_t seen_us = 0;
    uint64_t waiting_on = 0;  // absorbed by this survivor, not decided yet
  };
  // Settings key of the ids decided above the cursor ("export.ahead.<consumer>").
  std::string AheadKey() const { return "export.ahead." + opt_.consumer; }
  // Ids above the cursor already decided (sent, dropped as absorbed, not
  // selected): read from that key at start, or decided ahead of an older
  // undecided event, or survivors sent before they were read.
  IdRanges ahead_;
  std::string ahead_value_;    // as last written
  bool ahead_written_ = true;  // a non-empty value may be stored: clear it
  // Absorbed id -> the survivor that went out carrying it (ids above the
  // cursor; a restart forgets it: the partner is then sent as it is).
  std::map<uint64_t, uint64_t> carried_;
  std::multimap<uint64_t, uint64_t> waiters_;  // survivor id -> absorbed ids waiting on it
  std::map<uint64_t, Pending> pending_;        // read, id > cursor, not decided
  uint64_t read_upto_ = 0;                     // the highest id read
  int64_t max_time_read_ = INT64_MIN;          // the newest log event time read
  // The newest event time stored, as far as known: what was read, and
  // while behind, the store's newest (the hold is judged against it).
  int64_t newest_us_ = INT64_MIN;
  void Nap(int64_t us, const std::atomic<bool>& stop);

  EventStore& store_;
  std::unique_ptr<EventStore> own_reader_;
  EventStore& reader_;
  std::unique_ptr<Sink> sink_;
  ExportLoopOptions opt_;
  std::atomic<uint64_t> cursor_{0};
  bool initialized_ = false;
  int64_t backoff_us_ = 0;
  std::mt19937_64 rng_;
  mutable std::mutex mu_;
  ExportState state_;
  int64_t last_info_us_ = 0;
  size_t round_ = 0;  // events to read in the next round (batch..max_round)
};

}  // namespace pveaudit

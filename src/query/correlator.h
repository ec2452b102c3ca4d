// correlator.h
// Whole events from split logs. Proxmox writes who started a task and its
// outcome to the task index, but the client's IP and the request only to
// pveproxy's access.log (docs/correlation.md). Before task events are
// stored, EnrichTasks looks up, for each, the access.log request that
// started it: same node, same user, same action and resource, at most
// kBeforeUs before (or kAfterUs after) the task's start. The task event then
// carries the request's IP, and its detail names the request's event id
// ("request=#123 POST /api2/json/..."), so queries show the pair once
// (DropAbsorbedRequests) with the task's real result, even when the request
// went through /api2/extjs (which always logs 200).
// A request for another node's resource (/nodes/pve2/...) sent to pve1 is
// forwarded by pve1's pveproxy to pve2's and logged by both (pve2 with
// pve1's address as the peer). ForwardMerger shows such a pair once, as
// pve1's copy with the client's address; DropAbsorbedRequests lets a task
// absorb both copies. docs/correlation.md has the exact rules.
// Thread safety: uses the store from the calling thread; ForwardMerger is a
// plain object for one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "store/event_store.h"

namespace pveaudit {

constexpr int64_t kTaskRequestBeforeUs = 10 * 1000000LL;
constexpr int64_t kTaskRequestAfterUs = 2 * 1000000LL;

// A forwarded request is logged first by the node that executes it (B,
// named in the path) and then by the node that forwarded it (A) once B's
// answer is relayed: B's copy lies between kForwardEarlierUs before and
// kForwardLaterUs after A's (the latter for clock skew between nodes).
constexpr int64_t kForwardEarlierUs = 5 * 1000000LL;
constexpr int64_t kForwardLaterUs = 2 * 1000000LL;

// The node an access.log request (source "pveproxy") names in its path,
// "/api2/<format>/nodes/<node>[/...]", or "" for any other event.
std::string_view RequestPathNode(const Event& e);

// True when `b` is the copy of the forwarded request `a` logged by the node
// that executed it: both from access.log, on two different (non-empty)
// nodes, b's node is the one a's path names, same user, same request line
// (method, path and query), same status, and b.time in
// [a.time - kForwardEarlierUs, a.time + kForwardLaterUs].
bool IsForwardedCopy(const Event& a, const Event& b);

// Merges forwarded pairs in a time-ordered event stream: feed every event
// with Add (ascending time), then Finish. `emit` gets the events in the same
// order, except that each forwarded copy (b of IsForwardedCopy) is absorbed
// into its forwarding copy a, whose detail gains
// " forwarded=#<b id> executed on <b node>". Each copy pairs at most once;
// among several candidates the one from another address than a's, then the
// nearest in time, wins. Events are held back at most kForwardEarlierUs.
class ForwardMerger {
 public:
  explicit ForwardMerger(std::function<void(Event&&)> emit) : emit_(std::move(emit)) {}
  void Add(const Event& e);
  void Finish();
  // The pairs merged so far: a's id -> b's id.
  const std::unordered_map<uint64_t, uint64_t>& pairs() const { return pairs_; }

 private:
  enum Role : uint8_t { kNone, kOrigin, kTarget };  // kOrigin: a; kTarget: b
  struct Slot {
    Event e;
    Role role = kNone;
    uint64_t partner_id = 0;   // paired: a's absorbed b / b's absorbing a (0: none yet)
    std::string partner_node;  // a: b's node (appended to a's detail when emitted)
  };
  void Flush(int64_t before_us);
  Slot* Find(const Event& e, Role want);

  std::function<void(Event&&)> emit_;
  std::deque<Slot> pending_;
  uint64_t first_seq_ = 0;  // sequence number of pending_.front()
  // Unpaired candidates' slots by the hash of their detail (Find compares
  // the details themselves).
  std::unordered_map<size_t, std::vector<uint64_t>> by_detail_;
  std::unordered_map<uint64_t, uint64_t> pairs_;
};

// Fills ip and the request reference of task events (source "tasks") whose
// request is already stored. Events that are not tasks are left alone. A
// task on node B started by a forwarded request names B's copy and takes the
// client's address from A's copy when that is stored (" forwarded=#<a id>
// from <a node>" is appended); with only A's copy stored, it names A's.
Status EnrichTasks(EventStore& store, std::vector<Event>* events);

// The id of the request a task event absorbed ("request=#ID" in its
// detail), or 0.
uint64_t AbsorbedRequestId(const Event& e);

// Removes from `events` the requests that a task event in `events`
// absorbed. With `forwarded` (ForwardMerger::pairs()), a task that absorbed
// either copy of a forwarded pair absorbs the pair: the shown copy is
// removed too and the task takes its (the client's) address.
void DropAbsorbedRequests(std::vector<Event>* events,
                          const std::unordered_map<uint64_t, uint64_t>* forwarded = nullptr);

}  // namespace pveaudit

// correlator.h
// Views that turn split evidence into one event per real action. Proxmox
// writes the parts of one action to different logs (docs/correlation.md):
// who started a task and its outcome to the task index, the client's IP and
// the request only to pveproxy's access.log; the user of a failed login to
// the authentication line, the request to access.log; the content of an
// access-control change nowhere (pveauditd diffs the files), its author only
// to access.log. The store keeps every line as it was logged; the joins are
// made here, at query time, over a time-ordered stream, so the answer does
// not depend on the order in which files were imported, and every reader
// (listing, counts, ...) sees the same events.
//
// EventView is the whole view: ForwardMerger (a request forwarded between
// nodes, logged by both) feeding ActionJoiner (a task and its request, the
// `active` and `index` lines of one task, a failed login's auth line and
// ticket request, a config change and the request that made it). Both
// stream: memory is bounded by the events of a time window
// (kViewHoldUs), not by the size of the result.
// Thread safety: plain objects for one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "core/ring_queue.h"

namespace pveaudit {

// A task's request lies between kTaskRequestBeforeUs before and
// kTaskRequestAfterUs after the task's start.
constexpr int64_t kTaskRequestBeforeUs = 10 * 1000000LL;
constexpr int64_t kTaskRequestAfterUs = 2 * 1000000LL;

// A forwarded request is logged first by the node that executes it (B,
// named in the path) and then by the node that forwarded it (A) once B's
// answer is relayed: B's copy lies between kForwardEarlierUs before and
// kForwardLaterUs after A's (the latter for clock skew between nodes).
constexpr int64_t kForwardEarlierUs = 5 * 1000000LL;
constexpr int64_t kForwardLaterUs = 2 * 1000000LL;

// A failed login's ticket request is logged by pveproxy when it answers,
// which it delays to 3 s after the request began for a 401; pvedaemon logs
// the authentication line while it handles the request. So the request
// lies between kLoginRequestBeforeUs before and kLoginRequestAfterUs after
// the authentication line (whole-second timestamps: 1 s of slack each way).
constexpr int64_t kLoginRequestBeforeUs = 1 * 1000000LL;
constexpr int64_t kLoginRequestAfterUs = 5 * 1000000LL;

// A successful login's (or ticket renewal's) ticket request is answered
// without delay, right after pvedaemon logged "successful auth": it lies
// between kGrantRequestBeforeUs before and kGrantRequestAfterUs after the
// authentication line (whole seconds on both sides).
constexpr int64_t kGrantRequestBeforeUs = 1 * 1000000LL;
constexpr int64_t kGrantRequestAfterUs = 2 * 1000000LL;

// The request that made an access-control change lies between
// kChangeRequestBeforeUs before and kChangeRequestAfterUs after the change
// (the file's modification time; pveproxy logs when it answers).
constexpr int64_t kChangeRequestBeforeUs = 30 * 1000000LL;
constexpr int64_t kChangeRequestAfterUs = 5 * 1000000LL;

// How long ActionJoiner holds an event back: a request can be claimed by a
// change up to kChangeRequestBeforeUs later, which is decided once the
// stream is kChangeRequestAfterUs past it.
constexpr int64_t kViewHoldUs = kChangeRequestBeforeUs + kChangeRequestAfterUs;
// How far a query's time range is widened on each side so that every
// partner (and every competitor for a partner) of an event in range is seen.
constexpr int64_t kViewMarginUs = 2 * kViewHoldUs;

// Event.source of access-control changes (pve/config_diff.h).
inline constexpr std::string_view kConfigChangeSourceName = "pve-config";

// The node an access.log request (source "pveproxy") names in its path,
// "/api2/<format>/nodes/<node>[/...]", or "" for any other event.
std::string_view RequestPathNode(const Event& e);

// True when `b` is the copy of the forwarded request `a` logged by the node
// that executed it: both from access.log, on two different (non-empty)
// nodes, b's node is the one a's path names, same user, same request line
// (method, path and query), same status, and b.time in
// [a.time - kForwardEarlierUs, a.time + kForwardLaterUs].
bool IsForwardedCopy(const Event& a, const Event& b);

// A task line: from the task index or tasks/active (source "tasks"), or the
// cluster log's "starting task UPID" / "end task UPID" (source
// "clusterlog", detail the UPID); all name the task by its UPID.
bool IsTaskEvent(const Event& e);

// True when access.log request `r` can have started task `t`
// (IsTaskEvent): r did not fail and is not a redirect (status not 3xx/4xx/5xx);
// the node that executed r (the one its path names, else the one that
// logged it) is t's node; same non-empty user (or token); the taxonomy
// allows it (RequestCanStartTask in core/actions.h); r.time in
// [t.time - kTaskRequestBeforeUs, t.time + kTaskRequestAfterUs].
bool CanStartTask(const Event& r, const Event& t);

// The login lines the view pairs (docs/correlation.md), public so that
// the alert engine and the query's side reads pick the same lines:
// pvedaemon's failed login ("authentication failure; rhost=..."),
bool IsLoginFailure(const Event& e);
// pvedaemon's "successful auth for user 'X'" (a login or a ticket renewal;
// the line names no address),
bool IsLoginSuccess(const Event& e);
// an anonymous ticket request whose answer says the login failed: 401, or
// 200 through /api2/extjs (that formatter reports the 401 in the body; a
// json 200 has result success),
bool IsFailedTicketRequest(const Event& r);
// and an anonymous POST .../access/ticket answered 2xx (200 through
// /api2/extjs is "unknown": that formatter always says 200).
bool IsGrantedTicketRequest(const Event& r);

// True when access.log request `r` is the ticket request of the failed
// login `a` (source "auth", action "login", failure): r is an anonymous
// (no user) access:ticket request answered 401, or 200 through
// /api2/extjs (which hides the 401), on a's node, from a's address (both
// non-empty), r.time in [a.time - kLoginRequestBeforeUs,
// a.time + kLoginRequestAfterUs].
bool IsLoginRequest(const Event& a, const Event& r);

// The request actions (as the taxonomy names them) that can have made the
// access-control change `change` (source "pve-config"), e.g. acl:modify ->
// {acl:modify, user:delete, group:delete, ...}. Empty when no request can
// (tfa:lock happens through failed logins). docs/config-changes.md.
std::vector<std::string> CandidateRequestActions(const Event& change);

// True when request `r` can have made change `c`: r is not itself a change
// and did not fail, is not a read, its action is one of
// CandidateRequestActions(c), it does not name another object of the same
// collection (PUT /access/users/bob cannot have changed alice), and r.time
// in [c.time - kChangeRequestBeforeUs, c.time + kChangeRequestAfterUs].
bool CanHaveMadeChange(const Event& r, const Event& c);

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
  void Add(Event&& e);
  void Add(const Event& e) { Add(Event(e)); }
  void Finish();
  // The number of copies absorbed so far.
  uint64_t merged() const { return merged_; }

 private:
  enum Role : uint8_t { kNone, kOrigin, kTarget };  // kOrigin: a; kTarget: b
  struct Slot {
    Event e;
    Role role = kNone;
    uint64_t partner_id = 0;   // paired: a's absorbed b / b's absorbing a (0: none yet)
    std::string partner_node;  // a: b's node (appended to a's detail when emitted)
    size_t hash = 0;           // of e.detail (kOrigin, kTarget)
  };
  void Flush(int64_t before_us);
  Slot* Find(const Event& e, size_t hash, Role want);

  std::function<void(Event&&)> emit_;
  RingQueue<Slot> pending_;
  uint64_t first_seq_ = 0;  // sequence number of pending_.front()
  // Unpaired candidates' slots by the hash of their detail (Find compares
  // the details themselves).
  std::unordered_map<size_t, std::vector<uint64_t>> by_detail_;
  uint64_t merged_ = 0;
};

// Joins, in a time-ordered stream (after ForwardMerger), the evidence of
// one action into one event; docs/correlation.md has the rules:
//  - tasks with the same UPID (tasks/active and tasks/index, or several
//    snapshots of active) are one task, with the final status;
//  - a task absorbs the request that started it (CanStartTask; one request
//    starts one task; the nearest request at or after the start, else the
//    nearest before, wins): the task keeps its node, user, action, resource
//    and result, takes the request's address when it has none, and its
//    detail gains " request=#<id> <request line>";
//  - a failed login (auth line) absorbs its ticket request
//    (IsLoginRequest; the earliest unpaired one wins): it takes the
//    request's address when it has none and its HTTP status, and its detail
//    gains " request=#<id> <request line>";
//  - a successful login or ticket renewal (auth line, which has no
//    address) absorbs its anonymous ticket request (answered 2xx, or 200
//    through /api2/extjs) on the same node, between kGrantRequestBeforeUs
//    before and kGrantRequestAfterUs after it, only when the pair is
//    unambiguous: exactly one such request for the line and no other
//    unpaired success line for that request (two logins on one node in the
//    same seconds keep their lines apart rather than risk swapping their
//    addresses); it takes the request's address and status, and its detail
//    gains " request=#<id> <request line>";
//  - an access-control change (source pve-config, stored without actor)
//    takes user, address, session and node from the request that made it
//    (CanHaveMadeChange; preference in docs/config-changes.md), which is
//    absorbed (one request may make several changes); its detail gains
//    "; attributed from event <id> (<request line>)", or "; actor unknown".
// Events stored by older versions with the join already written into them
// (" request=#<id>", "; attributed from event <id>", "; actor unknown") keep
// it and absorb that request when it is in the stream.
// Every other event passes unchanged, in time order. Events are held back
// at most kViewHoldUs (plus the span of equal times).
class ActionJoiner {
 public:
  explicit ActionJoiner(std::function<void(Event&&)> emit) : emit_(std::move(emit)) {}
  void Add(Event&& e);
  void Finish();
  // Events absorbed so far (requests, duplicate task lines).
  uint64_t absorbed() const { return absorbed_; }
  // Events held back now (the memory bound: at most kViewHoldUs of them,
  // plus those of equal time).
  size_t pending() const { return pending_.size(); }

 private:
  enum Kind : uint8_t { kPlain, kTask, kLoginFailure, kLoginSuccess, kChange };
  struct Slot {
    Event e;
    Kind kind = kPlain;
    bool dropped = false;    // absorbed into another event: not emitted
    bool claimed = false;    // started a task or was a login's request (exclusive)
    std::string task_key;    // its key in task_requests_, or ""
    std::string ticket_key;  // its key in ticket_requests_, or ""
    bool granted = false;    // in granted_requests_ / success_logins_ (by node)
    bool joined = false;     // a success line that absorbed its request
  };
  Slot& At(uint64_t seq) { return pending_[seq - first_seq_]; }
  void Decide(uint64_t seq);
  void DecideTask(Slot& t);
  void DecideLogin(Slot& a);
  void DecideLoginSuccess(Slot& a);
  void DecideChange(Slot& c);
  void Drop(Slot& s);
  void Advance(int64_t now_us);
  static void Unindex(std::unordered_map<std::string, std::vector<uint64_t>>* index,
                      const std::string& key, uint64_t seq);

  std::function<void(Event&&)> emit_;
  RingQueue<Slot> pending_;
  uint64_t first_seq_ = 0;
  uint64_t next_anchor_ = 0;  // the first pending slot not yet decided
  // Pending requests that may start a task, by "<executing node>\n<user>".
  std::unordered_map<std::string, std::vector<uint64_t>> task_requests_;
  // Pending anonymous ticket requests, by "<node>\n<ip>".
  std::unordered_map<std::string, std::vector<uint64_t>> ticket_requests_;
  // Pending anonymous ticket requests that did not fail, and pending
  // successful authentication lines without address, by node.
  std::unordered_map<std::string, std::vector<uint64_t>> granted_requests_;
  std::unordered_map<std::string, std::vector<uint64_t>> success_logins_;
  // Pending task events by UPID.
  std::unordered_map<std::string, uint64_t> tasks_;
  uint64_t absorbed_ = 0;
};

// ForwardMerger followed by ActionJoiner: Add events in ascending time
// order, then Finish; `emit` gets one event per action, in time order.
class EventView {
 public:
  explicit EventView(std::function<void(Event&&)> emit)
      : joiner_(std::move(emit)), merger_([this](Event&& e) { joiner_.Add(std::move(e)); }) {}
  void Add(Event&& e) { merger_.Add(std::move(e)); }
  void Add(const Event& e) { merger_.Add(Event(e)); }
  void Finish() {
    merger_.Finish();
    joiner_.Finish();
  }

 private:
  ActionJoiner joiner_;
  ForwardMerger merger_;
};

}  // namespace pveaudit

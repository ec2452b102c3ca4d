// alert_engine.h
// AlertEngine judges stored events, in the order they were stored, against
// the alert rules (alert_rule.h) and returns the alerts that fire, as
// events to append to the store (action "alert:<type>", source
// "pveaudit-alert"). docs/alerts.md has the semantics: a window is
// (t-W, t] on event time; a rule fires when the Nth matching action of a
// group arrives and once per burst (again after the cooldown, or once the
// window held fewer than N).
//
// One real action = one event (docs/correlation.md): the lines Proxmox
// writes for one action (a failed login's auth line and its ticket request,
// a task and the request that started it, a task's active and index lines,
// the two copies of a forwarded request) count once, whichever of them is
// stored first, using the view's own predicates (query/correlator.h). The
// engine counts the first line at once instead of waiting for the view's
// join window, so an alert fires as soon as the Nth attempt's first line is
// stored.
//
// State: the windows are saved with SaveState into the engine's cursor and
// committed in the same transaction as the alerts (daemon/alert_runner.h),
// so a crash neither loses nor repeats an alert. Which line pairs with
// which, and which rules counted a line's action, is rebuilt after a
// restart by feeding again, with Replay, every event stored since the
// first line the pairer held (usually the last minute; with one lane far
// behind, since where it is).
// Thread safety: one thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "alert/alert_rule.h"
#include "core/event.h"
#include "core/status.h"
#include "query/log_query.h"

namespace pveaudit {

// How far back (event time) lines are kept to find the other line of the
// same action (login lines: behind the slower of their two sources).
constexpr int64_t kPairHoldUs = 60 * 1000000LL;
// A failed ticket request stored before its auth line waits until the
// auth lane is this much past the latest time its auth line could have
// (lines of one second may be written slightly out of order).
constexpr int64_t kHoldSlackUs = 1 * 1000000LL;
// A held line is judged anyway once access.log is this far (event time)
// past it and went this far without an auth line stored: an auth log that
// stopped being written holds nothing for ever.
constexpr int64_t kMaxHoldUs = 86400 * 1000000LL;
// A group keeps this many actions beyond the N+1 newest, so that the other
// line of a recent action is recognised even when the group is busy.
constexpr size_t kPartnerSlack = 16;

// Finds the earlier stored line of the same action, if any.
class ActionPairer {
 public:
  struct Slot {
    Event e;  // without session and origin
    uint64_t action_id = 0;
    bool paired = false;  // took its one partner line
    // The rules (ids) that counted the action this line belongs to, by any
    // of its lines so far: a later line of the action is not counted again
    // by them, however long after it comes (a lane far behind).
    std::vector<uint64_t> counted_by;
  };
  struct Result {
    uint64_t action_id = 0;  // id of the action's first stored line (== e.id when it is new)
    // A successful login whose address became known by this line (the
    // auth line and its ticket request): user and ip of the login.
    // The slot of this line and of the earlier line it paired with (null:
    // not kept / none). Valid until the next Add.
    Slot* self = nullptr;
    Slot* partner = nullptr;
    uint64_t self_seq = 0;  // of `self` in its pool (LoginSlot)
    bool login_known = false;
    std::string login_user, login_ip;
    int64_t login_time_us = 0;
  };
  // `forwarded_matters`: whether the forwarded copy of request `e` must be
  // found (false when no rule can count its action). `pair_matters`: for a
  // task or a request, whether a rule can count it or the line it pairs
  // with; when not, it is neither kept nor paired (with lanes far apart the
  // pool of waiting tasks and requests overflowed with lines no rule
  // counts, and the pairs that mattered were let go: a task and its
  // request counted twice).
  Result Add(const Event& e, bool forwarded_matters = true, bool pair_matters = true);
  // The same, moving `e` into the pairer when it is kept (then read it as
  // res.self->e; `e` is left unspecified).
  Result Take(Event& e, bool forwarded_matters = true, bool pair_matters = true);
  int64_t newest_us() const { return newest_us_; }
  // The smallest id of a line held (a slot or a ghost); 0: none.
  uint64_t oldest_id() const;
  // The time before which no more partner can come for a login line: both
  // the authentication lines and access.log have passed it (one may be
  // read long after the other: files imported one after the other, a lane
  // catching up). INT64_MIN while either has not been seen.
  int64_t login_watermark_us() const {
    return newest_auth_us_ == INT64_MIN || newest_proxy_us_ == INT64_MIN
               ? INT64_MIN
               : std::min(newest_auth_us_, newest_proxy_us_) - kPairHoldUs;
  }
  // The same for a task and its request: the task index and access.log
  // have both passed it.
  int64_t task_watermark_us() const {
    return newest_task_us_ == INT64_MIN || newest_proxy_us_ == INT64_MIN
               ? INT64_MIN
               : std::min(newest_task_us_, newest_proxy_us_) - kPairHoldUs;
  }
  size_t pending() const { return logins_.slots.size() + others_.slots.size(); }
  // The newest time of the authentication lines; INT64_MIN: none seen.
  int64_t newest_auth_us() const { return newest_auth_us_; }
  // The login line kept under `seq` (Result::self_seq) if it is still
  // kept and is event `id`; null otherwise.
  const Slot* LoginSlot(uint64_t seq, uint64_t id) const {
    if (seq < logins_.first_seq || seq - logins_.first_seq >= logins_.slots.size()) return nullptr;
    const Slot& s = logins_.slots[seq - logins_.first_seq];
    return s.e.id == id ? &s : nullptr;
  }
  Slot* LoginSlot(uint64_t seq, uint64_t id) {
    return const_cast<Slot*>(std::as_const(*this).LoginSlot(seq, id));
  }

 private:
  // Lines waiting for a partner, by what a partner must share: "L<node>"
  // login lines (in logins_), "T<node>\n<user>" tasks and requests,
  // "U<upid>" task lines, "F<request line>" forwarded copies (in others_).
  // Bucket values: sequence numbers into the pool's slots.
  struct Pool {
    std::deque<Slot> slots;
    uint64_t first_seq = 0;
    std::unordered_map<std::string, std::vector<uint64_t>> buckets;
    void PopFront();
  };
  Pool& PoolOf(const std::string& key) { return key[0] == 'L' ? logins_ : others_; }
  std::vector<uint64_t>* Bucket(const std::string& key);
  void Prune();
  // An auth line that the cap let go unpaired (the auth lane far ahead:
  // the auth log imported before access.log): what its ticket request
  // needs to find it, kept in time order, a failure by "f" node "\n"
  // address, a success (which names no address) by "s" node. A request
  // that finds no partner among the slots takes the earliest ghost it may
  // pair with (ClaimGhost): a failed attempt is then not counted again,
  // and a renewal through /api2/extjs (logged 200, so possibly a failure)
  // is the success it is.
  struct Ghost {
    int64_t time_us;
    uint64_t id, action_id;
    std::string user, action;
    Outcome result;
    std::vector<uint64_t> counted_by;
  };
  void KeepGhost(const Slot& s);
  // The ghost ticket request `r` pairs with, as ghost_slot_; null if none.
  // *kind: 1 a failed auth line, 2 a successful one.
  Slot* ClaimGhost(const Event& r, bool failed, bool granted, int* kind);
  std::unordered_map<std::string, std::deque<Ghost>> ghosts_;
  size_t ghost_count_ = 0;
  Slot ghost_slot_;  // the claimed ghost as a partner, until the next Take
  Pool logins_, others_;
  uint64_t added_ = 0;
  int64_t newest_us_ = INT64_MIN, newest_auth_us_ = INT64_MIN, newest_proxy_us_ = INT64_MIN,
          newest_task_us_ = INT64_MIN;
  // newest_proxy_us_ when the last auth line was stored (access.log's
  // first time if none was since it began): whether the auth lane still
  // moves (AlertEngine::AuthLaneBehind).
  int64_t auth_seen_proxy_us_ = INT64_MIN;

  friend class AlertEngine;  // saves and restores the newest times
};

// new-ip: the successful logins seen, by user and by user and address,
// kept in memory (asking the store for every login cost a scan per login:
// 10 rules cost 7x the ingest). Built from the store when pveauditd starts
// (AlertRunner) and fed by the engine as it judges logins, so the answer
// depends only on the stored order, not on what the store held when a line
// was judged.
class LoginHistory {
 public:
  // Times of one key are thinned: of three consecutive times a < b < c with
  // c - a <= gap, b is dropped. That changes no answer for a window W >=
  // gap (the time before any t that b answered for, a does too), and keeps
  // about two times per gap whatever the number of logins.
  void set_gap(int64_t gap_us) { gap_us_ = gap_us; }
  void Add(const std::string& user, const std::string& ip, int64_t time_us);
  // The logins of `user` at a time in [from_us, before_us): 0 = none, 1 =
  // some, none from `ip`, 2 = one from `ip`.
  int Seen(const std::string& user, const std::string& ip, int64_t from_us,
           int64_t before_us) const;
  // Forgets times before `before_us`.
  void Prune(int64_t before_us);
  size_t size() const { return users_.size() + pairs_.size(); }
  void Clear() {
    users_.clear();
    pairs_.clear();
  }

 private:
  static void Insert(std::vector<int64_t>& v, int64_t t, int64_t gap);
  static bool Any(const std::vector<int64_t>& v, int64_t from, int64_t before);
  int64_t gap_us_ = 90 * 86400 * 1000000LL;
  std::unordered_map<std::string, std::vector<int64_t>> users_;
  std::unordered_map<std::string, std::vector<int64_t>> pairs_;  // "user\nip"
  std::string key_;                                              // reused
};

class AlertEngine {
 public:
  AlertEngine() = default;

  // Uses these rules from now on. The windows of rules that are still the
  // same are kept; a rule that is new, changed, disabled or removed starts
  // from empty windows. Invalid rules are skipped and listed by errors().
  void SetRules(const AlertRuleSet& rules);
  const std::vector<std::string>& errors() const { return errors_; }
  size_t active_rules() const { return rules_.size(); }

  // new-ip: whether the login history must be seeded from the store
  // (a new-ip rule is enabled and SeedLogin was not done since), and the
  // time from which to seed it (the longest new-ip window before `now_us`).
  bool wants_login_history() const { return wants_history_ && !history_seeded_; }
  int64_t login_history_span_us() const { return history_span_us_; }
  // A successful login of `user` from `ip` stored before the cursor; then
  // LoginHistorySeeded once all are given.
  void SeedLogin(const std::string& user, const std::string& ip, int64_t time_us) {
    history_.Add(user, ip, time_us);
  }
  void LoginHistorySeeded() { history_seeded_ = true; }

  // Judges the stored event `e` (events must come in id order); fired
  // alerts are appended to `alerts`. Events from pveaudit itself (alerts,
  // audit events of its own settings) are not judged.
  void Add(const Event& e, std::vector<Event>* alerts);
  void Add(Event&& e, std::vector<Event>* alerts);  // without a copy
  // Lines held until the lane that may still hold a line before them has
  // passed them (failed ticket requests, successes of brute-force-success
  // per address); for tests and status.
  size_t held() const { return held_.size() + pending_successes_.size(); }
  // The store holds authentication lines (the runner saw one in a batch):
  // a ticket request waits for its auth line even before the engine has
  // judged the first one (access.log stored ahead when pveauditd starts).
  void ExpectAuthLane() { expect_auth_ = true; }

  // After LoadState: feeds events already judged (id <= the saved
  // position), so the pairing of lines is as before the restart. Nothing
  // is counted or fired.
  void Replay(const Event& e);

  // The windows as JSON, and back. LoadState before SetRules.
  std::string SaveState() const;
  Status LoadState(std::string_view json);
  // The newest event time seen; INT64_MIN: none.
  int64_t newest_us() const { return pairer_.newest_us(); }
  // After LoadState: Replay wants the events judged before with an id from
  // this one on (0: none): the first line the pairer held (a slot or a
  // ghost) when the state was saved.
  uint64_t replay_from_id() const { return replay_from_id_; }

 private:
  struct Entry {
    int64_t time_us;
    uint64_t action_id;
  };
  struct Group {
    std::vector<Entry> entries;  // in time order
    int64_t last_fire_us = INT64_MIN;
    int64_t fired_newest_us = INT64_MIN;  // newest entry at the last firing
    std::string ip;                       // brute-force-success: of the last failure
    // brute-force-success: the latest successes, judged again when a
    // failure before them is read late (not saved: lost on a restart);
    // each fires once at most.
    struct Success {
      Event e;
      bool fired = false;
    };
    std::vector<Success> successes;
  };
  struct RuleState {
    AlertRule rule;
    GroupBy group_by = GroupBy::kUser;
    RuleMatcher matcher;
    std::string signature;  // what must stay equal for the windows to be kept
    std::unordered_map<std::string, Group> groups;
  };
  struct Loaded {
    std::string signature;
    std::unordered_map<std::string, Group> groups;
  };

  // Counts action `action_id` at `time_us` in `g`; true when the rule
  // fires, with the end of the window that reached the threshold in
  // `fired_at`.
  bool Count(RuleState& r, Group& g, int64_t time_us, uint64_t action_id, int64_t* fired_at);
  // Whether `g` counted action `action_id` (the other line of an action
  // lies in the same group: same user, same address).
  static bool Holds(const Group& g, uint64_t action_id);
  void Prune(RuleState& r, int64_t now_us);
  // Whether a rule of the kinds that count requests (action-rate,
  // off-hours) can count request `e`'s action.
  bool MayCountRequest(const Event& e) const;
  // For a task or a request: whether a rule that counts actions can count
  // it or the line it may pair with (ActionPairer::Add). Other lines: true.
  bool PairMatters(const Event& e) const;
  mutable std::unordered_map<std::string, bool> pair_matters_;  // by action; cleared by SetRules
  // The time before which no more line can come for rule `r`'s sources.
  int64_t Watermark(const RuleState& r) const;
  // brute-force-success: fires for success `e` when the window before it
  // holds N failures newer than those of the last alert.
  // Returns whether it fired. A success that fired before (judged again)
  // does not fire again, but its burst's newest failure moves on.
  bool JudgeSuccess(RuleState& r, Group& g, const std::string& key, const Event& e,
                    std::vector<Event>* alerts, bool fired_before = false);
  Event MakeAlert(const RuleState& r, const Event& trigger, const Group& g, int64_t time_us,
                  const std::string& what) const;
  // The group of rule `r` that line `e` counts in (`pr`: what the pairer
  // said of it), for the rules that count lines (not new-ip, not
  // brute-force-success's successes); "" when it counts in none.
  std::string CountKey(const RuleState& r, const Event& e, const ActionPairer::Result& pr) const;
  // Judges line `e` against every rule (`pr`: what the pairer said of it).
  void Judge(const Event& e, const ActionPairer::Result& pr, std::vector<Event>* alerts);
  // brute-force-success: judges success `e` of rule `r` and keeps it for
  // failures read after it.
  void OnSuccess(RuleState& r, const Event& e, std::vector<Event>* alerts);
  // Judges the held lines whose time has come (see held_).
  void ReleaseHeld(std::vector<Event>* alerts);
  // Whether the auth lane may still bring a line of time <= `time_us`:
  // it is followed (seen, or expected) and has not passed that time, and
  // access.log is not more than kMaxHoldUs past it.
  bool AuthLaneBehind(int64_t time_us) const;
  // Whether an auth line may still come for failed ticket request at
  // `time_us`.
  bool AuthMayStillPair(int64_t time_us) const;
  // brute-force-success per address: whether a success at `time_us` waits
  // for the auth lane (until it reaches the success's time minus
  // kGrantRequestAfterUs, or access.log is kPairHoldUs past it).
  bool SuccessWaits(int64_t time_us) const;
  bool expect_auth_ = false;

  // A failed ticket request (the 401 of POST /access/ticket) stored before
  // its authentication line, when the authentication lines are followed:
  // not counted until the auth lane has passed the time its partner could
  // have. Paired by then: the attempt counted at the auth line's time (as
  // when the auth line comes first, as Proxmox writes them); alone: at its
  // own. So a failed login counts at the same time whichever lane was read
  // first. In stored order (access.log's time order).
  // A held line that the pairer no longer keeps (its cap, with the auth
  // lane far behind: access.log imported before the auth log) still waits
  // here, and a failed auth line that the pairer finds no partner for
  // takes it (ClaimHeld): counted once, not once alone and again with its
  // auth line.
  struct Held {
    Event e;
    uint64_t seq = UINT64_MAX;  // its slot in the pairer; UINT64_MAX: not known yet
    bool claimed = false;       // by an auth line, after the pairer let it go
  };
  void PushHeld(Held h);
  void PopHeld();
  // The earliest held line, no longer in the pairer, that is failed auth
  // line `a`'s ticket request: marked claimed. False when there is none.
  bool ClaimHeld(const Event& a);
  std::deque<Held> held_;
  uint64_t held_base_ = 0;  // serial of held_.front(); serials grow by one per held line
  // node "\n" ip -> serials of the held lines from there, ascending
  std::unordered_map<std::string, std::deque<uint64_t>> held_by_addr_;
  bool held_unresolved_ = false;                     // after LoadState, until the first Add
  std::unordered_map<uint64_t, size_t> held_index_;  // id -> index in held_, meanwhile
  // brute-force-success per address: a success (access.log's granted
  // ticket) judged only once the auth lane has reached it, so that the
  // failures before it have been counted (judged at once, a success read
  // ahead of the auth log fired on the first N failures of the burst and
  // again on each one after).
  struct PendingSuccess {
    uint64_t rule_id;
    Event e;
  };
  std::deque<PendingSuccess> pending_successes_;

  ActionPairer pairer_;
  LoginHistory history_;
  bool wants_history_ = false, history_seeded_ = false;
  int64_t history_span_us_ = 0, history_gap_us_ = INT64_MAX;
  std::vector<RuleState> rules_;
  std::vector<std::string> errors_;
  // Windows loaded by LoadState, by rule id, until SetRules claims them.
  std::map<uint64_t, Loaded> loaded_;
  uint64_t judged_ = 0;
  // Only rules about logins: other lines are neither paired nor judged.
  bool logins_only_ = true;
  uint64_t replay_from_id_ = 0;
};

// The rule id of an alert event ("/pveaudit/alerts/<id>"), 0 when `e` is
// not one.
uint64_t AlertRuleId(const Event& e);
// The ids of the events that triggered alert `e` (from its detail).
std::vector<uint64_t> AlertTriggerIds(const Event& e);
// Whether an export destination of `kind` ("syslog", "webhook") sends `e`
// as far as its rule goes: every event that is not an alert, and an alert
// whose rule named no --notify list or named this kind in it. The list
// travels in the alert's detail ("; notify webhook; events ..."), so an
// alert goes where its rule said when it fired, whatever became of the
// rule since ("; notify all" when the rule named none).
bool AlertGoesTo(const Event& e, std::string_view kind);

}  // namespace pveaudit

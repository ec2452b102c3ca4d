#include "query/correlator.h"

#include <algorithm>
#include <cstdlib>
#include <tuple>

#include "core/actions.h"
#include "core/filter.h"

namespace pveaudit {
namespace {

constexpr std::string_view kForwardedMark = " forwarded=#";

size_t DetailHash(const Event& e) { return std::hash<std::string>()(e.detail); }

}  // namespace

std::string_view RequestPathNode(const Event& e) {
  if (e.source != "pveproxy") return {};
  // "METHOD /api2/<format>/nodes/<node>[/?...]"
  std::string_view d = e.detail;
  size_t sp = d.find(' ');
  if (sp == std::string_view::npos) return {};
  std::string_view t = d.substr(sp + 1);
  if (t.substr(0, 6) != "/api2/") return {};
  size_t slash = t.find('/', 6);
  if (slash == std::string_view::npos || slash == 6) return {};
  t = t.substr(slash);
  if (t.substr(0, 7) != "/nodes/") return {};
  t = t.substr(7);
  t = t.substr(0, t.find_first_of("/? "));
  // pveproxy serves "localhost" itself (never forwarded).
  return t == "localhost" ? std::string_view() : t;
}

bool IsForwardedCopy(const Event& a, const Event& b) {
  if (a.node.empty() || b.node.empty() || a.node == b.node) return false;
  if (b.time_us < a.time_us - kForwardEarlierUs || b.time_us > a.time_us + kForwardLaterUs)
    return false;
  if (a.user != b.user || a.status != b.status || a.detail != b.detail) return false;
  std::string_view target = RequestPathNode(b);  // == RequestPathNode(a): same detail
  return !target.empty() && target == b.node && b.source == a.source;
}

ForwardMerger::Slot* ForwardMerger::Find(const Event& e, size_t hash, Role want) {
  auto it = by_detail_.find(hash);
  if (it == by_detail_.end()) return nullptr;
  Slot* best = nullptr;
  for (uint64_t seq : it->second) {
    Slot& s = pending_[seq - first_seq_];
    if (s.role != want || s.partner_id) continue;
    if (want == kTarget ? !IsForwardedCopy(e, s.e) : !IsForwardedCopy(s.e, e)) continue;
    // The forwarded copy's peer is the forwarding node, not the client:
    // prefer a partner from another address, then the nearest (newest).
    if (!best || (best->e.ip == e.ip && s.e.ip != e.ip) ||
        ((best->e.ip == e.ip) == (s.e.ip == e.ip) && s.e.time_us >= best->e.time_us))
      best = &s;
  }
  return best;
}

void ForwardMerger::Flush(int64_t before_us) {
  while (!pending_.empty() && pending_.front().e.time_us < before_us) {
    Slot& s = pending_.front();
    if (s.role != kNone) {
      auto it = by_detail_.find(s.hash);
      if (it != by_detail_.end()) {
        auto& v = it->second;
        v.erase(std::remove(v.begin(), v.end(), first_seq_), v.end());
        if (v.empty()) by_detail_.erase(it);
      }
    }
    if (s.role == kOrigin && s.partner_id)
      s.e.detail += std::string(kForwardedMark) + std::to_string(s.partner_id) + " executed on " +
                    s.partner_node;
    if (!(s.role == kTarget && s.partner_id)) emit_(std::move(s.e));
    pending_.PopFront();
    ++first_seq_;
  }
}

void ForwardMerger::Add(Event&& e) {
  // A pending event can still pair with one up to kForwardEarlierUs later.
  Flush(e.time_us - kForwardEarlierUs);
  std::string_view target = RequestPathNode(e);
  Role role = target.empty() || e.node.empty() ? kNone : target == e.node ? kTarget : kOrigin;
  if (role == kNone && pending_.empty()) {
    emit_(std::move(e));
    return;
  }
  const size_t hash = role != kNone ? DetailHash(e) : 0;
  uint64_t partner_id = 0;
  std::string_view partner_node;
  if (role == kTarget) {
    if (Slot* a = Find(e, hash, kOrigin)) {  // a logged before b (clock skew): absorb b now
      a->partner_id = e.id;
      a->partner_node = e.node;
      ++merged_;
      return;
    }
  } else if (role == kOrigin) {
    if (Slot* b = Find(e, hash, kTarget)) {
      b->partner_id = e.id;
      partner_id = b->e.id;
      partner_node = b->e.node;  // b stays pending (absorbed) while this one is
      ++merged_;
    }
  }
  // A reused slot: every member is set. `target` (a view into e.detail) is
  // not read from here on; `partner_node` is copied before the queue grows.
  std::string node(partner_node);
  Slot& slot = pending_.PushBack();
  slot.role = role;
  slot.partner_id = partner_id;
  slot.partner_node = std::move(node);
  slot.hash = hash;
  slot.e = std::move(e);
  if (role != kNone && !partner_id) by_detail_[hash].push_back(first_seq_ + pending_.size() - 1);
}

void ForwardMerger::Finish() { Flush(INT64_MAX); }

bool IsTaskEvent(const Event& e) {
  return e.source == "tasks" || (e.source == "clusterlog" && e.detail.rfind("UPID:", 0) == 0);
}

bool CanStartTask(const Event& r, const Event& t) {
  if (r.source != "pveproxy" || !IsTaskEvent(t)) return false;
  if (r.result == Outcome::kFailure || (!r.status.empty() && r.status[0] == '3')) return false;
  if (r.user.empty() || r.user != t.user) return false;
  if (r.time_us < t.time_us - kTaskRequestBeforeUs || r.time_us > t.time_us + kTaskRequestAfterUs)
    return false;
  std::string_view target = RequestPathNode(r);
  if ((target.empty() ? std::string_view(r.node) : target) != t.node) return false;
  return RequestCanStartTask(r.action, r.resource, t.action, t.resource);
}

bool IsFailedTicketRequest(const Event& r) {
  return r.source == "pveproxy" && r.user.empty() && r.action == "access:ticket" && !r.ip.empty() &&
         (r.status == "401" || (r.status == "200" && r.result == Outcome::kUnknown));
}

bool IsLoginFailure(const Event& e) {
  return e.source == "auth" && e.action == "login" && e.result == Outcome::kFailure;
}

bool IsLoginSuccess(const Event& e) {
  return e.source == "auth" && (e.action == "login" || e.action == "session:renew") &&
         e.result == Outcome::kSuccess && e.ip.empty() && !e.node.empty();
}

bool IsGrantedTicketRequest(const Event& r) {
  return r.source == "pveproxy" && r.user.empty() && r.action == "access:ticket" && !r.ip.empty() &&
         !r.node.empty() && r.result != Outcome::kFailure && !r.status.empty() &&
         r.status[0] == '2' && r.detail.rfind("POST ", 0) == 0;
}

namespace {

bool InGrantWindow(const Event& a, const Event& r) {
  return r.time_us >= a.time_us - kGrantRequestBeforeUs &&
         r.time_us <= a.time_us + kGrantRequestAfterUs;
}

}  // namespace

bool IsLoginRequest(const Event& a, const Event& r) {
  if (!IsLoginFailure(a) || !IsFailedTicketRequest(r)) return false;
  if (a.node.empty() || a.node != r.node || a.ip.empty() || a.ip != r.ip) return false;
  return r.time_us >= a.time_us - kLoginRequestBeforeUs &&
         r.time_us <= a.time_us + kLoginRequestAfterUs;
}

namespace {

std::string_view ObjectOf(std::string_view action) { return action.substr(0, action.find(':')); }
std::string_view VerbOf(std::string_view action) {
  size_t c = action.find(':');
  return c == std::string_view::npos ? std::string_view() : action.substr(c + 1);
}

// "/access/users/x" -> "/access/users"; "/pool/a/b" -> "/pool"; else "".
std::string_view Collection(std::string_view path) {
  for (std::string_view p : {"/access/users/", "/access/groups/", "/access/realm/", "/pool/"}) {
    if (path.size() > p.size() && path.substr(0, p.size()) == p) return p.substr(0, p.size() - 1);
  }
  return {};
}

// True when `req` names a different object of the same collection as the
// change (PUT /access/users/bob cannot have changed alice).
bool OtherObject(const std::string& req, const std::string& change) {
  std::string_view cc = Collection(change);
  if (cc.empty() || Collection(req) != cc) return false;
  return !ResourceCovers(req, change);
}

int64_t FloorSec(int64_t us) {
  constexpr int64_t kUsPerSec = 1000000;
  return us >= 0 ? us / kUsPerSec : -((-us + kUsPerSec - 1) / kUsPerSec);
}

// The id after `mark` in `detail` ("... request=#12 ..."), or 0.
uint64_t IdAfter(const std::string& detail, std::string_view mark) {
  size_t p = detail.find(mark);
  if (p == std::string::npos) return 0;
  return std::strtoull(detail.c_str() + p + mark.size(), nullptr, 10);
}

constexpr std::string_view kRequestMark = " request=#";
constexpr std::string_view kAttributedMark = "; attributed from event ";
constexpr std::string_view kActorUnknown = "; actor unknown";

// An anchor is decided once the stream has passed the latest time at which
// one of its candidates can be logged.
constexpr int64_t kDecideUs =
    std::max({kTaskRequestAfterUs, kLoginRequestAfterUs, kChangeRequestAfterUs,
              // a success line's competitors for its request
              kGrantRequestAfterUs + kGrantRequestBeforeUs});

std::string Upid(const Event& e) { return e.detail.substr(0, e.detail.find(' ')); }

bool Finished(const Event& e) { return !e.status.empty() && e.status != "running"; }

}  // namespace

std::vector<std::string> CandidateRequestActions(const Event& change) {
  std::string_view obj = ObjectOf(change.action), verb = VerbOf(change.action);
  auto same = [&] { return std::vector<std::string>{change.action}; };
  if (obj == "acl")
    return {"acl:modify",  "user:delete",  "group:delete",
            "role:delete", "token:delete", "pool:delete"};
  if (obj == "user") {
    if (verb == "create") return {"user:create", "realm:sync"};
    if (verb == "delete") return {"user:delete", "realm:sync"};
    return {"user:modify", "group:create", "group:modify", "group:delete",
            "tfa:add",     "tfa:modify",   "tfa:remove",   "realm:sync"};
  }
  if (obj == "token") {
    if (verb == "delete") return {"token:delete", "user:delete"};
    return same();
  }
  if (obj == "group") {
    if (verb == "modify")
      return {"group:modify", "user:create", "user:modify", "user:delete", "realm:sync"};
    return same();
  }
  if (obj == "role" || obj == "realm") return same();
  if (obj == "pool") {
    if (verb == "modify")
      return {"pool:modify", "vm:create", "ct:create", "vm:delete", "ct:delete"};
    return same();
  }
  if (obj == "tfa") {
    if (change.resource.rfind("/access/realm/", 0) == 0) return {"realm:modify", "realm:create"};
    if (verb == "add") return {"tfa:add", "tfa:modify"};
    if (verb == "remove") return {"tfa:remove", "tfa:modify", "user:delete"};
    if (verb == "modify") return {"tfa:modify"};
    if (verb == "unlock") return {"tfa:unlock"};
    return {};  // tfa:lock: failed logins, not a request
  }
  return {};
}

bool CanHaveMadeChange(const Event& r, const Event& c) {
  if (r.source == kConfigChangeSourceName || IsTaskEvent(r) || r.source == "auth") return false;
  if (r.result == Outcome::kFailure || VerbOf(r.action) == "read") return false;
  if (r.time_us < c.time_us - kChangeRequestBeforeUs ||
      r.time_us > c.time_us + kChangeRequestAfterUs)
    return false;
  std::vector<std::string> acts = CandidateRequestActions(c);
  if (std::find(acts.begin(), acts.end(), r.action) == acts.end()) return false;
  return !OtherObject(r.resource, c.resource);
}

// ---- ActionJoiner ----

void ActionJoiner::Unindex(std::unordered_map<std::string, std::vector<uint64_t>>* index,
                           const std::string& key, uint64_t seq) {
  auto it = index->find(key);
  if (it == index->end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), seq), v.end());
  if (v.empty()) index->erase(it);
}

namespace {

std::string TaskKey(const Event& r) {
  std::string_view target = RequestPathNode(r);
  std::string k(target.empty() ? std::string_view(r.node) : target);
  k += '\n';
  k += r.user;
  return k;
}

std::string TicketKey(const Event& r) { return r.node + "\n" + r.ip; }

// A request that may have started a task: from access.log, by a user, not
// refused, not a redirect, not a read.
bool MayStartTask(const Event& r) {
  return r.source == "pveproxy" && !r.user.empty() && r.result != Outcome::kFailure &&
         (r.status.empty() || r.status[0] != '3') && VerbOf(r.action) != "read";
}

}  // namespace

void ActionJoiner::Drop(Slot& s) {
  if (s.dropped) return;
  s.dropped = true;
  ++absorbed_;
}

void ActionJoiner::DecideTask(Slot& t) {
  if (t.e.user.empty()) return;
  auto it = task_requests_.find(t.e.node + "\n" + t.e.user);
  if (it == task_requests_.end()) return;
  // Stored by an older version with the join written in: that request.
  const uint64_t legacy = IdAfter(t.e.detail, kRequestMark);
  Slot* best = nullptr;
  std::tuple<int, int64_t, uint64_t> best_key{};
  for (uint64_t seq : it->second) {
    Slot& r = At(seq);
    if (r.claimed) continue;
    if (legacy) {
      // The stored id may be the executing node's copy of a forwarded
      // request, now part of the forwarding node's (" forwarded=#<id>").
      if (r.e.id != legacy && IdAfter(r.e.detail, kForwardedMark) != legacy) continue;
      best = &r;
      break;
    }
    if (!CanStartTask(r.e, t.e)) continue;
    // pveproxy logs the request when it answers, after the worker was
    // forked: the nearest request at or after the start, else before.
    int64_t d = r.e.time_us - t.e.time_us;
    std::tuple<int, int64_t, uint64_t> key{d < 0 ? 1 : 0, d < 0 ? -d : d, r.e.id};
    if (!best || key < best_key) best = &r, best_key = key;
  }
  if (!best) return;
  best->claimed = true;
  Drop(*best);
  if (legacy) return;
  if (t.e.ip.empty()) t.e.ip = best->e.ip;
  if (t.e.session.empty()) t.e.session = best->e.session;
  t.e.detail += std::string(kRequestMark) + std::to_string(best->e.id) + " " + best->e.detail;
}

void ActionJoiner::DecideLogin(Slot& a) {
  auto it = ticket_requests_.find(TicketKey(a.e));
  if (it == ticket_requests_.end()) return;
  const uint64_t legacy = IdAfter(a.e.detail, kRequestMark);
  for (uint64_t seq : it->second) {  // ascending time: the earliest unpaired wins
    Slot& r = At(seq);
    if (r.claimed || (legacy ? r.e.id != legacy : !IsLoginRequest(a.e, r.e))) continue;
    r.claimed = true;
    Drop(r);
    if (legacy) return;
    if (a.e.status.empty()) a.e.status = r.e.status;
    a.e.detail += std::string(kRequestMark) + std::to_string(r.e.id) + " " + r.e.detail;
    return;
  }
}

void ActionJoiner::DecideLoginSuccess(Slot& a) {
  auto reqs = granted_requests_.find(a.e.node);
  if (reqs == granted_requests_.end()) return;
  Slot* only = nullptr;
  for (uint64_t seq : reqs->second) {
    Slot& r = At(seq);
    if (r.claimed || !InGrantWindow(a.e, r.e)) continue;
    if (only) return;  // two requests could be this login's: join neither
    only = &r;
  }
  if (!only) return;
  // Every other success line that this request could belong to and that
  // has not absorbed a request of its own makes the pair ambiguous.
  for (uint64_t seq : success_logins_[a.e.node]) {
    const Slot& b = At(seq);
    if (&b != &a && !b.joined && !b.dropped && InGrantWindow(b.e, only->e)) return;
  }
  only->claimed = true;
  Drop(*only);
  a.joined = true;
  a.e.ip = only->e.ip;
  if (a.e.status.empty()) a.e.status = only->e.status;
  a.e.detail += std::string(kRequestMark) + std::to_string(only->e.id) + " " + only->e.detail;
}

void ActionJoiner::DecideChange(Slot& c) {
  const int64_t lo = c.e.time_us - kChangeRequestBeforeUs;
  const int64_t hi = c.e.time_us + kChangeRequestAfterUs;
  // The first pending slot at or after lo (binary search: times ascend).
  size_t first = 0;
  for (size_t n = pending_.size(); n > 0;) {
    const size_t half = n / 2;
    if (pending_[first + half].e.time_us < lo) {
      first += half + 1;
      n -= half + 1;
    } else {
      n = half;
    }
  }
  const size_t end = pending_.size();
  if (uint64_t legacy = IdAfter(c.e.detail, kAttributedMark)) {
    for (size_t i = first; i < end && pending_[i].e.time_us <= hi; ++i)
      if (pending_[i].e.id == legacy) Drop(pending_[i]);
    return;
  }
  if (!c.e.user.empty() || c.e.detail.find(kActorUnknown) != std::string::npos) return;
  Slot* best = nullptr;
  std::tuple<int, int, int, int64_t, int64_t> best_key{};
  const int64_t csec = FloorSec(c.e.time_us);
  for (size_t i = first; i < end && pending_[i].e.time_us <= hi; ++i) {
    Slot& r = pending_[i];
    if (r.kind != kPlain || !CanHaveMadeChange(r.e, c.e)) continue;
    // docs/config-changes.md: the changed object itself; answered at or
    // after the write; the watcher's node; nearest; newest.
    const int64_t rsec = FloorSec(r.e.time_us);
    std::tuple<int, int, int, int64_t, int64_t> key{
        r.e.resource == c.e.resource ? 0 : 1, rsec >= csec ? 0 : 1, r.e.node == c.e.node ? 0 : 1,
        rsec >= csec ? rsec - csec : csec - rsec, -static_cast<int64_t>(r.e.id)};
    if (!best || key < best_key) best = &r, best_key = key;
  }
  if (!best) {
    c.e.detail += kActorUnknown;
    return;
  }
  Drop(*best);
  c.e.user = best->e.user;
  c.e.ip = best->e.ip;
  c.e.session = best->e.session;
  c.e.node = best->e.node;
  const std::string& d = best->e.detail;
  c.e.detail += std::string(kAttributedMark) + std::to_string(best->e.id) + " (" +
                (d.size() > 200 ? d.substr(0, 200) + "..." : d) + ")";
}

void ActionJoiner::Decide(uint64_t seq) {
  Slot& s = At(seq);
  if (s.dropped) return;
  switch (s.kind) {
    case kTask:
      DecideTask(s);
      break;
    case kLoginFailure:
      DecideLogin(s);
      break;
    case kLoginSuccess:
      DecideLoginSuccess(s);
      break;
    case kChange:
      DecideChange(s);
      break;
    case kPlain:
      break;
  }
}

void ActionJoiner::Advance(int64_t now_us) {
  const uint64_t end = first_seq_ + pending_.size();
  while (next_anchor_ < end) {
    const int64_t t = At(next_anchor_).e.time_us;
    if (now_us != INT64_MAX && t + kDecideUs >= now_us) break;
    Decide(next_anchor_++);
  }
  while (!pending_.empty() && first_seq_ < next_anchor_ &&
         (now_us == INT64_MAX || pending_.front().e.time_us + kViewHoldUs < now_us)) {
    Slot& s = pending_.front();
    if (!s.task_key.empty()) Unindex(&task_requests_, s.task_key, first_seq_);
    if (!s.ticket_key.empty()) Unindex(&ticket_requests_, s.ticket_key, first_seq_);
    if (s.granted)
      Unindex(s.kind == kLoginSuccess ? &success_logins_ : &granted_requests_, s.e.node,
              first_seq_);
    if (s.kind == kTask) {
      auto it = tasks_.find(Upid(s.e));
      if (it != tasks_.end() && it->second == first_seq_) tasks_.erase(it);
    }
    if (!s.dropped) emit_(std::move(s.e));
    pending_.PopFront();
    ++first_seq_;
  }
}

void ActionJoiner::Add(Event&& e) {
  Advance(e.time_us);
  Kind kind = kPlain;
  if (IsTaskEvent(e)) {
    kind = kTask;
    // The same UPID in tasks/active and tasks/index (or in several
    // snapshots of active): one task, with the final status. All copies
    // carry the UPID's start time, so they are pending together.
    std::string upid = Upid(e);
    auto it = tasks_.find(upid);
    if (it != tasks_.end() && At(it->second).e.time_us == e.time_us) {
      Slot& s = At(it->second);
      ++absorbed_;
      if (!Finished(s.e) && Finished(e)) {
        // Keep a join already written into the stored line.
        s.e = std::move(e);
      }
      return;
    }
    tasks_[std::move(upid)] = first_seq_ + pending_.size();
  } else if (IsLoginFailure(e)) {
    kind = kLoginFailure;
  } else if (IsLoginSuccess(e)) {
    kind = kLoginSuccess;
  } else if (e.source == kConfigChangeSourceName) {
    kind = kChange;
  }
  const uint64_t seq = first_seq_ + pending_.size();
  // A reused slot: every member is set.
  Slot& s = pending_.PushBack();
  s.dropped = s.claimed = s.granted = s.joined = false;
  s.task_key.clear();
  s.ticket_key.clear();
  if (kind == kPlain && MayStartTask(e)) {
    s.task_key = TaskKey(e);
    task_requests_[s.task_key].push_back(seq);
  }
  if (kind == kPlain && IsFailedTicketRequest(e)) {
    s.ticket_key = TicketKey(e);
    ticket_requests_[s.ticket_key].push_back(seq);
  }
  if ((kind == kPlain && IsGrantedTicketRequest(e)) || kind == kLoginSuccess) {
    s.granted = true;
    (kind == kLoginSuccess ? success_logins_ : granted_requests_)[e.node].push_back(seq);
  }
  s.e = std::move(e);
  s.kind = kind;
}

void ActionJoiner::Finish() { Advance(INT64_MAX); }

}  // namespace pveaudit

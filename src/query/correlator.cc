#include "query/correlator.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <tuple>
#include <unordered_set>

namespace pveaudit {
namespace {

using Key = std::tuple<std::string, std::string, std::string, std::string>;  // node,user,action,res

constexpr std::string_view kForwardedMark = " forwarded=#";

// Among `cands` (time order), the newest not after `hi`, not before `lo`,
// not yet used.
const Event* Newest(const std::vector<Event>& cands, int64_t lo, int64_t hi,
                    const std::unordered_set<uint64_t>& used) {
  const Event* best = nullptr;
  for (const Event& r : cands) {
    if (r.time_us > hi) break;
    if (r.time_us >= lo && !used.count(r.id)) best = &r;
  }
  return best;
}

size_t DetailHash(const Event& e) { return std::hash<std::string>()(e.detail); }

}  // namespace

uint64_t AbsorbedRequestId(const Event& e) {
  if (e.source != "tasks") return 0;
  auto p = e.detail.find("request=#");
  if (p == std::string::npos) return 0;
  return std::strtoull(e.detail.c_str() + p + 9, nullptr, 10);
}

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

ForwardMerger::Slot* ForwardMerger::Find(const Event& e, Role want) {
  auto it = by_detail_.find(DetailHash(e));
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
      auto it = by_detail_.find(DetailHash(s.e));
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
    pending_.pop_front();
    ++first_seq_;
  }
}

void ForwardMerger::Add(const Event& e) {
  // A pending event can still pair with one up to kForwardEarlierUs later.
  Flush(e.time_us - kForwardEarlierUs);
  std::string_view target = RequestPathNode(e);
  Role role = target.empty() || e.node.empty() ? kNone : target == e.node ? kTarget : kOrigin;
  if (role == kNone && pending_.empty()) {
    Event copy = e;
    emit_(std::move(copy));
    return;
  }
  Slot slot;
  slot.e = e;
  slot.role = role;
  if (role == kTarget) {
    if (Slot* a = Find(e, kOrigin)) {  // a logged before b (clock skew): absorb b now
      a->partner_id = e.id;
      a->partner_node = e.node;
      pairs_[a->e.id] = e.id;
      return;
    }
  } else if (role == kOrigin) {
    if (Slot* b = Find(e, kTarget)) {
      b->partner_id = e.id;
      slot.partner_id = b->e.id;
      slot.partner_node = b->e.node;
      pairs_[e.id] = b->e.id;
    }
  }
  pending_.push_back(std::move(slot));
  if (role != kNone && !pending_.back().partner_id)
    by_detail_[DetailHash(pending_.back().e)].push_back(first_seq_ + pending_.size() - 1);
}

void ForwardMerger::Finish() { Flush(INT64_MAX); }

Status EnrichTasks(EventStore& store, std::vector<Event>* events) {
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (const Event& e : *events) {
    if (e.source != "tasks" || e.user.empty()) continue;
    lo = std::min(lo, e.time_us);
    hi = std::max(hi, e.time_us);
  }
  if (lo > hi) return Status::OK();
  // Requests that start tasks change state: the "modify" class narrows the
  // scan to a small share of the access log. The forwarding node's copy of
  // a forwarded request may be logged up to kForwardEarlierUs later.
  Filter f;
  f.start_us = lo - kTaskRequestBeforeUs;
  f.end_us = hi + kTaskRequestAfterUs + kForwardEarlierUs + 1;
  f.action = "modify";
  std::map<Key, std::vector<Event>> requests;   // by the node that logged them
  std::map<Key, std::vector<Event>> forwarded;  // logged elsewhere, by the node their path names
  Status st = store.Scan(f, kFieldAll, [&](const Event& r) {
    if (r.source != "pveproxy" || r.result == Outcome::kFailure) return true;
    // A request naming another node was executed there: it can start a
    // task on that node only.
    std::string_view target = RequestPathNode(r);
    if (!target.empty() && !r.node.empty() && target != r.node)
      forwarded[Key{std::string(target), r.user, r.action, r.resource}].push_back(r);
    else
      requests[Key{r.node, r.user, r.action, r.resource}].push_back(r);
    return true;
  });
  if (!st.ok()) return st;
  if (requests.empty() && forwarded.empty()) return Status::OK();
  std::unordered_set<uint64_t> used;
  for (Event& e : *events) {
    if (e.source != "tasks" || e.user.empty() || AbsorbedRequestId(e)) continue;
    Key key{e.node, e.user, e.action, e.resource};
    auto it = requests.find(key);
    auto fw = forwarded.find(key);
    // The newest request not after start + kAfter, not before start - kBefore.
    const Event* best = it == requests.end() ? nullptr
                                             : Newest(it->second, e.time_us - kTaskRequestBeforeUs,
                                                      e.time_us + kTaskRequestAfterUs, used);
    const Event* client = nullptr;  // the forwarding node's copy of `best`
    if (best && fw != forwarded.end()) {
      for (const Event& a : fw->second)
        if (!used.count(a.id) && IsForwardedCopy(a, *best)) {
          client = &a;
          break;
        }
    } else if (!best && fw != forwarded.end()) {
      // Only the forwarding node's copy is stored (its node's log alone).
      best = Newest(fw->second, e.time_us - kTaskRequestBeforeUs,
                    e.time_us + kTaskRequestAfterUs + kForwardEarlierUs, used);
    }
    if (!best) continue;
    used.insert(best->id);
    if (e.ip.empty()) e.ip = client ? client->ip : best->ip;
    e.detail += " request=#" + std::to_string(best->id) + " " + best->detail;
    if (client) {
      used.insert(client->id);
      e.detail +=
          std::string(kForwardedMark) + std::to_string(client->id) + " from " + client->node;
    }
  }
  return Status::OK();
}

void DropAbsorbedRequests(std::vector<Event>* events,
                          const std::unordered_map<uint64_t, uint64_t>* forwarded) {
  std::unordered_set<uint64_t> absorbed;
  for (const Event& e : *events)
    if (uint64_t id = AbsorbedRequestId(e)) absorbed.insert(id);
  if (absorbed.empty()) return;
  if (forwarded && !forwarded->empty()) {
    std::unordered_map<uint64_t, uint64_t> a_of_b;
    for (const auto& [a, b] : *forwarded) a_of_b[b] = a;
    std::unordered_map<uint64_t, const Event*> by_id;
    for (const Event& e : *events)
      if (forwarded->count(e.id)) by_id[e.id] = &e;
    for (Event& t : *events) {
      uint64_t r = AbsorbedRequestId(t);
      if (!r) continue;
      uint64_t a = forwarded->count(r) ? r : a_of_b.count(r) ? a_of_b[r] : 0;
      if (!a) continue;
      absorbed.insert(a);
      auto it = by_id.find(a);
      if (it == by_id.end()) continue;  // outside the --limit window
      t.ip = it->second->ip;
      if (t.detail.find(kForwardedMark) == std::string::npos)
        t.detail += std::string(kForwardedMark) +
                    (r == a ? std::to_string(forwarded->at(a)) + " executed on " + t.node
                            : std::to_string(a) + " from " + it->second->node);
    }
  }
  events->erase(std::remove_if(events->begin(), events->end(),
                               [&](const Event& e) { return absorbed.count(e.id) > 0; }),
                events->end());
}

}  // namespace pveaudit

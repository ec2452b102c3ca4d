#include "alert/alert_engine.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/actions.h"
#include "query/correlator.h"
#include "query/log_query.h"

namespace pveaudit {
namespace {

// The kinds of lines the view joins are its public predicates
// (IsLoginFailure, IsLoginSuccess, IsFailedTicketRequest,
// IsGrantedTicketRequest in query/correlator.h), used here to pick the
// bucket of a line; whether two lines are one action is decided by the
// view's IsLoginRequest, CanStartTask, IsForwardedCopy and grant window.
// A failed sign-on to pveaudit's own web UI (docs/web.md): a brute force
// against the audit tool is a failed login too. One line per attempt, so
// it pairs with nothing.
bool IsFailedWebLogin(const Event& e) {
  return e.source == "pveaudit-web" && e.action == "pveaudit:web-login" &&
         e.result == Outcome::kFailure;
}
bool IsLoginLine(const Event& e) {
  return IsLoginFailure(e) || IsFailedTicketRequest(e) || IsLoginSuccess(e) ||
         IsGrantedTicketRequest(e) || IsFailedWebLogin(e);
}
bool InGrantWindow(const Event& a, const Event& r) {
  return a.node == r.node && r.time_us >= a.time_us - kGrantRequestBeforeUs &&
         r.time_us <= a.time_us + kGrantRequestAfterUs;
}
std::string_view Upid(const Event& e) {
  std::string_view d = e.detail;
  return d.substr(0, d.find(' '));
}

bool IsPrivilegeChange(const Event& e) {
  if (e.source != kConfigChangeSourceName) return false;
  std::string_view obj = std::string_view(e.action).substr(0, e.action.find(':'));
  for (std::string_view o : {"acl", "user", "group", "role", "token", "tfa", "realm"})
    if (obj == o) return true;
  return false;
}

std::string Signature(const AlertRule& r) {
  AlertRule s = r;
  s.enabled = true;
  s.notify.clear();
  s.created_by.clear();
  return AlertRuleToJson(s);
}

std::string JoinIds(const std::vector<uint64_t>& ids) {
  std::string s;
  for (uint64_t id : ids) {
    if (!s.empty()) s += ',';
    s += std::to_string(id);
  }
  return s;
}

}  // namespace

// ---------------------------------------------------------------- pairer

std::vector<uint64_t>* ActionPairer::Bucket(const std::string& key) {
  Pool& pool = PoolOf(key);
  auto it = pool.buckets.find(key);
  if (it == pool.buckets.end()) return nullptr;
  auto& v = it->second;
  // Sequence numbers of pruned lines are dropped lazily, and so are lines
  // that took their partner (only another line of the same task, "U", may
  // still join a paired one): a busy bucket is not scanned again and again.
  // Lines the sources' watermark has passed are gone too, although the
  // pool drops them only once they reach its front (a lane far ahead puts
  // newer lines there: a whole auth log's successful logins waited in one
  // bucket, scanned for each ticket request of the 10 M data).
  const bool task_lines = key[0] == 'U';
  const int64_t wm = &pool == &logins_ ? login_watermark_us() : task_watermark_us();
  size_t stale = 0;
  while (stale < v.size() &&
         (v[stale] < pool.first_seq ||
          (!task_lines && (pool.slots[v[stale] - pool.first_seq].paired ||
                           pool.slots[v[stale] - pool.first_seq].e.time_us < wm))))
    ++stale;
  v.erase(v.begin(), v.begin() + int64_t(stale));
  if (v.empty()) {
    pool.buckets.erase(it);
    return nullptr;
  }
  return &v;
}

void ActionPairer::Pool::PopFront() {
  slots.pop_front();
  ++first_seq;
}

ActionPairer::Result ActionPairer::Add(const Event& e, bool forwarded_matters, bool pair_matters) {
  Event copy = e;
  return Take(copy, forwarded_matters, pair_matters);
}

ActionPairer::Result ActionPairer::Take(Event& e, bool forwarded_matters, bool pair_matters) {
  Result res;
  res.action_id = e.id;
  newest_us_ = std::max(newest_us_, e.time_us);
  if (e.source == "auth") {
    newest_auth_us_ = std::max(newest_auth_us_, e.time_us);
    auth_seen_proxy_us_ = newest_proxy_us_;
  }
  if (e.source == "pveproxy") {
    newest_proxy_us_ = std::max(newest_proxy_us_, e.time_us);
    // Auth lines before the first access.log line: access.log's distance
    // since the auth lane was last seen counts from its first line.
    if (auth_seen_proxy_us_ == INT64_MIN) auth_seen_proxy_us_ = e.time_us;
  }
  if (IsTaskEvent(e)) newest_task_us_ = std::max(newest_task_us_, e.time_us);
  Prune();
  const bool failed_auth = IsLoginFailure(e), failed_ticket = IsFailedTicketRequest(e);
  const bool ok_auth = IsLoginSuccess(e), ok_ticket = IsGrantedTicketRequest(e);
  const bool task = IsTaskEvent(e);
  const bool request = e.source == "pveproxy";
  const bool login = failed_auth || failed_ticket || ok_auth || ok_ticket;
  if (!login && !task && !request) return res;
  // A task or request no rule can count, nor the line it pairs with.
  if (!login && !pair_matters) return res;

  std::vector<std::string> keys;  // the buckets this line joins
  Slot* partner = nullptr;
  bool mark = true;  // the partner takes no other line
  // Looks for a partner in bucket `key` (oldest first: the earliest
  // candidate wins, as in the view) and has this line join bucket `join`
  // ("" = none), where later lines look for it.
  auto scan2 = [&](const std::string& key, const std::string& join, auto&& pred) {
    if (!join.empty()) keys.push_back(join);
    if (partner) return;
    std::vector<uint64_t>* v = Bucket(key);
    if (!v) return;
    Pool& pool = PoolOf(key);
    const bool task_lines = key[0] == 'U';  // the lines of one task: any time apart
    for (uint64_t seq : *v) {
      Slot& s = pool.slots[seq - pool.first_seq];
      // A bucket holds one source's lines, in time order: past the pairing
      // windows (seconds) with a minute of slack, nothing more can match.
      if (!task_lines && s.e.time_us > e.time_us + kPairHoldUs) return;
      if (pred(s)) {
        partner = &s;
        return;
      }
    }
  };
  auto scan = [&](const std::string& key, auto&& pred) { scan2(key, key, pred); };
  if (login) {
    // Narrow buckets, so a line scans only lines that can be its partner:
    // failed auth lines ("Lf") and failed ticket requests ("Lr") by node
    // and address, successful auth lines ("Ls") and granted ticket requests
    // ("Lg") by node. A 200 through /api2/extjs is both a failed and a
    // granted ticket request: of its candidates the earliest stored wins,
    // as in one bucket.
    const std::string by_ip = e.node + "\n" + e.ip;
    Pool& pool = logins_;
    uint64_t best = UINT64_MAX;
    int kind = 0;  // of the best: 1 failed, 2 granted
    auto find = [&](const std::string& key, int k, auto&& pred) {
      std::vector<uint64_t>* v = Bucket(key);
      if (!v) return;
      for (uint64_t seq : *v) {
        if (seq >= best) return;
        Slot& s = pool.slots[seq - pool.first_seq];
        if (s.e.time_us > e.time_us + kPairHoldUs) return;  // as in scan2
        if (!s.paired && pred(s)) {
          best = seq;
          kind = k;
          return;
        }
      }
    };
    if (failed_auth) {
      find("Lr" + by_ip, 1, [&](Slot& s) { return IsLoginRequest(e, s.e); });
      keys.push_back("Lf" + by_ip);
    }
    if (ok_auth) {
      find("Lg" + e.node, 2,
           [&](Slot& s) { return IsGrantedTicketRequest(s.e) && InGrantWindow(e, s.e); });
      keys.push_back("Ls" + e.node);
    }
    if (failed_ticket) {
      find("Lf" + by_ip, 1, [&](Slot& s) { return IsLoginRequest(s.e, e); });
      keys.push_back("Lr" + by_ip);
    }
    if (ok_ticket) {
      find("Ls" + e.node, 2, [&](Slot& s) { return IsLoginSuccess(s.e) && InGrantWindow(s.e, e); });
      keys.push_back("Lg" + e.node);
    }
    if (best != UINT64_MAX) {
      partner = &pool.slots[best - pool.first_seq];
    } else if ((failed_ticket || ok_ticket) && !ghosts_.empty()) {
      partner = ClaimGhost(e, failed_ticket, ok_ticket, &kind);
    }
    if (partner) {
      if (kind == 2) {
        res.login_known = true;
        const Event& auth = ok_auth ? e : partner->e;
        res.login_user = auth.user;
        res.login_ip = ok_auth ? partner->e.ip : e.ip;
        res.login_time_us = auth.time_us;
      }
    }
  }
  if (task) {
    scan("U" + std::string(Upid(e)), [&](Slot&) {
      mark = false;  // another line of the same task: it may still take a request
      return true;
    });
    // Tasks wait in "Tt", requests that can start one in "Tr".
    const std::string who = e.node + "\n" + e.user;
    scan2("Tr" + who, "Tt" + who, [&](Slot& s) { return !s.paired && CanStartTask(s.e, e); });
  } else if (request) {
    std::string_view target = RequestPathNode(e);
    const std::string who = (target.empty() ? e.node : std::string(target)) + "\n" + e.user;
    // Reads, refusals and redirects start no task (CanStartTask).
    const bool may_start = !e.user.empty() && e.result != Outcome::kFailure &&
                           (e.status.empty() || e.status[0] != '3') &&
                           e.detail.rfind("GET ", 0) != 0;
    if (may_start)
      scan2("Tt" + who, "Tr" + who, [&](Slot& s) { return !s.paired && CanStartTask(e, s.e); });
    // Forwarded copies: only a request whose path names a node has one.
    // The executing node's copy ("Fb": logged by the node its path names)
    // pairs with the forwarding node's ("Fa": logged by another).
    // Both copies have the same request line, so the same action: when no
    // rule can count that action, neither copy counts and the pair need
    // not be found (most reads: the largest part of the lines).
    if (!target.empty() && forwarded_matters) {
      const std::string same = e.detail + "\n" + e.user + "\n" + e.status;
      const bool executed_here = target == e.node;
      scan2(
          (executed_here ? "Fa" : "Fb") + same, (executed_here ? "Fb" : "Fa") + same, [&](Slot& s) {
            return !s.paired && (executed_here ? IsForwardedCopy(s.e, e) : IsForwardedCopy(e, s.e));
          });
    }
  }
  // A line no later line can pair with is not kept.
  if (keys.empty() && !partner) return res;
  Slot slot;
  slot.action_id = e.id;
  slot.e = std::move(e);  // the caller reads it back through res.self
  slot.e.session.clear();
  slot.e.origin.clear();
  if (partner) {
    // A login's id is its auth line's, whichever line was stored first:
    // an alert names the same events whichever lane was read ahead.
    if (failed_auth || ok_auth) partner->action_id = slot.e.id;
    res.action_id = partner->action_id;
    slot.action_id = partner->action_id;
    slot.counted_by = partner->counted_by;
    if (mark) {
      partner->paired = true;
      slot.paired = true;
    }
  }
  // A login line waits in logins_, any other in others_.
  Pool& pool = login ? logins_ : others_;
  const uint64_t seq = pool.first_seq + pool.slots.size();
  // Partners of the other pool are reached through res only (no line
  // pairs across pools), so the pointer taken before push_back stays valid:
  // a deque keeps its elements in place on push_back.
  pool.slots.push_back(std::move(slot));
  for (const std::string& k : keys)
    if (&PoolOf(k) == &pool) pool.buckets[k].push_back(seq);
  res.self = &pool.slots.back();
  res.self_seq = seq;
  res.partner = partner;
  return res;
}

void ActionPairer::Prune() {
  // Each source arrives in time order, but one may be read long after
  // another (files imported one after the other, a lane catching up). A
  // line waits until the sources its partner may come from have passed
  // it: a login line both the authentication lines and access.log
  // (login_watermark_us), a task or request line both the task index and
  // access.log (task_watermark_us; it was the newest line of any source,
  // so a task index read ahead left its requests unpaired and counted
  // twice). Caps keep a flood of lines that never find a partner from
  // growing the lists without bound.
  const int64_t twm = task_watermark_us();
  while (!others_.slots.empty() &&
         (others_.slots.front().e.time_us < twm || others_.slots.size() > 200000))
    others_.PopFront();
  const int64_t wm = login_watermark_us();
  while (!logins_.slots.empty() &&
         (logins_.slots.front().e.time_us < wm || logins_.slots.size() > 100000)) {
    const Slot& s = logins_.slots.front();
    if (s.e.time_us >= wm && !s.paired && (IsLoginFailure(s.e) || IsLoginSuccess(s.e)))
      KeepGhost(s);
    logins_.PopFront();
  }
  // Now and then, drop the buckets of lines long gone: once as many lines
  // were added as there are buckets (a sweep per 8,192 lines cost more than
  // the pairing itself with 100,000 buckets waiting).
  if (++added_ >= std::max<size_t>(8192, logins_.buckets.size() + others_.buckets.size())) {
    added_ = 0;
    for (Pool* pool : {&logins_, &others_})
      for (auto it = pool->buckets.begin(); it != pool->buckets.end();) {
        auto& v = it->second;
        if (v.empty() || v.back() < pool->first_seq)
          it = pool->buckets.erase(it);
        else
          ++it;
      }
  }
}

uint64_t ActionPairer::oldest_id() const {
  uint64_t id = UINT64_MAX;
  // Slots are added in id order: a pool's first is its oldest.
  for (const Pool* p : {&logins_, &others_})
    if (!p->slots.empty()) id = std::min(id, p->slots.front().e.id);
  for (const auto& [key, q] : ghosts_)
    for (const Ghost& g : q) id = std::min(id, g.id);
  return id == UINT64_MAX ? 0 : id;
}

void ActionPairer::KeepGhost(const Slot& s) {
  // Beyond this many, start over: the attempts let go then may count
  // twice, as before ghosts were kept (about 100 bytes each).
  constexpr size_t kMaxGhosts = 1000000;
  if (ghost_count_ >= kMaxGhosts) {
    ghosts_.clear();
    ghost_count_ = 0;
  }
  std::string key = IsLoginFailure(s.e) ? "f" + s.e.node + "\n" + s.e.ip : "s" + s.e.node;
  ghosts_[std::move(key)].push_back(
      Ghost{s.e.time_us, s.e.id, s.action_id, s.e.user, s.e.action, s.e.result, s.counted_by});
  ++ghost_count_;
}

ActionPairer::Slot* ActionPairer::ClaimGhost(const Event& r, bool failed, bool granted, int* kind) {
  using Map = std::unordered_map<std::string, std::deque<Ghost>>;
  struct Found {
    Map::iterator queue;
    std::deque<Ghost>::iterator ghost;
    bool ok = false;
  };
  // The earliest ghost of `key` that `fits`; ghosts too old for `r` are
  // too old for every later request too (requests come in time order).
  // Ghosts are in time order: past `newest` none can fit (the auth lane
  // far ahead leaves many; scanning them all made each request cost the
  // whole queue).
  auto earliest = [&](const std::string& key, int64_t oldest, int64_t newest, auto&& fits) {
    Found found;
    auto it = ghosts_.find(key);
    if (it == ghosts_.end()) return found;
    std::deque<Ghost>& q = it->second;
    while (!q.empty() && q.front().time_us < oldest) {
      q.pop_front();
      --ghost_count_;
    }
    for (auto g = q.begin(); g != q.end() && g->time_us <= newest; ++g)
      if (fits(*g)) return Found{it, g, true};
    if (q.empty()) ghosts_.erase(it);
    return found;
  };
  // The ghost as the auth line it was.
  auto as_auth = [&](const Ghost& g, const std::string& ip) {
    Event a;
    a.node = r.node;
    a.ip = ip;
    a.source = "auth";
    a.time_us = g.time_us;
    a.action = g.action;
    a.result = g.result;
    return a;
  };
  Found f, s;
  if (failed)
    f = earliest("f" + r.node + "\n" + r.ip, r.time_us - kLoginRequestAfterUs - kPairHoldUs,
                 r.time_us + kLoginRequestBeforeUs,
                 [&](const Ghost& g) { return IsLoginRequest(as_auth(g, r.ip), r); });
  if (granted)
    s = earliest("s" + r.node, r.time_us - kGrantRequestAfterUs - kPairHoldUs,
                 r.time_us + kGrantRequestBeforeUs, [&](const Ghost& g) {
                   const Event a = as_auth(g, "");
                   return IsLoginSuccess(a) && InGrantWindow(a, r);
                 });
  const bool use_f = f.ok && (!s.ok || f.ghost->time_us <= s.ghost->time_us);
  Found& pick = use_f ? f : s;
  if (!pick.ok) return nullptr;
  *kind = use_f ? 1 : 2;
  Ghost& g = *pick.ghost;
  ghost_slot_ = Slot{};
  ghost_slot_.e = as_auth(g, use_f ? r.ip : "");
  ghost_slot_.e.id = g.id;
  ghost_slot_.e.user = std::move(g.user);
  ghost_slot_.action_id = g.action_id;
  ghost_slot_.counted_by = std::move(g.counted_by);
  pick.queue->second.erase(pick.ghost);
  --ghost_count_;
  if (pick.queue->second.empty()) ghosts_.erase(pick.queue);
  return &ghost_slot_;
}

// ---------------------------------------------------------------- logins

void LoginHistory::Insert(std::vector<int64_t>& v, int64_t t, int64_t gap) {
  auto it = std::upper_bound(v.begin(), v.end(), t);
  size_t p = size_t(it - v.begin());
  v.insert(it, t);
  // Only triples holding the new time can break the rule (a removal leaves
  // neighbours further apart than the triples it came from).
  if (p >= 2 && v[p] - v[p - 2] <= gap) {
    v.erase(v.begin() + int64_t(p - 1));
    --p;
  }
  if (p >= 1 && p + 1 < v.size() && v[p + 1] - v[p - 1] <= gap) {
    v.erase(v.begin() + int64_t(p));
    return;
  }
  if (p + 2 < v.size() && v[p + 2] - v[p] <= gap) v.erase(v.begin() + int64_t(p + 1));
}

bool LoginHistory::Any(const std::vector<int64_t>& v, int64_t from, int64_t before) {
  auto it = std::lower_bound(v.begin(), v.end(), before);  // the first >= before
  return it != v.begin() && *std::prev(it) >= from;
}

void LoginHistory::Add(const std::string& user, const std::string& ip, int64_t time_us) {
  Insert(users_[user], time_us, gap_us_);
  key_.assign(user).append(1, '\n').append(ip);
  Insert(pairs_[key_], time_us, gap_us_);
}

int LoginHistory::Seen(const std::string& user, const std::string& ip, int64_t from_us,
                       int64_t before_us) const {
  auto u = users_.find(user);
  if (u == users_.end() || !Any(u->second, from_us, before_us)) return 0;
  std::string key = user + "\n" + ip;
  auto p = pairs_.find(key);
  return p != pairs_.end() && Any(p->second, from_us, before_us) ? 2 : 1;
}

void LoginHistory::Prune(int64_t before_us) {
  for (auto* m : {&users_, &pairs_})
    for (auto it = m->begin(); it != m->end();) {
      auto& v = it->second;
      v.erase(v.begin(), std::lower_bound(v.begin(), v.end(), before_us));
      if (v.empty())
        it = m->erase(it);
      else
        ++it;
    }
}

// ---------------------------------------------------------------- engine

namespace {
// Groups of a login rule kept while one login source has not been seen.
constexpr size_t kUnpairedGroups = 100000;
// Successes waiting for the auth lane, at most.
constexpr size_t kMaxPending = 100000;
// Failed ticket requests waiting for the auth lane, at most: more than the
// pairer keeps (100,000 login lines), so that those it lets go still meet
// their auth lines here (ClaimHeld). Without session and origin a held
// line takes about 250 bytes: 125 MB at most, only while the auth
// lane is far behind (access.log imported before the auth log).
constexpr size_t kMaxHeld = 500000;
// Entries a group keeps at most, whatever the lanes' watermarks.
constexpr size_t kMaxEntries = 4096;
}  // namespace

void AlertEngine::SetRules(const AlertRuleSet& set) {
  errors_.clear();
  pair_matters_.clear();
  std::vector<RuleState> next;
  for (const AlertRule& r : set.rules) {
    if (!r.enabled) continue;
    auto m = MakeRuleMatcher(r);
    GroupBy g;
    if (!m.ok()) {
      errors_.push_back(m.status().message());
      continue;
    }
    if (!ParseGroupBy(r.group_by, &g)) {
      errors_.push_back("alert rule " + std::to_string(r.id) + ": invalid group_by '" + r.group_by +
                        "'");
      continue;
    }
    RuleState st;
    st.rule = r;
    st.group_by = g;
    st.matcher = *m;
    st.signature = Signature(r);
    // Keep the windows of an unchanged rule.
    for (RuleState& old : rules_)
      if (old.rule.id == r.id && old.signature == st.signature) {
        st.groups = std::move(old.groups);
      }
    if (auto it = loaded_.find(r.id); it != loaded_.end()) {
      if (it->second.signature == st.signature) {
        st.groups = std::move(it->second.groups);
      }
      loaded_.erase(it);
    }
    next.push_back(std::move(st));
  }
  rules_ = std::move(next);
  // new-ip: the history thins with the shortest window (exact for every
  // longer one) and keeps the longest.
  const bool had_history = wants_history_;
  wants_history_ = false;
  int64_t gap = INT64_MAX, span = 0;
  for (const RuleState& r : rules_)
    if (r.rule.type == AlertType::kNewIp) {
      wants_history_ = true;
      gap = std::min(gap, r.rule.window_us);
      span = std::max(span, r.rule.window_us);
    }
  if (wants_history_) {
    // A shorter window than the history was thinned for: seed it again.
    if (had_history && history_seeded_ && gap < history_gap_us_) history_seeded_ = false;
    if (!history_seeded_) {
      history_.Clear();
      history_.set_gap(gap);
      history_gap_us_ = gap;
    }
    history_span_us_ = span;
  } else {
    history_.Clear();
    history_seeded_ = false;
  }
  logins_only_ = true;
  for (const RuleState& r : rules_)
    if (r.rule.type != AlertType::kFailedLogin && r.rule.type != AlertType::kBruteForceSuccess &&
        r.rule.type != AlertType::kNewIp)
      logins_only_ = false;
}

bool AlertEngine::Holds(const Group& g, uint64_t action_id) {
  for (const Entry& e : g.entries)
    if (e.action_id == action_id) return true;
  return false;
}

int64_t AlertEngine::Watermark(const RuleState& r) const {
  switch (r.rule.type) {
    case AlertType::kFailedLogin:
    case AlertType::kBruteForceSuccess:
      return pairer_.login_watermark_us();
    case AlertType::kActionRate:
      return pairer_.task_watermark_us();
    default:
      // One source (the config watcher), or any: the newest line decides.
      return pairer_.newest_us() == INT64_MIN ? INT64_MIN : pairer_.newest_us() - kPairHoldUs;
  }
}

bool AlertEngine::Count(RuleState& r, Group& g, int64_t time_us, uint64_t action_id,
                        int64_t* fired_at) {
  const AlertRule& rule = r.rule;
  auto by_time = [](int64_t t, const Entry& e) { return t < e.time_us; };
  auto pos = std::upper_bound(g.entries.begin(), g.entries.end(), time_us, by_time);
  pos = g.entries.insert(pos, Entry{time_us, action_id});
  // The windows (t'-W, t'] that hold the new event: the one ending at it
  // and, for a late event, those ending at later events within W. The
  // fullest decides; a window never holds events later than its end.
  // Entries are in time order: a window's count is a difference of
  // positions (one window for an event that is the newest).
  uint64_t best = 0;
  int64_t best_end = time_us;
  for (auto end = pos; end != g.entries.end() && end->time_us < time_us + rule.window_us; ++end) {
    if (std::next(end) != g.entries.end() && std::next(end)->time_us == end->time_us) continue;
    auto first =
        std::upper_bound(g.entries.begin(), std::next(end), end->time_us - rule.window_us, by_time);
    uint64_t c = uint64_t(std::next(end) - first);
    if (c > best) {
      best = c;
      best_end = end->time_us;
    }
  }
  // The newest N+1 decide (exactly N, or more); a few more are kept so
  // that the other line of a recent action is recognised (Holds).
  // While another lane is behind, an older action may still come and
  // complete a window with these: entries within W before the lanes'
  // watermark stay too (a hard cap bounds a flood).
  const size_t keep = size_t(rule.threshold) + 1 + kPartnerSlack;
  const int64_t wm = Watermark(r);
  size_t drop = 0;
  while (g.entries.size() - drop > keep &&
         (g.entries.size() - drop > kMaxEntries ||
          (wm != INT64_MIN && g.entries[drop].time_us <= wm - rule.window_us)))
    ++drop;
  g.entries.erase(g.entries.begin(), g.entries.begin() + int64_t(drop));
  if (best < rule.threshold) return false;
  // Exactly N: just before this event the window held fewer than N, so the
  // rule was armed (a new burst). More than N: the burst goes on; fire
  // again only once the cooldown has passed since the last alert.
  bool fire = best == rule.threshold ||
              (g.last_fire_us != INT64_MIN && best_end - g.last_fire_us >= rule.cooldown_us);
  if (!fire) return false;
  g.last_fire_us = best_end;
  *fired_at = best_end;
  return true;
}

void AlertEngine::Prune(RuleState& r, int64_t now_us) {
  const int64_t keep = std::max(r.rule.window_us, r.rule.cooldown_us);
  // A group must outlive the last line that can still pair with its
  // entries or fall into their windows (files imported one after the
  // other): until both sources of its lines have passed it (failed logins:
  // the auth lines and access.log; actions: the task index and access.log),
  // or a day when one of them is not followed. The newest line of any
  // source is not enough: an auth log read ahead of access.log dropped the
  // windows of action-rate while their requests were still coming, and a
  // rule that should have fired stayed silent.
  if (r.rule.type == AlertType::kFailedLogin || r.rule.type == AlertType::kBruteForceSuccess ||
      r.rule.type == AlertType::kActionRate) {
    // While one source has not been seen (files imported one after the
    // other: the second may cover months), groups are kept unless they
    // grow past a cap (a source that is not followed at all), then a day.
    const int64_t wm = Watermark(r);
    if (wm == INT64_MIN && r.groups.size() <= kUnpairedGroups) return;
    now_us = wm == INT64_MIN ? now_us - 86400 * int64_t{1000000} : std::min(now_us, wm);
  }
  for (auto it = r.groups.begin(); it != r.groups.end();) {
    const Group& g = it->second;
    int64_t newest = g.entries.empty() ? INT64_MIN : g.entries.back().time_us;
    if (!g.successes.empty()) newest = std::max(newest, g.successes.back().e.time_us);
    if (newest < now_us - keep - kPairHoldUs)
      it = r.groups.erase(it);
    else
      ++it;
  }
}

Event AlertEngine::MakeAlert(const RuleState& r, const Event& trigger, const Group& g,
                             int64_t time_us, const std::string& what) const {
  const AlertRule& rule = r.rule;
  Event a;
  a.time_us = time_us;
  a.node = trigger.node;
  a.user = rule.group_by == "ip" ? std::string() : trigger.user;
  a.ip = trigger.ip;
  a.action = std::string("alert:") + AlertTypeName(rule.type);
  a.resource = "/pveaudit/alerts/" + std::to_string(rule.id);
  a.result = Outcome::kUnknown;
  a.status = "fired";
  a.source = std::string(kAlertSource);
  // The newest N actions of the window (entries are in time order).
  std::vector<uint64_t> ids;
  for (const Entry& e : g.entries)
    if (e.time_us > time_us - rule.window_us && e.time_us <= time_us) ids.push_back(e.action_id);
  if (ids.size() > rule.threshold) ids.erase(ids.begin(), ids.end() - int64_t(rule.threshold));
  if (std::find(ids.begin(), ids.end(), trigger.id) == ids.end()) ids.push_back(trigger.id);
  std::sort(ids.begin(), ids.end());
  a.detail = "rule " + std::to_string(rule.id) + " " + AlertTypeName(rule.type) + ": " + what;
  // Always written, "all" for no list: the text before it can hold a user
  // name, and only the last "; notify " is read back.
  a.detail += "; notify ";
  for (size_t i = 0; i < rule.notify.size(); ++i) a.detail += (i ? "," : "") + rule.notify[i];
  if (rule.notify.empty()) a.detail += "all";
  a.detail += "; events " + JoinIds(ids);
  a.origin = "pveauditd:alert";
  return a;
}

bool AlertEngine::JudgeSuccess(RuleState& r, Group& g, const std::string& key, const Event& e,
                               std::vector<Event>* alerts, bool fired_before) {
  const AlertRule& rule = r.rule;
  uint64_t c = 0;
  int64_t newest = INT64_MIN;
  for (const Entry& x : g.entries)
    if (x.time_us > e.time_us - rule.window_us && x.time_us <= e.time_us) {
      ++c;
      newest = std::max(newest, x.time_us);
    }
  // Once per burst: a later success fires again only after new failures.
  if (c < rule.threshold || newest <= g.fired_newest_us) return false;
  g.fired_newest_us = newest;
  if (fired_before) return false;
  g.last_fire_us = e.time_us;
  Event trigger = e;
  if (trigger.ip.empty()) trigger.ip = g.ip;  // the auth line names none
  alerts->push_back(MakeAlert(r, trigger, g, e.time_us,
                              "successful login for " + key + " after " + std::to_string(c) +
                                  " failed logins within " + FormatDuration(rule.window_us)));
  return true;
}

void AlertEngine::Replay(const Event& e) {
  if (e.source == kAlertSource || e.source == "pveaudit") return;
  if (logins_only_ && !IsLoginLine(e)) return;
  const ActionPairer::Result pr = pairer_.Add(e, MayCountRequest(e), PairMatters(e));
  // A line held when the state was saved waits in the pairer again.
  if (held_unresolved_ && pr.self)
    if (auto it = held_index_.find(e.id); it != held_index_.end())
      held_[it->second].seq = pr.self_seq;
}

void AlertEngine::OnSuccess(RuleState& r, const Event& e, std::vector<Event>* alerts) {
  const AlertRule& rule = r.rule;
  std::string key = GroupKey(e, r.group_by);
  Group& g = r.groups[key];
  Group::Success kept;
  kept.fired = JudgeSuccess(r, g, key, e, alerts);
  // Kept for failures read after it (another lane behind: per address, a
  // failure of sshd is in the auth log, the success in access.log).
  kept.e = e;
  kept.e.detail.clear();
  kept.e.session.clear();
  kept.e.origin.clear();
  g.successes.push_back(std::move(kept));
  // Kept as long as a failure can still come before them, as the entries
  // are (Count).
  const int64_t wm = Watermark(r);
  size_t drop = 0;
  while (drop < g.successes.size() &&
         (g.successes.size() - drop > kMaxEntries ||
          (g.successes.size() - drop > kPartnerSlack &&
           (wm == INT64_MIN ? false : g.successes[drop].e.time_us <= wm - rule.window_us))))
    ++drop;
  g.successes.erase(g.successes.begin(), g.successes.begin() + int64_t(drop));
}

bool AlertEngine::MayCountRequest(const Event& e) const {
  if (e.source != "pveproxy") return false;
  for (const RuleState& r : rules_)
    if ((r.rule.type == AlertType::kActionRate || r.rule.type == AlertType::kOffHours) &&
        (!r.matcher.filter.action || ActionMatches(*r.matcher.filter.action, e.action)))
      return true;
  return false;
}

bool AlertEngine::PairMatters(const Event& e) const {
  if (e.source != "pveproxy" && !IsTaskEvent(e)) return true;
  auto [it, added] = pair_matters_.try_emplace(e.action, false);
  if (!added) return it->second;
  // The actions of the lines that may pair with this one (a request and
  // the task it starts: RequestCanStartTask), this one's included: the
  // same verb on the object, on vm/ct/guest (a guest task of a vm or ct
  // request), and restore for create. The set is the same seen from either
  // line of a pair, so both are kept when a rule can count one of them.
  const std::string_view action = e.action;
  const size_t colon = action.find(':');
  const std::string_view obj = action.substr(0, colon);
  const std::string_view verb =
      colon == std::string_view::npos ? std::string_view() : action.substr(colon + 1);
  std::vector<std::string> related;
  for (std::string_view o :
       {obj, std::string_view("vm"), std::string_view("ct"), std::string_view("guest")}) {
    related.push_back(std::string(o) + ":" + std::string(verb));
    if (verb == "create") related.push_back(std::string(o) + ":restore");
    if (verb == "restore") related.push_back(std::string(o) + ":create");
  }
  for (const RuleState& r : rules_) {
    if (r.rule.type != AlertType::kActionRate && r.rule.type != AlertType::kOffHours) continue;
    if (!r.matcher.filter.action) return it->second = true;
    for (const std::string& a : related)
      if (ActionMatches(*r.matcher.filter.action, a)) return it->second = true;
  }
  return false;
}

void AlertEngine::Add(const Event& e, std::vector<Event>* alerts) {
  Event copy = e;
  Add(std::move(copy), alerts);
}

void AlertEngine::Add(Event&& ev, std::vector<Event>* alerts) {
  if (ev.source == kAlertSource || ev.source == "pveaudit") return;
  // With login rules only, nothing else can count: skip it cheaply.
  if (logins_only_ && !IsLoginLine(ev)) return;
  if (held_unresolved_) {
    // After a restart: held lines that Replay did not give back to the
    // pairer (older than what it read again) wait there again.
    held_unresolved_ = false;
    held_index_.clear();
    for (Held& h : held_)
      if (h.seq == UINT64_MAX) {
        Event copy = h.e;
        h.seq = pairer_.Take(copy, false).self_seq;
      }
  }
  // A line the pairer keeps is moved into it, not copied.
  const ActionPairer::Result pr = pairer_.Take(ev, MayCountRequest(ev), PairMatters(ev));
  const Event& e = pr.self ? pr.self->e : ev;
  if (++judged_ % 4096 == 0) {
    for (RuleState& r : rules_) Prune(r, pairer_.newest_us());
    // A day more than the longest window, for logins read late.
    if (wants_history_ && pairer_.newest_us() != INT64_MIN)
      history_.Prune(pairer_.newest_us() - history_span_us_ - 86400 * int64_t{1000000});
  }
  // A failed ticket request that found no auth line, while the auth lane
  // has not passed the time its auth line could have: held (held_). Live,
  // Proxmox writes the auth line first, so the request pairs at once and
  // nothing waits; with no auth lines at all (only access.log followed)
  // nothing waits either.
  if (pr.self && !pr.partner && IsFailedTicketRequest(e) && AuthMayStillPair(e.time_us)) {
    Held h{e, pr.self_seq};
    h.e.session.clear();  // not read by the rules; held lines can be many
    h.e.origin.clear();
    PushHeld(std::move(h));
  } else {
    // A failed auth line whose ticket request was held and let go by the
    // pairer takes it: one attempt, counted at the auth line's time.
    if (!pr.partner && IsLoginFailure(e)) ClaimHeld(e);
    Judge(e, pr, alerts);
  }
  ReleaseHeld(alerts);
}

bool AlertEngine::AuthLaneBehind(int64_t time_us) const {
  const int64_t auth = pairer_.newest_auth_us();
  if (auth == INT64_MIN && !expect_auth_) return false;  // one lane only
  // Expected and not seen yet (access.log stored first when pveauditd
  // starts, or imported first): wait for it (bounded by the pairer's cap
  // and kMaxPending).
  if (auth == INT64_MIN) return true;
  // access.log far past it, and no auth line stored while access.log went
  // as far on: the auth log stopped; judged without waiting longer. An
  // auth lane that is days behind but still comes (pveauditd catching up
  // on a month of logs, access.log read faster) is waited for.
  const int64_t proxy = pairer_.newest_proxy_us_;
  if (proxy != INT64_MIN && proxy > time_us + kMaxHoldUs &&
      proxy > pairer_.auth_seen_proxy_us_ + kMaxHoldUs)
    return false;
  return auth <= time_us;
}

bool AlertEngine::SuccessWaits(int64_t time_us) const {
  // At most until access.log is kPairHoldUs past it: a quiet auth lane
  // does not delay the alert that matters most; failures read later still
  // judge it again (once: a success fires at most once).
  const int64_t proxy = pairer_.newest_proxy_us_;
  if (pairer_.newest_auth_us() != INT64_MIN && proxy != INT64_MIN && proxy > time_us + kPairHoldUs)
    return false;
  return AuthLaneBehind(time_us - kGrantRequestAfterUs - 1);
}

bool AlertEngine::AuthMayStillPair(int64_t time_us) const {
  return AuthLaneBehind(time_us + kLoginRequestBeforeUs + kHoldSlackUs);
}

void AlertEngine::PushHeld(Held h) {
  held_by_addr_[h.e.node + "\n" + h.e.ip].push_back(held_base_ + held_.size());
  held_.push_back(std::move(h));
}

void AlertEngine::PopHeld() {
  const Held& h = held_.front();
  auto it = held_by_addr_.find(h.e.node + "\n" + h.e.ip);
  if (it != held_by_addr_.end()) {
    while (!it->second.empty() && it->second.front() <= held_base_) it->second.pop_front();
    if (it->second.empty()) held_by_addr_.erase(it);
  }
  held_.pop_front();
  ++held_base_;
}

bool AlertEngine::ClaimHeld(const Event& a) {
  auto it = held_by_addr_.find(a.node + "\n" + a.ip);
  if (it == held_by_addr_.end()) return false;
  for (uint64_t serial : it->second) {
    if (serial < held_base_) continue;
    Held& h = held_[serial - held_base_];
    // Held lines of one address are in time order: past the window, none.
    if (h.e.time_us > a.time_us + kLoginRequestAfterUs) break;
    // Still in the pairer: it would have paired there if it could.
    if (h.claimed || pairer_.LoginSlot(h.seq, h.e.id) || !IsLoginRequest(a, h.e)) continue;
    h.claimed = true;
    return true;
  }
  return false;
}

void AlertEngine::ReleaseHeld(std::vector<Event>* alerts) {
  while (!held_.empty()) {
    Held& h = held_.front();
    ActionPairer::Slot* s = pairer_.LoginSlot(h.seq, h.e.id);
    if (h.claimed || (s && s->paired)) {  // its auth line came and counted the attempt
      PopHeld();
      continue;
    }
    // Let go by the pairer (its cap), it waits here for its auth line
    // (ClaimHeld), as many as kMaxHeld.
    if (AuthMayStillPair(h.e.time_us) && (s || held_.size() <= kMaxHeld)) break;
    ActionPairer::Result pr;
    pr.action_id = h.e.id;
    pr.self = s;
    pr.self_seq = h.seq;
    Event e = std::move(h.e);
    PopHeld();
    Judge(s ? s->e : e, pr, alerts);
  }
  while (!pending_successes_.empty() && (pending_successes_.size() > kMaxPending ||
                                         !SuccessWaits(pending_successes_.front().e.time_us))) {
    PendingSuccess p = std::move(pending_successes_.front());
    pending_successes_.pop_front();
    for (RuleState& r : rules_)
      if (r.rule.id == p.rule_id) OnSuccess(r, p.e, alerts);
  }
}

// A ticket request answered 200 through /api2/extjs may be a failed
// attempt; paired with a successful auth line it is that success (a login
// or a renewal), whichever line was read first: read before its auth line
// it is held, and dropped once that line takes it (ReleaseHeld); read
// after it, it is not counted either.
static bool IsFailedAttempt(const Event& e, const ActionPairer::Result& pr) {
  return IsFailedTicketRequest(e) && !(pr.partner && IsLoginSuccess(pr.partner->e));
}

std::string AlertEngine::CountKey(const RuleState& r, const Event& e,
                                  const ActionPairer::Result& pr) const {
  if (e.id <= r.rule.from_id) return {};
  const bool failed_ticket = IsFailedAttempt(e, pr);
  switch (r.rule.type) {
    case AlertType::kFailedLogin:
      if (!IsLoginFailure(e) && !failed_ticket && !IsFailedWebLogin(e)) return {};
      break;
    case AlertType::kBruteForceSuccess:  // its failures; the success fires
      if (!IsLoginFailure(e) && !failed_ticket) return {};
      break;
    case AlertType::kPrivilegeChange:
      if (!IsPrivilegeChange(e)) return {};
      break;
    case AlertType::kActionRate:
    case AlertType::kOffHours:
      break;
    case AlertType::kNewIp:
      return {};
  }
  if (!RuleMatches(r.matcher, e)) return {};
  // A failed ticket request has no user yet: per user, its auth line
  // counts the attempt.
  if (r.group_by == GroupBy::kIp && e.ip.empty()) return {};
  if (r.group_by == GroupBy::kUser && e.user.empty() && IsFailedTicketRequest(e)) return {};
  return GroupKey(e, r.group_by);
}

void AlertEngine::Judge(const Event& e, const ActionPairer::Result& pr,
                        std::vector<Event>* alerts) {
  const bool second_line = pr.partner != nullptr;
  const bool failed_ticket = IsFailedAttempt(e, pr);

  // Whether another line of this action was counted by rule `id` already:
  // the pairer's marks (however far one lane is behind another), or, after a
  // restart (the marks are not saved), the group's recent actions.
  auto counted_before = [&](uint64_t id, const Group& g) {
    if (!second_line) return false;
    if (pr.partner && std::find(pr.partner->counted_by.begin(), pr.partner->counted_by.end(), id) !=
                          pr.partner->counted_by.end())
      return true;
    return Holds(g, pr.action_id) || Holds(g, pr.partner->e.id);
  };
  auto mark = [&](uint64_t id) {
    for (ActionPairer::Slot* s : {pr.self, pr.partner})
      if (s) s->counted_by.push_back(id);
  };
  for (RuleState& r : rules_) {
    const AlertRule& rule = r.rule;
    if (e.id <= rule.from_id) continue;
    const GroupBy gb = r.group_by;
    // Only for the text of an alert: not built for every event.
    auto n = [&] { return std::to_string(rule.threshold); };
    auto w = [&] { return FormatDuration(rule.window_us); };
    switch (rule.type) {
      case AlertType::kFailedLogin: {
        std::string key = CountKey(r, e, pr);
        if (key.empty()) break;
        Group& g = r.groups[key];
        if (counted_before(rule.id, g)) break;  // its other line counted
        int64_t at = 0;
        mark(rule.id);
        if (Count(r, g, e.time_us, pr.action_id, &at))
          alerts->push_back(
              MakeAlert(r, e, g, at, n() + " failed logins within " + w() + " for " + key));
        break;
      }
      case AlertType::kBruteForceSuccess: {
        if (IsLoginFailure(e) || failed_ticket) {
          std::string key = CountKey(r, e, pr);
          if (key.empty()) break;
          Group& g = r.groups[key];
          if (counted_before(rule.id, g)) break;
          // Failures are counted, never fired on; only the success fires.
          int64_t last = g.last_fire_us, at = 0;
          mark(rule.id);
          Count(r, g, e.time_us, pr.action_id, &at);
          g.last_fire_us = last;
          if (!e.ip.empty()) g.ip = e.ip;
          // Read after a success it preceded: that success is judged again,
          // so the order the lanes were read in does not matter.
          // The successes come from one lane, in time order: only the
          // newest ones can follow this failure; judged oldest first.
          size_t from = g.successes.size();
          while (from > 0 && g.successes[from - 1].e.time_us >= e.time_us) --from;
          for (size_t i = from; i < g.successes.size(); ++i)
            if (g.successes[i].e.time_us - rule.window_us < e.time_us &&
                JudgeSuccess(r, g, key, g.successes[i].e, alerts, g.successes[i].fired))
              g.successes[i].fired = true;
          break;
        }
        // Per user: pvedaemon's "successful auth" line; per address: the
        // ticket request answered 200 through /api2/json.
        bool success = gb == GroupBy::kIp
                           ? IsGrantedTicketRequest(e) && e.result == Outcome::kSuccess
                           : IsLoginSuccess(e) && e.action == "login";
        if (!success) break;
        RuleMatcher m = r.matcher;
        if (e.ip.empty()) m.filter.ip.reset();  // the auth line names no address
        if (!RuleMatches(m, e)) break;
        // Per address the failures are in the auth log, the success in
        // access.log: judged once the auth lane has reached the success
        // (its own auth line, written first, may be up to
        // kGrantRequestAfterUs before it), so live at once.
        if (gb == GroupBy::kIp && SuccessWaits(e.time_us)) {
          Event kept = e;
          kept.session.clear();
          kept.origin.clear();
          pending_successes_.push_back(PendingSuccess{rule.id, std::move(kept)});
          break;
        }
        OnSuccess(r, e, alerts);
        break;
      }
      case AlertType::kActionRate:
      case AlertType::kOffHours:
      case AlertType::kPrivilegeChange: {
        std::string key = CountKey(r, e, pr);
        if (key.empty()) break;
        Group& g = r.groups[key];
        if (counted_before(rule.id, g)) break;
        int64_t at = 0;
        mark(rule.id);
        if (!Count(r, g, e.time_us, pr.action_id, &at)) break;
        std::string what;
        if (rule.type == AlertType::kActionRate)
          what = n() + " x " + rule.action + " within " + w() + " by " + key;
        else if (rule.type == AlertType::kOffHours)
          what = e.action + " by " + key + " outside working hours (" + rule.start + "-" +
                 rule.end + (rule.days.empty() ? std::string() : " " + rule.days) + ")";
        else
          what = e.action + " on " + e.resource;
        alerts->push_back(MakeAlert(r, e, g, at, what));
        break;
      }
      case AlertType::kNewIp: {
        if (!pr.login_known) break;
        Event login = e;
        login.user = pr.login_user;
        login.ip = pr.login_ip;
        login.time_us = pr.login_time_us;
        login.action = "login";
        if (!RuleMatches(r.matcher, login)) break;
        // A user seen before, from another address only (a user's very
        // first login is not "new": every login would be on a fresh
        // install).
        int seen =
            history_.Seen(login.user, login.ip, login.time_us - rule.window_us, login.time_us);
        if (seen != 1) break;
        // The pair completes once: nothing to remember.
        Group g;
        g.entries.assign(1, Entry{login.time_us, pr.action_id});
        alerts->push_back(MakeAlert(r, login, g, login.time_us,
                                    "login of " + login.user + " from " + login.ip +
                                        ", not seen for this user within " + w()));
        break;
      }
    }
  }
  // After judging: a login does not see itself.
  if (pr.login_known && wants_history_) history_.Add(pr.login_user, pr.login_ip, pr.login_time_us);
}

namespace {

// A JSON string. Plain ASCII without quotes, backslashes or control
// characters (nearly every user, address and resource) is copied as it
// is; anything else goes through nlohmann-json (invalid UTF-8 replaced).
void AppendJsonString(std::string* out, std::string_view v) {
  bool plain = true;
  for (unsigned char c : v)
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  if (plain) {
    out->push_back('"');
    out->append(v);
    out->push_back('"');
    return;
  }
  out->append(nlohmann::json(std::string(v))
                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void AppendInt(std::string* out, int64_t v) { out->append(std::to_string(v)); }

// A held line: [id, time, node, user, ip, action, resource, result,
// status, source, detail] (what judging and pairing it read).
void AppendEvent(std::string* out, const Event& e) {
  out->push_back('[');
  out->append(std::to_string(e.id));
  out->push_back(',');
  AppendInt(out, e.time_us);
  for (const std::string* f : {&e.node, &e.user, &e.ip, &e.action, &e.resource}) {
    out->push_back(',');
    AppendJsonString(out, *f);
  }
  out->push_back(',');
  AppendInt(out, int64_t(e.result));
  for (const std::string* f : {&e.status, &e.source, &e.detail}) {
    out->push_back(',');
    AppendJsonString(out, *f);
  }
  out->push_back(']');
}

Event EventFromArray(const nlohmann::json& a) {
  Event e;
  e.id = a.at(0).get<uint64_t>();
  e.time_us = a.at(1).get<int64_t>();
  e.node = a.at(2).get<std::string>();
  e.user = a.at(3).get<std::string>();
  e.ip = a.at(4).get<std::string>();
  e.action = a.at(5).get<std::string>();
  e.resource = a.at(6).get<std::string>();
  const int result = a.at(7).get<int>();
  if (result < 0 || result > 2) throw std::runtime_error("invalid result in a held line");
  e.result = Outcome(result);
  e.status = a.at(8).get<std::string>();
  e.source = a.at(9).get<std::string>();
  e.detail = a.at(10).get<std::string>();
  return e;
}

}  // namespace

std::string AlertEngine::SaveState() const {
  // Written by hand, not through a nlohmann::json document: the state is
  // saved with every batch, and building the document of every group cost
  // more than half of the engine's time on the 10 M-event data. The same
  // JSON as before (LoadState reads it with nlohmann-json).
  std::string out;
  out.reserve(4096);
  out += "{\"v\":1,\"newest\":";
  AppendInt(&out, pairer_.newest_us());
  out += ",\"newest_auth\":";
  AppendInt(&out, pairer_.newest_auth_us_);
  out += ",\"newest_proxy\":";
  AppendInt(&out, pairer_.newest_proxy_us_);
  out += ",\"newest_task\":";
  AppendInt(&out, pairer_.newest_task_us_);
  out += ",\"auth_seen_proxy\":";
  AppendInt(&out, pairer_.auth_seen_proxy_us_);
  out += ",\"replay_id\":";
  out += std::to_string(pairer_.oldest_id());
  out += ",\"rules\":{";
  bool first_rule = true;
  for (const RuleState& r : rules_) {
    if (!first_rule) out += ',';
    first_rule = false;
    out += '"';
    out += std::to_string(r.rule.id);
    out += "\":{\"sig\":";
    AppendJsonString(&out, r.signature);
    out += ",\"groups\":{";
    bool first_group = true;
    for (const auto& [key, g] : r.groups) {
      if (!first_group) out += ',';
      first_group = false;
      AppendJsonString(&out, key);
      out += ":{\"e\":[";
      for (size_t i = 0; i < g.entries.size(); ++i) {
        if (i) out += ',';
        out += '[';
        AppendInt(&out, g.entries[i].time_us);
        out += ',';
        out += std::to_string(g.entries[i].action_id);
        out += ']';
      }
      out += "],\"f\":";
      AppendInt(&out, g.last_fire_us);
      out += ",\"n\":";
      AppendInt(&out, g.fired_newest_us);
      out += ",\"ip\":";
      AppendJsonString(&out, g.ip);
      out += '}';
    }
    out += "}}";
  }
  out += "}";
  // The held lines (not yet judged: the cursor is past them). One that
  // took its auth line since is done.
  out += ",\"held\":[";
  bool first = true;
  for (const Held& h : held_) {
    const ActionPairer::Slot* s = pairer_.LoginSlot(h.seq, h.e.id);
    if (h.claimed || (s && s->paired)) continue;
    if (!first) out += ',';
    first = false;
    AppendEvent(&out, h.e);
  }
  out += "],\"pending\":[";
  first = true;
  for (const PendingSuccess& p : pending_successes_) {
    if (!first) out += ',';
    first = false;
    out += '[';
    out += std::to_string(p.rule_id);
    out += ',';
    AppendEvent(&out, p.e);
    out += ']';
  }
  out += "]}";
  return out;
}

Status AlertEngine::LoadState(std::string_view text) {
  loaded_.clear();
  if (text.empty()) return Status::OK();
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    pairer_.newest_auth_us_ = j.value("newest_auth", INT64_MIN);
    pairer_.newest_proxy_us_ = j.value("newest_proxy", INT64_MIN);
    pairer_.newest_task_us_ = j.value("newest_task", INT64_MIN);
    pairer_.auth_seen_proxy_us_ = j.value("auth_seen_proxy", INT64_MIN);
    // The lines the pairer held, and every line stored after the first of
    // them, are read back (Replay).
    replay_from_id_ = j.value("replay_id", uint64_t{0});
    for (auto it = j.at("rules").begin(); it != j.at("rules").end(); ++it) {
      uint64_t id = std::stoull(it.key());
      const auto& o = it.value();
      Loaded l;
      l.signature = o.at("sig").get<std::string>();
      for (auto g = o.at("groups").begin(); g != o.at("groups").end(); ++g) {
        Group group;
        for (const auto& e : g.value().at("e"))
          group.entries.push_back(Entry{e.at(0).get<int64_t>(), e.at(1).get<uint64_t>()});
        group.last_fire_us = g.value().at("f").get<int64_t>();
        group.fired_newest_us = g.value().at("n").get<int64_t>();
        group.ip = g.value().value("ip", "");
        l.groups[g.key()] = std::move(group);
      }
      loaded_[id] = std::move(l);
    }
    held_.clear();
    held_by_addr_.clear();
    held_index_.clear();
    pending_successes_.clear();
    if (j.contains("held"))
      for (const auto& a : j.at("held")) {
        held_index_[a.at(0).get<uint64_t>()] = held_.size();
        PushHeld(Held{EventFromArray(a), UINT64_MAX});
      }
    held_unresolved_ = !held_.empty();
    if (j.contains("pending"))
      for (const auto& p : j.at("pending"))
        pending_successes_.push_back(
            PendingSuccess{p.at(0).get<uint64_t>(), EventFromArray(p.at(1))});
  } catch (const std::exception& e) {
    loaded_.clear();
    held_.clear();
    held_by_addr_.clear();
    held_index_.clear();
    held_unresolved_ = false;
    pending_successes_.clear();
    return Status::Corruption(std::string("alert engine state: ") + e.what());
  }
  return Status::OK();
}

uint64_t AlertRuleId(const Event& e) {
  constexpr std::string_view kPrefix = "/pveaudit/alerts/";
  if (e.source != kAlertSource || e.resource.rfind(kPrefix, 0) != 0) return 0;
  std::string_view rest = std::string_view(e.resource).substr(kPrefix.size());
  if (rest.empty() || rest.find_first_not_of("0123456789") != std::string_view::npos ||
      rest.size() > 18)
    return 0;
  return std::stoull(std::string(rest));
}

std::vector<uint64_t> AlertTriggerIds(const Event& e) {
  std::vector<uint64_t> ids;
  size_t p = e.detail.rfind("; events ");
  if (p == std::string::npos) return ids;
  std::string_view s = std::string_view(e.detail).substr(p + 9);
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view part = s.substr(0, comma);
    if (part.empty() || part.find_first_not_of("0123456789") != std::string_view::npos ||
        part.size() > 18)
      break;
    ids.push_back(std::stoull(std::string(part)));
    if (comma == std::string_view::npos) break;
    s = s.substr(comma + 1);
  }
  return ids;
}

bool AlertGoesTo(const Event& e, std::string_view kind) {
  if (e.source != kAlertSource || e.action.rfind("alert:", 0) != 0) return true;
  std::string_view d = e.detail;
  const size_t events = d.rfind("; events ");
  if (events == std::string_view::npos) return true;
  d = d.substr(0, events);
  const size_t p = d.rfind("; notify ");
  if (p == std::string_view::npos) return true;  // no list: every destination of alerts
  std::string_view list = d.substr(p + 9);
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view one = list.substr(0, comma);
    if (one == kind || one == "all") return true;
    if (comma == std::string_view::npos) break;
    list = list.substr(comma + 1);
  }
  return false;
}

}  // namespace pveaudit

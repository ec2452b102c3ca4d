#include "query/log_query.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "core/actions.h"
#include "core/time_spec.h"
#include "query/correlator.h"

namespace pveaudit {

bool ParseGroupBy(const std::string& s, GroupBy* out) {
  if (s == "user")
    *out = GroupBy::kUser;
  else if (s == "ip")
    *out = GroupBy::kIp;
  else if (s == "resource")
    *out = GroupBy::kResource;
  else if (s == "action")
    *out = GroupBy::kAction;
  else
    return false;
  return true;
}

const char* GroupByName(GroupBy g) {
  switch (g) {
    case GroupBy::kUser:
      return "user";
    case GroupBy::kIp:
      return "ip";
    case GroupBy::kResource:
      return "resource";
    case GroupBy::kAction:
      return "action";
  }
  return "user";
}

namespace {

// Fields the views read (query/correlator.h); a joined event also carries
// the session when the caller asks for it.
constexpr uint32_t kViewFields = kFieldNode | kFieldUser | kFieldIp | kFieldAction |
                                 kFieldResource | kFieldStatus | kFieldSource | kFieldDetail;

// True when every action `spec` can match is a state change (class
// modify): then every event that can be joined with a matching one is a
// state change too (a task and its request share the verb; a config change
// and its request are state changes), and the store may select "modify".
bool OnlyModifyActions(const std::string& spec) {
  if (!IsKnownActionSpec(spec)) return false;
  // A spec that matches no listed action (alert, pveaudit: pveaudit's own
  // events) says nothing about the class.
  bool any = false;
  for (const std::string& a : KnownActions()) {
    if (!ActionMatches(spec, a)) continue;
    if (!(ActionClasses(a) & kClassModify)) return false;
    any = true;
  }
  return any;
}

// What the store selects before the views: the time range widened by
// kViewMarginUs (partners and competitors of events at the edges), the user
// (a join never changes the user of an event that has one; a config change,
// stored without user, is read with the requests around it: SideEvents),
// failures only (a failure absorbs only failures or unknown results, except
// that a failed task absorbs the request that started it: SideEvents), and
// the class
// "modify" for a state-changing --action. Every other field is compared
// after the join (MatchesFilter), because the joined event takes it from the
// other side: a task's address, a request's resource, a login's user.
Filter Pushdown(const Filter& f) {
  Filter p;
  if (f.start_us)
    p.start_us = *f.start_us > INT64_MIN + kViewMarginUs ? *f.start_us - kViewMarginUs : INT64_MIN;
  if (f.end_us)
    p.end_us = *f.end_us < INT64_MAX - kViewMarginUs ? *f.end_us + kViewMarginUs : INT64_MAX;
  p.user = f.user;
  if (f.failed && *f.failed) p.failed = true;
  if (f.action && OnlyModifyActions(*f.action)) p.action = "modify";
  return p;
}

using Windows = std::vector<std::pair<int64_t, int64_t>>;

// [t - before, t + after] around each of `times`, merged where they overlap:
// ascending, disjoint, half-open.
Windows WindowsAround(std::vector<int64_t> times, int64_t before, int64_t after) {
  std::sort(times.begin(), times.end());
  Windows out;
  for (size_t i = 0; i < times.size();) {
    int64_t lo = times[i] - before, hi = times[i] + after + 1;
    while (++i < times.size() && times[i] - before <= hi) hi = times[i] + after + 1;
    out.emplace_back(lo, hi);
  }
  return out;
}

// The windows of `a` and of `b`, merged where they overlap.
Windows UnionOf(Windows a, const Windows& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  Windows out;
  for (const auto& w : a) {
    if (!out.empty() && w.first <= out.back().second) {
      out.back().second = std::max(out.back().second, w.second);
    } else {
      out.push_back(w);
    }
  }
  return out;
}

// The events of `scan` (its time range replaced) in `windows` that `keep`
// picks, with `fields`. One scan: the store reads each block once and skips
// the blocks and rows outside the windows.
Status ReadWindows(EventStore& store, const Windows& windows, Filter scan, uint32_t fields,
                   const std::function<bool(const Event&)>& keep, std::vector<Event>* out) {
  if (windows.empty()) return Status::OK();
  scan.start_us = windows.front().first;
  scan.end_us = windows.back().second;
  scan.windows = windows;
  return store.Scan(scan, fields, [&](Event& e) {
    if (keep(e)) out->push_back(std::move(e));
    return true;
  });
}

// pvedaemon's login and ticket renewal lines: they join ticket requests.
bool IsAuthLogin(const Event& e) {
  return e.source == "auth" && (e.action == "login" || e.action == "session:renew");
}

// Times by key (a user, an address, a node), and the windows around them.
class KeyedWindows {
 public:
  void Add(const std::string& key, int64_t t) { times_[key].push_back(t); }
  void Build(int64_t before, int64_t after) {
    std::vector<int64_t> all;
    for (auto& [k, t] : times_) {
      all.insert(all.end(), t.begin(), t.end());
      windows_[k] = WindowsAround(std::move(t), before, after);
    }
    times_.clear();
    all_ = WindowsAround(std::move(all), before, after);
  }
  const Windows& all() const { return all_; }
  const std::unordered_map<std::string, Windows>& by_key() const { return windows_; }
  bool Holds(const std::string& key, int64_t t) const {
    auto it = windows_.find(key);
    return it != windows_.end() && InWindows(it->second, t);
  }

 private:
  std::unordered_map<std::string, std::vector<int64_t>> times_;
  std::unordered_map<std::string, Windows> windows_;
  Windows all_;
};

// The events read beside the pushed-down scan, so that every join is made
// as without the pushdown (ViewsTest.PushdownNeverChangesAJoin):
// - --user U asks the store for U's events only, but
//   - a config change is stored without user, and which request made it
//     depends on every candidate around it, of any user. So the changes of
//     the range are found first (events without user, class modify: few),
//     then every state change in the window around each
//     (kChangeRequestBeforeUs before to kChangeRequestAfterUs after, plus
//     the forwarded tolerance);
//   - a login's ticket request is anonymous (pvedaemon's success line
//     names no address: the request gives it);
// - --failed 1 asks the store for failures only, but
//   - a failed task joins the request that started it, which succeeded
//     (200): its address and session;
//   - a failed login through /api2/extjs joins a ticket request answered
//     200.
// So around each task (kTaskRequestBeforeUs + kTaskRequestAfterUs plus the
// forwarded tolerance, each way: its requests and the tasks competing for
// them) the state changes of its user are read, and around each login
// (kLoginRequestBeforeUs + kLoginRequestAfterUs each way) the ticket
// requests from its address (a failure) or on its node (a success line,
// which names no address) and every login line (competitors).
// Sorted by (time, id), without duplicates; with `fields` filled.
Result<std::vector<Event>> SideEvents(EventStore& store, const Filter& pushed, uint32_t fields) {
  std::vector<Event> side;
  if (!pushed.user && !pushed.failed) return side;
  // The pushed user's logins and renewals, and with --failed 1 the failed
  // tasks too.
  Filter own = pushed;
  own.action.reset();  // a task of any class
  KeyedWindows tasks, logins;
  const uint32_t own_fields = kFieldSource | kFieldAction | kFieldNode | kFieldIp | kFieldUser |
                              (pushed.failed ? kFieldDetail : 0u);
  Status st = store.Scan(own, own_fields, [&](const Event& e) {
    if (pushed.failed && IsTaskEvent(e)) tasks.Add(e.user, e.time_us);
    if (IsAuthLogin(e)) logins.Add(e.ip.empty() ? "node " + e.node : "ip " + e.ip, e.time_us);
    return true;
  });
  if (!st.ok()) return st;
  // What the pushed-down scan reads itself is not read again.
  auto in_main = [&](const Event& e) {
    return (!pushed.failed || e.result == Outcome::kFailure) &&
           (!pushed.user || e.user == *pushed.user);
  };
  const int64_t task_reach = kTaskRequestBeforeUs + kTaskRequestAfterUs + kForwardEarlierUs;
  tasks.Build(task_reach, task_reach);
  // The requests a failed task may have joined are its user's. Where a
  // user's events are an index range (PostgreSQL), each user's windows are
  // read with the user in the filter: that user's events only, not every
  // state change around every failed task (bench/RESULTS.md, "--failed 1
  // --count from indexes"). In SQLite every read decodes the blocks' time
  // columns again, so one read of all windows costs less there. The same
  // events either way (ViewsTest.ReadsByUserOrAllAtOnceJoinTheSame).
  Filter modify;
  modify.action = "modify";
  modify.user = pushed.user;
  auto task_request = [&](const Event& e) { return !in_main(e) && tasks.Holds(e.user, e.time_us); };
  if (store.ReadsByUserAreCheap()) {
    for (const auto& [user, windows] : tasks.by_key()) {
      modify.user = user;
      st = ReadWindows(store, windows, modify, fields, task_request, &side);
      if (!st.ok()) return st;
    }
  } else {
    st = ReadWindows(store, tasks.all(), modify, fields, task_request, &side);
    if (!st.ok()) return st;
  }
  // A failed login's ticket requests come from its address, a success
  // line's (which names no address) from anyone on its node.
  const int64_t login_reach = kLoginRequestBeforeUs + kLoginRequestAfterUs;
  logins.Build(login_reach, login_reach);
  KeyedWindows granted;  // the requests found that a success line may claim
  Filter tickets;
  tickets.action = "access:ticket";
  st = ReadWindows(
      store, logins.all(), tickets, fields,
      [&](const Event& e) {
        if (in_main(e) ||
            !(logins.Holds("ip " + e.ip, e.time_us) || logins.Holds("node " + e.node, e.time_us)))
          return false;
        if (e.result != Outcome::kFailure) granted.Add("node " + e.node, e.time_us);
        return true;
      },
      &side);
  if (!st.ok()) return st;
  // The login lines that compete for them: failed ones from the same
  // address, success lines on the node of a request found.
  const int64_t grant_reach = kGrantRequestBeforeUs + kGrantRequestAfterUs;
  granted.Build(grant_reach, grant_reach);
  const Windows both = UnionOf(logins.all(), granted.all());
  for (const char* action : {"login", "session:renew"}) {
    Filter lines;
    lines.action = action;
    st = ReadWindows(
        store, both, lines, fields,
        [&](const Event& e) {
          return !in_main(e) && IsAuthLogin(e) &&
                 (granted.Holds("node " + e.node, e.time_us) ||
                  (!e.ip.empty() && logins.Holds("ip " + e.ip, e.time_us)));
        },
        &side);
    if (!st.ok()) return st;
  }
  if (pushed.user && !pushed.failed) {  // a change is never a failure
    Filter changes = pushed;
    changes.user = "";
    changes.action = "modify";
    std::vector<int64_t> times;
    st = store.Scan(changes, kFieldSource, [&](const Event& e) {
      if (e.source == kConfigChangeSourceName) times.push_back(e.time_us);
      return true;
    });
    if (!st.ok()) return st;
    Filter any_user;
    any_user.action = "modify";
    st = ReadWindows(
        store,
        WindowsAround(std::move(times), kChangeRequestBeforeUs + kForwardEarlierUs,
                      kChangeRequestAfterUs + kForwardEarlierUs),
        any_user, fields, [](const Event&) { return true; }, &side);
    if (!st.ok()) return st;
  }
  auto before = [](const Event& x, const Event& y) {
    return x.time_us != y.time_us ? x.time_us < y.time_us : x.id < y.id;
  };
  std::sort(side.begin(), side.end(), before);
  side.erase(std::unique(side.begin(), side.end(),
                         [](const Event& x, const Event& y) { return x.id == y.id; }),
             side.end());
  return side;
}

// Streams the joined events that match `filter`, in time order, to `emit`
// (false: stop).
Status ViewScan(EventStore& store, const Filter& filter, uint32_t fields,
                const std::function<bool(Event&&)>& emit) {
  bool stop = false;
  EventView view([&](Event&& e) {
    if (stop || !MatchesFilter(filter, e)) return;
    if (!emit(std::move(e))) stop = true;
  });
  const Filter pushed = Pushdown(filter);
  auto w = SideEvents(store, pushed, fields | kViewFields);
  if (!w.ok()) return w.status();
  std::vector<Event> side = std::move(*w);
  std::unordered_set<uint64_t> side_ids;
  for (const Event& e : side) side_ids.insert(e.id);
  size_t next = 0;
  auto before = [](const Event& a, const Event& b) {
    return a.time_us != b.time_us ? a.time_us < b.time_us : a.id < b.id;
  };
  Status st = store.Scan(pushed, fields | kViewFields, [&](Event& e) {
    while (next < side.size() && before(side[next], e)) view.Add(std::move(side[next++]));
    if (!side_ids.count(e.id)) view.Add(std::move(e));
    return !stop;
  });
  if (!st.ok()) return st;
  while (!stop && next < side.size()) view.Add(std::move(side[next++]));
  if (!stop) view.Finish();
  return Status::OK();
}

// FindEvents over the whole of `filter`'s range. `shown`, when given, gets
// the number of joined events in range (before the limit).
Result<std::vector<Event>> FindInRange(EventStore& store, const Filter& filter, size_t limit,
                                       uint32_t fields, uint64_t* shown) {
  std::deque<Event> out;
  uint64_t n = 0;
  Status st = ViewScan(store, filter, fields, [&](Event&& e) {
    ++n;
    out.push_back(std::move(e));
    if (limit && out.size() > limit) out.pop_front();
    return true;
  });
  if (!st.ok()) return st;
  if (shown) *shown = n;
  return std::vector<Event>(std::make_move_iterator(out.begin()),
                            std::make_move_iterator(out.end()));
}

}  // namespace

bool MatchesFilter(const Filter& f, const Event& e) {
  // A request that names another node in its path ran there: it is that
  // node's too (a forwarded pair is one event on the forwarding node).
  if (f.node && e.node != *f.node && RequestPathNode(e) == *f.node) {
    Filter any_node = f;
    any_node.node.reset();
    return MatchesStoredEvent(any_node, e);
  }
  return MatchesStoredEvent(f, e);
}

Result<std::vector<Event>> FindEvents(EventStore& store, const Filter& filter, size_t limit,
                                      uint32_t fields) {
  if (limit == 0) return FindInRange(store, filter, 0, fields, nullptr);
  // The newest `limit` events: scan only the end of the range, one hour,
  // then 8x more each time, until the window holds `limit` events. The
  // result is the same as a scan of the whole range (every event of the
  // window is newer than every event before it; the views see
  // kViewMarginUs beyond the window's start, as at an explicit --start),
  // but `pveam access log --limit 20` on a year of events reads a few blocks
  // instead of all of them.
  auto info = store.Info();
  if (!info.ok()) return info.status();
  if (info->events == 0) return std::vector<Event>();
  const int64_t end = filter.end_us ? *filter.end_us : info->last_time_us + 1;
  const int64_t lo = filter.start_us ? *filter.start_us : info->first_time_us;
  for (int64_t span = int64_t(3600) * 1000000;; span *= 8) {
    if (span > INT64_MAX / 8 || end - lo <= span)
      return FindInRange(store, filter, limit, fields, nullptr);
    Filter window = filter;
    window.start_us = end - span;
    uint64_t shown = 0;
    auto r = FindInRange(store, window, limit, fields, &shown);
    if (!r.ok() || shown >= limit) return r;
  }
}

Status ForEachEvent(EventStore& store, const Filter& filter, size_t limit, uint32_t fields,
                    const std::function<bool(Event&&)>& emit) {
  if (limit == 0) return ViewScan(store, filter, fields, emit);
  auto events = FindEvents(store, filter, limit, fields);
  if (!events.ok()) return events.status();
  for (Event& e : *events)
    if (!emit(std::move(e))) break;
  return Status::OK();
}

std::string GroupKey(const Event& e, GroupBy g) {
  const std::string* v = &e.user;
  switch (g) {
    case GroupBy::kUser:
      if (e.user.empty()) return e.ip.empty() ? std::string("-") : "- (" + e.ip + ")";
      break;
    case GroupBy::kIp:
      v = &e.ip;
      break;
    case GroupBy::kResource:
      v = &e.resource;
      break;
    case GroupBy::kAction:
      v = &e.action;
      break;
  }
  return v->empty() ? std::string("-") : *v;
}

Result<std::vector<GroupRow>> CountGroups(EventStore& store, const Filter& filter,
                                          const CountSpec& spec,
                                          const std::function<bool(const Event&)>& keep) {
  struct Acc {
    GroupRow best;
    std::deque<int64_t> window;  // times inside the current window
  };
  std::unordered_map<std::string, Acc> groups;
  // The same joined events as the listing (FindEvents), so that counts
  // equal what `pveam access log` lists with the same filter.
  Status st = ViewScan(store, filter, keep ? uint32_t(kFieldAll) : 0u, [&](Event&& e) {
    if (keep && !keep(e)) return true;
    const int64_t t = e.time_us;
    auto [it, added] = groups.try_emplace(GroupKey(e, spec.group_by));
    Acc& a = it->second;
    if (added) {
      switch (spec.group_by) {
        case GroupBy::kUser:
          a.best.value = e.user;
          if (e.user.empty()) a.best.anonymous_ip = e.ip;
          break;
        case GroupBy::kIp:
          a.best.value = e.ip;
          break;
        case GroupBy::kResource:
          a.best.value = e.resource;
          break;
        case GroupBy::kAction:
          a.best.value = e.action;
          break;
      }
    }
    if (!spec.window_us) {
      if (a.best.count == 0) a.best.first_us = t;
      ++a.best.count;
      a.best.last_us = t;
      return true;
    }
    // Events arrive in time order: keep those within window_us of this one.
    a.window.push_back(t);
    while (t - a.window.front() >= *spec.window_us) a.window.pop_front();
    if (a.window.size() > a.best.count) {
      a.best.count = a.window.size();
      a.best.first_us = a.window.front();
      a.best.last_us = t;
    }
    return true;
  });
  if (!st.ok()) return st;
  std::vector<GroupRow> rows;
  for (auto& [key, a] : groups) {
    if (a.best.count < spec.min_count) continue;
    a.best.key = key;
    rows.push_back(std::move(a.best));
  }
  std::sort(rows.begin(), rows.end(), [](const GroupRow& x, const GroupRow& y) {
    return x.count != y.count ? x.count > y.count : x.key < y.key;
  });
  return rows;
}
}  // namespace pveaudit

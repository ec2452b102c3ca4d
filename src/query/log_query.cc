#include "query/log_query.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <unordered_set>

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

// The filter widened by the forwarded-pair tolerance, so that both copies of
// a pair near the edges of the time range are seen: a pair is one event at
// its forwarding copy's time, shown when that time is in the range.
Filter Widened(const Filter& f) {
  Filter w = f;
  if (w.start_us && *w.start_us > INT64_MIN + kForwardEarlierUs) *w.start_us -= kForwardEarlierUs;
  if (w.end_us && *w.end_us < INT64_MAX - kForwardEarlierUs) *w.end_us += kForwardEarlierUs;
  return w;
}

bool InRange(const Filter& f, int64_t t) {
  return (!f.start_us || t >= *f.start_us) && (!f.end_us || t < *f.end_us);
}

// Fields ForwardMerger and the task absorption read.
constexpr uint32_t kCorrelationFields =
    kFieldNode | kFieldUser | kFieldIp | kFieldStatus | kFieldSource | kFieldDetail;

}  // namespace

namespace {

// FindEvents over the whole of `filter`'s range. `shown`, when given, gets
// the number of events in range after the forwarded-pair merge (before the
// limit).
Result<std::vector<Event>> FindInRange(EventStore& store, const Filter& filter, size_t limit,
                                       uint32_t fields, uint64_t* shown) {
  std::deque<Event> out;
  uint64_t n = 0;
  ForwardMerger merger([&](Event&& e) {
    if (!InRange(filter, e.time_us)) return;
    ++n;
    out.push_back(std::move(e));
    if (limit && out.size() > limit) out.pop_front();
  });
  Status st = store.Scan(Widened(filter), fields | kCorrelationFields, [&](const Event& e) {
    merger.Add(e);
    return true;
  });
  if (!st.ok()) return st;
  merger.Finish();
  std::vector<Event> v(std::make_move_iterator(out.begin()), std::make_move_iterator(out.end()));
  DropAbsorbedRequests(&v, &merger.pairs());
  if (shown) *shown = n;
  return v;
}

}  // namespace

Result<std::vector<Event>> FindEvents(EventStore& store, const Filter& filter, size_t limit,
                                      uint32_t fields) {
  if (limit == 0) return FindInRange(store, filter, 0, fields, nullptr);
  // The newest `limit` events: scan only the end of the range, one hour,
  // then 8x more each time, until the window holds `limit` events. The
  // result is the same as a scan of the whole range (every event of the
  // window is newer than every event before it; merges and task joins at
  // the window's start are handled as at an explicit --start), but
  // `pveam access log --limit 20` on a year of events reads a few blocks
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
  auto events = FindEvents(store, filter, limit, fields);
  if (!events.ok()) return events.status();
  for (Event& e : *events)
    if (!emit(std::move(e))) break;
  return Status::OK();
}

Result<std::vector<GroupRow>> CountGroups(EventStore& store, const Filter& filter,
                                          const CountSpec& spec) {
  uint32_t field = kFieldUser;
  switch (spec.group_by) {
    case GroupBy::kUser:
      field = kFieldUser;
      break;
    case GroupBy::kIp:
      field = kFieldIp;
      break;
    case GroupBy::kResource:
      field = kFieldResource;
      break;
    case GroupBy::kAction:
      field = kFieldAction;
      break;
  }
  struct Acc {
    GroupRow best;
    std::deque<int64_t> window;  // times inside the current window
  };
  // Keys are dictionary ids: a vector beats hashing strings per event.
  std::vector<Acc> groups;
  std::vector<std::string> names;
  // A request absorbed by the task it started is the same action, and so
  // is the copy of a forwarded request that the executing node logged:
  // count each once (query/correlator.h). Only requests whose path names a
  // node can be forwarded copies; only they go through the merger.
  // Absorbed requests never failed, so a failures-only count needs no
  // look-up; it keeps the milliseconds of brute-force detection and counts
  // a failed forwarded request on each node that logged it
  // (docs/correlation.md, "Limits").
  std::unordered_set<uint64_t> absorbed;
  std::vector<uint64_t> task_requests;
  if (!(filter.failed && *filter.failed)) {
    ForwardMerger merger([](Event&&) {});
    Status st = store.Scan(Widened(filter), kCorrelationFields, [&](const Event& e) {
      if (uint64_t id = AbsorbedRequestId(e)) {
        if (InRange(filter, e.time_us)) task_requests.push_back(id);
      } else if (!RequestPathNode(e).empty()) {
        merger.Add(e);
      }
      return true;
    });
    if (!st.ok()) return st;
    merger.Finish();
    std::unordered_map<uint64_t, uint64_t> a_of_b;
    for (const auto& [a, b] : merger.pairs()) {
      absorbed.insert(b);
      a_of_b[b] = a;
    }
    for (uint64_t r : task_requests) {
      absorbed.insert(r);                     // and the pair's shown copy, when r is one of a pair
      if (merger.pairs().count(r)) continue;  // r is a: already in
      if (auto it = a_of_b.find(r); it != a_of_b.end()) absorbed.insert(it->second);
    }
  }
  Status st =
      store.ScanKeys(filter, EventField(field), &names, [&](int64_t t, uint32_t key, uint64_t id) {
        if (!absorbed.empty() && absorbed.count(id)) return true;
        if (key >= groups.size()) groups.resize(key + 1);
        Acc& a = groups[key];
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
  for (size_t key = 0; key < groups.size(); ++key) {
    Acc& a = groups[key];
    if (a.best.count < spec.min_count) continue;
    a.best.key = key < names.size() && !names[key].empty() ? names[key] : std::string("-");
    rows.push_back(std::move(a.best));
  }
  std::sort(rows.begin(), rows.end(), [](const GroupRow& x, const GroupRow& y) {
    return x.count != y.count ? x.count > y.count : x.key < y.key;
  });
  return rows;
}

}  // namespace pveaudit

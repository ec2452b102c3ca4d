#include "query/log_query.h"

#include <algorithm>
#include <deque>
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

Result<std::vector<Event>> FindEvents(EventStore& store, const Filter& filter, size_t limit,
                                      uint32_t fields) {
  std::deque<Event> out;
  Status st = store.Scan(filter, fields, [&](const Event& e) {
    out.push_back(e);
    if (limit && out.size() > limit) out.pop_front();
    return true;
  });
  if (!st.ok()) return st;
  std::vector<Event> v(std::make_move_iterator(out.begin()), std::make_move_iterator(out.end()));
  DropAbsorbedRequests(&v);
  return v;
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
  // A request absorbed by the task it started is the same action: count it
  // once (query/correlator.h). Absorbed requests never failed, so a
  // failures-only count needs no look-up.
  std::unordered_set<uint64_t> absorbed;
  if (!(filter.failed && *filter.failed)) {
    Status st = store.Scan(filter, kFieldSource | kFieldDetail, [&](const Event& e) {
      if (uint64_t id = AbsorbedRequestId(e)) absorbed.insert(id);
      return true;
    });
    if (!st.ok()) return st;
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

#include "query/log_stats.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <ctime>
#include <string>
#include <unordered_map>

#include "core/time_spec.h"
#include "query/correlator.h"

namespace pveaudit {
namespace {

constexpr int64_t kSecondUs = 1000000;
constexpr int64_t kHourUs = 3600 * kSecondUs;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Counts `e` in the groups as CountGroups does without a window: value,
// anonymous address, count, first and last time.
void AddToGroup(std::unordered_map<std::string, GroupRow>* rows, const Event& e, GroupBy by) {
  auto [it, added] = rows->try_emplace(GroupKey(e, by));
  GroupRow& r = it->second;
  if (added) {
    r.key = it->first;
    r.value = by == GroupBy::kUser ? e.user : e.ip;
    if (by == GroupBy::kUser && e.user.empty()) r.anonymous_ip = e.ip;
    r.first_us = e.time_us;
  }
  ++r.count;
  r.last_us = e.time_us;
}

void MergeGroups(std::unordered_map<std::string, GroupRow>* into,
                 const std::unordered_map<std::string, GroupRow>& from) {
  for (const auto& [k, r] : from) {
    auto [it, added] = into->try_emplace(k, r);
    if (added) continue;
    GroupRow& g = it->second;
    g.count += r.count;
    g.first_us = std::min(g.first_us, r.first_us);
    g.last_us = std::max(g.last_us, r.last_us);
  }
}

std::vector<GroupRow> Top(const std::unordered_map<std::string, GroupRow>& rows, size_t n) {
  std::vector<GroupRow> out;
  out.reserve(rows.size());
  for (const auto& [k, r] : rows) out.push_back(r);
  // The order of CountGroups: most events first, ties by key.
  std::sort(out.begin(), out.end(), [](const GroupRow& a, const GroupRow& b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  });
  if (n && out.size() > n) out.resize(n);
  return out;
}

LogStats Assemble(const std::vector<const HourStats*>& hours, const std::vector<int64_t>& starts,
                  size_t top) {
  LogStats s;
  std::unordered_map<std::string, GroupRow> users, ips;
  for (size_t i = 0; i < hours.size(); ++i) {
    const HourStats& h = *hours[i];
    if (!h.n.total) continue;
    s.total += h.n.total;
    s.failed += h.n.failed;
    HourCount& out = s.hours[starts[i]];
    out.total += h.n.total;
    out.failed += h.n.failed;
    HourCount& cell = s.heat[h.weekday][h.hour_of_day];
    cell.total += h.n.total;
    cell.failed += h.n.failed;
    MergeGroups(&users, h.users);
    MergeGroups(&ips, h.ips);
  }
  s.top_users = Top(users, top);
  s.top_ips = Top(ips, top);
  return s;
}

// The cache's key: every part of the filter but the time range. (Built
// with append only: GCC 12 warns falsely, -Wrestrict, on "x" + string.)
std::string FilterKey(const Filter& f) {
  std::string k;
  auto add = [&](const std::optional<std::string>& v) {
    if (v) {
      k.append(std::to_string(v->size())).append(":").append(*v);
    } else {
      k.append("-");
    }
    k.append("|");
  };
  add(f.user);
  add(f.action);
  add(f.resource);
  add(f.node);
  k.append(f.tod_start ? std::to_string(*f.tod_start) : "-").append("|");
  k.append(f.tod_end ? std::to_string(*f.tod_end) : "-").append("|");
  k.append(f.failed ? (*f.failed ? "f" : "s") : "-").append("|");
  if (f.ip) {
    k.append(reinterpret_cast<const char*>(f.ip->addr), sizeof f.ip->addr);
    k.append("/").append(std::to_string(f.ip->prefix));
  }
  return k;
}

}  // namespace

int64_t LocalHourStart(int64_t us) {
  const int64_t sec = FloorDiv(us, kSecondUs);
  return (sec - SecondsOfDayLocal(us) % 3600) * kSecondUs;
}

int LocalWeekday(int64_t us) {
  time_t t = time_t(FloorDiv(us, kSecondUs));
  struct tm tm;
  localtime_r(&t, &tm);
  return (tm.tm_wday + 6) % 7;
}

Status AccumulateHours(EventStore& store, const Filter& filter,
                       const std::function<bool(const Event&)>& keep,
                       std::map<int64_t, HourStats>* out) {
  // The current hour's entry, replaced only when an event leaves it (events
  // arrive in time order): localtime_r per event would dominate a pass over
  // millions.
  int64_t cached_hour = INT64_MIN;
  HourStats* cur = nullptr;  // std::map keeps it valid
  const uint32_t fields = keep ? uint32_t(kFieldAll) : uint32_t(kFieldUser | kFieldIp);
  return ForEachEvent(store, filter, 0, fields, [&](Event&& e) {
    if (keep && !keep(e)) return true;
    const int64_t h = LocalHourStart(e.time_us);
    if (h != cached_hour) {
      cached_hour = h;
      auto [it, added] = out->try_emplace(h);
      cur = &it->second;
      if (added) {
        cur->weekday = LocalWeekday(e.time_us);
        cur->hour_of_day = SecondsOfDayLocal(e.time_us) / 3600;
      }
    }
    ++cur->n.total;
    if (e.result == Outcome::kFailure) {
      ++cur->n.failed;
      AddToGroup(&cur->users, e, GroupBy::kUser);
      AddToGroup(&cur->ips, e, GroupBy::kIp);
    }
    return true;
  });
}

Result<LogStats> ComputeLogStats(EventStore& store, const Filter& filter, size_t top,
                                 const std::function<bool(const Event&)>& keep) {
  std::map<int64_t, HourStats> hours;
  Status st = AccumulateHours(store, filter, keep, &hours);
  if (!st.ok()) return st;
  std::vector<const HourStats*> ptrs;
  std::vector<int64_t> starts;
  for (const auto& [h, v] : hours) {
    ptrs.push_back(&v);
    starts.push_back(h);
  }
  return Assemble(ptrs, starts, top);
}

void StatsCache::Clear() {
  entries_.clear();
  seen_id_ = 0;
  events_ = 0;
}

Status StatsCache::Sync(EventStore& store, const StoreInfo& info) {
  // A store that shrank or was replaced: nothing cached holds.
  if (info.last_id < seen_id_ || info.events < events_) Clear();
  if (info.last_id == seen_id_) {
    if (info.events != events_) Clear();
    events_ = info.events;
    seen_id_ = info.last_id;
    return Status::OK();
  }
  if (entries_.empty() || info.last_id - seen_id_ > kMaxNewLines) {
    Clear();
    seen_id_ = info.last_id;
    events_ = info.events;
    return Status::OK();
  }
  // Each new line can change the joined events within the views' margin
  // around it (a late line joins one stored before it): those hours are
  // counted again.
  std::vector<int64_t> stale;
  uint64_t n = 0, after = seen_id_;
  while (after < info.last_id) {
    uint64_t before = after;
    Status st = store.ScanAfter(after, 10000, 0, [&](Event& e) {
      after = e.id;
      if (e.id > info.last_id) return false;
      ++n;
      for (int64_t h = LocalHourStart(e.time_us - kViewMarginUs);
           h <= LocalHourStart(e.time_us + kViewMarginUs); h += kHourUs)
        stale.push_back(h);
      return true;
    });
    if (!st.ok()) return st;
    if (after == before) break;
  }
  std::sort(stale.begin(), stale.end());
  stale.erase(std::unique(stale.begin(), stale.end()), stale.end());
  for (auto& [k, en] : entries_)
    for (int64_t h : stale) en.hours.erase(h);
  // Lines removed meanwhile (not by this store's API today): start over.
  if (info.events != events_ + n) Clear();
  seen_id_ = info.last_id;
  events_ = info.events;
  return Status::OK();
}

Result<LogStats> StatsCache::Compute(EventStore& store, const Filter& f, size_t top) {
  std::lock_guard<std::mutex> lock(mu_);
  auto info = store.Info();
  if (!info.ok()) return info.status();
  Status st = Sync(store, *info);
  if (!st.ok()) return st;
  if (info->events == 0) return LogStats{};
  // No events lie outside [first hour, end of the last hour).
  const int64_t first = LocalHourStart(info->first_time_us);
  const int64_t end = LocalHourStart(info->last_time_us) + kHourUs;
  const int64_t lo = std::max(f.start_us.value_or(first), first);
  const int64_t hi = std::min(f.end_us.value_or(end), end);
  if (lo >= hi) return LogStats{};
  // Whole hours [a, b) come from the cache; the parts of an hour at either
  // end of the range are counted directly.
  const int64_t a = LocalHourStart(lo) == lo ? lo : LocalHourStart(lo) + kHourUs;
  const int64_t b = std::max(a, LocalHourStart(hi));
  size_t held = 0;
  for (const auto& [k, e] : entries_) held += e.hours.size();
  if ((entries_.size() >= kMaxEntries && !entries_.count(FilterKey(f))) || held > kMaxHours)
    entries_.clear();
  Entry& en = entries_[FilterKey(f)];
  std::map<int64_t, HourStats> edges;
  auto count = [&](int64_t from, int64_t to, std::map<int64_t, HourStats>* into) {
    Filter g = f;
    g.start_us = from;
    g.end_us = to;
    return AccumulateHours(store, g, {}, into);
  };
  if (a >= hi) {
    st = count(lo, hi, &edges);
    if (!st.ok()) return st;
  } else {
    if (lo < a && !(st = count(lo, a, &edges)).ok()) return st;
    if (b < hi && !(st = count(b, hi, &edges)).ok()) return st;
    // Runs of hours not cached, each counted in one pass.
    for (int64_t h = a; h < b;) {
      if (en.hours.count(h)) {
        h += kHourUs;
        continue;
      }
      int64_t run = h;
      while (run < b && !en.hours.count(run)) run += kHourUs;
      std::map<int64_t, HourStats> got;
      if (!(st = count(h, run, &got)).ok()) return st;
      for (int64_t x = h; x < run; x += kHourUs) {
        auto it = got.find(x);
        en.hours[x] = it == got.end() ? HourStats{} : std::move(it->second);
      }
      h = run;
    }
  }
  std::vector<const HourStats*> ptrs;
  std::vector<int64_t> starts;
  auto edge = edges.begin();
  auto take_edges_before = [&](int64_t limit) {
    for (; edge != edges.end() && edge->first < limit; ++edge) {
      ptrs.push_back(&edge->second);
      starts.push_back(edge->first);
    }
  };
  if (a < hi) {
    for (auto it = en.hours.lower_bound(a); it != en.hours.end() && it->first < b; ++it) {
      take_edges_before(it->first + 1);
      ptrs.push_back(&it->second);
      starts.push_back(it->first);
    }
  }
  take_edges_before(INT64_MAX);
  return Assemble(ptrs, starts, top);
}

}  // namespace pveaudit

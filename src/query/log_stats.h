// log_stats.h
// The numbers behind the web UI's charts (GET /api2/json/audit/stats):
// events per hour with the failures among them, an hour x weekday heat
// map, and the users and source addresses with the most failures. They
// count the events `pveam access log` lists for the same Filter (the joined
// events of query/correlator.h), in one streamed pass, so a chart's bar
// equals the CLI's count for that hour.
// Thread safety: uses the given store from the calling thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/filter.h"
#include "core/status.h"
#include "query/log_query.h"
#include "store/event_store.h"

namespace pveaudit {

struct HourCount {
  uint64_t total = 0, failed = 0;
};

struct LogStats {
  uint64_t total = 0, failed = 0;
  // Keyed by the start of the hour in the cluster zone (UTC microseconds):
  // only hours with events.
  std::map<int64_t, HourCount> hours;
  // [weekday 0 = Monday .. 6 = Sunday][hour of day 0..23], cluster zone.
  std::array<std::array<HourCount, 24>, 7> heat{};
  // Failures grouped as `pveam access log --failed 1 --count 1 --group-by
  // user|ip` groups them (GroupKey): most first, ties by key; at most
  // `top` rows each.
  std::vector<GroupRow> top_users, top_ips;
};

// The start of the cluster-zone hour holding `us` (a zone with a
// half-hour offset starts its hours at :30 UTC).
int64_t LocalHourStart(int64_t us);

// Weekday of `us` in the cluster zone, 0 = Monday .. 6 = Sunday.
int LocalWeekday(int64_t us);

// `keep`, when set, leaves out the events it returns false for (the API
// counts only what its caller may see).
Result<LogStats> ComputeLogStats(EventStore& store, const Filter& filter, size_t top,
                                 const std::function<bool(const Event&)>& keep = {});

// What one hour contributes to the charts.
struct HourStats {
  HourCount n;
  int weekday = 0, hour_of_day = 0;                      // cluster zone
  std::unordered_map<std::string, GroupRow> users, ips;  // failures, by GroupKey
};

// The events of `filter`, one entry per cluster-zone hour that has any.
Status AccumulateHours(EventStore& store, const Filter& filter,
                       const std::function<bool(const Event&)>& keep,
                       std::map<int64_t, HourStats>* out);

// ComputeLogStats for a caller who sees every event, with the whole hours
// of each filter kept between calls: a chart asked for again counts only
// the hours that stored lines changed since. Before each answer the lines
// appended since the last call are read (ScanAfter, by id) and every hour
// within the views' margin (kViewMarginUs) of one of them is counted again,
// so a late line that joins an older one is seen; the parts of an hour at
// either end of the range are always counted. A store whose line count
// does not add up (replaced, pruned) empties the cache. Equal to
// ComputeLogStats(store, f, top) for the store as it is at the call.
// Thread safety: one call at a time (a mutex); one cache per store.
class StatsCache {
 public:
  Result<LogStats> Compute(EventStore& store, const Filter& f, size_t top);

 private:
  struct Entry {
    std::map<int64_t, HourStats> hours;  // every whole hour counted, also empty ones
  };
  // Beyond these, start over rather than read or keep more.
  static constexpr uint64_t kMaxNewLines = 200000;
  static constexpr size_t kMaxEntries = 16;
  // About 200 bytes each: ten years of hours in two or three filters.
  static constexpr size_t kMaxHours = 250000;
  Status Sync(EventStore& store, const StoreInfo& info);
  void Clear();
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // by FilterKey
  uint64_t seen_id_ = 0, events_ = 0;
};

}  // namespace pveaudit

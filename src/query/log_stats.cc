#include "query/log_stats.h"

#include <algorithm>
#include <climits>
#include <ctime>
#include <string>
#include <unordered_map>

#include "core/time_spec.h"

namespace pveaudit {
namespace {

constexpr int64_t kSecondUs = 1000000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Groups as CountGroups does without a window: value, anonymous address,
// count, first and last time.
struct Groups {
  GroupBy by;
  std::unordered_map<std::string, GroupRow> rows;
  void Add(const Event& e) {
    auto [it, added] = rows.try_emplace(GroupKey(e, by));
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
  std::vector<GroupRow> Top(size_t n) const {
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
};

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

Result<LogStats> ComputeLogStats(EventStore& store, const Filter& filter, size_t top,
                                 const std::function<bool(const Event&)>& keep) {
  LogStats s;
  Groups users{GroupBy::kUser, {}}, ips{GroupBy::kIp, {}};
  // Weekday and hour of the current local hour, recomputed only when an
  // event leaves it (events arrive in time order): localtime_r per event
  // would dominate a pass over millions.
  int64_t cached_hour = INT64_MIN;
  int cached_day = 0, cached_hod = 0;
  HourCount* cur = nullptr;  // set by the first event (std::map keeps it valid)
  const uint32_t fields = keep ? uint32_t(kFieldAll) : uint32_t(kFieldUser | kFieldIp);
  Status st = ForEachEvent(store, filter, 0, fields, [&](Event&& e) {
    if (keep && !keep(e)) return true;
    const int64_t h = LocalHourStart(e.time_us);
    if (h != cached_hour) {
      cached_hour = h;
      cached_day = LocalWeekday(e.time_us);
      cached_hod = SecondsOfDayLocal(e.time_us) / 3600;
      cur = &s.hours[h];
    }
    const bool failed = e.result == Outcome::kFailure;
    ++s.total;
    ++cur->total;
    HourCount& cell = s.heat[cached_day][cached_hod];
    ++cell.total;
    if (failed) {
      ++s.failed;
      ++cur->failed;
      ++cell.failed;
      users.Add(e);
      ips.Add(e);
    }
    return true;
  });
  if (!st.ok()) return st;
  s.top_users = users.Top(top);
  s.top_ips = ips.Top(top);
  return s;
}

}  // namespace pveaudit

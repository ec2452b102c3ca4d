// log_query.h
// The query behind `pveam access log`: events matching a Filter, or, with
// --count, the groups (by user, IP, resource or action) that reach a
// threshold, optionally within a sliding window (--hour), like fail2ban's
// maxretry/findtime and Wazuh's frequency/timeframe.
// Thread safety: functions use the given store from the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/filter.h"
#include "core/status.h"
#include "store/event_store.h"

namespace pveaudit {

enum class GroupBy { kUser, kIp, kResource, kAction };

// Parses "user", "ip", "resource", "action".
bool ParseGroupBy(const std::string& s, GroupBy* out);
const char* GroupByName(GroupBy g);

struct CountSpec {
  uint64_t min_count = 1;
  std::optional<int64_t> window_us;  // sliding window length; none = whole range
  GroupBy group_by = GroupBy::kUser;
};

struct GroupRow {
  std::string key;
  uint64_t count = 0;                 // with a window: the most events in any one window
  int64_t first_us = 0, last_us = 0;  // of that window (or of all matches)
};

// Matching events in time order. `limit` 0 = all; otherwise the newest
// `limit` events (still printed oldest first, like `journalctl -n`). An
// access.log request absorbed by the task it started (query/correlator.h)
// is shown once, as the task event that carries its IP and request; a
// request forwarded between nodes is shown once, as the forwarding node's
// copy (ForwardMerger). Fills at least the fields the correlation reads.
// With a limit only the end of the range is read: a window of one hour,
// then 8x longer until it holds `limit` events (same result as a full scan).
Result<std::vector<Event>> FindEvents(EventStore& store, const Filter& filter, size_t limit,
                                      uint32_t fields = kFieldAll);

// The events FindEvents returns, in the same order, handed to `emit` one at
// a time (`emit` returns false to stop early, e.g. at a closed pipe), so a
// caller can print them without holding them all.
Status ForEachEvent(EventStore& store, const Filter& filter, size_t limit, uint32_t fields,
                    const std::function<bool(Event&&)>& emit);

// Groups with at least spec.min_count matching events, most events first
// (ties by key). Events whose group key is empty (e.g. no user) form the
// group "-". Absorbed requests and forwarded copies are counted once, except
// with filter.failed == true (docs/correlation.md, "Limits").
Result<std::vector<GroupRow>> CountGroups(EventStore& store, const Filter& filter,
                                          const CountSpec& spec);

}  // namespace pveaudit

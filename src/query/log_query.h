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
  std::string key;  // GroupKey: the label text output shows ("-", "- (192.0.2.12)")
  // The group's value in machine formats: the user, IP, resource or action,
  // "" when the events have none; and, for an anonymous group of --group-by
  // user, its address ("" otherwise).
  std::string value, anonymous_ip;
  uint64_t count = 0;                 // with a window: the most events in any one window
  int64_t first_us = 0, last_us = 0;  // of that window (or of all matches)
};

// Matching events in time order, one per action: the views of
// query/correlator.h (EventView) join the evidence of one action (a task
// and its request, a forwarded request's two copies, a failed login's auth
// line and ticket request, a config change and its request, a task's
// active and index lines) before the filter is applied to the joined event,
// so a VM create is found by --resource /vms/299 and by the client's --ip.
// `limit` 0 = all; otherwise the newest `limit` events (still printed oldest
// first, like `journalctl -n`). Fills at least the fields the views read.
// With a limit only the end of the range is read: a window of one hour,
// then 8x longer until it holds `limit` events (same result as a full scan).
// Whether a joined event (as the views emit it) matches the whole of `f`,
// as `pveam access log` decides it: a request that names another node in
// its path matches that node too (it ran there). The alert rules match
// with it as well.
bool MatchesFilter(const Filter& f, const Event& e);

Result<std::vector<Event>> FindEvents(EventStore& store, const Filter& filter, size_t limit,
                                      uint32_t fields = kFieldAll);

// The events FindEvents returns, in the same order, handed to `emit` one at
// a time (`emit` returns false to stop early, e.g. at a closed pipe). With
// `limit` 0 it streams: memory is bounded by the views' time window
// (kViewHoldUs of events), not by the number of events; with a limit it
// holds the `limit` newest.
Status ForEachEvent(EventStore& store, const Filter& filter, size_t limit, uint32_t fields,
                    const std::function<bool(Event&&)>& emit);

// The group an event counts in: the user, the IP, the resource or the
// action; "-" when empty, except that an event without user is grouped by
// its address, "- (192.0.2.12)" (an anonymous request, a failed openid
// login), so that anonymous failures from one address show as one group
// and never as a user named "-".
std::string GroupKey(const Event& e, GroupBy g);

// Groups with at least spec.min_count matching events, most events first
// (ties by key). Counts the events FindEvents lists with the same filter
// (the same views), grouped by GroupKey.
// `keep`, when set, leaves out the events it returns false for (the
// HTTPS API counts only the events its caller may see).
Result<std::vector<GroupRow>> CountGroups(EventStore& store, const Filter& filter,
                                          const CountSpec& spec,
                                          const std::function<bool(const Event&)>& keep = {});

}  // namespace pveaudit

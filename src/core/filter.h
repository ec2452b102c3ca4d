// filter.h
// Filter is the parsed form of a `pveam access log` query: every field is
// optional and all present fields must match (AND). Values keep the user's
// spelling; the query module resolves them against the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/status.h"

namespace pveaudit {

struct IpRange {
  // Network address in 16 bytes (IPv4 as v4-mapped), and prefix length 0..128.
  unsigned char addr[16] = {};
  int prefix = 128;
};

struct Filter {
  std::optional<std::string> user;      // exact "alice@pve" or token id
  std::optional<int64_t> start_us;      // inclusive
  std::optional<int64_t> end_us;        // exclusive
  std::optional<int> tod_start;         // seconds of day, cluster-local, inclusive
  std::optional<int> tod_end;           // exclusive; tod_start > tod_end wraps midnight
  std::optional<std::string> action;    // exact, object prefix or class (ActionMatches)
  std::optional<std::string> resource;  // ACL path; selects its subtree
  std::optional<bool> failed;           // true: failures only; false: non-failures
  std::optional<IpRange> ip;
  std::optional<std::string> node;
  // For the views' side reads (query/log_query.cc), not a user's query:
  // when not empty, only events whose time lies in one of these half-open
  // [from, to) windows, ascending and disjoint. The store skips blocks and
  // rows outside them before it reads their other columns.
  std::vector<std::pair<int64_t, int64_t>> windows;
};

// True when `windows` (as in Filter) is empty or one of them holds `t`.
bool InWindows(const std::vector<std::pair<int64_t, int64_t>>& windows, int64_t t);
// True when `windows` is empty or one of them overlaps [lo, hi] (inclusive).
bool WindowsOverlap(const std::vector<std::pair<int64_t, int64_t>>& windows, int64_t lo,
                    int64_t hi);

// Parses "192.0.2.5", "192.0.2.0/24", "2001:db8::/32". False on bad text.
bool ParseIpRange(const std::string& text, IpRange* out);
// True when canonical address text `ip` lies in `range`.
bool IpInRange(const std::string& ip, const IpRange& range);
// True when ACL path `path` equals `prefix` or lies below it ("/vms" covers
// "/vms/100", not "/vmsx"); "/" covers everything.
bool ResourceCovers(const std::string& prefix, const std::string& path);

// One entry of a data scope ([compliance.hipaa] phi, [compliance.sox]
// data) as the ACL path it names: "pool:ehr" -> "/pool/ehr",
// "storage:tank" -> "/storage/tank", "vm:120" -> "/vms/120"; the paths
// "/vms/120", "/pool/ehr" and "/storage/tank" as they are. A guest id is
// 100..999999999 as in Proxmox; pool and storage ids are letters, digits,
// '-', '_' and '.'. InvalidArgument naming `entry` for anything else.
Result<std::string> ParseDataScope(std::string_view entry);

// Whether stored event `e` matches `f`, every field taken as stored: an
// empty resource or address matches no resource or range filter, an
// action filter is ActionMatches, times of day are in the cluster's zone.
// What a store returns for `f` (the PostgreSQL store applies it to each
// row; SQLite the same through its dictionaries). The view also counts a
// request whose path names the filtered node as that node's
// (MatchesFilter, query/log_query.h).
bool MatchesStoredEvent(const Filter& f, const Event& e);

}  // namespace pveaudit

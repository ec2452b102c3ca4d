// model.h
// What the access-control reports share: options (the time reference and
// thresholds), the facts read from the event store (last login, failed
// logins, sessions, activity, shared-looking use), and an index over the
// ACLs that yields every principal's effective roles on every ACL path
// without evaluating the whole (principal x path) product (a path can only
// change a principal's roles when an entry there names it, one of its
// groups or, for tokens, the token).
// Thread safety: value types; functions use the given store from the
// calling thread. AclIndex's const methods may be called from several
// threads (the reports compute permission lists in parallel).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "pve/access_config.h"
#include "pve/permissions.h"
#include "store/event_store.h"

namespace pveaudit::report {

constexpr int64_t kDayUs = 86400LL * 1000000;

struct ReportOptions {
  int64_t now_us = 0;                      // time reference (--now)
  int64_t failed_window_us = 30 * kDayUs;  // "failed logins in the last 30 days"
  int64_t inactive_us = 90 * kDayUs;       // "inactive for 90+ days"
  // Shared-looking account: >= shared_ips distinct source IPs within any
  // shared_window_us, in [period_start_us, period_end_us).
  int shared_ips = 3;
  int64_t shared_window_us = 3600LL * 1000000;
  int64_t period_start_us = 0, period_end_us = 0;  // 0/0: no shared-account scan
  std::vector<std::string> trusted_ips;            // CIDRs ignored (cluster nodes)
};

struct UserActivity {
  int64_t last_login_us = 0;  // newest successful login; 0 = none in the store
  std::string last_login_ip;  // its address (or the first address the user used right after)
  int64_t failed_recent = 0;  // failed logins in [now - failed_window, now)
  int64_t active_sessions = 0;
  int64_t last_seen_us = 0;  // newest event of any kind in [now - inactive, now)
  // Shared-looking use: the most distinct IPs seen within one window.
  size_t max_ips = 0;
  int64_t max_ips_from_us = 0, max_ips_to_us = 0;
  std::vector<std::string> max_ips_list;
};

struct StoreFacts {
  bool available = false;             // false: no store; every activity cell unknown
  std::string note;                   // why not (e.g. "no event store at DIR: last login unknown")
  int64_t first_us = 0, last_us = 0;  // time range of the store's events
  std::map<std::string, UserActivity> users;  // by userid / token id
};

// Reads the activity facts for `opt` from `store` (null = no store: returns
// available=false with `missing_note`).
Result<StoreFacts> CollectStoreFacts(EventStore* store, const ReportOptions& opt,
                                     const std::string& missing_note);

using RoleSet = std::map<std::string, bool>;  // role -> propagate
using PrivSet = std::map<std::string, bool>;  // privilege -> propagate

// pve::EffectiveRoles / pve::EffectivePrivileges answered by
// pve::PermissionIndex (the ACL tree built once, one walk per principal)
// instead of rebuilding the tree per call. report_test checks both agree on
// every principal and path of the fixtures and of generated configs.
// REQUIRES: normalised paths.
class PermissionIndex {
 public:
  explicit PermissionIndex(const pve::PveConfig& cfg) : index_(cfg) {}
  RoleSet EffectiveRoles(const std::string& principal, const std::string& path) const {
    return index_.EffectiveRoles(principal, path);
  }
  PrivSet EffectivePrivileges(const std::string& principal, const std::string& path) const {
    return index_.EffectivePrivileges(principal, path);
  }
  // Member path -> roles `principal` gets there from pool ACLs.
  std::map<std::string, std::set<std::string>> PoolRoles(const std::string& principal) const;
  const pve::PermissionIndex& engine() const { return index_; }

 private:
  pve::PermissionIndex index_;
};

// Index of the ACL entries by path and principal. The paths are "/", the
// ACL paths and the pool member paths (with or without ACL entries of their
// own: pool roles are decided there).
class AclIndex {
 public:
  explicit AclIndex(const pve::PveConfig& cfg);

  // "/", every ACL path and every pool member path, parents before children.
  const std::vector<std::string>& paths() const { return engine().paths(); }
  // Index in paths() of the nearest proper ancestor in paths(), or -1 for "/".
  const std::vector<int>& parent() const { return engine().parent(); }
  // Indexes in paths() where the principal's roles are decided: "/", paths
  // whose entries name the user or one of its groups (a privilege-separated
  // token: the token; other tokens: their user's), and pool member paths
  // where it gets pool roles. Everywhere else it has what the nearest
  // candidate ancestor passes down.
  std::vector<int> CandidateIndexes(const std::string& principal) const;

  struct Decided {
    int path = 0;   // index in paths()
    RoleSet roles;  // effective roles on that path
    RoleSet below;  // what paths below it without a candidate of their own get
  };
  // The principal's roles on each candidate path and what they pass down.
  std::vector<Decided> DecidedRoles(const std::string& principal) const;
  // Indexes of ACL entries (cfg.access.acls) that name `principal` directly.
  const std::vector<size_t>& EntriesOf(pve::PrincipalType type, const std::string& name) const;

  // Effective roles of `principal` on every path in paths() (empty maps for
  // paths where it has none).
  std::vector<RoleSet> RolesOnAllPaths(const std::string& principal) const;

  // The compact permission list of the user report: "PATH: ROLE, ROLE" for
  // "/" and each path where the roles differ from what the nearest listed
  // ancestor passes down; roles that do not propagate are marked
  // "(this path only)". Entries are joined with "; ".
  std::string CompactPermissions(const std::string& principal) const;

  PermissionIndex& permissions() { return perms_; }
  const pve::PermissionIndex& engine() const { return perms_.engine(); }
  // True for paths()[i] that are a pool member path (/vms/ID, /storage/ID).
  bool IsPoolMember(size_t i) const { return engine().IsPoolMember(i); }

 private:
  const pve::PveConfig& cfg_;
  PermissionIndex perms_;
  // (type, name) -> acls; built on the first EntriesOf call.
  mutable std::once_flag entries_once_;
  mutable std::map<std::pair<int, std::string>, std::vector<size_t>> entries_;
};

// Comparison that sorts ACL paths parents first ("/vms" < "/vms/100" <
// "/vms-x").
bool PathLess(const std::string& a, const std::string& b);

// "alice@pve" -> "pve"; "alice@pve!ci" -> "pve".
std::string RealmOf(const std::string& userid);

// Privileges of a role set (union; NoAccess = none), sorted.
std::set<std::string> PrivilegesOfRoles(const pve::PveConfig& cfg,
                                        const std::map<std::string, bool>& roles);

std::string Join(const std::vector<std::string>& v, const std::string& sep);
std::string Join(const std::set<std::string>& v, const std::string& sep);

// "2026-01-31" (UTC) for an epoch-seconds expiry; "" for 0 (never).
std::string ExpireDate(int64_t expire_s);
// Expired at `now_us`: expire set and in the past (Proxmox: expire < now).
bool Expired(int64_t expire_s, int64_t now_us);

}  // namespace pveaudit::report

// config_diff.h
// Access-control changes as events. Proxmox writes no log record with the
// content of an ACL, user, group, role, token, TFA or realm change (the
// access.log line has no body), so pveaudit compares successive snapshots
// of user.cfg, priv/tfa.cfg and domains.cfg:
//  - DiffPveConfig turns two PveConfig models into one Event per atomic
//    change (acl:modify, user:create, tfa:add, realm:modify, ...);
//  - Serialize/ParseDiffSnapshot keep the audit-relevant part of a model
//    (never a secret) as JSON, so the daemon can persist it in the store and
//    see changes made while it was not running;
// Who made a change is not known here: the events are stored without actor,
// and the query views (query/correlator.h) join each with the access.log
// request that made it (PUT /access/acl, POST /access/users, ...).
// docs/config-changes.md describes the detail format and the rules.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "pve/access_config.h"

namespace pveaudit::pve {

// Event.source of every change event.
inline constexpr std::string_view kConfigChangeSource = "pve-config";

// One event per atomic change from `before` to `after`, in a deterministic
// order: user.cfg (users, tokens, groups, roles, pools, ACLs), then
// priv/tfa.cfg (factors by user, lock state), then domains.cfg (realms,
// realm-enforced TFA); within a kind by id. Every event has time `now_us`,
// node `node`, result success, status "changed", source "pve-config",
// origin the file (after.dir + "/user.cfg", ...), empty user and ip, and a
// detail such as
//   "added: acl path=/vms/100 principal=@ops role=PVEVMUser propagate=1"
//   "modified: user alice@pve: enable 1 -> 0, groups admins,ops -> ops"
// Built-in roles are not compared. Secrets never appear (TFA factors are
// named by type and id; legacy `keys` by KeysSummary).
std::vector<Event> DiffPveConfig(const PveConfig& before, const PveConfig& after, int64_t now_us,
                                 const std::string& node);

// The legacy user.cfg `keys` field without secrets: "" , "x", "x!oath" as
// written, anything else (legacy Yubico ids / TOTP secrets) as
// "legacy(N)" (N keys). Idempotent.
std::string KeysSummary(std::string_view keys);

// A persisted snapshot: the audit-relevant part of a PveConfig (users,
// tokens, groups, non-built-in roles, ACLs, pools, TFA factors and lock
// state, realms), the directory it was read from and when it was taken.
struct DiffSnapshot {
  PveConfig config;      // inventory and warnings are not kept
  int64_t taken_us = 0;  // when the daemon read the files
};

// Canonical JSON (same model, same text); `keys` is stored as KeysSummary.
std::string SerializeDiffSnapshot(const PveConfig& cfg, int64_t taken_us);
// Inverse of SerializeDiffSnapshot. Corruption on anything else.
Result<DiffSnapshot> ParseDiffSnapshot(std::string_view json);

// A short stable id (16 hex digits) of the change from snapshot text
// `before` to `after`, written into each change event's detail
// ("; change <id>") so a restarted daemon can tell whether a change set
// was already stored.
std::string ChangeId(std::string_view before, std::string_view after);

}  // namespace pveaudit::pve

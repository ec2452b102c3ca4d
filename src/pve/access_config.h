// access_config.h
// The Proxmox VE access-control model as the cluster's own files define it:
// user.cfg (users, tokens, groups, roles, ACLs, pools), priv/tfa.cfg (which
// second factors exist and are enabled; never secrets), domains.cfg
// (realms and realm-enforced TFA), plus the guest and storage inventory
// (nodes/*/qemu-server/*.conf, nodes/*/lxc/*.conf, storage.cfg) used to
// find orphaned permissions. Parsing follows pve-access-control's
// parse_user_config exactly, including what it ignores (each ignored line
// is reported as a ConfigWarning with file:line and the reason Proxmox
// would give). Reports, reviews and the daemon's config-diff watcher all
// read the model through this header.
// Thread safety: value types; functions are pure.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace pveaudit::pve {

struct ConfigWarning {
  std::string file;
  int line = 0;
  std::string message;  // e.g. "ignore invalid acl role 'Foo'"
};

struct User {
  std::string userid;  // "alice@pve"
  bool enabled = true;
  int64_t expire = 0;                               // epoch seconds; 0 = never
  std::string firstname, lastname, email, comment;  // decoded (URI-unescaped)
  std::string keys;                                 // legacy TFA field, as written
  std::vector<std::string> groups;                  // groups that list this user, sorted
};

struct Token {
  std::string tokenid;  // "alice@pve!ci"
  std::string userid;   // "alice@pve"
  int64_t expire = 0;
  bool privsep = true;
  std::string comment;
};

struct Group {
  std::string name;
  // Valid userids as listed, first occurrence order. As in Proxmox, a user
  // not defined (yet) where the group line is gets a warning but stays a
  // member: a user defined on a later line is in the group.
  std::vector<std::string> members;
  std::string comment;
};

struct Role {
  std::string name;
  std::set<std::string> privs;
  bool builtin = false;
};

enum class PrincipalType { kUser, kGroup, kToken };
// "user", "group", "token".
std::string_view PrincipalTypeName(PrincipalType t);

struct Acl {
  std::string path;  // normalised ("/vms/100")
  bool propagate = true;
  PrincipalType type = PrincipalType::kUser;
  std::string principal;  // userid, group name (without '@') or token id
  std::string role;
  int line = 0;  // user.cfg line it came from
};

struct Pool {
  std::string id;
  std::string comment;
  std::vector<int> vms;
  std::vector<std::string> storages;
};

struct AccessConfig {
  std::map<std::string, User> users;
  std::map<std::string, Token> tokens;
  std::map<std::string, Group> groups;
  std::map<std::string, Role> roles;  // built-in roles included
  std::vector<Acl> acls;              // one entry per (path, principal, role)
  std::map<std::string, Pool> pools;
  std::vector<ConfigWarning> warnings;
};

// The built-in roles of the current Proxmox VE release and every valid
// privilege (reference: pve-access-control create_roles / $privgroups).
const std::map<std::string, std::set<std::string>>& BuiltinRoles();
const std::set<std::string>& AllPrivileges();

// Parses user.cfg text. Never fails on content: what Proxmox would ignore
// is ignored and reported in warnings. `file` names the file in warnings.
AccessConfig ParseUserCfg(std::string_view text, const std::string& file);

struct TfaFactor {
  std::string type;  // "totp", "webauthn", "u2f", "yubico", "recovery", "oath"
  std::string id;
  std::string description;
  bool enabled = true;
  int64_t created = 0;
};

struct TfaConfig {
  std::map<std::string, std::vector<TfaFactor>> users;  // userid -> factors
  std::set<std::string> locked;                         // users with TOTP/TFA locked
  std::vector<ConfigWarning> warnings;
};

// Parses priv/tfa.cfg: the current JSON format or the old
// "USER:TYPE:base64" lines. Secrets are never kept. Corruption when the
// file is neither (as Proxmox: "neither old style nor valid json").
Result<TfaConfig> ParseTfaCfg(std::string_view text, const std::string& file);

struct Realm {
  std::string name;     // "pve", "pam", "corp"
  std::string type;     // "pve", "pam", "ldap", "ad", "openid"
  std::string comment;  // decoded
  bool is_default = false;
  std::string tfa_type;  // realm-enforced TFA ("oath", "yubico") or ""
};

// Parses domains.cfg (section config). pam and pve always exist. Sections
// and lines Proxmox would skip are skipped and, with `warnings`, reported
// there (file:line and the reason).
Result<std::map<std::string, Realm>> ParseDomainsCfg(
    std::string_view text, const std::string& file, std::vector<ConfigWarning>* warnings = nullptr);

struct Inventory {
  std::map<int, std::string> guests;  // vmid -> "qemu"/"lxc"
  std::map<int, std::string> guest_node;
  std::set<std::string> storages;
};

// The whole file, or NotFound (ENOENT) / IOError naming the path and errno.
Result<std::string> ReadWholeFile(const std::string& path);

// The whole model read from a Proxmox config dir (default /etc/pve).
struct PveConfig {
  std::string dir;
  AccessConfig access;
  TfaConfig tfa;
  std::map<std::string, Realm> realms;
  Inventory inventory;
  std::vector<ConfigWarning> warnings;  // all files' warnings
};

// Reads user.cfg (required), priv/tfa.cfg, domains.cfg, storage.cfg and the
// guest configs (optional: absent means empty, noted in warnings). A
// missing or unreadable user.cfg is an error naming the file, never an
// empty model presented as complete.
Result<PveConfig> LoadPveConfig(const std::string& dir);

// "2FA status" of a user: enabled factor types, or enforced by the realm.
struct TfaStatus {
  std::vector<std::string> types;  // enabled factor types, sorted, unique
  bool realm_enforced = false;
  std::string realm_type;
  bool any() const { return !types.empty() || realm_enforced; }
};
TfaStatus UserTfaStatus(const PveConfig& cfg, const std::string& userid);

}  // namespace pveaudit::pve

// permissions.h
// Effective permissions with Proxmox VE's rules (pve-access-control
// PVE::AccessControl::roles and PVE::RPCEnvironment::permissions):
//  - root@pam is Administrator everywhere;
//  - walking from "/" down to the path, at each level token entries beat
//    user entries beat group entries, and a deeper level replaces what was
//    inherited; an entry applies at a level only if it is on the final path
//    or propagates;
//  - NoAccess in the final set wins;
//  - pool ACLs add roles on their member /vms/ID and /storage/ID paths, and a
//    pool NoAccess trumps (but a regular NoAccess is never lifted by a pool);
//  - non-privsep tokens have their user's permissions; privilege-separated
//    tokens the intersection of their own and their user's;
//  - disabled or expired users and tokens still *hold* their ACLs (reports
//    show that separately); unknown privileges in custom roles are dropped.
// Thread safety: pure functions of the model.
#pragma once

#include <map>
#include <set>
#include <string>

#include "pve/access_config.h"

namespace pveaudit::pve {

// Roles of `principal` (userid or token id) on `path`: role -> propagate.
std::map<std::string, bool> EffectiveRoles(const PveConfig& cfg, const std::string& principal,
                                           const std::string& path);

// Privileges on `path`: privilege -> propagate (as `pveum user permissions`
// prints 0/1).
std::map<std::string, bool> EffectivePrivileges(const PveConfig& cfg, const std::string& principal,
                                                const std::string& path);

// Like `pveum user permissions USERID`: every path that has ACL entries or
// is a pool member path, and the privileges there. With `only_path`, just
// that path.
std::map<std::string, std::map<std::string, bool>> PermissionTree(
    const PveConfig& cfg, const std::string& principal, const std::string& only_path = "");

}  // namespace pveaudit::pve

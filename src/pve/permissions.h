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

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pve/access_config.h"

namespace pveaudit::pve {

// Orders ACL paths parents first, then siblings: "/vms" < "/vms/100" <
// "/vms-x" (a depth-first walk of the path tree).
bool PathParentsFirst(const std::string& a, const std::string& b);

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

// The same rules for many questions: the ACL tree is built once, and one
// walk over the paths that name a principal (or one of its groups) decides
// its roles on every ACL path. Reports ask millions of (principal, path)
// questions; each of the functions above rebuilds the tree per call.
// Thread safety: const methods may be called from several threads.
class PermissionIndex {
 public:
  // Roles as interned ids, sorted by id; ids are assigned in name order,
  // so the order equals std::map<std::string, bool>'s.
  using RoleIds = std::vector<std::pair<int, bool>>;  // (role id, propagate)

  explicit PermissionIndex(const PveConfig& cfg);

  // "/", every ACL path and every pool member path (/vms/ID, /storage/ID,
  // ACL or not), parents first (PathLess order: a depth-first walk of the
  // tree).
  const std::vector<std::string>& paths() const { return paths_; }
  // Index in paths() of the nearest proper ancestor in paths(); -1 for "/".
  const std::vector<int>& parent() const { return parent_; }
  // One past the last index of paths()[i]'s subtree.
  const std::vector<int>& subtree_end() const { return end_; }
  // Index of `path` in paths(), or -1.
  int PathIndex(const std::string& path) const;
  const std::string& RoleName(int id) const { return role_names_[size_t(id)]; }
  // True for paths()[i] that are a pool member path (/vms/ID, /storage/ID).
  bool IsPoolMember(size_t i) const { return pool_member_[i] != 0; }

  // A path where `principal`'s roles are decided: "/", the ACL paths whose
  // entries name it or one of its groups (a privilege-separated token: the
  // token; other tokens: their user's) and the pool member paths where it
  // gets pool roles.
  struct Decision {
    int path = 0;   // index in paths()
    RoleIds roles;  // EffectiveRoles there
    RoleIds below;  // EffectiveRoles on any path below it without a decision of its own
  };
  // Every decided path of `principal`, parents first. Every other path in
  // paths() gets `below` of its nearest decided ancestor.
  std::vector<Decision> Decide(const std::string& principal) const;

 private:
  struct Entry {
    int path;
    int cls;  // 0: the principal's own (user or token) entry, 1: a group's
    int role;
    bool propagate;
  };

 public:
  // Buffers ForEachDecision reuses from one call to the next: a thread that
  // decides many principals with one scratch allocates nothing per path.
  class DecideScratch {
   private:
    friend class PermissionIndex;
    struct Frame {
      int end;
      RoleIds below;
    };
    std::vector<Entry> entries;
    std::vector<RoleIds> states;
    std::vector<std::pair<int, int>> pool;
    std::vector<int> cand, pool_roles;
    std::vector<Frame> stack;
    RoleIds roles, below, level;
  };
  // Decide without building Decisions: calls visit(path, roles, below) for
  // every decided path, parents first (the references are valid during the
  // call only).
  void ForEachDecision(const std::string& principal, DecideScratch* scratch,
                       const std::function<void(int, const RoleIds&, const RoleIds&)>& visit) const;
  // Pool roles of `principal`: member path -> role ids (sorted, unique).
  std::map<std::string, std::vector<int>> PoolRoles(const std::string& principal) const;

  std::map<std::string, bool> ToRoleSet(const RoleIds& roles) const;
  // Same results as the free functions (normalised paths).
  std::map<std::string, bool> EffectiveRoles(const std::string& principal,
                                             const std::string& path) const;
  std::map<std::string, bool> EffectivePrivileges(const std::string& principal,
                                                  const std::string& path) const;

 private:
  void Entries(const std::string& principal, std::vector<Entry>* out) const;
  std::map<std::string, std::vector<int>> PoolRolesOf(const std::vector<Entry>& entries) const;
  int RoleId(const std::string& name) const;
  struct Pool;
  template <typename F>
  void ForEachPoolRoles(const std::vector<Entry>& entries, F add) const;

  const PveConfig& cfg_;
  std::vector<std::string> paths_;
  std::vector<int> parent_, end_;
  std::unordered_map<std::string, int> path_index_;
  std::vector<char> pool_member_;
  std::vector<std::string> role_names_;
  std::map<std::string, int> role_ids_;
  // '0' + type, then the name -> entries (cls 0), sorted by path, role;
  // last line wins.
  std::unordered_map<std::string, std::vector<Entry>> entries_;
  std::map<std::string, std::vector<std::string>> member_of_;
  struct Pool {
    std::vector<int> levels;  // indexes in paths() of the levels of "/pool/ID" ("/", "/pool",
                              // "/pool/a" for "a/b", ...) that are in paths()
    bool self = false;        // levels.back() is "/pool/ID"
    std::vector<std::string> members;  // member paths
    std::vector<int> member_index;     // their indexes in paths()
  };
  std::vector<Pool> pools_;
};

}  // namespace pveaudit::pve

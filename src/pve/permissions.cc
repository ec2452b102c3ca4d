// permissions.cc
// PVE::AccessControl::roles and PVE::RPCEnvironment::permissions /
// $compile_acl_path / get_effective_permissions, step by step
// (docs/permissions.md cites each rule and the test that covers it).
#include "pve/permissions.h"

#include <algorithm>

#include "pve/parse_util.h"

namespace pveaudit::pve {
namespace {

using RoleSet = std::map<std::string, bool>;  // role -> propagate
using PrivSet = std::map<std::string, bool>;  // privilege -> propagate

struct AclNode {
  std::map<std::string, RoleSet> users, groups, tokens;
};

class Engine {
 public:
  explicit Engine(const PveConfig& cfg) : cfg_(cfg) {
    for (const Acl& a : cfg.access.acls) {
      AclNode& node = tree_[a.path];
      auto& members = a.type == PrincipalType::kUser    ? node.users
                      : a.type == PrincipalType::kGroup ? node.groups
                                                        : node.tokens;
      members[a.principal][a.role] = a.propagate;
    }
    for (const auto& [name, group] : cfg.access.groups)
      for (const std::string& m : group.members) member_of_[m].insert(name);
  }

  // PVE::AccessControl::roles (pools not considered).
  RoleSet Roles(const std::string& principal, const std::string& path) {
    if (principal == "root@pam") return {{"Administrator", true}};
    if (IsToken(principal)) {
      auto t = cfg_.access.tokens.find(principal);
      if (t == cfg_.access.tokens.end()) return {};
      if (!t->second.privsep) return Roles(t->second.userid, path);
    }
    static const std::set<std::string> kNoGroups;
    auto mg = member_of_.find(principal);
    const std::set<std::string>& groups = mg == member_of_.end() ? kNoGroups : mg->second;

    RoleSet roles;
    std::vector<std::string> levels = Levels(path);
    for (size_t i = 0; i < levels.size(); ++i) {
      bool final = i + 1 == levels.size();
      auto n = tree_.find(levels[i]);
      if (n == tree_.end()) continue;
      const AclNode& node = n->second;
      // Applicable entries of one member: on the final node every entry,
      // above it only the propagating ones.
      auto applicable = [final](const RoleSet& entries, RoleSet* out) {
        bool any = false;
        for (const auto& [role, propagate] : entries) {
          if (!final && !propagate) continue;
          auto [it, inserted] = out->emplace(role, propagate);
          if (!inserted) it->second = it->second || propagate;
          any = true;
        }
        return any;
      };
      RoleSet fresh;
      // Token entries replace what was inherited; else user entries do
      // ("user privs always override group privs"); else the union of the
      // user's groups' entries does.
      if (auto t = node.tokens.find(principal);
          t != node.tokens.end() && applicable(t->second, &fresh)) {
        roles = std::move(fresh);
        continue;
      }
      if (auto u = node.users.find(principal);
          u != node.users.end() && applicable(u->second, &fresh)) {
        roles = std::move(fresh);
        continue;
      }
      bool any = false;
      for (const auto& [group, entries] : node.groups)
        if (groups.count(group) && cfg_.access.groups.count(group))
          any = applicable(entries, &fresh) || any;
      if (any) roles = std::move(fresh);
    }
    // NoAccess in the final set cancels every other role.
    if (auto na = roles.find("NoAccess"); na != roles.end()) return {{"NoAccess", na->second}};
    return roles;
  }

  // $compile_acl_path's roles: regular roles plus the pool roles on member
  // paths. REQUIRES: principal is not root@pam nor a non-privsep token.
  RoleSet CompiledRoles(const std::string& principal, const std::string& path) {
    RoleSet roles = Roles(principal, path);
    const auto& pool_roles = PoolRoles(principal);
    auto pr = pool_roles.find(path);
    if (pr == pool_roles.end()) return roles;
    // NoAccess must not be trumped by pool ACLs ...
    if (roles.count("NoAccess")) return roles;
    // ... but a pool ACL NoAccess trumps the regular ACL.
    if (pr->second.count("NoAccess")) return {{"NoAccess", false}};
    // Pool roles are added where the regular ACL did not set them, never
    // with propagation.
    for (const std::string& role : pr->second) roles.emplace(role, false);
    return roles;
  }

  // PVE::RPCEnvironment::permissions.
  PrivSet Permissions(const std::string& principal, const std::string& path) {
    if (principal == "root@pam") {
      PrivSet all;
      for (const std::string& p : RolePrivs("Administrator")) all[p] = true;
      return all;
    }
    if (IsToken(principal)) {
      auto t = cfg_.access.tokens.find(principal);
      if (t == cfg_.access.tokens.end()) return {};
      PrivSet user_privs = Permissions(t->second.userid, path);
      if (!t->second.privsep) return user_privs;
      PrivSet own = PrivsOf(CompiledRoles(principal, path));
      if (t->second.userid == "root@pam") return own;  // Proxmox skips the intersection for root
      // Privilege-separated: the intersection, propagating only if both do.
      PrivSet both;
      for (const auto& [priv, propagate] : own)
        if (auto u = user_privs.find(priv); u != user_privs.end())
          both[priv] = propagate && u->second;
      return both;
    }
    if (!VerifyUsername(principal)) return {};
    return PrivsOf(CompiledRoles(principal, path));
  }

  // EffectiveRoles: the roles permissions() derives the privileges from.
  RoleSet EffectiveRoles(const std::string& principal, const std::string& path) {
    if (principal == "root@pam") return {{"Administrator", true}};
    if (IsToken(principal)) {
      auto t = cfg_.access.tokens.find(principal);
      if (t == cfg_.access.tokens.end()) return {};
      if (!t->second.privsep) return EffectiveRoles(t->second.userid, path);
      return CompiledRoles(principal, path);
    }
    if (!VerifyUsername(principal)) return {};
    return CompiledRoles(principal, path);
  }

  // The paths get_effective_permissions looks at: the fixed top-level ones,
  // every node of the ACL tree (so every ancestor of an ACL path) and every
  // pool member path.
  std::set<std::string> TreePaths() const {
    std::set<std::string> paths = {"/",     "/access", "/access/groups", "/nodes",
                                   "/pool", "/sdn",    "/storage",       "/vms"};
    for (const auto& [path, node] : tree_)
      for (const std::string& level : Levels(path)) paths.insert(level);
    for (const auto& [id, pool] : cfg_.access.pools) {
      for (int vmid : pool.vms) paths.insert("/vms/" + std::to_string(vmid));
      for (const std::string& s : pool.storages) paths.insert("/storage/" + s);
    }
    return paths;
  }

 private:
  static bool IsToken(const std::string& principal) {
    return SplitTokenId(principal, nullptr, nullptr);
  }

  // "/vms/100" -> {"/", "/vms", "/vms/100"}. REQUIRES: normalised path.
  static std::vector<std::string> Levels(const std::string& path) {
    std::vector<std::string> out = {"/"};
    for (size_t slash = path.find('/', 1); path.size() > 1; slash = path.find('/', slash + 1)) {
      out.push_back(path.substr(0, slash));
      if (slash == std::string::npos) break;
    }
    return out;
  }

  const std::set<std::string>& RolePrivs(const std::string& role) const {
    static const std::set<std::string> kNone;
    auto it = cfg_.access.roles.find(role);
    return it == cfg_.access.roles.end() ? kNone : it->second.privs;
  }

  // A privilege propagates if any role granting it does.
  PrivSet PrivsOf(const RoleSet& roles) const {
    PrivSet privs;
    for (const auto& [role, propagate] : roles)
      for (const std::string& p : RolePrivs(role)) {
        auto [it, inserted] = privs.emplace(p, propagate);
        if (!inserted) it->second = it->second || propagate;
      }
    return privs;
  }

  // Roles of `principal` on every /pool/ID, put on the pool's members.
  const std::map<std::string, std::set<std::string>>& PoolRoles(const std::string& principal) {
    auto cached = pool_roles_.find(principal);
    if (cached != pool_roles_.end()) return cached->second;
    std::map<std::string, std::set<std::string>> out;
    for (const auto& [id, pool] : cfg_.access.pools) {
      RoleSet roles = Roles(principal, "/pool/" + id);
      if (roles.empty()) continue;
      for (const auto& [role, propagate] : roles) {
        for (int vmid : pool.vms) out["/vms/" + std::to_string(vmid)].insert(role);
        for (const std::string& s : pool.storages) out["/storage/" + s].insert(role);
      }
    }
    return pool_roles_[principal] = std::move(out);
  }

  const PveConfig& cfg_;
  std::map<std::string, AclNode> tree_;
  std::map<std::string, std::set<std::string>> member_of_;
  std::map<std::string, std::map<std::string, std::set<std::string>>> pool_roles_;
};

}  // namespace

std::map<std::string, bool> EffectiveRoles(const PveConfig& cfg, const std::string& principal,
                                           const std::string& path) {
  auto p = NormalizePath(path);
  if (!p) return {};
  return Engine(cfg).EffectiveRoles(principal, *p);
}

std::map<std::string, bool> EffectivePrivileges(const PveConfig& cfg, const std::string& principal,
                                                const std::string& path) {
  auto p = NormalizePath(path);
  if (!p) return {};
  return Engine(cfg).Permissions(principal, *p);
}

std::map<std::string, std::map<std::string, bool>> PermissionTree(const PveConfig& cfg,
                                                                  const std::string& principal,
                                                                  const std::string& only_path) {
  Engine engine(cfg);
  std::map<std::string, std::map<std::string, bool>> tree;
  if (!only_path.empty()) {
    // As the API: the one path, even when nothing is granted there.
    auto p = NormalizePath(only_path);
    tree[p ? *p : only_path] = p ? engine.Permissions(principal, *p) : PrivSet{};
    return tree;
  }
  for (const std::string& path : engine.TreePaths()) {
    PrivSet privs = engine.Permissions(principal, path);
    if (!privs.empty()) tree[path] = std::move(privs);  // paths without privileges are left out
  }
  return tree;
}

}  // namespace pveaudit::pve

// permissions.cc
// PVE::AccessControl::roles and PVE::RPCEnvironment::permissions /
// $compile_acl_path / get_effective_permissions, step by step
// (docs/permissions.md cites each rule and the test that covers it).
#include "pve/permissions.h"

#include <algorithm>

#include "core/filter.h"
#include "pve/parse_util.h"

namespace pveaudit::pve {
namespace {

using RoleSet = std::map<std::string, bool>;  // role -> propagate
using PrivSet = std::map<std::string, bool>;  // privilege -> propagate

// A privilege-separated token's privileges: those of its own ACLs that its
// user also has, propagating only if both do. Proxmox skips the
// intersection for root@pam's tokens.
PrivSet TokenPrivileges(PrivSet own, const PrivSet& user_privs, const std::string& userid) {
  if (userid == "root@pam") return own;
  PrivSet both;
  for (const auto& [priv, propagate] : own)
    if (auto u = user_privs.find(priv); u != user_privs.end()) both[priv] = propagate && u->second;
  return both;
}

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
      return TokenPrivileges(PrivsOf(CompiledRoles(principal, path)), user_privs, t->second.userid);
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

// ------------------------------------------------------ PermissionIndex --

namespace {

using RoleIds = PermissionIndex::RoleIds;

// Adds `role`, OR-ing the propagate flag when it is already there.
void Merge(RoleIds* out, int role, bool propagate) {
  auto it = std::lower_bound(out->begin(), out->end(), role,
                             [](const std::pair<int, bool>& x, int r) { return x.first < r; });
  if (it != out->end() && it->first == role)
    it->second = it->second || propagate;
  else
    out->insert(it, {role, propagate});
}

// NoAccess in the final set cancels every other role.
void CollapseNoAccess(RoleIds* r, int no_access) {
  for (const auto& [role, propagate] : *r)
    if (role == no_access) {
      const std::pair<int, bool> only(role, propagate);
      r->assign(1, only);
      return;
    }
}

bool HasRole(const RoleIds& r, int role) {
  for (const auto& [id, propagate] : r)
    if (id == role) return true;
  return false;
}

// "/vms/100" -> {"/", "/vms", "/vms/100"}.
std::vector<std::string> PathLevels(const std::string& path) {
  std::vector<std::string> out = {"/"};
  for (size_t slash = path.find('/', 1); path.size() > 1; slash = path.find('/', slash + 1)) {
    out.push_back(path.substr(0, slash));
    if (slash == std::string::npos) break;
  }
  return out;
}

}  // namespace

PermissionIndex::PermissionIndex(const PveConfig& cfg) : cfg_(cfg) {
  const AccessConfig& ac = cfg.access;
  // Pool member paths are paths of their own even without an ACL entry:
  // that is where pool roles are decided (`pveum user permissions` lists
  // /vms/ID for a pool member), so the reports must have a row for them.
  std::vector<std::vector<std::string>> pool_members;
  pool_members.reserve(ac.pools.size());
  for (const auto& [id, pool] : ac.pools) {
    std::vector<std::string>& m = pool_members.emplace_back();
    for (int vmid : pool.vms) m.push_back("/vms/" + std::to_string(vmid));
    for (const std::string& st : pool.storages) m.push_back("/storage/" + st);
  }
  {
    std::vector<const std::string*> sorted;
    sorted.reserve(ac.acls.size() + 1);
    static const std::string kRoot = "/";
    sorted.push_back(&kRoot);
    for (const Acl& a : ac.acls) sorted.push_back(&a.path);
    for (const auto& m : pool_members)
      for (const std::string& path : m) sorted.push_back(&path);
    std::sort(sorted.begin(), sorted.end(),
              [](const std::string* a, const std::string* b) { return PathParentsFirst(*a, *b); });
    sorted.erase(std::unique(sorted.begin(), sorted.end(),
                             [](const std::string* a, const std::string* b) { return *a == *b; }),
                 sorted.end());
    paths_.reserve(sorted.size());
    for (const std::string* p : sorted) paths_.push_back(*p);
  }
  path_index_.reserve(paths_.size());
  for (size_t i = 0; i < paths_.size(); ++i) path_index_.emplace(paths_[i], int(i));
  parent_.assign(paths_.size(), -1);
  end_.assign(paths_.size(), int(paths_.size()));
  std::vector<int> stack;
  for (size_t i = 0; i < paths_.size(); ++i) {
    while (!stack.empty() && !ResourceCovers(paths_[size_t(stack.back())], paths_[i])) {
      end_[size_t(stack.back())] = int(i);
      stack.pop_back();
    }
    parent_[i] = stack.empty() ? -1 : stack.back();
    stack.push_back(int(i));
  }

  std::set<std::string> names = {"Administrator", "NoAccess"};
  for (const auto& [name, role] : ac.roles) names.insert(name);
  for (const Acl& a : ac.acls) names.insert(a.role);
  role_names_.assign(names.begin(), names.end());
  for (size_t i = 0; i < role_names_.size(); ++i) role_ids_.emplace(role_names_[i], int(i));

  // (type, name) -> entries sorted by path, role; of equal (path, role)
  // entries a later line wins, as in the map-based evaluator.
  std::string key;
  for (const Acl& a : ac.acls) {
    key.assign(1, char('0' + int(a.type)));
    key += a.principal;
    entries_[key].push_back({path_index_.at(a.path), 0, role_ids_.at(a.role), a.propagate});
  }
  for (auto& [k, v] : entries_) {
    std::stable_sort(v.begin(), v.end(), [](const Entry& a, const Entry& b) {
      return a.path != b.path ? a.path < b.path : a.role < b.role;
    });
    // Keep the last of each (path, role) run.
    size_t out = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      if (i + 1 < v.size() && v[i + 1].path == v[i].path && v[i + 1].role == v[i].role) continue;
      v[out++] = v[i];
    }
    v.resize(out);
  }
  for (const auto& [name, group] : ac.groups)
    for (const std::string& m : group.members) member_of_[m].push_back(name);

  std::set<std::string> members;
  size_t pool_no = 0;
  for (const auto& [id, pool] : ac.pools) {
    Pool p;
    // Every level of "/pool/ID" that is in paths(): a nested pool "a/b"
    // inherits the ACLs of "/pool/a" (roles() walks the whole path).
    const std::string self = "/pool/" + id;
    for (const std::string& level : PathLevels(self))
      if (int i = PathIndex(level); i >= 0) {
        p.levels.push_back(i);
        p.self = level == self;
      }
    p.members = std::move(pool_members[pool_no++]);
    for (const std::string& m : p.members) {
      members.insert(m);
      p.member_index.push_back(PathIndex(m));
    }
    pools_.push_back(std::move(p));
  }
  pool_member_.assign(paths_.size(), 0);
  for (size_t i = 0; i < paths_.size(); ++i) pool_member_[i] = members.count(paths_[i]) ? 1 : 0;
}

int PermissionIndex::PathIndex(const std::string& path) const {
  auto it = path_index_.find(path);
  return it == path_index_.end() ? -1 : it->second;
}

int PermissionIndex::RoleId(const std::string& name) const {
  auto it = role_ids_.find(name);
  return it == role_ids_.end() ? -1 : it->second;
}

std::map<std::string, bool> PermissionIndex::ToRoleSet(const RoleIds& roles) const {
  std::map<std::string, bool> out;
  for (const auto& [id, propagate] : roles) out.emplace_hint(out.end(), RoleName(id), propagate);
  return out;
}

// The entries that count for `principal` (a user or a privilege-separated
// token), sorted by path, class (own before group), role.
void PermissionIndex::Entries(const std::string& principal, std::vector<Entry>* out) const {
  out->clear();
  bool token = SplitTokenId(principal, nullptr, nullptr);
  std::string key(1, char('0' + int(token ? PrincipalType::kToken : PrincipalType::kUser)));
  key += principal;
  auto own = entries_.find(key);
  if (own != entries_.end()) out->insert(out->end(), own->second.begin(), own->second.end());
  if (!token)
    if (auto m = member_of_.find(principal); m != member_of_.end())
      for (const std::string& g : m->second)
        if (auto e = entries_.find(key.assign(1, char('0' + int(PrincipalType::kGroup))) + g);
            e != entries_.end())
          for (Entry x : e->second) {
            x.cls = 1;
            out->push_back(x);
          }
  std::sort(out->begin(), out->end(), [](const Entry& a, const Entry& b) {
    if (a.path != b.path) return a.path < b.path;
    if (a.cls != b.cls) return a.cls < b.cls;
    return a.role < b.role;
  });
}

namespace {

// Roles one level sets: on the final path every entry, above it only the
// propagating ones. Own (token or user) entries beat the union of the
// groups' entries. False when no entry applies (the level inherits).
template <typename EntryT>
bool LevelRoles(const EntryT* b, const EntryT* e, bool final, RoleIds* out) {
  out->clear();
  for (int cls = 0; cls < 2; ++cls) {
    for (const EntryT* x = b; x != e; ++x)
      if (x->cls == cls && (final || x->propagate)) Merge(out, x->role, x->propagate);
    if (!out->empty()) return true;
  }
  return false;
}

}  // namespace

// Pool roles on each pool's members: calls add(pool, roles) for each pool
// where the principal has roles; `entries` as Entries() returns them.
template <typename F>
void PermissionIndex::ForEachPoolRoles(const std::vector<Entry>& entries, F add) const {
  const int no_access = RoleId("NoAccess");
  RoleIds state, level;
  for (const Pool& p : pools_) {
    state.clear();
    for (size_t i = 0; i < p.levels.size(); ++i) {
      int path = p.levels[i];
      auto b = std::lower_bound(entries.begin(), entries.end(), path,
                                [](const Entry& x, int v) { return x.path < v; });
      auto e = b;
      while (e != entries.end() && e->path == path) ++e;
      bool final = p.self && i + 1 == p.levels.size();
      if (b != e && LevelRoles(&*b, &*b + (e - b), final, &level)) state = level;
    }
    CollapseNoAccess(&state, no_access);
    if (!state.empty()) add(p, state);
  }
}

std::map<std::string, std::vector<int>> PermissionIndex::PoolRolesOf(
    const std::vector<Entry>& entries) const {
  std::map<std::string, std::vector<int>> out;
  ForEachPoolRoles(entries, [&](const Pool& p, const RoleIds& state) {
    for (const std::string& m : p.members) {
      std::vector<int>& roles = out[m];
      for (const auto& [role, propagate] : state) roles.push_back(role);
    }
  });
  for (auto& [path, roles] : out) {
    std::sort(roles.begin(), roles.end());
    roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
  }
  return out;
}

std::map<std::string, std::vector<int>> PermissionIndex::PoolRoles(
    const std::string& principal) const {
  if (principal == "root@pam") return {};
  std::string who = principal;
  if (SplitTokenId(principal, nullptr, nullptr)) {
    auto t = cfg_.access.tokens.find(principal);
    if (t == cfg_.access.tokens.end()) return {};
    if (!t->second.privsep) return PoolRoles(t->second.userid);
  }
  std::vector<Entry> entries;
  Entries(who, &entries);
  return PoolRolesOf(entries);
}

std::vector<PermissionIndex::Decision> PermissionIndex::Decide(const std::string& principal) const {
  std::vector<Decision> out;
  DecideScratch scratch;
  ForEachDecision(principal, &scratch, [&](int path, const RoleIds& roles, const RoleIds& below) {
    out.push_back({path, roles, below});
  });
  return out;
}

void PermissionIndex::ForEachDecision(
    const std::string& principal, DecideScratch* s,
    const std::function<void(int, const RoleIds&, const RoleIds&)>& visit) const {
  const int admin = RoleId("Administrator"), no_access = RoleId("NoAccess");
  static const RoleIds kNone;
  if (principal == "root@pam") {
    const RoleIds all = {{admin, true}};
    visit(0, all, all);
    return;
  }
  if (SplitTokenId(principal, nullptr, nullptr)) {
    auto t = cfg_.access.tokens.find(principal);
    if (t == cfg_.access.tokens.end()) return visit(0, kNone, kNone);
    if (!t->second.privsep) return ForEachDecision(t->second.userid, s, visit);
  } else if (principal.find('@') == std::string::npos) {
    return visit(0, kNone, kNone);
  }
  std::vector<Entry>& entries = s->entries;
  Entries(principal, &entries);

  // Pool roles on member paths that are in paths(): (index, state) pairs,
  // sorted; a member of several pools gets the union.
  std::vector<RoleIds>& states = s->states;
  std::vector<std::pair<int, int>>& pool = s->pool;
  states.clear();
  pool.clear();
  ForEachPoolRoles(entries, [&](const Pool& p, const RoleIds& state) {
    states.push_back(state);
    for (int m : p.member_index)
      if (m >= 0) pool.emplace_back(m, int(states.size() - 1));
  });
  std::sort(pool.begin(), pool.end());
  std::vector<int>& cand = s->cand;
  cand.assign(1, 0);
  for (const Entry& e : entries)
    if (e.path != cand.back()) cand.push_back(e.path);
  // Both runs are sorted: merge them.
  const auto own_end = cand.size();
  for (const auto& [i, state] : pool)
    if (i != cand.back()) cand.push_back(i);
  std::inplace_merge(cand.begin(), cand.begin() + std::ptrdiff_t(own_end), cand.end());
  cand.erase(std::unique(cand.begin(), cand.end()), cand.end());

  // One walk, parents first: a decided path's raw (not yet NoAccess-
  // collapsed) roles flow to the decided paths below it. The stack's
  // frames keep their buffers between calls (`depth` frames are live).
  auto& stack = s->stack;
  size_t depth = 0;
  RoleIds &roles = s->roles, &below = s->below, &level = s->level;
  std::vector<int>& pool_roles = s->pool_roles;
  size_t k = 0, pk = 0;
  for (int c : cand) {
    while (depth && c >= stack[depth - 1].end) --depth;
    const RoleIds& inherited = depth ? stack[depth - 1].below : kNone;
    while (k < entries.size() && entries[k].path < c) ++k;
    size_t b = k;
    while (k < entries.size() && entries[k].path == c) ++k;
    const Entry* eb = entries.data() + b;
    const Entry* ee = entries.data() + k;
    roles = b != k && LevelRoles(eb, ee, true, &level) ? level : inherited;
    below = b != k && LevelRoles(eb, ee, false, &level) ? level : inherited;
    if (depth == stack.size()) stack.emplace_back();
    stack[depth].end = end_[size_t(c)];
    stack[depth].below = below;  // raw: collapsed only for this path's answer
    ++depth;
    CollapseNoAccess(&roles, no_access);
    CollapseNoAccess(&below, no_access);
    while (pk < pool.size() && pool[pk].first < c) ++pk;
    if (pk < pool.size() && pool[pk].first == c && !HasRole(roles, no_access)) {
      // A pool NoAccess trumps the regular ACL; other pool roles are added
      // where the regular ACL did not set them, never propagating.
      pool_roles.clear();
      for (size_t q = pk; q < pool.size() && pool[q].first == c; ++q)
        for (const auto& [r, prop] : states[size_t(pool[q].second)]) pool_roles.push_back(r);
      if (std::find(pool_roles.begin(), pool_roles.end(), no_access) != pool_roles.end()) {
        roles.assign(1, {no_access, false});
      } else {
        for (int r : pool_roles)
          if (!HasRole(roles, r)) Merge(&roles, r, false);
      }
    }
    visit(c, roles, below);
  }
}

std::map<std::string, bool> PermissionIndex::EffectiveRoles(const std::string& principal,
                                                            const std::string& path) const {
  if (principal == "root@pam") return {{"Administrator", true}};
  if (SplitTokenId(principal, nullptr, nullptr)) {
    auto t = cfg_.access.tokens.find(principal);
    if (t == cfg_.access.tokens.end()) return {};
    if (!t->second.privsep) return EffectiveRoles(t->second.userid, path);
  } else if (principal.find('@') == std::string::npos) {
    return {};
  }
  std::vector<Decision> decided = Decide(principal);
  std::map<int, const Decision*> at;
  for (const Decision& d : decided) at.emplace(d.path, &d);
  // The nearest ancestor-or-self of `path` in paths().
  int idx = -1;
  std::vector<std::string> levels = PathLevels(path);
  for (auto l = levels.rbegin(); l != levels.rend() && idx < 0; ++l) idx = PathIndex(*l);
  bool self = paths_[size_t(idx)] == path;
  if (self)
    if (auto it = at.find(idx); it != at.end()) return ToRoleSet(it->second->roles);
  int a = self ? parent_[size_t(idx)] : idx;
  while (a >= 0 && !at.count(a)) a = parent_[size_t(a)];
  RoleIds roles = a >= 0 ? at[a]->below : RoleIds{};
  if (!self) {
    // A pool member path without ACL entries (not in paths()).
    auto pool = PoolRoles(principal);
    const int no_access = RoleId("NoAccess");
    if (auto pr = pool.find(path); pr != pool.end() && !HasRole(roles, no_access)) {
      if (std::binary_search(pr->second.begin(), pr->second.end(), no_access))
        roles = {{no_access, false}};
      else
        for (int r : pr->second)
          if (!HasRole(roles, r)) Merge(&roles, r, false);
    }
  }
  return ToRoleSet(roles);
}

std::map<std::string, bool> PermissionIndex::EffectivePrivileges(const std::string& principal,
                                                                 const std::string& path) const {
  auto privs_of = [&](const std::map<std::string, bool>& roles) {
    PrivSet privs;
    for (const auto& [role, propagate] : roles) {
      auto it = cfg_.access.roles.find(role);
      if (it == cfg_.access.roles.end()) continue;
      for (const std::string& p : it->second.privs) {
        auto [pit, inserted] = privs.emplace(p, propagate);
        if (!inserted) pit->second = pit->second || propagate;
      }
    }
    return privs;
  };
  if (principal == "root@pam") return privs_of({{"Administrator", true}});
  if (SplitTokenId(principal, nullptr, nullptr)) {
    auto t = cfg_.access.tokens.find(principal);
    if (t == cfg_.access.tokens.end()) return {};
    PrivSet user_privs = EffectivePrivileges(t->second.userid, path);
    if (!t->second.privsep) return user_privs;
    return TokenPrivileges(privs_of(EffectiveRoles(principal, path)), user_privs, t->second.userid);
  }
  if (!VerifyUsername(principal)) return {};
  return privs_of(EffectiveRoles(principal, path));
}

bool PathParentsFirst(const std::string& a, const std::string& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    if (a[i] == '/') return true;
    if (b[i] == '/') return false;
    return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

}  // namespace pveaudit::pve

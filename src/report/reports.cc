#include "report/reports.h"

#include <algorithm>
#include <deque>
#include <set>
#include <unordered_map>

#include "core/time_spec.h"

namespace pveaudit::report {
namespace {

std::string TimeText(int64_t us, bool local) {
  return local ? FormatLocal(us) : FormatRfc3339Utc(us);
}

std::string TokensText(const pve::PveConfig& cfg, const std::string& userid, int64_t now_us) {
  std::vector<std::string> parts;
  for (auto it = cfg.access.tokens.lower_bound(userid + "!");
       it != cfg.access.tokens.end() && it->first.compare(0, userid.size() + 1, userid + "!") == 0;
       ++it) {
    const pve::Token& t = it->second;
    std::string exp = t.expire ? ExpireDate(t.expire) : "never";
    if (Expired(t.expire, now_us)) exp += " (expired)";
    parts.push_back(t.tokenid + " privsep=" + (t.privsep ? "1" : "0") + " expire=" + exp);
  }
  return Join(parts, "; ");
}

bool AllDigits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

std::string WarningText(const pve::ConfigWarning& w) {
  std::string where = w.file;
  if (w.line > 0) where += ":" + std::to_string(w.line);
  return where.empty() ? w.message : where + ": " + w.message;
}

std::string TfaText(const pve::TfaStatus& s) {
  std::vector<std::string> parts = s.types;
  if (s.realm_enforced)
    parts.push_back("realm " + (s.realm_type.empty() ? std::string("tfa") : s.realm_type) +
                    " (enforced)");
  return parts.empty() ? "none" : Join(parts, ", ");
}

Report BuildUserReport(const pve::PveConfig& cfg, const StoreFacts& facts, const ReportOptions& opt,
                       bool local_times) {
  Report r;
  r.title = "User access report";
  Section s;
  s.name = "users";
  s.title = "Users";
  Table& t = s.table;
  t.columns = {"userid",          "realm",       "enabled",       "expire",
               "groups",          "last_login",  "last_login_ip", "failed_logins_30d",
               "active_sessions", "permissions", "tfa",           "tokens"};
  t.max_width = {0, 0, 0, 0, 32, 0, 0, 0, 0, 60, 0, 60};
  AclIndex index(cfg);
  for (const auto& [id, u] : cfg.access.users) {
    std::vector<Cell> row;
    row.push_back(id);
    row.push_back(RealmOf(id));
    row.push_back(int64_t(u.enabled ? 1 : 0));
    std::string exp = ExpireDate(u.expire);
    if (Expired(u.expire, opt.now_us)) exp += " (expired)";
    row.push_back(exp);
    row.push_back(Join(u.groups, ","));
    if (facts.available) {
      auto it = facts.users.find(id);
      const UserActivity* a = it == facts.users.end() ? nullptr : &it->second;
      if (a && a->last_login_us) {
        row.push_back(TimeText(a->last_login_us, local_times));
        row.push_back(a->last_login_ip);
      } else {
        row.push_back("never");
        row.push_back("");
      }
      row.push_back(a ? a->failed_recent : int64_t(0));
      row.push_back(a ? a->active_sessions : int64_t(0));
    } else {
      row.insert(row.end(), {Cell(), Cell(), Cell(), Cell()});
    }
    row.push_back(index.CompactPermissions(id));
    row.push_back(TfaText(pve::UserTfaStatus(cfg, id)));
    row.push_back(TokensText(cfg, id, opt.now_us));
    t.rows.push_back(std::move(row));
  }
  r.sections.push_back(std::move(s));
  if (!facts.available) r.notes.push_back(facts.note);
  for (const pve::ConfigWarning& w : cfg.warnings) r.notes.push_back(WarningText(w));
  return r;
}

std::string AclOrphanReason(const pve::PveConfig& cfg, const pve::Acl& acl) {
  const auto& a = cfg.access;
  switch (acl.type) {
    case pve::PrincipalType::kUser:
      if (!a.users.count(acl.principal)) return "user '" + acl.principal + "' does not exist";
      break;
    case pve::PrincipalType::kGroup:
      if (!a.groups.count(acl.principal)) return "group '" + acl.principal + "' does not exist";
      break;
    case pve::PrincipalType::kToken:
      if (!a.tokens.count(acl.principal)) return "token '" + acl.principal + "' does not exist";
      break;
  }
  if (!a.roles.count(acl.role)) return "role '" + acl.role + "' does not exist";
  const std::string& p = acl.path;
  if (p.rfind("/vms/", 0) == 0 && AllDigits(p.substr(5))) {
    std::string id = p.substr(5);
    if (id.size() > 9 || !cfg.inventory.guests.count(std::stoi(id)))
      return "guest " + id + " does not exist (no qemu-server or lxc config)";
  } else if (p.rfind("/storage/", 0) == 0 && p.find('/', 9) == std::string::npos) {
    std::string id = p.substr(9);
    if (!cfg.inventory.storages.count(id))
      return "storage '" + id + "' does not exist (not in storage.cfg)";
  } else if (p.rfind("/pool/", 0) == 0) {
    std::string id = p.substr(6);
    if (!a.pools.count(id)) return "pool '" + id + "' does not exist";
  }
  return "";
}

Report BuildAclReport(const pve::PveConfig& cfg, const ReportOptions& opt) {
  Report r;
  r.title = "Permission audit report";
  const auto& ac = cfg.access;

  Section acl{"acl", "ACL entries", {}};
  acl.table.columns = {"path", "propagate",  "type",   "principal",
                       "role", "privileges", "status", "line"};
  acl.table.max_width = {0, 0, 0, 0, 0, 60, 0, 0};
  std::vector<const pve::Acl*> sorted;
  for (const pve::Acl& a : ac.acls) sorted.push_back(&a);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const pve::Acl* x, const pve::Acl* y) { return PathLess(x->path, y->path); });
  for (const pve::Acl* a : sorted) {
    auto role = ac.roles.find(a->role);
    std::string privs = role == ac.roles.end() ? "" : Join(role->second.privs, ",");
    std::string why = AclOrphanReason(cfg, *a);
    acl.table.rows.push_back({a->path, int64_t(a->propagate ? 1 : 0),
                              std::string(pve::PrincipalTypeName(a->type)), a->principal, a->role,
                              privs, why.empty() ? "ok" : "orphaned: " + why, int64_t(a->line)});
  }

  Section groups{"groups", "Group memberships", {}};
  groups.table.columns = {"group", "members", "comment"};
  for (const auto& [name, g] : ac.groups)
    groups.table.rows.push_back({name, Join(g.members, ","), g.comment});

  Section roles{"roles", "Role definitions", {}};
  roles.table.columns = {"role", "builtin", "privileges"};
  roles.table.max_width = {0, 0, 80};
  for (const auto& [name, role] : ac.roles)
    roles.table.rows.push_back({name, int64_t(role.builtin ? 1 : 0), Join(role.privs, ",")});

  // Path coverage: for every principal, the paths where its roles are
  // decided, its effective roles and privileges there, and what paths below
  // without a row of their own inherit (the whole user-by-path matrix,
  // without repeating inherited cells).
  Section cov{"coverage", "Path coverage (effective roles and privileges)", {}};
  cov.table.columns = {"path",  "type", "principal", "roles", "privileges", "inherited_below",
                       "status"};
  cov.table.max_width = {0, 0, 0, 0, 60, 0, 0};
  AclIndex index(cfg);
  const pve::PermissionIndex& engine = index.engine();
  const auto& paths = engine.paths();
  using RoleIds = pve::PermissionIndex::RoleIds;
  using Decision = pve::PermissionIndex::Decision;
  // Role lists and their privileges are few: render each once.
  std::unordered_map<std::string, std::pair<std::string, std::string>> text_cache;
  auto texts = [&](const RoleIds& r) -> const std::pair<std::string, std::string>& {
    std::string key;
    for (const auto& [id, prop] : r) key.append(reinterpret_cast<const char*>(&id), sizeof id);
    auto it = text_cache.find(key);
    if (it != text_cache.end()) return it->second;
    std::string names;
    for (size_t i = 0; i < r.size(); ++i) {
      if (i) names += ',';
      names += engine.RoleName(r[i].first);
    }
    RoleSet set = engine.ToRoleSet(r);
    return text_cache
        .emplace(std::move(key),
                 std::make_pair(std::move(names), Join(PrivilegesOfRoles(cfg, set), ",")))
        .first->second;
  };
  // Roles of a decided principal on path index `i` (its own decision, else
  // what its nearest decided ancestor passes down).
  auto roles_at = [&](const std::vector<Decision>& decided, int i) -> const RoleIds& {
    static const RoleIds kNone;
    auto find = [&](int p) {
      auto it = std::lower_bound(decided.begin(), decided.end(), p,
                                 [](const Decision& d, int v) { return d.path < v; });
      return it != decided.end() && it->path == p ? &*it : nullptr;
    };
    if (const Decision* d = find(i)) return d->roles;
    for (int p = engine.parent()[size_t(i)]; p >= 0; p = engine.parent()[size_t(p)])
      if (const Decision* d = find(p)) return d->below;
    return kNone;
  };
  struct Principal {
    std::string id;
    bool token;
    std::string status;
  };
  std::vector<Principal> principals;
  for (const auto& [id, u] : ac.users) {
    std::string st = !u.enabled                      ? "user disabled"
                     : Expired(u.expire, opt.now_us) ? "user expired"
                                                     : "";
    principals.push_back({id, false, st});
  }
  for (const auto& [id, t] : ac.tokens) {
    std::string st = Expired(t.expire, opt.now_us) ? "token expired" : "";
    auto u = ac.users.find(t.userid);
    if (u != ac.users.end() && (!u->second.enabled || Expired(u->second.expire, opt.now_us)))
      st += std::string(st.empty() ? "" : ", ") + "user disabled or expired";
    if (!t.privsep) st += std::string(st.empty() ? "" : ", ") + "no privilege separation";
    principals.push_back({id, true, st});
  }
  // Rows are ordered by path, then principal: collect small records per
  // path first, then the cells.
  struct Rec {
    uint32_t principal;
    const std::string *roles, *privs, *below;
  };
  std::vector<std::vector<Rec>> by_path(paths.size());
  std::deque<std::string> intersections;  // privileges of privilege-separated tokens
  size_t total = 0;
  for (size_t pi = 0; pi < principals.size(); ++pi) {
    const Principal& p = principals[pi];
    const pve::Token* tok = p.token ? &ac.tokens.at(p.id) : nullptr;
    std::vector<Decision> decided = engine.Decide(p.id);
    std::vector<Decision> user_decided;
    bool privsep = tok && tok->privsep;
    if (privsep && tok->userid != "root@pam") user_decided = engine.Decide(tok->userid);
    for (const Decision& d : decided) {
      if (d.roles.empty() && d.below.empty()) continue;
      const auto& rt = texts(d.roles);
      const std::string* privs = &rt.second;
      if (privsep) {
        // Privilege-separated: the intersection with the user's privileges.
        std::set<std::string> own = PrivilegesOfRoles(cfg, engine.ToRoleSet(d.roles));
        if (tok->userid != "root@pam") {
          std::set<std::string> user =
              PrivilegesOfRoles(cfg, engine.ToRoleSet(roles_at(user_decided, d.path)));
          std::set<std::string> both;
          for (const std::string& x : own)
            if (user.count(x)) both.insert(x);
          own = std::move(both);
        }
        intersections.push_back(Join(own, ","));
        privs = &intersections.back();
      }
      by_path[size_t(d.path)].push_back({uint32_t(pi), &rt.first, privs, &texts(d.below).first});
      ++total;
    }
  }
  cov.table.rows.reserve(total);
  const std::string kUser = "user", kToken = "token";
  for (size_t i = 0; i < by_path.size(); ++i) {
    for (const Rec& r : by_path[i]) {
      const Principal& p = principals[r.principal];
      cov.table.rows.push_back(
          {paths[i], p.token ? kToken : kUser, p.id, *r.roles, *r.privs, *r.below, p.status});
    }
    std::vector<Rec>().swap(by_path[i]);
  }

  Section warn{"warnings", "Configuration lines Proxmox ignores", {}};
  warn.table.columns = {"file", "line", "message"};
  for (const pve::ConfigWarning& w : cfg.warnings)
    warn.table.rows.push_back({w.file, int64_t(w.line), w.message});

  r.sections.push_back(std::move(acl));
  r.sections.push_back(std::move(groups));
  r.sections.push_back(std::move(roles));
  r.sections.push_back(std::move(cov));
  r.sections.push_back(std::move(warn));
  return r;
}

}  // namespace pveaudit::report

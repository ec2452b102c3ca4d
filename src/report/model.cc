#include "report/model.h"

#include <algorithm>
#include <deque>
#include <unordered_map>

#include "core/filter.h"
#include "core/time_spec.h"
#include "query/sessions.h"

namespace pveaudit::report {
namespace {

// One user's sliding window of (time, ip id) for the shared-account check.
struct IpWindow {
  std::deque<std::pair<int64_t, uint32_t>> events;
  std::unordered_map<uint32_t, int> counts;
};

}  // namespace

Result<StoreFacts> CollectStoreFacts(EventStore* store, const ReportOptions& opt,
                                     const std::string& missing_note) {
  StoreFacts facts;
  if (!store) {
    facts.note = missing_note;
    return facts;
  }
  facts.available = true;
  auto info = store->Info();
  if (!info.ok()) return info.status();
  facts.first_us = info->first_time_us;
  facts.last_us = info->last_time_us;
  const int64_t now = opt.now_us;

  // Logins: last success (time and address), recent failures.
  Filter logins;
  logins.action = "login";
  logins.end_us = now;
  Status st = store->Scan(logins, kFieldUser | kFieldIp, [&](const Event& e) {
    if (e.user.empty()) return true;
    UserActivity& a = facts.users[e.user];
    if (e.result == Outcome::kSuccess) {
      if (e.time_us >= a.last_login_us) {
        a.last_login_us = e.time_us;
        a.last_login_ip = e.ip;
      }
    } else if (e.result == Outcome::kFailure && e.time_us >= now - opt.failed_window_us) {
      ++a.failed_recent;
    }
    return true;
  });
  if (!st.ok()) return st;

  // Proxmox's "successful auth" line carries no address: take the first
  // address the user's requests came from within 10 minutes of the login.
  for (auto& [user, a] : facts.users) {
    if (a.last_login_us == 0 || !a.last_login_ip.empty()) continue;
    Filter f;
    f.user = user;
    f.start_us = a.last_login_us;
    f.end_us = a.last_login_us + 600LL * 1000000;
    st = store->Scan(f, kFieldIp, [&](const Event& e) {
      if (e.ip.empty()) return true;
      a.last_login_ip = e.ip;
      return false;
    });
    if (!st.ok()) return st;
  }

  auto sessions = ActiveSessions(*store, now);
  if (!sessions.ok()) return sessions.status();
  for (const Session& s : *sessions) ++facts.users[s.user].active_sessions;

  // Any activity within the inactivity window.
  Filter recent;
  recent.start_us = now - opt.inactive_us;
  recent.end_us = now;
  std::vector<std::string> names;
  std::vector<int64_t> last_by_key;
  st = store->ScanKeys(recent, kFieldUser, &names, [&](int64_t t, uint32_t key) {
    if (key >= last_by_key.size()) last_by_key.resize(key + 1, 0);
    last_by_key[key] = std::max(last_by_key[key], t);
    return true;
  });
  if (!st.ok()) return st;
  for (size_t k = 0; k < last_by_key.size() && k < names.size(); ++k)
    if (last_by_key[k] && !names[k].empty()) facts.users[names[k]].last_seen_us = last_by_key[k];

  // Shared-looking accounts: distinct addresses within a sliding window.
  if (opt.period_end_us > opt.period_start_us) {
    std::vector<IpRange> trusted;
    for (const std::string& c : opt.trusted_ips) {
      IpRange r;
      if (ParseIpRange(c, &r)) trusted.push_back(r);
    }
    std::unordered_map<std::string, uint32_t> ip_ids;
    std::vector<std::string> ip_names;
    std::unordered_map<std::string, IpWindow> windows;
    Filter period;
    period.start_us = opt.period_start_us;
    period.end_us = opt.period_end_us;
    st = store->Scan(period, kFieldUser | kFieldIp, [&](const Event& e) {
      if (e.user.empty() || e.ip.empty()) return true;
      for (const IpRange& r : trusted)
        if (IpInRange(e.ip, r)) return true;
      auto [it, fresh] = ip_ids.try_emplace(e.ip, uint32_t(ip_names.size()));
      if (fresh) ip_names.push_back(e.ip);
      IpWindow& w = windows[e.user];
      w.events.emplace_back(e.time_us, it->second);
      ++w.counts[it->second];
      while (!w.events.empty() && w.events.front().first <= e.time_us - opt.shared_window_us) {
        auto c = w.counts.find(w.events.front().second);
        if (--c->second == 0) w.counts.erase(c);
        w.events.pop_front();
      }
      UserActivity& a = facts.users[e.user];
      if (w.counts.size() > a.max_ips) {
        a.max_ips = w.counts.size();
        a.max_ips_from_us = w.events.front().first;
        a.max_ips_to_us = e.time_us;
        a.max_ips_list.clear();
        for (const auto& [id, n] : w.counts) a.max_ips_list.push_back(ip_names[id]);
        std::sort(a.max_ips_list.begin(), a.max_ips_list.end());
      }
      return true;
    });
    if (!st.ok()) return st;
  }
  return facts;
}

bool PathLess(const std::string& a, const std::string& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    if (a[i] == '/') return true;
    if (b[i] == '/') return false;
    return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

PermissionIndex::PermissionIndex(const pve::PveConfig& cfg) : cfg_(cfg) {
  for (const pve::Acl& a : cfg.access.acls) {
    Node& node = tree_[a.path];
    auto& members = a.type == pve::PrincipalType::kUser    ? node.users
                    : a.type == pve::PrincipalType::kGroup ? node.groups
                                                           : node.tokens;
    members[a.principal][a.role] = a.propagate;
  }
  for (const auto& [name, group] : cfg.access.groups)
    for (const std::string& m : group.members) member_of_[m].insert(name);
}

namespace {

bool IsTokenId(const std::string& p) { return p.find('!') != std::string::npos; }

// "/vms/100" -> "/", "/vms", "/vms/100".
std::vector<std::string> Levels(const std::string& path) {
  std::vector<std::string> out = {"/"};
  for (size_t slash = path.find('/', 1); path.size() > 1; slash = path.find('/', slash + 1)) {
    out.push_back(path.substr(0, slash));
    if (slash == std::string::npos) break;
  }
  return out;
}

}  // namespace

RoleSet PermissionIndex::Roles(const std::string& principal, const std::string& path) {
  if (principal == "root@pam") return {{"Administrator", true}};
  if (IsTokenId(principal)) {
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
    const Node& node = n->second;
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
    for (const std::string& g : groups) {
      auto e = node.groups.find(g);
      if (e != node.groups.end()) any = applicable(e->second, &fresh) || any;
    }
    if (any) roles = std::move(fresh);
  }
  if (auto na = roles.find("NoAccess"); na != roles.end()) return {{"NoAccess", na->second}};
  return roles;
}

const std::map<std::string, std::set<std::string>>& PermissionIndex::PoolRoles(
    const std::string& principal) {
  if (auto it = pool_roles_.find(principal); it != pool_roles_.end()) return it->second;
  if (pool_roles_.size() >= 4) pool_roles_.clear();
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [id, pool] : cfg_.access.pools) {
    RoleSet roles = Roles(principal, "/pool/" + id);
    for (const auto& [role, propagate] : roles) {
      for (int vmid : pool.vms) out["/vms/" + std::to_string(vmid)].insert(role);
      for (const std::string& s : pool.storages) out["/storage/" + s].insert(role);
    }
  }
  return pool_roles_[principal] = std::move(out);
}

RoleSet PermissionIndex::CompiledRoles(const std::string& principal, const std::string& path) {
  RoleSet roles = Roles(principal, path);
  if (cfg_.access.pools.empty()) return roles;
  const auto& pool_roles = PoolRoles(principal);
  auto pr = pool_roles.find(path);
  if (pr == pool_roles.end()) return roles;
  if (roles.count("NoAccess")) return roles;
  if (pr->second.count("NoAccess")) return {{"NoAccess", false}};
  for (const std::string& role : pr->second) roles.emplace(role, false);
  return roles;
}

RoleSet PermissionIndex::EffectiveRoles(const std::string& principal, const std::string& path) {
  if (principal == "root@pam") return {{"Administrator", true}};
  if (IsTokenId(principal)) {
    auto t = cfg_.access.tokens.find(principal);
    if (t == cfg_.access.tokens.end()) return {};
    if (!t->second.privsep) return EffectiveRoles(t->second.userid, path);
    return CompiledRoles(principal, path);
  }
  if (principal.find('@') == std::string::npos) return {};
  return CompiledRoles(principal, path);
}

PrivSet PermissionIndex::PrivsOf(const RoleSet& roles) const {
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
}

PrivSet PermissionIndex::EffectivePrivileges(const std::string& principal,
                                             const std::string& path) {
  if (principal == "root@pam") return PrivsOf({{"Administrator", true}});
  if (IsTokenId(principal)) {
    auto t = cfg_.access.tokens.find(principal);
    if (t == cfg_.access.tokens.end()) return {};
    PrivSet user_privs = EffectivePrivileges(t->second.userid, path);
    if (!t->second.privsep) return user_privs;
    PrivSet own = PrivsOf(CompiledRoles(principal, path));
    if (t->second.userid == "root@pam") return own;
    PrivSet both;
    for (const auto& [priv, propagate] : own)
      if (auto u = user_privs.find(priv); u != user_privs.end())
        both[priv] = propagate && u->second;
    return both;
  }
  if (principal.find('@') == std::string::npos) return {};
  return PrivsOf(CompiledRoles(principal, path));
}

AclIndex::AclIndex(const pve::PveConfig& cfg) : cfg_(cfg), perms_(cfg) {
  std::set<std::string> unique = {"/"};
  for (const pve::Acl& a : cfg.access.acls) unique.insert(a.path);
  paths_.assign(unique.begin(), unique.end());
  std::sort(paths_.begin(), paths_.end(), PathLess);
  for (size_t i = 0; i < paths_.size(); ++i) path_index_[paths_[i]] = int(i);
  parent_.assign(paths_.size(), -1);
  std::vector<int> stack;
  for (size_t i = 0; i < paths_.size(); ++i) {
    while (!stack.empty() && !ResourceCovers(paths_[size_t(stack.back())], paths_[i]))
      stack.pop_back();
    parent_[i] = stack.empty() ? -1 : stack.back();
    stack.push_back(int(i));
  }
  std::set<std::string> members;
  for (const auto& [id, pool] : cfg.access.pools) {
    for (int vm : pool.vms) members.insert("/vms/" + std::to_string(vm));
    for (const std::string& st : pool.storages) members.insert("/storage/" + st);
  }
  pool_member_.assign(paths_.size(), 0);
  for (size_t i = 0; i < paths_.size(); ++i) pool_member_[i] = members.count(paths_[i]) ? 1 : 0;
  for (size_t i = 0; i < cfg.access.acls.size(); ++i) {
    const pve::Acl& a = cfg.access.acls[i];
    auto key = std::make_pair(int(a.type), a.principal);
    entries_[key].push_back(i);
    auto& p = paths_of_[key];
    int idx = path_index_[a.path];
    if (p.empty() || p.back() != idx) p.push_back(idx);
  }
}

const std::vector<size_t>& AclIndex::EntriesOf(pve::PrincipalType type,
                                               const std::string& name) const {
  static const std::vector<size_t> kNone;
  auto it = entries_.find({int(type), name});
  return it == entries_.end() ? kNone : it->second;
}

std::vector<int> AclIndex::CandidateIndexes(const std::string& principal) {
  std::vector<int> out = {0};
  if (principal == "root@pam") return out;
  auto add = [&](pve::PrincipalType t, const std::string& name) {
    auto it = paths_of_.find({int(t), name});
    if (it != paths_of_.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  };
  auto bang = principal.find('!');
  if (bang != std::string::npos) {
    auto tok = cfg_.access.tokens.find(principal);
    if (tok == cfg_.access.tokens.end()) return out;
    if (!tok->second.privsep) return CandidateIndexes(principal.substr(0, bang));
    add(pve::PrincipalType::kToken, principal);
  } else {
    add(pve::PrincipalType::kUser, principal);
    auto u = cfg_.access.users.find(principal);
    if (u != cfg_.access.users.end())
      for (const std::string& g : u->second.groups) add(pve::PrincipalType::kGroup, g);
  }
  if (!cfg_.access.pools.empty())
    for (const auto& [path, roles] : perms_.PoolRoles(principal))
      if (auto it = path_index_.find(path); it != path_index_.end()) out.push_back(it->second);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<AclIndex::Decided> AclIndex::DecidedRoles(const std::string& principal) {
  std::vector<int> cand = CandidateIndexes(principal);
  std::vector<Decided> out;
  out.reserve(cand.size());
  for (int i : cand) {
    Decided d;
    d.path = i;
    d.roles = perms_.EffectiveRoles(principal, paths_[size_t(i)]);
    // A path one level below that no entry names (paths never contain
    // '\x01', so it is not an ACL path): what children inherit.
    std::string child = paths_[size_t(i)] == "/" ? "/\x01" : paths_[size_t(i)] + "/\x01";
    d.below = perms_.EffectiveRoles(principal, child);
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<RoleSet> AclIndex::RolesOnAllPaths(const std::string& principal) {
  const size_t n = paths_.size();
  std::vector<char> cand(n, 0);
  for (int i : CandidateIndexes(principal)) cand[size_t(i)] = 1;
  std::vector<RoleSet> out(n);
  std::vector<int> nca(n, 0);  // nearest candidate ancestor-or-self
  std::map<int, int> below;    // candidate -> index of the path holding its inherited value
  for (size_t i = 0; i < n; ++i) {
    if (cand[i]) {
      nca[i] = int(i);
      out[i] = perms_.EffectiveRoles(principal, paths_[i]);
      continue;
    }
    int a = nca[size_t(parent_[i])];
    nca[i] = a;
    auto it = below.find(a);
    if (it == below.end()) {
      // Every path under `a` with no entry of its own inherits the same roles.
      out[i] = perms_.EffectiveRoles(principal, paths_[i]);
      below[a] = int(i);
    } else {
      out[i] = out[size_t(it->second)];
    }
  }
  return out;
}

std::string AclIndex::CompactPermissions(const std::string& principal) {
  std::vector<Decided> decided = DecidedRoles(principal);
  std::map<int, const RoleSet*> below;  // candidate -> what it passes down
  std::vector<std::string> parts;
  static const RoleSet kNone;
  for (const Decided& d : decided) {
    const RoleSet* flow = &kNone;
    for (int p = parent_[size_t(d.path)]; p >= 0; p = parent_[size_t(p)])
      if (auto it = below.find(p); it != below.end()) {
        flow = it->second;
        break;
      }
    below[d.path] = &d.below;
    if (d.roles == *flow) continue;
    std::vector<std::string> names;
    for (const auto& [role, prop] : d.roles)
      names.push_back(prop ? role : role + " (this path only)");
    parts.push_back(paths_[size_t(d.path)] + ": " + (names.empty() ? "none" : Join(names, ", ")));
  }
  return Join(parts, "; ");
}

std::string RealmOf(const std::string& userid) {
  auto at = userid.rfind('@', userid.find('!'));
  if (at == std::string::npos) return "";
  auto bang = userid.find('!', at);
  return userid.substr(at + 1, bang == std::string::npos ? std::string::npos : bang - at - 1);
}

std::set<std::string> PrivilegesOfRoles(const pve::PveConfig& cfg,
                                        const std::map<std::string, bool>& roles) {
  std::set<std::string> out;
  if (roles.count("NoAccess")) return out;
  for (const auto& [role, prop] : roles) {
    auto it = cfg.access.roles.find(role);
    if (it != cfg.access.roles.end()) out.insert(it->second.privs.begin(), it->second.privs.end());
  }
  return out;
}

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

std::string Join(const std::set<std::string>& v, const std::string& sep) {
  return Join(std::vector<std::string>(v.begin(), v.end()), sep);
}

std::string ExpireDate(int64_t expire_s) {
  if (expire_s <= 0) return "";
  return FormatRfc3339Utc(expire_s * 1000000).substr(0, 10);
}

bool Expired(int64_t expire_s, int64_t now_us) {
  return expire_s > 0 && expire_s * 1000000 < now_us;
}

}  // namespace pveaudit::report

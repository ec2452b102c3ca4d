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
  // (No structured binding: clang 14, the fuzz build, refuses a lambda
  // capture of one.)
  for (auto& entry : facts.users) {
    auto& a = entry.second;
    if (a.last_login_us == 0 || !a.last_login_ip.empty()) continue;
    Filter f;
    f.user = entry.first;
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
  st = store->ScanKeys(recent, kFieldUser, &names, [&](int64_t t, uint32_t key, uint64_t) {
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

bool PathLess(const std::string& a, const std::string& b) { return pve::PathParentsFirst(a, b); }

std::map<std::string, std::set<std::string>> PermissionIndex::PoolRoles(
    const std::string& principal) const {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [path, roles] : index_.PoolRoles(principal))
    for (int r : roles) out[path].insert(index_.RoleName(r));
  return out;
}

AclIndex::AclIndex(const pve::PveConfig& cfg) : cfg_(cfg), perms_(cfg) {}

const std::vector<size_t>& AclIndex::EntriesOf(pve::PrincipalType type,
                                               const std::string& name) const {
  std::call_once(entries_once_, [this] {
    for (size_t i = 0; i < cfg_.access.acls.size(); ++i) {
      const pve::Acl& a = cfg_.access.acls[i];
      entries_[{int(a.type), a.principal}].push_back(i);
    }
  });
  static const std::vector<size_t> kNone;
  auto it = entries_.find({int(type), name});
  return it == entries_.end() ? kNone : it->second;
}

std::vector<int> AclIndex::CandidateIndexes(const std::string& principal) const {
  std::vector<int> out;
  for (const pve::PermissionIndex::Decision& d : engine().Decide(principal)) out.push_back(d.path);
  return out;
}

std::vector<AclIndex::Decided> AclIndex::DecidedRoles(const std::string& principal) const {
  std::vector<Decided> out;
  for (const pve::PermissionIndex::Decision& d : engine().Decide(principal))
    out.push_back({d.path, engine().ToRoleSet(d.roles), engine().ToRoleSet(d.below)});
  return out;
}

std::vector<RoleSet> AclIndex::RolesOnAllPaths(const std::string& principal) const {
  const auto& parent = engine().parent();
  const size_t n = paths().size();
  std::vector<const pve::PermissionIndex::Decision*> at(n, nullptr);
  std::vector<pve::PermissionIndex::Decision> decided = engine().Decide(principal);
  for (const auto& d : decided) at[size_t(d.path)] = &d;
  std::vector<RoleSet> out(n);
  std::vector<const pve::PermissionIndex::RoleIds*> flow(n, nullptr);  // what i passes down
  static const pve::PermissionIndex::RoleIds kNone;
  for (size_t i = 0; i < n; ++i) {
    const pve::PermissionIndex::RoleIds* inherited =
        parent[i] >= 0 ? flow[size_t(parent[i])] : &kNone;
    if (at[i]) {
      out[i] = engine().ToRoleSet(at[i]->roles);
      flow[i] = &at[i]->below;
    } else {
      out[i] = engine().ToRoleSet(*inherited);
      flow[i] = inherited;
    }
  }
  return out;
}

std::string AclIndex::CompactPermissions(const std::string& principal) const {
  const pve::PermissionIndex& e = engine();
  std::vector<pve::PermissionIndex::Decision> decided = e.Decide(principal);
  static const pve::PermissionIndex::RoleIds kNone;
  // Decided ancestors of the current path (parents first: a stack).
  std::vector<std::pair<int, const pve::PermissionIndex::RoleIds*>> stack;
  std::string out;
  for (const auto& d : decided) {
    while (!stack.empty() && d.path >= stack.back().first) stack.pop_back();
    const pve::PermissionIndex::RoleIds* flow = stack.empty() ? &kNone : stack.back().second;
    stack.emplace_back(e.subtree_end()[size_t(d.path)], &d.below);
    if (d.roles == *flow) continue;
    if (!out.empty()) out += "; ";
    out += e.paths()[size_t(d.path)];
    out += ": ";
    if (d.roles.empty()) out += "none";
    for (size_t i = 0; i < d.roles.size(); ++i) {
      if (i) out += ", ";
      out += e.RoleName(d.roles[i].first);
      if (!d.roles[i].second) out += " (this path only)";
    }
  }
  return out;
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

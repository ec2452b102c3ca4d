#include "report/reports.h"

#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <set>
#include <thread>
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

namespace {

// Runs fn(worker, i) for every i in [0, n) on `workers` threads (the
// calling thread is one of them). Work is handed out in small chunks.
template <typename F>
void ParallelFor(size_t n, size_t workers, F fn) {
  if (workers <= 1 || n < 2) {
    for (size_t i = 0; i < n; ++i) fn(size_t(0), i);
    return;
  }
  constexpr size_t kChunk = 16;
  std::atomic<size_t> next{0};
  auto run = [&](size_t w) {
    for (size_t b; (b = next.fetch_add(kChunk)) < n;)
      for (size_t i = b; i < std::min(n, b + kChunk); ++i) fn(w, i);
  };
  std::vector<std::thread> threads;
  for (size_t w = 1; w < workers; ++w) threads.emplace_back(run, w);
  run(0);
  for (std::thread& t : threads) t.join();
}

// Threads for `n` items: the CPUs (at most 8), one for small inputs.
size_t Workers(size_t n) {
  if (n < 256) return 1;
  size_t cpus = std::thread::hardware_concurrency();
  return std::clamp<size_t>(cpus, 1, 8);
}

Section UserSection() {
  Section s;
  s.name = "users";
  s.title = "Users";
  Table& t = s.table;
  t.columns = {"userid",          "realm",       "enabled",       "expire",
               "groups",          "last_login",  "last_login_ip", "failed_logins_30d",
               "active_sessions", "permissions", "tfa",           "tokens"};
  t.max_width = {0, 0, 0, 0, 32, 0, 0, 0, 0, 60, 0, 60};
  return s;
}

// Calls emit(row) for every user, in userid order. The permission lists
// (the expensive column) are computed in parallel, a block of users at a
// time, so only one block's rows exist at once.
template <typename Emit>
void ForEachUserRow(const pve::PveConfig& cfg, const StoreFacts& facts, const ReportOptions& opt,
                    bool local_times, Emit emit) {
  AclIndex index(cfg);
  std::vector<const std::pair<const std::string, pve::User>*> users;
  for (const auto& u : cfg.access.users) users.push_back(&u);
  const size_t workers = Workers(users.size());
  constexpr size_t kBlock = 2048;
  std::vector<std::string> perms;
  for (size_t b = 0; b < users.size(); b += kBlock) {
    const size_t n = std::min(kBlock, users.size() - b);
    perms.assign(n, std::string());
    ParallelFor(n, workers, [&](size_t, size_t i) {
      perms[i] = index.CompactPermissions(users[b + i]->first);
    });
    for (size_t i = 0; i < n; ++i) {
      const auto& [id, u] = *users[b + i];
      std::vector<Cell> row;
      row.reserve(12);
      row.push_back(id);
      row.push_back(RealmOf(id));
      row.push_back(int64_t(u.enabled ? 1 : 0));
      std::string exp = ExpireDate(u.expire);
      if (Expired(u.expire, opt.now_us)) exp += " (expired)";
      row.push_back(std::move(exp));
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
      row.push_back(std::move(perms[i]));
      row.push_back(TfaText(pve::UserTfaStatus(cfg, id)));
      row.push_back(TokensText(cfg, id, opt.now_us));
      emit(std::move(row));
    }
  }
}

}  // namespace

std::vector<std::string> UserReportNotes(const pve::PveConfig& cfg, const StoreFacts& facts) {
  std::vector<std::string> notes;
  if (!facts.available) notes.push_back(facts.note);
  for (const pve::ConfigWarning& w : cfg.warnings) notes.push_back(WarningText(w));
  return notes;
}

Report BuildUserReport(const pve::PveConfig& cfg, const StoreFacts& facts, const ReportOptions& opt,
                       bool local_times) {
  Report r;
  r.title = "User access report";
  Section s = UserSection();
  ForEachUserRow(cfg, facts, opt, local_times,
                 [&](std::vector<Cell>&& row) { s.table.rows.push_back(std::move(row)); });
  r.sections.push_back(std::move(s));
  r.notes = UserReportNotes(cfg, facts);
  return r;
}

bool WriteUserReport(const pve::PveConfig& cfg, const StoreFacts& facts, const ReportOptions& opt,
                     ReportFormat format, std::FILE* out) {
  const bool local = format == ReportFormat::kText || format == ReportFormat::kHtml;
  if (!ReportWriter::Streams(format)) {
    std::string text = RenderReport(BuildUserReport(cfg, facts, opt, local), format);
    return std::fwrite(text.data(), 1, text.size(), out) == text.size();
  }
  ReportWriter w(format, out, {UserSection()});
  w.BeginSection(0);
  ForEachUserRow(cfg, facts, opt, local, [&](std::vector<Cell>&& row) { w.Row(row); });
  return w.Finish(UserReportNotes(cfg, facts));
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

namespace {

// The ACL report's sections, the coverage section without rows.
std::vector<Section> AclSections(const pve::PveConfig& cfg, AclReportCounts* counts) {
  const auto& ac = cfg.access;
  Section acl{"acl", "ACL entries", {}};
  acl.table.columns = {"path", "propagate",  "type",   "principal",
                       "role", "privileges", "status", "line"};
  acl.table.max_width = {0, 0, 0, 0, 0, 60, 0, 0};
  std::vector<const pve::Acl*> sorted;
  for (const pve::Acl& a : ac.acls) sorted.push_back(&a);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const pve::Acl* x, const pve::Acl* y) { return PathLess(x->path, y->path); });
  acl.table.rows.reserve(sorted.size());
  std::map<std::string, std::string> role_privs;  // each role's list, joined once
  for (const auto& [name, role] : ac.roles) role_privs.emplace(name, Join(role.privs, ","));
  for (const pve::Acl* a : sorted) {
    auto role = role_privs.find(a->role);
    std::string privs = role == role_privs.end() ? "" : role->second;
    std::string why = AclOrphanReason(cfg, *a);
    if (!why.empty()) ++counts->orphaned;
    acl.table.rows.push_back({a->path, int64_t(a->propagate ? 1 : 0),
                              std::string(pve::PrincipalTypeName(a->type)), a->principal, a->role,
                              privs, why.empty() ? "ok" : "orphaned: " + why, int64_t(a->line)});
  }
  counts->entries = acl.table.rows.size();

  Section groups{"groups", "Group memberships", {}};
  groups.table.columns = {"group", "members", "comment"};
  for (const auto& [name, g] : ac.groups)
    groups.table.rows.push_back({name, Join(g.members, ","), g.comment});

  Section roles{"roles", "Role definitions", {}};
  roles.table.columns = {"role", "builtin", "privileges"};
  roles.table.max_width = {0, 0, 80};
  for (const auto& [name, role] : ac.roles)
    roles.table.rows.push_back({name, int64_t(role.builtin ? 1 : 0), Join(role.privs, ",")});

  Section cov{"coverage", "Path coverage (effective roles and privileges)", {}};
  cov.table.columns = {"path",  "type", "principal", "roles", "privileges", "inherited_below",
                       "status"};
  cov.table.max_width = {0, 0, 60, 0, 60, 0, 0};

  Section warn{"warnings", "Configuration lines Proxmox ignores", {}};
  warn.table.columns = {"file", "line", "message"};
  for (const pve::ConfigWarning& w : cfg.warnings)
    warn.table.rows.push_back({w.file, int64_t(w.line), w.message});

  std::vector<Section> out;
  out.push_back(std::move(acl));
  out.push_back(std::move(groups));
  out.push_back(std::move(roles));
  out.push_back(std::move(cov));
  out.push_back(std::move(warn));
  return out;
}

constexpr size_t kCoverageSection = 3;

// Path coverage: for every principal, the paths where its roles are
// decided, its effective roles and privileges there, and what paths below
// without a row of their own inherit (the whole user-by-path matrix,
// without repeating inherited cells). Rows are small records of ids into
// `principals` and `texts` (the few distinct role and privilege lists),
// ordered by path, then principal: 16 bytes a row instead of seven strings.
//
// The output groups each path's rows: the principals of one type that get
// the same roles, privileges, inherited_below and status there share one
// row, whose principal cell lists them all. One row per (principal, path)
// would repeat the same long privilege list for every member of a group
// (1.5 M rows and 350 MB on the benchmark instead of 190 k rows).
struct Coverage {
  struct Principal {
    std::string id;
    bool token;
    std::string status;
    uint32_t status_id;  // equal status texts, equal ids
  };
  std::vector<Principal> principals;
  std::vector<std::string> texts;
  struct Row {
    uint32_t principal, roles, privs, below;
  };
  std::vector<Row> rows;      // one per (principal, decided path)
  std::vector<size_t> begin;  // rows of paths()[i]: [begin[i], begin[i + 1])
  struct Group {
    size_t row;           // the first member's row (its cells are the group's)
    size_t members, end;  // its principals: Coverage::members[members, end)
  };
  std::vector<Group> groups;        // by path, then first principal
  std::vector<size_t> group_begin;  // groups of paths()[i]: [group_begin[i], group_begin[i + 1])
  std::vector<uint32_t> members;    // principal indexes, ascending within a group
};

// Each worker of ComputeCoverage renders the cells of its rows into its own
// table of texts, merged into one afterwards. Rows repeat few (roles,
// privileges, inherited_below) combinations: one lookup by the role ids
// finds all three.
struct LocalTexts {
  struct Cells {
    uint32_t roles, privs, below;  // indexes in texts
  };
  std::unordered_map<std::string, Cells> cells;  // role ids -> texts
  std::vector<std::string> texts;
  std::string key;
  // The previous row's combination (unordered_map nodes are stable).
  const Cells* last = nullptr;
  std::string last_key;
  // Appends a role list to `key`: its length, then its ids.
  void Add(const pve::PermissionIndex::RoleIds& r) {
    const auto n = uint32_t(r.size());
    key.append(reinterpret_cast<const char*>(&n), sizeof n);
    for (const auto& [id, prop] : r) key.append(reinterpret_cast<const char*>(&id), sizeof id);
  }
  uint32_t Text(std::string t) {
    texts.push_back(std::move(t));
    return uint32_t(texts.size() - 1);
  }
};

Coverage ComputeCoverage(const pve::PveConfig& cfg, const ReportOptions& opt,
                         const pve::PermissionIndex& engine) {
  const auto& ac = cfg.access;
  using RoleIds = pve::PermissionIndex::RoleIds;
  using Decision = pve::PermissionIndex::Decision;
  Coverage cov;
  std::map<std::string, uint32_t> statuses;
  auto StatusId = [&](const std::string& st) {
    return statuses.try_emplace(st, uint32_t(statuses.size())).first->second;
  };
  for (const auto& [id, u] : ac.users) {
    std::string st = !u.enabled                      ? "user disabled"
                     : Expired(u.expire, opt.now_us) ? "user expired"
                                                     : "";
    cov.principals.push_back({id, false, st, StatusId(st)});
  }
  for (const auto& [id, t] : ac.tokens) {
    std::string st = Expired(t.expire, opt.now_us) ? "token expired" : "";
    auto u = ac.users.find(t.userid);
    if (u != ac.users.end() && (!u->second.enabled || Expired(u->second.expire, opt.now_us)))
      st += std::string(st.empty() ? "" : ", ") + "user disabled or expired";
    if (!t.privsep) st += std::string(st.empty() ? "" : ", ") + "no privilege separation";
    cov.principals.push_back({id, true, st, StatusId(st)});
  }

  struct LocalRow {
    uint32_t path, roles, privs, below;
  };
  const size_t n = cov.principals.size();
  const size_t workers = Workers(n);
  std::vector<LocalTexts> locals(workers);
  std::vector<std::vector<LocalRow>> per(n);
  std::vector<uint8_t> worker_of(n, 0);
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
  std::vector<pve::PermissionIndex::DecideScratch> scratch(workers);
  ParallelFor(n, workers, [&](size_t w, size_t pi) {
    LocalTexts& L = locals[w];
    worker_of[pi] = uint8_t(w);
    const Coverage::Principal& p = cov.principals[pi];
    const pve::Token* tok = p.token ? &ac.tokens.at(p.id) : nullptr;
    std::vector<Decision> user_decided;
    const bool privsep = tok && tok->privsep;
    if (privsep && tok->userid != "root@pam") user_decided = engine.Decide(tok->userid);
    auto names = [&](const RoleIds& r) {
      std::string out;
      for (size_t i = 0; i < r.size(); ++i) {
        if (i) out += ',';
        out += engine.RoleName(r[i].first);
      }
      return out;
    };
    auto privileges = [&](const RoleIds& r) { return PrivilegesOfRoles(cfg, engine.ToRoleSet(r)); };
    // Privilege-separated tokens get the intersection with their user's
    // privileges (root@pam's are all of them).
    const bool intersect = privsep && tok->userid != "root@pam";
    std::vector<LocalRow>& rows = per[pi];
    engine.ForEachDecision(
        p.id, &scratch[w], [&](int path, const RoleIds& roles, const RoleIds& below) {
          if (roles.empty() && below.empty()) return;
          const RoleIds* user_roles = intersect ? &roles_at(user_decided, path) : nullptr;
          L.key.clear();
          L.Add(roles);
          L.Add(below);
          if (user_roles) L.Add(*user_roles);
          // Neighbouring rows often repeat the last combination: skip the hash.
          if (L.last && L.key == L.last_key) {
            rows.push_back({uint32_t(path), L.last->roles, L.last->privs, L.last->below});
            return;
          }
          auto it = L.cells.find(L.key);
          if (it == L.cells.end()) {
            LocalTexts::Cells c;
            c.roles = L.Text(names(roles));
            c.below = L.Text(names(below));
            std::set<std::string> own = privileges(roles);
            if (user_roles) {
              std::set<std::string> user = privileges(*user_roles), both;
              for (const std::string& x : own)
                if (user.count(x)) both.insert(x);
              own = std::move(both);
            }
            c.privs = L.Text(Join(own, ","));
            it = L.cells.emplace(L.key, c).first;
          }
          L.last = &it->second;
          L.last_key = L.key;
          rows.push_back({uint32_t(path), it->second.roles, it->second.privs, it->second.below});
        });
  });

  // One table of texts; the local ids mapped into it.
  std::unordered_map<std::string, uint32_t> global;
  std::vector<std::vector<uint32_t>> remap(workers);
  for (size_t w = 0; w < workers; ++w)
    for (std::string& t : locals[w].texts) {
      auto [it, fresh] = global.try_emplace(t, uint32_t(cov.texts.size()));
      if (fresh) cov.texts.push_back(std::move(t));
      remap[w].push_back(it->second);
    }
  const size_t npaths = engine.paths().size();
  cov.begin.assign(npaths + 1, 0);
  for (const auto& rows : per)
    for (const LocalRow& r : rows) ++cov.begin[r.path + 1];
  for (size_t i = 0; i < npaths; ++i) cov.begin[i + 1] += cov.begin[i];
  cov.rows.resize(cov.begin[npaths]);
  std::vector<size_t> fill(cov.begin.begin(), cov.begin.end() - 1);
  for (size_t pi = 0; pi < n; ++pi) {
    const std::vector<uint32_t>& m = remap[worker_of[pi]];
    for (const LocalRow& r : per[pi])
      cov.rows[fill[r.path]++] = {uint32_t(pi), m[r.roles], m[r.privs], m[r.below]};
    std::vector<LocalRow>().swap(per[pi]);
  }

  // Group each path's rows (rows are in principal order within a path).
  struct Key {
    uint64_t a, b;
    bool operator==(const Key& o) const { return a == o.a && b == o.b; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return size_t((k.a * 0x9E3779B97F4A7C15ULL) ^ (k.b * 0xC2B2AE3D27D4EB4FULL));
    }
  };
  std::unordered_map<Key, size_t, KeyHash> at;  // key -> group index within the path
  std::vector<std::vector<uint32_t>> members;   // per group of the current path
  cov.group_begin.assign(npaths + 1, 0);
  cov.members.reserve(cov.rows.size());
  for (size_t i = 0; i < npaths; ++i) {
    const size_t first = cov.groups.size();
    cov.group_begin[i] = first;
    if (at.bucket_count() > 1024)
      at = {};  // clear() would cost the buckets of the largest path every time
    else
      at.clear();
    for (size_t k = cov.begin[i]; k < cov.begin[i + 1]; ++k) {
      const Coverage::Row& r = cov.rows[k];
      const Coverage::Principal& p = cov.principals[r.principal];
      const Key key{uint64_t(r.roles) | uint64_t(r.privs) << 32,
                    uint64_t(r.below) | uint64_t(p.status_id) << 32 | uint64_t(p.token) << 63};
      auto [it, fresh] = at.try_emplace(key, cov.groups.size() - first);
      if (fresh) {
        cov.groups.push_back({k, 0, 0});
        if (members.size() <= it->second) members.emplace_back();
        members[it->second].clear();
      }
      members[it->second].push_back(r.principal);
    }
    for (size_t g = first; g < cov.groups.size(); ++g) {
      const std::vector<uint32_t>& m = members[g - first];
      cov.groups[g].members = cov.members.size();
      cov.members.insert(cov.members.end(), m.begin(), m.end());
      cov.groups[g].end = cov.members.size();
    }
  }
  cov.group_begin[npaths] = cov.groups.size();
  return cov;
}

// The principal cell of group `g`: its principals' ids, comma-separated.
std::string GroupPrincipals(const Coverage& cov, const Coverage::Group& g) {
  std::string out;
  for (size_t m = g.members; m < g.end; ++m) {
    if (m > g.members) out.push_back(',');
    out += cov.principals[cov.members[m]].id;
  }
  return out;
}

}  // namespace

Report BuildAclReport(const pve::PveConfig& cfg, const ReportOptions& opt) {
  Report r;
  r.title = "Permission audit report";
  AclReportCounts counts;
  r.sections = AclSections(cfg, &counts);
  pve::PermissionIndex engine(cfg);
  Coverage cov = ComputeCoverage(cfg, opt, engine);
  Table& t = r.sections[kCoverageSection].table;
  t.rows.reserve(cov.groups.size());
  const std::string kUser = "user", kToken = "token";
  const auto& paths = engine.paths();
  for (size_t i = 0; i < paths.size(); ++i)
    for (size_t g = cov.group_begin[i]; g < cov.group_begin[i + 1]; ++g) {
      const Coverage::Row& row = cov.rows[cov.groups[g].row];
      const Coverage::Principal& p = cov.principals[row.principal];
      t.rows.push_back({paths[i], p.token ? kToken : kUser, GroupPrincipals(cov, cov.groups[g]),
                        cov.texts[row.roles], cov.texts[row.privs], cov.texts[row.below],
                        p.status});
    }
  return r;
}

bool WriteAclReport(const pve::PveConfig& cfg, const ReportOptions& opt, ReportFormat format,
                    std::FILE* out, AclReportCounts* counts) {
  AclReportCounts local;
  if (!counts) counts = &local;
  *counts = {};
  if (!ReportWriter::Streams(format)) {
    Report r = BuildAclReport(cfg, opt);
    for (const auto& row : r.sections[0].table.rows)
      if (auto* s = std::get_if<std::string>(&row[6]); s && s->rfind("orphaned", 0) == 0)
        ++counts->orphaned;
    counts->entries = r.sections[0].table.rows.size();
    counts->coverage = r.sections[kCoverageSection].table.rows.size();
    for (const auto& row : r.sections[kCoverageSection].table.rows)
      if (auto* s = std::get_if<std::string>(&row[2]))
        counts->coverage_pairs += size_t(std::count(s->begin(), s->end(), ',')) + 1;
    std::string text = RenderReport(r, format);
    return std::fwrite(text.data(), 1, text.size(), out) == text.size();
  }
  // The first sections are built and written on another thread while the
  // permission index is built and the coverage computed.
  std::vector<Section> sections;
  std::unique_ptr<ReportWriter> writer;
  auto first = std::async(std::launch::async, [&] {
    sections = AclSections(cfg, counts);
    writer = std::make_unique<ReportWriter>(format, out, sections);
    for (size_t i = 0; i < kCoverageSection; ++i) {
      writer->WriteSection(i, sections[i].table);
      sections[i].table.rows = {};
    }
  });
  pve::PermissionIndex engine(cfg);
  Coverage cov = ComputeCoverage(cfg, opt, engine);
  first.get();
  ReportWriter& w = *writer;
  counts->coverage = cov.groups.size();
  counts->coverage_pairs = cov.rows.size();
  w.BeginSection(kCoverageSection);
  // Every cell but the path repeats across rows: encode each value once.
  auto enc = [&](const std::string& s) { return w.Encode(Cell(s)); };
  std::vector<std::string> texts, ids, status;
  for (const std::string& t : cov.texts) texts.push_back(enc(t));
  for (const Coverage::Principal& p : cov.principals) {
    ids.push_back(enc(p.id));
    status.push_back(enc(p.status));
  }
  const std::string user = enc("user"), token = enc("token");
  const auto& paths = engine.paths();
  std::string_view cells[7];
  std::string list;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (cov.group_begin[i] == cov.group_begin[i + 1]) continue;
    const std::string path = enc(paths[i]);
    cells[0] = path;
    for (size_t g = cov.group_begin[i]; g < cov.group_begin[i + 1]; ++g) {
      const Coverage::Group& group = cov.groups[g];
      const Coverage::Row& row = cov.rows[group.row];
      const bool is_token = cov.principals[row.principal].token;
      cells[1] = is_token ? token : user;
      if (group.end - group.members == 1) {
        cells[2] = ids[row.principal];
      } else {
        list = enc(GroupPrincipals(cov, group));
        cells[2] = list;
      }
      cells[3] = texts[row.roles];
      cells[4] = texts[row.privs];
      cells[5] = texts[row.below];
      cells[6] = status[row.principal];
      w.EncodedRow(cells, 7);
    }
  }
  w.WriteSection(kCoverageSection + 1, sections[kCoverageSection + 1].table);
  return w.Finish({});
}

}  // namespace pveaudit::report

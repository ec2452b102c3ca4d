#include "report/quarterly.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "core/time_spec.h"
#include "report/reports.h"

namespace pveaudit::report {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Days(int64_t us) { return std::to_string(us / kDayUs) + " days"; }

// "acl:1:/vms/100:@ops:PVEVMUser (user.cfg line 12)", as Proxmox writes it.
std::string AclText(const pve::Acl& a) {
  std::string who = a.type == pve::PrincipalType::kGroup ? "@" + a.principal : a.principal;
  std::string s =
      "acl:" + std::string(a.propagate ? "1" : "0") + ":" + a.path + ":" + who + ":" + a.role;
  if (a.line > 0) s += " (user.cfg line " + std::to_string(a.line) + ")";
  return s;
}

std::string AclDeleteCommand(const pve::Acl& a) {
  const char* flag = a.type == pve::PrincipalType::kGroup   ? "--groups"
                     : a.type == pve::PrincipalType::kToken ? "--tokens"
                                                            : "--users";
  return "pveum acl delete " + a.path + " --roles " + a.role + " " + flag + " " + a.principal;
}

std::string PrincipalText(const pve::Acl& a) {
  return std::string(pve::PrincipalTypeName(a.type)) + " " + a.principal;
}

bool PowerfulRole(const pve::PveConfig& cfg, const std::string& role) {
  if (role == "Administrator" || role == "PVEAdmin") return true;
  auto it = cfg.access.roles.find(role);
  if (it == cfg.access.roles.end()) return false;
  for (const char* p : {"Permissions.Modify", "Sys.Modify", "User.Modify", "Realm.Allocate"})
    if (it->second.privs.count(p)) return true;
  return false;
}

// True when `userid` holds a powerful role on any path (directly, by group
// or as root@pam).
// `powerful` caches PowerfulRole by role id (-1: not yet known).
bool PrivilegedUser(const pve::PveConfig& cfg, const AclIndex& index, const std::string& userid,
                    std::vector<signed char>* powerful) {
  const pve::PermissionIndex& e = index.engine();
  for (const pve::PermissionIndex::Decision& d : e.Decide(userid))
    for (const auto& [role, prop] : d.roles) {
      if (size_t(role) >= powerful->size()) powerful->resize(size_t(role) + 1, -1);
      signed char& p = (*powerful)[size_t(role)];
      if (p < 0) p = PowerfulRole(cfg, e.RoleName(role)) ? 1 : 0;
      if (p) return true;
    }
  return false;
}

std::string DisableFix(const std::string& userid) {
  return "confirm with the owner whether the account is still needed; otherwise disable it "
         "(pveum user modify " +
         userid + " --enable 0) or set an expiry date";
}

}  // namespace

bool ParseQuarter(const std::string& text, Quarter* out) {
  std::string s = text;
  if (s.size() == 7 && s[4] == '-') s.erase(4, 1);
  if (s.size() != 6 || (s[4] != 'Q' && s[4] != 'q') || s[5] < '1' || s[5] > '4') return false;
  for (int i = 0; i < 4; ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[size_t(i)]))) return false;
  Quarter q;
  q.year = std::stoi(s.substr(0, 4));
  q.q = s[5] - '0';
  if (q.year < 1970) return false;
  int m = 3 * (q.q - 1) + 1;
  q.start_us = LocalCivilToUs(q.year, m, 1, 0, 0, 0);
  q.end_us = q.q == 4 ? LocalCivilToUs(q.year + 1, 1, 1, 0, 0, 0)
                      : LocalCivilToUs(q.year, m + 3, 1, 0, 0, 0);
  *out = q;
  return true;
}

Quarter QuarterOf(int64_t us) {
  time_t t = time_t(us / 1000000);
  struct tm tm;
  localtime_r(&t, &tm);
  Quarter q;
  ParseQuarter(std::to_string(tm.tm_year + 1900) + "Q" + std::to_string(tm.tm_mon / 3 + 1), &q);
  return q;
}

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kHigh:
      return "high";
    case Severity::kMedium:
      return "medium";
    case Severity::kLow:
      return "low";
    case Severity::kInfo:
      break;
  }
  return "info";
}

const char* CheckName(int check) {
  switch (check) {
    case 1:
      return "User list verification";
    case 2:
      return "Permission review";
    case 3:
      return "2FA compliance";
    case 4:
      return "Expired accounts";
    case 5:
      return "Orphaned permissions";
  }
  return "?";
}

std::vector<Finding> RunQuarterlyChecks(const pve::PveConfig& cfg, const StoreFacts& facts,
                                        const ReportOptions& opt) {
  std::vector<Finding> out;
  const auto& ac = cfg.access;
  const int64_t now = opt.now_us;
  AclIndex index(cfg);
  std::vector<signed char> powerful;  // PowerfulRole by role id
  auto add = [&](int check, std::string rule, Severity sev, std::string subject,
                 std::string evidence, std::string fix) {
    out.push_back(
        {check, std::move(rule), sev, std::move(subject), std::move(evidence), std::move(fix)});
  };
  auto active = [&](const pve::User& u) { return u.enabled && !Expired(u.expire, now); };

  // 1. User list verification.
  if (!facts.available) {
    add(1, "users.no-login-data", Severity::kMedium, "event store", facts.note,
        "import the cluster's logs (pveam access import) or pass --data-dir, then run the "
        "review again");
  } else {
    std::string range =
        facts.first_us ? FormatRfc3339Utc(facts.first_us) + " to " + FormatRfc3339Utc(facts.last_us)
                       : std::string("none: the store is empty");
    for (const auto& [id, u] : ac.users) {
      if (!active(u)) continue;
      auto it = facts.users.find(id);
      const UserActivity* a = it == facts.users.end() ? nullptr : &it->second;
      int64_t login = a ? a->last_login_us : 0, seen = a ? a->last_seen_us : 0;
      if (!login && !seen) {
        add(1, "users.never-logged-in", Severity::kLow, id,
            "no successful login and no activity in the event store (events: " + range + ")",
            DisableFix(id));
      } else if (std::max(login, seen) < now - opt.inactive_us) {
        add(1, "users.inactive", Severity::kMedium, id,
            "last login " + FormatRfc3339Utc(login) +
                (a->last_login_ip.empty() ? "" : " from " + a->last_login_ip) + ", " +
                Days(now - login) + " ago; no activity in the last " + Days(opt.inactive_us),
            DisableFix(id));
      }
    }
    for (const auto& [id, a] : facts.users) {
      if (id.find('!') != std::string::npos) continue;  // tokens: API clients, not people
      if (a.max_ips < size_t(opt.shared_ips)) continue;
      add(1, "users.shared-account", Severity::kHigh, id,
          std::to_string(a.max_ips) + " distinct source addresses within " +
              std::to_string(opt.shared_window_us / 60000000) + " min (" +
              FormatRfc3339Utc(a.max_ips_from_us) + " to " + FormatRfc3339Utc(a.max_ips_to_us) +
              "): " + Join(a.max_ips_list, ", "),
          "find out who uses the account (pveam access log --user " + id +
              "); give every person their own account and disable shared ones");
    }
  }

  // 2. Permission review.
  for (const pve::Acl& a : ac.acls) {
    if (!ac.roles.count(a.role) || a.role == "NoAccess") continue;
    std::string why = AclOrphanReason(cfg, a);
    // Entries naming a principal that does not exist grant nothing: check 5.
    if (why.rfind("user ", 0) == 0 || why.rfind("group ", 0) == 0 || why.rfind("token ", 0) == 0)
      continue;
    std::string members;
    if (a.type == pve::PrincipalType::kGroup) {
      auto g = ac.groups.find(a.principal);
      members = g == ac.groups.end() || g->second.members.empty()
                    ? "; no members"
                    : "; members: " + Join(g->second.members, ", ");
    }
    bool admin_name = Lower(a.role).find("admin") != std::string::npos;
    if (a.role == "Administrator" || PowerfulRole(cfg, a.role) || admin_name) {
      Severity sev = a.role == "Administrator"   ? Severity::kHigh
                     : PowerfulRole(cfg, a.role) ? Severity::kMedium
                                                 : Severity::kLow;
      add(2, "perm.admin-role", sev, PrincipalText(a), AclText(a) + members,
          "confirm the grant is still needed; prefer the least-privileged role on the narrowest "
          "path, keep Administrator to named break-glass accounts (" +
              AclDeleteCommand(a) + ")");
    }
    if (a.path == "/" && a.propagate) {
      Severity sev = a.role == "PVEAuditor" ? Severity::kLow : Severity::kMedium;
      add(2, "perm.root-propagate", sev, PrincipalText(a),
          AclText(a) + ": applies to every path of the cluster" + members,
          "grant on the subtree that is needed (/vms/ID, /storage/ID, /pool/NAME) instead of "
          "/, then " +
              AclDeleteCommand(a));
    }
    if (a.type == pve::PrincipalType::kUser && a.principal != "root@pam")
      add(2, "perm.direct-user-acl", Severity::kLow, PrincipalText(a),
          AclText(a) + ": granted to the user directly, not through a group",
          "create or reuse a group (pveum group add NAME; pveum user modify " + a.principal +
              " --groups NAME), grant the role to the group (pveum acl modify " + a.path +
              " --roles " + a.role + " --groups NAME), then " + AclDeleteCommand(a));
  }
  for (const auto& [id, t] : ac.tokens) {
    if (t.privsep) continue;
    add(2, "perm.token-no-privsep", Severity::kMedium, "token " + id,
        "privsep=0: the token has every permission of " + t.userid +
            (t.expire ? ", expires " + ExpireDate(t.expire) : ", never expires"),
        "recreate it with privilege separation (pveum user token add " + t.userid + " " +
            id.substr(id.find('!') + 1) +
            " --privsep 1) and grant it only what it needs; then remove the old one");
  }

  // 3. 2FA compliance.
  for (const auto& [id, u] : ac.users) {
    if (!active(u)) continue;
    pve::TfaStatus tfa = pve::UserTfaStatus(cfg, id);
    if (tfa.any()) continue;
    bool priv = PrivilegedUser(cfg, index, id, &powerful);
    add(3, "tfa.missing", priv ? Severity::kHigh : Severity::kMedium, id,
        std::string("no enabled second factor in priv/tfa.cfg and realm '") + RealmOf(id) +
            "' does not enforce TFA" + (priv ? "; the user holds administrative roles" : ""),
        "have the user enrol TOTP or WebAuthn (Datacenter > Permissions > Two Factor), or "
        "enforce TFA on the realm (pveum realm modify " +
            RealmOf(id) + " --tfa type=oath)");
  }

  // 4. Expired accounts.
  for (const auto& [id, u] : ac.users) {
    bool expired = Expired(u.expire, now);
    if (expired && u.enabled)
      add(4, "expired.user-enabled", Severity::kMedium, id,
          "expired " + ExpireDate(u.expire) + " but still enabled",
          "disable the account (pveum user modify " + id +
              " --enable 0) or remove it (pveum user delete " + id + ")");
    if (!u.enabled || expired) {
      std::vector<std::string> held;
      for (size_t i : index.EntriesOf(pve::PrincipalType::kUser, id))
        held.push_back(AclText(ac.acls[i]));
      for (const std::string& g : u.groups)
        for (size_t i : index.EntriesOf(pve::PrincipalType::kGroup, g))
          held.push_back(AclText(ac.acls[i]) + " via group " + g);
      if (!held.empty())
        add(4, "expired.inactive-user-holds-acls", Severity::kLow, id,
            std::string(!u.enabled ? "disabled" : "expired") + " user still holds " +
                std::to_string(held.size()) + " ACL entr" + (held.size() == 1 ? "y" : "ies") +
                ": " + Join(held, "; "),
            "remove the user's ACL entries and group memberships (pveum acl delete PATH --roles "
            "ROLE --users " +
                id + "; pveum user modify " + id + " --groups '') or delete the user");
    }
  }
  for (const auto& [id, t] : ac.tokens)
    if (Expired(t.expire, now))
      add(4, "expired.token", Severity::kLow, "token " + id, "expired " + ExpireDate(t.expire),
          "remove it: pveum user token remove " + t.userid + " " + id.substr(id.find('!') + 1));

  // 5. Orphaned permissions.
  for (const pve::Acl& a : ac.acls) {
    std::string why = AclOrphanReason(cfg, a);
    if (why.empty()) continue;
    std::string kind = why.substr(0, why.find(' '));  // user, group, token, role, guest, ...
    bool principal = kind == "user" || kind == "group" || kind == "token" || kind == "role";
    add(5, "orphan." + kind, principal ? Severity::kMedium : Severity::kLow, AclText(a), why,
        "remove the entry: " + AclDeleteCommand(a) +
            (principal ? " (or recreate the missing " + kind + " if it was removed by mistake)"
                       : ""));
  }
  for (const pve::ConfigWarning& w : cfg.warnings) {
    // Entries naming a missing user or group are kept (and reported above);
    // Proxmox drops the others (unknown role, token, invalid path).
    std::string m = Lower(w.message);
    if (m.find("acl") == std::string::npos || m.find("invalid acl member") != std::string::npos ||
        m.find("invalid acl group") != std::string::npos)
      continue;
    add(5, "orphan.ignored-acl-line", Severity::kLow,
        w.file + (w.line > 0 ? ":" + std::to_string(w.line) : ""), w.message,
        "Proxmox ignores this entry (it names something that does not exist); remove the line "
        "with pveum acl delete or recreate what it names");
  }

  std::stable_sort(out.begin(), out.end(), [](const Finding& x, const Finding& y) {
    if (x.check != y.check) return x.check < y.check;
    if (x.severity != y.severity) return x.severity < y.severity;
    if (x.rule != y.rule) return x.rule < y.rule;
    return x.subject < y.subject;
  });
  return out;
}

Table FindingsTable(const std::vector<Finding>& findings) {
  Table t;
  t.columns = {"check", "check_name", "rule", "severity", "subject", "evidence", "fix"};
  t.max_width = {0, 0, 0, 0, 40, 60, 60};
  for (const Finding& f : findings)
    t.rows.push_back({int64_t(f.check), std::string(CheckName(f.check)), f.rule,
                      std::string(SeverityName(f.severity)), f.subject, f.evidence, f.fix});
  return t;
}

Table ReviewUsersTable(const pve::PveConfig& cfg, const StoreFacts& facts, const ReportOptions& opt,
                       bool local_times) {
  Table t;
  t.columns = {"userid",     "enabled",       "expire",        "groups",
               "last_login", "last_login_ip", "last_activity", "tfa"};
  auto time_text = [&](int64_t us) -> Cell {
    if (!facts.available) return Cell();
    if (!us) return std::string("never");
    return local_times ? FormatLocal(us) : FormatRfc3339Utc(us);
  };
  for (const auto& [id, u] : cfg.access.users) {
    auto it = facts.users.find(id);
    const UserActivity* a = it == facts.users.end() ? nullptr : &it->second;
    int64_t login = a ? a->last_login_us : 0;
    int64_t seen = std::max(login, a ? a->last_seen_us : 0);
    std::string exp = ExpireDate(u.expire);
    if (Expired(u.expire, opt.now_us)) exp += " (expired)";
    t.rows.push_back({id, int64_t(u.enabled ? 1 : 0), exp, Join(u.groups, ","), time_text(login),
                      facts.available ? Cell(a ? a->last_login_ip : std::string()) : Cell(),
                      time_text(seen), TfaText(pve::UserTfaStatus(cfg, id))});
  }
  return t;
}

std::string QuarterlyHtml(const ReviewMeta& meta, const pve::PveConfig& cfg,
                          const StoreFacts& facts, const ReportOptions& opt,
                          const std::vector<Finding>& findings) {
  std::string title = "Quarterly access review " + meta.quarter.Name();
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                  HtmlEscape(title) + "</title>\n<style>\n" + HtmlStyle() +
                  "</style>\n</head>\n<body>\n<h1>" + HtmlEscape(title) + "</h1>\n";
  auto meta_row = [&](const std::string& k, const std::string& v) {
    h += "<tr><td><b>" + HtmlEscape(k) + "</b></td><td>" + HtmlEscape(v) + "</td></tr>\n";
  };
  h += "<table class=\"meta\">\n";
  meta_row("Quarter", meta.quarter.Name() + " (" + FormatLocal(meta.quarter.start_us) + " to " +
                          FormatLocal(meta.quarter.end_us) + ", end exclusive)");
  meta_row("Reference time", FormatLocal(opt.now_us) + " (" + FormatRfc3339Utc(opt.now_us) + ")");
  meta_row("Reviewer", meta.reviewer);
  meta_row("Proxmox config", meta.pve_dir);
  meta_row("Event store", !facts.available ? "none (" + facts.note + ")"
                          : facts.first_us
                              ? meta.store + ", events " + FormatRfc3339Utc(facts.first_us) +
                                    " to " + FormatRfc3339Utc(facts.last_us)
                              : meta.store + " (empty)");
  meta_row("Users / groups / tokens / ACL entries",
           std::to_string(cfg.access.users.size()) + " / " +
               std::to_string(cfg.access.groups.size()) + " / " +
               std::to_string(cfg.access.tokens.size()) + " / " +
               std::to_string(cfg.access.acls.size()));
  meta_row("Thresholds", "inactive: " + Days(opt.inactive_us) + "; shared account: " +
                             std::to_string(opt.shared_ips) + " or more addresses within " +
                             std::to_string(opt.shared_window_us / 60000000) + " min");
  h += "</table>\n";
  for (const std::string& n : {facts.available ? std::string() : facts.note})
    if (!n.empty()) h += "<p class=\"note\">" + HtmlEscape(n) + "</p>\n";

  // Summary.
  h += "<h2>Summary</h2>\n<table>\n<thead><tr><th>#</th><th>Check</th><th>Result</th><th>High</th>"
       "<th>Medium</th><th>Low</th></tr></thead>\n<tbody>\n";
  for (int c = 1; c <= 5; ++c) {
    int n[4] = {0, 0, 0, 0};
    for (const Finding& f : findings)
      if (f.check == c) ++n[int(f.severity)];
    int total = n[0] + n[1] + n[2] + n[3];
    h += "<tr><td>" + std::to_string(c) + "</td><td><a href=\"#check" + std::to_string(c) + "\">" +
         CheckName(c) + "</a></td><td>" +
         (total ? "<span class=\"fail\">" + std::to_string(total) + " finding" +
                      (total == 1 ? "" : "s") + "</span>"
                : std::string("<span class=\"pass\">passed</span>")) +
         "</td><td>" + std::to_string(n[0]) + "</td><td>" + std::to_string(n[1]) + "</td><td>" +
         std::to_string(n[2]) + "</td></tr>\n";
  }
  h += "</tbody>\n</table>\n";

  for (int c = 1; c <= 5; ++c) {
    h += "<h2 id=\"check" + std::to_string(c) + "\">" + std::to_string(c) + ". " + CheckName(c) +
         "</h2>\n";
    std::string rows;
    for (const Finding& f : findings) {
      if (f.check != c) continue;
      std::string sev = SeverityName(f.severity);
      rows += "<tr><td><span class=\"sev sev-" + sev + "\">" + sev + "</span></td><td>" +
              HtmlEscape(f.rule) + "</td><td>" + HtmlEscape(f.subject) + "</td><td>" +
              HtmlEscape(f.evidence) + "</td><td>" + HtmlEscape(f.fix) + "</td></tr>\n";
    }
    if (rows.empty())
      h += "<p class=\"pass\">No findings.</p>\n";
    else
      h += "<table>\n<thead><tr><th>Severity</th><th>Rule</th><th>Subject</th><th>Evidence</th>"
           "<th>Suggested fix</th></tr></thead>\n<tbody>\n" +
           rows + "</tbody>\n</table>\n";
    if (c == 1) {
      h += "<h3>All users</h3>\n";
      Table users = ReviewUsersTable(cfg, facts, opt, true);
      h += HtmlTable(users);
    }
  }
  if (!cfg.warnings.empty()) {
    h += "<h2>Configuration lines Proxmox ignores</h2>\n<ul>\n";
    for (const pve::ConfigWarning& w : cfg.warnings)
      h += "<li>" + HtmlEscape(WarningText(w)) + "</li>\n";
    h += "</ul>\n";
  }
  h += "<h2>Sign-off</h2>\n<table class=\"meta\">\n<tr><td>Reviewed by</td><td>"
       "____________________________</td></tr>\n<tr><td>Date</td><td>"
       "____________________________</td></tr>\n</table>\n";
  h += "</body>\n</html>\n";
  return h;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

}  // namespace pveaudit::report

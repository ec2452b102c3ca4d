// user_cfg.cc
// ParseUserCfg: pve-access-control's parse_user_config, line by line,
// including its order dependence (group members, ACL roles and tokens are
// checked against what earlier lines defined) and its warnings, verbatim.
#include <algorithm>
#include <climits>
#include <unordered_map>

#include "pve/access_config.h"
#include "pve/parse_util.h"

namespace pveaudit::pve {

std::string_view PrincipalTypeName(PrincipalType t) {
  switch (t) {
    case PrincipalType::kUser:
      return "user";
    case PrincipalType::kGroup:
      return "group";
    case PrincipalType::kToken:
      return "token";
  }
  return "user";
}

namespace {

// Perl int() of a digit string; saturates instead of turning into a float.
int64_t DigitsToInt(std::string_view digits) {
  int64_t v = 0;
  for (char c : digits) {
    int d = c - '0';
    if (v > (INT64_MAX - d) / 10) return INT64_MAX;
    v = v * 10 + d;
  }
  return v;
}

// userconfig_force_defaults: built-in roles (re)installed, root@pam exists.
void ForceDefaults(AccessConfig* cfg) {
  for (const auto& [name, privs] : BuiltinRoles()) {
    Role& r = cfg->roles[name];
    r.name = name;
    r.privs = privs;
    r.builtin = true;
  }
  if (!cfg->users.count("root@pam")) {
    User& root = cfg->users["root@pam"];
    root.userid = "root@pam";
    root.enabled = true;
  }
}

class UserCfgParser {
 public:
  explicit UserCfgParser(const std::string& file) : file_(file) {}

  AccessConfig Parse(std::string_view text) {
    ForceDefaults(&cfg_);
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t nl = text.find('\n', pos);
      std::string_view raw =
          text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
      ++line_;
      std::string_view line = TrimSpace(raw);
      if (!line.empty()) ParseLine(line);
      if (nl == std::string_view::npos) break;
      pos = nl + 1;
    }
    ForceDefaults(&cfg_);
    for (auto& [name, group] : cfg_.groups)
      for (const std::string& m : group.members)
        if (auto it = cfg_.users.find(m); it != cfg_.users.end()) it->second.groups.push_back(name);
    for (auto& [id, user] : cfg_.users) std::sort(user.groups.begin(), user.groups.end());
    return std::move(cfg_);
  }

 private:
  void Warn(std::string message) {
    cfg_.warnings.push_back({file_, line_, "user config - " + std::move(message)});
  }

  void ParseLine(std::string_view line) {
    // Perl split(/:/, $line) (trailing empty fields dropped), then every
    // field trimmed. The fields go into strings reused from line to line.
    views_.clear();
    for (size_t start = 0;;) {
      size_t colon = line.find(':', start);
      views_.push_back(line.substr(start, colon == std::string_view::npos ? colon : colon - start));
      if (colon == std::string_view::npos) break;
      start = colon + 1;
    }
    while (!views_.empty() && views_.back().empty()) views_.pop_back();
    std::string_view et = views_.empty() ? std::string_view() : TrimSpace(views_[0]);
    nfields_ = views_.size() > 1 ? views_.size() - 1 : 0;
    if (fields_.size() < nfields_) fields_.resize(nfields_);
    for (size_t i = 0; i < nfields_; ++i) fields_[i].assign(TrimSpace(views_[i + 1]));
    // The type match is case-sensitive: "User:" is an unknown line.
    if (et == "user") {
      ParseUser();
    } else if (et == "group") {
      ParseGroup();
    } else if (et == "role") {
      ParseRole();
    } else if (et == "acl") {
      ParseAcl();
    } else if (et == "pool") {
      ParsePool();
    } else if (et == "token") {
      ParseToken();
    } else {
      Warn("ignore config line: " + std::string(line));
    }
  }

  // Field i after the type; absent fields are Perl undef, i.e. "".
  const std::string& F(size_t i) const {
    static const std::string kEmpty;
    return i < nfields_ ? fields_[i] : kEmpty;
  }

  // "$expire = 0 if !$expire; ... m/^\d+$/". False: the entry is ignored.
  bool ParseExpire(const std::string& text, int64_t* out) {
    std::string_view v = PerlTrue(text) ? std::string_view(text) : std::string_view("0");
    if (!AllDigits(v)) return false;
    *out = DigitsToInt(v);
    return true;
  }

  void ParseUser() {
    const std::string& userid = F(0);
    if (!VerifyUsername(userid)) {
      Warn("ignore user '" + userid + "' - invalid user name");
      return;
    }
    int64_t expire = 0;
    if (!ParseExpire(F(2), &expire)) {
      Warn("ignore user '" + userid + "' - (illegal characters in expire '" + F(2) + "')");
      return;
    }
    // A user line replaces the whole user hash, tokens defined before included.
    for (auto it = cfg_.tokens.begin(); it != cfg_.tokens.end();)
      it = it->second.userid == userid ? cfg_.tokens.erase(it) : std::next(it);
    User u;
    u.userid = userid;
    u.enabled = PerlTrue(F(1));
    u.expire = expire;
    if (PerlTrue(F(3))) u.firstname = DecodeText(F(3));
    if (PerlTrue(F(4))) u.lastname = DecodeText(F(4));
    u.email = F(5);
    if (PerlTrue(F(6))) u.comment = DecodeText(F(6));
    if (PerlTrue(F(7))) u.keys = F(7);
    cfg_.users[userid] = std::move(u);
  }

  void ParseGroup() {
    const std::string& name = F(0);
    if (!ValidGroupName(name)) {
      Warn("ignore group '" + name + "' - invalid characters in group name");
      return;
    }
    Group& g = cfg_.groups[name];
    g.name = name;
    if (PerlTrue(F(2))) g.comment = DecodeText(F(2));
    for (const std::string& member : SplitList(F(1))) {
      if (!VerifyUsername(member)) {
        Warn("ignore invalid group member '" + member + "'");
        continue;
      }
      // A user not (yet) defined is warned about but stays a member: the
      // group keeps it, and roles() checks the group's member list.
      if (!cfg_.users.count(member)) Warn("ignore invalid group member '" + member + "'");
      if (std::find(g.members.begin(), g.members.end(), member) == g.members.end())
        g.members.push_back(member);
    }
  }

  void ParseRole() {
    const std::string& name = F(0);
    if (!ValidRoleName(name)) {
      Warn("ignore role '" + name + "' - invalid characters in role name");
      return;
    }
    if (BuiltinRoles().count(name)) {
      // Not a Proxmox message: Proxmox silently re-installs the built-ins.
      Warn("ignore role '" + name + "' - built-in roles cannot be redefined");
      return;
    }
    Role& r = cfg_.roles[name];
    r.name = name;
    for (const std::string& priv : SplitList(F(1))) {
      if (AllPrivileges().count(priv))
        r.privs.insert(priv);
      else
        Warn("ignore invalid privilege '" + priv + "'");
    }
  }

  void AddAcl(const std::string& path, bool propagate, PrincipalType type,
              const std::string& principal, const std::string& role) {
    // Key: path, type, principal, role (none of them contains a NUL).
    key_.assign(path);
    key_.push_back('\0');
    key_.push_back(char('0' + int(type)));
    key_.append(principal);
    key_.push_back('\0');
    key_.append(role);
    auto [it, fresh] = acl_index_.try_emplace(key_, cfg_.acls.size());
    if (!fresh) {
      Acl& a = cfg_.acls[it->second];
      a.propagate = propagate;  // a later line overrides the flag
      a.line = line_;
      return;
    }
    cfg_.acls.push_back({path, propagate, type, principal, role, line_});
  }

  void ParseAcl() {
    bool propagate = PerlTrue(F(0));
    const std::string& pathtxt = F(1);
    std::optional<std::string> path = NormalizePath(pathtxt);
    if (!path) {
      Warn("ignore invalid path in acl '" + pathtxt + "'");
      return;
    }
    const std::vector<std::string> principals = SplitList(F(2));
    for (const std::string& role : SplitList(F(3))) {
      if (!ValidRoleName(role)) {
        Warn("ignore invalid role name '" + role + "' in acl");
        continue;
      }
      if (!cfg_.roles.count(role)) {
        Warn("ignore invalid acl role '" + role + "'");
        continue;
      }
      for (const std::string& ug : principals) {
        std::string group = ug.size() > 1 && ug[0] == '@' ? ug.substr(1) : "";
        if (PerlTrue(group) && ValidGroupName(group)) {
          if (!cfg_.groups.count(group)) Warn("ignore invalid acl group '" + group + "'");
          AddAcl(*path, propagate, PrincipalType::kGroup, group, role);
        } else if (VerifyUsername(ug)) {
          if (!cfg_.users.count(ug)) Warn("ignore invalid acl member '" + ug + "'");
          AddAcl(*path, propagate, PrincipalType::kUser, ug, role);
        } else if (SplitTokenId(ug, nullptr, nullptr)) {
          if (cfg_.tokens.count(ug))
            AddAcl(*path, propagate, PrincipalType::kToken, ug, role);
          else
            Warn("ignore invalid acl token '" + ug + "'");
        } else {
          Warn("invalid user/group '" + ug + "' in acl");
        }
      }
    }
  }

  Pool& GetPool(const std::string& id) {
    Pool& p = cfg_.pools[id];
    p.id = id;
    return p;
  }

  void ParsePool() {
    const std::string& id = F(0);
    if (!ValidPoolName(id)) {
      Warn("ignore pool '" + id + "' - invalid characters in pool name");
      return;
    }
    GetPool(id);
    // Nested pools: every ancestor exists as a pool too.
    for (size_t slash = id.rfind('/'); slash != std::string::npos && slash > 0;
         slash = id.rfind('/', slash - 1))
      GetPool(id.substr(0, slash));
    Pool& pool = GetPool(id);
    if (PerlTrue(F(1))) pool.comment = DecodeText(F(1));
    for (const std::string& v : SplitList(F(2))) {
      if (!AllDigits(v) || DigitsToInt(v) > INT_MAX) {
        Warn("ignore invalid vmid '" + v + "' in pool '" + id + "'");
        continue;
      }
      int vmid = static_cast<int>(DigitsToInt(v));
      if (vm_pool_.count(vmid)) {
        Warn("ignore duplicate vmid '" + std::to_string(vmid) + "' in pool '" + id + "'");
        continue;
      }
      vm_pool_[vmid] = id;
      pool.vms.insert(std::lower_bound(pool.vms.begin(), pool.vms.end(), vmid), vmid);
    }
    for (const std::string& s : SplitList(F(3))) {
      if (!ValidStorageId(s)) {
        Warn("ignore invalid storage '" + s + "' in pool '" + id + "'");
        continue;
      }
      auto it = std::lower_bound(pool.storages.begin(), pool.storages.end(), s);
      if (it == pool.storages.end() || *it != s) pool.storages.insert(it, s);
    }
  }

  void ParseToken() {
    const std::string& tokenid = F(0);
    std::string userid, name;
    if (!SplitTokenId(tokenid, &userid, &name)) {
      Warn("ignore invalid tokenid '" + tokenid + "'");
      return;
    }
    bool privsep = PerlTrue(F(2));
    int64_t expire = 0;
    if (!ParseExpire(F(1), &expire)) {
      Warn("ignore token '" + tokenid + "' - (illegal characters in expire '" + F(1) + "')");
      return;
    }
    if (!cfg_.users.count(userid)) {
      Warn("ignore token '" + tokenid + "' - user does not exist");
      return;
    }
    Token& t = cfg_.tokens[tokenid];  // a repeated line updates the token
    t.tokenid = tokenid;
    t.userid = userid;
    t.privsep = privsep;
    t.expire = expire;
    if (PerlTrue(F(3))) t.comment = DecodeText(F(3));
  }

  const std::string& file_;
  int line_ = 0;
  std::vector<std::string_view> views_;
  std::vector<std::string> fields_;  // the first nfields_ are this line's
  size_t nfields_ = 0;
  AccessConfig cfg_;
  std::string key_;
  std::unordered_map<std::string, size_t> acl_index_;  // AddAcl's key -> index in acls
  std::map<int, std::string> vm_pool_;
};

}  // namespace

AccessConfig ParseUserCfg(std::string_view text, const std::string& file) {
  return UserCfgParser(file).Parse(text);
}

}  // namespace pveaudit::pve

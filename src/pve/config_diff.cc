// config_diff.cc
// DiffPveConfig and the persisted DiffSnapshot; see config_diff.h and
// docs/config-changes.md.
#include "pve/config_diff.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <type_traits>

#include "core/time_spec.h"
#include "pve/parse_util.h"

namespace pveaudit::pve {
namespace {

using nlohmann::json;

constexpr int64_t kUsPerSec = 1'000'000;

// A value in a detail: as is when it is a plain id ("alice@pve",
// "/vms/100", "VM.Audit,VM.Console"), else JSON-quoted ("" for empty).
std::string Val(std::string_view s) {
  bool plain = !s.empty();
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '@' || c == '.' || c == '_' || c == '!' || c == '/' || c == ':' || c == '+' ||
              c == '-' || c == ',' || c == '(' || c == ')';
    if (!ok) {
      plain = false;
      break;
    }
  }
  if (plain) return std::string(s);
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Bool(bool b) { return b ? "1" : "0"; }

std::string Expire(int64_t epoch) {
  return epoch == 0 ? std::string("never") : FormatRfc3339Utc(epoch * kUsPerSec);
}

template <typename C>
std::string Join(const C& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += ',';
    if constexpr (std::is_same_v<std::decay_t<decltype(i)>, int>)
      out += std::to_string(i);
    else
      out += i;
  }
  return Val(out);
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

std::string JoinPath(const std::string& dir, const std::string& rel) {
  if (dir.empty()) return rel;
  return dir.back() == '/' ? dir + rel : dir + "/" + rel;
}

// Calls fn(key, a-or-null, b-or-null) for the union of two maps' keys, in
// key order.
template <typename K, typename V, typename Fn>
void Merge(const std::map<K, V>& a, const std::map<K, V>& b, Fn fn) {
  auto ia = a.begin(), ib = b.begin();
  while (ia != a.end() || ib != b.end()) {
    if (ib == b.end() || (ia != a.end() && ia->first < ib->first)) {
      fn(ia->first, &ia->second, static_cast<const V*>(nullptr));
      ++ia;
    } else if (ia == a.end() || ib->first < ia->first) {
      fn(ib->first, static_cast<const V*>(nullptr), &ib->second);
      ++ib;
    } else {
      fn(ia->first, &ia->second, &ib->second);
      ++ia, ++ib;
    }
  }
}

// "field old -> new" entries of a modification.
class Changes {
 public:
  void Add(const std::string& field, const std::string& before, const std::string& after) {
    if (before == after) return;
    if (!text_.empty()) text_ += ", ";
    text_ += field + " " + before + " -> " + after;
  }
  bool empty() const { return text_.empty(); }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

class Differ {
 public:
  Differ(const PveConfig& a, const PveConfig& b, int64_t t, const std::string& node)
      : a_(a), b_(b), t_(t), node_(node) {
    const std::string& dir = b.dir.empty() ? a.dir : b.dir;
    user_cfg_ = JoinPath(dir, "user.cfg");
    tfa_cfg_ = JoinPath(dir, "priv/tfa.cfg");
    domains_cfg_ = JoinPath(dir, "domains.cfg");
  }

  std::vector<Event> Run() {
    Users();
    Tokens();
    Groups();
    Roles();
    Pools();
    Acls();
    Tfa();
    Realms();
    return std::move(out_);
  }

 private:
  void Emit(const std::string& action, const std::string& resource, const std::string& origin,
            std::string detail) {
    Event e;
    e.time_us = t_;
    e.node = node_;
    e.action = action;
    e.resource = resource;
    e.result = Outcome::kSuccess;
    e.status = "changed";
    e.source = std::string(kConfigChangeSource);
    e.detail = std::move(detail);
    e.origin = origin;
    out_.push_back(std::move(e));
  }

  static std::string UserFields(const User& u) {
    std::string s = "enable=" + Bool(u.enabled) + " expire=" + Expire(u.expire) +
                    " groups=" + Join(Sorted(u.groups));
    if (!u.firstname.empty()) s += " firstname=" + Val(u.firstname);
    if (!u.lastname.empty()) s += " lastname=" + Val(u.lastname);
    if (!u.email.empty()) s += " email=" + Val(u.email);
    if (!u.comment.empty()) s += " comment=" + Val(u.comment);
    if (!u.keys.empty()) s += " keys=" + Val(KeysSummary(u.keys));
    return s;
  }

  void Users() {
    Merge(a_.access.users, b_.access.users,
          [&](const std::string& id, const User* x, const User* y) {
            std::string res = "/access/users/" + id;
            if (!x)
              return Emit("user:create", res, user_cfg_,
                          "created: user " + Val(id) + " " + UserFields(*y));
            if (!y)
              return Emit("user:delete", res, user_cfg_,
                          "deleted: user " + Val(id) + " " + UserFields(*x));
            Changes c;
            c.Add("enable", Bool(x->enabled), Bool(y->enabled));
            c.Add("expire", Expire(x->expire), Expire(y->expire));
            c.Add("firstname", Val(x->firstname), Val(y->firstname));
            c.Add("lastname", Val(x->lastname), Val(y->lastname));
            c.Add("email", Val(x->email), Val(y->email));
            c.Add("comment", Val(x->comment), Val(y->comment));
            c.Add("groups", Join(Sorted(x->groups)), Join(Sorted(y->groups)));
            c.Add("keys", Val(KeysSummary(x->keys)), Val(KeysSummary(y->keys)));
            if (!c.empty())
              Emit("user:modify", res, user_cfg_, "modified: user " + Val(id) + ": " + c.text());
          });
  }

  static std::string TokenResource(const std::string& id, const Token& t) {
    std::string user = t.userid;
    if (user.empty()) user = id.substr(0, id.find('!'));
    return "/access/users/" + user;
  }
  static std::string TokenFields(const Token& t) {
    std::string s = "expire=" + Expire(t.expire) + " privsep=" + Bool(t.privsep);
    if (!t.comment.empty()) s += " comment=" + Val(t.comment);
    return s;
  }

  void Tokens() {
    Merge(a_.access.tokens, b_.access.tokens,
          [&](const std::string& id, const Token* x, const Token* y) {
            std::string res = TokenResource(id, y ? *y : *x);
            if (!x)
              return Emit("token:create", res, user_cfg_,
                          "created: token " + Val(id) + " " + TokenFields(*y));
            if (!y)
              return Emit("token:delete", res, user_cfg_,
                          "deleted: token " + Val(id) + " " + TokenFields(*x));
            Changes c;
            c.Add("expire", Expire(x->expire), Expire(y->expire));
            c.Add("privsep", Bool(x->privsep), Bool(y->privsep));
            c.Add("comment", Val(x->comment), Val(y->comment));
            if (!c.empty())
              Emit("token:modify", res, user_cfg_, "modified: token " + Val(id) + ": " + c.text());
          });
  }

  static std::string GroupFields(const Group& g) {
    std::string s = "members=" + Join(Sorted(g.members));
    if (!g.comment.empty()) s += " comment=" + Val(g.comment);
    return s;
  }

  void Groups() {
    Merge(a_.access.groups, b_.access.groups,
          [&](const std::string& id, const Group* x, const Group* y) {
            std::string res = "/access/groups/" + id;
            if (!x)
              return Emit("group:create", res, user_cfg_,
                          "created: group " + Val(id) + " " + GroupFields(*y));
            if (!y)
              return Emit("group:delete", res, user_cfg_,
                          "deleted: group " + Val(id) + " " + GroupFields(*x));
            Changes c;
            c.Add("members", Join(Sorted(x->members)), Join(Sorted(y->members)));
            c.Add("comment", Val(x->comment), Val(y->comment));
            if (!c.empty())
              Emit("group:modify", res, user_cfg_, "modified: group " + Val(id) + ": " + c.text());
          });
  }

  static std::map<std::string, Role> CustomRoles(const PveConfig& c) {
    std::map<std::string, Role> m;
    for (const auto& [name, role] : c.access.roles)
      if (!role.builtin) m.emplace(name, role);
    return m;
  }

  void Roles() {
    Merge(CustomRoles(a_), CustomRoles(b_),
          [&](const std::string& id, const Role* x, const Role* y) {
            if (!x)
              return Emit("role:create", "/access", user_cfg_,
                          "created: role " + Val(id) + " privs=" + Join(y->privs));
            if (!y)
              return Emit("role:delete", "/access", user_cfg_,
                          "deleted: role " + Val(id) + " privs=" + Join(x->privs));
            Changes c;
            c.Add("privs", Join(x->privs), Join(y->privs));
            if (!c.empty())
              Emit("role:modify", "/access", user_cfg_,
                   "modified: role " + Val(id) + ": " + c.text());
          });
  }

  static std::string PoolFields(const Pool& p) {
    std::string s = "vms=" + Join(p.vms) + " storages=" + Join(p.storages);
    if (!p.comment.empty()) s += " comment=" + Val(p.comment);
    return s;
  }

  void Pools() {
    Merge(a_.access.pools, b_.access.pools,
          [&](const std::string& id, const Pool* x, const Pool* y) {
            std::string res = "/pool/" + id;
            if (!x)
              return Emit("pool:create", res, user_cfg_,
                          "created: pool " + Val(id) + " " + PoolFields(*y));
            if (!y)
              return Emit("pool:delete", res, user_cfg_,
                          "deleted: pool " + Val(id) + " " + PoolFields(*x));
            Changes c;
            c.Add("vms", Join(x->vms), Join(y->vms));
            c.Add("storages", Join(x->storages), Join(y->storages));
            c.Add("comment", Val(x->comment), Val(y->comment));
            if (!c.empty())
              Emit("pool:modify", res, user_cfg_, "modified: pool " + Val(id) + ": " + c.text());
          });
  }

  // (path, principal as written in user.cfg, role) -> propagate
  using AclKey = std::tuple<std::string, std::string, std::string>;
  static std::map<AclKey, bool> AclMap(const PveConfig& c) {
    std::map<AclKey, bool> m;
    for (const Acl& a : c.access.acls) {
      std::string principal = a.type == PrincipalType::kGroup ? "@" + a.principal : a.principal;
      m[{a.path, principal, a.role}] = a.propagate;
    }
    return m;
  }

  void Acls() {
    Merge(AclMap(a_), AclMap(b_), [&](const AclKey& k, const bool* x, const bool* y) {
      const auto& [path, principal, role] = k;
      std::string what =
          "acl path=" + Val(path) + " principal=" + Val(principal) + " role=" + Val(role);
      if (!x)
        return Emit("acl:modify", path, user_cfg_, "added: " + what + " propagate=" + Bool(*y));
      if (!y)
        return Emit("acl:modify", path, user_cfg_, "removed: " + what + " propagate=" + Bool(*x));
      if (*x != *y)
        Emit("acl:modify", path, user_cfg_,
             "modified: " + what + ": propagate " + Bool(*x) + " -> " + Bool(*y));
    });
  }

  // (type, id) -> factor; a repeated key gets "#2", "#3" appended to its id.
  using FactorKey = std::pair<std::string, std::string>;
  static std::map<FactorKey, TfaFactor> Factors(const TfaConfig& c, const std::string& user) {
    std::map<FactorKey, TfaFactor> m;
    auto it = c.users.find(user);
    if (it == c.users.end()) return m;
    for (const TfaFactor& f : it->second) {
      FactorKey k{f.type, f.id};
      for (int n = 2; m.count(k); ++n) k.second = f.id + "#" + std::to_string(n);
      m.emplace(k, f);
    }
    return m;
  }

  void Tfa() {
    std::set<std::string> users;
    for (const auto& [u, _] : a_.tfa.users) users.insert(u);
    for (const auto& [u, _] : b_.tfa.users) users.insert(u);
    for (const std::string& u : a_.tfa.locked) users.insert(u);
    for (const std::string& u : b_.tfa.locked) users.insert(u);
    for (const std::string& user : users) {
      std::string res = "/access/users/" + user;
      Merge(Factors(a_.tfa, user), Factors(b_.tfa, user),
            [&](const FactorKey& k, const TfaFactor* x, const TfaFactor* y) {
              std::string what =
                  "tfa user=" + Val(user) + " type=" + Val(k.first) + " id=" + Val(k.second);
              auto fields = [](const TfaFactor& f) {
                std::string s;
                if (!f.description.empty()) s += " description=" + Val(f.description);
                return s + " enabled=" + Bool(f.enabled);
              };
              if (!x) return Emit("tfa:add", res, tfa_cfg_, "added: " + what + fields(*y));
              if (!y) return Emit("tfa:remove", res, tfa_cfg_, "removed: " + what + fields(*x));
              Changes c;
              c.Add("enabled", Bool(x->enabled), Bool(y->enabled));
              c.Add("description", Val(x->description), Val(y->description));
              if (!c.empty())
                Emit("tfa:modify", res, tfa_cfg_, "modified: " + what + ": " + c.text());
            });
      bool was = a_.tfa.locked.count(user) > 0, is = b_.tfa.locked.count(user) > 0;
      if (!was && is) Emit("tfa:lock", res, tfa_cfg_, "locked: tfa user=" + Val(user));
      if (was && !is) Emit("tfa:unlock", res, tfa_cfg_, "unlocked: tfa user=" + Val(user));
    }
  }

  static std::string RealmFields(const Realm& r) {
    std::string s = "type=" + Val(r.type) + " default=" + Bool(r.is_default);
    if (!r.tfa_type.empty()) s += " tfa=" + Val(r.tfa_type);
    if (!r.comment.empty()) s += " comment=" + Val(r.comment);
    return s;
  }

  void Realms() {
    Merge(a_.realms, b_.realms, [&](const std::string& id, const Realm* x, const Realm* y) {
      std::string res = "/access/realm/" + id;
      if (!x)
        return Emit("realm:create", res, domains_cfg_,
                    "created: realm " + Val(id) + " " + RealmFields(*y));
      if (!y)
        return Emit("realm:delete", res, domains_cfg_,
                    "deleted: realm " + Val(id) + " " + RealmFields(*x));
      Changes c;
      c.Add("type", Val(x->type), Val(y->type));
      c.Add("default", Bool(x->is_default), Bool(y->is_default));
      c.Add("comment", Val(x->comment), Val(y->comment));
      if (!c.empty())
        Emit("realm:modify", res, domains_cfg_, "modified: realm " + Val(id) + ": " + c.text());
      // Realm-enforced TFA is reported as TFA, so `--action tfa` shows it.
      const std::string& ta = x->tfa_type;
      const std::string& tb = y->tfa_type;
      std::string what = "realm tfa realm=" + Val(id);
      if (ta.empty() && !tb.empty())
        Emit("tfa:add", res, domains_cfg_, "added: " + what + " type=" + Val(tb));
      else if (!ta.empty() && tb.empty())
        Emit("tfa:remove", res, domains_cfg_, "removed: " + what + " type=" + Val(ta));
      else if (ta != tb)
        Emit("tfa:modify", res, domains_cfg_,
             "modified: " + what + ": type " + Val(ta) + " -> " + Val(tb));
    });
  }

  const PveConfig& a_;
  const PveConfig& b_;
  int64_t t_;
  const std::string& node_;
  std::string user_cfg_, tfa_cfg_, domains_cfg_;
  std::vector<Event> out_;
};

}  // namespace

std::vector<Event> DiffPveConfig(const PveConfig& before, const PveConfig& after, int64_t now_us,
                                 const std::string& node) {
  return Differ(before, after, now_us, node).Run();
}

std::string KeysSummary(std::string_view keys) {
  if (keys.empty()) return "";
  if (keys.rfind("legacy(", 0) == 0) return std::string(keys);
  if (keys == "x") return "x";
  if (keys.size() > 2 && keys[0] == 'x' && keys[1] == '!') {
    bool alnum = true;
    for (char c : keys.substr(2))
      alnum = alnum && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
    if (alnum) return std::string(keys);
  }
  return "legacy(" + std::to_string(SplitList(keys).size()) + ")";
}

std::string SerializeDiffSnapshot(const PveConfig& cfg, int64_t taken_us) {
  json j = json::object();
  j["version"] = 1;
  j["dir"] = cfg.dir;
  j["taken_us"] = taken_us;
  json users = json::object();
  for (const auto& [id, u] : cfg.access.users)
    users[id] = {
        {"enable", u.enabled},         {"expire", u.expire},        {"firstname", u.firstname},
        {"lastname", u.lastname},      {"email", u.email},          {"comment", u.comment},
        {"keys", KeysSummary(u.keys)}, {"groups", Sorted(u.groups)}};
  j["users"] = users;
  json tokens = json::object();
  for (const auto& [id, t] : cfg.access.tokens)
    tokens[id] = {
        {"userid", t.userid}, {"expire", t.expire}, {"privsep", t.privsep}, {"comment", t.comment}};
  j["tokens"] = tokens;
  json groups = json::object();
  for (const auto& [id, g] : cfg.access.groups)
    groups[id] = {{"members", g.members}, {"comment", g.comment}};
  j["groups"] = groups;
  json roles = json::object();
  for (const auto& [id, r] : cfg.access.roles)
    if (!r.builtin) roles[id] = r.privs;
  j["roles"] = roles;
  json acls = json::array();
  for (const Acl& a : cfg.access.acls)
    acls.push_back({{"path", a.path},
                    {"propagate", a.propagate},
                    {"type", PrincipalTypeName(a.type)},
                    {"principal", a.principal},
                    {"role", a.role}});
  j["acls"] = acls;
  json pools = json::object();
  for (const auto& [id, p] : cfg.access.pools)
    pools[id] = {{"comment", p.comment}, {"vms", p.vms}, {"storages", p.storages}};
  j["pools"] = pools;
  json tfa_users = json::object();
  for (const auto& [user, factors] : cfg.tfa.users) {
    json arr = json::array();
    for (const TfaFactor& f : factors)
      arr.push_back({{"type", f.type},
                     {"id", f.id},
                     {"description", f.description},
                     {"enabled", f.enabled},
                     {"created", f.created}});
    tfa_users[user] = arr;
  }
  j["tfa"] = {{"users", tfa_users}, {"locked", cfg.tfa.locked}};
  json realms = json::object();
  for (const auto& [id, r] : cfg.realms)
    realms[id] = {
        {"type", r.type}, {"comment", r.comment}, {"default", r.is_default}, {"tfa", r.tfa_type}};
  j["realms"] = realms;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<DiffSnapshot> ParseDiffSnapshot(std::string_view text) {
  DiffSnapshot s;
  try {
    json j = json::parse(text);
    if (j.at("version").get<int>() != 1)
      return Status::Corruption("pve snapshot: unsupported version");
    PveConfig& c = s.config;
    c.dir = j.at("dir").get<std::string>();
    s.taken_us = j.at("taken_us").get<int64_t>();
    for (const auto& [id, u] : j.at("users").items()) {
      User& x = c.access.users[id];
      x.userid = id;
      x.enabled = u.at("enable").get<bool>();
      x.expire = u.at("expire").get<int64_t>();
      x.firstname = u.at("firstname").get<std::string>();
      x.lastname = u.at("lastname").get<std::string>();
      x.email = u.at("email").get<std::string>();
      x.comment = u.at("comment").get<std::string>();
      x.keys = u.at("keys").get<std::string>();
      x.groups = u.at("groups").get<std::vector<std::string>>();
    }
    for (const auto& [id, t] : j.at("tokens").items()) {
      Token& x = c.access.tokens[id];
      x.tokenid = id;
      x.userid = t.at("userid").get<std::string>();
      x.expire = t.at("expire").get<int64_t>();
      x.privsep = t.at("privsep").get<bool>();
      x.comment = t.at("comment").get<std::string>();
    }
    for (const auto& [id, g] : j.at("groups").items()) {
      Group& x = c.access.groups[id];
      x.name = id;
      x.members = g.at("members").get<std::vector<std::string>>();
      x.comment = g.at("comment").get<std::string>();
    }
    for (const auto& [id, r] : j.at("roles").items()) {
      Role& x = c.access.roles[id];
      x.name = id;
      x.privs = r.get<std::set<std::string>>();
    }
    for (const json& a : j.at("acls")) {
      Acl x;
      x.path = a.at("path").get<std::string>();
      x.propagate = a.at("propagate").get<bool>();
      std::string type = a.at("type").get<std::string>();
      if (type == "user")
        x.type = PrincipalType::kUser;
      else if (type == "group")
        x.type = PrincipalType::kGroup;
      else if (type == "token")
        x.type = PrincipalType::kToken;
      else
        return Status::Corruption("pve snapshot: bad ACL principal type '" + type + "'");
      x.principal = a.at("principal").get<std::string>();
      x.role = a.at("role").get<std::string>();
      c.access.acls.push_back(std::move(x));
    }
    for (const auto& [id, p] : j.at("pools").items()) {
      Pool& x = c.access.pools[id];
      x.id = id;
      x.comment = p.at("comment").get<std::string>();
      x.vms = p.at("vms").get<std::vector<int>>();
      x.storages = p.at("storages").get<std::vector<std::string>>();
    }
    const json& tfa = j.at("tfa");
    for (const auto& [user, arr] : tfa.at("users").items()) {
      auto& v = c.tfa.users[user];
      for (const json& f : arr) {
        TfaFactor x;
        x.type = f.at("type").get<std::string>();
        x.id = f.at("id").get<std::string>();
        x.description = f.at("description").get<std::string>();
        x.enabled = f.at("enabled").get<bool>();
        x.created = f.at("created").get<int64_t>();
        v.push_back(std::move(x));
      }
    }
    c.tfa.locked = tfa.at("locked").get<std::set<std::string>>();
    for (const auto& [id, r] : j.at("realms").items()) {
      Realm& x = c.realms[id];
      x.name = id;
      x.type = r.at("type").get<std::string>();
      x.comment = r.at("comment").get<std::string>();
      x.is_default = r.at("default").get<bool>();
      x.tfa_type = r.at("tfa").get<std::string>();
    }
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("pve snapshot: ") + e.what());
  }
  return s;
}

std::string ChangeId(std::string_view before, std::string_view after) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(before);
  mix(std::string_view("\0", 1));
  mix(after);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace pveaudit::pve

// actions.cc
// The action taxonomy. Keep docs/actions.md in step with this file: every
// rule below has a row there, and actions_test.cc checks every row.
#include "core/actions.h"

#include <algorithm>
#include <array>
#include <string>

namespace pveaudit {
namespace {

constexpr uint32_t kM = kClassModify;

// Classes by verb (the part after the last ':'). Objects do not change the
// classes of a verb, so a new object ("foo:start") is classified sensibly.
struct VerbClasses {
  std::string_view verb;
  uint32_t classes;
};
constexpr VerbClasses kVerbs[] = {
    {"start", kClassPower | kM},
    {"stop", kClassPower | kM},
    {"shutdown", kClassPower | kM},
    {"reboot", kClassPower | kM},
    {"reset", kClassPower | kM},
    {"suspend", kClassPower | kM},
    {"resume", kClassPower | kM},
    {"power", kClassPower | kM},
    {"create", kClassCreate | kM},
    {"clone", kClassCreate | kM},
    {"restore", kClassCreate | kClassBackup | kM},
    {"add", kClassCreate | kM},
    {"upload", kClassCreate | kM},
    {"allocate", kClassCreate | kM},
    {"download", kClassCreate | kM},
    {"snapshot", kClassCreate | kM},
    {"delete", kClassDelete | kM},
    {"remove", kClassDelete | kM},
    {"delsnapshot", kClassDelete | kM},
    {"free", kClassDelete | kM},
    {"prune", kClassDelete | kM},
    {"config", kClassConfig | kM},
    {"modify", kClassConfig | kM},
    {"password", kClassConfig | kM},
    {"resize", kClassConfig | kM},
    {"move", kClassConfig | kM},
    {"template", kClassConfig | kM},
    {"rollback", kClassConfig | kM},
    {"unlock", kClassConfig | kM},
    {"lock", kClassConfig | kM},  // tfa:lock (too many failed second factors)
    {"disk", kClassConfig | kM},
    {"sync", kClassConfig | kM},
    {"update", kM},
    {"service", kM},
    {"cancel", kM},
    {"migrate", kClassMigrate | kM},
    {"backup", kClassBackup | kM},
    {"console", kClassConsole},
    {"connect", kClassConsole},
    {"monitor", kClassConsole | kM},
    {"agent", kClassConsole | kM},
    {"read", kClassRead},
    {"ticket", kClassSession},
    {"renew", kClassSession},
};

// Every action the taxonomy produces. Sorted at first use.
constexpr std::string_view kKnown[] = {
    "login", "logout", "session:renew", "access:ticket", "access:vncticket", "access:read",
    "http:read", "http:request", "http:connect",
    // guests
    "vm:start", "vm:stop", "vm:shutdown", "vm:reboot", "vm:reset", "vm:suspend", "vm:resume",
    "vm:create", "vm:restore", "vm:delete", "vm:config", "vm:migrate", "vm:clone", "vm:snapshot",
    "vm:rollback", "vm:delsnapshot", "vm:backup", "vm:console", "vm:template", "vm:resize",
    "vm:move", "vm:read", "vm:monitor", "vm:agent", "vm:modify", "ct:start", "ct:stop",
    "ct:shutdown", "ct:reboot", "ct:reset", "ct:suspend", "ct:resume", "ct:create", "ct:restore",
    "ct:delete", "ct:config", "ct:migrate", "ct:clone", "ct:snapshot", "ct:rollback",
    "ct:delsnapshot", "ct:backup", "ct:console", "ct:template", "ct:resize", "ct:move", "ct:read",
    "ct:modify", "guest:backup", "guest:console", "guest:resize", "guest:start", "guest:stop",
    "guest:migrate",
    // nodes
    "node:power", "node:console", "node:config", "node:read", "node:update", "node:service",
    "node:disk", "node:migrate", "node:modify",
    // storage
    "storage:create", "storage:config", "storage:delete", "storage:upload", "storage:allocate",
    "storage:download", "storage:free", "storage:prune", "storage:read", "storage:modify",
    // access control
    "user:create", "user:modify", "user:delete", "user:read", "user:password", "group:create",
    "group:modify", "group:delete", "group:read", "role:create", "role:modify", "role:delete",
    "role:read", "acl:modify", "acl:read", "token:create", "token:modify", "token:delete",
    "token:read", "tfa:add", "tfa:modify", "tfa:remove", "tfa:read", "tfa:unlock", "tfa:lock",
    "realm:create", "realm:modify", "realm:delete", "realm:read", "realm:sync", "pool:create",
    "pool:modify", "pool:delete", "pool:read",
    // cluster, tasks
    "cluster:config", "cluster:read", "cluster:modify", "access:modify", "task:read", "task:cancel",
    "task:modify"};

// Object prefixes accepted by ActionMatches/IsKnownActionSpec. "guest"
// additionally covers vm:* and ct:* (see ActionMatches).
constexpr std::string_view kObjects[] = {
    "vm",  "ct",    "guest", "node",    "storage", "user",  "group",  "role",    "acl",    "token",
    "tfa", "realm", "pool",  "cluster", "task",    "login", "logout", "session", "access", "http"};
// pveaudit's own events: fired alerts (docs/alerts.md), changes of its
// settings (store/audited_setting.h) and the evidence it produced
// (audit:review, a quarterly review; audit:export, a monthly bundle;
// audit:log-review, a weekly log review; audit:archive and audit:purge,
// retention moving and deleting months, docs/retention.md;
// audit:certification-*, access certifications, and audit:compliance-report,
// docs/evidence.md).
constexpr std::string_view kOwnObjects[] = {"alert", "pveaudit", "audit"};
// Their actions, so `--action pveaudit:alert-ack` is not taken for a typo
// (not in KnownActions: they have no class). pveaudit-web's audit events are
// pveaudit:api-VERB and pveaudit:web-VERB with verbs of its own routes
// (the control socket checks the form): any lower-case verb is known.
constexpr std::string_view kOwnActions[] = {"alert:failed-login",
                                            "alert:brute-force-success",
                                            "alert:off-hours",
                                            "alert:action-rate",
                                            "alert:privilege-change",
                                            "alert:new-ip",
                                            "pveaudit:alert-add",
                                            "pveaudit:alert-remove",
                                            "pveaudit:alert-enable",
                                            "pveaudit:alert-disable",
                                            "pveaudit:alert-ack",
                                            "pveaudit:syslog-enable",
                                            "pveaudit:syslog-disable",
                                            "pveaudit:notify-enable",
                                            "pveaudit:notify-disable",
                                            "pveaudit:web-user-add",
                                            "pveaudit:web-user-remove",
                                            "pveaudit:web-token-add",
                                            "pveaudit:web-token-remove",
                                            "pveaudit:web-login",
                                            "pveaudit:api-read",
                                            "pveaudit:api-export",
                                            "pveaudit:api-change",
                                            "pveaudit:api-review",
                                            "audit:review",
                                            "audit:export",
                                            "audit:log-review",
                                            "pveaudit:exception-add",
                                            "pveaudit:exception-remove",
                                            "audit:archive",
                                            "audit:purge",
                                            "pveaudit:hold-add",
                                            "pveaudit:hold-remove",
                                            "audit:certification-start",
                                            "audit:certification-keep",
                                            "audit:certification-revoke",
                                            "audit:certification-complete",
                                            "audit:compliance-report"};
bool IsOwnApiOrWebAction(std::string_view a) {
  for (std::string_view p : {std::string_view("pveaudit:api-"), std::string_view("pveaudit:web-")})
    if (a.size() > p.size() && a.substr(0, p.size()) == p)
      return a.substr(p.size()).find_first_not_of("abcdefghijklmnopqrstuvwxyz-") ==
             std::string_view::npos;
  return false;
}

std::string_view VerbOf(std::string_view action) {
  size_t c = action.rfind(':');
  return c == std::string_view::npos ? std::string_view() : action.substr(c + 1);
}

std::string_view ObjectOf(std::string_view action) {
  size_t c = action.find(':');
  return c == std::string_view::npos ? action : action.substr(0, c);
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes one path segment; invalid escapes are kept literally.
std::string Decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int h = HexVal(s[i + 1]), l = HexVal(s[i + 2]);
      if (h >= 0 && l >= 0) {
        out.push_back(static_cast<char>(h * 16 + l));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Path split into decoded segments; empty segments ("//", trailing "/") dropped.
struct Segs {
  std::array<std::string, 8> s;
  size_t n = 0;  // number of segments (capped at 8; `more` set beyond)
  bool more = false;
  std::string_view operator[](size_t i) const { return i < n ? std::string_view(s[i]) : ""; }
};

Segs Split(std::string_view path) {
  Segs out;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    if (i >= path.size()) break;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (out.n < out.s.size()) {
      out.s[out.n++] = Decode(path.substr(i, j - i));
    } else {
      out.more = true;
    }
    i = j;
  }
  return out;
}

bool IsGet(std::string_view m) { return m == "GET" || m == "HEAD" || m == "OPTIONS"; }

ActionMapping Mk(std::string_view obj, std::string_view verb, std::string resource) {
  std::string a;
  a.reserve(obj.size() + 1 + verb.size());
  a.append(obj).append(":").append(verb);
  return ActionMapping{std::move(a), std::move(resource)};
}

ActionMapping Fallback(std::string_view obj, std::string_view method, std::string resource) {
  return Mk(obj, IsGet(method) ? "read" : "modify", std::move(resource));
}

// One ACL path component from a decoded URL segment: '/', whitespace and
// control bytes become '_', so a hostile URL ("%2F") cannot forge a resource
// outside its subtree or split a printed line.
std::string Clean(std::string_view id) {
  std::string out(id);
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '/' || u <= 0x20 || u == 0x7f) c = '_';
  }
  return out;
}

std::string Res(std::string_view prefix, std::string_view id) {
  if (id.empty()) return std::string(prefix);
  std::string r(prefix);
  r.push_back('/');
  r += Clean(id);
  return r;
}

// Pool ids may be nested ("a/b/c", sent as one %2F-encoded segment).
std::string PoolRes(std::string_view id) {
  std::string r = "/pool";
  size_t i = 0;
  while (i < id.size()) {
    size_t j = id.find('/', i);
    if (j == std::string_view::npos) j = id.size();
    if (j > i) {
      r.push_back('/');
      r += Clean(id.substr(i, j - i));
    }
    i = j + 1;
  }
  return r;
}

ActionMapping MapGuest(std::string_view obj, std::string_view m, const Segs& p) {
  // p: nodes {node} qemu|lxc {vmid} {sub} ...
  if (p.n == 3) {
    if (m == "POST") return Mk(obj, "create", "/vms");
    return Fallback(obj, m, "/vms");
  }
  std::string res = Res("/vms", p[3]);
  if (p.n == 4) {
    if (m == "DELETE") return Mk(obj, "delete", res);
    return Fallback(obj, m, res);
  }
  std::string_view sub = p[4];
  bool get = IsGet(m);
  if (sub == "status") {
    if (p.n == 6 && m == "POST") {
      std::string_view v = p[5];
      if (v == "start" || v == "stop" || v == "shutdown" || v == "reboot" || v == "reset" ||
          v == "suspend" || v == "resume")
        return Mk(obj, v, res);
    }
    return Fallback(obj, m, res);
  }
  if (sub == "config" || sub == "cloudinit" || sub == "firewall" || sub == "unlink" ||
      sub == "pending") {
    if (get) return Mk(obj, "read", res);
    return Mk(obj, "config", res);
  }
  if (sub == "migrate" || sub == "remote_migrate") {
    if (get) return Mk(obj, "read", res);
    return Mk(obj, "migrate", res);
  }
  if (sub == "clone" && m == "POST") return Mk(obj, "clone", res);
  if (sub == "template" && m == "POST") return Mk(obj, "template", res);
  if (sub == "resize" && !get) return Mk(obj, "resize", res);
  if ((sub == "move_disk" || sub == "move_volume" || sub == "move-disk") && !get)
    return Mk(obj, "move", res);
  if (sub == "vncproxy" || sub == "termproxy" || sub == "spiceproxy" || sub == "vncwebsocket" ||
      sub == "sendkey")
    return Mk(obj, "console", res);
  if (sub == "monitor" && !get) return Mk(obj, "monitor", res);
  if (sub == "agent") {
    if (get) return Mk(obj, "read", res);
    return Mk(obj, "agent", res);
  }
  if (sub == "snapshot") {
    if (p.n == 5) return m == "POST" ? Mk(obj, "snapshot", res) : Fallback(obj, m, res);
    if (p.n == 6) return m == "DELETE" ? Mk(obj, "delsnapshot", res) : Fallback(obj, m, res);
    if (p[6] == "rollback" && m == "POST") return Mk(obj, "rollback", res);
    if (p[6] == "config" && !get) return Mk(obj, "config", res);
    return Fallback(obj, m, res);
  }
  return Fallback(obj, m, res);
}

ActionMapping MapNodes(std::string_view m, const Segs& p) {
  if (p.n == 1) return Fallback("node", m, "/nodes");
  std::string nres = Res("/nodes", p[1]);
  if (p.n == 2) return Fallback("node", m, nres);
  std::string_view sub = p[2];
  bool get = IsGet(m);
  if (sub == "qemu") return MapGuest("vm", m, p);
  if (sub == "lxc") return MapGuest("ct", m, p);
  if (sub == "status") return get ? Mk("node", "read", nres) : Mk("node", "power", nres);
  if (sub == "termproxy" || sub == "vncshell" || sub == "spiceshell" || sub == "vncwebsocket")
    return Mk("node", "console", nres);
  if (sub == "startall" || sub == "stopall" || sub == "suspendall" || sub == "wakeonlan")
    return get ? Mk("node", "read", nres) : Mk("node", "power", nres);
  if (sub == "migrateall") return get ? Mk("node", "read", nres) : Mk("node", "migrate", nres);
  if (sub == "dns" || sub == "time" || sub == "hosts" || sub == "config" || sub == "network" ||
      sub == "certificates" || sub == "subscription" || sub == "firewall" || sub == "ceph" ||
      sub == "sdn" || sub == "hardware" || sub == "replication")
    return get ? Mk("node", "read", nres) : Mk("node", "config", nres);
  if (sub == "disks") return get ? Mk("node", "read", nres) : Mk("node", "disk", nres);
  if (sub == "apt") {
    if (p[3] == "update" && m == "POST") return Mk("node", "update", nres);
    return Fallback("node", m, nres);
  }
  if (sub == "services") return get ? Mk("node", "read", nres) : Mk("node", "service", nres);
  if (sub == "tasks") {
    if (m == "DELETE" && p.n >= 4) return Mk("task", "cancel", nres);
    return get ? Mk("task", "read", nres) : Mk("task", "modify", nres);
  }
  if (sub == "vzdump") {
    if (m == "POST") return Mk("guest", "backup", "/vms");
    return Fallback("node", m, nres);
  }
  if (sub == "storage") {
    if (p.n == 3) return Fallback("storage", m, "/storage");
    std::string sres = Res("/storage", p[3]);
    std::string_view s4 = p[4];
    if (s4 == "upload" && m == "POST") return Mk("storage", "upload", sres);
    if ((s4 == "download-url" || s4 == "oci-registry-pull") && m == "POST")
      return Mk("storage", "download", sres);
    if (s4 == "content") {
      if (m == "POST") return Mk("storage", "allocate", sres);
      if (m == "DELETE") return Mk("storage", "free", sres);
      return Fallback("storage", m, sres);
    }
    if (s4 == "prunebackups" && m == "DELETE") return Mk("storage", "prune", sres);
    return Fallback("storage", m, sres);
  }
  return Fallback("node", m, nres);
}

ActionMapping MapAccess(std::string_view m, const Segs& p) {
  bool get = IsGet(m);
  std::string_view sub = p[1];
  if (p.n == 1) return Fallback("access", m, "/access");
  if (sub == "ticket") {
    if (get) return Mk("access", "read", "/access");
    return Mk("access", "ticket", "/access");
  }
  if (sub == "vncticket") return Mk("access", "vncticket", "/access");
  if (sub == "openid")
    return get ? Mk("access", "read", "/access") : Mk("access", "ticket", "/access");
  if (sub == "password")
    return get ? Mk("user", "read", "/access") : Mk("user", "password", "/access");
  if (sub == "acl") return get ? Mk("acl", "read", "/access") : Mk("acl", "modify", "/access");
  if (sub == "permissions") return Mk("acl", "read", "/access");
  if (sub == "users") {
    if (p.n == 2)
      return m == "POST" ? Mk("user", "create", "/access/users")
                         : Fallback("user", m, "/access/users");
    std::string ures = Res("/access/users", p[2]);
    if (p.n == 3) {
      if (m == "PUT") return Mk("user", "modify", ures);
      if (m == "DELETE") return Mk("user", "delete", ures);
      return Fallback("user", m, ures);
    }
    std::string_view s3 = p[3];
    if (s3 == "token") {
      if (p.n == 4 || get) return Mk("token", "read", ures);
      if (m == "POST") return Mk("token", "create", ures);
      if (m == "PUT") return Mk("token", "modify", ures);
      if (m == "DELETE") return Mk("token", "delete", ures);
      return Fallback("token", m, ures);
    }
    if (s3 == "tfa") return get ? Mk("tfa", "read", ures) : Mk("tfa", "modify", ures);
    if (s3 == "unlock-tfa") return get ? Mk("tfa", "read", ures) : Mk("tfa", "unlock", ures);
    return Fallback("user", m, ures);
  }
  if (sub == "groups") {
    if (p.n == 2)
      return m == "POST" ? Mk("group", "create", "/access/groups")
                         : Fallback("group", m, "/access/groups");
    std::string gres = Res("/access/groups", p[2]);
    if (m == "PUT") return Mk("group", "modify", gres);
    if (m == "DELETE") return Mk("group", "delete", gres);
    return Fallback("group", m, gres);
  }
  if (sub == "roles") {
    if (p.n == 2)
      return m == "POST" ? Mk("role", "create", "/access") : Fallback("role", m, "/access");
    if (m == "PUT") return Mk("role", "modify", "/access");
    if (m == "DELETE") return Mk("role", "delete", "/access");
    return Fallback("role", m, "/access");
  }
  if (sub == "domains") {
    if (p.n == 2)
      return m == "POST" ? Mk("realm", "create", "/access/realm")
                         : Fallback("realm", m, "/access/realm");
    std::string rres = Res("/access/realm", p[2]);
    if (p.n == 3) {
      if (m == "PUT") return Mk("realm", "modify", rres);
      if (m == "DELETE") return Mk("realm", "delete", rres);
      return Fallback("realm", m, rres);
    }
    if (p[3] == "sync" && m == "POST") return Mk("realm", "sync", rres);
    return Fallback("realm", m, rres);
  }
  if (sub == "tfa") {
    if (p.n == 2) {
      // PVE 6 answered the TFA challenge with POST /access/tfa.
      return get ? Mk("tfa", "read", "/access") : Mk("access", "ticket", "/access");
    }
    std::string ures = Res("/access/users", p[2]);
    if (get) return Mk("tfa", "read", ures);
    if (p.n == 3) return m == "POST" ? Mk("tfa", "add", ures) : Mk("tfa", "modify", ures);
    if (m == "DELETE") return Mk("tfa", "remove", ures);
    return Mk("tfa", "modify", ures);
  }
  return Fallback("access", m, "/access");
}

ActionMapping MapPools(std::string_view m, const Segs& p) {
  if (p.n == 1) {
    if (m == "POST") return Mk("pool", "create", "/pool");
    if (m == "PUT") return Mk("pool", "modify", "/pool");
    if (m == "DELETE") return Mk("pool", "delete", "/pool");
    return Fallback("pool", m, "/pool");
  }
  std::string res = PoolRes(p[1]);
  if (m == "PUT") return Mk("pool", "modify", res);
  if (m == "DELETE") return Mk("pool", "delete", res);
  return Fallback("pool", m, res);
}

ActionMapping MapStorage(std::string_view m, const Segs& p) {
  if (p.n == 1) {
    if (m == "POST") return Mk("storage", "create", "/storage");
    return Fallback("storage", m, "/storage");
  }
  std::string res = Res("/storage", p[1]);
  if (m == "PUT") return Mk("storage", "config", res);
  if (m == "DELETE") return Mk("storage", "delete", res);
  return Fallback("storage", m, res);
}

ActionMapping MapCluster(std::string_view m, const Segs& p) {
  std::string res = "/";
  if (p[1] == "sdn") res = "/sdn";
  if (p[1] == "mapping") res = "/mapping";
  return IsGet(m) ? Mk("cluster", "read", res) : Mk("cluster", "config", res);
}

bool InList(std::string_view t, std::initializer_list<std::string_view> l) {
  return std::find(l.begin(), l.end(), t) != l.end();
}

const std::vector<std::string>& SortedKnown() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> r(std::begin(kKnown), std::end(kKnown));
    std::sort(r.begin(), r.end());
    r.erase(std::unique(r.begin(), r.end()), r.end());
    return r;
  }();
  return v;
}

}  // namespace

const std::vector<std::string_view>& ActionClassNames() {
  static const std::vector<std::string_view> names = {"login",  "power",   "create", "delete",
                                                      "config", "modify",  "read",   "console",
                                                      "backup", "migrate", "session"};
  return names;
}

uint32_t ActionClassFromName(std::string_view name) {
  const auto& n = ActionClassNames();
  for (size_t i = 0; i < n.size(); ++i) {
    if (n[i] == name) return 1u << i;
  }
  return 0;
}

uint32_t ActionClasses(std::string_view action) {
  if (action == "login" || action.substr(0, 6) == "login:") return kClassLogin;
  if (action == "logout" || action.substr(0, 8) == "session:") return kClassSession;
  if (action == "access:ticket" || action == "access:vncticket") return kClassSession;
  if (action == "http:request") return 0;
  std::string_view verb = VerbOf(action);
  if (verb.empty()) return 0;
  for (const auto& v : kVerbs) {
    if (v.verb == verb) return v.classes;
  }
  // task:<unknown type>: a worker task ran, which is a state change.
  if (ObjectOf(action) == "task") return kM;
  return 0;
}

std::string ActionClassList(std::string_view action) {
  uint32_t c = ActionClasses(action);
  std::string out;
  const auto& n = ActionClassNames();
  for (size_t i = 0; i < n.size(); ++i) {
    if (c & (1u << i)) {
      if (!out.empty()) out.push_back(',');
      out.append(n[i]);
    }
  }
  return out;
}

ActionMapping MapApiRequest(std::string_view method, std::string_view path) {
  size_t q = path.find('?');
  if (q != std::string_view::npos) path = path.substr(0, q);
  Segs p = Split(path);
  if (p.n == 0) return Mk("cluster", "read", "/");
  std::string_view top = p[0];
  if (top == "nodes") return MapNodes(method, p);
  if (top == "access") return MapAccess(method, p);
  if (top == "pools") return MapPools(method, p);
  if (top == "storage") return MapStorage(method, p);
  if (top == "cluster") return MapCluster(method, p);
  return Fallback("cluster", method, "/");
}

ActionMapping MapTask(std::string_view type, std::string_view id, std::string_view node) {
  std::string vres = Res("/vms", id);
  std::string nres = Res("/nodes", node);
  struct Row {
    std::string_view type, action;
  };
  // Guest tasks whose UPID type tells VM from container.
  static constexpr Row kGuest[] = {
      {"qmstart", "vm:start"},
      {"qmstop", "vm:stop"},
      {"qmshutdown", "vm:shutdown"},
      {"qmreboot", "vm:reboot"},
      {"qmreset", "vm:reset"},
      {"qmsuspend", "vm:suspend"},
      {"qmpause", "vm:suspend"},
      {"qmresume", "vm:resume"},
      {"qmcreate", "vm:create"},
      {"qmrestore", "vm:restore"},
      {"qmdestroy", "vm:delete"},
      {"qmconfig", "vm:config"},
      {"qmigrate", "vm:migrate"},
      {"qmtunnel", "vm:migrate"},
      {"qmclone", "vm:clone"},
      {"qmsnapshot", "vm:snapshot"},
      {"qmrollback", "vm:rollback"},
      {"qmdelsnapshot", "vm:delsnapshot"},
      {"qmtemplate", "vm:template"},
      {"qmmove", "vm:move"},
      {"vzstart", "ct:start"},
      {"vzstop", "ct:stop"},
      {"vzshutdown", "ct:shutdown"},
      {"vzreboot", "ct:reboot"},
      {"vzsuspend", "ct:suspend"},
      {"vzresume", "ct:resume"},
      {"vzcreate", "ct:create"},
      {"vzrestore", "ct:restore"},
      {"vzdestroy", "ct:delete"},
      {"vzmigrate", "ct:migrate"},
      {"vzmtunnel", "ct:migrate"},
      {"vzclone", "ct:clone"},
      {"vzsnapshot", "ct:snapshot"},
      {"vzrollback", "ct:rollback"},
      {"vzdelsnapshot", "ct:delsnapshot"},
      {"vztemplate", "ct:template"},
      {"move_volume", "ct:move"},
      {"vzmount", "ct:config"},
      {"vzumount", "ct:config"},
      // Types shared by VMs and containers: the UPID does not say which.
      {"vzdump", "guest:backup"},
      {"vncproxy", "guest:console"},
      {"resize", "guest:resize"},
      {"hastart", "guest:start"},
      {"hastop", "guest:stop"},
      {"hamigrate", "guest:migrate"},
  };
  for (const auto& r : kGuest) {
    if (r.type == type) return ActionMapping{std::string(r.action), vres};
  }
  if (InList(type, {"vncshell", "termproxy", "spiceshell", "spiceproxy"})) {
    if (!id.empty()) return ActionMapping{"guest:console", vres};
    return ActionMapping{"node:console", nres};
  }
  static constexpr Row kNode[] = {
      {"aptupdate", "node:update"},     {"startall", "node:power"},
      {"stopall", "node:power"},        {"suspendall", "node:power"},
      {"bulk-start", "node:power"},     {"bulk-shutdown", "node:power"},
      {"bulk-suspend", "node:power"},   {"migrateall", "node:migrate"},
      {"bulk-migrate", "node:migrate"}, {"srvstart", "node:service"},
      {"srvstop", "node:service"},      {"srvrestart", "node:service"},
      {"srvreload", "node:service"},    {"diskinit", "node:disk"},
      {"wipedisk", "node:disk"},        {"dircreate", "node:disk"},
      {"dirremove", "node:disk"},       {"lvmcreate", "node:disk"},
      {"lvmremove", "node:disk"},       {"lvmthincreate", "node:disk"},
      {"lvmthinremove", "node:disk"},   {"zfscreate", "node:disk"},
      {"zfsremove", "node:disk"},       {"reloadnetworkall", "node:config"},
  };
  for (const auto& r : kNode) {
    if (r.type == type) return ActionMapping{std::string(r.action), nres};
  }
  if (type.substr(0, 4) == "ceph") return ActionMapping{"node:config", nres};
  if (type == "clustercreate" || type == "clusterjoin") return ActionMapping{"cluster:config", "/"};
  if (type == "auth-realm-sync") return ActionMapping{"realm:sync", Res("/access/realm", id)};
  if (type == "auth-realm-sync-test") return ActionMapping{"realm:read", Res("/access/realm", id)};
  if (type == "download" || type == "ociregistrypull" || type == "pbs-download")
    return ActionMapping{"storage:download", Res("/storage", id)};
  if (type == "imgcopy") return ActionMapping{"storage:allocate", Res("/storage", id)};
  if (type == "unknownimgdel") return ActionMapping{"storage:free", Res("/storage", id)};
  std::string a = "task:";
  a += Clean(type);
  return ActionMapping{std::move(a), nres};
}

std::vector<std::string> KnownActions() { return SortedKnown(); }

bool IsKnownActionSpec(std::string_view spec) {
  if (ActionClassFromName(spec)) return true;
  for (auto o : kObjects) {
    if (o == spec) return true;
  }
  for (auto o : kOwnObjects)
    if (o == spec) return true;
  for (auto a : kOwnActions)
    if (a == spec) return true;
  if (IsOwnApiOrWebAction(spec)) return true;
  const auto& k = SortedKnown();
  return std::binary_search(k.begin(), k.end(), spec, std::less<>());
}

bool ActionMatches(std::string_view spec, std::string_view action) {
  if (spec.empty()) return false;
  if (spec == action) return true;
  if (spec.size() > 2 && spec.substr(spec.size() - 2) == ":*") spec.remove_suffix(2);
  if (spec.find(':') == std::string_view::npos) {
    std::string_view obj = ObjectOf(action);
    if (action.size() > obj.size() && obj == spec) return true;  // "vm" ~ "vm:*"
    if (spec == obj && spec == action) return true;
    if (spec == "guest" && (obj == "vm" || obj == "ct")) return true;
    uint32_t c = ActionClassFromName(spec);
    if (c && (ActionClasses(action) & c)) return true;
  }
  return false;
}

bool RequestCanStartTask(std::string_view request_action, std::string_view request_resource,
                         std::string_view task_action, std::string_view task_resource) {
  std::string_view ro = ObjectOf(request_action), to = ObjectOf(task_action);
  if (ro != to && !(to == "guest" && (ro == "vm" || ro == "ct"))) return false;
  std::string_view rv = VerbOf(request_action), tv = VerbOf(task_action);
  if (rv.empty() || (rv != tv && !(rv == "create" && tv == "restore"))) return false;
  if (request_resource == task_resource) return true;
  return request_resource == "/vms" && task_resource.size() > 5 &&
         task_resource.substr(0, 5) == "/vms/";
}

}  // namespace pveaudit

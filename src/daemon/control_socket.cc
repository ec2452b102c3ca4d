#include "daemon/control_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "admin/settings_ops.h"
#include "alert/alert_rule.h"
#include "core/event.h"
#include "core/time_spec.h"
#include "store/audited_setting.h"

namespace pveaudit {
namespace {

using Json = nlohmann::json;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A request that cannot be served: the reply's "error", and its "code".
struct Refusal {
  std::string message;
  std::string code = "invalid";
};

bool HasControl(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

// A name part of a Proxmox user id: realm, token id.
bool IsIdent(const std::string& s) {
  if (s.empty() || s.size() > 64 || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_')
      return false;
  return true;
}

// "name@realm" or "name@realm!token", as Proxmox spells user ids.
bool IsUserId(const std::string& u) {
  if (u.empty() || u.size() > 128 || HasControl(u)) return false;
  auto at = u.rfind('@');
  if (at == 0 || at == std::string::npos) return false;
  std::string name = u.substr(0, at), rest = u.substr(at + 1);
  if (name.find_first_of(" :") != std::string::npos) return false;
  auto bang = rest.find('!');
  if (bang == std::string::npos) return IsIdent(rest);
  return IsIdent(rest.substr(0, bang)) && IsIdent(rest.substr(bang + 1));
}

bool IsIp(const std::string& ip) {
  unsigned char b[16];
  return inet_pton(AF_INET, ip.c_str(), b) == 1 || inet_pton(AF_INET6, ip.c_str(), b) == 1;
}

// The web principal who asked, checked: who the audit event names.
Actor ActorOf(const Json& req) {
  if (!req.contains("actor") || !req["actor"].is_object())
    throw Refusal{"missing \"actor\": an object {\"user\": USERID, \"ip\": ADDRESS}"};
  const Json& a = req["actor"];
  for (auto it = a.begin(); it != a.end(); ++it)
    if (it.key() != "user" && it.key() != "ip")
      throw Refusal{"unknown key '" + it.key() + "' in \"actor\": expected user and ip"};
  if (!a.contains("user") || !a["user"].is_string() || !IsUserId(a["user"].get<std::string>()))
    throw Refusal{"invalid actor user " + (a.contains("user") ? a["user"].dump() : "(missing)") +
                  ": expected a Proxmox user id such as alice@pve or alice@pve!token"};
  if (!a.contains("ip") || !a["ip"].is_string() || !IsIp(a["ip"].get<std::string>()))
    throw Refusal{"invalid actor ip " + (a.contains("ip") ? a["ip"].dump() : "(missing)") +
                  ": expected the client's IPv4 or IPv6 address"};
  Actor actor;
  actor.user = a["user"].get<std::string>();
  actor.ip = CanonicalIp(a["ip"].get<std::string>());
  actor.via = "via pveaudit-web from " + actor.ip;
  return actor;
}

// The request's "params", with only the `allowed` keys.
const Json& Params(const Json& req, const std::set<std::string>& allowed) {
  static const Json kEmpty = Json::object();
  if (!req.contains("params")) return kEmpty;
  const Json& p = req["params"];
  if (!p.is_object()) throw Refusal{"\"params\" must be an object"};
  for (auto it = p.begin(); it != p.end(); ++it) {
    if (!allowed.count(it.key())) {
      std::string all;
      for (const auto& k : allowed) all += (all.empty() ? "" : ", ") + k;
      throw Refusal{"unknown parameter '" + it.key() + "' for " +
                    req["request"].get<std::string>() + " (expected: " + all + ")"};
    }
  }
  return p;
}

// A parameter as the CLI would have read it: text; a whole number is
// accepted for numeric options. Control characters are refused.
std::string Text(const Json& p, const std::string& key) {
  if (!p.contains(key) || p[key].is_null()) return "";
  const Json& v = p[key];
  std::string s;
  if (v.is_string())
    s = v.get<std::string>();
  else if (v.is_number_unsigned() || v.is_number_integer())
    s = v.dump();
  else
    throw Refusal{"invalid value " + v.dump() + " for '" + key + "': expected a string"};
  if (HasControl(s))
    throw Refusal{"invalid value " + v.dump() + " for '" + key +
                  "': control characters are not allowed"};
  if (s.size() > 4096) throw Refusal{"invalid value for '" + key + "': longer than 4096 bytes"};
  return s;
}

bool Flag(const Json& p, const std::string& key) {
  if (!p.contains(key)) return false;
  if (!p[key].is_boolean())
    throw Refusal{"invalid value " + p[key].dump() + " for '" + key + "': expected true or false"};
  return p[key].get<bool>();
}

// Files named over the socket are read by pveauditd, whose working
// directory means nothing to the web process: absolute paths only.
std::string AbsolutePath(const Json& p, const std::string& key) {
  std::string v = Text(p, key);
  if (!v.empty() && v[0] != '/')
    throw Refusal{"invalid value '" + v + "' for '" + key + "': expected an absolute path"};
  return v;
}

// A failed change: a bad value is the peer's; anything else the store's.
[[noreturn]] void Fail(const Status& st) {
  throw Refusal{st.message(), st.code() == Status::Code::kInvalidArgument ? "invalid" : "store"};
}

Json RuleJson(const AlertRule& r) { return Json::parse(AlertRuleToJson(r)); }

// The reply of every destination request (syslog/notify, enable/disable).
Json DestinationReply(const DestinationChange& c) {
  return {{"changed", c.changed},
          {"event_id", c.event_id},
          {"message", c.message},
          {"destination", c.destination}};
}

}  // namespace

ControlSocket::ControlSocket(EventStore& store, ControlSocketOptions options)
    : store_(store), o_(std::move(options)) {
  if (!o_.log) o_.log = [](const char*, const std::string&) {};
}

ControlSocket::~ControlSocket() { Stop(); }

ControlSocketStats ControlSocket::stats() const {
  return {requests_.load(), errors_.load(), refused_.load()};
}

Status ControlSocket::Start() {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (o_.path.empty() || o_.path.size() >= sizeof addr.sun_path)
    return Status::InvalidArgument("control socket path '" + o_.path +
                                   "' is empty or longer than 107 bytes");
  std::memcpy(addr.sun_path, o_.path.c_str(), o_.path.size());
  struct stat st;
  if (lstat(o_.path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return Status::InvalidArgument("control socket path '" + o_.path +
                                     "' exists and is not a socket");
    // A live pveauditd answers; a dead one's file is stale and replaced.
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = probe >= 0 && connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) close(probe);
    if (live) return Status::Busy("control socket " + o_.path + " is in use by another process");
    unlink(o_.path.c_str());
  }
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(o_.path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, ec) && mkdir(dir.c_str(), 0750) != 0)
    return Status::IOError("cannot create " + dir.string() + ": " + std::strerror(errno));
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) return Status::IOError(std::string("socket: ") + std::strerror(errno));
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    Status s = Status::IOError("cannot bind " + o_.path + ": " + std::strerror(errno));
    close(listen_fd_);
    listen_fd_ = -1;
    return s;
  }
  // 0660: connecting needs write permission, so only the owner and the
  // group (the web user's) reach the credential check at all.
  if (chmod(o_.path.c_str(), 0660) != 0 ||
      (o_.group != gid_t(-1) && chown(o_.path.c_str(), uid_t(-1), o_.group) != 0))
    o_.log("warning", "control socket " + o_.path +
                          ": cannot set mode 0660 and group: " + std::strerror(errno));
  if (listen(listen_fd_, 16) != 0 || pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    Status s = Status::IOError("cannot listen on " + o_.path + ": " + std::strerror(errno));
    close(listen_fd_);
    listen_fd_ = -1;
    unlink(o_.path.c_str());
    return s;
  }
  thread_ = std::thread([this] { Loop(); });
  return Status::OK();
}

void ControlSocket::Stop() {
  if (!thread_.joinable()) return;
  char c = 1;
  (void)!write(wake_[1], &c, 1);
  thread_.join();
  close(listen_fd_);
  close(wake_[0]);
  close(wake_[1]);
  listen_fd_ = wake_[0] = wake_[1] = -1;
  unlink(o_.path.c_str());
}

namespace {

struct Conn {
  int fd = -1;
  uid_t uid = 0;
  pid_t pid = 0;
  std::string buf;
  int64_t last_ms = 0;
};

// Writes all of `data` to the non-blocking `fd`, waiting up to 5 s for a
// slow reader. False when the peer is gone or too slow.
bool SendAll(int fd, std::string data) {
  size_t off = 0;
  const int64_t deadline = NowMs() + 5000;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int64_t left = deadline - NowMs();
      if (left <= 0) return false;
      pollfd p{fd, POLLOUT, 0};
      poll(&p, 1, int(left));
      continue;
    }
    return false;
  }
  return true;
}

std::string ErrorLine(const std::string& message, const std::string& code) {
  Json j = {{"ok", false}, {"error", message}, {"code", code}};
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace

void ControlSocket::Loop() {
  std::map<int, Conn> conns;
  int64_t last_refusal_log_ms = -1000000;
  uint64_t unlogged = 0;
  auto drop = [&](int fd) {
    close(fd);
    conns.erase(fd);
  };
  for (;;) {
    std::vector<pollfd> fds;
    fds.push_back({wake_[0], POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (auto& [fd, c] : conns) fds.push_back({fd, POLLIN, 0});
    int n = poll(fds.data(), fds.size(), 1000);
    if (n < 0 && errno != EINTR) {
      o_.log("error", std::string("control socket: poll: ") + std::strerror(errno));
      break;
    }
    if (fds[0].revents) break;  // Stop()
    if (fds[1].revents & POLLIN) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        ucred cred{};
        socklen_t len = sizeof cred;
        bool known = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
        bool allowed = known && (cred.uid == 0 || cred.uid == geteuid());
        for (uid_t u : o_.allowed) allowed |= known && cred.uid == u;
        if (!allowed) {
          ++refused_;
          // At most one line a second: a peer that retries in a loop must
          // not flood the journal; the count says how many were not logged.
          if (NowMs() - last_refusal_log_ms >= 1000) {
            o_.log("warning",
                   "control socket: refused a connection from uid " +
                       (known ? std::to_string(cred.uid) : std::string("?")) + " (pid " +
                       (known ? std::to_string(cred.pid) : std::string("?")) +
                       "): only root, pveauditd's user and the web user may connect" +
                       (unlogged ? " (" + std::to_string(unlogged) + " more refused before)"
                                 : std::string()));
            last_refusal_log_ms = NowMs();
            unlogged = 0;
          } else {
            ++unlogged;
          }
          SendAll(fd, ErrorLine("permission denied: uid " + std::to_string(cred.uid) +
                                    " may not use pveauditd's control socket",
                                "forbidden"));
          close(fd);
        } else if (conns.size() >= o_.max_connections) {
          ++refused_;
          o_.log("warning", "control socket: refused a connection: " +
                                std::to_string(o_.max_connections) + " are open");
          SendAll(fd, ErrorLine("too many connections; try again", "busy"));
          close(fd);
        } else {
          conns[fd] = Conn{fd, cred.uid, cred.pid, {}, NowMs()};
        }
      }
    }
    const int64_t now = NowMs();
    for (size_t i = 2; i < fds.size(); ++i) {
      const int fd = fds[i].fd;
      Conn& c = conns[fd];
      if (!fds[i].revents) {
        if (now - c.last_ms > o_.idle_timeout_ms) drop(fd);
        continue;
      }
      char buf[8192];
      ssize_t r = recv(fd, buf, sizeof buf, 0);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) {
        drop(fd);
        continue;
      }
      c.last_ms = now;
      c.buf.append(buf, size_t(r));
      bool closed = false;
      size_t start = 0;
      for (size_t nl; (nl = c.buf.find('\n', start)) != std::string::npos; start = nl + 1) {
        if (nl - start > o_.max_line) break;  // answered below
        std::string line = c.buf.substr(start, nl - start);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!SendAll(fd, Handle(line, c.uid, c.pid) + "\n")) {
          closed = true;
          break;
        }
      }
      if (closed) {
        drop(fd);
        continue;
      }
      c.buf.erase(0, start);
      // A line longer than the limit: the stream cannot be trusted to be
      // back in step, so it is answered and the connection closed.
      size_t nl = c.buf.find('\n');
      if ((nl == std::string::npos ? c.buf.size() : nl) > o_.max_line) {
        ++requests_;
        ++errors_;
        SendAll(fd, ErrorLine("request line longer than " + std::to_string(o_.max_line) +
                                  " bytes; connection closed",
                              "too-long"));
        drop(fd);
      }
    }
  }
  for (auto& [fd, c] : conns) close(fd);
}

std::string ControlSocket::Handle(const std::string& line, uid_t uid, pid_t pid) {
  ++requests_;
  Json id;
  Json reply;
  Json req = Json::parse(line, nullptr, false);
  try {
    if (req.is_discarded() || !req.is_object())
      throw Refusal{"malformed request: expected one JSON object per line"};
    if (req.contains("id")) id = req["id"];
    reply = Dispatch(req, uid, pid);
    reply["ok"] = true;
  } catch (const Refusal& r) {
    ++errors_;
    reply = {{"ok", false}, {"error", r.message}, {"code", r.code}};
  } catch (const std::exception& e) {  // a JSON type error the checks missed
    ++errors_;
    reply = {{"ok", false},
             {"error", std::string("malformed request: ") + e.what()},
             {"code", "invalid"}};
  }
  if (!id.is_null()) reply["id"] = id;
  return reply.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json ControlSocket::Dispatch(const Json& req, uid_t uid, pid_t pid) {
  (void)uid;
  (void)pid;
  for (auto it = req.begin(); it != req.end(); ++it)
    if (it.key() != "request" && it.key() != "id" && it.key() != "actor" && it.key() != "params")
      throw Refusal{"unknown key '" + it.key() + "': expected request, id, actor and params"};
  if (!req.contains("request") || !req["request"].is_string())
    throw Refusal{
        "missing \"request\": audit, rule-add, rule-remove, rule-enable, "
        "rule-disable, syslog-enable, syslog-disable, notify-enable, notify-disable or "
        "alert-ack"};
  const std::string what = req["request"].get<std::string>();
  Json reply = Json::object();
  if (what == "ping") {  // for a client's health check; writes nothing
    reply["pid"] = getpid();
    return reply;
  }
  if (what == "audit") {
    Actor actor = ActorOf(req);
    const Json& p = Params(req, {"action", "resource", "detail", "result", "status"});
    Event e;
    e.action = Text(p, "action");
    // The web process records API use only: it cannot forge a login, a
    // VM action or an alert under pveaudit's name.
    bool action_ok = e.action.size() <= 64 && (e.action.rfind("pveaudit:api-", 0) == 0 ||
                                               e.action.rfind("pveaudit:web-", 0) == 0);
    const size_t verb = e.action.find('-') + 1;
    action_ok &= verb < e.action.size() &&
                 e.action.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-", verb) ==
                     std::string::npos;
    if (!action_ok)
      throw Refusal{"invalid action '" + e.action +
                    "': expected pveaudit:api-VERB or pveaudit:web-VERB (lower case), e.g. "
                    "pveaudit:api-read"};
    e.resource = Text(p, "resource");
    if (e.resource.empty() || e.resource[0] != '/' || e.resource.size() > 512)
      throw Refusal{"invalid resource '" + e.resource +
                    "': expected a path such as /pveaudit/log (at most 512 bytes)"};
    std::string result = Text(p, "result");
    e.result = Outcome::kSuccess;
    if (!result.empty() && (!ParseOutcome(result, &e.result) || e.result == Outcome::kUnknown))
      throw Refusal{"invalid result '" + result + "': expected success or failure"};
    e.status = Text(p, "status");
    if (e.status.size() > 32) throw Refusal{"invalid status: longer than 32 bytes"};
    std::string detail = Text(p, "detail");
    e.detail = detail + (detail.empty() ? "" : " ") + "(" + actor.via + ")";
    e.time_us = NowUs();
    e.node = o_.node;
    e.user = actor.user;
    e.ip = actor.ip;
    e.source = "pveaudit-web";
    e.origin = "control-socket";
    std::vector<Event> events{std::move(e)};
    // Returns once the event is durable (GroupCommitStore): only then ok.
    if (Status st = store_.Append(&events, {}, nullptr); !st.ok()) Fail(st);
    reply["event_id"] = events.front().id;
    return reply;
  }
  if (what == "rule-add") {
    Actor actor = ActorOf(req);
    const Json& p =
        Params(req, {"type", "threshold", "window", "cooldown", "group-by", "notify", "user",
                     "node", "resource", "ip", "action", "start", "end", "days"});
    AlertRuleOptions o;
    o.type = Text(p, "type");
    o.threshold = Text(p, "threshold");
    o.window = Text(p, "window");
    o.cooldown = Text(p, "cooldown");
    o.group_by = Text(p, "group-by");
    o.notify = Text(p, "notify");
    o.user = Text(p, "user");
    o.node = Text(p, "node");
    o.resource = Text(p, "resource");
    o.ip = Text(p, "ip");
    o.action = Text(p, "action");
    o.start = Text(p, "start");
    o.end = Text(p, "end");
    o.days = Text(p, "days");
    auto c = AddAlertRule(store_, actor, o_.node, o);
    if (!c.ok()) Fail(c.status());
    reply = {{"changed", c->changed}, {"event_id", c->event_id}, {"rule", RuleJson(c->rule)}};
    return reply;
  }
  if (what == "rule-remove" || what == "rule-enable" || what == "rule-disable") {
    Actor actor = ActorOf(req);
    const Json& p = Params(req, {"id"});
    auto c = ChangeAlertRule(store_, actor, o_.node, what.substr(5), Text(p, "id"));
    if (!c.ok()) Fail(c.status());
    reply = {{"changed", c->changed}, {"event_id", c->event_id}, {"rule", RuleJson(c->rule)}};
    return reply;
  }
  if (what == "syslog-enable") {
    Actor actor = ActorOf(req);
    const Json& p = Params(req, {"name", "server", "port", "protocol", "format", "events", "ca",
                                 "cert", "key", "hold", "from-start"});
    SyslogEnableOptions o;
    if (p.contains("name")) o.name = Text(p, "name");
    o.server = Text(p, "server");
    o.port = Text(p, "port");
    o.protocol = Text(p, "protocol");
    o.format = Text(p, "format");
    o.events = Text(p, "events");
    o.ca = AbsolutePath(p, "ca");
    o.cert = AbsolutePath(p, "cert");
    o.key = AbsolutePath(p, "key");
    o.hold = Text(p, "hold");
    o.from_start = Flag(p, "from-start");
    auto c = EnableSyslog(store_, actor, o_.node, o);
    if (!c.ok()) Fail(c.status());
    reply = DestinationReply(*c);
    return reply;
  }
  if (what == "notify-enable") {
    Actor actor = ActorOf(req);
    const Json& p = Params(
        req, {"name", "webhook", "events", "secret", "batch", "template", "ca", "allow-http"});
    WebhookEnableOptions o;
    if (p.contains("name")) o.name = Text(p, "name");
    o.url = Text(p, "webhook");
    if (o.url.empty()) throw Refusal{"missing parameter 'webhook': the URL to POST events to"};
    o.events = Text(p, "events");
    o.secret = Text(p, "secret");
    o.batch = Text(p, "batch");
    o.template_spec = Text(p, "template");
    if (o.template_spec.find('/') != std::string::npos)
      o.template_spec = AbsolutePath(p, "template");
    o.ca = AbsolutePath(p, "ca");
    o.allow_http = Flag(p, "allow-http");
    auto c = EnableWebhook(store_, actor, o_.node, o);
    if (!c.ok()) Fail(c.status());
    reply = DestinationReply(*c);
    return reply;
  }
  if (what == "syslog-disable" || what == "notify-disable") {
    Actor actor = ActorOf(req);
    const Json& p = Params(req, {"name"});
    std::string name = p.contains("name") ? Text(p, "name") : "default";
    if (Status st = CheckDestinationName(name); !st.ok()) Fail(st);
    auto c = what == "syslog-disable" ? DisableSyslog(store_, actor, o_.node, name)
                                      : DisableWebhook(store_, actor, o_.node, name);
    if (!c.ok()) Fail(c.status());
    reply = DestinationReply(*c);
    return reply;
  }
  if (what == "alert-ack") {
    Actor actor = ActorOf(req);
    const Json& p = Params(req, {"id", "comment"});
    auto r = AckAlert(store_, actor, o_.node, Text(p, "id"), Text(p, "comment"), o_.ack_lock);
    if (!r.ok()) Fail(r.status());
    // Acknowledged before: refused with code "conflict", naming whom by.
    if (!r->acknowledged)
      throw Refusal{"alert " + std::to_string(r->ack.alert_id) + " was already acknowledged by " +
                        r->ack.by + " at " + FormatRfc3339Utc(r->ack.time_us) + " (event " +
                        std::to_string(r->ack.event_id) + ")",
                    "conflict"};
    reply = {{"event_id", r->ack.event_id}, {"acknowledged", AlertAckJson(&r->ack)}};
    return reply;
  }
  throw Refusal{"unknown request '" + what +
                "': expected audit, rule-add, rule-remove, rule-enable, rule-disable, "
                "syslog-enable, syslog-disable, notify-enable, notify-disable or alert-ack"};
}

ControlSocketOptions ControlSocketOptionsFor(
    const Config& c, const std::string& data_dir, const std::string& node,
    std::function<void(const char*, const std::string&)> log) {
  ControlSocketOptions o;
  o.path = c.control_socket.empty() ? data_dir + "/control.sock" : c.control_socket;
  o.node = node;
  o.ack_lock = AlertAckLockFile(data_dir);
  o.log = std::move(log);
  if (!c.control_socket_user.empty()) {
    passwd pw{}, *found = nullptr;
    std::vector<char> buf(16384);
    if (getpwnam_r(c.control_socket_user.c_str(), &pw, buf.data(), buf.size(), &found) == 0 &&
        found) {
      o.allowed.push_back(found->pw_uid);
      if (geteuid() == 0) o.group = found->pw_gid;
    }
  }
  return o;
}

}  // namespace pveaudit

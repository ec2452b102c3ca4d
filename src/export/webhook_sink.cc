// The HTTP client here is written against OpenSSL directly rather than with
// cpp-httplib: Debian 12 ships cpp-httplib 0.11.4 as a shared library
// (libcpp-httplib.so, built against the shared libssl and libstdc++), not
// header-only, while pveauditd and pveam link OpenSSL and libstdc++
// statically (top-level CMakeLists.txt); linking it would load a second
// OpenSSL into the process. One POST per connection (Connection: close)
// keeps the client small: a batch is one request, and reading the status
// line and headers is all the sink needs from the answer.
#include "export/webhook_sink.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include "core/event_json.h"
#include "core/time_spec.h"
#include "export/connect.h"

namespace pveaudit {
namespace {

constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kErrorBodyBytes = 200;  // of a refusal's answer, in the error
constexpr size_t kMaxTemplateBytes = 64 * 1024;
constexpr int64_t kMaxRetryAfterUs = 3600LL * 1000000;
constexpr size_t kTextLines = 50;  // events listed in a chat message's text

std::string Lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// JSON text of `s` without its quotes; invalid UTF-8 becomes U+FFFD.
std::string JsonEscape(const std::string& s) {
  std::string q = nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return q.substr(1, q.size() - 2);
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Printable text of an answer for an error message.
std::string Printable(const std::string& s) {
  std::string out;
  for (char c : s) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  return out;
}

struct ParsedUrl {
  bool https = true;
  std::string host;
  int port = 0;
  std::string target;
};

Result<ParsedUrl> ParseUrl(const std::string& url) {
  auto bad = [&](const std::string& why) { return Status::InvalidArgument(why); };
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return bad("it holds a space or control character");
  ParsedUrl u;
  const std::string lower = Lower(url);
  size_t rest;
  if (lower.rfind("https://", 0) == 0) {
    u.https = true;
    rest = 8;
  } else if (lower.rfind("http://", 0) == 0) {
    u.https = false;
    rest = 7;
  } else {
    return bad("expected https://HOST[:PORT]/PATH");
  }
  size_t end = url.find_first_of("/?#", rest);
  std::string authority = url.substr(rest, end == std::string::npos ? end : end - rest);
  std::string target = end == std::string::npos ? "/" : url.substr(end);
  if (auto hash = target.find('#'); hash != std::string::npos) target.resize(hash);
  if (target.empty() || target[0] == '?') target = "/" + target;
  if (authority.find('@') != std::string::npos)
    return bad("user name or password in the URL are not supported");
  std::string port_text;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return bad("unclosed '[' in the host");
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("expected ':PORT' after ']'");
      port_text = authority.substr(close + 2);
      if (port_text.empty()) return bad("empty port");
    }
  } else {
    size_t colon = authority.find(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
    }
  }
  if (u.host.empty()) return bad("no host");
  u.port = u.https ? 443 : 80;
  if (!port_text.empty()) {
    if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(port_text) < 1 || std::stoi(port_text) > 65535)
      return bad("port '" + port_text + "' is not a number from 1 to 65535");
    u.port = std::stoi(port_text);
  }
  u.target = target;
  return u;
}

bool IsIpLiteral(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

// Internal: export/syslog_sink.h declares the public pair; the webhook
// sink does not depend on the syslog sink.
const char* SelectionName(EventSelection s) {
  switch (s) {
    case EventSelection::kAll:
      return "all";
    case EventSelection::kAlerts:
      return "alerts";
    case EventSelection::kFailed:
      return "failed";
  }
  return "all";
}

bool ParseSelection(const std::string& s, EventSelection* out) {
  if (s == "all")
    *out = EventSelection::kAll;
  else if (s == "alerts")
    *out = EventSelection::kAlerts;
  else if (s == "failed")
    *out = EventSelection::kFailed;
  else
    return false;
  return true;
}

// ---- templates ----

const std::map<std::string, std::string>& Builtins() {
  // Gotify: POST /message?token=APPTOKEN. ntfy: JSON publishing to the
  // server root with the topic in the body (taken from the URL's last path
  // segment). Slack, Mattermost and Teams incoming webhooks take {"text"}.
  static const std::map<std::string, std::string> m = {
      {"gotify", R"({"title": "{{title}}", "message": "{{text}}", "priority": {{priority}}})"},
      {"ntfy", R"({"topic": "{{topic}}", "title": "{{title}}", "message": "{{text}}", )"
               R"("priority": {{priority}}})"},
      {"slack", R"({"text": "*{{title}}*\n{{text}}"})"},
  };
  return m;
}

const std::vector<std::string>& PlaceholderNames() {
  static const std::vector<std::string> v = {
      "title",   "text",        "count",           "failed", "alerts", "first_id",
      "last_id", "destination", "idempotency_key", "topic",  "events", "priority"};
  return v;
}

// Checks every {{name}} of `text` is known; the first unknown one is named.
Status CheckPlaceholders(const std::string& text, const std::string& where) {
  size_t p = 0;
  while ((p = text.find("{{", p)) != std::string::npos) {
    size_t q = text.find("}}", p + 2);
    if (q == std::string::npos)
      return Status::InvalidArgument("template " + where + ": '{{' without '}}'");
    std::string name = text.substr(p + 2, q - p - 2);
    const auto& names = PlaceholderNames();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      return Status::InvalidArgument("template " + where + ": unknown placeholder '{{" + name +
                                     "}}' (known: " + list + ")");
    }
    p = q + 2;
  }
  return Status::OK();
}

std::string OneLine(const Event& e) {
  std::string line = FormatRfc3339Utc(e.time_us) + " " + (e.node.empty() ? "-" : e.node) + " " +
                     (e.user.empty() ? "-" : e.user) + " " + e.action;
  if (!e.resource.empty()) line += " " + e.resource;
  line += " " + std::string(OutcomeName(e.result));
  if (!e.ip.empty()) line += " from " + e.ip;
  return line;
}

std::string LastPathSegment(const std::string& target) {
  std::string path = target.substr(0, target.find('?'));
  while (!path.empty() && path.back() == '/') path.pop_back();
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string RenderTemplate(const WebhookConfig& c, std::span<const Event> batch,
                           const std::string& key) {
  size_t failed = 0, alerts = 0;
  for (const Event& e : batch) {
    if (e.result == Outcome::kFailure) ++failed;
    if (e.action.rfind("alert:", 0) == 0) ++alerts;
  }
  std::string title;
  if (batch.size() == 1) {
    title = std::string(alerts ? "pveaudit alert: " : "pveaudit: ") + batch[0].action + " " +
            std::string(OutcomeName(batch[0].result)) + " by " +
            (batch[0].user.empty() ? "-" : batch[0].user);
  } else {
    title = std::string(alerts ? "pveaudit alert: " : "pveaudit: ") + std::to_string(batch.size()) +
            " access events";
    if (failed) title += ", " + std::to_string(failed) + " failed";
    if (alerts) title += ", " + std::to_string(alerts) + " alerts";
  }
  std::string text;
  for (size_t i = 0; i < batch.size() && i < kTextLines; ++i) {
    if (i) text += '\n';
    text += OneLine(batch[i]);
  }
  if (batch.size() > kTextLines)
    text += "\n... and " + std::to_string(batch.size() - kTextLines) + " more";
  nlohmann::json events = nlohmann::json::array();
  for (const Event& e : batch) events.push_back(EventToJson(e));
  std::map<std::string, std::string> values = {
      {"title", JsonEscape(title)},
      {"text", JsonEscape(text)},
      {"count", std::to_string(batch.size())},
      {"failed", std::to_string(failed)},
      {"alerts", std::to_string(alerts)},
      {"first_id", std::to_string(batch.front().id)},
      {"last_id", std::to_string(batch.back().id)},
      {"destination", JsonEscape(c.name)},
      {"idempotency_key", JsonEscape(key)},
      {"topic", JsonEscape(LastPathSegment(c.target))},
      {"events", Dump(events)},
      // Alerts and failures stand out in a chat tool (Gotify/ntfy 1-10/1-5).
      {"priority", alerts   ? "5"
                   : failed ? "4"
                            : "3"},
  };
  std::string out;
  const std::string& t = c.template_text;
  size_t p = 0;
  while (true) {
    size_t open = t.find("{{", p);
    if (open == std::string::npos) break;
    size_t close = t.find("}}", open + 2);
    if (close == std::string::npos) break;  // CheckPlaceholders refused it
    out.append(t, p, open - p);
    out += values[t.substr(open + 2, close - open - 2)];
    p = close + 2;
  }
  out.append(t, p, std::string::npos);
  return out;
}

// ---- HTTP over TCP or TLS ----

// Blocks SIGPIPE in this thread while writing to a socket the peer may have
// closed (OpenSSL writes with write(2), which has no MSG_NOSIGNAL), and
// swallows a SIGPIPE raised meanwhile: the sink must not kill its process
// nor change the process's signal dispositions.
class ScopedNoSigpipe {
 public:
  ScopedNoSigpipe() {
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old_);
  }
  ~ScopedNoSigpipe() {
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        sigset_t only;
        sigemptyset(&only);
        sigaddset(&only, SIGPIPE);
        timespec zero{0, 0};
        while (sigtimedwait(&only, nullptr, &zero) == -1 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t old_;
  bool was_pending_ = false;
};

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (!e) return "";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

struct HttpAnswer {
  int status = 0;
  std::string retry_after;
  std::string body_start;  // the first bytes of the body (refusals)
};

class WebhookSink : public Sink {
 public:
  explicit WebhookSink(WebhookConfig c) : c_(std::move(c)) {
    if (c_.template_spec == "ntfy") {
      // JSON publishing goes to the server's root (kept when ntfy is
      // behind a path prefix), the topic in the body; the query (auth=) stays.
      const std::string path = c_.target.substr(0, c_.target.find('?'));
      const std::string query =
          c_.target.find('?') == std::string::npos ? "" : c_.target.substr(c_.target.find('?'));
      std::string dir = path;
      while (!dir.empty() && dir.back() == '/') dir.pop_back();
      target_ = dir.substr(0, dir.rfind('/') + 1) + query;
      if (target_.empty() || target_[0] != '/') target_ = "/" + target_;
    } else {
      target_ = c_.target;
    }
    where_ = "webhook " + c_.name + " (" + UrlForLogs(c_.url) + ")";
  }
  ~WebhookSink() override {
    if (ctx_) SSL_CTX_free(ctx_);
  }

  Status Init() {
    if (!c_.https) return Status::OK();
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) return Status::Internal("TLS: " + OpenSslError());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    // A private CA replaces the system's: the destination is known.
    int ok = c_.ca.empty() ? SSL_CTX_set_default_verify_paths(ctx_)
                           : SSL_CTX_load_verify_locations(ctx_, c_.ca.c_str(), nullptr);
    if (ok != 1)
      return Status::InvalidArgument("cannot load CA certificates" +
                                     (c_.ca.empty() ? std::string() : " from '" + c_.ca + "'") +
                                     ": " + OpenSslError());
    return Status::OK();
  }

  Status Deliver(std::span<const Event> batch) override {
    retry_after_us_ = 0;
    if (batch.empty()) return Status::OK();
    const std::string key = WebhookIdempotencyKey(c_.name, batch.front().id, batch.back().id);
    auto body = RenderWebhookBody(c_, batch);
    if (!body.ok()) return body.status();
    std::string req =
        "POST " + target_ + " HTTP/1.1\r\nHost: " + HostHeader() +
        "\r\nUser-Agent: pveaudit\r\nContent-Type: application/json\r\nAccept: */*\r\n"
        "Connection: close\r\nIdempotency-Key: " +
        key + "\r\nContent-Length: " + std::to_string(body->size()) + "\r\n";
    if (!c_.secret.empty())
      req += "X-Pveaudit-Signature: sha256=" + HmacSha256Hex(c_.secret, *body) + "\r\n";
    req += "\r\n";
    req += *body;
    HttpAnswer answer;
    Status st = Exchange(req, &answer);
    Close();
    if (!st.ok()) return st;
    const int s = answer.status;
    if (s >= 200 && s < 300) return Status::OK();
    if (!answer.retry_after.empty()) {
      int64_t us = ParseRetryAfter(answer.retry_after, NowUs());
      if (us > 0) retry_after_us_ = us;
    }
    std::string msg = where_ + ": HTTP " + std::to_string(s);
    if (!answer.body_start.empty()) msg += ": " + Printable(answer.body_start);
    if (s == 408 || s == 429 || s == 503) return Status::Busy(msg);
    if (s >= 500) return Status::IOError(msg);
    return Status::InvalidArgument(msg + " (refused)");
  }

  int64_t RetryAfterUs() const override { return retry_after_us_; }
  void Reset() override { Close(); }
  void SetCancel(const std::atomic<bool>* cancel) override { cancel_ = cancel; }

  std::string Describe() const override {
    std::string d = "webhook " + c_.name + " " + UrlForLogs(c_.url) + " (" +
                    SelectionName(c_.events) + (c_.secret.empty() ? "" : ", signed");
    if (!c_.template_spec.empty()) d += ", template";
    return d + ")";
  }

 private:
  std::string HostHeader() const {
    std::string h = c_.host.find(':') != std::string::npos ? "[" + c_.host + "]" : c_.host;
    if (c_.port != (c_.https ? 443 : 80)) h += ":" + std::to_string(c_.port);
    return h;
  }

  void Close() {
    if (ssl_) {
      SSL_free(ssl_);
      ssl_ = nullptr;
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  Status Connect() {
    ConnectOptions o;
    o.timeout_ms = c_.timeout_ms;
    o.io_timeout_ms = c_.timeout_ms;
    o.no_delay = true;
    o.cancel = cancel_;
    auto fd = ConnectSocket(c_.host, c_.port, o);
    if (!fd.ok()) return Status::IOError(where_ + ": " + fd.status().message());
    fd_ = *fd;
    if (!c_.https) return Status::OK();
    ssl_ = SSL_new(ctx_);
    if (!ssl_) return Status::Internal(where_ + ": TLS: " + OpenSslError());
    SSL_set_fd(ssl_, fd_);
    if (IsIpLiteral(c_.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), c_.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_, c_.host.c_str());
      SSL_set1_host(ssl_, c_.host.c_str());
    }
    ERR_clear_error();
    if (SSL_connect(ssl_) != 1) {
      long v = SSL_get_verify_result(ssl_);
      if (v != X509_V_OK)  // a refusal: retrying will not make it verify
        return Status::InvalidArgument(
            where_ +
            ": the server's certificate does not verify: " + X509_verify_cert_error_string(v) +
            (c_.ca.empty() ? " (a private CA? give it with --ca FILE)" : ""));
      std::string e = OpenSslError();
      return Status::IOError(where_ + ": TLS handshake failed" + (e.empty() ? "" : ": " + e));
    }
    return Status::OK();
  }

  Status WriteAll(const std::string& data) {
    ScopedNoSigpipe guard;
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n;
      if (ssl_) {
        n = SSL_write(ssl_, data.data() + done, int(std::min<size_t>(data.size() - done, 1 << 20)));
        if (n <= 0) {
          ERR_clear_error();
          return Status::IOError(where_ + ": sending failed (connection closed or timed out)");
        }
      } else {
        n = send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
          return Status::IOError(
              where_ + ": sending failed: " +
              (errno == EAGAIN ? std::string("timed out") : std::strerror(errno)));
      }
      done += size_t(n);
    }
    return Status::OK();
  }

  // Appends what arrives to `buf`; 0 at the end of the answer, -1 on error.
  ssize_t ReadSome(std::string* buf) {
    char tmp[8192];
    ssize_t n;
    if (ssl_) {
      errno = 0;  // tells a bare EOF (below) from a timeout or reset
      n = SSL_read(ssl_, tmp, sizeof tmp);
      if (n <= 0) {
        read_errno_ = errno;
        int err = SSL_get_error(ssl_, int(n));
        ERR_clear_error();
        // A peer that closes without close_notify still ended its answer.
        if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0)) return 0;
        return -1;
      }
    } else {
      do {
        n = recv(fd_, tmp, sizeof tmp, 0);
      } while (n < 0 && errno == EINTR);
      if (n < 0) read_errno_ = errno;
      if (n <= 0) return n;
    }
    buf->append(tmp, size_t(n));
    return n;
  }

  // A read that failed: a timeout (SO_RCVTIMEO), or the peer went away.
  Status NoAnswer() const {
    if (read_errno_ == EAGAIN || read_errno_ == EWOULDBLOCK)
      return Status::IOError(where_ + ": no answer within " + std::to_string(c_.timeout_ms) +
                             " ms");
    return Status::IOError(where_ + ": no answer (connection reset)");
  }

  Status Exchange(const std::string& req, HttpAnswer* a) {
    // Each read is bounded by the socket timeout; this bounds a peer that
    // trickles its answer a byte at a time.
    const int64_t deadline = NowUs() + int64_t(c_.timeout_ms) * 3000;
    PVEAUDIT_RETURN_IF_ERROR(Connect());
    PVEAUDIT_RETURN_IF_ERROR(WriteAll(req));
    std::string buf;
    size_t head_end;
    while (true) {
      while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (buf.size() > kMaxHeaderBytes)
          return Status::IOError(where_ + ": the answer's headers exceed 64 KiB");
        if (NowUs() > deadline) return Status::IOError(where_ + ": the answer is too slow");
        ssize_t n = ReadSome(&buf);
        if (n == 0) return Status::IOError(where_ + ": the connection closed before an answer");
        if (n < 0) return NoAnswer();
      }
      // Status line: HTTP/1.x NNN reason
      if (buf.rfind("HTTP/", 0) != 0 || buf.size() < 12 || buf[8] != ' ' ||
          !std::isdigit(static_cast<unsigned char>(buf[9])))
        return Status::IOError(where_ + ": not an HTTP answer: " +
                               Printable(buf.substr(0, std::min<size_t>(buf.size(), 40))));
      a->status = std::atoi(buf.c_str() + 9);
      if (a->status >= 200 || a->status < 100) break;
      buf.erase(0, head_end + 4);  // 1xx: the real answer follows
    }
    long long length = -1;
    bool chunked = false;
    std::istringstream headers(buf.substr(0, head_end));
    std::string line;
    std::getline(headers, line);
    while (std::getline(headers, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = Lower(line.substr(0, colon));
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      value.erase(value.find_last_not_of(" \t") + 1);
      if (name == "retry-after") a->retry_after = value;
      if (name == "content-length") length = std::atoll(value.c_str());
      if (name == "transfer-encoding" && Lower(value).find("chunked") != std::string::npos)
        chunked = true;
    }
    if (a->status >= 200 && a->status < 300) return Status::OK();
    // A refusal: keep the start of its body for the error message.
    std::string body = buf.substr(head_end + 4);
    const size_t want =
        chunked ? kErrorBodyBytes + 16
                : std::min<size_t>(length < 0 ? kErrorBodyBytes : size_t(length), kErrorBodyBytes);
    while (body.size() < want && NowUs() < deadline && ReadSome(&body) > 0) {
    }
    if (chunked) {  // drop the first chunk-size line
      auto eol = body.find("\r\n");
      body = eol == std::string::npos ? std::string() : body.substr(eol + 2);
    }
    a->body_start = body.substr(0, kErrorBodyBytes);
    return Status::OK();
  }

  WebhookConfig c_;
  std::string target_;
  std::string where_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  const std::atomic<bool>* cancel_ = nullptr;  // the export loop's stop flag
  int64_t retry_after_us_ = 0;
  int read_errno_ = 0;
};

}  // namespace

std::vector<std::string> BuiltinTemplateNames() {
  std::vector<std::string> v;
  for (const auto& [name, text] : Builtins()) v.push_back(name);
  return v;
}

std::string UrlForLogs(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return "(not a URL)";
  auto end = url.find_first_of("/?#", scheme + 3);
  std::string authority = url.substr(0, end);
  // Never a user:password@ part.
  auto at = authority.find('@', scheme + 3);
  if (at != std::string::npos) authority.erase(scheme + 3, at + 1 - (scheme + 3));
  return authority + (end == std::string::npos ? "" : "/...");
}

Status CheckWebhookUrl(const std::string& url, bool allow_http) {
  auto u = ParseUrl(url);
  if (!u.ok()) return u.status();
  if (!u->https && !allow_http)
    return Status::InvalidArgument(
        "plain http refused: events would travel unencrypted and unauthenticated; use "
        "https://, or allow it for a receiver on this host or a trusted network with "
        "--allow-http");
  return Status::OK();
}

Result<WebhookConfig> ParseWebhookConfig(const nlohmann::json& d) {
  if (!d.is_object()) return Status::InvalidArgument("a webhook destination must be a JSON object");
  WebhookConfig c;
  auto str = [&](const char* key, std::string* out) -> Status {
    if (!d.contains(key) || d[key].is_null()) return Status::OK();
    if (!d[key].is_string())
      return Status::InvalidArgument(std::string("webhook '") + key + "' must be a string");
    *out = d[key].get<std::string>();
    return Status::OK();
  };
  auto boolean = [&](const char* key, bool* out) -> Status {
    if (!d.contains(key) || d[key].is_null()) return Status::OK();
    if (!d[key].is_boolean())
      return Status::InvalidArgument(std::string("webhook '") + key + "' must be true or false");
    *out = d[key].get<bool>();
    return Status::OK();
  };
  PVEAUDIT_RETURN_IF_ERROR(str("name", &c.name));
  if (c.name.empty() || c.name.size() > 64 ||
      c.name.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != std::string::npos)
    return Status::InvalidArgument("invalid webhook name '" + c.name +
                                   "': expected 1-64 letters, digits, '-', '_' or '.'");
  PVEAUDIT_RETURN_IF_ERROR(str("url", &c.url));
  if (c.url.empty()) return Status::InvalidArgument("webhook '" + c.name + "' has no url");
  PVEAUDIT_RETURN_IF_ERROR(boolean("allow_http", &c.allow_http));
  PVEAUDIT_RETURN_IF_ERROR(boolean("enabled", &c.enabled));
  if (Status st = CheckWebhookUrl(c.url, c.allow_http); !st.ok())
    return Status::InvalidArgument("invalid webhook URL '" + UrlForLogs(c.url) +
                                   "': " + st.message());
  auto url = ParseUrl(c.url);
  c.https = url->https;
  c.host = url->host;
  c.port = url->port;
  c.target = url->target;
  std::string events = "all";
  PVEAUDIT_RETURN_IF_ERROR(str("events", &events));
  if (!ParseSelection(events, &c.events))
    return Status::InvalidArgument("invalid value '" + events +
                                   "' for events: expected all, alerts or failed");
  PVEAUDIT_RETURN_IF_ERROR(str("secret", &c.secret));
  if (c.secret == kSecretMask)
    return Status::NotFound("webhook '" + c.name +
                            "': its secret is missing from the store; set it again with "
                            "pveam access notify --webhook URL --name " +
                            c.name + " --secret-file FILE");
  if (d.contains("batch") && !d["batch"].is_null()) {
    if (!d["batch"].is_number_integer() || d["batch"].get<int64_t>() < 1 ||
        d["batch"].get<int64_t>() > kWebhookMaxBatch)
      return Status::InvalidArgument("invalid value '" + Dump(d["batch"]) +
                                     "' for batch: expected a whole number from 1 to " +
                                     std::to_string(kWebhookMaxBatch));
    c.batch = int(d["batch"].get<int64_t>());
  }
  if (d.contains("timeout_ms") && !d["timeout_ms"].is_null()) {
    if (!d["timeout_ms"].is_number_integer() || d["timeout_ms"].get<int64_t>() < 100 ||
        d["timeout_ms"].get<int64_t>() > 120000)
      return Status::InvalidArgument("invalid value '" + Dump(d["timeout_ms"]) +
                                     "' for timeout_ms: expected 100 to 120000");
    c.timeout_ms = int(d["timeout_ms"].get<int64_t>());
  }
  PVEAUDIT_RETURN_IF_ERROR(str("ca", &c.ca));
  if (!c.ca.empty()) {
    std::ifstream f(c.ca);
    if (!f) return Status::InvalidArgument("cannot read CA file '" + c.ca + "'");
  }
  PVEAUDIT_RETURN_IF_ERROR(str("template", &c.template_spec));
  if (!c.template_spec.empty()) {
    auto builtin = Builtins().find(c.template_spec);
    if (builtin != Builtins().end()) {
      c.template_text = builtin->second;
      if (c.template_spec == "ntfy" && LastPathSegment(c.target).empty())
        return Status::InvalidArgument(
            "template ntfy needs the topic in the URL, e.g. "
            "https://ntfy.example.com/TOPIC (got '" +
            UrlForLogs(c.url) + "')");
    } else if (c.template_spec.find('/') == std::string::npos) {
      std::string names;
      for (const auto& n : BuiltinTemplateNames()) names += (names.empty() ? "" : ", ") + n;
      return Status::InvalidArgument("unknown template '" + c.template_spec + "': expected " +
                                     names + ", or a file path (containing '/')");
    } else {
      std::ifstream f(c.template_spec, std::ios::binary);
      if (!f) return Status::InvalidArgument("cannot read template file '" + c.template_spec + "'");
      std::ostringstream ss;
      ss << f.rdbuf();
      c.template_text = ss.str();
      if (c.template_text.size() > kMaxTemplateBytes)
        return Status::InvalidArgument("template file '" + c.template_spec +
                                       "' is larger than 64 KiB");
    }
    PVEAUDIT_RETURN_IF_ERROR(CheckPlaceholders(c.template_text, "'" + c.template_spec + "'"));
    // The rendered body must be JSON whatever the events hold: try it on
    // an event full of characters that need escaping.
    Event probe;
    probe.id = 1;
    probe.user = "a\"b\\c\nd@pam";
    probe.action = "login";
    probe.detail = "{{title}} \t </script>";
    auto body = RenderTemplate(c, std::span<const Event>(&probe, 1), "probe");
    if (!nlohmann::json::accept(body))
      return Status::InvalidArgument("template '" + c.template_spec +
                                     "' does not render valid JSON (a {{...}} other than "
                                     "{{events}}, {{count}}, ... must be inside quotes)");
  }
  return c;
}

Result<std::unique_ptr<Sink>> MakeWebhookSink(const nlohmann::json& destination) {
  auto c = ParseWebhookConfig(destination);
  if (!c.ok()) return c.status();
  auto sink = std::make_unique<WebhookSink>(std::move(*c));
  PVEAUDIT_RETURN_IF_ERROR(sink->Init());
  return std::unique_ptr<Sink>(std::move(sink));
}

std::string MaskedWebhookUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t host_start = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t rest = url.find_first_of("/?#", host_start);
  if (rest == std::string::npos || url.substr(rest) == "/") return url;
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(url.data()), url.size(), md);
  char hex[9];
  std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
  return url.substr(0, rest) + "/... (sha256 " + hex + ")";
}

Result<nlohmann::json> ResolveWebhookDestination(EventStore& store, const std::string& name,
                                                 const nlohmann::json& entry) {
  // An entry that is not an object (edited by hand) fails in MakeWebhookSink.
  nlohmann::json d = entry.is_object() ? entry : nlohmann::json::object();
  d["name"] = name;
  if (d.value("secret", "") == kSecretMask) {
    auto secret = store.GetSetting(kWebhookSecretKeyPrefix + name);
    if (!secret.ok()) return secret.status();
    // Left masked when missing: that destination's MakeWebhookSink says
    // so, the others still load.
    if (secret->has_value() && !(*secret)->empty()) d["secret"] = **secret;
  }
  auto url = store.GetSetting(kWebhookUrlKeyPrefix + name);
  if (!url.ok()) return url.status();
  if (url->has_value() && !(*url)->empty()) d["url"] = **url;
  return d;
}

Result<std::vector<nlohmann::json>> LoadWebhookDestinations(EventStore& store) {
  auto value = store.GetSetting(kWebhookSettingsKey);
  if (!value.ok()) return value.status();
  std::vector<nlohmann::json> out;
  if (!value->has_value() || (*value)->empty()) return out;
  nlohmann::json all = nlohmann::json::parse(**value, nullptr, false);
  if (!all.is_object())
    return Status::Corruption(std::string("setting ") + kWebhookSettingsKey +
                              " is not a JSON object");
  for (auto& [name, entry] : all.items()) {  // nlohmann::json keeps keys sorted
    auto d = ResolveWebhookDestination(store, name, entry);
    if (!d.ok()) return d.status();
    out.push_back(std::move(*d));
  }
  return out;
}

std::string WebhookConsumerName(const std::string& name) { return "webhook:" + name; }

std::string WebhookIdempotencyKey(const std::string& name, uint64_t first_id, uint64_t last_id) {
  // The destination name is hashed in so the key is opaque and of fixed
  // shape whatever the name holds; the ids keep it readable for people.
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(name.data()), name.size(), md);
  static const char* hex = "0123456789abcdef";
  std::string h;
  for (int i = 0; i < 8; ++i) {
    h += hex[md[i] >> 4];
    h += hex[md[i] & 15];
  }
  return "pveaudit-" + h + "-" + std::to_string(first_id) + "-" + std::to_string(last_id);
}

std::string HmacSha256Hex(const std::string& secret, const std::string& body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), int(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), md, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

Result<std::string> RenderWebhookBody(const WebhookConfig& c, std::span<const Event> batch) {
  if (batch.empty()) return Status::InvalidArgument("empty batch");
  const std::string key = WebhookIdempotencyKey(c.name, batch.front().id, batch.back().id);
  if (!c.template_text.empty()) return RenderTemplate(c, batch, key);
  nlohmann::ordered_json j;
  j["source"] = "pveaudit";
  j["destination"] = c.name;
  j["idempotency_key"] = key;
  j["count"] = batch.size();
  j["first_id"] = batch.front().id;
  j["last_id"] = batch.back().id;
  nlohmann::json events = nlohmann::json::array();
  for (const Event& e : batch) events.push_back(EventToJson(e));
  j["events"] = nlohmann::ordered_json::parse(Dump(events));
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

int64_t ParseRetryAfter(const std::string& value, int64_t now_us) {
  if (value.empty()) return -1;
  if (value.find_first_not_of("0123456789") == std::string::npos) {
    if (value.size() > 7) return kMaxRetryAfterUs;
    return std::min<int64_t>(std::stoll(value) * 1000000, kMaxRetryAfterUs);
  }
  // HTTP-date, IMF-fixdate form: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  const char* end = strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return -1;
  const int64_t at_us = int64_t(timegm(&tm)) * 1000000;
  return std::clamp<int64_t>(at_us - now_us, 0, kMaxRetryAfterUs);
}

}  // namespace pveaudit

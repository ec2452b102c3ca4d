// pveaudit-web's HTTPS server (http_server.h).
#include "server/http_server.h"

#include <fcntl.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

namespace pveaudit {

// ---------------------------------------------------------------- Router

namespace {

std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool MatchPattern(const std::string& pattern, const std::string& path,
                  std::map<std::string, std::string>* vars) {
  const auto p = Segments(pattern), s = Segments(path);
  if (p.size() != s.size()) return false;
  std::map<std::string, std::string> v;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i].size() > 2 && p[i].front() == '{' && p[i].back() == '}') {
      if (s[i].empty()) return false;
      v[p[i].substr(1, p[i].size() - 2)] = s[i];
    } else if (p[i] != s[i]) {
      return false;
    }
  }
  if (vars) *vars = std::move(v);
  return true;
}

}  // namespace

const Route* Router::Match(const std::string& method, const std::string& path,
                           std::map<std::string, std::string>* vars, bool* path_known) const {
  *path_known = false;
  for (const Route& r : routes_) {
    if (!MatchPattern(r.pattern, path, nullptr)) continue;
    *path_known = true;
    if (r.method == method) {
      MatchPattern(r.pattern, path, vars);
      return &r;
    }
  }
  return nullptr;
}

// ---------------------------------------------------------------- StorePool

StorePool::Lease::~Lease() {
  if (!pool || !store) return;
  std::lock_guard<std::mutex> lock(pool->mu_);
  // A few idle stores are enough; more would only hold file handles.
  if (pool->idle_.size() < 16) pool->idle_.push_back(std::move(store));
}

Result<StorePool::Lease> StorePool::Acquire() {
  Lease l;
  l.pool = this;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      l.store = std::move(idle_.back());
      idle_.pop_back();
      return l;
    }
  }
  StoreOptions so;
  so.read_only = true;
  auto s = OpenStore(where_, so);
  if (!s.ok()) return s.status();
  l.store = std::move(*s);
  return l;
}

// ---------------------------------------------------------------- certificates

Result<CertChoice> ChooseCertificate(const WebOptions& o) {
  bool expired = false;
  if (!o.cert.empty() || !o.key.empty()) {
    // A configured pair must work: falling back silently would serve a
    // certificate the operator did not choose.
    if (!ReadableFile(o.cert))
      return Status::InvalidArgument("[web] cert '" + o.cert + "' is not a readable file");
    if (!ReadableFile(o.key))
      return Status::InvalidArgument("[web] key '" + o.key + "' is not a readable file");
    if (!CertPairLoads(o.cert, o.key, &expired))
      return Status::InvalidArgument("[web] cert '" + o.cert + "' and key '" + o.key +
                                     "' do not load as a PEM certificate and its private key");
    return CertChoice{o.cert, o.key, "configured"};
  }
  for (const char* base : {"pveproxy-ssl", "pve-ssl"}) {
    const std::string c = o.pve_dir + "/local/" + base + ".pem",
                      k = o.pve_dir + "/local/" + base + ".key";
    if (ReadableFile(c) && ReadableFile(k) && CertPairLoads(c, k, &expired))
      return CertChoice{c, k, base};
  }
  const std::string c = o.data_dir + "/web-cert.pem", k = o.data_dir + "/web-key.pem";
  if (!(ReadableFile(c) && ReadableFile(k) && CertPairLoads(c, k, &expired) && !expired)) {
    if (Status st = GenerateSelfSigned(c, k); !st.ok()) return st;
  }
  return CertChoice{c, k, "generated"};
}

// ---------------------------------------------------------------- server

namespace {

// Every response: no inline script or style, nothing from elsewhere, never
// framed, never sniffed into another type.
const char* const kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

// JSON text that cannot be read as HTML even by a careless consumer: '<',
// '>' and '&' appear only inside strings, where \u escapes mean the same.
std::string SafeJson(const nlohmann::json& j) {
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(s.size() + 16);
  for (char ch : s) {
    if (ch == '<')
      out += "\\u003c";
    else if (ch == '>')
      out += "\\u003e";
    else if (ch == '&')
      out += "\\u0026";
    else
      out += ch;
  }
  return out;
}

void WriteReply(httplib::Response& res, const HttpReply& r) {
  nlohmann::json body = r.extra.is_object() ? r.extra : nlohmann::json::object();
  if (r.status >= 400) {
    body["data"] = nullptr;
    body["message"] = r.message;
  } else {
    body["data"] = r.data;
  }
  res.status = r.status;
  res.set_content(SafeJson(body), "application/json;charset=UTF-8");
}

std::string CookieValue(const std::string& header, const std::string& name) {
  size_t i = 0;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ';')) ++i;
    size_t eq = header.find('=', i), end = header.find(';', i);
    if (end == std::string::npos) end = header.size();
    if (eq != std::string::npos && eq < end && header.compare(i, eq - i, name) == 0)
      return header.substr(eq + 1, end - eq - 1);
    i = end + 1;
  }
  return "";
}

bool SplitListen(const std::string& listen, std::string* host, int* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  std::string h = listen.substr(0, colon), p = listen.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos)
    return false;
  *port = std::stoi(p);
  if (*port > 65535) return false;
  if (h == "*") h = "::";
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  *host = h;
  return !h.empty();
}

}  // namespace

std::string LogSafe(std::string s) {
  if (s.size() > 200) s.resize(200);
  for (char& ch : s)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
  return s;
}

Status CheckListen(const std::string& listen) {
  std::string host;
  int port = 0;
  if (!SplitListen(listen, &host, &port))
    return Status::InvalidArgument("invalid listen address '" + listen +
                                   "': expected ADDR:PORT, [IPv6]:PORT or *:PORT");
  return Status::OK();
}

struct HttpServer::Impl {
  std::unique_ptr<httplib::SSLServer> server;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<bool> listen_returned{false};
};

HttpServer::HttpServer(WebOptions options, Authenticator* auth)
    : o_(std::move(options)), auth_(auth), stores_(o_.store), impl_(std::make_unique<Impl>()) {
  AddAuditRoutes(&router_, &stores_, o_, &impl_->stopping);
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  std::string host;
  int port = 0;
  PVEAUDIT_RETURN_IF_ERROR(CheckListen(o_.listen));
  SplitListen(o_.listen, &host, &port);
  auto cert = ChooseCertificate(o_);
  if (!cert.ok()) return cert.status();
  cert_ = *cert;
  std::string tls_error;
  impl_->server = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
    // TLS 1.2 and 1.3 only; no renegotiation, no compression.
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(
        &ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Forward-secret AEAD suites only for TLS 1.2 (1.3's are all such).
    SSL_CTX_set_cipher_list(&ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
    if (SSL_CTX_use_certificate_chain_file(&ctx, cert_.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(&ctx, cert_.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(&ctx) != 1) {
      tls_error = "cannot load the certificate " + cert_.cert + " and key " + cert_.key;
      return false;
    }
    return true;
  });
  if (!impl_->server->is_valid())
    return Status::Internal(tls_error.empty() ? "cannot set up TLS" : tls_error);
  httplib::SSLServer& s = *impl_->server;
  // Event streams hold a thread each while open; the pool is sized for a
  // few dozen open pages beside ordinary requests.
  s.new_task_queue = [] { return new httplib::ThreadPool(48); };
  s.set_default_headers({{"Content-Security-Policy", kCsp},
                         {"X-Content-Type-Options", "nosniff"},
                         {"X-Frame-Options", "DENY"},
                         {"Referrer-Policy", "no-referrer"},
                         {"Cross-Origin-Opener-Policy", "same-origin"}});
  s.set_payload_max_length(1 << 20);
  // A page makes many small requests on one connection (httplib's default
  // closes it after 5).
  s.set_keep_alive_max_count(1000);
  // A response goes out as two writes (headers, then body): with Nagle's
  // algorithm the second waits for the client's delayed ACK, 40 ms per
  // request on a kept-alive connection.
  s.set_tcp_nodelay(true);
  s.set_read_timeout(30, 0);
  if (!o_.www.empty()) {
    s.set_file_extension_and_mimetype_mapping("js", "text/javascript; charset=utf-8");
    s.set_file_extension_and_mimetype_mapping("mjs", "text/javascript; charset=utf-8");
    s.set_file_extension_and_mimetype_mapping("css", "text/css; charset=utf-8");
    s.set_file_extension_and_mimetype_mapping("html", "text/html; charset=utf-8");
    s.set_file_extension_and_mimetype_mapping("json", "application/json");
    s.set_file_extension_and_mimetype_mapping("map", "application/json");
    s.set_file_extension_and_mimetype_mapping("svg", "image/svg+xml");
    s.set_file_extension_and_mimetype_mapping("woff2", "font/woff2");
    s.set_file_extension_and_mimetype_mapping("png", "image/png");
    s.set_file_extension_and_mimetype_mapping("ico", "image/x-icon");
    std::error_code ec;
    if (std::filesystem::is_directory(o_.www, ec)) s.set_mount_point("/", o_.www);
  }
  auto dispatch = [this](const httplib::Request& req, httplib::Response& res) {
    ApiUse use;
    use.method = req.method;
    use.path = req.path;
    use.remote_ip = req.remote_addr;
    {
      std::string q;
      for (const auto& [k, v] : req.params) {
        if (!q.empty()) q += '&';
        q += k + "=" + v;
      }
      use.query = q;
    }
    const bool api = req.path.rfind("/api2/", 0) == 0;
    // Every API request is recorded before its answer goes out; when the
    // record cannot be written the answer is withheld (503): nobody reads
    // the audit log unseen.
    auto finish = [&](const HttpReply& r) {
      use.status = r.status;
      Status recorded = api && o_.audit ? o_.audit(use) : Status::OK();
      if (!recorded.ok()) {
        std::cerr << "pveaudit-web: cannot record " << req.method << " " << LogSafe(req.path)
                  << ": " << recorded.message() << "\n";
        if (r.streaming) {  // the stream never starts
          if (res.content_provider_resource_releaser_)
            res.content_provider_resource_releaser_(false);
          res.content_provider_resource_releaser_ = nullptr;
          res.content_provider_ = nullptr;
          res.is_chunked_content_provider_ = false;
          res.content_length_ = 0;
        }
        return WriteReply(res, HttpReply::Error(503,
                                                "the audit record of this request could "
                                                "not be written; pveauditd is not reachable"));
      }
      if (!r.streaming) WriteReply(res, r);
    };
    if (!api) {
      res.status = 404;
      res.set_content("not found\n", "text/plain; charset=utf-8");
      return;
    }
    res.set_header("Cache-Control", "no-store");
    // The login is the one route that answers without credentials. Its
    // body holds a password: nothing of the request is recorded but the
    // account name.
    {
      std::map<std::string, std::string> vars;
      bool known = false;
      const Route* open = router_.Match(req.method, req.path, &vars, &known);
      if (open && open->open) {
        use.query.clear();
        HttpContext ctx;
        ctx.req = &req;
        ctx.res = &res;
        ctx.auth = auth_;
        HttpReply r = open->handler(ctx);
        use.login_user = ctx.principal.userid.empty() ? ctx.Param("username") : "";
        if (r.status == 200) use.actor = ctx.principal.Actor();
        return finish(r);
      }
    }
    // Authenticate before anything else: without credentials every other
    // path under /api2 is 401, so the route table is not probed.
    Credentials c;
    // A local account's cookie first: on a Proxmox node the browser also
    // holds the Proxmox GUI's, for another user perhaps.
    const std::string cookies = req.get_header_value("Cookie");
    std::string ticket = CookieValue(cookies, kLocalTicketCookie);
    if (ticket.empty()) ticket = CookieValue(cookies, "PVEAuthCookie");
    c.ticket = httplib::detail::decode_url(ticket, false);
    c.authorization = req.get_header_value("Authorization");
    c.remote_ip = req.remote_addr;
    auto p = auth_->Authenticate(c);
    if (!p.ok()) {
      std::cerr << "pveaudit-web: " << req.remote_addr << " " << req.method << " "
                << LogSafe(req.path) << ": authentication failed: " << LogSafe(p.status().message())
                << "\n";
      return finish(HttpReply::Error(401, "authentication failure"));
    }
    use.actor = p->Actor();
    std::map<std::string, std::string> vars;
    bool known = false;
    const Route* route = router_.Match(req.method, req.path, &vars, &known);
    if (!route)
      return finish(
          known ? HttpReply::Error(405, "method " + req.method + " not allowed on " + req.path)
                : HttpReply::Error(404, "no such API path " + req.path));
    // A state-changing request authenticated by a cookie (a Proxmox ticket
    // or a local account's) needs the CSRF token; a token in the
    // Authorization header cannot be sent by another site's page.
    if (req.method != "GET" && c.authorization.empty() &&
        !auth_->CheckCsrf(*p, req.get_header_value("CSRFPreventionToken")))
      return finish(HttpReply::Error(401, "permission denied - invalid csrf token"));
    if (!route->privilege.empty() && !auth_->HasPrivilege(*p, route->priv_path, route->privilege))
      return finish(HttpReply::Error(
          403, "Permission check failed (" + route->priv_path + ", " + route->privilege + ")"));
    HttpContext ctx;
    ctx.req = &req;
    ctx.res = &res;
    ctx.auth = auth_;
    ctx.principal = *p;
    ctx.path = vars;
    for (const auto& [k, v] : req.params) {
      // ExtJS adds _dc to GET requests to defeat caches; it means nothing.
      if (k == "_dc") continue;
      bool declared = false;
      for (const RouteParam& rp : route->params) declared |= rp.name == k;
      if (!declared) return finish(HttpReply::Error(400, "unknown parameter '" + k + "'"));
      if (req.get_param_value_count(k) > 1)
        return finish(HttpReply::Error(400, "parameter '" + k + "' given more than once"));
      ctx.query[k] = v;
    }
    ctx.visibility = auth_->VisibilityOf(*p);
    HttpReply r;
    try {
      r = route->handler(ctx);
    } catch (const std::exception& e) {
      std::cerr << "pveaudit-web: " << req.method << " " << LogSafe(req.path) << ": " << e.what()
                << "\n";
      r = HttpReply::Error(500, "internal error");
    }
    finish(r);
  };
  s.Get(".*", dispatch);
  s.Post(".*", dispatch);
  s.Put(".*", dispatch);
  s.Delete(".*", dispatch);
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    nlohmann::json body = {{"data", nullptr},
                           {"message", "HTTP error " + std::to_string(res.status)}};
    res.set_content(SafeJson(body), "application/json;charset=UTF-8");
  });
  if (port == 0) {
    port_ = s.bind_to_any_port(host);
    if (port_ < 0)
      return Status::IOError("cannot listen on " + o_.listen + ": " + std::strerror(errno));
  } else {
    if (!s.bind_to_port(host, port))
      return Status::IOError("cannot listen on " + o_.listen + ": " + std::strerror(errno));
    port_ = port;
  }
  impl_->thread = std::thread([&s, impl = impl_.get()] {
    s.listen_after_bind();
    impl->listen_returned = true;
  });
  return Status::OK();
}

void HttpServer::Stop() {
  if (!impl_) return;
  impl_->stopping = true;
  // cpp-httplib's stop() does nothing until its listen loop has marked
  // itself running; a SIGTERM right after start came too early and the
  // join below waited for ever (regression: WebApiTest's teardown hung).
  while (impl_->server && impl_->thread.joinable() && !impl_->listen_returned) {
    if (impl_->server->is_running()) {
      impl_->server->stop();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (impl_->thread.joinable()) impl_->thread.join();
}

void HttpServer::Wait() {
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace pveaudit

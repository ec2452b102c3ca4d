// http_server.h
// pveaudit-web's HTTPS server: TLS 1.2+ (cpp-httplib on OpenSSL), the
// route table of http_router.h, authentication of every API request
// through an Authenticator (principal.h), Proxmox's JSON envelope, strict
// security headers on every response, and the UI's static files.
// The store is opened read-only: a flaw in HTTP handling cannot rewrite it;
// changes and the audit events of API use go to pveauditd (hooks below).
// Thread safety: Start/Stop from one thread; requests are served on the
// server's own threads.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/status.h"
#include "server/http_router.h"
#include "server/principal.h"
#include "server/web_files.h"
#include "store/event_store.h"

namespace pveaudit {

// One API request, for the audit record of API use ("the watchers are
// watched"): who, what, from where, and the HTTP status it got.
struct ApiUse {
  std::string actor;                // Principal::Actor(); "" when not authenticated
  std::string method, path, query;  // query: the request's query string as sent
  std::string remote_ip;
  int status = 0;
  // POST /login: the account name tried (actor stays empty on failure).
  std::string login_user;
};

// A local account's login (pveaudit's own accounts, docs/auth.md): the
// ticket for the cookie and the CSRF token for the page.
struct WebLogin {
  Principal principal;
  std::string ticket;
  std::string csrf;
};
// The cookie of a local account's ticket: a name of its own, so that on a
// Proxmox node it never overwrites the Proxmox GUI's PVEAuthCookie.
inline constexpr const char* kLocalTicketCookie = "PVEAuditAuthCookie";

struct WebOptions {
  std::string listen;    // "ADDR:PORT" ([v6]:PORT, *:PORT)
  std::string data_dir;  // a generated certificate
  StoreLocation store;   // the store, opened read-only
  std::string pve_dir = "/etc/pve";
  std::string cert, key;  // "" = the node's Proxmox certificate, else generated
  std::string www;        // static UI files ("" = none served)
  int session_lifetime_s = 7200;
  // Called after every API request (never for static files). pveaudit-web
  // hands it to pveauditd over the control socket (src/admin/control_client.h).
  // An error withholds the answer (503).
  std::function<Status(const ApiUse&)> audit;
  // Sends one request to pveauditd's control socket (docs/control-socket.md)
  // and returns its reply; the changes (rules, destinations) go this way.
  // Empty: changes answer 503.
  std::function<Result<nlohmann::json>(const nlohmann::json&)> control;
  // POST /login: checks a local account (user, password, client address).
  // kBusy when throttled; empty: no local accounts (login is refused).
  std::function<Result<WebLogin>(const std::string&, const std::string&, const std::string&)> login;
};

// Text from a request for a log line: control characters (a decoded %0A
// would forge a second line in the journal) as '?', at most 200 bytes.
std::string LogSafe(std::string s);

// InvalidArgument naming `listen` unless it is ADDR:PORT, [IPv6]:PORT or
// *:PORT.
Status CheckListen(const std::string& listen);

// The certificate and key pveaudit-web serves: `cert`/`key` when set, else
// PVE_DIR/local/pveproxy-ssl.{pem,key}, else PVE_DIR/local/pve-ssl.{pem,key}
// (the ones browsers already trust for port 8006), else
// DATA_DIR/web-cert.pem and web-key.pem, generated (self-signed, key mode
// 0600) when missing or expired. A pair is taken only if both files are
// readable and hold a matching certificate and key.
struct CertChoice {
  std::string cert, key;
  std::string origin;  // "configured", "pveproxy-ssl", "pve-ssl", "generated"
};
Result<CertChoice> ChooseCertificate(const WebOptions& o);

// Read-only stores, one per request thread at a time (EventStore is one
// object per thread), opened on demand and reused.
class StorePool {
 public:
  explicit StorePool(StoreLocation where) : where_(std::move(where)) {}
  struct Lease {
    StorePool* pool = nullptr;
    std::unique_ptr<EventStore> store;
    Lease() = default;
    Lease(Lease&&) = default;
    ~Lease();
  };
  Result<Lease> Acquire();
  const StoreLocation& where() const { return where_; }

 private:
  StoreLocation where_;
  std::mutex mu_;
  std::vector<std::unique_ptr<EventStore>> idle_;
};

class HttpServer {
 public:
  HttpServer(WebOptions options, Authenticator* auth);
  ~HttpServer();
  // Binds and serves on a thread of its own; returns once listening (or
  // the error: certificate, address in use).
  Status Start();
  // The port actually bound (useful with port 0).
  int port() const { return port_; }
  // Stops serving; open event streams end.
  void Stop();
  // Blocks until Stop.
  void Wait();
  const Router& router() const { return router_; }
  const CertChoice& certificate() const { return cert_; }

 private:
  struct Impl;
  WebOptions o_;
  Authenticator* auth_;
  Router router_;
  StorePool stores_;
  CertChoice cert_;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// The route table (http_routes.cc), bound to `stores` and `o`.
// `stopping` ends open event streams.
void AddAuditRoutes(Router* router, StorePool* stores, const WebOptions& o,
                    const std::atomic<bool>* stopping);

}  // namespace pveaudit

// principal.h
// The contract between the HTTPS server (src/server/http_*) and
// authentication/authorization (src/server/auth*): who made a request, and
// what that principal may see and change. The server never decides either
// itself; it asks an Authenticator, so one permission engine (src/pve, on
// the live user.cfg) answers for the API, the web UI and the reports.
// Thread safety: an Authenticator is called from many server threads at once.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/event.h"
#include "core/status.h"

namespace pveaudit {

// An authenticated caller.
struct Principal {
  enum class Via { kTicket, kToken, kLocal };
  std::string userid;   // "user@realm": whose permissions apply
  std::string tokenid;  // "user@realm!name" for an API token, else empty
  Via via = Via::kTicket;
  // The name recorded as the actor of audit events: the token id for a
  // token, else the user id.
  const std::string& Actor() const { return tokenid.empty() ? userid : tokenid; }
};

// What a request carries for authentication, apart from the HTTP library.
struct Credentials {
  std::string ticket;         // the PVEAuthCookie value, URL-decoded; empty if absent
  std::string authorization;  // the Authorization header; empty if absent
  std::string remote_ip;      // for throttling and the audit record
};

// The rows of the audit log a principal may see. `all` is the fast path
// (Sys.Audit on /); otherwise `sees` decides per event. The server applies
// it inside the query (a page's limit counts visible rows only), never in
// the browser.
struct Visibility {
  bool all = false;
  std::function<bool(const Event&)> sees;  // set when !all
  bool Sees(const Event& e) const { return all || (sees && sees(e)); }
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The principal behind the credentials; an error (its message for the
  // server's log, never shown to the client) when there is none or it is
  // not valid: the server answers 401.
  virtual Result<Principal> Authenticate(const Credentials& c) = 0;
  // The CSRFPreventionToken to hand out with a login, and its check on
  // every state-changing request (false: 401).
  virtual std::string CsrfToken(const Principal& p) = 0;
  virtual bool CheckCsrf(const Principal& p, const std::string& token) = 0;
  // Proxmox semantics (propagation, roles, a token's privilege separation).
  virtual bool HasPrivilege(const Principal& p, const std::string& path,
                            const std::string& privilege) = 0;
  virtual Visibility VisibilityOf(const Principal& p) = 0;
};

}  // namespace pveaudit

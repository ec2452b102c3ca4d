// auth_authenticator.h
// PveAuthenticator: the Authenticator (server/principal.h) of pveaudit's
// web server. Who: a Proxmox ticket (PVEAuthCookie, checked with the
// cluster's authkey.pub / authkey.pub.old), a Proxmox API token
// (PVEAPIToken header, priv/token.cfg), or a local account's ticket
// (NAME@pveaudit, signed with pveaudit's own key) or API token (see
// auth_local.h; Principal::via kLocal with a tokenid). What:
// Proxmox's permission engine (src/pve) on the live user.cfg, re-read when
// the file changes (a stat per request), with a token's privilege
// separation; local accounts have their role's privileges on /.
// Visibility: docs/auth.md ("Who sees which events").
// Thread safety: every method may be called from many threads at once.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "pve/access_config.h"
#include "pve/permissions.h"
#include "server/auth_local.h"
#include "server/auth_ticket.h"
#include "server/auth_token.h"
#include "server/principal.h"

namespace pveaudit::auth {

// A login attempt of a local account that failed (or was refused by the
// throttle). pveauditd turns it into an audit event; this library never
// writes one.
struct LoginFailure {
  std::string user;  // as typed (NAME or NAME@pveaudit), "" when empty
  std::string ip;
  int64_t time = 0;    // epoch seconds
  std::string reason;  // "bad password", "no such user", "throttled: ..."
};

class PveAuthenticator : public Authenticator {
 public:
  struct Options {
    // Proxmox's files; empty: under pve_dir.
    std::string pve_dir = "/etc/pve";
    std::string authkey_pub, authkey_pub_old, user_cfg, token_cfg;
    bool assume_quorate = true;
    // pveaudit's own secrets, created 0600 when missing; empty: under
    // data_dir ("web-csrf.key", "web-authkey.key").
    std::string data_dir;
    std::string csrf_key_file, local_key_file;
    // Local accounts: the store's settings (empty: no local accounts).
    // Called from many threads at once: it must be thread-safe.
    SettingsReader settings;
    LoginThrottle::Options throttle;
    std::function<void(const LoginFailure&)> on_login_failure;
    // Epoch seconds; tests move the clock.
    std::function<int64_t()> now;
  };

  // Loads (or creates) pveaudit's own keys; an error names the file.
  static Result<std::unique_ptr<PveAuthenticator>> Create(Options o);

  Result<Principal> Authenticate(const Credentials& c) override;
  std::string CsrfToken(const Principal& p) override;
  bool CheckCsrf(const Principal& p, const std::string& token) override;
  bool HasPrivilege(const Principal& p, const std::string& path,
                    const std::string& privilege) override;
  // The Visibility holds the user.cfg model it was made with (one query,
  // one permission set) and does not refer to the authenticator.
  Visibility VisibilityOf(const Principal& p) override;

  // A local account's login: on success the ticket to set as the cookie
  // (same format as Proxmox's, signed with pveaudit's own key) and its
  // CSRF token. Every failure is reported to on_login_failure; the error
  // message is the same for a bad password and an unknown user.
  struct Login {
    Principal principal;
    std::string ticket;
    std::string csrf;
  };
  Result<Login> LoginLocal(const std::string& user, const std::string& password,
                           const std::string& ip);

  // Signs a ticket for a local account (tests, and the login above).
  Result<std::string> SignLocalTicket(const std::string& userid, int64_t time);

 private:
  explicit PveAuthenticator(Options o);

  // user.cfg and token.cfg as last read; replaced when either changes.
  struct Snapshot {
    pve::PveConfig cfg;
    std::unique_ptr<pve::PermissionIndex> index;
    std::map<std::string, std::string> token_secrets;
    std::string error;  // why there is no user.cfg model
    bool has_cfg = false;
  };
  std::shared_ptr<const Snapshot> Current();
  Result<WebRole> LocalRole(const std::string& userid);
  Result<Principal> LocalToken(const ApiTokenCredentials& t);
  int64_t Now() const { return opt_.now ? opt_.now() : int64_t(::time(nullptr)); }
  static bool PveHas(const Snapshot& s, const Principal& p, const std::string& path,
                     const std::string& privilege);
  void Fail(const std::string& user, const std::string& ip, const std::string& reason);

  Options opt_;
  TicketVerifier verifier_;
  std::string csrf_secret_;
  PKey local_key_;
  LoginThrottle throttle_;
  std::mutex hash_mu_;  // one Argon2id verification (64 MiB) at a time
  std::string dummy_hash_;

  std::mutex mu_;
  std::shared_ptr<const Snapshot> snap_;
  struct FileId {
    int64_t mtime_ns = -1, size = -1, ino = -1;
    bool operator==(const FileId&) const = default;
  };
  FileId user_id_, token_id_;
};

}  // namespace pveaudit::auth

// auth_local.h
// Local web accounts for pveaudit off a Proxmox node (the demo, a central
// server): NAME@pveaudit with role auditor (Sys.Audit on /) or admin
// (Sys.Audit + Sys.Modify on /), Argon2id password hashes from libsodium,
// and login throttling per user and per client address.
// Storage (the store's settings, shared by every process on the store):
//   "web.users"           JSON {NAME: {role, created, created_by}}: the
//                         accounts; every change an audit event
//                         (store/audited_setting.h) with before/after;
//   "web.user.NAME.hash"  the hash alone, never in an audit event.
// An account exists when it is in "web.users" and has a hash: adding
// writes the hash first, removing drops the account first, so a crash in
// between never leaves a usable account that nobody recorded.
// Thread safety: the functions are safe to call from several threads;
// LoginThrottle locks itself.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"
#include "store/audited_setting.h"
#include "store/event_store.h"

namespace pveaudit::auth {

inline constexpr std::string_view kLocalRealm = "pveaudit";
inline constexpr std::string_view kLocalSuffix = "@pveaudit";
inline constexpr std::string_view kWebUsersKey = "web.users";

enum class WebRole { kAuditor, kAdmin };
std::string_view WebRoleName(WebRole r);
std::optional<WebRole> ParseWebRole(std::string_view s);

struct WebUser {
  std::string name;  // without the realm
  WebRole role = WebRole::kAuditor;
  std::string created;  // RFC 3339 UTC
  std::string created_by;
  std::string userid() const { return name + std::string(kLocalSuffix); }
};

// 1..32 characters of [A-Za-z0-9._-], starting with a letter or digit
// (a subset of Proxmox's user name syntax, and safe in a settings key).
bool ValidWebUserName(std::string_view name);
// "alice" or "alice@pveaudit" -> "alice"; nullopt for anything else.
std::optional<std::string> WebUserNameOf(std::string_view user);

// Reads one setting; nullopt when unset. The server passes its store here.
using SettingsReader = std::function<Result<std::optional<std::string>>(const std::string&)>;
SettingsReader StoreSettingsReader(EventStore* store);

// The accounts (name -> account). An unset or empty setting is none.
Result<std::map<std::string, WebUser>> ListWebUsers(const SettingsReader& settings);
std::string WebUserHashKey(const std::string& name);

// libsodium crypto_pwhash_str (Argon2id). Tests pass the library's
// minimum limits; everything else the interactive ones.
struct HashLimits {
  unsigned long long ops;
  size_t mem;
  static HashLimits Interactive();
  static HashLimits Minimum();
};
Result<std::string> HashPassword(std::string_view password, HashLimits limits);
bool CheckPassword(const std::string& hash, std::string_view password);

// Password rules: 8..1024 bytes, no NUL or newline.
Status CheckPasswordRules(std::string_view password);

// Adds an account (InvalidArgument when the name is bad or taken), audited
// as pveaudit:web-user-add on /access/users/NAME@pveaudit.
Status AddWebUser(EventStore& store, const Actor& actor, const std::string& node,
                  const std::string& name, WebRole role, std::string_view password,
                  HashLimits limits, WebUser* added = nullptr);
// Removes one (InvalidArgument when there is none), audited as
// pveaudit:web-user-remove, and then its API tokens.
Status RemoveWebUser(EventStore& store, const Actor& actor, const std::string& node,
                     const std::string& name, WebUser* removed = nullptr);

// API tokens of local accounts, in Proxmox's header form
// "PVEAPIToken=NAME@pveaudit!ID=SECRET". The secret is random (a UUID, as
// Proxmox's), shown once, and stored as its SHA-256 (a slow hash buys
// nothing for 122 random bits and would cost every request).
//   "web.tokens"                 JSON {"NAME@pveaudit!ID": {user, user_created,
//                                created, created_by}}, audited;
//   "web.token.<tokenid>.hash"   hex SHA-256 of the secret.
// A token works while its account exists *as it was* when the token was
// made (user_created): removing an account and adding one of the same
// name does not revive the old account's tokens.
inline constexpr std::string_view kWebTokensKey = "web.tokens";
struct WebToken {
  std::string tokenid;  // "ann@pveaudit!ci"
  std::string user;     // "ann"
  std::string user_created, created, created_by;
};
Result<std::map<std::string, WebToken>> ListWebTokens(const SettingsReader& settings);
std::string WebTokenHashKey(const std::string& tokenid);
std::string Sha256Hex(std::string_view data);
// Adds token ID of account NAME; the secret is returned once via `secret`.
Status AddWebToken(EventStore& store, const Actor& actor, const std::string& node,
                   const std::string& name, const std::string& id, std::string* secret,
                   WebToken* added = nullptr);
Status RemoveWebToken(EventStore& store, const Actor& actor, const std::string& node,
                      const std::string& name, const std::string& id);

// Refuses logins for a user or from an address after too many failures
// within a window (counting stops at the limit, so a locked-out client's
// further attempts do not extend its lock). A success clears the user's
// count, not the address's.
class LoginThrottle {
 public:
  struct Options {
    int max_per_user = 5;
    int max_per_ip = 20;
    int64_t window = 15 * 60;  // seconds
    size_t max_tracked = 100000;
  };
  explicit LoginThrottle(Options o) : opt_(o) {}
  // False (and why) when the attempt must be refused without looking at
  // the password.
  bool Allowed(const std::string& user, const std::string& ip, int64_t now, std::string* why);
  void Failure(const std::string& user, const std::string& ip, int64_t now);
  void Success(const std::string& user);

 private:
  struct Window {
    int64_t first = 0;
    int count = 0;
  };
  bool Over(std::unordered_map<std::string, Window>& m, const std::string& key, int max,
            int64_t now);
  void Count(std::unordered_map<std::string, Window>& m, const std::string& key, int max,
             int64_t now);
  Options opt_;
  std::mutex mu_;
  std::unordered_map<std::string, Window> users_, ips_;
};

}  // namespace pveaudit::auth

#include "server/auth_local.h"

#include <openssl/sha.h>
#include <sodium.h>

#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/time_spec.h"
#include "pve/parse_util.h"

namespace pveaudit::auth {
namespace {

using nlohmann::json;

json ToJson(const std::map<std::string, WebUser>& users) {
  json j = json::object();
  for (const auto& [name, u] : users)
    j[name] = {{"role", std::string(WebRoleName(u.role))},
               {"created", u.created},
               {"created_by", u.created_by}};
  return j;
}

std::optional<std::string> Text(const std::map<std::string, WebUser>& users) {
  return users.empty() ? std::string() : ToJson(users).dump();
}

bool SodiumReady() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

}  // namespace

std::string_view WebRoleName(WebRole r) { return r == WebRole::kAdmin ? "admin" : "auditor"; }

std::optional<WebRole> ParseWebRole(std::string_view s) {
  if (s == "auditor") return WebRole::kAuditor;
  if (s == "admin") return WebRole::kAdmin;
  return std::nullopt;
}

bool ValidWebUserName(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

std::optional<std::string> WebUserNameOf(std::string_view user) {
  const std::string_view suffix = kLocalSuffix;
  if (user.size() > suffix.size() && user.substr(user.size() - suffix.size()) == suffix)
    user = user.substr(0, user.size() - suffix.size());
  if (!ValidWebUserName(user)) return std::nullopt;
  return std::string(user);
}

SettingsReader StoreSettingsReader(EventStore* store) {
  return [store](const std::string& key) { return store->GetSetting(key); };
}

std::string WebUserHashKey(const std::string& name) { return "web.user." + name + ".hash"; }

Result<std::map<std::string, WebUser>> ListWebUsers(const SettingsReader& settings) {
  std::map<std::string, WebUser> out;
  if (!settings) return out;
  auto text = settings(std::string(kWebUsersKey));
  if (!text.ok()) return text.status();
  if (!*text || (*text)->empty()) return out;
  json j = json::parse(**text, nullptr, false);
  if (!j.is_object())
    return Status::Corruption("setting " + std::string(kWebUsersKey) + " is not a JSON object");
  for (const auto& [name, v] : j.items()) {
    if (!v.is_object() || !ValidWebUserName(name))
      return Status::Corruption("setting " + std::string(kWebUsersKey) + ": bad entry '" + name +
                                "'");
    WebUser u;
    u.name = name;
    auto role = ParseWebRole(v.value("role", ""));
    if (!role)
      return Status::Corruption("setting " + std::string(kWebUsersKey) + ": user '" + name +
                                "' has no valid role");
    u.role = *role;
    u.created = v.value("created", "");
    u.created_by = v.value("created_by", "");
    out[name] = u;
  }
  return out;
}

HashLimits HashLimits::Interactive() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}
HashLimits HashLimits::Minimum() {
  return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

Result<std::string> HashPassword(std::string_view password, HashLimits limits) {
  if (!SodiumReady()) return Status::Internal("libsodium cannot be initialised");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), limits.ops, limits.mem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    return Status::Internal("out of memory hashing the password");
  return std::string(out);
}

bool CheckPassword(const std::string& hash, std::string_view password) {
  if (!SodiumReady() || hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  // Argon2id only: a hash of another algorithm is not one pveaudit wrote.
  if (hash.rfind("$argon2id$", 0) != 0) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

Status CheckPasswordRules(std::string_view password) {
  if (password.size() < 8)
    return Status::InvalidArgument("the password is too short: at least 8 characters");
  if (password.size() > 1024)
    return Status::InvalidArgument("the password is too long: at most 1024 bytes");
  for (char c : password)
    if (c == '\0' || c == '\n' || c == '\r')
      return Status::InvalidArgument("the password contains a NUL or line break");
  return Status::OK();
}

Status AddWebUser(EventStore& store, const Actor& actor, const std::string& node,
                  const std::string& name, WebRole role, std::string_view password,
                  HashLimits limits, WebUser* added) {
  if (!ValidWebUserName(name))
    return Status::InvalidArgument("invalid web user name '" + name +
                                   "': expected 1 to 32 of A-Z a-z 0-9 . _ - starting with a "
                                   "letter or digit");
  PVEAUDIT_RETURN_IF_ERROR(CheckPasswordRules(password));
  SettingsReader read = StoreSettingsReader(&store);
  auto users = ListWebUsers(read);
  if (!users.ok()) return users.status();
  if (users->count(name))
    return Status::InvalidArgument("web user '" + name + std::string(kLocalSuffix) +
                                   "' exists (remove it first to set a new password)");
  auto before_text = read(std::string(kWebUsersKey));
  if (!before_text.ok()) return before_text.status();
  auto hash = HashPassword(password, limits);
  if (!hash.ok()) return hash.status();
  // The hash first: without an entry in web.users it logs nobody in.
  PVEAUDIT_RETURN_IF_ERROR(store.PutSetting(WebUserHashKey(name), *hash, actor.user));
  WebUser u;
  u.name = name;
  u.role = role;
  u.created = FormatRfc3339Utc(NowUs());
  u.created_by = actor.user;
  std::map<std::string, WebUser> after = *users;
  after[name] = u;
  SettingChange c;
  c.key = std::string(kWebUsersKey);
  c.before = *before_text;
  c.after = *Text(after);
  c.action = "pveaudit:web-user-add";
  c.resource = "/access/users/" + u.userid();
  c.summary = "web user " + u.userid() + " added with role " + std::string(WebRoleName(role));
  c.node = node;
  PVEAUDIT_RETURN_IF_ERROR(PutAuditedSetting(store, actor, c));
  if (added) *added = u;
  return Status::OK();
}

Status RemoveWebUser(EventStore& store, const Actor& actor, const std::string& node,
                     const std::string& name, WebUser* removed) {
  SettingsReader read = StoreSettingsReader(&store);
  auto users = ListWebUsers(read);
  if (!users.ok()) return users.status();
  auto it = users->find(name);
  if (it == users->end())
    return Status::InvalidArgument("no web user '" + name + "' (see 'pveam access web-user list')");
  auto before_text = read(std::string(kWebUsersKey));
  if (!before_text.ok()) return before_text.status();
  WebUser u = it->second;
  std::map<std::string, WebUser> after = *users;
  after.erase(name);
  SettingChange c;
  c.key = std::string(kWebUsersKey);
  c.before = *before_text;
  c.after = *Text(after);
  c.action = "pveaudit:web-user-remove";
  c.resource = "/access/users/" + u.userid();
  c.summary = "web user " + u.userid() + " removed (role " + std::string(WebRoleName(u.role)) + ")";
  c.node = node;
  // The account first: once it is gone nobody logs in with it, whatever
  // happens to the hash.
  PVEAUDIT_RETURN_IF_ERROR(PutAuditedSetting(store, actor, c));
  PVEAUDIT_RETURN_IF_ERROR(store.PutSetting(WebUserHashKey(name), "", actor.user));
  if (removed) *removed = u;
  // Its tokens died with it (user_created); this only tidies the list.
  auto tokens = ListWebTokens(read);
  if (!tokens.ok()) return tokens.status();
  for (const auto& [id, t] : *tokens)
    if (t.user == name)
      PVEAUDIT_RETURN_IF_ERROR(
          RemoveWebToken(store, actor, node, name, id.substr(id.find('!') + 1)));
  return Status::OK();
}

std::string WebTokenHashKey(const std::string& tokenid) { return "web.token." + tokenid + ".hash"; }

std::string Sha256Hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : md) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

Result<std::map<std::string, WebToken>> ListWebTokens(const SettingsReader& settings) {
  std::map<std::string, WebToken> out;
  if (!settings) return out;
  auto text = settings(std::string(kWebTokensKey));
  if (!text.ok()) return text.status();
  if (!*text || (*text)->empty()) return out;
  json j = json::parse(**text, nullptr, false);
  if (!j.is_object())
    return Status::Corruption("setting " + std::string(kWebTokensKey) + " is not a JSON object");
  for (const auto& [id, v] : j.items()) {
    if (!v.is_object())
      return Status::Corruption("setting " + std::string(kWebTokensKey) + ": bad entry '" + id +
                                "'");
    WebToken t;
    t.tokenid = id;
    t.user = v.value("user", "");
    t.user_created = v.value("user_created", "");
    t.created = v.value("created", "");
    t.created_by = v.value("created_by", "");
    out[id] = t;
  }
  return out;
}

namespace {

std::string TokensText(const std::map<std::string, WebToken>& tokens) {
  if (tokens.empty()) return "";
  json j = json::object();
  for (const auto& [id, t] : tokens)
    j[id] = {{"user", t.user},
             {"user_created", t.user_created},
             {"created", t.created},
             {"created_by", t.created_by}};
  return j.dump();
}

// A random UUID (version 4), the form of Proxmox's token secrets.
std::string RandomUuid() {
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

}  // namespace

Status AddWebToken(EventStore& store, const Actor& actor, const std::string& node,
                   const std::string& name, const std::string& id, std::string* secret,
                   WebToken* added) {
  if (!SodiumReady()) return Status::Internal("libsodium cannot be initialised");
  if (!pve::ValidRealm(id))
    return Status::InvalidArgument("invalid token id '" + id +
                                   "': expected a letter, then at least one of A-Z a-z 0-9 . - _");
  SettingsReader read = StoreSettingsReader(&store);
  auto users = ListWebUsers(read);
  if (!users.ok()) return users.status();
  auto u = users->find(name);
  if (u == users->end())
    return Status::InvalidArgument("no web user '" + name + "' (see 'pveam access web-user list')");
  auto tokens = ListWebTokens(read);
  if (!tokens.ok()) return tokens.status();
  WebToken t;
  t.tokenid = u->second.userid() + "!" + id;
  if (tokens->count(t.tokenid)) return Status::InvalidArgument("token '" + t.tokenid + "' exists");
  auto before = read(std::string(kWebTokensKey));
  if (!before.ok()) return before.status();
  t.user = name;
  t.user_created = u->second.created;
  t.created = FormatRfc3339Utc(NowUs());
  t.created_by = actor.user;
  const std::string value = RandomUuid();
  // The hash first: without the list entry it authenticates nobody.
  PVEAUDIT_RETURN_IF_ERROR(
      store.PutSetting(WebTokenHashKey(t.tokenid), Sha256Hex(value), actor.user));
  std::map<std::string, WebToken> after = *tokens;
  after[t.tokenid] = t;
  SettingChange c;
  c.key = std::string(kWebTokensKey);
  c.before = *before;
  c.after = TokensText(after);
  c.action = "pveaudit:web-token-add";
  c.resource = "/access/users/" + u->second.userid();
  c.summary = "API token " + t.tokenid + " added";
  c.node = node;
  PVEAUDIT_RETURN_IF_ERROR(PutAuditedSetting(store, actor, c));
  if (secret) *secret = value;
  if (added) *added = t;
  return Status::OK();
}

Status RemoveWebToken(EventStore& store, const Actor& actor, const std::string& node,
                      const std::string& name, const std::string& id) {
  SettingsReader read = StoreSettingsReader(&store);
  auto tokens = ListWebTokens(read);
  if (!tokens.ok()) return tokens.status();
  const std::string tokenid = name + std::string(kLocalSuffix) + "!" + id;
  if (!tokens->count(tokenid))
    return Status::InvalidArgument("no token '" + tokenid +
                                   "' (see 'pveam access web-user token list')");
  auto before = read(std::string(kWebTokensKey));
  if (!before.ok()) return before.status();
  std::map<std::string, WebToken> after = *tokens;
  after.erase(tokenid);
  SettingChange c;
  c.key = std::string(kWebTokensKey);
  c.before = *before;
  c.after = TokensText(after);
  c.action = "pveaudit:web-token-remove";
  c.resource = "/access/users/" + name + std::string(kLocalSuffix);
  c.summary = "API token " + tokenid + " removed";
  c.node = node;
  PVEAUDIT_RETURN_IF_ERROR(PutAuditedSetting(store, actor, c));
  return store.PutSetting(WebTokenHashKey(tokenid), "", actor.user);
}

bool LoginThrottle::Over(std::unordered_map<std::string, Window>& m, const std::string& key,
                         int max, int64_t now) {
  auto it = m.find(key);
  if (it == m.end()) return false;
  if (now - it->second.first >= opt_.window) {
    m.erase(it);
    return false;
  }
  return it->second.count >= max;
}

void LoginThrottle::Count(std::unordered_map<std::string, Window>& m, const std::string& key,
                          int max, int64_t now) {
  if (m.size() >= opt_.max_tracked) {
    // Bounded memory under a flood of addresses: forget expired windows,
    // and if that is not enough, everything (throttling restarts).
    for (auto it = m.begin(); it != m.end();)
      it = now - it->second.first >= opt_.window ? m.erase(it) : std::next(it);
    if (m.size() >= opt_.max_tracked) m.clear();
  }
  Window& w = m[key];
  if (w.count == 0 || now - w.first >= opt_.window) w = Window{now, 0};
  if (w.count < max) ++w.count;
}

bool LoginThrottle::Allowed(const std::string& user, const std::string& ip, int64_t now,
                            std::string* why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!user.empty() && Over(users_, user, opt_.max_per_user, now)) {
    if (why) *why = "too many failed logins for user '" + user + "'; try again later";
    return false;
  }
  if (!ip.empty() && Over(ips_, ip, opt_.max_per_ip, now)) {
    if (why) *why = "too many failed logins from " + ip + "; try again later";
    return false;
  }
  return true;
}

void LoginThrottle::Failure(const std::string& user, const std::string& ip, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!user.empty()) Count(users_, user, opt_.max_per_user, now);
  if (!ip.empty()) Count(ips_, ip, opt_.max_per_ip, now);
}

void LoginThrottle::Success(const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  users_.erase(user);
}

}  // namespace pveaudit::auth

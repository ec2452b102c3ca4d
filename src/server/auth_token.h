// auth_token.h
// Proxmox API tokens: the header "Authorization: PVEAPIToken=USER@REALM!ID=SECRET"
// (pve-http-server's extract_auth_value: the key at the start or after
// white space, then '=' or ' ', the value up to ';', URL-unescaped), the
// checks of pve-access-control's verify_token (user exists, enabled, not
// expired; token exists, not expired) and the secret in
// /etc/pve/priv/token.cfg (PVE::Cluster::verify_token: lines
// "USER@REALM!ID SECRET"), compared in constant time.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/status.h"
#include "pve/access_config.h"

namespace pveaudit::auth {

struct ApiTokenCredentials {
  std::string tokenid;  // "alice@pve!ci"
  std::string userid;   // "alice@pve"
  std::string secret;
};

// The token in an Authorization header value, or InvalidArgument (the
// message never holds the secret).
Result<ApiTokenCredentials> ParseApiTokenHeader(std::string_view header);

// token.cfg: token id -> secret. Blank lines skipped; the last line of a
// token id wins (Perl hash assignment).
std::map<std::string, std::string> ParseTokenCfg(std::string_view text);

// check_user_exist + check_user_enabled, and the account's expiry (as
// Proxmox's login checks it), at epoch second `now`.
Status CheckUserEnabled(const pve::AccessConfig& cfg, const std::string& userid, int64_t now);

// The whole verify_token. Returns the token id.
Result<std::string> VerifyApiToken(const ApiTokenCredentials& t, const pve::AccessConfig& cfg,
                                   const std::map<std::string, std::string>& secrets, int64_t now);

}  // namespace pveaudit::auth

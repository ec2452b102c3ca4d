#include "server/auth_token.h"

#include "pve/parse_util.h"
#include "server/auth_csrf.h"

namespace pveaudit::auth {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string UriUnescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out += char(Hex(s[i + 1]) * 16 + Hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

Result<ApiTokenCredentials> ParseApiTokenHeader(std::string_view header) {
  static constexpr std::string_view kKey = "PVEAPIToken";
  if (header.size() > 4096) return Status::InvalidArgument("Authorization header too long");
  size_t at = std::string_view::npos;
  for (size_t pos = header.find(kKey); pos != std::string_view::npos;
       pos = header.find(kKey, pos + 1)) {
    if (pos != 0 && !IsSpace(header[pos - 1])) continue;
    size_t after = pos + kKey.size();
    if (after < header.size() && (header[after] == '=' || header[after] == ' ')) {
      at = after + 1;
      break;
    }
  }
  if (at == std::string_view::npos)
    return Status::InvalidArgument("Authorization header is not PVEAPIToken=USER@REALM!ID=SECRET");
  std::string_view raw = header.substr(at);
  raw = raw.substr(0, raw.find(';'));
  std::string value = UriUnescape(raw);
  // verify_token: ^(.*)=(.*)$ , greedy: the secret follows the last '='.
  size_t eq = value.rfind('=');
  if (eq == std::string::npos) return Status::InvalidArgument("API token has no secret ('=')");
  ApiTokenCredentials t;
  t.tokenid = value.substr(0, eq);
  t.secret = value.substr(eq + 1);
  std::string name;
  if (!pve::SplitTokenId(t.tokenid, &t.userid, &name)) {
    std::string msg = "'";
    msg.append(t.tokenid, 0, 80);
    msg += "' is not a valid token ID";
    return Status::InvalidArgument(msg);
  }
  if (t.secret.empty()) return Status::InvalidArgument("API token secret is empty");
  return t;
}

std::map<std::string, std::string> ParseTokenCfg(std::string_view text) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = pve::TrimSpace(text.substr(pos, nl - pos));
    pos = nl + 1;
    if (line.empty()) continue;
    size_t sp = 0;
    while (sp < line.size() && !IsSpace(line[sp])) ++sp;
    std::string_view id = line.substr(0, sp);
    std::string_view rest = pve::TrimSpace(line.substr(sp));
    size_t end = 0;
    while (end < rest.size() && !IsSpace(rest[end])) ++end;
    out[std::string(id)] = std::string(rest.substr(0, end));
  }
  return out;
}

Status CheckUserEnabled(const pve::AccessConfig& cfg, const std::string& userid, int64_t now) {
  auto it = cfg.users.find(userid);
  if (it == cfg.users.end()) return Status::NotFound("no such user ('" + userid + "')");
  if (!it->second.enabled) return Status::InvalidArgument("user '" + userid + "' is disabled");
  if (it->second.expire && it->second.expire < now)
    return Status::InvalidArgument("account '" + userid + "' expired");
  return Status::OK();
}

Result<std::string> VerifyApiToken(const ApiTokenCredentials& t, const pve::AccessConfig& cfg,
                                   const std::map<std::string, std::string>& secrets, int64_t now) {
  PVEAUDIT_RETURN_IF_ERROR(CheckUserEnabled(cfg, t.userid, now));
  auto tok = cfg.tokens.find(t.tokenid);
  if (tok == cfg.tokens.end()) return Status::NotFound("no such token '" + t.tokenid + "'");
  if (tok->second.expire && tok->second.expire < now)
    return Status::InvalidArgument("token '" + t.tokenid + "' access expired");
  auto s = secrets.find(t.tokenid);
  // Compare against something even when the id has no secret, so the
  // answer takes the same time.
  const std::string& want = s == secrets.end() ? std::string() : s->second;
  bool match = ConstantTimeEquals(want, t.secret);
  if (s == secrets.end() || want.empty() || !match)
    return Status::InvalidArgument("invalid token value for '" + t.tokenid + "'");
  return t.tokenid;
}

}  // namespace pveaudit::auth

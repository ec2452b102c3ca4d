#include "server/auth_authenticator.h"

#include <sys/stat.h>

#include <optional>
#include <unordered_map>
#include <utility>

#include "pve/parse_util.h"
#include "server/auth_csrf.h"
#include "server/auth_token.h"

namespace pveaudit::auth {
namespace {

std::string Under(const std::string& given, const std::string& dir, const char* name) {
  if (!given.empty() || dir.empty()) return given;
  return dir + "/" + name;
}

bool IsLocalUserid(std::string_view userid) {
  const std::string_view suffix = kLocalSuffix;
  return userid.size() > suffix.size() && userid.substr(userid.size() - suffix.size()) == suffix;
}

// The path and privilege that make an event on `resource` visible to a
// principal without Sys.Audit on / (docs/auth.md); nullopt: only Sys.Audit
// on / shows it.
std::optional<std::pair<std::string, const char*>> ResourceCheck(std::string_view resource) {
  auto first_segment = [&](std::string_view prefix) -> std::optional<std::string> {
    if (resource.size() <= prefix.size() || resource.substr(0, prefix.size()) != prefix)
      return std::nullopt;
    std::string_view rest = resource.substr(prefix.size());
    rest = rest.substr(0, rest.find('/'));
    if (rest.empty()) return std::nullopt;
    return std::string(prefix) + std::string(rest);
  };
  if (auto p = first_segment("/vms/")) return std::make_pair(*p, "VM.Audit");
  if (auto p = first_segment("/storage/")) return std::make_pair(*p, "Datastore.Audit");
  if (auto p = first_segment("/nodes/")) return std::make_pair(*p, "Sys.Audit");
  for (std::string_view top : {std::string_view("/access"), std::string_view("/pool")})
    if (resource == top || (resource.size() > top.size() && resource.substr(0, top.size()) == top &&
                            resource[top.size()] == '/'))
      return std::make_pair(std::string("/access"), "Sys.Audit");
  return std::nullopt;
}

}  // namespace

PveAuthenticator::PveAuthenticator(Options o)
    : opt_(std::move(o)),
      verifier_(
          TicketVerifier::Options{opt_.authkey_pub, opt_.authkey_pub_old, opt_.assume_quorate}),
      throttle_(opt_.throttle) {}

Result<std::unique_ptr<PveAuthenticator>> PveAuthenticator::Create(Options o) {
  o.authkey_pub = Under(o.authkey_pub, o.pve_dir, "authkey.pub");
  o.authkey_pub_old = Under(o.authkey_pub_old, o.pve_dir, "authkey.pub.old");
  o.user_cfg = Under(o.user_cfg, o.pve_dir, "user.cfg");
  o.token_cfg = Under(o.token_cfg, o.pve_dir, "priv/token.cfg");
  o.csrf_key_file = Under(o.csrf_key_file, o.data_dir, "web-csrf.key");
  o.local_key_file = Under(o.local_key_file, o.data_dir, "web-authkey.key");
  if (o.csrf_key_file.empty() || o.local_key_file.empty())
    return Status::InvalidArgument("no data directory for pveaudit's web keys");
  std::unique_ptr<PveAuthenticator> a(new PveAuthenticator(std::move(o)));
  auto csrf = ReadOrCreateSecretFile(a->opt_.csrf_key_file, NewCsrfKeyFile);
  if (!csrf.ok()) return csrf.status();
  a->csrf_secret_ = CsrfSecretFromKey(*csrf);
  auto pem = ReadOrCreateSecretFile(a->opt_.local_key_file, NewLocalTicketKeyFile);
  if (!pem.ok()) return pem.status();
  auto key = PrivateKeyFromPem(*pem);
  if (!key.ok()) return Status::Corruption(a->opt_.local_key_file + ": " + key.status().message());
  a->local_key_ = *key;
  return a;
}

std::shared_ptr<const PveAuthenticator::Snapshot> PveAuthenticator::Current() {
  auto id_of = [](const std::string& path) {
    struct stat st;
    FileId id;
    if (stat(path.c_str(), &st) == 0) {
      id.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      id.size = int64_t(st.st_size);
      id.ino = int64_t(st.st_ino) ^ (int64_t(st.st_ctim.tv_sec) << 20) ^ st.st_ctim.tv_nsec;
    }
    return id;
  };
  FileId user = id_of(opt_.user_cfg), token = id_of(opt_.token_cfg);
  std::lock_guard<std::mutex> lock(mu_);
  if (snap_ && user == user_id_ && token == token_id_) return snap_;
  auto s = std::make_shared<Snapshot>();
  auto text = pve::ReadWholeFile(opt_.user_cfg);
  if (text.ok()) {
    s->cfg.dir = opt_.pve_dir;
    s->cfg.access = pve::ParseUserCfg(*text, opt_.user_cfg);
    s->index = std::make_unique<pve::PermissionIndex>(s->cfg);
    s->has_cfg = true;
  } else {
    s->error = "no Proxmox user.cfg: " + text.status().message();
  }
  auto tokens = pve::ReadWholeFile(opt_.token_cfg);
  if (tokens.ok()) s->token_secrets = ParseTokenCfg(*tokens);
  snap_ = std::move(s);
  user_id_ = user;
  token_id_ = token;
  return snap_;
}

Result<WebRole> PveAuthenticator::LocalRole(const std::string& userid) {
  auto name = WebUserNameOf(userid);
  if (!name || !IsLocalUserid(userid))
    return Status::InvalidArgument("'" + userid + "' is not a local account");
  auto users = ListWebUsers(opt_.settings);
  if (!users.ok()) return users.status();
  auto it = users->find(*name);
  if (it == users->end()) return Status::NotFound("no local account '" + userid + "'");
  return it->second.role;
}

Result<Principal> PveAuthenticator::Authenticate(const Credentials& c) {
  const int64_t now = Now();
  if (!c.authorization.empty()) {
    auto t = ParseApiTokenHeader(c.authorization);
    if (!t.ok()) return t.status();
    if (IsLocalUserid(t->userid)) return LocalToken(*t);
    auto s = Current();
    if (!s->has_cfg) return Status::NotFound(s->error);
    auto id = VerifyApiToken(*t, s->cfg.access, s->token_secrets, now);
    if (!id.ok()) return id.status();
    Principal p;
    p.userid = t->userid;
    p.tokenid = t->tokenid;
    p.via = Principal::Via::kToken;
    return p;
  }
  if (c.ticket.empty()) return Status::InvalidArgument("no ticket and no API token");
  auto parsed = ParseTicket(c.ticket, "PVE");
  if (!parsed.ok()) return parsed.status();
  if (parsed->has_data) {
    auto named = UserOfTicketData(parsed->data);
    if (named.ok() && IsLocalUserid(*named)) {
      // Only pveaudit's own key vouches for its accounts, and it vouches
      // for nothing else.
      if (!TicketValid(*parsed, local_key_.get(), AgeRange{-kAuthGracePeriod, kTicketLifetime},
                       now))
        return Status::InvalidArgument("invalid pveaudit ticket (signature or age)");
      auto role = LocalRole(*named);
      if (!role.ok()) return role.status();
      Principal p;
      p.userid = *named;
      p.via = Principal::Via::kLocal;
      return p;
    }
  }
  auto user = verifier_.Verify(c.ticket, now);
  if (!user.ok()) return user.status();
  auto s = Current();
  if (!s->has_cfg) return Status::NotFound(s->error);
  PVEAUDIT_RETURN_IF_ERROR(CheckUserEnabled(s->cfg.access, *user, now));
  Principal p;
  p.userid = *user;
  p.via = Principal::Via::kTicket;
  return p;
}

Result<Principal> PveAuthenticator::LocalToken(const ApiTokenCredentials& t) {
  auto name = WebUserNameOf(t.userid);
  if (!name) return Status::InvalidArgument("'" + t.userid + "' is not a local account");
  auto users = ListWebUsers(opt_.settings);
  if (!users.ok()) return users.status();
  auto tokens = ListWebTokens(opt_.settings);
  if (!tokens.ok()) return tokens.status();
  auto u = users->find(*name);
  auto tok = tokens->find(t.tokenid);
  std::string want;
  if (u != users->end() && tok != tokens->end() && tok->second.user == *name &&
      tok->second.user_created == u->second.created) {
    auto h = opt_.settings(WebTokenHashKey(t.tokenid));
    if (!h.ok()) return h.status();
    if (*h) want = **h;
  }
  // Compared even when there is nothing to compare with: same time.
  const bool match = ConstantTimeEquals(want, Sha256Hex(t.secret));
  if (want.empty() || !match)
    return Status::InvalidArgument("invalid token value for '" + t.tokenid + "'");
  Principal p;
  p.userid = t.userid;
  p.tokenid = t.tokenid;
  p.via = Principal::Via::kLocal;
  return p;
}

std::string PveAuthenticator::CsrfToken(const Principal& p) {
  return AssembleCsrfToken(csrf_secret_, p.userid, Now());
}

bool PveAuthenticator::CheckCsrf(const Principal& p, const std::string& token) {
  // As in Proxmox: an API token is sent by a program, not a browser that
  // a third-party page could drive, so it needs no CSRF token.
  if (p.via == Principal::Via::kToken || !p.tokenid.empty()) return true;
  return VerifyCsrfToken(csrf_secret_, p.userid, token, Now());
}

bool PveAuthenticator::PveHas(const Snapshot& s, const Principal& p, const std::string& path,
                              const std::string& privilege) {
  if (!s.has_cfg || p.via == Principal::Via::kLocal) return false;
  auto norm = pve::NormalizePath(path);
  if (!norm) return false;
  const std::string& who = p.tokenid.empty() ? p.userid : p.tokenid;
  return s.index->EffectivePrivileges(who, *norm).count(privilege) > 0;
}

bool PveAuthenticator::HasPrivilege(const Principal& p, const std::string& path,
                                    const std::string& privilege) {
  if (p.via == Principal::Via::kLocal) {
    // auditor: Sys.Audit on / ; admin: Sys.Audit and Sys.Modify on /
    // (both propagate, so they hold on every path).
    auto role = LocalRole(p.userid);
    if (!role.ok() || !pve::NormalizePath(path)) return false;
    if (privilege == "Sys.Audit") return true;
    return privilege == "Sys.Modify" && *role == WebRole::kAdmin;
  }
  auto s = Current();
  return PveHas(*s, p, path, privilege);
}

Visibility PveAuthenticator::VisibilityOf(const Principal& p) {
  Visibility v;
  if (HasPrivilege(p, "/", "Sys.Audit")) {
    v.all = true;
    return v;
  }
  auto s = Current();
  // Whose actions are the principal's own: a user's and its tokens'; a
  // privilege-separated token only its own (it holds less than its user).
  bool token_only = false;
  if (p.via == Principal::Via::kToken) {
    auto it = s->cfg.access.tokens.find(p.tokenid);
    token_only = it == s->cfg.access.tokens.end() || it->second.privsep;
  }
  // Memoized per resource (a query asks for millions of rows, over a few
  // thousand distinct resources) and per (path, privilege) behind it.
  struct Memo {
    std::mutex mu;
    std::unordered_map<std::string, bool> by_resource, by_check;
  };
  auto memo = std::make_shared<Memo>();
  const std::string own = token_only ? p.tokenid : p.userid;
  const std::string own_tokens = token_only ? std::string() : p.userid + "!";
  Principal who = p;
  v.sees = [s, memo, own, own_tokens, who](const Event& e) {
    if (!e.user.empty() &&
        (e.user == own || (!own_tokens.empty() && e.user.size() > own_tokens.size() &&
                           e.user.compare(0, own_tokens.size(), own_tokens) == 0)))
      return true;
    std::lock_guard<std::mutex> lock(memo->mu);
    auto hit = memo->by_resource.find(e.resource);
    if (hit != memo->by_resource.end()) return hit->second;
    bool ok = false;
    if (auto check = ResourceCheck(e.resource)) {
      std::string key = check->first + '\n' + check->second;
      auto it = memo->by_check.find(key);
      if (it != memo->by_check.end()) {
        ok = it->second;
      } else {
        ok = PveHas(*s, who, check->first, check->second);
        memo->by_check.emplace(std::move(key), ok);
      }
    }
    memo->by_resource.emplace(e.resource, ok);
    return ok;
  };
  return v;
}

void PveAuthenticator::Fail(const std::string& user, const std::string& ip,
                            const std::string& reason) {
  if (!opt_.on_login_failure) return;
  LoginFailure f;
  f.user = user.substr(0, 64);
  f.ip = ip;
  f.time = Now();
  f.reason = reason;
  opt_.on_login_failure(f);
}

Result<std::string> PveAuthenticator::SignLocalTicket(const std::string& userid, int64_t time) {
  return SignTicket(local_key_.get(), "PVE", userid, time, Digest::kSha256);
}

Result<PveAuthenticator::Login> PveAuthenticator::LoginLocal(const std::string& user,
                                                             const std::string& password,
                                                             const std::string& ip) {
  const int64_t now = Now();
  auto name = WebUserNameOf(user);
  const std::string key = name ? *name : user.substr(0, 64);
  std::string why;
  if (!throttle_.Allowed(key, ip, now, &why)) {
    Fail(user, ip, "throttled: " + why);
    return Status::Busy(why);
  }
  auto users = ListWebUsers(opt_.settings);
  if (!users.ok()) return users.status();
  std::string hash;
  std::optional<WebRole> role;
  if (name) {
    if (auto it = users->find(*name); it != users->end()) {
      role = it->second.role;
      auto h = opt_.settings(WebUserHashKey(*name));
      if (!h.ok()) return h.status();
      if (*h) hash = **h;
    }
  }
  bool ok = false;
  {
    std::lock_guard<std::mutex> lock(hash_mu_);
    if (!hash.empty()) {
      ok = CheckPassword(hash, password);
    } else {
      // The same work for an unknown user, so timing does not tell which
      // names exist.
      if (dummy_hash_.empty()) {
        auto d = HashPassword(RandomBytes(16), HashLimits::Interactive());
        if (d.ok()) dummy_hash_ = *d;
      }
      (void)CheckPassword(dummy_hash_, password);
    }
  }
  if (!ok) {
    throttle_.Failure(key, ip, now);
    Fail(user, ip, role ? "bad password" : "no such user");
    return Status::InvalidArgument("login failed: wrong user name or password");
  }
  throttle_.Success(key);
  Login l;
  l.principal.userid = *name + std::string(kLocalSuffix);
  l.principal.via = Principal::Via::kLocal;
  auto ticket = SignLocalTicket(l.principal.userid, now);
  if (!ticket.ok()) return ticket.status();
  l.ticket = *ticket;
  l.csrf = CsrfToken(l.principal);
  return l;
}

}  // namespace pveaudit::auth

// libFuzzer target for the user.cfg parser (and, on the same bytes, the
// domains.cfg section parser): any input must parse without crashing or
// hanging, the result must keep parse_user_config's invariants (ACL roles
// exist, tokens have a user, warnings point at real lines), and the
// permission engine must run on it. Seeds: tests/data/pve/**/user.cfg.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pve/access_config.h"
#include "pve/parse_util.h"
#include "pve/permissions.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pveaudit::pve;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  int lines = 1;
  for (char c : input) lines += c == '\n';

  PveConfig cfg;
  cfg.access = ParseUserCfg(input, "user.cfg");
  const AccessConfig& a = cfg.access;
  for (const ConfigWarning& w : a.warnings)
    if (w.line < 1 || w.line > lines || w.message.empty()) std::abort();
  if (!a.users.count("root@pam")) std::abort();
  for (const auto& [name, privs] : BuiltinRoles())
    if (!a.roles.count(name) || a.roles.at(name).privs != privs) std::abort();
  for (const Acl& acl : a.acls) {
    if (!a.roles.count(acl.role) || acl.path.empty() || acl.path[0] != '/') std::abort();
    // (A later user: line may drop the token again, as in Proxmox; the
    // entry stays and grants nothing.)
    if (acl.type == PrincipalType::kToken && !SplitTokenId(acl.principal, nullptr, nullptr))
      std::abort();
  }
  for (const auto& [id, t] : a.tokens)
    if (!a.users.count(t.userid)) std::abort();
  for (const auto& [id, role] : a.roles)
    for (const std::string& p : role.privs)
      if (!AllPrivileges().count(p)) std::abort();

  // The engine on a few principals and paths.
  std::vector<std::string> who = {"root@pam"};
  if (!a.users.empty()) who.push_back(a.users.rbegin()->first);
  if (!a.tokens.empty()) who.push_back(a.tokens.begin()->first);
  for (const std::string& p : who) {
    auto tree = PermissionTree(cfg, p);
    for (const Acl& acl : a.acls) EffectivePrivileges(cfg, p, acl.path);
    for (const auto& [path, privs] : tree)
      if (privs.empty()) std::abort();
  }

  std::vector<ConfigWarning> warnings;
  auto realms = ParseDomainsCfg(input, "domains.cfg", &warnings);
  if (!realms.ok() || !realms->count("pam") || !realms->count("pve")) std::abort();

  // decode_text(encode_text(x)) == x for valid UTF-8.
  std::string decoded = DecodeText(input);
  if (DecodeText(EncodeText(decoded)) != decoded) std::abort();
  return 0;
}

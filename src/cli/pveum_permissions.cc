// pveum user permissions: effective permissions of a user or API token,
// computed from the cluster's user.cfg like Proxmox's own
// `pveum user permissions` (docs/permissions.md).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "pve/parse_util.h"
#include "pve/permissions.h"

namespace pveaudit {
namespace {

struct PermissionsOptions {
  CommonOptions common;
  std::string userid, path, pve_dir;
};

// --pve-dir, $PVEAUDIT_PVE_DIR, the config's pve_dir (default /etc/pve).
std::string ResolvePveDir(const PermissionsOptions& o, const Env& env) {
  if (!o.pve_dir.empty()) return o.pve_dir;
  if (const char* d = std::getenv("PVEAUDIT_PVE_DIR"); d && *d) return d;
  return env.config.pve_dir;
}

void PrintWarnings(const std::vector<pve::ConfigWarning>& warnings) {
  for (const pve::ConfigWarning& w : warnings)
    std::cerr << "warning: " << w.file << ":" << w.line << ": " << w.message << "\n";
}

}  // namespace

CommandRun AddUserPermissionsCommand(CLI::App* user) {
  auto o = std::make_shared<PermissionsOptions>();
  CLI::App* cmd = user->add_subcommand(
      "permissions", "Show the effective permissions of a user or API token (from user.cfg)");
  cmd->add_option("userid", o->userid, "User (alice@pve) or full API token id (alice@pve!ci)")
      ->type_name("USERID");
  cmd->add_option("--path", o->path, "Only this ACL path (/vms/100), even when nothing is granted")
      ->type_name("PATH");
  cmd->add_option("--pve-dir", o->pve_dir,
                  "Proxmox config directory holding user.cfg (default: $PVEAUDIT_PVE_DIR, the "
                  "config's pve_dir, /etc/pve)")
      ->type_name("DIR");
  AddCommonOptions(cmd, &o->common, true);
  cmd->footer(R"(
Privileges follow Proxmox VE's rules: root@pam is Administrator; along the
path a deeper ACL replaces an inherited one, user entries beat group entries
on the same level, NoAccess cancels everything; pool ACLs add roles to their
members; privilege-separated tokens get the intersection with their user.

Output: one line per path and privilege with its propagate flag (1: also
granted below). JSON is Proxmox's shape: {"PATH": {"PRIVILEGE": 0|1}}.

Examples:
  pveum user permissions alice@pve
  pveum user permissions alice@pve!ci --path /vms/100
  pveum user permissions bob@corp --pve-dir /srv/backup/etc-pve --output-format json)");

  return [o]() -> int {
    Env env = ResolveEnv(o->common);
    if (o->userid.empty())
      throw UsageError{
          "missing USERID: name the user (alice@pve) or API token (alice@pve!ci) to inspect "
          "(Proxmox defaults to the calling user; pveaudit has none)"};
    if (!pve::VerifyUsername(o->userid) && !pve::SplitTokenId(o->userid, nullptr, nullptr))
      throw UsageError{"invalid value '" + o->userid +
                       "' for USERID: expected a user (alice@pve) or API token (alice@pve!ci)"};
    std::string path;
    if (!o->path.empty()) {
      auto p = pve::NormalizePath(o->path);
      if (!p)
        throw UsageError{"invalid value '" + o->path +
                         "' for --path: expected an ACL path such as /vms/100"};
      path = *p;
    }
    std::string dir = ResolvePveDir(*o, env);
    auto cfg = pve::LoadPveConfig(dir);
    if (!cfg.ok()) {
      if (cfg.status().code() == Status::Code::kNotFound)
        throw UsageError{cfg.status().message() +
                         " (set the Proxmox config directory with --pve-dir, $PVEAUDIT_PVE_DIR or "
                         "pve_dir in the config file)"};
      std::cerr << "error: " << cfg.status().message() << "\n";
      return kExitFailure;
    }
    // Only user.cfg decides permissions; its warnings are Proxmox's own.
    PrintWarnings(cfg->access.warnings);
    const pve::AccessConfig& access = cfg->access;
    if (!access.users.count(o->userid) && !access.tokens.count(o->userid)) {
      std::vector<std::string> known;
      for (const auto& [id, u] : access.users) known.push_back(id);
      for (const auto& [id, t] : access.tokens) known.push_back(id);
      std::string hint = DidYouMean(o->userid, known);
      std::cerr << "note: '" << o->userid << "' is not defined in " << dir
                << (dir.empty() || dir.back() == '/' ? "" : "/") << "user.cfg"
                << (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)") << "\n";
    }

    auto tree = pve::PermissionTree(*cfg, o->userid, path);
    std::string out;
    if (env.format == OutputFormat::kJson || env.format == OutputFormat::kJsonPretty) {
      nlohmann::json j = nlohmann::json::object();
      for (const auto& [p, privs] : tree) {
        nlohmann::json& node = j[p] = nlohmann::json::object();
        for (const auto& [priv, propagate] : privs) node[priv] = propagate ? 1 : 0;
      }
      out = j.dump(env.format == OutputFormat::kJsonPretty ? 4 : -1, ' ', false,
                   nlohmann::json::error_handler_t::replace) +
            "\n";
    } else {
      Table t;
      t.columns = {"path", "privilege", "propagate"};
      for (const auto& [p, privs] : tree)
        for (const auto& [priv, propagate] : privs)
          t.rows.push_back({p, priv, int64_t(propagate ? 1 : 0)});
      if (t.rows.empty() && env.format == OutputFormat::kText) {
        std::cerr << o->userid << " has no privileges"
                  << (path.empty() ? std::string() : " on " + path) << "\n";
        return kExitOk;
      }
      out = RenderTable(t, env.format);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return kExitOk;
  };
}

}  // namespace pveaudit

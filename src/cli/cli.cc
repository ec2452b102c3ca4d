#include "cli/cli.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/help_formatter.h"

namespace pveaudit {
namespace {

std::string BaseName(const char* argv0) {
  std::string s = argv0 ? argv0 : "pveam";
  auto slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

// Hands the command line to the system's own pveam/pveum when it exists
// and is not this binary. Returns only when there is none.
void ExecSystemTool(const std::string& name, char** argv) {
  for (const char* dir : {"/usr/bin/", "/usr/sbin/"}) {
    std::string path = std::string(dir) + name;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) continue;
    auto self = std::filesystem::canonical("/proc/self/exe", ec);
    auto other = std::filesystem::canonical(path, ec);
    if (!ec && self == other) continue;
    execv(path.c_str(), argv);
  }
}

std::vector<std::string> OptionNames(CLI::App* app) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : app->get_options())
    for (const std::string& l : opt->get_lnames()) names.push_back("--" + l);
  return names;
}

std::vector<std::string> SubcommandNames(CLI::App* app) {
  std::vector<std::string> names;
  for (CLI::App* s : app->get_subcommands({})) names.push_back(s->get_name());
  return names;
}

int Usage(const std::string& prog, const std::string& msg) {
  std::cerr << prog << ": " << msg << "\n";
  return kExitUsage;
}

// Finds the leaf subcommand that was selected.
CLI::App* Leaf(CLI::App* app) {
  for (CLI::App* s : app->get_subcommands())
    if (s->parsed()) return Leaf(s);
  return app;
}

int RunTree(const std::string& prog, CLI::App& app,
            const std::vector<std::pair<CLI::App*, CommandRun>>& commands, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    std::cout << e.what() << "\n";
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::cerr << prog << ": " << e.what() << "\n";
    std::cerr << "Run '" << prog << " --help' for usage.\n";
    return kExitUsage;
  }
  CLI::App* leaf = Leaf(&app);
  std::string where = prog;
  for (CLI::App* a = leaf; a && a != &app; a = a->get_parent())
    where.insert(prog.size(), " " + a->get_name());
  // Unknown words: options and subcommands, with a hint.
  for (const std::string& extra : leaf->remaining()) {
    if (extra.rfind("-", 0) == 0) {
      std::string name = extra.substr(0, extra.find('='));
      std::string hint = DidYouMean(name, OptionNames(leaf));
      return Usage(where, "unknown option '" + name + "'" +
                              (hint.empty() ? "" : " (did you mean '" + hint + "'?)") + "\nRun '" +
                              where + " --help' for usage.");
    }
    auto subs = SubcommandNames(leaf);
    if (!subs.empty()) {
      std::string hint = DidYouMean(extra, subs);
      return Usage(where, "unknown command '" + extra + "'" +
                              (hint.empty() ? "" : " (did you mean '" + hint + "'?)") + "\nRun '" +
                              where + " --help' for usage.");
    }
    return Usage(where,
                 "unexpected argument '" + extra + "'\nRun '" + where + " --help' for usage.");
  }
  for (const auto& [cmd, run] : commands) {
    if (cmd != leaf) continue;
    try {
      return run();
    } catch (const UsageError& e) {
      return Usage(where, e.message);
    }
  }
  std::cerr << leaf->help();
  return kExitUsage;
}

int RunPveam(int argc, char** argv) {
  const std::string prog = "pveam";
  // Proxmox's own pveam (appliance manager) keeps every other subcommand.
  auto ours = [&] {
    return argc < 2 || argv[1][0] == '-' || std::strcmp(argv[1], "access") == 0 ||
           std::strcmp(argv[1], "compliance") == 0;
  };
  if (!ours()) ExecSystemTool(prog, argv);

  CLI::App app(
      "pveam access: audit who did what on a Proxmox VE cluster, from where, when, "
      "and whether it worked (pveaudit)",
      prog);
  UseHelpFormatter(&app);
  app.require_subcommand(1);
  app.set_version_flag("--version", kPveauditVersion);
  CLI::App* access =
      app.add_subcommand("access", "Access auditing: query, import and verify events");
  access->require_subcommand(0, 1);
  access->allow_extras();
  std::vector<std::pair<CLI::App*, CommandRun>> commands;
  auto add = [&](CommandRun run) {
    CLI::App* cmd = access->get_subcommands({}).back();
    cmd->allow_extras();
    commands.emplace_back(cmd, std::move(run));
  };
  add(AddAccessLogCommand(access));
  add(AddAccessImportCommand(access));
  add(AddAccessVerifyCommand(access));
  add(AddAccessStatusCommand(access));
  add(AddAccessRejectedCommand(access));
  add(AddAccessSessionsCommand(access));
  add(AddAccessMigrateCommand(access));
  AddAccessAlertCommands(access, &commands);
  add(AddAccessSyslogCommand(access));
  add(AddAccessNotifyCommand(access));
  AddAccessWebUserCommands(access, &commands);
  AddAccessExportCommands(access, &commands);
  AddAccessReviewCommands(access, &commands);
  AddAccessArchiveCommands(access, &commands);
  AddComplianceCommands(&app, &commands);
  app.footer("\nOther pveam subcommands are passed to Proxmox's own pveam when it is installed.");
  if (!ours()) {
    std::string hint = DidYouMean(argv[1], {"access", "compliance"});
    return Usage(prog, "unknown command '" + std::string(argv[1]) + "'" +
                           (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                           "\nRun 'pveam --help' for usage.");
  }
  return RunTree(prog, app, commands, argc, argv);
}

int RunPveum(int argc, char** argv) {
  const std::string prog = "pveum";
  // pveaudit provides the audit subcommands; everything else (user add,
  // acl modify, ...) belongs to Proxmox's own pveum.
  auto ours = [&]() {
    if (argc < 2) return true;
    std::string a = argv[1];
    if (a[0] == '-') return true;
    if (a == "audit") return true;
    std::string b = argc > 2 ? argv[2] : "";
    if (a == "user" && (b == "report" || b == "permissions")) return true;
    if (a == "acl" && b == "report") return true;
    return false;
  };
  if (!ours()) ExecSystemTool(prog, argv);

  CLI::App app("pveum (pveaudit): access-control reports and reviews for Proxmox VE", prog);
  UseHelpFormatter(&app);
  app.require_subcommand(1);
  app.set_version_flag("--version", kPveauditVersion);
  std::vector<std::pair<CLI::App*, CommandRun>> commands;
  auto add = [&](CLI::App* parent, CommandRun run) {
    CLI::App* cmd = parent->get_subcommands({}).back();
    cmd->allow_extras();
    commands.emplace_back(cmd, std::move(run));
  };
  CLI::App* user = app.add_subcommand("user", "User reports and effective permissions");
  user->require_subcommand(0, 1);
  user->allow_extras();
  add(user, AddUserPermissionsCommand(user));
  add(user, AddUserReportCommand(user));
  CLI::App* acl = app.add_subcommand("acl", "Permission (ACL) report");
  acl->require_subcommand(0, 1);
  acl->allow_extras();
  add(acl, AddAclReportCommand(acl));
  CLI::App* audit = app.add_subcommand("audit", "Access reviews");
  audit->require_subcommand(0, 1);
  audit->allow_extras();
  add(audit, AddAuditQuarterlyCommand(audit));
  app.footer("\nOther pveum subcommands are passed to Proxmox's own pveum when it is installed.");
  if (argc > 1 && !ours()) {
    return Usage(prog, "'pveum " + std::string(argv[1]) +
                           (argc > 2 ? " " + std::string(argv[2]) : std::string()) +
                           "' is not provided by pveaudit and Proxmox's pveum is not installed");
  }
  return RunTree(prog, app, commands, argc, argv);
}

}  // namespace

int RunMulticall(int argc, char** argv) {
  std::string prog = BaseName(argc > 0 ? argv[0] : nullptr);
  if (prog == "pveum") return RunPveum(argc, argv);
  return RunPveam(argc, argv);
}

}  // namespace pveaudit

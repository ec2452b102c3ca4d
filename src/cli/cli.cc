#include "cli/cli.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "cli/commands.h"

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
  if (argc > 1 && std::strcmp(argv[1], "access") != 0 && argv[1][0] != '-')
    ExecSystemTool(prog, argv);

  CLI::App app(
      "pveam access: audit who did what on a Proxmox VE cluster, from where, when, "
      "and whether it worked (pveaudit)",
      prog);
  app.require_subcommand(1);
  app.set_version_flag("--version", "pveaudit 0.1.0");
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
  app.footer("\nOther pveam subcommands are passed to Proxmox's own pveam when it is installed.");
  if (argc > 1 && std::strcmp(argv[1], "access") != 0 && argv[1][0] != '-') {
    std::string hint = DidYouMean(argv[1], {"access"});
    return Usage(prog, "unknown command '" + std::string(argv[1]) + "'" +
                           (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                           "\nRun 'pveam --help' for usage.");
  }
  return RunTree(prog, app, commands, argc, argv);
}

int RunPveum(int argc, char** argv) {
  // The access-control reports (pveum user report, pveum acl report, pveum
  // audit quarterly) come with the access-control issue; until then every
  // pveum command belongs to Proxmox's own pveum.
  ExecSystemTool("pveum", argv);
  return Usage("pveum",
               std::string("'pveum") + (argc > 1 ? std::string(" ") + argv[1] : "") +
                   "' is not provided by pveaudit yet and Proxmox's pveum is not installed");
}

}  // namespace

int RunMulticall(int argc, char** argv) {
  std::string prog = BaseName(argc > 0 ? argv[0] : nullptr);
  if (prog == "pveum") return RunPveum(argc, argv);
  return RunPveam(argc, argv);
}

}  // namespace pveaudit

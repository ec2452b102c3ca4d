// pveam access import: feed log files into the store, exactly once.
#include <sys/stat.h>

#include <cstdio>
#include <iostream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/time_spec.h"
#include "pipeline/importer.h"

namespace pveaudit {

CommandRun AddAccessImportCommand(CLI::App* access) {
  struct Opts {
    CommonOptions common;
    std::string format = "auto", node;
    std::vector<std::string> files;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = access->add_subcommand(
      "import", "Import Proxmox log files (plain or .gz) into the store, exactly once");
  cmd->add_option("--format", o->format,
                  "auto (default), pveproxy (access.log), auth (pvedaemon/pveproxy syslog or "
                  "journal lines), tasks (task index/active), json (one event per line)")
      ->type_name("FORMAT");
  cmd->add_option("--node", o->node,
                  "Node the files come from (default: from the lines; for access.log this host)")
      ->type_name("NAME");
  cmd->add_option("files", o->files, "Log files")->required()->type_name("FILE...");
  AddCommonOptions(cmd, &o->common, false);
  cmd->footer(R"(
Each file is recognised by its first line: importing it again, or its rotated
copy, stores only lines not stored before. Lines that cannot be parsed are
counted and kept in the store with file, line number and reason.

Examples:
  pveam access import /var/log/pveproxy/access.log /var/log/pveproxy/access.log.1
  pveam access import --format auth --node pve1 /var/log/daemon.log.2.gz
  pveam access import --format tasks /var/log/pve/tasks/index)");

  return [o]() -> int {
    Env env = ResolveEnv(o->common);
    static const char* kFormats[] = {"auto", "pveproxy", "auth", "tasks", "json"};
    if (std::find(std::begin(kFormats), std::end(kFormats), o->format) == std::end(kFormats))
      throw UsageError{"invalid value '" + o->format +
                       "' for --format: expected auto, pveproxy, auth, tasks or json"};
    // Check every file before importing any: bad input changes nothing.
    for (const std::string& f : o->files) {
      struct stat st;
      if (stat(f.c_str(), &st) != 0) throw UsageError{"cannot read " + f + ": no such file"};
      if (S_ISDIR(st.st_mode)) throw UsageError{f + " is a directory, not a log file"};
    }
    auto store = OpenStoreOrDie(env, /*read_only=*/false);
    ImportOptions opt;
    opt.format = o->format;
    opt.node = o->node.empty() ? env.config.node : o->node;
    ImportStats total;
    int64_t t0 = NowUs();
    int rc = kExitOk;
    for (const std::string& f : o->files) {
      Progress progress("importing " + f);
      auto st = ImportFile(*store, f, opt,
                           [&](uint64_t done, uint64_t all) { progress.Update(done, all); });
      progress.Done();
      if (!st.ok()) {
        std::cerr << "error: " << f << ": " << st.status().message()
                  << " (events committed before the error are kept; run the import again to "
                     "continue)\n";
        rc = kExitFailure;
        continue;
      }
      std::printf(
          "%s (%s): %s lines read, %s stored, %s duplicates skipped, %s ignored, %s rejected\n",
          f.c_str(), st->format.c_str(), WithThousands(st->lines).c_str(),
          WithThousands(st->stored).c_str(), WithThousands(st->duplicates).c_str(),
          WithThousands(st->ignored).c_str(), WithThousands(st->rejected).c_str());
      total.lines += st->lines;
      total.stored += st->stored;
      total.duplicates += st->duplicates;
      total.ignored += st->ignored;
      total.rejected += st->rejected;
    }
    double secs = double(NowUs() - t0) / 1e6;
    if (o->files.size() > 1)
      std::printf(
          "total: %s lines read, %s stored, %s duplicates skipped, %s ignored, %s rejected\n",
          WithThousands(total.lines).c_str(), WithThousands(total.stored).c_str(),
          WithThousands(total.duplicates).c_str(), WithThousands(total.ignored).c_str(),
          WithThousands(total.rejected).c_str());
    std::fprintf(stderr, "%.2f s, %s events/s\n", secs,
                 WithThousands(uint64_t(secs > 0 ? double(total.stored) / secs : 0)).c_str());
    if (total.rejected)
      std::fprintf(stderr, "%s lines were rejected; see them with: pveam access rejected\n",
                   WithThousands(total.rejected).c_str());
    return rc;
  };
}

}  // namespace pveaudit

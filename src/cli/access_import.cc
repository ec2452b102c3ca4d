// pveam access import: feed log files into the store, exactly once.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <iostream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/time_spec.h"
#include "pipeline/importer.h"

namespace pveaudit {
namespace {

// Set by SIGINT/SIGTERM: the importer commits what it has read and stops.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void OnStopSignal(int) { g_stop.store(true); }

// "1 line", "2 lines", "1,000 lines".
std::string Count(uint64_t n, const char* one, const char* many) {
  return WithThousands(n) + " " + (n == 1 ? one : many);
}

std::string Summary(const ImportStats& s) {
  return Count(s.lines, "line", "lines") + " read, " + WithThousands(s.stored) + " stored, " +
         Count(s.duplicates, "duplicate", "duplicates") + " skipped, " + WithThousands(s.ignored) +
         " ignored, " + WithThousands(s.rejected) + " rejected";
}

// "cannot decompress FILE: unexpected end of file" -> "unexpected end of
// file" when the message names `file` (the caller names it already).
std::string DamageReason(const std::string& message, const std::string& file) {
  std::string prefix = "cannot decompress " + file + ": ";
  return message.compare(0, prefix.size(), prefix) == 0 ? message.substr(prefix.size()) : message;
}

}  // namespace

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
                  "journal lines), tasks (task index/active), json (one event per line), "
                  "journal-json (journalctl -o json|json-seq), clusterlog (pvesh get "
                  "/cluster/log --output-format json)")
      ->type_name("FORMAT");
  cmd->add_option("--node", o->node,
                  "Node the files come from (default: from the lines; for access.log this host)")
      ->type_name("NAME");
  cmd->add_option("files", o->files, "Log files")->required()->type_name("FILE...");
  AddCommonOptions(cmd, &o->common, false);
  cmd->footer(R"(
Each file is recognised by its first line and the bytes read of it before:
importing it again, or its rotated copy, stores only lines not stored before;
a file that starts like an earlier one but differs is read as a new file.
tasks/active is read as a snapshot (only tasks new or changed since an earlier
snapshot are stored). Lines that cannot be parsed are counted and kept in the
store with file, line number and reason. Ctrl-C stops after committing what
was read; running the same command again continues.

Examples:
  pveam access import /var/log/pveproxy/access.log /var/log/pveproxy/access.log.1
  pveam access import --format auth --node pve1 /var/log/daemon.log.2.gz
  pveam access import --format tasks /var/log/pve/tasks/index)");

  return [o]() -> int {
    Env env = ResolveEnv(o->common);
    static const char* kFormats[] = {"auto", "pveproxy",     "auth",      "tasks",
                                     "json", "journal-json", "clusterlog"};
    if (std::find(std::begin(kFormats), std::end(kFormats), o->format) == std::end(kFormats))
      throw UsageError{"invalid value '" + o->format +
                       "' for --format: expected auto, pveproxy, auth, tasks, json, "
                       "journal-json or clusterlog"};
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
    g_stop = false;
    opt.stop = &g_stop;
    // The handler stays until pveam exits: restoring the default action
    // after the last file let a Ctrl-C during the summary or the store's
    // close kill pveam by the signal (seen in CI), so the shell saw neither
    // 0 nor 130. What is committed is durable either way; the exit status
    // is what must not lie.
    struct sigaction sa = {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    bool interrupted = false;
    for (const std::string& f : o->files) {
      if (g_stop) {
        interrupted = true;
        break;
      }
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
      if (st->changed_file)
        std::fprintf(stderr,
                     "%s: starts like a file read before but differs from it: reading it as a "
                     "new file\n",
                     f.c_str());
      std::printf("%s (%s): %s\n", f.c_str(), st->format.c_str(), Summary(*st).c_str());
      total.lines += st->lines;
      total.stored += st->stored;
      total.duplicates += st->duplicates;
      total.ignored += st->ignored;
      total.rejected += st->rejected;
      if (!st->damaged.empty()) {
        // What was read before the damage is evidence: it stays stored.
        std::fprintf(stderr,
                     "error: %s is damaged (%s): %s before the damage %s stored; the rest "
                     "cannot be read\n",
                     f.c_str(), DamageReason(st->damaged, f).c_str(),
                     Count(st->lines, "line", "lines").c_str(), st->lines == 1 ? "is" : "are");
        rc = kExitFailure;
      }
      if (st->interrupted) {
        interrupted = true;
        break;
      }
    }
    if (interrupted) {
      std::fprintf(stderr,
                   "interrupted: %s of this run safely stored; run the same command again to "
                   "continue where it stopped\n",
                   Count(total.stored, "event", "events").c_str());
      return 130;
    }
    double secs = double(NowUs() - t0) / 1e6;
    if (o->files.size() > 1) std::printf("total: %s\n", Summary(total).c_str());
    std::fprintf(stderr, "%.2f s, %s events/s\n", secs,
                 WithThousands(uint64_t(secs > 0 ? double(total.stored) / secs : 0)).c_str());
    if (total.rejected)
      std::fprintf(stderr, "%s rejected; see %s with: pveam access rejected\n",
                   Count(total.rejected, "line was", "lines were").c_str(),
                   total.rejected == 1 ? "it" : "them");
    return rc;
  };
}

}  // namespace pveaudit

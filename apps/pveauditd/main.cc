// pveauditd: the pveaudit daemon. Argument handling only; the loop is
// src/daemon/daemon.cc.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/help_formatter.h"
#include "config/config.h"
#include "daemon/daemon.h"

namespace {

void OnSignal(int sig) {
  if (sig == SIGHUP)
    pveaudit::Daemon::RequestReload();
  else
    pveaudit::Daemon::RequestStop();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "pveauditd: follows Proxmox VE's logs (pveproxy access.log, authentication lines, task "
      "index) and stores every event exactly once in the pveaudit store",
      "pveauditd");
  pveaudit::UseHelpFormatter(&app);
  app.set_version_flag("--version", pveaudit::kPveauditVersion);
  std::string config_path, data_dir, access_log, auth_log, tasks_dir, node, pve_dir, syslog_listen,
      journal_dir;
  bool check = false, foreground = false, journal = false;
  app.add_option("--config", config_path,
                 "Config file (default: $PVEAUDIT_CONFIG, /etc/pveaudit/pveaudit.toml)");
  app.add_flag("--check-config", check,
               "Validate the configuration, print the result and exit (0 valid, 2 not)");
  app.add_option("--data-dir", data_dir, "Store directory (overrides data_dir)");
  app.add_option("--access-log", access_log, "Follow this pveproxy access.log");
  app.add_option("--auth-log", auth_log, "Follow authentication lines in this syslog-format file");
  app.add_flag("--journal", journal,
               "Read pvedaemon/pveproxy authentication lines from this machine's systemd journal "
               "(where Proxmox VE 8 logs them; there is usually no /var/log/syslog)");
  app.add_option("--journal-dir", journal_dir,
                 "Read them from the journal files in DIR instead, e.g. a copy of another "
                 "node's /var/log/journal (implies --journal)")
      ->type_name("DIR");
  app.add_option("--tasks-dir", tasks_dir,
                 "Follow DIR/index of the Proxmox task log (/var/log/pve/tasks)");
  app.add_option("--pve-dir", pve_dir, "Proxmox config directory (overrides pve_dir)");
  app.add_option("--syslog-listen", syslog_listen,
                 "Receive syslog lines on ADDR:PORT (UDP and TCP)");
  app.add_option("--node", node, "This node's name (default: host name)");
  app.add_flag("--foreground", foreground,
               "Stay in the foreground (always the case; for systemd Type=simple)");
  app.footer(R"(
Naming any of --access-log, --auth-log, --journal, --journal-dir, --tasks-dir
or --syslog-listen runs only the sources named on the command line (the
config file's [sources] are ignored), so the daemon can run on a machine
without Proxmox:

  pveauditd --data-dir /tmp/audit --access-log /var/log/pveproxy/access.log --node pve1
  pveauditd --access-log /var/log/pveproxy/access.log --journal --tasks-dir /var/log/pve/tasks

Without such flags, [sources.journal] decides; by default ("auto") the journal
is read when the [sources.auth] file (/var/log/syslog) does not exist, so the
same lines are never stored twice. Journal entries are stored exactly once:
the journal cursor commits with each batch.

The syslog listener's TLS (RFC 5425, client certificates) and its allow-list
of peers mapped to node names are set in [sources.syslog] of the config file
(docs/syslog-listener.md); --check-config warns when it listens beyond
loopback without TLS or an allow-list.

Signals: SIGTERM/SIGINT commit the current batch and exit; SIGHUP reloads the
config file. See docs/config.md for every key.)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForVersion& e) {
    std::cout << e.what() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  auto cfg = pveaudit::LoadConfig(config_path);
  if (!cfg.ok()) {
    std::cerr << "pveauditd: " << cfg.status().message() << "\n";
    return 2;
  }
  // $TZ applies only when the config names no zone (LoadConfig checked that).
  if (cfg->timezone.empty())
    if (const char* tz = std::getenv("TZ"); tz && *tz)
      if (pveaudit::Status st = pveaudit::CheckTimeZone(tz); !st.ok()) {
        std::cerr << "pveauditd: environment variable TZ: " << st.message() << "\n";
        return 2;
      }
  // Valid but risky settings: printed by --check-config and at start.
  auto warn = [](const pveaudit::Config& c) {
    for (const std::string& w : pveaudit::ConfigWarnings(c))
      std::cerr << "pveauditd: warning: " << w << "\n";
  };
  if (check) {
    warn(*cfg);
    std::cout << "pveauditd: configuration OK ("
              << (cfg->source.empty() ? std::string("built-in defaults") : cfg->source) << ")\n";
    return 0;
  }
  pveaudit::DaemonOptions opt;
  opt.config = *cfg;
  opt.config_path = config_path;
  if (!node.empty()) opt.config.node = opt.node_override = node;
  if (!pve_dir.empty()) opt.config.pve_dir = opt.pve_dir_override = pve_dir;
  if (!journal_dir.empty()) journal = true;
  opt.sources_from_flags = !access_log.empty() || !auth_log.empty() || !tasks_dir.empty() ||
                           !syslog_listen.empty() || journal;
  if (opt.sources_from_flags) {
    opt.config.access_log = {!access_log.empty(), access_log};
    opt.config.auth = {!auth_log.empty(), auth_log};
    opt.config.tasks = {!tasks_dir.empty(), tasks_dir.empty() ? "" : tasks_dir + "/index"};
    opt.config.journal.enabled = journal ? pveaudit::JournalSourceConfig::Enabled::kYes
                                         : pveaudit::JournalSourceConfig::Enabled::kNo;
    opt.config.journal.directory = journal_dir;
    opt.config.syslog_enabled = !syslog_listen.empty();
    if (!syslog_listen.empty()) opt.config.syslog_listen = syslog_listen;
  }
  warn(opt.config);  // with the flags' sources
  if (!data_dir.empty())
    opt.data_dir = data_dir;
  else if (const char* d = std::getenv("PVEAUDIT_DATA_DIR"); d && *d)
    opt.data_dir = d;
  else
    opt.data_dir = opt.config.data_dir;

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return pveaudit::Daemon(opt).Run();
}

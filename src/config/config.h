// config.h
// Config is pveaudit's static configuration (TOML). Lookup order: an
// explicit --config path, $PVEAUDIT_CONFIG, /etc/pveaudit/pveaudit.toml,
// then built-in defaults. docs/config.md lists every key with its default.
// Settings that users change at run time (syslog target, webhooks, alert
// rules, retention) live in the store instead.
#pragma once

#include <string>

#include "core/status.h"

namespace pveaudit {

// One file source of the daemon ([sources.access_log], [sources.auth],
// [sources.tasks]).
struct FileSourceConfig {
  bool enabled = true;
  std::string path;
};

struct Config {
  std::string source;  // file it came from; "" = defaults
  std::string data_dir = "/var/lib/pveaudit";
  std::string timezone;  // cluster zone; "" = $TZ / system
  std::string node;      // this node's name; "" = hostname
  std::string pve_dir = "/etc/pve";

  // [daemon]
  int poll_ms = 200;                     // how often file sources are polled
  std::string on_store_error = "retry";  // "retry" (keep cursors, retry) or "exit"
  int retry_ms = 1000;                   // pause between retries after a store error
  int session_lifetime_s = 7200;         // ticket lifetime for sessions

  // [sources.*]
  FileSourceConfig access_log{true, "/var/log/pveproxy/access.log"};
  FileSourceConfig auth{true, "/var/log/syslog"};
  FileSourceConfig tasks{true, "/var/log/pve/tasks/index"};
  bool syslog_enabled = false;  // [sources.syslog]
  std::string syslog_listen = "127.0.0.1:5514";
};

// Loads the configuration.
// Unknown keys in any table are errors (a typo must not silently leave
// a source on its default). `explicit_path` (from --config) must exist; the
// default path may be absent. Unknown keys and wrong types are errors that
// name the key and its line: "/etc/pveaudit/pveaudit.toml:3: unknown key 'data-dir'".
Result<Config> LoadConfig(const std::string& explicit_path);

}  // namespace pveaudit

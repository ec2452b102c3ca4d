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

struct Config {
  std::string source;  // file it came from; "" = defaults
  std::string data_dir = "/var/lib/pveaudit";
  std::string timezone;  // cluster zone; "" = $TZ / system
  std::string node;      // this node's name; "" = hostname
  std::string pve_dir = "/etc/pve";
};

// Loads the configuration. `explicit_path` (from --config) must exist; the
// default path may be absent. Unknown keys and wrong types are errors that
// name the key and its line: "/etc/pveaudit/pveaudit.toml:3: unknown key 'data-dir'".
Result<Config> LoadConfig(const std::string& explicit_path);

}  // namespace pveaudit

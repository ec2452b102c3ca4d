// config.h
// Config is pveaudit's static configuration (TOML). Lookup order: an
// explicit --config path, $PVEAUDIT_CONFIG, /etc/pveaudit/pveaudit.toml,
// then built-in defaults. docs/config.md lists every key with its default.
// Settings that users change at run time (syslog target, webhooks, alert
// rules, retention) live in the store instead.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "core/store_location.h"

namespace pveaudit {

// One file source of the daemon ([sources.access_log], [sources.auth],
// [sources.tasks]).
struct FileSourceConfig {
  FileSourceConfig() = default;
  FileSourceConfig(bool e, std::string p) : enabled(e), path(std::move(p)) {}
  bool enabled = true;
  std::string path;
  // Where logrotate puts rotated copies (its `olddir`); "" = beside path.
  std::string rotated_dir;
};

// The systemd journal source ([sources.journal]): authentication lines of
// pvedaemon/pveproxy read with sd-journal (src/pipeline/journal_source.h).
struct JournalSourceConfig {
  // `enabled = true | false | "auto"`. kAuto (the default): read the journal
  // when the [sources.auth] file source is disabled or its path does not
  // exist (Proxmox VE 8 has no /var/log/syslog unless rsyslog is installed),
  // so the same lines are never read from both. See JournalEnabled().
  enum class Enabled { kNo, kYes, kAuto };
  Enabled enabled = Enabled::kAuto;
  // "" = this machine's system journal; else a journal directory (a copy of
  // another node's /var/log/journal) or one .journal file.
  std::string directory;
};

// One peer of the syslog listener's allow-list ([[sources.syslog.peer]]).
// docs/syslog-listener.md, "Allow-list".
struct SyslogPeerConfig {
  std::string node;         // the node its lines are stored under
  std::string address;      // "" or an address or CIDR network
  std::string certificate;  // "" or a name its TLS client certificate carries
};

struct Config {
  std::string source;  // file it came from; "" = defaults
  std::string data_dir = "/var/lib/pveaudit";
  std::string timezone;  // cluster zone; "" = $TZ / system (checked: CheckTimeZone)
  std::string node;      // this node's name; "" = hostname
  std::string pve_dir = "/etc/pve";

  // `store = "postgresql://..."` or [store] url / passfile: the cluster's
  // PostgreSQL database (docs/storage.md); "" = the SQLite store in
  // data_dir. Checked by CheckStoreUrl.
  std::string store_url;
  std::string store_passfile;  // libpq password file; "" = $PGPASSFILE / ~/.pgpass

  // Where the store is, with `data_dir` (the resolved one: --data-dir and
  // $PVEAUDIT_DATA_DIR may override the config's).
  StoreLocation StoreAt(const std::string& data_dir) const {
    return StoreLocation{data_dir, store_url, store_passfile};
  }

  // [daemon]
  int poll_ms = 200;                     // how often file sources are polled
  std::string on_store_error = "retry";  // "retry" (keep cursors, retry) or "exit"
  int retry_ms = 1000;                   // pause between retries after a store error
  int commit_ms = 50;                    // the writer waits this long for other sources' batches
  int commit_events = 10000;             // ... or until a transaction holds this many events
  int session_lifetime_s = 7200;         // ticket lifetime for sessions
  // The control socket pveaudit-web hands changes to (docs/control-socket.md):
  // "" = <data_dir>/control.sock. Its one unprivileged user besides root
  // and pveauditd's own: a name (not found: no such peer is allowed).
  std::string control_socket;
  std::string control_socket_user = "pveaudit";

  // [sources.*]
  FileSourceConfig access_log{true, "/var/log/pveproxy/access.log"};
  FileSourceConfig auth{true, "/var/log/syslog"};
  FileSourceConfig tasks{true, "/var/log/pve/tasks/index"};
  JournalSourceConfig journal;                   // [sources.journal]
  bool syslog_enabled = false;                   // [sources.syslog]
  std::string syslog_listen = "127.0.0.1:5514";  // UDP and TCP; "" = neither
  std::string syslog_tls;                        // RFC 5425 ADDR:PORT; "" = off
  std::string syslog_tls_cert, syslog_tls_key, syslog_tls_ca;
  bool syslog_tls_require_client_cert = true;
  int syslog_tls_handshake_timeout_s = 10;
  std::vector<SyslogPeerConfig> syslog_peers;  // empty = any peer

  // [web]: the HTTPS API and UI (pveaudit-web, docs/api.md).
  std::string web_listen;         // "ADDR:PORT"; "" = off (the default)
  std::string web_cert, web_key;  // "" = the node's Proxmox certificate, else a generated one
  std::string web_www;  // static UI files; "" = /usr/share/pveaudit/www (or the build tree's)

  // [export]: monthly evidence bundles written by pveauditd (docs/evidence.md).
  std::string export_monthly;                 // directory; "" = off (the default)
  std::string export_monthly_format = "csv";  // csv, json or cef

  // [retention] (docs/retention.md): "" = derived from the standards, or off.
  std::string retention_online;       // "13 months"
  std::string retention_archive;      // "7 years"
  std::string retention_archive_dir;  // "" = DATA_DIR/archive
  // [compliance] standards: the ones this cluster answers to ("hipaa",
  // "pci-dss", "sox"); the retention periods follow the longest.
  std::vector<std::string> compliance_standards;
  // [compliance] internal_networks: CIDR ranges that are not "remote" for
  // PCI DSS 8.4.3; empty = the private, loopback and link-local ranges.
  std::vector<std::string> compliance_internal_networks;
  // [compliance.hipaa] phi: the guests, pools and storages that hold
  // protected health information, as ACL paths (ParseDataScope: "pool:ehr"
  // is kept as "/pool/ehr"); empty = none named.
  std::vector<std::string> compliance_hipaa_phi;
  // [compliance.sox] data: those that hold financial data; empty = every
  // guest and storage.
  std::vector<std::string> compliance_sox_data;
};

// The port pveaudit-web listens on when [web] listen gives none of its own
// choosing: no Proxmox VE service uses 8016 (8006 pveproxy, 3128
// spiceproxy, 5900-5999 VNC, 85 pvedaemon, 111 rpcbind, 5405-5412 corosync,
// 60000-60050 migration).
inline constexpr int kDefaultWebPort = 8016;

// Loads the configuration.
// Unknown keys in any table are errors (a typo must not silently leave
// a source on its default). `explicit_path` (from --config) must exist; the
// default path may be absent. Unknown keys and wrong types are errors that
// name the key and its line: "/etc/pveaudit/pveaudit.toml:3: unknown key 'data-dir'".
Result<Config> LoadConfig(const std::string& explicit_path);

// Warnings about a valid but risky configuration, one sentence each, for
// `pveauditd --check-config` and the daemon's start: e.g. the syslog
// listener on a non-loopback address without TLS or an allow-list.
std::vector<std::string> ConfigWarnings(const Config& c);

// Whether `tz` names a time zone the C library can load: a zone file under
// $TZDIR (default /usr/share/zoneinfo) such as "Europe/Vienna", an absolute
// path to one, "UTC"/"GMT", or a POSIX TZ string with an explicit offset
// ("CET-1CEST,M3.5.0,M10.5.0/3"); a leading ':' is allowed. Anything else is
// an error: glibc would silently use UTC instead, shifting every local time.
// The message names the value; callers add the key it came from.
Status CheckTimeZone(const std::string& tz);

// Whether the daemon reads the journal: `journal.enabled` resolved, "auto"
// against the file system now (true when `auth` is disabled, has no path or
// its path does not exist).
bool JournalEnabled(const Config& c);

}  // namespace pveaudit

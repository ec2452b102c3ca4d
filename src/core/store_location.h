// store_location.h
// Where the event store is: the SQLite store in a data directory (the
// embedded default), or a PostgreSQL database shared by a cluster's nodes
// (`store = "postgresql://..."` in the config, docs/storage.md). Every
// program that opens the store takes one of these, so pveauditd and every
// pveam/pveum command see the same store.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace pveaudit {

struct StoreLocation {
  // The local data directory: the SQLite store when `url` is empty; with
  // PostgreSQL it still holds the daemon's local files (control socket,
  // web keys, ...).
  std::string data_dir;
  // "" = SQLite in data_dir; else a postgresql:// (or postgres://) URI, as
  // libpq reads it.
  std::string url;
  // A libpq password file (host:port:database:user:password lines) for
  // `url`; "" = libpq's own default ($PGPASSFILE, ~/.pgpass). Must be
  // readable by its owner only.
  std::string passfile;

  bool postgres() const { return !url.empty(); }
  // For messages and `pveam access status`: "SQLite store in DIR" or
  // "PostgreSQL store postgresql://user@host/db", the password never shown.
  std::string Describe() const;
};

// The setting pveauditd publishes its status under: "daemon.status" on a
// node's own SQLite store; on a store the cluster shares, one per node
// ("daemon.status.<node>"), and the node that runs the alert engine and
// the exports also publishes "daemon.status" (what `pveam access syslog`,
// `notify` and the web API show about them).
inline std::string DaemonStatusKey(const StoreLocation& where, const std::string& node) {
  return where.postgres() ? "daemon.status." + node : "daemon.status";
}

// `url` with any password in it (user:PASSWORD@, password=PASSWORD in the
// query) replaced by "***": what may be logged or printed.
std::string RedactStoreUrl(std::string_view url);

// Whether `url` is a store URL pveaudit takes: postgresql:// or
// postgres://, one line, no spaces (libpq would read them as separators).
// The message names the value, redacted.
Status CheckStoreUrl(std::string_view url);

}  // namespace pveaudit

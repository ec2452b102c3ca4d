// pg_store.h
// The PostgreSQL backend of EventStore, for clusters whose nodes share one
// store (docs/storage.md, "PostgreSQL"): one row per event in table
// `events`; each writer (node, StoreOptions::writer) links its events into
// a chain of its own, the SQLite backend's chain over the writer's own
// sequence numbers (chain.h, docs/integrity.md), so a node alone has the
// head its SQLite store would have.
// Tables live in the first schema of the connection's search_path (set
// `options=-csearch_path=NAME` in the conninfo to pick one).
// Several writer processes may append at once: ids stay contiguous in
// commit order because each append locks `chain_head` (the last id) for
// its transaction.
// Thread safety: one EventStore object (one connection) per thread. Any
// number of readers and writers (other processes and hosts included) may
// share the database.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "store/event_store.h"

namespace pveaudit {

// Connects with libpq `conninfo` ("host=... dbname=..." or a postgresql://
// URI) and opens the store there, creating its tables when writable and
// missing. A read-only open creates nothing and runs its transactions read
// only; when the tables are missing it is NotFound, with a message that
// says how to create them. `options.block_events` is not used (rows, not
// blocks).
// `passfile`, when not empty, is libpq's password file for the connection
// (its `passfile` parameter; "" = $PGPASSFILE or ~/.pgpass).
Result<std::unique_ptr<EventStore>> OpenPostgresStore(const std::string& conninfo,
                                                      const StoreOptions& options,
                                                      const std::string& passfile = "");

// The PostgreSQL StoreLead (event_store.h): advisory lock `name` (hashed
// to 64 bits) of the database, on a connection of its own.
Result<std::unique_ptr<StoreLead>> OpenPostgresLead(const std::string& conninfo,
                                                    const std::string& passfile,
                                                    const std::string& name);

}  // namespace pveaudit

// event_store.h
// EventStore is the single source of truth and the durable queue of
// pveaudit: sources append normalized Events (hash-chained, with the file
// cursor that produced them in the same transaction), and every consumer
// (queries, reports, alert engine, exporters) reads them back by filter or
// by id. Backends: SQLite (embedded default, OpenSqliteStore below);
// PostgreSQL for clusters (OpenPostgresStore in pg_store.h, docs/storage.md).
// OpenStore picks one by the configured StoreLocation.
// Thread safety: one EventStore object per thread. Any number of readers
// (other processes included) may run beside one writer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/filter.h"
#include "core/status.h"
#include "core/store_location.h"
#include "store/chain.h"

namespace pveaudit {

// Where a file source stands: the importer and the daemon's tailer resume
// from it. Found by a fingerprint of the file's first line; `state` proves
// the file is the one read (docs/rotation.md).
struct SourceCursor {
  std::string key;      // "fp:<sha256 of the first line>:<format>:<node>[#N]", "snap:...", ...
  std::string path;     // last path it was read from (informational)
  uint64_t offset = 0;  // bytes of the (decompressed) stream consumed
  uint64_t line = 0;    // lines consumed
  std::string state;    // importer state at `offset` (CRC/tail check, snapshot ids, logins)
};

// A line a parser could not use, kept aside for the operator.
struct RejectedLine {
  int64_t stored_us = 0;  // when it was stored (set by the store)
  std::string origin;
  uint64_t line = 0;
  std::string reason;
  std::string text;  // the raw line, cut to 4 KiB
};

// Which Event fields a scan must fill; others are left empty. Ids, time
// and result are always filled.
enum EventField : uint32_t {
  kFieldNode = 1u << 0,
  kFieldUser = 1u << 1,
  kFieldIp = 1u << 2,
  kFieldAction = 1u << 3,
  kFieldResource = 1u << 4,
  kFieldStatus = 1u << 5,
  kFieldSource = 1u << 6,
  kFieldSession = 1u << 7,
  kFieldDetail = 1u << 8,
  kFieldOrigin = 1u << 9,
  kFieldAll = (1u << 10) - 1,
};

// One writer's chain on a PostgreSQL store (docs/storage.md, "Chains").
struct ChainSummary {
  std::string writer;
  uint64_t events = 0;    // its last sequence number
  std::string head_hash;  // hex
};

struct VerifyReport {
  bool intact = true;
  uint64_t events_checked = 0;
  uint64_t first_bad_id = 0;  // 0 when intact (or the damage is not tied to one event)
  std::string reason;         // human-readable, names the event and what is wrong
  std::string head_hash;      // hex chain head recomputed up to the last good event
  // PostgreSQL: one chain per writer, each checked to its end when intact;
  // head_hash then combines them. Empty for SQLite (one chain).
  std::vector<ChainSummary> chains;
  // Events moved into archives (ArchiveRecord): the chain was checked
  // across each archived range from its recorded hashes.
  uint64_t archived_events = 0;
  uint64_t archives = 0;
};

// A run of events moved out of the store into an archive directory
// (evidence/archive.h, docs/retention.md): whole consecutive blocks, ids
// first_id..last_id. The store keeps the record (purged ones too), so that
// verify carries the chain across the range and can tell an archive that
// was removed from one that was purged by the retention policy.
struct ArchiveRecord {
  uint64_t seq = 0;    // 1, 2, 3, ... in the order they were written
  std::string name;    // directory name in the archive dir
  std::string period;  // "2019-03": the month of its newest event
  uint64_t first_id = 0, last_id = 0, events = 0;
  int64_t t_min_us = 0, t_max_us = 0;
  std::string prev_hash, last_hash;  // hex H(first_id - 1), H(last_id)
  std::string manifest_sha256;       // hex SHA-256 of its manifest.json
  int64_t archived_us = 0;
  int64_t purged_us = 0;  // 0 while kept
};

// One sealed block of the store, for the archiver.
struct BlockSpan {
  uint64_t first_id = 0, last_id = 0, events = 0;
  int64_t t_min_us = 0, t_max_us = 0;
  std::string head_hash;  // hex H(last_id)
};

struct StoreInfo {
  uint64_t events = 0;
  uint64_t last_id = 0;
  int64_t first_time_us = 0, last_time_us = 0;
  uint64_t bytes_on_disk = 0;
  uint64_t rejected_lines = 0;
  std::string head_hash;
  std::vector<ChainSummary> chains;  // PostgreSQL: each writer's head, by writer
};

class EventStore {
 public:
  virtual ~EventStore() = default;

  // Appends `events` in order and assigns their ids (written back into the
  // vector; the events' detail and session strings may be moved out). `rejected` lines and
  // `cursors` (one per source that produced events of this call, distinct keys) are committed in
  // the same transaction. Returns OK only once everything is durable (fsync'd); on error nothing
  // of the call is stored. `digests`, when given, holds ChainHasher::Digest of each event,
  // computed by the caller on another thread to spread the hashing work; Verify recomputes them,
  // so a wrong digest cannot hide anything. REQUIRES: opened writable; digests null or of
  // events->size().
  virtual Status AppendBatch(std::vector<Event>* events, const std::vector<RejectedLine>& rejected,
                             std::span<const SourceCursor> cursors,
                             const std::vector<Hash256>* digests) = 0;

  // AppendBatch for one source: `cursor` may be null.
  Status Append(std::vector<Event>* events, const std::vector<RejectedLine>& rejected,
                const SourceCursor* cursor, const std::vector<Hash256>* digests = nullptr) {
    return AppendBatch(
        events, rejected,
        cursor ? std::span<const SourceCursor>(cursor, 1) : std::span<const SourceCursor>(),
        digests);
  }

  // The cursor stored under `key`, or nullopt when there is none.
  virtual Result<std::optional<SourceCursor>> GetCursor(const std::string& key) = 0;
  // Every stored cursor, by key (pveam access migrate carries them over).
  virtual Result<std::vector<SourceCursor>> ListCursors() = 0;

  // Calls `fn` for every event matching `filter`, in ascending time order
  // (ties by id), with the fields in `fields` filled. `fn` returns false to
  // stop. An unknown user, action, ... is not an error: nothing matches.
  // `fn` may move the event's strings out (each call gets an event filled
  // afresh): a view that keeps events then copies nothing.
  virtual Status Scan(const Filter& filter, uint32_t fields,
                      const std::function<bool(Event&)>& fn) = 0;

  // A cost hint for the query layer, never a difference in results: true
  // when reading one user's events in many short windows costs little (an
  // index leads with the user), so that reading several users' windows is
  // better done one user at a time. PostgreSQL: yes. SQLite: no (each read
  // decodes the time column of every block it touches again).
  virtual bool ReadsByUserAreCheap() const { return false; }

  // Like Scan, for aggregation: calls `fn(time_us, key, id)` for every
  // matching event in time order, where `key` indexes `names` (filled
  // before returning) with the event's value of the dictionary field `key`
  // (node, user, ip, action, resource, status, source or origin). Avoids
  // building an Event per row.
  virtual Status ScanKeys(const Filter& filter, EventField key, std::vector<std::string>* names,
                          const std::function<bool(int64_t, uint32_t, uint64_t)>& fn) = 0;

  // For aggregates over several dictionary fields at once: calls
  // `fn(time_us, keys)` for every matching event, in no particular order,
  // where keys[i] indexes (*names)[i] with the event's value of fields[i]
  // (dictionary fields as ScanKeys). Every key passed to `fn` is already in
  // `names` when `fn` is called, so `fn` may classify it then. One pass
  // instead of one ScanKeys per field. The default numbers the strings of
  // Scan as they come (PostgreSQL); SQLite hands out its dictionary ids.
  virtual Status ScanKeyTuples(const Filter& filter, const std::vector<EventField>& fields,
                               std::vector<std::vector<std::string>>* names,
                               const std::function<bool(int64_t, const uint32_t*)>& fn);

  // For consumers (alert engine, exporters) that follow the store as it
  // grows: calls `fn` for events with id > `after_id` in id order (the order
  // they were stored, not their time), at most `limit` of them (0 = no
  // limit), with the fields in `fields` filled. `fn` returns false to stop;
  // it may move the event's strings out, as with Scan.
  virtual Status ScanAfter(uint64_t after_id, size_t limit, uint32_t fields,
                           const std::function<bool(Event&)>& fn) = 0;

  // A consumer's durable position: the id of the last event it is done
  // with. GetConsumer: nullopt when the consumer has none yet. PutConsumer
  // returns once the position is durable. ListConsumers: every consumer,
  // by name.
  struct ConsumerPosition {
    std::string name;
    uint64_t last_id = 0;
    int64_t updated_us = 0;
  };
  virtual Result<std::optional<uint64_t>> GetConsumer(const std::string& name) = 0;
  virtual Status PutConsumer(const std::string& name, uint64_t last_id) = 0;
  virtual Result<std::vector<ConsumerPosition>> ListConsumers() = 0;

  // Recomputes the hash chain over every stored event and compares it with
  // the stored per-event hashes, block heads and the chain head record.
  // `progress` (may be empty) gets (events checked, total).
  virtual Result<VerifyReport> Verify(const std::function<void(uint64_t, uint64_t)>& progress) = 0;

  virtual Result<StoreInfo> Info() = 0;

  // Run-time settings and state shared between the daemon and the CLI
  // (e.g. "daemon.status"). GetSetting: nullopt when absent.
  virtual Status PutSetting(const std::string& key, const std::string& value,
                            const std::string& changed_by) = 0;
  virtual Result<std::optional<std::string>> GetSetting(const std::string& key) = 0;

  // The newest `limit` rejected lines (0 = all), oldest first.
  virtual Result<std::vector<RejectedLine>> ListRejected(size_t limit) = 0;

  // Archiving (docs/retention.md). SQLite only: on PostgreSQL whole month
  // partitions are meant to be detached instead (issue 11), and these
  // return InvalidArgument saying so.
  //
  // The online blocks, ascending, the newest (still growing) one last.
  virtual Result<std::vector<BlockSpan>> ListBlockSpans() { return NotArchivable(); }
  // Every archive record, ascending by seq (purged ones included).
  virtual Result<std::vector<ArchiveRecord>> ListArchives() { return NotArchivable(); }
  // Removes events rec.first_id..rec.last_id from the store and records
  // `rec`, in one transaction. They must be whole consecutive blocks, not
  // the newest block, `events` of them; rec.prev_hash the chain hash before
  // them (the head of the block or archive ending at first_id - 1, zeros
  // for event 1); the stored head of the last block rec.last_hash; rec.seq
  // the next sequence number. Otherwise nothing changes (InvalidArgument
  // naming what differs). The caller wrote and verified the archive first.
  virtual Status RemoveArchivedRange(const ArchiveRecord& /*rec*/) { return NotArchivable(); }
  // Marks archive `name` purged at `when_us` (NotFound when there is no
  // such kept archive). The caller deletes the directory after this.
  virtual Status MarkArchivePurged(const std::string& /*name*/, int64_t /*when_us*/) {
    return NotArchivable();
  }

 protected:
  static Status NotArchivable() {
    return Status::InvalidArgument(
        "archiving needs the SQLite store (on PostgreSQL, retention is not built yet)");
  }
};

struct StoreOptions {
  bool read_only = false;
  // Events per sealed block. Tests use small blocks to exercise boundaries.
  uint32_t block_events = 4096;
  // PostgreSQL: who appends (the node's name; "" = this host's short name).
  // Each writer's events form a chain of their own (docs/storage.md,
  // "Chains"). SQLite has one writer and one chain, and ignores it.
  std::string writer;
};

// Opens (creating when writable and missing) the SQLite store in `data_dir`.
// A read-only open of a missing store is NotFound, with a message that says
// how to create one.
Result<std::unique_ptr<EventStore>> OpenSqliteStore(const std::string& data_dir,
                                                    const StoreOptions& options);

// Opens the store at `where`: OpenSqliteStore(where.data_dir) when it has
// no URL, else OpenPostgresStore (pg_store.h) with its password file,
// which must be a regular file that only its owner (us) can read. Errors
// name the store as where.Describe() does: never with a password.
Result<std::unique_ptr<EventStore>> OpenStore(const StoreLocation& where,
                                              const StoreOptions& options);

// Which pveauditd runs the store's consumers (the alert engine and the
// exporters): the one that holds the store's lead, so that a cluster
// sharing one store fires each alert and exports each event once
// (docs/storage.md, "One alert engine per cluster"). SQLite: one node, the
// lead is always held. PostgreSQL: a session advisory lock on a
// connection of its own, which the server releases when the holder dies
// (its TCP keepalives are set so a dead host is noticed within ~10 s).
// Thread safety: one thread.
class StoreLead {
 public:
  virtual ~StoreLead() = default;
  // Takes the lead when free; true when held now. Never blocks on the
  // holder. A lost connection is made again first.
  virtual Result<bool> TryTake() = 0;
  // Whether the lead is still held (PostgreSQL: a round trip to the
  // server). False once the connection was lost: the lock went with it.
  virtual bool Held() = 0;
};

// The lead named `name` of the store at `where`.
Result<std::unique_ptr<StoreLead>> OpenStoreLead(const StoreLocation& where,
                                                 const std::string& name);

// Makes `data_dir` (ours; created when missing) a store that group `group`
// may read but not write: the directory 0750 and the store's files 0640,
// with that group. Every later writable open keeps it so, and SQLite gives
// the -wal and -shm files it creates the database file's owner, group and
// mode. For pveauditd as root with pveaudit-web as its own user
// (docs/web.md); without it a store is its owner's alone (0700/0600).
Status ShareStoreWithGroup(const std::string& data_dir, unsigned group);

}  // namespace pveaudit

// spooling_store.h
// SpoolingStore is pveauditd's store when the cluster shares one
// PostgreSQL database (docs/storage.md, "When PostgreSQL is away"): it
// appends to the database while it answers, and to a local SQLite store,
// the spool (DATA_DIR/spool), while it does not (unreachable, read only,
// refusing the write). Ingest never waits for the database: every append
// is durable in one of the two before it returns.
//
// A thread of its own forwards the spool, in order and exactly once, when
// the database answers again: each forwarded batch commits in the
// database with the cursor `pveaudit:spool:<node>:<spool id>` (the spool's
// last id it covers), so a batch whose COMMIT got no answer is found there
// and not sent twice. The last batch also carries the spool's file
// cursors and rejected lines; then the spool is removed and appends go to
// the database again. Appends keep their order: nothing goes to the
// database directly while a spool is not drained.
//
// The one append that fails without an answer from the database (the
// connection dropped during COMMIT) may have committed there. Every direct
// append carries the cursor `pveaudit:batch:<node>` numbered one up; the
// first spooled batch records which number it was, and is skipped by the
// forwarder when the database holds that number.
//
// Cursors: the file sources resume from GetCursor. While the database
// answers and nothing is spooled, it is asked. While spooling, the spool's
// cursors come first (they are the newest), then the database's if it
// answers again, else what this object knows: every cursor of the database
// as loaded when it last connected, and every cursor it wrote since (this
// node alone writes its cursors). A key it knows to be absent then (a new
// file, e.g. after a rotation during the outage) is absent. Only when it
// never reached the database (pveauditd started during the outage, no
// spool) is an unknown cursor an error: that source waits; its lines stay
// in its files.
//
// Reads, settings and consumer positions are the database's; while it is
// away they fail at once with an IOError naming the outage, except the
// daemon's status (DaemonStatusKey), which goes to the spool (what
// `pveam access status` shows then).
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/event_store.h"

namespace pveaudit {

struct SpoolOptions {
  std::string spool_dir;  // DATA_DIR/spool
  std::string writer;     // this node's name (the cursors' names)
  // How often an absent database is tried again.
  std::chrono::milliseconds retry{1000};
  // Events per forwarded transaction.
  size_t forward_batch = 10000;
  // Where errors and recoveries are reported (may be empty).
  std::function<void(const char* level, const std::string& message)> log;
};

// What `pveam access status` shows of the spool.
struct SpoolState {
  bool spooling = false;     // appends go to the spool now
  bool database_up = false;  // the database answered the last call
  uint64_t events = 0;       // events in the spool not yet forwarded
  uint64_t bytes = 0;        // the spool's size on disk
  int64_t oldest_us = 0;     // time of the oldest of them (0 = none)
  int64_t since_us = 0;      // when spooling began (0 = not spooling)
  uint64_t forwarded = 0;    // events forwarded since this object was made
  std::string error;         // the database's last error while away
};

class SpoolingStore final : public EventStore {
 public:
  using Opener = std::function<Result<std::unique_ptr<EventStore>>()>;

  // Tries `open_database` once; when that fails, appends go to the spool
  // and the forwarder tries again every options.retry. An undrained spool
  // left by an earlier run is opened and forwarded first.
  static Result<std::unique_ptr<SpoolingStore>> Open(Opener open_database, SpoolOptions options);
  ~SpoolingStore() override;
  SpoolingStore(const SpoolingStore&) = delete;
  SpoolingStore& operator=(const SpoolingStore&) = delete;

  SpoolState State() const;

  Status AppendBatch(std::vector<Event>* events, const std::vector<RejectedLine>& rejected,
                     std::span<const SourceCursor> cursors,
                     const std::vector<Hash256>* digests) override;
  Result<std::optional<SourceCursor>> GetCursor(const std::string& key) override;
  Result<std::vector<SourceCursor>> ListCursors() override;
  Status Scan(const Filter& filter, uint32_t fields,
              const std::function<bool(Event&)>& fn) override;
  Status ScanKeys(const Filter& filter, EventField key, std::vector<std::string>* names,
                  const std::function<bool(int64_t, uint32_t, uint64_t)>& fn) override;
  Status ScanAfter(uint64_t after_id, size_t limit, uint32_t fields,
                   const std::function<bool(Event&)>& fn) override;
  Result<std::optional<uint64_t>> GetConsumer(const std::string& name) override;
  Status PutConsumer(const std::string& name, uint64_t last_id) override;
  Result<std::vector<ConsumerPosition>> ListConsumers() override;
  Result<VerifyReport> Verify(const std::function<void(uint64_t, uint64_t)>& progress) override;
  Result<StoreInfo> Info() override;
  // It fronts PostgreSQL; during an outage the spool (SQLite) answers,
  // where reading by user costs a little more and gives the same events.
  bool ReadsByUserAreCheap() const override { return true; }
  Status PutSetting(const std::string& key, const std::string& value,
                    const std::string& changed_by) override;
  Result<std::optional<std::string>> GetSetting(const std::string& key) override;
  Result<std::vector<RejectedLine>> ListRejected(size_t limit) override;

 private:
  SpoolingStore(Opener open_database, SpoolOptions options);

  // The database for a read, or why not (while it is away).
  Status DatabaseForRead() const;
  Status OpenSpoolLocked();
  Status SpoolAppendLocked(std::vector<Event>* events, const std::vector<RejectedLine>& rejected,
                           std::span<const SourceCursor> cursors,
                           const std::vector<Hash256>* digests, const SourceCursor* ambiguous);
  void Remember(std::span<const SourceCursor> cursors);
  // Loads every cursor of the database into cursors_ (mu_ and db_mu_ held).
  void LoadCursorsLocked();
  void ForwarderLoop();
  // One step of forwarding: true when it made progress (call again now).
  bool ForwardOnce();
  void MarkDown(const Status& st);
  void MarkUp();
  void Log(const char* level, const std::string& m) const;

  const Opener open_;
  const SpoolOptions opt_;
  const std::string batch_key_;  // pveaudit:batch:<node>

  // Lock order: mu_, then db_mu_.
  mutable std::mutex mu_;  // the spool, the mode, the cursor cache
  std::unique_ptr<EventStore> spool_;
  std::string spool_key_;  // pveaudit:spool:<node>:<spool id>
  uint64_t spool_last_ = 0;
  bool spooling_ = false;
  int64_t since_us_ = 0;
  uint64_t next_batch_ = 0;  // the number the next direct append carries; 0 = read it first
  // Cursors as the database had them when loaded (LoadCursorsLocked) and
  // as written since; complete once loaded.
  std::map<std::string, SourceCursor> cursors_;
  bool cursors_complete_ = false;

  mutable std::recursive_mutex db_mu_;  // the database connection
  std::unique_ptr<EventStore> db_;      // set once, never reset
  std::atomic<bool> has_db_{false};

  mutable std::mutex state_mu_;
  SpoolState state_;  // events/oldest/bytes as the forwarder last saw them
  std::atomic<bool> up_{false};

  std::mutex wake_mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by wake_mu_
  std::thread forwarder_;
};

// The spool of `data_dir` (a SQLite store), opened read only, for the
// commands that show what this node holds while the database is away;
// NotFound when there is none.
Result<std::unique_ptr<EventStore>> OpenSpoolForReading(const std::string& data_dir);
std::string SpoolDir(const std::string& data_dir);

}  // namespace pveaudit

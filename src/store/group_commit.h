// group_commit.h
// GroupCommitStore is the daemon's one writer: an EventStore that several
// source threads share. Each Append/AppendBatch call is queued and blocks
// until it is durable; one writer thread takes whatever calls are queued
// and commits them together in one transaction of the underlying store
// (their events in arrival order, every caller's rejected lines and
// cursors). A group is committed when
//   - it holds `max_events` events, or
//   - its oldest call has waited `max_wait` (e.g. 50 ms), or
//   - every source that announced it is polling (an Activity) is already
//     waiting in the queue, so nothing else is coming: an idle daemon adds
//     no latency to a lone batch.
// Back-pressure: a caller blocks until its batch commits, so memory is
// bounded by (sources x one batch) whatever the store's speed. When the
// commit fails (disk full, I/O error), every caller of the group gets the
// error and nothing of the group is stored: no cursor moves past an
// uncommitted line.
// Reads (Scan, GetCursor, Info, ...) go straight to the underlying store,
// serialised with the writer by one mutex (the SQLite backend is one
// connection, not thread safe).
// Thread safety: all methods may be called from any thread, but not
// AppendBatch from inside a Scan/ScanKeys callback (the scan holds the
// store's lock that the writer needs: deadlock).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

#include "store/event_store.h"

namespace pveaudit {

struct GroupCommitOptions {
  size_t max_events = 10000;
  std::chrono::milliseconds max_wait{50};
};

struct GroupCommitStats {
  uint64_t commits = 0;  // transactions of the underlying store
  uint64_t calls = 0;    // Append/AppendBatch calls committed
  uint64_t events = 0;
  uint64_t failed = 0;  // transactions that failed
};

class GroupCommitStore final : public EventStore {
 public:
  // `base` must outlive this object.
  GroupCommitStore(EventStore& base, GroupCommitOptions options);
  // Owns `base`.
  GroupCommitStore(std::unique_ptr<EventStore> base, GroupCommitOptions options);
  // Commits what is queued, then stops the writer thread.
  ~GroupCommitStore() override;
  GroupCommitStore(const GroupCommitStore&) = delete;
  GroupCommitStore& operator=(const GroupCommitStore&) = delete;

  // A source thread holds an Activity while it polls: the writer then
  // knows another batch may come and waits for it (up to max_wait).
  class Activity {
   public:
    explicit Activity(GroupCommitStore& s);
    ~Activity();
    Activity(const Activity&) = delete;
    Activity& operator=(const Activity&) = delete;

   private:
    GroupCommitStore& s_;
  };

  Status AppendBatch(std::vector<Event>* events, const std::vector<RejectedLine>& rejected,
                     std::span<const SourceCursor> cursors,
                     const std::vector<Hash256>* digests) override;
  Result<std::optional<SourceCursor>> GetCursor(const std::string& key) override;
  Result<std::vector<SourceCursor>> ListCursors() override;
  Status Scan(const Filter& filter, uint32_t fields,
              const std::function<bool(Event&)>& fn) override;
  Status ScanKeys(const Filter& filter, EventField key, std::vector<std::string>* names,
                  const std::function<bool(int64_t, uint32_t, uint64_t)>& fn) override;
  Status ScanKeyTuples(const Filter& filter, const std::vector<EventField>& fields,
                       std::vector<std::vector<std::string>>* names,
                       const std::function<bool(int64_t, const uint32_t*)>& fn) override;
  Status ScanAfter(uint64_t after_id, size_t limit, uint32_t fields,
                   const std::function<bool(Event&)>& fn) override;
  Result<std::optional<uint64_t>> GetConsumer(const std::string& name) override;
  Status PutConsumer(const std::string& name, uint64_t last_id) override;
  Result<std::vector<ConsumerPosition>> ListConsumers() override;
  Result<VerifyReport> Verify(const std::function<void(uint64_t, uint64_t)>& progress) override;
  Result<StoreInfo> Info() override;
  bool ReadsByUserAreCheap() const override { return base_.ReadsByUserAreCheap(); }
  Status PutSetting(const std::string& key, const std::string& value,
                    const std::string& changed_by) override;
  Result<std::optional<std::string>> GetSetting(const std::string& key) override;
  Result<std::vector<RejectedLine>> ListRejected(size_t limit) override;

  GroupCommitStats stats() const;

 private:
  struct Request {
    std::vector<Event>* events;
    const std::vector<RejectedLine>* rejected;
    std::span<const SourceCursor> cursors;
    const std::vector<Hash256>* digests;
    std::chrono::steady_clock::time_point queued;
    bool done = false;
    Status status;
  };

  void WriterLoop();
  void CommitGroup(std::vector<Request*>& group);

  std::unique_ptr<EventStore> owned_;  // may be null
  EventStore& base_;
  const GroupCommitOptions opt_;
  std::recursive_mutex base_mu_;  // the underlying store: writer and readers

  mutable std::mutex mu_;  // everything below
  std::condition_variable cv_;
  std::deque<Request*> queue_;
  size_t queued_events_ = 0;
  int active_ = 0;  // Activities held
  bool stop_ = false;
  GroupCommitStats stats_;
  std::thread writer_;
};

}  // namespace pveaudit

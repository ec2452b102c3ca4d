#include "store/group_commit.h"

#include <algorithm>

namespace pveaudit {

GroupCommitStore::GroupCommitStore(EventStore& base, GroupCommitOptions options)
    : base_(base), opt_(options) {
  writer_ = std::thread([this] { WriterLoop(); });
}

GroupCommitStore::GroupCommitStore(std::unique_ptr<EventStore> base, GroupCommitOptions options)
    : owned_(std::move(base)), base_(*owned_), opt_(options) {
  writer_ = std::thread([this] { WriterLoop(); });
}

GroupCommitStore::~GroupCommitStore() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  writer_.join();
}

GroupCommitStore::Activity::Activity(GroupCommitStore& s) : s_(s) {
  std::lock_guard<std::mutex> l(s_.mu_);
  ++s_.active_;
}

GroupCommitStore::Activity::~Activity() {
  {
    std::lock_guard<std::mutex> l(s_.mu_);
    --s_.active_;
  }
  s_.cv_.notify_all();  // the writer may now have everyone it waits for
}

Status GroupCommitStore::AppendBatch(std::vector<Event>* events,
                                     const std::vector<RejectedLine>& rejected,
                                     std::span<const SourceCursor> cursors,
                                     const std::vector<Hash256>* digests) {
  if (digests && digests->size() != events->size())
    return Status::InvalidArgument("Append: digests do not match the events");
  Request r{events, &rejected, cursors, digests, std::chrono::steady_clock::now(), false, {}};
  std::unique_lock<std::mutex> l(mu_);
  if (stop_) return Status::Busy("the store's writer is stopping");
  queue_.push_back(&r);
  queued_events_ += events->size();
  cv_.notify_all();
  cv_.wait(l, [&] { return r.done; });
  return r.status;
}

void GroupCommitStore::WriterLoop() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    // Form a group: wait for the other polling sources, bounded by max_wait.
    auto ready = [&] {
      return stop_ || queued_events_ >= opt_.max_events ||
             queue_.size() >= size_t(std::max(1, active_));
    };
    cv_.wait_until(l, queue_.front()->queued + opt_.max_wait, ready);
    std::vector<Request*> group;
    size_t n = 0;
    while (!queue_.empty() &&
           (group.empty() || n + queue_.front()->events->size() <= opt_.max_events)) {
      group.push_back(queue_.front());
      n += queue_.front()->events->size();
      queued_events_ -= queue_.front()->events->size();
      queue_.pop_front();
    }
    l.unlock();
    CommitGroup(group);
    l.lock();
    for (Request* r : group) r->done = true;
    cv_.notify_all();
  }
}

void GroupCommitStore::CommitGroup(std::vector<Request*>& group) {
  Status st;
  size_t events = 0;
  {
    std::lock_guard<std::recursive_mutex> bl(base_mu_);
    if (group.size() == 1) {
      Request& r = *group[0];
      events = r.events->size();
      st = base_.AppendBatch(r.events, *r.rejected, r.cursors, r.digests);
    } else {
      std::vector<Event> all;
      std::vector<RejectedLine> rejected;
      std::vector<SourceCursor> cursors;
      std::vector<Hash256> digests;
      bool any_digests = false;
      for (Request* r : group) {
        events += r->events->size();
        any_digests |= r->digests != nullptr;
      }
      all.reserve(events);
      if (any_digests) digests.reserve(events);
      ChainHasher hasher;
      for (Request* r : group) {
        for (Event& e : *r->events) all.push_back(std::move(e));
        rejected.insert(rejected.end(), r->rejected->begin(), r->rejected->end());
        cursors.insert(cursors.end(), r->cursors.begin(), r->cursors.end());
        if (!any_digests) continue;
        if (r->digests) {
          digests.insert(digests.end(), r->digests->begin(), r->digests->end());
        } else {
          for (size_t i = all.size() - r->events->size(); i < all.size(); ++i)
            digests.push_back(hasher.Digest(all[i]));
        }
      }
      st = base_.AppendBatch(&all, rejected, cursors, any_digests ? &digests : nullptr);
      // Give every caller its events back, with their ids (0 on failure).
      size_t pos = 0;
      for (Request* r : group)
        for (Event& e : *r->events) e = std::move(all[pos++]);
    }
  }
  for (Request* r : group) r->status = st;
  std::lock_guard<std::mutex> l(mu_);
  if (st.ok()) {
    ++stats_.commits;
    stats_.calls += group.size();
    stats_.events += events;
  } else {
    ++stats_.failed;
  }
}

GroupCommitStats GroupCommitStore::stats() const {
  std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

Result<std::optional<SourceCursor>> GroupCommitStore::GetCursor(const std::string& key) {
  std::lock_guard<std::recursive_mutex> l(base_mu_);
  return base_.GetCursor(key);
}

Result<std::vector<SourceCursor>> GroupCommitStore::ListCursors() {
  std::lock_guard<std::recursive_mutex> l(base_mu_);
  return base_.ListCursors();
}

Status GroupCommitStore::Scan(const Filter& filter, uint32_t fields,
                              const std::function<bool(Event&)>& fn) {
  std::lock_guard<std::recursive_mutex> l(base_mu_);
  return base_.Scan(filter, fields, fn);
}

Status GroupCommitStore::ScanKeys(const Filter& filter, EventField key,
                                  std::vector<std::string>* names,
                                  const std::function<bool(int64_t, uint32_t, uint64_t)>& fn) {
  std::lock_guard<std::recursive_mutex> l(base_mu_);
  return base_.ScanKeys(filter, key, names, fn);
}

Status GroupCommitStore::ScanKeyTuples(const Filter& filter, const std::vector<EventField>& fields,
                                       std::vector<std::vector<std::string>>* names,
                                       const std::function<bool(int64_t, const uint32_t*)>& fn) {
  std::lock_guard<std::recursive_mutex> l(base_mu_);
  return base_.ScanKeyTuples(filter, fields, names, fn);
}

Result<VerifyReport> GroupCommitStore::Verify(
    const std::function<void(uint64_t, uint64_t)>& progress) {
  std::lock_guard<std::recursive_mutex> l(base_mu_);
  return base_.Verify(progress);
}

Result<StoreInfo> GroupCommitStore::Info() {
  std::lock_guard<std::recursive_mutex> l(base_mu_);
  return base_.Info();
}

Status GroupCommitStore::ScanAfter(uint64_t after_id, size_t limit, uint32_t fields,
                                   const std::function<bool(Event&)>& fn) {
  std::lock_guard<std::recursive_mutex> l(base_mu_);
  return base_.ScanAfter(after_id, limit, fields, fn);
}

Result<std::optional<uint64_t>> GroupCommitStore::GetConsumer(const std::string& name) {
  std::lock_guard<std::recursive_mutex> l(base_mu_);
  return base_.GetConsumer(name);
}

Status GroupCommitStore::PutConsumer(const std::string& name, uint64_t last_id) {
  std::lock_guard<std::recursive_mutex> l(base_mu_);
  return base_.PutConsumer(name, last_id);
}

Result<std::vector<EventStore::ConsumerPosition>> GroupCommitStore::ListConsumers() {
  std::lock_guard<std::recursive_mutex> l(base_mu_);
  return base_.ListConsumers();
}

Status GroupCommitStore::PutSetting(const std::string& key, const std::string& value,
                                    const std::string& changed_by) {
  std::lock_guard<std::recursive_mutex> l(base_mu_);
  return base_.PutSetting(key, value, changed_by);
}

Result<std::optional<std::string>> GroupCommitStore::GetSetting(const std::string& key) {
  std::lock_guard<std::recursive_mutex> l(base_mu_);
  return base_.GetSetting(key);
}

Result<std::vector<RejectedLine>> GroupCommitStore::ListRejected(size_t limit) {
  std::lock_guard<std::recursive_mutex> l(base_mu_);
  return base_.ListRejected(limit);
}

}  // namespace pveaudit

// forwarding_store.h
// ForwardingStore: an EventStore that hands every call to another store.
// The archive reader (evidence/archived_store.h) derives from it to add
// archived events to scans;
// tests derive from it to change one behaviour of a real store (lose an
// answer, give another cost hint) and keep the rest real.
// Thread safety: that of the base store.
#pragma once

#include <memory>
#include <utility>

#include "store/event_store.h"

namespace pveaudit {

class ForwardingStore : public EventStore {
 public:
  explicit ForwardingStore(std::unique_ptr<EventStore> base) : base_(std::move(base)) {}
  Status AppendBatch(std::vector<Event>* e, const std::vector<RejectedLine>& r,
                     std::span<const SourceCursor> c, const std::vector<Hash256>* d) override {
    return base_->AppendBatch(e, r, c, d);
  }
  Result<std::optional<SourceCursor>> GetCursor(const std::string& k) override {
    return base_->GetCursor(k);
  }
  Result<std::vector<SourceCursor>> ListCursors() override { return base_->ListCursors(); }
  Status Scan(const Filter& f, uint32_t fl, const std::function<bool(Event&)>& fn) override {
    return base_->Scan(f, fl, fn);
  }
  bool ReadsByUserAreCheap() const override { return base_->ReadsByUserAreCheap(); }
  Status ScanKeys(const Filter& f, EventField k, std::vector<std::string>* n,
                  const std::function<bool(int64_t, uint32_t, uint64_t)>& fn) override {
    return base_->ScanKeys(f, k, n, fn);
  }
  Status ScanKeyTuples(const Filter& f, const std::vector<EventField>& k,
                       std::vector<std::vector<std::string>>* n,
                       const std::function<bool(int64_t, const uint32_t*)>& fn) override {
    return base_->ScanKeyTuples(f, k, n, fn);
  }
  Status ScanAfter(uint64_t a, size_t l, uint32_t f,
                   const std::function<bool(Event&)>& fn) override {
    return base_->ScanAfter(a, l, f, fn);
  }
  Result<std::optional<uint64_t>> GetConsumer(const std::string& n) override {
    return base_->GetConsumer(n);
  }
  Status PutConsumer(const std::string& n, uint64_t id) override {
    return base_->PutConsumer(n, id);
  }
  Result<std::vector<ConsumerPosition>> ListConsumers() override { return base_->ListConsumers(); }
  Result<VerifyReport> Verify(const std::function<void(uint64_t, uint64_t)>& p) override {
    return base_->Verify(p);
  }
  Result<StoreInfo> Info() override { return base_->Info(); }
  Status PutSetting(const std::string& k, const std::string& v, const std::string& b) override {
    return base_->PutSetting(k, v, b);
  }
  Result<std::optional<std::string>> GetSetting(const std::string& k) override {
    return base_->GetSetting(k);
  }
  Result<std::vector<RejectedLine>> ListRejected(size_t l) override {
    return base_->ListRejected(l);
  }
  Result<std::vector<BlockSpan>> ListBlockSpans() override { return base_->ListBlockSpans(); }
  Result<std::vector<ArchiveRecord>> ListArchives() override { return base_->ListArchives(); }
  Status RemoveArchivedRange(const ArchiveRecord& r) override {
    return base_->RemoveArchivedRange(r);
  }
  Status MarkArchivePurged(const std::string& n, int64_t w) override {
    return base_->MarkArchivePurged(n, w);
  }

 protected:
  EventStore& base() { return *base_; }

 private:
  std::unique_ptr<EventStore> base_;
};

}  // namespace pveaudit

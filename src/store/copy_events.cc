#include "store/copy_events.h"

#include <string>

namespace pveaudit {

Status ReadNextEvents(EventStore& store, uint64_t after_id, size_t limit, std::vector<Event>* out) {
  out->clear();
  out->reserve(limit);
  PVEAUDIT_RETURN_IF_ERROR(store.ScanAfter(after_id, limit, kFieldAll, [&](Event& e) {
    out->push_back(std::move(e));
    return true;
  }));
  if (!out->empty() &&
      (out->front().id != after_id + 1 || out->back().id != after_id + out->size()))
    return Status::Corruption("ids are not contiguous after event " + std::to_string(after_id));
  return Status::OK();
}

}  // namespace pveaudit

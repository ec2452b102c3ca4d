#include "store/event_store.h"

#include <string_view>
#include <unordered_map>

namespace pveaudit {

namespace {
const std::string& FieldOf(const Event& e, EventField f) {
  switch (f) {
    case kFieldNode:
      return e.node;
    case kFieldUser:
      return e.user;
    case kFieldIp:
      return e.ip;
    case kFieldAction:
      return e.action;
    case kFieldResource:
      return e.resource;
    case kFieldStatus:
      return e.status;
    case kFieldSource:
      return e.source;
    case kFieldSession:
      return e.session;
    case kFieldDetail:
      return e.detail;
    default:
      return e.origin;
  }
}
}  // namespace

Status EventStore::ScanKeyTuples(const Filter& filter, const std::vector<EventField>& fields,
                                 std::vector<std::vector<std::string>>* names,
                                 const std::function<bool(int64_t, const uint32_t*)>& fn) {
  uint32_t mask = 0;
  for (EventField f : fields) {
    if (f == 0 || (f & (f - 1)) != 0 || f > kFieldOrigin)
      return Status::InvalidArgument("ScanKeyTuples: not one field");
    mask |= f;
  }
  names->assign(fields.size(), {});
  std::vector<std::unordered_map<std::string, uint32_t>> ids(fields.size());
  std::vector<uint32_t> keys(fields.size());
  return Scan(filter, mask, [&](Event& e) {
    for (size_t i = 0; i < fields.size(); ++i) {
      const std::string& v = FieldOf(e, fields[i]);
      auto [it, added] = ids[i].try_emplace(v, uint32_t((*names)[i].size()));
      if (added) (*names)[i].push_back(v);
      keys[i] = it->second;
    }
    return fn(e.time_us, keys.data());
  });
}

}  // namespace pveaudit

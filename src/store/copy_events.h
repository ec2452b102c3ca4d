// copy_events.h
// Reading a store in order to copy it into another, as `pveam access
// migrate` and the spool's forwarder (spooling_store.h) do: the copy must
// be whole, so the events read must follow on without a gap.
#pragma once

#include <cstdint>
#include <vector>

#include "store/event_store.h"

namespace pveaudit {

// The events with ids after `after_id`, at most `limit` of them, every
// field, in id order, into *out (replaced). Corruption ("ids are not
// contiguous after event N") when they do not follow on from after_id one
// by one.
Status ReadNextEvents(EventStore& store, uint64_t after_id, size_t limit, std::vector<Event>* out);

}  // namespace pveaudit

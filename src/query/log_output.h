// log_output.h
// Events written as `pveam access log --output-format json|csv|yaml`
// writes them: the columns of the JSON contract, oldest first, RFC 3339
// UTC times. The CLI and the API's downloads (GET log with output-format)
// share it, so a download is byte for byte what the CLI prints.
// Thread safety: free functions.
#pragma once

#include <cstdint>
#include <functional>

#include "core/event.h"
#include "core/filter.h"
#include "core/status.h"
#include "core/table.h"
#include "store/event_store.h"

namespace pveaudit {

// The columns of an event in JSON, CSV and YAML.
Table EventsLayout();

// Writes the events `filter` matches (through the views, as ForEachEvent)
// and `keep` lets through (all when empty), in `format` (not text).
// `limit` (0: all) is ForEachEvent's: the newest that many of the filter's,
// before `keep`. Returns the number written.
Result<uint64_t> WriteEventRows(EventStore& store, const Filter& filter, size_t limit,
                                OutputFormat format, OutputBuffer* out,
                                const std::function<bool(const Event&)>& keep = {});

}  // namespace pveaudit

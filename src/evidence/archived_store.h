// archived_store.h
// `pveam access log --include-archives`: a store whose Scan and ScanKeys
// also read the kept archives (evidence/archive.h) of the store below it,
// merged into the same (time, id) order, so that a six-year-old
// investigation needs no restore step. Each archive overlapping the
// query's time range is read when the online scan reaches its first
// event's time (or at the end), and only its matching events are held in
// memory. Everything else (appends, consumers, verify) is the store's own.
// Thread safety: that of the base store.
#pragma once

#include <memory>
#include <string>

#include "store/event_store.h"

namespace pveaudit {

// `base` with the archives in `archive_dir` (as recorded in `base`).
// Purged archives are skipped (their events are gone: the caller says
// so); an archive whose directory is missing or whose events file does
// not match its manifest makes the scan fail with a message naming it
// (Corruption), never a silent gap.
std::unique_ptr<EventStore> WithArchives(std::unique_ptr<EventStore> base, std::string archive_dir);

}  // namespace pveaudit

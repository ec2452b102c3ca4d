// importer.h
// Importer feeds log files into the store exactly once. A file is looked
// up by a fingerprint of its first line (plus node and format), so
// re-importing it, or importing its rotated copy (access.log.1, .2.gz),
// resumes from the stored cursor: lines already stored are counted as
// duplicates and skipped. A cursor skips only bytes the file is proven to
// hold: it keeps the CRC-32 of everything it consumed and a hash of the
// last 4 KiB before its offset (docs/rotation.md). A file that starts
// like an earlier one but differs gets a cursor of its own (KEY#2, ...),
// so both are stored entirely. tasks/active, rewritten in place, is read
// as a snapshot: only lines no recent snapshot held are stored.
// Events of each batch, the rejected lines, the file's cursor and the
// login tracker's per-stream cursor commit in one transaction, so a kill
// -9 at any point leaves a consistent store and a re-run completes the
// file with no duplicates.
// One reader/parser thread feeds the calling thread, which writes.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"
#include "ingest/line_parser.h"
#include "store/event_store.h"

namespace pveaudit {

struct ImportOptions {
  std::string format = "auto";  // auto|pveproxy|auth|tasks|json
  std::string node;             // --node; empty: from the lines, else this host's name
  size_t batch_events = 16384;  // events per transaction
  // Tail mode (the daemon): leave a last line without "\n" for the next
  // call, since its writer may still be writing it.
  bool complete_lines_only = false;
  // Set (e.g. by a SIGINT handler) to stop after the current batch; the
  // import then returns with `interrupted` and everything read committed.
  const std::atomic<bool>* stop = nullptr;
};

struct ImportStats {
  uint64_t lines = 0;              // lines read (including skipped ones)
  uint64_t stored = 0;             // events committed
  uint64_t duplicates = 0;         // lines skipped because an earlier import stored them
  uint64_t ignored = 0;            // well-formed lines that are no audit record
  uint64_t rejected = 0;           // malformed lines, kept in the store's rejected table
  std::string format;              // format used
  std::string cursor_key;          // the file's identity (see SourceCursor)
  uint64_t offset = 0;             // bytes of the file consumed after this call
  uint64_t size = 0;               // file size on disk when read
  uint64_t device = 0, inode = 0;  // the file actually read
  int64_t last_event_us = 0;       // time of the newest event stored by this call
  // The first line matched an earlier file's, but the bytes that cursor
  // consumed differ: this file was read as a new one.
  bool changed_file = false;
  bool interrupted = false;  // options.stop was set: the file is not finished
  // Non-empty: reading stopped at damage (e.g. a truncated .gz) after
  // `lines` lines, which are stored; this says what is wrong.
  std::string damaged;
};

// (bytes done, bytes total) of the current file, after each commit.
using ImportProgress = std::function<void(uint64_t, uint64_t)>;

Result<ImportStats> ImportFile(EventStore& store, const std::string& path,
                               const ImportOptions& options, const ImportProgress& progress);

}  // namespace pveaudit

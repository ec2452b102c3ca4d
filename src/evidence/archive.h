// archive.h
// Archives: the oldest events moved out of the store into signed,
// compressed, self-describing directories that an auditor can check
// offline (docs/retention.md).
//
// An archive is a run of whole consecutive blocks, ids first_id..last_id,
// all past the online period, grouped by the month of their newest event.
// Archives are numbered 1, 2, 3, ... as they are written, and each
// manifest carries the SHA-256 of the one before (a chain of manifests),
// so a removed archive is missed offline too. Its directory
// (ARCHIVE_DIR/<period>.<first_id>-<last_id>) holds exactly:
//   events.jsonl.zst   one JSON object per event, in id order, with every
//                      field the chain hashes (zstd)
//   manifest.json      period, counts, first/last id and time, the chain
//                      hashes at both ends, the events file's SHA-256, the
//                      field list and the chain formula
//   manifest.sig       Ed25519 signature of manifest.json (64 bytes)
//   signing-key.pem    the public key that signed it
//
// Moving a run out is crash-safe: the directory is written as NAME.partial,
// checked, and renamed into place before the store drops the events (one
// transaction with the archive's record). A crash leaves the events online,
// or online and in a complete archive (the next run finds the archive,
// checks it against the store and finishes), never neither.
// Thread safety: free functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "evidence/retention.h"
#include "evidence/signing_key.h"
#include "store/chain.h"
#include "store/event_store.h"

namespace pveaudit {

inline constexpr const char* kArchiveEventsFile = "events.jsonl.zst";
inline constexpr const char* kArchiveManifest = "manifest.json";
inline constexpr const char* kArchiveSignature = "manifest.sig";
inline constexpr const char* kArchiveKey = "signing-key.pem";

// One event as a line of events.jsonl.zst (with '\n'), `h` its chain hash.
void EncodeArchiveLine(const Event& e, const Hash256& h, std::string* out);
// The inverse: the event and, through `h32`, the first four bytes of its
// chain hash. Corruption naming the problem. `fast`: the line as
// EncodeArchiveLine writes it is read by hand, anything else by nlohmann;
// false: nlohmann only (tests and the fuzz target compare the two).
Result<Event> DecodeArchiveLine(std::string_view line, uint32_t* h32, bool fast = true);

// A run of blocks to archive (what RemoveArchivedRange will drop).
struct ArchivePlanItem {
  uint64_t seq = 0;
  std::string prev_manifest_sha256;  // of archive seq - 1 ("" for the first)
  std::string name, period;
  uint64_t first_id = 0, last_id = 0, events = 0;
  int64_t t_min_us = 0, t_max_us = 0;
  std::string prev_hash, last_hash;  // hex
};

// The runs to archive: consecutive online blocks (`spans`, ascending by
// id, the newest block last and never included) that end before
// `cutoff_us`, cut where a block is not archivable or the month (cluster
// zone) of a block's newest event moves past the run's month. `records`:
// the archives so far (for the chain hash before a run that follows one,
// and the sequence numbers). prev_manifest_sha256 is left for the writer.
std::vector<ArchivePlanItem> PlanArchives(const std::vector<BlockSpan>& spans,
                                          const std::vector<ArchiveRecord>& records,
                                          int64_t cutoff_us);

struct ArchiveWriteOptions {
  std::string archive_dir;  // created 0700 when missing
  std::string node, software;
  int64_t now_us = 0;
};

// Writes and checks the archive directory of `item` from the store's
// events; the record to hand to RemoveArchivedRange. An existing complete
// directory of that name (a crash after its rename) is checked against
// `item` and reused; a damaged one is moved aside to NAME.damaged-<time>.
// Corruption when the store's events do not hash to item.last_hash.
Result<ArchiveRecord> WriteArchive(EventStore& store, const SigningKey& key,
                                   const ArchivePlanItem& item, const ArchiveWriteOptions& o);

// What an offline check of one archive directory found.
struct ArchiveCheck {
  std::string dir;
  bool ok = false;
  std::string name, period;
  uint64_t seq = 0, first_id = 0, last_id = 0, events = 0;
  int64_t t_min_us = 0, t_max_us = 0;
  std::string prev_hash, last_hash, manifest_sha256, prev_manifest_sha256, key_fingerprint;
  bool key_from_archive = false;  // checked against the key inside it
  uint64_t first_bad_id = 0;      // the first event that does not hash, when one
  bool purged = false;            // events dropped by retention; manifest and note kept
  std::vector<std::string> problems;
};

// Checks one archive directory with no store: the manifest's signature
// (against `trusted_key_pem`, or the archive's own key when empty), the
// events file's digest, and, when `rehash`, every event against the chain
// from prev_hash to last_hash (naming the first bad event).
ArchiveCheck CheckArchiveDir(const std::string& dir, const std::string& trusted_key_pem,
                             bool rehash);

// Problems with a set of checked archives (sorted here by seq): a gap in
// the sequence numbers or a manifest that does not name the previous
// one's digest (an archive removed or replaced), or archives that claim
// the same events. `complete`: the set should start at archive 1.
std::vector<std::string> CheckArchiveSequence(std::vector<ArchiveCheck>* checks);

// Calls `fn` with every event of the archive in `dir`, in id order, after
// checking the events file against the manifest's digest. `fn` returns
// false to stop.
Status ReadArchiveEvents(const std::string& dir, const std::function<bool(Event&)>& fn);

// What one retention run did (or, dry, would do).
struct RetentionRun {
  std::vector<ArchiveRecord> archived;
  std::vector<ArchiveRecord> purged;
  std::vector<std::pair<ArchiveRecord, uint64_t>> held;  // past retention, kept by hold id
  int64_t online_cutoff_us = 0, purge_cutoff_us = 0;
};

struct RetentionRunOptions {
  ArchiveWriteOptions write;
  std::string user;  // who runs it, for the audit events
  bool dry_run = false;
  // Called after each archive is written and dropped, or purged.
  std::function<void(const std::string&)> progress;
};

// Applies `policy` now: archives every run of blocks past the online
// period, then purges every kept archive past the archive period that no
// active hold covers (the record first, then the directory). Each archive
// and purge is recorded as an audit event (audit:archive, audit:purge).
// A no-op when the policy does not archive.
Result<RetentionRun> RunRetention(EventStore& store, const SigningKey* key,
                                  const RetentionPolicy& policy,
                                  const std::vector<LegalHold>& holds,
                                  const RetentionRunOptions& o);

// The store's archive records checked against the archive directory: for
// each kept archive, its directory exists, its manifest has the recorded
// digest, a valid signature and the recorded ids and chain hashes, and its
// events file the manifest's digest. One line per problem.
// A purged archive keeps its directory with the manifest and a signed
// purge note (its events file is gone), so the chain of archives still
// links up; `trusted_key_pem` is the node's public key.
std::vector<std::string> CheckArchivesAgainstStore(const std::vector<ArchiveRecord>& records,
                                                   const std::string& archive_dir,
                                                   const std::string& trusted_key_pem);

}  // namespace pveaudit

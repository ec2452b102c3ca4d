// block_codec.h
// The on-disk layout of events inside the SQLite store: events are kept
// as dictionary ids (Row) and sealed into blocks of up to 4096 rows. Each
// column of a block is encoded on its own (varints, deltas) and compressed
// with zstd, so a query decodes only the columns it needs. A block also has
// a summary (the distinct users, IPs, actions, resources and nodes in it)
// used to skip blocks that cannot match. docs/storage.md explains the
// choice and the measurements behind it.
// Thread safety: pure functions.
#pragma once

#include <zstd.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"

namespace pveaudit {

// One zstd compression and one decompression context per thread, reused:
// creating a context per column (as ZSTD_compress/ZSTD_decompress do), or
// per archive, allocates and clears its buffers each time, which cost
// more than the work itself. Users reset what they set (one-shot calls
// ignore advanced parameters; streaming users reset the session first).
struct ZstdContexts {
  ZstdContexts();
  ~ZstdContexts();
  ZstdContexts(const ZstdContexts&) = delete;
  ZstdContexts& operator=(const ZstdContexts&) = delete;
  ZSTD_CCtx* c;
  ZSTD_DCtx* d;
};
ZstdContexts& ThreadZstdContexts();

// String dictionaries, one per kind.
enum DictKind : int {
  kDictNode = 0,
  kDictUser,
  kDictIp,
  kDictAction,
  kDictResource,
  kDictStatus,
  kDictSource,
  kDictSession,
  kDictDetail,
  kDictOrigin,
  kNumDictKinds
};

// Kinds whose values are nearly unique per event (request lines with query
// strings, UPIDs, session ids) are stored inline in their block column
// instead of in a dictionary: a dictionary would hold (and index) every
// value once more, and the writer would keep them all in memory.
constexpr bool IsInlineKind(int kind) { return kind == kDictDetail || kind == kDictSession; }

struct Row {
  uint64_t id = 0;
  int64_t time_us = 0;
  uint32_t dict[kNumDictKinds] =
      {};                       // id 0 is the empty string in every kind; unused for inline kinds
  std::string detail, session;  // the inline kinds
  uint8_t result = 0;
  uint64_t origin_line = 0;
  uint32_t hash32 = 0;  // HashPrefix32 of the event's chain hash
};

// Columns: one per dictionary kind, then these.
enum Column : int { kColId = kNumDictKinds, kColTime, kColResult, kColLine, kColHash, kNumColumns };

// Rows per independently compressed chunk of a column. Each chunk is
// stored on its own, so a query that needs a few rows of a block (one
// user's) reads and decompresses only their chunks.
constexpr uint32_t kChunkRows = 512;
// Chunks a block of `n` rows has per column.
constexpr size_t ChunkCount(size_t n) { return (n + kChunkRows - 1) / kChunkRows; }

// Encodes column `col` of `rows` as ChunkCount(rows.size()) zstd frames.
std::vector<std::string> EncodeColumn(int col, std::span<const Row> rows);
// Decodes one chunk frame into rows[0..len), the chunk's rows. With `only`
// (ascending row indexes of the whole block; the chunk starts at block row
// `lo`), inline string columns are materialised just for those rows.
// Corruption when the frame does not hold exactly len values.
Status DecodeColumnChunk(int col, std::string_view frame, Row* rows, size_t len,
                         const std::vector<uint32_t>* only = nullptr, size_t lo = 0);

// The event's string of dictionary kind `kind` (every kind, the inline
// ones included).
const std::string& DictField(const Event& e, int kind);
std::string& MutableDictField(Event& e, int kind);

// Row order inside a block: by user, then time, then id, so that one
// user's rows are contiguous (BlockSummary::user_ranges).
bool BlockOrder(const Row& a, const Row& b);

// The distinct ids of the summarised kinds (node, user, ip, action,
// resource), each sorted ascending, and for each user (same order as
// ids[kDictUser]) the first row and row count of its run.
struct BlockSummary {
  std::vector<uint32_t> ids[kDictResource + 1];
  std::vector<std::pair<uint32_t, uint32_t>> user_ranges;
};
// REQUIRES: rows in BlockOrder.
std::string EncodeSummary(std::span<const Row> rows);
Status DecodeSummary(std::string_view data, BlockSummary* out);

}  // namespace pveaudit

#include "store/block_codec.h"

#include <zstd.h>

#include <algorithm>
#include <vector>

namespace pveaudit {
namespace {

// Varints are written by hand: no packaged library offers a plain LEB128
// encoder, and this is the hot path of sealing and scanning blocks.
inline void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(char(v | 0x80));
    v >>= 7;
  }
  out->push_back(char(v));
}

inline bool GetVarint(const unsigned char*& p, const unsigned char* end, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    uint64_t b = *p++;
    r |= (b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return true;
    }
  }
  return false;
}

inline uint64_t ZigZag(int64_t v) { return (uint64_t(v) << 1) ^ uint64_t(v >> 63); }
inline int64_t UnZigZag(uint64_t v) { return int64_t(v >> 1) ^ -int64_t(v & 1); }

constexpr int kZstdLevel = 1;

ZstdContexts& Zstd() { return ThreadZstdContexts(); }

std::string Compress(const std::string& raw) {
  std::string out;
  out.resize(ZSTD_compressBound(raw.size()));
  size_t n =
      ZSTD_compressCCtx(Zstd().c, out.data(), out.size(), raw.data(), raw.size(), kZstdLevel);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

Status Decompress(std::string_view data, std::string* raw) {
  unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (64u << 20))
    return Status::Corruption("block column is not a valid zstd frame");
  raw->resize(size);
  size_t n = ZSTD_decompressDCtx(Zstd().d, raw->data(), raw->size(), data.data(), data.size());
  if (ZSTD_isError(n) || n != size) return Status::Corruption("block column does not decompress");
  return Status::OK();
}

}  // namespace

bool BlockOrder(const Row& a, const Row& b) {
  if (a.dict[kDictUser] != b.dict[kDictUser]) return a.dict[kDictUser] < b.dict[kDictUser];
  if (a.time_us != b.time_us) return a.time_us < b.time_us;
  return a.id < b.id;
}

namespace {

// A chunk frame starts with its codec byte.
enum ChunkCodec : char { kCodecRaw = 0, kCodecZstd = 1, kCodecConst = 2 };

// True when every row has the same value in dictionary/result/inline
// column `col` (node, source, origin, an empty session...).
bool ConstantColumn(int col, std::span<const Row> rows) {
  if (rows.empty()) return false;
  const Row& f = rows[0];
  for (const Row& r : rows) {
    if (col == kColResult) {
      if (r.result != f.result) return false;
    } else if (col == kDictDetail) {
      if (r.detail != f.detail) return false;
    } else if (col == kDictSession) {
      if (r.session != f.session) return false;
    } else if (col < kNumDictKinds) {
      if (r.dict[col] != f.dict[col]) return false;
    } else {
      return false;  // id, time, line and hash columns are never constant
    }
  }
  return true;
}

std::string EncodeRaw(int col, std::span<const Row> rows);

std::string EncodeChunk(int col, std::span<const Row> rows) {
  // Constant chunks (common: one node, source and file per import) and
  // chunks zstd cannot shrink are stored without zstd, which also spares
  // the reader a decompression.
  auto frame = [](ChunkCodec codec, const std::string& payload) {
    std::string out;
    out.reserve(payload.size() + 1);
    out.push_back(codec);
    out.append(payload);
    return out;
  };
  if (ConstantColumn(col, rows)) return frame(kCodecConst, EncodeRaw(col, rows.first(1)));
  std::string raw = EncodeRaw(col, rows);
  std::string z = Compress(raw);
  if (!z.empty() && z.size() * 10 < raw.size() * 9) return frame(kCodecZstd, z);
  return frame(kCodecRaw, raw);
}

std::string EncodeRaw(int col, std::span<const Row> rows) {
  std::string raw;
  raw.reserve(rows.size() * 3);
  switch (col) {
    case kColId: {
      uint64_t prev = rows.empty() ? 0 : rows[0].id;
      PutVarint(&raw, prev);
      for (size_t i = 1; i < rows.size(); ++i) {
        PutVarint(&raw, ZigZag(int64_t(rows[i].id - prev)));
        prev = rows[i].id;
      }
      break;
    }
    case kColTime: {
      int64_t prev = 0;
      for (const Row& r : rows) {
        PutVarint(&raw, ZigZag(r.time_us - prev));
        prev = r.time_us;
      }
      break;
    }
    case kColResult:
      for (const Row& r : rows) raw.push_back(char(r.result));
      break;
    case kColLine: {
      int64_t prev = 0;
      for (const Row& r : rows) {
        PutVarint(&raw, ZigZag(int64_t(r.origin_line) - prev));
        prev = int64_t(r.origin_line);
      }
      break;
    }
    case kColHash:
      for (const Row& r : rows) {
        raw.push_back(char(r.hash32 >> 24));
        raw.push_back(char(r.hash32 >> 16));
        raw.push_back(char(r.hash32 >> 8));
        raw.push_back(char(r.hash32));
      }
      break;
    default:
      if (IsInlineKind(col)) {
        for (const Row& r : rows) {
          const std::string& v = col == kDictDetail ? r.detail : r.session;
          PutVarint(&raw, v.size());
          raw.append(v);
        }
      } else {
        for (const Row& r : rows) PutVarint(&raw, r.dict[col]);
      }
      break;
  }
  return raw;
}

Status DecodeRaw(int col, std::string_view raw, Row* r, size_t n, const std::vector<uint32_t>* only,
                 size_t only_base);

// Decodes one chunk into r[0..n); `only` lists wanted rows relative to r.
Status DecodeChunk(int col, std::string_view data, Row* r, size_t n,
                   const std::vector<uint32_t>* only, size_t only_base) {
  if (data.empty()) return Status::Corruption("block column " + std::to_string(col) + " is empty");
  char codec = data[0];
  data.remove_prefix(1);
  if (codec == kCodecRaw) return DecodeRaw(col, data, r, n, only, only_base);
  if (codec == kCodecZstd) {
    thread_local std::string raw;
    PVEAUDIT_RETURN_IF_ERROR(Decompress(data, &raw));
    return DecodeRaw(col, raw, r, n, only, only_base);
  }
  if (codec == kCodecConst && n > 0) {
    Row one;
    PVEAUDIT_RETURN_IF_ERROR(DecodeRaw(col, data, &one, 1, nullptr, 0));
    for (size_t i = 0; i < n; ++i) {
      if (col == kColResult)
        r[i].result = one.result;
      else if (col < kNumDictKinds && !IsInlineKind(col))
        r[i].dict[col] = one.dict[col];
    }
    if (IsInlineKind(col)) {
      for (size_t i = 0; i < n; ++i) {
        if (only && !std::binary_search(only->begin(), only->end(), uint32_t(only_base + i)))
          continue;
        if (col == kDictDetail)
          r[i].detail = one.detail;
        else
          r[i].session = one.session;
      }
    }
    return Status::OK();
  }
  return Status::Corruption("block column " + std::to_string(col) + " has unknown codec " +
                            std::to_string(int(codec)));
}

Status DecodeRaw(int col, std::string_view raw, Row* r, size_t n, const std::vector<uint32_t>* only,
                 size_t only_base) {
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  const auto* end = p + raw.size();
  uint64_t v = 0;
  size_t next = 0;
  if (only)
    next =
        size_t(std::lower_bound(only->begin(), only->end(), uint32_t(only_base)) - only->begin());
  auto bad = [col] {
    return Status::Corruption("block column " + std::to_string(col) + " is malformed");
  };
  switch (col) {
    case kColId: {
      if (n == 0) break;
      if (!GetVarint(p, end, &v)) return bad();
      r[0].id = v;
      for (size_t i = 1; i < n; ++i) {
        if (!GetVarint(p, end, &v)) return bad();
        r[i].id = r[i - 1].id + uint64_t(UnZigZag(v));
      }
      break;
    }
    case kColTime: {
      int64_t prev = 0;
      for (size_t i = 0; i < n; ++i) {
        if (!GetVarint(p, end, &v)) return bad();
        prev += UnZigZag(v);
        r[i].time_us = prev;
      }
      break;
    }
    case kColResult:
      if (size_t(end - p) < n) return bad();
      for (size_t i = 0; i < n; ++i) r[i].result = *p++;
      break;
    case kColLine: {
      int64_t prev = 0;
      for (size_t i = 0; i < n; ++i) {
        if (!GetVarint(p, end, &v)) return bad();
        prev += UnZigZag(v);
        r[i].origin_line = uint64_t(prev);
      }
      break;
    }
    case kColHash:
      if (size_t(end - p) < 4 * n) return bad();
      for (size_t i = 0; i < n; ++i, p += 4)
        r[i].hash32 =
            (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
      break;
    default:
      if (col < 0 || col >= kNumDictKinds) return bad();
      if (IsInlineKind(col)) {
        for (size_t i = 0; i < n; ++i) {
          if (!GetVarint(p, end, &v) || v > uint64_t(end - p)) return bad();
          bool want = true;
          if (only) {
            want = next < only->size() && (*only)[next] == only_base + i;
            if (want) ++next;
          }
          if (want)
            (col == kDictDetail ? r[i].detail : r[i].session)
                .assign(reinterpret_cast<const char*>(p), size_t(v));
          p += v;
        }
        break;
      }
      for (size_t i = 0; i < n; ++i) {
        if (!GetVarint(p, end, &v) || v > UINT32_MAX) return bad();
        r[i].dict[col] = uint32_t(v);
      }
      break;
  }
  if (p != end) return bad();
  return Status::OK();
}

}  // namespace

std::vector<std::string> EncodeColumn(int col, std::span<const Row> rows) {
  std::vector<std::string> frames;
  for (size_t lo = 0; lo < rows.size(); lo += kChunkRows)
    frames.push_back(
        EncodeChunk(col, rows.subspan(lo, std::min<size_t>(kChunkRows, rows.size() - lo))));
  return frames;
}

Status DecodeColumnChunk(int col, std::string_view frame, Row* rows, size_t len,
                         const std::vector<uint32_t>* only, size_t lo) {
  return DecodeChunk(col, frame, rows, len, only, lo);
}

const std::string& DictField(const Event& e, int kind) {
  switch (kind) {
    case kDictNode:
      return e.node;
    case kDictUser:
      return e.user;
    case kDictIp:
      return e.ip;
    case kDictAction:
      return e.action;
    case kDictResource:
      return e.resource;
    case kDictStatus:
      return e.status;
    case kDictSource:
      return e.source;
    case kDictSession:
      return e.session;
    case kDictDetail:
      return e.detail;
    default:
      return e.origin;
  }
}
std::string& MutableDictField(Event& e, int kind) {
  return const_cast<std::string&>(DictField(e, kind));
}

std::string EncodeSummary(std::span<const Row> rows) {
  std::string raw;
  std::vector<uint32_t> ids;
  std::vector<bool> seen;
  for (int k = 0; k <= kDictResource; ++k) {
    // Dictionary ids are dense, so a bitmap dedupes in one pass and only
    // the distinct ids (few per block) are sorted.
    ids.clear();
    for (const Row& r : rows) {
      uint32_t id = r.dict[k];
      if (id >= seen.size()) seen.resize(id + 1024);
      if (!seen[id]) {
        seen[id] = true;
        ids.push_back(id);
      }
    }
    for (uint32_t id : ids) seen[id] = false;
    std::sort(ids.begin(), ids.end());
    PutVarint(&raw, ids.size());
    uint32_t prev = 0;
    for (uint32_t id : ids) {
      PutVarint(&raw, id - prev);
      prev = id;
    }
  }
  // Rows are in BlockOrder, so each user's rows form one run: its length.
  size_t i = 0;
  while (i < rows.size()) {
    size_t j = i;
    while (j < rows.size() && rows[j].dict[kDictUser] == rows[i].dict[kDictUser]) ++j;
    PutVarint(&raw, j - i);
    i = j;
  }
  return raw;
}

Status DecodeSummary(std::string_view data, BlockSummary* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const auto* end = p + data.size();
  for (int k = 0; k <= kDictResource; ++k) {
    uint64_t n = 0, d = 0;
    if (!GetVarint(p, end, &n) || n > data.size()) return Status::Corruption("bad block summary");
    auto& ids = out->ids[k];
    ids.clear();
    ids.reserve(n);
    uint64_t prev = 0;
    for (uint64_t i = 0; i < n; ++i) {
      if (!GetVarint(p, end, &d)) return Status::Corruption("bad block summary");
      prev += d;
      ids.push_back(uint32_t(prev));
    }
  }
  out->user_ranges.clear();
  uint64_t start = 0;
  for (size_t u = 0; u < out->ids[kDictUser].size(); ++u) {
    uint64_t len = 0;
    if (!GetVarint(p, end, &len) || len == 0 || len > (1u << 24))
      return Status::Corruption("bad block summary");
    out->user_ranges.emplace_back(uint32_t(start), uint32_t(len));
    start += len;
  }
  if (p != end) return Status::Corruption("bad block summary");
  return Status::OK();
}

ZstdContexts::ZstdContexts() : c(ZSTD_createCCtx()), d(ZSTD_createDCtx()) {}
ZstdContexts::~ZstdContexts() {
  ZSTD_freeCCtx(c);
  ZSTD_freeDCtx(d);
}

ZstdContexts& ThreadZstdContexts() {
  thread_local ZstdContexts ctx;
  return ctx;
}

}  // namespace pveaudit

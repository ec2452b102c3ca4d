#include "store/block_codec.h"

#include <zstd.h>

#include <algorithm>

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

std::string Compress(const std::string& raw) {
  std::string out;
  out.resize(ZSTD_compressBound(raw.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), kZstdLevel);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

Status Decompress(std::string_view data, std::string* raw) {
  unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (64u << 20))
    return Status::Corruption("block column is not a valid zstd frame");
  raw->resize(size);
  size_t n = ZSTD_decompress(raw->data(), raw->size(), data.data(), data.size());
  if (ZSTD_isError(n) || n != size) return Status::Corruption("block column does not decompress");
  return Status::OK();
}

}  // namespace

std::string EncodeColumn(int col, std::span<const Row> rows) {
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
  return Compress(raw);
}

Status DecodeColumn(int col, std::string_view data, std::vector<Row>* rows) {
  std::string raw;
  PVEAUDIT_RETURN_IF_ERROR(Decompress(data, &raw));
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  const auto* end = p + raw.size();
  const size_t n = rows->size();
  Row* r = rows->data();
  uint64_t v = 0;
  auto bad = [col] { return Status::Corruption("block column " + std::to_string(col) + " is malformed"); };
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
        r[i].hash32 = (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
      break;
    default:
      if (col < 0 || col >= kNumDictKinds) return bad();
      if (IsInlineKind(col)) {
        for (size_t i = 0; i < n; ++i) {
          if (!GetVarint(p, end, &v) || v > uint64_t(end - p)) return bad();
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
  return Status::OK();
}

}  // namespace pveaudit

// chain.h
// The hash chain that makes the store tamper-evident. Each event has a
// content digest D = SHA-256(CanonicalEncoding(event)) and a chain hash
// H(id) = SHA-256(H(id-1) || u64be id || D); the first event chains from 32
// zero bytes. Splitting content digest from link lets the expensive part
// (hashing the event's text) run on the parsing thread while the writer,
// which alone knows the ids, only hashes 72 bytes per event. The canonical encoding is independent
// of how the store lays events out (dictionaries, blocks, compression), so a verifier needs only
// the decoded events. docs/integrity.md specifies it byte for byte; changing it is a format break.
// Thread safety: ChainHasher is used by one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.h"

namespace pveaudit {

using Hash256 = std::array<unsigned char, 32>;

// Appends the canonical encoding of `e` (everything but the id) to `out`:
//   "PVEA1" | i64be time_us | u8 result | u64be origin_line |
//   for node, user, ip, action, resource, status, source, session, detail,
//   origin (in this order): u32be byte length | bytes
void AppendCanonicalEncoding(const Event& e, std::string* out);

class ChainHasher {
 public:
  ChainHasher();
  ~ChainHasher();
  ChainHasher(const ChainHasher&) = delete;
  ChainHasher& operator=(const ChainHasher&) = delete;

  // SHA-256 of the canonical encoding of `e`.
  Hash256 Digest(const Event& e);
  // SHA-256(prev || u64be id || digest).
  Hash256 Link(const Hash256& prev, uint64_t id, const Hash256& digest);
  // Link(prev, e.id, Digest(e)).
  Hash256 Next(const Hash256& prev, const Event& e) { return Link(prev, e.id, Digest(e)); }

 private:
  void* ctx_;       // EVP_MD_CTX*
  const void* md_;  // EVP_MD*
  Hash256 Sha256(const void* data, size_t n);
  std::string buf_;
};

// First four bytes of a hash as a big-endian integer (stored per event).
uint32_t HashPrefix32(const Hash256& h);
std::string HexHash(const Hash256& h);
// Inverse of HexHash (lower- or upper-case hex); false unless 64 hex digits.
bool ParseHexHash(std::string_view hex, Hash256* out);

}  // namespace pveaudit

// chain.h
// The hash chain that makes the store tamper-evident. Each event's hash is
// SHA-256(previous hash || CanonicalEncoding(event)); the first event
// chains from 32 zero bytes. The canonical encoding is independent of how
// the store lays events out (dictionaries, blocks, compression), so a
// verifier needs only the decoded events. docs/integrity.md specifies it
// byte for byte; changing it is a format break.
// Thread safety: ChainHasher is used by one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/event.h"

namespace pveaudit {

using Hash256 = std::array<unsigned char, 32>;

// Appends the canonical encoding of `e` to `out`:
//   "PVEA1" | u64be id | i64be time_us | u8 result | u64be origin_line |
//   for node, user, ip, action, resource, status, source, session, detail,
//   origin (in this order): u32be byte length | bytes
void AppendCanonicalEncoding(const Event& e, std::string* out);

class ChainHasher {
 public:
  ChainHasher();
  ~ChainHasher();
  ChainHasher(const ChainHasher&) = delete;
  ChainHasher& operator=(const ChainHasher&) = delete;

  // Returns SHA-256(prev || AppendCanonicalEncoding(e)).
  Hash256 Next(const Hash256& prev, const Event& e);

 private:
  void* ctx_;       // EVP_MD_CTX*
  const void* md_;  // EVP_MD*
  std::string buf_;
};

// First four bytes of a hash as a big-endian integer (stored per event).
uint32_t HashPrefix32(const Hash256& h);
std::string HexHash(const Hash256& h);

}  // namespace pveaudit

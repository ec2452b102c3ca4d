#include "store/chain.h"

#include <openssl/evp.h>

#include <cstring>

namespace pveaudit {
namespace {

void PutU32(std::string* out, uint32_t v) {
  char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  out->append(b, 4);
}
void PutU64(std::string* out, uint64_t v) {
  PutU32(out, uint32_t(v >> 32));
  PutU32(out, uint32_t(v));
}
void PutStr(std::string* out, const std::string& s) {
  PutU32(out, uint32_t(s.size()));
  out->append(s);
}

}  // namespace

void AppendCanonicalEncoding(const Event& e, std::string* out) {
  out->append("PVEA1", 5);
  PutU64(out, uint64_t(e.time_us));
  out->push_back(char(e.result));
  PutU64(out, e.origin_line);
  PutStr(out, e.node);
  PutStr(out, e.user);
  PutStr(out, e.ip);
  PutStr(out, e.action);
  PutStr(out, e.resource);
  PutStr(out, e.status);
  PutStr(out, e.source);
  PutStr(out, e.session);
  PutStr(out, e.detail);
  PutStr(out, e.origin);
}

// An explicitly fetched digest: with OpenSSL 3 the implicit EVP_sha256()
// is looked up (under a lock) on every EVP_DigestInit_ex, which cost more
// than the hashing itself.
ChainHasher::ChainHasher()
    : ctx_(EVP_MD_CTX_new()), md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)) {}
ChainHasher::~ChainHasher() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
  EVP_MD_free(const_cast<EVP_MD*>(static_cast<const EVP_MD*>(md_)));
}

Hash256 ChainHasher::Sha256(const void* data, size_t n) {
  Hash256 h;
  unsigned int len = 0;
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  EVP_DigestInit_ex2(ctx, static_cast<const EVP_MD*>(md_), nullptr);
  EVP_DigestUpdate(ctx, data, n);
  EVP_DigestFinal_ex(ctx, h.data(), &len);
  return h;
}

Hash256 ChainHasher::Digest(const Event& e) {
  buf_.clear();
  AppendCanonicalEncoding(e, &buf_);
  return Sha256(buf_.data(), buf_.size());
}

Hash256 ChainHasher::Link(const Hash256& prev, uint64_t id, const Hash256& digest) {
  unsigned char b[72];
  std::memcpy(b, prev.data(), 32);
  for (int i = 0; i < 8; ++i) b[32 + i] = static_cast<unsigned char>(id >> (56 - 8 * i));
  std::memcpy(b + 40, digest.data(), 32);
  return Sha256(b, sizeof b);
}

uint32_t HashPrefix32(const Hash256& h) {
  return (uint32_t(h[0]) << 24) | (uint32_t(h[1]) << 16) | (uint32_t(h[2]) << 8) | h[3];
}

std::string HexHash(const Hash256& h) {
  static const char* kHex = "0123456789abcdef";
  std::string s;
  s.reserve(64);
  for (unsigned char c : h) {
    s.push_back(kHex[c >> 4]);
    s.push_back(kHex[c & 15]);
  }
  return s;
}

bool ParseHexHash(std::string_view hex, Hash256* out) {
  if (hex.size() != 64) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

}  // namespace pveaudit

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
  PutU64(out, e.id);
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

ChainHasher::ChainHasher() : ctx_(EVP_MD_CTX_new()), md_(EVP_sha256()) {}
ChainHasher::~ChainHasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

Hash256 ChainHasher::Next(const Hash256& prev, const Event& e) {
  buf_.assign(reinterpret_cast<const char*>(prev.data()), prev.size());
  AppendCanonicalEncoding(e, &buf_);
  Hash256 h;
  unsigned int len = 0;
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  EVP_DigestInit_ex(ctx, static_cast<const EVP_MD*>(md_), nullptr);
  EVP_DigestUpdate(ctx, buf_.data(), buf_.size());
  EVP_DigestFinal_ex(ctx, h.data(), &len);
  return h;
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

}  // namespace pveaudit

#include "server/auth_ticket.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>

#include <cctype>
#include <cstdio>

#include "pve/access_config.h"
#include "pve/parse_util.h"

namespace pveaudit::auth {
namespace {

// Tickets are cookies: a few hundred bytes. Anything far longer is not one
// and is not worth an RSA operation.
constexpr size_t kMaxTicket = 4096;

PKey Wrap(EVP_PKEY* k) { return PKey(k, EVP_PKEY_free); }

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

const EVP_MD* Md(Digest d) { return d == Digest::kSha1 ? EVP_sha1() : EVP_sha256(); }

bool SetPadding(EVP_PKEY_CTX* pctx, Digest d) {
  if (d != Digest::kPssSha256) return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool HasSpace(std::string_view s) {
  for (char c : s)
    if (IsSpace(c)) return true;
  return false;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// URI::Escape::uri_unescape: %XX decoded, anything else kept as is.
std::string UriUnescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += char(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// uri_escape($data, ':'): only the colon is escaped.
std::string EscapeColons(std::string_view s) {
  std::string out;
  for (char c : s) out += c == ':' ? std::string("%3A") : std::string(1, c);
  return out;
}

}  // namespace

Result<PKey> PublicKeyFromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  if (!bio) return Status::Internal("out of memory");
  EVP_PKEY* k = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  // Proxmox writes the X.509 form (get_public_key_x509_string).
  if (!k) return Status::InvalidArgument("not a PEM RSA public key");
  if (EVP_PKEY_base_id(k) != EVP_PKEY_RSA) {
    EVP_PKEY_free(k);
    return Status::InvalidArgument("not an RSA key");
  }
  return Wrap(k);
}

Result<PKey> PrivateKeyFromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  if (!bio) return Status::Internal("out of memory");
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!k) return Status::InvalidArgument("not a PEM private key");
  if (EVP_PKEY_base_id(k) != EVP_PKEY_RSA) {
    EVP_PKEY_free(k);
    return Status::InvalidArgument("not an RSA key");
  }
  return Wrap(k);
}

Result<PKey> GenerateRsaKey(int bits) {
  EVP_PKEY* k = EVP_RSA_gen(unsigned(bits));
  if (!k) return Status::Internal("cannot generate an RSA key");
  return Wrap(k);
}

std::string PublicKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) return "";
  char* p = nullptr;
  long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, size_t(n));
}

std::string PrivateKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return "";
  char* p = nullptr;
  long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, size_t(n));
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()));
  out.resize(size_t(n));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  std::string in(text);
  size_t pad = 0;
  while (!in.empty() && in.back() == '=' && pad < 2) {
    in.pop_back();
    ++pad;
  }
  for (char c : in)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/')) return std::nullopt;
  if (in.size() % 4 == 1) return std::nullopt;
  // EVP_DecodeBlock wants whole quads; it decodes the padding as zero bytes,
  // which are cut off again below.
  size_t missing = (4 - in.size() % 4) % 4;
  in.append(missing, '=');
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), int(in.size()));
  if (n < 0) return std::nullopt;
  out.resize(size_t(n) - missing);
  return out;
}

Result<ParsedTicket> ParseTicket(std::string_view ticket, std::string_view prefix) {
  if (ticket.empty()) return Status::InvalidArgument("no ticket");
  if (ticket.size() > kMaxTicket) return Status::InvalidArgument("ticket too long");
  // ^(PREFIX:\S+)::([^:\s]+)$ : the signature follows the last "::".
  const size_t last = ticket.rfind(':');
  if (last == std::string_view::npos || last == 0 || ticket[last - 1] != ':')
    return Status::InvalidArgument("ticket has no signature part");
  std::string_view plain = ticket.substr(0, last - 1);
  std::string_view sig = ticket.substr(last + 1);
  if (sig.empty() || HasSpace(sig)) return Status::InvalidArgument("ticket signature is empty");
  if (plain.size() <= prefix.size() + 1 || plain.substr(0, prefix.size()) != prefix ||
      plain[prefix.size()] != ':')
    return Status::InvalidArgument("ticket does not start with '" + std::string(prefix) + ":'");
  if (HasSpace(plain)) return Status::InvalidArgument("ticket contains white space");
  // ^PREFIX:(?:(\S+):)?([A-Z0-9]{8})$ ; a ticket Proxmox signed has hex.
  std::string_view rest = plain.substr(prefix.size() + 1);
  if (rest.size() < 8) return Status::InvalidArgument("ticket has no timestamp");
  std::string_view ts = rest.substr(rest.size() - 8);
  int64_t t = 0;
  for (char c : ts) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
      return Status::InvalidArgument("ticket timestamp is not 8 upper-case hex digits");
    t = t * 16 + HexValue(c);
  }
  ParsedTicket p;
  if (rest.size() > 8) {
    if (rest.size() < 10 || rest[rest.size() - 9] != ':')
      return Status::InvalidArgument("ticket timestamp is not 8 upper-case hex digits");
    p.has_data = true;
    p.data = UriUnescape(rest.substr(0, rest.size() - 9));
  }
  auto decoded = Base64Decode(sig);
  if (!decoded || decoded->empty())
    return Status::InvalidArgument("ticket signature is not base64");
  p.plain = std::string(plain);
  p.time = t;
  p.signature = std::move(*decoded);
  return p;
}

bool VerifySignature(EVP_PKEY* key, std::string_view plain, std::string_view signature,
                     Digest digest) {
  if (!key) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, Md(digest), nullptr, key) != 1) return false;
  if (!SetPadding(pctx, digest)) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(plain.data()),
                          plain.size()) == 1;
}

Result<std::string> SignTicket(EVP_PKEY* key, std::string_view prefix, std::string_view data,
                               int64_t time, Digest digest) {
  char ts[16];
  std::snprintf(ts, sizeof ts, "%08llX", static_cast<unsigned long long>(time) & 0xffffffffULL);
  std::string plain = std::string(prefix) + ":";
  if (!data.empty()) plain += EscapeColons(data) + ":";
  plain += ts;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, Md(digest), nullptr, key) != 1 ||
      !SetPadding(pctx, digest))
    return Status::Internal("cannot sign the ticket");
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(plain.data()),
                     plain.size()) != 1)
    return Status::Internal("cannot sign the ticket");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(plain.data()), plain.size()) != 1)
    return Status::Internal("cannot sign the ticket");
  sig.resize(len);
  return plain + "::" + Base64Encode(sig);
}

std::optional<AgeRange> TicketAgeRange(int64_t now, int64_t key_mtime, bool rotated, bool quorate) {
  int64_t key_age = now - key_mtime;
  if (key_age < 0) key_age = 0;
  AgeRange r{-kAuthGracePeriod, kTicketLifetime};
  if (rotated) {
    // No ticket may have been made with the old key after the rotation.
    r.min = key_age - kAuthGracePeriod;
  } else {
    // A key that should have been rotated only vouches for tickets made
    // within its lifetime; a young key for none older than itself.
    if (key_age > kAuthKeyLifetime && quorate) r.min = key_age - kAuthKeyLifetime;
    if (key_age < kTicketLifetime) r.max = key_age + kAuthGracePeriod;
  }
  if (r.min > kTicketLifetime) return std::nullopt;
  return r;
}

Result<std::string> UserOfTicketData(std::string_view data) {
  if (data.rfind("!tfa!", 0) == 0 || data.rfind("tfa!", 0) == 0)
    return Status::InvalidArgument("ticket waits for the second factor (TFA)");
  std::string user(data);
  if (data.rfind("u2f!", 0) == 0) {
    // u2f!USER!CHALLENGE; only 'verified' (challenge done) is a login.
    std::string_view rest = data.substr(4);
    size_t bang = rest.find('!');
    if (bang == std::string_view::npos || bang == 0 || rest.substr(bang + 1) != "verified")
      return Status::InvalidArgument("ticket waits for the second factor (U2F)");
    user = std::string(rest.substr(0, bang));
  }
  if (!pve::VerifyUsername(user)) return Status::InvalidArgument("ticket names no valid user id");
  return user;
}

bool TicketValid(const ParsedTicket& parsed, EVP_PKEY* key, const std::optional<AgeRange>& range,
                 int64_t now) {
  if (!key || !range) return false;
  bool signed_ok = false;
  for (Digest d : {Digest::kSha256, Digest::kSha1, Digest::kPssSha256})
    if (VerifySignature(key, parsed.plain, parsed.signature, d)) {
      signed_ok = true;
      break;
    }
  if (!signed_ok) return false;
  const int64_t age = now - parsed.time;
  return age > range->min && age < range->max;
}

TicketVerifier::TicketVerifier(Options o) : opt_(std::move(o)) {}

std::pair<PKey, int64_t> TicketVerifier::Key(const std::string& path, Cached* cache) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    *cache = Cached{};
    return {nullptr, 0};
  }
  if (cache->loaded && cache->mtime == int64_t(st.st_mtime)) return {cache->key, cache->mtime};
  Cached fresh;
  fresh.loaded = true;
  fresh.mtime = int64_t(st.st_mtime);
  auto text = pve::ReadWholeFile(path);
  if (text.ok()) {
    auto key = PublicKeyFromPem(*text);
    if (key.ok()) fresh.key = *key;
  }
  *cache = fresh;
  return {cache->key, cache->mtime};
}

Result<std::string> TicketVerifier::Verify(std::string_view ticket, int64_t now) {
  auto parsed = ParseTicket(ticket, "PVE");
  if (!parsed.ok()) return parsed.status();
  bool valid = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (bool rotated : {false, true}) {
      auto [key, mtime] = Key(rotated ? opt_.pub_old_path : opt_.pub_path, rotated ? &old_ : &pub_);
      if (!key) continue;
      if (TicketValid(*parsed, key.get(), TicketAgeRange(now, mtime, rotated, opt_.assume_quorate),
                      now)) {
        valid = true;
        break;
      }
    }
  }
  if (!valid) return Status::InvalidArgument("invalid PVE ticket (signature or age)");
  if (!parsed->has_data) return Status::InvalidArgument("ticket names no user");
  return UserOfTicketData(parsed->data);
}

Result<std::string> NewLocalTicketKeyFile() {
  auto k = GenerateRsaKey(2048);
  if (!k.ok()) return k.status();
  return PrivateKeyPem(k->get());
}

}  // namespace pveaudit::auth

#include "server/auth_csrf.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "pve/access_config.h"
#include "server/auth_ticket.h"

namespace pveaudit::auth {
namespace {

std::string Unpadded(std::string b64) {
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return b64;
}

}  // namespace

std::string HmacSha256Base64(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  static const unsigned char kEmpty = 0;
  const void* k = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  HMAC(EVP_sha256(), k, int(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  return Unpadded(Base64Encode(std::string_view(reinterpret_cast<const char*>(md), len)));
}

std::string CsrfSecretFromKey(std::string_view key_file_contents) {
  // hmac_sha256_base64($input) has one argument, and Digest::SHA takes the
  // last argument as the key: the file is the key of an HMAC of "".
  return HmacSha256Base64(key_file_contents, "");
}

std::string AssembleCsrfToken(std::string_view secret, std::string_view userid, int64_t now) {
  char ts[16];
  std::snprintf(ts, sizeof ts, "%08llX", static_cast<unsigned long long>(now) & 0xffffffffULL);
  std::string msg = std::string(ts) + ":" + std::string(userid);
  return std::string(ts) + ":" + HmacSha256Base64(secret, msg);
}

bool VerifyCsrfToken(std::string_view secret, std::string_view userid, std::string_view token,
                     int64_t now) {
  // ^([A-Z0-9]{8}):(\S+)$
  if (token.size() < 10 || token.size() > 256 || token[8] != ':') return false;
  int64_t t = 0;
  for (size_t i = 0; i < 8; ++i) {
    char c = token[i];
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (v < 0) return false;
    t = t * 16 + v;
  }
  std::string_view ts = token.substr(0, 8);
  std::string_view sig = token.substr(9);
  std::string want = HmacSha256Base64(secret, std::string(ts) + ":" + std::string(userid));
  if (!ConstantTimeEquals(want, sig)) return false;
  const int64_t age = now - t;
  return age > -kAuthGracePeriod && age < kTicketLifetime;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof da) == 0;
}

std::string RandomBytes(size_t count) {
  std::string out(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), int(count)) != 1) std::abort();
  return out;
}

Result<std::string> ReadOrCreateSecretFile(const std::string& path,
                                           const std::function<Result<std::string>()>& make) {
  auto existing = pve::ReadWholeFile(path);
  if (existing.ok()) {
    if (existing->empty()) return Status::Corruption(path + " is empty");
    return existing;
  }
  if (existing.status().code() != Status::Code::kNotFound) return existing.status();
  auto content = make();
  if (!content.ok()) return content.status();
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < content->size()) {
    ssize_t n = write(fd, content->data() + done, content->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return Status::IOError("cannot write " + tmp + ": " + std::strerror(err));
    }
    done += size_t(n);
  }
  fsync(fd);
  close(fd);
  int rc = link(tmp.c_str(), path.c_str());
  int err = errno;
  unlink(tmp.c_str());
  if (rc != 0 && err != EEXIST)
    return Status::IOError("cannot create " + path + ": " + std::strerror(err));
  // EEXIST: another process made it first; its key wins.
  return pve::ReadWholeFile(path);
}

Result<std::string> NewCsrfKeyFile() { return Base64Encode(RandomBytes(32)) + "\n"; }

}  // namespace pveaudit::auth

#include "evidence/signing_key.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace pveaudit {

struct SigningKey::Impl {
  EVP_PKEY* pkey = nullptr;
  ~Impl() { EVP_PKEY_free(pkey); }
};

namespace {

std::string OpenSslError(const char* what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return std::string(what) + ": " + buf;
}

// Fingerprint and PEM of `pkey`'s public half.
Status DescribePublic(EVP_PKEY* pkey, std::string* pem, std::string* fingerprint) {
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519)
    return Status::InvalidArgument("not an Ed25519 key");
  unsigned char raw[32];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != sizeof raw)
    return Status::Internal(OpenSslError("reading the public key"));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_Digest(raw, len, md, &md_len, EVP_sha256(), nullptr);
  *fingerprint = HexBytes(md, md_len);
  if (pem) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (!bio || PEM_write_bio_PUBKEY(bio, pkey) != 1) {
      BIO_free(bio);
      return Status::Internal(OpenSslError("writing the public key"));
    }
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    pem->assign(data, size_t(n));
    BIO_free(bio);
  }
  return Status::OK();
}

Result<std::string> ReadSmallFile(const std::string& path, bool must_be_private) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + " does not exist");
    return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::IOError(path + " is not a regular file");
  }
  if (must_be_private && (st.st_mode & 077)) {
    ::close(fd);
    return Status::IOError(path + " is readable by others (mode " +
                           std::to_string((st.st_mode >> 6) & 7) +
                           std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) +
                           "): a signing key must be 0600; fix it with chmod 600 " + path);
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && out.size() < (1u << 20))
    out.append(buf, size_t(n));
  ::close(fd);
  if (n < 0) return Status::IOError("cannot read " + path);
  return out;
}

Result<EVP_PKEY*> ParsePrivate(const std::string& pem, const std::string& path) {
  BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
  EVP_PKEY* pkey = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (!pkey)
    return Status::Corruption(path + " is damaged: " + OpenSslError("not a PEM private key"));
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    return Status::Corruption(path + " is not an Ed25519 key");
  }
  return pkey;
}

// Writes a new key to `path` without ever replacing one: a temporary file
// (0600 from its creation) is fsync'd, then linked to `path`; EEXIST means
// another process won, and its key is the one used.
Status CreateKeyFile(const std::string& dir, const std::string& path) {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!pkey) return Status::Internal(OpenSslError("generating an Ed25519 key"));
  BIO* bio = BIO_new(BIO_s_mem());
  bool ok = bio && PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  EVP_PKEY_free(pkey);
  if (!ok) {
    BIO_free(bio);
    return Status::Internal(OpenSslError("encoding the key"));
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, size_t(n));
  OPENSSL_cleanse(data, size_t(n));
  BIO_free(bio);

  unsigned char nonce[8];
  if (RAND_bytes(nonce, sizeof nonce) != 1) return Status::Internal(OpenSslError("RAND_bytes"));
  std::string tmp = path + ".new." + HexBytes(nonce, sizeof nonce);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
  bool written = ::write(fd, pem.data(), pem.size()) == ssize_t(pem.size()) && ::fsync(fd) == 0;
  OPENSSL_cleanse(pem.data(), pem.size());
  ::close(fd);
  Status st;
  if (!written) {
    st = Status::IOError("cannot write " + tmp + ": " + std::strerror(errno));
  } else if (::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    st = Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  }
  ::unlink(tmp.c_str());
  if (st.ok()) {
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
  return st;
}

}  // namespace

std::string HexBytes(const unsigned char* p, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 15]);
  }
  return out;
}

Result<SigningKey> SigningKey::Load(const std::string& data_dir) {
  const std::string path = data_dir + "/" + kSigningKeyFile;
  auto pem = ReadSmallFile(path, /*must_be_private=*/true);
  if (!pem.ok()) return pem.status();
  auto pkey = ParsePrivate(*pem, path);
  OPENSSL_cleanse(pem->data(), pem->size());
  if (!pkey.ok()) return pkey.status();
  SigningKey k;
  k.impl_ = std::make_shared<Impl>();
  k.impl_->pkey = *pkey;
  PVEAUDIT_RETURN_IF_ERROR(DescribePublic(k.impl_->pkey, &k.public_pem_, &k.fingerprint_));
  return k;
}

Result<SigningKey> SigningKey::LoadOrCreate(const std::string& data_dir) {
  auto k = Load(data_dir);
  if (k.ok() || k.status().code() != Status::Code::kNotFound) return k;
  if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::IOError("cannot create " + data_dir + ": " + std::strerror(errno));
  PVEAUDIT_RETURN_IF_ERROR(CreateKeyFile(data_dir, data_dir + "/" + kSigningKeyFile));
  return Load(data_dir);
}

Result<std::string> SigningKey::Sign(std::string_view data) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string sig(64, '\0');
  size_t len = sig.size();
  bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, impl_->pkey) == 1 &&
            EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || len != 64) return Status::Internal(OpenSslError("signing"));
  return sig;
}

Status VerifySignature(std::string_view public_pem, std::string_view data,
                       std::string_view signature, PublicKeyInfo* info) {
  BIO* bio = BIO_new_mem_buf(public_pem.data(), int(public_pem.size()));
  EVP_PKEY* pkey = bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (!pkey) {
    ERR_clear_error();
    return Status::InvalidArgument("not a PEM public key");
  }
  std::string fingerprint;
  Status st = DescribePublic(pkey, nullptr, &fingerprint);
  if (st.ok() && info) info->fingerprint = fingerprint;
  if (st.ok()) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool good = ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
                EVP_DigestVerify(
                    ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                    reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    if (!good) st = Status::Corruption("the signature does not match");
  }
  EVP_PKEY_free(pkey);
  return st;
}

}  // namespace pveaudit

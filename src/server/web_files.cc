// web_files.cc
#include "server/web_files.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "server/auth_csrf.h"
#include "server/auth_ticket.h"

namespace pveaudit {

namespace {

Status WriteFile0600(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
  fchmod(fd, 0600);  // also when the file existed with other modes
  bool ok = write(fd, data.data(), data.size()) == ssize_t(data.size()) && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return Status::IOError("cannot write " + path + ": " + std::strerror(errno));
  }
  return Status::OK();
}

std::string BioText(BIO* b) {
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  return std::string(p, size_t(n));
}

}  // namespace

bool ReadableFile(const std::string& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec) && access(p.c_str(), R_OK) == 0;
}

bool CertPairLoads(const std::string& cert, const std::string& key, bool* expired) {
  *expired = false;
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return false;
  bool ok = SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) == 1 &&
            SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) == 1 &&
            SSL_CTX_check_private_key(ctx) == 1;
  if (ok) {
    X509* x = SSL_CTX_get0_certificate(ctx);
    *expired = x && X509_cmp_current_time(X509_get0_notAfter(x)) <= 0;
  }
  SSL_CTX_free(ctx);
  return ok;
}

Status GenerateSelfSigned(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  if (!pkey) return Status::Internal("cannot generate a key (OpenSSL EVP_EC_gen)");
  X509* x = X509_new();
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> kfree(pkey, EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> xfree(x, X509_free);
  X509_set_version(x, 2);
  // A random serial: two generated certificates never share one.
  BIGNUM* bn = BN_new();
  BN_rand(bn, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 2L * 365 * 86400);
  X509_set_pubkey(x, pkey);
  char host[256] = "localhost";
  gethostname(host, sizeof(host) - 1);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("pveaudit"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(host),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  const std::string san = "DNS:localhost,IP:127.0.0.1,IP:::1" +
                          (std::string(host) != "localhost" ? ",DNS:" + std::string(host) : "");
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, san},
                            std::pair{NID_basic_constraints, std::string("critical,CA:FALSE")},
                            std::pair{NID_ext_key_usage, std::string("serverAuth")}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
    if (!ext) return Status::Internal("cannot build the certificate extension " + value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x, pkey, EVP_sha256()) == 0) return Status::Internal("cannot sign the certificate");
  BIO* kb = BIO_new(BIO_s_mem());
  BIO* cb = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(kb, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_X509(cb, x);
  const std::string key_pem = BioText(kb), cert_pem = BioText(cb);
  BIO_free(kb);
  BIO_free(cb);
  // The key first: a certificate without its key would be taken as a pair
  // that does not load, and replaced again.
  if (Status st = WriteFile0600(key_path, key_pem); !st.ok()) return st;
  return WriteFile0600(cert_path, cert_pem);
}

Status PrepareWebFiles(const std::string& data_dir, unsigned group) {
  const std::string cert = data_dir + "/web-cert.pem", key = data_dir + "/web-key.pem";
  bool expired = false;
  if (!(CertPairLoads(cert, key, &expired) && !expired))
    PVEAUDIT_RETURN_IF_ERROR(GenerateSelfSigned(cert, key));
  auto csrf = auth::ReadOrCreateSecretFile(data_dir + "/web-csrf.key", auth::NewCsrfKeyFile);
  if (!csrf.ok()) return csrf.status();
  auto local =
      auth::ReadOrCreateSecretFile(data_dir + "/web-authkey.key", auth::NewLocalTicketKeyFile);
  if (!local.ok()) return local.status();
  for (const char* name : {"web-cert.pem", "web-key.pem", "web-csrf.key", "web-authkey.key"}) {
    const std::string f = data_dir + "/" + name;
    // Group first, then the mode: never a moment where the old group may read.
    if (chown(f.c_str(), uid_t(-1), gid_t(group)) != 0 || chmod(f.c_str(), 0640) != 0)
      return Status::IOError("cannot give " + f + " to group " + std::to_string(group) + ": " +
                             std::strerror(errno));
  }
  return Status::OK();
}

}  // namespace pveaudit

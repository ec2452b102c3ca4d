// test_certs.h
// Certificates made at test time with OpenSSL's C API (no keys checked in):
// a CA, and certificates it signs, written as PEM files. Test-only.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace pveaudit::testing_certs {

struct KeyAndCert {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  std::string key_file, cert_file;
  KeyAndCert() = default;
  KeyAndCert(const KeyAndCert&) = delete;
  KeyAndCert& operator=(const KeyAndCert&) = delete;
  ~KeyAndCert() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

inline void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificate: ") + what);
}

inline void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Makes a P-256 key and a certificate for `cn` (with `sans`, e.g.
// "DNS:pve2.example.com,IP:127.0.0.1"), signed by `issuer` (nullptr: a
// self-signed CA), valid from now+not_before_s to now+not_after_s, and
// writes DIR/NAME.key and DIR/NAME.pem.
inline void Make(KeyAndCert* out, const std::string& dir, const std::string& name,
                 const std::string& cn, const std::string& sans, const KeyAndCert* issuer,
                 long not_before_s = -3600, long not_after_s = 86400) {
  static long serial = 1;
  out->key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  Check(out->key != nullptr, "keygen");
  X509* c = X509_new();
  out->cert = c;
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
  X509_gmtime_adj(X509_getm_notBefore(c), not_before_s);
  X509_gmtime_adj(X509_getm_notAfter(c), not_after_s);
  X509_set_pubkey(c, out->key);
  X509_NAME* n = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer->cert) : n);
  X509* icert = issuer ? issuer->cert : c;
  if (issuer == nullptr) {
    AddExt(c, icert, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(c, icert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExt(c, icert, NID_basic_constraints, "critical,CA:FALSE");
    AddExt(c, icert, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  AddExt(c, icert, NID_subject_key_identifier, "hash");
  if (!sans.empty()) AddExt(c, icert, NID_subject_alt_name, sans.c_str());
  Check(X509_sign(c, issuer ? issuer->key : out->key, EVP_sha256()) > 0, "sign");
  out->key_file = dir + "/" + name + ".key";
  out->cert_file = dir + "/" + name + ".pem";
  FILE* f = std::fopen(out->key_file.c_str(), "w");
  Check(f && PEM_write_PrivateKey(f, out->key, nullptr, nullptr, 0, nullptr, nullptr), "key file");
  std::fclose(f);
  f = std::fopen(out->cert_file.c_str(), "w");
  Check(f && PEM_write_X509(f, c), "cert file");
  std::fclose(f);
}

}  // namespace pveaudit::testing_certs

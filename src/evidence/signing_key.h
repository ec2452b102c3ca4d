// signing_key.h
// The node's Ed25519 signing key: it signs the evidence pveaudit hands to
// auditors (monthly export bundles), so that a copy checked on another
// machine proves it came unaltered from this node. The private key lives
// in the data dir as `signing-key.pem` (PKCS#8 PEM, mode 0600), created at
// first use; `pveam access key` prints the public half and its
// fingerprint for the auditor to keep. OpenSSL does the cryptography (its
// PEM files are what `openssl pkeyutl -verify` reads, the documented
// offline check).
// Thread safety: a SigningKey is immutable once loaded; share it freely.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace pveaudit {

// The key file's name inside the data dir.
inline constexpr const char* kSigningKeyFile = "signing-key.pem";

class SigningKey {
 public:
  // Loads `data_dir`/signing-key.pem, creating it first when there is none
  // (two processes racing both end up with the one that was linked first).
  // The file must be a regular file not readable by group or others.
  static Result<SigningKey> LoadOrCreate(const std::string& data_dir);
  // Loads the key of `data_dir` without creating one: NotFound when absent.
  static Result<SigningKey> Load(const std::string& data_dir);

  // The public key as PEM ("-----BEGIN PUBLIC KEY-----", SubjectPublicKeyInfo).
  const std::string& public_pem() const { return public_pem_; }
  // SHA-256 of the raw 32-byte public key, as lower-case hex.
  const std::string& fingerprint() const { return fingerprint_; }
  // The 64-byte Ed25519 signature of `data`.
  Result<std::string> Sign(std::string_view data) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  std::string public_pem_, fingerprint_;
};

// Lower-case hex of `n` bytes (fingerprints, SHA-256 digests).
std::string HexBytes(const unsigned char* p, size_t n);

// A public key read from PEM text, for checking signatures.
struct PublicKeyInfo {
  std::string fingerprint;  // as SigningKey::fingerprint
};
// Checks that `signature` is `public_pem`'s Ed25519 signature of `data`.
// InvalidArgument when the PEM is not an Ed25519 public key; Corruption
// (with a message naming the problem) when the signature does not match.
Status VerifySignature(std::string_view public_pem, std::string_view data,
                       std::string_view signature, PublicKeyInfo* info = nullptr);

}  // namespace pveaudit

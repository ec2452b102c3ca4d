// auth_ticket.h
// Proxmox VE's authentication ticket (the PVEAuthCookie), checked exactly
// as pve-access-control's PVE::AccessControl::verify_ticket does with
// pve-common's PVE::Ticket::verify_rsa_ticket (docs/auth.md):
//   PVE:<data>:<TTTTTTTT>::<base64 signature>
// TTTTTTTT is the creation time as 8 upper-case hex digits; the signature
// is RSA PKCS#1 v1.5 over "PVE:<data>:<TTTTTTTT>" made with the cluster's
// authkey.key (Crypt::OpenSSL::RSA's sign with its default digest and
// padding, which changed between versions: see Digest). The data is the user id,
// with ':' written as %3A; '!tfa!...', 'tfa!...' and 'u2f!...' (not
// verified) are half logins waiting for the second factor and never a login.
// Thread safety: the free functions are pure; TicketVerifier locks itself.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace pveaudit::auth {

using PKey = std::shared_ptr<EVP_PKEY>;

// PEM X.509 SubjectPublicKeyInfo ("PUBLIC KEY", as Proxmox writes it) -> key.
Result<PKey> PublicKeyFromPem(std::string_view pem);
// PEM private key (PKCS#1 or PKCS#8) -> key.
Result<PKey> PrivateKeyFromPem(std::string_view pem);
// A new RSA key pair (tests, and pveaudit's own key for local accounts).
Result<PKey> GenerateRsaKey(int bits = 2048);
std::string PublicKeyPem(EVP_PKEY* key);
std::string PrivateKeyPem(EVP_PKEY* key);

// The contents of a new key file for local accounts' tickets
// (web-authkey.key): a 2048-bit RSA private key in PEM.
Result<std::string> NewLocalTicketKeyFile();

// Base64 (standard alphabet). Decode accepts missing '=' padding, as
// Perl's MIME::Base64 does, but no other stray character.
std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

// A ticket split into its parts (the signature not yet checked).
struct ParsedTicket {
  std::string plain;      // "PVE:<data>:<TTTTTTTT>": what the signature covers
  std::string data;       // URL-unescaped data ("alice@pve"); "" when none
  bool has_data = false;  // a ticket may carry no data at all (PVEVNC)
  int64_t time = 0;       // the creation time, epoch seconds
  std::string signature;  // decoded
};
// Splits `ticket` as verify_rsa_ticket's two regular expressions do;
// InvalidArgument naming what is wrong otherwise.
Result<ParsedTicket> ParseTicket(std::string_view ticket, std::string_view prefix = "PVE");

// The signature schemes Crypt::OpenSSL::RSA's sign has used by default:
// PKCS#1 v1.5 with SHA-1 (0.31 to 0.33) or SHA-256 (0.29, 0.30), and, in
// the versions on OpenSSL 3's API whose default padding became PSS, RSA-PSS
// with SHA-256 (MGF1 SHA-256, salt as long as the digest).
enum class Digest { kSha256, kSha1, kPssSha256 };
bool VerifySignature(EVP_PKEY* key, std::string_view plain, std::string_view signature,
                     Digest digest);

// Signs a ticket the way assemble_rsa_ticket does, with creation time
// `time` (tests sign tickets of any age; the demo signs its own).
Result<std::string> SignTicket(EVP_PKEY* key, std::string_view prefix, std::string_view data,
                               int64_t time, Digest digest = Digest::kSha256);

// The age range [min, max] (exclusive bounds) in which a ticket checked
// with a key whose file has modification time `key_mtime` is accepted at
// `now`: $get_ticket_age_range. nullopt: the key accepts no ticket.
struct AgeRange {
  int64_t min = 0, max = 0;
};
inline constexpr int64_t kTicketLifetime = 2 * 3600;  // $ticket_lifetime
inline constexpr int64_t kAuthGracePeriod = 5 * 60;   // $auth_graceperiod
inline constexpr int64_t kAuthKeyLifetime = 24 * 3600;
std::optional<AgeRange> TicketAgeRange(int64_t now, int64_t key_mtime, bool rotated,
                                       bool quorate = true);

// The user id a verified ticket logs in, or why not. Applies the
// half-login rules and verify_username.
Result<std::string> UserOfTicketData(std::string_view data);

// Verifies PVE tickets with the cluster's public key and, failing that,
// the rotated one, re-reading a key file when its mtime changes (as
// $cache_read_key does).
class TicketVerifier {
 public:
  struct Options {
    std::string pub_path = "/etc/pve/authkey.pub";
    std::string pub_old_path = "/etc/pve/authkey.pub.old";
    // pveaudit cannot ask pmxcfs for quorum; assuming it only ever
    // narrows the accepted range (docs/auth.md).
    bool assume_quorate = true;
  };
  explicit TicketVerifier(Options o);
  // The user id of a valid, complete login ticket. `now`: epoch seconds.
  Result<std::string> Verify(std::string_view ticket, int64_t now);

 private:
  struct Cached {
    PKey key;
    int64_t mtime = 0;
    bool loaded = false;
  };
  // The key at `path` and its mtime; null when missing or unreadable.
  std::pair<PKey, int64_t> Key(const std::string& path, Cached* cache);

  Options opt_;
  std::mutex mu_;
  Cached pub_, old_;
};

// Checks `parsed` with `key` (either digest) and `range`.
bool TicketValid(const ParsedTicket& parsed, EVP_PKEY* key, const std::optional<AgeRange>& range,
                 int64_t now);

}  // namespace pveaudit::auth

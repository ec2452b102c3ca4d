// auth_csrf.h
// Proxmox's CSRFPreventionToken (pve-common PVE::Ticket::
// assemble_csrf_prevention_token / verify_csrf_prevention_token, with the
// secret derived as pve-access-control's $get_csrfr_secret does):
//   secret = base64(HMAC-SHA256(key <key file contents>, ""))
//   token  = TTTTTTTT ":" base64(HMAC-SHA256(key secret, "TTTTTTTT:<userid>"))
// (base64 without padding, as Digest::SHA's *_base64 functions print it),
// accepted while -300 s < age < 7200 s. The key file is pveaudit's own
// (docs/auth.md says why not /etc/pve/pve-www.key).
// Thread safety: pure functions; the file helper is safe across processes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace pveaudit::auth {

// Digest::SHA::hmac_sha256_base64(data, key): unpadded base64. (Perl's
// hmac_* take the key as their last argument.)
std::string HmacSha256Base64(std::string_view key, std::string_view data);
std::string CsrfSecretFromKey(std::string_view key_file_contents);
std::string AssembleCsrfToken(std::string_view secret, std::string_view userid, int64_t now);
bool VerifyCsrfToken(std::string_view secret, std::string_view userid, std::string_view token,
                     int64_t now);

// Equality that takes the same time wherever the first difference is
// (OpenSSL's CRYPTO_memcmp over SHA-256 digests, so not even the length
// leaks).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// `count` bytes from OpenSSL's CSPRNG.
std::string RandomBytes(size_t count);

// The contents of `path`; when it does not exist, `make()` is written to a
// new file of mode 0600 that replaces nothing (link(2) of a temp file: two
// processes starting at once end up with one key) and returned.
Result<std::string> ReadOrCreateSecretFile(const std::string& path,
                                           const std::function<Result<std::string>()>& make);

// The contents of a new CSRF key file (web-csrf.key): 32 random bytes,
// base64, one line.
Result<std::string> NewCsrfKeyFile();

}  // namespace pveaudit::auth

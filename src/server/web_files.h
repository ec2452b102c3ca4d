// web_files.h
// The files pveaudit-web needs in the data directory besides the store:
// its CSRF key (web-csrf.key), the key that signs local accounts' tickets
// (web-authkey.key) and a self-signed certificate for when the node has
// none that may be used (web-cert.pem, web-key.pem). pveaudit-web makes
// them at first start when it may write the directory; when pveauditd is
// root and pveaudit-web runs as its own user, it may not, and pveauditd
// makes them first, readable by that user's group (docs/web.md).
#pragma once

#include <string>

#include "core/status.h"

namespace pveaudit {

// A regular file this process may read.
bool ReadableFile(const std::string& path);

// Whether `cert` and `key` load and belong together; `*expired` is set when
// the certificate's notAfter has passed.
bool CertPairLoads(const std::string& cert, const std::string& key, bool* expired);

// Creates a self-signed certificate (EC P-256, 2 years, subjectAltName
// localhost, 127.0.0.1, ::1 and the host name) at `cert_path`/`key_path`
// (mode 0600).
Status GenerateSelfSigned(const std::string& cert_path, const std::string& key_path);

// Makes the four files above in `data_dir` unless they exist (the
// certificate also when it no longer loads or has expired), and gives them
// group `group` and mode 0640: that group reads them, nobody else.
Status PrepareWebFiles(const std::string& data_dir, unsigned group);

}  // namespace pveaudit

// month_bundle.h
// Monthly evidence bundles (`pveam access export --month`): one month's
// events as `pveam access log` shows them, with a manifest, SHA256SUMS and
// an Ed25519 signature, checkable offline on another machine with no store
// (`pveam access export verify`, or sha256sum and openssl: docs/evidence.md).
//
// A bundle directory holds exactly:
//   events.csv | events.json | events.cef   the month's events
//   manifest.json                           what, when, from where (below)
//   SHA256SUMS                              sha256sum -c format, both files above
//   SHA256SUMS.sig                          Ed25519 signature of SHA256SUMS (64 bytes)
//   signing-key.pem                         the public key that signed it
// The bundle is written into a temporary sibling directory (DIR.partial)
// and renamed into place, so a crash leaves either no bundle or a complete
// one.
// Thread safety: free functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/table.h"
#include "evidence/signing_key.h"
#include "store/event_store.h"

namespace pveaudit {

// A calendar month in the cluster's time zone.
struct Month {
  int year = 0, month = 0;           // month: 1..12
  int64_t start_us = 0, end_us = 0;  // [1st 00:00, 1st of the next month 00:00), cluster zone
  std::string Name() const;          // "2026-10"
};
// Parses "2026-10". False on anything else (month 1..12, year 1970..9999).
bool ParseMonth(const std::string& text, Month* out);
// The month containing `us` (cluster zone).
Month MonthOf(int64_t us);

enum class BundleFormat { kCsv, kJson, kCef };
// "csv", "json", "cef"; false otherwise.
bool ParseBundleFormat(const std::string& text, BundleFormat* out);
const char* BundleFormatName(BundleFormat f);

struct BundleOptions {
  Month month;
  BundleFormat format = BundleFormat::kCsv;
  std::string output_dir;  // must not exist, or be an empty directory
  std::string node;        // this node, for the manifest
  std::string store_name;  // where the events came from, for the manifest
  std::string software;    // "pveaudit 0.1.0"
  int64_t now_us = 0;
};

struct BundleResult {
  uint64_t events = 0;
  std::string events_file;  // "events.csv", ...
  std::string sums_sha256;  // SHA-256 of SHA256SUMS: the bundle's digest
  std::string key_fingerprint;
};

// Writes the bundle of `o.month`: the events `pveam access log --start
// <month start> --end <next month start>` shows (through the views, one
// event per real action), oldest first. InvalidArgument when the output
// directory exists and is not empty.
Result<BundleResult> WriteMonthBundle(EventStore& store, const SigningKey& key,
                                      const BundleOptions& o);

// Parses SHA256SUMS as sha256sum writes it: per line "<64 lower-case hex>
// <two spaces or space and '*'><name>", where a name is a plain file name
// (no '/', not "." or ".."). Empty lines are skipped. False at the first
// other line, which is copied (up to 120 bytes) into *bad_line.
bool ParseSha256Sums(const std::string& text, std::vector<std::pair<std::string, std::string>>* out,
                     std::string* bad_line);

// The detail of the audit:export event recording a bundle: "month=2026-10
// format=csv events=N sha256sums=<SHA-256 of SHA256SUMS>".
std::string ExportEventDetail(const Month& month, BundleFormat format, const BundleResult& r);

// What `export verify` found. `problems` is empty when the bundle is
// intact; otherwise it names each bad file and why, the first one first.
struct BundleCheck {
  bool intact() const { return problems.empty(); }
  std::vector<std::string> problems;
  std::vector<std::string> checked;  // "events.csv: sha256 ok", ...
  bool trusted_key = false;          // checked against a key given by the auditor
  std::string key_fingerprint;       // of the key the signature was checked with
  std::string month;                 // from the manifest, when readable
  uint64_t events = 0;               // from the manifest
};

// Checks the bundle in `dir` with no store: SHA256SUMS signed by
// `trusted_pem` (the auditor's copy of the node's public key) or, when that
// is empty, by the bundle's own signing-key.pem; every file it lists
// present and matching; the manifest naming the same files and hashes; no
// other file in the directory. IOError only when `dir` cannot be read at all.
Result<BundleCheck> VerifyMonthBundle(const std::string& dir, const std::string& trusted_pem);

}  // namespace pveaudit

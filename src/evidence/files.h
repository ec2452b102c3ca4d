// files.h
// File helpers shared by the evidence writers and verifiers (monthly
// bundles, archives): whole-file SHA-256, bounded reads of files someone
// may have handed over, create-exclusive writes that are on disk before
// they return, and text made safe for a terminal.
// Thread safety: free functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace pveaudit {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// SHA-256 of a whole regular file, streamed (an events file can be
// gigabytes); its size through `bytes` when not null. NotFound "is
// missing", IOError "cannot be read: ..." / "is not a regular file" (the
// caller names the file).
Result<std::string> Sha256File(const std::string& path, uint64_t* bytes);
// The file's contents; Corruption when it is larger than `max_bytes`, so a
// hostile file cannot exhaust memory. Errors as Sha256File.
Result<std::string> ReadBoundedFile(const std::string& path, size_t max_bytes);
// Creates `path` (which must not exist) 0600 with `data`, fsync'd.
Status WriteWhole(const std::string& path, std::string_view data);
// fsync of a directory, so that entries created or renamed in it are durable.
void FsyncDir(const std::string& dir);
// `s` with control characters shown as '?': names and lines from files
// someone else handed over never reach the terminal as escape sequences.
std::string Printable(std::string s);

}  // namespace pveaudit

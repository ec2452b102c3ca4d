// line_reader.h
// LineReader reads a log file line by line, plain or gzip-compressed
// (detected by its magic bytes, so a rotated "access.log.2.gz" and a
// renamed plain file both work), and reports the byte offset after each
// line in the decompressed stream so that a cursor can resume exactly.
// A last line without a newline is returned only at end of file.
// Thread safety: one thread.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace pveaudit {

class LineReader {
 public:
  LineReader() = default;
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // `display` names the file in error messages (default: `path`), so a
  // reader opened through SameFilePath() still names the user's file.
  Status Open(const std::string& path, const std::string& display = "");
  // Tail mode: a last line without "\n" is not returned (a writer may be
  // in the middle of it); offset() then stays before it.
  void set_complete_lines_only(bool v) { complete_only_ = v; }
  // Device and inode of the open file (the identity a tailer watches).
  uint64_t device() const { return dev_; }
  // A path that opens the same file as this reader, even after a rename
  // ("/proc/self/fd/N"): a second reader of the same file must not open
  // the path again, which may by then name a newer file.
  std::string SameFilePath() const { return "/proc/self/fd/" + std::to_string(fd_); }
  uint64_t inode() const { return ino_; }
  // Skips forward to decompressed byte `offset` (a line start).
  Status SkipTo(uint64_t offset);
  // The next line without its "\n" (and without a trailing "\r"). False at
  // end of file; check status() for read errors. The view is valid until
  // the next call.
  bool Next(std::string_view* line);
  uint64_t offset() const { return offset_; }  // after the last returned line
  // A running CRC-32 (zlib's, the one a gzip trailer holds) of every byte
  // consumed from the (decompressed) stream, starting from `initial` = the
  // CRC of the bytes before the offset this reader resumes at: the cursor
  // keeps it so that a resumed or rotated copy can be proven the same.
  void set_crc(uint32_t initial) { crc_ = initial; }
  uint32_t crc() const { return crc_; }
  // Reads `n` bytes of the plain file at `pos` (false for gzip or short).
  bool ReadAt(uint64_t pos, size_t n, std::string* out) const;
  bool compressed() const { return gz_ != nullptr; }
  Status status() const { return status_; }
  // Size of the file on disk (compressed size for .gz), for progress.
  uint64_t file_size() const { return file_size_; }
  // Bytes of the file read from disk so far (compressed for .gz).
  uint64_t disk_position() const;

 private:
  bool Fill();

  std::string path_;
  int fd_ = -1;
  gzFile gz_ = nullptr;
  std::string buf_;
  size_t start_ = 0, end_ = 0;
  bool eof_ = false;
  bool complete_only_ = false;
  uint64_t dev_ = 0, ino_ = 0;
  uint64_t offset_ = 0, file_size_ = 0, raw_read_ = 0;
  uint32_t crc_ = 0;
  Status status_;
};

}  // namespace pveaudit

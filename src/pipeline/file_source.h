// file_source.h
// FileSource follows one log file (e.g. /var/log/pveproxy/access.log)
// across rotations and feeds it into the store exactly once, through the
// importer's cursors (a file is found by its first line and proven by the
// bytes its cursor consumed, so a renamed or compressed file keeps its
// cursor whatever its name). Rotated files are those logrotate names:
// PATH.N[.gz] (numbered), PATH-<digits>[.gz] (dateext, any dateformat of
// digits), in PATH's directory or in `rotated_dir` (logrotate's olddir).
//  - rename + create (logrotate default): the old file, now PATH.1, is read
//    to its end before the new PATH, so lines written between the last poll
//    and the rotation are not lost;
//  - copytruncate: the copy PATH.1 carries the old fingerprint and is
//    finished from the cursor; the truncated PATH starts a new cursor;
//  - delaycompress / compress: PATH.2.gz etc. are read through zlib when
//    catching up after downtime.
// On start it catches up: every rotated file, oldest first, resumes from
// its cursor (or is imported whole when never seen), then the live file.
// Thread safety: one thread (the daemon's loop).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/status.h"
#include "pipeline/importer.h"
#include "store/event_store.h"

namespace pveaudit {

struct FileSourceState {
  std::string name;  // "access_log", "auth", "tasks"
  std::string path;
  std::string format;
  bool ok = true;
  std::string error;      // last error, if any
  uint64_t offset = 0;    // bytes of the live file consumed
  uint64_t size = 0;      // live file size at the last poll
  uint64_t events = 0;    // stored since start
  uint64_t rejected = 0;  // rejected since start
  int64_t last_event_us = 0;
  int64_t last_poll_us = 0;
};

class FileSource {
 public:
  // `rotated_dir`: where rotated files go ("" = beside `path`; both are
  // searched).
  FileSource(std::string name, std::string path, ImportOptions options,
             std::string rotated_dir = "");

  // Imports rotated files the store has not fully seen (start-up).
  Status CatchUp(EventStore& store);
  // Imports whatever is new in the rotated predecessor and the live file.
  Status Poll(EventStore& store);

  const FileSourceState& state() const { return state_; }

  // The rotated files of `path` that exist (see above), oldest first:
  // numbered ones by falling number, dateext ones by rising date; when both
  // kinds exist, the kind whose newest file is older comes first.
  static std::vector<std::string> RotatedFiles(const std::string& path,
                                               const std::string& rotated_dir = "");

 private:
  Status ImportOne(EventStore& store, const std::string& file, bool live);

  // A rotated file's identity and size when it was last read to its end.
  struct FileId {
    uint64_t dev, ino, size;
    bool operator<(const FileId& o) const {
      return std::tie(dev, ino, size) < std::tie(o.dev, o.ino, o.size);
    }
  };

  ImportOptions options_;
  std::string rotated_dir_;
  FileSourceState state_;
  std::set<FileId> done_;
  std::string damage_;  // the last damaged rotated file met, for the state
};

}  // namespace pveaudit

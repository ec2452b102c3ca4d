#include "pipeline/file_source.h"

#include <sys/stat.h>

#include <filesystem>

#include "core/time_spec.h"
#include "pipeline/line_reader.h"

namespace pveaudit {

FileSource::FileSource(std::string name, std::string path, ImportOptions options)
    : options_(std::move(options)) {
  options_.complete_lines_only = true;
  state_.name = std::move(name);
  state_.path = std::move(path);
  state_.format = options_.format;
}

std::vector<std::string> FileSource::RotatedFiles(const std::string& path) {
  std::vector<std::string> out;
  std::error_code ec;
  for (int i = 1; i <= 99; ++i) {
    std::string base = path + "." + std::to_string(i);
    bool found = false;
    for (const std::string& f : {base, base + ".gz"}) {
      if (std::filesystem::is_regular_file(f, ec)) {
        out.push_back(f);
        found = true;
      }
    }
    if (!found) break;
  }
  return out;
}

Status FileSource::ImportOne(EventStore& store, const std::string& file, bool live) {
  auto st = ImportFile(store, file, options_, nullptr);
  if (!st.ok()) return st.status();
  // Remember rotated files read to their very end, by the identity of the
  // file actually read (the path may have been renamed meanwhile).
  if (!live && st->offset == st->size && st->size > 0)
    done_.insert(FileId{st->device, st->inode, st->size});
  state_.events += st->stored;
  state_.rejected += st->rejected;
  if (st->last_event_us > state_.last_event_us) state_.last_event_us = st->last_event_us;
  if (st->format != "auto") state_.format = st->format;
  if (live) {
    state_.offset = st->offset;
    state_.size = st->size;
  }
  return Status::OK();
}

Status FileSource::CatchUp(EventStore& store) {
  // Oldest first. Each file resumes from its own cursor; finished files
  // store nothing (and cost only a look at their first line and size);
  // rotated files never seen before are imported whole, so a first start
  // backfills the rotated history and a restart after downtime loses
  // nothing that is still on disk.
  std::vector<std::string> rotated = RotatedFiles(state_.path);
  for (size_t i = rotated.size(); i-- > 0;)
    PVEAUDIT_RETURN_IF_ERROR(ImportOne(store, rotated[i], false));
  return Poll(store);
}

Status FileSource::Poll(EventStore& store) {
  state_.last_poll_us = NowUs();
  std::error_code ec;
  // Rotated files first, oldest first: after a rotation they hold the lines
  // written since the last poll. A file whose (device, inode, size) is the
  // same as when it was last read completely is skipped without opening it.
  std::vector<std::string> rotated = RotatedFiles(state_.path);
  for (size_t i = rotated.size(); i-- > 0;) {
    struct stat st;
    if (stat(rotated[i].c_str(), &st) != 0) continue;
    FileId id{uint64_t(st.st_dev), uint64_t(st.st_ino), uint64_t(st.st_size)};
    if (done_.count(id)) continue;
    Status s = ImportOne(store, rotated[i], false);
    if (!s.ok()) {
      state_.ok = false;
      state_.error = s.message();
      return s;
    }
  }
  if (!std::filesystem::exists(state_.path, ec)) {
    state_.ok = false;
    state_.error = "waiting for " + state_.path + " to appear";
    return Status::OK();
  }
  Status s = ImportOne(store, state_.path, true);
  state_.ok = s.ok();
  state_.error = s.ok() ? std::string() : s.message();
  return s;
}

}  // namespace pveaudit

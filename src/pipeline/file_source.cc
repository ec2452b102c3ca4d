#include "pipeline/file_source.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <string_view>

#include "core/time_spec.h"
#include "pipeline/line_reader.h"

namespace pveaudit {

FileSource::FileSource(std::string name, std::string path, ImportOptions options,
                       std::string rotated_dir)
    : options_(std::move(options)), rotated_dir_(std::move(rotated_dir)) {
  options_.complete_lines_only = true;
  state_.name = std::move(name);
  state_.path = std::move(path);
  state_.format = options_.format;
}

namespace {

// "12" -> 12, "" or non-digits -> -1.
long long Digits(std::string_view s) {
  if (s.empty() || s.size() > 18) return -1;
  long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

struct Rotated {
  std::string path;
  bool numbered;      // PATH.N[.gz]; else dateext PATH-<digits>[.gz]
  long long number;   // N
  std::string stamp;  // the dateext digits
  int64_t mtime_ns;
};

}  // namespace

std::vector<std::string> FileSource::RotatedFiles(const std::string& path,
                                                  const std::string& rotated_dir) {
  namespace fs = std::filesystem;
  const fs::path live(path);
  const std::string base = live.filename().string();
  std::vector<Rotated> found;
  std::error_code ec;
  std::vector<fs::path> dirs = {live.has_parent_path() ? live.parent_path() : fs::path(".")};
  if (!rotated_dir.empty() && !fs::equivalent(rotated_dir, dirs[0], ec))
    dirs.emplace_back(rotated_dir);
  for (const fs::path& dir : dirs) {
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (name.size() <= base.size() + 1 || name.compare(0, base.size(), base) != 0) continue;
      std::string_view rest = std::string_view(name).substr(base.size());
      std::string_view id = rest.substr(1);
      if (id.size() > 3 && id.substr(id.size() - 3) == ".gz") id.remove_suffix(3);
      Rotated r;
      if (rest[0] == '.' && Digits(id) >= 0) {
        r.numbered = true;
        r.number = Digits(id);
      } else if (rest[0] == '-' && Digits(id) >= 0) {
        r.numbered = false;
        r.number = 0;
        r.stamp = std::string(id);
      } else {
        continue;
      }
      struct stat st;
      if (stat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      r.path = it->path().string();
      r.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      found.push_back(std::move(r));
    }
    ec.clear();
  }
  // Oldest first within each naming scheme (a compressed and a plain file
  // of the same generation: the plain one, being newer, second).
  std::sort(found.begin(), found.end(), [](const Rotated& a, const Rotated& b) {
    if (a.numbered != b.numbered) return a.numbered < b.numbered;
    if (a.numbered) {
      if (a.number != b.number) return a.number > b.number;
    } else if (a.stamp.size() != b.stamp.size() || a.stamp != b.stamp) {
      return a.stamp.size() != b.stamp.size() ? a.stamp.size() < b.stamp.size() : a.stamp < b.stamp;
    }
    return a.path.size() > b.path.size();  // NAME.gz before NAME
  });
  // Both schemes at once (e.g. the logrotate config changed): the scheme
  // whose newest file is older goes first.
  auto split =
      std::find_if(found.begin(), found.end(), [](const Rotated& r) { return r.numbered; });
  if (split != found.begin() && split != found.end()) {
    int64_t newest_date = 0, newest_num = 0;
    for (auto it = found.begin(); it != split; ++it)
      newest_date = std::max(newest_date, it->mtime_ns);
    for (auto it = split; it != found.end(); ++it) newest_num = std::max(newest_num, it->mtime_ns);
    if (newest_num < newest_date) std::rotate(found.begin(), split, found.end());
  }
  std::vector<std::string> out;
  for (Rotated& r : found) out.push_back(std::move(r.path));
  return out;
}

Status FileSource::ImportOne(EventStore& store, const std::string& file, bool live) {
  auto st = ImportFile(store, file, options_, nullptr);
  if (!st.ok()) return st.status();
  if (!st->damaged.empty()) {
    // The lines before the damage are stored. The file cannot be read
    // further: it must not hold back the others (nor be retried on every
    // poll), so it is remembered as done and reported in the state.
    state_.events += st->stored;
    damage_ = file + " is damaged after " + std::to_string(st->lines) + " lines (" + st->damaged +
              "); the lines before the damage are stored";
    if (!live) done_.insert(FileId{st->device, st->inode, st->size});
    return live ? Status::Corruption(damage_) : Status::OK();
  }
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
  for (const std::string& f : RotatedFiles(state_.path, rotated_dir_))
    PVEAUDIT_RETURN_IF_ERROR(ImportOne(store, f, false));
  return Poll(store);
}

Status FileSource::Poll(EventStore& store) {
  state_.last_poll_us = NowUs();
  std::error_code ec;
  // Rotated files first, oldest first: after a rotation they hold the lines
  // written since the last poll. A file whose (device, inode, size) is the
  // same as when it was last read completely is skipped without opening it.
  for (const std::string& f : RotatedFiles(state_.path, rotated_dir_)) {
    struct stat st;
    if (stat(f.c_str(), &st) != 0) continue;
    FileId id{uint64_t(st.st_dev), uint64_t(st.st_ino), uint64_t(st.st_size)};
    if (done_.count(id)) continue;
    Status s = ImportOne(store, f, false);
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
  state_.ok = s.ok() && damage_.empty();
  state_.error = s.ok() ? damage_ : s.message();
  return s;
}

}  // namespace pveaudit

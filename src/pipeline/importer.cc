#include "pipeline/importer.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <set>
#include <span>
#include <thread>

#include "core/host_name.h"
#include "core/time_spec.h"
#include "ingest/login_tracker.h"
#include "pipeline/line_reader.h"

namespace pveaudit {
namespace {

std::string Sha256Hex(std::string_view data) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < len; ++i) {
    s.push_back(kHex[md[i] >> 4]);
    s.push_back(kHex[md[i] & 15]);
  }
  return s;
}

struct Batch {
  std::vector<Event> events;
  std::vector<Hash256> digests;  // ChainHasher::Digest of each event
  std::vector<RejectedLine> rejected;
  SourceCursor cursor;  // the file's
  SourceCursor stream;  // the login tracker's (when tracked)
  uint64_t lines = 0, ignored = 0, duplicates = 0, disk_pos = 0;
  bool last = false, interrupted = false;
  Status error;
};

// A bounded queue between the parser thread and the writer: back-pressure
// instead of unbounded memory when the store is slower than parsing.
class BatchQueue {
 public:
  explicit BatchQueue(size_t cap) : cap_(cap) {}
  // False when the writer has given up (Close): stop producing.
  bool Push(Batch b) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return q_.size() < cap_ || closed_; });
    if (closed_) return false;
    q_.push_back(std::move(b));
    cv_.notify_all();
    return true;
  }
  bool Pop(Batch* b) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return false;
    *b = std::move(q_.front());
    q_.pop_front();
    cv_.notify_all();
    return true;
  }
  // Makes Push drop and Pop return false: the writer failed.
  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> q_;
  size_t cap_;
  bool closed_ = false;
};

// Batches the writer is done with. They are destroyed on the parser
// thread: freeing a batch's strings is a measurable share of the work, and
// the writer is the busier thread.
class Graveyard {
 public:
  void Bury(std::vector<Event>&& v) {
    std::lock_guard<std::mutex> l(mu_);
    dead_.push_back(std::move(v));
  }
  void Clear() {
    std::vector<std::vector<Event>> dead;
    {
      std::lock_guard<std::mutex> l(mu_);
      dead.swap(dead_);
    }
  }

 private:
  std::mutex mu_;
  std::vector<std::vector<Event>> dead_;
};

// What a cursor keeps to prove that the file it resumes is the one it
// read (kept in SourceCursor::state, "pveaudit-cursor 2"):
//  - crc: CRC-32 of every byte before the offset (gzip's own CRC, so a
//    rotated copy compressed later is recognised from its trailer alone);
//  - tail: SHA-256 of the last kTailBytes before the offset (plain files),
//    so that a tailer resuming an appended file checks 4 KiB, not the
//    whole prefix, on every poll;
//  - snap: for snapshot files (tasks/active), ids of the lines stored.
// A cursor written by an older version has none of this (`present` false)
// and is trusted as it was then.
constexpr size_t kTailBytes = 4096;
constexpr std::string_view kCursorMagic = "pveaudit-cursor 2\n";
constexpr size_t kMaxSnapshotIds = 4096;

struct CursorCheck {
  bool present = false;
  uint32_t crc = 0;
  uint64_t tail_len = 0;
  std::string tail_sha;
  std::vector<std::string> snap;  // oldest first
};

std::string EncodeCheck(const CursorCheck& c) {
  char crc[16];
  std::snprintf(crc, sizeof crc, "%08x", c.crc);
  std::string out(kCursorMagic);
  out += "crc ";
  out += crc;
  out += "\ntail " + std::to_string(c.tail_len) + " " + c.tail_sha + "\n";
  for (const std::string& id : c.snap) out += "snap " + id + "\n";
  return out;
}

CursorCheck DecodeCheck(const std::string& blob) {
  CursorCheck c;
  std::string_view s = blob;
  if (s.substr(0, kCursorMagic.size()) != kCursorMagic) return c;
  s.remove_prefix(kCursorMagic.size());
  bool have_crc = false, have_tail = false;
  while (!s.empty()) {
    size_t nl = s.find('\n');
    if (nl == std::string_view::npos) break;
    std::string line(s.substr(0, nl));
    s.remove_prefix(nl + 1);
    unsigned crc = 0;
    unsigned long long len = 0;
    char sha[65] = {};
    char id[33] = {};
    if (std::sscanf(line.c_str(), "crc %8x", &crc) == 1) {
      c.crc = crc;
      have_crc = true;
    } else if (std::sscanf(line.c_str(), "tail %llu %64s", &len, sha) >= 1) {
      c.tail_len = len;
      c.tail_sha = sha;
      have_tail = true;
    } else if (std::sscanf(line.c_str(), "snap %32s", id) == 1) {
      c.snap.emplace_back(id);
    }
  }
  c.present = have_crc && have_tail;
  return c;
}

// The gzip trailer: CRC-32 and size (mod 2^32) of the uncompressed data.
bool GzipTrailer(const std::string& path, uint32_t* crc, uint64_t* size) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char b[8];
  bool ok = std::fseek(f, -8, SEEK_END) == 0 && std::fread(b, 1, 8, f) == 8;
  std::fclose(f);
  if (ok) {
    *crc = uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
    *size = uint64_t(b[4]) | uint64_t(b[5]) << 8 | uint64_t(b[6]) << 16 | uint64_t(b[7]) << 24;
  }
  return ok;
}

// True when the first `c.offset` bytes of the file at `path` (decompressed)
// are those the cursor consumed. `full`: always check the CRC of the whole
// prefix; else a plain file is checked by its last kTailBytes.
bool SamePrefix(const std::string& path, const SourceCursor& c, const CursorCheck& k,
                bool compressed, bool full) {
  if (!k.present || c.offset == 0) return true;
  if (!compressed && !full && k.tail_len > 0) {
    LineReader r;
    if (!r.Open(path).ok() || r.file_size() < c.offset || k.tail_len > c.offset) return false;
    std::string w;
    return r.ReadAt(c.offset - k.tail_len, size_t(k.tail_len), &w) && Sha256Hex(w) == k.tail_sha;
  }
  gzFile g = gzopen(path.c_str(), "rb");  // reads plain files as they are, too
  if (!g) return false;
  std::vector<char> buf(1 << 20);
  std::string tail;
  uint64_t left = c.offset;
  uLong crc = crc32_z(0, nullptr, 0);
  while (left > 0) {
    int n = gzread(g, buf.data(), unsigned(std::min<uint64_t>(left, buf.size())));
    if (n <= 0) break;
    crc = crc32_z(crc, reinterpret_cast<const Bytef*>(buf.data()), size_t(n));
    left -= uint64_t(n);
    if (k.tail_len > 0) {
      tail.append(buf.data(), size_t(n));
      if (tail.size() > k.tail_len) tail.erase(0, tail.size() - k.tail_len);
    }
  }
  gzclose(g);
  if (left > 0 || uint32_t(crc) != k.crc) return false;
  return k.tail_len == 0 || Sha256Hex(tail) == k.tail_sha;
}

// The identity of a tasks/active line: the line without its "saved" flag
// (0 -> 1 when the task is copied to the index does not make it new).
std::string SnapshotId(std::string_view line) {
  std::string key;
  size_t sp = line.find(' ');
  if (sp != std::string_view::npos && sp + 2 <= line.size() &&
      (line[sp + 1] == '0' || line[sp + 1] == '1') &&
      (sp + 2 == line.size() || line[sp + 2] == ' '))
    key = std::string(line.substr(0, sp)) + std::string(line.substr(sp + 2));
  else
    key = std::string(line);
  return Sha256Hex(key).substr(0, 32);
}

// tasks/active is rewritten as a whole (pve-common INotify.pm
// write_active_workers): each line is "UPID 0|1 [ENDHEX STATUS]" (a bare
// "UPID" is read too); the index has no saved flag.
bool IsActiveSnapshot(const std::vector<std::string>& head) {
  bool flagged = false;
  for (const std::string& l : head) {
    if (l.compare(0, 5, "UPID:") != 0) return false;
    size_t sp = l.find(' ');
    if (sp == std::string::npos) continue;
    if (sp + 1 >= l.size() || (l[sp + 1] != '0' && l[sp + 1] != '1') ||
        (sp + 2 < l.size() && l[sp + 2] != ' '))
      return false;
    flagged = true;
  }
  return flagged;
}

}  // namespace

Result<ImportStats> ImportFile(EventStore& store, const std::string& path,
                               const ImportOptions& options, const ImportProgress& progress) {
  ImportStats stats;
  LineReader reader;
  PVEAUDIT_RETURN_IF_ERROR(reader.Open(path));
  reader.set_complete_lines_only(options.complete_lines_only);
  stats.size = reader.file_size();
  stats.device = reader.device();
  stats.inode = reader.inode();

  // Format detection and the fingerprint both need the first lines.
  std::vector<std::string> head;
  std::string first_line;
  {
    // Through the reader's own descriptor: `path` may have been rotated
    // since it was opened, and the fingerprint must be of the file read.
    LineReader peek;
    PVEAUDIT_RETURN_IF_ERROR(peek.Open(reader.SameFilePath(), path));
    peek.set_complete_lines_only(options.complete_lines_only);
    std::string_view l;
    while (head.size() < 20 && peek.Next(&l)) {
      if (head.empty() && first_line.empty()) first_line = std::string(l);
      if (!l.empty()) head.emplace_back(l);
    }
    // Damage after the first lines is met (and reported) by the main
    // reader, after the lines before it are stored.
    if (!peek.status().ok() && head.empty()) {
      stats.format = options.format;
      stats.damaged = peek.status().message();
      return stats;
    }
  }
  if (head.empty()) {
    stats.format = options.format;
    return stats;  // an empty file imports nothing
  }
  LineFormat format;
  if (options.format == "auto") {
    auto f = DetectLineFormat(head);
    if (!f.ok())
      return Status::InvalidArgument(
          "cannot tell the format of " + path +
          "; name it with --format pveproxy|auth|tasks|json|journal-json|clusterlog");
    format = *f;
  } else if (!ParseLineFormat(options.format, &format)) {
    return Status::InvalidArgument(
        "unknown format '" + options.format +
        "' (expected auto, pveproxy, auth, tasks, json, journal-json or clusterlog)");
  }
  stats.format = std::string(LineFormatName(format));
  const std::string format_name(LineFormatName(format));

  ParseContext ctx;
  ctx.node = options.node;
  if (ctx.node.empty() && format == LineFormat::kPveproxy) ctx.node = ShortHostName();
  ctx.origin = path;
  struct stat st;
  ctx.reference_us =
      stat(reader.SameFilePath().c_str(), &st) == 0 ? int64_t(st.st_mtime) * 1000000 : NowUs();

  // tasks/active is rewritten in place: each import reads the whole
  // snapshot and stores only lines no earlier snapshot of this node held.
  const bool snapshot = format == LineFormat::kTasks && IsActiveSnapshot(head);
  SourceCursor cursor;
  CursorCheck check;
  cursor.path = path;
  if (snapshot) {
    cursor.key = "snap:tasks-active:" + options.node;
    auto c = store.GetCursor(cursor.key);
    if (!c.ok()) return c.status();
    if (c->has_value()) check = DecodeCheck((*c)->state);
  } else {
    // The first line names a family of cursors (KEY, KEY#2, KEY#3 ...):
    // files that start alike but differ later each get their own, and a
    // file resumes only from the one whose consumed bytes it proves to hold.
    const std::string base = "fp:" + Sha256Hex(first_line) + ":" + format_name + ":" + options.node;
    const bool full = !options.complete_lines_only;  // one-off import: check every byte
    for (int i = 1;; ++i) {
      std::string key = i == 1 ? base : base + "#" + std::to_string(i);
      auto c = store.GetCursor(key);
      if (!c.ok()) return c.status();
      if (!c->has_value()) {
        cursor = SourceCursor();
        cursor.key = key;
        cursor.path = path;
        check = CursorCheck();
        break;
      }
      SourceCursor found = **c;
      CursorCheck k = DecodeCheck(found.state);
      if (reader.compressed() && found.offset > 0) {
        // A gzip file's trailer holds the CRC and size (mod 2^32) of its
        // data: when both are the cursor's, the file is done; skip
        // decompressing it.
        uint32_t crc = 0;
        uint64_t isize = 0;
        if (GzipTrailer(reader.SameFilePath(), &crc, &isize) &&
            isize == (found.offset & 0xffffffffu) && (!k.present || crc == k.crc)) {
          stats.duplicates = stats.lines = found.line;
          stats.cursor_key = found.key;
          stats.offset = found.offset;
          return stats;
        }
      }
      if (SamePrefix(reader.SameFilePath(), found, k, reader.compressed(), full)) {
        cursor = std::move(found);
        cursor.path = path;
        check = std::move(k);
        stats.changed_file = false;
        break;
      }
      stats.changed_file = true;
      // The bytes differ because the file was cut short since it was
      // opened (copytruncate, or `> file`): the first line read above may
      // be gone too, and a new cursor under it would read the new content,
      // which the next poll reads again under its own first line (seen:
      // DaemonTest.CopytruncateRotationLosesNothing under load). Nothing
      // is read now; the next poll names the file by what it holds then.
      if (struct stat now;
          stat(reader.SameFilePath().c_str(), &now) == 0 && uint64_t(now.st_size) < stats.size) {
        stats.changed_file = false;
        return stats;
      }
      if (i >= 10000) return Status::Internal("too many files start with the line of " + path);
    }
  }
  const uint64_t resume_line = snapshot ? 0 : cursor.line;
  if (!snapshot && cursor.offset > 0) {
    PVEAUDIT_RETURN_IF_ERROR(reader.SkipTo(cursor.offset));
    reader.set_crc(check.crc);
  }
  stats.duplicates = resume_line;
  stats.lines = resume_line;
  stats.cursor_key = cursor.key;
  stats.offset = snapshot ? 0 : cursor.offset;

  // Login counting continues across files of one stream (syslog.1, then
  // syslog): its state has a cursor of its own, per format and node,
  // committed with each batch.
  const bool track_logins = format != LineFormat::kTasks;
  SourceCursor stream;
  if (track_logins) {
    stream.key = "logins:" + format_name + ":" + options.node;
    stream.path = path;
    auto c = store.GetCursor(stream.key);
    if (!c.ok()) return c.status();
    if (c->has_value())
      stream.state = (*c)->state;
    else if (!check.present)
      stream.state = cursor.state;  // a cursor of an older version held it
  }

  std::set<std::string> seen_before(check.snap.begin(), check.snap.end());
  BatchQueue queue(2);
  Graveyard graveyard;
  std::thread producer([&] {
    auto parser = MakeLineParser(format, ctx);
    LoginTracker tracker;
    if (track_logins) tracker.LoadState(stream.state);
    uint64_t line_no = resume_line;
    std::string_view line;
    std::string reason;
    Batch b;
    b.events.reserve(options.batch_events + 64);
    ChainHasher hasher;
    bool writer_gone = false;
    std::vector<std::string> snap_ids = check.snap;  // ids stored, oldest first
    std::set<std::string> snap_now;                  // ids of this snapshot
    auto flush = [&](bool last) {
      if (track_logins) tracker.Apply(&b.events);
      // Hashed here, off the writer thread.
      b.digests.reserve(b.events.size());
      for (const Event& e : b.events) b.digests.push_back(hasher.Digest(e));
      b.cursor = cursor;
      b.cursor.offset = reader.offset();
      b.cursor.line = line_no;
      CursorCheck k;
      k.crc = reader.crc();
      if (!reader.compressed()) {
        k.tail_len = std::min<uint64_t>(kTailBytes, reader.offset());
        std::string w;
        if (reader.ReadAt(reader.offset() - k.tail_len, size_t(k.tail_len), &w))
          k.tail_sha = Sha256Hex(w);
        else
          k.tail_len = 0;  // cannot happen for the file being read; then check by CRC
      }
      if (snapshot) {
        // Keep the newest ids: enough to recognise every line of recent
        // snapshots, bounded for a node that runs tasks for years.
        if (snap_ids.size() > kMaxSnapshotIds)
          snap_ids.erase(snap_ids.begin(), snap_ids.end() - kMaxSnapshotIds);
        k.snap = snap_ids;
      }
      b.cursor.state = EncodeCheck(k);
      if (track_logins) {
        b.stream = stream;
        b.stream.state = tracker.SaveState();
      }
      b.disk_pos = reader.disk_position();
      b.last = last;
      if (!queue.Push(std::move(b))) writer_gone = true;
      graveyard.Clear();
      b = Batch();
      b.events.reserve(options.batch_events + 64);
    };
    while (!writer_gone && reader.Next(&line)) {
      ++line_no;
      ++b.lines;
      if (line.empty()) {
        ++b.ignored;
      } else if (snapshot && !snap_now.insert(SnapshotId(line)).second) {
        ++b.ignored;  // the same line twice in one snapshot
      } else if (snapshot && seen_before.count(SnapshotId(line))) {
        ++b.duplicates;  // held by an earlier snapshot, already stored
      } else {
        if (snapshot) snap_ids.push_back(SnapshotId(line));
        reason.clear();
        switch (parser->Parse(line, line_no, &b.events, &reason)) {
          case LineVerdict::kEvents:
            break;
          case LineVerdict::kIgnored:
            ++b.ignored;
            break;
          case LineVerdict::kRejected:
            b.rejected.push_back(RejectedLine{0, path, line_no, reason, std::string(line)});
            break;
        }
      }
      if (b.events.size() >= options.batch_events || b.rejected.size() >= 10000) flush(false);
      if (options.stop && options.stop->load(std::memory_order_relaxed)) {
        b.interrupted = true;
        break;
      }
    }
    if (!reader.status().ok()) b.error = reader.status();
    if (!writer_gone) flush(true);
  });

  Status result;
  Batch b;
  while (queue.Pop(&b)) {
    // Nothing new (a tailer polling an idle file): no transaction at all.
    // A batch that ends in damage still holds good lines: they are stored.
    const std::vector<Hash256>* digests = &b.digests;
    SourceCursor cursors[2] = {b.cursor, b.stream};
    Status st = b.lines == 0
                    ? Status::OK()
                    : store.AppendBatch(
                          &b.events, b.rejected,
                          std::span<const SourceCursor>(cursors, track_logins ? 2 : 1), digests);
    if (!st.ok()) {
      result = st;
      break;
    }
    stats.lines += b.lines;
    stats.stored += b.events.size();
    stats.duplicates += b.duplicates;
    stats.offset = b.cursor.offset;
    for (const Event& e : b.events) stats.last_event_us = std::max(stats.last_event_us, e.time_us);
    stats.ignored += b.ignored;
    stats.rejected += b.rejected.size();
    if (b.interrupted) stats.interrupted = true;
    if (!b.error.ok()) stats.damaged = b.error.message();
    if (progress) progress(b.disk_pos, reader.file_size());
    graveyard.Bury(std::move(b.events));
    if (b.last) break;
  }
  queue.Close();
  producer.join();
  if (!result.ok()) return result;
  return stats;
}

}  // namespace pveaudit

#include "pipeline/importer.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

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

bool GzipTrailerSize(const std::string& path, uint64_t* size) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char b[4];
  bool ok = std::fseek(f, -4, SEEK_END) == 0 && std::fread(b, 1, 4, f) == 4;
  std::fclose(f);
  if (ok)
    *size = uint64_t(b[0]) | uint64_t(b[1]) << 8 | uint64_t(b[2]) << 16 | uint64_t(b[3]) << 24;
  return ok;
}

std::string LocalNodeName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "localhost";
  std::string h = host;
  auto dot = h.find('.');
  if (dot != std::string::npos) h.resize(dot);
  return h.empty() ? "localhost" : h;
}

struct Batch {
  std::vector<Event> events;
  std::vector<Hash256> digests;  // ChainHasher::Digest of each event
  std::vector<RejectedLine> rejected;
  SourceCursor cursor;
  uint64_t lines = 0, ignored = 0, disk_pos = 0;
  bool last = false;
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
    PVEAUDIT_RETURN_IF_ERROR(peek.Open(reader.SameFilePath()));
    peek.set_complete_lines_only(options.complete_lines_only);
    std::string_view l;
    while (head.size() < 20 && peek.Next(&l)) {
      if (head.empty() && first_line.empty()) first_line = std::string(l);
      if (!l.empty()) head.emplace_back(l);
    }
    PVEAUDIT_RETURN_IF_ERROR(peek.status());
  }
  if (head.empty()) {
    stats.format = options.format;
    return stats;  // an empty file imports nothing
  }
  LineFormat format;
  if (options.format == "auto") {
    auto f = DetectLineFormat(head);
    if (!f.ok())
      return Status::InvalidArgument("cannot tell the format of " + path +
                                     "; name it with --format pveproxy|auth|tasks|json");
    format = *f;
  } else if (!ParseLineFormat(options.format, &format)) {
    return Status::InvalidArgument("unknown format '" + options.format +
                                   "' (expected auto, pveproxy, auth, tasks or json)");
  }
  stats.format = std::string(LineFormatName(format));

  ParseContext ctx;
  ctx.node = options.node;
  if (ctx.node.empty() && format == LineFormat::kPveproxy) ctx.node = LocalNodeName();
  ctx.origin = path;
  struct stat st;
  ctx.reference_us =
      stat(reader.SameFilePath().c_str(), &st) == 0 ? int64_t(st.st_mtime) * 1000000 : NowUs();

  SourceCursor cursor;
  cursor.key = "fp:" + Sha256Hex(first_line) + ":" + std::string(LineFormatName(format)) + ":" +
               options.node;
  cursor.path = path;
  {
    auto c = store.GetCursor(cursor.key);
    if (!c.ok()) return c.status();
    if (c->has_value()) cursor = **c, cursor.path = path;
  }
  const uint64_t resume_line = cursor.line;
  if (reader.compressed() && cursor.offset > 0) {
    // A gzip file's trailer holds its uncompressed size (mod 2^32): when
    // the cursor is already there, the file is done; skip decompressing it.
    uint64_t isize = 0;
    if (GzipTrailerSize(reader.SameFilePath(), &isize) && isize == (cursor.offset & 0xffffffffu)) {
      stats.duplicates = stats.lines = resume_line;
      stats.cursor_key = cursor.key;
      stats.offset = cursor.offset;
      return stats;
    }
  }
  if (cursor.offset > 0) PVEAUDIT_RETURN_IF_ERROR(reader.SkipTo(cursor.offset));
  stats.duplicates = resume_line;
  stats.lines = resume_line;
  stats.cursor_key = cursor.key;
  stats.offset = cursor.offset;

  BatchQueue queue(2);
  Graveyard graveyard;
  std::thread producer([&] {
    auto parser = MakeLineParser(format, ctx);
    LoginTracker tracker;
    tracker.LoadState(cursor.state);
    uint64_t line_no = resume_line;
    std::string_view line;
    std::string reason;
    Batch b;
    b.events.reserve(options.batch_events + 64);
    ChainHasher hasher;
    bool writer_gone = false;
    auto flush = [&](bool last) {
      tracker.Apply(&b.events);
      // Task events change in the writer (EnrichTasks), so the store
      // digests those itself; the rest are hashed here, off the writer.
      if (format != LineFormat::kTasks) {
        b.digests.reserve(b.events.size());
        for (const Event& e : b.events) b.digests.push_back(hasher.Digest(e));
      }
      b.cursor = cursor;
      b.cursor.offset = reader.offset();
      b.cursor.line = line_no;
      b.cursor.state = tracker.SaveState();
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
      } else {
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
    }
    if (!reader.status().ok()) b.error = reader.status();
    if (!writer_gone) flush(true);
  });

  Status result;
  Batch b;
  while (queue.Pop(&b)) {
    if (!b.error.ok()) {
      result = b.error;
      break;
    }
    // Nothing new (a tailer polling an idle file): no transaction at all.
    const std::vector<Hash256>* digests = format == LineFormat::kTasks ? nullptr : &b.digests;
    Status st =
        b.lines == 0 ? Status::OK() : store.Append(&b.events, b.rejected, &b.cursor, digests);
    if (!st.ok()) {
      result = st;
      break;
    }
    stats.lines += b.lines;
    stats.stored += b.events.size();
    stats.offset = b.cursor.offset;
    for (const Event& e : b.events) stats.last_event_us = std::max(stats.last_event_us, e.time_us);
    stats.ignored += b.ignored;
    stats.rejected += b.rejected.size();
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

#include "evidence/archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/table.h"
#include "core/time_spec.h"
#include "evidence/audit_event.h"
#include "evidence/files.h"
#include "evidence/month_bundle.h"
#include "store/block_codec.h"
#include "store/chain.h"

namespace pveaudit {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "pveaudit-archive/1";
constexpr const char* kPurged = "purged.json";
constexpr const char* kPurgedSig = "purged.sig";
// The zstd level: 3 (zstd's default). Level 9 made archives ~10 % smaller
// but took 3x the time (bench/RESULTS.md, "Archives").
constexpr int kZstdLevel = 3;
// A line longer than this is not one of ours (an event is a few KiB at
// most; detail is cut at 4 KiB by the parsers).
constexpr size_t kMaxLine = 16 << 20;

// The string fields of an event in canonical-encoding order (docs/integrity.md).
struct StringField {
  const char* key;
  std::string Event::*member;
};
constexpr StringField kStringFields[] = {
    {"node", &Event::node},     {"user", &Event::user},         {"ip", &Event::ip},
    {"action", &Event::action}, {"resource", &Event::resource}, {"status", &Event::status},
    {"source", &Event::source}, {"session", &Event::session},   {"detail", &Event::detail},
    {"origin", &Event::origin}};

std::string Hex(std::string_view s) {
  return HexBytes(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

bool Unhex(const std::string& hex, std::string* out) {
  if (hex.size() % 2) return false;
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int v = 0;
    for (size_t k = 0; k < 2; ++k) {
      char c = hex[i + k];
      int n = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (n < 0) return false;
      v = v * 16 + n;
    }
    out->push_back(char(v));
  }
  return true;
}

// One event as a JSON line, keys in a fixed order, written by hand (a
// json value per event cost more than the compression). The chain hashes
// bytes, not text: a string that is not valid UTF-8 (JSON cannot carry
// it) is written as {"hex": "..."} so that the archive keeps the exact bytes.
void EncodeEventLine(const Event& e, const Hash256& h, std::string* out) {
  *out += "{\"id\":";
  *out += std::to_string(e.id);
  *out += ",\"h\":\"";
  *out += HexBytes(h.data(), 4);
  *out += "\",\"time_us\":";
  *out += std::to_string(e.time_us);
  *out += ",\"result\":";
  *out += std::to_string(int(e.result));
  *out += ",\"origin_line\":";
  *out += std::to_string(e.origin_line);
  for (const StringField& f : kStringFields) {
    *out += ",\"";
    *out += f.key;
    *out += "\":";
    const std::string& v = e.*f.member;
    if (IsValidUtf8(v)) {
      AppendJsonString(v, out);
    } else {
      *out += "{\"hex\":\"";
      *out += Hex(v);
      *out += "\"}";
    }
  }
  *out += "}\n";
}

// The line exactly as EncodeEvent writes it (keys in its order, strings
// with only the escapes AppendJsonString writes, valid UTF-8): true with
// the event filled; false on anything else, which DecodeEvent then hands to
// nlohmann. Written by hand because nlohmann's DOM cost two thirds of
// `archive verify` (a map and a string per key); it accepts only what
// nlohmann reads the same (DecodeFastMatchesNlohmann in archive_test.cc).
bool DecodeFastLine(std::string_view line, Event* e, uint32_t* h32) {
  size_t p = 0;
  auto lit = [&](std::string_view s) {
    if (line.substr(p, s.size()) != s) return false;
    p += s.size();
    return true;
  };
  auto digits = [&](uint64_t* out) {
    size_t start = p;
    uint64_t v = 0;
    while (p < line.size() && line[p] >= '0' && line[p] <= '9') {
      if (v > (UINT64_MAX - 9) / 10) return false;
      v = v * 10 + uint64_t(line[p++] - '0');
    }
    // JSON numbers have no leading zeros.
    if (p == start || (line[start] == '0' && p - start > 1)) return false;
    *out = v;
    return true;
  };
  auto str = [&](std::string* out) {
    if (!lit("\"")) return false;
    out->clear();
    for (;;) {
      size_t q = p;
      while (q < line.size() && line[q] != '"' && line[q] != '\\' &&
             static_cast<unsigned char>(line[q]) >= 0x20)
        ++q;
      out->append(line.substr(p, q - p));
      p = q;
      if (p >= line.size() || static_cast<unsigned char>(line[p]) < 0x20) return false;
      if (line[p++] == '"') return IsValidUtf8(*out);
      if (p >= line.size()) return false;
      char c = line[p++];
      switch (c) {
        case '"':
        case '\\':
        case '/':
          out->push_back(c);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {  // \u00XX only (what AppendJsonString writes for control bytes)
          if (line.size() - p < 4 || line.substr(p, 2) != "00") return false;
          int v = 0;
          for (size_t k = p + 2; k < p + 4; ++k) {
            char x = line[k];
            int n = x >= '0' && x <= '9'   ? x - '0'
                    : x >= 'a' && x <= 'f' ? x - 'a' + 10
                    : x >= 'A' && x <= 'F' ? x - 'A' + 10
                                           : -1;
            if (n < 0) return false;
            v = v * 16 + n;
          }
          if (v >= 0x80) return false;
          out->push_back(char(v));
          p += 4;
          break;
        }
        default:
          return false;
      }
    }
  };
  uint64_t result = 0, time_abs = 0;
  std::string h;
  if (!lit("{\"id\":") || !digits(&e->id) || !lit(",\"h\":") || !str(&h) || h.size() != 8 ||
      !lit(",\"time_us\":"))
    return false;
  const bool negative = p < line.size() && line[p] == '-';
  if (negative) ++p;
  if (!digits(&time_abs) || time_abs > uint64_t(INT64_MAX)) return false;
  e->time_us = negative ? -int64_t(time_abs) : int64_t(time_abs);
  if (!lit(",\"result\":") || !digits(&result) || result > 2 || !lit(",\"origin_line\":") ||
      !digits(&e->origin_line))
    return false;
  e->result = Outcome(result);
  for (const StringField& f : kStringFields) {
    if (!lit(",\"") || !lit(f.key) || !lit("\":") || !str(&(e->*f.member))) return false;
  }
  if (!lit("}") || p != line.size()) return false;
  uint32_t v = 0;
  for (char x : h) {
    int n = x >= '0' && x <= '9' ? x - '0' : x >= 'a' && x <= 'f' ? x - 'a' + 10 : -1;
    if (n < 0) return false;
    v = v << 4 | uint32_t(n);
  }
  *h32 = v;
  return true;
}

Result<Event> DecodeJsonLine(std::string_view line, uint32_t* h32) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) return Status::Corruption("not a JSON object");
  Event e;
  auto num = [&](const char* k, auto* out) -> bool {
    auto it = j.find(k);
    if (it == j.end() || !it->is_number_integer()) return false;
    *out = it->get<std::remove_pointer_t<decltype(out)>>();
    return true;
  };
  int result = -1;
  if (!num("id", &e.id) || !num("time_us", &e.time_us) || !num("result", &result) ||
      !num("origin_line", &e.origin_line) || result < 0 || result > 2)
    return Status::Corruption("id, time_us, result or origin_line missing or not a number");
  e.result = Outcome(result);
  std::string h;
  auto hit = j.find("h");
  if (hit == j.end() || !hit->is_string() || !Unhex(hit->get<std::string>(), &h) || h.size() != 4)
    return Status::Corruption("h (the chain hash prefix) missing or not 8 hex digits");
  *h32 = uint32_t(uint8_t(h[0])) << 24 | uint32_t(uint8_t(h[1])) << 16 |
         uint32_t(uint8_t(h[2])) << 8 | uint8_t(h[3]);
  for (const StringField& f : kStringFields) {
    auto it = j.find(f.key);
    if (it == j.end()) return Status::Corruption(std::string("no field ") + f.key);
    if (it->is_string()) {
      e.*f.member = it->get<std::string>();
    } else if (it->is_object() && it->contains("hex") && (*it)["hex"].is_string()) {
      if (!Unhex((*it)["hex"].get<std::string>(), &(e.*f.member)))
        return Status::Corruption(std::string("field ") + f.key + " has bad hex");
    } else {
      return Status::Corruption(std::string("field ") + f.key + " is not a string");
    }
  }
  return e;
}

}  // namespace

void EncodeArchiveLine(const Event& e, const Hash256& h, std::string* out) {
  EncodeEventLine(e, h, out);
}

Result<Event> DecodeArchiveLine(std::string_view line, uint32_t* h32, bool fast) {
  if (Event e; fast && DecodeFastLine(line, &e, h32)) return e;
  return DecodeJsonLine(line, h32);
}

namespace {

// Streams zstd-compressed bytes to a file descriptor.
class ZstdFileWriter {
 public:
  ~ZstdFileWriter() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Open(const std::string& path) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
    cctx_ = ThreadZstdContexts().c;
    ZSTD_CCtx_reset(cctx_, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, kZstdLevel);
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
    out_.resize(ZSTD_CStreamOutSize());
    return Status::OK();
  }
  Status Write(std::string_view data) { return Push(data, ZSTD_e_continue); }
  // Ends the frame and fsyncs the file.
  Status Finish() {
    PVEAUDIT_RETURN_IF_ERROR(Push({}, ZSTD_e_end));
    if (::fsync(fd_) != 0)
      return Status::IOError("cannot write " + path_ + ": " + std::strerror(errno));
    ::close(fd_);
    fd_ = -1;
    return Status::OK();
  }

 private:
  Status Push(std::string_view data, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    for (;;) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      size_t left = ZSTD_compressStream2(cctx_, &out, &in, mode);
      if (ZSTD_isError(left))
        return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(left));
      for (size_t off = 0; off < out.pos;) {
        ssize_t n = ::write(fd_, out_.data() + off, out.pos - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return Status::IOError("cannot write " + path_ + ": " + std::strerror(errno));
        off += size_t(n);
      }
      if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) return Status::OK();
    }
  }
  std::string path_;
  int fd_ = -1;
  ZSTD_CCtx* cctx_ = nullptr;
  std::string out_;
};

// Calls `fn` with each line of a zstd-compressed file (without the '\n').
Status ForEachZstdLine(const std::string& path, const std::function<Status(std::string_view)>& fn) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return errno == ENOENT
               ? Status::NotFound("is missing")
               : Status::IOError(std::string("cannot be read: ") + std::strerror(errno));
  ZSTD_DCtx* d = ThreadZstdContexts().d;
  ZSTD_DCtx_reset(d, ZSTD_reset_session_and_parameters);
  std::string in(ZSTD_DStreamInSize(), '\0'), out(ZSTD_DStreamOutSize(), '\0'), line;
  Status st;
  size_t last = 1;  // ZSTD_decompressStream's last hint: 0 once a frame is complete
  ssize_t n;
  while (st.ok() && (n = ::read(fd, in.data(), in.size())) > 0) {
    ZSTD_inBuffer ib{in.data(), size_t(n), 0};
    while (st.ok() && ib.pos < ib.size) {
      ZSTD_outBuffer ob{out.data(), out.size(), 0};
      last = ZSTD_decompressStream(d, &ob, &ib);
      if (ZSTD_isError(last)) {
        st = Status::Corruption(std::string("is not valid zstd data: ") + ZSTD_getErrorName(last));
        break;
      }
      std::string_view chunk(out.data(), ob.pos);
      while (st.ok() && !chunk.empty()) {
        size_t nl = chunk.find('\n');
        if (nl == std::string_view::npos) {
          line.append(chunk);
          if (line.size() > kMaxLine) st = Status::Corruption("holds a line longer than 16 MiB");
          break;
        }
        line.append(chunk.substr(0, nl));
        st = fn(line);
        line.clear();
        chunk.remove_prefix(nl + 1);
      }
    }
  }
  if (st.ok() && n < 0)
    st = Status::IOError(std::string("cannot be read: ") + std::strerror(errno));
  if (st.ok() && last != 0)
    st = Status::Corruption("ends in the middle of its zstd data (truncated)");
  if (st.ok() && !line.empty()) st = Status::Corruption("ends in the middle of a line (truncated)");
  ::close(fd);
  return st;
}

// Each event of the events file at `path` with its stored hash prefix.
Status ScanEventsFile(const std::string& path, const std::function<bool(Event&, uint32_t)>& fn) {
  bool stop = false;
  uint64_t line_no = 0;
  return ForEachZstdLine(path, [&](std::string_view line) -> Status {
    ++line_no;
    if (stop) return Status::OK();
    uint32_t h32 = 0;
    auto e = DecodeArchiveLine(line, &h32);
    if (!e.ok())
      return Status::Corruption("line " + std::to_string(line_no) +
                                " is damaged: " + e.status().message());
    if (!fn(*e, h32)) stop = true;
    return Status::OK();
  });
}

std::string ArchiveName(const std::string& period, uint64_t first, uint64_t last) {
  return period + "." + std::to_string(first) + "-" + std::to_string(last);
}

Status MakePrivateDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::IOError("cannot create " + dir + ": " + std::strerror(errno));
  return Status::OK();
}

// Replaces `path` with `data` atomically (tmp + fsync + rename).
Status ReplaceFile(const std::string& dir, const std::string& name, std::string_view data) {
  std::string tmp = dir + "/." + name + ".tmp";
  ::unlink(tmp.c_str());
  PVEAUDIT_RETURN_IF_ERROR(WriteWhole(tmp, data));
  if (::rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0)
    return Status::IOError("cannot rename " + tmp + ": " + std::strerror(errno));
  FsyncDir(dir);
  return Status::OK();
}

std::string RecordLine(const ArchiveRecord& r) {
  return "archive=" + r.name + " period=" + r.period + " events=" + std::to_string(r.events) +
         " ids=" + std::to_string(r.first_id) + "-" + std::to_string(r.last_id) +
         " manifest_sha256=" + r.manifest_sha256;
}

}  // namespace

std::vector<ArchivePlanItem> PlanArchives(const std::vector<BlockSpan>& spans,
                                          const std::vector<ArchiveRecord>& records,
                                          int64_t cutoff_us) {
  std::vector<ArchivePlanItem> plan;
  // The chain hash after each archived range, by its last id.
  std::map<uint64_t, std::string> archived_heads;
  for (const ArchiveRecord& r : records) archived_heads[r.last_id] = r.last_hash;
  bool in_run = false;
  for (size_t i = 0; i + 1 < spans.size(); ++i) {  // the newest block keeps growing
    const BlockSpan& b = spans[i];
    if (b.t_max_us >= cutoff_us) {
      in_run = false;
      continue;
    }
    const std::string month = MonthOf(b.t_max_us).Name();
    if (!in_run || plan.back().last_id + 1 != b.first_id || plan.back().period < month) {
      ArchivePlanItem it;
      it.period = month;
      it.first_id = b.first_id;
      it.t_min_us = b.t_min_us;
      it.t_max_us = b.t_max_us;
      if (b.first_id == 1) {
        it.prev_hash = HexHash(Hash256{});
      } else if (i > 0 && spans[i - 1].last_id + 1 == b.first_id) {
        it.prev_hash = spans[i - 1].head_hash;
      } else if (auto h = archived_heads.find(b.first_id - 1); h != archived_heads.end()) {
        it.prev_hash = h->second;
      } else {
        in_run = false;  // events before it are neither online nor archived: verify says so
        continue;
      }
      plan.push_back(std::move(it));
      in_run = true;
    }
    ArchivePlanItem& it = plan.back();
    it.last_id = b.last_id;
    it.events += b.events;
    it.last_hash = b.head_hash;
    it.t_min_us = std::min(it.t_min_us, b.t_min_us);
    it.t_max_us = std::max(it.t_max_us, b.t_max_us);
  }
  uint64_t seq = records.size();
  for (ArchivePlanItem& it : plan) {
    it.seq = ++seq;
    it.name = ArchiveName(it.period, it.first_id, it.last_id);
  }
  return plan;
}

Status ReadArchiveEvents(const std::string& dir, const std::function<bool(Event&)>& fn) {
  auto mtext = ReadBoundedFile(dir + "/" + kArchiveManifest, 1 << 20);
  if (!mtext.ok())
    return Status::Corruption(dir + "/" + kArchiveManifest + " " + mtext.status().message());
  nlohmann::json m = nlohmann::json::parse(*mtext, nullptr, false);
  if (!m.is_object() || !m.contains("events_sha256") || !m["events_sha256"].is_string())
    return Status::Corruption(dir + "/" + kArchiveManifest + " is not an archive manifest");
  const std::string events_path = dir + "/" + kArchiveEventsFile;
  auto sha = Sha256File(events_path, nullptr);
  if (!sha.ok()) return Status::Corruption(events_path + " " + sha.status().message());
  if (*sha != m["events_sha256"].get<std::string>())
    return Status::Corruption(events_path + " does not match its manifest (edited or replaced)");
  Status st = ScanEventsFile(events_path, [&](Event& e, uint32_t) { return fn(e); });
  if (!st.ok() && st.code() == Status::Code::kCorruption)
    return Status::Corruption(events_path + " " + st.message());
  return st;
}

Result<ArchiveRecord> WriteArchive(EventStore& store, const SigningKey& key,
                                   const ArchivePlanItem& item, const ArchiveWriteOptions& o) {
  PVEAUDIT_RETURN_IF_ERROR(MakePrivateDir(o.archive_dir));
  const std::string final_dir = o.archive_dir + "/" + item.name;
  const std::string tmp = final_dir + ".partial";
  std::error_code ec;
  auto record_of = [&](const ArchiveCheck& c) {
    ArchiveRecord r;
    r.seq = item.seq;
    r.name = item.name;
    r.period = item.period;
    r.first_id = c.first_id;
    r.last_id = c.last_id;
    r.events = c.events;
    r.t_min_us = c.t_min_us;
    r.t_max_us = c.t_max_us;
    r.prev_hash = c.prev_hash;
    r.last_hash = c.last_hash;
    r.manifest_sha256 = c.manifest_sha256;
    r.archived_us = o.now_us;
    return r;
  };
  auto matches = [&](const ArchiveCheck& c) {
    return c.ok && c.seq == item.seq && c.prev_manifest_sha256 == item.prev_manifest_sha256 &&
           c.first_id == item.first_id && c.last_id == item.last_id && c.events == item.events &&
           c.prev_hash == item.prev_hash && c.last_hash == item.last_hash;
  };
  if (fs::exists(final_dir, ec)) {
    // A crash after the rename and before the store dropped the events.
    ArchiveCheck c = CheckArchiveDir(final_dir, key.public_pem(), /*rehash=*/true);
    if (matches(c)) return record_of(c);
    std::string aside = final_dir + ".damaged-" + std::to_string(o.now_us / 1000000);
    if (::rename(final_dir.c_str(), aside.c_str()) != 0)
      return Status::IOError("cannot move the damaged " + final_dir +
                             " aside: " + std::strerror(errno));
  }
  fs::remove_all(tmp, ec);
  if (ec) return Status::IOError("cannot remove " + tmp + ": " + ec.message());
  if (::mkdir(tmp.c_str(), 0700) != 0)
    return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));

  ZstdFileWriter w;
  PVEAUDIT_RETURN_IF_ERROR(w.Open(tmp + "/" + kArchiveEventsFile));
  ChainHasher hasher;
  Hash256 h{};
  if (!ParseHexHash(item.prev_hash, &h))
    return Status::InvalidArgument("archive " + item.name + ": bad previous chain hash");
  uint64_t expect = item.first_id, n = 0;
  int64_t t_min = INT64_MAX, t_max = INT64_MIN;
  Status st;
  std::string buf;
  Status scan = store.ScanAfter(item.first_id - 1, item.events, kFieldAll, [&](Event& e) {
    if (e.id != expect) {
      st = Status::Corruption("the store skips from event " + std::to_string(expect - 1) + " to " +
                              std::to_string(e.id));
      return false;
    }
    h = hasher.Next(h, e);
    t_min = std::min(t_min, e.time_us);
    t_max = std::max(t_max, e.time_us);
    EncodeArchiveLine(e, h, &buf);
    if (buf.size() >= (1 << 20)) {
      st = w.Write(buf);
      buf.clear();
    }
    ++expect;
    ++n;
    return st.ok();
  });
  PVEAUDIT_RETURN_IF_ERROR(scan);
  PVEAUDIT_RETURN_IF_ERROR(st);
  if (n != item.events || HexHash(h) != item.last_hash)
    return Status::Corruption(
        "events " + std::to_string(item.first_id) + "-" + std::to_string(item.last_id) +
        " do not hash to the chain hash stored for event " + std::to_string(item.last_id) +
        ": nothing was archived; run pveam access verify");
  PVEAUDIT_RETURN_IF_ERROR(w.Write(buf));
  PVEAUDIT_RETURN_IF_ERROR(w.Finish());
  uint64_t bytes = 0;
  auto events_sha = Sha256File(tmp + "/" + kArchiveEventsFile, &bytes);
  if (!events_sha.ok())
    return Status::IOError(tmp + "/" + kArchiveEventsFile + " " + events_sha.status().message());

  nlohmann::json fields = nlohmann::json::object();
  fields["id"] = "event id: 1, 2, 3, ... in chain order";
  fields["time_us"] = "microseconds since 1970-01-01T00:00:00Z";
  fields["result"] = "0 unknown, 1 success, 2 failure";
  fields["origin_line"] = "1-based line in the source file, 0 if none";
  for (const StringField& f : kStringFields)
    fields[f.key] = "string; {\"hex\": ...} when its bytes are not UTF-8";
  nlohmann::json manifest = {
      {"format", kFormat},
      {"about",
       "Events moved out of a pveaudit store by its retention policy. events.jsonl.zst holds "
       "one JSON object per event in id order; the chain hash of each is "
       "SHA-256(previous || u64be id || SHA-256(canonical encoding)), docs/integrity.md. "
       "Check with: pveam access archive verify DIR (docs/retention.md)."},
      {"seq", item.seq},
      {"prev_manifest_sha256", item.prev_manifest_sha256},
      {"name", item.name},
      {"period", item.period},
      {"node", o.node},
      {"software", o.software},
      {"created", FormatRfc3339Utc(o.now_us)},
      {"events", n},
      {"first_id", item.first_id},
      {"last_id", item.last_id},
      {"first_time", FormatRfc3339Utc(t_min)},
      {"last_time", FormatRfc3339Utc(t_max)},
      {"t_min_us", t_min},
      {"t_max_us", t_max},
      {"prev_hash", item.prev_hash},
      {"last_hash", item.last_hash},
      {"events_file", kArchiveEventsFile},
      {"events_sha256", *events_sha},
      {"events_bytes", bytes},
      {"compression", "zstd"},
      {"fields", fields},
      {"key_fingerprint", key.fingerprint()}};
  const std::string mtext = manifest.dump(2) + "\n";
  auto sig = key.Sign(mtext);
  if (!sig.ok()) return sig.status();
  PVEAUDIT_RETURN_IF_ERROR(WriteWhole(tmp + "/" + kArchiveManifest, mtext));
  PVEAUDIT_RETURN_IF_ERROR(WriteWhole(tmp + "/" + kArchiveSignature, *sig));
  PVEAUDIT_RETURN_IF_ERROR(WriteWhole(tmp + "/" + kArchiveKey, key.public_pem()));
  FsyncDir(tmp);
  if (::rename(tmp.c_str(), final_dir.c_str()) != 0)
    return Status::IOError("cannot rename " + tmp + ": " + std::strerror(errno));
  FsyncDir(o.archive_dir);
  // Read back what is on disk before the store lets go of the events.
  ArchiveCheck c = CheckArchiveDir(final_dir, key.public_pem(), /*rehash=*/true);
  if (!matches(c))
    return Status::Corruption(
        "archive " + final_dir + " does not check out after writing: " +
        (c.problems.empty() ? std::string("its contents differ") : c.problems.front()));
  return record_of(c);
}

ArchiveCheck CheckArchiveDir(const std::string& dir, const std::string& trusted_key_pem,
                             bool rehash) {
  ArchiveCheck c;
  c.dir = dir;
  auto problem = [&](std::string p) { c.problems.push_back(std::move(p)); };
  auto mtext = ReadBoundedFile(dir + "/" + kArchiveManifest, 1 << 20);
  if (!mtext.ok()) {
    problem(std::string(kArchiveManifest) + " " + mtext.status().message());
    return c;
  }
  c.manifest_sha256 = Sha256Hex(*mtext);
  auto sig = ReadBoundedFile(dir + "/" + kArchiveSignature, 4096);
  std::string pem = trusted_key_pem;
  if (pem.empty()) {
    c.key_from_archive = true;
    auto k = ReadBoundedFile(dir + "/" + kArchiveKey, 65536);
    if (!k.ok()) {
      problem(std::string(kArchiveKey) + " " + k.status().message());
      return c;
    }
    pem = *k;
  }
  if (!sig.ok()) {
    problem(std::string(kArchiveSignature) + " " + sig.status().message());
  } else {
    PublicKeyInfo info;
    Status vs = VerifySignature(pem, *mtext, *sig, &info);
    c.key_fingerprint = info.fingerprint;
    if (!vs.ok()) problem("the manifest's signature does not check out: " + vs.message());
  }
  nlohmann::json m = nlohmann::json::parse(*mtext, nullptr, false);
  if (!m.is_object() || m.value("format", "") != kFormat) {
    problem(std::string(kArchiveManifest) + " is not a " + kFormat + " manifest");
    return c;
  }
  try {
    c.seq = m.at("seq").get<uint64_t>();
    c.prev_manifest_sha256 = Printable(m.at("prev_manifest_sha256").get<std::string>());
    c.name = Printable(m.at("name").get<std::string>());
    c.period = Printable(m.at("period").get<std::string>());
    c.first_id = m.at("first_id").get<uint64_t>();
    c.last_id = m.at("last_id").get<uint64_t>();
    c.events = m.at("events").get<uint64_t>();
    c.t_min_us = m.at("t_min_us").get<int64_t>();
    c.t_max_us = m.at("t_max_us").get<int64_t>();
    c.prev_hash = Printable(m.at("prev_hash").get<std::string>());
    c.last_hash = Printable(m.at("last_hash").get<std::string>());
  } catch (const nlohmann::json::exception&) {
    problem(std::string(kArchiveManifest) + " lacks a field or has one of the wrong type");
    return c;
  }
  if (c.last_id < c.first_id || c.events != c.last_id - c.first_id + 1)
    problem("the manifest's ids " + std::to_string(c.first_id) + "-" + std::to_string(c.last_id) +
            " do not hold " + std::to_string(c.events) + " events");
  auto purged = ReadBoundedFile(dir + "/" + kPurged, 65536);
  if (purged.ok()) {
    // A purged archive keeps its signed manifest (so the chain of archives
    // still links up) and a signed note of the purge; its events are gone.
    auto psig = ReadBoundedFile(dir + "/" + kPurgedSig, 4096);
    Status vs = psig.ok() ? VerifySignature(pem, *purged, *psig) : psig.status();
    nlohmann::json pj = nlohmann::json::parse(*purged, nullptr, false);
    if (!vs.ok() || !pj.is_object() || pj.value("manifest_sha256", "") != c.manifest_sha256)
      problem("its purge note is not signed or names another manifest");
    c.purged = true;
    c.ok = c.problems.empty();
    return c;
  }
  const std::string events_path = dir + "/" + kArchiveEventsFile;
  auto sha = Sha256File(events_path, nullptr);
  if (!sha.ok()) {
    problem(std::string(kArchiveEventsFile) + " " + sha.status().message());
    return c;
  }
  if (*sha != m.value("events_sha256", ""))
    problem(std::string(kArchiveEventsFile) +
            " does not match the digest in the manifest (edited, replaced, or the manifest is "
            "another archive's)");
  // Re-hashed even when the digest differs: the first altered event is
  // then named.
  const size_t before_rehash = c.problems.size();
  Hash256 h{};
  if (rehash && !ParseHexHash(c.prev_hash, &h)) {
    problem("the manifest's prev_hash is not a SHA-256 hash");
  } else if (rehash) {
    ChainHasher hasher;
    uint64_t expect = c.first_id;
    int64_t t_min = INT64_MAX, t_max = INT64_MIN;
    auto bad = [&](uint64_t id, std::string why) {
      c.first_bad_id = id;
      problem(std::move(why));
      return false;
    };
    Status st = ScanEventsFile(events_path, [&](Event& e, uint32_t h32) {
      if (e.id > expect)
        return bad(expect, "event " + std::to_string(expect) +
                               " is missing: the archive jumps "
                               "from event " +
                               std::to_string(expect - 1) + " to " + std::to_string(e.id) +
                               " (deleted)");
      if (e.id < expect)
        return bad(e.id, "event " + std::to_string(e.id) + " appears again after event " +
                             std::to_string(expect - 1) + " (inserted or duplicated)");
      if (e.id > c.last_id)
        return bad(e.id, "event " + std::to_string(e.id) +
                             " lies beyond the manifest's last "
                             "event " +
                             std::to_string(c.last_id) + " (inserted)");
      h = hasher.Next(h, e);
      if (HashPrefix32(h) != h32)
        return bad(e.id, "event " + std::to_string(e.id) +
                             ": contents do not match its chain hash (edited, or an event before "
                             "it was altered)");
      t_min = std::min(t_min, e.time_us);
      t_max = std::max(t_max, e.time_us);
      ++expect;
      return true;
    });
    if (!st.ok()) {
      problem(std::string(kArchiveEventsFile) + " " + st.message());
    } else if (c.problems.size() == before_rehash) {
      if (expect != c.last_id + 1)
        bad(expect, "the archive ends at event " + std::to_string(expect - 1) +
                        " but its manifest says " + std::to_string(c.last_id) + " (truncated)");
      else if (HexHash(h) != c.last_hash)
        bad(c.last_id, "the recomputed chain hash of event " + std::to_string(c.last_id) +
                           " does not match the manifest's last_hash (events were rewritten)");
      else if (t_min != c.t_min_us || t_max != c.t_max_us)
        problem("the events' times do not match the manifest's first_time/last_time");
    }
  }
  c.ok = c.problems.empty();
  return c;
}

std::vector<std::string> CheckArchiveSequence(std::vector<ArchiveCheck>* checks) {
  std::vector<std::string> out;
  std::sort(checks->begin(), checks->end(),
            [](const ArchiveCheck& a, const ArchiveCheck& b) { return a.seq < b.seq; });
  const ArchiveCheck* prev = nullptr;
  std::map<uint64_t, const ArchiveCheck*> by_first;  // to find archives claiming the same events
  for (const ArchiveCheck& c : *checks) {
    if (c.seq == 0) continue;  // unreadable: reported on its own
    if (!prev && c.seq != 1)
      out.push_back("archives 1-" + std::to_string(c.seq - 1) +
                    " are not among those given (the first given, " + c.name + ", is archive " +
                    std::to_string(c.seq) + ")");
    if (prev && c.seq == prev->seq)
      out.push_back(c.name + " and " + prev->name + " both claim to be archive " +
                    std::to_string(c.seq) + " (a copy or a replaced manifest)");
    else if (prev && c.seq > prev->seq + 1)
      out.push_back(c.seq == prev->seq + 2
                        ? "archive " + std::to_string(prev->seq + 1) + " between " + prev->name +
                              " and " + c.name + " is missing (removed?)"
                        : "archives " + std::to_string(prev->seq + 1) + "-" +
                              std::to_string(c.seq - 1) + " between " + prev->name + " and " +
                              c.name + " are missing (removed?)");
    else if (prev && c.prev_manifest_sha256 != prev->manifest_sha256)
      out.push_back(c.name + " does not follow " + prev->name +
                    ": its prev_manifest_sha256 is not that manifest's digest (replaced?)");
    auto next = by_first.upper_bound(c.first_id);
    if (next != by_first.end() && next->second->first_id <= c.last_id)
      out.push_back(c.name + " and " + next->second->name + " hold the same events");
    else if (next != by_first.begin() && std::prev(next)->second->last_id >= c.first_id)
      out.push_back(c.name + " and " + std::prev(next)->second->name + " hold the same events");
    by_first[c.first_id] = &c;
    prev = &c;
  }
  return out;
}

namespace {

// Marks archive `name` purged in its directory: a signed note beside the
// manifest, so that the archives still link up offline. Then drops the
// events file.
Status WritePurgeNote(const std::string& dir, const SigningKey& key, const ArchiveRecord& r,
                      const std::string& user, int64_t now_us) {
  nlohmann::json note = {{"purged", FormatRfc3339Utc(now_us)},
                         {"by", user},
                         {"name", r.name},
                         {"manifest_sha256", r.manifest_sha256},
                         {"events", r.events},
                         {"why", "past the archive retention period, no legal hold"}};
  std::string text = note.dump(2) + "\n";
  auto sig = key.Sign(text);
  if (!sig.ok()) return sig.status();
  PVEAUDIT_RETURN_IF_ERROR(ReplaceFile(dir, kPurgedSig, *sig));
  return ReplaceFile(dir, kPurged, text);
}

Status DropEventsFile(const std::string& dir) {
  if (::unlink((dir + "/" + kArchiveEventsFile).c_str()) != 0) {
    if (errno == ENOENT) return Status::OK();  // already gone: nothing to make durable
    return Status::IOError("cannot remove " + dir + "/" + kArchiveEventsFile + ": " +
                           std::strerror(errno));
  }
  FsyncDir(dir);
  return Status::OK();
}

Status RecordOwnEvent(EventStore& store, const std::string& action, const RetentionRunOptions& o,
                      const ArchiveRecord& r) {
  std::vector<Event> ev{OwnAuditEvent(action, o.user, o.write.node, RecordLine(r), NowUs())};
  return store.Append(&ev, {}, nullptr);
}

}  // namespace

Result<RetentionRun> RunRetention(EventStore& store, const SigningKey* key,
                                  const RetentionPolicy& policy,
                                  const std::vector<LegalHold>& holds,
                                  const RetentionRunOptions& o) {
  RetentionRun run;
  if (!policy.Archives()) return run;
  if (!key && !o.dry_run) return Status::InvalidArgument("RunRetention: no signing key");
  const int64_t now = o.write.now_us;
  run.online_cutoff_us = MonthsBackStart(now, policy.online_months);
  auto records = store.ListArchives();
  if (!records.ok()) return records.status();
  // Leftovers of a crash: half-written directories, events files of
  // archives purged in the store.
  std::error_code ec;
  if (!o.dry_run && fs::is_directory(policy.archive_dir, ec)) {
    for (const auto& d : fs::directory_iterator(policy.archive_dir, ec)) {
      std::string n = d.path().filename().string();
      if (n.size() > 8 && n.compare(n.size() - 8, 8, ".partial") == 0) fs::remove_all(d.path(), ec);
    }
    for (const ArchiveRecord& r : *records)
      if (r.purged_us) PVEAUDIT_RETURN_IF_ERROR(DropEventsFile(policy.archive_dir + "/" + r.name));
  }
  auto spans = store.ListBlockSpans();
  if (!spans.ok()) return spans.status();
  std::string prev_manifest = records->empty() ? "" : records->back().manifest_sha256;
  for (ArchivePlanItem item : PlanArchives(*spans, *records, run.online_cutoff_us)) {
    item.prev_manifest_sha256 = prev_manifest;
    ArchiveRecord rec;
    if (o.dry_run) {
      rec.seq = item.seq;
      rec.name = item.name;
      rec.period = item.period;
      rec.first_id = item.first_id;
      rec.last_id = item.last_id;
      rec.events = item.events;
      rec.t_min_us = item.t_min_us;
      rec.t_max_us = item.t_max_us;
    } else {
      auto w = WriteArchive(store, *key, item, o.write);
      if (!w.ok()) return w.status();
      rec = *w;
      PVEAUDIT_RETURN_IF_ERROR(store.RemoveArchivedRange(rec));
      PVEAUDIT_RETURN_IF_ERROR(RecordOwnEvent(store, "audit:archive", o, rec));
      if (o.progress) o.progress("archived " + RecordLine(rec));
      prev_manifest = rec.manifest_sha256;
    }
    run.archived.push_back(std::move(rec));
  }
  if (!policy.archive_months) return run;
  run.purge_cutoff_us = MonthsBackStart(now, policy.archive_months);
  auto all = store.ListArchives();
  if (!all.ok()) return all.status();
  for (const ArchiveRecord& r : *all) {
    if (r.purged_us || r.t_max_us >= run.purge_cutoff_us) continue;
    auto hold = std::find_if(holds.begin(), holds.end(), [&](const LegalHold& h) {
      return h.Covers(r.t_min_us, r.t_max_us, now);
    });
    if (hold != holds.end()) {
      run.held.emplace_back(r, hold->id);
      continue;
    }
    if (!o.dry_run) {
      const std::string dir = policy.archive_dir + "/" + r.name;
      PVEAUDIT_RETURN_IF_ERROR(WritePurgeNote(dir, *key, r, o.user, now));
      PVEAUDIT_RETURN_IF_ERROR(store.MarkArchivePurged(r.name, now));
      PVEAUDIT_RETURN_IF_ERROR(DropEventsFile(dir));
      PVEAUDIT_RETURN_IF_ERROR(RecordOwnEvent(store, "audit:purge", o, r));
      if (o.progress) o.progress("purged " + RecordLine(r));
    }
    run.purged.push_back(r);
  }
  return run;
}

std::vector<std::string> CheckArchivesAgainstStore(const std::vector<ArchiveRecord>& records,
                                                   const std::string& archive_dir,
                                                   const std::string& trusted_key_pem) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const ArchiveRecord& r : records) {
    const std::string dir = archive_dir + "/" + r.name;
    const std::string what = "archive " + r.name + " (events " + std::to_string(r.first_id) + "-" +
                             std::to_string(r.last_id) + ")";
    if (!fs::is_directory(dir, ec)) {
      out.push_back(what + " is missing from " + archive_dir + " (removed or moved)");
      continue;
    }
    ArchiveCheck c = CheckArchiveDir(dir, trusted_key_pem, /*rehash=*/false);
    if (c.manifest_sha256 != r.manifest_sha256 && !c.manifest_sha256.empty()) {
      out.push_back(what +
                    ": its manifest is not the one recorded when it was written "
                    "(replaced or edited)");
      continue;
    }
    for (const std::string& p : c.problems) out.push_back(what + ": " + p);
    if (c.problems.empty() && (c.first_id != r.first_id || c.last_id != r.last_id ||
                               c.prev_hash != r.prev_hash || c.last_hash != r.last_hash))
      out.push_back(what + ": its manifest does not match the store's record");
  }
  return out;
}

}  // namespace pveaudit

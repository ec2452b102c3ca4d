#include "pipeline/journal_source.h"

#include <sys/stat.h>
#include <systemd/sd-id128.h>
#include <systemd/sd-journal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/time_spec.h"
#include "ingest/line_parser.h"

namespace pveaudit {
namespace {

std::string Errno(int r) { return std::strerror(r < 0 ? -r : r); }

// Days since 1970-01-01 to (y, m, d), proleptic Gregorian (H. Hinnant).
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = unsigned(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = int64_t(yoe) + era * 400 + (*m <= 2);
}

void AppendSanitized(std::string* out, std::string_view s, bool blanks_too) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u == '\n' || u == '\r' || u == 0)
      out->push_back(blanks_too ? '_' : ' ');
    else if (blanks_too && (u <= 0x20 || u == 0x7f))
      out->push_back('_');
    else
      out->push_back(c);
  }
}

// The value of field `name` of the current entry ("" when absent), copied:
// sd_journal_get_data's pointer is valid only until its next call.
std::string Field(sd_journal* j, const char* name) {
  const void* data = nullptr;
  size_t len = 0;
  if (sd_journal_get_data(j, name, &data, &len) < 0 || !data) return {};
  std::string_view s(static_cast<const char*>(data), len);
  size_t prefix = std::strlen(name) + 1;  // "NAME="
  return s.size() < prefix ? std::string() : std::string(s.substr(prefix));
}

std::string SaveCursorState(const std::string& journal_cursor, const LoginTracker& t) {
  return journal_cursor + "\n" + t.SaveState();
}

}  // namespace

std::string FormatJournalLine(const JournalEntryFields& f, std::string_view fallback_host) {
  std::string out;
  out.reserve(48 + f.hostname.size() + f.identifier.size() + f.message.size());
  const int64_t secs = int64_t(f.realtime_us / 1000000);
  const unsigned us = unsigned(f.realtime_us % 1000000);
  int64_t year;
  unsigned mon, day;
  CivilFromDays(secs / 86400, &year, &mon, &day);
  const int64_t sod = secs % 86400;
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04lld-%02u-%02uT%02d:%02d:%02d.%06uZ ", (long long)year, mon, day,
                int(sod / 3600), int(sod / 60 % 60), int(sod % 60), us);
  out += ts;
  std::string_view host = f.hostname.substr(0, f.hostname.find('.'));
  if (host.empty()) host = fallback_host.substr(0, fallback_host.find('.'));
  if (host.empty()) host = "localhost";
  AppendSanitized(&out, host, true);
  out.push_back(' ');
  if (f.identifier.empty())
    out += "unknown";
  else
    AppendSanitized(&out, f.identifier, true);
  bool digits = !f.pid.empty() && f.pid.size() <= 20;
  for (char c : f.pid) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    out.push_back('[');
    out += f.pid;
    out.push_back(']');
  }
  out += ": ";
  AppendSanitized(&out, f.message, false);
  return out;
}

JournalSource::JournalSource(std::string directory, std::string node, JournalSourceOptions options)
    : directory_(std::move(directory)), node_(std::move(node)), options_(options) {
  if (options_.batch_entries == 0) options_.batch_entries = 1;
  state_.name = "journal";
  state_.path = directory_.empty() ? "system journal" : directory_;
  state_.format = "auth";
}

JournalSource::~JournalSource() { Close(); }

void JournalSource::Close() {
  if (j_) sd_journal_close(j_);
  j_ = nullptr;
  watching_ = false;
  need_seek_ = true;
}

Status JournalSource::Open() {
  int r;
  std::string key;
  std::error_code ec;
  if (directory_.empty()) {
    r = sd_journal_open(&j_, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
    sd_id128_t id;
    char hex[SD_ID128_STRING_MAX];
    if (r >= 0 && sd_id128_get_machine(&id) >= 0)
      key = std::string("journal:") + sd_id128_to_string(id, hex);
    else
      key = "journal:local";
  } else {
    std::filesystem::path p = std::filesystem::weakly_canonical(directory_, ec);
    if (ec) p = std::filesystem::absolute(directory_, ec).lexically_normal();
    key = "journal:" + p.string();
    if (std::filesystem::is_regular_file(p, ec)) {
      std::string file = p.string();
      const char* files[] = {file.c_str(), nullptr};
      r = sd_journal_open_files(&j_, files, 0);
    } else if (std::filesystem::is_directory(p, ec)) {
      r = sd_journal_open_directory(&j_, p.c_str(), 0);
    } else {
      state_.ok = false;
      state_.error = "waiting for " + directory_ + " to appear";
      return Status::NotFound(state_.error);
    }
  }
  if (r < 0) {
    j_ = nullptr;
    return Status::NotFound("cannot open the " + state_.path + ": " + Errno(r));
  }
  for (const char* id : kIdentifiers) {
    std::string m = std::string("SYSLOG_IDENTIFIER=") + id;
    r = sd_journal_add_match(j_, m.data(), m.size());
    if (r >= 0) r = sd_journal_add_disjunction(j_);
    if (r < 0) {
      Close();
      return Status::Internal("journal match " + m + ": " + Errno(r));
    }
  }
  // Sets up inotify, so sd_journal_process() notices appended entries, new
  // (rotated) and removed (vacuumed) files. Without it, every Poll reopens.
  watching_ = sd_journal_get_fd(j_) >= 0;
  key_ = key;
  need_seek_ = true;
  return Status::OK();
}

Status JournalSource::Seek(EventStore& store) {
  auto c = store.GetCursor(key_);
  if (!c.ok()) return c.status();
  committed_ = SourceCursor();
  committed_.key = key_;
  committed_.path = state_.path;
  tracker_.LoadState("");
  std::string jcursor;
  if (c->has_value()) {
    committed_ = **c;
    committed_.path = state_.path;
    const std::string& s = committed_.state;
    size_t nl = s.find('\n');
    jcursor = s.substr(0, nl);
    tracker_.LoadState(nl == std::string::npos ? std::string() : s.substr(nl + 1));
  }
  state_.offset = state_.size = committed_.line;
  if (jcursor.empty()) {
    int r = sd_journal_seek_head(j_);
    if (r < 0) return Status::Internal("journal seek to head: " + Errno(r));
  } else {
    // At the cursor's entry: step onto it, so the next sd_journal_next()
    // returns the first entry not yet stored.
    int r = sd_journal_seek_cursor(j_, jcursor.c_str());
    if (r >= 0) r = sd_journal_next(j_);
    bool at_cursor = r > 0 && sd_journal_test_cursor(j_, jcursor.c_str()) > 0;
    if (!at_cursor) {
      // The entry is gone (vacuumed, or another journal): resume at the
      // oldest entry after its time.
      r = sd_journal_seek_realtime_usec(j_, committed_.offset + 1);
      if (r < 0) return Status::Internal("journal seek to time: " + Errno(r));
      state_.error = "cursor entry no longer in the journal; resumed at " +
                     FormatRfc3339Utc(int64_t(committed_.offset));
    }
  }
  need_seek_ = false;
  return Status::OK();
}

Status JournalSource::Poll(EventStore& store) {
  state_.last_poll_us = NowUs();
  auto fail = [&](Status s) {
    state_.ok = false;
    state_.error = s.message();
    need_seek_ = true;
    return s;
  };
  if (j_ && !watching_) Close();  // no inotify: reopen to see new files
  if (!j_) {
    if (!state_.ok) state_.error.clear();
    Status s = Open();
    if (!s.ok()) {
      // A missing directory is a wait, like a log file not there yet.
      if (s.code() == Status::Code::kNotFound && !directory_.empty() &&
          state_.error.rfind("waiting for ", 0) == 0)
        return Status::OK();
      return fail(s);
    }
  }
  // A note from an earlier successful poll (cursor entry vacuumed) stays
  // until the next error replaces it; an error clears once this poll works.
  if (!state_.ok) state_.error.clear();
  if (need_seek_) {
    Status s = Seek(store);
    if (!s.ok()) return fail(s);
  } else {
    int r = sd_journal_process(j_);
    if (r < 0) return fail(Status::Internal("journal: " + Errno(r)));
  }

  ParseContext ctx;
  ctx.node = node_;
  ctx.origin = "journal";
  ctx.reference_us = NowUs();
  auto parser = MakeLineParser(LineFormat::kAuth, ctx);
  std::vector<Event> events;
  std::vector<RejectedLine> rejected;
  std::string reason, jcursor;
  size_t total = 0;
  for (;;) {
    events.clear();
    rejected.clear();
    SourceCursor cursor = committed_;
    size_t n = 0;
    while (n < options_.batch_entries &&
           (options_.max_entries_per_poll == 0 || total < options_.max_entries_per_poll)) {
      int r = sd_journal_next(j_);
      if (r < 0) return fail(Status::Internal("journal: reading: " + Errno(r)));
      if (r == 0) break;
      ++n;
      ++total;
      ++cursor.line;
      uint64_t realtime = 0;
      r = sd_journal_get_realtime_usec(j_, &realtime);
      char* cs = nullptr;
      int rc = sd_journal_get_cursor(j_, &cs);
      if (rc < 0 || !cs) return fail(Status::Internal("journal: cursor: " + Errno(rc)));
      jcursor = cs;
      free(cs);
      if (r >= 0) cursor.offset = realtime;
      std::string host = Field(j_, "_HOSTNAME"), ident = Field(j_, "SYSLOG_IDENTIFIER"),
                  pid = Field(j_, "SYSLOG_PID");
      if (pid.empty()) pid = Field(j_, "_PID");
      std::string message;
      const void* d = nullptr;
      size_t len = 0;
      bool has_message = sd_journal_get_data(j_, "MESSAGE", &d, &len) >= 0 && d && len >= 8;
      if (has_message) message.assign(static_cast<const char*>(d) + 8, len - 8);
      std::string line = FormatJournalLine({realtime, host, ident, pid, message}, node_);
      if (r < 0) {
        rejected.push_back(
            RejectedLine{0, "journal", cursor.line, "journal entry without a readable time", line});
        continue;
      }
      if (!has_message) {
        rejected.push_back(
            RejectedLine{0, "journal", cursor.line, "journal entry without MESSAGE", line});
        continue;
      }
      reason.clear();
      if (parser->Parse(line, cursor.line, &events, &reason) == LineVerdict::kRejected) {
        if (line.size() > 4096) line.resize(4096);
        rejected.push_back(RejectedLine{0, "journal", cursor.line, reason, std::move(line)});
      }
    }
    if (n == 0) break;
    tracker_.Apply(&events);
    cursor.state = SaveCursorState(jcursor, tracker_);
    state_.size = state_.offset + n;
    Status st = store.Append(&events, rejected, &cursor);
    if (!st.ok()) return fail(st);  // the stored cursor is unchanged; Seek re-reads
    committed_ = cursor;
    state_.offset = state_.size = committed_.line;
    state_.events += events.size();
    state_.rejected += rejected.size();
    for (const Event& e : events) state_.last_event_us = std::max(state_.last_event_us, e.time_us);
    if (n < options_.batch_entries) break;
    if (options_.max_entries_per_poll != 0 && total >= options_.max_entries_per_poll) break;
  }
  state_.ok = true;
  return Status::OK();
}

}  // namespace pveaudit

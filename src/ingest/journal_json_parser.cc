// journal_json_parser.cc
// Parser for `journalctl -o json` (one JSON object per line) and
// `journalctl -o json-seq` (RFC 7464: the same objects, each prefixed by
// the record separator 0x1E). The entries of pvedaemon and pveproxy go
// through the auth rules (ParseAuthEntry) exactly as the same entries do
// when the daemon reads the journal itself (pipeline/journal_source.cc) or
// when they are exported as short-iso-precise text, so one entry gives the
// same event in every form. What journalctl writes (systemd
// src/shared/logs-show.c, journal_entry_to_json; docs/formats.md):
//  - every value is a string, except: a value that is not printable UTF-8
//    is an array of its byte values; a field of 4096 bytes or more is null
//    (unless --all); a field present several times is an array of values;
//  - __REALTIME_TIMESTAMP is the entry's time in microseconds (a string).
#include <nlohmann/json.hpp>
#include <string>

#include "ingest/parse_util.h"

namespace pveaudit::ingest {
namespace {

using nlohmann::json;

enum class FieldState { kMissing, kNull, kValue, kBad };

// The text of field `name`: a string, or the bytes of an array of byte
// values; of a field with several values, the first (as sd_journal_get_data).
FieldState FieldText(const json& entry, const char* name, std::string* out) {
  auto it = entry.find(name);
  if (it == entry.end()) return FieldState::kMissing;
  const json* v = &*it;
  // Several values: an array whose first element is not a byte value.
  if (v->is_array() && !v->empty() && !(*v)[0].is_number_unsigned()) v = &(*v)[0];
  if (v->is_null()) return FieldState::kNull;
  if (v->is_string()) {
    *out = v->get<std::string>();
    return FieldState::kValue;
  }
  if (v->is_array()) {
    out->clear();
    for (const json& b : *v) {
      if (!b.is_number_unsigned() || b.get<uint64_t>() > 255) return FieldState::kBad;
      out->push_back(static_cast<char>(b.get<uint64_t>()));
    }
    return FieldState::kValue;
  }
  return FieldState::kBad;
}

// The line without the RFC 7464 record separator and surrounding blanks.
std::string_view Trim(std::string_view line) {
  while (!line.empty() && (line.front() == '\x1e' || line.front() == ' ' || line.front() == '\t'))
    line.remove_prefix(1);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
    line.remove_suffix(1);
  return line;
}

class JournalJsonParser : public LineParser {
 public:
  explicit JournalJsonParser(const ParseContext& ctx) : ctx_(ctx) {}
  LineFormat format() const override { return LineFormat::kJournalJson; }

  LineVerdict Parse(std::string_view line, uint64_t line_no, std::vector<Event>* out,
                    std::string* reason) override {
    line = Trim(line);
    if (line.empty()) return LineVerdict::kIgnored;
    json entry = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (entry.is_discarded() || !entry.is_object()) {
      *reason = "not a journalctl JSON object: '" + Excerpt(line) + "'";
      return LineVerdict::kRejected;
    }
    std::string ident, host, time_text, message;
    if (FieldText(entry, "SYSLOG_IDENTIFIER", &ident) != FieldState::kValue)
      return LineVerdict::kIgnored;  // kernel, systemd, ...: not pvedaemon/pveproxy
    if (ident != "pvedaemon" && ident != "pveproxy") return LineVerdict::kIgnored;
    if (FieldText(entry, "__REALTIME_TIMESTAMP", &time_text) != FieldState::kValue ||
        time_text.empty() || time_text.size() > 19 ||
        time_text.find_first_not_of("0123456789") != std::string::npos) {
      *reason = "journal entry without a valid __REALTIME_TIMESTAMP";
      return LineVerdict::kRejected;
    }
    const uint64_t realtime = std::stoull(time_text);
    if (realtime > uint64_t(INT64_MAX)) {
      *reason = "journal entry without a valid __REALTIME_TIMESTAMP";
      return LineVerdict::kRejected;
    }
    switch (FieldText(entry, "MESSAGE", &message)) {
      case FieldState::kValue:
        break;
      case FieldState::kMissing:
        *reason = "journal entry without MESSAGE";
        return LineVerdict::kRejected;
      case FieldState::kNull:
        // journalctl leaves out fields of 4096 bytes or more: whether this
        // was an authentication line cannot be told.
        *reason = "MESSAGE left out by journalctl (4096 bytes or more); export with --all";
        return LineVerdict::kRejected;
      case FieldState::kBad:
        *reason = "MESSAGE is neither text nor bytes";
        return LineVerdict::kRejected;
    }
    // As FormatJournalLine: the host without its domain, blanks as '_';
    // line breaks and NULs in the message as spaces; trailing blanks go,
    // as the auth parser trims them from a text line.
    if (FieldText(entry, "_HOSTNAME", &host) != FieldState::kValue) host.clear();
    host.resize(std::min(host.size(), host.find('.')));
    for (char& c : host) {
      unsigned char u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u == 0x7f) c = '_';
    }
    if (host.empty()) host = "localhost";
    for (char& c : message)
      if (c == '\n' || c == '\r' || c == '\0') c = ' ';
    while (!message.empty() && message.back() == ' ') message.pop_back();
    AuthEntry e;
    e.us = int64_t(realtime);
    e.host = host;
    e.prog = ident;
    e.msg = message;
    return ParseAuthEntry(e, ctx_, line_no, out, reason);
  }

 private:
  ParseContext ctx_;
};

}  // namespace

std::unique_ptr<LineParser> MakeJournalJsonParser(const ParseContext& ctx) {
  return std::make_unique<JournalJsonParser>(ctx);
}

bool IsJournalJsonLine(std::string_view line) {
  line = Trim(line);
  if (line.empty() || line.front() != '{') return false;
  json entry = json::parse(line, nullptr, false);
  return !entry.is_discarded() && entry.is_object() &&
         (entry.contains("__REALTIME_TIMESTAMP") || entry.contains("__CURSOR"));
}

}  // namespace pveaudit::ingest

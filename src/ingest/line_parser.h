// line_parser.h
// LineParser turns one line of a Proxmox log into Events. There is one
// parser per source format (pveproxy access.log, authentication lines in
// syslog/journal form, task index/active, pveaudit JSON, journalctl JSON,
// the cluster log). Parsers are pure line-at-a-time functions of (line,
// context): they never throw and never crash on any byte sequence (each has
// a libFuzzer target in fuzz/). The cluster log parser alone keeps state:
// the lines of a pretty-printed entry until the entry is complete.
// A line is either turned into events, ignored (well-formed but not an
// audit record, e.g. an unrelated syslog line), or rejected with a reason
// that names what was wrong; rejected lines are counted and kept by the
// caller, never silently dropped.
// Thread safety: a parser instance is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"

namespace pveaudit {

// Formats and their names (docs/formats.md):
//   kPveproxy   "pveproxy"      pveproxy access.log
//   kAuth       "auth"          syslog / journalctl text lines of pvedaemon, pveproxy
//   kTasks      "tasks"         /var/log/pve/tasks/index, active
//   kJson       "json"          pveaudit's own event JSON lines
//   kJournalJson "journal-json" journalctl -o json / json-seq
//   kClusterLog "clusterlog"    pvesh get /cluster/log --output-format json[-pretty]
enum class LineFormat { kPveproxy, kAuth, kTasks, kJson, kJournalJson, kClusterLog };

// The name of a format, as listed above.
std::string_view LineFormatName(LineFormat f);
// Parses a --format value (without "auto"); false when unknown.
bool ParseLineFormat(std::string_view name, LineFormat* out);

struct ParseContext {
  std::string node;    // node name to record (--node); "" = from the line or "localhost"
  std::string origin;  // file path or stream name, copied into Event::origin
  // Reference instant for sources whose dates lack a year (classic syslog):
  // the file's modification time, or now for live streams. See
  // docs/actions.md "Year inference".
  int64_t reference_us = 0;
};

enum class LineVerdict { kEvents, kIgnored, kRejected };

class LineParser {
 public:
  virtual ~LineParser() = default;
  // Parses `line` (no trailing newline; may hold any bytes). On kEvents
  // appends one or more events to `out` (with origin/origin_line set); on
  // kRejected sets `reason` to a short human-readable explanation such as
  // "bad date '32/13/2025:...'"; on kIgnored leaves both alone.
  virtual LineVerdict Parse(std::string_view line, uint64_t line_no, std::vector<Event>* out,
                            std::string* reason) = 0;
  virtual LineFormat format() const = 0;
};

// Creates the parser for `format` bound to `ctx`.
std::unique_ptr<LineParser> MakeLineParser(LineFormat format, const ParseContext& ctx);

// Guesses the format from the first non-empty lines of a file; NotFound
// when none of the parsers recognises them. The format recognising the most
// lines wins; ties go to the stricter format (json, journal-json,
// clusterlog, tasks, pveproxy, auth).
Result<LineFormat> DetectLineFormat(const std::vector<std::string>& first_lines);

}  // namespace pveaudit

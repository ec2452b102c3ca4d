// line_parser.cc
// Parser factory, format names and format detection.
#include "ingest/line_parser.h"

#include <array>

#include "ingest/parse_util.h"

namespace pveaudit {

std::string_view LineFormatName(LineFormat f) {
  switch (f) {
    case LineFormat::kPveproxy:
      return "pveproxy";
    case LineFormat::kAuth:
      return "auth";
    case LineFormat::kTasks:
      return "tasks";
    case LineFormat::kJson:
      return "json";
    case LineFormat::kJournalJson:
      return "journal-json";
    case LineFormat::kClusterLog:
      return "clusterlog";
  }
  return "unknown";
}

bool ParseLineFormat(std::string_view name, LineFormat* out) {
  for (LineFormat f : {LineFormat::kPveproxy, LineFormat::kAuth, LineFormat::kTasks,
                       LineFormat::kJson, LineFormat::kJournalJson, LineFormat::kClusterLog}) {
    if (LineFormatName(f) == name) {
      *out = f;
      return true;
    }
  }
  return false;
}

std::unique_ptr<LineParser> MakeLineParser(LineFormat format, const ParseContext& ctx) {
  switch (format) {
    case LineFormat::kPveproxy:
      return ingest::MakePveproxyParser(ctx);
    case LineFormat::kAuth:
      return ingest::MakeAuthParser(ctx);
    case LineFormat::kTasks:
      return ingest::MakeTasksParser(ctx);
    case LineFormat::kJson:
      return ingest::MakeJsonParser(ctx);
    case LineFormat::kJournalJson:
      return ingest::MakeJournalJsonParser(ctx);
    case LineFormat::kClusterLog:
      return ingest::MakeClusterLogParser(ctx);
  }
  return ingest::MakeJsonParser(ctx);
}

Result<LineFormat> DetectLineFormat(const std::vector<std::string>& first_lines) {
  // Count, per format, the lines it recognises; the format recognising the
  // most lines wins (ties in the order json, journal-json, clusterlog,
  // tasks, pveproxy, auth: the stricter formats first). A syslog file counts
  // every line with a syslog header, since most of its lines are unrelated
  // to authentication. Cluster log entries may span lines (json-pretty), so
  // that format is scored over all the lines at once.
  ParseContext ctx;
  ctx.reference_us = 1;
  auto pveproxy = ingest::MakePveproxyParser(ctx);
  auto json = ingest::MakeJsonParser(ctx);
  std::array<int, 6> score = {0, 0, 0,
                              0, 0, 0};  // json, journal, clusterlog, tasks, pveproxy, auth
  std::vector<Event> events;
  std::string reason;
  int considered = 0;
  for (const std::string& raw : first_lines) {
    std::string_view line = raw;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) continue;
    ++considered;
    events.clear();
    if (line.front() == '{' && json->Parse(line, 1, &events, &reason) == LineVerdict::kEvents) {
      ++score[0];
    } else if (ingest::IsJournalJsonLine(line)) {
      ++score[1];
    } else if (ingest::IsTaskLine(line)) {
      ++score[3];
    } else if (pveproxy->Parse(line, 1, &events, &reason) == LineVerdict::kEvents) {
      ++score[4];
    } else if (ingest::HasSyslogHeader(line)) {
      ++score[5];
    }
  }
  score[2] = ingest::ClusterLogLines(first_lines);
  static constexpr LineFormat kOrder[] = {LineFormat::kJson,       LineFormat::kJournalJson,
                                          LineFormat::kClusterLog, LineFormat::kTasks,
                                          LineFormat::kPveproxy,   LineFormat::kAuth};
  int best = -1;
  for (int i = 0; i < 6; ++i) {
    if (score[i] > 0 && (best < 0 || score[i] > score[best])) best = i;
  }
  if (best < 0) {
    return Status::NotFound(considered == 0 ? "no non-empty lines to detect the format from"
                                            : "no known log format recognised in the first " +
                                                  std::to_string(considered) + " lines");
  }
  return kOrder[best];
}

}  // namespace pveaudit

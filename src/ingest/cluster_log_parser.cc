// cluster_log_parser.cc
// Parser for the Proxmox cluster log (pmxcfs's ring buffer, GET
// /cluster/log) in the forms it is saved in (docs/formats.md):
//  - `pvesh get /cluster/log --output-format json`: one line, a JSON array
//    of entries (pve-common PVE/CLIFormatter.pm: to_json with canonical =>
//    1, so the keys are sorted), newest first;
//  - `--output-format json-pretty`: the same array over many lines (Perl
//    JSON pretty: "[", "   {", `      "msg" : "...",`, ..., "   }", "]");
//  - /etc/pve/.clusterlog and the API's raw answer: `{"data": [` followed
//    by one entry per line (pve-cluster src/pmxcfs/logger.c,
//    clog_dump_json), or all of it on one line.
// An entry is {"uid":N,"time":EPOCH,"pri":N,"tag":"pvedaemon","pid":N,
// "node":"pve1","user":"root@pam","msg":"..."}. Audit records among them:
//  - "starting task UPID:..." and "end task UPID:... STATUS" (pve-common
//    RESTEnvironment.pm fork_worker): task events mapped like the task
//    index (MapTask through the tasks parser), with the UPID in detail and
//    the task's start time, so views can join them with the task index;
//  - the log_msg authentication lines ("successful auth for user '...'",
//    "changed password for user '...'"): the auth rules (ParseAuthEntry).
// Everything else in the cluster log is ignored. The parser is line based
// and keeps one pretty-printed entry's lines until it is complete; one
// input line may hold many entries (then all its events come from it, and
// one malformed entry rejects the whole line, which is kept verbatim).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "ingest/parse_util.h"

namespace pveaudit::ingest {
namespace {

using nlohmann::json;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// A number written as a JSON number or as a string of digits.
bool Unsigned(const json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
      return false;
    *out = std::stoull(s);
    return true;
  }
  return false;
}

std::string Text(const json& entry, const char* key) {
  auto it = entry.find(key);
  return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
}

class ClusterLogParser : public LineParser {
 public:
  explicit ClusterLogParser(const ParseContext& ctx) : ctx_(ctx) { tasks_ = MakeTasksParser(ctx); }
  LineFormat format() const override { return LineFormat::kClusterLog; }

  // Lines that were part of well-formed entries so far (format detection).
  int recognised_lines() const { return recognised_; }

  LineVerdict Parse(std::string_view raw, uint64_t line_no, std::vector<Event>* out,
                    std::string* reason) override {
    std::string_view line = Trim(raw);
    if (!pending_.empty()) return Continue(line, out, reason);
    if (line.empty() || line == "[" || line == "]" || line == "]," || line == "}" ||
        line == "{\"data\": [" || line == "\"data\": [" || line == "\"data\":[")
      return LineVerdict::kIgnored;  // array and wrapper brackets of the multi-line forms
    if (line == "{") {
      // A pretty-printed entry (or the {"data": [ wrapper) starts here.
      pending_.assign(line);
      pending_start_ = line_no;
      pending_lines_ = 1;
      depth_ = 1;
      return LineVerdict::kIgnored;
    }
    if (line.front() != '[' && line.front() != '{') {
      *reason = "not cluster log JSON: '" + Excerpt(line) + "'";
      return LineVerdict::kRejected;
    }
    if (line.back() == ',') line.remove_suffix(1);  // one entry of a multi-line array
    return Entries(line, line_no, 1, out, reason);
  }

 private:
  // Adds a line of a pretty-printed entry; parses it when it is complete.
  LineVerdict Continue(std::string_view line, std::vector<Event>* out, std::string* reason) {
    ++pending_lines_;
    if (pending_ == "{" && (line == "\"data\": [" || line == "\"data\":[")) {
      pending_.clear();  // the {"data": [ wrapper of .clusterlog: entries follow
      return LineVerdict::kIgnored;
    }
    pending_.push_back('\n');
    pending_.append(line);
    // Depth outside strings; a string never spans lines in this output.
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (quoted) {
        if (c == '\\')
          ++i;
        else if (c == '"')
          quoted = false;
      } else if (c == '"') {
        quoted = true;
      } else if (c == '{' || c == '[') {
        ++depth_;
      } else if (c == '}' || c == ']') {
        --depth_;
      }
    }
    constexpr size_t kMaxEntry = 1 << 20;
    if (depth_ > 0 && pending_.size() < kMaxEntry) return LineVerdict::kIgnored;
    std::string text = std::move(pending_);
    pending_.clear();
    const uint64_t start = pending_start_;
    const int lines = pending_lines_;
    if (depth_ > 0) {
      *reason =
          "cluster log entry starting on line " + std::to_string(start) + " is longer than 1 MiB";
      return LineVerdict::kRejected;
    }
    std::string_view t = Trim(text);
    if (!t.empty() && t.back() == ',') t.remove_suffix(1);
    // Events carry the line where the entry starts.
    return Entries(t, start, lines, out, reason);
  }

  // Parses `text` (an array of entries, an entry, or {"data": [...]}) and
  // appends the events of its audit entries.
  LineVerdict Entries(std::string_view text, uint64_t line_no, int lines, std::vector<Event>* out,
                      std::string* reason) {
    json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      *reason = "invalid JSON: '" + Excerpt(text) + "'";
      return LineVerdict::kRejected;
    }
    if (doc.is_object() && doc.contains("data") && doc["data"].is_array()) doc = doc["data"];
    if (doc.is_object()) doc = json::array({std::move(doc)});
    if (!doc.is_array()) {
      *reason = "not a cluster log entry or array: '" + Excerpt(text) + "'";
      return LineVerdict::kRejected;
    }
    const size_t before = out->size();
    bool complete = !doc.empty();  // every entry has all of logger.c's keys
    for (const json& e : doc) {
      static constexpr const char* kKeys[] = {"uid", "time", "pri",  "tag",
                                              "pid", "node", "user", "msg"};
      for (const char* k : kKeys) complete = complete && e.is_object() && e.contains(k);
    }
    for (size_t i = 0; i < doc.size(); ++i) {
      std::string why;
      if (!Entry(doc[i], line_no, out, &why)) {
        out->resize(before);
        *reason = doc.size() == 1 ? why : "entry " + std::to_string(i + 1) + ": " + why;
        return LineVerdict::kRejected;
      }
    }
    if (complete) recognised_ += lines;
    return out->size() > before ? LineVerdict::kEvents : LineVerdict::kIgnored;
  }

  // One entry; false with `why` when it is malformed.
  bool Entry(const json& e, uint64_t line_no, std::vector<Event>* out, std::string* why) {
    if (!e.is_object()) {
      *why = "not an object";
      return false;
    }
    uint64_t time = 0;
    auto t = e.find("time");
    if (t == e.end() || !Unsigned(*t, &time) || time > 253402300799ULL) {
      *why = "missing or bad \"time\"";
      return false;
    }
    auto m = e.find("msg");
    if (m == e.end() || !m->is_string()) {
      *why = "missing or bad \"msg\"";
      return false;
    }
    const std::string& msg = m->get_ref<const std::string&>();
    static constexpr std::string_view kStart = "starting task ", kEnd = "end task ";
    std::string_view rest;
    bool start = msg.rfind(kStart, 0) == 0, end = msg.rfind(kEnd, 0) == 0;
    if (start || end) {
      rest = std::string_view(msg).substr(start ? kStart.size() : kEnd.size());
      if (rest.substr(0, 5) == "UPID:") return Task(rest, start, time, line_no, out, why);
    }
    const std::string node = Text(e, "node"), tag = Text(e, "tag");
    AuthEntry a;
    a.us = int64_t(time) * 1000000;
    a.host = node.empty() ? std::string_view("localhost") : std::string_view(node);
    a.prog = tag;
    a.msg = msg;
    const size_t before = out->size();
    if (ParseAuthEntry(a, ctx_, line_no, out, why) == LineVerdict::kRejected) return false;
    for (size_t i = before; i < out->size(); ++i) (*out)[i].source = "clusterlog";
    return true;
  }

  // "UPID:... [STATUS]" of a starting (running) or ended task.
  bool Task(std::string_view rest, bool start, uint64_t time, uint64_t line_no,
            std::vector<Event>* out, std::string* why) {
    size_t sp = rest.find(' ');
    std::string_view upid = rest.substr(0, sp);
    std::string_view status = sp == std::string_view::npos ? "" : Trim(rest.substr(sp + 1));
    // The task index form "UPID ENDHEX STATUS" (or a bare running UPID) lets
    // the tasks parser decode and map it the one way.
    std::string task_line(upid);
    if (!start) {
      char hex[32];
      std::snprintf(hex, sizeof hex, " %08llX ", static_cast<unsigned long long>(time));
      task_line += hex;
      task_line += status.empty() ? std::string_view("-") : status;
    }
    const size_t before = out->size();
    if (tasks_->Parse(task_line, line_no, out, why) != LineVerdict::kEvents) {
      if (why->empty()) *why = "bad UPID '" + Excerpt(upid, 80) + "'";
      return false;
    }
    for (size_t i = before; i < out->size(); ++i) {
      Event& ev = (*out)[i];
      ev.source = "clusterlog";
      if (start) continue;
      // The end line's own words: the task status ("OK", "WARNINGS: 2",
      // an error) or, when the task left none, "successful", "failed (N)",
      // "interrupted (N)".
      ev.status = std::string(status.substr(0, 200));
      ev.result = status.empty() ? Outcome::kUnknown
                  : status == "OK" || status == "successful" || status.substr(0, 9) == "WARNINGS:"
                      ? Outcome::kSuccess
                      : Outcome::kFailure;
    }
    return true;
  }

  ParseContext ctx_;
  std::unique_ptr<LineParser> tasks_;
  std::string pending_;  // lines of an unfinished pretty-printed entry
  uint64_t pending_start_ = 0;
  int pending_lines_ = 0;
  int depth_ = 0;
  int recognised_ = 0;
};

}  // namespace

std::unique_ptr<LineParser> MakeClusterLogParser(const ParseContext& ctx) {
  return std::make_unique<ClusterLogParser>(ctx);
}

int ClusterLogLines(const std::vector<std::string>& lines) {
  ParseContext ctx;
  ctx.reference_us = 1;
  ClusterLogParser p(ctx);
  std::vector<Event> events;
  std::string reason;
  uint64_t no = 0;
  for (const std::string& l : lines) {
    events.clear();
    p.Parse(l, ++no, &events, &reason);
  }
  return p.recognised_lines();
}

}  // namespace pveaudit::ingest

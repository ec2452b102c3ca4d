// tasks_parser.cc
// Parser for /var/log/pve/tasks/index (and index.1) and tasks/active:
//   index:  "UPID:... ENDHEX status"
//   active: "UPID:... 0|1" or "UPID:... 0|1 ENDHEX status"
//   bare:   "UPID:..."  (a running task)
// UPID = "UPID:node:PID:PSTART:STARTTIME:type:id:user:" (pve-common UPID.pm).
#include <string>

#include "core/actions.h"
#include "ingest/parse_util.h"

namespace pveaudit::ingest {
namespace {

struct Upid {
  std::string_view node, type, id, user;
  int64_t start = 0;
};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool Hex(std::string_view s, size_t min, size_t max, int64_t* v) {
  if (s.size() < min || s.size() > max) return false;
  int64_t r = 0;
  for (char c : s) {
    int d = HexDigit(c);
    if (d < 0) return false;
    r = r * 16 + d;
  }
  *v = r;
  return true;
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool FieldChars(std::string_view f) {  // [^:\s/]*
  for (char c : f) {
    if (c == ':' || c == '/' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
        c == '\v')
      return false;
  }
  return true;
}

// Decodes a UPID; on failure sets `why` to the bad part.
bool DecodeUpid(std::string_view u, Upid* out, std::string* why) {
  if (u.substr(0, 5) != "UPID:") {
    *why = "missing 'UPID:'";
    return false;
  }
  std::string_view f[7];  // node pid pstart start type id user
  size_t pos = 5;
  for (int i = 0; i < 6; ++i) {
    size_t c = u.find(':', pos);
    if (c == std::string_view::npos) {
      *why = "too few fields";
      return false;
    }
    f[i] = u.substr(pos, c - pos);
    pos = c + 1;
  }
  // The user is the last field and must be followed by the final ':'.
  if (u.back() != ':' || pos >= u.size()) {
    *why = "missing final ':'";
    return false;
  }
  f[6] = u.substr(pos, u.size() - 1 - pos);
  std::string_view node = f[0];
  bool node_ok = !node.empty() && IsAlnum(node.front()) && IsAlnum(node.back());
  for (char c : node) node_ok = node_ok && (IsAlnum(c) || c == '-');
  if (!node_ok) {
    *why = "bad node '" + Excerpt(node) + "'";
    return false;
  }
  int64_t pid, pstart;
  if (!Hex(f[1], 8, 8, &pid)) {
    *why = "bad pid '" + Excerpt(f[1]) + "'";
    return false;
  }
  if (!Hex(f[2], 8, 9, &pstart)) {
    *why = "bad pstart '" + Excerpt(f[2]) + "'";
    return false;
  }
  if (!Hex(f[3], 8, 8, &out->start)) {
    *why = "bad start time '" + Excerpt(f[3]) + "'";
    return false;
  }
  if (f[4].empty() || !FieldChars(f[4])) {
    *why = "bad type '" + Excerpt(f[4]) + "'";
    return false;
  }
  if (!FieldChars(f[5])) {
    *why = "bad id '" + Excerpt(f[5]) + "'";
    return false;
  }
  if (f[6].empty() || !FieldChars(f[6])) {
    *why = "bad user '" + Excerpt(f[6]) + "'";
    return false;
  }
  out->node = node;
  out->type = f[4];
  out->id = f[5];
  out->user = f[6];
  return true;
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string TruncateStatus(std::string_view s) {
  constexpr size_t kMax = 200;
  if (s.size() <= kMax) return std::string(s);
  size_t n = kMax;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // UTF-8 boundary
  return std::string(s.substr(0, n));
}

class TasksParser : public LineParser {
 public:
  explicit TasksParser(const ParseContext& ctx) : ctx_(ctx) {}
  LineFormat format() const override { return LineFormat::kTasks; }

  LineVerdict Parse(std::string_view line, uint64_t line_no, std::vector<Event>* out,
                    std::string* reason) override {
    while (!line.empty() && (line.back() == '\r' || IsSpace(line.back()))) line.remove_suffix(1);
    if (line.empty()) return LineVerdict::kIgnored;
    size_t sp = 0;
    while (sp < line.size() && !IsSpace(line[sp])) ++sp;
    std::string_view upid_text = line.substr(0, sp);
    Upid upid;
    std::string why;
    if (!DecodeUpid(upid_text, &upid, &why)) {
      *reason = "bad UPID '" + Excerpt(upid_text, 80) + "': " + why;
      return LineVerdict::kRejected;
    }
    std::string_view rest = sp < line.size() ? line.substr(sp + 1) : std::string_view();
    bool finished = false;
    std::string_view status;
    if (!rest.empty()) {
      std::string_view tok = rest.substr(0, rest.find_first_of(" \t"));
      std::string_view after = tok.size() < rest.size() ? rest.substr(tok.size() + 1) : "";
      if (tok == "0" || tok == "1") {  // active file: saved flag
        rest = after;
        tok = rest.substr(0, rest.find_first_of(" \t"));
        after = tok.size() < rest.size() ? rest.substr(tok.size() + 1) : "";
      }
      if (!rest.empty()) {
        int64_t end;
        if (!Hex(tok, 8, 8, &end)) {
          *reason = "bad end time '" + Excerpt(tok) + "'";
          return LineVerdict::kRejected;
        }
        finished = true;
        while (!after.empty() && IsSpace(after.front())) after.remove_prefix(1);
        status = after;
      }
    }
    ActionMapping m = MapTask(upid.type, upid.id, upid.node);
    Event& e = out->emplace_back();
    e.time_us = upid.start * 1000000;
    e.node.assign(upid.node);
    e.user.assign(upid.user);
    e.action = std::move(m.action);
    e.resource = std::move(m.resource);
    e.source = "tasks";
    e.detail.assign(upid_text);
    e.origin = ctx_.origin;
    e.origin_line = line_no;
    if (!finished) {
      e.status = "running";
      e.result = Outcome::kUnknown;
    } else {
      e.status = TruncateStatus(status);
      if (status.empty()) {
        e.result = Outcome::kUnknown;
      } else if (status == "OK" || status.substr(0, 9) == "WARNINGS:") {
        e.result = Outcome::kSuccess;
      } else {
        e.result = Outcome::kFailure;
      }
    }
    return LineVerdict::kEvents;
  }

 private:
  ParseContext ctx_;
};

}  // namespace

std::unique_ptr<LineParser> MakeTasksParser(const ParseContext& ctx) {
  return std::make_unique<TasksParser>(ctx);
}

bool IsTaskLine(std::string_view line) {
  size_t sp = 0;
  while (sp < line.size() && !IsSpace(line[sp])) ++sp;
  Upid u;
  std::string why;
  return DecodeUpid(line.substr(0, sp), &u, &why);
}

}  // namespace pveaudit::ingest

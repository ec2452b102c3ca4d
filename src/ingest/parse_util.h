// parse_util.h (private to src/ingest)
// Small string_view scanning helpers shared by the line parsers, and the
// factory functions of the individual parsers. No allocation, no locale,
// no exceptions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/line_parser.h"

namespace pveaudit::ingest {

// Value of `n` decimal digits at `pos`, or -1 when out of range / not digits.
inline int Digits(std::string_view s, size_t pos, size_t n) {
  if (pos > s.size() || n > s.size() - pos) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

inline bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

inline int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12) return 0;
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// "Jan".."Dec" (case-sensitive, as strftime %b in the C locale) -> 1..12, else 0.
inline int MonthFromName(std::string_view s) {
  static constexpr std::string_view kNames[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 3) return 0;
  for (int i = 0; i < 12; ++i) {
    if (kNames[i] == s) return i + 1;
  }
  return 0;
}

inline bool ValidCivil(int y, int mo, int d, int h, int mi, int s) {
  return y >= 1970 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= DaysInMonth(y, mo) &&
         h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 60;
}

// Parses "[.frac]" at `*pos` (microseconds, extra digits ignored). Returns
// false on a '.' without digits.
inline bool ParseFraction(std::string_view s, size_t* pos, int64_t* us) {
  *us = 0;
  size_t i = *pos;
  if (i >= s.size() || (s[i] != '.' && s[i] != ',')) return true;
  ++i;
  size_t start = i;
  int64_t scale = 100000;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (scale > 0) *us += (s[i] - '0') * scale;
    scale /= 10;
    ++i;
  }
  if (i == start) return false;
  *pos = i;
  return true;
}

// Parses a zone suffix at `*pos`: "Z", "+hh:mm", "+hhmm" (also '-').
// Sets the offset east of UTC in seconds.
inline bool ParseZone(std::string_view s, size_t* pos, int64_t* off_s) {
  size_t i = *pos;
  if (i >= s.size()) return false;
  if (s[i] == 'Z' || s[i] == 'z') {
    *off_s = 0;
    *pos = i + 1;
    return true;
  }
  if (s[i] != '+' && s[i] != '-') return false;
  int oh = Digits(s, i + 1, 2);
  if (oh < 0 || oh > 23) return false;
  size_t j = i + 3;
  if (j < s.size() && s[j] == ':') ++j;
  int om = Digits(s, j, 2);
  if (om < 0 || om > 59) return false;
  *off_s = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
  *pos = j + 2;
  return true;
}

// Splits off the first space-delimited token of `*rest` (one space
// separator consumed). Empty when `*rest` starts with a space.
inline std::string_view NextToken(std::string_view* rest) {
  size_t sp = rest->find(' ');
  std::string_view tok = rest->substr(0, sp);
  *rest = sp == std::string_view::npos ? std::string_view() : rest->substr(sp + 1);
  return tok;
}

// A short, printable ASCII excerpt of hostile input for a reject reason
// (control and non-ASCII bytes become '?').
inline std::string Excerpt(std::string_view s, size_t max = 40) {
  std::string out;
  size_t n = s.size() < max ? s.size() : max;
  out.reserve(n + 3);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    out.push_back(c < 0x20 || c >= 0x7f ? '?' : static_cast<char>(c));
  }
  if (s.size() > max) out += "...";
  return out;
}

// One syslog-style entry whose message the auth rules look at (the
// journal JSON and cluster log parsers share them with the auth parser).
struct AuthEntry {
  int64_t us = 0;         // UTC microseconds
  std::string_view host;  // node name as logged (ctx.node overrides it)
  std::string_view prog;  // SYSLOG_IDENTIFIER / tag: only pvedaemon and pveproxy count
  std::string_view msg;   // the message, "<root@pam> " prefix allowed
};
// The auth parser's message rules (auth_parser.cc) applied to one entry:
// events with source "auth", ignored, or rejected with a reason.
LineVerdict ParseAuthEntry(const AuthEntry& entry, const ParseContext& ctx, uint64_t line_no,
                           std::vector<Event>* out, std::string* reason);

std::unique_ptr<LineParser> MakePveproxyParser(const ParseContext& ctx);
std::unique_ptr<LineParser> MakeAuthParser(const ParseContext& ctx);
std::unique_ptr<LineParser> MakeTasksParser(const ParseContext& ctx);
std::unique_ptr<LineParser> MakeJsonParser(const ParseContext& ctx);
std::unique_ptr<LineParser> MakeJournalJsonParser(const ParseContext& ctx);
std::unique_ptr<LineParser> MakeClusterLogParser(const ParseContext& ctx);

// True when `line` is one journalctl -o json / json-seq entry (an object
// with __REALTIME_TIMESTAMP or __CURSOR); used by DetectLineFormat.
bool IsJournalJsonLine(std::string_view line);
// How many of `lines` belong to cluster log entries (pvesh get /cluster/log
// --output-format json or json-pretty, or /etc/pve/.clusterlog); used by
// DetectLineFormat.
int ClusterLogLines(const std::vector<std::string>& lines);

// True when `line` starts with a syslog header the auth parser understands
// (any program); used by DetectLineFormat.
bool HasSyslogHeader(std::string_view line);
// True when `line` is a task index/active line or a bare UPID.
bool IsTaskLine(std::string_view line);

}  // namespace pveaudit::ingest

#include "export/cef.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "core/actions.h"
#include "core/time_spec.h"

namespace pveaudit {
namespace {

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
size_t Utf8Len(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  if (n == 3) {
    uint32_t cp = (c & 0x0Fu) << 12 | (b(i + 1) & 0x3Fu) << 6 | (b(i + 2) & 0x3Fu);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;  // overlong, surrogate
  }
  if (n == 4) {
    uint32_t cp = (c & 0x07u) << 18 | (b(i + 1) & 0x3Fu) << 12;
    if (cp < 0x10000 || cp > 0x10FFFF) return 0;
  }
  return n;
}

// Action objects whose changes grant or take away access.
bool IsAccessControl(std::string_view action) {
  for (std::string_view p :
       {"acl:", "user:", "group:", "role:", "token:", "tfa:", "realm:", "access:", "pool:"})
    if (StartsWith(action, p)) return true;
  return false;
}

bool IsRequestMethod(std::string_view m) {
  for (std::string_view k : {"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"})
    if (m == k) return true;
  return false;
}

// True when `s` is printable ASCII without `a` or `b`: it goes out as it
// is (the common case: no copy through ValidUtf8).
bool PlainAscii(std::string_view s, char a, char b) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || u < 0x20 || c == a || c == b) return false;
  }
  return true;
}

void AppendEscapedExtension(std::string* out, std::string_view value) {
  if (PlainAscii(value, '\\', '=')) {
    out->append(value);
    return;
  }
  for (char c : ValidUtf8(value)) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '=':
        out->append("\\=");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      default:
        out->push_back(c);
    }
  }
}

void AppendEscapedHeader(std::string* out, std::string_view s) {
  if (PlainAscii(s, '\\', '|')) {
    out->append(s);
    return;
  }
  for (char c : ValidUtf8(s)) {
    if (c == '\\' || c == '|') out->push_back('\\');
    out->push_back(c == '\n' || c == '\r' ? ' ' : c);
  }
}

// `first`: the extension's first pair (no separating space).
void AddExt(std::string* out, std::string_view key, std::string_view value, bool first = false) {
  if (value.empty()) return;
  if (!first) out->push_back(' ');
  out->append(key);
  out->push_back('=');
  AppendEscapedExtension(out, value);
}

void AddExt(std::string* out, std::string_view key, int64_t value, bool first = false) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  AddExt(out, key, std::string_view(buf, size_t(r.ptr - buf)), first);
}

// RFC 5424 PARAM-VALUE: `"`, `\` and `]` are escaped with a backslash.
std::string SdEscape(std::string_view s) {
  std::string v = ValidUtf8(s), out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '"' || c == '\\' || c == ']') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// Free text in a syslog MSG: one line (LF and CR written as \n and \r).
std::string OneLine(std::string_view s) {
  std::string out;
  for (char c : ValidUtf8(s)) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else
      out.push_back(c);
  }
  return out;
}

// A syslog HOSTNAME / APP-NAME: printable US-ASCII without spaces, or "-".
std::string HeaderToken(std::string_view s, size_t max) {
  std::string out;
  for (char c : s)
    if (c > 32 && c < 127 && out.size() < max) out.push_back(c);
  return out.empty() ? "-" : out;
}

}  // namespace

const char* CefDeviceVersion() { return PVEAUDIT_VERSION; }

std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8Len(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string CefEscapeHeader(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  AppendEscapedHeader(&out, s);
  return out;
}

std::string CefEscapeExtension(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  AppendEscapedExtension(&out, s);
  return out;
}

int CefSeverity(const Event& e) {
  const std::string_view a = e.action;
  const bool failed = e.result == Outcome::kFailure;
  if (StartsWith(a, "alert:")) {
    if (a == "alert:brute-force-success") return 10;
    if (a == "alert:privilege-change") return 9;
    return 8;
  }
  if (StartsWith(a, "pveaudit:")) {
    // Someone turning off the audit trail's own outputs is what an auditor
    // looks for first.
    if (a.find("disable") != std::string_view::npos || a.find("remove") != std::string_view::npos)
      return 8;
    return 6;
  }
  if (IsAccessControl(a) && (ActionClasses(a) & kClassModify)) return failed ? 6 : 7;
  const uint32_t cls = ActionClasses(a);
  if (cls & kClassLogin) return failed ? 5 : 3;
  if (cls & kClassConsole) return 5;
  if (cls & kClassDelete) return failed ? 5 : 6;
  if (cls & kClassModify) return failed ? 5 : 4;
  if (cls & kClassSession) return failed ? 4 : 2;
  if (cls & kClassRead) return failed ? 3 : 1;
  return failed ? 5 : 3;
}

std::string CefName(const Event& e) {
  if (StartsWith(e.action, "alert:")) return "Alert: " + e.action.substr(6);
  switch (e.result) {
    case Outcome::kSuccess:
      return e.action + " succeeded";
    case Outcome::kFailure:
      return e.action + " failed";
    default:
      return e.action + " (outcome unknown)";
  }
}

std::string FormatCef(const Event& e, std::string_view version) {
  std::string out;
  AppendCef(&out, e, version);
  return out;
}

void AppendCef(std::string* out, const Event& e, std::string_view version) {
  out->append("CEF:0|Proxmox|pveaudit|");
  AppendEscapedHeader(out, version);
  out->push_back('|');
  AppendEscapedHeader(out, e.action.empty() ? std::string_view("unknown") : e.action);
  out->push_back('|');
  // The Name: CefName without building it.
  if (StartsWith(e.action, "alert:")) {
    out->append("Alert: ");
    AppendEscapedHeader(out, std::string_view(e.action).substr(6));
  } else {
    AppendEscapedHeader(out, e.action);
    out->append(e.result == Outcome::kSuccess   ? " succeeded"
                : e.result == Outcome::kFailure ? " failed"
                                                : " (outcome unknown)");
  }
  out->push_back('|');
  char sev[8];
  out->append(sev, size_t(std::to_chars(sev, sev + sizeof sev, CefSeverity(e)).ptr - sev));
  out->push_back('|');
  AddExt(out, "rt", e.time_us / 1000, /*first=*/true);
  AddExt(out, "externalId", int64_t(e.id));
  AddExt(out, "dvchost", e.node);
  AddExt(out, "suser", e.user);
  AddExt(out, "src", e.ip);
  AddExt(out, "act", e.action);
  AddExt(out, "outcome", OutcomeName(e.result));
  AddExt(out, "cat", ActionClassList(e.action));
  if (!e.resource.empty()) {
    AddExt(out, "cs1Label", "resource");
    AddExt(out, "cs1", e.resource);
  }
  if (!e.status.empty()) {
    AddExt(out, "cs2Label", "status");
    AddExt(out, "cs2", e.status);
  }
  if (!e.source.empty()) {
    AddExt(out, "cs3Label", "source");
    AddExt(out, "cs3", e.source);
  }
  // A pveproxy request line "METHOD /path?query": the URL on its own too.
  std::string_view d = e.detail;
  if (auto sp = d.find(' '); sp != std::string_view::npos && IsRequestMethod(d.substr(0, sp))) {
    std::string_view rest = d.substr(sp + 1);
    AddExt(out, "requestMethod", d.substr(0, sp));
    AddExt(out, "request", rest.substr(0, rest.find(' ')));
  }
  AddExt(out, "msg", e.detail);
}

std::string FormatRfc5424Body(const Event& e) {
  std::string out = "[pveaudit@32473";
  auto param = [&](const char* k, std::string_view v) {
    out += ' ';
    out += k;
    out += "=\"";
    out += SdEscape(v);
    out += '"';
  };
  param("id", std::to_string(e.id));
  param("time", FormatRfc3339Utc(e.time_us));
  param("node", e.node);
  param("user", e.user);
  param("ip", e.ip);
  param("action", e.action);
  param("resource", e.resource);
  param("result", OutcomeName(e.result));
  param("status", e.status);
  param("source", e.source);
  param("detail", e.detail);
  out += "] ";
  out += OneLine((e.user.empty() ? std::string("-") : e.user) + " " + e.action + " " +
                 (e.resource.empty() ? std::string("-") : e.resource) + " " +
                 std::string(OutcomeName(e.result)));
  return out;
}

int SyslogSeverity(int cef) {
  if (cef >= 9) return 2;  // critical
  if (cef >= 7) return 4;  // warning
  if (cef >= 4) return 5;  // notice
  return 6;                // informational
}

std::string FrameSyslog(SyslogFraming framing, const Event& e, int cef_severity,
                        std::string_view host, std::string_view msg, bool structured) {
  std::string out;
  AppendSyslogFrame(&out, framing, e, cef_severity, host, msg, structured);
  return out;
}

void AppendSyslogFrame(std::string* out, SyslogFraming framing, const Event& e, int cef_severity,
                       std::string_view host, std::string_view msg, bool structured) {
  const int pri = 10 * 8 + SyslogSeverity(cef_severity);  // facility authpriv
  // The header is short: built in a stack buffer, then length, header and
  // message appended to `out` (no intermediate string per message).
  char head[400];
  size_t n = 0;
  auto put = [&](std::string_view v) {
    const size_t k = std::min(v.size(), sizeof head - n);
    std::memcpy(head + n, v.data(), k);
    n += k;
  };
  char num[24];
  put("<");
  put(std::string_view(num, size_t(std::to_chars(num, num + sizeof num, pri).ptr - num)));
  put(">");
  if (framing == SyslogFraming::kRfc3164) {
    static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = time_t(e.time_us / 1000000);
    if (e.time_us < 0 && e.time_us % 1000000) --t;
    struct tm tm {};
    gmtime_r(&t, &tm);
    char ts[32];
    std::snprintf(ts, sizeof ts, "%s %2d %02d:%02d:%02d", kMonths[tm.tm_mon % 12], tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    put(ts);
    put(" ");
    put(HeaderToken(host, 255));
    put(" pveaudit: ");
    out->append(head, n);
    out->append(msg);
    return;
  }
  put("1 ");
  put(FormatRfc3339Utc(e.time_us));
  put(" ");
  put(HeaderToken(host, 255));
  put(structured ? " pveaudit - audit " : " pveaudit - CEF - ");
  out->append(num, size_t(std::to_chars(num, num + sizeof num, n + msg.size()).ptr - num));
  out->push_back(' ');
  out->append(head, n);
  out->append(msg);
}

std::string CefRecord::Get(std::string_view key) const {
  for (const auto& [k, v] : extension)
    if (k == key) return v;
  return "";
}

bool CefRecord::Has(std::string_view key) const {
  for (const auto& kv : extension)
    if (kv.first == key) return true;
  return false;
}

bool ParseCef(std::string_view line, CefRecord* out) {
  *out = CefRecord();
  size_t i = 0;
  for (int f = 0; f < 7; ++f) {
    std::string v;
    bool closed = false;
    while (i < line.size()) {
      char c = line[i++];
      if (c == '\\' && i < line.size() && (line[i] == '\\' || line[i] == '|')) {
        v.push_back(line[i++]);
      } else if (c == '|') {
        closed = true;
        break;
      } else {
        v.push_back(c);
      }
    }
    if (!closed) return false;
    out->header[f] = std::move(v);
  }
  if (out->header[0] != "CEF:0") return false;
  // Extension: key=value pairs; a value runs to the next " key=" (an
  // unescaped '=' preceded by a key and a space).
  std::string_view ext = line.substr(i);
  auto key_at = [&](size_t p, size_t* eq) {  // an alphanumeric key at p followed by '='
    size_t k = p;
    while (k < ext.size() && (std::isalnum(static_cast<unsigned char>(ext[k])) || ext[k] == '_'))
      ++k;
    if (k == p || k >= ext.size() || ext[k] != '=') return false;
    *eq = k;
    return true;
  };
  size_t p = 0, eq = 0;
  while (p < ext.size() && ext[p] == ' ') ++p;
  if (p >= ext.size()) return true;
  if (!key_at(p, &eq)) return false;
  while (true) {
    std::string key(ext.substr(p, eq - p)), value;
    size_t v = eq + 1, next = std::string_view::npos, next_eq = 0;
    for (size_t k = v; k < ext.size(); ++k) {
      if (ext[k] == '\\' && k + 1 < ext.size()) {
        ++k;
        continue;
      }
      if (ext[k] == ' ' && key_at(k + 1, &next_eq)) {
        next = k;
        break;
      }
    }
    std::string_view raw =
        ext.substr(v, next == std::string_view::npos ? ext.size() - v : next - v);
    for (size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] == '\\' && k + 1 < raw.size()) {
        char n = raw[++k];
        value.push_back(n == 'n' ? '\n' : n == 'r' ? '\r' : n);
      } else {
        value.push_back(raw[k]);
      }
    }
    out->extension.emplace_back(std::move(key), std::move(value));
    if (next == std::string_view::npos) break;
    p = next + 1;
    eq = next_eq;
  }
  return true;
}

}  // namespace pveaudit

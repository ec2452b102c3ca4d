// event_json.cc
// JSON form of an Event (see event_json.h for the key list).
#include "core/event_json.h"

#include <string>

#include "core/time_spec.h"

namespace pveaudit {
namespace {

// Returns `s` when it is valid UTF-8, else a copy with every invalid byte
// replaced by U+FFFD, so that dumping the JSON can never throw.
std::string ValidUtf8(const std::string& s) {
  auto valid_at = [&](size_t i) -> size_t {  // length of a valid sequence at i, 0 if none
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return 1;
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    return n;
  };
  size_t i = 0;
  while (i < s.size()) {
    size_t n = valid_at(i);
    if (n == 0) break;
    i += n;
  }
  if (i == s.size()) return s;
  std::string out = s.substr(0, i);
  while (i < s.size()) {
    size_t n = valid_at(i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

int Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Strict RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm). 't', 'z' and
// a space instead of 'T' are accepted (RFC 3339 section 5.6 note).
bool ParseRfc3339(std::string_view s, int64_t* us) {
  int y = Digits(s, 0, 4), mo = Digits(s, 5, 2), d = Digits(s, 8, 2);
  int h = Digits(s, 11, 2), mi = Digits(s, 14, 2), se = Digits(s, 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 ||
      se > 60)
    return false;
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':')
    return false;
  if (d > DaysInMonth(y, mo)) return false;
  size_t i = 19;
  int64_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    int64_t scale = 100000;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (scale > 0) frac += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return false;
  }
  if (i >= s.size()) return false;
  int64_t off = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    int oh = Digits(s, i + 1, 2), om = Digits(s, i + 4, 2);
    if (oh < 0 || om < 0 || s[i + 3] != ':' || oh > 23 || om > 59) return false;
    off = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return false;
  }
  if (i != s.size()) return false;
  if (se == 60) se = 59;  // leap second: clamp
  *us = CivilToUs(y, mo, d, h, mi, se) - off * 1000000 + frac;
  return true;
}

Status StringKey(const nlohmann::json& j, const char* key, bool required, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return Status::InvalidArgument(std::string("missing key '") + key + "'");
    return Status::OK();
  }
  if (!it->is_string())
    return Status::InvalidArgument(std::string("key '") + key + "' must be a string");
  *out = it->get<std::string>();
  return Status::OK();
}

}  // namespace

nlohmann::json EventToJson(const Event& e) {
  nlohmann::json j = nlohmann::json::object();
  j["id"] = e.id;
  j["time"] = FormatRfc3339Utc(e.time_us);
  j["node"] = ValidUtf8(e.node);
  j["user"] = ValidUtf8(e.user);
  j["ip"] = ValidUtf8(e.ip);
  j["action"] = ValidUtf8(e.action);
  j["resource"] = ValidUtf8(e.resource);
  j["result"] = std::string(OutcomeName(e.result));
  j["status"] = ValidUtf8(e.status);
  j["source"] = ValidUtf8(e.source);
  j["session"] = ValidUtf8(e.session);
  j["detail"] = ValidUtf8(e.detail);
  j["origin"] = ValidUtf8(e.origin);
  j["line"] = e.origin_line;
  return j;
}

Result<Event> EventFromJson(std::string_view text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& ex) {
    return Status::InvalidArgument(std::string("invalid JSON: ") + ex.what());
  }
  if (!j.is_object()) return Status::InvalidArgument("not a JSON object");
  Event e;
  std::string time;
  PVEAUDIT_RETURN_IF_ERROR(StringKey(j, "time", true, &time));
  if (!ParseRfc3339(time, &e.time_us)) {
    return Status::InvalidArgument("bad time '" + time.substr(0, 64) + "' (want RFC 3339)");
  }
  PVEAUDIT_RETURN_IF_ERROR(StringKey(j, "user", true, &e.user));
  PVEAUDIT_RETURN_IF_ERROR(StringKey(j, "action", true, &e.action));
  if (e.action.empty()) return Status::InvalidArgument("empty key 'action'");
  PVEAUDIT_RETURN_IF_ERROR(StringKey(j, "node", false, &e.node));
  PVEAUDIT_RETURN_IF_ERROR(StringKey(j, "ip", false, &e.ip));
  if (!e.ip.empty()) e.ip = CanonicalIp(e.ip);
  PVEAUDIT_RETURN_IF_ERROR(StringKey(j, "resource", false, &e.resource));
  std::string result;
  PVEAUDIT_RETURN_IF_ERROR(StringKey(j, "result", false, &result));
  if (!result.empty() && !ParseOutcome(result, &e.result)) {
    return Status::InvalidArgument("bad key 'result': '" + result.substr(0, 64) +
                                   "' (want success, failure or unknown)");
  }
  PVEAUDIT_RETURN_IF_ERROR(StringKey(j, "status", false, &e.status));
  PVEAUDIT_RETURN_IF_ERROR(StringKey(j, "source", false, &e.source));
  PVEAUDIT_RETURN_IF_ERROR(StringKey(j, "session", false, &e.session));
  PVEAUDIT_RETURN_IF_ERROR(StringKey(j, "detail", false, &e.detail));
  PVEAUDIT_RETURN_IF_ERROR(StringKey(j, "origin", false, &e.origin));
  auto it = j.find("line");
  if (it != j.end() && !it->is_null()) {
    if (!it->is_number_unsigned()) {
      return Status::InvalidArgument("key 'line' must be a non-negative integer");
    }
    e.origin_line = it->get<uint64_t>();
  }
  return e;
}

}  // namespace pveaudit

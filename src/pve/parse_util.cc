// parse_util.cc
#include "pve/parse_util.h"

#include <cstdint>

namespace pveaudit::pve {
namespace {

bool IsPerlSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool IsAsciiAlpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlnum(char c) { return IsAsciiAlpha(c) || IsAsciiDigit(c); }
bool IsNameChar(char c) { return IsAsciiAlnum(c) || c == '.' || c == '-' || c == '_'; }

bool AllNameChars(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!IsNameChar(c)) return false;
  return true;
}

// $user_regex = [^\s:/]+
bool ValidUserPart(std::string_view u) {
  if (u.empty()) return false;
  for (char c : u)
    if (IsPerlSpace(c) || c == ':' || c == '/') return false;
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if malformed.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  size_t len;
  uint32_t cp;
  uint32_t min;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2, cp = b0 & 0x1fu, min = 0x80;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3, cp = b0 & 0x0fu, min = 0x800;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4, cp = b0 & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3fu);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

}  // namespace

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  if (text.find('\0') != std::string_view::npos) {
    // Perl split drops trailing empty fields.
    size_t start = 0;
    while (true) {
      size_t nul = text.find('\0', start);
      out.emplace_back(text.substr(start, nul == std::string_view::npos ? nul : nul - start));
      if (nul == std::string_view::npos) break;
      start = nul + 1;
    }
    while (!out.empty() && out.back().empty()) out.pop_back();
    return out;
  }
  std::string cur;
  for (char c : text) {
    if (c == ',' || c == ';' || IsPerlSpace(c)) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

bool PerlTrue(std::string_view s) { return !s.empty() && s != "0"; }

std::string_view TrimSpace(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && IsPerlSpace(s[b])) ++b;
  while (e > b && IsPerlSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::vector<std::string> SplitColons(std::string_view line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t colon = line.find(':', start);
    if (colon == std::string_view::npos) {
      out.emplace_back(line.substr(start));
      break;
    }
    out.emplace_back(line.substr(start, colon - start));
    start = colon + 1;
  }
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

std::string EncodeText(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    bool safe = (c >= 0x20 && c <= 0x24) || (c >= 0x26 && c <= 0x39) || (c >= 0x3b && c <= 0x7e);
    if (safe) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string DecodeText(std::string_view data) {
  // URI::Escape::uri_unescape: every %XX with two hex digits; anything else
  // (a lone '%', "%G1") stays as written.
  std::string bytes;
  bytes.reserve(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '%' && i + 2 < data.size()) {
      int hi = HexValue(data[i + 1]), lo = HexValue(data[i + 2]);
      if (hi >= 0 && lo >= 0) {
        bytes.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    bytes.push_back(data[i]);
  }
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    size_t len = Utf8SequenceLength(bytes, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(bytes, i, len);
      i += len;
    }
  }
  return out;
}

std::optional<std::string> NormalizePath(std::string_view path) {
  if (!PerlTrue(path)) return std::nullopt;
  std::string p;
  for (char c : path) {
    if (c == '/' && !p.empty() && p.back() == '/') continue;  // s|/+|/|g
    p.push_back(c);
  }
  if (!p.empty() && p.back() == '/') p.pop_back();  // s|/$||
  if (p.empty()) p.push_back('/');
  if (p[0] != '/') p.insert(p.begin(), '/');
  for (char c : p)
    if (!IsNameChar(c) && c != '/') return std::nullopt;
  return p;
}

bool VerifyUsername(std::string_view userid, std::string* realm) {
  if (userid.size() < 3 || userid.size() > 64) return false;
  // The user part is greedy and may itself contain '@'; the realm cannot,
  // so the realm is what follows the last '@'.
  size_t at = userid.rfind('@');
  if (at == std::string_view::npos) return false;
  if (!ValidUserPart(userid.substr(0, at)) || !ValidRealm(userid.substr(at + 1))) return false;
  if (realm) *realm = std::string(userid.substr(at + 1));
  return true;
}

bool SplitTokenId(std::string_view tokenid, std::string* userid, std::string* name) {
  // ((user_regex)@(realm_regex))!(realm_regex): neither the realm nor the
  // token name may contain '!', so the split is at the last '!'.
  size_t bang = tokenid.rfind('!');
  if (bang == std::string_view::npos) return false;
  std::string_view user = tokenid.substr(0, bang), sub = tokenid.substr(bang + 1);
  if (!ValidRealm(sub)) return false;
  size_t at = user.rfind('@');
  if (at == std::string_view::npos) return false;
  if (!ValidUserPart(user.substr(0, at)) || !ValidRealm(user.substr(at + 1))) return false;
  if (userid) *userid = std::string(user);
  if (name) *name = std::string(sub);
  return true;
}

bool ValidRealm(std::string_view r) {
  return r.size() >= 2 && IsAsciiAlpha(r[0]) && AllNameChars(r.substr(1));
}

bool ValidGroupName(std::string_view name) { return AllNameChars(name); }
bool ValidRoleName(std::string_view name) { return AllNameChars(name); }

bool ValidPoolName(std::string_view name) {
  int levels = 0;
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    std::string_view part =
        name.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (!AllNameChars(part)) return false;
    ++levels;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return levels <= 3;
}

bool ValidStorageId(std::string_view id) {
  if (id.size() < 2 || !IsAsciiAlpha(id[0]) || !IsAsciiAlnum(id.back())) return false;
  for (char c : id)
    if (!IsNameChar(c)) return false;
  return true;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!IsAsciiDigit(c)) return false;
  return true;
}

}  // namespace pveaudit::pve

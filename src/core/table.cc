// table.cc
#include "core/table.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace pveaudit {
namespace {

// Decodes one UTF-8 sequence at *i and advances past it. Returns the code
// point, or -1 for a byte that does not start a valid, shortest-form
// sequence (then advances one byte).
int32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto b0 = static_cast<unsigned char>(s[*i]);
  if (b0 < 0x80) {
    ++*i;
    return b0;
  }
  int len = 0;
  int32_t cp = 0;
  int32_t min = 0;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2, cp = b0 & 0x1f, min = 0x80;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3, cp = b0 & 0x0f, min = 0x800;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    ++*i;
    return -1;
  }
  if (*i + static_cast<size_t>(len) > s.size()) {
    ++*i;
    return -1;
  }
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[*i + static_cast<size_t>(k)]);
    if ((b & 0xc0) != 0x80) {
      ++*i;
      return -1;
    }
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    ++*i;
    return -1;
  }
  *i += static_cast<size_t>(len);
  return cp;
}

// Code points a terminal or YAML reader could act on rather than print:
// C0/C1 controls, DEL, line/paragraph separators, bidi overrides, BOM.
bool IsUnsafeCodePoint(int32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

std::string CellText(const Cell& cell) {
  if (const auto* s = std::get_if<std::string>(&cell)) return *s;
  if (const auto* n = std::get_if<int64_t>(&cell)) return std::to_string(*n);
  return {};
}

const Cell& CellAt(const std::vector<Cell>& row, size_t i) {
  static const Cell kNull;
  return i < row.size() ? row[i] : kNull;
}

// ----- text -----

struct TextCell {
  std::string text;  // valid UTF-8, no control characters
  size_t width = 0;  // code points
};

// Replaces anything unprintable (and invalid UTF-8) with '?', then cuts to
// `max_width` code points (0 = no limit) with '~' as the last one.
TextCell SanitizeForText(std::string_view s, size_t max_width) {
  TextCell out;
  out.text.reserve(s.size());
  std::vector<size_t> starts;  // byte offset of each code point, only when cutting
  size_t i = 0;
  while (i < s.size()) {
    const size_t begin = i;
    const int32_t cp = NextCodePoint(s, &i);
    if (max_width > 0) starts.push_back(out.text.size());
    if (cp < 0 || IsUnsafeCodePoint(cp)) {
      out.text.push_back('?');
    } else {
      out.text.append(s.substr(begin, i - begin));
    }
    ++out.width;
  }
  if (max_width > 0 && out.width > max_width) {
    out.text.resize(starts[max_width - 1]);
    out.text.push_back('~');
    out.width = max_width;
  }
  return out;
}

std::string UpperCase(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

std::string RenderText(const Table& t) {
  if (t.rows.empty()) return {};
  const size_t ncol = t.columns.size();
  std::vector<TextCell> header(ncol);
  std::vector<size_t> width(ncol, 0);
  for (size_t c = 0; c < ncol; ++c) {
    const std::string h =
        c < t.headers.size() && !t.headers[c].empty() ? t.headers[c] : UpperCase(t.columns[c]);
    header[c] = SanitizeForText(h, 0);
    width[c] = header[c].width;
  }
  std::vector<std::vector<TextCell>> cells(t.rows.size());
  for (size_t r = 0; r < t.rows.size(); ++r) {
    cells[r].resize(ncol);
    for (size_t c = 0; c < ncol; ++c) {
      const size_t max = c < t.max_width.size() ? t.max_width[c] : 0;
      cells[r][c] = SanitizeForText(CellText(CellAt(t.rows[r], c)), max);
      if (cells[r][c].width > width[c]) width[c] = cells[r][c].width;
    }
  }
  std::string out;
  auto emit = [&](const std::vector<TextCell>& line) {
    for (size_t c = 0; c < ncol; ++c) {
      out += line[c].text;
      if (c + 1 < ncol) out.append(width[c] - line[c].width + t.gap, ' ');
    }
    out.push_back('\n');
  };
  emit(header);
  for (const auto& line : cells) emit(line);
  return out;
}

// ----- JSON -----

std::string RenderJson(const Table& t, bool pretty) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& row : t.rows) {
    nlohmann::ordered_json obj = nlohmann::ordered_json::object();
    for (size_t c = 0; c < t.columns.size(); ++c) {
      const Cell& cell = CellAt(row, c);
      if (const auto* s = std::get_if<std::string>(&cell)) {
        obj[t.columns[c]] = *s;
      } else if (const auto* n = std::get_if<int64_t>(&cell)) {
        obj[t.columns[c]] = *n;
      } else {
        obj[t.columns[c]] = nullptr;
      }
    }
    arr.push_back(std::move(obj));
  }
  std::string out =
      arr.dump(pretty ? 4 : -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  out.push_back('\n');
  return out;
}

// ----- CSV -----

// "-5", "12", "-1.5": numbers a spreadsheet reads as numbers, not formulas.
bool IsPlainNumber(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  const size_t int_begin = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == int_begin) return false;
  if (i < s.size() && s[i] == '.') {
    const size_t frac_begin = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == frac_begin) return false;
  }
  return i == s.size();
}

std::string RenderCsv(const Table& t) {
  std::string out;
  for (size_t c = 0; c < t.columns.size(); ++c) {
    if (c > 0) out.push_back(',');
    out += CsvEscape(t.columns[c]);
  }
  out += "\r\n";
  for (const auto& row : t.rows) {
    for (size_t c = 0; c < t.columns.size(); ++c) {
      if (c > 0) out.push_back(',');
      const Cell& cell = CellAt(row, c);
      if (const auto* s = std::get_if<std::string>(&cell)) {
        out += CsvEscape(*s);
      } else if (const auto* n = std::get_if<int64_t>(&cell)) {
        out += std::to_string(*n);
      }
    }
    out += "\r\n";
  }
  return out;
}

// ----- YAML -----

bool YamlNeedsQuotes(std::string_view s) {
  if (s.empty()) return true;
  if (s.front() == ' ' || s.back() == ' ') return true;
  const char first = s.front();
  // Indicators and anything that could start a number, date or special float.
  if ((first >= '0' && first <= '9') ||
      std::string_view("-?:,[]{}#&*!|>'\"%@`.+~=<").find(first) != std::string_view::npos) {
    return true;
  }
  std::string lower;
  lower.reserve(s.size());
  for (char c : s) lower.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  static constexpr std::string_view kReserved[] = {"true", "false", "yes", "no",   "on",
                                                   "off",  "y",     "n",   "null", "~"};
  for (std::string_view w : kReserved) {
    if (lower == w) return true;
  }
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::string_view(":#{}[],&*!|>'\"%@`\\").find(c) != std::string_view::npos) return true;
    const int32_t cp = NextCodePoint(s, &i);
    if (cp < 0 || IsUnsafeCodePoint(cp)) return true;
  }
  return false;
}

std::string YamlScalar(std::string_view s) {
  if (!YamlNeedsQuotes(s)) return std::string(s);
  std::string out = "\"";
  size_t i = 0;
  while (i < s.size()) {
    const size_t begin = i;
    const int32_t cp = NextCodePoint(s, &i);
    char buf[16];
    switch (cp) {
      case -1:
        out += "\\uFFFD";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case 0:
        out += "\\0";
        break;
      case 0x2028:
        out += "\\L";
        break;
      case 0x2029:
        out += "\\P";
        break;
      default:
        if (IsUnsafeCodePoint(cp)) {
          if (cp <= 0xff) {
            std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned>(cp));
          } else {
            std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(cp));
          }
          out += buf;
        } else {
          out.append(s.substr(begin, i - begin));
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string RenderYaml(const Table& t) {
  if (t.rows.empty()) return "[]\n";
  std::vector<std::string> keys;
  keys.reserve(t.columns.size());
  for (const auto& c : t.columns) keys.push_back(YamlScalar(c));
  std::string out;
  for (const auto& row : t.rows) {
    if (t.columns.empty()) {
      out += "- {}\n";
      continue;
    }
    for (size_t c = 0; c < t.columns.size(); ++c) {
      out += c == 0 ? "- " : "  ";
      out += keys[c];
      out += ": ";
      const Cell& cell = CellAt(row, c);
      if (const auto* s = std::get_if<std::string>(&cell)) {
        out += YamlScalar(*s);
      } else if (const auto* n = std::get_if<int64_t>(&cell)) {
        out += std::to_string(*n);
      } else {
        out += "null";
      }
      out.push_back('\n');
    }
  }
  return out;
}

}  // namespace

bool ParseOutputFormat(std::string_view name, OutputFormat* out) {
  if (name == "text") {
    *out = OutputFormat::kText;
  } else if (name == "json") {
    *out = OutputFormat::kJson;
  } else if (name == "json-pretty") {
    *out = OutputFormat::kJsonPretty;
  } else if (name == "csv") {
    *out = OutputFormat::kCsv;
  } else if (name == "yaml") {
    *out = OutputFormat::kYaml;
  } else {
    return false;
  }
  return true;
}

std::string RenderTable(const Table& table, OutputFormat format) {
  switch (format) {
    case OutputFormat::kText:
      return RenderText(table);
    case OutputFormat::kJson:
      return RenderJson(table, false);
    case OutputFormat::kJsonPretty:
      return RenderJson(table, true);
    case OutputFormat::kCsv:
      return RenderCsv(table);
    case OutputFormat::kYaml:
      return RenderYaml(table);
  }
  return {};
}

std::string CsvEscape(std::string_view cell) {
  std::string s;
  s.reserve(cell.size() + 3);
  if (!cell.empty() && std::string_view("=+-@\t\r").find(cell.front()) != std::string_view::npos &&
      !IsPlainNumber(cell)) {
    s.push_back('\'');
  }
  s.append(cell);
  const bool quote = s.find_first_of(",\"\r\n") != std::string::npos ||
                     (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.back() == ' ' ||
                                     s.back() == '\t'));
  if (!quote) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace pveaudit

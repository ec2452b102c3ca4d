// table.cc
#include "core/table.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

namespace pveaudit {
namespace {

// The offset of the first byte at or after `i` that is a C0 control
// (< 0x20), not ASCII (>= 0x80) or `a` or `b`; s.size() when none. Reads 8
// bytes at a time (SWAR): a listing's cells are nearly all plain ASCII, and
// the byte-at-a-time loops this replaces were the largest cost of writing
// JSON and CSV (bench/RESULTS.md, "Streaming"). No library offers this
// classification; the bit tricks are the classic "has a byte less than n"
// and "has a zero byte" tests, exact for whether any byte of a word hits.
size_t FindSpecial(std::string_view s, size_t i, char a, char b) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t ma = kOnes * static_cast<unsigned char>(a);
  const uint64_t mb = kOnes * static_cast<unsigned char>(b);
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    const uint64_t xa = w ^ ma, xb = w ^ mb;
    const uint64_t hit = (w & kHigh) | ((w - kOnes * 0x20) & ~w & kHigh) |
                         ((xa - kOnes) & ~xa & kHigh) | ((xb - kOnes) & ~xb & kHigh);
    if (hit) break;
  }
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x80 || s[i] == a || s[i] == b) return i;
  }
  return s.size();
}

// Appends the decimal digits of `n`.
void AppendInt(int64_t n, std::string* out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);
  out->append(buf, r.ptr);
}

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

const CellView& ViewAt(std::span<const CellView> row, size_t i) {
  static const CellView kNull;
  return i < row.size() ? row[i] : kNull;
}

// ----- text -----

// Shown in a cell whose value is printed whole under its row.
constexpr const char kSpilled[] = "\u2193";  // a downwards arrow, one column wide

// Replaces anything unprintable (and invalid UTF-8) with '?', then cuts to
// `max_width` code points (0 = no limit) with '~' as the last one.
void SanitizeForText(std::string_view s, size_t max_width, std::string* text, size_t* width) {
  text->clear();
  *width = 0;
  // Fast path: printable ASCII is kept as it is, one column per byte.
  if (FindSpecial(s, 0, '\x7f', '\x7f') == s.size()) {
    if (max_width > 0 && s.size() > max_width) {
      text->assign(s.substr(0, max_width - 1));
      text->push_back('~');
      *width = max_width;
    } else {
      text->assign(s);
      *width = s.size();
    }
    return;
  }
  text->reserve(s.size());
  size_t cut_at = 0;  // byte offset of code point max_width - 1
  size_t i = 0;
  while (i < s.size()) {
    const size_t begin = i;
    const int32_t cp = NextCodePoint(s, &i);
    if (max_width > 0 && *width == max_width - 1) cut_at = text->size();
    if (cp < 0 || IsUnsafeCodePoint(cp)) {
      text->push_back('?');
    } else {
      text->append(s.substr(begin, i - begin));
    }
    ++*width;
  }
  if (max_width > 0 && *width > max_width) {
    text->resize(cut_at);
    text->push_back('~');
    *width = max_width;
  }
}

std::string UpperCase(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

// How good a place to break a wrapped cell is, before code point `next`
// that follows `prev`: 4 at a space, 3 after a '/' (paths), 2 before '@' or
// '!' (user@realm!token) and after ':' ',' ';' '=' (IPv6, lists), 1 after
// '.' '-' '_'; 0 is no place to break.
int BreakQuality(int32_t prev, int32_t next) {
  if (next == ' ') return 4;
  if (prev == '/') return 3;
  if (next == '@' || next == '!' || prev == ':' || prev == ',' || prev == ';' || prev == '=')
    return 2;
  if (prev == '.' || prev == '-' || prev == '_') return 1;
  return 0;
}

// ----- JSON -----

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
  if (s.size() <= 5) {  // the longest reserved word is "false"
    char lower[5];
    for (size_t i = 0; i < s.size(); ++i)
      lower[i] = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
    static constexpr std::string_view kReserved[] = {"true", "false", "yes", "no",   "on",
                                                     "off",  "y",     "n",   "null", "~"};
    for (std::string_view w : kReserved) {
      if (std::string_view(lower, s.size()) == w) return true;
    }
  }
  // Per byte: 1 = an indicator that needs quotes, 2 = not printable ASCII
  // (decoded below), 0 = plain.
  static const auto kClass = [] {
    std::array<uint8_t, 256> t{};
    for (int b = 0; b < 256; ++b) t[static_cast<size_t>(b)] = b < 0x20 || b >= 0x7f ? 2 : 0;
    for (char c : std::string_view(":#{}[],&*!|>'\"%@`\\")) t[static_cast<unsigned char>(c)] = 1;
    return t;
  }();
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t k = kClass[static_cast<unsigned char>(s[i])];
    if (k == 1) return true;
    if (k == 0) {
      ++i;
      continue;
    }
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

}  // namespace

// Appends `s` as a JSON string, byte for byte as nlohmann::json::dump
// (ensure_ascii false, invalid UTF-8 replaced) writes it, without building
// a json value per cell.
void AppendJsonString(std::string_view s, std::string* out) {
  const size_t start = out->size();
  out->push_back('"');
  size_t run = 0;
  bool high = false;
  for (size_t i = FindSpecial(s, 0, '"', '\\'); i < s.size();
       i = FindSpecial(s, i + 1, '"', '\\')) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      high = true;
      continue;
    }
    out->append(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
        *out += buf;
      }
    }
  }
  out->append(s.substr(run));
  out->push_back('"');
  if (!high) return;
  size_t i = 0;
  while (i < s.size()) {
    if (NextCodePoint(s, &i) < 0) {
      // Invalid UTF-8 is rare; let nlohmann replace it, so the bytes stay
      // exactly what its error handler prints.
      out->resize(start);
      *out += nlohmann::json(std::string(s))
                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    }
  }
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size())
    if (NextCodePoint(s, &i) < 0) return false;
  return true;
}

std::vector<std::string> WrapText(std::string_view text, size_t max) {
  std::vector<std::string> pieces;
  if (max == 0) max = 1;
  std::vector<size_t> at;  // byte offset of each code point, then the end
  std::vector<int32_t> cps;
  for (size_t i = 0; i < text.size();) {
    at.push_back(i);
    cps.push_back(NextCodePoint(text, &i));
  }
  at.push_back(text.size());
  const size_t n = cps.size();
  size_t start = 0;
  while (n - start > max) {
    // The best break in (start, start + max]: at the last space, else,
    // not leaving a piece shorter than a third of the column, the longest
    // piece, where a better place to break is worth two characters per
    // quality step.
    size_t best = 0;
    int best_q = 0;
    size_t best_score = 0;
    for (size_t i = start + 1; i <= start + max && i < n; ++i) {
      const int q = BreakQuality(cps[i - 1], cps[i]);
      if (q == 0 || (q < 4 && i - start < max / 3)) continue;
      // Words (a header, a date and time) break at their spaces first.
      const size_t score = i - start + 2 * static_cast<size_t>(q) + (q == 4 ? 1000 : 0);
      if (score >= best_score) best = i, best_q = q, best_score = score;
    }
    size_t end = best ? best : start + max;
    pieces.emplace_back(text.substr(at[start], at[end] - at[start]));
    start = end;
    if (best_q == 4) ++start;  // the space itself is where the line breaks
  }
  pieces.emplace_back(text.substr(at[start]));
  return pieces;
}

TableWriter::TableWriter(const Table& layout, OutputFormat format, OutputBuffer* out,
                         size_t sample_rows)
    : format_(format),
      out_(out),
      columns_(layout.columns),
      max_width_(layout.max_width),
      min_width_(layout.min_width),
      gap_(layout.gap),
      line_width_(layout.width),
      sample_rows_(std::max<size_t>(1, sample_rows)) {
  const size_t n = columns_.size();
  switch (format_) {
    case OutputFormat::kText:
      header_.resize(n);
      for (size_t c = 0; c < n; ++c) {
        (c < layout.own_line.size() && layout.own_line[c] ? below_ : inline_).push_back(c);
        const std::string h = c < layout.headers.size() && !layout.headers[c].empty()
                                  ? layout.headers[c]
                                  : UpperCase(columns_[c]);
        SanitizeForText(h, 0, &header_[c].text, &header_[c].width);
      }
      break;
    case OutputFormat::kJson:
    case OutputFormat::kJsonPretty:
      for (const auto& c : columns_) {
        std::string k;
        AppendJsonString(c, &k);
        keys_.push_back(std::move(k));
      }
      break;
    case OutputFormat::kCsv: {
      std::string& b = out_->buffer();
      for (size_t c = 0; c < n; ++c) {
        if (c > 0) b.push_back(',');
        b += CsvEscape(columns_[c]);
      }
      b += "\r\n";
      break;
    }
    case OutputFormat::kYaml:
      for (const auto& c : columns_) keys_.push_back(YamlScalar(c));
      break;
  }
}

bool TableWriter::Add(const std::vector<Cell>& row) {
  std::vector<CellView> v;
  v.reserve(row.size());
  for (const Cell& cell : row) {
    if (const auto* s = std::get_if<std::string>(&cell)) {
      v.emplace_back(std::string_view(*s));
    } else if (const auto* n = std::get_if<int64_t>(&cell)) {
      v.emplace_back(*n);
    } else {
      v.emplace_back();
    }
  }
  return Add(std::span<const CellView>(v));
}

bool TableWriter::Add(std::span<const CellView> row) {
  if (out_->error() != 0) return false;
  switch (format_) {
    case OutputFormat::kText:
      AddText(row);
      break;
    case OutputFormat::kJson:
    case OutputFormat::kJsonPretty:
      AddJson(row);
      break;
    case OutputFormat::kCsv:
      AddCsv(row);
      break;
    case OutputFormat::kYaml:
      AddYaml(row);
      break;
  }
  ++rows_;
  return out_->Wrote();
}

void TableWriter::AddJson(std::span<const CellView> row) {
  const bool pretty = format_ == OutputFormat::kJsonPretty;
  std::string& b = out_->buffer();
  if (pretty) {
    b += rows_ == 0 ? "[\n    {" : ",\n    {";
  } else {
    b += rows_ == 0 ? "[{" : ",{";
  }
  for (size_t c = 0; c < keys_.size(); ++c) {
    if (pretty) {
      b += c == 0 ? "\n        " : ",\n        ";
      b += keys_[c];
      b += ": ";
    } else {
      if (c > 0) b.push_back(',');
      b += keys_[c];
      b.push_back(':');
    }
    const CellView& cell = ViewAt(row, c);
    if (const auto* s = std::get_if<std::string_view>(&cell)) {
      AppendJsonString(*s, &b);
    } else if (const auto* n = std::get_if<int64_t>(&cell)) {
      AppendInt(*n, &b);
    } else {
      b += "null";
    }
  }
  if (pretty && !keys_.empty()) b += "\n    ";
  b.push_back('}');
}

void TableWriter::AddCsv(std::span<const CellView> row) {
  std::string& b = out_->buffer();
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (c > 0) b.push_back(',');
    const CellView& cell = ViewAt(row, c);
    if (const auto* s = std::get_if<std::string_view>(&cell)) {
      AppendCsv(*s, &b);
    } else if (const auto* n = std::get_if<int64_t>(&cell)) {
      AppendInt(*n, &b);
    }
  }
  b += "\r\n";
}

void TableWriter::AddYaml(std::span<const CellView> row) {
  std::string& b = out_->buffer();
  if (columns_.empty()) {
    b += "- {}\n";
    return;
  }
  for (size_t c = 0; c < columns_.size(); ++c) {
    b += c == 0 ? "- " : "  ";
    b += keys_[c];
    b += ": ";
    const CellView& cell = ViewAt(row, c);
    if (const auto* s = std::get_if<std::string_view>(&cell)) {
      if (!YamlNeedsQuotes(*s)) {
        b += *s;  // the common cases, without a copy
      } else if (std::all_of(s->begin(), s->end(), [](char ch) {
                   return ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\';
                 })) {
        b.push_back('"');
        b += *s;
        b.push_back('"');
      } else {
        b += YamlScalar(*s);
      }
    } else if (const auto* n = std::get_if<int64_t>(&cell)) {
      b += std::to_string(*n);
    } else {
      b += "null";
    }
    b.push_back('\n');
  }
}

void TableWriter::AddText(std::span<const CellView> row) {
  const size_t n = columns_.size();
  std::vector<TextCell>& cells = scratch_;
  cells.resize(n);
  for (size_t c = 0; c < n; ++c) {
    const CellView& cell = ViewAt(row, c);
    const size_t max = c < max_width_.size() ? max_width_[c] : 0;
    if (const auto* s = std::get_if<std::string_view>(&cell)) {
      SanitizeForText(*s, max, &cells[c].text, &cells[c].width);
    } else if (const auto* i = std::get_if<int64_t>(&cell)) {
      SanitizeForText(std::to_string(*i), max, &cells[c].text, &cells[c].width);
    } else {
      cells[c].text.clear();
      cells[c].width = 0;
    }
  }
  if (width_.empty()) {
    held_.push_back(cells);
    if (held_.size() >= sample_rows_) DecideWidths();
    return;
  }
  EmitText(cells, false);
}

void TableWriter::DecideWidths() {
  const size_t n = inline_.size();
  width_.assign(columns_.size(), 0);
  for (size_t c : inline_) {
    width_[c] = header_[c].width;
    for (const auto& row : held_) width_[c] = std::max(width_[c], row[c].width);
  }
  if (line_width_ > 0 && n > 0) {
    // Narrow, one column at a time, the column whose narrowing moves the
    // fewest sampled cells (header included) out of their column, widest
    // first on ties: a lone long path narrows its column for free, the user
    // column that every row fills keeps its width.
    std::vector<std::vector<uint32_t>> count(columns_.size());  // [c][w]: cells w wide
    size_t total = gap_ * (n - 1);
    for (size_t c : inline_) {
      width_[c] = std::min(width_[c], line_width_);
      count[c].assign(width_[c] + 1, 0);
      ++count[c][std::min(header_[c].width, width_[c])];
      for (const auto& row : held_) ++count[c][std::min(row[c].width, width_[c])];
      total += width_[c];
    }
    auto cost = [&](size_t c) { return count[c][width_[c]]; };  // cells that would spill
    while (total > line_width_) {
      size_t best = columns_.size();
      uint64_t best_cost = 0;
      for (size_t c : inline_) {
        const size_t min =
            std::min(c < min_width_.size() && min_width_[c] ? min_width_[c] : 6, width_[c]);
        if (width_[c] <= min || width_[c] <= 1) continue;
        const uint64_t k = cost(c);
        if (best == columns_.size() || k < best_cost ||
            (k == best_cost && width_[c] > width_[best]))
          best = c, best_cost = k;
      }
      if (best == columns_.size()) break;  // cannot fit: lines stay longer than line_width_
      --width_[best];
      --total;
    }
  }
  EmitText(header_, true);
  for (const auto& row : held_) EmitText(row, false);
  held_.clear();
  held_.shrink_to_fit();
}

void TableWriter::EmitText(const std::vector<TextCell>& line, bool header) {
  const size_t n = inline_.size();
  std::string& b = out_->buffer();
  bool wraps = false;
  for (size_t c : inline_) wraps |= line[c].width > width_[c];
  if (!wraps) {
    // One resize for the line, then copies into it: appending each cell and
    // its padding on its own was most of a text listing's writing cost.
    size_t len = 1;
    for (size_t i = 0; i < n; ++i) {
      const size_t c = inline_[i];
      len += line[c].text.size() + (i + 1 < n ? width_[c] - line[c].width + gap_ : 0);
    }
    size_t at = b.size();
    b.resize(at + len);
    char* p = b.data() + at;
    for (size_t i = 0; i < n; ++i) {
      const size_t c = inline_[i];
      std::memcpy(p, line[c].text.data(), line[c].text.size());
      p += line[c].text.size();
      if (i + 1 < n) {
        const size_t pad = width_[c] - line[c].width + gap_;
        std::memset(p, ' ', pad);
        p += pad;
      }
    }
    *p = '\n';
  } else if (!header) {
    // A cell wider than its column is shown as kSpilled, and whole on a line
    // of its own under the row: "name: value", indented to the second
    // column (wrapped only when longer than the line).
    for (size_t i = 0; i < n; ++i) {
      const size_t c = inline_[i];
      const bool spilled = line[c].width > width_[c];
      b += spilled ? std::string_view(kSpilled) : std::string_view(line[c].text);
      if (i + 1 < n) b.append(width_[c] - (spilled ? 1 : line[c].width) + gap_, ' ');
    }
    b.push_back('\n');
    for (size_t c : inline_)
      if (line[c].width > width_[c]) EmitBelow(c, line[c]);
  } else {
    // A header wider than its column (a long time zone name) wraps in it.
    std::vector<std::vector<std::string>> pieces(n);
    size_t lines = 1;
    for (size_t i = 0; i < n; ++i) {
      const size_t c = inline_[i];
      if (line[c].width > width_[c]) {
        pieces[i] = WrapText(line[c].text, width_[c]);
      } else {
        pieces[i].push_back(line[c].text);
      }
      lines = std::max(lines, pieces[i].size());
    }
    for (size_t k = 0; k < lines; ++k) {
      const size_t begin = b.size();
      for (size_t i = 0; i < n; ++i) {
        const size_t c = inline_[i];
        size_t w = 0;
        if (k < pieces[i].size()) {
          b += pieces[i][k];
          for (size_t j = 0; j < pieces[i][k].size();) NextCodePoint(pieces[i][k], &j), ++w;
        }
        if (i + 1 < n) b.append(width_[c] - std::min(w, width_[c]) + gap_, ' ');
      }
      while (b.size() > begin && b.back() == ' ') b.pop_back();
      b.push_back('\n');
    }
  }
  if (header) return;
  // Own-line columns: like a spilled cell, "name: value" under the row.
  for (size_t c : below_)
    if (!line[c].text.empty()) EmitBelow(c, line[c]);
}

void TableWriter::EmitBelow(size_t c, const TextCell& cell) {
  // "name: value" on a line of its own, indented to the second column;
  // wrapped only when longer than the line.
  std::string& b = out_->buffer();
  const size_t indent = inline_.size() > 1 ? width_[inline_[0]] + gap_ : 2;
  const std::string label = columns_[c] + ": ";
  const size_t at = indent + label.size();
  const size_t room = line_width_ > at ? line_width_ - at : 0;
  std::vector<std::string> pieces;
  if (room == 0 || cell.width <= room) {
    pieces.push_back(cell.text);
  } else {
    pieces = WrapText(cell.text, room);
  }
  for (size_t k = 0; k < pieces.size(); ++k) {
    b.append(k == 0 ? indent : at, ' ');
    if (k == 0) b += label;
    b += pieces[k];
    b.push_back('\n');
  }
}

bool TableWriter::Finish() {
  std::string& b = out_->buffer();
  switch (format_) {
    case OutputFormat::kText:
      if (width_.empty() && rows_ > 0) DecideWidths();
      break;
    case OutputFormat::kJson:
      b += rows_ == 0 ? "[]\n" : "]\n";
      break;
    case OutputFormat::kJsonPretty:
      b += rows_ == 0 ? "[]\n" : "\n]\n";
      break;
    case OutputFormat::kCsv:
      break;
    case OutputFormat::kYaml:
      if (rows_ == 0) b += "[]\n";
      break;
  }
  return out_->Flush();
}

bool OutputBuffer::Flush() {
  if (fd_ < 0) return error_ == 0;
  size_t done = 0;
  while (error_ == 0 && done < buf_.size()) {
    const ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      error_ = errno;
    }
  }
  buf_.clear();
  return error_ == 0;
}

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
  OutputBuffer out;
  TableWriter w(table, format, &out, std::numeric_limits<size_t>::max());
  for (const auto& row : table.rows) w.Add(row);
  w.Finish();
  return out.Take();
}

void AppendCsv(std::string_view cell, std::string* out) {
  const bool guard = !cell.empty() &&
                     std::string_view("=+-@\t\r").find(cell.front()) != std::string_view::npos &&
                     !IsPlainNumber(cell);
  // One pass over the cell, 8 bytes at a time: find_first_of with a set
  // calls memchr per character, which was the largest cost of streaming CSV.
  bool special = false;
  for (size_t i = FindSpecial(cell, 0, ',', '"'); i < cell.size() && !special;
       i = FindSpecial(cell, i + 1, ',', '"'))
    special = cell[i] == ',' || cell[i] == '"' || cell[i] == '\r' || cell[i] == '\n';
  const bool quote =
      special || (!cell.empty() && ((!guard && (cell.front() == ' ' || cell.front() == '\t')) ||
                                    cell.back() == ' ' || cell.back() == '\t'));
  if (quote) out->push_back('"');
  if (guard) out->push_back('\'');
  if (!quote) {
    out->append(cell);
    return;
  }
  size_t run = 0;
  for (size_t q; (q = cell.find('"', run)) != std::string_view::npos; run = q + 1) {
    out->append(cell.substr(run, q + 1 - run));
    out->push_back('"');
  }
  out->append(cell.substr(run));
  out->push_back('"');
}

std::string CsvEscape(std::string_view cell) {
  std::string out;
  AppendCsv(cell, &out);
  return out;
}

}  // namespace pveaudit

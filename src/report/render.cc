#include "report/render.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace pveaudit::report {
namespace {

bool EndsWith(const std::string& s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  std::string tail = s.substr(s.size() - suffix.size());
  std::transform(tail.begin(), tail.end(), tail.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return tail == suffix;
}

std::string CellText(const Cell& c) {
  if (const auto* s = std::get_if<std::string>(&c)) return *s;
  if (const auto* n = std::get_if<int64_t>(&c)) return std::to_string(*n);
  return {};
}

// CsvEscape(cell) appended to `out`, without a temporary for the common
// cell that needs neither quoting nor neutralising.
void AppendCsv(std::string* out, std::string_view cell) {
  if (cell.empty()) return;
  if (std::string_view("=+-@\t\r").find(cell.front()) != std::string_view::npos) {
    out->append(CsvEscape(cell));  // rare: may need the formula-neutralising '
    return;
  }
  // One memchr per character: much faster than find_first_of on long cells.
  bool quote =
      cell.front() == ' ' || cell.back() == ' ' || cell.back() == '\t' ||
      cell.find(',') != std::string_view::npos || cell.find('"') != std::string_view::npos ||
      cell.find('\n') != std::string_view::npos || cell.find('\r') != std::string_view::npos;
  if (!quote) {
    out->append(cell);
    return;
  }
  out->push_back('"');
  for (char c : cell) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendCsvCell(std::string* out, const Cell& c) {
  if (const auto* s = std::get_if<std::string>(&c))
    AppendCsv(out, *s);
  else if (const auto* n = std::get_if<int64_t>(&c))
    out->append(std::to_string(*n));
}

// Several sections: one rectangular file whose header is `section` plus the
// union of the sections' columns. Written row by row into the output (no
// union table: the coverage section alone can have millions of rows).
std::string RenderCsv(const Report& r) {
  if (r.sections.size() == 1) return RenderTable(r.sections[0].table, OutputFormat::kCsv);
  std::vector<std::string> columns = {"section"};
  for (const Section& s : r.sections)
    for (const std::string& c : s.table.columns)
      if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
  // Reserve roughly the final size once instead of growing by copies.
  size_t estimate = 0;
  for (const Section& s : r.sections)
    for (const auto& row : s.table.rows) {
      estimate += s.name.size() + columns.size() + 1;
      for (const Cell& c : row)
        if (const auto* str = std::get_if<std::string>(&c))
          estimate += str->size() + 2;
        else
          estimate += 8;
    }
  std::string out;
  out.reserve(estimate + estimate / 16 + 1024);
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) out.push_back(',');
    AppendCsv(&out, columns[i]);
  }
  out += "\r\n";
  for (const Section& s : r.sections) {
    // For each output column, the section's column index or -1.
    std::vector<int> from(columns.size(), -1);
    for (size_t i = 0; i < s.table.columns.size(); ++i)
      from[size_t(std::find(columns.begin(), columns.end(), s.table.columns[i]) -
                  columns.begin())] = int(i);
    for (const auto& row : s.table.rows) {
      AppendCsv(&out, s.name);
      for (size_t c = 1; c < columns.size(); ++c) {
        out.push_back(',');
        if (from[c] >= 0 && size_t(from[c]) < row.size()) AppendCsvCell(&out, row[size_t(from[c])]);
      }
      out += "\r\n";
    }
  }
  return out;
}

std::string RenderJsonReport(const Report& r, bool pretty) {
  nlohmann::ordered_json obj = nlohmann::ordered_json::object();
  for (const Section& s : r.sections)
    obj[s.name] = nlohmann::ordered_json::parse(RenderTable(s.table, OutputFormat::kJson));
  obj["notes"] = r.notes;
  std::string out =
      obj.dump(pretty ? 4 : -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  out.push_back('\n');
  return out;
}

std::string RenderText(const Report& r) {
  std::string out;
  bool titled = r.sections.size() > 1;
  for (size_t i = 0; i < r.sections.size(); ++i) {
    const Section& s = r.sections[i];
    if (titled) {
      if (i) out += "\n";
      out += s.title + " (" + std::to_string(s.table.rows.size()) + ")\n";
    }
    if (s.table.rows.empty())
      out += titled ? "  (none)\n" : "(none)\n";
    else
      out += RenderTable(s.table, OutputFormat::kText);
  }
  for (const std::string& n : r.notes) out += "note: " + n + "\n";
  return out;
}

std::string RenderHtml(const Report& r) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
      HtmlEscape(r.title) + "</title>\n<style>\n" + HtmlStyle() +
      "</style>\n</head>\n<body>\n<h1>" + HtmlEscape(r.title) + "</h1>\n";
  for (const std::string& n : r.notes) out += "<p class=\"note\">" + HtmlEscape(n) + "</p>\n";
  for (const Section& s : r.sections) {
    out += "<h2>" + HtmlEscape(s.title) + " (" + std::to_string(s.table.rows.size()) + ")</h2>\n";
    out += s.table.rows.empty() ? std::string("<p>None.</p>\n") : HtmlTable(s.table);
  }
  out += "</body>\n</html>\n";
  return out;
}

// A JSON string literal exactly as nlohmann::json::dump (no ensure_ascii,
// invalid UTF-8 replaced) writes it. Printable ASCII needs no escaping.
std::string JsonString(std::string_view s) {
  bool plain = true;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (!plain)
    return nlohmann::ordered_json(std::string(s))
        .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  out.append(s);
  out.push_back('"');
  return out;
}

constexpr size_t kFlushBytes = size_t(4) << 20;

}  // namespace

bool ReportWriter::Streams(ReportFormat f) {
  return f == ReportFormat::kCsv || f == ReportFormat::kJson || f == ReportFormat::kJsonPretty;
}

ReportWriter::ReportWriter(ReportFormat format, std::FILE* out, const std::vector<Section>& layout)
    : format_(format), out_(out) {
  pretty_ = format == ReportFormat::kJsonPretty;
  buf_.reserve(kFlushBytes + (kFlushBytes >> 2));
  if (format_ != ReportFormat::kCsv) {
    // {"col":v,"col":v} or, pretty, 8-space-indented objects with one
    // 12-space-indented "col": v per line.
    for (const Section& s : layout) {
      Layout l;
      l.ncols = s.table.columns.size();
      l.name = pretty_ ? "    " + JsonString(s.name) + ": " : JsonString(s.name) + ":[";
      for (size_t i = 0; i < l.ncols; ++i) {
        std::string key = JsonString(s.table.columns[i]);
        std::string lit = pretty_ ? (i ? ",\n" : "        {\n") + std::string(12, ' ') + key + ": "
                                  : (i ? "," : "{") + key + ":";
        l.segs.emplace_back(std::move(lit), i);
      }
      l.tail = l.ncols ? (pretty_ ? "\n        }" : "}") : (pretty_ ? "        {}" : "{}");
      sections_.push_back(std::move(l));
    }
    buf_ += pretty_ ? "{\n" : "{";
    return;
  }
  // CSV: one section as is; several as one rectangular file whose header is
  // `section` plus the union of the sections' columns.
  const bool multi = layout.size() > 1;
  std::vector<std::string> columns;
  if (multi) columns.push_back("section");
  for (const Section& s : layout)
    for (const std::string& c : s.table.columns)
      if (!multi || std::find(columns.begin(), columns.end(), c) == columns.end())
        columns.push_back(c);
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) buf_.push_back(',');
    AppendCsv(&buf_, columns[i]);
  }
  buf_ += "\r\n";
  for (const Section& s : layout) {
    Layout l;
    l.ncols = s.table.columns.size();
    std::string lit;
    if (multi) {
      AppendCsv(&lit, s.name);
      for (size_t c = 1; c < columns.size(); ++c) {
        lit.push_back(',');
        auto it = std::find(s.table.columns.begin(), s.table.columns.end(), columns[c]);
        if (it == s.table.columns.end()) continue;
        l.segs.emplace_back(std::move(lit), size_t(it - s.table.columns.begin()));
        lit.clear();
      }
    } else {
      for (size_t c = 0; c < l.ncols; ++c) l.segs.emplace_back(c ? "," : "", c);
    }
    l.tail = lit + "\r\n";
    sections_.push_back(std::move(l));
  }
}

void ReportWriter::EndSection() {
  if (current_ < 0 || format_ == ReportFormat::kCsv) return;
  if (!pretty_)
    buf_ += "]";
  else
    buf_ += rows_ ? "\n    ]" : "[]";
}

void ReportWriter::BeginSection(size_t index) {
  // Sections left out in between are written empty: the output stays whole.
  while (current_ < int(index) && size_t(current_ + 1) < sections_.size()) {
    EndSection();
    ++current_;
    rows_ = 0;
    if (format_ == ReportFormat::kCsv) continue;
    if (current_ > 0) buf_ += pretty_ ? ",\n" : ",";
    buf_ += sections_[size_t(current_)].name;
  }
}

void ReportWriter::WriteSection(size_t index, const Table& table) {
  BeginSection(index);
  for (const auto& row : table.rows) Row(row);
}

std::string ReportWriter::Encode(const Cell& c) const {
  if (const auto* n = std::get_if<int64_t>(&c)) return std::to_string(*n);
  const auto* s = std::get_if<std::string>(&c);
  if (format_ == ReportFormat::kCsv) {
    std::string out;
    if (s) AppendCsv(&out, *s);
    return out;
  }
  return s ? JsonString(*s) : std::string("null");
}

void ReportWriter::Row(const std::vector<Cell>& row) {
  if (current_ < 0) BeginSection(0);
  const size_t n = sections_[size_t(current_)].ncols;
  static const Cell kNull;
  encoded_.resize(n);
  scratch_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    encoded_[i] = Encode(i < row.size() ? row[i] : kNull);
    scratch_[i] = encoded_[i];
  }
  EncodedRow(scratch_.data(), n);
}

void ReportWriter::EncodedRow(const std::string_view* cells, size_t n) {
  if (current_ < 0) BeginSection(0);
  const Layout& l = sections_[size_t(current_)];
  if (format_ != ReportFormat::kCsv && rows_) buf_ += pretty_ ? ",\n" : ",";
  if (pretty_ && !rows_) buf_ += "[\n";
  const std::string_view missing = format_ == ReportFormat::kCsv ? "" : "null";
  // One resize, then plain copies: rows are short and many (millions in
  // the ACL report), so per-append bookkeeping would dominate.
  size_t size = l.tail.size();
  for (const auto& [lit, cell] : l.segs)
    size += lit.size() + (cell < n ? cells[cell] : missing).size();
  const size_t at = buf_.size();
  buf_.resize(at + size);
  char* out = buf_.data() + at;
  for (const auto& [lit, cell] : l.segs) {
    std::memcpy(out, lit.data(), lit.size());
    out += lit.size();
    const std::string_view c = cell < n ? cells[cell] : missing;
    if (!c.empty()) std::memcpy(out, c.data(), c.size());
    out += c.size();
  }
  std::memcpy(out, l.tail.data(), l.tail.size());
  ++rows_;
  if (buf_.size() >= kFlushBytes) Flush();
}

void ReportWriter::Flush() {
  if (buf_.empty()) return;
  if (!thread_.joinable()) {
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      for (;;) {
        cv_.wait(lock, [this] { return has_pending_ || stop_; });
        if (!has_pending_) return;  // stopped, nothing left
        lock.unlock();
        bool ok = std::fwrite(pending_.data(), 1, pending_.size(), out_) == pending_.size();
        lock.lock();
        if (!ok) ok_ = false;
        pending_.clear();
        has_pending_ = false;
        cv_.notify_all();
      }
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !has_pending_; });
    std::swap(buf_, pending_);
    has_pending_ = true;
  }
  cv_.notify_all();
  buf_.clear();
}

void ReportWriter::Drain() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

ReportWriter::~ReportWriter() { Drain(); }

bool ReportWriter::Finish(const std::vector<std::string>& notes) {
  if (!sections_.empty()) BeginSection(sections_.size() - 1);
  EndSection();
  if (format_ != ReportFormat::kCsv) {
    if (!sections_.empty()) buf_ += pretty_ ? ",\n" : ",";
    buf_ += pretty_ ? "    \"notes\": " : "\"notes\":";
    if (notes.empty()) {
      buf_ += "[]";
    } else {
      buf_ += pretty_ ? "[\n" : "[";
      for (size_t i = 0; i < notes.size(); ++i) {
        if (i) buf_ += pretty_ ? ",\n" : ",";
        if (pretty_) buf_ += "        ";
        buf_ += JsonString(notes[i]);
      }
      buf_ += pretty_ ? "\n    ]" : "]";
    }
    buf_ += pretty_ ? "\n}\n" : "}\n";
  }
  Drain();  // the background writer's last buffer goes out first
  if (ok_ && !buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), out_) != buf_.size())
    ok_ = false;
  buf_.clear();
  return ok_;
}

bool ParseReportFormat(std::string_view name, ReportFormat* out) {
  if (name == "text")
    *out = ReportFormat::kText;
  else if (name == "csv")
    *out = ReportFormat::kCsv;
  else if (name == "json")
    *out = ReportFormat::kJson;
  else if (name == "json-pretty")
    *out = ReportFormat::kJsonPretty;
  else if (name == "html")
    *out = ReportFormat::kHtml;
  else if (name == "yaml")
    *out = ReportFormat::kYaml;
  else
    return false;
  return true;
}

ReportFormat DefaultReportFormat(const std::string& path) {
  if (path.empty() || path == "-") return ReportFormat::kText;
  if (EndsWith(path, ".json")) return ReportFormat::kJsonPretty;
  if (EndsWith(path, ".html") || EndsWith(path, ".htm")) return ReportFormat::kHtml;
  if (EndsWith(path, ".txt")) return ReportFormat::kText;
  if (EndsWith(path, ".yaml") || EndsWith(path, ".yml")) return ReportFormat::kYaml;
  return ReportFormat::kCsv;
}

std::string RenderReport(const Report& r, ReportFormat format) {
  switch (format) {
    case ReportFormat::kCsv:
      return RenderCsv(r);
    case ReportFormat::kJson:
      return RenderJsonReport(r, false);
    case ReportFormat::kJsonPretty:
      return RenderJsonReport(r, true);
    case ReportFormat::kHtml:
      return RenderHtml(r);
    case ReportFormat::kYaml: {
      std::string out;
      for (const Section& s : r.sections) {
        out += s.name + ":\n";
        std::string body =
            s.table.rows.empty() ? "[]\n" : RenderTable(s.table, OutputFormat::kYaml);
        // Indent the sequence under its key.
        size_t start = 0;
        while (start < body.size()) {
          size_t nl = body.find('\n', start);
          if (nl == std::string::npos) nl = body.size();
          out += "  " + body.substr(start, nl - start) + "\n";
          start = nl + 1;
        }
      }
      out += "notes:\n";
      if (r.notes.empty()) out += "  []\n";
      for (const std::string& n : r.notes) {
        Table t;
        t.columns = {"n"};
        t.rows.push_back({n});
        std::string y = RenderTable(t, OutputFormat::kYaml);  // "- n: VALUE\n"
        out += "  - " + y.substr(y.find(':') + 2);
      }
      return out;
    }
    case ReportFormat::kText:
      break;
  }
  return RenderText(r);
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

const char* HtmlStyle() {
  return R"(body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  margin: 2em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; margin-top: 1.2em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top;
  word-break: break-word; }
th { background: #f0f0f0; }
tr:nth-child(even) td { background: #fafafa; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.4em 0.8em; }
.meta td { border: none; padding: 0.1em 1em 0.1em 0; }
.sev-high { color: #fff; background: #c62828; }
.sev-medium { color: #000; background: #ffb300; }
.sev-low { color: #000; background: #bbdefb; }
.sev-info { color: #000; background: #e0e0e0; }
.sev { font-weight: bold; padding: 0 0.4em; border-radius: 3px; white-space: nowrap; }
.pass { color: #2e7d32; font-weight: bold; }
.fail { color: #c62828; font-weight: bold; }
@media print {
  body { margin: 0; font-size: 10pt; }
  h2 { page-break-after: avoid; }
  tr { page-break-inside: avoid; }
  .sev { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)";
}

std::string HtmlTable(const Table& t) {
  std::string out = "<table>\n<thead><tr>";
  for (size_t i = 0; i < t.columns.size(); ++i)
    out += "<th>" + HtmlEscape(i < t.headers.size() ? t.headers[i] : t.columns[i]) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& row : t.rows) {
    out += "<tr>";
    for (size_t i = 0; i < t.columns.size(); ++i)
      out += "<td>" + HtmlEscape(i < row.size() ? CellText(row[i]) : std::string()) + "</td>";
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n";
  return out;
}

}  // namespace pveaudit::report

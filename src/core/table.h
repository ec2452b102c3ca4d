// table.h
// Table is what every command prints: named columns and rows of typed
// cells, rendered in the formats pvesh/pveum users know
// (--output-format text|json|json-pretty|csv|yaml). Rendering escapes for
// the target: CSV per RFC 4180 with cells starting with = + - @ (or tab/CR)
// neutralised against formula injection; text output replaces control
// characters so a hostile log line cannot forge extra output lines.
//
// TableWriter renders row by row into an OutputBuffer, so a command can
// print millions of rows with bounded memory (`pveam access log` on the
// whole store); RenderTable is the same writer over a Table held in memory,
// for the small tables other commands print. Both produce the same bytes.
// Thread safety: value types; one thread per TableWriter / OutputBuffer.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pveaudit {

enum class OutputFormat { kText, kJson, kJsonPretty, kCsv, kYaml };

// Parses "text", "json", "json-pretty", "csv", "yaml".
bool ParseOutputFormat(std::string_view name, OutputFormat* out);

using Cell = std::variant<std::monostate, std::string, int64_t>;  // monostate = null
// A Cell that borrows its text: what TableWriter::Add takes, so a row can be
// handed over without copying its strings.
using CellView = std::variant<std::monostate, std::string_view, int64_t>;

struct Table {
  std::vector<std::string> columns;  // JSON/YAML keys and CSV header
  std::vector<std::string> headers;  // text headers (upper case); empty = columns upper-cased
  std::vector<std::vector<Cell>> rows;
  // Text only: columns (by index) printed wider than this are cut with "~".
  // For values nobody needs whole (a raw log line); never for ids or paths.
  std::vector<size_t> max_width;
  // Text only: spaces between columns.
  size_t gap = 2;
  // Text only: the widest a line may be (0: no limit). When the columns do
  // not fit, the ones whose narrowing moves the fewest sampled cells out of
  // their column are narrowed, down to `min_width`. A cell wider than its
  // column shows "↓" (U+2193) and is printed whole on a line of its
  // own under the row, "column: value", indented to the second column, and
  // wrapped (at '/', ':', before '@', ...) only when longer than the line.
  // A header wider than its column wraps in it. Nothing is ever cut.
  size_t width = 0;
  // Text only: the narrowest each column may become (default: 6, or its
  // natural width when smaller).
  std::vector<size_t> min_width;
  // Text only: columns (by index) always printed under their row, as a
  // spilled cell is ("name: value"), not in a column: for a long value no
  // column could hold, such as the raw text of a log line.
  std::vector<bool> own_line;
};

// Where rendered output goes: a file descriptor, written in chunks of about
// kChunk bytes (not one write per line), or, without one, a string in
// memory. A failed write (EPIPE when the reader of a pipe went away, ENOSPC,
// ...) is remembered; later output is dropped, so producers can stop.
class OutputBuffer {
 public:
  static constexpr size_t kChunk = size_t{1} << 20;

  OutputBuffer() = default;  // collects into memory; see Take()
  explicit OutputBuffer(int fd) : fd_(fd) { buf_.reserve(kChunk + kChunk / 4); }
  OutputBuffer(const OutputBuffer&) = delete;
  OutputBuffer& operator=(const OutputBuffer&) = delete;

  // Append here, then call Wrote().
  std::string& buffer() { return buf_; }
  // Writes out a full chunk. False once a write has failed.
  bool Wrote() { return buf_.size() < kChunk || fd_ < 0 ? error_ == 0 : Flush(); }
  // Writes out everything buffered. False once a write has failed.
  bool Flush();
  // errno of the first failed write, 0 if none.
  int error() const { return error_; }
  // Memory mode: everything written so far.
  std::string Take() { return std::move(buf_); }

 private:
  int fd_ = -1;
  std::string buf_;
  int error_ = 0;
};

// Appends `s` as a JSON string, byte for byte as nlohmann::json::dump
// (ensure_ascii false, invalid UTF-8 replaced by U+FFFD) writes it, without
// building a json value.
void AppendJsonString(std::string_view s, std::string* out);
// True when `s` is valid UTF-8 (what JSON can carry unchanged).
bool IsValidUtf8(std::string_view s);

// Renders a table row by row. The columns, headers and text options come
// from `layout` (its rows are ignored). JSON: an array of objects (column ->
// cell), byte for byte what nlohmann::ordered_json::dump prints; text:
// aligned columns with a header line, `gap` spaces apart, last column not
// padded, nothing at all when there are no rows; CSV: header + rows, CRLF
// line ends; YAML: a sequence of mappings, strings quoted when needed, "[]"
// when empty. Text column widths are decided by the first `sample_rows`
// rows (held until then); a later cell wider than its column goes under
// its row as described at Table::width.
class TableWriter {
 public:
  static constexpr size_t kDefaultSample = 1000;

  TableWriter(const Table& layout, OutputFormat format, OutputBuffer* out,
              size_t sample_rows = kDefaultSample);
  // Adds one row (missing trailing cells are null). False once the output
  // has failed: the caller should stop producing rows.
  bool Add(std::span<const CellView> row);
  bool Add(const std::vector<Cell>& row);
  // Ends the output (closing bracket, held text rows) and flushes it.
  bool Finish();
  uint64_t rows() const { return rows_; }

 private:
  struct TextCell {
    std::string text;  // valid UTF-8, no control characters
    size_t width = 0;  // code points
  };
  void AddJson(std::span<const CellView> row);
  void AddCsv(std::span<const CellView> row);
  void AddYaml(std::span<const CellView> row);
  void AddText(std::span<const CellView> row);
  void DecideWidths();
  void EmitText(const std::vector<TextCell>& line, bool header);
  // A cell of column `c` whole on a line of its own under its row.
  void EmitBelow(size_t c, const TextCell& cell);

  OutputFormat format_;
  OutputBuffer* out_;
  std::vector<std::string> columns_;
  std::vector<std::string> keys_;  // columns as escaped JSON / YAML keys
  std::vector<size_t> max_width_, min_width_;
  std::vector<size_t> inline_, below_;  // text: column indexes in the table / own lines
  size_t gap_, line_width_, sample_rows_;
  uint64_t rows_ = 0;
  // Text: the header and the sample, until the widths are decided.
  std::vector<TextCell> header_;
  std::vector<std::vector<TextCell>> held_;
  std::vector<size_t> width_;  // decided column widths; empty until then
  std::vector<TextCell> scratch_;
};

// The whole table at once (the writer over an in-memory buffer, deciding
// text widths from every row).
std::string RenderTable(const Table& table, OutputFormat format);

// The CSV cell rules alone (used by reports): quotes when needed and
// prefixes a ' to cells that a spreadsheet would evaluate.
std::string CsvEscape(std::string_view cell);
// The same, appended to *out.
void AppendCsv(std::string_view cell, std::string* out);

// Splits `text` (valid UTF-8) into pieces of at most `max` code points,
// broken where an id or path reads best: at the last space (dropped), else
// after '/', ':', ',', '.', '-', '_' or before '@', '!' (the longest piece,
// a better kind of break counting for two characters), else hard. Joining
// the pieces (with a space where one was dropped) gives `text` back.
std::vector<std::string> WrapText(std::string_view text, size_t max);

}  // namespace pveaudit

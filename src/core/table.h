// table.h
// Table is what every command prints: named columns and rows of typed
// cells, rendered in the formats pvesh/pveum users know
// (--output-format text|json|json-pretty|csv|yaml). Rendering escapes for
// the target: CSV per RFC 4180 with cells starting with = + - @ (or tab/CR)
// neutralised against formula injection; text output replaces control
// characters so a hostile log line cannot forge extra output lines.
// Thread safety: value type; functions are pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pveaudit {

enum class OutputFormat { kText, kJson, kJsonPretty, kCsv, kYaml };

// Parses "text", "json", "json-pretty", "csv", "yaml".
bool ParseOutputFormat(std::string_view name, OutputFormat* out);

using Cell = std::variant<std::monostate, std::string, int64_t>;  // monostate = null

struct Table {
  std::vector<std::string> columns;  // JSON/YAML keys and CSV header
  std::vector<std::string> headers;  // text headers (upper case); empty = columns upper-cased
  std::vector<std::vector<Cell>> rows;
  // Text only: columns (by index) printed wider than this are cut with "~".
  std::vector<size_t> max_width;
  // Text only: spaces between columns.
  size_t gap = 2;
};

// JSON: an array of objects (column -> cell); text: aligned columns with a
// header line, `gap` spaces apart, last column not padded; CSV: header + rows,
// CRLF line ends; YAML: a sequence of mappings, strings quoted when needed.
std::string RenderTable(const Table& table, OutputFormat format);

// The CSV cell rules alone (used by reports): quotes when needed and
// prefixes a ' to cells that a spreadsheet would evaluate.
std::string CsvEscape(std::string_view cell);

}  // namespace pveaudit

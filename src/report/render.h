// render.h
// Output of the access-control reports: a report is a list of named
// sections (each a Table) plus notes (what the report could not know, e.g.
// "no event store: last login unknown"). Formats:
//  - csv: ONE RFC 4180 file. With several sections the first column is
//    `section` and the header is the union of every section's columns (in
//    order of first appearance), so the file stays rectangular and can be
//    filtered by section; a single section is written as is. Notes are not
//    written into the CSV (they go to stderr, see the commands).
//  - json / json-pretty: an object with one array per section and "notes".
//  - text: each section under its title, aligned columns; notes last.
//  - html: one self-contained page (inline CSS, no external assets).
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/table.h"

namespace pveaudit::report {

enum class ReportFormat { kText, kCsv, kJson, kJsonPretty, kHtml, kYaml };

// Parses "text", "csv", "json", "json-pretty", "html", "yaml".
bool ParseReportFormat(std::string_view name, ReportFormat* out);

// The format an --output FILE implies when --output-format is not given:
// .csv -> csv, .json -> json-pretty, .html/.htm -> html, .txt -> text,
// .yaml/.yml -> yaml, any other name -> csv; no file (stdout) -> text.
ReportFormat DefaultReportFormat(const std::string& output_path);

struct Section {
  std::string name;   // JSON key and CSV `section` value: "acl", "groups", ...
  std::string title;  // text/HTML heading
  Table table;
};

struct Report {
  std::string title;  // HTML <title> and text heading
  std::vector<Section> sections;
  std::vector<std::string> notes;
};

std::string RenderReport(const Report& report, ReportFormat format);

// HTML text escaping (&, <, >, ", ').
std::string HtmlEscape(std::string_view s);

// The CSS of every HTML page pveaudit writes (screen and print).
const char* HtmlStyle();

// One Table as an HTML <table>.
std::string HtmlTable(const Table& t);

}  // namespace pveaudit::report

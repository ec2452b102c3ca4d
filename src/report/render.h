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
// ReportWriter streams csv and json/json-pretty straight to a FILE*; the
// other formats are rendered from a whole Report.
// Thread safety: pure functions; a ReportWriter is used by one thread.
#pragma once

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
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

// Writes a report in csv, json or json-pretty to a FILE* section by section
// and row by row, byte for byte what RenderReport gives for the same
// sections, rows and notes. Encoded rows collect in a buffer that is written
// out whenever it passes a few MB, so memory stays bounded however many rows
// a report has (the ACL report's coverage section has millions). Once the
// output passes the first few MB, a background thread does the writing
// (double buffering), so encoding the next rows overlaps the write.
// Use: BeginSection(0), rows, BeginSection(1), ..., Finish(notes). Every
// section of `layout` must be begun, in order, even when it has no rows.
// REQUIRES: unique section names and unique column names within a section.
class ReportWriter {
 public:
  // True for the formats this class writes (csv, json, json-pretty).
  static bool Streams(ReportFormat format);

  // `layout`: every section's name and columns, in output order (rows are
  // ignored). REQUIRES: Streams(format).
  ReportWriter(ReportFormat format, std::FILE* out, const std::vector<Section>& layout);
  ReportWriter(const ReportWriter&) = delete;
  ReportWriter& operator=(const ReportWriter&) = delete;
  ~ReportWriter();  // stops the background writer; call Finish first for complete output

  void BeginSection(size_t index);
  // Begins section `index` and writes all rows of `table`.
  void WriteSection(size_t index, const Table& table);
  void Row(const std::vector<Cell>& row);
  // A cell encoded for this format (a CSV cell, a JSON value). Encode a
  // value that repeats across rows once and pass it to EncodedRow.
  std::string Encode(const Cell& cell) const;
  // A row of Encode()d cells, one per column of the current section.
  void EncodedRow(const std::string_view* cells, size_t n);
  // Ends the last section, writes the notes (JSON) and flushes the buffer
  // (not the FILE*). False if any write failed (errno tells why).
  bool Finish(const std::vector<std::string>& notes);

 private:
  void Flush();  // hands buf_ to the background writer (started on first use)
  void Drain();  // waits for the background writer and stops it
  void EndSection();

  ReportFormat format_;
  std::FILE* out_;
  bool pretty_ = false, ok_ = true;
  // A section's row as literal text around its cells: segs[i].first, then
  // cell segs[i].second, ..., then tail.
  struct Layout {
    std::string name;  // JSON: the section's key ("acl": ...)
    std::vector<std::pair<std::string, size_t>> segs;
    std::string tail;
    size_t ncols = 0;  // the section's columns
  };
  std::vector<Layout> sections_;
  std::vector<std::string_view> scratch_;
  std::vector<std::string> encoded_;
  int current_ = -1;
  size_t rows_ = 0;  // rows written in the current section
  std::string buf_;
  // Background writer: writes `pending_` while the rows after it are encoded.
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;
  bool has_pending_ = false, stop_ = false;
};

// HTML text escaping (&, <, >, ", ').
std::string HtmlEscape(std::string_view s);

// The CSS of every HTML page pveaudit writes (screen and print).
const char* HtmlStyle();

// One Table as an HTML <table>.
std::string HtmlTable(const Table& t);

}  // namespace pveaudit::report

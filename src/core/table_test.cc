#include "core/table.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace pveaudit {
namespace {

Table Sample() {
  Table t;
  t.columns = {"time", "user", "count"};
  t.rows.push_back({std::string("2025-01-15 12:42:28"), std::string("alice@pve"), int64_t{3}});
  t.rows.push_back({std::string("2025-01-15 12:43:00"), std::monostate{}, int64_t{-12}});
  return t;
}

TEST(OutputFormatTest, Parses) {
  OutputFormat f = OutputFormat::kText;
  EXPECT_TRUE(ParseOutputFormat("json", &f));
  EXPECT_EQ(f, OutputFormat::kJson);
  EXPECT_TRUE(ParseOutputFormat("json-pretty", &f));
  EXPECT_EQ(f, OutputFormat::kJsonPretty);
  EXPECT_TRUE(ParseOutputFormat("csv", &f));
  EXPECT_EQ(f, OutputFormat::kCsv);
  EXPECT_TRUE(ParseOutputFormat("yaml", &f));
  EXPECT_EQ(f, OutputFormat::kYaml);
  EXPECT_TRUE(ParseOutputFormat("text", &f));
  EXPECT_EQ(f, OutputFormat::kText);
  EXPECT_FALSE(ParseOutputFormat("JSON", &f));
  EXPECT_FALSE(ParseOutputFormat("xml", &f));
  EXPECT_FALSE(ParseOutputFormat("", &f));
}

// ----- text -----

TEST(RenderTextTest, AlignsColumns) {
  EXPECT_EQ(RenderTable(Sample(), OutputFormat::kText),
            "TIME                 USER       COUNT\n"
            "2025-01-15 12:42:28  alice@pve  3\n"
            "2025-01-15 12:43:00             -12\n");
}

TEST(RenderTextTest, CustomHeaders) {
  Table t = Sample();
  t.headers = {"WHEN", "WHO"};  // missing ones fall back to the column name
  EXPECT_EQ(RenderTable(t, OutputFormat::kText),
            "WHEN                 WHO        COUNT\n"
            "2025-01-15 12:42:28  alice@pve  3\n"
            "2025-01-15 12:43:00             -12\n");
}

TEST(RenderTextTest, EmptyTablePrintsNothing) {
  Table t = Sample();
  t.rows.clear();
  EXPECT_EQ(RenderTable(t, OutputFormat::kText), "");
}

TEST(RenderTextTest, Utf8WidthCountsCodePoints) {
  Table t;
  t.columns = {"name", "x"};
  t.rows.push_back({std::string("Jürgen"), std::string("1")});
  t.rows.push_back({std::string("Zoë"), std::string("2")});
  t.rows.push_back({std::string("ab"), std::string("3")});
  EXPECT_EQ(RenderTable(t, OutputFormat::kText),
            "NAME    X\n"
            "Jürgen  1\n"
            "Zoë     2\n"
            "ab      3\n");
}

TEST(RenderTextTest, ControlCharactersCannotForgeLines) {
  Table t;
  t.columns = {"detail", "user"};
  t.rows.push_back({std::string("GET /\n2025-01-01 root@pam login"), std::string("a\rb")});
  t.rows.push_back({std::string("esc\x1b[31mred\x7f"), std::string("tab\there")});
  // C1 control U+009B (CSI), U+2028, bidi override U+202E and invalid UTF-8.
  t.rows.push_back({std::string("c1\xc2\x9b"
                                "x\xe2\x80\xa8y\xe2\x80\xaez"),
                    std::string("bad\xff\xc3")});
  const std::string out = RenderTable(t, OutputFormat::kText);
  EXPECT_EQ(out,
            "DETAIL                           USER\n"
            "GET /?2025-01-01 root@pam login  a?b\n"
            "esc?[31mred?                     tab?here\n"
            "c1?x?y?z                         bad??\n");
  size_t lines = 0;
  for (char c : out) lines += c == '\n';
  EXPECT_EQ(lines, 4u);
}

TEST(RenderTextTest, MaxWidthCutsWithTilde) {
  Table t;
  t.columns = {"detail", "n"};
  t.max_width = {8};
  t.rows.push_back({std::string("GET /api2/json/nodes"), int64_t{1}});
  t.rows.push_back({std::string("short"), int64_t{2}});
  t.rows.push_back({std::string("exactly8"), int64_t{3}});
  t.rows.push_back({std::string("äöüäöüäöüä"), int64_t{4}});
  EXPECT_EQ(RenderTable(t, OutputFormat::kText),
            "DETAIL    N\n"
            "GET /ap~  1\n"
            "short     2\n"
            "exactly8  3\n"
            "äöüäöüä~  4\n");
  t.max_width = {1};
  t.rows.resize(1);
  EXPECT_EQ(RenderTable(t, OutputFormat::kText),
            "DETAIL  N\n"
            "~       1\n");
}

TEST(RenderTextTest, ShortRowsPadWithEmptyCells) {
  Table t;
  t.columns = {"a", "b"};
  t.rows.push_back({std::string("x")});
  EXPECT_EQ(RenderTable(t, OutputFormat::kText), "A  B\nx  \n");
}

// ----- JSON -----

TEST(RenderJsonTest, Compact) {
  EXPECT_EQ(RenderTable(Sample(), OutputFormat::kJson),
            "[{\"time\":\"2025-01-15 12:42:28\",\"user\":\"alice@pve\",\"count\":3},"
            "{\"time\":\"2025-01-15 12:43:00\",\"user\":null,\"count\":-12}]\n");
}

TEST(RenderJsonTest, Pretty) {
  Table t;
  t.columns = {"zeta", "alpha"};
  t.rows.push_back({int64_t{1}, std::string("x")});
  EXPECT_EQ(RenderTable(t, OutputFormat::kJsonPretty),
            "[\n"
            "    {\n"
            "        \"zeta\": 1,\n"
            "        \"alpha\": \"x\"\n"
            "    }\n"
            "]\n");
}

TEST(RenderJsonTest, EmptyAndEscapes) {
  Table t = Sample();
  t.rows.clear();
  EXPECT_EQ(RenderTable(t, OutputFormat::kJson), "[]\n");
  EXPECT_EQ(RenderTable(t, OutputFormat::kJsonPretty), "[]\n");
  Table e;
  e.columns = {"s"};
  e.rows.push_back({std::string("a\"b\\c\nd\x01 ü")});
  e.rows.push_back({std::string("bad\xff")});
  const std::string out = RenderTable(e, OutputFormat::kJson);
  EXPECT_EQ(out, "[{\"s\":\"a\\\"b\\\\c\\nd\\u0001 ü\"},{\"s\":\"bad\xef\xbf\xbd\"}]\n");
  EXPECT_TRUE(nlohmann::json::accept(out));
}

TEST(RenderJsonTest, RoundTripsInt64) {
  Table t;
  t.columns = {"big"};
  t.rows.push_back({int64_t{9007199254740993}});
  auto j = nlohmann::json::parse(RenderTable(t, OutputFormat::kJson));
  EXPECT_EQ(j[0]["big"].get<int64_t>(), 9007199254740993);
}

// ----- CSV -----

TEST(RenderCsvTest, HeaderRowsCrlf) {
  EXPECT_EQ(RenderTable(Sample(), OutputFormat::kCsv),
            "time,user,count\r\n"
            "2025-01-15 12:42:28,alice@pve,3\r\n"
            "2025-01-15 12:43:00,,-12\r\n");
  Table t = Sample();
  t.rows.clear();
  EXPECT_EQ(RenderTable(t, OutputFormat::kCsv), "time,user,count\r\n");
}

TEST(CsvEscapeTest, Rfc4180Quoting) {
  EXPECT_EQ(CsvEscape("plain"), "plain");
  EXPECT_EQ(CsvEscape(""), "");
  EXPECT_EQ(CsvEscape("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvEscape("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvEscape("line1\nline2"), "\"line1\nline2\"");
  EXPECT_EQ(CsvEscape("cr\rhere"), "\"cr\rhere\"");
  EXPECT_EQ(CsvEscape(" lead"), "\" lead\"");
  EXPECT_EQ(CsvEscape("trail "), "\"trail \"");
  EXPECT_EQ(CsvEscape("in side"), "in side");
  EXPECT_EQ(CsvEscape("ü"), "ü");
}

TEST(CsvEscapeTest, NeutralisesFormulas) {
  EXPECT_EQ(CsvEscape("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
  EXPECT_EQ(CsvEscape("=1+1"), "'=1+1");
  EXPECT_EQ(CsvEscape("+1"), "'+1");
  EXPECT_EQ(CsvEscape("-2+3"), "'-2+3");
  EXPECT_EQ(CsvEscape("@SUM(A1:A2)"), "'@SUM(A1:A2)");
  EXPECT_EQ(CsvEscape("\tcmd"), "'\tcmd");
  EXPECT_EQ(CsvEscape("\rcmd"), "\"'\rcmd\"");
  EXPECT_EQ(CsvEscape("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  EXPECT_EQ(CsvEscape("-"), "'-");
  EXPECT_EQ(CsvEscape("-x"), "'-x");
  EXPECT_EQ(CsvEscape("-1e5"), "'-1e5");
  // Plain numbers stay numbers.
  EXPECT_EQ(CsvEscape("-5"), "-5");
  EXPECT_EQ(CsvEscape("-1.5"), "-1.5");
  EXPECT_EQ(CsvEscape("42"), "42");
  // Only the first character matters.
  EXPECT_EQ(CsvEscape("a=b"), "a=b");
}

TEST(RenderCsvTest, IntCellsNeverPrefixedTextCellsAre) {
  Table t;
  t.columns = {"n", "s"};
  t.rows.push_back({int64_t{-7}, std::string("-7")});
  t.rows.push_back({int64_t{0}, std::string("=A1,\"x\"")});
  EXPECT_EQ(RenderTable(t, OutputFormat::kCsv),
            "n,s\r\n"
            "-7,-7\r\n"
            "0,\"'=A1,\"\"x\"\"\"\r\n");
}

// ----- YAML -----

TEST(RenderYamlTest, SequenceOfMappings) {
  EXPECT_EQ(RenderTable(Sample(), OutputFormat::kYaml),
            "- time: \"2025-01-15 12:42:28\"\n"
            "  user: \"alice@pve\"\n"
            "  count: 3\n"
            "- time: \"2025-01-15 12:43:00\"\n"
            "  user: null\n"
            "  count: -12\n");
  Table t = Sample();
  t.rows.clear();
  EXPECT_EQ(RenderTable(t, OutputFormat::kYaml), "[]\n");
}

std::string YamlValue(const std::string& s) {
  Table t;
  t.columns = {"v"};
  t.rows.push_back({s});
  std::string out = RenderTable(t, OutputFormat::kYaml);
  EXPECT_EQ(out.substr(0, 5), "- v: ");
  EXPECT_EQ(out.back(), '\n');
  return out.substr(5, out.size() - 6);
}

TEST(RenderYamlTest, PlainWhenSafe) {
  EXPECT_EQ(YamlValue("pve1"), "pve1");
  EXPECT_EQ(YamlValue("vm start"), "vm start");
  EXPECT_EQ(YamlValue("/vms/100"), "/vms/100");
  EXPECT_EQ(YamlValue("Jürgen"), "Jürgen");
  EXPECT_EQ(YamlValue("a-b_c"), "a-b_c");
}

TEST(RenderYamlTest, QuotesWhenAmbiguous) {
  EXPECT_EQ(YamlValue(""), "\"\"");
  EXPECT_EQ(YamlValue(" x"), "\" x\"");
  EXPECT_EQ(YamlValue("x "), "\"x \"");
  EXPECT_EQ(YamlValue("vm:start"), "\"vm:start\"");
  EXPECT_EQ(YamlValue("a #b"), "\"a #b\"");
  EXPECT_EQ(YamlValue("{x}"), "\"{x}\"");
  EXPECT_EQ(YamlValue("[x]"), "\"[x]\"");
  EXPECT_EQ(YamlValue("a,b"), "\"a,b\"");
  EXPECT_EQ(YamlValue("&anchor"), "\"&anchor\"");
  EXPECT_EQ(YamlValue("*alias"), "\"*alias\"");
  EXPECT_EQ(YamlValue("!tag"), "\"!tag\"");
  EXPECT_EQ(YamlValue("|"), "\"|\"");
  EXPECT_EQ(YamlValue(">"), "\">\"");
  EXPECT_EQ(YamlValue("it's"), "\"it's\"");
  EXPECT_EQ(YamlValue("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(YamlValue("100%"), "\"100%\"");
  EXPECT_EQ(YamlValue("root@pam"), "\"root@pam\"");
  EXPECT_EQ(YamlValue("`x`"), "\"`x`\"");
  EXPECT_EQ(YamlValue("- item"), "\"- item\"");
  EXPECT_EQ(YamlValue("? key"), "\"? key\"");
  EXPECT_EQ(YamlValue("back\\slash"), "\"back\\\\slash\"");
}

TEST(RenderYamlTest, QuotesScalarsThatLookTyped) {
  for (const char* s :
       {"true", "False", "yes", "NO",  "on", "off",  "y",    "n",    "null", "Null",      "~",
        "123",  "-5",    "+1",  "1.5", ".5", ".inf", ".NaN", "0x1f", "1e3",  "2025-01-15"}) {
    EXPECT_EQ(YamlValue(s), std::string("\"") + s + "\"") << s;
  }
}

TEST(RenderYamlTest, EscapesControlCharacters) {
  EXPECT_EQ(YamlValue("a\nb"), "\"a\\nb\"");
  EXPECT_EQ(YamlValue("a\rb\tc"), "\"a\\rb\\tc\"");
  EXPECT_EQ(YamlValue(std::string("a\0b", 3)), "\"a\\0b\"");
  EXPECT_EQ(YamlValue("esc\x1b[0m"), "\"esc\\x1B[0m\"");
  EXPECT_EQ(YamlValue("del\x7f"), "\"del\\x7F\"");
  EXPECT_EQ(YamlValue("c1\xc2\x85"), "\"c1\\x85\"");
  EXPECT_EQ(YamlValue("ls\xe2\x80\xa8"), "\"ls\\L\"");
  EXPECT_EQ(YamlValue("bidi\xe2\x80\xae"), "\"bidi\\u202E\"");
  EXPECT_EQ(YamlValue("bad\xff"), "\"bad\\uFFFD\"");
  EXPECT_EQ(YamlValue("ok ü\xc3"), "\"ok ü\\uFFFD\"");
}

TEST(RenderYamlTest, QuotesKeysWhenNeeded) {
  Table t;
  t.columns = {"on", "a:b"};
  t.rows.push_back({int64_t{1}, std::monostate{}});
  EXPECT_EQ(RenderTable(t, OutputFormat::kYaml), "- \"on\": 1\n  \"a:b\": null\n");
}

// ----- streaming -----

// Everything the old renderer built with nlohmann::ordered_json (one value
// for the whole table): the streamed JSON must stay byte for byte the same.
std::string NlohmannJson(const Table& t, bool pretty) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& row : t.rows) {
    nlohmann::ordered_json obj = nlohmann::ordered_json::object();
    for (size_t c = 0; c < t.columns.size(); ++c) {
      const Cell cell = c < row.size() ? row[c] : Cell{};
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
  return arr.dump(pretty ? 4 : -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
         "\n";
}

TEST(TableWriterTest, JsonIsByteForByteNlohmanns) {
  Table t;
  t.columns = {"id", "user", "detail", "k\"ey\n"};
  const std::vector<std::string> tricky = {"",
                                           "plain",
                                           "q\"b\\s/",
                                           std::string("nul\0x", 5),
                                           "\b\f\n\r\t\x01\x1f\x7f",
                                           "ü€😀",
                                           "bad\xff",
                                           "cut\xe2\x82",
                                           "over\xc0\xaf",
                                           "sur\xed\xa0\x80",
                                           "\xe2\x80\xa8\xef\xbb\xbf",
                                           "mix\xc3\xa9\xc3",
                                           "\xf4\x90\x80\x80"};
  int64_t id = -9007199254740993;
  for (const auto& a : tricky) {
    for (const auto& b : {std::string("x"), std::string("\xfe\xfe")}) {
      t.rows.push_back({id, a, b + a, std::monostate{}});
      id += 4503599627370496;
    }
  }
  t.rows.push_back({int64_t{1}});  // short row: nulls
  EXPECT_EQ(RenderTable(t, OutputFormat::kJson), NlohmannJson(t, false));
  EXPECT_EQ(RenderTable(t, OutputFormat::kJsonPretty), NlohmannJson(t, true));
  Table none;
  none.rows.push_back({});
  none.rows.push_back({});
  EXPECT_EQ(RenderTable(none, OutputFormat::kJson), NlohmannJson(none, false));
  EXPECT_EQ(RenderTable(none, OutputFormat::kJsonPretty), NlohmannJson(none, true));
}

// The writers look at a cell 8 bytes at a time; a byte that needs
// escaping is found wherever it lies in a long cell, in every format.
TEST(TableWriterTest, ASpecialByteIsEscapedAtAnyPositionOfALongCell) {
  const std::vector<std::string> specials = {"\x01", "\x1f", "\"",       "\\",   "\x7f", ",",
                                             "\r",   "\n",   "\xc3\xa9", "\xff", "\x80"};
  for (const std::string& sp : specials) {
    for (size_t pos = 0; pos <= 24; ++pos) {
      std::string cell = "abcdefghijklmnopqrstuvwxyz0123";
      cell.insert(pos, sp);
      SCOPED_TRACE(testing::Message()
                   << "byte " << int(static_cast<unsigned char>(sp[0])) << " at " << pos);
      Table t;
      t.columns = {"v"};
      t.rows.push_back({cell});
      EXPECT_EQ(RenderTable(t, OutputFormat::kJson), NlohmannJson(t, false));
      // CSV: quoted exactly when the cell holds , " CR or LF; quotes doubled.
      const bool quote = sp == "," || sp == "\"" || sp == "\r" || sp == "\n";
      std::string csv = cell;
      if (sp == "\"") csv.insert(pos, "\"");
      if (sp == "\r" && pos == 0) csv = "'" + csv;  // a formula guard, as a leading CR is
      if (quote) csv = "\"" + csv + "\"";
      EXPECT_EQ(CsvEscape(cell), csv);
      // Text: a control character, DEL or invalid UTF-8 is one '?'; é stays.
      std::string text = cell;
      if (sp != "\xc3\xa9" && sp != "\"" && sp != "\\" && sp != ",")
        text.replace(pos, sp.size(), "?");
      EXPECT_EQ(RenderTable(t, OutputFormat::kText), "V\n" + text + "\n");
    }
  }
}

TEST(TableWriterTest, StreamedRowsEqualRenderTable) {
  Table t = Sample();
  for (OutputFormat f : {OutputFormat::kJson, OutputFormat::kJsonPretty, OutputFormat::kCsv,
                         OutputFormat::kYaml, OutputFormat::kText}) {
    OutputBuffer out;
    TableWriter w(t, f, &out);
    for (const auto& row : t.rows) EXPECT_TRUE(w.Add(row));
    EXPECT_TRUE(w.Finish());
    EXPECT_EQ(w.rows(), 2u);
    EXPECT_EQ(out.Take(), RenderTable(t, f)) << static_cast<int>(f);
  }
}

TEST(WrapTextTest, BreaksWhereIdsAndPathsReadBest) {
  using V = std::vector<std::string>;
  EXPECT_EQ(WrapText("monitoring@pve!prometheus", 16), (V{"monitoring@pve", "!prometheus"}));
  EXPECT_EQ(WrapText("/access/users/mallory@pve", 16), (V{"/access/users/", "mallory@pve"}));
  EXPECT_EQ(WrapText("admin@example.com", 14), (V{"admin@example.", "com"}));
  EXPECT_EQ(WrapText("2001:db8:85a3:8d3:1319:8a2e:370:7348", 15),
            (V{"2001:db8:85a3:", "8d3:1319:8a2e:", "370:7348"}));
  EXPECT_EQ(WrapText("2025-01-08 12:42:28", 10), (V{"2025-01-08", "12:42:28"}));
  EXPECT_EQ(WrapText("TIME (Europe/Vienna)", 19), (V{"TIME", "(Europe/Vienna)"}));
  EXPECT_EQ(WrapText("abcdefghij", 4), (V{"abcd", "efgh", "ij"}));  // no break: hard
  EXPECT_EQ(WrapText("äöüäöü", 4), (V{"äöüä", "öü"}));              // code points, not bytes
  EXPECT_EQ(WrapText("short", 5), (V{"short"}));
}

// The rows of a text table: cells cut at `starts`; a cell shown as "↓" is
// taken from the "name: value" line under its row (`names` in column order).
std::vector<std::vector<std::string>> Cells(const std::string& out,
                                            const std::vector<size_t>& starts,
                                            const std::vector<std::string>& names) {
  std::vector<std::vector<std::string>> rows;
  // One byte for the one-column arrow, so that byte offsets are columns.
  std::string ascii;
  for (size_t p = 0; p < out.size(); ++p) {
    const bool arrow = out.compare(p, 3, "\u2193") == 0;
    ascii.push_back(arrow ? '\x01' : out[p]);
    if (arrow) p += 2;
  }
  std::istringstream in(ascii);
  size_t last = 0;  // the column continued by an indented line
  for (std::string l; std::getline(in, l);) {
    if (l[0] == ' ') {
      const size_t b = l.find_first_not_of(' ');
      const size_t colon = l.find(": ", b);
      bool label = false;
      for (size_t c = 0; c < names.size() && colon != std::string::npos; ++c) {
        if (l.compare(b, colon - b, names[c]) == 0 && rows.back()[c] == "\x01") {
          rows.back()[c] = l.substr(colon + 2);
          last = c;
          label = true;
        }
      }
      if (!label) rows.back()[last] += l.substr(b);  // a wrapped value goes on
      continue;
    }
    rows.emplace_back();
    for (size_t c = 0; c < starts.size(); ++c) {
      const size_t from = starts[c];
      const size_t to = c + 1 < starts.size() ? starts[c + 1] : std::string::npos;
      std::string piece =
          from < l.size() ? l.substr(from, to == std::string::npos ? to : to - from) : "";
      while (!piece.empty() && piece.back() == ' ') piece.pop_back();
      rows.back().push_back(piece);
    }
  }
  return rows;
}

// Regression: the text table of `pveam access log` cut ids and paths with
// '~' (monitoring@pve!promethe~, /access/users/mallory@p~) and, with them
// whole, ran past 80 columns.
TEST(TableWriterTest, FitsWidthWithoutCuttingAnything) {
  Table t;
  t.columns = {"time", "user", "ip", "action", "resource", "result"};
  t.gap = 1;
  t.width = 80;
  t.min_width = {19, 8, 8, 8, 8, 7};
  const std::vector<std::vector<std::string>> rows = {
      {"2025-01-08 12:42:28", "admin@example.com", "192.0.2.10", "vm:start", "/vms/100", "success"},
      {"2025-01-08 12:42:29", "monitoring@pve!prometheus", "2001:db8:85a3:8d3:1319:8a2e:370:7348",
       "sys:audit", "/access/users/mallory@pve", "failure"},
      {"2025-01-08 12:42:30", "a-very-long-user-name-from-ldap@company-directory.example",
       "192.0.2.11", "user:password", "/access/users/a-very-long-user-name-from-ldap@company",
       "unknown"},
      {"2025-01-08 12:42:31", "root@pam", "192.0.2.12", "vm:shutdown", "/vms/100", "success"}};
  for (const auto& r : rows) t.rows.push_back({r[0], r[1], r[2], r[3], r[4], r[5]});
  const std::string out = RenderTable(t, OutputFormat::kText);
  std::istringstream in(out);
  std::string header;
  std::getline(in, header);
  for (std::string l; std::getline(in, l);) {
    size_t width = 0;  // code points
    for (unsigned char c : l) width += (c & 0xc0) != 0x80;
    EXPECT_LE(width, 80u) << l;
  }
  std::vector<size_t> starts;
  for (const char* h : {"TIME", "USER", "IP", "ACTION", "RESOURCE", "RESULT"})
    starts.push_back(header.find(h));
  auto got = Cells(out.substr(header.size() + 1), starts, t.columns);
  EXPECT_EQ(got, rows) << out;
  // The typical rows stay on one line each.
  EXPECT_NE(out.find("\n2025-01-08 12:42:28 admin@example.com "), std::string::npos) << out;
  EXPECT_NE(out.find("\n2025-01-08 12:42:31 root@pam"), std::string::npos) << out;
  EXPECT_EQ(out.find('~'), std::string::npos);
  EXPECT_NE(out.find("\n                    resource: /access/users/mallory@pve\n"),
            std::string::npos)
      << out;
}

TEST(TableWriterTest, WidthsComeFromTheSampleLaterRowsWrap) {
  Table t;
  t.columns = {"a", "b"};
  OutputBuffer out;
  TableWriter w(t, OutputFormat::kText, &out, 2);
  EXPECT_TRUE(w.Add(std::vector<Cell>{std::string("x"), std::string("1")}));
  EXPECT_EQ(out.buffer(), "");  // held until the sample is full
  EXPECT_TRUE(w.Add(std::vector<Cell>{std::string("yy"), std::string("2")}));
  EXPECT_EQ(out.buffer(), "A   B\nx   1\nyy  2\n");
  EXPECT_TRUE(w.Add(std::vector<Cell>{std::string("/a/bc"), std::string("3")}));
  EXPECT_TRUE(w.Finish());
  EXPECT_EQ(out.Take(), "A   B\nx   1\nyy  2\n\u2193   3\n    a: /a/bc\n");
}

TEST(TableWriterTest, OwnLineColumnGoesUnderItsRow) {
  Table t;
  t.columns = {"origin", "text"};
  t.own_line = {false, true};
  t.width = 20;
  t.rows.push_back({std::string("/var/log/x"), std::string("raw line")});
  t.rows.push_back({std::string("/y"), std::string("0123456789 0123456789")});
  EXPECT_EQ(RenderTable(t, OutputFormat::kText),
            "ORIGIN\n/var/log/x\n  text: raw line\n/y\n  text: 0123456789\n        0123456789\n");
}

// Peak resident memory of this process, in KiB.
long PeakRssKb() {
  std::ifstream in("/proc/self/status");
  for (std::string l; std::getline(in, l);)
    if (l.rfind("VmHWM:", 0) == 0) return std::stol(l.substr(6));
  return -1;
}

// Regression: `pveam access log` rendered the whole result into one string
// (880 MB for 1 M events in text, 2.7 GB in JSON); the writer's memory must
// not grow with the number of rows.
TEST(TableWriterTest, MemoryDoesNotGrowWithRows) {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer keeps freed memory in quarantine (up to 256 MB), so the
  // peak grows with every allocation; the Release run of this test checks
  // the writer's memory.
  GTEST_SKIP() << "peak RSS is not the writer's under AddressSanitizer";
#endif
  Table t;
  t.columns = {"time", "user", "ip", "action", "resource", "detail"};
  const int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  for (OutputFormat f : {OutputFormat::kText, OutputFormat::kJson, OutputFormat::kJsonPretty,
                         OutputFormat::kCsv, OutputFormat::kYaml}) {
    const long before = PeakRssKb();
    OutputBuffer out(fd);
    TableWriter w(t, f, &out);
    std::string user, detail;
    for (int i = 0; i < 400000; ++i) {
      user = "user" + std::to_string(i % 5000) + "@pve";
      detail = "POST /api2/json/nodes/pve1/qemu/" + std::to_string(i) + "/status/start";
      const CellView row[] = {std::string_view("2025-01-08 12:42:28"),
                              user,
                              std::string_view("192.0.2.10"),
                              std::string_view("vm:start"),
                              std::string_view("/vms/100"),
                              detail};
      ASSERT_TRUE(w.Add(row));
      ASSERT_LE(out.buffer().size(), OutputBuffer::kChunk + 4096);
    }
    ASSERT_TRUE(w.Finish());
    // 400,000 rows are 40-120 MB of output; the writer holds at most a chunk.
    EXPECT_LT(PeakRssKb() - before, 16 * 1024) << static_cast<int>(f);
  }
  close(fd);
}

TEST(TableWriterTest, StopsAtAClosedPipe) {
  std::signal(SIGPIPE, SIG_IGN);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  close(p[0]);  // the reader went away, as `| head` does
  Table t;
  t.columns = {"n"};
  OutputBuffer out(p[1]);
  TableWriter w(t, OutputFormat::kCsv, &out);
  int added = 0;
  while (w.Add(std::vector<Cell>{int64_t{added}}) && added < 10000000) ++added;
  EXPECT_LT(added, 1000000);  // stopped at the first chunk written
  EXPECT_EQ(out.error(), EPIPE);
  EXPECT_FALSE(w.Finish());
  close(p[1]);
  std::signal(SIGPIPE, SIG_DFL);
}

}  // namespace
}  // namespace pveaudit

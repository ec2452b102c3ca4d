#include "core/table.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

}  // namespace
}  // namespace pveaudit

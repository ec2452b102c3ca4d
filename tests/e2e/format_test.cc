// Output contract: JSON keys and values, CSV (RFC 4180, formula
// injection), YAML, json-pretty, text in the cluster time zone within 80
// columns with nothing cut, the unknown user/address in every format, and
// output that stops quietly at a closed pipe.
#include <cctype>
#include <regex>

#include "e2e_util.h"

namespace e2e {
namespace {

class FormatTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    ImportStandard();
  }
  // The event with `id` from a JSON array (null when absent).
  static nlohmann::json ById(const nlohmann::json& arr, int64_t id) {
    for (const auto& e : arr)
      if (e["id"] == id) return e;
    ADD_FAILURE() << "no event " << id;
    return nullptr;
  }
};

TEST_F(FormatTest, JsonContract) {
  RunResult r = Pveam({"access", "log", "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.back(), '\n');
  nlohmann::json arr = Json(r);
  ASSERT_TRUE(arr.is_array());
  ASSERT_EQ(arr.size(), 57u);
  const std::regex rfc3339_utc(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$)");
  std::set<int64_t> ids;
  for (const auto& e : arr) {
    ASSERT_TRUE(e.is_object());
    for (const char* k :
         {"time", "node", "user", "ip", "action", "resource", "result", "status", "source"}) {
      ASSERT_TRUE(e.contains(k)) << k << " in " << e.dump();
      EXPECT_TRUE(e[k].is_string()) << k << " in " << e.dump();
    }
    ASSERT_TRUE(e["id"].is_number_integer()) << e.dump();
    ids.insert(e["id"].get<int64_t>());
    EXPECT_TRUE(std::regex_match(e["time"].get<std::string>(), rfc3339_utc)) << e.dump();
    std::string res = e["result"];
    EXPECT_TRUE(res == "success" || res == "failure" || res == "unknown") << e.dump();
    EXPECT_NE(e["ip"].get<std::string>().rfind("::ffff:", 0), 0u) << e.dump();
    EXPECT_FALSE(e["action"].get<std::string>().empty()) << e.dump();
  }
  EXPECT_EQ(ids.size(), 57u);
  EXPECT_EQ(*ids.begin(), 1);
  EXPECT_EQ(*ids.rbegin(), 57);

  // One access.log event, every field.
  nlohmann::json e2 = ById(arr, 2);
  EXPECT_EQ(e2["time"], "2025-01-08T12:42:28Z");
  EXPECT_EQ(e2["node"], "pve1");
  EXPECT_EQ(e2["user"], "admin@example.com");
  EXPECT_EQ(e2["ip"], "192.0.2.10");
  EXPECT_EQ(e2["action"], "vm:start");
  EXPECT_EQ(e2["resource"], "/vms/100");
  EXPECT_EQ(e2["result"], "success");
  EXPECT_EQ(e2["status"], "200");
  EXPECT_EQ(e2["source"], "pveproxy");
  EXPECT_EQ(e2["detail"], "POST /api2/json/nodes/pve1/qemu/100/status/start");
  EXPECT_EQ(e2["origin"], work_ + "/access.log");
  EXPECT_EQ(e2["line"], 2);

  // /api2/extjs: a 200 proves nothing.
  EXPECT_EQ(ById(arr, 1)["result"], "unknown");
  EXPECT_EQ(ById(arr, 9)["result"], "unknown");
  EXPECT_EQ(ById(arr, 9)["action"], "ct:config");
  // 401/403 on /api2/json are failures; unauthenticated user is "".
  EXPECT_EQ(ById(arr, 10)["result"], "failure");
  EXPECT_EQ(ById(arr, 10)["status"], "403");
  EXPECT_EQ(ById(arr, 11)["result"], "failure");
  EXPECT_EQ(ById(arr, 11)["user"], "");
  // Token ids are users; IPv6 peers are compressed.
  EXPECT_EQ(ById(arr, 12)["user"], "ci@pve!deploy");
  EXPECT_EQ(ById(arr, 12)["resource"], "/vms");
  EXPECT_EQ(ById(arr, 13)["ip"], "2001:db8::5");
  // Tasks: status text, failure on an error status, WARNINGS is success.
  EXPECT_EQ(ById(arr, 33)["status"], "OK");
  EXPECT_EQ(ById(arr, 33)["source"], "tasks");
  EXPECT_EQ(ById(arr, 33)["resource"], "/vms/102");
  EXPECT_EQ(ById(arr, 54)["action"], "guest:backup");
  EXPECT_EQ(ById(arr, 54)["result"], "success");
  EXPECT_EQ(ById(arr, 54)["status"], "WARNINGS: 1");
  EXPECT_EQ(ById(arr, 55)["result"], "failure");
  EXPECT_EQ(ById(arr, 55)["status"], "start failed: QEMU exited with code 1");
  // Password change: actor unknown, target in the resource.
  EXPECT_EQ(ById(arr, 32)["action"], "user:password");
  EXPECT_EQ(ById(arr, 32)["user"], "");
  EXPECT_EQ(ById(arr, 32)["resource"], "/access/users/alice@pve");
  // JSON import: ::ffff: mapping dropped, offset applied, node kept.
  EXPECT_EQ(ById(arr, 56)["ip"], "192.0.2.20");
  EXPECT_EQ(ById(arr, 56)["node"], "pve2");
  EXPECT_EQ(ById(arr, 57)["ip"], "2001:db8::7");
  EXPECT_EQ(ById(arr, 57)["time"], "2025-01-20T09:32:00Z");
}

TEST_F(FormatTest, JsonRoundTripsThroughImport) {
  // What `log --output-format json` prints, one object per line, imports
  // back into another store as the same events.
  RunResult r = Pveam({"access", "log", "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  nlohmann::json arr = Json(r);
  std::string lines;
  for (const auto& e : arr) lines += e.dump() + "\n";
  std::string file = work_ + "/export.jsonl";
  WriteFile(file, lines);
  std::string other = root_ + "/other";
  RunResult imp = RunProgram(kPveam, {"pveam", "access", "import", "--format", "json", file},
                             {"PVEAUDIT_DATA_DIR=" + other, "PVEAUDIT_CONFIG=" + config_});
  ASSERT_EQ(imp.code, 0) << imp;
  RunResult back = RunProgram(kPveam, {"pveam", "access", "log", "--output-format", "json"},
                              {"PVEAUDIT_DATA_DIR=" + other, "PVEAUDIT_CONFIG=" + config_});
  ASSERT_EQ(back.code, 0) << back;
  nlohmann::json arr2 = Json(back);
  ASSERT_EQ(arr2.size(), arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    nlohmann::json a = arr[i], b = arr2[i];
    a.erase("id");
    b.erase("id");
    EXPECT_EQ(a, b) << i;
  }
}

TEST_F(FormatTest, JsonPrettyEqualsJson) {
  RunResult a = Pveam({"access", "log", "--action", "power", "--output-format", "json"});
  RunResult b = Pveam({"access", "log", "--action", "power", "--output-format", "json-pretty"});
  ASSERT_EQ(a.code, 0) << a;
  ASSERT_EQ(b.code, 0) << b;
  EXPECT_EQ(Json(a), Json(b));
  EXPECT_GT(Lines(b.out).size(), Lines(a.out).size());
}

TEST_F(FormatTest, EmptyResult) {
  RunResult r = Pveam({"access", "log", "--user", "nobody@pve"});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "no matching events\n");
  r = Pveam({"access", "log", "--user", "nobody@pve", "--output-format", "json"});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "[]\n");
  r = Pveam({"access", "log", "--user", "nobody@pve", "--output-format", "csv"});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_EQ(
      r.out,
      "id,time,node,user,ip,action,resource,result,status,source,session,detail,origin,line\r\n");
}

TEST_F(FormatTest, CsvHeaderRowsAndFormulaInjection) {
  std::string csv_events = Fixture("events-csv.jsonl");
  ASSERT_EQ(Pveam({"access", "import", "--format", "json", csv_events}).code, 0);
  RunResult r = Pveam(
      {"access", "log", "--start", "2025-01-12", "--end", "2025-01-12", "--output-format", "csv"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(
      r.out,
      "id,time,node,user,ip,action,resource,result,status,source,session,detail,origin,line\r\n"
      "58,2025-01-12T10:00:00Z,pve1,'=cmd@pve,192.0.2.66,vm:config,/vms/100,success,200,json,,"
      "\"PUT \"\"a,b\"\"\"," +
          csv_events +
          ",1\r\n"
          "59,2025-01-12T10:01:00Z,pve1,bob@pve,192.0.2.67,vm:start,/vms/101,failure,-5,json,,"
          "'@SUM(1)," +
          csv_events + ",2\r\n");
}

TEST_F(FormatTest, CsvOfCounts) {
  RunResult r = Pveam({"access", "log", "--failed", "1", "--count", "5", "--output-format", "csv"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(
      r.out,
      "user,ip,count,first,last\r\nroot@pam,,6,2025-01-09T10:00:00Z,2025-01-09T10:10:00Z\r\n");
}

TEST_F(FormatTest, Yaml) {
  std::string csv_events = Fixture("events-csv.jsonl");
  ASSERT_EQ(Pveam({"access", "import", "--format", "json", csv_events}).code, 0);
  RunResult r = Pveam(
      {"access", "log", "--start", "2025-01-12", "--end", "2025-01-12", "--output-format", "yaml"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out,
            "- id: 58\n"
            "  time: \"2025-01-12T10:00:00Z\"\n"
            "  node: pve1\n"
            "  user: \"=cmd@pve\"\n"
            "  ip: \"192.0.2.66\"\n"
            "  action: \"vm:config\"\n"
            "  resource: /vms/100\n"
            "  result: success\n"
            "  status: \"200\"\n"
            "  source: json\n"
            "  session: \"\"\n"
            "  detail: \"PUT \\\"a,b\\\"\"\n"
            "  origin: " +
                csv_events +
                "\n"
                "  line: 1\n"
                "- id: 59\n"
                "  time: \"2025-01-12T10:01:00Z\"\n"
                "  node: pve1\n"
                "  user: \"bob@pve\"\n"
                "  ip: \"192.0.2.67\"\n"
                "  action: \"vm:start\"\n"
                "  resource: /vms/101\n"
                "  result: failure\n"
                "  status: \"-5\"\n"
                "  source: json\n"
                "  session: \"\"\n"
                "  detail: \"@SUM(1)\"\n"
                "  origin: " +
                csv_events +
                "\n"
                "  line: 2\n");
  r = Pveam({"access", "log", "--user", "nobody@pve", "--output-format", "yaml"});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "[]\n");
}

TEST_F(FormatTest, TextUsesClusterTimeZone) {
  RunResult r =
      Sh("pveam access log --user admin@example.com --action power", {"TZ=Europe/Vienna"});
  ASSERT_EQ(r.code, 0) << r;
  std::vector<std::string> rows = Lines(r.out);
  ASSERT_EQ(rows.size(), 7u) << r.out;
  EXPECT_EQ(rows[1].substr(0, 19), "2025-01-08 13:42:28");  // 12:42:28Z, CET = UTC+1
  EXPECT_EQ(rows[6].substr(0, 19), "2025-02-01 01:00:00");
  // JSON stays UTC.
  r = Sh("pveam access log --user admin@example.com --action power --output-format json",
         {"TZ=Europe/Vienna"});
  EXPECT_EQ(Json(r)[0]["time"], "2025-01-08T12:42:28Z");
  // Dates given on the command line are local days too: 2025-01-31 ends at
  // 23:00Z, so 23:59Z (00:59 on Feb 1 in Vienna) is outside.
  r =
      Sh("pveam access log --user admin@example.com --action power --start 2025-01-01 --end "
         "2025-01-31 --output-format json",
         {"TZ=Europe/Vienna"});
  EXPECT_EQ(Ids(Json(r)), (std::vector<int64_t>{2, 33, 5, 6}));
}

TEST_F(FormatTest, ConfigTimeZoneOverridesTz) {
  WriteFile(config_, "timezone = \"Europe/Vienna\"\n");
  RunResult r = Sh("pveam access log --user admin@example.com --action power");
  ASSERT_EQ(r.code, 0) << r;
  std::vector<std::string> rows = Lines(r.out);
  ASSERT_EQ(rows.size(), 7u) << r.out;
  EXPECT_EQ(rows[1].substr(0, 19), "2025-01-08 13:42:28");
}

TEST_F(FormatTest, TextNeutralisesControlCharacters) {
  std::string file = work_ + "/evil.jsonl";
  WriteFile(
      file,
      "{\"time\":\"2025-01-13T10:00:00Z\",\"user\":\"eve@pve\\n2025-01-13 10:00:01  root@pam\","
      "\"action\":\"vm:start\",\"resource\":\"/vms/1\\u001b[2J\"}\n");
  ASSERT_EQ(Pveam({"access", "import", "--format", "json", file}).code, 0);
  RunResult r = Pveam({"access", "log", "--start", "2025-01-13", "--end", "2025-01-13"});
  ASSERT_EQ(r.code, 0) << r;
  std::vector<std::string> lines = Lines(r.out);
  size_t rows = 0;
  for (const std::string& l : lines) rows += l[0] != ' ';
  ASSERT_EQ(rows, 2u) << r.out;  // header and one row: no forged second row
  // The user, too long for its column, is under the row, defused.
  EXPECT_TRUE(
      Contains(r.out, "\n                    user: eve@pve?2025-01-13 10:00:01  root@pam\n"))
      << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
}

// ---- 80 columns, nothing cut ---------------------------------------------

// The rows of a text table, cut into the columns that start under `names`
// in the header. A cell shown as "↓" is taken whole from the "name: value"
// line under its row (a value longer than a line goes on, indented, on the
// next ones; ids and paths hold no spaces, so its pieces join without one).
std::vector<std::vector<std::string>> TextRows(const std::string& out,
                                               const std::vector<std::string>& names) {
  // One byte for the one-column arrow, so that byte offsets are columns.
  std::string ascii;
  for (size_t p = 0; p < out.size(); ++p) {
    const bool arrow = out.compare(p, 3, "\u2193") == 0;
    ascii.push_back(arrow ? '\x01' : out[p]);
    if (arrow) p += 2;
  }
  std::vector<std::string> lines = Lines(ascii);
  std::vector<std::vector<std::string>> rows;
  if (lines.empty()) return rows;
  std::vector<size_t> at;
  size_t pos = 0;
  for (const std::string& n : names) {
    pos = lines[0].find(n, pos);
    EXPECT_NE(pos, std::string::npos) << n << " in " << lines[0];
    at.push_back(pos);
  }
  size_t last = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (!l.empty() && l[0] == ' ') {
      if (rows.empty()) continue;  // a wrapped header
      const size_t b = l.find_first_not_of(' ');
      const size_t colon = l.find(": ", b);
      bool label = false;
      for (size_t c = 0; c < names.size() && colon != std::string::npos; ++c) {
        std::string name = names[c];
        for (char& ch : name) ch = char(std::tolower(static_cast<unsigned char>(ch)));
        if (l.compare(b, colon - b, name) == 0 && rows.back()[c] == "\x01") {
          rows.back()[c] = l.substr(colon + 2);
          last = c;
          label = true;
        }
      }
      if (!label) rows.back()[last] += l.substr(b);
      continue;
    }
    rows.emplace_back(names.size());
    for (size_t c = 0; c < at.size(); ++c) {
      if (at[c] >= l.size()) continue;
      std::string piece =
          l.substr(at[c], c + 1 < at.size() ? at[c + 1] - at[c] : std::string::npos);
      while (!piece.empty() && piece.back() == ' ') piece.pop_back();
      rows.back()[c] = piece;
    }
  }
  return rows;
}

// Every line of `out` is at most 80 columns (code points).
void ExpectFits80(const std::string& out) {
  for (const std::string& l : Lines(out)) {
    size_t width = 0;
    for (unsigned char c : l) width += (c & 0xc0) != 0x80;
    EXPECT_LE(width, 80u) << "'" << l << "'";
  }
}

const std::vector<std::string> kEventColumns = {"TIME",   "USER",     "IP",
                                                "ACTION", "RESOURCE", "RESULT"};

// The text rows `log_args` prints must be the JSON events, whole: the user,
// address and resource (or "-"), the action and the result.
void ExpectTextIsJson(const RunResult& text, const RunResult& json) {
  ASSERT_EQ(text.code, 0) << text;
  ASSERT_EQ(json.code, 0) << json;
  ExpectFits80(text.out);
  EXPECT_EQ(text.out.find('~'), std::string::npos) << text.out;
  nlohmann::json arr = nlohmann::json::parse(json.out);
  auto rows = TextRows(text.out, kEventColumns);
  ASSERT_EQ(rows.size(), arr.size()) << text.out;
  auto dash = [](const nlohmann::json& v) {
    std::string s = v.get<std::string>();
    return s.empty() ? std::string("-") : s;
  };
  for (size_t i = 0; i < arr.size(); ++i) {
    const nlohmann::json& e = arr[i];
    std::string t = e["time"];  // TZ=UTC
    EXPECT_EQ(rows[i][0], t.substr(0, 10) + " " + t.substr(11, 8));
    EXPECT_EQ(rows[i][1], dash(e["user"])) << text.out;
    EXPECT_EQ(rows[i][2], dash(e["ip"])) << text.out;
    EXPECT_EQ(rows[i][3], e["action"].get<std::string>()) << text.out;
    EXPECT_EQ(rows[i][4], dash(e["resource"])) << text.out;
    EXPECT_EQ(rows[i][5], e["result"].get<std::string>()) << text.out;
  }
}

// Regression: ids and paths an auditor needs were cut with '~'
// (monitoring@pve!promethe~, /access/users/mallory@p~), and the header did
// not say which zone the times are in.
TEST_F(FormatTest, TextFits80ColumnsWithoutCuttingIdsOrPaths) {
  std::string file = work_ + "/long.jsonl";
  WriteFile(file,
            "{\"time\":\"2025-01-14T10:00:00Z\",\"user\":\"monitoring@pve!prometheus\","
            "\"ip\":\"2001:db8:85a3:8d3:1319:8a2e:370:7348\",\"action\":\"sys:audit\","
            "\"resource\":\"/access/users/mallory@pve\",\"result\":\"success\"}\n"
            "{\"time\":\"2025-01-14T10:00:01Z\",\"user\":\"mallory@pve\",\"ip\":\"192.0.2.99\","
            "\"action\":\"user:modify\",\"resource\":\"/access/users/"
            "a-rather-long-ldap-account-name@corporate-directory-realm\",\"result\":\"failure\"}\n"
            "{\"time\":\"2025-01-14T10:00:02Z\",\"user\":\"\",\"action\":\"login\","
            "\"result\":\"failure\"}\n");
  ASSERT_EQ(Pveam({"access", "import", "--format", "json", file}).code, 0);
  ExpectTextIsJson(Pveam({"access", "log", "--start", "2025-01-14", "--end", "2025-01-14"}),
                   Pveam({"access", "log", "--start", "2025-01-14", "--end", "2025-01-14",
                          "--output-format", "json"}));
  // The whole standard set too (its /access/users/admin@example.com was cut).
  RunResult all = Pveam({"access", "log"});
  ExpectTextIsJson(all, Pveam({"access", "log", "--output-format", "json"}));
  EXPECT_EQ(Lines(all.out)[0].substr(0, 11), "TIME (UTC) ");
  EXPECT_TRUE(Contains(all.out,
                       "\n2025-01-14 10:00:00 \u2193                 \u2193            sys:audit   "
                       "\u2193         success\n"
                       "                    user: monitoring@pve!prometheus\n"
                       "                    ip: 2001:db8:85a3:8d3:1319:8a2e:370:7348\n"
                       "                    resource: /access/users/mallory@pve\n"))
      << all.out;
}

TEST_F(FormatTest, TextHeaderNamesTheTimeZone) {
  RunResult r = Sh("pveam access log --action power", {"TZ=Europe/Vienna"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(Lines(r.out)[0].substr(0, 21), "TIME (Europe/Vienna) ") << r.out;
  WriteFile(config_, "timezone = \"America/Argentina/Buenos_Aires\"\n");
  r = Sh("pveam access log --action power");
  ASSERT_EQ(r.code, 0) << r;
  // Longer than the time itself: the header wraps in its column.
  std::vector<std::string> lines = Lines(r.out);
  EXPECT_EQ(lines[0].substr(0, 5), "TIME ") << r.out;
  EXPECT_EQ(lines[1], "(America/Argentina/") << r.out;
  EXPECT_EQ(lines[2], "Buenos_Aires)") << r.out;
  ExpectFits80(r.out);
}

TEST_F(FormatTest, OtherTextTablesFit80Columns) {
  RunResult r = Pveam({"access", "log", "--count", "1", "--group-by", "resource"});
  ASSERT_EQ(r.code, 0) << r;
  ExpectFits80(r.out);
  EXPECT_TRUE(Contains(r.out, "/access/users/admin@example.com ")) << r.out;
  EXPECT_EQ(Lines(r.out)[0].find("FIRST (UTC)"), Lines(r.out)[0].find("FIRST")) << r.out;

  r = Pveam({"access", "sessions", "--all", "--start", "2025-01-01", "--end", "2025-02-28"});
  ASSERT_EQ(r.code, 0) << r;
  ExpectFits80(r.out);
  EXPECT_TRUE(Contains(Lines(r.out)[0], "START (UTC)")) << r.out;

  std::string bad = Fixture("access-malformed.log");
  ASSERT_EQ(Pveam({"access", "import", "--node", "pve1", bad}).code, 0);
  r = Pveam({"access", "rejected"});
  ASSERT_EQ(r.code, 0) << r;
  ExpectFits80(r.out);
  // The file's path is whole, under each row.
  size_t origins = 0;
  for (const std::string& l : Lines(r.out)) {
    if (l.find("origin: ") == std::string::npos) continue;
    EXPECT_EQ(l.substr(l.find("origin: ") + 8), bad) << r.out;
    ++origins;
  }
  EXPECT_EQ(origins, 3u) << r.out;
}

// ---- The unknown user and address -----------------------------------------

// Regression: the unknown user was "-" in text, "" in JSON, but "'-" in CSV
// (and "-" in the JSON of --count groups). Now: "-" in text, "" in JSON and
// YAML, an empty CSV cell.
TEST_F(FormatTest, UnknownUserAndIpAreWrittenAlikeInEveryFormat) {
  // Event 11: no user (a 401 before login); event 3: a login without an
  // address.
  auto log = [&](const std::string& fmt, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"access", "log", "--output-format", fmt};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = Pveam(args);
    EXPECT_EQ(r.code, 0) << r;
    return r.out;
  };
  nlohmann::json arr = nlohmann::json::parse(log("json", {}));
  EXPECT_EQ(ById(arr, 11)["user"], "");
  EXPECT_EQ(ById(arr, 32)["user"], "");
  nlohmann::json pretty = nlohmann::json::parse(log("json-pretty", {}));
  EXPECT_EQ(ById(pretty, 11)["user"], "");
  std::string no_ip_user;
  for (const auto& e : arr)
    if (e["ip"] == "" && no_ip_user.empty()) no_ip_user = e["user"];
  ASSERT_FALSE(no_ip_user.empty());

  std::string csv = log("csv", {"--failed", "1", "--action", "login"});
  EXPECT_FALSE(Contains(csv, "'-")) << csv;
  std::string yaml = log("yaml", {});
  EXPECT_TRUE(
      Contains(yaml, "- id: 11\n  time: \"2025-01-08T14:30:00Z\"\n  node: pve1\n  user: \"\"\n"))
      << yaml.substr(0, 2000);
  EXPECT_FALSE(Contains(yaml, "user: \"-\"")) << yaml.substr(0, 2000);
  EXPECT_FALSE(Contains(yaml, "ip: \"-\"")) << yaml.substr(0, 2000);

  // CSV: an empty cell for the user of event 11.
  bool seen = false;
  for (const std::string& l : Lines(log("csv", {}))) {
    if (l.rfind("11,", 0) != 0) continue;
    seen = true;
    EXPECT_EQ(l.substr(0, 40), "11,2025-01-08T14:30:00Z,pve1,,192.0.2.21") << l;
  }
  EXPECT_TRUE(seen);

  // --count groups of events without a user or an address.
  EXPECT_TRUE(Contains(log("csv", {"--count", "1", "--group-by", "ip"}), "\r\n,")) << "csv";
  EXPECT_FALSE(Contains(log("csv", {"--count", "1", "--group-by", "ip"}), "'-"));
  nlohmann::json groups = nlohmann::json::parse(log("json", {"--count", "1"}));
  bool empty_group = false;
  for (const auto& g : groups) {
    EXPECT_NE(g["user"], "-") << g.dump();
    empty_group |= g["user"] == "";
  }
  EXPECT_TRUE(empty_group) << groups.dump();
  std::string yaml_groups = log("yaml", {"--count", "1"});
  EXPECT_TRUE(Contains(yaml_groups, "- user: \"\"\n")) << yaml_groups;
  // Text: "-".
  std::string text_groups = log("text", {"--count", "1"});
  EXPECT_TRUE(Contains(text_groups, "\n-  ")) << text_groups;
  RunResult text = Pveam({"access", "log"});
  auto rows = TextRows(text.out, kEventColumns);
  ASSERT_EQ(rows.size(), arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    if (arr[i]["user"] == "") {
      EXPECT_EQ(rows[i][1], "-");
    }
    if (arr[i]["ip"] == "") {
      EXPECT_EQ(rows[i][2], "-");
    }
  }
}

// ---- Streaming -------------------------------------------------------------

// Starts `pveam args` with stdout into a pipe, reads `bytes` bytes, closes
// the pipe (as `| head` does) and returns how pveam ended: its exit code
// (and signal) and its stderr.
RunResult ReadThenClose(const std::vector<std::string>& env, std::vector<std::string> args,
                        size_t bytes) {
  RunResult r;
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return r;
  std::string err_file = "/tmp/pveaudit-e2e-head-" + std::to_string(getpid());
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> e = MakeEnv(env);
  args.insert(args.begin(), "pveam");
  auto argv = CStrings(args);
  auto envp = CStrings(e);
  pid_t pid;
  int rc = posix_spawn(&pid, kPveam.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    return r;
  }
  char c;
  while (r.out.size() < bytes && read(out[0], &c, 1) == 1) r.out.push_back(c);
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) r.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.err = ReadFile(err_file);
  unlink(err_file.c_str());
  return r;
}

// Regression: `pveam access log | head -5` rendered the whole result first
// and was then killed by SIGPIPE (exit 141 under `set -o pipefail`). Now it
// stops at the closed pipe and exits 0, saying nothing.
TEST_F(FormatTest, StopsQuietlyWhenTheReaderGoesAway) {
  std::string file = work_ + "/many.jsonl";
  std::string lines;
  for (int i = 0; i < 6000; ++i)
    lines += "{\"time\":\"2025-03-01T10:" + std::to_string(10 + i / 600) + ":" +
             std::to_string(10 + i / 10 % 60) + "." + std::to_string(100000 + i) +
             "Z\",\"user\":\"user" + std::to_string(i) +
             "@pve\",\"ip\":\"192.0.2.1\",\"action\":\"vm:start\",\"resource\":\"/vms/" +
             std::to_string(i) + "\",\"detail\":\"" + std::string(200, 'x') + "\"}\n";
  WriteFile(file, lines);
  ASSERT_EQ(Pveam({"access", "import", "--format", "json", file}).code, 0);
  for (const char* fmt : {"text", "json", "json-pretty", "csv", "yaml"}) {
    RunResult r = ReadThenClose(Env(), {"access", "log", "--output-format", fmt}, 4096);
    EXPECT_EQ(r.out.size(), 4096u) << fmt;
    EXPECT_EQ(r.signal, 0) << fmt << ": " << r;
    EXPECT_EQ(r.code, 0) << fmt << ": " << r;
    EXPECT_EQ(r.err, "") << fmt;
  }
}

TEST_F(FormatTest, LargeOutputIsWholeInEveryFormat) {
  // More rows than the text sample (1,000) and more bytes than one chunk.
  std::string file = work_ + "/many.jsonl";
  std::string lines;
  for (int i = 0; i < 3000; ++i)
    lines += "{\"time\":\"2025-03-01T10:00:00." + std::to_string(100000 + i) +
             "Z\",\"user\":\"user" + std::to_string(i) +
             "@pve\",\"ip\":\"192.0.2.1\",\"action\":\"vm:start\",\"resource\":\"/vms/" +
             std::to_string(i) + "\",\"detail\":\"" + std::string(400, 'x') + "\"}\n";
  WriteFile(file, lines);
  ASSERT_EQ(Pveam({"access", "import", "--format", "json", file}).code, 0);
  RunResult js = Pveam({"access", "log", "--start", "2025-03-01", "--output-format", "json"});
  ASSERT_EQ(js.code, 0) << js.err;
  nlohmann::json arr = Json(js);
  ASSERT_EQ(arr.size(), 3000u);
  EXPECT_EQ(arr[2999]["user"], "user2999@pve");
  RunResult text = Pveam({"access", "log", "--start", "2025-03-01"});
  ExpectTextIsJson(text, js);
  RunResult csv = Pveam({"access", "log", "--start", "2025-03-01", "--output-format", "csv"});
  EXPECT_EQ(Lines(csv.out).size(), 3001u);
  RunResult yaml = Pveam({"access", "log", "--start", "2025-03-01", "--output-format", "yaml"});
  EXPECT_EQ(Lines(yaml.out).size(), 3000u * 14);
}

}  // namespace
}  // namespace e2e

// Output contract: JSON keys and values, CSV (RFC 4180, formula
// injection), YAML, json-pretty, text in the cluster time zone.
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
  EXPECT_EQ(r.out,
            "user,count,first,last\r\nroot@pam,6,2025-01-09T10:00:00Z,2025-01-09T10:10:00Z\r\n");
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
  std::vector<std::string> rows = Lines(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;  // no forged second row
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace e2e

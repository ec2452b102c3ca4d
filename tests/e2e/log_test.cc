// The product page's query commands, verbatim, against the standard
// fixture set (see E2eTest::ImportStandard for the id assignment):
//
//   access.log   ids 1-20   (1 extjs ticket POST, 2-13 on 2025-01-08,
//                            14-18 alice at 07:59/08:00/17:59/18:00/23:30 on
//                            01-15, 19 at 01-31 23:59, 20 at 02-01 00:00)
//   auth.log     ids 21-32  (21 admin login, 22 its renewal 15 min later,
//                            23-28 root@pam failure burst, 29-30 alice
//                            failures, 31 alice login, 32 password change)
//   tasks-index  ids 33-55  (33 admin qmstart, 34-43 bob 10 qmcreate in
//                            45 min, 44-53 carol 10 qmcreate over 3 h,
//                            54 vzdump, 55 failed qmstart)
//   events.jsonl ids 56-57  (vm:migrate, node:config on pve2)
#include "e2e_util.h"

namespace e2e {
namespace {

// Every event in time order.
const std::vector<int64_t> kAllByTime =
    Cat({{1, 21, 2, 3, 4, 33, 5, 22, 6, 7, 8, 9, 10, 11, 12, 13},
         Seq(23, 28),
         {29, 30, 31, 32},
         Seq(14, 18),
         Seq(34, 40),
         {57},
         Seq(41, 43),
         {56},
         Seq(44, 53),
         {54, 55, 19, 20}});

class LogTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    ImportStandard();
  }

  // Runs `line` verbatim (text) and with --output-format json; checks the
  // JSON ids and that the text lists the same events under the standard
  // header, aligned.
  void CheckCommand(const std::string& line, const std::vector<int64_t>& want) {
    SCOPED_TRACE(line);
    RunResult js = Sh(line + " --output-format json");
    ASSERT_EQ(js.code, 0) << js;
    EXPECT_EQ(js.err, "");
    nlohmann::json arr = Json(js);
    EXPECT_EQ(Ids(arr), want);

    RunResult text = Sh(line);
    ASSERT_EQ(text.code, 0) << text;
    EXPECT_EQ(text.err, "");
    std::vector<std::string> rows;  // a cell too long for its column goes under the row
    for (std::string l : Lines(text.out)) {
      if (!l.empty() && l[0] == ' ') continue;
      // Its "↓" in the row is one column wide, three bytes.
      for (size_t p; (p = l.find("\u2193")) != std::string::npos;) l.replace(p, 3, 1, 'v');
      rows.push_back(l);
    }
    ASSERT_EQ(rows.size(), want.size() + 1) << text.out;
    CheckHeaderAndAlignment(rows);
    for (size_t i = 0; i < arr.size() && i + 1 < rows.size(); ++i) {
      std::string t = arr[i]["time"];  // 2025-01-08T12:42:28Z; TZ=UTC
      std::string local = t.substr(0, 10) + " " + t.substr(11, 8);
      EXPECT_EQ(rows[i + 1].substr(0, 19), local) << rows[i + 1];
      std::string user = arr[i]["user"];
      EXPECT_TRUE(Contains(rows[i + 1], " " + (user.empty() ? "-" : user) + " ")) << rows[i + 1];
    }
  }

  // Header TIME USER IP ACTION RESOURCE RESULT; every cell starts exactly
  // under its header word, one or more spaces after the previous cell.
  static void CheckHeaderAndAlignment(const std::vector<std::string>& rows) {
    ASSERT_FALSE(rows.empty());
    const std::vector<std::string> names = {"TIME", "USER", "IP", "ACTION", "RESOURCE", "RESULT"};
    std::vector<size_t> col;
    size_t pos = 0;
    for (const std::string& n : names) {
      size_t at = rows[0].find(n, pos);
      ASSERT_NE(at, std::string::npos) << rows[0];
      col.push_back(at);
      pos = at + n.size();
    }
    EXPECT_EQ(col[0], 0u);
    EXPECT_EQ(rows[0].substr(col.back()), "RESULT");  // last column unpadded
    for (const std::string& row : rows) {
      EXPECT_NE(row.back(), ' ') << "trailing blank: '" << row << "'";
      for (size_t c = 1; c < col.size(); ++c) {
        ASSERT_GT(row.size(), col[c]) << row;
        EXPECT_EQ(row[col[c] - 1], ' ') << "column " << names[c] << ": '" << row << "'";
        EXPECT_NE(row[col[c]], ' ') << "column " << names[c] << ": '" << row << "'";
      }
    }
  }
};

// ---- Via CLI -------------------------------------------------------------

TEST_F(LogTest, ViewAllAccessLogs) { CheckCommand("pveam access log", kAllByTime); }

TEST_F(LogTest, ViewAllTextExactRows) {
  RunResult r = Sh("pveam access log");
  ASSERT_EQ(r.code, 0) << r;
  std::vector<std::string> rows = Lines(r.out);
  ASSERT_EQ(rows.size(), 77u);  // 57 events, 19 values under their row
  EXPECT_EQ(rows[0],
            "TIME (UTC)          USER              IP           ACTION      RESOURCE  RESULT");
  // A value longer than its column is printed whole under its row.
  EXPECT_EQ(
      rows[1],
      "2025-01-08 12:42:25 -                 192.0.2.12   \u2193           /access   unknown");
  EXPECT_EQ(rows[2], "                    action: access:ticket");
  EXPECT_EQ(
      rows[3],
      "2025-01-08 12:42:27 admin@example.com -            login       \u2193         success");
  EXPECT_EQ(rows[4], "                    resource: /access/users/admin@example.com");
  EXPECT_EQ(rows[76],
            "2025-02-01 00:00:00 admin@example.com 192.0.2.10   vm:reboot   /vms/100  success");
}

TEST_F(LogTest, FilterByUser) {
  CheckCommand("pveam access log --user admin@example.com",
               {21, 2, 3, 4, 33, 5, 22, 6, 8, 9, 19, 20});
}

TEST_F(LogTest, FilterByUserToken) {
  CheckCommand("pveam access log --user ci@pve!deploy", {12, 13});
}

TEST_F(LogTest, FilterByDateEndIncludesWholeDay) {
  // 2025-01-31 23:59 (id 19) is in, 2025-02-01 00:00 (id 20) is not.
  std::vector<int64_t> want(kAllByTime.begin(), kAllByTime.end() - 1);
  CheckCommand("pveam access log --start 2025-01-01 --end 2025-01-31", want);
  CheckCommand("pveam access log --start 2025-02-01", {20});
  CheckCommand("pveam access log --start 2025-01-15 --end 2025-01-15", Seq(14, 18));
}

TEST_F(LogTest, FilterByUserAndActionClassPower) {
  CheckCommand("pveam access log --user admin@example.com --action power", {2, 33, 5, 6, 19, 20});
}

TEST_F(LogTest, PowerRowsFitIn80Columns) {
  // The product page's own example, in the default text form.
  RunResult r = Sh("pveam access log --user admin@example.com --action power");
  ASSERT_EQ(r.code, 0) << r;
  // Regression: with two-space gaps a typical row (admin@example.com, an
  // IPv4 address, vm:shutdown, /vms/100, success) was 82 columns wide.
  for (const std::string& row : Lines(r.out)) EXPECT_LE(row.size(), 80u) << "'" << row << "'";
}

// ---- Login Tracking ------------------------------------------------------

TEST_F(LogTest, LoginHistory) {
  // Not the access.log POST /api2/extjs/access/ticket (id 1), not the
  // renewal 15 minutes after admin's login (id 22).
  CheckCommand("pveam access log --action login", Cat({{21}, Seq(23, 28), {29, 30, 31}}));
}

TEST_F(LogTest, LoginEventFields) {
  RunResult r = Sh("pveam access log --action login --output-format json");
  ASSERT_EQ(r.code, 0) << r;
  auto j = Json(r);
  ASSERT_EQ(j.size(), 10u);
  EXPECT_EQ(j[0]["user"], "admin@example.com");
  EXPECT_EQ(j[0]["result"], "success");
  EXPECT_EQ(j[0]["ip"], "");
  EXPECT_EQ(j[0]["node"], "pve1");
  EXPECT_EQ(j[0]["source"], "auth");
  EXPECT_EQ(j[0]["resource"], "/access/users/admin@example.com");
  EXPECT_EQ(j[0]["time"], "2025-01-08T12:42:27Z");
  EXPECT_EQ(j[1]["user"], "root@pam");
  EXPECT_EQ(j[1]["ip"], "198.51.100.7");  // rhost=::ffff:198.51.100.7
  EXPECT_EQ(j[1]["result"], "failure");
  EXPECT_EQ(j[1]["detail"], "Authentication failure");
  EXPECT_EQ(j[7]["user"], "alice@pve");
  EXPECT_EQ(j[7]["detail"], "invalid credentials");

  // The two events that are not logins.
  r =
      Sh("pveam access log --user admin@example.com --start 2025-01-08 --end 2025-01-08 "
         "--output-format json");
  j = Json(r);
  ASSERT_FALSE(j.empty()) << r;
  for (const auto& e : j) {
    if (e["id"] == 22) {
      EXPECT_EQ(e["action"], "session:renew") << e.dump();
      EXPECT_EQ(e["time"], "2025-01-08T12:57:27Z");
    }
  }
  r = Sh("pveam access log --action access:ticket --output-format json");
  j = Json(r);
  ASSERT_EQ(j.size(), 1u) << r;
  EXPECT_EQ(j[0]["id"], 1);
  EXPECT_EQ(j[0]["user"], "");
  EXPECT_EQ(j[0]["result"], "unknown");
  EXPECT_EQ(j[0]["resource"], "/access");
  CheckCommand("pveam access log --action session", {1, 22});
}

TEST_F(LogTest, FailedLogins) {
  CheckCommand("pveam access log --action login --failed 1", Cat({Seq(23, 28), {29, 30}}));
  CheckCommand("pveam access log --action login --failed 0", {21, 31});
}

// ---- Action Tracking -----------------------------------------------------

TEST_F(LogTest, TrackVmStart) {
  // API call, task, a 403 and a failed task; not ct:* and not guest:*.
  CheckCommand("pveam access log --action \"vm:start\"", {2, 33, 10, 55});
}

TEST_F(LogTest, TrackVmStop) {
  // vm:stop only: the container stop (id 5, ct:stop) is not listed.
  CheckCommand("pveam access log --action \"vm:stop\"", {7});
}

TEST_F(LogTest, TrackVmCreate) {
  CheckCommand("pveam access log --action \"vm:create\"", Cat({{12}, Seq(34, 43), Seq(44, 53)}));
}

TEST_F(LogTest, TrackConfigChanges) {
  // vm:config (json), ct:config (extjs), user:password, node:config (json import).
  CheckCommand("pveam access log --action config", {8, 9, 32, 57});
}

TEST_F(LogTest, TrackModify) {
  // Every state change; not reads, logins, renewals or ticket requests.
  CheckCommand("pveam access log --action modify", Cat({{2, 33, 5, 6, 7, 8, 9, 10, 12, 13, 32},
                                                        Seq(34, 40),
                                                        {57},
                                                        Seq(41, 43),
                                                        {56},
                                                        Seq(44, 53),
                                                        {54, 55, 19, 20}}));
}

TEST_F(LogTest, ObjectPrefixAndGuest) {
  CheckCommand("pveam access log --action ct", {5, 9});
  CheckCommand("pveam access log --action backup", {54});
  CheckCommand("pveam access log --action guest",
               Cat({{2, 33, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18},
                    Seq(34, 43),
                    {56},
                    Seq(44, 53),
                    {54, 55, 19, 20}}));
}

// ---- Failed Login Alerts -------------------------------------------------

TEST_F(LogTest, RepeatedFailures) {
  RunResult r = Sh("pveam access log --failed 1 --count 5 --output-format json");
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(Json(r), nlohmann::json::parse(R"([{"user":"root@pam","ip":"","count":6,
      "first":"2025-01-09T10:00:00Z","last":"2025-01-09T10:10:00Z"}])"));
  r = Sh("pveam access log --failed 1 --count 5");
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out,
            "USER      COUNT  FIRST (UTC)          LAST\n"
            "root@pam  6      2025-01-09 10:00:00  2025-01-09 10:10:00\n");
  EXPECT_EQ(r.err, "");
  // alice has 4 failures (403, two wrong passwords, a failed task).
  r = Sh("pveam access log --failed 1 --count 4 --output-format json");
  auto j = Json(r);
  ASSERT_EQ(j.size(), 2u) << r;
  EXPECT_EQ(j[0]["user"], "root@pam");
  EXPECT_EQ(j[1]["user"], "alice@pve");
  EXPECT_EQ(j[1]["count"], 4);
  EXPECT_EQ(j[1]["first"], "2025-01-08T14:20:00Z");
  EXPECT_EQ(j[1]["last"], "2025-01-22T11:00:00Z");
}

TEST_F(LogTest, CountNobodyReachesThreshold) {
  RunResult r = Sh("pveam access log --failed 1 --count 7");
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "no group reaches the count\n");
  r = Sh("pveam access log --failed 1 --count 7 --output-format json");
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_EQ(Json(r), nlohmann::json::array());
}

TEST_F(LogTest, CountGroupByIp) {
  RunResult r = Sh("pveam access log --failed 1 --count 5 --group-by ip --output-format json");
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(Json(r), nlohmann::json::parse(R"([{"ip":"198.51.100.7","count":6,
      "first":"2025-01-09T10:00:00Z","last":"2025-01-09T10:10:00Z"}])"));
}

// ---- Unusual Access Patterns ---------------------------------------------

TEST_F(LogTest, OffHoursWrapsMidnight) {
  // 07:59 in, 08:00 out, 17:59 out, 18:00 in, 23:30 in, 23:59 and 00:00 in.
  CheckCommand("pveam access log --start 18:00 --end 08:00", {14, 17, 18, 19, 20});
}

TEST_F(LogTest, OffHoursInClusterTimeZone) {
  // Europe/Vienna is UTC+1 in January: 17:59Z is 18:59 local (in),
  // 07:59Z is 08:59 local (out).
  RunResult r =
      Sh("pveam access log --start 18:00 --end 08:00 --output-format json", {"TZ=Europe/Vienna"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(Ids(Json(r)), (std::vector<int64_t>{16, 17, 18, 19, 20}));
}

TEST_F(LogTest, BusinessHoursWindow) {
  RunResult r =
      Sh("pveam access log --start 08:00 --end 18:00 --user alice@pve --output-format json");
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(Ids(Json(r)), (std::vector<int64_t>{10, 29, 30, 31, 15, 16, 56, 55}));
}

TEST_F(LogTest, ResourceSpam) {
  RunResult r = Sh("pveam access log --action vm:create --count 10 --hour 1 --output-format json");
  ASSERT_EQ(r.code, 0) << r;
  // bob: 10 creates in 45 minutes; carol: 10 over 3 hours (at most 4 per hour).
  EXPECT_EQ(Json(r), nlohmann::json::parse(R"([{"user":"bob@pve","ip":"","count":10,
      "first":"2025-01-20T09:00:00Z","last":"2025-01-20T09:45:00Z"}])"));
  r = Sh("pveam access log --action vm:create --count 10 --hour 1");
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out,
            "USER     COUNT  FIRST (UTC)          LAST\n"
            "bob@pve  10     2025-01-20 09:00:00  2025-01-20 09:45:00\n");
  // Without the window both reach 10.
  r = Sh("pveam access log --action vm:create --count 10 --output-format json");
  EXPECT_EQ(Json(r), nlohmann::json::parse(R"([
      {"user":"bob@pve","ip":"","count":10,"first":"2025-01-20T09:00:00Z","last":"2025-01-20T09:45:00Z"},
      {"user":"carol@pve","ip":"","count":10,"first":"2025-01-21T09:00:00Z","last":"2025-01-21T12:00:00Z"}])"));
  // Within 4 hours carol reaches 10 too.
  r = Sh("pveam access log --action vm:create --count 10 --hour 4 --output-format json");
  EXPECT_EQ(Json(r).size(), 2u) << r;
  // carol never has 5 within one hour.
  r =
      Sh("pveam access log --action vm:create --count 5 --hour 1 --user carol@pve --output-format "
         "json");
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_EQ(Json(r), nlohmann::json::array());
}

// ---- Other filters -------------------------------------------------------

TEST_F(LogTest, ResourceIpNodeAndLimit) {
  CheckCommand("pveam access log --resource /vms/200", {5, 9});
  CheckCommand("pveam access log --ip 198.51.100.0/24", Seq(23, 28));
  CheckCommand("pveam access log --ip ::ffff:192.0.2.21", {11});
  CheckCommand("pveam access log --node pve2", {57, 56});
  CheckCommand("pveam access log --limit 2", {19, 20});
}

// An unknown --action is not an error (it matches nothing) but gets a hint.
TEST_F(LogTest, UnknownActionMatchesNothingWithAHint) {
  RunResult r = Sh("pveam access log --action vm:strat --output-format json");
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "[]\n");
  EXPECT_TRUE(Contains(r.err,
                       "'vm:strat' is not a known action, object or class (did you mean "
                       "'vm:start'?)"))
      << r;
}

}  // namespace
}  // namespace e2e

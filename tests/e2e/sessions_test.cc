// pveam access sessions: sessions from real authentication lines (logins,
// GUI renewals every 15 minutes, a second login = a concurrent session,
// expiry 2 hours after the last renewal) at several --at times.
#include "e2e_util.h"

namespace e2e {
namespace {

class SessionsTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    std::string auth = work_ + "/auth.log";
    WriteFile(
        auth,
        "Jan 10 09:00:00 pve1 pvedaemon[1201]: <root@pam> successful auth for user 'alice@pve'\n"
        "Jan 10 09:15:00 pve1 pvedaemon[1201]: <root@pam> successful auth for user 'alice@pve'\n"
        "Jan 10 09:30:00 pve1 pvedaemon[1201]: <root@pam> successful auth for user 'alice@pve'\n"
        "Jan 10 10:00:00 pve1 pvedaemon[1202]: <root@pam> successful auth for user 'bob@pve'\n"
        "Jan 10 10:45:00 pve1 pvedaemon[1202]: <root@pam> successful auth for user 'bob@pve'\n"
        "Jan 10 11:00:00 pve1 pvedaemon[1203]: authentication failure; "
        "rhost=::ffff:198.51.100.7 user=carol@pve msg=invalid credentials\n");
    SetMtime(auth, kAuthMtime);
    RunResult r = Pveam({"access", "import", "--format", "auth", auth});
    ASSERT_EQ(r.code, 0) << r;
  }
  // "user:start-expires:concurrent" per active session at `at`.
  std::vector<std::string> At(const std::string& at) {
    RunResult r = Pveam({"access", "sessions", "--at", at, "--output-format", "json"});
    EXPECT_EQ(r.code, 0) << r;
    std::vector<std::string> out;
    for (const auto& s : Json(r))
      out.push_back(s.value("user", "") + ":" + s.value("start", "").substr(11, 5) + "-" +
                    s.value("expires", "").substr(11, 5) + ":" +
                    std::to_string(s.value("concurrent", 0)));
    return out;
  }
};

TEST_F(SessionsTest, ActiveSessionsAtSeveralTimes) {
  EXPECT_EQ(At("2025-01-10T08:59:00Z"), std::vector<std::string>{});
  EXPECT_EQ(At("2025-01-10T09:10:00Z"), (std::vector<std::string>{"alice@pve:09:00-11:00:1"}));
  // Renewals at 09:15 and 09:30 moved alice's expiry; bob logged in twice
  // (45 minutes apart: not a renewal), so he has two concurrent sessions.
  EXPECT_EQ(At("2025-01-10T11:00:00Z"),
            (std::vector<std::string>{"alice@pve:09:00-11:30:1", "bob@pve:10:00-12:00:2",
                                      "bob@pve:10:45-12:45:2"}));
  EXPECT_EQ(At("2025-01-10T11:40:00Z"),
            (std::vector<std::string>{"bob@pve:10:00-12:00:2", "bob@pve:10:45-12:45:2"}));
  EXPECT_EQ(At("2025-01-10T12:50:00Z"), std::vector<std::string>{});
}

TEST_F(SessionsTest, AllListsPastSessionsWithTheDocumentedKeys) {
  RunResult r = Pveam({"access", "sessions", "--all", "--start", "2025-01-10", "--end",
                       "2025-01-11", "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  auto arr = Json(r);
  ASSERT_EQ(arr.size(), 3u) << r;
  for (const char* key : {"user", "ip", "node", "start", "last", "expires"})
    EXPECT_TRUE(arr[0].contains(key)) << key;
  EXPECT_EQ(arr[0]["user"], "alice@pve");
  EXPECT_EQ(arr[0]["node"], "pve1");
  EXPECT_EQ(arr[0]["last"], "2025-01-10T09:30:00Z");
  r = Pveam({"access", "sessions", "--all", "--user", "bob@pve", "--start", "2025-01-10", "--end",
             "2025-01-11", "--output-format", "json"});
  EXPECT_EQ(Json(r).size(), 2u) << r;
}

// A GUI left open for two days: the login lies before the 24 h lookback,
// but the renewals every 15 minutes prove a valid session.
TEST_F(SessionsTest, LongRenewedSessionIsActiveAfterTheLookback) {
  std::string auth = work_ + "/auth-long.log";
  std::string text;
  for (int m = 0; m <= 48 * 60; m += 15) {
    int day = 12 + m / (24 * 60), hh = (m / 60) % 24, mm = m % 60;
    char line[160];
    std::snprintf(line, sizeof line,
                  "Jan %2d %02d:%02d:00 pve1 pvedaemon[7]: <root@pam> successful auth for user "
                  "'erin@pve'\n",
                  day, hh, mm);
    text += line;
  }
  WriteFile(auth, text);
  SetMtime(auth, kAuthMtime);
  ASSERT_EQ(Pveam({"access", "import", "--format", "auth", auth}).code, 0);
  auto at = At("2025-01-14T00:05:00Z");
  ASSERT_EQ(at.size(), 1u);
  EXPECT_EQ(at[0].substr(0, 9), "erin@pve:");
  EXPECT_EQ(at[0].substr(at[0].size() - 2), ":1");
}

TEST_F(SessionsTest, BadArgumentsExit2) {
  EXPECT_EQ(Pveam({"access", "sessions", "--at", "2025-13-01"}).code, 2);
  EXPECT_EQ(Pveam({"access", "sessions", "--start", "2025-01-01"}).code, 2);
  EXPECT_EQ(Pveam({"access", "sessions", "--all", "--at", "2025-01-01"}).code, 2);
}

}  // namespace
}  // namespace e2e

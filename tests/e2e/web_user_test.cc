// pveam access web-user add|list|remove with the real binary: the
// accounts, the audit events of every change (with no hash and no
// password in them), and bad arguments (exit 2, nothing changed).
#include "e2e_util.h"

namespace e2e {
namespace {

class WebUserTest : public E2eTest {
 protected:
  std::string PasswordFile(const std::string& pw) {
    std::string path = work_ + "/pw-" + std::to_string(++files_);
    WriteFile(path, pw + "\n");
    return path;
  }
  nlohmann::json AuditEvents() {
    RunResult r = Pveam({"access", "log", "--action", "pveaudit", "--output-format", "json"});
    EXPECT_EQ(r.code, 0) << r;
    return Json(r);
  }
  // The store's bytes, its write-ahead log included.
  std::string StoreBytes() const {
    std::string bytes = ReadFile(DbPath());
    if (std::filesystem::exists(DbPath() + "-wal")) bytes += ReadFile(DbPath() + "-wal");
    return bytes;
  }
  int files_ = 0;
};

TEST_F(WebUserTest, AddListRemoveAreAuditedWithoutSecrets) {
  const std::string pw = "Tr0ub4dor&3-horse";
  RunResult r = Pveam({"access", "web-user", "add", "ann", "--role", "auditor", "--password-file",
                       PasswordFile(pw)});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "web user ann@pveaudit added (role auditor)\n");
  r = Pveam({"access", "web-user", "add", "ops@pveaudit", "--role", "admin", "--password-file",
             PasswordFile("another-long-pass"), "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(Json(r)[0]["userid"], "ops@pveaudit");

  r = Pveam({"access", "web-user", "list", "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  auto users = Json(r);
  ASSERT_EQ(users.size(), 2u) << r;
  EXPECT_EQ(users[0]["userid"], "ann@pveaudit");
  EXPECT_EQ(users[0]["role"], "auditor");
  EXPECT_EQ(users[1]["userid"], "ops@pveaudit");
  EXPECT_EQ(users[1]["role"], "admin");
  EXPECT_TRUE(Contains(users[0]["created_by"].get<std::string>(), "@pam")) << r;

  r = Pveam({"access", "web-user", "remove", "ann"});
  ASSERT_EQ(r.code, 0) << r;
  r = Pveam({"access", "web-user", "list", "--output-format", "json"});
  ASSERT_EQ(Json(r).size(), 1u) << r;

  auto events = AuditEvents();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["action"], "pveaudit:web-user-add");
  EXPECT_EQ(events[0]["resource"], "/access/users/ann@pveaudit");
  EXPECT_EQ(events[2]["action"], "pveaudit:web-user-remove");
  for (const auto& e : events) {
    std::string detail = e["detail"];
    EXPECT_FALSE(Contains(detail, "argon2")) << detail;
    EXPECT_FALSE(Contains(detail, pw)) << detail;
  }
  // The password itself is nowhere in the store.
  EXPECT_FALSE(Contains(StoreBytes(), pw));
}

TEST_F(WebUserTest, ApiTokensShowTheirSecretOnceAndNeverStoreIt) {
  RunResult r = Pveam({"access", "web-user", "add", "ops", "--role", "admin", "--password-file",
                       PasswordFile("ops-password")});
  ASSERT_EQ(r.code, 0) << r;
  r = Pveam({"access", "web-user", "token", "add", "ops", "ci", "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  auto added = Json(r);
  ASSERT_EQ(added.size(), 1u) << r;
  EXPECT_EQ(added[0]["tokenid"], "ops@pveaudit!ci");
  const std::string secret = added[0]["value"];
  EXPECT_EQ(secret.size(), 36u);
  r = Pveam({"access", "web-user", "token", "list", "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(Json(r).size(), 1u) << r;
  EXPECT_FALSE(Contains(r.out, secret));
  r = Pveam({"access", "web-user", "token", "add", "ops", "ci"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "token 'ops@pveaudit!ci' exists")) << r;
  r = Pveam({"access", "web-user", "token", "remove", "ops", "ci"});
  ASSERT_EQ(r.code, 0) << r;
  r = Pveam({"access", "web-user", "token", "remove", "ops", "ci"});
  EXPECT_EQ(r.code, 2) << r;
  auto events = AuditEvents();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1]["action"], "pveaudit:web-token-add");
  EXPECT_EQ(events[2]["action"], "pveaudit:web-token-remove");
  EXPECT_FALSE(Contains(StoreBytes(), secret));
}

TEST_F(WebUserTest, BadArgumentsExit2AndChangeNothing) {
  RunResult r = Pveam({"access", "web-user", "add", "ann", "--role", "auditor", "--password-file",
                       PasswordFile("first-password")});
  ASSERT_EQ(r.code, 0) << r;
  auto before = Status();
  const std::string db_before = ReadFile(DbPath());
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"add", "bob", "--role", "root", "--password-file", PasswordFile("long-enough-pw")},
       "invalid value 'root' for --role"},
      {{"add", "b:ob", "--role", "admin", "--password-file", PasswordFile("long-enough-pw")},
       "invalid web user name 'b:ob'"},
      {{"add", "ann", "--role", "admin", "--password-file", PasswordFile("long-enough-pw")},
       "web user 'ann@pveaudit' exists"},
      {{"add", "bob", "--role", "admin", "--password-file", PasswordFile("short")}, "too short"},
      {{"add", "bob", "--role", "admin", "--password-file", work_ + "/missing"},
       "cannot read --password-file '" + work_ + "/missing'"},
      {{"add", "bob", "--role", "admin", "--password", "long-enough-pw"},
       "unknown option '--password'"},
      {{"remove", "nobody"}, "no web user 'nobody@pveaudit'"},
      {{"list", "--output-format", "xml"}, "invalid value 'xml' for --output-format"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"access", "web-user"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    r = Pveam(args);
    EXPECT_EQ(r.code, 2) << r;
    EXPECT_TRUE(Contains(r.err, c.message)) << c.message << "\n" << r;
    EXPECT_EQ(r.out, "") << r;
  }
  auto after = Status();
  EXPECT_EQ(after["events"], before["events"]);
  EXPECT_EQ(ReadFile(DbPath()), db_before);
}

}  // namespace
}  // namespace e2e

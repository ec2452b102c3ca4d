// End-to-end tests of the access-control reports: the product page's
// commands (`pveum user report --output FILE.csv`, `pveum acl report
// --output FILE.csv`) and the quarterly review, run with the real pveum
// binary against the fixture config dir tests/data/e2e/pve and a store
// imported from tests/data/e2e/pve/events.jsonl (the same config and events
// as the unit tests' tests/data/report fixtures).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "e2e_util.h"

namespace e2e {
namespace {

class PveumTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    pve_dir_ = kFixtures + "/pve";
  }
  void ImportEvents() {
    std::string json = work_ + "/events.jsonl";
    std::filesystem::copy_file(pve_dir_ + "/events.jsonl", json,
                               std::filesystem::copy_options::overwrite_existing);
    RunResult r = Pveam({"access", "import", "--format", "json", json});
    ASSERT_EQ(r.code, 0) << r;
  }
  std::vector<std::string> PveEnv(std::vector<std::string> extra = {}) const {
    extra.push_back("PVEAUDIT_PVE_DIR=" + pve_dir_);
    return extra;
  }
  // CSV lines (CRLF) of a file.
  static std::vector<std::string> CsvLines(const std::string& s) {
    std::vector<std::string> v;
    for (std::string& l : Lines(s)) {
      if (!l.empty() && l.back() == '\r') l.pop_back();
      v.push_back(l);
    }
    return v;
  }
  static std::string LineStarting(const std::vector<std::string>& lines, const std::string& p) {
    for (const auto& l : lines)
      if (l.rfind(p, 0) == 0) return l;
    return "";
  }
  // Number of stored events (pveam access log as JSON).
  size_t Events() const {
    RunResult r = Pveam({"access", "log", "--output-format", "json"});
    EXPECT_EQ(r.code, 0) << r;
    return Json(r).size();
  }
  std::string pve_dir_;
};

TEST_F(PveumTest, UserReportAsOnTheProductPage) {
  ImportEvents();
  std::string out = work_ + "/user-access-report.csv";
  RunResult r = Sh("pveum user report --output " + out + " --now 2026-12-15T12:00:00Z", PveEnv());
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(r.out.empty()) << r;  // the report goes to the file
  auto lines = CsvLines(ReadFile(out));
  ASSERT_EQ(lines.size(), 10u) << ReadFile(out);
  EXPECT_EQ(lines[0],
            "userid,realm,enabled,expire,groups,last_login,last_login_ip,failed_logins_30d,"
            "active_sessions,permissions,tfa,tokens");
  EXPECT_EQ(LineStarting(lines, "alice@pve,"),
            "alice@pve,pve,1,,admins,2026-12-15T11:00:00Z,192.0.2.10,1,1,/: Administrator,none,"
            "alice@pve!ci privsep=0 expire=never");
  EXPECT_EQ(LineStarting(lines, "bob@pve,"),
            "bob@pve,pve,1,,ops,2026-12-10T08:00:00Z,198.51.100.7,3,0,"
            "/storage/gone: PVEDatastoreUser; /vms: PVEVMUser; /vms/100: PVEVMAdmin (this path "
            "only),totp,bob@pve!backup privsep=1 expire=never; bob@pve!old privsep=1 "
            "expire=2023-11-14 (expired)");
  EXPECT_EQ(LineStarting(lines, "frank@pve,"), "frank@pve,pve,1,,,never,,0,0,,none,");
  EXPECT_EQ(LineStarting(lines, "erin@corp,"),
            "erin@corp,corp,1,,,2026-11-20T10:20:00Z,198.51.100.2,0,0,/vms/101: NoAccess,"
            "realm oath (enforced),");
}

TEST_F(PveumTest, UserReportWithoutStoreSaysSoAndLeavesCellsEmpty) {
  std::string out = work_ + "/users.csv";
  RunResult r = Sh("pveum user report --output " + out, PveEnv());
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.err, "no event store at " + data_dir_ + ": last login unknown")) << r;
  auto lines = CsvLines(ReadFile(out));
  EXPECT_EQ(LineStarting(lines, "frank@pve,"), "frank@pve,pve,1,,,,,,,,none,");
  // The text report on stdout carries the note itself.
  r = Sh("pveum user report", PveEnv());
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "note: no event store")) << r;
  EXPECT_TRUE(Contains(r.out, "USERID")) << r;
}

TEST_F(PveumTest, UserReportFormats) {
  ImportEvents();
  RunResult r = Sh("pveum user report --output-format json --now 2026-12-15T12:00:00Z", PveEnv());
  ASSERT_EQ(r.code, 0) << r;
  nlohmann::json j = Json(r);
  ASSERT_TRUE(j.contains("users")) << r;
  ASSERT_EQ(j["users"].size(), 9u);
  EXPECT_EQ(j["users"][0]["userid"], "alice@pve");
  EXPECT_EQ(j["users"][0]["failed_logins_30d"], 1);
  EXPECT_EQ(j["users"][0]["active_sessions"], 1);
  std::string html = work_ + "/users.html";
  r = Sh("pveum user report --output " + html, PveEnv());
  ASSERT_EQ(r.code, 0) << r;
  std::string page = ReadFile(html);
  EXPECT_TRUE(Contains(page, "<!DOCTYPE html>"));
  EXPECT_FALSE(Contains(page, "http"));
}

TEST_F(PveumTest, AclReportAsOnTheProductPage) {
  std::string out = work_ + "/permission-report.csv";
  RunResult r = Sh("pveum acl report --output " + out, PveEnv());
  ASSERT_EQ(r.code, 0) << r;
  auto lines = CsvLines(ReadFile(out));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0],
            "section,path,propagate,type,principal,role,privileges,status,line,group,members,"
            "comment,builtin,roles,inherited_below,file,message");
  EXPECT_EQ(LineStarting(lines, "acl,/nodes,"),
            "acl,/nodes,1,group,nogroup,Auditor2,\"Sys.Audit,VM.Audit\",orphaned: group "
            "'nogroup' does not exist,27,,,,,,,,");
  EXPECT_EQ(LineStarting(lines, "acl,/storage/gone,"),
            "acl,/storage/gone,1,group,ops,PVEDatastoreUser,\"Datastore.AllocateSpace,"
            "Datastore.Audit\",orphaned: storage 'gone' does not exist (not in storage.cfg),23,,,"
            ",,,,,");
  EXPECT_EQ(LineStarting(lines, "groups,,,,,,,,,ops,"),
            "groups,,,,,,,,,ops,\"bob@pve,dave@pve,grace@pve\",Operations,,,,,");
  EXPECT_EQ(LineStarting(lines, "coverage,/vms/101,,user,erin@corp,"),
            "coverage,/vms/101,,user,erin@corp,,,,,,,,,NoAccess,NoAccess,,");
  EXPECT_NE(LineStarting(lines, "roles,,,,,PVEVMAdmin,"), "");
  EXPECT_NE(LineStarting(lines, "warnings,"), "");
  EXPECT_TRUE(Contains(r.err, "orphaned")) << r;

  r = Sh("pveum acl report --output-format json", PveEnv());
  ASSERT_EQ(r.code, 0) << r;
  nlohmann::json j = Json(r);
  for (const char* k : {"acl", "groups", "roles", "coverage", "warnings", "notes"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["acl"].size(), 11u);  // one entry per (path, principal, role)
}

// Regression: --output naming something that is not a regular file (here a
// FIFO; in the field /dev/null) used to replace it with a regular file by
// renaming the report over it. It must be written to, and stay what it is.
TEST_F(PveumTest, OutputToAFifoWritesThroughItAndKeepsIt) {
  std::string fifo = work_ + "/report.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // Opened before the command, non-blocking, so that a broken pveum that
  // never opens the FIFO makes the test fail instead of hang.
  int fd = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(fd, 0);
  std::atomic<bool> done{false};
  std::string got;
  std::thread reader([&] {
    char buf[65536];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) {
        got.append(buf, size_t(n));
      } else if (n == 0 && done) {
        break;  // no writer left and the command has exited
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  });
  RunResult r = Sh("pveum acl report --output " + fifo, PveEnv());
  done = true;
  reader.join();
  close(fd);
  ASSERT_EQ(r.code, 0) << r;
  struct stat st;
  ASSERT_EQ(lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO was replaced";
  EXPECT_EQ(CsvLines(got).at(0).rfind("section,path,propagate,", 0), 0u) << got.substr(0, 200);
}

// Replacing an existing report swaps the new file in whole.
TEST_F(PveumTest, ExistingReportFileIsReplacedWhole) {
  std::string out = work_ + "/permission-report.csv";
  WriteFile(out, std::string(1 << 20, 'x'));
  RunResult r = Sh("pveum acl report --output " + out, PveEnv());
  ASSERT_EQ(r.code, 0) << r;
  std::string csv = ReadFile(out);
  EXPECT_EQ(csv.rfind("section,path,propagate,", 0), 0u);
  EXPECT_EQ(csv.find('x' + std::string(100, 'x')), std::string::npos) << "old bytes left";
  for (const auto& e : std::filesystem::directory_iterator(work_))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

TEST_F(PveumTest, MissingConfigIsAnErrorNamingTheFile) {
  std::string empty = work_ + "/empty-pve";
  std::filesystem::create_directories(empty);
  std::string out = work_ + "/x.csv";
  for (const char* cmd : {"pveum user report --output ", "pveum acl report --output "}) {
    RunResult r = Sh(cmd + out, {"PVEAUDIT_PVE_DIR=" + empty});
    EXPECT_EQ(r.code, 2) << r;
    EXPECT_TRUE(Contains(r.err, empty + "/user.cfg")) << r;
    EXPECT_FALSE(std::filesystem::exists(out));
  }
  RunResult r =
      Sh("pveum audit quarterly --quarter 2026Q4 --output " + work_ + "/rev --pve-dir " + empty);
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "user.cfg")) << r;
}

TEST_F(PveumTest, BadArgumentsExit2) {
  for (const char* cmd :
       {"pveum user report --output-format xml", "pveum user report --now yesterdayish",
        "pveum audit quarterly --quarter 2026Q5 --output /tmp/x",
        "pveum audit quarterly --quarter 2026Q4",
        "pveum audit quarterly --output /tmp/x "
        "--shared-ips 1"}) {
    RunResult r = Sh(cmd, PveEnv());
    EXPECT_EQ(r.code, 2) << cmd << "\n" << r;
  }
}

TEST_F(PveumTest, QuarterlyReviewAsOnTheProductPage) {
  ImportEvents();
  size_t before = Events();
  std::string dir = work_ + "/review";
  RunResult r =
      Sh("pveum audit quarterly --quarter 2026Q4 --output " + dir + " --now 2026-12-15T12:00:00Z",
         PveEnv({"USER=auditor", "SUDO_USER="}));
  ASSERT_EQ(r.code, 0) << r;
  std::string html = ReadFile(dir + "/access-review-2026Q4.html");
  std::string csv = ReadFile(dir + "/access-review-2026Q4-findings.csv");
  std::string json = ReadFile(dir + "/access-review-2026Q4-findings.json");
  EXPECT_TRUE(Contains(html, "<title>Quarterly access review 2026Q4</title>"));
  EXPECT_FALSE(Contains(html, "http://") || Contains(html, "https://") ||
               Contains(html, "<script"));
  for (const char* rule :
       {"users.shared-account", "users.inactive", "users.never-logged-in", "perm.admin-role",
        "perm.root-propagate", "perm.direct-user-acl", "perm.token-no-privsep", "tfa.missing",
        "expired.user-enabled", "expired.inactive-user-holds-acls", "expired.token", "orphan.user",
        "orphan.group", "orphan.guest", "orphan.storage"}) {
    EXPECT_TRUE(Contains(csv, rule)) << rule;
    EXPECT_TRUE(Contains(html, rule)) << rule;
  }
  EXPECT_EQ(Lines(csv)[0], "check,check_name,rule,severity,subject,evidence,fix\r");
  nlohmann::json j = nlohmann::json::parse(json);
  ASSERT_TRUE(j.contains("findings"));
  EXPECT_EQ(j["findings"].size(), Lines(csv).size() - 1);
  EXPECT_EQ(j["review"][0]["quarter"], "2026Q4");

  // The run is recorded: action audit:review by auditor@pam with the HTML digest.
  EXPECT_EQ(Events(), before + 1);
  r = Pveam({"access", "log", "--action", "audit:review", "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  nlohmann::json ev = Json(r);
  ASSERT_EQ(ev.size(), 1u) << r;
  EXPECT_EQ(ev[0]["user"], "auditor@pam");
  EXPECT_EQ(ev[0]["resource"], "/");
  EXPECT_EQ(ev[0]["result"], "success");
  EXPECT_EQ(ev[0]["source"], "pveaudit");
  std::string digest = j["review"][0]["html_sha256"];
  EXPECT_EQ(ev[0]["detail"], "quarter=2026Q4 sha256=" + digest);
  EXPECT_EQ(digest.size(), 64u);
  // sudo: the invoking user is SUDO_USER; --user wins over both.
  r = Sh("pveum audit quarterly --quarter 2026Q4 --output " + dir + " --user carol@pve",
         PveEnv({"USER=root", "SUDO_USER=bob"}));
  ASSERT_EQ(r.code, 0) << r;
  r = Sh("pveum audit quarterly --output " + dir, PveEnv({"USER=root", "SUDO_USER=bob"}));
  ASSERT_EQ(r.code, 0) << r;
  r = Pveam({"access", "log", "--action", "audit:review", "--output-format", "json"});
  ev = Json(r);
  ASSERT_EQ(ev.size(), 3u) << r;
  EXPECT_EQ(ev[1]["user"], "carol@pve");
  EXPECT_EQ(ev[2]["user"], "bob@pam");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(Pveam({"access", "verify"}).code, 0);
}

TEST_F(PveumTest, QuarterlyWithoutStoreNotesItAndDoesNotCreateOne) {
  std::string dir = work_ + "/review";
  RunResult r = Sh("pveum audit quarterly --quarter 2026Q4 --output " + dir, PveEnv());
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.err, "no event store")) << r;
  EXPECT_TRUE(Contains(r.err, "not recorded")) << r;
  EXPECT_TRUE(
      Contains(ReadFile(dir + "/access-review-2026Q4-findings.csv"), "users.no-login-data"));
  EXPECT_FALSE(std::filesystem::exists(DbPath()));
}

}  // namespace
}  // namespace e2e

// Tests of the access-control reports on a fixture config dir
// (tests/data/report/pve) and a store built here from hand-made events.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "core/time_spec.h"
#include "pve/permissions.h"
#include "report/model.h"
#include "report/quarterly.h"
#include "report/render.h"
#include "report/reports.h"

namespace pveaudit::report {
namespace {

const std::string kPveDir = std::string(PVEAUDIT_TESTDATA) + "/report/pve";

int64_t T(const char* rfc3339) {
  auto r = ParseTimeSpec(rfc3339, 0);
  EXPECT_TRUE(r.ok()) << rfc3339;
  return r.ok() ? r->us : 0;
}

Event Ev(const char* time, const std::string& user, const std::string& ip,
         const std::string& action, Outcome result, const std::string& node = "pve1") {
  Event e;
  e.time_us = T(time);
  e.user = user;
  e.ip = ip;
  e.action = action;
  e.result = result;
  e.node = node;
  e.source = "json";
  e.resource = action == "login" ? "/access/users/" + user : "/vms/100";
  return e;
}

constexpr Outcome kOk = Outcome::kSuccess;
constexpr Outcome kFail = Outcome::kFailure;

class ReportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { SetClusterTimeZone("UTC"); }

  void SetUp() override {
    char tmpl[] = "/tmp/pveaudit-report-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto cfg = pve::LoadPveConfig(kPveDir);
    ASSERT_TRUE(cfg.ok()) << cfg.status().message();
    cfg_ = std::move(*cfg);
    opt_.now_us = T("2026-12-15T12:00:00Z");
    Quarter q;
    ASSERT_TRUE(ParseQuarter("2026Q4", &q));
    opt_.period_start_us = q.start_us;
    opt_.period_end_us = std::min(q.end_us, opt_.now_us);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // The standard event set (times UTC; now = 2026-12-15T12:00:00Z).
  std::vector<Event> StandardEvents() {
    return {
        // grace: last login 136 days before now -> inactive.
        Ev("2026-08-01T09:00:00Z", "grace@pve", "203.0.113.5", "login", kOk),
        // alice: a failure outside the 30-day window, one inside, an open session.
        Ev("2026-10-01T08:00:00Z", "alice@pve", "192.0.2.10", "login", kFail),
        Ev("2026-11-20T10:00:00Z", "erin@corp", "198.51.100.1", "login", kOk),
        Ev("2026-11-20T10:20:00Z", "erin@corp", "198.51.100.2", "login", kOk, "pve2"),
        Ev("2026-11-20T10:40:00Z", "erin@corp", "198.51.100.3", "vm:start", kOk, "pve3"),
        Ev("2026-12-01T07:00:00Z", "alice@pve", "192.0.2.10", "login", kFail),
        // bob: three failures, then a login whose auth line has no address;
        // his next request carries it. Two addresses within an hour: not shared.
        Ev("2026-12-10T07:50:00Z", "bob@pve", "198.51.100.7", "login", kFail),
        Ev("2026-12-10T07:51:00Z", "bob@pve", "198.51.100.7", "login", kFail),
        Ev("2026-12-10T07:52:00Z", "bob@pve", "198.51.100.7", "login", kFail),
        Ev("2026-12-10T08:00:00Z", "bob@pve", "", "login", kOk),
        Ev("2026-12-10T08:00:30Z", "bob@pve", "198.51.100.7", "vm:start", kOk),
        Ev("2026-12-10T08:10:00Z", "bob@pve", "198.51.100.8", "vm:stop", kOk),
        Ev("2026-12-15T11:00:00Z", "alice@pve", "192.0.2.10", "login", kOk),
    };
  }

  void BuildStore(std::vector<Event> events) {
    auto s = OpenSqliteStore(dir_ + "/data", {});
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
    ASSERT_TRUE(store_->Append(&events, {}, nullptr).ok());
  }

  StoreFacts Facts() {
    auto f = CollectStoreFacts(store_.get(), opt_, "no event store at X: last login unknown");
    EXPECT_TRUE(f.ok()) << f.status().message();
    return f.ok() ? *f : StoreFacts{};
  }

  std::string dir_;
  pve::PveConfig cfg_;
  ReportOptions opt_;
  std::unique_ptr<EventStore> store_;
};

// CSV data lines of a report, by first cell.
std::map<std::string, std::string> CsvLines(const std::string& csv) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < csv.size()) {
    size_t end = csv.find("\r\n", pos);
    if (end == std::string::npos) end = csv.size();
    std::string line = csv.substr(pos, end - pos);
    out[line.substr(0, line.find(','))] = line;
    pos = end + 2;
  }
  return out;
}

std::set<std::pair<std::string, std::string>> RuleSubjects(const std::vector<Finding>& f) {
  std::set<std::pair<std::string, std::string>> out;
  for (const Finding& x : f) out.insert({x.rule, x.subject});
  return out;
}

TEST_F(ReportTest, UserReportExactRows) {
  BuildStore(StandardEvents());
  StoreFacts facts = Facts();
  Report r = BuildUserReport(cfg_, facts, opt_, false);
  auto lines = CsvLines(RenderReport(r, ReportFormat::kCsv));
  EXPECT_EQ(lines["userid"],
            "userid,realm,enabled,expire,groups,last_login,last_login_ip,failed_logins_30d,"
            "active_sessions,permissions,tfa,tokens");
  EXPECT_EQ(lines["alice@pve"],
            "alice@pve,pve,1,,admins,2026-12-15T11:00:00Z,192.0.2.10,1,1,/: Administrator,none,"
            "alice@pve!ci privsep=0 expire=never");
  // The auth line has no address: the next request's address is used.
  EXPECT_EQ(lines["bob@pve"],
            "bob@pve,pve,1,,ops,2026-12-10T08:00:00Z,198.51.100.7,3,0,"
            "/storage/gone: PVEDatastoreUser; /vms: PVEVMUser; /vms/100: PVEVMAdmin (this path "
            "only),totp,bob@pve!backup privsep=1 expire=never; bob@pve!old privsep=1 "
            "expire=2023-11-14 (expired)");
  EXPECT_EQ(lines["carol@pve"], "carol@pve,pve,1,2026-01-01 (expired),,never,,0,0,,none,");
  EXPECT_EQ(lines["dave@pve"],
            "dave@pve,pve,0,,ops,never,,0,0,/storage/gone: PVEDatastoreUser; /vms: PVEVMUser,"
            "none,");
  EXPECT_EQ(lines["erin@corp"],
            "erin@corp,corp,1,,,2026-11-20T10:20:00Z,198.51.100.2,0,0,/vms/101: NoAccess,"
            "realm oath (enforced),");
  EXPECT_EQ(lines["frank@pve"], "frank@pve,pve,1,,,never,,0,0,,none,");
  // Pool roles land on the pool's members, without propagation.
  EXPECT_EQ(lines["grace@pve"],
            "grace@pve,pve,1,,ops,2026-08-01T09:00:00Z,203.0.113.5,0,0,\"/pool/prod: "
            "PVEPoolUser, VMPowerAdmin; /storage/gone: PVEDatastoreUser; /storage/local: "
            "PVEPoolUser (this path only), VMPowerAdmin (this path only); /vms: PVEVMUser; "
            "/vms/100: PVEPoolUser (this path only), PVEVMUser, VMPowerAdmin (this path only); "
            "/vms/101: PVEPoolUser (this path only), PVEVMUser, VMPowerAdmin (this path "
            "only)\",none,");
  EXPECT_EQ(lines["root@pam"], "root@pam,pam,1,,,never,,0,0,/: Administrator,none,");
  EXPECT_EQ(lines.size(), 10u);  // header + 9 users
  EXPECT_TRUE(r.notes.size() == cfg_.warnings.size());
}

TEST_F(ReportTest, UserReportWithoutStoreSaysSo) {
  auto facts = CollectStoreFacts(nullptr, opt_, "no event store at /x: last login unknown");
  ASSERT_TRUE(facts.ok());
  EXPECT_FALSE(facts->available);
  Report r = BuildUserReport(cfg_, *facts, opt_, false);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_EQ(r.notes[0], "no event store at /x: last login unknown");
  auto lines = CsvLines(RenderReport(r, ReportFormat::kCsv));
  EXPECT_EQ(lines["frank@pve"], "frank@pve,pve,1,,,,,,,,none,");
  std::string json = RenderReport(r, ReportFormat::kJson);
  EXPECT_NE(json.find("\"last_login\":null"), std::string::npos);
  EXPECT_NE(json.find("\"notes\":[\"no event store at /x: last login unknown\""),
            std::string::npos);
  EXPECT_NE(RenderReport(r, ReportFormat::kText).find("note: no event store"), std::string::npos);
}

TEST_F(ReportTest, AclReportSections) {
  Report r = BuildAclReport(cfg_, opt_);
  ASSERT_EQ(r.sections.size(), 5u);
  EXPECT_EQ(r.sections[0].name, "acl");
  EXPECT_EQ(r.sections[3].name, "coverage");
  std::string csv = RenderReport(r, ReportFormat::kCsv);
  EXPECT_EQ(csv.substr(0, csv.find("\r\n")),
            "section,path,propagate,type,principal,role,privileges,status,line,group,members,"
            "comment,builtin,roles,inherited_below,file,message");
  auto has = [&](const std::string& line) {
    return csv.find("\r\n" + line + "\r\n") != std::string::npos;
  };
  EXPECT_TRUE(
      has("acl,/vms/999,1,group,ops,PVEVMUser,\"VM.Audit,VM.Backup,VM.Config.CDROM,"
          "VM.Config.Cloudinit,VM.Console,VM.GuestAgent.Audit,VM.GuestAgent.FileRead,"
          "VM.GuestAgent.FileSystemMgmt,VM.GuestAgent.FileWrite,VM.PowerMgmt\","
          "orphaned: guest 999 does not exist (no qemu-server or lxc config),22,,,,,,,,"));
  EXPECT_TRUE(
      has("acl,/nodes,1,group,nogroup,Auditor2,\"Sys.Audit,VM.Audit\",orphaned: group "
          "'nogroup' does not exist,27,,,,,,,,"));
  EXPECT_TRUE(has("acl,/vms/101,1,user,erin@corp,NoAccess,,ok,30,,,,,,,,"));
  EXPECT_TRUE(has("groups,,,,,,,,,ops,\"bob@pve,dave@pve,grace@pve\",Operations,,,,,"));
  EXPECT_TRUE(has("roles,,,,,VMPowerAdmin,\"VM.Console,VM.PowerMgmt\",,,,,,0,,,,"));
  // A privilege-separated token: its roles, intersected with bob's (none there).
  EXPECT_TRUE(
      has("coverage,/storage/"
          "local,,token,bob@pve!backup,,,,,,,,,PVEDatastoreAdmin,PVEDatastoreAdmin,,"));
  EXPECT_TRUE(
      has("coverage,/vms/100,,user,bob@pve,,\"VM.Allocate,VM.Audit,VM.Backup,VM.Clone,"
          "VM.Config.CDROM,VM.Config.CPU,VM.Config.Cloudinit,VM.Config.Disk,"
          "VM.Config.HWType,VM.Config.Memory,VM.Config.Network,VM.Config.Options,"
          "VM.Console,VM.GuestAgent.Audit,VM.GuestAgent.FileRead,"
          "VM.GuestAgent.FileSystemMgmt,VM.GuestAgent.FileWrite,"
          "VM.GuestAgent.Unrestricted,VM.Migrate,VM.PowerMgmt,VM.Replicate,VM.Snapshot,"
          "VM.Snapshot.Rollback\",,,,,,,PVEVMAdmin,PVEVMUser,,"));
  EXPECT_TRUE(has("coverage,/vms/101,,user,erin@corp,,,,,,,,,NoAccess,NoAccess,,"));
  EXPECT_TRUE(
      has("coverage,/vms,,user,dave@pve,,\"VM.Audit,VM.Backup,VM.Config.CDROM,"
          "VM.Config.Cloudinit,VM.Console,VM.GuestAgent.Audit,VM.GuestAgent.FileRead,"
          "VM.GuestAgent.FileSystemMgmt,VM.GuestAgent.FileWrite,VM.PowerMgmt\","
          "user disabled,,,,,,PVEVMUser,PVEVMUser,,"));
  // Principals with the same cells on a path share a row; dave's differs
  // only in its status (above) and keeps a row of its own.
  EXPECT_TRUE(
      has("coverage,/vms,,user,\"bob@pve,grace@pve\",,\"VM.Audit,VM.Backup,VM.Config.CDROM,"
          "VM.Config.Cloudinit,VM.Console,VM.GuestAgent.Audit,VM.GuestAgent.FileRead,"
          "VM.GuestAgent.FileSystemMgmt,VM.GuestAgent.FileWrite,VM.PowerMgmt\","
          ",,,,,,PVEVMUser,PVEVMUser,,"));
  EXPECT_EQ(csv.find(",bob@pve,,\"VM.Audit,VM.Backup,VM.Config.CDROM"), std::string::npos);
  // frank has no roles anywhere: no coverage rows.
  EXPECT_EQ(csv.find(",frank@pve,"), std::string::npos);
  // JSON: one array per section.
  std::string json = RenderReport(r, ReportFormat::kJson);
  for (const char* key : {"\"acl\":[", "\"groups\":[", "\"roles\":[", "\"coverage\":[",
                          "\"warnings\":[", "\"notes\":["})
    EXPECT_NE(json.find(key), std::string::npos) << key;
}

TEST_F(ReportTest, QuarterlyChecksRaiseAndDoNotRaise) {
  BuildStore(StandardEvents());
  StoreFacts facts = Facts();
  auto findings = RunQuarterlyChecks(cfg_, facts, opt_);
  auto got = RuleSubjects(findings);
  auto raised = [&](const std::string& rule, const std::string& subject) {
    return got.count({rule, subject}) == 1;
  };
  // 1. User list verification.
  EXPECT_TRUE(raised("users.never-logged-in", "frank@pve"));
  EXPECT_FALSE(raised("users.never-logged-in", "alice@pve"));
  EXPECT_FALSE(raised("users.never-logged-in", "henry@pve"));  // disabled
  EXPECT_TRUE(raised("users.inactive", "grace@pve"));
  EXPECT_FALSE(raised("users.inactive", "bob@pve"));
  EXPECT_TRUE(raised("users.shared-account", "erin@corp"));  // 3 addresses in 40 minutes
  EXPECT_FALSE(raised("users.shared-account", "bob@pve"));   // 2 addresses
  // 2. Permission review.
  EXPECT_TRUE(raised("perm.admin-role", "group admins"));
  EXPECT_FALSE(raised("perm.admin-role", "group ops"));
  EXPECT_TRUE(raised("perm.root-propagate", "group admins"));
  EXPECT_FALSE(raised("perm.root-propagate", "group ops"));
  EXPECT_TRUE(raised("perm.direct-user-acl", "user bob@pve"));
  EXPECT_FALSE(raised("perm.direct-user-acl", "user ghost@pve"));  // orphaned: check 5
  EXPECT_TRUE(raised("perm.token-no-privsep", "token alice@pve!ci"));
  EXPECT_FALSE(raised("perm.token-no-privsep", "token bob@pve!backup"));
  // 3. 2FA: bob has TOTP, erin's realm enforces OATH, grace's only factor is disabled.
  EXPECT_TRUE(raised("tfa.missing", "alice@pve"));
  EXPECT_TRUE(raised("tfa.missing", "grace@pve"));
  EXPECT_FALSE(raised("tfa.missing", "bob@pve"));
  EXPECT_FALSE(raised("tfa.missing", "erin@corp"));
  EXPECT_FALSE(raised("tfa.missing", "henry@pve"));  // disabled: cannot log in
  for (const Finding& f : findings) {
    if (f.rule == "tfa.missing" && f.subject == "alice@pve") {
      EXPECT_EQ(f.severity, Severity::kHigh);
    }
    if (f.rule == "tfa.missing" && f.subject == "frank@pve") {
      EXPECT_EQ(f.severity, Severity::kMedium);
    }
  }
  // 4. Expired accounts.
  EXPECT_TRUE(raised("expired.user-enabled", "carol@pve"));
  EXPECT_FALSE(raised("expired.user-enabled", "alice@pve"));
  EXPECT_TRUE(raised("expired.inactive-user-holds-acls", "dave@pve"));    // via group ops
  EXPECT_FALSE(raised("expired.inactive-user-holds-acls", "henry@pve"));  // holds nothing
  EXPECT_TRUE(raised("expired.token", "token bob@pve!old"));
  EXPECT_FALSE(raised("expired.token", "token bob@pve!backup"));
  // 5. Orphaned permissions.
  EXPECT_TRUE(raised("orphan.user", "acl:1:/vms/101:ghost@pve:PVEVMUser (user.cfg line 26)"));
  EXPECT_TRUE(raised("orphan.group", "acl:1:/nodes:@nogroup:Auditor2 (user.cfg line 27)"));
  EXPECT_TRUE(raised("orphan.guest", "acl:1:/vms/999:@ops:PVEVMUser (user.cfg line 22)"));
  EXPECT_FALSE(raised("orphan.guest", "acl:1:/vms:@ops:PVEVMUser (user.cfg line 20)"));
  EXPECT_TRUE(
      raised("orphan.storage", "acl:1:/storage/gone:@ops:PVEDatastoreUser (user.cfg line 23)"));
  EXPECT_FALSE(raised("orphan.storage",
                      "acl:1:/storage/local:bob@pve!backup:PVEDatastoreAdmin (user.cfg line 24)"));
  size_t ignored = 0;
  for (const Finding& f : findings)
    if (f.rule == "orphan.ignored-acl-line") {
      ++ignored;
      EXPECT_TRUE(f.evidence.find("NoSuchRole") != std::string::npos ||
                  f.evidence.find("alice@pve!gone") != std::string::npos)
          << f.evidence;
    }
  EXPECT_EQ(ignored, 2u);
  // Ordered by check, then severity.
  for (size_t i = 1; i < findings.size(); ++i) {
    EXPECT_LE(findings[i - 1].check, findings[i].check);
    if (findings[i - 1].check == findings[i].check) {
      EXPECT_LE(int(findings[i - 1].severity), int(findings[i].severity));
    }
  }
}

TEST_F(ReportTest, SharedAccountThresholdAndTrustedAddresses) {
  BuildStore(StandardEvents());
  opt_.shared_ips = 4;
  EXPECT_EQ(RuleSubjects(RunQuarterlyChecks(cfg_, Facts(), opt_))
                .count({"users.shared-account", "erin@corp"}),
            0u);
  opt_.shared_ips = 3;
  opt_.shared_window_us = 30LL * 60 * 1000000;  // 10:00 and 10:40 no longer in one window
  EXPECT_EQ(RuleSubjects(RunQuarterlyChecks(cfg_, Facts(), opt_))
                .count({"users.shared-account", "erin@corp"}),
            0u);
  opt_.shared_window_us = 3600LL * 1000000;
  opt_.trusted_ips = {"198.51.100.3/32"};  // e.g. a cluster node that proxies
  EXPECT_EQ(RuleSubjects(RunQuarterlyChecks(cfg_, Facts(), opt_))
                .count({"users.shared-account", "erin@corp"}),
            0u);
}

TEST_F(ReportTest, NoStoreIsAFindingNotSilence) {
  auto facts = CollectStoreFacts(nullptr, opt_, "no event store at /x: last login unknown");
  ASSERT_TRUE(facts.ok());
  auto got = RuleSubjects(RunQuarterlyChecks(cfg_, *facts, opt_));
  EXPECT_EQ(got.count({"users.no-login-data", "event store"}), 1u);
  EXPECT_EQ(got.count({"users.never-logged-in", "frank@pve"}), 0u);
}

TEST_F(ReportTest, QuarterlyHtmlIsSelfContainedAndEscaped) {
  BuildStore(StandardEvents());
  StoreFacts facts = Facts();
  auto findings = RunQuarterlyChecks(cfg_, facts, opt_);
  Quarter q;
  ASSERT_TRUE(ParseQuarter("2026Q4", &q));
  ReviewMeta meta{q, "auditor@pam", "<dir>", dir_ + "/data"};
  std::string html = QuarterlyHtml(meta, cfg_, facts, opt_, findings);
  EXPECT_EQ(html, QuarterlyHtml(meta, cfg_, facts, opt_, findings));  // deterministic
  EXPECT_NE(html.find("<title>Quarterly access review 2026Q4</title>"), std::string::npos);
  EXPECT_NE(html.find("&lt;dir&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<dir>"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("@media print"), std::string::npos);
  for (int c = 1; c <= 5; ++c) EXPECT_NE(html.find(CheckName(c)), std::string::npos);
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(QuarterTest, Parse) {
  SetClusterTimeZone("UTC");
  Quarter q;
  ASSERT_TRUE(ParseQuarter("2026Q4", &q));
  EXPECT_EQ(q.Name(), "2026Q4");
  EXPECT_EQ(FormatRfc3339Utc(q.start_us), "2026-10-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339Utc(q.end_us), "2027-01-01T00:00:00Z");
  ASSERT_TRUE(ParseQuarter("2025-q1", &q));
  EXPECT_EQ(FormatRfc3339Utc(q.end_us), "2025-04-01T00:00:00Z");
  for (const char* bad : {"2026Q5", "2026Q0", "26Q4", "2026", "Q4", "2026Q4x", ""})
    EXPECT_FALSE(ParseQuarter(bad, &q)) << bad;
  EXPECT_EQ(QuarterOf(T("2026-05-17T10:00:00Z")).Name(), "2026Q2");
}

// What a writer function puts into a FILE*.
template <typename F>
std::string Captured(F write) {
  std::FILE* f = std::tmpfile();
  EXPECT_NE(f, nullptr);
  if (!f) return {};
  EXPECT_TRUE(write(f));
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  std::fclose(f);
  return out;
}

constexpr ReportFormat kStreamed[] = {ReportFormat::kCsv, ReportFormat::kJson,
                                      ReportFormat::kJsonPretty};

// The streamed reports are byte for byte what the rendered Report gives.
TEST_F(ReportTest, StreamedReportsEqualRendered) {
  BuildStore(StandardEvents());
  StoreFacts facts = Facts();
  auto no_store = CollectStoreFacts(nullptr, opt_, "no event store at /x: last login unknown");
  ASSERT_TRUE(no_store.ok());
  for (ReportFormat f : {ReportFormat::kCsv, ReportFormat::kJson, ReportFormat::kJsonPretty,
                         ReportFormat::kText, ReportFormat::kHtml, ReportFormat::kYaml}) {
    AclReportCounts counts;
    EXPECT_EQ(Captured([&](std::FILE* out) { return WriteAclReport(cfg_, opt_, f, out, &counts); }),
              RenderReport(BuildAclReport(cfg_, opt_), f))
        << int(f);
    Report acl = BuildAclReport(cfg_, opt_);
    EXPECT_EQ(counts.entries, acl.sections[0].table.rows.size());
    EXPECT_EQ(counts.coverage, acl.sections[3].table.rows.size());
    EXPECT_GE(counts.coverage_pairs, counts.coverage);
    EXPECT_GT(counts.orphaned, 0u);
    for (const StoreFacts* sf : {&facts, &*no_store}) {
      bool local = f == ReportFormat::kText || f == ReportFormat::kHtml;
      EXPECT_EQ(Captured([&](std::FILE* out) { return WriteUserReport(cfg_, *sf, opt_, f, out); }),
                RenderReport(BuildUserReport(cfg_, *sf, opt_, local), f))
          << int(f);
    }
  }
}

// ReportWriter against RenderReport on awkward cells (quotes, formulas,
// control characters, invalid UTF-8, nulls, short rows), empty sections and
// enough rows (> 4 MB) to go through the background writer.
TEST(RenderTest, WriterEqualsRenderReport) {
  Report r;
  r.title = "t";
  Section a{"a", "A", {}};
  a.table.columns = {"x", "y", "z"};
  const std::vector<Cell> odd = {Cell(std::string("=1+1")),
                                 Cell(std::string("a,\"b\"\r\n")),
                                 Cell(int64_t(-5)),
                                 Cell(std::string("caf\xc3\xa9 \x01\x1f\x7f tab\t")),
                                 Cell(std::string("bad \xff\xc3 utf8")),
                                 Cell(),
                                 Cell(std::string(" lead")),
                                 Cell(std::string("back\\slash")),
                                 Cell(std::string(""))};
  for (size_t i = 0; i < odd.size(); ++i)
    a.table.rows.push_back({odd[i], odd[(i + 1) % odd.size()], odd[(i + 2) % odd.size()]});
  a.table.rows.push_back({std::string("short")});
  Section empty{"empty", "E", {}};
  empty.table.columns = {"y", "w"};
  Section big{"big", "B", {}};
  big.table.columns = {"w", "x", "n"};
  for (int64_t i = 0; i < 60000; ++i)
    big.table.rows.push_back({std::string(60, char('a' + i % 26)), "/vms/" + std::to_string(i), i});
  for (int sections = 1; sections <= 3; ++sections) {
    Report rr = r;
    rr.sections = {a, empty, big};
    rr.sections.resize(size_t(sections));
    for (const auto& notes : {std::vector<std::string>{}, std::vector<std::string>{"n\"1", "n2"}}) {
      rr.notes = notes;
      for (ReportFormat f : kStreamed) {
        std::string got = Captured([&](std::FILE* out) {
          ReportWriter w(f, out, rr.sections);
          for (size_t i = 0; i < rr.sections.size(); ++i) w.WriteSection(i, rr.sections[i].table);
          return w.Finish(rr.notes);
        });
        EXPECT_EQ(got, RenderReport(rr, f)) << sections << " sections, format " << int(f);
      }
    }
  }
}

TEST(RenderTest, CsvIsNeutralisedAndHtmlEscaped) {
  Report r;
  Section s{"users", "Users", {}};
  s.table.columns = {"userid", "comment"};
  s.table.rows.push_back({std::string("=cmd|' /C calc'!A0"), std::string("a,\"b\"")});
  r.sections.push_back(s);
  std::string csv = RenderReport(r, ReportFormat::kCsv);
  EXPECT_EQ(csv, "userid,comment\r\n'=cmd|' /C calc'!A0,\"a,\"\"b\"\"\"\r\n");
  EXPECT_EQ(HtmlEscape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  EXPECT_EQ(DefaultReportFormat("/tmp/x.csv"), ReportFormat::kCsv);
  EXPECT_EQ(DefaultReportFormat("/tmp/x.JSON"), ReportFormat::kJsonPretty);
  EXPECT_EQ(DefaultReportFormat("/tmp/x.html"), ReportFormat::kHtml);
  EXPECT_EQ(DefaultReportFormat("/tmp/report"), ReportFormat::kCsv);
  EXPECT_EQ(DefaultReportFormat(""), ReportFormat::kText);
}

TEST(PathTest, ParentsFirst) {
  std::vector<std::string> v = {"/vms/1", "/vms-x", "/", "/vms", "/storage"};
  std::sort(v.begin(), v.end(), PathLess);
  EXPECT_EQ(v, (std::vector<std::string>{"/", "/storage", "/vms", "/vms/1", "/vms-x"}));
}

std::string Keys(const std::map<std::string, bool>& m) {
  std::string out;
  for (const auto& [k, v] : m) out += (out.empty() ? "" : ",") + k;
  return out;
}

// The coverage section lists every (principal, decided path) pair exactly
// once, in a row whose principal cell names it among others with the same
// cells: roles, privileges and inherited_below as pve::EffectiveRoles and
// pve::EffectivePrivileges give them. Rows of one path never share all of
// type, roles, privileges, inherited_below and status (they would be one).
void ExpectCoverageMatchesPve(const pve::PveConfig& cfg) {
  Report r = BuildAclReport(cfg, ReportOptions());
  ASSERT_EQ(r.sections[3].name, "coverage");
  struct Cells {
    std::string roles, privs, below;
  };
  std::map<std::pair<std::string, std::string>, Cells> pairs;  // (principal, path)
  std::set<std::vector<std::string>> combos;                   // per path
  for (const auto& row : r.sections[3].table.rows) {
    ASSERT_EQ(row.size(), 7u);
    auto text = [&](size_t i) { return std::get<std::string>(row[i]); };
    ASSERT_TRUE(combos.insert({text(0), text(1), text(3), text(4), text(5), text(6)}).second)
        << "two rows for one combination on " << text(0);
    std::string list = text(2);
    ASSERT_FALSE(list.empty());
    for (size_t b = 0; b <= list.size();) {
      size_t e = std::min(list.find(',', b), list.size());
      std::string who = list.substr(b, e - b);
      EXPECT_EQ(text(1), cfg.access.tokens.count(who) ? "token" : "user") << who;
      ASSERT_TRUE(
          pairs.emplace(std::make_pair(who, text(0)), Cells{text(3), text(4), text(5)}).second)
          << who << " twice on " << text(0);
      b = e + 1;
    }
  }
  AclIndex acl(cfg);
  std::vector<std::string> principals;
  for (const auto& [id, u] : cfg.access.users) principals.push_back(id);
  for (const auto& [id, t] : cfg.access.tokens) principals.push_back(id);
  size_t expected = 0;
  for (const std::string& p : principals)
    for (const AclIndex::Decided& d : acl.DecidedRoles(p)) {
      if (d.roles.empty() && d.below.empty()) continue;
      ++expected;
      const std::string& path = acl.paths()[size_t(d.path)];
      auto it = pairs.find({p, path});
      ASSERT_NE(it, pairs.end()) << p << " has no coverage row on " << path;
      EXPECT_EQ(it->second.roles, Keys(pve::EffectiveRoles(cfg, p, path))) << p << " " << path;
      EXPECT_EQ(it->second.privs, Keys(pve::EffectivePrivileges(cfg, p, path))) << p << " " << path;
      std::string child = path == "/" ? "/zz-child" : path + "/zz-child";
      EXPECT_EQ(it->second.below, Keys(pve::EffectiveRoles(cfg, p, child))) << p << " " << child;
    }
  EXPECT_EQ(pairs.size(), expected);

  // Every path where `pveum user permissions USER` shows privileges is
  // answered by the coverage section: by a row of its own or by the
  // inherited_below of the user's nearest row above it.
  for (const auto& [user, u] : cfg.access.users) {
    for (const auto& [path, privs] : pve::PermissionTree(cfg, user)) {
      std::string at = path;
      std::set<std::string> got;
      for (;;) {
        if (auto it = pairs.find({user, at}); it != pairs.end()) {
          if (at == path) {
            got.clear();
            std::string list = it->second.privs;
            for (size_t b = 0; b < list.size();) {
              size_t e = std::min(list.find(',', b), list.size());
              got.insert(list.substr(b, e - b));
              b = e + 1;
            }
          } else {
            std::map<std::string, bool> roles;
            std::string list = it->second.below;
            for (size_t b = 0; b < list.size();) {
              size_t e = std::min(list.find(',', b), list.size());
              roles.emplace(list.substr(b, e - b), true);
              b = e + 1;
            }
            got = PrivilegesOfRoles(cfg, roles);
          }
          break;
        }
        if (at == "/") break;
        size_t slash = at.rfind('/');
        at = slash == 0 ? "/" : at.substr(0, slash);
      }
      std::set<std::string> want;
      for (const auto& [priv, prop] : privs) want.insert(priv);
      EXPECT_EQ(got, want) << user << " on " << path << " (answered by the row on " << at << ")";
    }
  }
}

// The report's evaluator must agree with pve::EffectiveRoles and
// pve::EffectivePrivileges for every principal on every path.
void ExpectSameAsPve(const pve::PveConfig& cfg, const std::vector<std::string>& extra_paths) {
  PermissionIndex idx(cfg);
  AclIndex acl(cfg);
  std::vector<std::string> principals = {"nobody@pve"};
  for (const auto& [id, u] : cfg.access.users) principals.push_back(id);
  for (const auto& [id, t] : cfg.access.tokens) principals.push_back(id);
  std::set<std::string> paths(extra_paths.begin(), extra_paths.end());
  for (const auto& [p, privs] : pve::PermissionTree(cfg, "root@pam")) paths.insert(p);
  for (const pve::Acl& a : cfg.access.acls) paths.insert(a.path);
  for (const std::string& p : principals) {
    for (const std::string& path : paths) {
      ASSERT_EQ(idx.EffectiveRoles(p, path), pve::EffectiveRoles(cfg, p, path)) << p << " " << path;
      ASSERT_EQ(idx.EffectivePrivileges(p, path), pve::EffectivePrivileges(cfg, p, path))
          << p << " " << path;
    }
    for (const AclIndex::Decided& d : acl.DecidedRoles(p)) {
      const std::string& path = acl.paths()[size_t(d.path)];
      ASSERT_EQ(d.roles, pve::EffectiveRoles(cfg, p, path)) << p << " " << path;
      std::string child = path == "/" ? "/zz-child" : path + "/zz-child";
      ASSERT_EQ(d.below, pve::EffectiveRoles(cfg, p, child)) << p << " " << child;
    }
    auto all = acl.RolesOnAllPaths(p);
    for (size_t i = 0; i < acl.paths().size(); ++i)
      ASSERT_EQ(all[i], pve::EffectiveRoles(cfg, p, acl.paths()[i])) << p << " " << acl.paths()[i];
  }
  ExpectCoverageMatchesPve(cfg);
}

TEST_F(ReportTest, EvaluatorMatchesPveOnFixture) {
  ExpectSameAsPve(cfg_, {"/vms/100/x", "/vms/102", "/storage/local-lvm", "/access/groups"});
}

TEST(EvaluatorTest, MatchesPveOnGeneratedConfigs) {
  std::mt19937 rng(20261126);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  const std::vector<std::string> users = {"u1@pve", "u2@pve", "u3@pam", "u4@corp", "u5@pve"};
  const std::vector<std::string> groups = {"g1", "g2", "g3"};
  const std::vector<std::string> tokens = {"u1@pve!t1", "u2@pve!t2", "u3@pam!t3"};
  const std::vector<std::string> roles = {"NoAccess",    "PVEVMUser", "PVEVMAdmin",   "PVEAuditor",
                                          "PVEPoolUser", "Custom",    "Administrator"};
  const std::vector<std::string> paths = {
      "/",        "/vms",         "/vms/100", "/vms/101",  "/storage",      "/storage/local",
      "/pool/p1", "/pool/p1/sub", "/pool/p2", "/nodes/n1", "/vms/100/snap", "/access"};
  for (int round = 0; round < 60; ++round) {
    std::string text;
    for (const auto& u : users) text += "user:" + u + ":1:0::::::\n";
    for (const auto& t : tokens) text += "token:" + t + ":0:" + std::to_string(rng() % 2) + "::\n";
    for (const auto& g : groups) {
      text += "group:" + g + ":";
      for (const auto& u : users)
        if (rng() % 2) text += u + ",";
      text += "::\n";
    }
    text += "role:Custom:VM.Audit,Sys.Audit,Datastore.Audit:\n";
    // p1/sub is nested (it inherits /pool/p1's ACLs); 102 and nfs are pool
    // members that no ACL names.
    text += "pool:p1::100:local:\npool:p2::101::\npool:p1/sub::102:nfs:\n";
    int n = 3 + int(rng() % 12);
    for (int i = 0; i < n; ++i) {
      int kind = int(rng() % 3);
      std::string who = kind == 0 ? pick(users) : kind == 1 ? "@" + pick(groups) : pick(tokens);
      text += "acl:" + std::to_string(rng() % 2) + ":" + pick(paths) + ":" + who + ":" +
              pick(roles) + ":\n";
    }
    pve::PveConfig cfg;
    cfg.access = pve::ParseUserCfg(text, "user.cfg");
    ExpectSameAsPve(cfg, paths);
    if (HasFatalFailure()) {
      ADD_FAILURE() << "config:\n" << text;
      return;
    }
  }
}

// Regression: with `acl:1:/pool/p:intern@pve:R:` and `pool:p::700::`,
// `pveum user permissions intern@pve` shows /vms/700: VM.Audit, but the ACL
// report's coverage had no /vms/700 row and the user report listed only
// "/pool/p: R" (pool member paths without an ACL of their own were not
// paths of the permission index).
TEST(PoolReportTest, MemberPathWithoutAclAppearsInBothReports) {
  pve::PveConfig cfg;
  cfg.access = pve::ParseUserCfg(
      "user:intern@pve:1:0::::::\n"
      "user:other@pve:1:0::::::\n"
      "role:R:VM.Audit:\n"
      "pool:p::700:local:\n"
      "acl:1:/pool/p:intern@pve:R:\n",
      "user.cfg");
  ASSERT_TRUE(cfg.warnings.empty()) << cfg.warnings[0].message;
  ASSERT_EQ(pve::PermissionTree(cfg, "intern@pve").count("/vms/700"), 1u);

  ReportOptions opt;
  Report acl = BuildAclReport(cfg, opt);
  const Table& cov = acl.sections[3].table;
  std::vector<std::string> rows;
  for (const auto& row : cov.rows) {
    std::string line;
    for (const Cell& c : row) line += (line.empty() ? "" : "|") + std::get<std::string>(c);
    rows.push_back(line);
  }
  EXPECT_THAT(
      rows,
      ::testing::ElementsAre(
          "/|user|root@pam|Administrator|" + Join(cfg.access.roles.at("Administrator").privs, ",") +
              "|Administrator|",
          "/pool/p|user|intern@pve|R|VM.Audit|R|", "/storage/local|user|intern@pve|R|VM.Audit||",
          "/vms/700|user|intern@pve|R|VM.Audit||"));
  // The streamed writer says the same.
  EXPECT_EQ(Captured([&](std::FILE* out) {
              return WriteAclReport(cfg, opt, ReportFormat::kCsv, out, nullptr);
            }),
            RenderReport(acl, ReportFormat::kCsv));

  StoreFacts facts;
  Report user = BuildUserReport(cfg, facts, opt, false);
  auto lines = CsvLines(RenderReport(user, ReportFormat::kCsv));
  EXPECT_EQ(lines["intern@pve"],
            "intern@pve,pve,1,,,,,,,/pool/p: R; /storage/local: R (this path only); /vms/700: R "
            "(this path only),none,");
  // A look-alike: the user without the pool ACL gets no member rows.
  EXPECT_EQ(lines["other@pve"], "other@pve,pve,1,,,,,,,,none,");
}

// Regression: a nested pool "a/b" inherits the ACLs of /pool/a (Proxmox's
// roles() walks /pool/a/b from the root), but the permission index looked
// only at "/", "/pool" and "/pool/a/b": the reports missed the roles that
// `pveum user permissions` shows on the nested pool's members.
TEST(PoolReportTest, NestedPoolInheritsParentPoolAcl) {
  pve::PveConfig cfg;
  cfg.access = pve::ParseUserCfg(
      "user:intern@pve:1:0::::::\n"
      "role:R:VM.Audit:\n"
      "pool:a::::\n"
      "pool:a/b::701::\n"
      "acl:1:/pool/a:intern@pve:R:\n",
      "user.cfg");
  ASSERT_TRUE(cfg.warnings.empty()) << cfg.warnings[0].message;
  ASSERT_EQ(pve::EffectivePrivileges(cfg, "intern@pve", "/vms/701").count("VM.Audit"), 1u);
  Report acl = BuildAclReport(cfg, ReportOptions());
  std::vector<std::string> rows;
  for (const auto& row : acl.sections[3].table.rows)
    if (std::get<std::string>(row[2]) == "intern@pve")
      rows.push_back(std::get<std::string>(row[0]) + "|" + std::get<std::string>(row[3]) + "|" +
                     std::get<std::string>(row[4]));
  EXPECT_THAT(rows, ::testing::ElementsAre("/pool/a|R|VM.Audit", "/vms/701|R|VM.Audit"));
  PermissionIndex idx(cfg);
  EXPECT_EQ(idx.EffectiveRoles("intern@pve", "/vms/701"), (RoleSet{{"R", false}}));
}

}  // namespace
}  // namespace pveaudit::report

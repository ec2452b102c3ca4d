// Tests of access certification (campaigns, decisions, the digest of a
// user's access), of its compliance checks (sox:certification, revoked but
// unchanged access) and of the compliance report's HTML and JSON, on a real
// SQLite store and real Proxmox config files.
#include "evidence/certification.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "core/time_spec.h"
#include "evidence/compliance_check.h"
#include "evidence/compliance_report.h"
#include "evidence/exceptions.h"
#include "evidence/requirements.h"
#include "query/store_fixture.h"

namespace pveaudit {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kDay = int64_t(86400) * 1000000;

// root@pam; alice: Administrator on / through group admins, a token
// without privilege separation; bob: PVEVMAdmin on /vms/100 only; carol:
// disabled; dave: expired; erin: no permission at all.
constexpr const char* kUserCfg =
    "user:root@pam:1:0::::::\n"
    "user:alice@pve:1:0:Alice:::::\n"
    "user:bob@pve:1:0:Bob:::::\n"
    "user:carol@pve:0:0:Carol:::::\n"
    "user:dave@pve:1:1700000000:Dave:::::\n"
    "user:erin@pve:1:0:Erin:::::\n"
    "token:alice@pve!ci:0:0::\n"
    "group:admins:alice@pve::\n"
    "acl:1:/:@admins:Administrator:\n"
    "acl:0:/vms/100:bob@pve:PVEVMAdmin:\n";

class CertificationTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    SetClusterTimeZone("UTC");
    now_ = CivilToUs(2026, 12, 1, 12, 0, 0);
    pve_dir_ = fs::temp_directory_path() /
               ("pveaudit-certification-" + std::to_string(std::random_device()()));
    fs::create_directories(pve_dir_);
    Config(kUserCfg);
    q4_ = Quarter("2026Q4");
  }
  void TearDown() override {
    fs::remove_all(pve_dir_);
    StoreFixture::TearDown();
  }
  // Writes user.cfg and reads the config again.
  void Config(const std::string& user_cfg) {
    std::ofstream(pve_dir_ / "user.cfg", std::ios::trunc) << user_cfg;
    auto cfg = pve::LoadPveConfig(pve_dir_.string());
    ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
    pve_ = std::make_unique<pve::PveConfig>(std::move(*cfg));
  }
  static report::Quarter Quarter(const std::string& name) {
    report::Quarter q;
    EXPECT_TRUE(report::ParseQuarter(name, &q)) << name;
    return q;
  }
  Result<Certification> Start(const report::Quarter& q, int64_t at) {
    return StartCertification(*store_, actor_, "pve1", *pve_, q, at);
  }
  Result<DecideResult> Decide(const std::string& period, const std::string& user,
                              const std::string& decision, int64_t at,
                              const std::string& by = "ciso@pve") {
    return DecideCertification(*store_, Actor{by, "", ""}, "pve1",
                               DecideOptions{period, user, decision, "", by}, at);
  }
  // Decides every open item of `period`: `revoke` for those listed, keep
  // for the others.
  void DecideAll(const std::string& period, const std::vector<std::string>& revoke, int64_t at) {
    auto c = LoadCertification(*store_, period);
    ASSERT_TRUE(c.ok() && *c);
    for (const CertItem& i : (*c)->items) {
      if (i.decision) continue;
      bool r = std::find(revoke.begin(), revoke.end(), i.userid) != revoke.end();
      ASSERT_TRUE(Decide(period, i.userid, r ? "revoke" : "keep", at).ok()) << i.userid;
    }
  }
  UserAccess Access(const std::string& userid) {
    report::AclIndex index(*pve_);
    return EffectiveAccess(*pve_, index, userid, now_);
  }
  CheckOutcome Outcome(const std::string& standard, const std::string& id, int64_t at = 0) {
    ComplianceInput in;
    in.pve = pve_.get();
    in.store = store_.get();
    auto ex = LoadExceptions(*store_);
    EXPECT_TRUE(ex.ok());
    in.exceptions = *ex;
    in.now_us = at ? at : now_;
    auto r = RunComplianceChecks(standard, in);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    for (const CheckOutcome& o : *r)
      if (o.requirement == id) return o;
    ADD_FAILURE() << id;
    return {};
  }
  static std::string All(const CheckOutcome& o) {
    std::string s;
    for (const std::string& e : o.evidence) s += e + "\n";
    return s;
  }
  size_t Events() { return Find().size(); }

  int64_t now_ = 0;
  report::Quarter q4_;
  fs::path pve_dir_;
  std::unique_ptr<pve::PveConfig> pve_;
  Actor actor_{"ciso@pve", "", ""};
};

TEST_F(CertificationTest, AccessDigestFollowsThePrivilegesNotHowTheyAreGranted) {
  const UserAccess a = Access("alice@pve");
  EXPECT_TRUE(a.active);
  EXPECT_EQ(a.permissions, "/: Administrator");
  EXPECT_EQ(a.groups, std::vector<std::string>{"admins"});
  EXPECT_EQ(a.tokens, std::vector<std::string>{"alice@pve!ci (no privilege separation)"});
  EXPECT_EQ(a.digest.size(), 64u);
  EXPECT_EQ(Access("bob@pve").permissions, "/vms/100: PVEVMAdmin (this path only)");
  EXPECT_EQ(Access("erin@pve").permissions, "");
  EXPECT_TRUE(Access("erin@pve").active);
  for (const char* gone : {"carol@pve", "dave@pve", "ghost@pve"}) {
    EXPECT_FALSE(Access(gone).active) << gone;
    EXPECT_EQ(Access(gone).digest, "") << gone;
  }

  auto with = [&](const std::string& acls) {
    Config(
        "user:alice@pve:1:0::::::\nuser:bob@pve:1:0::::::\ngroup:admins:alice@pve::\n"
        "role:MyVmAdmin:" +
        [] {
          std::string p;
          for (const std::string& s : pve::BuiltinRoles().at("PVEVMAdmin"))
            p += (p.empty() ? "" : ",") + s;
          return p;
        }() +
        ":\n" + acls);
    return std::make_pair(Access("alice@pve").digest, Access("bob@pve").digest);
  };
  const auto base = with("acl:1:/:@admins:Administrator:\nacl:0:/vms/100:bob@pve:PVEVMAdmin:\n");
  EXPECT_EQ(base.first, a.digest);
  // The same privileges granted otherwise: directly, redundantly, by a
  // custom role with the same privileges.
  EXPECT_EQ(with("acl:1:/:alice@pve:Administrator:\nacl:0:/vms/100:bob@pve:PVEVMAdmin:\n"), base);
  EXPECT_EQ(with("acl:1:/:@admins:Administrator:\nacl:1:/vms:@admins:Administrator:\n"
                 "acl:0:/vms/100:bob@pve:MyVmAdmin:\n"),
            base);
  // Any privilege more or less, anywhere, is another digest.
  EXPECT_NE(with("acl:1:/:@admins:PVEAdmin:\nacl:0:/vms/100:bob@pve:PVEVMAdmin:\n").first,
            base.first);
  EXPECT_NE(with("acl:1:/:@admins:Administrator:\nacl:1:/vms/100:bob@pve:PVEVMAdmin:\n").second,
            base.second);  // now it propagates
  EXPECT_NE(with("acl:1:/:@admins:Administrator:\nacl:0:/vms/101:bob@pve:PVEVMAdmin:\n").second,
            base.second);  // another guest
  EXPECT_NE(with("acl:1:/:@admins:Administrator:\nacl:0:/vms/100:bob@pve:PVEVMAdmin:\n"
                 "acl:1:/storage:@admins:NoAccess:\n")
                .first,
            base.first);
}

TEST_F(CertificationTest, StartListsEveryEnabledUserWithTheirAccessOnceAQuarter) {
  auto c = Start(q4_, now_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::vector<std::string> users;
  for (const CertItem& i : c->items) users.push_back(i.userid);
  // carol (disabled) and dave (expired) have no access to certify.
  EXPECT_EQ(users, (std::vector<std::string>{"alice@pve", "bob@pve", "erin@pve", "root@pam"}));
  EXPECT_EQ(c->started_by, "ciso@pve");
  EXPECT_EQ(c->started, "2026-12-01T12:00:00Z");

  auto loaded = LoadCertification(*store_, "2026Q4");
  ASSERT_TRUE(loaded.ok() && *loaded);
  ASSERT_EQ((*loaded)->items.size(), 4u);
  EXPECT_EQ((*loaded)->items[0].access.permissions, "/: Administrator");
  EXPECT_EQ((*loaded)->items[0].access.digest, Access("alice@pve").digest);
  EXPECT_EQ((*loaded)->items[3].access.permissions, "/: Administrator");  // root@pam
  EXPECT_FALSE((*loaded)->items[0].decision);
  const CertCounts n = CountDecisions(**loaded);
  EXPECT_EQ(n.items, 4u);
  EXPECT_EQ(n.open, 4u);
  EXPECT_FALSE(n.complete);

  std::vector<Event> ev = Find();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].action, "audit:certification-start");
  EXPECT_EQ(ev[0].user, "ciso@pve");
  EXPECT_EQ(ev[0].resource, "/pveaudit/certifications/2026Q4");
  EXPECT_NE(ev[0].detail.find("certification 2026Q4 started: 4 users to certify"),
            std::string::npos)
      << ev[0].detail;
  EXPECT_NE(ev[0].detail.find("\"userid\":\"bob@pve\""), std::string::npos) << ev[0].detail;

  // One per quarter: a second start is refused and records nothing.
  auto again = Start(q4_, now_ + kDay);
  EXPECT_EQ(again.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(again.status().message().find("'2026Q4'"), std::string::npos);
  EXPECT_NE(again.status().message().find("started on 2026-12-01T12:00:00Z by ciso@pve"),
            std::string::npos)
      << again.status().message();
  EXPECT_EQ(Events(), 1u);
  ASSERT_TRUE(Start(Quarter("2026Q3"), now_ - 80 * kDay).ok());
  EXPECT_EQ(*ListCertificationPeriods(*store_), (std::vector<std::string>{"2026Q3", "2026Q4"}));
  EXPECT_FALSE(*LoadCertification(*store_, "2026Q2"));
}

TEST_F(CertificationTest, DecisionsCompleteTheCampaignWithTheDigestOfWhatShowPrints) {
  ASSERT_TRUE(Start(q4_, now_).ok());
  auto r = Decide("2026Q4", "bob@pve", "revoke", now_ + 1000000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->item.decision->decision, "revoke");
  EXPECT_EQ(r->counts.decided, 1u);
  EXPECT_EQ(r->counts.revoked, 1u);
  EXPECT_EQ(r->completion_event_id, 0u);
  // Changed before the campaign completes: the event shows before and after.
  r = Decide("2026Q4", "bob@pve", "keep", now_ + 2000000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->counts.decided, 1u);
  EXPECT_EQ(r->counts.kept, 1u);
  std::vector<Event> ev = Find();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[1].action, "audit:certification-revoke");
  EXPECT_EQ(ev[1].resource, "/pveaudit/certifications/2026Q4/bob@pve");
  EXPECT_NE(ev[1].detail.find("revoke bob@pve (/vms/100: PVEVMAdmin (this path only)), decided "
                              "by ciso@pve"),
            std::string::npos)
      << ev[1].detail;
  EXPECT_EQ(ev[2].action, "audit:certification-keep");
  EXPECT_NE(ev[2].detail.find("before: {\"decision\":\"revoke\""), std::string::npos)
      << ev[2].detail;

  ASSERT_TRUE(Decide("2026Q4", "alice@pve", "keep", now_ + 3000000).ok());
  ASSERT_TRUE(Decide("2026Q4", "root@pam", "keep", now_ + 4000000, "auditor@pve").ok());
  r = Decide("2026Q4", "erin@pve", "revoke", now_ + 5000000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->counts.complete);
  EXPECT_EQ(r->counts.completed_us, now_ + 5000000);
  ASSERT_NE(r->completion_event_id, 0u);
  auto c = LoadCertification(*store_, "2026Q4");
  ASSERT_TRUE(c.ok() && *c);
  EXPECT_EQ(r->completion_sha256, CertificationDigest(**c));
  EXPECT_EQ(CertificationDigest(**c), report::Sha256Hex(report::RenderReport(
                                          CertificationReport(**c), report::ReportFormat::kJson)));
  ev = Find();
  ASSERT_EQ(ev.size(), 7u);
  EXPECT_EQ(ev[6].action, "audit:certification-complete");
  EXPECT_EQ(ev[6].user, "ciso@pve");
  EXPECT_EQ(ev[6].source, "pveaudit");
  EXPECT_EQ(ev[6].detail, "period=2026Q4 items=4 kept=3 revoked=1 sha256=" + r->completion_sha256);

  // What show prints: the campaign's state and every decision.
  report::Report rep = CertificationReport(**c);
  ASSERT_EQ(rep.sections.size(), 2u);
  auto j = nlohmann::json::parse(report::RenderReport(rep, report::ReportFormat::kJson));
  EXPECT_EQ(j["certification"][0]["state"], "complete");
  EXPECT_EQ(j["certification"][0]["revoked"], 1);
  EXPECT_EQ(j["items"][2]["userid"], "erin@pve");
  EXPECT_EQ(j["items"][2]["decision"], "revoke");
  EXPECT_EQ(j["items"][3]["decided_by"], "auditor@pve");

  // Complete: closed.
  auto late = Decide("2026Q4", "bob@pve", "revoke", now_ + 6000000);
  EXPECT_EQ(late.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(late.status().message().find("is complete"), std::string::npos);
  EXPECT_EQ(Find().size(), 7u);
}

TEST_F(CertificationTest, BadDecisionsAreNamedAndChangeNothing) {
  ASSERT_TRUE(Start(q4_, now_).ok());
  struct Case {
    std::function<void(DecideOptions*)> edit;
    std::string names;
  } cases[] = {
      {[](DecideOptions* o) { o->decision = "maybe"; }, "'maybe' for --decision"},
      {[](DecideOptions* o) { o->decision.clear(); }, "--decision keep|revoke is required"},
      {[](DecideOptions* o) { o->userid = "alcie@pve"; }, "did you mean 'alice@pve'"},
      {[](DecideOptions* o) { o->userid = "carol@pve"; }, "'carol@pve' for --user"},
      {[](DecideOptions* o) { o->period = "2026Q3"; }, "no certification of 2026Q3"},
      {[](DecideOptions* o) { o->period = "2026Q5"; }, "'2026Q5' for --period"},
      {[](DecideOptions* o) { o->note = "two\nlines"; }, "--note"},
      {[](DecideOptions* o) { o->note = std::string(1025, 'x'); }, "--note"},
      {[](DecideOptions* o) { o->by.clear(); }, "--by USERID is required"},
      {[](DecideOptions* o) { o->by = "the ciso"; }, "'the ciso' for --by"},
      {[](DecideOptions* o) { o->by = "alice@pve"; }, "cannot certify their own access"},
  };
  for (const Case& c : cases) {
    DecideOptions o{"2026Q4", "alice@pve", "keep", "", "ciso@pve"};
    c.edit(&o);
    auto r = DecideCertification(*store_, actor_, "pve1", o, now_);
    ASSERT_FALSE(r.ok()) << c.names;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << c.names;
    EXPECT_NE(r.status().message().find(c.names), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(Events(), 1u);  // the start only
  EXPECT_EQ(CountDecisions(**LoadCertification(*store_, "2026Q4")).decided, 0u);

  report::Quarter q;
  EXPECT_TRUE(ParseCertificationPeriod("--period", "2026-q4", now_, &q).ok());
  EXPECT_EQ(q.Name(), "2026Q4");
  EXPECT_TRUE(ParseCertificationPeriod("--period", "current", now_, &q).ok());
  EXPECT_EQ(q.Name(), "2026Q4");
  EXPECT_TRUE(ParseCertificationPeriod("--period", "last", now_, &q).ok());
  EXPECT_EQ(q.Name(), "2026Q3");
  EXPECT_EQ(q.start_us, CivilToUs(2026, 7, 1, 0, 0, 0));
  EXPECT_EQ(q.end_us, CivilToUs(2026, 10, 1, 0, 0, 0));
  for (const char* bad : {"2027Q1", "2026Q0", "Q4-2026", "next", ""}) {
    Status st = ParseCertificationPeriod("--period", bad, now_, &q);
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("--period"), std::string::npos) << st.message();
  }
  EXPECT_NE(ParseCertificationPeriod("--period", "2027Q1", now_, &q).message().find("not begun"),
            std::string::npos);

  // A damaged campaign or decision is reported as such, not read as none.
  ASSERT_TRUE(store_
                  ->PutSetting("compliance.certification.2026Q4.decision.bob@pve",
                               "{\"decision\":\"perhaps\"}", "test")
                  .ok());
  EXPECT_EQ(LoadCertification(*store_, "2026Q4").status().code(), Status::Code::kCorruption);
  ASSERT_TRUE(store_->PutSetting("compliance.certification.2026Q3", "{", "test").ok());
  EXPECT_EQ(LoadCertification(*store_, "2026Q3").status().code(), Status::Code::kCorruption);
}

TEST_F(CertificationTest, CertificationRequirementPassesOnlyWithACompleteRecentCampaign) {
  CheckOutcome o = Outcome("sox", "sox:certification");
  EXPECT_EQ(o.result, CheckResult::kFail);
  EXPECT_EQ(o.subjects, std::vector<std::string>{"access certification"});
  EXPECT_EQ(All(o), "no certification of 2026Q4\nno certification of 2026Q3\n");
  EXPECT_EQ(o.query,
            "pveam compliance certify list; pveam compliance certify show --period 2026Q4");
  EXPECT_NE(o.fix.find("pveam compliance certify start --period 2026Q4"), std::string::npos);

  // Started, not finished: still a failure, with the progress.
  ASSERT_TRUE(Start(q4_, now_ - 10 * kDay).ok());
  ASSERT_TRUE(Decide("2026Q4", "alice@pve", "keep", now_ - 9 * kDay).ok());
  o = Outcome("sox", "sox:certification");
  EXPECT_EQ(o.result, CheckResult::kFail);
  EXPECT_EQ(All(o),
            "certification 2026Q4 started 2026-11-21T12:00:00Z by ciso@pve: 4 users, 1 decided "
            "(1 keep, 0 revoke), 3 open\nno certification of 2026Q3\n");

  DecideAll("2026Q4", {}, now_ - 8 * kDay);
  o = Outcome("sox", "sox:certification");
  EXPECT_EQ(o.result, CheckResult::kPass) << All(o);
  EXPECT_TRUE(o.subjects.empty());
  EXPECT_EQ(All(o),
            "certification 2026Q4 started 2026-11-21T12:00:00Z by ciso@pve: 4 users, 4 decided "
            "(4 keep, 0 revoke), complete 2026-11-23T12:00:00Z\nno certification of 2026Q3\n");
  // As it was before the last decisions: not complete.
  EXPECT_EQ(Outcome("sox", "sox:certification", now_ - 9 * kDay).result, CheckResult::kFail);
  // The next quarter still counts it (the previous quarter's campaign) ...
  EXPECT_EQ(Outcome("sox", "sox:certification", CivilToUs(2027, 3, 31, 0, 0, 0)).result,
            CheckResult::kPass);
  // ... the one after does not.
  o = Outcome("sox", "sox:certification", CivilToUs(2027, 4, 1, 0, 0, 0));
  EXPECT_EQ(o.result, CheckResult::kFail);
  EXPECT_EQ(All(o), "no certification of 2027Q2\nno certification of 2027Q1\n");
}

TEST_F(CertificationTest, RevokedButUnchangedAccessIsAFindingUntilItIsRemoved) {
  ASSERT_TRUE(Start(q4_, now_ - 10 * kDay).ok());
  DecideAll("2026Q4", {"bob@pve", "erin@pve"}, now_ - 9 * kDay);
  CheckOutcome o = Outcome("sox", "sox:certification");
  EXPECT_EQ(o.result, CheckResult::kFail) << All(o);
  // erin had nothing and still has nothing, but her account is enabled.
  EXPECT_EQ(o.subjects, (std::vector<std::string>{"bob@pve", "erin@pve"}));
  EXPECT_NE(All(o).find("2 revoke decisions, 2 with the access unchanged in the live config\n"
                        "bob@pve: revoke decided 2026-11-22T12:00:00Z by ciso@pve (certification "
                        "2026Q4), access unchanged: /vms/100: PVEVMAdmin (this path only)\n"),
            std::string::npos)
      << All(o);
  EXPECT_NE(o.query.find("pveum user permissions USERID"), std::string::npos) << o.query;
  EXPECT_NE(o.fix.find("pveum acl delete PATH"), std::string::npos) << o.fix;
  // PCI DSS 7.2.4: inappropriate access found must be addressed, too.
  CheckOutcome pci = Outcome("pci-dss", "pci-dss:access-review");
  EXPECT_EQ(pci.result, CheckResult::kFail);
  EXPECT_NE(All(pci).find("bob@pve: revoke decided"), std::string::npos) << All(pci);
  // HIPAA's review requirement is not about certifications.
  EXPECT_EQ(All(Outcome("hipaa", "hipaa:access-review")).find("revoke"), std::string::npos);

  // An exception for one of them: still failing for the other.
  ASSERT_TRUE(
      AddException(*store_, Actor{"root@pam", "", ""}, "pve1",
                   {"sox:certification", "erin@pve", "onboarding", "ciso@pve", "2027-01-31"}, now_)
          .ok());
  o = Outcome("sox", "sox:certification");
  EXPECT_EQ(o.result, CheckResult::kFail);
  EXPECT_NE(All(o).find("not covered by an exception: bob@pve"), std::string::npos) << All(o);

  // bob's ACL removed, erin disabled: the revocations are done.
  std::string cfg = kUserCfg;
  cfg.erase(cfg.find("acl:0:/vms/100:bob@pve:PVEVMAdmin:\n"));
  cfg.replace(cfg.find("user:erin@pve:1:"), 16, "user:erin@pve:0:");
  Config(cfg);
  o = Outcome("sox", "sox:certification");
  EXPECT_EQ(o.result, CheckResult::kPass) << All(o);
  EXPECT_NE(All(o).find("2 revoke decisions, 0 with the access unchanged"), std::string::npos);
  EXPECT_EQ(Outcome("pci-dss", "pci-dss:access-review").subjects,
            std::vector<std::string>{"quarterly review"});  // no review recorded: that only
}

TEST_F(CertificationTest, ALaterKeepSettlesAnEarlierRevoke) {
  ASSERT_TRUE(Start(Quarter("2026Q3"), now_ - 80 * kDay).ok());
  DecideAll("2026Q3", {"bob@pve"}, now_ - 79 * kDay);
  EXPECT_EQ(Outcome("sox", "sox:certification").subjects, std::vector<std::string>{"bob@pve"});
  ASSERT_TRUE(Start(q4_, now_ - 5 * kDay).ok());
  ASSERT_TRUE(Decide("2026Q4", "bob@pve", "keep", now_ - 4 * kDay).ok());
  CheckOutcome o = Outcome("sox", "sox:certification");
  EXPECT_EQ(o.result, CheckResult::kPass) << All(o);  // 2026Q3 is complete, bob was kept since
  EXPECT_TRUE(o.subjects.empty());
  EXPECT_EQ(All(o).find("revoke decision"), std::string::npos) << All(o);
}

// A report of a past quarter is evaluated at its end: what was recorded
// later is not evidence for it.
TEST_F(CertificationTest, APastQuarterIsJudgedWithTheEventsUpToItsEnd) {
  Event review;
  review.time_us = CivilToUs(2026, 10, 5, 9, 0, 0);
  review.user = "ciso@pve";
  review.action = "audit:review";
  review.resource = "/";
  review.result = pveaudit::Outcome::kSuccess;
  review.source = "pveaudit";
  review.detail = "quarter=2026Q4 sha256=x";
  Add({review});
  const report::Quarter q3 = Quarter("2026Q3");
  ComplianceInput in;
  in.pve = pve_.get();
  in.store = store_.get();
  in.now_us = q3.end_us - 1000000;
  auto result = [&] {
    auto r = RunComplianceChecks("pci-dss", in);
    EXPECT_TRUE(r.ok());
    for (const CheckOutcome& o : *r)
      if (o.requirement == "pci-dss:access-review") return o.result;
    return CheckResult::kUnchecked;
  };
  EXPECT_EQ(result(), CheckResult::kPass);  // unbounded: the later review counts
  in.events_until_us = q3.end_us;
  EXPECT_EQ(result(), CheckResult::kFail);
  // A certification of 2026Q3 done late, in December, did not exist at its
  // end; it counts now (the previous quarter's, complete).
  ASSERT_TRUE(Start(q3, now_).ok());
  DecideAll("2026Q3", {}, now_);
  CheckOutcome o = Outcome("sox", "sox:certification", in.now_us);
  EXPECT_EQ(o.result, CheckResult::kFail);
  EXPECT_EQ(All(o), "no certification of 2026Q3\nno certification of 2026Q2\n");
  EXPECT_EQ(Outcome("sox", "sox:certification").result, CheckResult::kPass);
}

TEST_F(CertificationTest, TheReportEscapesWhatItShowsAndGivesEachRequirementItsPage) {
  std::string cfg = kUserCfg;
  cfg += "user:<script>alert(1)@pve:1:0::::::\n";
  Config(cfg);
  ASSERT_TRUE(AddException(*store_, Actor{"root@pam", "", ""}, "pve1",
                           {"hipaa:2fa", "<b>svc</b>@pve", "robot <i>", "ciso@pve", "2027-01-31"},
                           now_)
                  .ok());
  ComplianceInput in;
  in.pve = pve_.get();
  in.store = store_.get();
  in.exceptions = *LoadExceptions(*store_);
  in.now_us = now_;
  auto outcomes = RunComplianceChecks("hipaa", in);
  ASSERT_TRUE(outcomes.ok());
  ComplianceReportInfo info;
  info.standard = "hipaa";
  info.period = q4_;
  info.as_of_us = now_;
  info.generated_us = now_;
  info.node = "pve1";
  info.prepared_by = "<ciso>@pve";
  info.pve_dir = pve_dir_.string();
  info.notes = {"a note with <tags> & ampersands"};
  const std::string html = ComplianceReportHtml(info, *outcomes, in.exceptions);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)@pve"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b>svc"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;svc&lt;/b&gt;@pve"), std::string::npos);
  EXPECT_NE(html.find("robot &lt;i&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;ciso&gt;@pve"), std::string::npos);
  EXPECT_NE(html.find("a note with &lt;tags&gt; &amp; ampersands"), std::string::npos);
  size_t sections = 0;
  for (size_t p = 0; (p = html.find("<section class=\"requirement\"", p)) != std::string::npos; ++p)
    ++sections;
  EXPECT_EQ(sections, 4u);  // the four HIPAA requirements
  for (const Requirement& r : Requirements())
    EXPECT_EQ(html.find("id=\"" + std::string(r.id) + "\"") != std::string::npos,
              r.standard == "hipaa")
        << r.id;
  EXPECT_NE(html.find("@media print"), std::string::npos);
  EXPECT_NE(html.find("section.requirement, section.signoff { break-before: page; "
                      "page-break-before: always; }"),
            std::string::npos);
  EXPECT_EQ(html, ComplianceReportHtml(info, *outcomes, in.exceptions));  // deterministic

  auto j = nlohmann::json::parse(ComplianceReportJson(info, *outcomes, in.exceptions, "abc"));
  EXPECT_EQ(j["format"], "pveaudit-compliance-report/1");
  EXPECT_EQ(j["html_sha256"], "abc");
  EXPECT_EQ(j["period"], "2026Q4");
  ASSERT_EQ(j["requirements"].size(), 4u);
  EXPECT_EQ(j["requirements"][2]["id"], "hipaa:2fa");
  EXPECT_EQ(j["requirements"][2]["result"], "FAIL");
  EXPECT_EQ(j["requirements"][2]["exceptions"][0]["subject"], "<b>svc</b>@pve");
  EXPECT_EQ(j["requirements"][2]["exceptions"][0]["applied"], false);
  EXPECT_EQ(j["summary"].size(), 6u);
  EXPECT_EQ(ComplianceReportName("hipaa", q4_), "compliance-hipaa-2026Q4");
}

}  // namespace
}  // namespace pveaudit

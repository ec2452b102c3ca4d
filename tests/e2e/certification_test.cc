// pveam compliance certify start|decide|list|show, the sox:certification
// check on them, and pveam compliance report: the real binary on a copy of
// the report fixtures' Proxmox config.
#include <map>

#include "e2e_util.h"

namespace e2e {
namespace {

std::string S(const nlohmann::json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

class CertificationCliTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    pve_ = work_ + "/pve";
    std::filesystem::copy(kFixtures + "/../report/pve", pve_,
                          std::filesystem::copy_options::recursive);
  }
  // Runs pveam with --pve-dir where the command takes one.
  RunResult Run(std::vector<std::string> args) const { return Pveam(std::move(args)); }
  // The outcome of one requirement in `pveam compliance check --output-format json`.
  nlohmann::json Check(const std::string& standard, const std::string& id, int* code = nullptr) {
    RunResult r = Run({"compliance", "check", "--standard", standard, "--pve-dir", pve_,
                       "--output-format", "json"});
    if (code) *code = r.code;
    const nlohmann::json j = Json(r);
    for (const auto& c : j["checks"])
      if (c["requirement"] == id) return c;
    ADD_FAILURE() << id << "\n" << r;
    return nlohmann::json::object();
  }
  std::string Sha256(const std::string& path) const {
    RunResult r = RunProgram("/usr/bin/sha256sum", {"sha256sum", path}, {});
    EXPECT_EQ(r.code, 0) << r;
    return r.out.substr(0, 64);
  }
  // The events of `action` as JSON.
  nlohmann::json Events(const std::string& action) const {
    RunResult r = Run({"access", "log", "--action", action, "--output-format", "json"});
    EXPECT_EQ(r.code, 0) << r;
    return Json(r);
  }
  std::string pve_;
};

TEST_F(CertificationCliTest, PassesWhenCompleteAndFailsWhileRevokedAccessIsUnchanged) {
  // Nothing certified yet (not even a store): FAIL, saying so.
  nlohmann::json c = Check("sox", "sox:certification");
  EXPECT_EQ(c["result"], "FAIL");
  EXPECT_EQ(c["evidence"], "no event store: no certification can have been recorded") << c;

  RunResult r = Run({"compliance", "certify", "start", "--period", "current", "--by", "ciso@pve",
                     "--pve-dir", pve_, "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  nlohmann::json started = Json(r);
  const std::string period = started["period"];
  EXPECT_EQ(started["items"], 6) << r;  // enabled, unexpired users of the fixture
  EXPECT_EQ(started["started_by"], "ciso@pve");

  r = Run({"compliance", "certify", "show", "--period", period, "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  nlohmann::json shown = Json(r);
  std::map<std::string, nlohmann::json> items;
  for (const auto& i : shown["items"]) items[i["userid"]] = i;
  ASSERT_EQ(items.size(), 6u) << r;
  EXPECT_EQ(items["alice@pve"]["permissions"], "/: Administrator");
  EXPECT_EQ(items["alice@pve"]["groups"], "admins");
  EXPECT_EQ(items["alice@pve"]["tokens"], "alice@pve!ci (no privilege separation)");
  EXPECT_EQ(items["bob@pve"]["permissions"],
            "/storage/gone: PVEDatastoreUser; /vms: PVEVMUser; /vms/100: PVEVMAdmin (this path "
            "only)");
  EXPECT_TRUE(items["alice@pve"]["decision"].is_null());
  EXPECT_EQ(items.count("dave@pve"), 0u);  // disabled

  c = Check("sox", "sox:certification");
  EXPECT_EQ(c["result"], "FAIL");
  EXPECT_TRUE(Contains(S(c["evidence"]), "certification " + period + " started ")) << c;
  EXPECT_TRUE(Contains(S(c["evidence"]),
                       ": 6 users, 0 decided (0 keep, 0 revoke), 6 open; "
                       "no certification of "))
      << c;

  // Every user decided: alice's Administrator role is revoked.
  int64_t completion = 0;
  std::string completion_sha;
  for (const auto& [user, item] : items) {
    const bool revoke = user == "alice@pve";
    r = Run({"compliance", "certify", "decide", "--period", period, "--user", user, "--decision",
             revoke ? "revoke" : "keep", "--note", "quarterly review", "--by", "ciso@pve",
             "--output-format", "json"});
    ASSERT_EQ(r.code, 0) << r;
    nlohmann::json d = Json(r);
    if (d["completion_id"].is_number()) {
      completion = d["completion_id"];
      completion_sha = d["completion_sha256"];
    }
  }
  ASSERT_NE(completion, 0) << "the last decision completes the campaign";
  r = Run({"compliance", "certify", "list", "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  nlohmann::json list = Json(r);
  ASSERT_EQ(list.size(), 1u) << r;
  EXPECT_EQ(list[0]["state"], "complete");
  EXPECT_EQ(list[0]["items"], 6);
  EXPECT_EQ(list[0]["kept"], 5);
  EXPECT_EQ(list[0]["revoked"], 1);
  EXPECT_EQ(list[0]["open"], 0);
  // The completion event's digest is that of what `show` prints.
  r = Run({"compliance", "certify", "show", "--period", period, "--output-format", "json"});
  WriteFile(work_ + "/show.json", r.out);
  EXPECT_EQ(Sha256(work_ + "/show.json"), completion_sha);
  nlohmann::json done = Events("audit:certification-complete");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0]["id"], completion);
  EXPECT_EQ(done[0]["detail"],
            "period=" + period + " items=6 kept=5 revoked=1 sha256=" + completion_sha);
  nlohmann::json revokes = Events("audit:certification-revoke");
  ASSERT_EQ(revokes.size(), 1u);
  EXPECT_EQ(revokes[0]["user"], "ciso@pve");
  EXPECT_EQ(revokes[0]["resource"], "/pveaudit/certifications/" + period + "/alice@pve");

  // Complete, but alice still has what was revoked: FAIL naming her.
  int code = 0;
  c = Check("sox", "sox:certification", &code);
  EXPECT_EQ(code, 1);
  EXPECT_EQ(c["result"], "FAIL") << c;
  const std::string ev = c["evidence"];
  EXPECT_TRUE(Contains(ev, ": 6 users, 6 decided (5 keep, 1 revoke), complete ")) << ev;
  EXPECT_TRUE(Contains(ev, "1 revoke decision, 1 with the access unchanged in the live config"))
      << ev;
  EXPECT_TRUE(Contains(ev, "alice@pve: revoke decided ")) << ev;
  EXPECT_TRUE(Contains(
      ev, " by ciso@pve (certification " + period + "), access unchanged: /: Administrator"))
      << ev;
  EXPECT_TRUE(Contains(S(c["query"]), "pveum user permissions USERID")) << c;
  nlohmann::json pci = Check("pci-dss", "pci-dss:access-review");
  EXPECT_EQ(pci["result"], "FAIL");
  EXPECT_TRUE(Contains(S(pci["evidence"]), "alice@pve: revoke decided ")) << pci;

  // alice leaves the admins group: the revocation is done, the check passes.
  std::string cfg = ReadFile(pve_ + "/user.cfg");
  cfg.replace(cfg.find("group:admins:alice@pve::"), 24, "group:admins:::");
  WriteFile(pve_ + "/user.cfg", cfg);
  c = Check("sox", "sox:certification");
  EXPECT_EQ(c["result"], "PASS") << c;
  EXPECT_TRUE(Contains(S(c["evidence"]), "1 revoke decision, 0 with the access unchanged")) << c;
  r = Run({"compliance", "check", "--standard", "sox", "--pve-dir", pve_});
  EXPECT_TRUE(Contains(r.out, "\nPASS       sox:certification  Regular access certification")) << r;

  // Closed once complete.
  r = Run({"compliance", "certify", "decide", "--period", period, "--user", "bob@pve", "--decision",
           "revoke", "--by", "ciso@pve"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "is complete")) << r;
}

TEST_F(CertificationCliTest, ReportEscapesHostileNamesHasAPagePerRequirementAndIsRecorded) {
  AppendFile(pve_ + "/user.cfg", "user:<script>alert(1)@pve:1:0::::::\n");
  ImportStandard();  // a store to record the report in
  const std::string dir = work_ + "/reports";
  RunResult r =
      Run({"compliance", "report", "--standard", "hipaa", "--period", "current", "--output", dir,
           "--pve-dir", pve_, "--by", "ciso@pve", "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  nlohmann::json out = Json(r);
  const std::string html_path = out["html"], json_path = out["json"];
  EXPECT_EQ(html_path, dir + "/compliance-hipaa-" + std::string(out["period"]) + ".html");
  const std::string html = ReadFile(html_path);
  EXPECT_TRUE(Contains(html, "&lt;script&gt;alert(1)@pve")) << html;
  EXPECT_FALSE(Contains(html, "<script"));
  size_t sections = 0;
  for (size_t p = 0; (p = html.find("<section class=\"requirement\"", p)) != std::string::npos; ++p)
    ++sections;
  EXPECT_EQ(sections, 4u);  // hipaa:phi-access, retention, 2fa, access-review
  for (const char* id : {"hipaa:phi-access", "hipaa:retention", "hipaa:2fa", "hipaa:access-review"})
    EXPECT_TRUE(Contains(html, "<section class=\"requirement\" id=\"" + std::string(id) + "\">"))
        << id;
  EXPECT_TRUE(Contains(html, "@media print"));
  EXPECT_TRUE(Contains(html, "page-break-before: always"));

  // The event's digest is the file's, and the JSON beside it says the same.
  const std::string digest = Sha256(html_path);
  EXPECT_EQ(out["html_sha256"], digest);
  nlohmann::json recorded = Events("audit:compliance-report");
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0]["id"], out["recorded_id"]);
  EXPECT_EQ(recorded[0]["user"], "ciso@pve");
  EXPECT_TRUE(Contains(S(recorded[0]["detail"]),
                       "standard=hipaa period=" + std::string(out["period"]) + " sha256=" + digest +
                           " json_sha256=" + Sha256(json_path)))
      << recorded[0];
  nlohmann::json j = nlohmann::json::parse(ReadFile(json_path));
  EXPECT_EQ(j["html_sha256"], digest);
  ASSERT_EQ(j["requirements"].size(), 4u);
  EXPECT_EQ(j["requirements"][2]["id"], "hipaa:2fa");
  EXPECT_EQ(j["requirements"][2]["result"], "FAIL");
  EXPECT_TRUE(Contains(j["requirements"][2]["evidence"].dump(), "<script>alert(1)@pve"));

  // A past quarter is evaluated at its last second; text output names the files.
  r = Run({"compliance", "report", "--standard", "sox", "--period", "last", "--output", dir,
           "--pve-dir", pve_});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "wrote " + dir + "/compliance-sox-")) << r;
  EXPECT_TRUE(Contains(r.out, " 23:59:59): ")) << r;
  EXPECT_TRUE(Contains(r.out, "recorded as event ")) << r;
  EXPECT_EQ(Events("audit:compliance-report").size(), 2u);
}

TEST_F(CertificationCliTest, BadArgumentsExitTwoNamingThemAndChangeNothing) {
  struct Case {
    std::vector<std::string> args;
    std::string names;
  };
  // No store yet: none may be created by a refused command.
  const std::vector<Case> before = {
      {{"compliance", "certify", "start", "--period", "2026Q5"}, "'2026Q5'"},
      {{"compliance", "certify", "start", "--period", "2999Q1"}, "2999Q1 has not begun"},
      {{"compliance", "certify", "start"}, "--period is required"},
      {{"compliance", "certify", "decide", "--period", "current", "--user", "alice@pve",
        "--decision", "keep", "--by", "ciso@pve"},
       "no certification of "},
      {{"compliance", "certify", "show", "--period", "last"}, "no certification of "},
      {{"compliance", "report", "--standard", "iso27001", "--period", "current", "--output", "x"},
       "'iso27001'"},
      {{"compliance", "report", "--standard", "sox", "--period", "Q3", "--output", "x"}, "'Q3'"},
      {{"compliance", "report", "--standard", "sox", "--period", "current"}, "--output"},
      {{"compliance", "report", "--standard", "sox", "--period", "current", "--output", "x",
        "--output-format", "csv"},
       "'csv'"},
  };
  for (const Case& c : before) {
    RunResult r = Run(c.args);
    EXPECT_EQ(r.code, 2) << r;
    EXPECT_TRUE(Contains(r.err, c.names)) << c.names << "\n" << r;
  }
  EXPECT_FALSE(std::filesystem::exists(data_dir_));
  EXPECT_FALSE(std::filesystem::exists(work_ + "/x"));

  RunResult r = Run({"compliance", "certify", "start", "--period", "current", "--by", "ciso@pve",
                     "--pve-dir", pve_});
  ASSERT_EQ(r.code, 0) << r;
  const auto events = [&] {
    return Json(Run({"access", "log", "--output-format", "json"})).size();
  };
  const size_t n = events();
  const std::vector<std::string> decide = {"compliance", "certify", "decide", "--period",
                                           "current"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> a = decide;
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  const std::vector<Case> after = {
      {with({"--user", "alice@pve", "--decision", "maybe", "--by", "ciso@pve"}), "'maybe'"},
      {with({"--user", "ghost@pve", "--decision", "keep", "--by", "ciso@pve"}), "'ghost@pve'"},
      {with({"--user", "alcie@pve", "--decision", "keep", "--by", "ciso@pve"}),
       "did you mean 'alice@pve'"},
      {with({"--user", "alice@pve", "--decision", "keep"}), "--by USERID is required"},
      {with({"--user", "alice@pve", "--decision", "keep", "--by", "alice@pve"}),
       "cannot certify their own access"},
      {{"compliance", "certify", "decide", "--period", "last", "--user", "alice@pve", "--decision",
        "keep", "--by", "ciso@pve"},
       "no certification of "},
      {{"compliance", "certify", "start", "--period", "current", "--pve-dir", pve_},
       "was started on "},
      {{"compliance", "certify", "start", "--period", "last", "--pve-dir", work_ + "/nope"},
       "user.cfg"},
      {{"compliance", "certify", "frobnicate"}, "frobnicate"},
  };
  for (const Case& c : after) {
    r = Run(c.args);
    EXPECT_EQ(r.code, 2) << r;
    EXPECT_TRUE(Contains(r.err, c.names)) << c.names << "\n" << r;
  }
  EXPECT_EQ(events(), n);
  r = Run({"compliance", "certify", "list", "--output-format", "json"});
  ASSERT_EQ(Json(r).size(), 1u) << r;
  EXPECT_EQ(Json(r)[0]["decided"], 0) << r;
}

}  // namespace
}  // namespace e2e

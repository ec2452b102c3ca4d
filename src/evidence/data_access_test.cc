// hipaa:phi-access and sox:data-access (data_access_check.h) on a real
// SQLite store and a Proxmox config dir written by the test: each way the
// check can fail, and the fixture where it passes.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/time_spec.h"
#include "evidence/compliance_check.h"
#include "evidence/exceptions.h"
#include "evidence/test_files.h"
#include "query/store_fixture.h"

namespace pveaudit {
namespace {

namespace fs = std::filesystem;
using test::Spit;
using test::TempDir;

constexpr int64_t kDay = int64_t(86400) * 1000000;

class DataAccessTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    SetClusterTimeZone("UTC");
    now_ = CivilToUs(2026, 12, 1, 12, 0, 0);
    pve_dir_ = TempDir("pve-data");
    for (const char* d : {"priv", "nodes/pve1/qemu-server", "nodes/pve2/qemu-server",
                          "nodes/pve2/lxc", "nodes/pve3/qemu-server"})
      fs::create_directories(pve_dir_ / d);
    // Pool ehr: guests 120 (pve1) and 121 (pve2), storage ehr-data. 130
    // (pve1) is named on its own; 200 (pve3) holds no PHI.
    Spit(pve_dir_ / "user.cfg",
         "user:root@pam:1:0::::::\nuser:alice@pve:1:0::::::\nuser:bob@pve:1:0::::::\n"
         "pool:ehr:records:120,121:ehr-data:\npool:web::200::\n");
    Spit(pve_dir_ / "storage.cfg",
         "dir: local\n\tpath /var/lib/vz\n\ndir: ehr-data\n\tpath /srv/ehr\n");
    for (const char* f : {"nodes/pve1/qemu-server/120.conf", "nodes/pve2/lxc/121.conf",
                          "nodes/pve1/qemu-server/130.conf", "nodes/pve3/qemu-server/200.conf"})
      Spit(pve_dir_ / f, "memory: 2048\n");
    auto cfg = pve::LoadPveConfig(pve_dir_.string());
    ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
    pve_ = std::make_unique<pve::PveConfig>(std::move(*cfg));
    ASSERT_EQ(pve_->inventory.guest_node.at(121), "pve2");
  }
  void TearDown() override {
    fs::remove_all(pve_dir_);
    StoreFixture::TearDown();
  }
  static Event Ev(int64_t t, const std::string& node, const std::string& user,
                  const std::string& action, const std::string& resource) {
    Event e;
    e.time_us = t;
    e.node = node;
    e.user = user;
    e.action = action;
    e.resource = resource;
    e.result = Outcome::kSuccess;
    e.source = "pveproxy";
    e.ip = "192.0.2.7";
    return e;
  }
  // A login on each of `nodes` every day of the last 90, but for the days
  // `skip` (days back from now, 0 = the last 24 hours) on `skip_node`.
  void Daily(const std::vector<std::string>& nodes, const std::string& skip_node = "",
             std::vector<int> skip = {}) {
    std::vector<Event> ev;
    for (const std::string& n : nodes)
      for (int d = 0; d < 90; ++d) {
        if (n == skip_node && std::find(skip.begin(), skip.end(), d) != skip.end()) continue;
        ev.push_back(
            Ev(now_ - d * kDay - 3600 * int64_t(1000000), n, "alice@pve", "login", "/access"));
      }
    Add(std::move(ev));
  }
  // pveauditd's status as it writes it (daemon.cc), `age_s` seconds old.
  void Status(int64_t age_s, nlohmann::json sources) {
    nlohmann::json j;
    j["updated"] = FormatRfc3339Utc(now_ - age_s * 1000000);
    j["healthy"] = true;
    j["sources"] = std::move(sources);
    ASSERT_TRUE(store_->PutSetting("daemon.status", j.dump(), "test").ok());
  }
  static nlohmann::json Source(const std::string& name, const std::string& format, bool ok,
                               const std::string& error = "") {
    return {{"name", name},
            {"path", "/var/log/" + name},
            {"format", format},
            {"ok", ok},
            {"error", error}};
  }
  void Healthy() {
    Status(5, {Source("access_log", "pveproxy", true), Source("auth", "auth", true),
               Source("tasks", "tasks", true)});
  }
  CheckOutcome Check(const std::string& standard, const std::string& id,
                     std::vector<std::string> scope) {
    ComplianceInput in;
    in.pve = pve_.get();
    in.store = store_.get();
    in.now_us = now_;
    auto ex = LoadExceptions(*store_);
    EXPECT_TRUE(ex.ok());
    in.exceptions = *ex;
    (standard == "hipaa" ? in.phi_scope : in.sox_data_scope) = std::move(scope);
    auto r = RunComplianceChecks(standard, in);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    for (const CheckOutcome& o : *r)
      if (o.requirement == id) return o;
    ADD_FAILURE() << id;
    return {};
  }
  CheckOutcome Phi(std::vector<std::string> scope = {"/pool/ehr", "/vms/130"}) {
    return Check("hipaa", "hipaa:phi-access", std::move(scope));
  }
  static std::string All(const CheckOutcome& o) {
    std::string s;
    for (const std::string& e : o.evidence) s += e + "\n";
    return s;
  }
  static bool Has(const CheckOutcome& o, const std::string& text) {
    return All(o).find(text) != std::string::npos;
  }
  // Reads of the scope and look-alikes outside it.
  void Accesses() {
    const int64_t t = now_ - 5 * kDay;
    Add({Ev(t, "pve1", "alice@pve", "vm:read", "/vms/120"),
         Ev(t + 1, "pve1", "alice@pve", "vm:read", "/vms/120"),
         Ev(t + 2, "pve1", "alice@pve", "vm:read", "/vms/120"),
         Ev(t + 3, "pve1", "bob@pve", "vm:console", "/vms/130"),
         Ev(t + 4, "pve1", "bob@pve", "storage:read", "/storage/ehr-data"),
         Ev(t + 5, "pve2", "bob@pve", "ct:config", "/vms/121"),
         // Not PHI: another guest, and ids that only start alike.
         Ev(t + 6, "pve3", "mallory@pve", "vm:read", "/vms/200"),
         Ev(t + 7, "pve1", "mallory@pve", "vm:read", "/vms/1200"),
         Ev(t + 8, "pve1", "mallory@pve", "storage:read", "/storage/ehr-data2"),
         // Outside the 90 days.
         Ev(now_ - 91 * kDay, "pve1", "mallory@pve", "vm:read", "/vms/120")});
  }

  int64_t now_ = 0;
  fs::path pve_dir_;
  std::unique_ptr<pve::PveConfig> pve_;
};

TEST_F(DataAccessTest, PhiAccessPassesWithTheReadsOfTheScopeAndNothingElse) {
  Daily({"pve1", "pve2", "pve3"});
  Healthy();
  Accesses();
  CheckOutcome o = Phi();
  EXPECT_EQ(o.result, CheckResult::kPass) << All(o);
  EXPECT_TRUE(o.subjects.empty());
  EXPECT_TRUE(Has(o, "scope: pool ehr: guests 120, 121; storages ehr-data")) << All(o);
  EXPECT_TRUE(Has(o, "scope: guest 130")) << All(o);
  EXPECT_TRUE(Has(o, "3 sources healthy: access_log, auth, tasks")) << All(o);
  // pve1 and pve2 host the scope; pve3 does not and is not judged.
  EXPECT_TRUE(Has(o,
                  "events on every day from pve1 (since 2026-09-02T12:00:00Z), pve2 (since "
                  "2026-09-02T12:00:00Z)\n"))
      << All(o);
  EXPECT_TRUE(Has(o,
                  "in the last 90 days: 4 reads and 1 console sessions by 2 users "
                  "(alice@pve 3, bob@pve 2), 1 changes; last access "
                  "2026-11-26T12:00:00.000004Z"))
      << All(o);
  EXPECT_NE(o.query.find("pveam access log --resource /vms/120 --action read --start "
                         "2026-09-02T12:00:00Z (and each other path of the scope)"),
            std::string::npos)
      << o.query;
}

TEST_F(DataAccessTest, PhiAccessFailsWithoutAScopeOrWithAStaleOne) {
  Daily({"pve1", "pve2"});
  Healthy();
  Accesses();
  CheckOutcome o = Phi({});
  EXPECT_EQ(o.result, CheckResult::kFail) << All(o);
  EXPECT_EQ(o.subjects, std::vector<std::string>{"[compliance.hipaa] phi"});
  EXPECT_TRUE(Has(o, "no scope configured: [compliance.hipaa] phi names no pool")) << All(o);
  EXPECT_NE(o.fix.find("[compliance.hipaa] phi = [\"pool:ehr\""), std::string::npos) << o.fix;
  // A pool, a guest and a storage that are not in the config.
  o = Phi({"/pool/billing", "/vms/999", "/storage/old", "/vms/120"});
  EXPECT_EQ(o.result, CheckResult::kFail) << All(o);
  EXPECT_EQ(o.subjects, (std::vector<std::string>{"/pool/billing", "/vms/999", "/storage/old"}));
  EXPECT_TRUE(Has(o, "pool billing, named in [compliance.hipaa] phi, does not exist in user.cfg"))
      << All(o);
  EXPECT_TRUE(Has(o, "guest 999, named in [compliance.hipaa] phi, is not in the cluster's config"))
      << All(o);
  EXPECT_TRUE(Has(o, "storage old, named in [compliance.hipaa] phi, is not in storage.cfg"))
      << All(o);
}

TEST_F(DataAccessTest, PhiAccessFailsWhenASourceIsNotFollowed) {
  Daily({"pve1", "pve2"});
  Accesses();
  CheckOutcome o = Phi();
  EXPECT_EQ(o.result, CheckResult::kFail) << All(o);
  EXPECT_EQ(o.subjects, std::vector<std::string>{"pveauditd"});
  EXPECT_TRUE(Has(o, "pveauditd has never reported to this store")) << All(o);
  // Stale: stopped 20 minutes ago.
  Status(20 * 60, {Source("access_log", "pveproxy", true)});
  o = Phi();
  EXPECT_EQ(o.subjects, std::vector<std::string>{"pveauditd"});
  EXPECT_TRUE(Has(o, "pveauditd (this store) last reported at 2026-12-01T11:40:00")) << All(o);
  // A failing source.
  Status(5, {Source("access_log", "pveproxy", true),
             Source("auth", "auth", false, "permission denied")});
  o = Phi();
  EXPECT_EQ(o.subjects, std::vector<std::string>{"source auth"});
  EXPECT_TRUE(Has(o, "source auth (/var/log/auth) is failing: permission denied")) << All(o);
  // Every source healthy, but not the access log, where reads are written.
  Status(5, {Source("auth", "auth", true), Source("tasks", "tasks", true)});
  o = Phi();
  EXPECT_EQ(o.subjects, std::vector<std::string>{"access log"});
  EXPECT_TRUE(Has(o, "does not follow the API access log")) << All(o);
  EXPECT_NE(o.fix.find("[sources.access_log]"), std::string::npos) << o.fix;
}

TEST_F(DataAccessTest, PhiAccessFailsOnAGapInIngestAndWarnsOnAQuietDay) {
  Healthy();
  Accesses();
  // pve2 (guest 121) sent nothing for three days in a row: a gap.
  Daily({"pve1", "pve2"}, "pve2", {10, 11, 12});
  CheckOutcome o = Phi();
  EXPECT_EQ(o.result, CheckResult::kFail) << All(o);
  EXPECT_EQ(o.subjects, std::vector<std::string>{"node pve2"});
  EXPECT_TRUE(
      Has(o, "node pve2: no event from 2026-11-18T12:00:00Z to 2026-11-21T12:00:00Z (3 days)"))
      << All(o);
  // A documented idle spell turns the gap into EXCEPTED.
  ExceptionOptions ex{"hipaa:phi-access", "node pve2", "node drained for maintenance", "ciso@pve",
                      "2027-03-31"};
  ASSERT_TRUE(AddException(*store_, Actor{"root@pam", "", ""}, "pve1", ex, now_).ok());
  o = Phi();
  EXPECT_EQ(o.result, CheckResult::kExcepted) << All(o);
}

TEST_F(DataAccessTest, TwoQuietDaysWarnAndANodeWithoutEventsFails) {
  Healthy();
  Accesses();
  Daily({"pve1", "pve2"}, "pve2", {3, 40});
  CheckOutcome o = Phi();
  EXPECT_EQ(o.result, CheckResult::kWarn) << All(o);
  EXPECT_TRUE(o.subjects.empty());
  EXPECT_TRUE(Has(o,
                  "node pve2: no event from 2026-10-21T12:00:00Z to 2026-10-22T12:00:00Z (1 day), "
                  "from 2026-11-27T12:00:00Z to 2026-11-28T12:00:00Z (1 day) (fewer than 3 days "
                  "in a row: maybe quiet)"))
      << All(o);
  // Guest 130 moves to pve4, which sent nothing in the period.
  fs::create_directories(pve_dir_ / "nodes/pve4/qemu-server");
  fs::rename(pve_dir_ / "nodes/pve1/qemu-server/130.conf",
             pve_dir_ / "nodes/pve4/qemu-server/130.conf");
  auto cfg = pve::LoadPveConfig(pve_dir_.string());
  ASSERT_TRUE(cfg.ok());
  *pve_ = std::move(*cfg);
  o = Phi();
  EXPECT_EQ(o.result, CheckResult::kFail) << All(o);
  EXPECT_EQ(o.subjects, std::vector<std::string>{"node pve4"});
  EXPECT_TRUE(Has(o, "node pve4: no event in the last 90 days")) << All(o);
}

TEST_F(DataAccessTest, NoReadOfTheScopeIsAWarning) {
  Daily({"pve1", "pve2"});
  Healthy();
  Add({Ev(now_ - kDay, "pve1", "bob@pve", "vm:config", "/vms/120"),
       Ev(now_ - kDay, "pve1", "bob@pve", "vm:read", "/vms/200")});
  CheckOutcome o = Phi();
  EXPECT_EQ(o.result, CheckResult::kWarn) << All(o);
  EXPECT_TRUE(Has(o,
                  "no read or console session of the scope recorded in the last 90 days (1 "
                  "changes)"))
      << All(o);
}

TEST_F(DataAccessTest, SoxDataAccessCoversEveryGuestWithoutAScopeAndNarrowsWithOne) {
  Daily({"pve1", "pve2", "pve3"});
  Healthy();
  Accesses();
  CheckOutcome o = Check("sox", "sox:data-access", {});
  EXPECT_EQ(o.result, CheckResult::kPass) << All(o);
  EXPECT_TRUE(Has(o, "scope: every guest (4) and storage (2); [compliance.sox] data narrows it"))
      << All(o);
  // Every read in the period counts now, mallory's too.
  EXPECT_TRUE(Has(o,
                  "7 reads and 1 console sessions by 3 users (alice@pve 3, mallory@pve 3, "
                  "bob@pve 2), 1 changes"))
      << All(o);
  EXPECT_TRUE(Has(o,
                  "events on every day from pve1 (since 2026-09-02T12:00:00Z), pve2 (since "
                  "2026-09-02T12:00:00Z), pve3 (since 2026-09-02T12:00:00Z)"))
      << All(o);
  // Narrowed to a pool: its reads only, its node only.
  o = Check("sox", "sox:data-access", {"/pool/web"});
  EXPECT_EQ(o.result, CheckResult::kPass) << All(o);
  EXPECT_TRUE(Has(o, "1 reads and 0 console sessions by 1 users (mallory@pve 1)")) << All(o);
  EXPECT_TRUE(Has(o, "events on every day from pve3 (since 2026-09-02T12:00:00Z)\n")) << All(o);
}

}  // namespace
}  // namespace pveaudit

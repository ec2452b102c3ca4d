// [retention] in pveauditd: once its sources are read it archives the
// months past the online period and purges what is past the archive
// period, as `pveam access archive run` does, and says so in its status.
#include <chrono>
#include <thread>

#include "e2e_util.h"

namespace e2e {
namespace {

const std::string kPveauditd = PVEAUDITD_BIN;

class RetentionDaemonTest : public E2eTest {
 protected:
  void TearDown() override {
    StopProcess(&pid_, SIGKILL);
    E2eTest::TearDown();
  }
  pid_t pid_ = -1;
};

TEST_F(RetentionDaemonTest, ArchivesAndPurgesOnItsOwnAndTheChainStillVerifies) {
  const std::string events = work_ + "/events.json";
  const size_t n = WriteYearsOfEvents(events, 3.2, 150);
  ASSERT_EQ(Pveam({"access", "import", "--format", "json", events}).code, 0);
  WriteFile(config_,
            "timezone = \"UTC\"\n[retention]\nonline = \"13 months\"\narchive = \"2 years\"\n");
  const std::string log = work_ + "/access.log";
  WriteFile(log, "");
  pid_ = SpawnQuiet(kPveauditd,
                    {"pveauditd", "--data-dir", data_dir_, "--access-log", log, "--node", "pve1"},
                    Env());
  ASSERT_GT(pid_, 0);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  RunResult st;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    st = Pveam({"access", "status"});
  } while (std::chrono::steady_clock::now() < until &&
           !Contains(st.out,
                     "retention: online 13 months ([retention] online), archive 2 years "
                     "([retention] archive); last run"));
  ASSERT_TRUE(Contains(st.out, "; last run ")) << st;
  RunResult list = Pveam({"access", "archive", "list", "--output-format", "json"});
  ASSERT_EQ(list.code, 0) << list;
  size_t kept = 0, purged = 0;
  for (const auto& a : Json(list)) {
    const std::string state = a["state"];
    kept += state == "kept";
    purged += state.rfind("purged", 0) == 0;
  }
  EXPECT_GE(kept, 9u);     // about two years less 13 months
  EXPECT_GE(purged, 10u);  // about 14 months past two years
  RunResult v = Pveam({"access", "verify", "--output-format", "json"});
  ASSERT_EQ(v.code, 0) << v;
  auto j = Json(v);
  // Every event online or archived once; pveauditd recorded what it did.
  RunResult audit = Pveam({"access", "log", "--action", "audit", "--output-format", "json"});
  ASSERT_EQ(audit.code, 0) << audit;
  size_t own = 0;
  for (const auto& e : Json(audit)) {
    own += e["action"] == "audit:archive" || e["action"] == "audit:purge";
    EXPECT_EQ(e["user"], "root@pam") << e;
  }
  EXPECT_EQ(own, kept + 2 * purged);  // a purged archive was archived first
  EXPECT_EQ(j[0]["events"].get<size_t>() + j[0]["archived_events"].get<size_t>(), n + own);
  RunResult av = Pveam({"access", "archive", "verify", data_dir_ + "/archive"});
  EXPECT_EQ(av.code, 0) << av;
}

TEST_F(RetentionDaemonTest, ABadPolicyIsNamedAndStopsTheStart) {
  struct Case {
    std::string toml, names;
  } cases[] = {
      {"[retention]\nonline = \"13 weeks\"\n", "'retention.online'"},
      {"[retention]\nonline = \"2 years\"\narchive = \"1 year\"\n", "longer than archive"},
      {"[retention]\narchive_dir = \"archive\"\n", "must be an absolute path"},
      {"[retention]\nonlin = \"1 year\"\n", "unknown key 'retention.onlin'"},
      {"[compliance]\nstandards = [\"sox\", \"iso27001\"]\n", "'iso27001' is not a standard"},
      {"[compliance]\ninternal_networks = [\"10.0.0.0/33\"]\n",
       "'10.0.0.0/33' is not an address or CIDR range"},
      {"[compliance.hipaa]\nphi = [\"pool:ehr\", \"vm:12\"]\n",
       "key 'compliance.hipaa.phi': 'vm:12' is not a guest id"},
      {"[compliance.hipaa]\nphi = \"pool:ehr\"\n", "key 'compliance.hipaa.phi' must be a list"},
      {"[compliance.sox]\ndata = [\"/nodes/pve1\"]\n",
       "'/nodes/pve1' is not a pool, storage or guest"},
      {"[compliance.sox]\nphi = [\"pool:x\"]\n", "unknown key 'compliance.sox.phi'"},
  };
  for (const Case& c : cases) {
    WriteFile(config_, c.toml);
    RunResult r =
        RunProgram(kPveauditd, {"pveauditd", "--check-config", "--config", config_}, Env());
    EXPECT_EQ(r.code, 2) << r;
    EXPECT_TRUE(Contains(r.err, c.names)) << c.toml << r;
  }
}

}  // namespace
}  // namespace e2e

// End-to-end tests of the PostgreSQL store as a user configures it
// (`[store] url` and `passfile` in pveaudit.toml, docs/storage.md): pveam
// and pveauditd against a real PostgreSQL server that the tests start
// themselves (src/store/pg_test_server.h), compared with the same work on
// the SQLite store.
#include <sqlite3.h>
#include <sys/stat.h>

#include <cctype>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "e2e_util.h"
#include "store/pg_test_server.h"

namespace e2e {
namespace {

const std::string kPveauditd = PVEAUDITD_BIN;

class PgStoreTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    auto& server = pveaudit::PgTestServer::Shared();
    ASSERT_TRUE(server.error().empty()) << server.error();
    auto u = server.FreshSchemaUrl();
    ASSERT_TRUE(u.ok()) << u.status().message();
    url_ = u->url;
    password_ = u->password;
    passfile_ = root_ + "/pgpass";
    WriteFile(passfile_, "*:*:*:*:" + password_ + "\n");
    ASSERT_EQ(chmod(passfile_.c_str(), 0600), 0);
    sqlite_config_ = config_;
    pg_config_ = root_ + "/pg.toml";
    WriteFile(pg_config_, "[store]\nurl = \"" + url_ + "\"\npassfile = \"" + passfile_ + "\"\n");
    config_ = pg_config_;
  }

  // The events of `pveam access log --output-format json` (every field).
  nlohmann::json Log(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"access", "log",     "--output-format",
                                     "json",   "--limit", "1000000"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = Pveam(args);
    EXPECT_EQ(r.code, 0) << r;
    return Json(r);
  }

  std::string url_, password_, passfile_, sqlite_config_, pg_config_;
};

// Every command of the product page's CLI reads the configured PostgreSQL
// store, and sees there what it sees on SQLite after the same imports.
TEST_F(PgStoreTest, ImportLogVerifyAndStatusWorkOnTheConfiguredDatabase) {
  ImportStandard();
  // Nothing went to a SQLite store in the data dir.
  EXPECT_FALSE(std::filesystem::exists(DbPath()));
  const nlohmann::json pg = Log();
  ASSERT_EQ(pg.size(), 57u);

  RunResult v = Pveam({"access", "verify"});
  EXPECT_EQ(v.code, 0) << v;
  EXPECT_EQ(v.out.rfind("OK: 57 events, hash chain intact, head ", 0), 0u) << v;

  auto st = Status();
  EXPECT_EQ(st["events"], 57);
  ASSERT_TRUE(st.count("store")) << "status names the store";
  EXPECT_EQ(st["store"].get<std::string>().rfind("PostgreSQL store postgresql://", 0), 0u)
      << st["store"];

  // The same imports on SQLite give the same events, ids and chain head.
  const std::string head = st["chain_head"];
  config_ = sqlite_config_;
  ImportStandard();
  ASSERT_TRUE(std::filesystem::exists(DbPath()));
  EXPECT_EQ(Log(), pg);
  EXPECT_EQ(Status()["chain_head"], head);
  config_ = pg_config_;

  // Filters and aggregation go through the PostgreSQL backend too.
  for (const std::vector<std::string>& f : {std::vector<std::string>{"--user", "alice@pve"},
                                            {"--failed", "1"},
                                            {"--resource", "/vms/100"},
                                            {"--ip", "192.0.2.0/24"}}) {
    const nlohmann::json on_pg = Log(f);
    EXPECT_FALSE(on_pg.empty()) << f[0];
    config_ = sqlite_config_;
    EXPECT_EQ(Log(f), on_pg) << f[0];
    config_ = pg_config_;
  }
  RunResult c =
      Pveam({"access", "log", "--failed", "1", "--count", "1", "--output-format", "json"});
  config_ = sqlite_config_;
  RunResult c_sqlite =
      Pveam({"access", "log", "--failed", "1", "--count", "1", "--output-format", "json"});
  config_ = pg_config_;
  ASSERT_EQ(c.code, 0) << c;
  EXPECT_EQ(c.out, c_sqlite.out);
  EXPECT_FALSE(Json(c).empty()) << c;

  // Importing the same files again stores nothing twice.
  ImportStandard();
  EXPECT_EQ(Log().size(), 57u);
}

// pveauditd writes to the configured database: lines appended to a live
// access.log appear in `pveam access log`, once each, across a restart.
TEST_F(PgStoreTest, TheDaemonStoresLiveLinesInTheDatabase) {
  const std::string log = work_ + "/access.log";
  auto line = [](int i) {
    return "::ffff:192.0.2." + std::to_string(1 + i) +
           " - alice@pve [01/01/2025:00:00:" + (i < 10 ? "0" : "") + std::to_string(i) +
           " +0000] \"GET /api2/json/nodes/pve1/qemu/100/status/current?seq=" + std::to_string(i) +
           " HTTP/1.1\" 200 123\n";
  };
  std::string text;
  for (int i = 0; i < 20; ++i) text += line(i);
  WriteFile(log, text);
  auto wait_for = [&](size_t n) {
    for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
         std::chrono::steady_clock::now() < until;
         std::this_thread::sleep_for(std::chrono::milliseconds(100))) {
      RunResult r = Pveam({"access", "log", "--output-format", "json", "--limit", "1000000"});
      if (r.code == 0 && Json(r).size() >= n) return Json(r).size();
    }
    return Log().size();
  };
  std::vector<std::string> argv = {"pveauditd", "--data-dir", data_dir_, "--access-log",
                                   log,         "--node",     "pve1"};
  pid_t pid = SpawnQuiet(kPveauditd, argv, Env());
  ASSERT_GT(pid, 0);
  EXPECT_EQ(wait_for(20), 20u);
  EXPECT_EQ(StopProcess(&pid, SIGTERM), 0);

  text.clear();
  for (int i = 20; i < 30; ++i) text += line(i);
  AppendFile(log, text);
  pid = SpawnQuiet(kPveauditd, argv, Env());
  ASSERT_GT(pid, 0);
  EXPECT_EQ(wait_for(30), 30u);
  StopProcess(&pid, SIGTERM);
  const nlohmann::json all = Log();
  ASSERT_EQ(all.size(), 30u);
  std::set<std::string> seen;
  for (const auto& e : all) seen.insert(e.value("ip", ""));
  EXPECT_EQ(seen.size(), 30u) << "every line once";
  EXPECT_FALSE(std::filesystem::exists(DbPath()));
  RunResult v = Pveam({"access", "verify"});
  EXPECT_EQ(v.code, 0) << v;
}

// A password file others may read is refused with a message that names it
// (libpq alone would ignore it and fail later with "no password
// supplied"); nothing is stored.
TEST_F(PgStoreTest, APasswordFileOthersCanReadIsRefused) {
  ASSERT_EQ(chmod(passfile_.c_str(), 0644), 0);
  RunResult r = Pveam({"access", "import", "--format", "pveproxy", Fixture("access.log")});
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_TRUE(Contains(r.err, "[store] passfile " + passfile_)) << r;
  EXPECT_TRUE(Contains(r.err, "0600")) << r;
  ASSERT_EQ(chmod(passfile_.c_str(), 0600), 0);
  r = Pveam({"access", "status"});
  EXPECT_EQ(r.code, 1) << r;  // no store was created
  EXPECT_TRUE(Contains(r.err, "no event store")) << r;
}

// A wrong password is an error that never shows the password, in the
// config file's URL or elsewhere; pveauditd --check-config warns about a
// password in the config file.
TEST_F(PgStoreTest, APasswordInTheUrlIsNeverPrinted) {
  const std::string secret = "s3cr3t-Wrong-Passw0rd";
  std::string url = url_;
  const size_t at = url.find('@');
  ASSERT_NE(at, std::string::npos) << url;
  url.insert(at, ":" + secret);
  WriteFile(pg_config_, "store = \"" + url + "\"\n");
  RunResult r = Pveam({"access", "status"});
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_TRUE(Contains(r.err, "password authentication failed")) << r;
  EXPECT_TRUE(Contains(r.err, ":***@")) << r;
  EXPECT_FALSE(Contains(r.out + r.err, secret)) << r;

  RunResult c = RunProgram(kPveauditd, {"pveauditd", "--check-config", "--config", pg_config_}, {});
  EXPECT_TRUE(Contains(c.out + c.err, "the store URL holds a password")) << c;
  EXPECT_FALSE(Contains(c.out + c.err, secret)) << c;
}

// --check-config warns about a connection to another host that does not
// check the server's certificate, and only then.
TEST_F(PgStoreTest, ARemoteStoreWithoutVerifyFullIsWarnedAbout) {
  for (const auto& [url, warn] : std::vector<std::pair<std::string, bool>>{
           {"postgresql://pgdb.example.com/pveaudit", true},
           {"postgresql://node1@localhost.example.com:5432/pveaudit", true},
           {"postgresql:///pveaudit?host=pgdb.example.com", true},
           {"postgresql://pgdb.example.com/pveaudit?sslmode=require", true},
           {"postgresql://pgdb.example.com/pveaudit?sslmode=verify-full", false},
           {"postgresql://localhost:5432/pveaudit", false},
           {"postgresql://127.0.0.1/pveaudit", false},
           {"postgresql:///pveaudit?host=%2Fvar%2Frun%2Fpostgresql", false}}) {
    WriteFile(pg_config_, "store = \"" + url + "\"\n");
    RunResult c =
        RunProgram(kPveauditd, {"pveauditd", "--check-config", "--config", pg_config_}, {});
    EXPECT_EQ(Contains(c.out + c.err, "does not set sslmode=verify-full"), warn) << url << c;
  }
}

// A store URL that is not PostgreSQL's is a configuration error (exit 2)
// naming the key and the value, before anything is opened.
TEST_F(PgStoreTest, AStoreUrlOfAnotherKindIsAConfigError) {
  WriteFile(pg_config_, "\n[store]\nurl = \"mysql://db.example.com/pveaudit\"\n");
  RunResult r = Pveam({"access", "status"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(
      Contains(r.err, pg_config_ + ":3: key 'store.url': 'mysql://db.example.com/pveaudit'"))
      << r;
  WriteFile(pg_config_, "[store]\npassfile = \"" + passfile_ + "\"\n");
  r = Pveam({"access", "status"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "passfile is set without url")) << r;
}

}  // namespace
}  // namespace e2e

namespace e2e {
namespace {

// A cluster: three pveauditd processes (--node pve1..pve3), each with its
// own access.log and data dir, write at the same time into one database.
// The three logs hold the same requests, each node's to its own guests
// (lines that look alike but were logged on different nodes are different
// actions; a request to another node's guest would be one forwarded
// action, docs/correlation.md): every line is stored once per node, the
// ids are contiguous, and verify passes.
TEST_F(PgStoreTest, ThreeNodesWriteConcurrentlyIntoOneDatabase) {
  constexpr int kNodes = 3, kBatches = 5, kPerBatch = 200;  // 3,000 events
  auto line = [](int node, int i) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "::ffff:192.0.2.%d - alice@pve [01/01/2025:%02d:%02d:%02d +0000] \"GET "
                  "/api2/json/nodes/pve%d/qemu/100/status/current?seq=%d HTTP/1.1\" 200 123\n",
                  1 + i % 200, i / 3600, i / 60 % 60, i % 60, node, i);
    return std::string(buf);
  };
  std::vector<pid_t> pids;
  std::vector<std::string> logs;
  for (int n = 1; n <= kNodes; ++n) {
    const std::string node = "pve" + std::to_string(n);
    logs.push_back(work_ + "/" + node + "-access.log");
    WriteFile(logs.back(), "");
    pids.push_back(SpawnQuiet(kPveauditd,
                              {"pveauditd", "--data-dir", root_ + "/data-" + node, "--access-log",
                               logs.back(), "--node", node},
                              Env()));
    ASSERT_GT(pids.back(), 0);
  }
  // The nodes' lines arrive in batches, interleaved, while all three run.
  for (int b = 0; b < kBatches; ++b) {
    for (int n = 1; n <= kNodes; ++n) {
      std::string text;
      for (int i = b * kPerBatch; i < (b + 1) * kPerBatch; ++i) text += line(n, i);
      AppendFile(logs[n - 1], text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  const size_t total = size_t(kNodes) * kBatches * kPerBatch;
  nlohmann::json all;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
       std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(std::chrono::milliseconds(200))) {
    all = Log();
    if (all.size() >= total) break;
  }
  for (pid_t& p : pids) EXPECT_EQ(StopProcess(&p, SIGTERM), 0);
  all = Log();
  ASSERT_EQ(all.size(), total);
  std::set<std::pair<std::string, std::string>> seen;  // (node, resource with seq)
  std::set<int64_t> ids;
  for (const auto& e : all) {
    seen.insert({e.value("node", ""), e.value("detail", "") + e.value("time", "")});
    ids.insert(e.value("id", int64_t(0)));
  }
  EXPECT_EQ(seen.size(), total) << "every line once per node";
  EXPECT_EQ(*ids.begin(), 1);
  EXPECT_EQ(*ids.rbegin(), int64_t(total)) << "ids are contiguous";
  for (int n = 1; n <= kNodes; ++n)
    EXPECT_EQ(Log({"--node", "pve" + std::to_string(n)}).size(), total / kNodes);
  RunResult v = Pveam({"access", "verify"});
  EXPECT_EQ(v.code, 0) << v;
  EXPECT_TRUE(Contains(v.out, "OK: 3,000 events in 3 chains, every chain intact")) << v;
  for (int n = 1; n <= kNodes; ++n)
    EXPECT_TRUE(Contains(v.out, "  node pve" + std::to_string(n) + ": 1,000 events, head ")) << v;
  RunResult vj = Pveam({"access", "verify", "--output-format", "json"});
  EXPECT_EQ(vj.code, 0) << vj;
  const nlohmann::json j = Json(vj);
  ASSERT_EQ(j.size(), 1u) << vj;
  EXPECT_EQ(j[0]["intact"], 1);
  EXPECT_EQ(j[0]["events"], 3000);
  ASSERT_EQ(j[0]["chains"].size(), 3u) << vj;
  EXPECT_EQ(j[0]["chains"][1]["node"], "pve2");
  EXPECT_EQ(j[0]["chains"][1]["events"], 1000);
}

// The cluster seen as one (issue 11, "Sessions, forwarded requests and
// reports work across nodes without merging logs by hand"): pveauditd on
// pve1 and on pve2, each following its own access.log (pve2 its task
// index too), write into one database while each node's auth lines are
// imported. alice asks pve1's pveproxy about VM 200 on pve2, so both logs
// have her requests (docs/correlation.md): the log shows each once, merged
// as on a SQLite store that holds both nodes' files; sessions and the user
// report see the logins of both nodes.
TEST_F(PgStoreTest, ForwardedRequestsSessionsAndReportsSpanTheNodes) {
  const std::string t2 = work_ + "/pve2-tasks";
  std::filesystem::create_directories(t2);
  const std::string a1 = work_ + "/pve1-access.log", a2 = work_ + "/pve2-access.log";
  for (const std::string& f : {a1, a2, t2 + "/index"}) WriteFile(f, "");
  std::vector<pid_t> pids = {SpawnQuiet(kPveauditd,
                                        {"pveauditd", "--data-dir", root_ + "/data-pve1",
                                         "--access-log", a1, "--node", "pve1"},
                                        Env()),
                             SpawnQuiet(kPveauditd,
                                        {"pveauditd", "--data-dir", root_ + "/data-pve2",
                                         "--access-log", a2, "--tasks-dir", t2, "--node", "pve2"},
                                        Env())};
  for (pid_t p : pids) ASSERT_GT(p, 0);
  AppendFile(a2, ReadFile(kFixtures + "/forwarded-pve2.log"));
  AppendFile(t2 + "/index", ReadFile(kFixtures + "/forwarded-pve2-tasks"));
  AppendFile(a1, ReadFile(kFixtures + "/forwarded-pve1.log"));
  const std::string auth1 = work_ + "/pve1-auth.log", auth2 = work_ + "/pve2-auth.log";
  WriteFile(auth1,
            "Jan 10 09:00:00 pve1 pvedaemon[1201]: <root@pam> successful auth for user "
            "'alice@pve'\n");
  WriteFile(auth2,
            "Jan 10 10:00:00 pve2 pvedaemon[2202]: <root@pam> successful auth for user "
            "'bob@pve'\n");
  auto import_auth = [&] {
    for (const auto& [node, file] : {std::pair{"pve1", auth1}, std::pair{"pve2", auth2}}) {
      SetMtime(file, kAuthMtime);
      RunResult r = Pveam({"access", "import", "--format", "auth", "--node", node, file});
      ASSERT_EQ(r.code, 0) << r;
    }
  };
  import_auth();
  // 6 + 7 access.log lines, 1 task, 2 logins.
  const size_t stored = 16;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(std::chrono::milliseconds(200))) {
    RunResult st = Pveam({"access", "status", "--output-format", "json"});
    if (st.code == 0 && Json(st).value("events", 0) >= int(stored)) break;
  }
  for (pid_t& p : pids) EXPECT_EQ(StopProcess(&p, SIGTERM), 0);
  EXPECT_EQ(Status()["events"], int(stored));

  // Rows without ids (the two stores number the events differently).
  auto rows = [](const nlohmann::json& events) {
    std::vector<std::string> out;
    for (const auto& e : events) {
      std::string d = e.value("detail", "");
      for (size_t h = d.find('#'); h != std::string::npos; h = d.find('#', h + 1)) {
        size_t end = h + 1;
        while (end < d.size() && std::isdigit(static_cast<unsigned char>(d[end]))) ++end;
        d.erase(h + 1, end - h - 1);
      }
      out.push_back(e.value("time", "") + " " + e.value("node", "") + " " + e.value("ip", "") +
                    " " + e.value("user", "") + " " + e.value("action", "") + " " +
                    e.value("result", "") + " " + d);
    }
    return out;
  };
  const std::vector<std::string> cluster = rows(Log());
  int merged = 0;
  for (const std::string& r : cluster) merged += Contains(r, " executed on pve2");
  EXPECT_EQ(merged, 4) << "alice's start (the task absorbed the pair), read and config change, "
                          "and bob's delete ran on pve2: "
                       << ::testing::PrintToString(cluster);
  RunResult sessions = Pveam({"access", "sessions", "--all", "--start", "2025-01-10", "--end",
                              "2025-01-11", "--output-format", "json"});
  ASSERT_EQ(sessions.code, 0) << sessions;
  std::set<std::string> who;
  for (const auto& s : Json(sessions)) who.insert(s.value("user", "") + " " + s.value("node", ""));
  EXPECT_EQ(who, (std::set<std::string>{"alice@pve pve1", "bob@pve pve2"})) << sessions;
  auto last_logins = [&] {
    RunResult r = RunProgram(kPveum,
                             {"pveum", "user", "report", "--pve-dir", kFixtures + "/pve", "--now",
                              "2025-01-10T12:00:00Z", "--output-format", "json"},
                             Env());
    EXPECT_EQ(r.code, 0) << r;
    std::map<std::string, std::string> out;
    const nlohmann::json report = Json(r);
    for (const auto& u : report["users"])
      if (u.value("last_login", "never") != "never")
        out[u.value("userid", "")] = u.value("last_login", "");
    return out;
  };
  const auto logins = last_logins();
  EXPECT_EQ(logins, (std::map<std::string, std::string>{{"alice@pve", "2025-01-10T09:00:00Z"},
                                                        {"bob@pve", "2025-01-10T10:00:00Z"}}));

  // One SQLite store with both nodes' files imported gives the same.
  config_ = sqlite_config_;
  for (const auto& [node, file] :
       {std::pair{"pve1", a1}, std::pair{"pve2", a2}, std::pair{"pve2", t2 + "/index"}}) {
    RunResult r = Pveam({"access", "import", "--node", node, file});
    ASSERT_EQ(r.code, 0) << r;
  }
  import_auth();
  EXPECT_EQ(rows(Log()), cluster);
  EXPECT_EQ(last_logins(), logins);
  config_ = pg_config_;
  RunResult v = Pveam({"access", "verify"});
  EXPECT_EQ(v.code, 0) << v;
}

// When PostgreSQL is away (issue 11, "Faults"): pveauditd keeps every
// line in its local spool and forwards it once when the server is back.
class PgOutageTest : public PgStoreTest {
 protected:
  void SetUp() override {
    PgStoreTest::SetUp();
    // pveam shows the status of the node its config names.
    WriteFile(pg_config_, "node = \"pve1\"\n[store]\nurl = \"" + url_ + "\"\npassfile = \"" +
                              passfile_ + "\"\n");
  }
  void TearDown() override {
    if (halted_) (void)pveaudit::PgTestServer::Shared().Resume();
    PgStoreTest::TearDown();
  }
  void Halt(bool immediate) {
    ASSERT_TRUE(pveaudit::PgTestServer::Shared().Halt(immediate).ok());
    halted_ = true;
  }
  void Resume() {
    auto st = pveaudit::PgTestServer::Shared().Resume();
    ASSERT_TRUE(st.ok()) << st.message();
    halted_ = false;
  }
  // Access log line `i` of node pve1: each line's request names its own seq.
  static std::string Line(int i) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "::ffff:192.0.2.%d - alice@pve [01/01/2025:%02d:%02d:%02d +0000] \"GET "
                  "/api2/json/nodes/pve1/qemu/100/status/current?seq=%d HTTP/1.1\" 200 123\n",
                  1 + i % 200, i / 3600, i / 60 % 60, i % 60, i);
    return buf;
  }
  static void Append(const std::string& path, int from, int to) {
    std::string text;
    for (int i = from; i < to; ++i) text += Line(i);
    AppendFile(path, text);
  }
  // The daemon's status as `pveam access status` shows it (from the spool
  // while the database is away); null when there is none yet.
  nlohmann::json DaemonStatus(RunResult* out = nullptr) {
    RunResult r = Pveam({"access", "status", "--output-format", "json"});
    if (out) *out = r;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_object() && j.contains("daemon") ? j["daemon"] : nlohmann::json();
  }
  // Events `pveam access log` shows; 0 while it cannot (no tables yet).
  size_t Shown() {
    RunResult r = Pveam({"access", "log", "--output-format", "json", "--limit", "1000000"});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return r.code == 0 && j.is_array() ? j.size() : 0;
  }
  uint64_t Spooled() {
    nlohmann::json d = DaemonStatus();
    return d.is_object() && d.contains("spool") ? d["spool"].value("events", uint64_t(0)) : 0;
  }
  template <typename F>
  static bool WaitFor(F done, int seconds = 60) {
    for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
         std::chrono::steady_clock::now() < until;
         std::this_thread::sleep_for(std::chrono::milliseconds(100)))
      if (done()) return true;
    return false;
  }
  // Every stored line once: n events, seq 0..n-1 each once.
  void ExpectEachLineOnce(int n) {
    const nlohmann::json all = Log();
    EXPECT_EQ(all.size(), size_t(n));
    std::set<std::string> seen;
    for (const auto& e : all) seen.insert(e.value("detail", ""));
    EXPECT_EQ(seen.size(), size_t(n)) << "no line twice";
    for (int i = 0; i < n; i += 997)
      EXPECT_TRUE(
          seen.count("GET /api2/json/nodes/pve1/qemu/100/status/current?seq=" + std::to_string(i)))
          << "line " << i << " is stored";
    RunResult v = Pveam({"access", "verify"});
    EXPECT_EQ(v.code, 0) << v;
  }

  bool halted_ = false;
};

class PgShutdownTest : public PgOutageTest, public ::testing::WithParamInterface<bool> {};

// The server stopped in the middle of ingest (fast: as an administrator
// does; immediate: as a crash) and started again: nothing lost, nothing
// twice, the spool drains. During the outage the node's own commands show
// its spool and say so.
TEST_P(PgShutdownTest, IngestGoesOnIntoTheSpoolAndReachesTheDatabaseOnce) {
  const std::string log = work_ + "/access.log";
  WriteFile(log, "");
  Append(log, 0, 300);
  pid_t pid = SpawnQuiet(kPveauditd,
                         {"pveauditd", "--data-dir", data_dir_, "--access-log", log, "--node",
                          "pve1", "--pve-dir", work_ + "/no-pve"},
                         Env());
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(WaitFor([&] { return Shown() >= 300; }));

  Halt(GetParam());
  for (int chunk = 0; chunk < 3; ++chunk) {  // lines keep coming while it is down
    Append(log, 300 + chunk * 100, 400 + chunk * 100);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  ASSERT_TRUE(WaitFor([&] { return Spooled() == 300; })) << DaemonStatus().dump();
  RunResult st;
  nlohmann::json d = DaemonStatus(&st);
  EXPECT_TRUE(d["spool"].value("spooling", false)) << d.dump();
  EXPECT_FALSE(d["spool"].value("database_up", true));
  EXPECT_EQ(d["spool"].value("oldest", ""), "2025-01-01T00:05:00Z") << "line 300's time";
  EXPECT_TRUE(Contains(st.err, "showing this node's local spool only")) << st;
  RunResult text = Pveam({"access", "status"});
  EXPECT_TRUE(Contains(text.out,
                       "spool: 300 events not yet forwarded, the oldest of "
                       "2025-01-01T00:05:00Z"))
      << text;
  RunResult local = Pveam({"access", "log", "--output-format", "json", "--limit", "1000"});
  EXPECT_EQ(local.code, 0) << local;
  EXPECT_EQ(Json(local).size(), 300u) << "the spool holds the outage's lines";
  EXPECT_TRUE(Contains(local.err, "other nodes' events are not shown")) << local;

  Resume();
  ASSERT_TRUE(WaitFor([&] {
    nlohmann::json s = DaemonStatus();
    return s.contains("spool") && !s["spool"].value("spooling", true) && Shown() >= 600;
  })) << DaemonStatus().dump();
  Append(log, 600, 650);  // and on, straight into the database
  ASSERT_TRUE(WaitFor([&] { return Shown() >= 650; }));
  EXPECT_EQ(StopProcess(&pid, SIGTERM), 0);
  ExpectEachLineOnce(650);
  EXPECT_FALSE(std::filesystem::exists(data_dir_ + "/spool")) << "a drained spool is removed";
}

INSTANTIATE_TEST_SUITE_P(FastAndImmediate, PgShutdownTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Immediate" : "Fast"; });

// kill -9 of the node while it forwards its spool: the restarted node goes
// on from the spool cursor committed in the database.
TEST_F(PgOutageTest, AKillWhileForwardingTheSpoolLosesAndDoublesNothing) {
  constexpr int kLines = 60000;
  const std::string log = work_ + "/access.log";
  WriteFile(log, "");
  const std::vector<std::string> argv = {"pveauditd",    "--data-dir", data_dir_,
                                         "--access-log", log,          "--node",
                                         "pve1",         "--pve-dir",  work_ + "/no-pve"};
  pid_t pid = SpawnQuiet(kPveauditd, argv, Env());
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(WaitFor([&] { return DaemonStatus().contains("spool"); }));
  Halt(false);
  Append(log, 0, kLines);
  ASSERT_TRUE(WaitFor([&] { return Spooled() == kLines; })) << DaemonStatus().dump();

  PGconn* db = nullptr;
  auto count = [&]() -> long {
    if (!db || PQstatus(db) != CONNECTION_OK) {
      if (db) PQfinish(db);
      const char* keys[] = {"dbname", "password", nullptr};
      const char* vals[] = {url_.c_str(), password_.c_str(), nullptr};
      db = PQconnectdbParams(keys, vals, 1);
    }
    PGresult* r = PQexec(db, "SELECT count(*)::text FROM events");
    long n = PQresultStatus(r) == PGRES_TUPLES_OK ? std::atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
  };
  Resume();
  long at_kill = 0;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
       std::chrono::steady_clock::now() < until && at_kill <= 0;
       std::this_thread::sleep_for(std::chrono::milliseconds(5)))
    at_kill = count();
  ASSERT_EQ(StopProcess(&pid, SIGKILL), 128 + SIGKILL);
  at_kill = count();
  EXPECT_GT(at_kill, 0);
  EXPECT_LT(at_kill, kLines) << "killed while forwarding";
  ASSERT_TRUE(std::filesystem::exists(data_dir_ + "/spool"));

  pid = SpawnQuiet(kPveauditd, argv, Env());
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(WaitFor([&] {
    return count() >= kLines && !std::filesystem::exists(data_dir_ + "/spool");
  })) << count();
  EXPECT_EQ(StopProcess(&pid, SIGTERM), 0);
  PQfinish(db);
  ExpectEachLineOnce(kLines);
}

}  // namespace
}  // namespace e2e

namespace e2e {
namespace {

// pveam access migrate: a node's SQLite store carried over into the
// cluster store as that node's chain.
class PgMigrateTest : public PgStoreTest {
 protected:
  RunResult Migrate() {
    config_ = sqlite_config_;
    RunResult r = Pveam({"access", "migrate", "--to", url_, "--passfile", passfile_});
    config_ = pg_config_;
    return r;
  }
  std::string Head() { return Status()["chain_head"]; }
};

// Every event moves in its order with its chain hash, so the node's chain
// in the cluster store ends at the SQLite store's head; the file cursors
// move too (importing the same files again stores nothing); running it
// again moves only what came since.
TEST_F(PgMigrateTest, MovesANodesStoreWithItsChainAndCursorsOnce) {
  config_ = sqlite_config_;
  ImportStandard();
  const nlohmann::json before = Log();
  const std::string sqlite_head = Head();
  ASSERT_EQ(before.size(), 57u);

  RunResult m = Migrate();
  ASSERT_EQ(m.code, 0) << m;
  EXPECT_TRUE(Contains(m.out, "moved 57 events (1 to 57)")) << m;
  EXPECT_TRUE(Contains(m.out, "head " + sqlite_head + ", the same as the SQLite store's")) << m;
  EXPECT_EQ(Log(), before);
  EXPECT_EQ(Head(), sqlite_head);
  RunResult v = Pveam({"access", "verify"});
  EXPECT_EQ(v.code, 0) << v;
  EXPECT_TRUE(Contains(v.out, "OK: 57 events, hash chain intact, head " + sqlite_head)) << v;

  // The cursors came along: the same files again store nothing.
  ImportStandard();
  EXPECT_EQ(Log().size(), 57u);

  // Again: nothing to do.
  m = Migrate();
  EXPECT_EQ(m.code, 0) << m;
  EXPECT_TRUE(Contains(m.out, "nothing new to move")) << m;
  EXPECT_EQ(Log().size(), 57u);
}

TEST_F(PgMigrateTest, MovesOnlyWhatCameSinceAndContinuesTheChain) {
  config_ = sqlite_config_;
  RunResult r =
      Pveam({"access", "import", "--format", "pveproxy", "--node", "pve1", Fixture("access.log")});
  ASSERT_EQ(r.code, 0) << r;
  ASSERT_EQ(Migrate().code, 0);
  config_ = sqlite_config_;
  r = Pveam({"access", "import", "--format", "json", Fixture("events.jsonl")});
  ASSERT_EQ(r.code, 0) << r;
  const nlohmann::json all = Log();
  const std::string sqlite_head = Head();
  config_ = pg_config_;
  RunResult m = Migrate();
  ASSERT_EQ(m.code, 0) << m;
  EXPECT_TRUE(Contains(m.out, "moved 2 events (21 to 22)")) << m;
  EXPECT_EQ(Log(), all);
  EXPECT_EQ(Head(), sqlite_head);
}

// The node already wrote to the cluster store: carrying the SQLite chain
// over would have to renumber it; refused, nothing moved.
TEST_F(PgMigrateTest, RefusesWhenTheNodeAlreadyWroteToTheClusterStore) {
  config_ = sqlite_config_;
  ASSERT_EQ(Pveam({"access", "import", "--format", "json", Fixture("events.jsonl")}).code, 0);
  config_ = pg_config_;
  ASSERT_EQ(
      Pveam({"access", "import", "--format", "pveproxy", "--node", "pve1", Fixture("access.log")})
          .code,
      0);
  RunResult m = Migrate();
  EXPECT_EQ(m.code, 1) << m;
  EXPECT_TRUE(Contains(m.err, "already has 20 events in PostgreSQL store")) << m;
  EXPECT_EQ(Log().size(), 20u);
}

// A damaged SQLite store is not carried over.
TEST_F(PgMigrateTest, RefusesADamagedStore) {
  config_ = sqlite_config_;
  ImportStandard();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(DbPath().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "UPDATE dict SET value='mallory@pve' WHERE kind=1 AND value='alice@pve'",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  RunResult m = Migrate();
  EXPECT_EQ(m.code, 1) << m;
  EXPECT_TRUE(Contains(m.err, "is damaged, nothing was moved: event 10")) << m;
  EXPECT_EQ(Pveam({"access", "log"}).code, 0);
  EXPECT_TRUE(Log().empty());
}

TEST_F(PgMigrateTest, ABadUrlIsAUsageError) {
  config_ = sqlite_config_;
  RunResult r = Pveam({"access", "migrate", "--to", "mysql://u:secret@db/x"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "invalid value for --to: 'mysql://u:***@db/x' is not a PostgreSQL"))
      << r;
  EXPECT_FALSE(Contains(r.err, "secret")) << r;
}

}  // namespace
}  // namespace e2e

namespace e2e {
namespace {

// One alert engine for the cluster: three pveauditd on one database elect
// the one that runs it (an advisory lock). One failed login for
// mallory@pve on each node within a minute fires the failed-login rule
// (3 in 15 minutes) once. Then the node that runs the engine is killed
// (-9) in the middle of eve@pve's burst: another takes over within seconds
// from the committed cursor, and eve's burst fires once: not twice, not
// never.
TEST_F(PgStoreTest, OneAlertEngineForTheClusterFiresOnceAndAnotherNodeTakesOver) {
  const std::vector<std::string> tz = {"TZ=UTC"};
  ASSERT_EQ(Pveam({"access", "alert", "add", "--type", "failed-login"}, tz).code, 0);
  // Auth lines carry no year: this year's 8 January.
  auto failure = [](const std::string& node, int s, const std::string& user) {
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "Jan  8 12:%02d:%02d", s / 60, s % 60);
    return std::string(stamp) + " " + node +
           " pvedaemon[1234]: authentication failure; rhost=::ffff:203.0.113.9 user=" + user +
           " msg=Authentication failure\n";
  };
  std::map<std::string, pid_t> pids;
  std::map<std::string, std::string> auth;
  for (int n = 1; n <= 3; ++n) {
    const std::string node = "pve" + std::to_string(n);
    auth[node] = work_ + "/" + node + "-auth.log";
    WriteFile(auth[node], "");
    pids[node] = SpawnQuiet(kPveauditd,
                            {"pveauditd", "--data-dir", root_ + "/data-" + node, "--auth-log",
                             auth[node], "--node", node, "--pve-dir", work_ + "/no-pve"},
                            {"TZ=UTC", "PVEAUDIT_CONFIG=" + pg_config_});
    ASSERT_GT(pids[node], 0);
  }
  // Each node's own status; which one leads.
  PGconn* db = nullptr;
  {
    const char* keys[] = {"dbname", "password", nullptr};
    const char* vals[] = {url_.c_str(), password_.c_str(), nullptr};
    db = PQconnectdbParams(keys, vals, 1);
    ASSERT_EQ(PQstatus(db), CONNECTION_OK) << PQerrorMessage(db);
  }
  auto statuses = [&] {
    std::map<std::string, nlohmann::json> out;
    PGresult* r =
        PQexec(db, "SELECT key, value FROM settings WHERE key LIKE 'daemon.status.%' ORDER BY key");
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); ++i)
      out[std::string(PQgetvalue(r, i, 0)).substr(14)] =
          nlohmann::json::parse(PQgetvalue(r, i, 1), nullptr, false);
    PQclear(r);
    return out;
  };
  auto leaders = [&](const std::set<std::string>& alive) {
    std::set<std::string> out;
    for (auto& [node, j] : statuses())
      if (alive.count(node) && j.value("lead", false) && j.value("pid", 0) == pids[node])
        out.insert(node);
    return out;
  };
  auto alerts = [&] {
    RunResult r = Pveam({"access", "alerts", "--output-format", "json"}, tz);
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_array() ? j : nlohmann::json::array();
  };
  auto wait_alerts = [&](size_t n) {
    nlohmann::json a;
    for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
         std::chrono::steady_clock::now() < until;
         std::this_thread::sleep_for(std::chrono::milliseconds(100))) {
      a = alerts();
      if (a.size() >= n) break;
    }
    std::this_thread::sleep_for(std::chrono::seconds(3));  // a second firing would show by now
    return alerts();
  };
  std::set<std::string> alive = {"pve1", "pve2", "pve3"};
  std::set<std::string> lead;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       std::chrono::steady_clock::now() < until && statuses().size() < 3;)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  lead = leaders(alive);
  ASSERT_EQ(lead.size(), 1u) << "exactly one node runs the alert engine";

  AppendFile(auth["pve1"], failure("pve1", 0, "mallory@pve"));
  AppendFile(auth["pve2"], failure("pve2", 10, "mallory@pve"));
  AppendFile(auth["pve3"], failure("pve3", 20, "mallory@pve"));
  nlohmann::json a = wait_alerts(1);
  ASSERT_EQ(a.size(), 1u) << a.dump();
  EXPECT_EQ(a[0].value("user", ""), "mallory@pve");

  // eve's burst: the first failure, the engine's node killed, the rest.
  const std::string old = *lead.begin();
  std::vector<std::string> others;
  for (const std::string& n : alive)
    if (n != old) others.push_back(n);
  AppendFile(auth[others[0]], failure(others[0], 100, "eve@pve"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(StopProcess(&pids[old], SIGKILL), 128 + SIGKILL);
  alive.erase(old);
  AppendFile(auth[others[1]], failure(others[1], 110, "eve@pve"));
  AppendFile(auth[others[0]], failure(others[0], 120, "eve@pve"));
  const auto t0 = std::chrono::steady_clock::now();
  a = wait_alerts(2);
  ASSERT_EQ(a.size(), 2u) << a.dump();
  std::set<std::string> users;
  for (const auto& x : a) users.insert(x.value("user", ""));
  EXPECT_EQ(users, (std::set<std::string>{"mallory@pve", "eve@pve"}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(15))
      << "another node took over within seconds";
  lead = leaders(alive);
  EXPECT_EQ(lead.size(), 1u);
  EXPECT_FALSE(lead.count(old));
  PQfinish(db);
  for (auto& [node, pid] : pids)
    if (pid > 0) StopProcess(&pid, SIGTERM);
}

}  // namespace
}  // namespace e2e

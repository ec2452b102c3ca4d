// The HTTPS API of pveaudit-web end to end: the real program (WebMain, run
// as web_test_server with a test-only Authenticator that stands in for the
// real Proxmox ticket/token authentication, which the lead wires into
// pveaudit-web) on loopback, a free port, its own data dir with a store
// imported by the real pveam, a self-generated certificate that the client
// verifies, and HTTPS requests through cpp-httplib.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <regex>
#include <thread>

#include "e2e_util.h"
#include "server/http_server.h"

namespace {

using e2e::ReadFile;
using e2e::RunProgram;
using e2e::RunResult;
using e2e::WriteFile;
using nlohmann::json;

const std::string kServer = WEB_TEST_SERVER_BIN;
const std::string kApiDoc = std::string(SOURCE_DIR) + "/docs/api.md";
constexpr const char* kScriptUser = "<script>alert(1)</script>@pve";

// 2025-03-01T00:00:00Z
constexpr int64_t kBase = 1740787200;

// Event i of the fixture: every 4th is alice's, the rest bob's; every 8th
// (from 1) is on /vms/100, which alice may audit.
std::string UserOf(int i) { return i % 4 == 0 ? "alice@pve" : "bob@pve"; }
std::string ResourceOf(int i) {
  return i % 8 == 1 ? "/vms/100" : "/vms/" + std::to_string(200 + i % 3);
}
bool AliceSees(int i) { return UserOf(i) == "alice@pve" || ResourceOf(i) == "/vms/100"; }
constexpr int kEvents = 400;

std::string Rfc(int64_t s) {
  char buf[32];
  time_t t = time_t(s);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json EventLine(int64_t t, const std::string& user, const std::string& resource,
               const std::string& action = "vm:start") {
  return {{"time", Rfc(t)},   {"node", "pve1"},       {"user", user},        {"ip", "192.0.2.10"},
          {"action", action}, {"resource", resource}, {"result", "success"}, {"status", "OK"}};
}

class WebApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/pveaudit-web-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    data_ = root_ + "/data";
    // The Proxmox config of the e2e fixtures (users, ACL) for the reports;
    // it has no certificate, so pveaudit-web generates one.
    std::filesystem::copy(e2e::kFixtures + "/pve", root_ + "/pve",
                          std::filesystem::copy_options::recursive);
    std::filesystem::create_directories(root_ + "/www/js");
    WriteFile(root_ + "/www/index.html", "<!doctype html><title>pveaudit</title>");
    WriteFile(root_ + "/www/js/app.js", "console.log('ui');");
    WriteFile(root_ + "/www/style.css", "body{}");
    WriteFile(root_ + "/pveaudit.toml", "# defaults\n");
    std::string lines = EventLine(kBase - 86400, kScriptUser, "/vms/300").dump() + "\n";
    for (int i = 0; i < kEvents; ++i)
      lines += EventLine(kBase + i * 60, UserOf(i), ResourceOf(i)).dump() + "\n";
    WriteFile(root_ + "/events.jsonl", lines);
    RunResult r = Pveam({"access", "import", "--format", "json", root_ + "/events.jsonl"});
    ASSERT_EQ(r.code, 0) << r;
    json auth = {{"root-secret",
                  {{"userid", "root@pam"},
                   {"all", true},
                   {"privileges", {"Sys.Audit:/", "Sys.Audit:/access"}}}},
                 {"alice-secret",
                  {{"userid", "alice@pve"}, {"users", {"alice@pve"}}, {"resources", {"/vms/100"}}}},
                 {"script-secret", {{"userid", kScriptUser}, {"users", {kScriptUser}}}},
                 {"modify-secret",
                  {{"userid", "ops@pve"}, {"all", true}, {"privileges", {"Sys.Modify:/"}}}}};
    WriteFile(root_ + "/auth.json", auth.dump());
    StartServer();
  }

  static void TearDownTestSuite() {
    if (pid_ > 0) {
      EXPECT_EQ(e2e::StopProcess(&pid_, SIGTERM), 0) << "pveaudit-web did not exit cleanly";
    }
    if (out_fd_ >= 0) close(out_fd_);
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  static RunResult Pveam(std::vector<std::string> args) {
    args.insert(args.begin(), "pveam");
    return RunProgram(
        e2e::kPveam, args,
        {"PVEAUDIT_DATA_DIR=" + data_, "PVEAUDIT_CONFIG=" + root_ + "/pveaudit.toml"});
  }

  // Starts the server on a free port and reads the port from its first line.
  static void StartServer() {
    int out[2];
    ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, (root_ + "/server.log").c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
    std::vector<std::string> args = {
        "pveaudit-web", "--listen",  "127.0.0.1:0",           "--data-dir",
        data_,          "--pve-dir", root_ + "/pve",          "--www",
        root_ + "/www", "--config",  root_ + "/pveaudit.toml"};
    std::vector<std::string> env = e2e::MakeEnv({"PVEAUDIT_TEST_AUTH=" + root_ + "/auth.json"});
    auto argv = e2e::CStrings(args);
    auto envp = e2e::CStrings(env);
    ASSERT_EQ(posix_spawn(&pid_, kServer.c_str(), &fa, nullptr, argv.data(), envp.data()), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    out_fd_ = out[0];
    std::string line;
    char c;
    // Generating the key and opening the store take well under a second;
    // the generous limit is for a loaded machine.
    struct pollfd p = {out_fd_, POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      if (poll(&p, 1, 1000) <= 0) continue;
      if (read(out_fd_, &c, 1) != 1) break;
      line += c;
    }
    std::smatch m;
    ASSERT_TRUE(
        std::regex_search(line, m, std::regex("listening on https://127\\.0\\.0\\.1:(\\d+)")))
        << "first line: " << line << "\nlog: " << ReadFile(root_ + "/server.log");
    port_ = std::stoi(m[1]);
  }

  // A client that verifies the server against the generated certificate.
  static std::unique_ptr<httplib::SSLClient> Client() {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", port_);
    c->set_ca_cert_path((data_ + "/web-cert.pem").c_str());
    c->enable_server_certificate_verification(true);
    c->set_read_timeout(60, 0);
    c->set_connection_timeout(30, 0);
    return c;
  }

  static httplib::Headers As(const std::string& bearer) {
    if (bearer.empty()) return {};
    return {{"Authorization", "Bearer " + bearer}};
  }

  static httplib::Result Get(const std::string& path, const std::string& bearer) {
    return Client()->Get(path.c_str(), As(bearer));
  }

  static json Data(const httplib::Result& r) {
    EXPECT_TRUE(r) << "no response: " << httplib::to_string(r.error());
    if (!r) return nullptr;
    EXPECT_EQ(r->status, 200) << r->body;
    auto j = json::parse(r->body, nullptr, false);
    EXPECT_TRUE(j.is_object()) << r->body;
    return j.is_object() ? j["data"] : json();
  }

  static std::string root_, data_;
  static pid_t pid_;
  static int out_fd_, port_;
};

std::string WebApiTest::root_, WebApiTest::data_;
pid_t WebApiTest::pid_ = -1;
int WebApiTest::out_fd_ = -1, WebApiTest::port_ = 0;

// The server's own route table (the same code pveaudit-web runs).
std::vector<pveaudit::Route> Routes() {
  static pveaudit::Router router;
  static pveaudit::StorePool pool(pveaudit::StoreLocation{"/nonexistent", "", ""});
  static std::atomic<bool> stop{false};
  if (router.routes().empty())
    pveaudit::AddAuditRoutes(&router, &pool, pveaudit::WebOptions{}, &stop);
  return router.routes();
}

std::string Concrete(std::string pattern) {
  return std::regex_replace(pattern, std::regex("\\{[a-z_]+\\}"), "1");
}

TEST_F(WebApiTest, EveryRouteRefusesAMissingOrWrongCredential) {
  ASSERT_GE(Routes().size(), 10u);
  for (const auto& route : Routes()) {
    SCOPED_TRACE(route.method + " " + route.pattern);
    auto c = Client();
    for (const std::string& bearer : {std::string(), std::string("wrong-secret")}) {
      httplib::Result r =
          route.method == "GET"      ? c->Get(Concrete(route.pattern).c_str(), As(bearer))
          : route.method == "DELETE" ? c->Delete(Concrete(route.pattern).c_str(), As(bearer))
          : route.method == "PUT"
              ? c->Put(Concrete(route.pattern).c_str(), As(bearer), "{}", "application/json")
              : c->Post(Concrete(route.pattern).c_str(), As(bearer), "{}", "application/json");
      ASSERT_TRUE(r) << httplib::to_string(r.error());
      EXPECT_EQ(r->status, 401) << r->body;
      auto j = json::parse(r->body, nullptr, false);
      ASSERT_TRUE(j.is_object()) << r->body;
      EXPECT_TRUE(j["data"].is_null());
      EXPECT_FALSE(j.value("message", "").empty());
    }
  }
}

TEST_F(WebApiTest, RoutesNeedingAPrivilegeRefuseACallerWithoutIt) {
  size_t checked = 0;
  for (const auto& route : Routes()) {
    if (route.privilege.empty() || route.method != "GET") continue;
    SCOPED_TRACE(route.pattern);
    auto r = Get(Concrete(route.pattern), "alice-secret");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << r->body;
    EXPECT_NE(r->body.find(route.privilege), std::string::npos) << r->body;
    ++checked;
  }
  EXPECT_GE(checked, 5u);
}

TEST_F(WebApiTest, AFullAuditorSeesTheNewestEventsFirst) {
  json rows = Data(Get("/api2/json/audit/log?limit=5", "root-secret"));
  ASSERT_EQ(rows.size(), 5u);
  for (int k = 0; k < 5; ++k) {
    int i = kEvents - 1 - k;
    EXPECT_EQ(rows[k]["time"], Rfc(kBase + i * 60)) << rows.dump();
    EXPECT_EQ(rows[k]["user"], UserOf(i));
    // The JSON contract of `pveam access log --output-format json`.
    for (const char* key : {"id", "time", "node", "user", "ip", "action", "resource", "result",
                            "status", "source", "session", "detail", "origin", "line"})
      EXPECT_TRUE(rows[k].contains(key)) << key;
  }
}

TEST_F(WebApiTest, LimitCountsOnlyTheRowsTheCallerMaySeeAndPagesByEventId) {
  std::vector<int> visible;
  for (int i = kEvents - 1; i >= 0; --i)
    if (AliceSees(i)) visible.push_back(i);
  // Page by page with before=<id of the last row>: every visible event once,
  // newest first, nothing invisible.
  std::string next;
  size_t seen = 0;
  for (int page = 0; page < 4; ++page) {
    auto r = Get("/api2/json/audit/log?limit=10&action=vm" + (next.empty() ? "" : "&" + next),
                 "alice-secret");
    json rows = Data(r);
    ASSERT_EQ(rows.size(), 10u) << "page " << page;
    for (const auto& row : rows) {
      ASSERT_LT(seen, visible.size());
      int i = visible[seen++];
      EXPECT_EQ(row["time"], Rfc(kBase + i * 60)) << "page " << page;
      EXPECT_TRUE(row["user"] == "alice@pve" || row["resource"] == "/vms/100") << row.dump();
    }
    auto j = json::parse(r->body);
    ASSERT_TRUE(j.contains("next"));
    next = j["next"];
    EXPECT_EQ(next, "before=" + std::to_string(rows.back()["id"].get<int64_t>()));
  }
}

TEST_F(WebApiTest, CountGroupsCountOnlyVisibleEvents) {
  json rows = Data(Get("/api2/json/audit/log?count=1&group-by=user&action=vm", "alice-secret"));
  ASSERT_EQ(rows.size(), 2u) << rows.dump();
  EXPECT_EQ(rows[0]["user"], "alice@pve");
  EXPECT_EQ(rows[0]["count"], kEvents / 4);
  EXPECT_EQ(rows[1]["user"], "bob@pve");
  EXPECT_EQ(rows[1]["count"], kEvents / 8);
  json all = Data(Get("/api2/json/audit/log?count=1&group-by=user&action=vm", "root-secret"));
  ASSERT_EQ(all.size(), 3u) << all.dump();
  EXPECT_EQ(all[0]["user"], "bob@pve");
  EXPECT_EQ(all[0]["count"], kEvents * 3 / 4);
}

TEST_F(WebApiTest, AUserNameWithScriptComesBackAsEscapedJsonNeverHtml) {
  auto r = Get("/api2/json/audit/log?user=" + httplib::detail::encode_query_param(kScriptUser),
               "script-secret");
  json rows = Data(r);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["user"], kScriptUser);
  EXPECT_EQ(r->body.find('<'), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\\u003cscript\\u003e"), std::string::npos) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("application/json", 0), 0u);
  EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff");
  const std::string csp = r->get_header_value("Content-Security-Policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
}

TEST_F(WebApiTest, BadParametersAre400NamingParameterAndValue) {
  struct Case {
    std::string query, needle;
  } cases[] = {{"failed=2", "'2' for failed"},
               {"limit=0", "'0' for limit"},
               {"resource=vms", "'vms' for resource"},
               {"ip=300.1.1.1", "'300.1.1.1' for ip"},
               {"group-by=color&count=2", "'color' for group-by"},
               {"hour=1", "hour needs count"},
               {"before=abc", "'abc' for before"},
               {"colour=red", "unknown parameter 'colour'"},
               {"start=yesterdayish", "start"}};
  for (const auto& c : cases) {
    auto r = Get("/api2/json/audit/log?" + c.query, "root-secret");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << c.query << ": " << r->body;
    auto j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object());
    EXPECT_TRUE(j["data"].is_null());
    EXPECT_NE(j.value("message", "").find(c.needle), std::string::npos) << j.dump();
  }
}

TEST_F(WebApiTest, ReadRoutesAnswerForAFullAuditor) {
  json status = Data(Get("/api2/json/audit/status", "root-secret"));
  EXPECT_EQ(status["events"], kEvents + 1) << status.dump();
  json verify = Data(Get("/api2/json/audit/verify", "root-secret"));
  EXPECT_EQ(verify["intact"], 1) << verify.dump();
  EXPECT_EQ(verify["events"], kEvents + 1);
  EXPECT_TRUE(Data(Get("/api2/json/audit/rules", "root-secret")).is_array());
  EXPECT_TRUE(Data(Get("/api2/json/audit/alerts", "root-secret")).is_array());
  EXPECT_TRUE(Data(Get("/api2/json/audit/syslog", "root-secret")).is_array());
  EXPECT_TRUE(Data(Get("/api2/json/audit/notify", "root-secret")).is_array());
  EXPECT_TRUE(
      Data(Get("/api2/json/audit/sessions?all=1&start=2025-01-01&end=2025-04-01", "root-secret"))
          .is_array());
}

TEST_F(WebApiTest, ReportsAreThoseOfPveumAsJson) {
  json users = Data(Get("/api2/json/audit/report/users", "root-secret"));
  RunResult cli = RunProgram(
      e2e::kPveum,
      {"pveum", "user", "report", "--pve-dir", root_ + "/pve", "--output-format", "json"},
      {"PVEAUDIT_DATA_DIR=" + data_, "PVEAUDIT_CONFIG=" + root_ + "/pveaudit.toml"});
  ASSERT_EQ(cli.code, 0) << cli;
  json want = json::parse(cli.out, nullptr, false);
  ASSERT_TRUE(want.is_object()) << cli.out;
  ASSERT_TRUE(users.contains("users")) << users.dump();
  ASSERT_EQ(users["users"].size(), want["users"].size());
  for (size_t i = 0; i < want["users"].size(); ++i)
    EXPECT_EQ(users["users"][i]["userid"], want["users"][i]["userid"]);
  json acl = Data(Get("/api2/json/audit/report/acl", "root-secret"));
  for (const char* section : {"acl", "groups", "roles", "coverage", "warnings"})
    EXPECT_TRUE(acl.contains(section)) << section;
}

// GET stats counts what GET log lists for the caller: the sum of the
// hours, the failures and the top users are those of `count` over the same
// filters, for a full auditor and for a user who sees a part only.
TEST_F(WebApiTest, StatsCountWhatTheLogListsForTheCaller) {
  for (const char* who : {"root-secret", "alice-secret"}) {
    SCOPED_TRACE(who);
    json s = Data(Get("/api2/json/audit/stats?action=vm&top=5", who));
    ASSERT_TRUE(s.is_object());
    // Again: a full auditor's hours now come from the cache, the same.
    EXPECT_EQ(Data(Get("/api2/json/audit/stats?action=vm&top=5", who)), s);
    uint64_t listed = 0;
    for (const json& g : Data(Get("/api2/json/audit/log?count=1&group-by=action&action=vm", who)))
      listed += g["count"].get<uint64_t>();
    EXPECT_EQ(s["count"], listed);
    uint64_t hours = 0, heat = 0;
    for (const json& h : s["hours"]) hours += h["count"].get<uint64_t>();
    for (const json& row : s["heatmap"]["count"])
      for (const json& n : row) heat += n.get<uint64_t>();
    EXPECT_EQ(hours, listed);
    EXPECT_EQ(heat, listed);
    json failed =
        Data(Get("/api2/json/audit/log?count=1&group-by=user&action=vm&failed=1&limit=5", who));
    ASSERT_EQ(s["users"].size(), failed.size());
    for (size_t i = 0; i < failed.size(); ++i) EXPECT_EQ(s["users"][i], failed[i]);
  }
  auto r = Get("/api2/json/audit/stats?top=0", "root-secret");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("'0' for top"), std::string::npos) << r->body;
}

// Report downloads: the bytes pveum prints, as an attachment.
TEST_F(WebApiTest, ReportDownloadsAreTheBytesOfPveum) {
  const std::string now = "2025-03-01T00:00:00Z";
  const std::vector<std::string> env = {"PVEAUDIT_DATA_DIR=" + data_,
                                        "PVEAUDIT_CONFIG=" + root_ + "/pveaudit.toml"};
  for (const char* fmt : {"csv", "html"}) {
    auto r = Get(std::string("/api2/json/audit/report/users?now=") + now + "&output-format=" + fmt,
                 "root-secret");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Disposition"),
              std::string("attachment; filename=\"user-report.") + fmt + "\"");
    EXPECT_EQ(r->get_header_value("Content-Type")
                  .rfind(fmt == std::string("csv") ? "text/csv" : "text/html", 0),
              0u);
    RunResult cli = RunProgram(e2e::kPveum,
                               {"pveum", "user", "report", "--pve-dir", root_ + "/pve",
                                "--output-format", fmt, "--now", now},
                               env);
    ASSERT_EQ(cli.code, 0) << cli;
    EXPECT_EQ(r->body, cli.out);
  }
  auto bad = Get("/api2/json/audit/report/acl?output-format=pdf", "root-secret");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("'pdf' for output-format"), std::string::npos) << bad->body;
  auto q = Get("/api2/json/audit/report/quarterly?quarter=2025Q5", "root-secret");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->status, 400);
  EXPECT_NE(q->body.find("'2025Q5' for quarter"), std::string::npos) << q->body;
  json review =
      Data(Get("/api2/json/audit/report/quarterly?quarter=2025Q1&now=" + now, "root-secret"));
  ASSERT_TRUE(review.contains("findings")) << review.dump();
  EXPECT_EQ(review["review"][0]["quarter"], "2025Q1");
  EXPECT_TRUE(Data(Get("/api2/json/audit/report/reviews", "root-secret")).is_array());
}

// TLS 1.2 and 1.3 only: a client that offers at most TLS 1.1 is refused.
TEST_F(WebApiTest, OlderTlsThanOnePointTwoIsRefused) {
  auto handshake = [&](int max_version) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ctx, max_version);
    // Let the client offer old protocols at all (OpenSSL 3's default
    // security level would refuse them on the client side already).
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = false;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      SSL* ssl = SSL_new(ctx);
      SSL_set_fd(ssl, fd);
      ok = SSL_connect(ssl) == 1;
      SSL_free(ssl);
    }
    close(fd);
    SSL_CTX_free(ctx);
    return ok;
  };
  EXPECT_FALSE(handshake(TLS1_1_VERSION));
  EXPECT_FALSE(handshake(TLS1_VERSION));
  EXPECT_TRUE(handshake(TLS1_2_VERSION));
  EXPECT_TRUE(handshake(TLS1_3_VERSION));
}

TEST_F(WebApiTest, StaticFilesHaveTheirContentTypesAndTheSameHeaders) {
  struct Case {
    std::string path, type;
  } cases[] = {{"/", "text/html"}, {"/js/app.js", "text/javascript"}, {"/style.css", "text/css"}};
  for (const auto& c : cases) {
    auto r = Get(c.path, "");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << c.path;
    EXPECT_EQ(r->get_header_value("Content-Type").rfind(c.type, 0), 0u) << c.path;
    EXPECT_FALSE(r->get_header_value("Content-Security-Policy").empty());
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff");
  }
  auto r = Get("/../pveaudit.toml", "");
  ASSERT_TRUE(r);
  EXPECT_NE(r->status, 200);
}

TEST_F(WebApiTest, GeneratedCertificateIsPrivate) {
  struct stat st;
  ASSERT_EQ(stat((data_ + "/web-key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// An open page gets new events (and only those its user may see) within 2 s.
TEST_F(WebApiTest, EventStreamDeliversNewVisibleEventsWithinTwoSeconds) {
  struct Stream {
    std::mutex mu;
    std::string text;
    std::atomic<bool> done{false};
    std::unique_ptr<httplib::SSLClient> client;
    std::thread thread;
  };
  auto open = [&](const std::string& bearer) {
    auto s = std::make_shared<Stream>();
    s->client = Client();
    s->thread = std::thread([s, bearer] {
      s->client->Get("/api2/json/audit/events", As(bearer), [s](const char* d, size_t n) {
        std::lock_guard<std::mutex> l(s->mu);
        s->text.append(d, n);
        return !s->done;
      });
    });
    return s;
  };
  auto root = open("root-secret");
  auto alice = open("alice-secret");
  auto wait_for = [](const std::shared_ptr<Stream>& s, const std::string& needle, int seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> l(s->mu);
        if (s->text.find(needle) != std::string::npos) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  // A stream starts after the newest stored event, so one opened after an
  // append would miss it: append probes (that both may see) until one has
  // reached both streams; then both are surely open.
  bool open_both = false;
  for (int probe = 0; probe < 20 && !open_both; ++probe) {
    WriteFile(root_ + "/probe.jsonl",
              EventLine(kBase + 100000 + probe, "alice@pve", "/vms/100", "vm:stop").dump() + "\n");
    ASSERT_EQ(Pveam({"access", "import", "--format", "json", root_ + "/probe.jsonl"}).code, 0);
    open_both = wait_for(root, "vm:stop", 3) && wait_for(alice, "vm:stop", 3);
  }
  ASSERT_TRUE(open_both);
  // Now the measured part: one event alice may see, one she may not.
  std::string lines = EventLine(kBase + 100100, "bob@pve", "/vms/201", "vm:reset").dump() + "\n" +
                      EventLine(kBase + 100200, "alice@pve", "/vms/300", "vm:shutdown").dump() +
                      "\n";
  WriteFile(root_ + "/second.jsonl", lines);
  ASSERT_EQ(Pveam({"access", "import", "--format", "json", root_ + "/second.jsonl"}).code, 0);
  auto stored = std::chrono::steady_clock::now();
  EXPECT_TRUE(wait_for(root, "vm:shutdown", 30));
  auto latency = std::chrono::steady_clock::now() - stored;
  EXPECT_LT(latency, std::chrono::seconds(2))
      << std::chrono::duration_cast<std::chrono::milliseconds>(latency).count() << " ms";
  EXPECT_TRUE(wait_for(alice, "vm:shutdown", 30));
  {
    std::lock_guard<std::mutex> l(root->mu);
    EXPECT_NE(root->text.find("vm:reset"), std::string::npos);
    EXPECT_NE(root->text.find("event: event\ndata: {"), std::string::npos) << root->text;
  }
  {
    std::lock_guard<std::mutex> l(alice->mu);
    EXPECT_EQ(alice->text.find("vm:reset"), std::string::npos) << alice->text;
  }
  // A receiver ends its stream when it next gets data after `done`: one
  // more event that both see ends both (the client cannot interrupt a
  // blocked read from another thread).
  root->done = alice->done = true;
  WriteFile(root_ + "/last.jsonl",
            EventLine(kBase + 100300, "alice@pve", "/vms/100", "vm:start").dump() + "\n");
  ASSERT_EQ(Pveam({"access", "import", "--format", "json", root_ + "/last.jsonl"}).code, 0);
  for (auto& s : {root, alice}) s->thread.join();
}

// Fired alerts carry their acknowledgement: null, or who, when, the
// comment and the acknowledgement's event (a pveaudit:alert-ack event naming
// the alert). Acknowledging needs Sys.Modify on /; this stand-in server has
// no pveauditd behind it, so a caller who may gets the 503 of a missing
// control socket, and a bad parameter is 400 before that.
TEST_F(WebApiTest, AlertsCarryTheirAcknowledgementAndAckNeedsSysModify) {
  const int64_t t = kBase + 2 * 86400;
  auto alert = [&](int64_t at, const std::string& ip) {
    json e = EventLine(at, "", "/pveaudit/alerts/1", "alert:failed-login");
    e["ip"] = ip;
    e["source"] = "pveaudit-alert";
    e["detail"] = "rule 1 failed-login: 3 failed logins within 15m for " + ip + "; events 1,2,3";
    return e.dump() + "\n";
  };
  WriteFile(root_ + "/alerts.jsonl", alert(t, "203.0.113.1") + alert(t + 60, "203.0.113.2"));
  ASSERT_EQ(Pveam({"access", "import", "--format", "json", root_ + "/alerts.jsonl"}).code, 0);
  json alerts = Data(Get("/api2/json/audit/alerts", "root-secret"));
  ASSERT_EQ(alerts.size(), 2u) << alerts.dump(2);
  const int64_t older = alerts[1]["id"], newer = alerts[0]["id"];
  EXPECT_TRUE(alerts[0]["acknowledged"].is_null());
  json ack = EventLine(t + 120, "carol@pve", "/pveaudit/alerts/1", "pveaudit:alert-ack");
  ack["source"] = "pveaudit";
  ack["detail"] = "alert " + std::to_string(older) +
                  " acknowledged (alert:failed-login, rule 1); comment: <b>known</b>";
  WriteFile(root_ + "/ack.jsonl", ack.dump() + "\n");
  ASSERT_EQ(Pveam({"access", "import", "--format", "json", root_ + "/ack.jsonl"}).code, 0);
  alerts = Data(Get("/api2/json/audit/alerts", "root-secret"));
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0]["id"], newer);
  EXPECT_TRUE(alerts[0]["acknowledged"].is_null()) << alerts.dump(2);
  const json& a = alerts[1]["acknowledged"];
  ASSERT_TRUE(a.is_object()) << alerts.dump(2);
  EXPECT_EQ(a["by"], "carol@pve");
  EXPECT_EQ(a["time"], Rfc(t + 120));
  EXPECT_EQ(a["comment"], "<b>known</b>");
  EXPECT_TRUE(a["event"].is_number_integer() && a["event"].get<int64_t>() > older);
  // The same as pveam access alerts --output-format json.
  RunResult r = Pveam({"access", "alerts", "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  json cli = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(cli.is_array() && cli.size() == 2u) << r;
  EXPECT_EQ(cli[0]["acknowledged"], a);

  const std::string path = "/api2/json/audit/alerts/" + std::to_string(newer) + "/ack";
  httplib::Headers h = As("alice-secret");
  h.emplace("CSRFPreventionToken", "csrf");
  auto res = Client()->Post(path.c_str(), h, R"({"comment": "x"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403) << res->body;
  EXPECT_NE(res->body.find("Sys.Modify"), std::string::npos) << res->body;
  h = As("modify-secret");
  res = Client()->Post(path.c_str(), h, R"({"note": "x"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_NE(res->body.find("'note'"), std::string::npos) << res->body;
  res = Client()->Post(path.c_str(), h, R"({"comment": "x"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503) << res->body;
}

// docs/api.md lists exactly the router's routes, with their parameters and
// privileges, and nothing else.
TEST(WebApiDocTest, ApiDocMatchesTheRouteTable) {
  const std::string doc = ReadFile(kApiDoc);
  ASSERT_FALSE(doc.empty()) << kApiDoc;
  struct Documented {
    std::set<std::string> params;
    std::string privilege;
  };
  std::map<std::string, Documented> documented;
  std::string current;
  std::regex head("^### (GET|POST|PUT|DELETE) (/api2/\\S+)$");
  std::regex param("^\\| `([a-z_-]+)` \\|");
  std::regex priv("^Privilege: (.*)$");
  for (const std::string& line : e2e::Lines(doc)) {
    std::smatch m;
    if (std::regex_match(line, m, head)) {
      current = m[1].str() + " " + m[2].str();
      EXPECT_EQ(documented.count(current), 0u) << "documented twice: " << current;
      documented[current];
    } else if (line.rfind("## ", 0) == 0) {
      current.clear();
    } else if (!current.empty() && std::regex_search(line, m, param)) {
      documented[current].params.insert(m[1]);
    } else if (!current.empty() && std::regex_match(line, m, priv)) {
      documented[current].privilege = m[1];
    }
  }
  std::set<std::string> in_router;
  for (const auto& r : Routes()) {
    const std::string key = r.method + " " + r.pattern;
    in_router.insert(key);
    SCOPED_TRACE(key);
    ASSERT_EQ(documented.count(key), 1u) << "not in docs/api.md";
    std::set<std::string> params;
    for (const auto& p : r.params) params.insert(p.name);
    EXPECT_EQ(documented[key].params, params);
    const std::string want = r.open ? "none (this is the login)"
                             : r.privilege.empty()
                                 ? "any authenticated user; rows filtered by what they may see"
                                 : "`" + r.privilege + "` on `" + r.priv_path + "`";
    EXPECT_EQ(documented[key].privilege, want);
  }
  for (const auto& [key, d] : documented)
    EXPECT_EQ(in_router.count(key), 1u) << key << " is documented but not routed";
}

// The product binary: bad arguments are exit 2 naming the value, and until
// the real authentication is wired in it serves no API request.
TEST(PveauditWebTest, BadListenAddressIsAUsageErrorNamingIt) {
  RunResult r = RunProgram(PVEAUDIT_WEB_BIN, {"pveaudit-web", "--listen", "localhost:http"},
                           {"PVEAUDIT_CONFIG=/dev/null", "PVEAUDIT_DATA_DIR=/nonexistent"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_NE(r.err.find("'localhost:http'"), std::string::npos) << r;
  char tmpl[] = "/tmp/pveaudit-web-cfg-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string cfg = std::string(tmpl) + "/c.toml";
  WriteFile(cfg, "[web]\nlisten = \"192.0.2\"\n");
  r = RunProgram(PVEAUDIT_WEB_BIN, {"pveaudit-web", "--config", cfg}, {});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_NE(r.err.find("'192.0.2'"), std::string::npos) << r;
  EXPECT_NE(r.err.find("web.listen"), std::string::npos) << r;
  WriteFile(cfg, "# no [web]\n");
  r = RunProgram(PVEAUDIT_WEB_BIN, {"pveaudit-web", "--config", cfg}, {});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_NE(r.err.find("[web] listen"), std::string::npos) << r;
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}

// A stop right after the start ends the server: cpp-httplib ignores stop()
// until its listen loop runs, and pveaudit-web, sent SIGTERM at that moment,
// waited for ever (regression). In a child process, so a hang is a failure
// and not a stuck test.
TEST(PveauditWebTest, AStopRightAfterTheStartEndsTheServer) {
  char tmpl[] = "/tmp/pveaudit-web-stop-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pveaudit::WebOptions o;
    o.listen = "127.0.0.1:0";
    o.data_dir = dir;
    o.store.data_dir = dir;
    o.pve_dir = dir + "/no-pve";
    for (int i = 0; i < 50; ++i) {
      pveaudit::HttpServer server(o, nullptr);
      if (!server.Start().ok()) _exit(2);
      server.Stop();
    }
    _exit(0);
  }
  int status = -1;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (waitpid(child, &status, WNOHANG) == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (kill(child, 0) == 0 && waitpid(child, &status, WNOHANG) == 0) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    ADD_FAILURE() << "a server stopped right after its start did not end";
  } else {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// The certificate's order: configured, pveproxy-ssl, pve-ssl, generated; a
// pair whose certificate and key do not belong together is passed over.
TEST(WebCertificateTest, ChoosesConfiguredThenProxmoxThenGenerated) {
  char tmpl[] = "/tmp/pveaudit-web-cert-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  std::filesystem::create_directories(root + "/pve/local");
  std::filesystem::create_directories(root + "/data");
  pveaudit::WebOptions o;
  o.pve_dir = root + "/pve";
  o.data_dir = root + "/data";
  auto c = pveaudit::ChooseCertificate(o);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->origin, "generated");
  EXPECT_EQ(c->cert, root + "/data/web-cert.pem");
  const std::string first = ReadFile(c->cert);
  // Taken again on the next start, not replaced.
  c = pveaudit::ChooseCertificate(o);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(ReadFile(c->cert), first);
  const std::string local = root + "/pve/local/";
  ASSERT_TRUE(pveaudit::GenerateSelfSigned(local + "pve-ssl.pem", local + "pve-ssl.key").ok());
  c = pveaudit::ChooseCertificate(o);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->origin, "pve-ssl");
  // pveproxy-ssl with another pair's key: not a pair, passed over.
  ASSERT_TRUE(pveaudit::GenerateSelfSigned(local + "pveproxy-ssl.pem", root + "/other.key").ok());
  std::filesystem::copy_file(local + "pve-ssl.key", local + "pveproxy-ssl.key");
  c = pveaudit::ChooseCertificate(o);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->origin, "pve-ssl");
  std::filesystem::copy_file(root + "/other.key", local + "pveproxy-ssl.key",
                             std::filesystem::copy_options::overwrite_existing);
  c = pveaudit::ChooseCertificate(o);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->origin, "pveproxy-ssl");
  o.cert = local + "pve-ssl.pem";
  o.key = local + "pve-ssl.key";
  c = pveaudit::ChooseCertificate(o);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->origin, "configured");
  // A configured pair that does not work is an error naming it, never a
  // silent fallback.
  o.key = root + "/missing.key";
  c = pveaudit::ChooseCertificate(o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(root + "/missing.key"), std::string::npos);
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
}

}  // namespace

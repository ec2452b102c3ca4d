// End-to-end tests of the syslog export against a real rsyslog
// (rsyslog_harness.h): over UDP, TCP and TLS every stored event arrives,
// its CEF fields parse back to the stored values, and injection characters
// are escaped exactly as the CEF specification says; a server that is down
// loses nothing; SIGKILL of pveauditd while exporting loses nothing and
// repeats only what was in flight.
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "export/cef.h"
#include "rsyslog_harness.h"

namespace e2e {
namespace {

const std::string kPveauditd = PVEAUDITD_BIN;
using Clock = std::chrono::steady_clock;
using pveaudit::CefRecord;
using pveaudit::ParseCef;

// The CEF records in a file rsyslog wrote, by externalId (all of them, so
// repeats show).
std::multimap<uint64_t, CefRecord> Received(const std::string& file,
                                            std::map<uint64_t, std::string>* raw = nullptr) {
  std::multimap<uint64_t, CefRecord> out;
  for (const std::string& line : Lines(ReadFile(file))) {
    auto p = line.find("CEF:0|");
    if (p == std::string::npos) continue;
    CefRecord r;
    if (!ParseCef(line.substr(p), &r)) {
      ADD_FAILURE() << "not CEF: " << line;
      continue;
    }
    uint64_t id = std::stoull(r.Get("externalId"));
    if (raw) (*raw)[id] = line.substr(p);
    out.emplace(id, std::move(r));
  }
  return out;
}

class SyslogExportTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    std::signal(SIGPIPE, SIG_IGN);
    log_ = work_ + "/access.log";
    WriteFile(log_, "");
  }
  void TearDown() override {
    StopProcess(&daemon_, SIGKILL);
    rsyslog_.Stop();
    E2eTest::TearDown();
  }
  void StartDaemon(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"pveauditd", "--data-dir", data_dir_, "--access-log",
                                     log_,        "--node",     "pve1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    daemon_ = SpawnQuiet(kPveauditd, argv, Env());
    ASSERT_GT(daemon_, 0);
  }
  // Stored events by id (source "json" and "pveaudit": no view joins them).
  std::map<uint64_t, nlohmann::json> Stored() {
    RunResult r = Pveam({"access", "log", "--output-format", "json"});
    EXPECT_EQ(r.code, 0) << r;
    std::map<uint64_t, nlohmann::json> out;
    for (auto& e : Json(r)) out[e["id"].get<uint64_t>()] = e;
    return out;
  }
  // Waits until `file` holds every id in `ids`.
  bool WaitForIds(const std::string& file, const std::set<uint64_t>& ids,
                  std::chrono::seconds limit = std::chrono::seconds(90)) {
    auto until = Clock::now() + limit;
    while (Clock::now() < until) {
      auto got = Received(file);
      bool all = true;
      for (uint64_t id : ids) all &= got.count(id) > 0;
      if (all) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  // `pveam access syslog` JSON rows by name.
  std::map<std::string, nlohmann::json> Destinations() {
    RunResult r = Pveam({"access", "syslog", "--output-format", "json"});
    EXPECT_EQ(r.code, 0) << r;
    std::map<std::string, nlohmann::json> out;
    for (auto& d : Json(r)) out[d["name"]] = d;
    return out;
  }
  void WriteEvents(const std::string& path, int n, int from = 0) {
    std::string text;
    for (int i = from; i < from + n; ++i) {
      nlohmann::json e = {{"time", "2025-01-20T10:" + std::string(i % 60 < 10 ? "0" : "") +
                                       std::to_string(i % 60) + ":00Z"},
                          {"node", "pve" + std::to_string(1 + i % 3)},
                          {"user", "user" + std::to_string(i) + "@pve"},
                          {"ip", "192.0.2." + std::to_string(1 + i % 250)},
                          {"action", i % 4 == 0 ? "login" : "vm:start"},
                          {"resource", "/vms/" + std::to_string(100 + i)},
                          {"result", i % 3 == 0 ? "failure" : "success"},
                          {"status", "200"},
                          {"source", "json"},
                          {"detail", "POST /api2/json/nodes/pve1/qemu/" + std::to_string(100 + i) +
                                         "/status/start"}};
      text += e.dump() + "\n";
    }
    WriteFile(path, text);
  }
  void Import(const std::string& path) {
    RunResult r = Pveam({"access", "import", "--format", "json", path});
    ASSERT_EQ(r.code, 0) << r;
  }
  // Checks every CEF field against the stored event.
  static void ExpectSame(const nlohmann::json& e, const CefRecord& r, const std::string& where) {
    SCOPED_TRACE(where + " event " + e.dump());
    EXPECT_EQ(r.header[1], "Proxmox");
    EXPECT_EQ(r.header[2], "pveaudit");
    EXPECT_EQ(r.header[4], e["action"].get<std::string>());
    EXPECT_EQ(r.Get("externalId"), std::to_string(e["id"].get<uint64_t>()));
    EXPECT_EQ(r.Get("suser"), e["user"].get<std::string>());
    EXPECT_EQ(r.Get("src"), e["ip"].get<std::string>());
    EXPECT_EQ(r.Get("act"), e["action"].get<std::string>());
    EXPECT_EQ(r.Get("outcome"), e["result"].get<std::string>());
    EXPECT_EQ(r.Get("dvchost"), e["node"].get<std::string>());
    EXPECT_EQ(r.Get("cs1"), e["resource"].get<std::string>());
    EXPECT_EQ(r.Get("cs2"), e["status"].get<std::string>());
    EXPECT_EQ(r.Get("cs3"), e["source"].get<std::string>());
    EXPECT_EQ(r.Get("msg"), e["detail"].get<std::string>());
    // rt is epoch milliseconds of the stored time.
    const std::string t = e["time"];
    struct tm tm {};
    ASSERT_NE(strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr) << t;
    int64_t ms = int64_t(timegm(&tm)) * 1000;
    if (auto dot = t.find('.'); dot != std::string::npos)
      ms += std::stoll((t.substr(dot + 1, t.size() - dot - 2) + "000000").substr(0, 6)) / 1000;
    EXPECT_EQ(r.Get("rt"), std::to_string(ms));
  }

  std::string log_;
  pid_t daemon_ = -1;
  Rsyslog rsyslog_;
};

TEST_F(SyslogExportTest, EveryEventArrivesOverUdpTcpAndTlsWithExactCefEscaping) {
  TestPki pki;
  ASSERT_TRUE(pki.Make(work_)) << "openssl could not make the test certificates";
  ASSERT_TRUE(rsyslog_.Start(work_ + "/rsyslog", &pki)) << "rsyslogd did not start";

  // Ordinary events, plus user names, actions and requests that try to end
  // a field or forge one.
  WriteEvents(work_ + "/events.jsonl", 120);
  std::string text = ReadFile(work_ + "/events.jsonl");
  nlohmann::json evil = {{"time", "2025-01-20T11:00:00.250Z"},
                         {"node", "pve1"},
                         {"user", "evil|user=x\\y\nsuser=root@pam"},
                         {"ip", "203.0.113.9"},
                         {"action", "vm:start|10|x\\y"},
                         {"resource", "/vms/1|2=3"},
                         {"result", "failure"},
                         {"status", "500"},
                         {"source", "json"},
                         {"detail", "GET /api2/json/x?a=b|c\\d\r\n act=forged outcome=success"}};
  text += evil.dump() + "\n";
  WriteFile(work_ + "/events.jsonl", text);
  Import(work_ + "/events.jsonl");

  StartDaemon();
  // Enabled while pveauditd runs: picked up without a restart.
  auto enable = [&](const std::string& name, const std::string& proto, int port,
                    std::vector<std::string> extra) {
    std::vector<std::string> args = {"access", "syslog", "--enable", "--name", name, "--server",
                                     "127.0.0.1", "--port", std::to_string(port), "--protocol",
                                     proto, "--from-start",
                                     // These events are never joined: no hold (the views: below).
                                     "--hold", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = Pveam(args);
    ASSERT_EQ(r.code, 0) << r;
  };
  enable("u", "udp", rsyslog_.udp_port, {});
  enable("t", "tcp", rsyslog_.tcp_port, {});
  enable("s", "tls", rsyslog_.tls_port,
         {"--ca", pki.ca, "--cert", pki.client_cert, "--key", pki.client_key});

  auto stored = Stored();
  ASSERT_EQ(stored.size(), 124u);  // 121 imported + 3 audited enables
  std::set<uint64_t> ids;
  uint64_t evil_id = 0;
  for (auto& [id, e] : stored) {
    ids.insert(id);
    if (e["user"] == evil["user"]) evil_id = id;
  }
  ASSERT_NE(evil_id, 0u);
  const std::map<std::string, std::string> files = {
      {"udp", rsyslog_.udp_file}, {"tcp", rsyslog_.tcp_file}, {"tls", rsyslog_.tls_file}};
  for (const auto& [proto, file] : files) {
    ASSERT_TRUE(WaitForIds(file, ids)) << proto << ": not every event arrived:\n" << ReadFile(file);
    std::map<uint64_t, std::string> raw;
    auto got = Received(file, &raw);
    for (auto& [id, e] : stored) {
      auto it = got.find(id);
      ASSERT_NE(it, got.end());
      ExpectSame(e, it->second, proto);
    }
    // Exactly the spec's escaping, as it reached the server: header `\|`
    // and `\\`; extension `\=`, `\\`, `\n`, `\r`, and `|` as it is.
    const std::string& line = raw[evil_id];
    EXPECT_EQ(line.rfind("CEF:0|Proxmox|pveaudit|0.1.0|vm:start\\|10\\|x\\\\y|", 0), 0u)
        << proto << ": " << line;
    EXPECT_TRUE(Contains(line, " suser=evil|user\\=x\\\\y\\nsuser\\=root@pam "))
        << proto << ": " << line;
    EXPECT_TRUE(Contains(line, " cs1=/vms/1|2\\=3 ")) << proto << ": " << line;
    EXPECT_TRUE(
        Contains(line, " msg=GET /api2/json/x?a\\=b|c\\\\d\\r\\n act\\=forged outcome\\=success"))
        << proto << ": " << line;
    EXPECT_EQ(got.find(evil_id)->second.Get("outcome"), "failure");
    // The framing: RFC 3164 header over UDP, RFC 5424 over TCP and TLS.
    std::string whole = ReadFile(file);
    if (proto == "udp")
      EXPECT_TRUE(Contains(whole, "pveaudit: CEF:0|")) << whole.substr(0, 400);
    else
      EXPECT_TRUE(Contains(whole, " pveaudit - CEF - CEF:0|")) << whole.substr(0, 400);
  }

  // The state as `pveam access syslog` shows it: all sent, no error.
  auto until = Clock::now() + std::chrono::seconds(30);
  std::map<std::string, nlohmann::json> d;
  do {
    d = Destinations();
    bool done = d.size() == 3;
    for (auto& [n, x] : d)
      // The cursor is the store's own; the counters come from the daemon's
      // status, written once a second: wait for that too.
      done &= x["state"] == "ok" && x["undelivered"] == 0 && x["cursor"] == *ids.rbegin() &&
              x["delivered"].get<int64_t>() >= 124;
    if (done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (Clock::now() < until);
  for (auto& [n, x] : d) {
    EXPECT_EQ(x["state"], "ok") << x.dump();
    EXPECT_EQ(x["undelivered"], 0) << x.dump();
    EXPECT_EQ(x["cursor"], *ids.rbegin()) << x.dump();
    EXPECT_GE(x["delivered"].get<int64_t>(), 124) << x.dump();
  }
  RunResult st = Pveam({"access", "status"});
  EXPECT_TRUE(Contains(st.out, "syslog:t")) << st;

  // Disabling is audited and takes effect without a restart: once the
  // daemon reports it, new events go to the others only.
  RunResult r = Pveam({"access", "syslog", "--disable", "--name", "u"});
  ASSERT_EQ(r.code, 0) << r;
  RunResult audit =
      Pveam({"access", "log", "--action", "pveaudit:syslog-disable", "--output-format", "json"});
  ASSERT_EQ(audit.code, 0) << audit;
  ASSERT_EQ(Json(audit).size(), 1u) << audit;
  EXPECT_TRUE(Contains(Json(audit)[0]["detail"], "\"enabled\":false")) << audit;
  until = Clock::now() + std::chrono::seconds(30);
  while (Destinations()["u"]["state"] != "disabled" && Clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // Wait for the daemon itself to have dropped the loop (its status).
  until = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < until) {
    RunResult s = Pveam({"access", "status", "--output-format", "json"});
    bool off = false;
    if (s.code == 0)
      for (auto& x : Json(s)["daemon"].value("destinations", nlohmann::json::array()))
        if (x["destination"] == "u" && x["enabled"] == false) off = true;
    if (off) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  WriteEvents(work_ + "/more.jsonl", 5, 500);
  Import(work_ + "/more.jsonl");
  stored = Stored();
  std::set<uint64_t> all;
  for (auto& [id, e] : stored) all.insert(id);
  ASSERT_TRUE(WaitForIds(rsyslog_.tcp_file, all));
  ASSERT_TRUE(WaitForIds(rsyslog_.tls_file, all));
  auto udp = Received(rsyslog_.udp_file);
  EXPECT_EQ(udp.count(*all.rbegin()), 0u) << "a disabled destination got an event";
}

// The product page's command works exactly as written; bad arguments name
// the bad value, exit 2 and change nothing (no setting, no audit event).
TEST_F(SyslogExportTest, ProductPageCommandAndBadArguments) {
  RunResult r = Sh("pveam access syslog --enable --server syslog.example.com --port 514");
  ASSERT_EQ(r.code, 0) << r;
  auto d = Destinations();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d["default"]["server"], "syslog.example.com");
  EXPECT_EQ(d["default"]["port"], 514);
  EXPECT_EQ(d["default"]["protocol"], "udp");
  EXPECT_EQ(d["default"]["format"], "cef");
  EXPECT_EQ(d["default"]["events"], "all");
  EXPECT_EQ(d["default"]["state"], "waiting");  // no pveauditd in this test
  RunResult text = Sh("pveam access syslog");
  EXPECT_EQ(text.code, 0) << text;
  EXPECT_TRUE(Contains(text.out, "udp://syslog.example.com:514 cef all")) << text;
  for (const auto& line : Lines(text.out)) EXPECT_LE(line.size(), 80u) << line;
  RunResult log = Pveam({"access", "log", "--output-format", "json"});
  ASSERT_EQ(log.code, 0) << log;
  ASSERT_EQ(Json(log).size(), 1u) << log;
  EXPECT_EQ(Json(log)[0]["action"], "pveaudit:syslog-enable");
  EXPECT_EQ(Json(log)[0]["resource"], "/pveaudit/syslog/default");

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"pveam access syslog --enable --server h --port 0", "'0' for --port"},
      {"pveam access syslog --enable --server h --port 65536", "'65536' for --port"},
      {"pveam access syslog --enable --server h --protocol sctp", "'sctp' for --protocol"},
      {"pveam access syslog --enable --server h --format leef", "'leef' for --format"},
      {"pveam access syslog --enable --server h --events some", "'some' for --events"},
      {"pveam access syslog --enable --server 'a b'", "'a b' for --server"},
      {"pveam access syslog --enable --server h --protocol tls --ca /nonexistent.pem",
       "'/nonexistent.pem' for --ca"},
      {"pveam access syslog --enable --name x/y --server h", "'x/y' for --name"},
      {"pveam access syslog --enable --name new --port 514", "--server is required"},
      {"pveam access syslog --enable --server h --hold 9999", "'9999' for --hold"},
      {"pveam access syslog --server h", "--server needs --enable"},
      {"pveam access syslog --enable --disable", "exclude each other"},
      {"pveam access syslog --disable --name defualt", "did you mean 'default'"},
      {"pveam access syslog --enable --from-start", "new destination only"}};
  for (const auto& [line, want] : bad) {
    RunResult b = Sh(line);
    EXPECT_EQ(b.code, 2) << line << "\n" << b;
    EXPECT_TRUE(Contains(b.err, want)) << line << "\n" << b;
  }
  RunResult after = Pveam({"access", "log", "--output-format", "json"});
  EXPECT_EQ(Json(after).size(), 1u) << after;
  EXPECT_EQ(Destinations().size(), 1u);
}

// TLS verification is on: a server whose certificate another CA signed
// gets nothing, and the status says why; with the right CA it gets all.
TEST_F(SyslogExportTest, TlsServerWithAnUntrustedCertificateGetsNothing) {
  TestPki pki, other;
  std::filesystem::create_directories(work_ + "/other");
  ASSERT_TRUE(pki.Make(work_)) << "openssl could not make the test certificates";
  ASSERT_TRUE(other.Make(work_ + "/other"));
  ASSERT_TRUE(rsyslog_.Start(work_ + "/rsyslog", &pki)) << "rsyslogd did not start";
  StartDaemon();
  RunResult r = Pveam({"access", "syslog", "--enable", "--server", "127.0.0.1", "--port",
                       std::to_string(rsyslog_.tls_port), "--protocol", "tls", "--ca", other.ca,
                       "--cert", pki.client_cert, "--key", pki.client_key});
  ASSERT_EQ(r.code, 0) << r;
  auto until = Clock::now() + std::chrono::seconds(60);
  nlohmann::json d;
  while (Clock::now() < until) {
    d = Destinations()["default"];
    if (d["state"] == "failing") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(d["state"], "failing") << d.dump();
  EXPECT_TRUE(Contains(d["last_error"], "certificate verification failed")) << d.dump();
  EXPECT_EQ(d["cursor"], 0) << d.dump();
  EXPECT_TRUE(Received(rsyslog_.tls_file).empty()) << ReadFile(rsyslog_.tls_file);

  // The right CA: a change takes effect without a restart, and the events
  // held back meanwhile arrive.
  r = Pveam({"access", "syslog", "--enable", "--ca", pki.ca});
  ASSERT_EQ(r.code, 0) << r;
  std::set<uint64_t> ids;
  for (auto& [id, e] : Stored()) ids.insert(id);
  EXPECT_EQ(ids.size(), 2u);  // both audited changes
  EXPECT_TRUE(WaitForIds(rsyslog_.tls_file, ids)) << ReadFile(rsyslog_.tls_file);
}

// --format rfc5424: the event as RFC 5424 structured data, through a real
// rsyslog over TCP; `"`, `\` and `]` in a value are escaped with `\`.
TEST_F(SyslogExportTest, Rfc5424FormatCarriesTheEventAsStructuredData) {
  ASSERT_TRUE(rsyslog_.Start(work_ + "/rsyslog", nullptr));
  StartDaemon();
  RunResult r = Pveam({"access", "syslog", "--enable", "--server", "127.0.0.1", "--port",
                       std::to_string(rsyslog_.tcp_port), "--protocol", "tcp", "--format",
                       "rfc5424", "--hold", "0"});
  ASSERT_EQ(r.code, 0) << r;
  nlohmann::json e = {{"time", "2025-01-20T10:00:00Z"},
                      {"node", "pve1"},
                      {"user", "q\"u]o\\te@pve"},
                      {"ip", "192.0.2.1"},
                      {"action", "vm:stop"},
                      {"resource", "/vms/100"},
                      {"result", "success"},
                      {"status", "OK"},
                      {"source", "json"},
                      {"detail", "stop"}};
  WriteFile(work_ + "/e.jsonl", e.dump() + "\n");
  Import(work_ + "/e.jsonl");
  auto stored = Stored();
  ASSERT_EQ(stored.size(), 2u);
  const std::string id = std::to_string(stored.rbegin()->first);
  const std::string want = "[pveaudit@32473 id=\"" + id +
                           "\" time=\"2025-01-20T10:00:00Z\" node=\"pve1\" "
                           "user=\"q\\\"u\\]o\\\\te@pve\" ip=\"192.0.2.1\" action=\"vm:stop\"";
  auto until = Clock::now() + std::chrono::seconds(90);
  while (!Contains(ReadFile(rsyslog_.tcp_file), want) && Clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::string got = ReadFile(rsyslog_.tcp_file);
  EXPECT_TRUE(Contains(got, want)) << want << "\n" << got;
  EXPECT_TRUE(Contains(got, " pveaudit - audit [pveaudit@32473 ")) << got;
  EXPECT_FALSE(Contains(got, "CEF:0|")) << got;
}

// What is exported is what `pveam access log` shows: a failed login, read
// by pveauditd from the authentication log and pveproxy's access.log, is
// one event (the auth line with the ticket request's 401), and the request
// is not sent on its own.
TEST_F(SyslogExportTest, AFailedLoginFromTwoLogsIsExportedAsOneEvent) {
  ASSERT_TRUE(rsyslog_.Start(work_ + "/rsyslog", nullptr));
  const std::string auth = work_ + "/auth.log";
  WriteFile(auth, "");
  StartDaemon({"--auth-log", auth});
  RunResult r = Pveam({"access", "syslog", "--enable", "--server", "127.0.0.1", "--port",
                       std::to_string(rsyslog_.tcp_port), "--protocol", "tcp", "--hold", "3"});
  ASSERT_EQ(r.code, 0) << r;
  const time_t t = time(nullptr) - 600;
  struct tm tm;
  gmtime_r(&t, &tm);
  char a[256], b[256];
  std::strftime(a, sizeof a,
                "%b %e %H:%M:%S pve1 pvedaemon[1240]: authentication failure; "
                "rhost=::ffff:192.0.2.10 user=alice@pve msg=invalid credentials\n",
                &tm);
  const time_t t2 = t + 3;
  gmtime_r(&t2, &tm);
  std::strftime(b, sizeof b,
                "::ffff:192.0.2.10 - - [%d/%m/%Y:%H:%M:%S +0000] \"POST "
                "/api2/json/access/ticket HTTP/1.1\" 401 -\n",
                &tm);
  WriteFile(auth, a);
  WriteFile(log_, b);
  // Both lines stored, then every stored event decided (the cursor at the
  // end), then what arrived.
  auto until = Clock::now() + std::chrono::seconds(90);
  uint64_t last = 0;
  while (Clock::now() < until) {
    RunResult s = Pveam({"access", "status", "--output-format", "json"});
    last = s.code == 0 || s.code == 3 ? Json(s)["last_id"].get<uint64_t>() : 0;
    if (last >= 3 && Destinations()["default"]["cursor"] == last) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(last, 3u) << "the enable, the auth line and the request";
  ASSERT_EQ(Destinations()["default"]["cursor"], last);
  auto shown = Stored();  // what pveam access log shows
  ASSERT_EQ(shown.size(), 2u) << "the enable and one login";
  auto login = std::find_if(shown.begin(), shown.end(),
                            [](auto& kv) { return kv.second["action"] == "login"; });
  ASSERT_NE(login, shown.end());
  auto got = Received(rsyslog_.tcp_file);
  std::set<uint64_t> ids;
  for (auto& [id, rec] : got) ids.insert(id);
  std::set<uint64_t> want;
  for (auto& [id, e] : shown) want.insert(id);
  EXPECT_EQ(ids, want) << ReadFile(rsyslog_.tcp_file);
  auto it = got.find(login->first);
  ASSERT_NE(it, got.end());
  ExpectSame(login->second, it->second, "tcp");
  EXPECT_EQ(it->second.Get("cs2"), "401");
  EXPECT_EQ(it->second.Get("src"), "192.0.2.10");
  EXPECT_TRUE(Contains(it->second.Get("msg"), " request=#")) << it->second.Get("msg");
}

// The ticket request is logged after the hold (--hold 1, the line 3 s
// after the auth line went out alone): the login goes again, joined, with
// the same externalId; the request never goes as an event of its own. One
// login is one event at the SIEM (before the fix: two).
TEST_F(SyslogExportTest, ATicketRequestLoggedAfterTheHoldResendsTheLoginNotASecondEvent) {
  ASSERT_TRUE(rsyslog_.Start(work_ + "/rsyslog", nullptr));
  const std::string auth = work_ + "/auth.log";
  WriteFile(auth, "");
  StartDaemon({"--auth-log", auth});
  RunResult r = Pveam({"access", "syslog", "--enable", "--server", "127.0.0.1", "--port",
                       std::to_string(rsyslog_.tcp_port), "--protocol", "tcp", "--hold", "1"});
  ASSERT_EQ(r.code, 0) << r;
  const time_t t = time(nullptr) - 600;
  struct tm tm;
  gmtime_r(&t, &tm);
  char a[256], b[256];
  std::strftime(a, sizeof a,
                "%b %e %H:%M:%S pve1 pvedaemon[1240]: authentication failure; "
                "rhost=::ffff:192.0.2.11 user=bob@pve msg=invalid credentials\n",
                &tm);
  const time_t t2 = t + 3;
  gmtime_r(&t2, &tm);
  std::strftime(b, sizeof b,
                "::ffff:192.0.2.11 - - [%d/%m/%Y:%H:%M:%S +0000] \"POST "
                "/api2/json/access/ticket HTTP/1.1\" 401 -\n",
                &tm);
  WriteFile(auth, a);
  // The login goes out alone once its hold is over.
  uint64_t login = 0;
  auto until = Clock::now() + std::chrono::seconds(90);
  while (Clock::now() < until) {
    for (auto& [id, e] : Stored())
      if (e["action"] == "login") login = id;
    if (login && Received(rsyslog_.tcp_file).count(login)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(login, 0u);
  ASSERT_EQ(Received(rsyslog_.tcp_file).count(login), 1u) << ReadFile(rsyslog_.tcp_file);
  WriteFile(log_, b);
  uint64_t last = 0;
  until = Clock::now() + std::chrono::seconds(90);
  while (Clock::now() < until) {
    RunResult s = Pveam({"access", "status", "--output-format", "json"});
    last = s.code == 0 || s.code == 3 ? Json(s)["last_id"].get<uint64_t>() : 0;
    if (last > login && Destinations()["default"]["cursor"] == last) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(Destinations()["default"]["cursor"], last) << "not every event was decided";
  auto got = Received(rsyslog_.tcp_file);
  std::set<uint64_t> shown;
  for (auto& [id, e] : Stored()) shown.insert(id);
  for (auto& [id, rec] : got)
    EXPECT_TRUE(shown.count(id)) << "sent as an event of its own: " << id << "\n"
                                 << ReadFile(rsyslog_.tcp_file);
  ASSERT_EQ(got.count(login), 2u) << ReadFile(rsyslog_.tcp_file);
  auto [first, end] = got.equal_range(login);
  auto second = std::next(first);
  EXPECT_EQ(first->second.Get("cs2"), "") << "the first had no request yet";
  EXPECT_EQ(second->second.Get("cs2"), "401");
  EXPECT_TRUE(Contains(second->second.Get("msg"), " request=#")) << second->second.Get("msg");
}

TEST_F(SyslogExportTest, ServerDownLosesNothingAndStatusShowsTheBacklog) {
  ASSERT_TRUE(rsyslog_.Start(work_ + "/rsyslog", nullptr));
  StartDaemon();
  RunResult r = Pveam({"access", "syslog", "--enable", "--server", "127.0.0.1", "--port",
                       std::to_string(rsyslog_.tcp_port), "--protocol", "tcp", "--hold", "0"});
  ASSERT_EQ(r.code, 0) << r;
  WriteEvents(work_ + "/a.jsonl", 20, 0);
  Import(work_ + "/a.jsonl");
  std::set<uint64_t> ids;
  for (auto& [id, e] : Stored()) ids.insert(id);
  ASSERT_TRUE(WaitForIds(rsyslog_.tcp_file, ids));

  rsyslog_.Stop();
  WriteEvents(work_ + "/b.jsonl", 30, 100);
  Import(work_ + "/b.jsonl");
  // The daemon reports the backlog and the error while the server is down.
  auto until = Clock::now() + std::chrono::seconds(60);
  nlohmann::json d;
  while (Clock::now() < until) {
    d = Destinations()["default"];
    if (d["state"] == "failing" && d["undelivered"].get<int64_t>() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(d["state"], "failing") << d.dump();
  EXPECT_GT(d["undelivered"].get<int64_t>(), 0) << d.dump();
  EXPECT_FALSE(d["last_error"].get<std::string>().empty()) << d.dump();

  ASSERT_TRUE(rsyslog_.Restart());
  ids.clear();
  for (auto& [id, e] : Stored()) ids.insert(id);
  ASSERT_TRUE(WaitForIds(rsyslog_.tcp_file, ids)) << ReadFile(rsyslog_.tcp_file);
}

// SIGKILL of pveauditd at random moments while it exports over TCP and
// events keep being stored: every event arrives; repeats come only from
// batches that were written but whose cursor was not yet stored when the
// process died (at most one batch, 2,000 events, per kill). Prints the
// count. PVEAUDIT_KILLS sets the number of kills (default 50).
TEST_F(SyslogExportTest, SigkillWhileExportingLosesNothing) {
  int kills = 50;
  if (const char* k = std::getenv("PVEAUDIT_KILLS")) kills = std::max(1, std::atoi(k));
  ASSERT_TRUE(rsyslog_.Start(work_ + "/rsyslog", nullptr));
  RunResult r = Pveam({"access", "syslog", "--enable", "--server", "127.0.0.1", "--port",
                       std::to_string(rsyslog_.tcp_port), "--protocol", "tcp", "--from-start",
                       "--hold", "2"});
  ASSERT_EQ(r.code, 0) << r;
  std::random_device rd;
  unsigned seed = rd();
  RecordProperty("seed", std::to_string(seed));
  std::mt19937 rng(seed);
  // A backlog to export, and more lines appended to the followed access.log
  // while the daemon is killed and restarted.
  WriteEvents(work_ + "/backlog.jsonl", 3000);
  Import(work_ + "/backlog.jsonl");
  int seq = 0;
  for (int k = 0; k < kills; ++k) {
    std::string lines;
    for (int i = 0; i < 20; ++i, ++seq) {
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    "::ffff:192.0.2.7 - alice@pve [01/01/2025:00:%02d:%02d +0000] \"GET "
                    "/api2/json/nodes/pve1/qemu/100/status/current?seq=%d HTTP/1.1\" 200 12\n",
                    (seq / 60) % 60, seq % 60, seq);
      lines += buf;
    }
    FILE* f = std::fopen(log_.c_str(), "a");
    ASSERT_NE(f, nullptr);
    std::fputs(lines.c_str(), f);
    std::fclose(f);
    StartDaemon();
    if (k % 5 == 4) {
      // Every fifth daemon is killed once it has exported something, so
      // kills hit exporting daemons however slow a start is (sanitizer
      // builds start ~5x slower: random lifetimes alone missed every export).
      const size_t had = Received(rsyslog_.tcp_file).size();
      auto until = Clock::now() + std::chrono::seconds(20);
      while (Received(rsyslog_.tcp_file).size() == had && Clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 30));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 280));
    }
    StopProcess(&daemon_, SIGKILL);
  }
  // How far the killed daemons got (so a run shows the kills hit exports).
  const size_t before_last = Received(rsyslog_.tcp_file).size();
  // Otherwise no kill hit a daemon that was exporting: the test would
  // only prove the catch-up.
  EXPECT_GT(before_last, 0u) << "no killed daemon got to export anything";
  StartDaemon();  // the last one lives and catches up
  auto until = Clock::now() + std::chrono::seconds(120);
  std::set<uint64_t> ids;
  while (Clock::now() < until) {
    // Exit 3 until the new daemon published its first status: only the
    // store's part is used here.
    RunResult s = Pveam({"access", "status", "--output-format", "json"});
    ASSERT_TRUE(s.code == 0 || s.code == 3) << s;
    uint64_t last = Json(s)["last_id"];
    ids.clear();
    for (uint64_t i = 1; i <= last; ++i) ids.insert(i);
    if (int64_t(last) >= 3000 + seq + 1 &&
        WaitForIds(rsyslog_.tcp_file, ids, std::chrono::seconds(1)))
      break;
  }
  RunResult s = Pveam({"access", "status", "--output-format", "json"});
  const uint64_t last = Json(s)["last_id"];
  EXPECT_EQ(last, uint64_t(3000 + seq + 1)) << "every appended line and the enable are stored";
  auto got = Received(rsyslog_.tcp_file);
  std::vector<uint64_t> missing;
  uint64_t repeats = 0;
  for (uint64_t i = 1; i <= last; ++i) {
    size_t n = got.count(i);
    if (n == 0) missing.push_back(i);
    if (n > 1) repeats += n - 1;
  }
  for (auto& [id, rec] : got) EXPECT_LE(id, last) << "an event that was never stored arrived";
  EXPECT_TRUE(missing.empty()) << missing.size() << " events never arrived, first "
                               << missing.front();
  // One batch (2,000 events, src/daemon/export_runner.cc) in flight per kill.
  EXPECT_LE(repeats, uint64_t(kills) * 2000) << "more repeats than unacknowledged batches";
  std::printf(
      "[ export  ] %d kills: %llu events, %zu received before the last start, %llu repeated "
      "(in-flight batches)\n",
      kills, static_cast<unsigned long long>(last), before_last,
      static_cast<unsigned long long>(repeats));
  RecordProperty("repeats", std::to_string(repeats));
}

}  // namespace
}  // namespace e2e

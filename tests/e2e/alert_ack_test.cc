// End-to-end tests of acknowledging fired alerts (pveam access alert ack,
// the control socket's alert-ack): the real pveauditd follows an auth log
// the test appends to and fires alerts; the real pveam acknowledges them
// with pveauditd running and after it stopped, and the web process's
// client does so through the control socket. An acknowledgement is an
// audit event of its own (pveaudit:alert-ack) and `pveam access alerts`
// shows it; a bad id or a second ack is refused and stores nothing.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "admin/control_client.h"
#include "e2e_util.h"

namespace e2e {
namespace {

const std::string kPveauditd = PVEAUDITD_BIN;
using Clock = std::chrono::steady_clock;

// "Jan  8 12:00:SS" auth lines: a failed login of `user` from `ip`.
std::string AuthFailure(int s, const std::string& user, const std::string& ip) {
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "Jan  8 12:%02d:%02d", s / 60 % 60, s % 60);
  return std::string(stamp) + " pve1 pvedaemon[1234]: authentication failure; rhost=::ffff:" + ip +
         " user=" + user + " msg=Authentication failure\n";
}

class AlertAckTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    auth_ = work_ + "/auth.log";
    WriteFile(auth_, "");
    WriteFile(work_ + "/access.log", "");
  }
  void TearDown() override {
    StopProcess(&pid_, SIGKILL);
    E2eTest::TearDown();
  }
  RunResult Pv(std::vector<std::string> args) const { return Pveam(std::move(args), {"TZ=UTC"}); }

  void StartDaemon() {
    pid_ = SpawnQuiet(kPveauditd,
                      {"pveauditd", "--data-dir", data_dir_, "--auth-log", auth_, "--access-log",
                       work_ + "/access.log", "--node", "pve1", "--pve-dir", work_ + "/no-pve"},
                      E2eTest::Env({"TZ=UTC"}));
    ASSERT_GT(pid_, 0);
  }

  nlohmann::json Alerts() const {
    RunResult r = Pv({"access", "alerts", "--output-format", "json"});
    EXPECT_EQ(r.code, 0) << r;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_array() ? j : nlohmann::json::array();
  }

  // A rule firing at the 2nd failure per address, pveauditd running, and
  // one alert per address in `ips`; returns the alerts, oldest first.
  nlohmann::json FireAlerts(const std::vector<std::string>& ips) {
    EXPECT_EQ(Pv({"access", "alert", "add", "--type", "failed-login", "--threshold", "2",
                  "--group-by", "ip", "--window", "1h"})
                  .code,
              0);
    StartDaemon();
    int s = 0;
    std::string lines;
    for (const auto& ip : ips) {
      lines += AuthFailure(s, "mallory@pve", ip) + AuthFailure(s + 1, "mallory@pve", ip);
      s += 10;
    }
    AppendFile(auth_, lines);
    nlohmann::json a;
    for (auto until = Clock::now() + std::chrono::seconds(60); Clock::now() < until;) {
      a = Alerts();
      if (a.size() >= ips.size()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(a.size(), ips.size()) << a.dump(2);
    std::reverse(a.begin(), a.end());  // alerts lists newest first
    return a;
  }

  // The acknowledgement events, oldest first.
  nlohmann::json AckEvents() const {
    RunResult r =
        Pv({"access", "log", "--action", "pveaudit:alert-ack", "--output-format", "json"});
    EXPECT_EQ(r.code, 0) << r;
    return Json(r);
  }

  nlohmann::json AlertById(int64_t id) const {
    for (const auto& a : Alerts())
      if (a.value("id", int64_t(0)) == id) return a;
    return nullptr;
  }

  std::string auth_;
  pid_t pid_ = -1;
};

TEST_F(AlertAckTest, CliAckIsAnAuditEventShownByAlertsWithAndWithoutDaemon) {
  nlohmann::json fired = FireAlerts({"203.0.113.9", "203.0.113.10"});
  ASSERT_EQ(fired.size(), 2u);
  const int64_t first = fired[0]["id"], second = fired[1]["id"];
  for (const auto& a : fired)
    EXPECT_TRUE(a.contains("acknowledged") && a["acknowledged"].is_null());

  // Refused, naming the value, and nothing stored: not an alert (event 1
  // is the rule's pveaudit:alert-add), no number, an unknown id, a comment
  // with a newline.
  const int64_t events = EventCount();
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"1"}, "'1'"},
      {{"abc"}, "'abc'"},
      {{"999999"}, "'999999'"},
      {{std::to_string(first), "--comment", "two\nlines"}, "--comment"}};
  for (const auto& [args, needle] : bad) {
    std::vector<std::string> cmd = {"access", "alert", "ack"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    RunResult r = Pv(cmd);
    EXPECT_EQ(r.code, 2) << r;
    EXPECT_TRUE(Contains(r.err, needle)) << r;
  }
  EXPECT_EQ(EventCount(), events);
  EXPECT_EQ(AckEvents().size(), 0u);

  // Acknowledged while pveauditd runs.
  RunResult r = Pv({"access", "alert", "ack", std::to_string(first), "--comment",
                    "known scanner; blocked at the edge"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "alert " + std::to_string(first) + " acknowledged")) << r;
  nlohmann::json acks = AckEvents();
  ASSERT_EQ(acks.size(), 1u) << acks.dump(2);
  const nlohmann::json& e = acks[0];
  const std::string user = e.value("user", "");
  EXPECT_TRUE(user.size() > 4 && user.substr(user.size() - 4) == "@pam") << e.dump();
  EXPECT_EQ(e.value("source", ""), "pveaudit");
  EXPECT_EQ(e.value("resource", ""), fired[0].value("resource", ""));
  EXPECT_TRUE(Contains(e.value("detail", ""), "alert " + std::to_string(first) + " acknowledged"))
      << e.dump();
  EXPECT_TRUE(Contains(e.value("detail", ""), "; comment: known scanner; blocked at the edge"))
      << e.dump();

  nlohmann::json a = AlertById(first);
  ASSERT_TRUE(a.is_object());
  ASSERT_TRUE(a["acknowledged"].is_object()) << a.dump(2);
  EXPECT_EQ(a["acknowledged"].value("by", ""), user);
  EXPECT_EQ(a["acknowledged"].value("comment", ""), "known scanner; blocked at the edge");
  EXPECT_EQ(a["acknowledged"]["event"], e["id"]);
  EXPECT_EQ(a["acknowledged"].value("time", ""), e.value("time", ""));
  EXPECT_TRUE(AlertById(second)["acknowledged"].is_null());
  // The rest of the alert's JSON is as before.
  for (const char* k : {"id", "time", "action", "resource", "rule", "events", "detail"})
    EXPECT_EQ(a[k], fired[0][k]) << k;

  // Text: who, in the ACKED BY column; the other alert "-".
  r = Pv({"access", "alerts"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "ACKED BY")) << r;
  int with_user = 0;
  for (const auto& line : Lines(r.out)) with_user += Contains(line, user) ? 1 : 0;
  EXPECT_EQ(with_user, 1) << r;
  // YAML nests it; CSV flattens it.
  r = Pv({"access", "alerts", "--output-format", "yaml"});
  EXPECT_TRUE(Contains(r.out, "  acknowledged:\n    by: \"" + user + "\"\n")) << r;
  EXPECT_TRUE(Contains(r.out, "  acknowledged: null\n")) << r;
  r = Pv({"access", "alerts", "--output-format", "csv"});
  EXPECT_TRUE(Contains(r.out, "acknowledged_by,acknowledged_time,acknowledged_comment")) << r;

  // A second ack is refused, names who and stores nothing.
  const int64_t before = EventCount();
  r = Pv({"access", "alert", "ack", std::to_string(first)});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "already acknowledged by " + user)) << r;
  EXPECT_EQ(EventCount(), before);

  // Without pveauditd: written to the store directly.
  StopProcess(&pid_, SIGTERM);
  r = Pv({"access", "alert", "ack", std::to_string(second), "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  nlohmann::json out = Json(r);
  ASSERT_EQ(out.size(), 1u) << r;
  EXPECT_EQ(out[0]["alert"], second);
  EXPECT_EQ(out[0]["comment"], "");
  EXPECT_EQ(AckEvents().size(), 2u);
  EXPECT_EQ(AlertById(second)["acknowledged"].value("by", ""), user);
  // The chain still verifies with the acknowledgements in it.
  r = Pv({"access", "verify"});
  EXPECT_EQ(r.code, 0) << r;
}

TEST_F(AlertAckTest, AckThroughTheControlSocketNamesTheWebPrincipal) {
  nlohmann::json fired = FireAlerts({"198.51.100.7", "198.51.100.8"});
  ASSERT_EQ(fired.size(), 2u);
  const int64_t id = fired[0]["id"];
  pveaudit::ControlClient client(data_dir_ + "/control.sock", std::chrono::seconds(30));
  const nlohmann::json actor = {{"user", "alice@pve"}, {"ip", "192.0.2.7"}};
  nlohmann::json reply;
  // pveauditd answers the socket once it is up.
  for (auto until = Clock::now() + std::chrono::seconds(60); Clock::now() < until;) {
    if (client.Call({{"request", "ping"}}, &reply).ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Not an alert: "invalid", naming the id, nothing stored.
  const int64_t events = EventCount();
  ASSERT_TRUE(
      client.Call({{"request", "alert-ack"}, {"actor", actor}, {"params", {{"id", "1"}}}}, &reply)
          .ok());
  EXPECT_FALSE(reply.value("ok", true)) << reply.dump();
  EXPECT_EQ(reply.value("code", ""), "invalid");
  EXPECT_TRUE(Contains(reply.value("error", ""), "'1'")) << reply.dump();
  EXPECT_EQ(EventCount(), events);

  ASSERT_TRUE(client
                  .Call({{"request", "alert-ack"},
                         {"actor", actor},
                         {"params", {{"id", id}, {"comment", "on it"}}}},
                        &reply)
                  .ok());
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
  const int64_t event = reply.value("event_id", int64_t(0));
  EXPECT_GT(event, 0);
  nlohmann::json acks = AckEvents();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0]["id"], event);
  EXPECT_EQ(acks[0]["user"], "alice@pve");
  EXPECT_EQ(acks[0]["ip"], "192.0.2.7");
  EXPECT_TRUE(Contains(acks[0].value("detail", ""), "(via pveaudit-web from 192.0.2.7)"))
      << acks[0].dump();
  nlohmann::json a = AlertById(id);
  EXPECT_EQ(a["acknowledged"].value("by", ""), "alice@pve") << a.dump(2);
  EXPECT_EQ(a["acknowledged"].value("comment", ""), "on it") << a.dump(2);

  // Again: "conflict", naming who; nothing stored; nor by the CLI.
  ASSERT_TRUE(
      client.Call({{"request", "alert-ack"}, {"actor", actor}, {"params", {{"id", id}}}}, &reply)
          .ok());
  EXPECT_EQ(reply.value("code", ""), "conflict") << reply.dump();
  EXPECT_TRUE(Contains(reply.value("error", ""), "already acknowledged by alice@pve"))
      << reply.dump();
  RunResult r = Pv({"access", "alert", "ack", std::to_string(id)});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_EQ(AckEvents().size(), 1u);

  // The other alert acknowledged by four pveam and the socket at once: one
  // of them stores it, the others are refused (the store is written by
  // both processes; the lock makes check and append one step).
  const std::string other = std::to_string(fired[1]["id"].get<int64_t>());
  std::vector<std::thread> threads;
  std::vector<int> codes(4, -1);
  for (size_t i = 0; i < codes.size(); ++i)
    threads.emplace_back([&, i] { codes[i] = Pv({"access", "alert", "ack", other}).code; });
  nlohmann::json concurrent;
  bool called = client
                    .Call({{"request", "alert-ack"}, {"actor", actor}, {"params", {{"id", other}}}},
                          &concurrent)
                    .ok();
  for (auto& t : threads) t.join();
  ASSERT_TRUE(called);
  int stored = concurrent.value("ok", false) ? 1 : 0;
  for (int c : codes) {
    EXPECT_TRUE(c == 0 || c == 2) << c;
    stored += c == 0 ? 1 : 0;
  }
  EXPECT_EQ(stored, 1) << concurrent.dump();
  EXPECT_EQ(AckEvents().size(), 2u);
}

}  // namespace
}  // namespace e2e

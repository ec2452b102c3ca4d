// End-to-end tests of `pveam access notify` (the real pveam binary): the
// product page's command, secrets never shown, bad arguments (exit 2,
// nothing changed), audit events for every change, and a destination set
// by the command delivering, signed, to a real receiver process.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "../../tests/e2e/e2e_util.h"
#include "core/time_spec.h"
#include "export/webhook_sink.h"

namespace pveaudit {
namespace {

using e2e::Contains;
using e2e::RunResult;

class NotifyTest : public e2e::E2eTest {
 protected:
  void TearDown() override {
    if (receiver_ > 0) e2e::StopProcess(&receiver_, SIGTERM);
    E2eTest::TearDown();
  }

  // The destinations as `pveam access notify --output-format json` lists them.
  nlohmann::json List() {
    RunResult r = Pveam({"access", "notify", "--output-format", "json"});
    EXPECT_EQ(r.code, 0) << r;
    return Json(r);
  }

  // Events of pveaudit's own configuration changes.
  nlohmann::json ConfigEvents() {
    RunResult r = Pveam({"access", "log", "--output-format", "json"});
    EXPECT_EQ(r.code, 0) << r;
    nlohmann::json out = nlohmann::json::array();
    for (const std::string& line : e2e::Lines(r.out)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_array()) {
        for (auto& e : j)
          if (e["source"] == "pveaudit") out.push_back(e);
      } else if (j.is_object() && j["source"] == "pveaudit") {
        out.push_back(j);
      }
    }
    return out;
  }

  pid_t receiver_ = -1;
};

TEST_F(NotifyTest, ProductPageCommandWorksAsWritten) {
  RunResult r = Sh("pveam access notify --webhook https://hooks.example.com/siem");
  ASSERT_EQ(r.code, 0) << r;
  const std::string masked = MaskedWebhookUrl("https://hooks.example.com/siem");
  EXPECT_EQ(masked.rfind("https://hooks.example.com/... (sha256 ", 0), 0u) << masked;
  EXPECT_TRUE(Contains(r.out, "webhook 'default' enabled: " + masked)) << r;
  nlohmann::json l = List();
  ASSERT_EQ(l.size(), 1u) << l;
  EXPECT_EQ(l[0]["name"], "default");
  EXPECT_EQ(l[0]["url"], masked);
  EXPECT_EQ(l[0]["events"], "all");  // "Send: all access events"
  EXPECT_EQ(l[0]["state"], "enabled");
  EXPECT_EQ(l[0]["secret"], "");
  auto ev = ConfigEvents();
  ASSERT_EQ(ev.size(), 1u) << ev;
  EXPECT_EQ(ev[0]["action"], "pveaudit:notify-enable");
  EXPECT_EQ(ev[0]["resource"], "/pveaudit/notify/default");
  EXPECT_EQ(ev[0]["user"], "root@pam");  // the tests run as root
  EXPECT_TRUE(Contains(ev[0]["detail"], "before: (unset)")) << ev[0];
  // The same command again changes nothing and records nothing.
  r = Sh("pveam access notify --webhook https://hooks.example.com/siem");
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "unchanged")) << r;
  EXPECT_EQ(ConfigEvents().size(), 1u);
}

// A chat tool's token is part of its URL (Slack, Mattermost, Teams): the
// URL's path and query are neither shown nor recorded in the audit event,
// which can never be deleted; pveauditd still gets the whole URL.
// Regression: the URL was recorded in clear in the event's before/after.
TEST_F(NotifyTest, TokenInTheUrlIsNeverShownNorRecorded) {
  const std::string url = "https://hooks.slack.example/services/T0/B0/TOKENTOKENTOKEN?x=QUERYTOKEN";
  RunResult r = Pveam({"access", "notify", "--webhook", url, "--name", "chat"});
  ASSERT_EQ(r.code, 0) << r;
  RunResult all = Pveam({"access", "log", "--output-format", "json"});
  RunResult list = Pveam({"access", "notify"});
  for (const RunResult* x : {&r, &all, &list}) {
    EXPECT_FALSE(Contains(x->out, "TOKENTOKEN")) << *x;
    EXPECT_FALSE(Contains(x->out, "QUERYTOKEN")) << *x;
  }
  EXPECT_TRUE(Contains(list.out, "https://hooks.slack.example/... (sha256 ")) << list;
  StoreOptions so;
  so.read_only = true;
  auto store = OpenSqliteStore(data_dir_, so);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto dests = LoadWebhookDestinations(**store);
  ASSERT_TRUE(dests.ok()) << dests.status().ToString();
  ASSERT_EQ(dests->size(), 1u);
  EXPECT_EQ((*dests)[0]["url"], url);
  // A changed path is a change (and recorded, masked again).
  r = Pveam({"access", "notify", "--webhook", url + "2", "--name", "chat"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_FALSE(Contains(r.out, "unchanged")) << r;
  EXPECT_EQ(ConfigEvents().size(), 2u);
}

TEST_F(NotifyTest, SecretIsNeverShownNorRecorded) {
  const std::string secret = "hunter2-very-secret";
  e2e::WriteFile(work_ + "/secret", secret + "\n");
  RunResult r =
      Pveam({"access", "notify", "--webhook", "https://siem.example.com/in", "--name", "siem",
             "--secret-file", work_ + "/secret", "--events", "failed", "--batch", "500"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_FALSE(Contains(r.out + r.err, secret));
  r = Pveam({"access", "notify", "--webhook", "https://siem.example.com/in", "--name", "siem",
             "--secret", secret + "-2", "--events", "failed", "--batch", "500"});
  ASSERT_EQ(r.code, 0) << r;
  for (const char* fmt : {"text", "json", "yaml", "csv"}) {
    RunResult l = Pveam({"access", "notify", "--output-format", fmt});
    ASSERT_EQ(l.code, 0) << l;
    EXPECT_TRUE(Contains(l.out, "(set)")) << fmt << "\n" << l;
    EXPECT_FALSE(Contains(l.out + l.err, secret)) << fmt << "\n" << l;
  }
  nlohmann::json l = List();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0]["events"], "failed");
  EXPECT_EQ(l[0]["batch"], 500);
  auto ev = ConfigEvents();
  ASSERT_EQ(ev.size(), 2u) << ev;
  for (const auto& e : ev) EXPECT_FALSE(Contains(e.dump(), secret)) << e;
  EXPECT_TRUE(Contains(ev[0]["detail"], "secret set")) << ev[0];
  EXPECT_TRUE(Contains(ev[1]["detail"], "secret changed")) << ev[1];
  // pveauditd sees a new secret as a changed entry.
  EXPECT_TRUE(Contains(ev[0]["detail"], "after: {\"siem\":{")) << ev[0];
  EXPECT_TRUE(Contains(ev[0]["detail"], "\"secret_version\":1")) << ev[0];
  EXPECT_TRUE(Contains(ev[1]["detail"], "\"secret_version\":2")) << ev[1];
}

TEST_F(NotifyTest, BadArgumentsExitTwoNamingTheValueAndChangeNothing) {
  std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--webhook", "http://hooks.example.com/siem"},
       "invalid value 'http://hooks.example.com/siem' for --webhook: plain http refused"},
      {{"--webhook", "http://hooks.example.com/siem"}, "--allow-http"},
      {{"--webhook", "hooks.example.com/siem"},
       "invalid value 'hooks.example.com/siem' for --webhook: expected https://"},
      {{"--webhook", "https://h.example.com:0/"}, "port '0'"},
      {{"--webhook", "https://h.example.com/", "--events", "everything"}, "'everything'"},
      {{"--webhook", "https://h.example.com/", "--batch", "0"}, "'0' for --batch"},
      {{"--webhook", "https://h.example.com/", "--batch", "ten"}, "'ten' for --batch"},
      {{"--webhook", "https://h.example.com/", "--template", "discord"}, "'discord'"},
      {{"--webhook", "https://h.example.com/", "--template", "./none.json"}, "none.json"},
      {{"--webhook", "https://h.example.com/", "--ca", "/nonexistent.pem"}, "/nonexistent.pem"},
      {{"--webhook", "https://h.example.com/", "--secret-file", "/nonexistent"}, "/nonexistent"},
      {{"--webhook", "https://h.example.com/", "--secret", "a", "--secret-file", "/x"},
       "--secret-file"},
      {{"--webhook", "https://h.example.com/", "--name", "no/slash"}, "'no/slash'"},
      {{"--webhook", "https://h.example.com/", "--disable"}, "--disable"},
      {{"--events", "alerts"}, "--events needs --webhook"},
      {{"--disable", "--name", "nope"}, "'nope'"},
  };
  e2e::WriteFile(work_ + "/typo.json", "{\"text\": \"{{titel}}\"}");
  cases.push_back(
      {{"--webhook", "https://h.example.com/", "--template", work_ + "/typo.json"}, "'{{titel}}'"});
  auto check_all = [&]() {
    for (const auto& [args, named] : cases) {
      std::vector<std::string> a = {"access", "notify"};
      a.insert(a.end(), args.begin(), args.end());
      RunResult r = Pveam(a);
      EXPECT_EQ(r.code, 2) << args[0] << " " << (args.size() > 1 ? args[1] : "") << "\n" << r;
      EXPECT_TRUE(Contains(r.err, named)) << named << "\n" << r;
      EXPECT_EQ(r.out, "");
    }
  };
  check_all();
  EXPECT_FALSE(std::filesystem::exists(data_dir_));  // not even a store was created
  ASSERT_EQ(Sh("pveam access notify --webhook https://hooks.example.com/siem").code, 0);
  const nlohmann::json before = List();
  const size_t events = ConfigEvents().size();
  check_all();
  EXPECT_EQ(List(), before);
  EXPECT_EQ(ConfigEvents().size(), events);
}

TEST_F(NotifyTest, TemplateFileIsStoredWithItsAbsolutePath) {
  const std::string t = work_ + "/chat.json";
  e2e::WriteFile(t, "{\"content\": \"{{title}}\", \"n\": {{count}}}");
  RunResult r = Pveam({"access", "notify", "--webhook", "https://chat.example.com/hook", "--name",
                       "chat", "--template", t, "--events", "alerts"});
  ASSERT_EQ(r.code, 0) << r;
  nlohmann::json l = List();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0]["template"], t);
  EXPECT_EQ(l[0]["events"], "alerts");
  r = Pveam({"access", "notify", "--webhook", "https://chat.example.com/hook", "--name", "chat2",
             "--template", "slack"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(List()[1]["template"], "slack");
}

TEST_F(NotifyTest, DisableIsRecordedAndListed) {
  ASSERT_EQ(Sh("pveam access notify --webhook https://a.example.com/x --name a").code, 0);
  ASSERT_EQ(Sh("pveam access notify --webhook https://b.example.com/y --name b").code, 0);
  RunResult r = Sh("pveam access notify --disable --name a");
  ASSERT_EQ(r.code, 0) << r;
  nlohmann::json l = List();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0]["name"], "a");
  EXPECT_EQ(l[0]["state"], "disabled");
  EXPECT_EQ(l[1]["state"], "enabled");
  auto ev = ConfigEvents();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[2]["action"], "pveaudit:notify-disable");
  EXPECT_EQ(ev[2]["resource"], "/pveaudit/notify/a");
  EXPECT_TRUE(Contains(ev[2]["detail"], "\"enabled\":false")) << ev[2];
  // Listing one destination.
  r = Pveam({"access", "notify", "--name", "b", "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(Json(r).size(), 1u);
  // Disabling again records nothing.
  ASSERT_EQ(Sh("pveam access notify --disable --name a").code, 0);
  EXPECT_EQ(ConfigEvents().size(), 3u);
  // Re-enabling is --webhook again.
  ASSERT_EQ(Sh("pveam access notify --webhook https://a.example.com/x --name a").code, 0);
  EXPECT_EQ(List()[0]["state"], "enabled");
}

// The listing shows the cursor from the store, and the backlog and errors
// pveauditd publishes (daemon.status "destinations") when it does.
TEST_F(NotifyTest, ListShowsCursorLagAndDaemonErrors) {
  ASSERT_EQ(Sh("pveam access notify --webhook https://siem.example.com/x --name siem").code, 0);
  {
    auto store = OpenSqliteStore(data_dir_, {});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    std::vector<Event> more(5);
    for (size_t i = 0; i < more.size(); ++i) {
      more[i].time_us = NowUs() - 120 * 1000000LL;
      more[i].user = "alice@pve";
      more[i].action = "login";
      more[i].source = "test";
    }
    ASSERT_TRUE((*store)->Append(&more, {}, nullptr).ok());  // ids 2-6
    ASSERT_TRUE((*store)->PutConsumer(WebhookConsumerName("siem"), 3).ok());
  }
  nlohmann::json l = List();  // no pveauditd has run: the store's figures
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0]["cursor"], 3);
  EXPECT_EQ(l[0]["lag_events"], 3);
  EXPECT_TRUE(l[0]["lag_s"].is_null()) << l;
  EXPECT_TRUE(l[0]["errors"].is_null()) << l;
  {
    auto store = OpenSqliteStore(data_dir_, {});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    nlohmann::json status = {
        {"pid", 0},
        {"destinations",
         {{{"kind", "webhook"},
           {"destination", "siem"},
           {"consumer", "webhook:siem"},
           {"undelivered", 2},
           {"lag_s", 7},
           {"failures", 4},
           {"last_error", "webhook siem (https://siem.example.com:443/...): HTTP 503"}}}}};
    ASSERT_TRUE((*store)->PutSetting("daemon.status", status.dump(), "test").ok());
  }
  l = List();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0]["cursor"], 3);
  EXPECT_EQ(l[0]["lag_events"], 2);  // as pveauditd last published it
  EXPECT_EQ(l[0]["lag_s"], 7);
  EXPECT_EQ(l[0]["errors"], 4);
  EXPECT_TRUE(Contains(l[0]["last_error"], "HTTP 503")) << l;
  RunResult r = Pveam({"access", "notify"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "HTTP 503")) << r;
  for (const std::string& line : e2e::Lines(r.out)) EXPECT_LE(line.size(), 80u) << line;
}

TEST_F(NotifyTest, ConfiguredDestinationDeliversSigned) {
  const std::string port_file = work_ + "/port", record = work_ + "/record.jsonl";
  receiver_ = e2e::SpawnQuiet(
      WEBHOOK_RECEIVER_BIN,
      {"webhook_receiver", "--port-file", port_file, "--record", record, "--secret", "shared-key"},
      {});
  ASSERT_GT(receiver_, 0);
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(port_file) && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(std::filesystem::exists(port_file));
  const std::string port = std::to_string(std::stoi(e2e::ReadFile(port_file)));
  e2e::WriteFile(work_ + "/key", "shared-key\n");
  RunResult r = Pveam({"access", "notify", "--webhook", "http://127.0.0.1:" + port + "/hook",
                       "--allow-http", "--name", "local", "--secret-file", work_ + "/key"});
  ASSERT_EQ(r.code, 0) << r;
  // What pveauditd does with the setting: load, make the sink, deliver.
  StoreOptions so;
  so.read_only = true;
  auto store = OpenSqliteStore(data_dir_, so);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto dests = LoadWebhookDestinations(**store);
  ASSERT_TRUE(dests.ok()) << dests.status().ToString();
  ASSERT_EQ(dests->size(), 1u);
  auto sink = MakeWebhookSink((*dests)[0]);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  std::vector<Event> events;
  ASSERT_TRUE((*store)
                  ->ScanAfter(0, 0, kFieldAll,
                              [&](const Event& e) {
                                events.push_back(e);
                                return true;
                              })
                  .ok());
  ASSERT_EQ(events.size(), 1u);  // the notify-enable event itself
  pveaudit::Status st = (*sink)->Deliver(events);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto lines = e2e::Lines(e2e::ReadFile(record));
  ASSERT_EQ(lines.size(), 1u);
  auto rec = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(rec["signature"], "ok") << rec;
  EXPECT_EQ(rec["ids"], nlohmann::json({events[0].id}));
}

}  // namespace
}  // namespace pveaudit

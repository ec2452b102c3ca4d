// Tests of the webhook sink against a real receiver process
// (tests/webhook_receiver) on loopback, over HTTP and HTTPS with a CA and
// certificate made here with the openssl tool.
#include "export/webhook_sink.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "core/time_spec.h"

extern char** environ;

namespace pveaudit {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Waits up to `seconds` for `cond`; the machine may be loaded.
template <typename F>
bool WaitFor(F cond, int seconds = 60) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

std::vector<Event> MakeEvents(uint64_t first_id, size_t n) {
  std::vector<Event> v;
  for (size_t i = 0; i < n; ++i) {
    Event e;
    e.id = first_id + i;
    e.time_us = 1764500000000000LL + int64_t(i) * 1000000;
    e.node = "pve1";
    e.user = "alice@pve";
    e.ip = "192.0.2.7";
    e.action = i % 2 ? "vm:start" : "login";
    e.resource = i % 2 ? "/vms/100" : "";
    e.result = i % 3 == 0 ? Outcome::kFailure : Outcome::kSuccess;
    e.source = "pveproxy";
    e.detail = "POST /api2/json/access/ticket";
    v.push_back(e);
  }
  return v;
}

class WebhookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/webhook_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    record_ = dir_ + "/record.jsonl";
  }
  void TearDown() override {
    StopReceiver();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Starts the receiver with `args`; returns its port (0 on failure).
  int StartReceiver(std::vector<std::string> args, int port = 0) {
    const std::string port_file = dir_ + "/port";
    fs::remove(port_file);
    std::vector<std::string> all = {WEBHOOK_RECEIVER_BIN, "--port-file", port_file,
                                    "--record",           record_,       "--port",
                                    std::to_string(port)};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return 0;
    int status = 0;
    bool up = WaitFor([&] {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return true;  // exited: failure
      }
      return fs::exists(port_file);
    });
    if (!up || pid_ < 0) return 0;
    return std::stoi(ReadFile(port_file));
  }

  void StopReceiver() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  std::vector<nlohmann::json> Records() {
    std::vector<nlohmann::json> v;
    std::istringstream in(ReadFile(record_));
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) v.push_back(nlohmann::json::parse(line));
    return v;
  }

  static nlohmann::json Dest(const std::string& url) {
    return {{"name", "siem"}, {"url", url}, {"allow_http", true}};
  }

  std::unique_ptr<Sink> Make(const nlohmann::json& d) {
    auto s = MakeWebhookSink(d);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // A CA and a server certificate for 127.0.0.1 signed by it; returns false
  // when the openssl tool fails.
  bool MakeCertificates() {
    const std::string d = dir_;
    std::ofstream(d + "/ext.cnf") << "subjectAltName=IP:127.0.0.1\n";
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string cmds[] = {
        "openssl req -x509" + ec + " -keyout " + d + "/ca.key -out " + d +
            "/ca.pem -days 2 -subj /CN=pveaudit-test-ca",
        "openssl req" + ec + " -keyout " + d + "/srv.key -out " + d +
            "/srv.csr -subj /CN=127.0.0.1",
        "openssl x509 -req -in " + d + "/srv.csr -CA " + d + "/ca.pem -CAkey " + d +
            "/ca.key -set_serial 2 -days 2 -out " + d + "/srv.pem -extfile " + d + "/ext.cnf",
    };
    for (const auto& c : cmds)
      if (std::system((c + " >/dev/null 2>&1").c_str()) != 0) return false;
    return true;
  }

  std::string dir_, record_;
  pid_t pid_ = -1;
};

TEST_F(WebhookTest, DeliversSignedBatchWithIdempotencyKey) {
  int port = StartReceiver({"--secret", "s3cr3t", "--record-body"});
  ASSERT_GT(port, 0);
  auto d = Dest("http://127.0.0.1:" + std::to_string(port) + "/hook");
  d["secret"] = "s3cr3t";
  auto sink = Make(d);
  ASSERT_TRUE(sink);
  auto events = MakeEvents(41, 3);
  Status st = sink->Deliver(events);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto rec = Records();
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0]["signature"], "ok");
  EXPECT_EQ(rec[0]["status"], 200);
  EXPECT_EQ(rec[0]["path"], "/hook");
  EXPECT_EQ(rec[0]["ids"], nlohmann::json({41, 42, 43}));
  EXPECT_EQ(rec[0]["key"], WebhookIdempotencyKey("siem", 41, 43));
  // The body holds the events in the contract of `pveam access log`.
  auto body = nlohmann::json::parse(rec[0]["body"].get<std::string>());
  ASSERT_EQ(body["events"].size(), 3u);
  EXPECT_EQ(body["events"][0]["user"], "alice@pve");
  EXPECT_EQ(body["events"][0]["result"], "failure");
  EXPECT_EQ(body["events"][1]["action"], "vm:start");
  EXPECT_EQ(body["idempotency_key"], rec[0]["key"]);
  // The secret never shows in the description used by logs.
  EXPECT_EQ(sink->Describe().find("s3cr3t"), std::string::npos);
  EXPECT_NE(sink->Describe().find("signed"), std::string::npos);
}

TEST_F(WebhookTest, WrongSecretIsRefusedByReceiver) {
  int port = StartReceiver({"--secret", "right"});
  ASSERT_GT(port, 0);
  auto d = Dest("http://127.0.0.1:" + std::to_string(port) + "/");
  d["secret"] = "wrong";
  auto sink = Make(d);
  ASSERT_TRUE(sink);
  auto events = MakeEvents(1, 1);
  Status st = sink->Deliver(events);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("401"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("wrong"), std::string::npos) << st.message();
  ASSERT_EQ(Records().size(), 1u);
  EXPECT_EQ(Records()[0]["signature"], "bad");
}

TEST_F(WebhookTest, FailingReceiverIsTransientAndResendKeepsKey) {
  int port = StartReceiver({"--fail-first", "2"});
  ASSERT_GT(port, 0);
  auto sink = Make(Dest("http://127.0.0.1:" + std::to_string(port) + "/"));
  ASSERT_TRUE(sink);
  auto events = MakeEvents(7, 5);
  for (int i = 0; i < 2; ++i) {
    Status st = sink->Deliver(events);
    EXPECT_EQ(st.code(), Status::Code::kIOError) << st.ToString();
    EXPECT_NE(st.message().find("HTTP 500"), std::string::npos) << st.message();
    EXPECT_EQ(sink->RetryAfterUs(), 0);
    sink->Reset();
  }
  Status st = sink->Deliver(events);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto rec = Records();
  ASSERT_EQ(rec.size(), 3u);
  for (const auto& r : rec) EXPECT_EQ(r["key"], WebhookIdempotencyKey("siem", 7, 11));
  EXPECT_EQ(rec[2]["status"], 200);
  // Another batch has another key.
  auto more = MakeEvents(12, 1);
  ASSERT_TRUE(sink->Deliver(more).ok());
  EXPECT_NE(Records().back()["key"], rec[0]["key"]);
}

TEST_F(WebhookTest, TooManyRequestsHonoursRetryAfter) {
  int port = StartReceiver({"--retry-after-first", "1", "--retry-after", "7"});
  ASSERT_GT(port, 0);
  auto sink = Make(Dest("http://127.0.0.1:" + std::to_string(port) + "/"));
  ASSERT_TRUE(sink);
  auto events = MakeEvents(1, 2);
  Status st = sink->Deliver(events);
  EXPECT_EQ(st.code(), Status::Code::kBusy) << st.ToString();
  EXPECT_NE(st.message().find("429"), std::string::npos);
  EXPECT_EQ(sink->RetryAfterUs(), 7 * 1000000);
  st = sink->Deliver(events);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(sink->RetryAfterUs(), 0);
}

TEST_F(WebhookTest, RetryAfterHttpDate) {
  int64_t now = 1764500000LL * 1000000;  // Sun, 30 Nov 2025 10:53:20 GMT
  EXPECT_EQ(ParseRetryAfter("120", now), 120 * 1000000LL);
  EXPECT_EQ(ParseRetryAfter("0", now), 0);
  EXPECT_EQ(ParseRetryAfter("Sun, 30 Nov 2025 10:54:00 GMT", now), 40 * 1000000LL);
  EXPECT_EQ(ParseRetryAfter("Sun, 30 Nov 2025 10:00:00 GMT", now), 0);  // past
  EXPECT_EQ(ParseRetryAfter("99999999", now), 3600 * 1000000LL);        // capped
  EXPECT_EQ(ParseRetryAfter("soon", now), -1);
  EXPECT_EQ(ParseRetryAfter("", now), -1);
}

TEST_F(WebhookTest, BadRequestIsARefusalWithTheAnswer) {
  int port = StartReceiver({"--refuse"});
  ASSERT_GT(port, 0);
  auto sink = Make(Dest("http://127.0.0.1:" + std::to_string(port) + "/"));
  ASSERT_TRUE(sink);
  auto events = MakeEvents(1, 1);
  Status st = sink->Deliver(events);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.code(), Status::Code::kBusy);
  EXPECT_NE(st.code(), Status::Code::kIOError);
  EXPECT_NE(st.message().find("HTTP 400"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("receiver refuses this batch"), std::string::npos) << st.message();
}

TEST_F(WebhookTest, StoppedAndRestartedReceiver) {
  int port = StartReceiver({});
  ASSERT_GT(port, 0);
  auto sink = Make(Dest("http://127.0.0.1:" + std::to_string(port) + "/"));
  ASSERT_TRUE(sink);
  auto first = MakeEvents(1, 2);
  ASSERT_TRUE(sink->Deliver(first).ok());
  StopReceiver();
  auto second = MakeEvents(3, 2);
  Status st = sink->Deliver(second);
  EXPECT_EQ(st.code(), Status::Code::kIOError) << st.ToString();
  EXPECT_NE(st.message().find("cannot connect"), std::string::npos) << st.message();
  sink->Reset();
  ASSERT_EQ(StartReceiver({}, port), port);
  st = sink->Deliver(second);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto rec = Records();
  ASSERT_EQ(rec.size(), 2u);  // the record file outlives the receiver
  EXPECT_EQ(rec[0]["ids"], nlohmann::json({1, 2}));
  EXPECT_EQ(rec[1]["ids"], nlohmann::json({3, 4}));
}

TEST_F(WebhookTest, TlsVerificationUnknownCaFailsAndCaOptionPasses) {
  ASSERT_TRUE(MakeCertificates());
  int port = StartReceiver(
      {"--cert", dir_ + "/srv.pem", "--key", dir_ + "/srv.key", "--secret", "k", "--record-body"});
  ASSERT_GT(port, 0);
  const std::string url = "https://127.0.0.1:" + std::to_string(port) + "/tls";
  nlohmann::json d = {{"name", "tls"}, {"url", url}, {"secret", "k"}};
  auto events = MakeEvents(5, 2);
  {
    auto sink = Make(d);  // the system's CAs do not know the test CA
    ASSERT_TRUE(sink);
    Status st = sink->Deliver(events);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << st.ToString();
    EXPECT_NE(st.message().find("certificate does not verify"), std::string::npos) << st.message();
  }
  EXPECT_TRUE(Records().empty());
  d["ca"] = dir_ + "/ca.pem";
  auto sink = Make(d);
  ASSERT_TRUE(sink);
  Status st = sink->Deliver(events);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto rec = Records();
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0]["signature"], "ok");
  EXPECT_EQ(rec[0]["ids"], nlohmann::json({5, 6}));
  // A name the certificate does not carry fails even with the right CA
  // (localhost is 127.0.0.1 too, but the certificate names only the IP).
  auto other = d;
  other["url"] = "https://localhost:" + std::to_string(port) + "/tls";
  auto wrong = Make(other);
  ASSERT_TRUE(wrong);
  Status st2 = wrong->Deliver(events);
  EXPECT_EQ(st2.code(), Status::Code::kInvalidArgument) << st2.ToString();
  EXPECT_NE(st2.message().find("certificate does not verify"), std::string::npos) << st2.message();
}

TEST_F(WebhookTest, PlainHttpRefusedWithoutAllowHttp) {
  nlohmann::json d = {{"name", "x"}, {"url", "http://hooks.example.com/siem"}};
  auto s = MakeWebhookSink(d);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.status().message().find("http://hooks.example.com"), std::string::npos);
  EXPECT_NE(s.status().message().find("--allow-http"), std::string::npos);
  d["allow_http"] = true;
  EXPECT_TRUE(MakeWebhookSink(d).ok());
  // The product page's URL, as written.
  EXPECT_TRUE(
      MakeWebhookSink({{"name", "default"}, {"url", "https://hooks.example.com/siem"}}).ok());
}

TEST_F(WebhookTest, BadValuesAreNamed) {
  struct Case {
    nlohmann::json d;
    std::string named;
  };
  const Case cases[] = {
      {{{"url", "ftp://x/"}}, "ftp://x"},
      {{{"url", "https://:443/"}}, "no host"},
      {{{"url", "https://h:99999/"}}, "99999"},
      {{{"url", "https://h/a b"}}, "space"},
      {{{"url", "https://h/"}, {"batch", 0}}, "'0' for batch"},
      {{{"url", "https://h/"}, {"batch", 10001}}, "'10001' for batch"},
      {{{"url", "https://h/"}, {"events", "some"}}, "'some' for events"},
      {{{"url", "https://h/"}, {"template", "teams"}}, "unknown template 'teams'"},
      {{{"url", "https://h/"}, {"template", "/nonexistent/t.json"}}, "/nonexistent/t.json"},
      {{{"url", "https://h/"}, {"ca", "/nonexistent/ca.pem"}}, "/nonexistent/ca.pem"},
      {{{"url", "https://h/"}, {"name", "a b"}}, "'a b'"},
      {{{"url", "https://ntfy.example.com/"}, {"template", "ntfy"}}, "topic"},
  };
  for (const auto& c : cases) {
    auto r = ParseWebhookConfig(c.d);
    ASSERT_FALSE(r.ok()) << c.d.dump();
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.named), std::string::npos)
        << c.d.dump() << " -> " << r.status().message();
  }
}

TEST_F(WebhookTest, BuiltinTemplatesRenderValidJsonWithEscapedValues) {
  Event e = MakeEvents(9, 1)[0];
  e.user = "eve\"},\"x\":\"\\\n@pam";  // tries to break out of the JSON string
  e.resource = "/vms/1\t</script>";
  e.result = Outcome::kFailure;
  for (const std::string name : {"gotify", "ntfy", "slack"}) {
    nlohmann::json d = {
        {"name", "chat"}, {"url", "https://chat.example.com/topic1"}, {"template", name}};
    auto c = ParseWebhookConfig(d);
    ASSERT_TRUE(c.ok()) << name << ": " << c.status().ToString();
    auto body = RenderWebhookBody(*c, std::span<const Event>(&e, 1));
    ASSERT_TRUE(body.ok());
    auto j = nlohmann::json::parse(*body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << name << ": " << *body;
    EXPECT_FALSE(j.contains("x")) << name;
    std::string text =
        name == "slack" ? j["text"].get<std::string>() : j["message"].get<std::string>();
    EXPECT_NE(text.find(e.user), std::string::npos) << name << ": " << text;
    EXPECT_NE(text.find(e.resource), std::string::npos) << name;
    if (name == "ntfy") {
      EXPECT_EQ(j["topic"], "topic1");
    }
    if (name != "slack") {
      EXPECT_NE(j["title"].get<std::string>().find("failure"), std::string::npos);
    }
  }
}

TEST_F(WebhookTest, TemplateFile) {
  const std::string good = dir_ + "/good.json";
  std::ofstream(good) << R"({"msg": "{{title}}", "n": {{count}}, "all": {{events}}, )"
                         R"("k": "{{idempotency_key}}"})";
  nlohmann::json d = {{"name", "f"}, {"url", "https://h/"}, {"template", good}};
  auto c = ParseWebhookConfig(d);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto events = MakeEvents(3, 4);
  events[1].user = "x\"y";
  auto body = RenderWebhookBody(*c, events);
  ASSERT_TRUE(body.ok());
  auto j = nlohmann::json::parse(*body);
  EXPECT_EQ(j["n"], 4);
  EXPECT_EQ(j["all"].size(), 4u);
  EXPECT_EQ(j["all"][1]["user"], "x\"y");
  EXPECT_EQ(j["all"][3]["id"], 6);
  EXPECT_EQ(j["k"], WebhookIdempotencyKey("f", 3, 6));

  const std::string unknown = dir_ + "/unknown.json";
  std::ofstream(unknown) << R"({"msg": "{{usr}}"})";
  d["template"] = unknown;
  auto r = ParseWebhookConfig(d);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("{{usr}}"), std::string::npos) << r.status().message();

  const std::string unquoted = dir_ + "/unquoted.json";
  std::ofstream(unquoted) << R"({"msg": {{title}}})";
  d["template"] = unquoted;
  r = ParseWebhookConfig(d);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("valid JSON"), std::string::npos) << r.status().message();
}

TEST_F(WebhookTest, TemplateBodyReachesReceiver) {
  int port = StartReceiver({"--record-body"});
  ASSERT_GT(port, 0);
  auto d = Dest("http://127.0.0.1:" + std::to_string(port) + "/services/T0/B0/X");
  d["template"] = "slack";
  auto sink = Make(d);
  ASSERT_TRUE(sink);
  auto events = MakeEvents(1, 3);
  ASSERT_TRUE(sink->Deliver(events).ok());
  auto rec = Records();
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0]["path"], "/services/T0/B0/X");
  auto body = nlohmann::json::parse(rec[0]["body"].get<std::string>());
  EXPECT_NE(body["text"].get<std::string>().find("3 access events"), std::string::npos);
  // Logs never show the path, where chat tools keep their token.
  EXPECT_EQ(sink->Describe().find("T0/B0"), std::string::npos);
}

TEST_F(WebhookTest, SlowReceiverTimesOutAsTransient) {
  int port = StartReceiver({"--delay-ms", "20000"});
  ASSERT_GT(port, 0);
  auto d = Dest("http://127.0.0.1:" + std::to_string(port) + "/");
  d["timeout_ms"] = 300;
  auto sink = Make(d);
  ASSERT_TRUE(sink);
  auto events = MakeEvents(1, 1);
  const int64_t start = NowUs();
  Status st = sink->Deliver(events);
  const int64_t took_ms = (NowUs() - start) / 1000;
  EXPECT_EQ(st.code(), Status::Code::kIOError) << st.ToString();
  EXPECT_NE(st.message().find("no answer within 300 ms"), std::string::npos) << st.message();
  EXPECT_GE(took_ms, 300);
  EXPECT_LT(took_ms, 15000);  // well before the receiver would answer
  EXPECT_FALSE(ParseWebhookConfig({{"url", "https://h/"}, {"timeout_ms", 5}}).ok());
}

TEST_F(WebhookTest, NtfyPublishesToTheServerRootWithTheTopic) {
  int port = StartReceiver({"--record-body"});
  ASSERT_GT(port, 0);
  auto d = Dest("http://127.0.0.1:" + std::to_string(port) + "/ntfy/pve-alerts?auth=abc");
  d["template"] = "ntfy";
  auto sink = Make(d);
  ASSERT_TRUE(sink);
  auto events = MakeEvents(1, 2);
  ASSERT_TRUE(sink->Deliver(events).ok());
  auto rec = Records();
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0]["path"], "/ntfy/");  // behind a path prefix
  auto body = nlohmann::json::parse(rec[0]["body"].get<std::string>());
  EXPECT_EQ(body["topic"], "pve-alerts");
  EXPECT_EQ(body["priority"], 4);  // a failure in the batch
}

TEST_F(WebhookTest, Ipv6LiteralUrl) {
  int port = StartReceiver({"--host", "::1"});
  if (port == 0) GTEST_SKIP() << "no IPv6 loopback here";
  auto sink = Make(Dest("http://[::1]:" + std::to_string(port) + "/v6"));
  ASSERT_TRUE(sink);
  auto events = MakeEvents(1, 1);
  Status st = sink->Deliver(events);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(Records().size(), 1u);
  EXPECT_EQ(Records()[0]["path"], "/v6");
}

TEST_F(WebhookTest, LoadDestinationsRestoresSecret) {
  auto store = OpenSqliteStore(dir_ + "/data", {});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  nlohmann::json all = {
      {"b", {{"url", "https://b.example.com/"}, {"secret", kSecretMask}}},
      {"a", {{"url", "https://a.example.com/"}, {"enabled", false}}},
  };
  ASSERT_TRUE((*store)->PutSetting(kWebhookSettingsKey, all.dump(), "test").ok());
  ASSERT_TRUE((*store)->PutSetting(std::string(kWebhookSecretKeyPrefix) + "b", "hush", "t").ok());
  auto dests = LoadWebhookDestinations(**store);
  ASSERT_TRUE(dests.ok()) << dests.status().ToString();
  ASSERT_EQ(dests->size(), 2u);
  EXPECT_EQ((*dests)[0]["name"], "a");
  EXPECT_FALSE((*dests)[0].contains("secret"));
  EXPECT_EQ((*dests)[1]["name"], "b");
  EXPECT_EQ((*dests)[1]["secret"], "hush");
  auto c = ParseWebhookConfig((*dests)[1]);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->secret, "hush");
  // A masked secret that was never loaded is not used as the key.
  EXPECT_FALSE(ParseWebhookConfig(all["b"]).ok());
  // A secret missing from the store fails that destination only.
  ASSERT_TRUE((*store)->PutSetting(std::string(kWebhookSecretKeyPrefix) + "b", "", "t").ok());
  dests = LoadWebhookDestinations(**store);
  ASSERT_TRUE(dests.ok()) << dests.status().ToString();
  ASSERT_EQ(dests->size(), 2u);
  EXPECT_TRUE(MakeWebhookSink((*dests)[0]).ok());
  auto missing = MakeWebhookSink((*dests)[1]);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("--name b --secret-file"), std::string::npos)
      << missing.status().message();
}

}  // namespace
}  // namespace pveaudit

namespace pveaudit {
namespace {

// The webhook half of issue 9's proof, with a minimal export loop written
// here (the real one lives in src/export and is tested there): the store's
// events go out by a consumer cursor that moves only after a 2xx, through a
// receiver that fails, rate-limits, and is stopped and started again.
// Every event arrives, signed; deduplicated by Idempotency-Key, each once.
TEST_F(WebhookTest, AtLeastOnceThroughFailuresAndRestartCountsOnceByKey) {
  auto opened = OpenSqliteStore(dir_ + "/data", {});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EventStore& store = **opened;
  auto events = MakeEvents(0, 200);
  for (auto& e : events) e.id = 0;
  ASSERT_TRUE(store.Append(&events, {}, nullptr).ok());
  const uint64_t last_id = events.back().id;

  int port = StartReceiver(
      {"--secret", "k", "--fail-first", "3", "--retry-after-first", "2", "--retry-after", "1"});
  ASSERT_GT(port, 0);
  auto d = Dest("http://127.0.0.1:" + std::to_string(port) + "/");
  d["secret"] = "k";
  d["batch"] = 25;
  auto sink = Make(d);
  ASSERT_TRUE(sink);
  const std::string consumer = WebhookConsumerName("siem");
  int delivered_batches = 0, transient = 0, retry_after_seen = 0, down_failures = 0;
  bool restarted = false;
  for (int round = 0; round < 100; ++round) {
    auto cur = store.GetConsumer(consumer);
    ASSERT_TRUE(cur.ok());
    const uint64_t after = cur->value_or(0);
    if (after == last_id) break;
    std::vector<Event> batch;
    ASSERT_TRUE(store
                    .ScanAfter(after, 25, kFieldAll,
                               [&](const Event& e) {
                                 batch.push_back(e);
                                 return true;
                               })
                    .ok());
    ASSERT_FALSE(batch.empty());
    Status st = sink->Deliver(batch);
    if (st.ok()) {
      ASSERT_TRUE(store.PutConsumer(consumer, batch.back().id).ok());
      if (++delivered_batches == 3) StopReceiver();  // down for a while
      continue;
    }
    ASSERT_TRUE(st.code() == Status::Code::kBusy || st.code() == Status::Code::kIOError)
        << st.ToString();
    ++transient;
    if (pid_ < 0 && ++down_failures == 2) {  // start it again on the same port
      ASSERT_EQ(StartReceiver({"--secret", "k"}, port), port);
      restarted = true;
    }
    if (sink->RetryAfterUs() > 0) {
      EXPECT_EQ(sink->RetryAfterUs(), 1000000);
      ++retry_after_seen;
    }
    sink->Reset();
  }
  EXPECT_TRUE(restarted);
  EXPECT_EQ(transient, 7);  // 3 x 500, 2 x 429, 2 x connection refused
  EXPECT_EQ(retry_after_seen, 2);
  auto cur = store.GetConsumer(consumer);
  ASSERT_TRUE(cur.ok());
  EXPECT_EQ(cur->value_or(0), last_id);

  std::map<std::string, std::vector<uint64_t>> by_key;  // what a receiver counts once
  size_t accepted = 0;
  for (const auto& r : Records()) {
    EXPECT_EQ(r["signature"], "ok");
    if (r["status"] != 200) continue;
    ++accepted;
    by_key[r["key"]] = r["ids"].get<std::vector<uint64_t>>();
  }
  EXPECT_EQ(accepted, by_key.size());  // no answer was lost here: no repeats
  std::vector<uint64_t> ids;
  for (const auto& [key, v] : by_key) ids.insert(ids.end(), v.begin(), v.end());
  std::sort(ids.begin(), ids.end());
  ASSERT_EQ(ids.size(), 200u);
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], events[i].id);
}

}  // namespace
}  // namespace pveaudit

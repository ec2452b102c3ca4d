// End-to-end tests of pveauditd's control socket (docs/control-socket.md):
// the real pveauditd, started by the test, serves the socket; the web
// process's client (admin/control_client.h) records API use and changes
// rules and destinations through it, and the real pveam shows each change
// as an audit event naming the web principal "via pveaudit-web from IP".
// Bad requests change nothing; a peer with another uid is refused; an
// `audit` reply comes only after the commit, so SIGKILL right after it
// loses nothing.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "admin/control_client.h"
#include "e2e_util.h"
#include "store/event_store.h"

namespace e2e {
namespace {

const std::string kPveauditd = PVEAUDITD_BIN;
using Clock = std::chrono::steady_clock;

constexpr uid_t kNobody = 65534;

class ControlSocketTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    WriteFile(work_ + "/auth.log", "");
    WriteFile(work_ + "/access.log", "");
    socket_ = data_dir_ + "/control.sock";
    log_ = root_ + "/pveauditd.log";
  }
  void TearDown() override {
    StopProcess(&pid_, SIGKILL);
    // In a sanitizer build pveauditd reports a data race on its stderr.
    EXPECT_FALSE(Contains(ReadFile(log_), "ThreadSanitizer")) << ReadFile(log_);
    E2eTest::TearDown();
  }

  // pveauditd with its stderr in log_, until the socket answers a ping.
  void StartDaemon() {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::vector<std::string> args = {
        "pveauditd",      "--data-dir",          data_dir_, "--auth-log", work_ + "/auth.log",
        "--access-log",   work_ + "/access.log", "--node",  "pve1",       "--pve-dir",
        work_ + "/no-pve"};
    std::vector<std::string> env = MakeEnv(Env());
    auto argv = CStrings(args);
    auto envp = CStrings(env);
    ASSERT_EQ(posix_spawn(&pid_, kPveauditd.c_str(), &fa, nullptr, argv.data(), envp.data()), 0);
    posix_spawn_file_actions_destroy(&fa);
    auto until = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < until) {
      pveaudit::ControlClient c(socket_, std::chrono::seconds(5));
      nlohmann::json reply;
      if (c.Call({{"request", "ping"}}, &reply).ok() && reply.value("pid", -1) == pid_) return;
      int status;
      ASSERT_EQ(waitpid(pid_, &status, WNOHANG), 0) << "pveauditd exited:\n" << ReadFile(log_);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "the control socket did not answer:\n" << ReadFile(log_);
  }

  static nlohmann::json Actor() { return {{"user", "alice@pve"}, {"ip", "192.0.2.7"}}; }

  // pveaudit's own events (settings changes and API use), oldest first.
  nlohmann::json OwnEvents() {
    RunResult r = Pveam({"access", "log", "--action", "pveaudit", "--output-format", "json"});
    EXPECT_EQ(r.code, 0) << r;
    return Json(r);
  }

  int64_t LastId() {
    RunResult r = Pveam({"access", "status", "--output-format", "json"});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_object() ? j.value("last_id", int64_t(-1)) : -1;
  }

  pid_t pid_ = -1;
  std::string socket_, log_;
};

// ControlClient with the socket path of this test's data dir.
#define CLIENT() pveaudit::ControlClient client(socket_, std::chrono::seconds(30))

TEST_F(ControlSocketTest, AuditEventIsStoredWithTheWebPrincipal) {
  StartDaemon();
  CLIENT();
  nlohmann::json reply;
  ASSERT_TRUE(client
                  .Call({{"request", "audit"},
                         {"id", 7},
                         {"actor", Actor()},
                         {"params",
                          {{"action", "pveaudit:api-read"},
                           {"resource", "/pveaudit/log"},
                           {"detail", "GET /api2/json/audit/log?user=bob@pve"}}}},
                        &reply)
                  .ok());
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
  EXPECT_EQ(reply["id"], 7);
  const int64_t id = reply.value("event_id", int64_t(0));
  ASSERT_GT(id, 0);
  nlohmann::json events = OwnEvents();
  ASSERT_EQ(events.size(), 1u) << events.dump(2);
  const nlohmann::json& e = events[0];
  EXPECT_EQ(e["id"], id);
  EXPECT_EQ(e["user"], "alice@pve");
  EXPECT_EQ(e["ip"], "192.0.2.7");
  EXPECT_EQ(e["action"], "pveaudit:api-read");
  EXPECT_EQ(e["resource"], "/pveaudit/log");
  EXPECT_EQ(e["result"], "success");
  EXPECT_EQ(e["node"], "pve1");
  EXPECT_EQ(e["detail"], "GET /api2/json/audit/log?user=bob@pve (via pveaudit-web from 192.0.2.7)");
}

TEST_F(ControlSocketTest, RuleChangesGoThroughTheCliValidationAndAreAudited) {
  StartDaemon();
  CLIENT();
  nlohmann::json reply;
  // The CLI's validation, with its message naming the value and option.
  ASSERT_TRUE(client
                  .Call({{"request", "rule-add"},
                         {"actor", Actor()},
                         {"params", {{"type", "failed-login"}, {"threshold", "0"}}}},
                        &reply)
                  .ok());
  EXPECT_FALSE(reply.value("ok", true));
  EXPECT_EQ(reply["code"], "invalid");
  EXPECT_TRUE(Contains(reply.value("error", ""), "'0' for --threshold")) << reply.dump();
  ASSERT_TRUE(
      client
          .Call(
              {{"request", "rule-add"}, {"actor", Actor()}, {"params", {{"type", "failed-logn"}}}},
              &reply)
          .ok());
  EXPECT_TRUE(Contains(reply.value("error", ""), "did you mean 'failed-login'")) << reply.dump();
  EXPECT_TRUE(OwnEvents().empty());

  ASSERT_TRUE(client
                  .Call({{"request", "rule-add"},
                         {"actor", Actor()},
                         {"params",
                          {{"type", "failed-login"},
                           {"threshold", 5},
                           {"window", "10m"},
                           {"group-by", "ip"}}}},
                        &reply)
                  .ok());
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
  const int64_t rule = reply["rule"].value("id", int64_t(0));
  ASSERT_GT(rule, 0);
  EXPECT_EQ(reply["rule"]["threshold"], 5);
  EXPECT_EQ(reply["rule"]["created_by"], "alice@pve");
  for (const char* verb : {"rule-disable", "rule-disable", "rule-enable", "rule-remove"}) {
    ASSERT_TRUE(
        client
            .Call(
                {{"request", verb}, {"actor", Actor()}, {"params", {{"id", std::to_string(rule)}}}},
                &reply)
            .ok());
    ASSERT_TRUE(reply.value("ok", false)) << verb << ": " << reply.dump();
  }
  ASSERT_TRUE(
      client
          .Call({{"request", "rule-remove"}, {"actor", Actor()}, {"params", {{"id", rule}}}},
                &reply)
          .ok());
  EXPECT_FALSE(reply.value("ok", true));
  EXPECT_TRUE(Contains(reply.value("error", ""), "no alert rule")) << reply.dump();

  // The second disable changed nothing and recorded nothing.
  nlohmann::json events = OwnEvents();
  std::vector<std::string> actions;
  for (const auto& e : events) {
    actions.push_back(e["action"]);
    EXPECT_EQ(e["user"], "alice@pve");
    EXPECT_EQ(e["ip"], "192.0.2.7");
    EXPECT_TRUE(Contains(e["detail"], "(via pveaudit-web from 192.0.2.7); before: ")) << e;
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"pveaudit:alert-add", "pveaudit:alert-disable",
                                               "pveaudit:alert-enable", "pveaudit:alert-remove"}));
  RunResult r = Pveam({"access", "alert", "list", "--output-format", "json"});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Json(r).empty()) << r;
}

TEST_F(ControlSocketTest, DestinationChangesAreAuditedAndSecretsMasked) {
  StartDaemon();
  CLIENT();
  auto call = [&](const std::string& what, nlohmann::json params) {
    nlohmann::json reply;
    EXPECT_TRUE(
        client.Call({{"request", what}, {"actor", Actor()}, {"params", params}}, &reply).ok());
    return reply;
  };
  nlohmann::json reply =
      call("syslog-enable", {{"name", "siem"}, {"server", "127.0.0.1"}, {"port", 5514}});
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
  reply = call("syslog-enable", {{"name", "siem2"}, {"server", "127.0.0.1"}, {"ca", "rel.pem"}});
  EXPECT_FALSE(reply.value("ok", true));
  EXPECT_TRUE(Contains(reply.value("error", ""), "'rel.pem' for 'ca'")) << reply.dump();
  reply = call("syslog-disable", {{"name", "siem"}});
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
  reply = call("notify-enable", {{"name", "hook"},
                                 {"webhook", "http://127.0.0.1:9/hook/t0ken"},
                                 {"allow-http", true},
                                 {"secret", "s3cret-value"}});
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
  EXPECT_EQ(reply["destination"]["secret"], "(set)");
  reply = call("notify-enable", {{"name", "hook2"}, {"webhook", "http://127.0.0.1:9/x"}});
  EXPECT_FALSE(reply.value("ok", true)) << "plain http without allow-http";
  reply = call("notify-disable", {{"name", "hook"}});
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump();

  RunResult r = Pveam({"access", "log", "--action", "pveaudit", "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_FALSE(Contains(r.out, "s3cret-value"));
  EXPECT_FALSE(Contains(r.out, "t0ken"));
  std::vector<std::string> actions;
  for (const auto& e : Json(r)) {
    actions.push_back(e["action"]);
    EXPECT_EQ(e["user"], "alice@pve");
    EXPECT_TRUE(Contains(e["detail"], "(via pveaudit-web from 192.0.2.7)")) << e;
  }
  EXPECT_EQ(actions,
            (std::vector<std::string>{"pveaudit:syslog-enable", "pveaudit:syslog-disable",
                                      "pveaudit:notify-enable", "pveaudit:notify-disable"}));
  // The CLI sees the same destinations.
  r = Pveam({"access", "syslog", "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  ASSERT_EQ(Json(r).size(), 1u) << r;
  EXPECT_EQ(Json(r)[0]["state"], "disabled");
  r = Pveam({"access", "notify", "--output-format", "json"});
  ASSERT_EQ(r.code, 0) << r;
  ASSERT_EQ(Json(r).size(), 1u) << r;
  EXPECT_EQ(Json(r)[0]["state"], "disabled");
  EXPECT_EQ(Json(r)[0]["secret"], "(set)");
}

// Raw lines on one connection, as a buggy or hostile web process sends them.
class RawConn {
 public:
  explicit RawConn(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    timeval tv{30, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawConn() { close(fd_); }
  bool connected() const { return connected_; }
  bool Send(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += size_t(n);
    }
    return true;
  }
  // The next line, or "<eof>".
  std::string Line() {
    for (;;) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      char b[4096];
      ssize_t n = recv(fd_, b, sizeof b, 0);
      if (n <= 0) return "<eof>";
      buf_.append(b, size_t(n));
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

TEST_F(ControlSocketTest, MalformedAndOversizedLinesGetErrorsAndChangeNothing) {
  StartDaemon();
  const int64_t before = LastId();
  RawConn c(socket_);
  ASSERT_TRUE(c.connected());
  // Malformed JSON, a non-object, unknown requests and keys, a forged
  // action, a bad actor: one error line each; the connection stays.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"this is not json", "malformed request"},
      {"[1,2,3]", "malformed request"},
      {R"({"request":"drop-table"})", "unknown request 'drop-table'"},
      {R"({"request":"audit","actor":{"user":"alice@pve","ip":"192.0.2.7"},"extra":1})",
       "unknown key 'extra'"},
      {R"({"request":"audit","actor":{"user":"alice@pve","ip":"192.0.2.7"},"params":{"action":"vm:delete","resource":"/vms/100"}})",
       "invalid action 'vm:delete'"},
      {R"({"request":"audit","actor":{"user":"alice","ip":"192.0.2.7"},"params":{"action":"pveaudit:api-read","resource":"/"}})",
       "invalid actor user \"alice\""},
      {R"({"request":"audit","actor":{"user":"alice@pve","ip":"evil"},"params":{"action":"pveaudit:api-read","resource":"/"}})",
       "invalid actor ip \"evil\""},
      {R"({"request":"audit","actor":{"user":"alice@pve","ip":"192.0.2.7"},"params":{"action":"pveaudit:api-read","resource":"/","detail":"a\nb"}})",
       "control characters"},
      {R"({"request":"rule-add","actor":{"user":"alice@pve","ip":"192.0.2.7"},"params":{"type":"failed-login","bogus":"1"}})",
       "unknown parameter 'bogus'"},
  };
  for (const auto& [line, want] : bad) {
    ASSERT_TRUE(c.Send(line + "\n"));
    auto reply = nlohmann::json::parse(c.Line(), nullptr, false);
    ASSERT_TRUE(reply.is_object()) << line;
    EXPECT_FALSE(reply.value("ok", true)) << line;
    EXPECT_TRUE(Contains(reply.value("error", ""), want)) << line << " -> " << reply.dump();
  }
  ASSERT_TRUE(c.Send("{\"request\":\"ping\"}\n"));
  EXPECT_TRUE(nlohmann::json::parse(c.Line()).value("ok", false)) << "still served";
  // An oversized line: an error, then the connection is closed.
  std::string huge =
      R"({"request":"audit","params":{"detail":")" + std::string(70000, 'x') + "\"}}\n";
  c.Send(huge);
  auto reply = nlohmann::json::parse(c.Line(), nullptr, false);
  ASSERT_TRUE(reply.is_object());
  EXPECT_EQ(reply["code"], "too-long");
  EXPECT_EQ(c.Line(), "<eof>");
  EXPECT_EQ(LastId(), before) << "nothing was stored";
  EXPECT_TRUE(OwnEvents().empty());
}

TEST_F(ControlSocketTest, SigkillRightAfterTheAuditReplyLosesNothing) {
  std::vector<int64_t> acknowledged;
  for (int round = 0; round < 3; ++round) {
    StartDaemon();
    CLIENT();
    for (int i = 0; i < 5; ++i) {
      nlohmann::json reply;
      ASSERT_TRUE(
          client
              .Call(
                  {{"request", "audit"},
                   {"actor", Actor()},
                   {"params",
                    {{"action", "pveaudit:api-export"},
                     {"resource", "/pveaudit/log"},
                     {"detail", "round " + std::to_string(round) + " call " + std::to_string(i)}}}},
                  &reply)
              .ok());
      ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
      acknowledged.push_back(reply["event_id"]);
    }
    // At once after the last reply: it promised the event is committed.
    StopProcess(&pid_, SIGKILL);
  }
  nlohmann::json events = OwnEvents();
  std::vector<int64_t> stored;
  for (const auto& e : events)
    if (e["action"] == "pveaudit:api-export") stored.push_back(e["id"]);
  EXPECT_EQ(stored, acknowledged);
  RunResult r = Pveam({"access", "verify"});
  EXPECT_EQ(r.code, 0) << r;
}

TEST_F(ControlSocketTest, ClientReconnectsAfterARestart) {
  StartDaemon();
  CLIENT();
  nlohmann::json reply;
  ASSERT_TRUE(client.Call({{"request", "ping"}}, &reply).ok());
  const int first = reply.value("pid", 0);
  StopProcess(&pid_, SIGTERM);
  EXPECT_FALSE(std::filesystem::exists(socket_)) << "removed at a clean stop";
  pveaudit::Status down = client.Call({{"request", "ping"}}, &reply);
  EXPECT_FALSE(down.ok());
  EXPECT_TRUE(Contains(down.message(), socket_)) << down.message();
  StartDaemon();
  ASSERT_TRUE(client.Call({{"request", "ping"}}, &reply).ok());
  EXPECT_EQ(reply.value("pid", 0), pid_);
  EXPECT_NE(reply.value("pid", 0), first);
}

// Runs `fn` in a child process as uid/gid nobody; its exit code.
int AsNobody(const std::function<int()>& fn) {
  pid_t child = fork();
  if (child == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 || setuid(kNobody) != 0) _exit(90);
    _exit(fn());
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST_F(ControlSocketTest, PeerWithAnotherUidIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to uid nobody";
  // The default web user "pveaudit" does not exist here: only root and
  // pveauditd's own uid (root) may connect.
  StartDaemon();
  struct stat st;
  ASSERT_EQ(stat(socket_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  // Let nobody reach the socket file: the temp dirs are 0700.
  chmod(root_.c_str(), 0755);
  chmod(data_dir_.c_str(), 0755);
  // 0660: the file system already keeps nobody out.
  EXPECT_EQ(AsNobody([&] {
              RawConn c(socket_);
              return c.connected() ? 1 : 0;
            }),
            0);
  // Were the mode wrong, the credential check still refuses and logs it.
  ASSERT_EQ(chmod(socket_.c_str(), 0666), 0);
  EXPECT_EQ(AsNobody([&] {
              RawConn c(socket_);
              if (!c.connected()) return 2;
              c.Send(R"({"request":"audit","actor":{"user":"eve@pve","ip":"192.0.2.66"},)"
                     R"("params":{"action":"pveaudit:api-read","resource":"/"}})"
                     "\n");
              auto reply = nlohmann::json::parse(c.Line(), nullptr, false);
              if (!reply.is_object() || reply.value("code", "") != "forbidden") return 3;
              return c.Line() == "<eof>" ? 0 : 4;
            }),
            0);
  auto until = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < until && !Contains(ReadFile(log_), "refused a connection from uid 65534"))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(Contains(ReadFile(log_), "refused a connection from uid 65534")) << ReadFile(log_);
  EXPECT_TRUE(OwnEvents().empty());
}

TEST_F(ControlSocketTest, TheConfiguredWebUserIsServed) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to uid nobody";
  WriteFile(config_, "[daemon]\ncontrol_socket_user = \"nobody\"\n");
  StartDaemon();
  chmod(root_.c_str(), 0755);
  chmod(data_dir_.c_str(), 0755);
  struct stat st;
  ASSERT_EQ(stat(socket_.c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, kNobody) << "the socket file has the web user's group";
  EXPECT_EQ(AsNobody([&] {
              pveaudit::ControlClient c(socket_, std::chrono::seconds(30));
              nlohmann::json reply;
              if (!c.Call({{"request", "audit"},
                           {"actor", {{"user", "web@pve"}, {"ip", "2001:db8::1"}}},
                           {"params", {{"action", "pveaudit:api-read"}, {"resource", "/"}}}},
                          &reply)
                       .ok())
                return 2;
              return reply.value("ok", false) ? 0 : 3;
            }),
            0);
  nlohmann::json events = OwnEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["user"], "web@pve");
  EXPECT_EQ(events[0]["ip"], "2001:db8::1");
}

// pveauditd as root with the web UI on: the store and the web process's
// keys are shared read-only with the web user's group (docs/web.md), so
// pveaudit-web, running as that user, reads them and can change nothing.
TEST_F(ControlSocketTest, AsRootTheStoreIsSharedReadOnlyWithTheWebUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run pveaudit-web as nobody";
  const int port = FreePort();
  WriteFile(config_, "[daemon]\ncontrol_socket_user = \"nobody\"\n[web]\nlisten = \"127.0.0.1:" +
                         std::to_string(port) + "\"\n");
  chmod(root_.c_str(), 0711);  // nobody may pass through the test's own temp dir
  StartDaemon();
  std::ofstream(work_ + "/auth.log", std::ios::app)
      << ("Jan 10 17:34:01 pve1 pvedaemon[1234]: authentication failure; rhost=::ffff:192.0.2.9 "
          "user=mallory@pve msg=no such user ('mallory@pve')\n");
  auto until = Clock::now() + std::chrono::seconds(60);
  nlohmann::json web;
  while (Clock::now() < until) {
    RunResult r = Pveam({"access", "status", "--output-format", "json"});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_object() && j.value("last_id", 0) >= 1 && j.contains("daemon") &&
        j["daemon"].contains("web"))
      web = j["daemon"]["web"];
    if (web.is_object() && web.value("pid", 0) > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(web.is_object() && web.value("pid", 0) > 0) << web << ReadFile(log_);
  EXPECT_EQ(web.value("error", ""), "") << ReadFile(log_);

  struct stat st;
  ASSERT_EQ(stat(data_dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  EXPECT_EQ(st.st_gid, kNobody);
  for (const char* f : {"pveaudit.db", "pveaudit.db-wal", "pveaudit.db-shm", "web-cert.pem",
                        "web-key.pem", "web-csrf.key", "web-authkey.key"}) {
    ASSERT_EQ(stat((data_dir_ + "/" + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0640u) << f;
    EXPECT_EQ(st.st_gid, kNobody) << f;
    EXPECT_EQ(st.st_uid, 0u) << f;
  }
  // The web process's user reads the store and the keys, while pveauditd
  // holds it open, and can write nothing.
  EXPECT_EQ(AsNobody([&] {
              pveaudit::StoreOptions so;
              so.read_only = true;
              auto s = pveaudit::OpenSqliteStore(data_dir_, so);
              if (!s.ok()) return 2;
              std::vector<std::string> users;
              if (!(*s)->ScanAfter(0, 100, pveaudit::kFieldAll,
                                   [&](pveaudit::Event& e) {
                                     users.push_back(e.user);
                                     return true;
                                   })
                       .ok() ||
                  users.empty() || users.front() != "mallory@pve")
                return 3;
              if (access((data_dir_ + "/web-authkey.key").c_str(), R_OK) != 0) return 4;
              if (pveaudit::OpenSqliteStore(data_dir_, pveaudit::StoreOptions{}).ok()) return 5;
              int fd = open((data_dir_ + "/pveaudit.db").c_str(), O_WRONLY);
              if (fd >= 0) return 6;
              fd = open((data_dir_ + "/new").c_str(), O_WRONLY | O_CREAT, 0600);
              if (fd >= 0) return 7;
              return 0;
            }),
            0);
  // Another writer as root (the CLI) keeps the layout: it does not take the
  // group's read access away again.
  RunResult r = Pveam({"access", "syslog", "--enable", "--server", "127.0.0.1", "--port", "514",
                       "--protocol", "tcp", "--name", "later"});
  ASSERT_EQ(r.code, 0) << r;
  ASSERT_EQ(stat(DbPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(st.st_gid, kNobody);
}

}  // namespace
}  // namespace e2e

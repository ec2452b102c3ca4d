// pveauditd's syslog listener end to end: a [sources.syslog] config with TLS
// and an allow-list, lines sent over TLS with a client certificate made at
// test time, then what `pveam access log`, `rejected` and `status` show.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "e2e_util.h"
#include "pipeline/test_certs.h"

namespace e2e {
namespace {

const std::string kPveauditd = PVEAUDITD_BIN;
using Clock = std::chrono::steady_clock;
using pveaudit::testing_certs::KeyAndCert;
using pveaudit::testing_certs::Make;

// Connects over TLS with `cert` (retrying until the daemon listens) and
// sends `data`; true once written.
bool SendTls(int port, const KeyAndCert& ca, const KeyAndCert& cert, const std::string& data) {
  auto until = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < until) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx, ca.cert_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_use_certificate_file(ctx, cert.cert_file.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx, cert.key_file.c_str(), SSL_FILETYPE_PEM);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set1_host(ssl, "localhost");
    bool ok =
        SSL_connect(ssl) == 1 && SSL_write(ssl, data.data(), int(data.size())) == int(data.size());
    if (ok) SSL_shutdown(ssl);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    close(fd);
    return ok;
  }
  return false;
}

std::string Framed(const std::string& m) { return std::to_string(m.size()) + " " + m; }

std::string AuthLine(const std::string& host, const std::string& user) {
  return "<86>2025-01-08T12:42:30.123456+00:00 " + host +
         " pvedaemon[1234]: authentication failure; rhost=::ffff:198.51.100.7 user=" + user +
         " msg=Authentication failure";
}

class SyslogTlsE2eTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    signal(SIGPIPE, SIG_IGN);
    Make(&ca_, work_, "ca", "test CA", "", nullptr);
    Make(&server_, work_, "server", "localhost", "DNS:localhost,IP:127.0.0.1", &ca_);
    Make(&pve2_, work_, "pve2", "pve2.example.com", "DNS:pve2.example.com", &ca_);
    Make(&pve3_, work_, "pve3", "pve3.example.com", "DNS:pve3.example.com", &ca_);
  }
  void TearDown() override {
    StopProcess(&pid_, SIGKILL);
    E2eTest::TearDown();
  }
  KeyAndCert ca_, server_, pve2_, pve3_;
  pid_t pid_ = -1;
};

TEST_F(SyslogTlsE2eTest, TlsPeersAreStoredUnderTheirListedNode) {
  int port = FreePort();
  std::string conf = work_ + "/daemon.toml";
  WriteFile(conf,
            "[sources.access_log]\nenabled = false\n[sources.auth]\nenabled = false\n"
            "[sources.tasks]\nenabled = false\n[sources.journal]\nenabled = false\n"
            "[sources.syslog]\nenabled = true\nlisten = \"\"\n"
            "tls = \"127.0.0.1:" +
                std::to_string(port) + "\"\ntls_cert = \"" + server_.cert_file +
                "\"\ntls_key = \"" + server_.key_file + "\"\ntls_ca = \"" + ca_.cert_file +
                "\"\n[[sources.syslog.peer]]\nnode = \"pve2\"\n"
                "certificate = \"pve2.example.com\"\n");
  RunResult check =
      RunProgram(kPveauditd, {"pveauditd", "--config", conf, "--check-config"}, Env());
  EXPECT_EQ(check.code, 0) << check;
  EXPECT_FALSE(Contains(check.err, "warning")) << check;
  pid_ =
      SpawnQuiet(kPveauditd,
                 {"pveauditd", "--data-dir", data_dir_, "--config", conf, "--node", "pve1"}, Env());
  ASSERT_GT(pid_, 0);
  // pve2 sends its own line and one that claims pve3; pve3 is not listed.
  ASSERT_TRUE(
      SendTls(port, ca_, pve2_,
              Framed(AuthLine("pve2", "alice@pve")) + Framed(AuthLine("pve3", "forger@pve"))));
  ASSERT_TRUE(SendTls(port, ca_, pve3_, Framed(AuthLine("pve3", "bob@pve"))));
  nlohmann::json events, rejected;
  auto until = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < until) {
    RunResult r = Pveam({"access", "log", "--action", "login", "--output-format", "json"});
    RunResult j = Pveam({"access", "rejected", "--output-format", "json"});
    if (r.code == 0) events = Json(r);
    if (j.code == 0) rejected = Json(j);
    if (events.size() >= 1 && rejected.size() >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(events.size(), 1u) << events.dump(1);
  EXPECT_EQ(events[0]["node"], "pve2");
  EXPECT_EQ(events[0]["user"], "alice@pve");
  ASSERT_EQ(rejected.size(), 2u) << rejected.dump(1);
  std::string all = rejected.dump();
  EXPECT_TRUE(Contains(all, "node name mismatch")) << all;
  EXPECT_TRUE(Contains(all, "forger@pve")) << all;
  EXPECT_TRUE(Contains(all, "not on the allow-list")) << all;
  EXPECT_TRUE(Contains(all, "bob@pve")) << all;
  // The counters in `pveam access status` (published every second).
  nlohmann::json src = nlohmann::json::object(), status;
  until = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < until) {
    RunResult st = Pveam({"access", "status", "--output-format", "json"});
    if (st.code == 0) status = Json(st);
    if (st.code == 0)
      for (const auto& s : status["daemon"]["sources"])
        if (s.value("name", "") == "syslog") src = s;
    if (src.value("node_mismatches", 0) == 1 && src.value("peers_rejected", 0) == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(src.value("node_mismatches", 0), 1) << status.dump(1);
  EXPECT_EQ(src.value("peers_rejected", 0), 1) << src.dump();
  EXPECT_EQ(src.value("tls_handshakes_failed", 0), 0) << src.dump();
  RunResult text = Pveam({"access", "status"});
  EXPECT_TRUE(Contains(text.out, "syslog listener: ")) << text.out;
  EXPECT_TRUE(Contains(text.out, "1 node-name mismatches")) << text.out;
  EXPECT_EQ(StopProcess(&pid_, SIGTERM), 0);
}

TEST_F(SyslogTlsE2eTest, CheckConfigWarnsAboutAnOpenListener) {
  std::string conf = work_ + "/daemon.toml";
  WriteFile(conf, "[sources.syslog]\nenabled = true\nlisten = \"0.0.0.0:5514\"\n");
  RunResult r = RunProgram(kPveauditd, {"pveauditd", "--config", conf, "--check-config"}, Env());
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.err, "warning: [sources.syslog] listen = \"0.0.0.0:5514\"")) << r;
  // Loopback, or an allow-list: no warning.
  WriteFile(conf, "[sources.syslog]\nenabled = true\nlisten = \"127.0.0.1:5514\"\n");
  r = RunProgram(kPveauditd, {"pveauditd", "--config", conf, "--check-config"}, Env());
  EXPECT_FALSE(Contains(r.err, "warning")) << r;
  WriteFile(conf,
            "[sources.syslog]\nenabled = true\nlisten = \"*:5514\"\n[[sources.syslog.peer]]\n"
            "node = \"pve2\"\naddress = \"192.0.2.7\"\n");
  r = RunProgram(kPveauditd, {"pveauditd", "--config", conf, "--check-config"}, Env());
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_FALSE(Contains(r.err, "warning")) << r;
  // Bad values: exit 2, the message names the value.
  WriteFile(conf,
            "[sources.syslog]\nenabled = true\n[[sources.syslog.peer]]\nnode = \"pve2\"\n"
            "address = \"192.0.2.7/40\"\n");
  r = RunProgram(kPveauditd, {"pveauditd", "--config", conf, "--check-config"}, Env());
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, ":5: key 'sources.syslog.peer.address': '192.0.2.7/40'")) << r;
  WriteFile(conf, "[sources.syslog]\nenabled = true\ntls = \"127.0.0.1:6514\"\n");
  r = RunProgram(kPveauditd, {"pveauditd", "--config", conf, "--check-config"}, Env());
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "tls needs tls_cert and tls_key")) << r;
  WriteFile(conf, "[sources.syslog]\nenabled = true\ntls = \"localhost:6514\"\n");
  r = RunProgram(kPveauditd, {"pveauditd", "--config", conf, "--check-config"}, Env());
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "'localhost:6514' is not ADDR:PORT")) << r;
  WriteFile(conf, "[sources.syslog]\nenabled = true\n[[sources.syslog.peer]]\nnode = \"pve2\"\n");
  r = RunProgram(kPveauditd, {"pveauditd", "--config", conf, "--check-config"}, Env());
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "needs an address or a certificate name")) << r;
}

}  // namespace
}  // namespace e2e

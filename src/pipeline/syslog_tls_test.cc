// syslog_tls_test.cc
// The syslog listener's TLS (RFC 5425) and allow-list, over real loopback
// sockets, with certificates made at test time (test_certs.h); and a real
// rsyslogd forwarding over TLS when it is installed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/syslog_listener.h"
#include "pipeline/syslog_source.h"
#include "pipeline/test_certs.h"
#include "store/event_store.h"

namespace pveaudit {
namespace {

namespace fs = std::filesystem;
using testing_certs::KeyAndCert;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kWait = std::chrono::seconds(20);  // upper bound of every wait

bool WaitUntil(const std::function<bool()>& pred) {
  auto deadline = Clock::now() + kWait;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return pred();
}

std::string Framed(const std::string& msg) { return std::to_string(msg.size()) + " " + msg; }

int ConnectTcp(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << std::strerror(errno);
  return fd;
}

// A blocking TLS client (the sender's side).
struct TlsClient {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  int fd = -1;
  ~TlsClient() {
    if (ssl) SSL_free(ssl);
    if (ctx) SSL_CTX_free(ctx);
    if (fd >= 0) close(fd);
  }
  // Connects and handshakes; verifies the server against `ca` as
  // "localhost". `cert` = nullptr: no client certificate. True when the
  // client side of the handshake finished (with TLS 1.3 the server may
  // still refuse the client's certificate afterwards).
  bool Connect(uint16_t port, const std::string& ca, const KeyAndCert* cert, int max_version = 0) {
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (max_version) {
      SSL_CTX_set_security_level(ctx, 0);  // let the client offer an old version at all
      SSL_CTX_set_min_proto_version(ctx, 0);
      SSL_CTX_set_max_proto_version(ctx, max_version);
    }
    if (cert) {
      EXPECT_EQ(SSL_CTX_use_certificate_file(ctx, cert->cert_file.c_str(), SSL_FILETYPE_PEM), 1);
      EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx, cert->key_file.c_str(), SSL_FILETYPE_PEM), 1);
    }
    fd = ConnectTcp(port);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set1_host(ssl, "localhost");
    bool ok = SSL_connect(ssl) == 1;
    ERR_clear_error();
    return ok;
  }
  bool Send(const std::string& data) {
    return SSL_write(ssl, data.data(), static_cast<int>(data.size())) ==
           static_cast<int>(data.size());
  }
  // True when the server ended the connection (alert, close_notify, EOF).
  bool ClosedByServer() {
    char c;
    int n = SSL_read(ssl, &c, 1);
    ERR_clear_error();
    return n <= 0;
  }
  void Close() {
    SSL_shutdown(ssl);
    ERR_clear_error();
  }
};

class SyslogTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // a client writing to a refused connection gets EPIPE
    char tmpl[] = "/tmp/pveaudit-syslog-tls-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    testing_certs::Make(&ca_, dir_, "ca", "pveaudit test CA", "", nullptr);
    testing_certs::Make(&other_ca_, dir_, "other-ca", "another CA", "", nullptr);
    testing_certs::Make(&server_, dir_, "server", "localhost", "DNS:localhost,IP:127.0.0.1", &ca_);
    testing_certs::Make(&pve2_, dir_, "pve2", "pve2.example.com", "DNS:pve2.example.com", &ca_);
    testing_certs::Make(&pve3_, dir_, "pve3", "pve3.example.com", "DNS:pve3.example.com", &ca_);
    testing_certs::Make(&stranger_, dir_, "stranger", "pve2.example.com", "DNS:pve2.example.com",
                        &other_ca_);
    testing_certs::Make(&expired_, dir_, "expired", "pve2.example.com", "DNS:pve2.example.com",
                        &ca_, -10 * 86400, -86400);
  }
  void TearDown() override {
    l_.Stop();
    fs::remove_all(dir_);
  }
  ListenOptions TlsOptions() {
    ListenOptions o;
    o.tls = "127.0.0.1:0";
    o.tls_cert = server_.cert_file;
    o.tls_key = server_.key_file;
    o.tls_ca = ca_.cert_file;
    return o;
  }
  void Start(const ListenOptions& o) {
    Status st = l_.Start(o);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_NE(l_.tls_port(), 0);
  }
  std::vector<SyslogMessage> Take(size_t n) {
    std::vector<SyslogMessage> out;
    auto deadline = Clock::now() + kWait;
    while (out.size() < n && Clock::now() < deadline)
      l_.Drain(&out, n - out.size(), milliseconds(50));
    return out;
  }
  // A client the listener must refuse: the failure is counted, the client
  // is disconnected and nothing it sent is delivered.
  void ExpectRefused(const KeyAndCert* cert, const char* what, const char* why,
                     int max_version = 0) {
    uint64_t failures = l_.counters().tls_handshake_failures;
    TlsClient c;
    if (c.Connect(l_.tls_port(), ca_.cert_file, cert, max_version)) {
      c.Send(Framed("<86>Jan  8 12:42:30 pve2 pvedaemon[1]: must not arrive"));
      EXPECT_TRUE(c.ClosedByServer()) << what;
    }
    EXPECT_TRUE(WaitUntil([&] { return l_.counters().tls_handshake_failures == failures + 1; }))
        << what;
    EXPECT_EQ(l_.queued(), 0u) << what;
    EXPECT_NE(l_.last_tls_error().find(why), std::string::npos)
        << what << ": " << l_.last_tls_error();
  }

  std::string dir_;
  KeyAndCert ca_, other_ca_, server_, pve2_, pve3_, stranger_, expired_;
  SyslogListener l_;
};

const std::string kLine =
    "<86>2025-01-08T12:42:30.123456+00:00 pve2 pvedaemon[1234]: authentication failure; "
    "rhost=::ffff:198.51.100.7 user=root@pam msg=Authentication failure";

TEST_F(SyslogTlsTest, ValidClientCertificateDelivers) {
  Start(TlsOptions());
  TlsClient c;
  ASSERT_TRUE(c.Connect(l_.tls_port(), ca_.cert_file, &pve2_));
  EXPECT_GE(SSL_version(c.ssl), TLS1_2_VERSION);
  // Octet counting, split across records, then a LF-framed one.
  std::string data = Framed(kLine) + Framed("<13>second\nwith LF inside") + "<13>third\n";
  ASSERT_TRUE(c.Send(data.substr(0, 10)));
  ASSERT_TRUE(c.Send(data.substr(10)));
  std::vector<SyslogMessage> got = Take(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].line, kLine);
  EXPECT_EQ(got[1].line, "<13>second\nwith LF inside");
  EXPECT_EQ(got[2].line, "<13>third");
  EXPECT_EQ(got[0].peer.rfind("127.0.0.1:", 0), 0u);
  EXPECT_TRUE(got[0].node.empty());  // no allow-list
  EXPECT_TRUE(got[0].rejected.empty());
  SyslogCounters k = l_.counters();
  EXPECT_EQ(k.tls_connections, 1u);
  EXPECT_EQ(k.tls_handshake_failures, 0u);
  c.Close();
  EXPECT_TRUE(WaitUntil([&] { return l_.counters().open_connections == 0; }));
  EXPECT_EQ(l_.counters().bad_frames, 0u);
}

TEST_F(SyslogTlsTest, ClientsWithoutAValidCertificateAreRefused) {
  Start(TlsOptions());
  ExpectRefused(nullptr, "no client certificate", "did not return a certificate");
  ExpectRefused(&stranger_, "certificate from another CA", "unable to get local issuer");
  ExpectRefused(&expired_, "expired certificate", "certificate has expired");
  ExpectRefused(&pve2_, "TLS 1.1", "unsupported protocol", TLS1_1_VERSION);
  // Plain syslog sent to the TLS port is not TLS: refused, not delivered.
  int plain = ConnectTcp(l_.tls_port());
  std::string text = Framed(kLine);
  ASSERT_EQ(write(plain, text.data(), text.size()), ssize_t(text.size()));
  EXPECT_TRUE(WaitUntil([&] { return l_.counters().tls_handshake_failures == 5; }));
  char ch;
  ssize_t n;
  while ((n = read(plain, &ch, 1)) > 0) {
  }  // an alert may come before the end
  EXPECT_TRUE(n == 0 || errno == ECONNRESET) << std::strerror(errno);
  close(plain);
  EXPECT_EQ(l_.queued(), 0u);
  EXPECT_EQ(l_.counters().tls_connections, 0u);
  // The listener still serves a valid client afterwards.
  TlsClient ok;
  ASSERT_TRUE(ok.Connect(l_.tls_port(), ca_.cert_file, &pve2_));
  ASSERT_TRUE(ok.Send(Framed(kLine)));
  ASSERT_EQ(Take(1).size(), 1u);
}

TEST_F(SyslogTlsTest, OptionalClientCertificate) {
  ListenOptions o = TlsOptions();
  o.tls_require_client_cert = false;
  Start(o);
  TlsClient anon;
  ASSERT_TRUE(anon.Connect(l_.tls_port(), ca_.cert_file, nullptr));
  ASSERT_TRUE(anon.Send(Framed(kLine)));
  ASSERT_EQ(Take(1).size(), 1u);
  // A certificate that is sent must still verify.
  ExpectRefused(&stranger_, "optional, but from another CA", "unable to get local issuer");
}

TEST_F(SyslogTlsTest, SlowHandshakeDoesNotBlockOthersAndTimesOut) {
  ListenOptions o = TlsOptions();
  o.tls_handshake_timeout = milliseconds(1500);
  Start(o);
  // A silent peer, and one that stops in the middle of its ClientHello.
  int silent = ConnectTcp(l_.tls_port());
  int partial = ConnectTcp(l_.tls_port());
  const unsigned char hello_start[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
  ASSERT_EQ(write(partial, hello_start, sizeof(hello_start)), ssize_t(sizeof(hello_start)));
  ASSERT_TRUE(WaitUntil([&] { return l_.counters().open_connections == 2; }));
  auto t0 = Clock::now();
  TlsClient c;
  ASSERT_TRUE(c.Connect(l_.tls_port(), ca_.cert_file, &pve2_));
  ASSERT_TRUE(c.Send(Framed(kLine)));
  ASSERT_EQ(Take(1).size(), 1u);
  // Delivered while both stalled handshakes were still pending.
  if (Clock::now() - t0 < milliseconds(1500)) {
    EXPECT_EQ(l_.counters().tls_handshake_timeouts, 0u);
  }
  ASSERT_TRUE(WaitUntil([&] { return l_.counters().tls_handshake_timeouts == 2; }));
  EXPECT_EQ(l_.counters().tls_handshake_failures, 2u);
  for (int fd : {silent, partial}) {
    char ch;
    EXPECT_LE(read(fd, &ch, 1), 0);  // closed by the listener
    close(fd);
  }
  EXPECT_EQ(l_.counters().open_connections, 1u);
}

// Back-pressure over TLS: with a tiny queue the connection is paused and
// resumed many times; bytes OpenSSL already decrypted must not be stranded
// (epoll cannot announce them), so every message arrives, in order.
TEST_F(SyslogTlsTest, BackPressureLosesNothing) {
  ListenOptions o = TlsOptions();
  o.queue_capacity = 4;
  Start(o);
  TlsClient c;
  ASSERT_TRUE(c.Connect(l_.tls_port(), ca_.cert_file, &pve2_));
  constexpr int kN = 3000;
  std::string data;
  for (int i = 0; i < kN; ++i) data += Framed("<13>message " + std::to_string(i));
  std::thread writer([&] { EXPECT_TRUE(c.Send(data)); });  // blocks while paused
  std::vector<SyslogMessage> got;
  auto deadline = Clock::now() + kWait;
  while (got.size() < size_t(kN) && Clock::now() < deadline) {
    SyslogMessage m;
    if (l_.Pop(&m, milliseconds(100))) got.push_back(std::move(m));
  }
  writer.join();
  ASSERT_EQ(got.size(), size_t(kN));
  for (int i = 0; i < kN; ++i) ASSERT_EQ(got[size_t(i)].line, "<13>message " + std::to_string(i));
  EXPECT_EQ(l_.counters().dropped, 0u);
}

TEST_F(SyslogTlsTest, AllowListMapsCertificatesToNodes) {
  ListenOptions o = TlsOptions();
  o.peers = {SyslogPeer{"pve2", "", "PVE2.example.com"}, SyslogPeer{"pve4", "127.0.0.1", "pve4"}};
  Start(o);
  TlsClient a;
  ASSERT_TRUE(a.Connect(l_.tls_port(), ca_.cert_file, &pve2_));
  ASSERT_TRUE(a.Send(Framed(kLine)));
  std::vector<SyslogMessage> got = Take(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].node, "pve2");
  EXPECT_EQ(got[0].rejected, "");
  // Valid certificate, but not on the list (pve4 needs both address and name).
  TlsClient b;
  ASSERT_TRUE(b.Connect(l_.tls_port(), ca_.cert_file, &pve3_));
  ASSERT_TRUE(b.Send(Framed(kLine)));
  got = Take(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].node, "");
  EXPECT_NE(got[0].rejected.find("pve3.example.com"), std::string::npos) << got[0].rejected;
  EXPECT_NE(got[0].rejected.find("not on the allow-list"), std::string::npos);
  EXPECT_EQ(l_.counters().peers_rejected, 1u);
}

void SendUdp(uint16_t port, const std::string& data) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)),
            ssize_t(data.size()));
  close(fd);
}

TEST_F(SyslogTlsTest, AllowListByAddressOverUdpAndTcp) {
  for (const char* listed : {"192.0.2.0/24", "127.0.0.0/8", "::ffff:127.0.0.1"}) {
    ListenOptions o;
    o.udp = o.tcp = "127.0.0.1:0";
    o.peers = {SyslogPeer{"pve2", listed, ""}, SyslogPeer{"pve9", "::1", ""},
               SyslogPeer{"pve5", "", "pve5.example.com"}};  // TLS only: never plain
    Status st = l_.Start(o);
    ASSERT_TRUE(st.ok()) << st.ToString();
    bool allowed = std::string(listed) != "192.0.2.0/24";
    uint64_t rejected_before = l_.counters().peers_rejected;  // counters span restarts
    SendUdp(l_.udp_port(), kLine);
    int fd = ConnectTcp(l_.tcp_port());
    std::string data = Framed(kLine);
    ASSERT_EQ(write(fd, data.data(), data.size()), ssize_t(data.size()));
    std::vector<SyslogMessage> got = Take(2);
    ASSERT_EQ(got.size(), 2u) << listed;
    for (const SyslogMessage& m : got) {
      EXPECT_EQ(m.node, allowed ? "pve2" : "") << listed;
      EXPECT_EQ(m.rejected.empty(), allowed) << listed << ": " << m.rejected;
    }
    EXPECT_EQ(l_.counters().peers_rejected - rejected_before, allowed ? 0u : 2u) << listed;
    close(fd);
    l_.Stop();
  }
}

TEST_F(SyslogTlsTest, BadOptionsNameTheValue) {
  ListenOptions o = TlsOptions();
  o.peers = {SyslogPeer{"pve2", "192.0.2.300", ""}};
  Status st = l_.Start(o);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("192.0.2.300"), std::string::npos) << st.message();
  o = TlsOptions();
  o.tls_key = pve2_.key_file;  // not the certificate's key
  st = l_.Start(o);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find(pve2_.key_file), std::string::npos) << st.message();
  o = TlsOptions();
  o.tls_cert = dir_ + "/missing.pem";
  st = l_.Start(o);
  EXPECT_NE(st.message().find("missing.pem"), std::string::npos) << st.message();
  EXPECT_FALSE(l_.running());
}

// Through SyslogSource into a real store: the allow-list decides the node,
// and a line claiming another node is kept aside, not stored as an event.
TEST_F(SyslogTlsTest, SourceStoresUnderTheListedNodeAndRejectsForgedHostnames) {
  auto store = OpenSqliteStore(dir_ + "/store", StoreOptions{});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ListenOptions o = TlsOptions();
  o.udp = "127.0.0.1:0";
  o.peers = {SyslogPeer{"pve2", "", "pve2.example.com"}};
  SyslogSource src;
  ASSERT_TRUE(src.Start(o).ok());
  auto line = [](const std::string& host, const std::string& user) {
    return "<86>2025-01-08T12:42:30.123456+00:00 " + host +
           " pvedaemon[1234]: authentication failure; rhost=::ffff:198.51.100.7 user=" + user +
           " msg=Authentication failure";
  };
  TlsClient c;
  ASSERT_TRUE(c.Connect(src.listener().tls_port(), ca_.cert_file, &pve2_));
  ASSERT_TRUE(c.Send(Framed(line("pve2", "a@pve")) + Framed(line("PVE2.example.com", "b@pve")) +
                     Framed(line("pve3", "forger@pve"))));
  SendUdp(src.listener().udp_port(), line("pve2", "udp@pve"));  // not on the list
  ASSERT_TRUE(WaitUntil([&] {
    EXPECT_TRUE(src.Poll(**store).ok());
    return src.events() + src.rejected() == 4;
  }));
  EXPECT_EQ(src.events(), 2u);
  EXPECT_EQ(src.node_mismatches(), 1u);
  EXPECT_EQ(src.listener().counters().peers_rejected, 1u);
  std::vector<Event> events;
  ASSERT_TRUE((*store)
                  ->ScanAfter(0, 0, kFieldAll,
                              [&](const Event& e) {
                                events.push_back(e);
                                return true;
                              })
                  .ok());
  ASSERT_EQ(events.size(), 2u);
  for (const Event& e : events) {
    EXPECT_EQ(e.node, "pve2");
    EXPECT_NE(e.user, "forger@pve");
    EXPECT_EQ(e.origin.rfind("syslog:127.0.0.1:", 0), 0u) << e.origin;
  }
  auto rejected = (*store)->ListRejected(0);
  ASSERT_TRUE(rejected.ok());
  ASSERT_EQ(rejected->size(), 2u);
  bool mismatch = false, unlisted = false;
  for (const RejectedLine& r : *rejected) {
    if (r.reason.find("node name mismatch") != std::string::npos &&
        r.reason.find("'pve3'") != std::string::npos && r.text == line("pve3", "forger@pve"))
      mismatch = true;
    if (r.reason.find("not on the allow-list") != std::string::npos &&
        r.text == line("pve2", "udp@pve"))
      unlisted = true;
  }
  EXPECT_TRUE(mismatch);
  EXPECT_TRUE(unlisted);
  src.Stop();
}

TEST(SyslogHostnameTest, Names) {
  EXPECT_TRUE(SyslogHostnameNames("pve2", "pve2"));
  EXPECT_TRUE(SyslogHostnameNames("PVE2", "pve2"));
  EXPECT_TRUE(SyslogHostnameNames("pve2.example.com", "pve2"));
  EXPECT_TRUE(SyslogHostnameNames("pve2.example.com", "pve2.example.com"));
  EXPECT_FALSE(SyslogHostnameNames("pve2.example.com", "pve2.other.org"));
  EXPECT_FALSE(SyslogHostnameNames("pve22", "pve2"));
  EXPECT_FALSE(SyslogHostnameNames("pve2", "pve2.example.com"));
  EXPECT_FALSE(SyslogHostnameNames("", "pve2"));
  EXPECT_FALSE(SyslogHostnameNames("pve3", "pve2"));
}

// ---------------------------------------------------------------------------
// A real rsyslogd (rsyslog-gnutls) forwarding over TLS with a client
// certificate: the configuration docs/syslog-listener.md recommends.

std::string Which(const char* prog) {
  for (const char* d : {"/usr/sbin/", "/sbin/", "/usr/bin/"}) {
    std::string p = std::string(d) + prog;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

TEST_F(SyslogTlsTest, RsyslogForwardsOverTls) {
  std::string rsyslogd = Which("rsyslogd");
  bool gtls = fs::exists("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so") ||
              fs::exists("/usr/lib/rsyslog/lmnsd_gtls.so");
  if (rsyslogd.empty() || !gtls) GTEST_SKIP() << "rsyslog / rsyslog-gnutls not installed";
  ListenOptions o = TlsOptions();
  o.peers = {SyslogPeer{"pve2", "127.0.0.1", "pve2.example.com"}};
  Start(o);
  // rsyslog reads a UDP port the test writes to and forwards to the listener.
  int probe = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(probe, reinterpret_cast<sockaddr*>(&a), &len);
  uint16_t in_port = ntohs(a.sin_port);
  close(probe);
  fs::create_directories(dir_ + "/work");
  std::string conf = dir_ + "/rsyslog.conf";
  std::ofstream(conf) << "global(workDirectory=\"" << dir_ << "/work\"\n"
                      << "       defaultNetstreamDriver=\"gtls\"\n"
                      << "       defaultNetstreamDriverCAFile=\"" << ca_.cert_file << "\"\n"
                      << "       defaultNetstreamDriverCertFile=\"" << pve2_.cert_file << "\"\n"
                      << "       defaultNetstreamDriverKeyFile=\"" << pve2_.key_file << "\")\n"
                      << "module(load=\"imudp\")\n"
                      << "input(type=\"imudp\" address=\"127.0.0.1\" port=\"" << in_port << "\")\n"
                      << "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"" << l_.tls_port()
                      << "\" protocol=\"tcp\"\n"
                      << "       StreamDriver=\"gtls\" StreamDriverMode=\"1\"\n"
                      << "       StreamDriverAuthMode=\"x509/name\"\n"
                      << "       StreamDriverPermittedPeers=\"localhost\"\n"
                      << "       TCP_Framing=\"octet-counted\" template=\"RSYSLOG_ForwardFormat\"\n"
                      << "       action.resumeRetryCount=\"-1\")\n";
  std::string pidfile = dir_ + "/rsyslogd.pid";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    execl(rsyslogd.c_str(), "rsyslogd", "-n", "-f", conf.c_str(), "-i", pidfile.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const std::string msg =
      "<86>Jan  8 12:42:30 pve2 pvedaemon[1234]: authentication failure; "
      "rhost=::ffff:198.51.100.7 user=root@pam msg=Authentication failure";
  // Until rsyslog listens, datagrams go nowhere: resend until one arrives.
  std::vector<SyslogMessage> got;
  auto deadline = Clock::now() + kWait;
  while (got.empty() && Clock::now() < deadline) {
    SendUdp(in_port, msg);
    l_.Drain(&got, 1, milliseconds(250));
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_FALSE(got.empty()) << "nothing arrived from rsyslogd; last TLS error: "
                            << l_.last_tls_error();
  EXPECT_NE(got[0].line.find("pve2 pvedaemon[1234]: authentication failure; "
                             "rhost=::ffff:198.51.100.7 user=root@pam"),
            std::string::npos)
      << got[0].line;
  EXPECT_EQ(got[0].node, "pve2");
  EXPECT_EQ(got[0].rejected, "");
  EXPECT_GE(l_.counters().tls_connections, 1u);
  EXPECT_EQ(l_.counters().bad_frames, 0u);
}

}  // namespace
}  // namespace pveaudit

// Tests of FrameDecoder (pure) and SyslogListener (real sockets on the
// loopback interface only; every wait is bounded).
#include "pipeline/syslog_listener.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/time_spec.h"
#include "ingest/line_parser.h"

namespace pveaudit {
namespace {

using namespace std::string_literals;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using Lines = std::vector<std::string>;

constexpr auto kWait = std::chrono::seconds(10);  // upper bound of every wait
constexpr int64_t kS = 1000000;

std::string Framed(std::string_view msg) {
  return std::to_string(msg.size()) + " " + std::string(msg);
}

// ---------------------------------------------------------------------------
// Socket helpers (blocking client sockets with timeouts)

void SetTimeouts(int fd) {
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

sockaddr_storage Loopback(int family, uint16_t port, socklen_t* len) {
  sockaddr_storage ss{};
  if (family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    a->sin6_port = htons(port);
    *len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = htons(port);
    *len = sizeof(sockaddr_in);
  }
  return ss;
}

int ConnectTcp(uint16_t port, int family = AF_INET) {
  socklen_t len = 0;
  sockaddr_storage ss = Loopback(family, port, &len);
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  SetTimeouts(fd);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&ss), len), 0) << std::strerror(errno);
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void SendUdp(uint16_t port, std::string_view data, int family = AF_INET) {
  socklen_t len = 0;
  sockaddr_storage ss = Loopback(family, port, &len);
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&ss), len),
            static_cast<ssize_t>(data.size()));
  close(fd);
}

// True when the server closed the connection (EOF or reset) within 5 s.
bool ClosedByServer(int fd) {
  char c;
  for (;;) {
    ssize_t n = recv(fd, &c, 1, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

bool WaitUntil(const std::function<bool()>& pred) {
  auto deadline = Clock::now() + kWait;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return pred();
}

// Takes n messages (fewer on timeout).
std::vector<SyslogMessage> Take(SyslogListener& l, size_t n) {
  std::vector<SyslogMessage> out;
  auto deadline = Clock::now() + kWait;
  while (out.size() < n && Clock::now() < deadline) {
    l.Drain(&out, n - out.size(), milliseconds(100));
  }
  return out;
}

Lines LinesOf(const std::vector<SyslogMessage>& msgs) {
  Lines l;
  for (const auto& m : msgs) l.push_back(m.line);
  return l;
}

class ListenerTest : public ::testing::Test {
 protected:
  void StartBoth(ListenOptions o = {}) {
    o.udp = "127.0.0.1:0";
    o.tcp = "127.0.0.1:0";
    Status st = l_.Start(o);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_NE(l_.udp_port(), 0);
    ASSERT_NE(l_.tcp_port(), 0);
  }
  void TearDown() override {
    auto t0 = Clock::now();
    l_.Stop();
    EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2));
  }
  SyslogListener l_;
};

// ---------------------------------------------------------------------------
// SyslogListener

TEST_F(ListenerTest, StartValidation) {
  ListenOptions o;
  EXPECT_EQ(l_.Start(o).code(), Status::Code::kInvalidArgument);  // nothing to listen on
  for (const char* bad : {"localhost:5514", "::1:5514", "[::1]", "127.0.0.1", "127.0.0.1:",
                          "127.0.0.1:65536", "127.0.0.1:x", "[::1:5514", "300.1.1.1:1"}) {
    o.udp = bad;
    Status st = l_.Start(o);
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << bad << " " << st.ToString();
    EXPECT_FALSE(l_.running());
  }
  o.udp = "127.0.0.1:0";
  o.max_message_bytes = 0;
  EXPECT_EQ(l_.Start(o).code(), Status::Code::kInvalidArgument);
  o.max_message_bytes = 100;
  o.queue_capacity = 0;
  EXPECT_EQ(l_.Start(o).code(), Status::Code::kInvalidArgument);
  o.queue_capacity = 10;
  ASSERT_TRUE(l_.Start(o).ok());
  EXPECT_TRUE(l_.running());
  EXPECT_EQ(l_.tcp_port(), 0);
  EXPECT_EQ(l_.Start(o).code(), Status::Code::kBusy);
  // The port is taken: IOError, and the running listener is untouched.
  SyslogListener other;
  ListenOptions taken;
  taken.udp = "127.0.0.1:" + std::to_string(l_.udp_port());
  EXPECT_EQ(other.Start(taken).code(), Status::Code::kIOError);
  EXPECT_TRUE(l_.running());
  // Not running: Pop returns at once.
  l_.Stop();
  l_.Stop();
  SyslogMessage m;
  auto t0 = Clock::now();
  EXPECT_FALSE(l_.Pop(&m, std::chrono::seconds(5)));
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(1));
}

TEST_F(ListenerTest, UdpFromAnotherThread) {
  ListenOptions o;
  o.udp_receive_buffer = 1 << 20;
  StartBoth(o);
  const int kN = 200;
  int64_t before = NowUs();
  std::thread sender([&] {
    const char* trailers[] = {"", "\n", "\r\n", "\0"};
    for (int i = 0; i < kN; ++i) {
      std::string m = "<13>Jan  8 12:42:30 pve2 test: udp " + std::to_string(i);
      m.append(trailers[i % 4], i % 4 == 3 ? 1 : std::strlen(trailers[i % 4]));
      SendUdp(l_.udp_port(), m);
    }
    SendUdp(l_.udp_port(), "\n");  // empty after stripping: skipped
  });
  std::vector<SyslogMessage> got = Take(l_, kN);
  sender.join();
  ASSERT_EQ(got.size(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ(got[i].line, "<13>Jan  8 12:42:30 pve2 test: udp " + std::to_string(i));
    EXPECT_EQ(got[i].peer.rfind("127.0.0.1:", 0), 0u) << got[i].peer;
    EXPECT_GE(got[i].received_us, before);
    EXPECT_LE(got[i].received_us, NowUs());
  }
  ASSERT_TRUE(WaitUntil([&] { return l_.counters().received == kN; }));
  SyslogCounters c = l_.counters();
  EXPECT_EQ(c.dropped, 0u);
  EXPECT_EQ(c.truncated, 0u);
  EXPECT_EQ(l_.queued(), 0u);
}

TEST_F(ListenerTest, UdpOversizeAndDrops) {
  ListenOptions o;
  o.max_message_bytes = 100;
  o.queue_capacity = 4;
  o.udp_receive_buffer = 1 << 20;
  StartBoth(o);
  SendUdp(l_.udp_port(), std::string(1000, 'a'));
  SendUdp(l_.udp_port(), std::string(100, 'b') + "\r\n");  // at the limit: not cut
  SendUdp(l_.udp_port(), std::string(101, 'c'));
  std::vector<SyslogMessage> got = Take(l_, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].line, std::string(100, 'a'));
  EXPECT_EQ(got[1].line, std::string(100, 'b'));
  EXPECT_EQ(got[2].line, std::string(100, 'c'));
  EXPECT_EQ(l_.counters().truncated, 2u);
  // Nobody consumes: 4 are queued, the rest are counted as dropped.
  for (int i = 0; i < 20; ++i) SendUdp(l_.udp_port(), std::string("d").append(std::to_string(i)));
  ASSERT_TRUE(WaitUntil([&] { return l_.counters().received == 23; }));
  EXPECT_EQ(l_.counters().dropped, 16u);
  EXPECT_EQ(l_.queued(), 4u);
  EXPECT_EQ(LinesOf(Take(l_, 4)), (Lines{"d0", "d1", "d2", "d3"}));
}

TEST_F(ListenerTest, TcpOctetCounting) {
  StartBoth();
  int fd = ConnectTcp(l_.tcp_port());
  std::string m1 = "<86>1 2025-01-08T12:42:30.123+00:00 pve2 pvedaemon 1234 - - first";
  std::string m2 = "<86>1 2025-01-08T12:42:31.123+00:00 pve2 pvedaemon 1234 - - with\nLF inside\n";
  ASSERT_TRUE(SendAll(fd, Framed(m1) + Framed(m2) + Framed("<13>third")));
  std::vector<SyslogMessage> got = Take(l_, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].line, m1);
  EXPECT_EQ(got[1].line, m2.substr(0, m2.size() - 1));
  EXPECT_EQ(got[2].line, "<13>third");
  EXPECT_EQ(got[0].peer.rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(l_.counters().connections, 1u);
  EXPECT_EQ(l_.counters().open_connections, 1u);
  close(fd);
  ASSERT_TRUE(WaitUntil([&] { return l_.counters().open_connections == 0; }));
  EXPECT_EQ(l_.counters().bad_frames, 0u);
}

TEST_F(ListenerTest, TcpLfFraming) {
  StartBoth();
  int fd = ConnectTcp(l_.tcp_port());
  ASSERT_TRUE(SendAll(fd, "<13>one\n<13>two\r\n\n<13>three\0<13>unterminated"s));
  EXPECT_EQ(LinesOf(Take(l_, 3)), (Lines{"<13>one", "<13>two", "<13>three"}));
  close(fd);  // EOF delivers the unterminated last line
  EXPECT_EQ(LinesOf(Take(l_, 1)), Lines{"<13>unterminated"});
  ASSERT_TRUE(WaitUntil([&] { return l_.counters().open_connections == 0; }));
  EXPECT_EQ(l_.counters().received, 4u);
}

TEST_F(ListenerTest, TcpMixedAndPartialWrites) {
  StartBoth();
  std::string m = "<86>1 2025-01-08T12:42:30Z pve2 pvedaemon 1234 - - octet";
  std::string in = "<13>lf first\n" + Framed(m) + "<13>lf second\n" + "123" + " " +
                   std::string(123, 'x') + Framed("<13>end");
  int fd = ConnectTcp(l_.tcp_port());
  // Byte-sized writes with pauses: the server sees frames (and lengths)
  // split across packets.
  for (size_t i = 0; i < in.size(); i += 7) {
    ASSERT_TRUE(SendAll(fd, std::string_view(in).substr(i, 7)));
    std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_EQ(LinesOf(Take(l_, 5)),
            (Lines{"<13>lf first", m, "<13>lf second", std::string(123, 'x'), "<13>end"}));
  // A length split exactly between its digits, seconds apart.
  ASSERT_TRUE(SendAll(fd, "1"));
  std::this_thread::sleep_for(milliseconds(50));
  ASSERT_TRUE(SendAll(fd, "0"));
  std::this_thread::sleep_for(milliseconds(50));
  ASSERT_TRUE(SendAll(fd, " 0123"));
  std::this_thread::sleep_for(milliseconds(50));
  ASSERT_TRUE(SendAll(fd, "456789"));
  EXPECT_EQ(LinesOf(Take(l_, 1)), Lines{"0123456789"});
  close(fd);
  EXPECT_EQ(l_.counters().bad_frames, 0u);
}

TEST_F(ListenerTest, TcpOversize) {
  ListenOptions o;
  o.max_message_bytes = 100;
  StartBoth(o);
  int fd = ConnectTcp(l_.tcp_port());
  ASSERT_TRUE(SendAll(fd, Framed(std::string(5000, 'a')) + std::string(5000, 'b') + "\n" +
                              Framed("ok") + "fine\n"));
  EXPECT_EQ(LinesOf(Take(l_, 4)),
            (Lines{std::string(100, 'a'), std::string(100, 'b'), "ok", "fine"}));
  EXPECT_EQ(l_.counters().truncated, 2u);
  close(fd);
}

TEST_F(ListenerTest, BadOctetCountClosesConnection) {
  StartBoth();
  int bad = ConnectTcp(l_.tcp_port());
  int good = ConnectTcp(l_.tcp_port());
  ASSERT_TRUE(SendAll(bad, "5 hello12x <13>never\n"));
  EXPECT_TRUE(ClosedByServer(bad));
  close(bad);
  ASSERT_TRUE(WaitUntil([&] { return l_.counters().bad_frames == 1; }));
  // Other connections are not affected.
  ASSERT_TRUE(SendAll(good, "<13>still here\n"));
  EXPECT_EQ(LinesOf(Take(l_, 2)), (Lines{"hello", "<13>still here"}));
  // A frame cut short by the sender's close counts too.
  ASSERT_TRUE(SendAll(good, "20 <13>short"));
  close(good);
  ASSERT_TRUE(WaitUntil([&] { return l_.counters().bad_frames == 2; }));
  ASSERT_TRUE(WaitUntil([&] { return l_.counters().open_connections == 0; }));
  EXPECT_EQ(l_.queued(), 0u);
}

TEST_F(ListenerTest, ManyClients) {
  StartBoth();
  const int kClients = 40, kEach = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      int fd = ConnectTcp(l_.tcp_port());
      for (int i = 0; i < kEach; ++i) {
        std::string m = "<13>client " + std::to_string(c) + " msg " + std::to_string(i);
        // Odd clients count octets, even ones end lines.
        if (!SendAll(fd, c % 2 ? Framed(m) : m + "\n")) ++failures;
      }
      close(fd);
    });
  }
  std::vector<SyslogMessage> got = Take(l_, kClients * kEach);
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(got.size(), static_cast<size_t>(kClients * kEach));
  // Per client, in order.
  std::vector<int> next(kClients, 0);
  for (const auto& m : got) {
    int c = -1, i = -1;
    ASSERT_EQ(std::sscanf(m.line.c_str(), "<13>client %d msg %d", &c, &i), 2) << m.line;
    ASSERT_TRUE(c >= 0 && c < kClients);
    EXPECT_EQ(i, next[c]++);
  }
  ASSERT_TRUE(WaitUntil([&] { return l_.counters().open_connections == 0; }));
  EXPECT_EQ(l_.counters().connections, static_cast<uint64_t>(kClients));
  EXPECT_EQ(l_.counters().bad_frames, 0u);
}

TEST_F(ListenerTest, MaxConnections) {
  ListenOptions o;
  o.max_connections = 2;
  StartBoth(o);
  int a = ConnectTcp(l_.tcp_port()), b = ConnectTcp(l_.tcp_port());
  ASSERT_TRUE(WaitUntil([&] { return l_.counters().open_connections == 2; }));
  int c = ConnectTcp(l_.tcp_port());
  EXPECT_TRUE(ClosedByServer(c));
  EXPECT_EQ(l_.counters().rejected_connections, 1u);
  close(c);
  close(a);
  ASSERT_TRUE(WaitUntil([&] { return l_.counters().open_connections == 1; }));
  int d = ConnectTcp(l_.tcp_port());
  ASSERT_TRUE(SendAll(d, "<13>room again\n"));
  EXPECT_EQ(LinesOf(Take(l_, 1)), Lines{"<13>room again"});
  close(b);
  close(d);
}

TEST_F(ListenerTest, TcpBackPressure) {
  ListenOptions o;
  o.queue_capacity = 8;
  StartBoth(o);
  const int kN = 3000;
  std::atomic<bool> sent{false};
  std::thread sender([&] {
    int fd = ConnectTcp(l_.tcp_port());
    std::string all;
    for (int i = 0; i < kN; ++i) all += "<13>m" + std::to_string(i) + "\n";
    EXPECT_TRUE(SendAll(fd, all));
    sent = true;
    close(fd);
  });
  // Nobody consumes: the queue fills and stays at its capacity, no drops.
  ASSERT_TRUE(WaitUntil([&] { return l_.queued() == 8; }));
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(l_.queued(), 8u);
  EXPECT_EQ(l_.counters().dropped, 0u);
  // Consuming resumes the connection; everything arrives, in order.
  std::vector<SyslogMessage> got;
  auto deadline = Clock::now() + kWait;
  SyslogMessage m;
  while (got.size() < static_cast<size_t>(kN) && Clock::now() < deadline) {
    if (l_.Pop(&m, milliseconds(100))) got.push_back(std::move(m));
  }
  sender.join();
  EXPECT_TRUE(sent.load());
  ASSERT_EQ(got.size(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) EXPECT_EQ(got[i].line, "<13>m" + std::to_string(i));
  EXPECT_EQ(l_.counters().dropped, 0u);
  EXPECT_EQ(l_.counters().received, static_cast<uint64_t>(kN));
}

TEST_F(ListenerTest, StopWhileClientsConnected) {
  ListenOptions o;
  o.queue_capacity = 4;
  StartBoth(o);
  std::vector<int> fds;
  for (int i = 0; i < 20; ++i) fds.push_back(ConnectTcp(l_.tcp_port()));
  ASSERT_TRUE(WaitUntil([&] { return l_.counters().open_connections == 20; }));
  ASSERT_TRUE(SendAll(fds[0], "<13>complete\n<13>partial"));
  ASSERT_TRUE(SendAll(fds[1], "100 <13>partial frame"));
  // One connection is paused on a full queue.
  std::string many;
  for (int i = 0; i < 100; ++i) many += "<13>x\n";
  ASSERT_TRUE(SendAll(fds[2], many));
  ASSERT_TRUE(WaitUntil([&] { return l_.queued() == 4; }));
  auto t0 = Clock::now();
  l_.Stop();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(1));
  EXPECT_FALSE(l_.running());
  EXPECT_EQ(l_.tcp_port(), 0);
  EXPECT_EQ(l_.counters().open_connections, 0u);
  for (int fd : fds) {
    EXPECT_TRUE(ClosedByServer(fd));
    close(fd);
  }
  // What was queued stays available; then Pop returns at once.
  EXPECT_EQ(LinesOf(Take(l_, 4)).size(), 4u);
  SyslogMessage m;
  EXPECT_FALSE(l_.Pop(&m, std::chrono::seconds(5)));
  // The same object starts again.
  StartBoth();
  SendUdp(l_.udp_port(), "<13>again");
  EXPECT_EQ(LinesOf(Take(l_, 1)), Lines{"<13>again"});
}

TEST_F(ListenerTest, DestructorStops) {
  uint16_t port = 0;
  int fd = -1;
  {
    SyslogListener l;
    ListenOptions o;
    o.tcp = "127.0.0.1:0";
    ASSERT_TRUE(l.Start(o).ok());
    port = l.tcp_port();
    fd = ConnectTcp(port);
    ASSERT_TRUE(SendAll(fd, "<13>x\n"));
  }
  EXPECT_TRUE(ClosedByServer(fd));
  close(fd);
  // The port is free again.
  ListenOptions o;
  o.tcp = "127.0.0.1:" + std::to_string(port);
  EXPECT_TRUE(l_.Start(o).ok());
}

TEST_F(ListenerTest, Ipv6Loopback) {
  ListenOptions o;
  o.udp = "[::1]:0";
  o.tcp = "[::1]:0";
  Status st = l_.Start(o);
  if (!st.ok()) GTEST_SKIP() << "no IPv6 loopback: " << st.ToString();
  SendUdp(l_.udp_port(), "<13>over udp6\n", AF_INET6);
  std::vector<SyslogMessage> got = Take(l_, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].line, "<13>over udp6");
  EXPECT_EQ(got[0].peer.rfind("[::1]:", 0), 0u) << got[0].peer;
  int fd = ConnectTcp(l_.tcp_port(), AF_INET6);
  ASSERT_TRUE(SendAll(fd, Framed("<13>over tcp6")));
  got = Take(l_, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].line, "<13>over tcp6");
  EXPECT_EQ(got[0].peer.rfind("[::1]:", 0), 0u) << got[0].peer;
  close(fd);
}

// ---------------------------------------------------------------------------
// What arrives is what the auth parser reads.

class ListenerAuthTest : public ListenerTest {
 protected:
  void SetUp() override { SetClusterTimeZone("UTC"); }
  // Parses each line as a live stream would: reference = 2025-01-09.
  std::vector<Event> ParseLines(const Lines& lines, std::vector<LineVerdict>* verdicts = nullptr,
                                Lines* reasons = nullptr) {
    ParseContext ctx;
    ctx.origin = "syslog";
    ctx.reference_us = CivilToUs(2025, 1, 9, 0, 0, 0);
    auto p = MakeLineParser(LineFormat::kAuth, ctx);
    std::vector<Event> events;
    for (size_t i = 0; i < lines.size(); ++i) {
      std::string reason;
      LineVerdict v = p->Parse(lines[i], i + 1, &events, &reason);
      if (verdicts) verdicts->push_back(v);
      if (reasons) reasons->push_back(reason);
    }
    return events;
  }
};

constexpr std::string_view kRfc5424 =
    "<86>1 2025-01-08T12:42:30.123+00:00 pve2 pvedaemon 1234 - - authentication failure; "
    "rhost=::ffff:198.51.100.7 user=root@pam msg=Authentication failure";
// rsyslog RSYSLOG_TraditionalForwardFormat (omfwd's default template).
constexpr std::string_view kRfc3164 =
    "<86>Jan  8 12:42:31 pve2 pvedaemon[1234]: <root@pam> successful auth for user 'alice@pve'";
// rsyslog RSYSLOG_ForwardFormat (high-precision timestamp).
constexpr std::string_view kForward =
    "<86>2025-01-08T13:42:32.250000+01:00 pve3 pveproxy[77]: authentication failure; "
    "rhost=2001:db8::7 user=bob@pve msg=Authentication failure";

TEST_F(ListenerAuthTest, ReceivedLinesBecomeEvents) {
  StartBoth();
  SendUdp(l_.udp_port(), std::string(kRfc5424) + "\n");
  int fd = ConnectTcp(l_.tcp_port());
  ASSERT_TRUE(SendAll(fd, Framed(std::string(kRfc3164) + "\n") + std::string(kForward) + "\n"));
  std::vector<SyslogMessage> got = Take(l_, 3);
  close(fd);
  ASSERT_EQ(got.size(), 3u);
  std::vector<LineVerdict> verdicts;
  Lines reasons;
  std::vector<Event> ev = ParseLines(LinesOf(got), &verdicts, &reasons);
  for (size_t i = 0; i < verdicts.size(); ++i) {
    EXPECT_EQ(verdicts[i], LineVerdict::kEvents) << got[i].line << " " << reasons[i];
  }
  ASSERT_EQ(ev.size(), 3u);
  // Sorted by content, since UDP and TCP race.
  const Event* f = nullptr;
  const Event* s = nullptr;
  const Event* b = nullptr;
  for (const Event& e : ev) {
    if (e.user == "root@pam") f = &e;
    if (e.user == "alice@pve") s = &e;
    if (e.user == "bob@pve") b = &e;
  }
  ASSERT_TRUE(f && s && b);
  const int64_t t = CivilToUs(2025, 1, 8, 12, 42, 30);
  EXPECT_EQ(f->action, "login");
  EXPECT_EQ(f->result, Outcome::kFailure);
  EXPECT_EQ(f->node, "pve2");
  EXPECT_EQ(f->ip, "198.51.100.7");
  EXPECT_EQ(f->time_us, t + 123000);
  EXPECT_EQ(f->source, "auth");
  EXPECT_EQ(s->action, "login");
  EXPECT_EQ(s->result, Outcome::kSuccess);
  EXPECT_EQ(s->node, "pve2");
  EXPECT_EQ(s->time_us, t + 1 * kS);
  EXPECT_EQ(b->result, Outcome::kFailure);
  EXPECT_EQ(b->node, "pve3");
  EXPECT_EQ(b->ip, "2001:db8::7");
  EXPECT_EQ(b->time_us, t + 2 * kS + 250000);
}

// rsyslog's RSYSLOG_SyslogProtocol23Format template is
// "<%PRI%>1 %TIMESTAMP:::date-rfc3339% %HOSTNAME% %APP-NAME% %PROCID% %MSGID%
// %STRUCTURED-DATA% %msg%\n", and %msg% of a message that came in as
// "pvedaemon[1234]: text" keeps the space after the colon, so forwarded
// RFC 5424 lines carry two spaces before MSG (rsyslog issue #160, still so
// in rsyslog 8.x; telegraf #4761 and pganalyze #511 work around it).
// Regression: the auth parser removed only one space after the structured
// data, so the message " authentication failure; ..." matched nothing and
// the failed login was ignored silently.
TEST_F(ListenerAuthTest, RsyslogProtocol23DoubleSpace) {
  StartBoth();
  std::string line =
      "<86>1 2025-01-08T12:42:30.123456+00:00 pve2 pvedaemon 1234 - -  authentication failure; "
      "rhost=::ffff:198.51.100.7 user=root@pam msg=Authentication failure";
  int fd = ConnectTcp(l_.tcp_port());
  ASSERT_TRUE(SendAll(fd, Framed(line + "\n")));
  std::vector<SyslogMessage> got = Take(l_, 1);
  close(fd);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].line, line);
  std::vector<LineVerdict> verdicts;
  Lines reasons;
  std::vector<Event> ev = ParseLines(LinesOf(got), &verdicts, &reasons);
  EXPECT_EQ(verdicts[0], LineVerdict::kEvents) << reasons[0];
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].user, "root@pam");
  EXPECT_EQ(ev[0].result, Outcome::kFailure);
}

std::string Which(const char* prog) {
  std::string cmd = std::string("command -v ") + prog + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "";
  char buf[512] = {};
  std::string out = fgets(buf, sizeof(buf), p) ? buf : "";
  pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// logger(1) from util-linux (bsdutils), as another process.
TEST_F(ListenerAuthTest, FromLogger) {
  std::string logger = Which("logger");
  if (logger.empty()) GTEST_SKIP() << "logger(1) not installed";
  StartBoth();
  const std::string text =
      "'authentication failure; rhost=::ffff:198.51.100.7 user=root@pam msg=Authentication "
      "failure'";
  auto run = [&](const std::string& transport, uint16_t port, const std::string& extra) {
    std::string cmd = "TZ=UTC " + logger + " --server 127.0.0.1 --port " + std::to_string(port) +
                      " " + transport + " -t pvedaemon -i -p authpriv.err " + extra + " " + text;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  };
  struct Variant {
    const char* transport;
    const char* extra;
  };
  const Variant variants[] = {{"--udp", ""},
                              {"--udp", "--rfc3164"},
                              {"--tcp", "--octet-count"},
                              {"--tcp", "--octet-count --rfc3164"},
                              {"--tcp", ""},  // LF framing
                              {"--tcp", "--rfc5424=notq"}};
  for (const Variant& v : variants) {
    run(v.transport, std::string(v.transport) == "--udp" ? l_.udp_port() : l_.tcp_port(), v.extra);
    std::vector<SyslogMessage> got = Take(l_, 1);
    ASSERT_EQ(got.size(), 1u) << v.transport << " " << v.extra;
    EXPECT_EQ(got[0].peer.rfind("127.0.0.1:", 0), 0u);
    std::vector<LineVerdict> verdicts;
    Lines reasons;
    // Today's lines: use the real clock as the reference.
    ParseContext ctx;
    auto p = MakeLineParser(LineFormat::kAuth, ctx);
    std::vector<Event> ev;
    std::string reason;
    EXPECT_EQ(p->Parse(got[0].line, 1, &ev, &reason), LineVerdict::kEvents)
        << got[0].line << " " << reason;
    ASSERT_EQ(ev.size(), 1u) << got[0].line;
    EXPECT_EQ(ev[0].user, "root@pam");
    EXPECT_EQ(ev[0].ip, "198.51.100.7");
    EXPECT_EQ(ev[0].result, Outcome::kFailure);
    EXPECT_FALSE(ev[0].node.empty());
    EXPECT_LT(std::llabs(ev[0].time_us - got[0].received_us), 120 * kS) << got[0].line;
  }
  EXPECT_EQ(l_.counters().bad_frames, 0u);
}

}  // namespace
}  // namespace pveaudit

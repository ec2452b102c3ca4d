#include "export/connect.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace pveaudit {
namespace {

// A listening loopback socket on a free port.
struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 4) != 0) return;
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { close(fd); }
};

TEST(ConnectSocketTest, ConnectsByNameAndByAddressWithTheTimeoutsSet) {
  Listener l;
  ASSERT_GT(l.port, 0);
  for (const char* host : {"127.0.0.1", "localhost"}) {
    ConnectOptions o;
    o.io_timeout_ms = 1500;
    auto fd = ConnectSocket(host, l.port, o);
    ASSERT_TRUE(fd.ok()) << host << ": " << fd.status().message();
    timeval tv{};
    socklen_t len = sizeof tv;
    ASSERT_EQ(getsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len), 0);
    EXPECT_EQ(tv.tv_sec, 1);
    EXPECT_EQ(tv.tv_usec, 500000);
    close(*fd);
  }
}

TEST(ConnectSocketTest, RefusedAndUnresolvableAreIoErrorsThatSaySo) {
  int port = 0;
  {
    Listener l;  // a port that was free a moment ago and is closed now
    port = l.port;
  }
  auto r = ConnectSocket("127.0.0.1", port, ConnectOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_NE(r.status().message().find("cannot connect: Connection refused"), std::string::npos)
      << r.status().message();
  // RFC 2606: .invalid never resolves.
  r = ConnectSocket("no-such-host.invalid", 514, ConnectOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_NE(r.status().message().find("cannot resolve 'no-such-host.invalid'"), std::string::npos)
      << r.status().message();
}

TEST(ConnectSocketTest, AStopRequestEndsTheWaitAtOnce) {
  std::atomic<bool> stop{true};
  ConnectOptions o;
  o.timeout_ms = 60000;
  o.cancel = &stop;
  Listener l;
  auto t0 = std::chrono::steady_clock::now();
  // Already stopped: neither the lookup nor the connect waits out its limit.
  auto r = ConnectSocket("localhost", l.port, o);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  if (!r.ok())
    EXPECT_NE(r.status().message().find("cancelled"), std::string::npos) << r.status().message();
  else
    close(*r);  // the lookup finished within the first slice: a fine outcome too
}

TEST(ConnectSocketTest, UdpNeedsNoListener) {
  ConnectOptions o;
  o.socktype = SOCK_DGRAM;
  auto fd = ConnectSocket("127.0.0.1", 9, o);
  ASSERT_TRUE(fd.ok()) << fd.status().message();
  int type = 0;
  socklen_t len = sizeof type;
  ASSERT_EQ(getsockopt(*fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
  EXPECT_EQ(type, SOCK_DGRAM);
  close(*fd);
}

}  // namespace
}  // namespace pveaudit

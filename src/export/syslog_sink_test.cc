#include "export/syslog_sink.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

namespace pveaudit {
namespace {

TEST(SyslogDestinationTest, DefaultsAndRoundTrip) {
  auto d = SyslogDestination::FromJson("default", {{"server", "syslog.example.com"}});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->port, 514);
  EXPECT_EQ(d->protocol, SyslogProtocol::kUdp);
  EXPECT_EQ(d->format, SyslogFormat::kCef);
  EXPECT_EQ(d->events, EventSelection::kAll);
  EXPECT_TRUE(d->enabled);
  EXPECT_EQ(d->hold_s, SyslogDestination::kDefaultHoldS);
  auto tls = SyslogDestination::FromJson("s", {{"server", "h"}, {"protocol", "tls"}});
  ASSERT_TRUE(tls.ok());
  EXPECT_EQ(tls->port, 6514);
  auto again = SyslogDestination::FromJson("s", tls->ToJson());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ToJson(), tls->ToJson());
}

TEST(SyslogDestinationTest, ErrorsNameTheBadKeyAndValue) {
  auto err = [](const nlohmann::json& j) {
    auto d = SyslogDestination::FromJson("x", j);
    return d.ok() ? std::string("ok") : d.status().message();
  };
  EXPECT_EQ(err({{"port", 514}}), "destination 'x': no server");
  EXPECT_EQ(err({{"server", "h"}, {"protocol", "sctp"}}),
            "destination 'x': invalid protocol 'sctp'");
  EXPECT_EQ(err({{"server", "h"}, {"format", "leef"}}), "destination 'x': invalid format 'leef'");
  EXPECT_EQ(err({{"server", "h"}, {"events", "some"}}), "destination 'x': invalid events 'some'");
  EXPECT_EQ(err({{"server", "h"}, {"port", 0}}), "destination 'x': invalid port 0");
  EXPECT_EQ(err({{"server", "h"}, {"port", "514"}}), "destination 'x': 'port' must be a number");
  EXPECT_EQ(err({{"server", "h"}, {"cert", "/c.pem"}}),
            "destination 'x': cert and key go together");
  EXPECT_EQ(err({{"server", "h"}, {"hold_s", -1}}),
            "destination 'x': 'hold_s' must be a number of seconds 0-3600");
  EXPECT_EQ(err({{"server", 5}}), "destination 'x': 'server' must be a string");
  EXPECT_EQ(err(nlohmann::json::array()), "destination 'x' is not an object");
}

TEST(SyslogSinkTest, ARefusedConnectionIsTransientAndNamesTheServer) {
  SyslogDestination d;
  d.server = "127.0.0.1";
  d.port = 1;  // nothing listens on port 1
  d.protocol = SyslogProtocol::kTcp;
  auto sink = MakeSyslogSink(d, "pve1", "0.1.0");
  EXPECT_EQ(sink->Describe(), "syslog tcp://127.0.0.1:1 (cef)");
  Event e;
  e.id = 1;
  e.action = "login";
  Status s = sink->Deliver(std::span<const Event>(&e, 1));
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_NE(s.message().find("tcp://127.0.0.1:1"), std::string::npos) << s.message();
}

// A stopping loop does not wait for a connection to complete (a server
// that does not answer would hold a disable up to the connect timeout).
TEST(SyslogSinkTest, ACancelledConnectGivesUpAtOnce) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  SyslogDestination d;
  d.server = "127.0.0.1";
  d.port = ntohs(a.sin_port);
  d.protocol = SyslogProtocol::kTcp;
  auto sink = MakeSyslogSink(d, "pve1", "0.1.0");
  std::atomic<bool> cancel{true};
  sink->SetCancel(&cancel);
  Event e;
  e.id = 1;
  e.action = "login";
  Status s = sink->Deliver(std::span<const Event>(&e, 1));
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_NE(s.message().find("cancelled"), std::string::npos) << s.message();
  cancel = false;  // and it connects once the flag is down
  EXPECT_TRUE(sink->Deliver(std::span<const Event>(&e, 1)).ok());
  close(fd);
}

}  // namespace
}  // namespace pveaudit

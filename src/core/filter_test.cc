#include "core/filter.h"

#include <gtest/gtest.h>

namespace pveaudit {
namespace {

IpRange Range(const std::string& text) {
  IpRange r;
  EXPECT_TRUE(ParseIpRange(text, &r)) << text;
  return r;
}

TEST(IpRangeTest, ParsesIpv4AsMapped) {
  IpRange r = Range("192.0.2.5");
  EXPECT_EQ(r.prefix, 128);
  const unsigned char want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 5};
  for (int i = 0; i < 16; ++i) EXPECT_EQ(r.addr[i], want[i]) << i;
  EXPECT_EQ(Range("192.0.2.0/24").prefix, 120);
  EXPECT_EQ(Range("0.0.0.0/0").prefix, 96);
  EXPECT_EQ(Range("10.1.2.3/32").prefix, 128);
}

TEST(IpRangeTest, MasksHostBits) {
  IpRange r = Range("192.0.2.77/24");
  EXPECT_EQ(r.addr[15], 0);
  EXPECT_EQ(r.addr[14], 2);
  IpRange r6 = Range("2001:db8:ffff::1/36");
  EXPECT_EQ(r6.prefix, 36);
  EXPECT_EQ(r6.addr[4], 0xf0);
  EXPECT_EQ(r6.addr[5], 0);
  EXPECT_EQ(r6.addr[15], 0);
}

TEST(IpRangeTest, ParsesIpv6) {
  EXPECT_EQ(Range("2001:db8::1").prefix, 128);
  EXPECT_EQ(Range("2001:db8::/32").prefix, 32);
  EXPECT_EQ(Range("::/0").prefix, 0);
  EXPECT_EQ(Range("::ffff:192.0.2.0/120").prefix, 120);
}

TEST(IpRangeTest, RejectsBadText) {
  IpRange r;
  for (const char* bad :
       {"", "/", "192.0.2.5/", "192.0.2.5/33", "192.0.2.5/-1", "192.0.2.5/2a", "192.0.2",
        "192.0.2.256", "192.0.2.5/24/1", "2001:db8::/129", "2001:db8:::1", "host.example",
        "192.0.2.5 ", "fe80::1%eth0", "2001:db8::/0032"}) {
    EXPECT_FALSE(ParseIpRange(bad, &r)) << bad;
  }
}

TEST(IpInRangeTest, Ipv4) {
  IpRange net = Range("192.0.2.0/24");
  EXPECT_TRUE(IpInRange("192.0.2.0", net));
  EXPECT_TRUE(IpInRange("192.0.2.255", net));
  EXPECT_FALSE(IpInRange("192.0.3.1", net));
  EXPECT_FALSE(IpInRange("2001:db8::1", net));
  EXPECT_TRUE(IpInRange("::ffff:192.0.2.9", net));  // mapped form still matches
  IpRange host = Range("10.0.0.1");
  EXPECT_TRUE(IpInRange("10.0.0.1", host));
  EXPECT_FALSE(IpInRange("10.0.0.2", host));
  IpRange odd = Range("10.0.0.0/13");
  EXPECT_TRUE(IpInRange("10.7.255.255", odd));
  EXPECT_FALSE(IpInRange("10.8.0.0", odd));
  IpRange all4 = Range("0.0.0.0/0");
  EXPECT_TRUE(IpInRange("203.0.113.7", all4));
  EXPECT_FALSE(IpInRange("2001:db8::1", all4));
}

TEST(IpInRangeTest, Ipv6) {
  IpRange net = Range("2001:db8::/32");
  EXPECT_TRUE(IpInRange("2001:db8::1", net));
  EXPECT_TRUE(IpInRange("2001:db8:ffff:ffff::", net));
  EXPECT_FALSE(IpInRange("2001:db9::1", net));
  EXPECT_FALSE(IpInRange("192.0.2.1", net));
  EXPECT_TRUE(IpInRange("2001:DB8::1", net));
  IpRange all = Range("::/0");
  EXPECT_TRUE(IpInRange("2001:db8::1", all));
  EXPECT_TRUE(IpInRange("192.0.2.1", all));
  IpRange mapped = Range("::ffff:192.0.2.0/120");
  EXPECT_TRUE(IpInRange("192.0.2.44", mapped));
  EXPECT_FALSE(IpInRange("192.0.1.44", mapped));
}

TEST(IpInRangeTest, BadAddressNeverMatches) {
  IpRange all = Range("::/0");
  EXPECT_FALSE(IpInRange("", all));
  EXPECT_FALSE(IpInRange("unknown", all));
  EXPECT_FALSE(IpInRange("192.0.2.1/32", all));
}

TEST(ResourceCoversTest, Subtrees) {
  EXPECT_TRUE(ResourceCovers("/vms", "/vms"));
  EXPECT_TRUE(ResourceCovers("/vms", "/vms/100"));
  EXPECT_TRUE(ResourceCovers("/vms/", "/vms/100"));
  EXPECT_TRUE(ResourceCovers("/vms", "/vms/100/x"));
  EXPECT_FALSE(ResourceCovers("/vms", "/vmsx"));
  EXPECT_FALSE(ResourceCovers("/vms", "/vm"));
  EXPECT_FALSE(ResourceCovers("/vms/100", "/vms/1000"));
  EXPECT_FALSE(ResourceCovers("/vms/100", "/vms"));
  EXPECT_FALSE(ResourceCovers("/storage", "/vms/100"));
  EXPECT_TRUE(ResourceCovers("/", "/"));
  EXPECT_TRUE(ResourceCovers("/", "/vms/100"));
  EXPECT_TRUE(ResourceCovers("/", ""));
  EXPECT_FALSE(ResourceCovers("/vms", ""));
}

TEST(ParseDataScopeTest, NamesTheAclPathOrTheBadValue) {
  EXPECT_EQ(*ParseDataScope("pool:ehr"), "/pool/ehr");
  EXPECT_EQ(*ParseDataScope("/pool/ehr"), "/pool/ehr");
  EXPECT_EQ(*ParseDataScope("storage:tank-1"), "/storage/tank-1");
  EXPECT_EQ(*ParseDataScope("/storage/tank-1"), "/storage/tank-1");
  EXPECT_EQ(*ParseDataScope("vm:120"), "/vms/120");
  EXPECT_EQ(*ParseDataScope("/vms/999999999"), "/vms/999999999");
  for (const char* bad :
       {"", "ehr", "pool:", "/pool/", "pool:e hr", "pool:ehr/x", "vm:99", "vm:0120",
        "/vms/1000000000", "vm:12a", "/nodes/pve1", "storage:-x", "/vms/", "POOL:ehr"}) {
    auto r = ParseDataScope(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("'" + std::string(bad) + "'"), std::string::npos)
        << r.status().message();
  }
}

}  // namespace
}  // namespace pveaudit

#include "export/cef.h"

#include <gtest/gtest.h>

#include "core/time_spec.h"

namespace pveaudit {
namespace {

Event Sample() {
  Event e;
  e.id = 42;
  e.time_us = CivilToUs(2025, 1, 15, 12, 42, 28) + 123000;
  e.node = "pve1";
  e.user = "alice@pve";
  e.ip = "203.0.113.5";
  e.action = "vm:start";
  e.resource = "/vms/100";
  e.result = Outcome::kSuccess;
  e.status = "200";
  e.source = "pveproxy";
  e.detail = "POST /api2/json/nodes/pve1/qemu/100/status/start";
  return e;
}

TEST(CefTest, HeaderEscapesPipeAndBackslashOnly) {
  EXPECT_EQ(CefEscapeHeader(R"(a|b\c=d)"), R"(a\|b\\c=d)");
  EXPECT_EQ(CefEscapeHeader("a\nb\rc"), "a b c");
}

TEST(CefTest, ExtensionEscapesEqualsBackslashAndNewlinesButNotPipe) {
  EXPECT_EQ(CefEscapeExtension("a=b\\c|d\ne\rf"), "a\\=b\\\\c|d\\ne\\rf");
}

TEST(CefTest, FormatsTheSpecHeaderAndStandardKeys) {
  std::string line = FormatCef(Sample(), "0.1.0");
  EXPECT_EQ(line.rfind("CEF:0|Proxmox|pveaudit|0.1.0|vm:start|vm:start succeeded|4|rt=", 0), 0u)
      << line;
  CefRecord r;
  ASSERT_TRUE(ParseCef(line, &r)) << line;
  EXPECT_EQ(r.Get("rt"), std::to_string(Sample().time_us / 1000));
  EXPECT_EQ(r.Get("externalId"), "42");
  EXPECT_EQ(r.Get("dvchost"), "pve1");
  EXPECT_EQ(r.Get("suser"), "alice@pve");
  EXPECT_EQ(r.Get("src"), "203.0.113.5");
  EXPECT_EQ(r.Get("act"), "vm:start");
  EXPECT_EQ(r.Get("outcome"), "success");
  EXPECT_EQ(r.Get("cs1Label"), "resource");
  EXPECT_EQ(r.Get("cs1"), "/vms/100");
  EXPECT_EQ(r.Get("requestMethod"), "POST");
  EXPECT_EQ(r.Get("request"), "/api2/json/nodes/pve1/qemu/100/status/start");
  EXPECT_EQ(r.Get("msg"), Sample().detail);
}

TEST(CefTest, InjectionCharactersRoundTripAndCannotForgeFields) {
  Event e = Sample();
  e.user = "evil|user=x\\y\nsuser=root@pam";
  e.action = "vm:start|10|";
  e.detail = "GET /x?a=b|c\\d\r\n act=forged";
  std::string line = FormatCef(e, "0.1.0");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_NE(line.find(R"(suser=evil|user\=x\\y\nsuser\=root@pam)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"(|vm:start\|10\||)"), std::string::npos) << line;
  CefRecord r;
  ASSERT_TRUE(ParseCef(line, &r)) << line;
  EXPECT_EQ(r.header[4], e.action);
  EXPECT_EQ(r.header[6], std::to_string(CefSeverity(e)));
  EXPECT_EQ(r.Get("suser"), e.user);
  EXPECT_EQ(r.Get("msg"), e.detail);
  EXPECT_EQ(r.Get("act"), e.action);
  int acts = 0;
  for (const auto& kv : r.extension) acts += kv.first == "act";
  EXPECT_EQ(acts, 1);
}

TEST(CefTest, EmptyFieldsAreLeftOut) {
  Event e = Sample();
  e.user.clear();
  e.ip.clear();
  CefRecord r;
  ASSERT_TRUE(ParseCef(FormatCef(e, "1"), &r));
  EXPECT_FALSE(r.Has("suser"));
  EXPECT_FALSE(r.Has("src"));
}

TEST(CefTest, InvalidUtf8IsReplaced) {
  EXPECT_EQ(ValidUtf8("a\xff"
                      "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(ValidUtf8("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(ValidUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
}

TEST(CefTest, SeverityByClassAndOutcome) {
  Event e = Sample();
  auto sev = [&](const std::string& action, Outcome o) {
    e.action = action;
    e.result = o;
    return CefSeverity(e);
  };
  EXPECT_EQ(sev("alert:brute-force-success", Outcome::kSuccess), 10);
  EXPECT_EQ(sev("alert:privilege-change", Outcome::kSuccess), 9);
  EXPECT_EQ(sev("alert:failed-login", Outcome::kSuccess), 8);
  EXPECT_EQ(sev("pveaudit:syslog-disable", Outcome::kSuccess), 8);
  EXPECT_EQ(sev("pveaudit:syslog-enable", Outcome::kSuccess), 6);
  EXPECT_EQ(sev("acl:modify", Outcome::kSuccess), 7);
  EXPECT_EQ(sev("login", Outcome::kFailure), 5);
  EXPECT_EQ(sev("login", Outcome::kSuccess), 3);
  EXPECT_EQ(sev("vm:delete", Outcome::kSuccess), 6);
  EXPECT_EQ(sev("vm:start", Outcome::kFailure), 5);
  EXPECT_EQ(sev("vm:read", Outcome::kSuccess), 1);
}

TEST(CefTest, Rfc5424FrameIsOctetCounted) {
  Event e = Sample();
  std::string msg = FormatCef(e, "0.1.0");
  std::string f = FrameSyslog(SyslogFraming::kRfc5424OctetCounted, e, 4, "pve1", msg, false);
  auto sp = f.find(' ');
  ASSERT_NE(sp, std::string::npos);
  EXPECT_EQ(std::stoul(f.substr(0, sp)), f.size() - sp - 1);
  EXPECT_EQ(f.substr(sp + 1), "<85>1 2025-01-15T12:42:28.123000Z pve1 pveaudit - CEF - " + msg);
}

TEST(CefTest, Rfc3164FrameHasBsdHeader) {
  Event e = Sample();
  e.time_us = CivilToUs(2025, 1, 5, 1, 2, 3);
  std::string f = FrameSyslog(SyslogFraming::kRfc3164, e, 9, "pve1", "CEF:0|x", false);
  EXPECT_EQ(f, "<82>Jan  5 01:02:03 pve1 pveaudit: CEF:0|x");
}

TEST(CefTest, Rfc5424BodyEscapesStructuredData) {
  Event e = Sample();
  e.user = "a\"b]c\\d";
  std::string b = FormatRfc5424Body(e);
  EXPECT_NE(b.find(R"(user="a\"b\]c\\d")"), std::string::npos) << b;
  EXPECT_EQ(b.rfind("[pveaudit@32473 id=\"42\"", 0), 0u) << b;
}

TEST(CefTest, ParseRejectsWhatIsNotCef) {
  CefRecord r;
  EXPECT_FALSE(ParseCef("hello", &r));
  EXPECT_FALSE(ParseCef("CEF:1|a|b|c|d|e|f|", &r));
  EXPECT_TRUE(ParseCef("CEF:0|a|b|c|d|e|f|", &r));
}

}  // namespace
}  // namespace pveaudit

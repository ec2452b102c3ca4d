#include "ingest/line_parser.h"

#include <gtest/gtest.h>

#include "ingest/test_util.h"

namespace pveaudit {
namespace {

using testing::ReadLines;

TEST(LineFormat, Names) {
  for (LineFormat f :
       {LineFormat::kPveproxy, LineFormat::kAuth, LineFormat::kTasks, LineFormat::kJson}) {
    LineFormat back;
    ASSERT_TRUE(ParseLineFormat(LineFormatName(f), &back));
    EXPECT_EQ(back, f);
    EXPECT_EQ(MakeLineParser(f, ParseContext{})->format(), f);
  }
  EXPECT_EQ(LineFormatName(LineFormat::kPveproxy), "pveproxy");
  EXPECT_EQ(LineFormatName(LineFormat::kAuth), "auth");
  EXPECT_EQ(LineFormatName(LineFormat::kTasks), "tasks");
  EXPECT_EQ(LineFormatName(LineFormat::kJson), "json");
  LineFormat f;
  EXPECT_FALSE(ParseLineFormat("auto", &f));
  EXPECT_FALSE(ParseLineFormat("", &f));
  EXPECT_FALSE(ParseLineFormat("JSON", &f));
}

TEST(DetectLineFormat, Fixtures) {
  auto detect = [](const char* file) {
    auto r = DetectLineFormat(ReadLines(file));
    EXPECT_TRUE(r.ok()) << file;
    return r.ok() ? std::string(LineFormatName(*r)) : r.status().message();
  };
  EXPECT_EQ(detect("access.log"), "pveproxy");
  EXPECT_EQ(detect("auth-syslog.log"), "auth");
  EXPECT_EQ(detect("auth-journal.log"), "auth");
  EXPECT_EQ(detect("auth-iso.log"), "auth");
  EXPECT_EQ(detect("tasks-index"), "tasks");
  EXPECT_EQ(detect("tasks-active"), "tasks");
  EXPECT_EQ(detect("events.jsonl"), "json");
}

TEST(DetectLineFormat, Unknown) {
  auto r = DetectLineFormat({"hello", "world"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(r.status().message(), "no known log format recognised in the first 2 lines");
  auto e = DetectLineFormat({"", "  "});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "no non-empty lines to detect the format from");
  EXPECT_FALSE(DetectLineFormat({}).ok());
}

TEST(DetectLineFormat, Majority) {
  // One odd line does not decide the format.
  auto r = DetectLineFormat({
      "garbage",
      "Jul  8 12:42:30 pve1 sshd[1]: x",
      "Jul  8 12:42:31 pve1 sshd[1]: y",
      "UPID:pve1:00001A2B:0000ABCD:686D1234:qmstart:210:root@pam: 686D1236 OK",
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, LineFormat::kAuth);
}

}  // namespace
}  // namespace pveaudit

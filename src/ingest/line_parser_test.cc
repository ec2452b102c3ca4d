#include "ingest/line_parser.h"

#include <gtest/gtest.h>

#include "ingest/test_util.h"

namespace pveaudit {
namespace {

using testing::ReadLines;

TEST(LineFormat, Names) {
  for (LineFormat f : {LineFormat::kPveproxy, LineFormat::kAuth, LineFormat::kTasks,
                       LineFormat::kJson, LineFormat::kJournalJson, LineFormat::kClusterLog}) {
    LineFormat back;
    ASSERT_TRUE(ParseLineFormat(LineFormatName(f), &back));
    EXPECT_EQ(back, f);
    EXPECT_EQ(MakeLineParser(f, ParseContext{})->format(), f);
  }
  EXPECT_EQ(LineFormatName(LineFormat::kPveproxy), "pveproxy");
  EXPECT_EQ(LineFormatName(LineFormat::kAuth), "auth");
  EXPECT_EQ(LineFormatName(LineFormat::kTasks), "tasks");
  EXPECT_EQ(LineFormatName(LineFormat::kJson), "json");
  EXPECT_EQ(LineFormatName(LineFormat::kJournalJson), "journal-json");
  EXPECT_EQ(LineFormatName(LineFormat::kClusterLog), "clusterlog");
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
  EXPECT_EQ(detect("journal.json"), "journal-json");
  EXPECT_EQ(detect("journal-equiv.log"), "auth");
  EXPECT_EQ(detect("clusterlog.json"), "clusterlog");
  EXPECT_EQ(detect("clusterlog-pretty.json"), "clusterlog");
  EXPECT_EQ(detect("clusterlog-raw"), "clusterlog");
}

// Only the first 20 non-empty lines are seen (the importer's head).
std::vector<std::string> Head(const char* file) {
  std::vector<std::string> out;
  for (const std::string& l : ReadLines(file))
    if (!l.empty() && out.size() < 20) out.push_back(l);
  return out;
}

TEST(DetectLineFormat, NewFormatsAndLookAlikes) {
  auto name = [](const std::vector<std::string>& lines) {
    auto r = DetectLineFormat(lines);
    return r.ok() ? std::string(LineFormatName(*r)) : "? " + r.status().message();
  };
  EXPECT_EQ(name(Head("clusterlog-pretty.json")), "clusterlog");
  std::vector<std::string> seq;
  for (const std::string& l : Head("journal.json")) seq.push_back("\x1e" + l);
  EXPECT_EQ(name(seq), "journal-json");
  EXPECT_EQ(name({"1751971350.123456 pve1 pvedaemon[1]: worker 5 finished",
                  "1751971351.000000 pve1 sshd[7]: Accepted publickey"}),
            "auth");
  EXPECT_EQ(name({"Tue 2025-07-08 12:42:30 CEST pve1 pvedaemon[1]: x",
                  "Tue 2025-07-08 12:42:31 EST pve1 sshd[7]: y"}),
            "auth");
  // pveproxy's access.log is not short-unix; pveaudit's own JSON is not
  // journalctl's; objects without the journal's or pmxcfs's keys are
  // neither.
  EXPECT_EQ(name({"::ffff:192.0.2.10 - root@pam [08/07/2025:12:42:28 +0000] \"GET "
                  "/api2/json/version HTTP/1.1\" 200 69",
                  "192.0.2.10 - root@pam [08/07/2025:12:42:28 +0000] \"GET /api2/json/version "
                  "HTTP/1.1\" 200 69"}),
            "pveproxy");
  EXPECT_EQ(name(Head("events.jsonl")), "json");
  EXPECT_EQ(name({R"({"MESSAGE":"successful auth for user 'a@pve'","_HOSTNAME":"pve1"})"}),
            "? no known log format recognised in the first 1 lines");
  EXPECT_EQ(name({R"([{"time":1751978546,"msg":"starting task UPID:pve1:00001A2B:0000ABCD:)"
                  R"(686D1234:qmstart:210:root@pam:"}])"}),
            "? no known log format recognised in the first 1 lines");
  EXPECT_EQ(name({"[", "]"}), "? no known log format recognised in the first 2 lines");
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

// pveam access review / review list: a week's log reviewed, its counts
// equal to the listings they name, recorded once; bad input changes nothing.
#include "e2e_util.h"

namespace e2e {
namespace {

class LogReviewTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    ImportStandard();  // 8 January 2025: ISO week 2025-W02
  }
};

TEST_F(LogReviewTest, AWeeksCountsAreTheListingsAndTheReviewIsRecordedOnce) {
  const std::string range = "--start \"2025-01-06 00:00:00\" --end \"2025-01-13 00:00:00\"";
  RunResult failed =
      Sh("pveam access log " + range + " --action login --failed 1 --output-format json");
  ASSERT_EQ(failed.code, 0) << failed;
  const size_t failed_logins = Json(failed).size();
  ASSERT_GT(failed_logins, 0u);
  RunResult all = Sh("pveam access log " + range + " --output-format json");
  const size_t events = Json(all).size();
  const int64_t before = EventCount();

  RunResult shown = Sh("pveam access review --week 2025-W02 --show --output-format json");
  ASSERT_EQ(shown.code, 0) << shown;
  EXPECT_EQ(EventCount(), before);  // --show records nothing
  auto j = Json(shown);
  EXPECT_EQ(j["events"], events);
  EXPECT_EQ(j["failed_logins"], failed_logins);
  EXPECT_EQ(j["recorded_id"], 0);

  RunResult r = Sh("pveam access review --week 2025-W02 --by alice@pve --note \"bob: typo, ok\"");
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "week 2025-W02 (2025-01-06 00:00:00 to 2025-01-13 00:00:00")) << r;
  EXPECT_TRUE(Contains(r.out, "--action login --failed 1")) << r;
  EXPECT_TRUE(Contains(r.out, "recorded as event " + std::to_string(before + 1) +
                                  " (audit:log-review of 2025-W02 by alice@pve)"))
      << r;
  EXPECT_EQ(EventCount(), before + 1);

  RunResult l = Sh("pveam access review list --output-format json");
  ASSERT_EQ(l.code, 0) << l;
  auto list = Json(l);
  ASSERT_EQ(list.size(), 1u) << l;
  EXPECT_EQ(list[0]["week"], "2025-W02");
  EXPECT_EQ(list[0]["reviewer"], "alice@pve");
  EXPECT_EQ(list[0]["failed_logins"], failed_logins);
  EXPECT_EQ(list[0]["note"], "bob: typo, ok");
  l = Sh("pveam access review list");
  EXPECT_EQ(l.code, 0) << l;
  EXPECT_TRUE(Contains(l.out, "2025-W02  alice@pve")) << l;

  // An imported event that looks like a review is not one.
  std::string fake = work_ + "/fake.jsonl";
  WriteFile(fake,
            "{\"time\":\"2025-01-09T10:00:00Z\",\"user\":\"mallory@pve\",\"action\":"
            "\"audit:log-review\",\"detail\":\"week=2025-W03 events=0 failed_logins=0 alerts=0 "
            "privilege_changes=0 off_hours=0 note=\"}\n");
  RunResult im = Pveam({"access", "import", "--format", "json", fake});
  ASSERT_EQ(im.code, 0) << im;
  RunResult both = Sh("pveam access log --action audit:log-review --output-format json");
  ASSERT_EQ(Json(both).size(), 2u) << both;
  EXPECT_TRUE(both.err.empty()) << both;  // a known action: no "not a known action" note
  EXPECT_EQ(Json(Sh("pveam access review list --output-format json")).size(), 1u);
}

TEST_F(LogReviewTest, BadArgumentsExitTwoNamingTheValueAndRecordNothing) {
  const int64_t before = EventCount();
  struct Case {
    std::vector<std::string> args;
    std::string names;
  } cases[] = {
      {{"access", "review", "--week", "2025-W54"}, "'2025-W54'"},
      {{"access", "review", "--week", "2099-W01"}, "has not begun"},
      {{"access", "review"}, "--week"},
      {{"access", "review", "--week", "2025-W02", "--note", "two\nlines"}, "--note"},
      {{"access", "review", "--week", "2025-W02", "--note", std::string(1025, 'x')}, "1024"},
      {{"access", "review", "--week", "2025-W02", "--output-format", "csv"}, "'csv'"},
  };
  for (const Case& c : cases) {
    RunResult r = Pveam(c.args);
    EXPECT_EQ(r.code, 2) << r;
    EXPECT_TRUE(Contains(r.err, c.names)) << r;
  }
  EXPECT_EQ(EventCount(), before);
}

}  // namespace
}  // namespace e2e

#include "ingest/login_tracker.h"

#include <gtest/gtest.h>

namespace pveaudit {
namespace {

constexpr int64_t kMin = 60LL * 1000000;

Event Login(int64_t t, std::string user = "alice@pve", std::string node = "pve1",
            Outcome result = Outcome::kSuccess) {
  Event e;
  e.time_us = t;
  e.user = std::move(user);
  e.node = std::move(node);
  e.action = "login";
  e.result = result;
  e.source = "auth";
  return e;
}

int CountLogins(const std::vector<Event>& ev) {
  int n = 0;
  for (const Event& e : ev) n += e.action == "login" && e.result == Outcome::kSuccess;
  return n;
}

const int64_t kT0 = 1751971350LL * 1000000;

TEST(LoginTracker, RenewalEvery15MinutesIsOneLogin) {
  LoginTracker t;
  std::vector<Event> ev;
  for (int i = 0; i < 12; ++i) ev.push_back(Login(kT0 + i * 15 * kMin));  // 3 hours of GUI
  t.Apply(&ev);
  EXPECT_EQ(CountLogins(ev), 1);
  EXPECT_EQ(ev[0].action, "login");
  for (size_t i = 1; i < ev.size(); ++i) EXPECT_EQ(ev[i].action, "session:renew");
}

TEST(LoginTracker, TfaDoubleSuccessIsOneLogin) {
  LoginTracker t;
  std::vector<Event> ev = {Login(kT0), Login(kT0 + 4 * 1000000)};
  t.Apply(&ev);
  EXPECT_EQ(CountLogins(ev), 1);
  EXPECT_EQ(ev[1].action, "session:renew");
}

TEST(LoginTracker, GapMakesANewLogin) {
  LoginTracker t;
  std::vector<Event> ev = {Login(kT0), Login(kT0 + 120 * kMin)};
  t.Apply(&ev);
  EXPECT_EQ(CountLogins(ev), 2);
  // exactly at the window edge is still a renewal, just past it is not
  std::vector<Event> edge = {Login(kT0 + 140 * kMin), Login(kT0 + 160 * kMin + 1)};
  t.Apply(&edge);
  EXPECT_EQ(edge[0].action, "session:renew");
  EXPECT_EQ(edge[1].action, "login");
}

TEST(LoginTracker, KeyedByUserAndNode) {
  LoginTracker t;
  std::vector<Event> ev = {Login(kT0), Login(kT0 + kMin, "bob@pve"),
                           Login(kT0 + 2 * kMin, "alice@pve", "pve2"), Login(kT0 + 3 * kMin)};
  t.Apply(&ev);
  EXPECT_EQ(ev[0].action, "login");
  EXPECT_EQ(ev[1].action, "login");
  EXPECT_EQ(ev[2].action, "login");
  EXPECT_EQ(ev[3].action, "session:renew");
}

TEST(LoginTracker, FailuresAndOtherEventsAreUntouched) {
  LoginTracker t;
  Event other = Login(kT0);
  other.action = "vm:start";
  std::vector<Event> ev = {Login(kT0, "alice@pve", "pve1", Outcome::kFailure),
                           Login(kT0 + kMin, "alice@pve", "pve1", Outcome::kFailure),
                           other,
                           Login(kT0 + 2 * kMin),
                           Login(kT0 + 3 * kMin, "alice@pve", "pve1", Outcome::kFailure),
                           Login(kT0 + 4 * kMin, "")};
  t.Apply(&ev);
  EXPECT_EQ(ev[0].action, "login");
  EXPECT_EQ(ev[1].action, "login");
  EXPECT_EQ(ev[2].action, "vm:start");
  EXPECT_EQ(ev[3].action, "login");  // failures did not start a session
  EXPECT_EQ(ev[4].action, "login");
  EXPECT_EQ(ev[5].action, "login");  // unknown user: never a renewal
}

TEST(LoginTracker, OutOfOrder) {
  LoginTracker t;
  std::vector<Event> ev = {Login(kT0 + 10 * kMin), Login(kT0)};
  t.Apply(&ev);
  EXPECT_EQ(ev[1].action, "session:renew");
}

TEST(LoginTracker, StateRoundTripGivesSameDecisions) {
  std::vector<Event> all;
  for (int i = 0; i < 8; ++i) all.push_back(Login(kT0 + i * 15 * kMin));
  all.push_back(Login(kT0 + 7 * 15 * kMin + 2 * 1000000, "bob pve\t%\n@x", "node 1"));
  all.push_back(Login(kT0 + 4 * 60 * kMin));
  all.push_back(Login(kT0 + 7 * 15 * kMin + 10 * kMin, "bob pve\t%\n@x", "node 1"));
  all.push_back(Login(kT0 + 4 * 60 * kMin + 15 * kMin));

  std::vector<Event> straight = all;
  LoginTracker one;
  one.Apply(&straight);

  for (size_t split = 0; split <= all.size(); ++split) {
    std::vector<Event> a(all.begin(), all.begin() + split), b(all.begin() + split, all.end());
    LoginTracker first;
    first.Apply(&a);
    std::string blob = first.SaveState();
    LoginTracker second;
    second.LoadState(blob);
    EXPECT_EQ(second.SaveState(), blob);
    second.Apply(&b);
    a.insert(a.end(), b.begin(), b.end());
    ASSERT_EQ(a.size(), straight.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].action, straight[i].action) << split;
  }
}

TEST(LoginTracker, BadStateResets) {
  LoginTracker t;
  std::vector<Event> ev = {Login(kT0)};
  t.Apply(&ev);
  std::string good = t.SaveState();
  for (std::string bad : {std::string(), std::string("junk"), good.substr(0, good.size() - 1),
                          std::string("pveaudit-login-tracker 1\nabc alice pve1\n"),
                          std::string("pveaudit-login-tracker 1\n1 a%ZZ pve1\n"),
                          std::string("pveaudit-login-tracker 1\n1 a\n"),
                          std::string("pveaudit-login-tracker 1\n99999999999999999999 a b\n")}) {
    LoginTracker r;
    r.LoadState(good);
    r.LoadState(bad);
    std::vector<Event> next = {Login(kT0 + kMin)};
    r.Apply(&next);
    EXPECT_EQ(next[0].action, "login") << bad;
  }
}

}  // namespace
}  // namespace pveaudit

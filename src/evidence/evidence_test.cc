// Tests of the signing key and of monthly export bundles, on a real
// SQLite store and real files (OpenSSL does the signing).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "core/time_spec.h"
#include "evidence/compliance_check.h"
#include "evidence/exceptions.h"
#include "evidence/log_review.h"
#include "evidence/month_bundle.h"
#include "evidence/requirements.h"
#include "evidence/signing_key.h"
#include "evidence/test_files.h"
#include "query/store_fixture.h"

namespace pveaudit {
namespace {

namespace fs = std::filesystem;

using test::Slurp;
using test::Spit;
using test::TempDir;

TEST(SigningKeyTest, CreatedOnceAsA0600FileAndSignsWhatOnlyItsPublicKeyVerifies) {
  fs::path dir = TempDir("key");
  auto a = SigningKey::LoadOrCreate(dir.string());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat((dir / kSigningKeyFile).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto b = SigningKey::LoadOrCreate(dir.string());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->fingerprint(), b->fingerprint());
  EXPECT_EQ(a->fingerprint().size(), 64u);
  EXPECT_NE(a->public_pem().find("BEGIN PUBLIC KEY"), std::string::npos);

  auto sig = a->Sign("month 2026-10");
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->size(), 64u);
  PublicKeyInfo info;
  EXPECT_TRUE(VerifySignature(a->public_pem(), "month 2026-10", *sig, &info).ok());
  EXPECT_EQ(info.fingerprint, a->fingerprint());
  EXPECT_EQ(VerifySignature(a->public_pem(), "month 2026-11", *sig).code(),
            Status::Code::kCorruption);
  std::string flipped = *sig;
  flipped[10] ^= 1;
  EXPECT_EQ(VerifySignature(a->public_pem(), "month 2026-10", flipped).code(),
            Status::Code::kCorruption);
  // Another node's key does not verify this node's signature.
  fs::path other = TempDir("key2");
  auto c = SigningKey::LoadOrCreate(other.string());
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->fingerprint(), a->fingerprint());
  EXPECT_EQ(VerifySignature(c->public_pem(), "month 2026-10", *sig).code(),
            Status::Code::kCorruption);
  EXPECT_EQ(VerifySignature("not a key", "x", *sig).code(), Status::Code::kInvalidArgument);
  fs::remove_all(dir);
  fs::remove_all(other);
}

TEST(SigningKeyTest, AKeyOthersCanReadIsRefusedNotUsed) {
  fs::path dir = TempDir("mode");
  ASSERT_TRUE(SigningKey::LoadOrCreate(dir.string()).ok());
  fs::permissions(dir / kSigningKeyFile, fs::perms(0644));
  auto k = SigningKey::LoadOrCreate(dir.string());
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().message().find("chmod 600"), std::string::npos) << k.status().message();
  fs::remove_all(dir);
}

TEST(SigningKeyTest, CreatorsRacingEndWithOneKey) {
  fs::path dir = TempDir("race");
  std::vector<std::string> prints(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < prints.size(); ++i)
    threads.emplace_back([&, i] {
      auto k = SigningKey::LoadOrCreate(dir.string());
      if (k.ok()) prints[i] = k->fingerprint();
    });
  for (auto& t : threads) t.join();
  for (const std::string& p : prints) EXPECT_EQ(p, prints[0]);
  EXPECT_FALSE(prints[0].empty());
  size_t files = 0;
  for (auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);  // no temporary file left
  fs::remove_all(dir);
}

TEST(MonthTest, ParsesYearDashMonthInTheClusterZoneAndNothingElse) {
  SetClusterTimeZone("UTC");
  Month m;
  ASSERT_TRUE(ParseMonth("2026-10", &m));
  EXPECT_EQ(m.Name(), "2026-10");
  EXPECT_EQ(m.start_us, CivilToUs(2026, 10, 1, 0, 0, 0));
  EXPECT_EQ(m.end_us, CivilToUs(2026, 11, 1, 0, 0, 0));
  ASSERT_TRUE(ParseMonth("2026-12", &m));
  EXPECT_EQ(m.end_us, CivilToUs(2027, 1, 1, 0, 0, 0));
  for (const char* bad :
       {"2026-13", "2026-00", "2026-1", "26-10", "2026/10", "2026-10-01", "", "1969-12", "2026-1a"})
    EXPECT_FALSE(ParseMonth(bad, &m)) << bad;
  EXPECT_EQ(MonthOf(CivilToUs(2026, 3, 31, 23, 59, 59)).Name(), "2026-03");
  SetClusterTimeZone("Europe/Berlin");
  ASSERT_TRUE(ParseMonth("2026-10", &m));
  EXPECT_EQ(m.start_us, CivilToUs(2026, 9, 30, 22, 0, 0));  // CEST, UTC+2
  EXPECT_EQ(m.end_us, CivilToUs(2026, 10, 31, 23, 0, 0));   // CET, UTC+1
  SetClusterTimeZone("UTC");
}

TEST(Sha256SumsTest, TakesSha256sumsOwnLinesAndRefusesPathsAndOddLines) {
  const std::string h(64, 'a');
  std::vector<std::pair<std::string, std::string>> got;
  std::string bad;
  ASSERT_TRUE(ParseSha256Sums(h + "  events.csv\n\n" + h + " *manifest.json", &got, &bad));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].first, "events.csv");
  EXPECT_EQ(got[1].first, "manifest.json");
  EXPECT_EQ(got[1].second, h);
  for (const std::string& line :
       {h + "  ../etc/passwd", h + "  esc\x1b[2J", h + "  /etc/passwd", h + "  a/b", h + "  ..",
        h + "  .", std::string(64, 'A') + "  x", std::string(63, 'a') + "  x", h + " x", h + "  ",
        h + "\tx", std::string("garbage")}) {
    got.clear();
    EXPECT_FALSE(ParseSha256Sums(h + "  ok\n" + line + "\n", &got, &bad)) << line;
    std::string shown = line.substr(0, 120);
    for (char& ch : shown)
      if ((unsigned char)ch < 0x20) ch = '?';
    EXPECT_EQ(bad, shown);
  }
}

class MonthBundleTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    SetClusterTimeZone("UTC");
    out_root_ = TempDir("bundle");
    key_dir_ = TempDir("bundle-key");
    auto k = SigningKey::LoadOrCreate(key_dir_.string());
    ASSERT_TRUE(k.ok());
    key_ = std::make_unique<SigningKey>(*k);
    ASSERT_TRUE(ParseMonth("2026-10", &month_));
    // Events just outside the month on both sides, and at its edges.
    auto ev = [](int64_t t, const char* user, const char* action, Outcome r) {
      Event e;
      e.time_us = t;
      e.node = "pve1";
      e.user = user;
      e.ip = "192.0.2.5";
      e.action = action;
      e.resource = "/vms/100";
      e.result = r;
      e.status = r == Outcome::kFailure ? "401" : "200";
      e.source = "json";
      e.detail = "=cmd|' /C calc'!A0";  // a CSV formula, escaped in the file
      return e;
    };
    Add({ev(month_.start_us - 1, "before@pve", "vm:start", Outcome::kSuccess),
         ev(month_.start_us, "alice@pve", "vm:start", Outcome::kSuccess),
         ev(month_.start_us + 3600000000, "bob@pve", "login", Outcome::kFailure),
         ev(month_.end_us - 1, "carol@pve", "vm:stop", Outcome::kSuccess),
         ev(month_.end_us, "after@pve", "vm:start", Outcome::kSuccess)});
  }
  void TearDown() override {
    fs::remove_all(out_root_);
    fs::remove_all(key_dir_);
    StoreFixture::TearDown();
  }
  Result<BundleResult> Write(BundleFormat f, const fs::path& dir) {
    BundleOptions o;
    o.month = month_;
    o.format = f;
    o.output_dir = dir.string();
    o.node = "pve1";
    o.store_name = dir_.string();
    o.software = "pveaudit test";
    o.now_us = month_.end_us + 1;
    return WriteMonthBundle(*store_, *key_, o);
  }
  BundleCheck Check(const fs::path& dir, const std::string& trusted = "") {
    auto c = VerifyMonthBundle(dir.string(), trusted);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : BundleCheck{};
  }
  fs::path out_root_, key_dir_;
  std::unique_ptr<SigningKey> key_;
  Month month_;
};

TEST_F(MonthBundleTest, HoldsExactlyTheMonthsEventsAndVerifiesAgainstTheNodesKey) {
  fs::path dir = out_root_ / "2026-10";
  auto r = Write(BundleFormat::kCsv, dir);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->events, 3u);
  std::string csv = Slurp(dir / "events.csv");
  EXPECT_NE(csv.find("alice@pve"), std::string::npos);
  EXPECT_NE(csv.find("bob@pve"), std::string::npos);
  EXPECT_NE(csv.find("carol@pve"), std::string::npos);
  EXPECT_EQ(csv.find("before@pve"), std::string::npos);
  EXPECT_EQ(csv.find("after@pve"), std::string::npos);
  EXPECT_EQ(csv.find(",=cmd"), std::string::npos) << "a formula cell must be escaped";
  auto m = nlohmann::json::parse(Slurp(dir / "manifest.json"));
  EXPECT_EQ(m["month"], "2026-10");
  EXPECT_EQ(m["events"], 3);
  EXPECT_EQ(m["events_by_result"]["failure"], 1);
  EXPECT_EQ(m["events_by_class"]["login"], 1);
  EXPECT_EQ(m["chain"]["events"], 5);
  EXPECT_EQ(m["signing_key_sha256"], key_->fingerprint());
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((dir / "events.csv").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  BundleCheck c = Check(dir, key_->public_pem());
  EXPECT_TRUE(c.intact()) << (c.problems.empty() ? "" : c.problems[0]);
  EXPECT_TRUE(c.trusted_key);
  EXPECT_EQ(c.events, 3u);
  EXPECT_EQ(c.key_fingerprint, key_->fingerprint());
  c = Check(dir);
  EXPECT_TRUE(c.intact());
  EXPECT_FALSE(c.trusted_key);
  // Nothing left beside it.
  size_t entries = 0;
  for (auto& e : fs::directory_iterator(out_root_)) entries += e.path() != dir;
  EXPECT_EQ(entries, 0u);
}

TEST_F(MonthBundleTest, JsonAndCefBundlesVerifyToo) {
  for (BundleFormat f : {BundleFormat::kJson, BundleFormat::kCef}) {
    fs::path dir = out_root_ / BundleFormatName(f);
    auto r = Write(f, dir);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->events, 3u);
    EXPECT_TRUE(Check(dir, key_->public_pem()).intact()) << BundleFormatName(f);
  }
  std::string cef = Slurp(out_root_ / "cef" / "events.cef");
  EXPECT_EQ(std::count(cef.begin(), cef.end(), '\n'), 3);
  EXPECT_EQ(cef.rfind("CEF:0|", 0), 0u);
  EXPECT_EQ(nlohmann::json::parse(Slurp(out_root_ / "json" / "events.json")).size(), 3u);
}

TEST_F(MonthBundleTest, EveryKindOfTamperingIsNamed) {
  fs::path good = out_root_ / "good";
  ASSERT_TRUE(Write(BundleFormat::kCsv, good).ok());
  auto fresh = [&](const std::string& name) {
    fs::path d = out_root_ / name;
    fs::copy(good, d);
    return d;
  };
  auto first = [](const BundleCheck& c) { return c.problems.empty() ? "" : c.problems[0]; };
  const std::string trusted = key_->public_pem();

  // One flipped byte in the events.
  fs::path d = fresh("flip");
  std::string csv = Slurp(d / "events.csv");
  csv[csv.size() / 2] ^= 0x01;
  Spit(d / "events.csv", csv);
  BundleCheck c = Check(d, trusted);
  ASSERT_FALSE(c.intact());
  EXPECT_NE(first(c).find("events.csv"), std::string::npos) << first(c);

  // An edited manifest (more events claimed).
  d = fresh("manifest");
  std::string man = Slurp(d / "manifest.json");
  man.replace(man.find("\"events\": 3"), 11, "\"events\": 4");
  Spit(d / "manifest.json", man);
  c = Check(d, trusted);
  ASSERT_FALSE(c.intact());
  EXPECT_NE(first(c).find("manifest.json"), std::string::npos) << first(c);

  // Checksums recomputed by whoever edited the events: the signature fails.
  d = fresh("resummed");
  csv = Slurp(d / "events.csv");
  csv += "999,2026-10-02T00:00:00Z,pve1,mallory@pve,,vm:start,/vms/1,success,200,json,,,,0\r\n";
  Spit(d / "events.csv", csv);
  std::string sums = Slurp(d / "SHA256SUMS");
  fs::path scratch = out_root_ / "scratch";
  fs::create_directories(scratch);
  std::string rest = sums.substr(sums.find('\n'));
  // The events line replaced by the edited file's hash, as sha256sum prints it.
  std::string cmd = "sha256sum " + (d / "events.csv").string() + " > " + (scratch / "h").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string h = Slurp(scratch / "h").substr(0, 64);
  Spit(d / "SHA256SUMS", h + "  events.csv" + rest);
  c = Check(d, trusted);
  ASSERT_FALSE(c.intact());
  EXPECT_NE(first(c).find("signature does not match"), std::string::npos) << first(c);

  // Re-signed with another key and that key put in the bundle: intact only
  // against the bundle's own key; the auditor's trusted key catches it.
  auto mallory = SigningKey::LoadOrCreate((scratch / "mallory").string());
  ASSERT_TRUE(mallory.ok());
  Spit(d / "SHA256SUMS.sig", *mallory->Sign(Slurp(d / "SHA256SUMS")));
  Spit(d / "signing-key.pem", mallory->public_pem());
  // The manifest still names the old events hash: caught even so.
  c = Check(d);
  ASSERT_FALSE(c.intact());
  EXPECT_NE(first(c).find("manifest.json and SHA256SUMS disagree on events.csv"), std::string::npos)
      << first(c);
  c = Check(d, trusted);
  ASSERT_FALSE(c.intact());
  EXPECT_NE(first(c).find("signature does not match"), std::string::npos) << first(c);

  // A file removed, a file added.
  d = fresh("removed");
  fs::remove(d / "events.csv");
  c = Check(d, trusted);
  ASSERT_FALSE(c.intact());
  EXPECT_NE(first(c).find("events.csv is missing"), std::string::npos) << first(c);
  d = fresh("added");
  Spit(d / "notes.txt", "x");
  c = Check(d, trusted);
  ASSERT_FALSE(c.intact());
  EXPECT_NE(first(c).find("notes.txt: not part of the bundle"), std::string::npos) << first(c);

  // A file whose name is a terminal escape is named harmlessly.
  d = fresh("escape");
  Spit(d / "\x1b[2Jx", "x");
  c = Check(d, trusted);
  ASSERT_FALSE(c.intact());
  EXPECT_EQ(first(c), "?[2Jx: not part of the bundle (not listed in SHA256SUMS)");

  // A look-alike: the same files copied unchanged verify.
  EXPECT_TRUE(Check(fresh("copy"), trusted).intact());
}

TEST_F(MonthBundleTest, ATrailingSlashNamesTheSameDirectory) {
  // Regression: "DIR/" put the temporary directory inside DIR.
  fs::path dir = out_root_ / "slash";
  ASSERT_TRUE(Write(BundleFormat::kCsv, dir.string() + "/").ok());
  EXPECT_TRUE(Check(dir, key_->public_pem()).intact());
  EXPECT_FALSE(fs::exists(dir / ".partial"));
  size_t entries = 0;
  for (auto& e : fs::directory_iterator(out_root_)) entries += bool(e.path().filename() != "");
  EXPECT_EQ(entries, 1u);
}

TEST_F(MonthBundleTest, ANonEmptyOutputDirectoryIsRefusedAndLeftAsItWas) {
  fs::path dir = out_root_ / "busy";
  fs::create_directories(dir);
  Spit(dir / "keep.txt", "mine");
  auto r = Write(BundleFormat::kCsv, dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Slurp(dir / "keep.txt"), "mine");
  size_t entries = 0;
  for (auto& e : fs::directory_iterator(dir)) entries += bool(e.path().filename() != "");
  EXPECT_EQ(entries, 1u);
  // An empty directory is fine.
  fs::path empty = out_root_ / "empty";
  fs::create_directories(empty);
  ASSERT_TRUE(Write(BundleFormat::kCsv, empty).ok());
  EXPECT_TRUE(Check(empty, key_->public_pem()).intact());
}

TEST(IsoWeekTest, MondayToMondayWithYearsOf52And53Weeks) {
  SetClusterTimeZone("UTC");
  IsoWeek w;
  ASSERT_TRUE(ParseIsoWeek("2026-W01", &w));
  EXPECT_EQ(w.start_us, CivilToUs(2025, 12, 29, 0, 0, 0));  // 2026-W01 starts in 2025
  EXPECT_EQ(w.end_us, CivilToUs(2026, 1, 5, 0, 0, 0));
  ASSERT_TRUE(ParseIsoWeek("2020-w53", &w));  // 2020 has 53 weeks
  EXPECT_EQ(w.Name(), "2020-W53");
  EXPECT_EQ(w.start_us, CivilToUs(2020, 12, 28, 0, 0, 0));
  for (const char* bad :
       {"2021-W53", "2026-W00", "2026-W54", "2026-47", "2026-W7", "26-W47", "2026-W47x", ""})
    EXPECT_FALSE(ParseIsoWeek(bad, &w)) << bad;
  EXPECT_EQ(IsoWeekOf(CivilToUs(2021, 1, 3, 23, 59, 59)).Name(), "2020-W53");  // a Sunday
  EXPECT_EQ(IsoWeekOf(CivilToUs(2021, 1, 4, 0, 0, 0)).Name(), "2021-W01");
  EXPECT_EQ(IsoWeekOf(CivilToUs(2025, 12, 31, 12, 0, 0)).Name(), "2026-W01");
  SetClusterTimeZone("Europe/Berlin");
  ASSERT_TRUE(ParseIsoWeek("2026-W43", &w));                 // clocks go back on its Sunday, 25 Oct
  EXPECT_EQ(w.start_us, CivilToUs(2026, 10, 18, 22, 0, 0));  // Mon 19 Oct 00:00 CEST
  EXPECT_EQ(w.end_us, CivilToUs(2026, 10, 25, 23, 0, 0));    // Mon 26 Oct 00:00 CET: 7 d 1 h
  EXPECT_EQ(IsoWeekOf(CivilToUs(2026, 10, 25, 22, 30, 0)).Name(), "2026-W43");  // Sun 23:30 CET
  EXPECT_EQ(IsoWeekOf(CivilToUs(2026, 10, 25, 23, 30, 0)).Name(), "2026-W44");  // Mon 00:30 CET
  SetClusterTimeZone("UTC");
}

class LogReviewTest : public StoreFixture {};

TEST_F(LogReviewTest, CountsTheWeeksEventsByWhatAReviewerLooksAt) {
  SetClusterTimeZone("UTC");
  IsoWeek w;
  ASSERT_TRUE(ParseIsoWeek("2026-W47", &w));  // Mon 2026-11-16 .. Mon 2026-11-23
  const int64_t mon_10h = w.start_us + int64_t(10) * 3600 * 1000000;
  auto ev = [](int64_t t, const char* action, Outcome r, const char* source = "json") {
    Event e;
    e.time_us = t;
    e.node = "pve1";
    e.user = "alice@pve";
    e.ip = "192.0.2.5";
    e.action = action;
    e.resource = "/";
    e.result = r;
    e.source = source;
    return e;
  };
  const int64_t h = int64_t(3600) * 1000000;
  Add({ev(w.start_us - 1, "login", Outcome::kFailure),             // the week before
       ev(mon_10h, "login", Outcome::kFailure),                    // failed login
       ev(mon_10h + 1, "login", Outcome::kSuccess),                // not a failure
       ev(mon_10h + 2, "acl:modify", Outcome::kSuccess),           // privilege change
       ev(mon_10h + 3, "acl:modify", Outcome::kFailure),           // failed: not a change
       ev(mon_10h + 4, "user:read", Outcome::kSuccess),            // a read: not a change
       ev(mon_10h + 5, "alert:failed-login", Outcome::kUnknown),   // an alert
       ev(w.start_us + 20 * h, "vm:start", Outcome::kSuccess),     // Monday 20:00: off hours
       ev(w.start_us + 20 * h + 1, "vm:read", Outcome::kSuccess),  // a read off hours: no
       ev(w.start_us + 5 * 24 * h + 11 * h, "vm:stop", Outcome::kSuccess),  // Saturday: off hours
       ev(w.start_us + 9 * h, "vm:stop", Outcome::kSuccess),  // Monday 09:00: working hours
       ev(w.end_us - 1, "login", Outcome::kFailure),          // Sunday 23:59:59.999999
       ev(w.end_us, "login", Outcome::kFailure)});            // the next week
  auto c = CountWeek(*store_, w);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->events, 11u);
  EXPECT_EQ(c->failed_logins, 2u);
  EXPECT_EQ(c->alerts, 1u);
  EXPECT_EQ(c->privilege_changes, 1u);
  EXPECT_EQ(c->off_hours, 3u);  // Monday 20:00, Saturday, Sunday 23:59 (a login)

  // The event round-trips, whatever the note says.
  Event e = LogReviewEvent(w, *c, "bob@pve", "alerts=99 off_hours=7 note=x", "pve1", mon_10h);
  e.id = 42;
  LogReview r;
  ASSERT_TRUE(ParseLogReview(e, &r));
  EXPECT_EQ(r.week, "2026-W47");
  EXPECT_EQ(r.reviewer, "bob@pve");
  EXPECT_EQ(r.note, "alerts=99 off_hours=7 note=x");
  EXPECT_EQ(r.counts.alerts, 1u);
  EXPECT_EQ(r.counts.off_hours, 3u);
  // A look-alike from another source (an imported JSON event) is not a review.
  e.source = "json";
  EXPECT_FALSE(ParseLogReview(e, &r));
}

class ExceptionsTest : public StoreFixture {
 protected:
  ExceptionOptions Options() {
    ExceptionOptions o;
    o.requirement = "pci-dss:2fa";
    o.subject = "svc-backup@pve";
    o.reason = "backup robot, key-only";
    o.approved_by = "ciso@pve";
    o.expires = "2027-03-31";
    return o;
  }
  Actor actor_{"alice@pam", "", ""};
};

TEST_F(ExceptionsTest, AddedListedExpiredAndRemovedEachAsAnAuditEvent) {
  SetClusterTimeZone("UTC");
  const int64_t now = CivilToUs(2026, 12, 1, 12, 0, 0);
  auto a = AddException(*store_, actor_, "pve1", Options(), now);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->id, 1u);
  ExceptionOptions o = Options();
  o.requirement = "hipaa:2fa";
  o.subject = "carol@pve";
  o.expires = "2026-12-01";  // today: still applies until midnight
  auto b = AddException(*store_, actor_, "pve1", o, now);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->id, 2u);
  EXPECT_TRUE(b->Active(now));
  EXPECT_TRUE(b->Active(CivilToUs(2026, 12, 1, 23, 59, 59)));
  EXPECT_FALSE(b->Active(CivilToUs(2026, 12, 2, 0, 0, 0)));

  auto list = LoadExceptions(*store_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].subject, "svc-backup@pve");
  EXPECT_EQ((*list)[0].created_by, "alice@pam");
  EXPECT_EQ((*list)[1].expires, "2026-12-01");

  auto gone = RemoveException(*store_, actor_, "pve1", "1");
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  EXPECT_EQ(gone->subject, "svc-backup@pve");
  list = LoadExceptions(*store_);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, 2u);
  // Ids are not reused.
  auto c = AddException(*store_, actor_, "pve1", Options(), now);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->id, 3u);

  // Every change is an event with who and what.
  std::vector<Event> events = Find();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].action, "pveaudit:exception-add");
  EXPECT_EQ(events[0].user, "alice@pam");
  EXPECT_EQ(events[0].resource, "/pveaudit/exceptions/1");
  EXPECT_NE(events[0].detail.find("pci-dss:2fa for svc-backup@pve until 2027-03-31"),
            std::string::npos)
      << events[0].detail;
  EXPECT_EQ(events[2].action, "pveaudit:exception-remove");
}

TEST_F(ExceptionsTest, BadValuesAreNamedAndChangeNothing) {
  SetClusterTimeZone("UTC");
  const int64_t now = CivilToUs(2026, 12, 1, 12, 0, 0);
  struct Case {
    std::function<void(ExceptionOptions*)> edit;
    std::string names;
  } cases[] = {
      {[](ExceptionOptions* o) { o->requirement = "pci-dss:mfa"; }, "'pci-dss:mfa'"},
      {[](ExceptionOptions* o) { o->requirement = "pci-dss:2af"; }, "did you mean 'pci-dss:2fa'"},
      {[](ExceptionOptions* o) { o->requirement.clear(); }, "--requirement is required"},
      {[](ExceptionOptions* o) { o->subject.clear(); }, "--subject is required"},
      {[](ExceptionOptions* o) { o->reason = "two\nlines"; }, "--reason"},
      {[](ExceptionOptions* o) { o->approved_by = std::string(1025, 'x'); }, "1024"},
      {[](ExceptionOptions* o) { o->expires = "2027-02-30"; }, "'2027-02-30'"},
      {[](ExceptionOptions* o) { o->expires = "31.03.2027"; }, "'31.03.2027'"},
      {[](ExceptionOptions* o) { o->expires = "2026-11-30"; }, "that day is over"},
  };
  for (const Case& c : cases) {
    ExceptionOptions o = Options();
    c.edit(&o);
    auto r = AddException(*store_, actor_, "pve1", o, now);
    ASSERT_FALSE(r.ok()) << c.names;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.names), std::string::npos) << r.status().message();
  }
  for (const char* id : {"x", "", "7", "-1"}) {
    auto r = RemoveException(*store_, actor_, "pve1", id);
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << id;
  }
  EXPECT_TRUE(Find().empty());
  EXPECT_TRUE(LoadExceptions(*store_)->empty());
  // A damaged register is reported as such, not read as empty.
  for (const char* bad : {"{", "{\"items\":[1]}", "{\"items\":[{\"id\":\"x\"}]}",
                          "{\"items\":[{\"id\":1,\"expires\":\"soon\"}]}"}) {
    ASSERT_TRUE(store_->PutSetting("compliance.exceptions", bad, "test").ok());
    EXPECT_EQ(LoadExceptions(*store_).status().code(), Status::Code::kCorruption) << bad;
  }
  for (const Requirement& r : Requirements()) {
    EXPECT_EQ(FindRequirement(r.id), &r);
    EXPECT_EQ(r.id.substr(0, r.standard.size()), r.standard);
    EXPECT_FALSE(r.citation.empty());
  }
}

class ComplianceCheckTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    SetClusterTimeZone("UTC");
    now_ = CivilToUs(2026, 12, 1, 12, 0, 0);
    pve_dir_ = TempDir("pve");
    fs::create_directories(pve_dir_ / "priv");
    Spit(pve_dir_ / "user.cfg",
         "user:root@pam:1:0::::::\nuser:alice@pve:1:0::::::\nuser:bob@pve:1:0::::::\n"
         "user:carol@pve:0:0::::::\n");
    Spit(pve_dir_ / "priv/tfa.cfg",
         R"({"users":{"alice@pve":{"totp":[{"id":"t","description":"phone","created":1,)"
         R"("entry":"otpauth://totp/x?secret=SECRETSECRETSECR"}]}}})"
         "\n");
    auto cfg = pve::LoadPveConfig(pve_dir_.string());
    ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
    pve_ = std::make_unique<pve::PveConfig>(std::move(*cfg));
  }
  void TearDown() override {
    fs::remove_all(pve_dir_);
    StoreFixture::TearDown();
  }
  ComplianceInput In() {
    ComplianceInput in;
    in.pve = pve_.get();
    in.store = store_.get();
    auto ex = LoadExceptions(*store_);
    EXPECT_TRUE(ex.ok());
    in.exceptions = *ex;
    in.now_us = now_;
    return in;
  }
  CheckOutcome Outcome(const std::string& standard, const std::string& id) {
    auto r = RunComplianceChecks(standard, In());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    for (const CheckOutcome& o : *r)
      if (o.requirement == id) return o;
    ADD_FAILURE() << id;
    return {};
  }
  static Event At(int64_t t, const char* node, const char* action, const char* source) {
    Event e;
    e.time_us = t;
    e.node = node;
    e.user = "alice@pve";
    e.action = action;
    e.resource = "/";
    e.result = pveaudit::Outcome::kSuccess;
    e.source = source;
    e.detail = "quarter=2026Q4 sha256=x";
    return e;
  }
  static std::string All(const CheckOutcome& o) {
    std::string s;
    for (const std::string& e : o.evidence) s += e + "\n";
    return s;
  }
  void Except(const std::string& req, const std::string& subject, const std::string& expires,
              int64_t at) {
    ExceptionOptions o{req, subject, "robot", "ciso@pve", expires};
    ASSERT_TRUE(AddException(*store_, Actor{"root@pam", "", ""}, "pve1", o, at).ok());
  }
  int64_t now_ = 0;
  fs::path pve_dir_;
  std::unique_ptr<pve::PveConfig> pve_;
};

TEST_F(ComplianceCheckTest, TwoFactorFailsNamingTheUsersAndIsExceptedOnlyWhenAllAreCovered) {
  CheckOutcome o = Outcome("hipaa", "hipaa:2fa");
  EXPECT_EQ(o.result, CheckResult::kFail);
  EXPECT_EQ(o.subjects, (std::vector<std::string>{"bob@pve", "root@pam"}));  // carol: disabled
  EXPECT_NE(All(o).find("3 enabled users, 2 without a second factor"), std::string::npos) << All(o);
  // One covered: still a failure, naming the other.
  Except("hipaa:2fa", "bob@pve", "2027-01-31", now_);
  o = Outcome("hipaa", "hipaa:2fa");
  EXPECT_EQ(o.result, CheckResult::kFail);
  EXPECT_NE(All(o).find("not covered by an exception: root@pam"), std::string::npos) << All(o);
  // An exception of another requirement, or one that expired, covers nothing.
  Except("pci-dss:2fa", "root@pam", "2027-01-31", now_);
  Except("hipaa:2fa", "root@pam", "2026-11-30", now_ - 30 * int64_t(86400) * 1000000);
  o = Outcome("hipaa", "hipaa:2fa");
  EXPECT_EQ(o.result, CheckResult::kFail);
  EXPECT_NE(All(o).find("for root@pam expired on 2026-11-30"), std::string::npos) << All(o);
  // Both covered: EXCEPTED with the ids.
  Except("hipaa:2fa", "root@pam", "2027-01-31", now_);
  o = Outcome("hipaa", "hipaa:2fa");
  EXPECT_EQ(o.result, CheckResult::kExcepted) << All(o);
  EXPECT_EQ(o.exceptions, (std::vector<uint64_t>{1, 4}));
  // Everyone enrolled: PASS.
  Spit(pve_dir_ / "domains.cfg", "pve: pve\n\ttfa type=oath\n\npam: pam\n\ttfa type=oath\n");
  pve_ = std::make_unique<pve::PveConfig>(*pve::LoadPveConfig(pve_dir_.string()));
  EXPECT_EQ(Outcome("hipaa", "hipaa:2fa").result, CheckResult::kPass);
}

TEST_F(ComplianceCheckTest, AccessReviewPassesOnlyWithAReviewPveauditRecordedThisQuarter) {
  const int64_t day = int64_t(86400) * 1000000;
  CheckOutcome o = Outcome("pci-dss", "pci-dss:access-review");
  EXPECT_EQ(o.result, CheckResult::kFail);
  EXPECT_NE(All(o).find("no quarterly access review was ever recorded"), std::string::npos);
  Add({At(now_ - 100 * day, "pve1", "audit:review", "pveaudit"),
       At(now_ - 10 * day, "pve1", "audit:review", "json")});  // an imported look-alike
  o = Outcome("pci-dss", "pci-dss:access-review");
  EXPECT_EQ(o.result, CheckResult::kFail) << All(o);
  EXPECT_NE(All(o).find("last review 2026-08-23"), std::string::npos) << All(o);
  Add({At(now_ - 10 * day, "pve1", "pveaudit:api-review", "pveaudit-web")});
  EXPECT_EQ(Outcome("pci-dss", "pci-dss:access-review").result, CheckResult::kPass);
  EXPECT_EQ(Outcome("hipaa", "hipaa:access-review").result, CheckResult::kPass);
}

TEST_F(ComplianceCheckTest, AccessLoggingNamesTheNodeThatFellSilent) {
  const int64_t hour = int64_t(3600) * 1000000;
  Add({At(now_ - 72 * hour, "pve2", "vm:start", "pveproxy"),
       At(now_ - 2 * hour, "pve1", "vm:start", "pveproxy")});
  CheckOutcome o = Outcome("pci-dss", "pci-dss:access-logging");
  EXPECT_EQ(o.result, CheckResult::kFail);
  EXPECT_EQ(o.subjects, std::vector<std::string>{"pve2"});
  EXPECT_NE(All(o).find("2 nodes, 1 with events in the last 24 hours"), std::string::npos)
      << All(o);
  EXPECT_NE(All(o).find("node pve2: last event 2026-11-28T12:00:00Z"), std::string::npos) << All(o);
  Add({At(now_ - 1 * hour, "pve2", "vm:stop", "pveproxy")});
  EXPECT_EQ(Outcome("pci-dss", "pci-dss:access-logging").result, CheckResult::kPass);
}

TEST_F(ComplianceCheckTest, ConfigChangesPassOnlyWhileTheWatcherRunsAndKeepsItsSnapshot) {
  CheckOutcome o = Outcome("sox", "sox:config-changes");
  EXPECT_EQ(o.result, CheckResult::kFail);
  EXPECT_EQ(o.subjects, (std::vector<std::string>{"config watcher", "pveauditd"}));
  EXPECT_NE(All(o).find("never took a snapshot"), std::string::npos) << All(o);
  EXPECT_NE(All(o).find("never reported a status"), std::string::npos) << All(o);
  ASSERT_TRUE(store_->PutSetting("pve.snapshot", "{}", "pveauditd").ok());
  auto status = [&](int64_t at) {
    return "{\"pid\":1,\"updated\":\"" + FormatRfc3339Utc(at) + "\"}";
  };
  ASSERT_TRUE(store_->PutSetting("daemon.status", status(now_ - 60 * 1000000), "pveauditd").ok());
  Event change = At(now_ - 86400 * int64_t(1000000), "pve1", "acl:modify", "pve-config");
  std::vector<Event> ev{change, At(now_ - 1000000, "pve1", "acl:modify", "pveproxy")};
  ASSERT_TRUE(store_->Append(&ev, {}, nullptr).ok());
  o = Outcome("sox", "sox:config-changes");
  EXPECT_EQ(o.result, CheckResult::kPass) << All(o);
  EXPECT_NE(All(o).find("1 access-control changes recorded in the last 90 days"), std::string::npos)
      << All(o);
  // pveauditd stopped an hour ago: changes since are not recorded yet.
  ASSERT_TRUE(
      store_->PutSetting("daemon.status", status(now_ - 3600 * int64_t(1000000)), "x").ok());
  o = Outcome("sox", "sox:config-changes");
  EXPECT_EQ(o.result, CheckResult::kFail);
  EXPECT_EQ(o.subjects, std::vector<std::string>{"pveauditd"});
  EXPECT_NE(All(o).find("pveauditd last reported at " + FormatRfc3339Utc(now_ - 3600000000)),
            std::string::npos)
      << All(o);
}

TEST_F(ComplianceCheckTest, UniqueIdsFailForOneAccountInTwoPlacesAndForRootFromTheNetwork) {
  auto login = [&](int64_t t, const char* user, const char* ip) {
    Event e = At(t, "pve1", "login", "auth");
    e.user = user;
    e.ip = ip;
    return e;
  };
  const int64_t t = now_ - 86400 * int64_t(1000000);
  const int64_t min = 60 * int64_t(1000000);
  // bob twice from one address, and from another once his session ended.
  std::vector<Event> ev{login(t, "bob@pve", "192.0.2.7"),
                        login(t + 30 * min, "bob@pve", "192.0.2.7"),
                        login(t + 300 * min, "bob@pve", "198.51.100.9")};
  ASSERT_TRUE(store_->Append(&ev, {}, nullptr).ok());
  CheckOutcome o = Outcome("pci-dss", "pci-dss:unique-ids");
  EXPECT_EQ(o.result, CheckResult::kPass) << All(o);
  EXPECT_NE(All(o).find("3 sessions of 1 users in the last 30 days"), std::string::npos) << All(o);
  // alice from two addresses at once; root@pam from the network.
  ev = {login(t + 10 * min, "alice@pve", "192.0.2.1"),
        login(t + 20 * min, "alice@pve", "203.0.113.5"),
        login(t + 40 * min, "root@pam", "192.0.2.1")};
  ASSERT_TRUE(store_->Append(&ev, {}, nullptr).ok());
  o = Outcome("pci-dss", "pci-dss:unique-ids");
  EXPECT_EQ(o.result, CheckResult::kFail);
  EXPECT_EQ(o.subjects, (std::vector<std::string>{"alice@pve", "root@pam"}));
  EXPECT_NE(All(o).find("alice@pve: sessions from 192.0.2.1 (" + FormatRfc3339Utc(t + 10 * min) +
                        ") and 203.0.113.5"),
            std::string::npos)
      << All(o);
  // carol@pve is disabled: not a named account anyone uses.
  EXPECT_NE(All(o).find("root@pam: 1 login(s) from 192.0.2.1, though 2 named accounts exist "
                        "(alice@pve, bob@pve)"),
            std::string::npos)
      << All(o);
  // Documented: root@pam as the emergency account.
  Except("pci-dss:unique-ids", "root@pam", "2027-12-31", now_);
  Except("pci-dss:unique-ids", "alice@pve", "2027-12-31", now_);
  EXPECT_EQ(Outcome("pci-dss", "pci-dss:unique-ids").result, CheckResult::kExcepted);
}

TEST_F(ComplianceCheckTest, RemoteLoginsWithoutASecondFactorFailPciDss2fa) {
  auto login = [&](int64_t t, const char* user, const char* ip) {
    Event e = At(t, "pve1", "login", "auth");
    e.user = user;
    e.ip = ip;
    return e;
  };
  const int64_t t = now_ - 86400 * int64_t(1000000);
  // bob (no second factor) from the office; alice (TOTP) from outside.
  std::vector<Event> ev{login(t, "bob@pve", "192.168.1.5"),
                        login(t + 1, "alice@pve", "203.0.113.9")};
  ASSERT_TRUE(store_->Append(&ev, {}, nullptr).ok());
  CheckOutcome o = Outcome("pci-dss", "pci-dss:2fa");
  EXPECT_EQ(o.result, CheckResult::kPass) << All(o);
  EXPECT_NE(All(o).find("1 logins from outside them in the last 30 days, 0 users without"),
            std::string::npos)
      << All(o);
  // bob from outside: a finding, with the address.
  ev = {login(t + 2, "bob@pve", "203.0.113.9"), login(t + 3, "bob@pve", "2001:db8::7")};
  ASSERT_TRUE(store_->Append(&ev, {}, nullptr).ok());
  o = Outcome("pci-dss", "pci-dss:2fa");
  EXPECT_EQ(o.result, CheckResult::kFail) << All(o);
  EXPECT_EQ(o.subjects, std::vector<std::string>{"bob@pve"});
  EXPECT_NE(All(o).find("bob@pve: 2 remote login(s) without a second factor, from "
                        "2001:db8::7, 203.0.113.9"),
            std::string::npos)
      << All(o);
  // The operator's own networks are not remote; the list replaces the
  // private ranges (192.168.1.5 is remote now).
  ComplianceInput in = In();
  in.internal_networks = {"203.0.113.0/24", "2001:db8::/32"};
  auto r = RunComplianceChecks("pci-dss", in);
  ASSERT_TRUE(r.ok());
  for (const CheckOutcome& x : *r) {
    if (x.requirement != "pci-dss:2fa") continue;
    EXPECT_EQ(x.result, CheckResult::kFail) << All(x);
    EXPECT_NE(All(x).find("bob@pve: 1 remote login(s) without a second factor, from 192.168.1.5"),
              std::string::npos)
        << All(x);
  }
  in.internal_networks.push_back("192.168.0.0/16");
  r = RunComplianceChecks("pci-dss", in);
  ASSERT_TRUE(r.ok());
  for (const CheckOutcome& x : *r) {
    if (x.requirement == "pci-dss:2fa") {
      EXPECT_EQ(x.result, CheckResult::kPass) << All(x);
    }
  }
}

TEST_F(ComplianceCheckTest, EveryRequirementOfEachStandardIsEvaluated) {
  for (const char* standard : {"hipaa", "pci-dss", "sox"}) {
    auto r = RunComplianceChecks(standard, In());
    ASSERT_TRUE(r.ok());
    size_t n = 0;
    for (const Requirement& q : Requirements()) n += q.standard == standard;
    EXPECT_EQ(r->size(), n);
    for (const CheckOutcome& o : *r) {
      EXPECT_NE(o.result, CheckResult::kUnchecked) << o.requirement;
      EXPECT_FALSE(o.evidence.empty()) << o.requirement;
      EXPECT_FALSE(o.query.empty()) << o.requirement;
    }
  }
  EXPECT_FALSE(IsStandard("iso27001"));
}

}  // namespace
}  // namespace pveaudit

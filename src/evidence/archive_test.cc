// Tests of the retention policy, archives and legal holds on a real SQLite
// store and real files: what is moved out, that the chain still verifies,
// that every kind of tampering with an archive is named, and that a query
// over archives equals the same query on a store that was never archived.
#include "evidence/archive.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "core/time_spec.h"
#include "evidence/archived_store.h"
#include "evidence/compliance_check.h"
#include "evidence/month_bundle.h"
#include "evidence/retention.h"
#include "evidence/test_files.h"
#include "query/log_query.h"
#include "store/sqlite_db.h"

namespace pveaudit {
namespace {

namespace fs = std::filesystem;

using test::Slurp;
using test::Spit;
using test::TempDir;
std::string Unzstd(const std::string& z) {
  unsigned long long n = ZSTD_getFrameContentSize(z.data(), z.size());
  std::string out;
  if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR) {
    ZSTD_DCtx* d = ZSTD_createDCtx();
    std::string buf(1 << 16, '\0');
    ZSTD_inBuffer in{z.data(), z.size(), 0};
    while (in.pos < in.size) {
      ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
      size_t r = ZSTD_decompressStream(d, &ob, &in);
      if (ZSTD_isError(r)) break;
      out.append(buf.data(), ob.pos);
    }
    ZSTD_freeDCtx(d);
    return out;
  }
  out.resize(n);
  out.resize(ZSTD_decompress(out.data(), out.size(), z.data(), z.size()));
  return out;
}
std::string Zstd(const std::string& s) {
  std::string out(ZSTD_compressBound(s.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), s.data(), s.size(), 3));
  return out;
}
int64_t At(int y, int m, int d, int h = 12) { return CivilToUs(y, m, d, h, 0, 0); }

// Events every ~3 days from 2018-06 to 2026-12 (eight and a half years),
// in a store with 16-event blocks: a couple of blocks per month.
std::vector<Event> Years() {
  std::vector<Event> out;
  std::mt19937 rng(7);
  const char* users[] = {"alice@pve", "bob@pve", "root@pam", "carol@ldap"};
  for (int64_t t = At(2018, 6, 1); t < At(2026, 12, 10); t += int64_t(3) * 86400 * 1000000 / 4) {
    Event e;
    e.time_us = t + int64_t(rng() % 3600) * 1000000;
    e.node = "pve1";
    e.user = users[rng() % 4];
    e.ip = "192.0.2." + std::to_string(1 + rng() % 9);
    e.action = rng() % 3 ? "vm:start" : "login";
    e.resource = "/vms/" + std::to_string(100 + rng() % 5);
    e.result = rng() % 5 == 0 ? Outcome::kFailure : Outcome::kSuccess;
    e.status = e.result == Outcome::kFailure ? "401" : "200";
    e.source = "json";
    e.detail = "POST /api2/json/nodes/pve1/qemu/100/status/start";
    out.push_back(std::move(e));
  }
  return out;
}

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetClusterTimeZone("UTC");
    dir_ = TempDir("store");
    twin_dir_ = TempDir("twin");
    key_dir_ = TempDir("key");
    archive_dir_ = (dir_ / "archive").string();
    StoreOptions so;
    so.block_events = 16;
    auto s = OpenSqliteStore(dir_.string(), so);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    auto t = OpenSqliteStore(twin_dir_.string(), so);
    ASSERT_TRUE(t.ok());
    twin_ = std::move(*t);
    auto k = SigningKey::LoadOrCreate(key_dir_.string());
    ASSERT_TRUE(k.ok());
    key_ = std::make_unique<SigningKey>(*k);
    events_ = Years();
    // Appended in batches as a daemon would, into both stores.
    for (size_t i = 0; i < events_.size(); i += 100) {
      std::vector<Event> a(events_.begin() + long(i),
                           events_.begin() + long(std::min(events_.size(), i + 100)));
      std::vector<Event> b = a;
      ASSERT_TRUE(store_->Append(&a, {}, nullptr).ok());
      ASSERT_TRUE(twin_->Append(&b, {}, nullptr).ok());
      for (size_t j = 0; j < a.size(); ++j) events_[i + j].id = a[j].id;
    }
  }
  void TearDown() override {
    store_.reset();
    twin_.reset();
    fs::remove_all(dir_);
    fs::remove_all(twin_dir_);
    fs::remove_all(key_dir_);
  }
  RetentionPolicy Policy(const std::string& online, const std::string& archive) {
    auto p = ResolveRetention(online, archive, {}, archive_dir_, dir_.string());
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? *p : RetentionPolicy{};
  }
  Result<RetentionRun> Run(const RetentionPolicy& p, std::vector<LegalHold> holds = {},
                           bool dry = false) {
    RetentionRunOptions o;
    o.write.archive_dir = p.archive_dir;
    o.write.node = "pve1";
    o.write.software = "pveaudit test";
    o.write.now_us = now_;
    o.user = "root@pam";
    o.dry_run = dry;
    return RunRetention(*store_, key_.get(), p, holds, o);
  }
  std::vector<ArchiveRecord> Records() {
    auto r = store_->ListArchives();
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<ArchiveRecord>{};
  }
  std::vector<std::string> AgainstStore() {
    return CheckArchivesAgainstStore(Records(), archive_dir_, key_->public_pem());
  }
  std::vector<ArchiveCheck> CheckAll(std::vector<std::string>* seq) {
    std::vector<ArchiveCheck> checks;
    for (const ArchiveRecord& r : Records())
      checks.push_back(CheckArchiveDir(archive_dir_ + "/" + r.name, key_->public_pem(), true));
    *seq = CheckArchiveSequence(&checks);
    return checks;
  }
  // Ids of the events a query finds.
  static std::vector<uint64_t> Ids(const std::vector<Event>& ev) {
    std::vector<uint64_t> ids;
    for (const Event& e : ev) ids.push_back(e.id);
    return ids;
  }

  fs::path dir_, twin_dir_, key_dir_;
  std::string archive_dir_;
  std::unique_ptr<EventStore> store_, twin_;
  std::unique_ptr<SigningKey> key_;
  std::vector<Event> events_;
  const int64_t now_ = At(2026, 12, 15);
};

TEST(RetentionPolicyTest, PeriodsParseAndTheLongestStandardWins) {
  EXPECT_EQ(*ParseRetentionPeriod("13 months"), 13);
  EXPECT_EQ(*ParseRetentionPeriod("1 month"), 1);
  EXPECT_EQ(*ParseRetentionPeriod("7 years"), 84);
  for (const char* bad : {"", "13", "months", "0 months", "13 weeks", "-1 years", "101 years",
                          "13  months", "7 years ago"})
    EXPECT_EQ(ParseRetentionPeriod(bad).status().code(), Status::Code::kInvalidArgument) << bad;

  auto none = ResolveRetention("", "", {}, "", "/d");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->Archives());
  EXPECT_EQ(none->archive_dir, "/d/archive");

  auto hs = ResolveRetention("", "", {"hipaa", "sox"}, "", "/d");
  ASSERT_TRUE(hs.ok());
  EXPECT_EQ(hs->archive_months, 84);  // SOX's 7 years beat HIPAA's 6
  EXPECT_EQ(hs->online_months, 13);
  EXPECT_NE(hs->why.find("sox"), std::string::npos) << hs->why;

  auto pci = ResolveRetention("", "", {"pci-dss"}, "/srv/a", "/d");
  ASSERT_TRUE(pci.ok());
  EXPECT_EQ(pci->archive_months, 12);
  EXPECT_EQ(pci->online_months, 12);
  EXPECT_EQ(pci->archive_dir, "/srv/a");
  // PCI DSS 10.5.1 wants the last three months immediately available.
  EXPECT_EQ(ResolveRetention("2 months", "", {"pci-dss"}, "", "/d").status().code(),
            Status::Code::kInvalidArgument);
  auto longer = ResolveRetention("13 months", "1 year", {}, "", "/d");
  EXPECT_EQ(longer.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(longer.status().message().find("longer than archive"), std::string::npos);
  EXPECT_EQ(ResolveRetention("", "", {"gdpr"}, "", "/d").status().code(),
            Status::Code::kInvalidArgument);
}

TEST(PlanArchivesTest, RunsOfOldBlocksByMonthNeverTheNewestWithTheChainHashBefore) {
  SetClusterTimeZone("UTC");
  auto span = [](uint64_t first, uint64_t last, int64_t t_min, int64_t t_max) {
    BlockSpan b;
    b.first_id = first;
    b.last_id = last;
    b.events = last - first + 1;
    b.t_min_us = t_min;
    b.t_max_us = t_max;
    b.head_hash = std::string(62, '0') + std::to_string(10 + first % 90);
    return b;
  };
  // Two nodes' histories imported one after the other: ids 1-40 are
  // pve1's 2019-2025, ids 41-80 pve2's.
  std::vector<BlockSpan> spans = {
      span(1, 10, At(2019, 1, 2), At(2019, 1, 20)),    // January
      span(11, 20, At(2019, 1, 25), At(2019, 2, 3)),   // ends in February
      span(21, 30, At(2019, 1, 30), At(2019, 1, 31)),  // late: stays in February's run
      span(31, 40, At(2025, 3, 1), At(2025, 3, 9)),    // past the cutoff: online
      span(41, 50, At(2019, 1, 1), At(2019, 1, 2)),    // pve2's January: its own run
      span(51, 60, At(2019, 2, 1), At(2019, 2, 2)),
      span(71, 80, At(2019, 3, 1), At(2019, 3, 2)),  // 61-70 are in no block and no archive
      span(81, 90, At(2025, 6, 1), At(2025, 6, 2)),  // the newest
  };
  const std::string zero(64, '0');
  auto plan = PlanArchives(spans, {}, At(2020, 1, 1, 0));
  ASSERT_EQ(plan.size(), 4u);
  EXPECT_EQ(plan[0].name, "2019-01.1-10");
  EXPECT_EQ(plan[0].seq, 1u);
  EXPECT_EQ(plan[0].prev_hash, zero);
  EXPECT_EQ(plan[0].last_hash, spans[0].head_hash);
  EXPECT_EQ(plan[1].name, "2019-02.11-30");
  EXPECT_EQ(plan[1].events, 20u);
  EXPECT_EQ(plan[1].prev_hash, spans[0].head_hash);
  EXPECT_EQ(plan[1].t_min_us, At(2019, 1, 25));
  EXPECT_EQ(plan[2].name, "2019-01.41-50");
  EXPECT_EQ(plan[2].prev_hash, spans[3].head_hash);  // the online block before it
  EXPECT_EQ(plan[3].name, "2019-02.51-60");
  EXPECT_EQ(plan[3].seq, 4u);
  // After an archive, a run starts from its recorded hash.
  ArchiveRecord done;
  done.seq = 1;
  done.first_id = 1;
  done.last_id = 10;
  done.last_hash = std::string(64, 'e');
  std::vector<BlockSpan> rest(spans.begin() + 1, spans.end());
  auto next = PlanArchives(rest, {done}, At(2020, 1, 1, 0));
  ASSERT_FALSE(next.empty());
  EXPECT_EQ(next[0].name, "2019-02.11-30");
  EXPECT_EQ(next[0].seq, 2u);
  EXPECT_EQ(next[0].prev_hash, done.last_hash);
  // The newest block is never archived, however old.
  auto all = PlanArchives(spans, {}, At(2030, 1, 1));
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.back().last_id, 60u);  // 71-80 has no known chain hash before it
}

TEST_F(ArchiveTest, EightYearsUnderASevenYearPolicyArchivePurgeAndKeepAHeldMonth) {
  std::vector<LegalHold> holds(1);
  holds[0].id = 4;
  holds[0].start_us = At(2019, 3, 1, 0);
  holds[0].end_us = At(2019, 4, 1, 0);
  auto run = Run(Policy("13 months", "7 years"), holds);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->online_cutoff_us, At(2025, 11, 1, 0));
  EXPECT_EQ(run->purge_cutoff_us, At(2019, 12, 1, 0));
  ASSERT_FALSE(run->archived.empty());
  // Every archive ends before the online period; what is online starts
  // where the archives end.
  std::vector<ArchiveRecord> recs = Records();
  ASSERT_EQ(recs.size(), run->archived.size());
  for (const ArchiveRecord& r : recs) EXPECT_LT(r.t_max_us, run->online_cutoff_us) << r.name;
  auto v = store_->Verify(nullptr);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->reason;
  uint64_t archived = 0;
  for (const ArchiveRecord& r : recs) archived += r.events;
  EXPECT_EQ(v->archived_events, archived);
  EXPECT_EQ(v->archives, recs.size());
  auto info = store_->Info();
  ASSERT_TRUE(info.ok());
  // Each event is stored once: archived events left the store (plus the
  // audit events of this run).
  const uint64_t own = run->archived.size() + run->purged.size();
  EXPECT_EQ(info->events + archived, events_.size() + own);
  // The store's head is the unarchived twin's head, extended by the audit
  // events: nothing in the chain changed.
  auto twin_v = twin_->Verify(nullptr);
  ASSERT_TRUE(twin_v.ok());
  EXPECT_EQ(v->events_checked + v->archived_events, twin_v->events_checked + own);

  // Purged: archives whose newest event is before 2019-12, except the one
  // the hold covers (March 2019).
  ASSERT_FALSE(run->purged.empty());
  for (const ArchiveRecord& r : run->purged) {
    EXPECT_LT(r.t_max_us, At(2019, 12, 1, 0));
    EXPECT_FALSE(r.t_max_us >= At(2019, 3, 1, 0) && r.t_min_us < At(2019, 4, 1, 0)) << r.name;
    EXPECT_FALSE(fs::exists(archive_dir_ + "/" + r.name + "/" + kArchiveEventsFile));
    EXPECT_TRUE(fs::exists(archive_dir_ + "/" + r.name + "/" + kArchiveManifest));
  }
  ASSERT_FALSE(run->held.empty());
  for (const auto& [r, hold] : run->held) {
    EXPECT_EQ(hold, 4u);
    EXPECT_TRUE(fs::exists(archive_dir_ + "/" + r.name + "/" + kArchiveEventsFile));
  }
  // Everything checks out, offline and against the store.
  EXPECT_TRUE(AgainstStore().empty());
  std::vector<std::string> seq;
  for (const ArchiveCheck& c : CheckAll(&seq)) EXPECT_TRUE(c.ok) << c.dir << ": " << c.problems[0];
  EXPECT_TRUE(seq.empty()) << seq[0];
  // Each archive and purge is an audit event.
  Filter audit;
  audit.action = "audit:archive";
  auto a = FindEvents(*store_, audit, 0);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size(), run->archived.size());
  audit.action = "audit:purge";
  auto p = FindEvents(*store_, audit, 0);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->size(), run->purged.size());

  // Running again a day later changes nothing; the hold lifted, the held
  // archives go too.
  auto again = Run(Policy("13 months", "7 years"), holds);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->archived.empty());
  EXPECT_TRUE(again->purged.empty());
  auto lifted = Run(Policy("13 months", "7 years"), {});
  ASSERT_TRUE(lifted.ok());
  EXPECT_EQ(lifted->purged.size(), run->held.size());
  EXPECT_TRUE(AgainstStore().empty());
}

TEST_F(ArchiveTest, QueriesOverArchivesEqualTheSameQueriesOnAStoreNeverArchived) {
  ASSERT_TRUE(Run(Policy("13 months", "")).ok());  // archived, nothing purged
  ASSERT_FALSE(Records().empty());
  auto with = WithArchives(std::move(store_), archive_dir_);
  std::vector<Filter> filters(6);
  filters[1].user = "alice@pve";
  filters[1].start_us = At(2019, 3, 1, 0);
  filters[1].end_us = At(2019, 5, 1, 0);
  filters[2].failed = true;
  filters[3].resource = "/vms/102";
  filters[3].start_us = At(2025, 10, 20, 0);  // across the archive/online boundary
  filters[3].end_us = At(2025, 11, 10, 0);
  filters[4].tod_start = 18 * 3600;
  filters[4].tod_end = 8 * 3600;
  filters[5].action = "login";
  for (size_t i = 0; i < filters.size(); ++i) {
    auto a = FindEvents(*with, filters[i], 0);
    auto b = FindEvents(*twin_, filters[i], 0);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ASSERT_TRUE(b.ok());
    ASSERT_FALSE(b->empty()) << i;
    // The twin has no audit:archive events; compare the events both hold.
    std::vector<Event> a_events;
    for (Event& e : *a)
      if (e.action != "audit:archive") a_events.push_back(e);
    EXPECT_EQ(Ids(a_events), Ids(*b)) << "filter " << i;
    EXPECT_TRUE(a_events == *b) << "filter " << i;
  }
  // The newest N: the same too.
  Filter all;
  all.end_us = At(2020, 1, 1, 0);
  auto a = FindEvents(*with, all, 5);
  auto b = FindEvents(*twin_, all, 5);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(Ids(*a), Ids(*b));
  // Counts (ScanKeys) agree.
  CountSpec spec;
  spec.min_count = 1;
  Filter failed;
  failed.failed = true;
  auto ga = CountGroups(*with, failed, spec);
  auto gb = CountGroups(*twin_, failed, spec);
  ASSERT_TRUE(ga.ok() && gb.ok()) << ga.status().ToString();
  ASSERT_EQ(ga->size(), gb->size());
  for (size_t i = 0; i < ga->size(); ++i) {
    EXPECT_EQ((*ga)[i].key, (*gb)[i].key);
    EXPECT_EQ((*ga)[i].count, (*gb)[i].count);
  }
}

TEST_F(ArchiveTest, EveryKindOfTamperingWithArchivesIsNamed) {
  ASSERT_TRUE(Run(Policy("13 months", "")).ok());
  std::vector<ArchiveRecord> recs = Records();
  ASSERT_GE(recs.size(), 6u);
  const std::string a = archive_dir_ + "/" + recs[1].name, b = archive_dir_ + "/" + recs[2].name;

  {  // An edited event, with a digest that no longer matches.
    const std::string path = a + "/" + kArchiveEventsFile;
    const std::string orig = Slurp(path);
    std::string text = Unzstd(orig);
    const uint64_t victim = recs[1].first_id + 3;
    // The line of `victim`: objects with sorted keys, "user" last.
    size_t line_start = text.rfind('\n', text.find("\"id\":" + std::to_string(victim) + ","));
    line_start = line_start == std::string::npos ? 0 : line_start + 1;
    size_t user = text.find("\"user\":\"", line_start);
    ASSERT_NE(user, std::string::npos);
    text[user + 8] = text[user + 8] == 'a' ? 'b' : 'a';
    Spit(path, Zstd(text));
    ArchiveCheck c = CheckArchiveDir(a, key_->public_pem(), true);
    EXPECT_FALSE(c.ok);
    ASSERT_FALSE(c.problems.empty());
    EXPECT_NE(c.problems[0].find("does not match the digest"), std::string::npos) << c.problems[0];
    EXPECT_EQ(c.first_bad_id, victim);
    bool named = false;
    for (const std::string& p : c.problems)
      named |= p.find("event " + std::to_string(victim) + ": contents do not match") !=
               std::string::npos;
    EXPECT_TRUE(named) << c.problems.back();
    auto s = AgainstStore();
    ASSERT_FALSE(s.empty());
    EXPECT_NE(s[0].find(recs[1].name), std::string::npos) << s[0];
    Spit(path, orig);
    EXPECT_TRUE(AgainstStore().empty());
  }
  {  // The manifest's digest updated to the edited file: the signature fails.
    const std::string mpath = a + "/" + kArchiveManifest;
    const std::string orig = Slurp(mpath);
    std::string m = orig;
    size_t at = m.find("\"events\": ");
    ASSERT_NE(at, std::string::npos);
    m.replace(at, 10, "\"events\":  ");
    Spit(mpath, m);
    ArchiveCheck c = CheckArchiveDir(a, key_->public_pem(), false);
    EXPECT_FALSE(c.ok);
    EXPECT_NE(c.problems[0].find("signature does not check out"), std::string::npos)
        << c.problems[0];
    Spit(mpath, orig);
  }
  {  // A swapped manifest (with its signature): the events do not match it.
    for (const char* f : {kArchiveManifest, kArchiveSignature}) {
      fs::rename(a + "/" + f, a + "/" + f + std::string(".orig"));
      fs::copy_file(b + "/" + f, a + "/" + f);
    }
    ArchiveCheck c = CheckArchiveDir(a, key_->public_pem(), true);
    EXPECT_FALSE(c.ok);
    auto s = AgainstStore();
    ASSERT_FALSE(s.empty());
    EXPECT_NE(s[0].find("not the one recorded"), std::string::npos) << s[0];
    std::vector<std::string> seq;
    CheckAll(&seq);
    EXPECT_FALSE(seq.empty());  // two archives claim the same events
    for (const char* f : {kArchiveManifest, kArchiveSignature}) {
      fs::remove(a + "/" + f);
      fs::rename(a + "/" + f + std::string(".orig"), a + "/" + f);
    }
    EXPECT_TRUE(AgainstStore().empty());
  }
  {  // A removed archive in the middle.
    fs::rename(b, b + ".away");
    auto s = AgainstStore();
    ASSERT_EQ(s.size(), 1u);
    EXPECT_NE(s[0].find(recs[2].name + " (events " + std::to_string(recs[2].first_id)),
              std::string::npos)
        << s[0];
    EXPECT_NE(s[0].find("is missing"), std::string::npos);
    std::vector<ArchiveCheck> checks;
    for (const ArchiveRecord& r : recs)
      if (fs::exists(archive_dir_ + "/" + r.name))
        checks.push_back(CheckArchiveDir(archive_dir_ + "/" + r.name, "", false));
    auto seq = CheckArchiveSequence(&checks);
    ASSERT_EQ(seq.size(), 1u);
    EXPECT_EQ(seq[0], "archive 3 between " + recs[1].name + " and " + recs[3].name +
                          " is missing (removed?)");
    fs::rename(b + ".away", b);
  }
  {  // A truncated events file: named, not read as fewer events.
    const std::string path = a + "/" + kArchiveEventsFile;
    const std::string orig = Slurp(path);
    Spit(path, orig.substr(0, orig.size() / 2));
    ArchiveCheck c = CheckArchiveDir(a, key_->public_pem(), true);
    EXPECT_FALSE(c.ok);
    Spit(path, orig);
  }
  // Intact again.
  std::vector<std::string> seq;
  for (const ArchiveCheck& c : CheckAll(&seq)) EXPECT_TRUE(c.ok) << c.problems[0];
  EXPECT_TRUE(seq.empty());
  // Another node's key: every signature fails.
  fs::path other = TempDir("other-key");
  auto k2 = SigningKey::LoadOrCreate(other.string());
  ASSERT_TRUE(k2.ok());
  EXPECT_FALSE(CheckArchivesAgainstStore(Records(), archive_dir_, k2->public_pem()).empty());
  fs::remove_all(other);
}

TEST_F(ArchiveTest, TheStoreDropsOnlyWholeBlocksThatContinueTheChain) {
  auto spans = store_->ListBlockSpans();
  ASSERT_TRUE(spans.ok());
  ASSERT_GT(spans->size(), 6u);
  auto before = store_->Info();
  // Blocks 3-4 (a range in the middle is fine).
  const BlockSpan &b2 = (*spans)[1], &b3 = (*spans)[2], &b4 = (*spans)[3];
  ArchiveRecord r;
  r.seq = 1;
  r.name = "mid";
  r.period = "2018-06";
  r.first_id = b3.first_id;
  r.last_id = b4.last_id;
  r.events = r.last_id - r.first_id + 1;
  r.prev_hash = b2.head_hash;
  r.last_hash = b4.head_hash;
  ArchiveRecord bad = r;
  bad.prev_hash = (*spans)[0].head_hash;  // not the hash before it
  EXPECT_EQ(store_->RemoveArchivedRange(bad).code(), Status::Code::kInvalidArgument);
  bad = r;
  bad.last_id -= 1;  // not a block end
  bad.events -= 1;
  EXPECT_EQ(store_->RemoveArchivedRange(bad).code(), Status::Code::kInvalidArgument);
  bad = r;
  bad.first_id += 1;  // not a block start
  bad.events -= 1;
  EXPECT_EQ(store_->RemoveArchivedRange(bad).code(), Status::Code::kInvalidArgument);
  bad = r;
  bad.last_hash = b3.head_hash;  // not its chain hash
  EXPECT_EQ(store_->RemoveArchivedRange(bad).code(), Status::Code::kInvalidArgument);
  bad = r;
  bad.seq = 2;  // not the next number
  EXPECT_EQ(store_->RemoveArchivedRange(bad).code(), Status::Code::kInvalidArgument);
  bad = r;
  bad.first_id = spans->back().first_id;  // the newest block
  bad.last_id = spans->back().last_id;
  bad.events = spans->back().events;
  bad.prev_hash = (*spans)[spans->size() - 2].head_hash;
  bad.last_hash = spans->back().head_hash;
  EXPECT_EQ(store_->RemoveArchivedRange(bad).code(), Status::Code::kInvalidArgument);
  auto after = store_->Info();
  EXPECT_EQ(after->events, before->events);
  EXPECT_TRUE(Records().empty());
  // The real thing is accepted, once; the chain verifies across the hole.
  EXPECT_TRUE(store_->RemoveArchivedRange(r).ok());
  r.seq = 2;
  EXPECT_EQ(store_->RemoveArchivedRange(r).code(), Status::Code::kInvalidArgument);
  auto v = store_->Verify(nullptr);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->reason;
  EXPECT_EQ(v->archived_events, r.events);
  EXPECT_EQ(v->events_checked + r.events, before->events);
  // The block before the hole edited: verify names it, as without archives.
  // The record of the hole edited: verify says the records do not link up.
  store_.reset();
  {
    Db db;
    ASSERT_TRUE(db.Open((dir_ / "pveaudit.db").string(), false).ok());
    ASSERT_TRUE(db.Exec("UPDATE archives SET last_hash='" + std::string(64, 'f') + "'").ok());
  }
  auto s = OpenSqliteStore(dir_.string(), StoreOptions{});
  ASSERT_TRUE(s.ok());
  auto v2 = (*s)->Verify(nullptr);
  ASSERT_TRUE(v2.ok());
  EXPECT_FALSE(v2->intact);
  EXPECT_EQ(v2->first_bad_id, b4.last_id + 1) << v2->reason;
}

TEST_F(ArchiveTest, AnEditedArchiveRecordBreaksTheStoresVerify) {
  ASSERT_TRUE(Run(Policy("13 months", "")).ok());
  std::vector<ArchiveRecord> recs = Records();
  ASSERT_GE(recs.size(), 3u);
  store_.reset();
  {
    // Someone with write access cuts an archive out of the records.
    Db db;
    ASSERT_TRUE(db.Open((dir_ / "pveaudit.db").string(), false).ok());
    ASSERT_TRUE(db.Exec("UPDATE archives SET prev_hash='" + std::string(64, 'a') +
                        "' WHERE name='" + recs[1].name + "'")
                    .ok());
  }
  auto s = OpenSqliteStore(dir_.string(), StoreOptions{});
  ASSERT_TRUE(s.ok());
  auto v = (*s)->Verify(nullptr);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->intact);
  EXPECT_NE(v->reason.find("archive records do not link up"), std::string::npos) << v->reason;
}

TEST_F(ArchiveTest, ACrashBetweenWritingAndDroppingIsFinishedByTheNextRun) {
  const RetentionPolicy p = Policy("13 months", "");
  auto spans = store_->ListBlockSpans();
  ASSERT_TRUE(spans.ok());
  auto plan = PlanArchives(*spans, {}, MonthsBackStart(now_, 13));
  ASSERT_GE(plan.size(), 2u);
  ArchiveWriteOptions w;
  w.archive_dir = archive_dir_;
  w.node = "pve1";
  w.now_us = now_;
  // The first archive written and renamed, the store not yet told; the
  // second written and then damaged; a third half written.
  ASSERT_TRUE(WriteArchive(*store_, *key_, plan[0], w).ok());
  ASSERT_TRUE(WriteArchive(*store_, *key_, plan[1], w).ok());
  Spit(archive_dir_ + "/" + plan[1].name + "/" + kArchiveEventsFile, "damaged");
  fs::create_directories(archive_dir_ + "/" + plan[2].name + ".partial");
  Spit(archive_dir_ + "/" + plan[2].name + ".partial/" + kArchiveEventsFile, "half");
  EXPECT_TRUE(Records().empty());  // all still online

  auto run = Run(p);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_GE(run->archived.size(), 3u);
  EXPECT_EQ(run->archived[0].name, plan[0].name);
  EXPECT_FALSE(fs::exists(archive_dir_ + "/" + plan[2].name + ".partial"));
  bool aside = false;
  for (const auto& d : fs::directory_iterator(archive_dir_))
    aside |= d.path().filename().string().rfind(plan[1].name + ".damaged-", 0) == 0;
  EXPECT_TRUE(aside);
  EXPECT_TRUE(AgainstStore().empty());
  std::vector<std::string> seq;
  for (const ArchiveCheck& c : CheckAll(&seq)) EXPECT_TRUE(c.ok) << c.problems[0];
  auto v = store_->Verify(nullptr);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->reason;
}

TEST_F(ArchiveTest, StringsThatAreNotUtf8KeepTheirExactBytes) {
  // A fresh store whose oldest events carry bytes JSON cannot hold.
  fs::path d = TempDir("bytes");
  StoreOptions so;
  so.block_events = 4;
  auto s = OpenSqliteStore(d.string(), so);
  ASSERT_TRUE(s.ok());
  std::vector<Event> ev;
  for (int i = 0; i < 12; ++i) {
    Event e;
    e.time_us = At(2019, 1, 1 + i);
    e.user = "alice@pve";
    e.action = "login";
    e.detail = std::string("GET /\xff\xfe\x80 ") + std::to_string(i);
    e.origin = "/var/log/\xc3";
    ev.push_back(e);
  }
  std::vector<Event> copy = ev;
  ASSERT_TRUE((*s)->Append(&copy, {}, nullptr).ok());
  RetentionRunOptions o;
  o.write.archive_dir = (d / "archive").string();
  o.write.now_us = now_;
  o.user = "root@pam";
  RetentionPolicy p;
  p.online_months = 13;
  p.archive_dir = o.write.archive_dir;
  auto run = RunRetention(**s, key_.get(), p, {}, o);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_FALSE(run->archived.empty());
  const std::string adir = o.write.archive_dir + "/" + run->archived[0].name;
  EXPECT_TRUE(CheckArchiveDir(adir, key_->public_pem(), true).ok);
  std::vector<Event> back;
  ASSERT_TRUE(ReadArchiveEvents(adir, [&](Event& e) {
                back.push_back(e);
                return true;
              }).ok());
  ASSERT_FALSE(back.empty());
  EXPECT_EQ(back[0].detail, ev[0].detail);
  EXPECT_EQ(back[0].origin, ev[0].origin);
  s->reset();
  fs::remove_all(d);
}

TEST_F(ArchiveTest, LegalHoldsAreAuditedAndBadValuesChangeNothing) {
  Actor actor{"root@pam", "", ""};
  HoldOptions o;
  o.reason = "case 2026-114";
  o.start = "2019-03-01";
  o.end = "2019-03-31";
  auto h = AddHold(*store_, actor, "pve1", o, now_);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->id, 1u);
  EXPECT_EQ(h->start_us, At(2019, 3, 1, 0));
  EXPECT_EQ(h->end_us, At(2019, 4, 1, 0));  // a date end includes that day
  EXPECT_TRUE(h->Covers(At(2019, 2, 20), At(2019, 3, 2), now_));
  EXPECT_FALSE(h->Covers(At(2019, 4, 1, 0), At(2019, 4, 20), now_));
  for (auto bad : std::vector<std::pair<HoldOptions, std::string>>{
           {{"", "", "", ""}, "--reason"},
           {{"two\nlines", "", "", ""}, "--reason"},
           {{"r", "2019-13-01", "", ""}, "--start"},
           {{"r", "2019-03-01", "2019-02-01", ""}, "--end"},
           {{"r", "", "", "2026-12-01"}, "--until"},
           {{"r", "", "", "31/12/2027"}, "--until"},
           {{"r", "18:00", "", ""}, "--start"}}) {
    auto r = AddHold(*store_, actor, "pve1", bad.first, now_);
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << bad.second;
    EXPECT_NE(r.status().message().find(bad.second), std::string::npos) << r.status().message();
  }
  auto list = LoadHolds(*store_);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
  EXPECT_EQ(RemoveHold(*store_, actor, "pve1", "7").status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(RemoveHold(*store_, actor, "pve1", "x").status().code(),
            Status::Code::kInvalidArgument);
  ASSERT_TRUE(RemoveHold(*store_, actor, "pve1", "1").ok());
  EXPECT_TRUE(LoadHolds(*store_)->empty());
  Filter f;
  f.action = "pveaudit:hold-add";
  EXPECT_EQ(FindEvents(*store_, f, 0)->size(), 1u);
  f.action = "pveaudit:hold-remove";
  EXPECT_EQ(FindEvents(*store_, f, 0)->size(), 1u);
  // An expired hold keeps nothing.
  LegalHold expired;
  expired.until_end_us = now_ - 1;
  EXPECT_FALSE(expired.Covers(0, INT64_MAX, now_));
}

CheckOutcome Check(EventStore& store, const std::string& requirement, const RetentionPolicy* p,
                   int64_t now) {
  ComplianceInput in;
  in.store = &store;
  in.retention = p;
  in.now_us = now;
  auto outcomes = RunComplianceChecks(requirement.substr(0, requirement.find(':')), in);
  EXPECT_TRUE(outcomes.ok());
  for (const CheckOutcome& o : *outcomes)
    if (o.requirement == requirement) return o;
  ADD_FAILURE() << requirement;
  return {};
}
std::string Evidence(const CheckOutcome& o) {
  std::string s;
  for (const std::string& e : o.evidence) s += e + "\n";
  return s;
}

TEST_F(ArchiveTest, RetentionRequirementsPassOnlyWhenThePolicyAndTheDataBearThemOut) {
  // No policy: nothing is purged, but nothing says it must be kept.
  CheckOutcome none = Check(*store_, "sox:retention", nullptr, now_);
  EXPECT_EQ(none.result, CheckResult::kWarn) << Evidence(none);
  // Seven years kept, 13 months online, everything held: pass.
  RetentionPolicy seven = Policy("13 months", "7 years");
  ASSERT_TRUE(Run(seven).ok());
  for (const char* r : {"sox:retention", "hipaa:retention", "pci-dss:retention"}) {
    CheckOutcome o = Check(*store_, r, &seven, now_);
    EXPECT_EQ(o.result, CheckResult::kPass) << r << "\n" << Evidence(o);
    EXPECT_NE(Evidence(o).find("policy: online 13 months"), std::string::npos) << Evidence(o);
    EXPECT_NE(Evidence(o).find("archives kept"), std::string::npos) << Evidence(o);
  }
  // A policy that purges too early fails, naming the setting.
  RetentionPolicy short_policy = Policy("13 months", "2 years");
  CheckOutcome o = Check(*store_, "sox:retention", &short_policy, now_);
  EXPECT_EQ(o.result, CheckResult::kFail);
  EXPECT_EQ(o.subjects.front(), "[retention] archive");
  EXPECT_NE(Evidence(o).find("purged after 2 years, less than 7 years"), std::string::npos)
      << Evidence(o);
  // ... and once it has run, the purged archives inside the period too.
  ASSERT_TRUE(Run(short_policy).ok());
  o = Check(*store_, "hipaa:retention", &seven, now_);
  EXPECT_EQ(o.result, CheckResult::kFail) << Evidence(o);
  EXPECT_NE(Evidence(o).find(" was purged on "), std::string::npos) << Evidence(o);
  EXPECT_NE(Evidence(o).find("inside the 6 years"), std::string::npos) << Evidence(o);
  // PCI DSS's two years are still held; three months online are required.
  RetentionPolicy pci = Policy("13 months", "2 years");
  EXPECT_EQ(Check(*store_, "pci-dss:retention", &pci, now_).result, CheckResult::kPass);
  RetentionPolicy one_online;
  one_online.online_months = 1;
  one_online.archive_months = 24;
  o = Check(*store_, "pci-dss:retention", &one_online, now_);
  EXPECT_EQ(o.result, CheckResult::kFail);
  EXPECT_EQ(o.subjects.front(), "[retention] online");
}

TEST(RetentionCheckTest, AMonthWithoutAnyEventIsAGapInIngest) {
  SetClusterTimeZone("UTC");
  fs::path d = TempDir("gap");
  auto s = OpenSqliteStore(d.string(), StoreOptions{});
  ASSERT_TRUE(s.ok());
  std::vector<Event> ev;
  for (int m : {1, 2, 5, 6}) {  // nothing in March and April
    Event e;
    e.time_us = At(2026, m, 10);
    e.user = "alice@pve";
    e.action = "login";
    ev.push_back(e);
  }
  ASSERT_TRUE((*s)->Append(&ev, {}, nullptr).ok());
  RetentionPolicy p;
  p.online_months = 13;
  p.archive_months = 84;
  CheckOutcome o = Check(**s, "sox:retention", &p, At(2026, 6, 20));
  EXPECT_EQ(o.result, CheckResult::kFail);
  EXPECT_EQ(o.subjects, std::vector<std::string>{"ingest"});
  EXPECT_NE(Evidence(o).find("2 month(s) without any event held: 2026-03, 2026-04"),
            std::string::npos)
      << Evidence(o);
  s->reset();
  fs::remove_all(d);
}

TEST(ArchiveLineTest, TheHandReaderAgreesWithNlohmannOnEveryLine) {
  std::mt19937 rng(3);
  const std::string alphabet[] = {"a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\x01",
                                  "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x94\x92",
                                  "\xff", "\xc3", "{", "}", ",", ":"};
  auto text = [&] {
    std::string t;
    for (size_t n = rng() % 12; n; --n) t += alphabet[rng() % std::size(alphabet)];
    return t;
  };
  for (int i = 0; i < 2000; ++i) {
    Event e;
    e.id = rng() % 3 ? rng() : UINT64_MAX - rng() % 5;
    e.time_us = int64_t(rng()) * (rng() % 2 ? 1 : -1) * 1000000;
    e.result = Outcome(rng() % 3);
    e.origin_line = rng() % 4 ? 0 : rng();
    for (std::string* f : {&e.node, &e.user, &e.ip, &e.action, &e.resource, &e.status, &e.source,
                           &e.session, &e.detail, &e.origin})
      *f = text();
    Hash256 h{};
    for (auto& b : h) b = static_cast<unsigned char>(rng());
    std::string line;
    EncodeArchiveLine(e, h, &line);
    ASSERT_EQ(line.back(), '\n');
    line.pop_back();
    uint32_t fast_h = 0, json_h = 0;
    auto fast = DecodeArchiveLine(line, &fast_h, true);
    auto json = DecodeArchiveLine(line, &json_h, false);
    ASSERT_TRUE(fast.ok()) << fast.status().ToString() << "\n" << line;
    ASSERT_TRUE(json.ok()) << json.status().ToString() << "\n" << line;
    EXPECT_TRUE(*fast == e) << line;
    EXPECT_TRUE(*json == e) << line;
    EXPECT_EQ(fast_h, HashPrefix32(h));
    EXPECT_EQ(json_h, fast_h);
    // The same line reformatted (spaces, other key order) is read by
    // nlohmann and gives the same event; so is a truncated one refused by both.
    std::string spaced = line;
    for (const char* key : {"{\"id\":", ",\"h\":", ",\"result\":", ",\"user\":"}) {
      size_t k = spaced.find(key);  // the keys come before the values that follow them
      ASSERT_NE(k, std::string::npos) << key;
      spaced.insert(k + std::strlen(key), " ");
    }
    auto again = DecodeArchiveLine(spaced, &fast_h, true);
    ASSERT_TRUE(again.ok()) << spaced;
    EXPECT_TRUE(*again == e);
    std::string cut = line.substr(0, line.size() - 1 - rng() % 5);
    EXPECT_FALSE(DecodeArchiveLine(cut, &fast_h, true).ok()) << cut;
    EXPECT_FALSE(DecodeArchiveLine(cut, &json_h, false).ok()) << cut;
  }
}

}  // namespace
}  // namespace pveaudit

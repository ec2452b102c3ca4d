// pveam access archive run|list|verify, pveam access hold, and what the
// rest of pveam makes of archives (verify, log --include-archives): years
// of generated events under a retention policy, tampering, and SIGKILL in
// the middle of archiving.
#include "e2e_util.h"

namespace e2e {
namespace {

namespace fs = std::filesystem;

class RetentionTest : public E2eTest {
 protected:
  void Policy(const std::string& online, const std::string& archive) {
    WriteFile(config_, "timezone = \"UTC\"\n[retention]\nonline = \"" + online +
                           "\"\narchive = \"" + archive + "\"\n");
  }
  std::string ArchiveDir() const { return data_dir_ + "/archive"; }
  nlohmann::json Archives() {
    RunResult r = Pveam({"access", "archive", "list", "--output-format", "json"});
    EXPECT_EQ(r.code, 0) << r;
    return Json(r);
  }
  // Events online plus events in archives (kept or purged): every id once.
  uint64_t Accounted() {
    RunResult v = Pveam({"access", "verify", "--output-format", "json"});
    EXPECT_EQ(v.code, 0) << v;
    auto j = Json(v);
    if (!j.is_array() || j.empty()) return 0;
    return j[0]["events"].get<uint64_t>() + j[0].value("archived_events", uint64_t(0));
  }
  uint64_t AuditEvents() {
    RunResult r = Pveam({"access", "log", "--action", "audit", "--output-format", "json"});
    EXPECT_EQ(r.code, 0) << r;
    uint64_t n = 0;
    for (const auto& e : Json(r))
      n += e["action"] == "audit:archive" || e["action"] == "audit:purge";
    return n;
  }
};

TEST_F(RetentionTest, EightYearsUnderASevenYearPolicyArchivedPurgedHeldAndVerifiedElsewhere) {
  const std::string events = work_ + "/events.json";
  const size_t n =
      WriteYearsOfEvents(events, 8.2, 150);  // ~4,500 a month: about one block per month
  Policy("13 months", "7 years");
  RunResult r = Pveam({"access", "import", "--format", "json", events});
  ASSERT_EQ(r.code, 0) << r;
  RunResult before_log = Pveam({"access", "log", "--start", "2000-01-01", "--failed", "1",
                                "--count", "1", "--output-format", "json"});
  ASSERT_EQ(before_log.code, 0) << before_log;

  // A legal hold on a month that is past seven years.
  const time_t now = time(nullptr);
  const time_t held = now - time_t(7.5 * 365.25 * 86400);
  struct tm tm;
  gmtime_r(&held, &tm);
  char month[16], first[32], last[32];
  std::strftime(month, sizeof month, "%Y-%m", &tm);
  std::snprintf(first, sizeof first, "%s-10", month);
  std::snprintf(last, sizeof last, "%s-12", month);
  r = Pveam({"access", "hold", "add", "--reason", "case 2026-114", "--start", first, "--end", last,
             "--user", "counsel@pve"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "legal hold 1 added")) << r;

  r = Pveam({"access", "archive", "run", "--dry-run"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "would be written")) << r;
  EXPECT_FALSE(fs::exists(ArchiveDir()));

  r = Pveam({"access", "archive", "run", "--user", "admin@pve"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "policy: online 13 months")) << r;
  EXPECT_TRUE(Contains(r.out, "is past retention but kept by legal hold 1")) << r;
  auto list = Archives();
  size_t kept = 0, purged = 0, held_n = 0;
  for (const auto& a : list) {
    std::string state = a["state"];
    kept += state == "kept";
    purged += state.rfind("purged", 0) == 0;
    held_n += state == "held (1)";
    if (state == "held (1)") {
      EXPECT_TRUE(Contains(a["period"].get<std::string>(), month) ||
                  Contains(a["first_time"].get<std::string>(), month))
          << a;
    }
  }
  EXPECT_GT(kept, 70u);  // about 7 years less 13 months
  EXPECT_GE(purged, 10u);
  EXPECT_GE(held_n, 1u);
  // Every id accounted for once: online or archived (+1: the hold's event).
  EXPECT_EQ(Accounted(), n + AuditEvents() + 1);
  RunResult v = Pveam({"access", "verify"});
  EXPECT_EQ(v.code, 0) << v;
  EXPECT_TRUE(Contains(v.out, "archive(s): each is in place")) << v;

  // On another machine, with no store: the archive dir checks out against
  // the key the auditor kept.
  RunResult key = Pveam({"access", "key", "--pem"});
  ASSERT_EQ(key.code, 0);
  const std::string key_file = work_ + "/pve1-key.pem";
  WriteFile(key_file, key.out);
  const std::string copy = root_ + "/auditor/archive";
  fs::create_directories(copy);
  fs::copy(ArchiveDir(), copy, fs::copy_options::recursive);
  std::vector<std::string> elsewhere = {"PVEAUDIT_DATA_DIR=" + root_ + "/auditor/data"};
  RunResult a = RunProgram(
      kPveam, {"pveam", "access", "archive", "verify", copy, "--key", key_file}, elsewhere);
  EXPECT_EQ(a.code, 0) << a;
  EXPECT_TRUE(Contains(a.out, "checked against the trusted key")) << a;
  EXPECT_FALSE(fs::exists(root_ + "/auditor/data"));

  // Queries read archived months on request, and then see what they saw
  // before archiving, less what was purged.
  RunResult online =
      Pveam({"access", "log", "--start", first, "--end", last, "--output-format", "json"});
  EXPECT_EQ(online.code, 0) << online;
  EXPECT_TRUE(Json(online).empty()) << online;
  RunResult with = Pveam({"access", "log", "--start", first, "--end", last, "--include-archives",
                          "--output-format", "json"});
  ASSERT_EQ(with.code, 0) << with;
  EXPECT_GT(Json(with).size(), 300u);  // three held days of 150 events
  RunResult all = Pveam({"access", "log", "--include-archives", "--output-format", "json",
                         "--action", "login", "--failed", "1", "--start", "this-year"});
  EXPECT_EQ(all.code, 0) << all;

  // Tampering, each found by verify and by archive verify, then undone.
  auto kept_dirs = std::vector<std::string>();
  for (const auto& x : list)
    if (x["state"] == "kept")
      kept_dirs.push_back(ArchiveDir() + "/" + x["name"].get<std::string>());
  ASSERT_GE(kept_dirs.size(), 3u);
  const std::string victim = kept_dirs[kept_dirs.size() / 2];
  {
    const std::string f = victim + "/events.jsonl.zst";
    std::string orig = ReadFile(f), edited = orig;
    edited[edited.size() / 2] ^= 0x01;
    WriteFile(f, edited);
    RunResult vv = Pveam({"access", "verify"});
    EXPECT_EQ(vv.code, 1) << vv;
    EXPECT_TRUE(Contains(vv.out, fs::path(victim).filename().string())) << vv;
    RunResult av = Pveam({"access", "archive", "verify", victim, "--key", key_file});
    EXPECT_EQ(av.code, 1) << av;
    EXPECT_TRUE(Contains(av.out, "BROKEN")) << av;
    WriteFile(f, orig);
  }
  {
    const std::string away = work_ + "/away";
    fs::rename(victim, away);
    RunResult vv = Pveam({"access", "verify"});
    EXPECT_EQ(vv.code, 1) << vv;
    EXPECT_TRUE(Contains(vv.out, "is missing from")) << vv;
    RunResult av = Pveam({"access", "archive", "verify", ArchiveDir()});
    EXPECT_EQ(av.code, 1) << av;
    EXPECT_TRUE(Contains(av.out, "is missing (removed?)")) << av;
    fs::rename(away, victim);
  }
  {
    const std::string other = kept_dirs[kept_dirs.size() / 2 + 1];
    std::string m = ReadFile(victim + "/manifest.json"), s = ReadFile(victim + "/manifest.sig");
    WriteFile(victim + "/manifest.json", ReadFile(other + "/manifest.json"));
    WriteFile(victim + "/manifest.sig", ReadFile(other + "/manifest.sig"));
    RunResult vv = Pveam({"access", "verify"});
    EXPECT_EQ(vv.code, 1) << vv;
    EXPECT_TRUE(Contains(vv.out, "not the one recorded")) << vv;
    RunResult av = Pveam({"access", "archive", "verify", ArchiveDir()});
    EXPECT_EQ(av.code, 1) << av;
    WriteFile(victim + "/manifest.json", m);
    WriteFile(victim + "/manifest.sig", s);
  }
  EXPECT_EQ(Pveam({"access", "verify"}).code, 0);

  // The hold lifted, its month goes at the next run; both are audit events.
  r = Pveam({"access", "hold", "remove", "1"});
  ASSERT_EQ(r.code, 0) << r;
  r = Pveam({"access", "archive", "run"});
  ASSERT_EQ(r.code, 0) << r;
  for (const auto& x : Archives()) EXPECT_NE(x["state"], "held (1)") << x;
  RunResult hold_ev = Pveam({"access", "log", "--action", "pveaudit", "--output-format", "json"});
  ASSERT_EQ(hold_ev.code, 0) << hold_ev;
  std::set<std::string> actions;
  for (const auto& e : Json(hold_ev)) actions.insert(e["action"].get<std::string>());
  EXPECT_TRUE(actions.count("pveaudit:hold-add") && actions.count("pveaudit:hold-remove"));
  EXPECT_EQ(Accounted(), n + AuditEvents() + 2);  // + the two hold events
}

TEST_F(RetentionTest, BadArgumentsAndPoliciesAreNamedAndChangeNothing) {
  WriteFile(config_, "[retention]\nonline = \"13 weeks\"\n");
  RunResult r = Pveam({"access", "archive", "run"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "13 weeks")) << r;
  WriteFile(config_, "[retention]\nonline = \"2 years\"\narchive = \"1 year\"\n");
  r = Pveam({"access", "archive", "run"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "longer than archive")) << r;
  WriteFile(config_, "[compliance]\nstandards = [\"hipaa\", \"gdpr\"]\n");
  r = Pveam({"access", "archive", "list"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "'gdpr'")) << r;
  WriteFile(config_, "[compliance]\nstandards = [\"hipaa\"]\n");
  r = Pveam({"access", "hold", "add", "--reason", "x", "--until", "2001-01-01"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "--until")) << r;
  r = Pveam({"access", "hold", "remove", "9"});
  EXPECT_EQ(r.code, 2) << r;
  r = Pveam({"access", "archive", "verify", work_});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, "holds no archive")) << r;
  r = Pveam({"access", "hold", "list"});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "no legal hold")) << r;
  // Nothing configured to archive: said, and nothing done.
  WriteFile(config_, "# no policy\n");
  ASSERT_EQ(Pveam({"access", "import", "--format", "json", Fixture("events.jsonl")}).code, 0);
  r = Pveam({"access", "archive", "run"});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "no retention policy")) << r;
  EXPECT_FALSE(fs::exists(ArchiveDir()));
}

// SIGKILL at random moments of archiving and purging: after each kill the
// store verifies, every recorded archive is in place, and every event is
// online or archived exactly once; the runs after it finish the work.
TEST_F(RetentionTest, SigkillAtLeast20TimesDuringArchivingLosesAndDoublesNothing) {
  const std::string events = work_ + "/events.json";
  const size_t n = WriteYearsOfEvents(events, 3.4, 150);
  Policy("13 months", "2 years");
  ASSERT_EQ(Pveam({"access", "import", "--format", "json", events}).code, 0);
  std::mt19937 rng(std::random_device{}());
  // Short lives (50-300 ms, of which ~50 ms start-up), 22 of them unless a
  // run finishes the work first: each gets an archive or purge or two
  // done, or is killed in the middle of one. What each kill left: the
  // archives recorded and purged. A last run then finishes the work.
  // (fs::copy of a directory copies its permissions: the data dir stays 0700.)
  std::vector<std::pair<size_t, size_t>> after_kill;
  auto state = [&] {
    size_t recorded = 0, purged = 0;
    for (const auto& a : Archives()) {
      ++recorded;
      purged += a["state"].get<std::string>().rfind("purged", 0) == 0;
    }
    return std::make_pair(recorded, purged);
  };
  // A copy of the store before any archiving: should a run finish the work
  // before 20 kills (a fast machine), the work is restored and the runs
  // get shorter lives.
  const std::string snapshot = root_ + "/snapshot";
  fs::copy(data_dir_, snapshot, fs::copy_options::recursive);
  useconds_t span = 250000;
  int kills = 0;
  bool done = false;
  while (!done && kills < 22) {
    pid_t pid = SpawnQuiet(kPveam, {"pveam", "access", "archive", "run"}, Env());
    ASSERT_GT(pid, 0);
    usleep(useconds_t(span / 5 + rng() % span));
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
      if (kills >= 20) {
        done = true;  // this run finished the work
        break;
      }
      fs::remove_all(data_dir_);
      fs::copy(snapshot, data_dir_, fs::copy_options::recursive);
      after_kill.clear();
      kills = 0;
      span /= 2;
      ASSERT_GT(span, 5000u) << "archiving is done before a run can be killed";
      continue;
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ++kills;
    ASSERT_EQ(Accounted(), n + AuditEvents()) << "after kill " << kills;
    after_kill.push_back(state());
  }
  RunResult r = Pveam({"access", "archive", "run"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(Accounted(), n + AuditEvents());
  RunResult av = Pveam({"access", "archive", "verify", ArchiveDir()});
  EXPECT_EQ(av.code, 0) << av;
  // No leftovers: each directory is a recorded archive.
  std::set<std::string> names;
  for (const auto& a : Archives()) names.insert(a["name"].get<std::string>());
  for (const auto& d : fs::directory_iterator(ArchiveDir())) {
    std::string name = d.path().filename().string();
    EXPECT_TRUE(names.count(name) || Contains(name, ".damaged-")) << name;
  }
  EXPECT_GE(names.size(), 24u);  // about 28 months past the online period
  // At least 20 kills fell while work was left to do.
  const auto final_state = state();
  int mid_work = 0;
  for (const auto& s : after_kill) mid_work += s != final_state;
  EXPECT_GE(mid_work, 20) << "archiving finished too soon: give it more events";
  std::printf("%d kills, %d in the middle of the work\n", kills, mid_work);
}

}  // namespace
}  // namespace e2e

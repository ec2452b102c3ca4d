// Tests of JournalSource against real journal files (written by
// systemd-journal-remote from the journal export format) and a real SQLite
// store.
#include "pipeline/journal_source.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/filter.h"

namespace pveaudit {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBoot = "0123456789abcdef0123456789abcdef";
constexpr uint64_t kT0 = 1736336548000000;  // 2025-01-08T11:42:28Z

std::string JournalRemote() {
  for (const char* p :
       {"/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"})
    if (access(p, X_OK) == 0) return p;
  return "";
}

struct Entry {
  uint64_t realtime_us;
  std::string ident;  // SYSLOG_IDENTIFIER; "" = none
  std::string message;
  std::string host = "pve1";
  bool has_message = true;
};

class JournalSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    remote_ = JournalRemote();
    ASSERT_FALSE(remote_.empty())
        << "systemd-journal-remote is not installed (/lib/systemd/systemd-journal-remote); "
           "these tests write real journal files with it: run scripts/install-deps (Debian "
           "package systemd-journal-remote)";
    char tmpl[] = "/tmp/pveaudit-journal-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    jdir_ = root_ + "/journal";
    store_dir_ = root_ + "/store";
    fs::create_directories(jdir_);
    auto s = OpenSqliteStore(store_dir_, StoreOptions{});
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s.value());
  }
  void TearDown() override {
    store_.reset();
    if (!root_.empty()) fs::remove_all(root_);
  }

  // Writes `entries` as journal file DIR/name.journal.
  void Write(const std::string& name, const std::vector<Entry>& entries) {
    std::string text;
    for (const Entry& e : entries) {
      text += "__REALTIME_TIMESTAMP=" + std::to_string(e.realtime_us) + "\n";
      text += "__MONOTONIC_TIMESTAMP=" + std::to_string(++monotonic_ * 1000) + "\n";
      text += std::string("_BOOT_ID=") + kBoot + "\n";
      text += "_HOSTNAME=" + e.host + "\n";
      text += "_PID=" + std::to_string(4000 + monotonic_) + "\n";
      if (!e.ident.empty()) text += "SYSLOG_IDENTIFIER=" + e.ident + "\n";
      if (e.has_message) {
        if (e.message.find('\n') == std::string::npos) {
          text += "MESSAGE=" + e.message + "\n";
        } else {  // binary field: name, LF, little-endian 64-bit size, data, LF
          text += "MESSAGE\n";
          uint64_t n = e.message.size();
          for (int i = 0; i < 8; ++i) text.push_back(char((n >> (8 * i)) & 0xff));
          text += e.message + "\n";
        }
      }
      text += "\n";
    }
    std::string export_file = root_ + "/" + name + ".export";
    std::ofstream(export_file, std::ios::binary) << text;
    std::string cmd = remote_ + " --output=" + jdir_ + "/" + name + ".journal - < " + export_file +
                      " 2>" + root_ + "/remote.err";
    int rc = std::system(cmd.c_str());
    ASSERT_EQ(rc, 0) << cmd;
  }

  std::vector<Event> Events() {
    std::vector<Event> out;
    Status s = store_->Scan(Filter{}, kFieldAll, [&](const Event& e) {
      out.push_back(e);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.message();
    return out;
  }
  std::vector<std::string> Users() {
    std::vector<std::string> out;
    for (const Event& e : Events()) out.push_back(e.user + " " + e.action);
    return out;
  }

  static Entry Ok(uint64_t t, const std::string& user) {
    return {t, "pvedaemon", "<root@pam> successful auth for user '" + user + "'"};
  }
  static Entry Fail(uint64_t t, const std::string& user, const std::string& ip) {
    return {t, "pvedaemon",
            "authentication failure; rhost=" + ip + " user=" + user + " msg=invalid credentials"};
  }

  std::string remote_, root_, jdir_, store_dir_;
  uint64_t monotonic_ = 0;
  std::unique_ptr<EventStore> store_;
};

constexpr uint64_t kMin = 60ull * 1000000;

std::string UserN(int i) {
  std::string u = "u";
  u += std::to_string(i);
  u += "@pve";
  return u;
}

TEST_F(JournalSourceTest, LoginsBecomeEventsAndOtherEntriesAreIgnored) {
  Write("a", {
                 Ok(kT0 + 123456, "alice@pve"),
                 {kT0 + 1 * kMin, "sshd", "Accepted publickey for root from 192.0.2.1"},
                 {kT0 + 2 * kMin, "pvedaemon", "starting 3 worker(s)"},
                 {kT0 + 3 * kMin, "",
                  "authentication failure; rhost=192.0.2.99 user=x@pam msg=no ident"},
                 Fail(kT0 + 4 * kMin, "root@pam", "::ffff:192.0.2.7"),
                 {kT0 + 5 * kMin, "pveproxy",
                  "authentication failure: 401 permission denied - invalid PVE ticket"},
                 {kT0 + 6 * kMin, "logger", "<root@pam> successful auth for user 'mallory@pve'"},
             });
  JournalSource src(jdir_, "");
  ASSERT_TRUE(src.Poll(*store_).ok()) << src.state().error;
  std::vector<Event> ev = Events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].user, "alice@pve");
  EXPECT_EQ(ev[0].action, "login");
  EXPECT_EQ(ev[0].result, Outcome::kSuccess);
  EXPECT_EQ(ev[0].time_us, int64_t(kT0 + 123456));
  EXPECT_EQ(ev[0].node, "pve1");
  EXPECT_EQ(ev[0].origin, "journal");
  EXPECT_EQ(ev[0].resource, "/access/users/alice@pve");
  EXPECT_EQ(ev[1].user, "root@pam");
  EXPECT_EQ(ev[1].ip, "192.0.2.7");
  EXPECT_EQ(ev[1].action, "login");
  EXPECT_EQ(ev[1].result, Outcome::kFailure);
  EXPECT_EQ(ev[1].detail, "invalid credentials");
  EXPECT_EQ(ev[1].time_us, int64_t(kT0 + 4 * kMin));
  EXPECT_EQ(ev[2].action, "access:ticket");
  EXPECT_EQ(ev[2].result, Outcome::kFailure);
  const FileSourceState& st = src.state();
  EXPECT_EQ(st.name, "journal");
  EXPECT_EQ(st.format, "auth");
  EXPECT_EQ(st.path, jdir_);
  EXPECT_TRUE(st.ok);
  EXPECT_EQ(st.events, 3u);
  EXPECT_EQ(st.rejected, 0u);
  EXPECT_EQ(st.offset, 4u);  // the matched pvedaemon/pveproxy entries
  EXPECT_EQ(st.size, st.offset);
  EXPECT_EQ(st.last_event_us, int64_t(kT0 + 5 * kMin));
  auto info = store_->Info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->rejected_lines, 0u);
  // An idle poll stores nothing.
  ASSERT_TRUE(src.Poll(*store_).ok());
  EXPECT_EQ(Events().size(), 3u);
}

TEST_F(JournalSourceTest, NodeOverridesHostnameAndDomainIsDropped) {
  Write("a",
        {{kT0, "pvedaemon", "<root@pam> successful auth for user 'a@pve'", "pve7.example.com"}});
  {
    JournalSource src(jdir_, "");
    ASSERT_TRUE(src.Poll(*store_).ok());
  }
  ASSERT_EQ(Events().size(), 1u);
  EXPECT_EQ(Events()[0].node, "pve7");
  fs::remove_all(store_dir_);
  store_ = std::move(OpenSqliteStore(store_dir_, StoreOptions{}).value());
  JournalSource src(jdir_, "nodeX");
  ASSERT_TRUE(src.Poll(*store_).ok());
  ASSERT_EQ(Events().size(), 1u);
  EXPECT_EQ(Events()[0].node, "nodeX");
}

TEST_F(JournalSourceTest, SecondPollStoresOnlyNewEntriesAndRestartResumes) {
  Write("a", {Ok(kT0, "a1@pve"), Fail(kT0 + kMin, "a2@pve", "192.0.2.1")});
  JournalSource src(jdir_, "");
  ASSERT_TRUE(src.Poll(*store_).ok()) << src.state().error;
  EXPECT_EQ(Events().size(), 2u);
  Write("b", {Ok(kT0 + 2 * kMin, "b1@pve"), Fail(kT0 + 3 * kMin, "b2@pve", "192.0.2.2")});
  ASSERT_TRUE(src.Poll(*store_).ok()) << src.state().error;
  EXPECT_EQ(Users(), (std::vector<std::string>{"a1@pve login", "a2@pve login", "b1@pve login",
                                               "b2@pve login"}));
  EXPECT_EQ(src.state().events, 4u);

  // Restart: a new source resumes from the committed cursor.
  Write("c", {Fail(kT0 + 4 * kMin, "c1@pve", "192.0.2.3")});
  {
    JournalSource again(jdir_, "");
    ASSERT_TRUE(again.Poll(*store_).ok()) << again.state().error;
    EXPECT_EQ(again.state().events, 1u);
    EXPECT_EQ(again.state().offset, 5u);
  }
  {
    JournalSource idle(jdir_, "");
    ASSERT_TRUE(idle.Poll(*store_).ok());
    EXPECT_EQ(idle.state().events, 0u);
  }
  EXPECT_EQ(Events().size(), 5u);
  auto c = store_->GetCursor(src.cursor_key());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->key, "journal:" + fs::weakly_canonical(jdir_).string());
  EXPECT_EQ((*c)->line, 5u);
  EXPECT_EQ((*c)->offset, kT0 + 4 * kMin);
  EXPECT_EQ((*c)->state.substr(0, 2), "s=");  // the sd-journal cursor first
}

TEST_F(JournalSourceTest, LoginTrackerStateSurvivesRestart) {
  Write("a", {Ok(kT0, "alice@pve")});
  {
    JournalSource src(jdir_, "");
    ASSERT_TRUE(src.Poll(*store_).ok());
  }
  // 15 minutes later: the GUI's ticket renewal, read by a restarted source.
  Write("b", {Ok(kT0 + 15 * kMin, "alice@pve"), Ok(kT0 + 60 * kMin, "alice@pve")});
  JournalSource src(jdir_, "");
  ASSERT_TRUE(src.Poll(*store_).ok());
  EXPECT_EQ(Users(), (std::vector<std::string>{"alice@pve login", "alice@pve session:renew",
                                               "alice@pve login"}));
}

TEST_F(JournalSourceTest, FailedAppendLosesAndDuplicatesNothing) {
  std::vector<Entry> entries;
  for (int i = 0; i < 7; ++i) entries.push_back(Fail(kT0 + i * kMin, UserN(i), "192.0.2.1"));
  Write("a", entries);
  JournalSourceOptions o;
  o.batch_entries = 2;
  o.max_entries_per_poll = 2;
  JournalSource src(jdir_, "", o);
  ASSERT_TRUE(src.Poll(*store_).ok());  // u0, u1
  EXPECT_EQ(Events().size(), 2u);

  // The store cannot be written (a read-only handle on the same store).
  StoreOptions read_only;
  read_only.read_only = true;
  auto ro = OpenSqliteStore(store_dir_, read_only);
  ASSERT_TRUE(ro.ok()) << ro.status().message();
  Status st = src.Poll(**ro);
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(src.state().ok);
  EXPECT_EQ(src.state().offset, 2u);
  EXPECT_EQ(src.state().size, 4u);  // two entries read, not committed
  EXPECT_FALSE(src.Poll(**ro).ok());

  // Writable again: continues at u2 (not u4), and a restart in between
  // resumes from the same committed cursor.
  ASSERT_TRUE(src.Poll(*store_).ok()) << src.state().error;  // u2, u3
  EXPECT_TRUE(src.state().ok);
  EXPECT_FALSE(src.Poll(**ro).ok());  // reads u4, u5; fails
  JournalSource restarted(jdir_, "", o);
  while (Events().size() < 7) {
    size_t before = Events().size();
    ASSERT_TRUE(restarted.Poll(*store_).ok()) << restarted.state().error;
    ASSERT_GT(Events().size(), before);
  }
  ASSERT_TRUE(src.Poll(*store_).ok());  // the old instance re-seeks; nothing new
  std::vector<std::string> want;
  for (int i = 0; i < 7; ++i) want.push_back("u" + std::to_string(i) + "@pve login");
  EXPECT_EQ(Users(), want);
}

TEST_F(JournalSourceTest, MalformedEntriesAreRejectedNotDropped) {
  Write("a", {
                 {kT0, "pvedaemon", "authentication failure; user=x@pam msg=no rhost"},
                 {kT0 + kMin, "pvedaemon", "successful auth for user alice@pve"},
                 {kT0 + 2 * kMin, "pvedaemon", "", "pve1", false},
                 {kT0 + 3 * kMin, "pvedaemon",
                  "authentication failure; rhost=192.0.2.5 user=bob@pve msg=bad\nsecond line"},
                 Ok(kT0 + 4 * kMin, "ok@pve"),
             });
  JournalSource src(jdir_, "");
  ASSERT_TRUE(src.Poll(*store_).ok()) << src.state().error;
  EXPECT_EQ(src.state().rejected, 3u);
  auto rej = store_->ListRejected(0);
  ASSERT_TRUE(rej.ok());
  ASSERT_EQ(rej->size(), 3u);
  for (const RejectedLine& r : *rej) EXPECT_EQ(r.origin, "journal");
  EXPECT_EQ((*rej)[0].reason, "authentication failure line without rhost=");
  EXPECT_EQ((*rej)[0].line, 1u);
  EXPECT_EQ((*rej)[0].text,
            "2025-01-08T11:42:28.000000Z pve1 pvedaemon[4001]: authentication failure; "
            "user=x@pam msg=no rhost");
  EXPECT_NE((*rej)[1].reason.find("missing quoted user"), std::string::npos);
  EXPECT_EQ((*rej)[2].reason, "journal entry without MESSAGE");
  // The multi-line message is one line; its event keeps both parts.
  EXPECT_EQ(Users(), (std::vector<std::string>{"bob@pve login", "ok@pve login"}));
  EXPECT_EQ(Events()[0].detail, "bad second line");
}

TEST_F(JournalSourceTest, VacuumedCursorEntryResumesAfterItsTime) {
  Write("a", {Ok(kT0, "a1@pve"), Ok(kT0 + 30 * kMin, "a2@pve")});
  {
    JournalSource src(jdir_, "");
    ASSERT_TRUE(src.Poll(*store_).ok());
  }
  // The file holding the cursor's entry is vacuumed; what is left holds an
  // entry older than the cursor (stored before) and newer ones.
  fs::remove(jdir_ + "/a.journal");
  Write("b", {Ok(kT0 + 10 * kMin, "old@pve"), Ok(kT0 + 40 * kMin, "b1@pve"),
              Ok(kT0 + 80 * kMin, "b2@pve")});
  JournalSource src(jdir_, "");
  ASSERT_TRUE(src.Poll(*store_).ok()) << src.state().error;
  EXPECT_NE(src.state().error.find("no longer in the journal"), std::string::npos);
  EXPECT_EQ(Users(), (std::vector<std::string>{"a1@pve login", "a2@pve login", "b1@pve login",
                                               "b2@pve login"}));
}

TEST_F(JournalSourceTest, BatchesOfAtMostTheConfiguredSize) {
  std::vector<Entry> entries;
  for (int i = 0; i < 25; ++i) entries.push_back(Fail(kT0 + i * 1000000, UserN(i), "192.0.2.1"));
  Write("a", entries);
  JournalSourceOptions o;
  o.batch_entries = 10;
  o.max_entries_per_poll = 0;
  JournalSource src(jdir_, "", o);
  ASSERT_TRUE(src.Poll(*store_).ok());
  EXPECT_EQ(Events().size(), 25u);
  EXPECT_EQ(src.state().offset, 25u);
}

TEST_F(JournalSourceTest, MissingDirectoryIsAWait) {
  JournalSource src(root_ + "/nope", "");
  EXPECT_TRUE(src.Poll(*store_).ok());
  EXPECT_FALSE(src.state().ok);
  EXPECT_NE(src.state().error.find("waiting for"), std::string::npos);
  fs::create_directories(root_ + "/nope");
  std::string saved = jdir_;
  jdir_ = root_ + "/nope";
  Write("a", {Ok(kT0, "late@pve")});
  jdir_ = saved;
  ASSERT_TRUE(src.Poll(*store_).ok()) << src.state().error;
  EXPECT_TRUE(src.state().ok);
  EXPECT_EQ(Events().size(), 1u);
}

TEST(FormatJournalLine, ShortIsoPreciseUtc) {
  EXPECT_EQ(FormatJournalLine({kT0 + 5, "pve1.example.com", "pvedaemon", "12", "hi"}, "x"),
            "2025-01-08T11:42:28.000005Z pve1 pvedaemon[12]: hi");
  EXPECT_EQ(FormatJournalLine({0, "", "pve proxy", "12a", "a\nb\rc"}, "node"),
            "1970-01-01T00:00:00.000000Z node pve_proxy: a b c");
  EXPECT_EQ(FormatJournalLine({0, "", "", "", ""}, ""),
            "1970-01-01T00:00:00.000000Z localhost unknown: ");
}

}  // namespace
}  // namespace pveaudit

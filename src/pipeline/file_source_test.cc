// Tests of FileSource's rotated-file discovery (numbered, dateext, olddir)
// and of catching up through them with a real SQLite store.
#include "pipeline/file_source.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/filter.h"

namespace pveaudit {
namespace {

namespace fs = std::filesystem;

class FileSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pveaudit-file-source-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ + "/log");
    fs::create_directories(root_ + "/old");
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(root_);
  }
  void Touch(const std::string& rel, const std::string& text = "x\n") {
    std::ofstream(root_ + "/" + rel, std::ios::binary) << text;
  }
  std::vector<std::string> Names(const std::vector<std::string>& paths) {
    std::vector<std::string> out;
    for (const std::string& p : paths) out.push_back(p.substr(root_.size() + 1));
    return out;
  }
  std::string root_;
  std::unique_ptr<EventStore> store_;
};

std::string Access(int seq) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "::ffff:192.0.2.7 - alice@pve [10/01/2025:17:%02d:%02d +0000] \"GET "
                "/api2/json/nodes/pve1/qemu/100/status/current?seq=%d HTTP/1.1\" 200 12\n",
                seq / 60 % 60, seq % 60, seq);
  return buf;
}

TEST_F(FileSourceTest, RotatedFilesAreFoundByTheNamesLogrotateGives) {
  Touch("log/access.log");
  Touch("log/access.log.1");
  Touch("log/access.log.2.gz");
  Touch("log/access.log.10.gz");  // numbered with a gap: still found (today: stops at .3)
  Touch("log/access.log-20250114.gz");
  Touch("log/access.log-20250115");
  Touch("log/access.log-2025011512");  // dateformat with the hour
  Touch("log/access.log.bak");         // not logrotate's
  Touch("log/access.logx.1");
  Touch("log/other.log.1");
  // The config switched from dateext to numbered names: those are newer.
  for (const char* n : {"log/access.log.1", "log/access.log.2.gz", "log/access.log.10.gz"})
    fs::last_write_time(root_ + "/" + n, fs::file_time_type::clock::now() + std::chrono::hours(1));
  EXPECT_EQ(Names(FileSource::RotatedFiles(root_ + "/log/access.log")),
            (std::vector<std::string>{"log/access.log-20250114.gz", "log/access.log-20250115",
                                      "log/access.log-2025011512", "log/access.log.10.gz",
                                      "log/access.log.2.gz", "log/access.log.1"}));
}

TEST_F(FileSourceTest, OlddirIsSearchedToo) {
  Touch("log/access.log");
  Touch("old/access.log-20250115.gz");
  Touch("old/access.log-20250116");
  Touch("old/unrelated-20250116");
  EXPECT_EQ(Names(FileSource::RotatedFiles(root_ + "/log/access.log", root_ + "/old")),
            (std::vector<std::string>{"old/access.log-20250115.gz", "old/access.log-20250116"}));
  EXPECT_TRUE(FileSource::RotatedFiles(root_ + "/log/access.log").empty());
}

TEST_F(FileSourceTest, CatchUpReadsUnfinishedDateextAndOlddirFilesOnce) {
  auto s = OpenSqliteStore(root_ + "/store", StoreOptions{});
  ASSERT_TRUE(s.ok()) << s.status().message();
  store_ = std::move(s.value());
  ImportOptions o;
  o.format = "pveproxy";
  o.node = "pve1";
  const std::string live = root_ + "/log/access.log";
  {
    FileSource src("access_log", live, o, root_ + "/old");
    Touch("log/access.log", Access(0) + Access(1));
    ASSERT_TRUE(src.CatchUp(*store_).ok());
    EXPECT_EQ(src.state().events, 2u);
  }
  // Down across two nightly rotations: lines written before each.
  std::ofstream(live, std::ios::app) << Access(2);
  fs::rename(live, root_ + "/old/access.log-20250115");
  Touch("log/access.log", Access(3) + Access(4));
  fs::rename(live, root_ + "/old/access.log-20250116");
  Touch("log/access.log", Access(5));
  FileSource src("access_log", live, o, root_ + "/old");
  ASSERT_TRUE(src.CatchUp(*store_).ok());
  EXPECT_EQ(src.state().events, 4u);
  ASSERT_TRUE(src.Poll(*store_).ok());
  EXPECT_EQ(src.state().events, 4u);
  std::vector<int64_t> times;
  ASSERT_TRUE(store_
                  ->Scan(Filter{}, kFieldAll,
                         [&](const Event& e) {
                           times.push_back(e.time_us);
                           return true;
                         })
                  .ok());
  ASSERT_EQ(times.size(), 6u);
  for (size_t i = 1; i < times.size(); ++i) EXPECT_EQ(times[i] - times[i - 1], 1000000);
}

TEST_F(FileSourceTest, ADamagedRotatedGzipDoesNotHoldBackTheLiveFile) {
  auto s = OpenSqliteStore(root_ + "/store", StoreOptions{});
  ASSERT_TRUE(s.ok()) << s.status().message();
  store_ = std::move(s.value());
  std::string text;
  for (int i = 0; i < 3000; ++i) text += Access(i);
  Touch("log/access.log.2", text);
  ASSERT_EQ(std::system(("gzip -n " + root_ + "/log/access.log.2").c_str()), 0);
  const std::string gz = root_ + "/log/access.log.2.gz";
  fs::resize_file(gz, fs::file_size(gz) / 2);
  Touch("log/access.log", Access(4000) + Access(4001));
  ImportOptions o;
  o.format = "pveproxy";
  o.node = "pve1";
  FileSource src("access_log", root_ + "/log/access.log", o);
  ASSERT_TRUE(src.CatchUp(*store_).ok());
  uint64_t before_damage = src.state().events - 2;
  EXPECT_GT(before_damage, 0u);
  EXPECT_LT(before_damage, 3000u);
  EXPECT_FALSE(src.state().ok);
  EXPECT_NE(src.state().error.find("access.log.2.gz is damaged"), std::string::npos)
      << src.state().error;
  std::ofstream(root_ + "/log/access.log", std::ios::app) << Access(4002);
  ASSERT_TRUE(src.Poll(*store_).ok());
  EXPECT_EQ(src.state().events, before_damage + 3);
}

}  // namespace
}  // namespace pveaudit

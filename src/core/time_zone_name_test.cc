#include "core/time_zone_name.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace pveaudit {
namespace {

class TimeZoneNameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = std::getenv("TZ");
    had_tz_ = tz != nullptr;
    if (tz) old_tz_ = tz;
    char tmpl[] = "/tmp/tzname-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    etc_ = tmpl;
  }
  void TearDown() override {
    if (had_tz_) {
      setenv("TZ", old_tz_.c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    std::filesystem::remove_all(etc_);
  }
  bool had_tz_ = false;
  std::string old_tz_, etc_;
};

TEST_F(TimeZoneNameTest, FromTz) {
  setenv("TZ", "Europe/Vienna", 1);
  EXPECT_EQ(TimeZoneName(etc_), "Europe/Vienna");
  setenv("TZ", ":America/Argentina/Buenos_Aires", 1);
  EXPECT_EQ(TimeZoneName(etc_), "America/Argentina/Buenos_Aires");
  setenv("TZ", "/usr/share/zoneinfo/Asia/Tokyo", 1);
  EXPECT_EQ(TimeZoneName(etc_), "Asia/Tokyo");
  setenv("TZ", "", 1);  // glibc: UTC
  EXPECT_EQ(TimeZoneName(etc_), "UTC");
  setenv("TZ", "Etc/UTC", 1);
  EXPECT_EQ(TimeZoneName(etc_), "UTC");
  setenv("TZ", "CET-1CEST", 1);  // POSIX rule: shown as given
  EXPECT_EQ(TimeZoneName(etc_), "CET-1CEST");
}

TEST_F(TimeZoneNameTest, FromTheSystem) {
  unsetenv("TZ");
  std::filesystem::create_symlink("/usr/share/zoneinfo/Europe/Berlin", etc_ + "/localtime");
  std::ofstream(etc_ + "/timezone") << "Europe/Paris\n";
  EXPECT_EQ(TimeZoneName(etc_), "Europe/Berlin");  // the link is what the C library reads
  std::filesystem::remove(etc_ + "/localtime");
  EXPECT_EQ(TimeZoneName(etc_), "Europe/Paris");
  std::filesystem::remove(etc_ + "/timezone");
  EXPECT_FALSE(TimeZoneName(etc_).empty());
}

}  // namespace
}  // namespace pveaudit

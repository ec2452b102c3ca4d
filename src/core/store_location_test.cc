#include "core/store_location.h"

#include <gtest/gtest.h>

namespace pveaudit {
namespace {

TEST(RedactStoreUrlTest, HidesEveryPasswordAndNothingElse) {
  EXPECT_EQ(RedactStoreUrl("postgresql://node:pw@db.example.com:5432/pveaudit?sslmode=verify-full"),
            "postgresql://node:***@db.example.com:5432/pveaudit?sslmode=verify-full");
  // An '@' in the password: the userinfo ends at the last one.
  EXPECT_EQ(RedactStoreUrl("postgresql://node:p@ss@db/pveaudit"),
            "postgresql://node:***@db/pveaudit");
  EXPECT_EQ(RedactStoreUrl("postgres://db/pveaudit?sslmode=require&password=x&user=node"),
            "postgres://db/pveaudit?sslmode=require&password=***&user=node");
  EXPECT_EQ(RedactStoreUrl("postgresql://node:a@db/p?password=b&password=c"),
            "postgresql://node:***@db/p?password=***&password=***");
  // Nothing to hide: unchanged, '@' and ':' elsewhere included.
  for (const char* u : {"postgresql://node@db.example.com:5432/pveaudit",
                        "postgresql://db/pveaudit?options=-c%20a:b@c", "postgresql:///pveaudit",
                        "postgresql://[::1]:5432/pveaudit"})
    EXPECT_EQ(RedactStoreUrl(u), u);
}

TEST(CheckStoreUrlTest, TakesPostgresUrlsOnly) {
  EXPECT_TRUE(CheckStoreUrl("postgresql://db/pveaudit").ok());
  EXPECT_TRUE(CheckStoreUrl("postgres://db/pveaudit").ok());
  for (const char* bad : {"", "db/pveaudit", "host=db dbname=pveaudit", "mysql://db/pveaudit",
                          "postgresql://db/pveaudit host=evil", "postgresql://db/p\nx"}) {
    Status st = CheckStoreUrl(bad);
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("is not a PostgreSQL store URL"), std::string::npos) << bad;
  }
  // The message never repeats a password.
  Status st = CheckStoreUrl("mysql://u:secret@db/p");
  EXPECT_EQ(st.message().find("secret"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'mysql://u:***@db/p'"), std::string::npos) << st.message();
}

TEST(StoreLocationTest, DescribeNamesTheBackend) {
  EXPECT_EQ((StoreLocation{"/var/lib/pveaudit", "", ""}.Describe()),
            "SQLite store in /var/lib/pveaudit");
  EXPECT_EQ((StoreLocation{"/var/lib/pveaudit", "postgresql://n:pw@db/p", ""}.Describe()),
            "PostgreSQL store postgresql://n:***@db/p");
}

}  // namespace
}  // namespace pveaudit

// pveam access verify: intact chain, an edited event, a truncated tail.
#include <sqlite3.h>

#include "e2e_util.h"

namespace e2e {
namespace {

class VerifyTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    ImportStandard();
  }
  // Runs one SQL statement on the store behind pveam's back; returns the
  // number of rows changed.
  int Tamper(const std::string& sql) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(DbPath().c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
    EXPECT_EQ(rc, SQLITE_OK) << (db ? sqlite3_errmsg(db) : "open");
    char* err = nullptr;
    rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in " << sql;
    sqlite3_free(err);
    int changed = sqlite3_changes(db);
    sqlite3_close(db);
    return changed;
  }
};

TEST_F(VerifyTest, FreshImportIsIntact) {
  RunResult r = Sh("pveam access verify");
  EXPECT_EQ(r.code, 0) << r;
  ASSERT_EQ(r.out.rfind("OK: 57 events, hash chain intact, head ", 0), 0u) << r;
  std::string head = Status()["chain_head"];
  EXPECT_EQ(r.out, "OK: 57 events, hash chain intact, head " + head + "\n");

  r = Sh("pveam access verify --output-format json");
  EXPECT_EQ(r.code, 0) << r;
  auto j = Json(r);
  ASSERT_EQ(j.size(), 1u) << r;
  EXPECT_EQ(j[0]["intact"], 1);
  EXPECT_EQ(j[0]["events"], 57);
  EXPECT_EQ(j[0]["head"], head);
}

TEST_F(VerifyTest, EditedUserIsDetected) {
  // alice@pve's first event by id is 10 (the 403 on vm:start).
  ASSERT_EQ(Tamper("UPDATE dict SET value='mallory@pve' WHERE kind=1 AND value='alice@pve'"), 1);
  // The edit is visible to queries ...
  RunResult q = Sh("pveam access log --user mallory@pve --output-format json");
  ASSERT_EQ(q.code, 0) << q;
  EXPECT_EQ(Ids(Json(q)).front(), 10);
  // ... and verify names the first event whose hash no longer matches.
  RunResult r = Sh("pveam access verify");
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_EQ(r.out.rfind("BROKEN: ", 0), 0u) << r;
  EXPECT_TRUE(Contains(r.out, "event 10")) << r;
  EXPECT_TRUE(Contains(r.out, "checked 9 events before the break")) << r;
  r = Sh("pveam access verify --output-format json");
  EXPECT_EQ(r.code, 1) << r;
  auto j = Json(r);
  ASSERT_EQ(j.size(), 1u) << r;
  EXPECT_EQ(j[0]["intact"], 0);
  EXPECT_EQ(j[0]["first_bad_id"], 10);
}

TEST_F(VerifyTest, TruncatedTailIsDetected) {
  ASSERT_EQ(Tamper("DELETE FROM blocks WHERE id=(SELECT MAX(id) FROM blocks)"), 1);
  RunResult r = Sh("pveam access verify");
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_EQ(r.out.rfind("BROKEN: ", 0), 0u) << r;
  EXPECT_TRUE(Contains(r.out, "truncated")) << r;
  // The chain head still records all 57 events; the message says which
  // are gone (a small store is one block, so here all of them).
  EXPECT_TRUE(Contains(r.out, "records 57 events")) << r;
  EXPECT_TRUE(Contains(r.out, "-57 are gone")) << r;
  r = Sh("pveam access verify --output-format json");
  EXPECT_EQ(r.code, 1) << r;
  auto j = Json(r);
  ASSERT_EQ(j.size(), 1u) << r;
  EXPECT_EQ(j[0]["intact"], 0);
  EXPECT_TRUE(Contains(j[0]["reason"].get<std::string>(), "truncated")) << r;
}

}  // namespace
}  // namespace e2e

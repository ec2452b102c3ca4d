// store_fixture.h (tests only)
// StoreFixture: a GoogleTest fixture with a real SQLite store in a fresh
// temporary directory, removed after the test, with Add and Find helpers.
// Query tests run against it rather than a fake.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "query/log_query.h"
#include "store/event_store.h"

namespace pveaudit {

class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pveaudit-query-test-" + std::to_string(std::random_device()()));
    auto s = OpenSqliteStore(dir_.string(), StoreOptions{});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Appends `events` (one batch); returns their ids.
  std::vector<uint64_t> Add(std::vector<Event> events) {
    EXPECT_TRUE(store_->Append(&events, {}, nullptr).ok());
    std::vector<uint64_t> ids;
    for (const Event& e : events) ids.push_back(e.id);
    return ids;
  }
  // What `pveam access log` lists (FindEvents) for `f`.
  std::vector<Event> Find(const Filter& f = {}, size_t limit = 0) {
    auto r = FindEvents(*store_, f, limit);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<Event>{};
  }
  std::filesystem::path dir_;
  std::unique_ptr<EventStore> store_;
};

}  // namespace pveaudit

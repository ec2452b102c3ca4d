// store_fixture.h (tests only)
// StoreFixture: a GoogleTest fixture with a real SQLite store in a fresh
// temporary directory, removed after the test. Query tests run against it
// rather than a fake.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>

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
  std::filesystem::path dir_;
  std::unique_ptr<EventStore> store_;
};

}  // namespace pveaudit

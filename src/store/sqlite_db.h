// sqlite_db.h
// A thin RAII layer over the SQLite C API used by the SQLite backend:
// SQLite errors are translated into Status here, once.
// Thread safety: one Db (and its statements) per thread.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace pveaudit {

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept {
    if (this != &o) {
      sqlite3_finalize(s_);
      db_ = o.db_;
      s_ = o.s_;
      o.s_ = nullptr;
    }
    return *this;
  }
  ~Stmt() { sqlite3_finalize(s_); }

  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // True while a row is available; false at the end. Errors end the loop
  // and are reported by status().
  bool Step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) error_ = rc;
    return false;
  }
  // Runs a statement that returns no rows and resets it.
  Status Run() {
    Step();
    Status st = status();
    Reset();
    return st;
  }
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
    error_ = SQLITE_OK;
  }
  Status status() const {
    if (error_ == SQLITE_OK) return Status::OK();
    std::string msg = std::string("sqlite: ") + sqlite3_errmsg(db_);
    if (error_ == SQLITE_BUSY || error_ == SQLITE_LOCKED) return Status::Busy(msg);
    if (error_ == SQLITE_CORRUPT || error_ == SQLITE_NOTADB) return Status::Corruption(msg);
    return Status::IOError(msg);
  }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  std::string_view Text(int col) const {
    const void* p = sqlite3_column_blob(s_, col);
    int n = sqlite3_column_bytes(s_, col);
    return p ? std::string_view(static_cast<const char*>(p), size_t(n)) : std::string_view();
  }
  bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* s_ = nullptr;
  int error_ = SQLITE_OK;
};

class Db {
 public:
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() { sqlite3_close_v2(db_); }

  Status Open(const std::string& path, bool read_only) {
    int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      return Status::IOError("cannot open " + path + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 30000);
    sqlite3_extended_result_codes(db_, 0);
    return Status::OK();
  }
  Status Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return Status::OK();
    std::string msg = std::string("sqlite: ") + (err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Status::Busy(msg);
    if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) return Status::Corruption(msg);
    return Status::IOError(msg);
  }
  Result<Stmt> Prepare(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), int(sql.size()), SQLITE_PREPARE_PERSISTENT, &s,
                                nullptr);
    if (rc != SQLITE_OK) return Status::IOError(std::string("sqlite: ") + sqlite3_errmsg(db_));
    return Stmt(db_, s);
  }
  sqlite3* get() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace pveaudit

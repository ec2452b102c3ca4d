// status.h
// Status is the outcome of an operation that can fail; Result<T> carries a
// value or the Status that explains why there is none. Errors are values:
// every fallible function in pveaudit returns one of these, and callers must
// look at it ([[nodiscard]]). "Not found" is a normal outcome, not an error,
// wherever a function can express it with an empty result instead.
// Thread safety: immutable after construction; safe to share.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace pveaudit {

class [[nodiscard]] Status {
 public:
  enum class Code { kOk, kInvalidArgument, kNotFound, kCorruption, kIOError, kBusy, kInternal };

  Status() = default;
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status Busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The same status with `prefix` before its message (where it happened).
  Status Prefixed(const std::string& prefix) const { return Status(code_, prefix + message_); }
  // "OK" or "<kind>: <message>", for logs; user-facing text uses message().
  std::string ToString() const;

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  // OK when a value is held.
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace pveaudit

// Returns the Status of `expr` from the enclosing function if it is not OK.
#define PVEAUDIT_RETURN_IF_ERROR(expr) \
  do {                                 \
    ::pveaudit::Status _st = (expr);   \
    if (!_st.ok()) return _st;         \
  } while (0)

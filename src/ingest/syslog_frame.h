// syslog_frame.h
// FrameDecoder: RFC 6587 framing of a syslog byte stream (TCP, and TLS per
// RFC 5425, which uses octet counting). Pure: no I/O, so it lives with the
// parsers; the sockets are in pipeline/syslog_listener.h.
// docs/syslog-listener.md describes the framing rules.
//
// Thread safety: one thread at a time per decoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pveaudit {

// Default and hard ceiling of ListenOptions::max_message_bytes.
inline constexpr size_t kSyslogDefaultMaxMessage = 64 * 1024;
inline constexpr size_t kSyslogMaxMessageCeiling = 1024 * 1024;

// Incremental decoder of one TCP stream's RFC 6587 framing. Pure: no I/O.
// Each frame is classified by its first byte: a digit starts an
// octet-counted frame "LEN SP MSG" (LEN = 1-9 digits without leading zero,
// exactly LEN bytes of MSG follow); any other byte starts a message that
// ends at LF or NUL. Messages longer than max_message are cut to
// max_message bytes (the rest of the frame is discarded) and counted in
// truncated(). A malformed length (leading zero, more than 9 digits,
// a byte other than a digit or SP) is a framing error: the decoder stops
// and the stream must be closed.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_message = kSyslogDefaultMaxMessage);

  // Appends the messages completed by `bytes` to `out` (trailing CR/LF/NUL
  // stripped, empty messages skipped). Returns false on a framing error
  // (messages completed before the error are still appended); after that
  // every call returns false and appends nothing.
  bool Feed(std::string_view bytes, std::vector<std::string>* out);
  // End of stream: appends a pending LF-framed message that lacked its LF.
  // Returns false when an octet-counted frame (or its length) was cut short
  // or the decoder had failed before.
  bool Finish(std::vector<std::string>* out);

  bool failed() const { return state_ == State::kFailed; }
  // Messages cut to max_message so far.
  uint64_t truncated() const { return truncated_; }
  // Bytes held for an incomplete message (at most max_message).
  size_t buffered() const { return buf_.size(); }
  // Reason for the framing error, e.g. "octet count with leading zero".
  const std::string& error() const { return error_; }

 private:
  enum class State { kStart, kLength, kCounted, kLine, kFailed };
  void Append(std::string_view bytes);
  void Emit(std::vector<std::string>* out);
  bool Fail(std::string why);

  size_t max_;
  State state_ = State::kStart;
  std::string buf_;      // the current message, at most max_ bytes
  bool cut_ = false;     // bytes beyond max_ were discarded from it
  uint64_t length_ = 0;  // kLength: value so far; kCounted: bytes still due
  int length_digits_ = 0;
  uint64_t truncated_ = 0;
  std::string error_;
};

}  // namespace pveaudit

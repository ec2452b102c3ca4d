// syslog_frame.cc
#include "ingest/syslog_frame.h"

#include <algorithm>

namespace pveaudit {

// ---------------------------------------------------------------------------
// FrameDecoder

namespace {

constexpr int kMaxLengthDigits = 9;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsTrailer(char c) { return c == '\n' || c == '\r' || c == '\0'; }

}  // namespace

FrameDecoder::FrameDecoder(size_t max_message) : max_(std::max<size_t>(max_message, 1)) {}

void FrameDecoder::Append(std::string_view bytes) {
  size_t room = max_ - buf_.size();
  if (bytes.size() > room) {
    // Line terminators beyond the limit do not make a message too long.
    std::string_view extra = bytes.substr(room);
    if (!std::all_of(extra.begin(), extra.end(), IsTrailer)) cut_ = true;
    bytes = bytes.substr(0, room);
  }
  buf_.append(bytes);
}

void FrameDecoder::Emit(std::vector<std::string>* out) {
  size_t n = buf_.size();
  while (n > 0 && IsTrailer(buf_[n - 1])) --n;
  buf_.resize(n);
  if (cut_) ++truncated_;
  if (!buf_.empty()) out->push_back(std::move(buf_));
  buf_.clear();
  cut_ = false;
}

bool FrameDecoder::Fail(std::string why) {
  state_ = State::kFailed;
  error_ = std::move(why);
  buf_.clear();
  cut_ = false;
  return false;
}

bool FrameDecoder::Feed(std::string_view bytes, std::vector<std::string>* out) {
  size_t i = 0;
  while (i < bytes.size()) {
    switch (state_) {
      case State::kFailed:
        return false;
      case State::kStart: {
        char c = bytes[i];
        if (c == '\n' || c == '\0') {
          ++i;  // empty message (e.g. the LF after an octet-counted frame)
        } else if (c == '0') {
          return Fail("octet count with a leading zero");
        } else if (IsDigit(c)) {
          state_ = State::kLength;
          length_ = 0;
          length_digits_ = 0;
        } else {
          state_ = State::kLine;
        }
        break;
      }
      case State::kLength: {
        char c = bytes[i++];
        if (IsDigit(c)) {
          if (++length_digits_ > kMaxLengthDigits) return Fail("octet count longer than 9 digits");
          length_ = length_ * 10 + static_cast<uint64_t>(c - '0');
        } else if (c == ' ') {
          state_ = State::kCounted;
        } else {
          return Fail("octet count followed by a byte other than a space");
        }
        break;
      }
      case State::kCounted: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(length_, bytes.size() - i));
        Append(bytes.substr(i, n));
        i += n;
        length_ -= n;
        if (length_ == 0) {
          Emit(out);
          state_ = State::kStart;
        }
        break;
      }
      case State::kLine: {
        size_t end = bytes.find_first_of(std::string_view("\n\0", 2), i);
        if (end == std::string_view::npos) {
          Append(bytes.substr(i));
          i = bytes.size();
        } else {
          Append(bytes.substr(i, end - i));
          i = end + 1;
          Emit(out);
          state_ = State::kStart;
        }
        break;
      }
    }
  }
  return state_ != State::kFailed;
}

bool FrameDecoder::Finish(std::vector<std::string>* out) {
  switch (state_) {
    case State::kFailed:
      return false;
    case State::kStart:
      return true;
    case State::kLine:
      Emit(out);
      state_ = State::kStart;
      return true;
    case State::kLength:
    case State::kCounted:
      break;
  }
  buf_.clear();
  cut_ = false;
  state_ = State::kStart;
  return false;
}

}  // namespace pveaudit

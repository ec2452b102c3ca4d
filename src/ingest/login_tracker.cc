// login_tracker.cc
// See login_tracker.h and docs/actions.md "Login counting".
#include "ingest/login_tracker.h"

#include <cstdlib>
#include <string_view>

namespace pveaudit {
namespace {

constexpr std::string_view kMagic = "pveaudit-login-tracker 1\n";

// Escapes the separator bytes so any user/node text survives a round trip.
void Escape(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || c == '%' || u == 0x7f) {
      out->push_back('%');
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 15]);
    } else {
      out->push_back(c);
    }
  }
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool Unescape(std::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return false;
      int h = HexVal(s[i + 1]), l = HexVal(s[i + 2]);
      if (h < 0 || l < 0) return false;
      out->push_back(static_cast<char>(h * 16 + l));
      i += 2;
    } else {
      out->push_back(s[i]);
    }
  }
  return true;
}

}  // namespace

void LoginTracker::Apply(std::vector<Event>* events) {
  for (Event& e : *events) {
    if (e.action != "login" || e.result != Outcome::kSuccess || e.user.empty()) continue;
    auto key = std::make_pair(e.user, e.node);
    auto it = last_success_.find(key);
    if (it == last_success_.end()) {
      last_success_.emplace(std::move(key), e.time_us);
      continue;
    }
    int64_t diff = e.time_us - it->second;
    if (diff < 0) diff = -diff;  // out of order input (merged sources)
    if (diff <= kRenewWindowUs) e.action = "session:renew";
    if (e.time_us > it->second) it->second = e.time_us;
  }
}

std::string LoginTracker::SaveState() const {
  std::string out(kMagic);
  for (const auto& [key, t] : last_success_) {
    out += std::to_string(t);
    out.push_back(' ');
    Escape(key.first, &out);
    out.push_back(' ');
    Escape(key.second, &out);
    out.push_back('\n');
  }
  return out;
}

void LoginTracker::LoadState(const std::string& blob) {
  last_success_.clear();
  std::string_view s = blob;
  if (s.substr(0, kMagic.size()) != kMagic) return;
  s.remove_prefix(kMagic.size());
  std::map<std::pair<std::string, std::string>, int64_t> loaded;
  while (!s.empty()) {
    size_t nl = s.find('\n');
    if (nl == std::string_view::npos) return;  // truncated: reset
    std::string_view line = s.substr(0, nl);
    s.remove_prefix(nl + 1);
    size_t a = line.find(' ');
    size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    if (b == std::string_view::npos || line.find(' ', b + 1) != std::string_view::npos) return;
    std::string_view num = line.substr(0, a);
    int64_t t = 0;
    bool neg = !num.empty() && num[0] == '-';
    if (neg) num.remove_prefix(1);
    if (num.empty() || num.size() > 18) return;
    for (char c : num) {
      if (c < '0' || c > '9') return;
      t = t * 10 + (c - '0');
    }
    if (neg) t = -t;
    std::string user, node;
    if (!Unescape(line.substr(a + 1, b - a - 1), &user) || !Unescape(line.substr(b + 1), &node))
      return;
    loaded[{std::move(user), std::move(node)}] = t;
  }
  last_success_ = std::move(loaded);
}

}  // namespace pveaudit

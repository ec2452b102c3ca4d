// filter.cc
#include "core/filter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>

#include "core/actions.h"
#include "core/time_spec.h"

namespace pveaudit {
namespace {

// Parses a single address (no prefix) into 16 bytes, IPv4 as v4-mapped.
// Sets *v4 when the text was dotted-quad IPv4.
bool ParseAddress(const std::string& text, unsigned char out[16], bool* v4) {
  if (text.empty()) return false;
  if (text.find(':') != std::string::npos) {
    *v4 = false;
    return inet_pton(AF_INET6, text.c_str(), out) == 1;
  }
  unsigned char a4[4];
  if (inet_pton(AF_INET, text.c_str(), a4) != 1) return false;
  *v4 = true;
  std::memset(out, 0, 10);
  out[10] = 0xff;
  out[11] = 0xff;
  std::memcpy(out + 12, a4, 4);
  return true;
}

bool PrefixEqual(const unsigned char* a, const unsigned char* b, int prefix) {
  const int full = prefix / 8;
  if (std::memcmp(a, b, static_cast<size_t>(full)) != 0) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

}  // namespace

bool ParseIpRange(const std::string& text, IpRange* out) {
  const size_t slash = text.find('/');
  const std::string addr_text = text.substr(0, slash);
  IpRange r;
  bool v4 = false;
  if (!ParseAddress(addr_text, r.addr, &v4)) return false;
  const int max_len = v4 ? 32 : 128;
  int len = max_len;
  if (slash != std::string::npos) {
    const std::string len_text = text.substr(slash + 1);
    if (len_text.empty() || len_text.size() > 3) return false;
    len = 0;
    for (char c : len_text) {
      if (c < '0' || c > '9') return false;
      len = len * 10 + (c - '0');
    }
    if (len > max_len) return false;
  }
  r.prefix = v4 ? len + 96 : len;
  // Clear host bits so the stored network address is canonical.
  for (int bit = r.prefix; bit < 128; ++bit) {
    r.addr[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
  }
  *out = r;
  return true;
}

bool IpInRange(const std::string& ip, const IpRange& range) {
  unsigned char addr[16];
  bool v4 = false;
  if (!ParseAddress(ip, addr, &v4)) return false;
  const int prefix = range.prefix < 0 ? 0 : (range.prefix > 128 ? 128 : range.prefix);
  return PrefixEqual(addr, range.addr, prefix);
}

bool ResourceCovers(const std::string& prefix, const std::string& path) {
  std::string_view p = prefix;
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  if (p.empty() || p == "/") return true;
  if (path.size() < p.size() || path.compare(0, p.size(), p) != 0) return false;
  return path.size() == p.size() || path[p.size()] == '/';
}

Result<std::string> ParseDataScope(std::string_view entry) {
  auto bad = [&](std::string_view why) {
    // Appended, not concatenated: GCC 12 warns (-Wrestrict) falsely on the
    // temporaries of a + chain here.
    std::string m = "'";
    m.append(entry).append("' ").append(why).append(
        " (expected pool:NAME, storage:NAME, vm:VMID or an ACL path /pool/NAME, "
        "/storage/NAME, /vms/VMID)");
    return Status::InvalidArgument(m);
  };
  struct Form {
    std::string_view kind, colon, path;
  };
  static constexpr Form kForms[] = {
      {"pool", "pool:", "/pool/"}, {"storage", "storage:", "/storage/"}, {"vm", "vm:", "/vms/"}};
  std::string_view kind, id, path;
  for (const Form& f : kForms) {
    for (std::string_view prefix : {f.colon, f.path})
      if (entry.substr(0, prefix.size()) == prefix) {
        kind = f.kind;
        path = f.path;
        id = entry.substr(prefix.size());
      }
  }
  if (kind.empty()) return bad("is not a pool, storage or guest");
  if (id.empty())
    return bad(kind == "vm"     ? "names no guest"
               : kind == "pool" ? "names no pool"
                                : "names no storage");
  if (kind == "vm") {
    if (id.size() > 9 || id[0] == '0' ||
        !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoul(std::string(id)) < 100)
      return bad("is not a guest id (100 to 999999999)");
    return std::string(path).append(id);
  }
  const bool ok =
      std::isalpha(static_cast<unsigned char>(id[0])) &&
      std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      });
  if (!ok) return bad(kind == "pool" ? "is not a valid pool id" : "is not a valid storage id");
  return std::string(path).append(id);
}

namespace {
// The first window that ends after `t`.
auto FirstEndingAfter(const std::vector<std::pair<int64_t, int64_t>>& windows, int64_t t) {
  return std::upper_bound(
      windows.begin(), windows.end(), t,
      [](int64_t x, const std::pair<int64_t, int64_t>& w) { return x < w.second; });
}
}  // namespace

bool InWindows(const std::vector<std::pair<int64_t, int64_t>>& windows, int64_t t) {
  if (windows.empty()) return true;
  auto it = FirstEndingAfter(windows, t);
  return it != windows.end() && it->first <= t;
}

bool WindowsOverlap(const std::vector<std::pair<int64_t, int64_t>>& windows, int64_t lo,
                    int64_t hi) {
  if (windows.empty()) return true;
  auto it = FirstEndingAfter(windows, lo);
  return it != windows.end() && it->first <= hi;
}

bool MatchesStoredEvent(const Filter& f, const Event& e) {
  if (f.start_us && e.time_us < *f.start_us) return false;
  if (f.end_us && e.time_us >= *f.end_us) return false;
  if (!InWindows(f.windows, e.time_us)) return false;
  if (f.user && e.user != *f.user) return false;
  if (f.node && e.node != *f.node) return false;
  if (f.failed && (e.result == Outcome::kFailure) != *f.failed) return false;
  if (f.action && !ActionMatches(*f.action, e.action)) return false;
  if (f.resource && (e.resource.empty() || !ResourceCovers(*f.resource, e.resource))) return false;
  if (f.ip && (e.ip.empty() || !IpInRange(e.ip, *f.ip))) return false;
  if (f.tod_start || f.tod_end) {
    int s = SecondsOfDayLocal(e.time_us);
    int lo = f.tod_start.value_or(0), hi = f.tod_end.value_or(86400);
    if (!(lo <= hi ? (s >= lo && s < hi) : (s >= lo || s < hi))) return false;
  }
  return true;
}

}  // namespace pveaudit

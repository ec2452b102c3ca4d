#include "core/store_location.h"

namespace pveaudit {

std::string RedactStoreUrl(std::string_view url) {
  std::string out(url);
  // postgresql://user:PASSWORD@host...: the userinfo ends at the last '@'
  // before the path.
  if (size_t scheme = out.find("://"); scheme != std::string::npos) {
    const size_t start = scheme + 3;
    const size_t end = std::min(out.find_first_of("/?", start), out.size());
    const size_t at = out.rfind('@', end == 0 ? 0 : end - 1);
    if (at != std::string::npos && at >= start) {
      const size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // ...?password=PASSWORD&...
  for (size_t q = out.find('?'); q != std::string::npos;) {
    const size_t key = q + 1;
    size_t next = out.find('&', key);
    if (out.compare(key, 9, "password=") == 0) {
      const size_t value = key + 9;
      const size_t len = (next == std::string::npos ? out.size() : next) - value;
      out.replace(value, len, "***");
      next = out.find('&', value);
    }
    q = next;
  }
  return out;
}

Status CheckStoreUrl(std::string_view url) {
  const bool scheme = url.starts_with("postgresql://") || url.starts_with("postgres://");
  const bool clean = url.find_first_of(" \t\r\n\f\v") == std::string_view::npos;
  if (scheme && clean) return Status::OK();
  std::string msg = "a value with spaces or line breaks";
  if (clean) msg.assign("'").append(RedactStoreUrl(url)).append("'");
  msg +=
      " is not a PostgreSQL store URL: expected postgresql://HOST[:PORT]/DATABASE[?PARAMS], "
      "e.g. postgresql://pgdb.example.com/pveaudit?sslmode=verify-full";
  return Status::InvalidArgument(std::move(msg));
}

std::string StoreLocation::Describe() const {
  if (!postgres()) return "SQLite store in " + data_dir;
  return "PostgreSQL store " + RedactStoreUrl(url);
}

}  // namespace pveaudit

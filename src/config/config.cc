#include "config/config.h"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "core/filter.h"
#include "core/time_spec.h"

namespace pveaudit {
namespace {

// A compiled zone file (tzfile(5)) starts with "TZif".
bool IsZoneFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string(magic, 4) == "TZif";
}

// A POSIX TZ string (tzset(3)): std offset [dst [offset] [,rule,rule]].
// The names are 3+ letters or <quoted>; the offset is required after std.
bool IsPosixTz(const std::string& s) {
  size_t i = 0;
  auto name = [&]() {
    if (i < s.size() && s[i] == '<') {
      size_t close = s.find('>', i);
      if (close == std::string::npos || close - i - 1 < 3) return false;
      i = close + 1;
      return true;
    }
    size_t b = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    return i - b >= 3;
  };
  auto offset = [&]() {
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t b = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == ':')) ++i;
    return i > b && std::isdigit(static_cast<unsigned char>(s[b]));
  };
  if (!name() || !offset()) return false;
  if (i == s.size()) return true;
  if (!name()) return false;
  if (i < s.size() && s[i] != ',' && !offset()) return false;
  for (; i < s.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i])) && !std::strchr(",MJ./:+-", s[i]))
      return false;
  return true;
}

bool IsAddress(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// "192.0.2.7", "192.0.2.0/24", "2001:db8::/64".
bool IsAddressOrNetwork(const std::string& s) {
  size_t slash = s.find('/');
  if (slash == std::string::npos) return IsAddress(s);
  std::string host = s.substr(0, slash), bits = s.substr(slash + 1);
  if (bits.empty() || bits.size() > 3 ||
      !std::all_of(bits.begin(), bits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  unsigned char buf[16];
  int max = inet_pton(AF_INET, host.c_str(), buf) == 1    ? 32
            : inet_pton(AF_INET6, host.c_str(), buf) == 1 ? 128
                                                          : -1;
  return max > 0 && std::stoi(bits) <= max;
}

// "ADDR:PORT" with a numeric IPv4 address, "[IPv6]" or "*".
bool IsListenAddress(const std::string& s) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = s.substr(0, colon), port = s.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(port) > 65535)
    return false;
  if (host == "*") return true;
  unsigned char buf[16];
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), buf) == 1;
  return inet_pton(AF_INET, host.c_str(), buf) == 1;
}

// Whether a listen address reaches only this machine.
bool IsLoopbackListen(const std::string& s) {
  std::string host = s.substr(0, s.rfind(':'));
  if (host == "[::1]") return true;
  unsigned char b[4];
  return inet_pton(AF_INET, host.c_str(), b) == 1 && b[0] == 127;
}

}  // namespace

// Warnings about the PostgreSQL store URL: a password in the config file,
// and a connection to another host that does not check the server.
static void StoreWarnings(const Config& c, std::vector<std::string>* out) {
  if (c.store_url.empty()) return;
  const std::string shown = RedactStoreUrl(c.store_url);
  if (shown != c.store_url)
    out->push_back("the store URL holds a password: anyone who can read " +
                   (c.source.empty() ? std::string("the config file") : c.source) +
                   " can write to the store; put it in a password file readable by "
                   "pveauditd's user only ([store] passfile, libpq's format)");
  // A host of our own: a Unix socket directory (host=/...) or loopback.
  const size_t start = c.store_url.find("://") + 3;
  const size_t at = c.store_url.find('@', start);
  const size_t host_at =
      at != std::string::npos && at < c.store_url.find_first_of("/?", start) ? at + 1 : start;
  const std::string rest = c.store_url.substr(host_at);
  const std::string host = rest.starts_with("[") ? rest.substr(0, rest.find(']') + 1)
                                                 : rest.substr(0, rest.find_first_of(":/?"));
  // A host in the query (?host=...) wins over the one before the path.
  const size_t qh = rest.find("host=");
  const bool local =
      qh != std::string::npos
          ? rest.compare(qh + 5, 1, "/") == 0 || rest.compare(qh + 5, 3, "%2F") == 0
          : host.empty() || host == "localhost" || host.starts_with("127.") || host == "[::1]";
  if (!local && c.store_url.find("sslmode=verify-full") == std::string::npos)
    out->push_back("store = \"" + shown +
                   "\" does not set sslmode=verify-full: the connection to another host "
                   "may be unencrypted or reach a server that is not the one named");
}

std::vector<std::string> ConfigWarnings(const Config& c) {
  std::vector<std::string> out;
  StoreWarnings(c, &out);
  if (!c.syslog_enabled || !c.syslog_peers.empty()) return out;
  if (!c.syslog_listen.empty() && !IsLoopbackListen(c.syslog_listen))
    out.push_back("[sources.syslog] listen = \"" + c.syslog_listen +
                  "\" accepts plain UDP/TCP syslog from any host, without TLS or an "
                  "allow-list: anyone who reaches it can store lines under any node name "
                  "(add [[sources.syslog.peer]] entries, or use tls with client certificates)");
  if (!c.syslog_tls.empty() && !IsLoopbackListen(c.syslog_tls) && !c.syslog_tls_require_client_cert)
    out.push_back("[sources.syslog] tls = \"" + c.syslog_tls +
                  "\" accepts clients without a certificate and has no allow-list: anyone "
                  "who reaches it can store lines under any node name");
  return out;
}

Status CheckTimeZone(const std::string& tz) {
  std::string name = !tz.empty() && tz[0] == ':' ? tz.substr(1) : tz;
  if (name == "UTC" || name == "GMT" || IsPosixTz(name)) return Status::OK();
  std::string dir = "/usr/share/zoneinfo";
  if (const char* d = std::getenv("TZDIR"); d && *d) dir = d;
  const bool absolute = !name.empty() && name[0] == '/';
  if (!name.empty() && name.find("..") == std::string::npos &&
      IsZoneFile(absolute ? name : dir + "/" + name))
    return Status::OK();
  return Status::InvalidArgument(
      "unknown time zone '" + tz + "' (" +
      (absolute ? std::string("not a zone file") : "no such zone in " + dir) +
      "; expected a name such as Europe/Vienna or UTC)");
}

Result<Config> LoadConfig(const std::string& explicit_path) {
  Config cfg;
  std::string path = explicit_path;
  bool required = !path.empty();
  if (path.empty()) {
    if (const char* env = std::getenv("PVEAUDIT_CONFIG"); env && *env) {
      path = env;
      required = true;
    } else {
      path = "/etc/pveaudit/pveaudit.toml";
    }
  }
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (required) return Status::InvalidArgument("config file " + path + " does not exist");
    return cfg;
  }
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& err) {
    return Status::InvalidArgument(path + ":" + std::to_string(err.source().begin.line) + ": " +
                                   std::string(err.description()));
  }
  cfg.source = path;
  auto where = [&](const toml::node& n) {
    return path + ":" + std::to_string(n.source().begin.line);
  };
  auto str = [&](const toml::node& n, const std::string& key, std::string* out) -> Status {
    auto v = n.value<std::string>();
    if (!v) return Status::InvalidArgument(where(n) + ": key '" + key + "' must be a string");
    *out = *v;
    return Status::OK();
  };
  auto boolean = [&](const toml::node& n, const std::string& key, bool* out) -> Status {
    auto v = n.value<bool>();
    if (!n.is_boolean() || !v)
      return Status::InvalidArgument(where(n) + ": key '" + key + "' must be true or false");
    *out = *v;
    return Status::OK();
  };
  auto integer = [&](const toml::node& n, const std::string& key, int lo, int hi,
                     int* out) -> Status {
    auto v = n.value<int64_t>();
    if (!n.is_integer() || !v || *v < lo || *v > hi)
      return Status::InvalidArgument(where(n) + ": key '" + key + "' must be a whole number from " +
                                     std::to_string(lo) + " to " + std::to_string(hi));
    *out = int(*v);
    return Status::OK();
  };
  auto unknown = [&](const toml::node& n, const std::string& key) {
    return Status::InvalidArgument(where(n) + ": unknown key '" + key + "'");
  };
  // Syntax of ADDR:PORT as the listener takes it ("" = off); the listener
  // checks again when it binds.
  auto listen_address = [&](const toml::node& n, const std::string& key,
                            const std::string& v) -> Status {
    if (v.empty() || IsListenAddress(v)) return Status::OK();
    return Status::InvalidArgument(where(n) + ": key '" + key + "': '" + v +
                                   "' is not ADDR:PORT (numeric address, [IPv6] or *)");
  };
  auto file_source = [&](const toml::node& n, const std::string& name,
                         FileSourceConfig* fs) -> Status {
    if (!n.is_table())
      return Status::InvalidArgument(where(n) + ": '" + name + "' must be a table");
    for (auto&& [k, v] : *n.as_table()) {
      std::string key(k.str());
      if (key == "enabled")
        PVEAUDIT_RETURN_IF_ERROR(boolean(v, name + "." + key, &fs->enabled));
      else if (key == "path")
        PVEAUDIT_RETURN_IF_ERROR(str(v, name + "." + key, &fs->path));
      else if (key == "rotated_dir")
        PVEAUDIT_RETURN_IF_ERROR(str(v, name + "." + key, &fs->rotated_dir));
      else
        return unknown(v, name + "." + key);
    }
    return Status::OK();
  };
  for (auto&& [k, node] : tbl) {
    std::string key(k.str());
    if (key == "data_dir")
      PVEAUDIT_RETURN_IF_ERROR(str(node, key, &cfg.data_dir));
    else if (key == "timezone") {
      PVEAUDIT_RETURN_IF_ERROR(str(node, key, &cfg.timezone));
      // Regression: an unknown zone silently became UTC (glibc's fallback).
      if (!cfg.timezone.empty())
        if (Status st = CheckTimeZone(cfg.timezone); !st.ok())
          return Status::InvalidArgument(where(node) + ": key 'timezone': " + st.message());
    } else if (key == "node")
      PVEAUDIT_RETURN_IF_ERROR(str(node, key, &cfg.node));
    else if (key == "pve_dir")
      PVEAUDIT_RETURN_IF_ERROR(str(node, key, &cfg.pve_dir));
    else if (key == "store" && !node.is_table()) {
      PVEAUDIT_RETURN_IF_ERROR(str(node, key, &cfg.store_url));
      if (!cfg.store_url.empty())
        if (Status st = CheckStoreUrl(cfg.store_url); !st.ok())
          return Status::InvalidArgument(where(node) + ": key 'store': " + st.message());
    } else if (key == "store") {
      for (auto&& [sk, sv] : *node.as_table()) {
        std::string s = "store." + std::string(sk.str());
        if (sk.str() == "url") {
          PVEAUDIT_RETURN_IF_ERROR(str(sv, s, &cfg.store_url));
          if (!cfg.store_url.empty())
            if (Status st = CheckStoreUrl(cfg.store_url); !st.ok())
              return Status::InvalidArgument(where(sv) + ": key '" + s + "': " + st.message());
        } else if (sk.str() == "passfile") {
          PVEAUDIT_RETURN_IF_ERROR(str(sv, s, &cfg.store_passfile));
          if (!cfg.store_passfile.starts_with("/"))
            return Status::InvalidArgument(where(sv) + ": key '" + s + "' = \"" +
                                           cfg.store_passfile + "\" must be an absolute path");
        } else {
          return unknown(sv, s);
        }
      }
      if (cfg.store_url.empty() && !cfg.store_passfile.empty())
        return Status::InvalidArgument(path + ": [store] passfile is set without url");
    } else if (key == "daemon" && node.is_table()) {
      for (auto&& [dk, dv] : *node.as_table()) {
        std::string d = "daemon." + std::string(dk.str());
        if (dk.str() == "poll_ms")
          PVEAUDIT_RETURN_IF_ERROR(integer(dv, d, 10, 60000, &cfg.poll_ms));
        else if (dk.str() == "retry_ms")
          PVEAUDIT_RETURN_IF_ERROR(integer(dv, d, 10, 3600000, &cfg.retry_ms));
        else if (dk.str() == "commit_ms")
          PVEAUDIT_RETURN_IF_ERROR(integer(dv, d, 0, 10000, &cfg.commit_ms));
        else if (dk.str() == "commit_events")
          PVEAUDIT_RETURN_IF_ERROR(integer(dv, d, 1, 1000000, &cfg.commit_events));
        else if (dk.str() == "session_lifetime")
          PVEAUDIT_RETURN_IF_ERROR(integer(dv, d, 60, 30 * 86400, &cfg.session_lifetime_s));
        else if (dk.str() == "control_socket") {
          PVEAUDIT_RETURN_IF_ERROR(str(dv, d, &cfg.control_socket));
          // sun_path holds 108 bytes with the final NUL.
          if (!cfg.control_socket.empty() &&
              (cfg.control_socket[0] != '/' || cfg.control_socket.size() > 107))
            return Status::InvalidArgument(where(dv) + ": key '" + d + "' = \"" +
                                           cfg.control_socket +
                                           "\" must be an absolute path of at most 107 bytes");
        } else if (dk.str() == "control_socket_user")
          PVEAUDIT_RETURN_IF_ERROR(str(dv, d, &cfg.control_socket_user));
        else if (dk.str() == "on_store_error") {
          PVEAUDIT_RETURN_IF_ERROR(str(dv, d, &cfg.on_store_error));
          if (cfg.on_store_error != "retry" && cfg.on_store_error != "exit")
            return Status::InvalidArgument(where(dv) + ": key '" + d +
                                           "' must be \"retry\" or \"exit\"");
        } else {
          return unknown(dv, d);
        }
      }
    } else if (key == "web" && node.is_table()) {
      for (auto&& [wk, wv] : *node.as_table()) {
        std::string w = "web." + std::string(wk.str());
        if (wk.str() == "listen") {
          PVEAUDIT_RETURN_IF_ERROR(str(wv, w, &cfg.web_listen));
          // An address alone takes the default port.
          const std::string with_port = cfg.web_listen + ":" + std::to_string(kDefaultWebPort);
          if (!cfg.web_listen.empty() && !IsListenAddress(cfg.web_listen) &&
              IsListenAddress(with_port))
            cfg.web_listen = with_port;
          PVEAUDIT_RETURN_IF_ERROR(listen_address(wv, w, cfg.web_listen));
        } else if (wk.str() == "cert")
          PVEAUDIT_RETURN_IF_ERROR(str(wv, w, &cfg.web_cert));
        else if (wk.str() == "key")
          PVEAUDIT_RETURN_IF_ERROR(str(wv, w, &cfg.web_key));
        else if (wk.str() == "www")
          PVEAUDIT_RETURN_IF_ERROR(str(wv, w, &cfg.web_www));
        else
          return unknown(wv, w);
      }
      if (cfg.web_cert.empty() != cfg.web_key.empty())
        return Status::InvalidArgument(path + ": [web] cert and key must be set together");
    } else if (key == "export" && node.is_table()) {
      for (auto&& [xk, xv] : *node.as_table()) {
        std::string x = "export." + std::string(xk.str());
        if (xk.str() == "monthly") {
          PVEAUDIT_RETURN_IF_ERROR(str(xv, x, &cfg.export_monthly));
          if (!cfg.export_monthly.empty() && cfg.export_monthly[0] != '/')
            return Status::InvalidArgument(where(xv) + ": key '" + x + "' = \"" +
                                           cfg.export_monthly + "\" must be an absolute path");
        } else if (xk.str() == "monthly_format") {
          PVEAUDIT_RETURN_IF_ERROR(str(xv, x, &cfg.export_monthly_format));
          const std::string& f = cfg.export_monthly_format;
          if (f != "csv" && f != "json" && f != "cef")
            return Status::InvalidArgument(where(xv) + ": key '" + x + "' = \"" + f +
                                           "\" must be \"csv\", \"json\" or \"cef\"");
        } else {
          return unknown(xv, x);
        }
      }
    } else if (key == "retention" && node.is_table()) {
      for (auto&& [rk, rv] : *node.as_table()) {
        std::string r = "retention." + std::string(rk.str());
        std::string* out = rk.str() == "online"        ? &cfg.retention_online
                           : rk.str() == "archive"     ? &cfg.retention_archive
                           : rk.str() == "archive_dir" ? &cfg.retention_archive_dir
                                                       : nullptr;
        if (!out) return unknown(rv, r);
        PVEAUDIT_RETURN_IF_ERROR(str(rv, r, out));
        if (out == &cfg.retention_archive_dir) {
          if (!out->empty() && (*out)[0] != '/')
            return Status::InvalidArgument(where(rv) + ": key '" + r + "' = \"" + *out +
                                           "\" must be an absolute path");
        } else if (auto m = ParseRetentionPeriod(*out); !m.ok()) {
          return Status::InvalidArgument(where(rv) + ": key '" + r + "': " + m.status().message());
        }
      }
      if (!cfg.retention_online.empty() && !cfg.retention_archive.empty() &&
          *ParseRetentionPeriod(cfg.retention_online) >
              *ParseRetentionPeriod(cfg.retention_archive))
        return Status::InvalidArgument(path + ": [retention] online = \"" + cfg.retention_online +
                                       "\" is longer than archive = \"" + cfg.retention_archive +
                                       "\"");
    } else if (key == "compliance" && node.is_table()) {
      for (auto&& [ck, cv] : *node.as_table()) {
        std::string c = "compliance." + std::string(ck.str());
        if ((ck.str() == "hipaa" || ck.str() == "sox") && cv.is_table()) {
          // [compliance.hipaa] phi, [compliance.sox] data: data scopes.
          const bool hipaa = ck.str() == "hipaa";
          for (auto&& [dk, dv] : *cv.as_table()) {
            const std::string d = c + "." + std::string(dk.str());
            if (dk.str() != (hipaa ? "phi" : "data")) return unknown(dv, d);
            if (!dv.is_array())
              return Status::InvalidArgument(where(dv) + ": key '" + d +
                                             "' must be a list, e.g. [\"pool:" +
                                             (hipaa ? "ehr" : "finance") + "\", \"/vms/120\"]");
            for (auto&& item : *dv.as_array()) {
              std::string v;
              PVEAUDIT_RETURN_IF_ERROR(str(item, d, &v));
              auto path = ParseDataScope(v);
              if (!path.ok())
                return Status::InvalidArgument(where(item) + ": key '" + d +
                                               "': " + path.status().message());
              (hipaa ? cfg.compliance_hipaa_phi : cfg.compliance_sox_data).push_back(*path);
            }
          }
          continue;
        }
        const bool networks = ck.str() == "internal_networks";
        if (ck.str() != "standards" && !networks) return unknown(cv, c);
        if (!cv.is_array())
          return Status::InvalidArgument(
              where(cv) + ": key '" + c + "' must be a list, e.g. " +
              (networks ? "[\"10.0.0.0/8\", \"192.168.0.0/16\"]" : "[\"hipaa\", \"sox\"]"));
        for (auto&& item : *cv.as_array()) {
          std::string v;
          PVEAUDIT_RETURN_IF_ERROR(str(item, c, &v));
          IpRange range;
          if (networks && !ParseIpRange(v, &range))
            return Status::InvalidArgument(where(item) + ": key '" + c + "': '" + v +
                                           "' is not an address or CIDR range");
          if (!networks && v != "hipaa" && v != "pci-dss" && v != "sox")
            return Status::InvalidArgument(where(item) + ": key '" + c + "': '" + v +
                                           "' is not a standard (hipaa, pci-dss or sox)");
          (networks ? cfg.compliance_internal_networks : cfg.compliance_standards).push_back(v);
        }
      }
    } else if (key == "sources" && node.is_table()) {
      for (auto&& [sk, sv] : *node.as_table()) {
        std::string name = "sources." + std::string(sk.str());
        if (sk.str() == "access_log")
          PVEAUDIT_RETURN_IF_ERROR(file_source(sv, name, &cfg.access_log));
        else if (sk.str() == "auth")
          PVEAUDIT_RETURN_IF_ERROR(file_source(sv, name, &cfg.auth));
        else if (sk.str() == "tasks")
          PVEAUDIT_RETURN_IF_ERROR(file_source(sv, name, &cfg.tasks));
        else if (sk.str() == "journal" && sv.is_table()) {
          for (auto&& [k2, v2] : *sv.as_table()) {
            std::string n2 = name + "." + std::string(k2.str());
            if (k2.str() == "enabled") {
              if (v2.is_boolean()) {
                cfg.journal.enabled = *v2.value<bool>() ? JournalSourceConfig::Enabled::kYes
                                                        : JournalSourceConfig::Enabled::kNo;
              } else if (v2.value<std::string>() == std::optional<std::string>("auto")) {
                cfg.journal.enabled = JournalSourceConfig::Enabled::kAuto;
              } else {
                return Status::InvalidArgument(where(v2) + ": key '" + n2 +
                                               "' must be true, false or \"auto\"");
              }
            } else if (k2.str() == "directory") {
              PVEAUDIT_RETURN_IF_ERROR(str(v2, n2, &cfg.journal.directory));
            } else {
              return unknown(v2, n2);
            }
          }
        } else if (sk.str() == "syslog" && sv.is_table()) {
          for (auto&& [k2, v2] : *sv.as_table()) {
            std::string n2 = name + "." + std::string(k2.str());
            if (k2.str() == "enabled")
              PVEAUDIT_RETURN_IF_ERROR(boolean(v2, n2, &cfg.syslog_enabled));
            else if (k2.str() == "listen") {
              PVEAUDIT_RETURN_IF_ERROR(str(v2, n2, &cfg.syslog_listen));
              PVEAUDIT_RETURN_IF_ERROR(listen_address(v2, n2, cfg.syslog_listen));
            } else if (k2.str() == "tls") {
              PVEAUDIT_RETURN_IF_ERROR(str(v2, n2, &cfg.syslog_tls));
              PVEAUDIT_RETURN_IF_ERROR(listen_address(v2, n2, cfg.syslog_tls));
            } else if (k2.str() == "tls_cert")
              PVEAUDIT_RETURN_IF_ERROR(str(v2, n2, &cfg.syslog_tls_cert));
            else if (k2.str() == "tls_key")
              PVEAUDIT_RETURN_IF_ERROR(str(v2, n2, &cfg.syslog_tls_key));
            else if (k2.str() == "tls_ca")
              PVEAUDIT_RETURN_IF_ERROR(str(v2, n2, &cfg.syslog_tls_ca));
            else if (k2.str() == "tls_require_client_cert")
              PVEAUDIT_RETURN_IF_ERROR(boolean(v2, n2, &cfg.syslog_tls_require_client_cert));
            else if (k2.str() == "tls_handshake_timeout")
              PVEAUDIT_RETURN_IF_ERROR(
                  integer(v2, n2, 1, 300, &cfg.syslog_tls_handshake_timeout_s));
            else if (k2.str() == "peer") {
              if (!v2.is_array_of_tables())
                return Status::InvalidArgument(where(v2) + ": '" + n2 +
                                               "' must be an array of tables ([[" + n2 + "]])");
              for (auto&& pe : *v2.as_array()) {
                SyslogPeerConfig p;
                for (auto&& [k3, v3] : *pe.as_table()) {
                  std::string n3 = n2 + "." + std::string(k3.str());
                  if (k3.str() == "node")
                    PVEAUDIT_RETURN_IF_ERROR(str(v3, n3, &p.node));
                  else if (k3.str() == "address") {
                    PVEAUDIT_RETURN_IF_ERROR(str(v3, n3, &p.address));
                    if (!IsAddressOrNetwork(p.address))
                      return Status::InvalidArgument(
                          where(v3) + ": key '" + n3 + "': '" + p.address +
                          "' is not a numeric IPv4/IPv6 address or ADDR/PREFIX");
                  } else if (k3.str() == "certificate")
                    PVEAUDIT_RETURN_IF_ERROR(str(v3, n3, &p.certificate));
                  else
                    return unknown(v3, n3);
                }
                if (p.node.empty())
                  return Status::InvalidArgument(where(pe) + ": '" + n2 +
                                                 "' needs a node = \"NAME\"");
                if (p.address.empty() && p.certificate.empty())
                  return Status::InvalidArgument(where(pe) + ": '" + n2 + "' for node '" + p.node +
                                                 "' needs an address or a certificate name");
                cfg.syslog_peers.push_back(std::move(p));
              }
            } else
              return unknown(v2, n2);
          }
          if (!cfg.syslog_tls.empty()) {
            if (cfg.syslog_tls_cert.empty() || cfg.syslog_tls_key.empty())
              return Status::InvalidArgument(where(sv) + ": [" + name +
                                             "] tls needs tls_cert and tls_key");
            if (cfg.syslog_tls_require_client_cert && cfg.syslog_tls_ca.empty())
              return Status::InvalidArgument(
                  where(sv) + ": [" + name +
                  "] tls needs tls_ca (the CA of the clients' certificates), or "
                  "tls_require_client_cert = false");
          }
          if (cfg.syslog_listen.empty() && cfg.syslog_tls.empty())
            return Status::InvalidArgument(where(sv) + ": [" + name +
                                           "] needs listen or tls (both are empty)");
        } else {
          return unknown(sv, name);
        }
      }
    } else {
      return unknown(node, key);
    }
  }
  return cfg;
}

bool JournalEnabled(const Config& c) {
  switch (c.journal.enabled) {
    case JournalSourceConfig::Enabled::kYes:
      return true;
    case JournalSourceConfig::Enabled::kNo:
      return false;
    case JournalSourceConfig::Enabled::kAuto:
      break;
  }
  std::error_code ec;
  return !c.auth.enabled || c.auth.path.empty() || !std::filesystem::exists(c.auth.path, ec);
}

}  // namespace pveaudit

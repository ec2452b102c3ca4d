#include "config/config.h"

#include <toml++/toml.h>

#include <cstdlib>
#include <filesystem>
#include <set>

namespace pveaudit {

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
  static const std::set<std::string> kKnown = {"data_dir", "timezone", "node", "pve_dir"};
  for (auto&& [key, node] : tbl) {
    std::string k(key.str());
    std::string where = path + ":" + std::to_string(node.source().begin.line);
    if (!kKnown.count(k)) {
      // Later issues add sections (daemon, sources, alerts); until then a
      // table is accepted so one config file serves every version.
      if (node.is_table()) continue;
      return Status::InvalidArgument(where + ": unknown key '" + k + "'");
    }
    auto s = node.value<std::string>();
    if (!s) return Status::InvalidArgument(where + ": key '" + k + "' must be a string");
    if (k == "data_dir")
      cfg.data_dir = *s;
    else if (k == "timezone")
      cfg.timezone = *s;
    else if (k == "node")
      cfg.node = *s;
    else if (k == "pve_dir")
      cfg.pve_dir = *s;
  }
  return cfg;
}

}  // namespace pveaudit

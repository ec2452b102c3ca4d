// pve_config.cc
// LoadPveConfig reads a Proxmox config directory (/etc/pve layout) into a
// PveConfig; UserTfaStatus answers "does this user have a second factor".
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "pve/access_config.h"
#include "pve/parse_util.h"

namespace pveaudit::pve {

Result<std::string> ReadWholeFile(const std::string& path) {
  errno = 0;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    int err = errno;
    std::string msg = "cannot read " + path + ": " + std::strerror(err);
    return err == ENOENT ? Status::NotFound(msg) : Status::IOError(msg);
  }
  std::string data;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  bool failed = std::ferror(f) != 0;
  int err = errno;
  std::fclose(f);
  if (failed) return Status::IOError("cannot read " + path + ": " + std::strerror(err));
  return data;
}

namespace {

namespace fs = std::filesystem;

std::string JoinPath(const std::string& dir, const std::string& rel) {
  if (dir.empty()) return rel;
  return dir.back() == '/' ? dir + rel : dir + "/" + rel;
}

// storage.cfg: section headers "type: storeid" (pve-storage's
// parse_section_header, storeid checked like pve-storage-id).
std::set<std::string> ParseStorageIds(std::string_view text, const std::string& file,
                                      std::vector<ConfigWarning>* warnings) {
  std::set<std::string> ids;
  int lineno = 0;
  for (size_t pos = 0; pos <= text.size();) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++lineno;
    if (line.empty() || line[0] == ' ' || line[0] == '\t' || line[0] == '#') continue;
    std::string_view t = TrimSpace(line);
    if (t.empty()) continue;
    size_t colon = t.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view id = TrimSpace(t.substr(colon + 1));
    if (id.empty() || id.find_first_of(" \t") != std::string_view::npos) continue;
    if (!ValidStorageId(id)) {
      warnings->push_back(
          {file, lineno, "skip section '" + std::string(id) + "': invalid storage ID"});
      continue;
    }
    ids.emplace(id);
  }
  return ids;
}

// Names of the entries of `dir` (without "." and ".."), sorted; with
// `dirs_only`, only those that are directories (symlinks followed). Only
// the listing is read (no stat per entry unless the file system does not
// report the type): a cluster can have tens of thousands of guest configs.
std::vector<std::string> ListDir(const std::string& dir, bool dirs_only) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (!d) return names;
  while (const dirent* e = readdir(d)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    if (dirs_only && e->d_type != DT_DIR) {
      if (e->d_type != DT_LNK && e->d_type != DT_UNKNOWN) continue;
      struct stat st;
      if (stat((dir + "/" + e->d_name).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    }
    names.emplace_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// nodes/NODE/qemu-server/VMID.conf and nodes/NODE/lxc/VMID.conf.
void ScanGuests(const std::string& dir, Inventory* inv, std::vector<ConfigWarning>* warnings) {
  std::error_code ec;
  const std::string nodes = JoinPath(dir, "nodes");
  if (!fs::is_directory(nodes, ec)) {
    warnings->push_back({nodes, 0, "not found; guest inventory is empty"});
    return;
  }
  for (const std::string& node : ListDir(nodes, true)) {
    for (const auto& [sub, type] : {std::pair{"qemu-server", "qemu"}, std::pair{"lxc", "lxc"}}) {
      const std::string d = nodes + "/" + node + "/" + sub;
      std::error_code dec;
      if (!fs::is_directory(d, dec)) continue;
      for (const std::string& name : ListDir(d, false)) {
        // VMID.conf: the stem all digits (what path::stem/extension give).
        constexpr std::string_view kExt = ".conf";
        if (name.size() <= kExt.size() ||
            name.compare(name.size() - kExt.size(), kExt.size(), kExt.data(), kExt.size()) != 0)
          continue;
        std::string stem = name.substr(0, name.size() - kExt.size());
        if (!AllDigits(stem) || stem.size() > 9) continue;
        int vmid = std::stoi(stem);
        if (inv->guests.count(vmid)) {
          warnings->push_back({d + "/" + name, 0,
                               "duplicate vmid " + stem + " (also on node " +
                                   inv->guest_node[vmid] + "); keeping the first"});
          continue;
        }
        inv->guests[vmid] = type;
        inv->guest_node[vmid] = node;
      }
    }
  }
}

void Append(std::vector<ConfigWarning>* to, const std::vector<ConfigWarning>& from) {
  to->insert(to->end(), from.begin(), from.end());
}

}  // namespace

Result<PveConfig> LoadPveConfig(const std::string& dir) {
  PveConfig cfg;
  cfg.dir = dir;
  std::string user_path = JoinPath(dir, "user.cfg");
  auto user_text = ReadWholeFile(user_path);
  if (!user_text.ok()) return user_text.status();
  cfg.access = ParseUserCfg(*user_text, user_path);
  Append(&cfg.warnings, cfg.access.warnings);

  std::string tfa_path = JoinPath(dir, "priv/tfa.cfg");
  if (auto tfa_text = ReadWholeFile(tfa_path); tfa_text.ok()) {
    auto tfa = ParseTfaCfg(*tfa_text, tfa_path);
    if (tfa.ok()) {
      cfg.tfa = std::move(*tfa);
      Append(&cfg.warnings, cfg.tfa.warnings);
    } else {
      cfg.warnings.push_back({tfa_path, 0, tfa.status().message() + "; no TFA factors known"});
    }
  } else if (tfa_text.status().code() == Status::Code::kNotFound) {
    cfg.warnings.push_back({tfa_path, 0, "not found; no user has TFA factors"});
  } else {
    cfg.warnings.push_back({tfa_path, 0, tfa_text.status().message() + "; TFA factors unknown"});
  }

  std::string domains_path = JoinPath(dir, "domains.cfg");
  auto domains_text = ReadWholeFile(domains_path);
  if (!domains_text.ok()) {
    cfg.warnings.push_back(
        {domains_path, 0,
         domains_text.status().code() == Status::Code::kNotFound
             ? std::string("not found; only the pam and pve realms exist")
             : domains_text.status().message() + "; only the pam and pve realms are known"});
  }
  auto realms = ParseDomainsCfg(domains_text.ok() ? *domains_text : std::string(), domains_path,
                                &cfg.warnings);
  if (realms.ok()) cfg.realms = std::move(*realms);

  std::string storage_path = JoinPath(dir, "storage.cfg");
  if (auto storage_text = ReadWholeFile(storage_path); storage_text.ok()) {
    cfg.inventory.storages = ParseStorageIds(*storage_text, storage_path, &cfg.warnings);
  } else {
    cfg.warnings.push_back({storage_path, 0,
                            storage_text.status().code() == Status::Code::kNotFound
                                ? std::string("not found; no storages known")
                                : storage_text.status().message() + "; no storages known"});
  }
  ScanGuests(dir, &cfg.inventory, &cfg.warnings);
  return cfg;
}

TfaStatus UserTfaStatus(const PveConfig& cfg, const std::string& userid) {
  TfaStatus st;
  std::set<std::string> types;
  if (auto it = cfg.tfa.users.find(userid); it != cfg.tfa.users.end())
    for (const TfaFactor& f : it->second)
      if (f.enabled) types.insert(f.type);
  if (auto u = cfg.access.users.find(userid); u != cfg.access.users.end()) {
    // keys "x" / "x!<type>" only say "has entries in tfa.cfg"; anything else
    // is a legacy secret list (Yubico ids or TOTP secrets) still honoured.
    const std::string& keys = u->second.keys;
    bool marker = !keys.empty() && keys[0] == 'x' && (keys.size() == 1 || keys[1] == '!');
    if (!keys.empty() && !marker) types.insert("legacy");
  }
  st.types.assign(types.begin(), types.end());
  std::string realm;
  if (VerifyUsername(userid, &realm)) {
    if (auto r = cfg.realms.find(realm); r != cfg.realms.end() && !r->second.tfa_type.empty()) {
      st.realm_enforced = true;
      st.realm_type = r->second.tfa_type;
    }
  }
  return st;
}

}  // namespace pveaudit::pve

// domains_cfg.cc
// ParseDomainsCfg: domains.cfg as PVE::SectionConfig::parse_config with the
// PVE::Auth::Plugin section header reads it: "type: realm" starts a
// section, indented "key value" lines are its properties, an empty line
// ends it, '#' lines are comments. Afterwards the pam and pve realms are
// forced to exist (PVE::Auth::Plugin::parse_config).
#include <cctype>
#include <optional>
#include <set>

#include "pve/access_config.h"
#include "pve/parse_util.h"

namespace pveaudit::pve {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// m/^(\S+):\s*(\S+)\s*$/
bool ParseHeader(std::string_view line, std::string* type, std::string* id) {
  if (line.empty() || IsSpace(line[0])) return false;
  size_t i = 0;
  while (i < line.size() && !IsSpace(line[i])) ++i;
  // \S+ is greedy then backtracks to the last ':' of the first word.
  std::string_view word = line.substr(0, i);
  size_t colon = word.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view rest = TrimSpace(line.substr(colon + 1));
  if (rest.empty()) return false;
  for (char c : rest)
    if (IsSpace(c)) return false;
  *type = std::string(word.substr(0, colon));
  for (char& c : *type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  *id = std::string(rest);
  return true;
}

// m/^\s+(\S+)(\s+(.*\S))?\s*$/
bool ParseProperty(std::string_view line, std::string* key, std::string* value) {
  if (line.empty() || !IsSpace(line[0])) return false;
  std::string_view t = TrimSpace(line);
  if (t.empty()) return false;
  size_t i = 0;
  while (i < t.size() && !IsSpace(t[i])) ++i;
  *key = std::string(t.substr(0, i));
  *value = std::string(TrimSpace(t.substr(i)));
  return true;
}

// JSON schema booleans: 1|0|true|false|yes|no|on|off (case-insensitive).
bool ParseBool(std::string_view v, bool* out) {
  std::string l(v);
  for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "1" || l == "true" || l == "yes" || l == "on") return *out = true, true;
  if (l == "0" || l == "false" || l == "no" || l == "off") return *out = false, true;
  return false;
}

// The $tfa_format property string: type=yubico|oath plus id, key, url,
// digits, step. Returns the type or "" (with *error) when invalid.
std::string ParseTfaProperty(const std::string& value, std::string* error) {
  std::string type;
  for (const std::string& part : SplitList(value)) {  // property strings split on ','
    size_t eq = part.find('=');
    if (eq == std::string::npos) {
      *error = "missing key in property string '" + part + "'";
      return "";
    }
    std::string k = part.substr(0, eq), v = part.substr(eq + 1);
    if (k == "type") {
      if (v != "oath" && v != "yubico") {
        *error = "value '" + v + "' does not have a value in the enumeration 'yubico, oath'";
        return "";
      }
      type = v;
    } else if (k != "id" && k != "key" && k != "url" && k != "digits" && k != "step") {
      *error = "property '" + k + "' is not defined in schema";
      return "";
    }
  }
  if (type.empty()) *error = "property 'type' is missing";
  return type;
}

}  // namespace

Result<std::map<std::string, Realm>> ParseDomainsCfg(std::string_view text, const std::string& file,
                                                     std::vector<ConfigWarning>* warnings) {
  std::map<std::string, Realm> realms;
  auto warn = [&](int line, std::string msg) {
    if (warnings) warnings->push_back({file, line, std::move(msg)});
  };
  static const std::set<std::string> kTypes = {"pam", "pve", "ldap", "ad", "openid"};

  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos <= text.size();) {
    size_t nl = text.find('\n', pos);
    lines.push_back(
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
  }
  size_t idx = 0;
  int lineno = 0;
  // $nextline: the next line that is not a comment; nullopt at the end.
  auto next = [&]() -> std::optional<std::string_view> {
    while (idx < lines.size()) {
      std::string_view l = lines[idx++];
      ++lineno;
      std::string_view t = l;
      while (!t.empty() && IsSpace(t[0])) t.remove_prefix(1);
      if (!t.empty() && t[0] == '#') continue;
      return l;
    }
    return std::nullopt;
  };
  while (auto line = next()) {
    if (!PerlTrue(*line)) continue;
    std::string type, id;
    if (!ParseHeader(*line, &type, &id)) {
      warn(lineno, "ignore config line: " + std::string(*line));
      continue;
    }
    bool ignore = false;
    if (!ValidRealm(id)) {
      ignore = true;
      warn(lineno, "skip section '" + id + "': value does not look like a valid realm");
    } else if (!kTypes.count(type)) {
      ignore = true;
      warn(lineno, "skip section '" + id + "': unsupported type '" + type + "'");
    }
    Realm realm;
    realm.name = id;
    realm.type = type;
    // Properties until an empty (or "0") line ends the section.
    while (auto prop = next()) {
      if (!PerlTrue(*prop)) break;
      if (ignore) continue;
      std::string key, value;
      if (!ParseProperty(*prop, &key, &value)) {
        warn(lineno, "section '" + id + "' - ignore config line: " + std::string(*prop));
        continue;
      }
      if (key == "comment") {
        realm.comment = DecodeText(value);
      } else if (key == "default") {
        bool b = false;
        if (!ParseBool(value, &b))
          warn(lineno, "section '" + id +
                           "' - unable to parse value of 'default': type check "
                           "('boolean') failed - got '" +
                           value + "'");
        else
          realm.is_default = b;
      } else if (key == "tfa") {
        std::string error;
        std::string t = ParseTfaProperty(value, &error);
        if (t.empty())
          warn(lineno, "section '" + id + "' - unable to parse value of 'tfa': " + error);
        else
          realm.tfa_type = t;
      }
    }
    if (ignore) continue;
    if (realms.count(id)) {
      warn(lineno, "skip section '" + id + "': duplicate section");
      continue;
    }
    realms[id] = std::move(realm);
  }
  // The built-in realms always exist with their fixed type.
  Realm& pve = realms["pve"];
  pve.name = "pve";
  pve.type = "pve";
  if (pve.comment.empty()) pve.comment = "Proxmox VE authentication server";
  Realm& pam = realms["pam"];
  pam.name = "pam";
  pam.type = "pam";
  if (pam.comment.empty()) pam.comment = "Linux PAM standard authentication";
  return realms;
}

}  // namespace pveaudit::pve

// tfa_cfg.cc
// ParseTfaCfg: priv/tfa.cfg as proxmox-perl-rs reads it (pve-rs
// bindings/tfa.rs): serde JSON first, else the PVE 6 "USER:TYPE:base64"
// lines, else the whole file is rejected. Only what an audit needs is kept
// (factor type, id, description, created, enabled, lock state); secrets,
// TOTP URIs, key handles and recovery codes are read past, never stored.
#include <ctime>
#include <nlohmann/json.hpp>

#include "pve/access_config.h"
#include "pve/parse_util.h"

namespace pveaudit::pve {
namespace {

using nlohmann::json;

constexpr const char* kNeither = "failed to parse TFA file, neither old style nor valid json";

// An error that makes the JSON reading fail as serde would (the old format
// is tried next).
struct JsonShapeError {
  std::string message;
};

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';  // u8::is_ascii_whitespace
}

std::string_view TrimAscii(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && IsAsciiSpace(s[b])) ++b;
  while (e > b && IsAsciiSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    size_t len = b0 < 0x80                    ? 1
                 : (b0 >= 0xc2 && b0 <= 0xdf) ? 2
                 : (b0 >= 0xe0 && b0 <= 0xef) ? 3
                 : (b0 >= 0xf0 && b0 <= 0xf4) ? 4
                                              : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    i += len;
  }
  return true;
}

// Standard or URL-safe base64, padding optional. False on any other byte.
bool Base64Decode(std::string_view in, bool url, std::string* out) {
  auto value = [url](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == (url ? '-' : '+')) return 62;
    if (c == (url ? '_' : '/')) return 63;
    return -1;
  };
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return false;
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

bool AllOf(std::string_view s, bool (*pred)(char)) {
  for (char c : s)
    if (!pred(c)) return false;
  return true;
}
bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsBase32(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7') || c == '=';
}

// keys.split([',', ';', ' ']) with ASCII trimming, empty pieces skipped.
std::vector<std::string> SplitOldKeys(const std::string& keys) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    std::string_view t = TrimAscii(cur);
    if (!t.empty()) out.emplace_back(t);
    cur.clear();
  };
  for (char c : keys) {
    if (c == ',' || c == ';' || c == ' ')
      flush();
    else
      cur.push_back(c);
  }
  flush();
  return out;
}

std::string TakeString(json& obj, const char* what, const char* in_what) {
  auto it = obj.find(what);
  if (it == obj.end())
    throw JsonShapeError{std::string("missing '") + what + "' value in " + in_what + " entry"};
  if (!it->is_string()) throw JsonShapeError{std::string("bad '") + what + "' value"};
  std::string s = it->get<std::string>();
  obj.erase(it);
  return s;
}

bool UsizeFromPerl(const json& v) {
  if (v.is_number_unsigned()) return true;
  if (v.is_number_integer()) return v.get<int64_t>() >= 0;
  if (v.is_string()) return AllDigits(v.get<std::string>());
  return false;
}

// decode_old_entry: the factors of one old-style line (throws on what the
// Rust code rejects).
std::vector<TfaFactor> DecodeOldEntry(const std::string& type, const std::string& data) {
  json value = json::parse(data, nullptr, false);
  if (value.is_discarded()) throw JsonShapeError{"failed to parse json data in tfa entry"};
  TfaFactor info;
  info.id = "v1-entry";
  info.description = "<old version 1 entry>";
  std::vector<TfaFactor> out;
  if (type == "u2f") {
    if (!value.is_object()) throw JsonShapeError{"bad json type for u2f registration"};
    if (value.contains("challenge")) return out;  // old partial registration: discarded
    std::string handle = TakeString(value, "keyHandle", "u2f"), bytes;
    if (!Base64Decode(handle, true, &bytes) || handle.find('=') != std::string::npos)
      throw JsonShapeError{"handle in u2f entry"};
    if (!Base64Decode(TakeString(value, "publicKey", "u2f"), false, &bytes))
      throw JsonShapeError{"bad public key in u2f entry"};
    if (!value.empty()) throw JsonShapeError{"invalid extra data in u2f entry"};
    info.type = "u2f";
    out.push_back(info);
  } else if (type == "oath") {
    if (!value.is_object()) throw JsonShapeError{"bad json type for oath registration"};
    auto cfg = value.find("config");
    if (cfg == value.end()) throw JsonShapeError{"missing 'config' entry in oath tfa entry"};
    if (!cfg->is_object()) throw JsonShapeError{"bad 'config' entry in oath tfa entry"};
    for (const auto& [k, v] : cfg->items()) {
      if (k != "step" && k != "digits")
        throw JsonShapeError{"unhandled totp config keys in oath entry"};
      if (!UsizeFromPerl(v)) throw JsonShapeError{"bad '" + k + "' value in oath config"};
    }
    value.erase(cfg);
    for (const std::string& key : SplitOldKeys(TakeString(value, "keys", "oath"))) {
      std::string_view k = key;
      bool ok;
      if (k.substr(0, 5) == "v2-0x")
        ok = AllOf(k.substr(5), IsHex) && (k.size() - 5) % 2 == 0;
      else if (k.substr(0, 3) == "v2-")
        ok = AllOf(k.substr(3), IsBase32);
      else if (k.size() == 16)
        ok = AllOf(k, IsBase32);
      else if (k.size() == 40)
        ok = AllOf(k, IsHex);
      else
        throw JsonShapeError{"unrecognized key format, must be hex or base32 encoded"};
      if (!ok) throw JsonShapeError{"bad key in oath entry"};
      info.type = "totp";
      out.push_back(info);
    }
  } else if (type == "yubico") {
    if (!value.is_object()) throw JsonShapeError{"bad json type for yubico registration"};
    for (size_t i = 0, n = SplitOldKeys(TakeString(value, "keys", "yubico")).size(); i < n; ++i) {
      info.type = "yubico";
      out.push_back(info);
    }
  } else {
    throw JsonShapeError{"unknown tfa.cfg entry type: \"" + type + "\""};
  }
  return out;
}

// parse_old_config. Each line replaces what an earlier line of the same
// user defined.
TfaConfig ParseOld(std::string_view text) {
  TfaConfig cfg;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = TrimAscii(
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    if (line.empty() || line[0] == '#') continue;
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) throw JsonShapeError{"bad line in tfa config"};
    std::string user(line.substr(0, c1));
    if (!ValidUtf8(user)) throw JsonShapeError{"bad non-utf8 username in tfa config"};
    std::string type(line.substr(c1 + 1, c2 - c1 - 1)), data;
    if (!Base64Decode(line.substr(c2 + 1), false, &data))
      throw JsonShapeError{"failed to decode data in tfa config entry"};
    cfg.users[user] = DecodeOldEntry(type, data);
  }
  return cfg;
}

// TfaEntry<T>: flattened TfaInfo (id, description, created, enable) + entry.
TfaFactor ReadEntry(const std::string& type, const json& e) {
  if (!e.is_object()) throw JsonShapeError{"tfa entry is not an object"};
  TfaFactor f;
  f.type = type;
  auto id = e.find("id");
  if (id == e.end() || !id->is_string()) throw JsonShapeError{"tfa entry without 'id'"};
  f.id = id->get<std::string>();
  if (auto d = e.find("description"); d != e.end()) {
    if (!d->is_string()) throw JsonShapeError{"bad 'description' in tfa entry"};
    f.description = d->get<std::string>();
  }
  auto created = e.find("created");
  if (created == e.end() || !created->is_number_integer())
    throw JsonShapeError{"tfa entry without 'created'"};
  f.created = created->get<int64_t>();
  if (auto en = e.find("enable"); en != e.end()) {
    if (!en->is_boolean()) throw JsonShapeError{"bad 'enable' in tfa entry"};
    f.enabled = en->get<bool>();
  }
  if (!e.contains("entry")) throw JsonShapeError{"tfa entry without 'entry'"};
  return f;
}

TfaConfig ParseJson(const json& root, int64_t now) {
  if (!root.is_object()) throw JsonShapeError{"not a JSON object"};
  TfaConfig cfg;
  auto users = root.find("users");
  if (users == root.end()) return cfg;
  if (!users->is_object()) throw JsonShapeError{"'users' is not an object"};
  for (const auto& [userid, data] : users->items()) {
    if (!data.is_object()) throw JsonShapeError{"user '" + userid + "' is not an object"};
    std::vector<TfaFactor>& factors = cfg.users[userid];
    // TfaUserData is deny_unknown_fields.
    static const std::set<std::string> kKeys = {
        "totp", "u2f", "webauthn", "yubico", "recovery", "totp-locked", "tfa-locked-until"};
    for (const auto& [key, value] : data.items())
      if (!kKeys.count(key))
        throw JsonShapeError{"unknown field '" + key + "' of user '" + userid + "'"};
    // Factors in TfaUserData's field order.
    for (const char* type : {"totp", "u2f", "webauthn", "yubico"}) {
      auto list = data.find(type);
      if (list == data.end()) continue;
      if (!list->is_array()) throw JsonShapeError{std::string("'") + type + "' is not an array"};
      for (const json& e : *list) factors.push_back(ReadEntry(type, e));
    }
    if (auto rec = data.find("recovery"); rec != data.end()) {
      if (!rec->is_object()) throw JsonShapeError{"'recovery' is not an object"};
      TfaFactor f;
      f.type = "recovery";
      f.id = "recovery";
      if (auto c = rec->find("created"); c != rec->end() && c->is_number_integer())
        f.created = c->get<int64_t>();
      // Used codes are null; with none left the factor cannot be used.
      bool available = false;
      if (auto entries = rec->find("entries"); entries != rec->end()) {
        if (!entries->is_array()) throw JsonShapeError{"bad recovery 'entries'"};
        for (const json& code : *entries) available = available || !code.is_null();
      }
      f.enabled = available;
      factors.push_back(f);
    }
    if (auto v = data.find("totp-locked"); v != data.end()) {
      if (!v->is_boolean()) throw JsonShapeError{"bad 'totp-locked'"};
      if (v->get<bool>()) cfg.locked.insert(userid);
    }
    if (auto v = data.find("tfa-locked-until"); v != data.end()) {
      if (!v->is_number_integer()) throw JsonShapeError{"bad 'tfa-locked-until'"};
      if (v->get<int64_t>() > now) cfg.locked.insert(userid);  // expired ones are dropped
    }
  }
  return cfg;
}

}  // namespace

Result<TfaConfig> ParseTfaCfg(std::string_view text, const std::string& file) {
  TfaConfig cfg;
  std::string json_error;
  json root = json::parse(text, nullptr, false);
  bool parsed = false;
  if (!root.is_discarded()) {
    try {
      cfg = ParseJson(root, static_cast<int64_t>(std::time(nullptr)));
      parsed = true;
    } catch (const JsonShapeError& e) {
      json_error = e.message;
    }
  }
  if (!parsed) {
    try {
      cfg = ParseOld(text);
    } catch (const JsonShapeError& e) {
      std::string detail = json_error.empty() ? e.message : json_error;
      return Status::Corruption(file + ": " + kNeither + " (" + detail + ")");
    }
  }
  // parse_priv_tfa_config purges users whose name is not a valid userid.
  for (auto it = cfg.users.begin(); it != cfg.users.end();) {
    if (VerifyUsername(it->first)) {
      ++it;
      continue;
    }
    cfg.warnings.push_back(
        {file, 0, "user tfa config - ignore user '" + it->first + "' - invalid user name"});
    cfg.locked.erase(it->first);
    it = cfg.users.erase(it);
  }
  for (auto it = cfg.locked.begin(); it != cfg.locked.end();)
    it = cfg.users.count(*it) ? std::next(it) : cfg.locked.erase(it);
  return cfg;
}

}  // namespace pveaudit::pve

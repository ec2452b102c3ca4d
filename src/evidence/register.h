// register.h
// A numbered register kept as one JSON setting in the store ({"next_id",
// "items"}), every change an audit event (store/audited_setting.h): the
// exceptions register (exceptions.h) and the legal holds (retention.h).
// T must have a uint64_t `id` and nlohmann to/from_json.
// Changes are read-modify-write of the one setting: two changes made at
// the same instant from two processes can lose one (each is still
// recorded as its audit event with before and after).
// Thread safety: none of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/audited_setting.h"
#include "store/event_store.h"

namespace pveaudit {

template <typename T>
struct JsonRegister {
  uint64_t next_id = 1;
  std::vector<T> items;
  std::optional<std::string> raw;  // as stored (nullopt: never set)
};

// Reads the register under `key`; `check` (may be empty) completes and
// checks each item as read (Corruption naming it when it fails).
template <typename T>
Result<JsonRegister<T>> ReadRegister(EventStore& store, const std::string& key,
                                     const std::function<Status(T*)>& check = {}) {
  JsonRegister<T> r;
  auto v = store.GetSetting(key);
  if (!v.ok()) return v.status();
  r.raw = *v;
  if (!*v || (*v)->empty()) return r;
  const Status damaged = Status::Corruption("setting " + key + " is damaged");
  nlohmann::json j = nlohmann::json::parse(**v, nullptr, false);
  if (!j.is_object() || !j["items"].is_array()) return damaged;
  r.next_id = j.value("next_id", uint64_t(1));
  for (const auto& o : j["items"]) {
    if (!o.is_object()) return damaged;
    T item;
    try {
      item = o.get<T>();
    } catch (const nlohmann::json::exception&) {
      return damaged;
    }
    if (check) PVEAUDIT_RETURN_IF_ERROR(check(&item));
    r.items.push_back(std::move(item));
  }
  return r;
}

// Writes `reg` under `key` with the audit event of one change to the item
// `id`: action (e.g. "pveaudit:hold-add"), resource `resource_prefix` +
// id, and a one-line summary.
template <typename T>
Status SaveRegister(EventStore& store, const Actor& actor, const std::string& node,
                    const std::string& key, const JsonRegister<T>& reg, const char* action,
                    const std::string& resource_prefix, uint64_t id, std::string summary) {
  nlohmann::json items = nlohmann::json::array();
  for (const T& x : reg.items) items.push_back(x);
  SettingChange c;
  c.key = key;
  c.before = reg.raw;
  c.after = nlohmann::json{{"next_id", reg.next_id}, {"items", items}}.dump();
  c.action = action;
  c.resource = resource_prefix + std::to_string(id);
  c.summary = std::move(summary);
  c.node = node;
  return PutAuditedSetting(store, actor, c);
}

}  // namespace pveaudit

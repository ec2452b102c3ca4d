// event_json.h
// The JSON form of an Event: what `pveam access log --output-format json`
// prints and what `pveam access import --format json` reads back, one object
// per line. Keys: id, time (RFC 3339 UTC), node, user, ip, action, resource,
// result (success|failure|unknown), status, source, session, detail,
// origin, line. Later tools and tests rely on these names. Every value but
// id and line is a string; an unknown user or address is "" (never null,
// never "-": text output shows "-", CSV an empty cell).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "core/event.h"
#include "core/status.h"

namespace pveaudit {

nlohmann::json EventToJson(const Event& e);
// Parses one object; requires time, user (may be ""), action; the rest
// default. id is ignored (the store assigns ids). Errors name the bad key.
Result<Event> EventFromJson(std::string_view text);

}  // namespace pveaudit

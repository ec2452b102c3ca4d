// audit_event.h
// The events pveaudit records about the evidence it produced
// (audit:review, audit:export, audit:log-review; docs/actions.md): source
// "pveaudit", resource "/", a success, by `user` on `node`.
// Thread safety: a pure function.
#pragma once

#include <cstdint>
#include <string>

#include "core/event.h"

namespace pveaudit {

inline Event OwnAuditEvent(std::string action, std::string user, std::string node,
                           std::string detail, int64_t time_us) {
  Event e;
  e.time_us = time_us;
  e.node = std::move(node);
  e.user = std::move(user);
  e.action = std::move(action);
  e.resource = "/";
  e.result = Outcome::kSuccess;
  e.source = "pveaudit";
  e.detail = std::move(detail);
  return e;
}

}  // namespace pveaudit

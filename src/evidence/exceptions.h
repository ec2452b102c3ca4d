// exceptions.h
// The exceptions register (best practice 5, "Document exceptions"): a
// documented, approved, dated deviation from one requirement for one
// subject (a user, token, pool or ACL path), e.g. pci-dss:2fa for
// svc-backup@pve until 2027-03-31. A compliance check that fails only
// because of an active exception reports EXCEPTED with its reference; an
// expired exception is a finding. Kept in the store's settings
// ("compliance.exceptions"); every add and remove is an audit event with
// who, before and after (store/audited_setting.h).
// Thread safety: none of its own; the store serialises changes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/audited_setting.h"
#include "store/event_store.h"

namespace pveaudit {

struct ComplianceException {
  uint64_t id = 0;
  std::string requirement;  // a Requirements() id
  std::string subject;      // "svc-backup@pve", "/vms/120", "pool:ehr", ...
  std::string reason, approved_by;
  std::string expires;         // YYYY-MM-DD: the last day it applies (cluster zone)
  int64_t expires_end_us = 0;  // the next day's 00:00: active while now < this
  std::string created;         // RFC 3339 UTC
  std::string created_by;
  bool Active(int64_t now_us) const { return now_us < expires_end_us; }
};

// "2027-03-31" (a real calendar day) -> the next day's 00:00 in the
// cluster zone, the end of that day; false otherwise. Shared with the
// legal holds (retention.h).
bool ParseLastDay(const std::string& day, int64_t* end_us);
// InvalidArgument naming `flag` unless `value` is one line of text, no
// control characters, 1..1024 bytes.
Status CheckOneLine(const std::string& flag, const std::string& value);

// An id as typed ("3"): false unless 1-19 decimal digits.
bool ParseRegisterId(const std::string& text, uint64_t* id);

// The register, by id.
Result<std::vector<ComplianceException>> LoadExceptions(EventStore& store);

// The options of `pveam compliance exception add`, as typed.
struct ExceptionOptions {
  std::string requirement, subject, reason, approved_by, expires;
};

// InvalidArgument naming the option and value: an unknown requirement
// (with a suggestion), a missing field, more than one line or 1024 bytes,
// an expiry date that is malformed or already past.
Status CheckExceptionOptions(const ExceptionOptions& o, int64_t now_us);
// CheckExceptionOptions, then adds `o` as the next id. Returns the new entry.
Result<ComplianceException> AddException(EventStore& store, const Actor& actor,
                                         const std::string& node, const ExceptionOptions& o,
                                         int64_t now_us);
// Removes exception `id` (as typed): InvalidArgument when it is not a
// number or there is no such exception. Returns the entry removed.
Result<ComplianceException> RemoveException(EventStore& store, const Actor& actor,
                                            const std::string& node, const std::string& id);

}  // namespace pveaudit

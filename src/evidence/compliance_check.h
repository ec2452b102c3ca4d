// compliance_check.h
// `pveam compliance check --standard hipaa|pci-dss|sox`: each requirement
// of the standard (requirements.h) evaluated on the live Proxmox config and
// the store, with the evidence that decided it, the command that shows
// that evidence, and a fix. An active exception (exceptions.h) that covers
// every subject of a failure turns it into EXCEPTED with its id; an
// expired exception of the requirement is itself a finding.
// Requirements whose check is not built yet are reported UNCHECKED, never
// as passing.
// Thread safety: free functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/table.h"
#include "evidence/exceptions.h"
#include "evidence/retention.h"
#include "pve/access_config.h"
#include "store/event_store.h"

namespace pveaudit {

enum class CheckResult { kPass, kFail, kWarn, kNotApplicable, kExcepted, kUnchecked };
// "PASS", "FAIL", "WARN", "N/A", "EXCEPTED", "UNCHECKED".
const char* CheckResultName(CheckResult r);

struct CheckOutcome {
  std::string requirement;  // id
  CheckResult result = CheckResult::kUnchecked;
  std::vector<std::string> subjects;  // who or what failed (users, nodes, ...)
  std::vector<std::string> evidence;  // one line each: counts, names, dates
  std::string query;                  // the command that shows the evidence
  std::string fix;
  std::vector<uint64_t> exceptions;  // ids of the exceptions that applied
};

struct ComplianceInput {
  const pve::PveConfig* pve = nullptr;  // null: no Proxmox config readable
  EventStore* store = nullptr;          // null: no store
  std::vector<ComplianceException> exceptions;
  int64_t now_us = 0;  // the time the requirements are evaluated at
  // Events from this time on are not evidence (0: no bound): a report of a
  // past quarter evaluates the state at its end, not with what came later.
  int64_t events_until_us = 0;
  // The configured retention policy (evidence/retention.h); null: none read.
  const RetentionPolicy* retention = nullptr;
  // Networks logins from which are not remote (PCI DSS 8.4.3); empty: the
  // private, loopback and link-local ranges (kPrivateNetworks).
  std::vector<std::string> internal_networks;
  // The guests, pools and storages holding protected health information
  // ([compliance.hipaa] phi) and financial data ([compliance.sox] data), as
  // ACL paths (ParseDataScope). An empty sox scope means every guest and
  // storage; an empty PHI scope is a finding.
  std::vector<std::string> phi_scope;
  std::vector<std::string> sox_data_scope;
};

// 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 127.0.0.0/8, 169.254.0.0/16,
// ::1/128, fc00::/7, fe80::/10.
extern const char* const kPrivateNetworks[8];

// False for an unknown standard.
bool IsStandard(const std::string& s);
// The outcomes of every requirement of `standard`, in Requirements() order.
Result<std::vector<CheckOutcome>> RunComplianceChecks(const std::string& standard,
                                                      const ComplianceInput& in);

// As a table: requirement, title, citation, result, evidence (lines joined
// with "; "), query, fix, exceptions.
Table OutcomesTable(const std::vector<CheckOutcome>& outcomes);

}  // namespace pveaudit

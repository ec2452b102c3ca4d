// data_access_check.h
// hipaa:phi-access ("Track all PHI access", 45 CFR 164.312(b)) and
// sox:data-access ("Log all data access"): that access to a scope of
// guests, pools and storages is recorded. Over the last 90 days:
// - the scope is known: every pool, guest and storage it names exists in
//   the Proxmox config (a stale scope hides what it was meant to cover);
// - every source is followed: pveauditd reported within 15 minutes with
//   every source healthy, the API access log (where reads are written)
//   among them;
// - no gap in ingest: each node that hosts the scope (or, with no guest in
//   it, every node) has events on every day; three empty days in a row are
//   a gap, one or two a warning (a quiet weekend);
// - reads are recorded: the reads, console sessions and changes of the
//   scope in the store, by whom; none at all is a warning.
// docs/evidence.md, "Compliance checks".
// Thread safety: free functions.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "evidence/compliance_check.h"

namespace pveaudit {

// `scope`: ACL paths (ParseDataScope). Empty: with `whole_cluster`, every
// guest and storage; without, a finding ("no scope configured", naming
// `scope_key`, e.g. "[compliance.hipaa] phi").
Status CheckDataAccess(const ComplianceInput& in, const std::vector<std::string>& scope,
                       bool whole_cluster, const std::string& scope_key, CheckOutcome* o);

}  // namespace pveaudit

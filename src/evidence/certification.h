// certification.h
// Access certification (SOX 404 user access certification, PCI DSS 7.2.4):
// once a quarter every enabled Proxmox user's effective access is listed,
// and a reviewer decides for each user whether it stays (keep) or goes
// (revoke). `pveam compliance certify start --period 2026Q4` takes the
// snapshot from the live config (user.cfg, groups, ACLs, pools, tokens);
// `certify decide` records one decision; the last one completes the
// campaign. A revoke decision is a promise that the access goes: a user
// still holding exactly the access that was revoked is a finding of the
// compliance checks (compliance_check.h) until it is removed.
//
// Storage (docs/evidence.md, "Access certification"): the snapshot is the
// store setting "compliance.certification.PERIOD", written once by start;
// each decision is a setting of its own, "compliance.certification.PERIOD.
// decision.USERID". Both are written with PutAuditedSetting (the audit
// event first), so the hash-chained event log holds every snapshot and
// decision. The store offers no compare-and-set, so nothing is ever
// read-modified-written: decisions on different users cannot overwrite each
// other, and two decisions on the same user are two events of which the
// later counts. The remaining races are documented where they are.
// Thread safety: free functions; the store serialises writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "evidence/compliance_check.h"
#include "pve/access_config.h"
#include "report/model.h"
#include "report/quarterly.h"
#include "store/audited_setting.h"
#include "store/event_store.h"

namespace pveaudit {

// A user's effective access, as a reviewer is asked to certify it.
struct UserAccess {
  bool active = false;  // exists, enabled and not expired
  // Where the roles differ from what the parent path passes down, as
  // `pveum user report` shows them: "/: Administrator; /vms/100: VMOperator
  // (this path only)"; "" for none.
  std::string permissions;
  std::vector<std::string> groups;  // the groups it is a member of
  std::vector<std::string> tokens;  // "ci@pve!deploy", "... (no privilege separation)"
  // SHA-256 over the effective privileges on every path (the roles
  // expanded, NoAccess as none, what each path passes down included): equal
  // digests mean the same privileges everywhere, whatever roles, groups or
  // pools grant them. "" for a user that is not active.
  std::string digest;
};

// The effective access of `userid` in `cfg` at `now_us` (expiry).
// `index` is report::AclIndex(cfg), built once for many users.
UserAccess EffectiveAccess(const pve::PveConfig& cfg, const report::AclIndex& index,
                           const std::string& userid, int64_t now_us);

// `permissions` (UserAccess::permissions) cut to about `max` bytes at an
// entry boundary, "; ... (N more paths)" saying how much is left out, for
// one line of output (a pool's members make long lists); "no permissions"
// for "".
std::string ShortPermissions(const std::string& permissions, size_t max);

struct CertDecision {
  std::string decision;  // "keep" or "revoke"
  std::string note;
  std::string by;       // the reviewer
  std::string decided;  // RFC 3339 UTC
  int64_t decided_us = 0;
};

struct CertItem {
  std::string userid;
  UserAccess access;  // when the campaign started
  std::optional<CertDecision> decision;
};

struct Certification {
  std::string period;  // "2026Q4"
  report::Quarter quarter;
  std::string started;  // RFC 3339 UTC
  int64_t started_us = 0;
  std::string started_by;
  std::string pve_dir;
  std::vector<CertItem> items;  // by userid
};

// A campaign's state at `as_of_us` (decisions made later are not counted).
struct CertCounts {
  size_t items = 0, decided = 0, kept = 0, revoked = 0, open = 0;
  bool complete = false;     // every item decided (a campaign of no users is complete)
  int64_t completed_us = 0;  // the last decision, when complete
};
CertCounts CountDecisions(const Certification& c, int64_t as_of_us = INT64_MAX);

// "2026Q4" (also "2026-Q4", lower-case q), "current" (the quarter of
// `now_us`) or "last" (the one before), in the cluster's time zone.
// InvalidArgument naming `flag` and the value when malformed or when the
// quarter has not begun.
Status ParseCertificationPeriod(const std::string& flag, const std::string& text, int64_t now_us,
                                report::Quarter* out);

// The campaign of `period` ("2026Q4") with every decision, or nullopt when
// none was started. Corruption when a stored value is damaged.
Result<std::optional<Certification>> LoadCertification(EventStore& store,
                                                       const std::string& period);
// The periods of every campaign ever started, oldest first (found by their
// audit:certification-start events, so no shared index is written).
Result<std::vector<std::string>> ListCertificationPeriods(EventStore& store);

// Starts the campaign of `quarter`: one item per enabled, unexpired user of
// `cfg` with its EffectiveAccess, recorded as audit:certification-start by
// `actor`. InvalidArgument when a campaign of that quarter exists (started
// on ... by ...). `event_id` (may be null) gets the event's id.
// Race: two starts of the same quarter at the same moment both pass the
// check and the later snapshot is the one kept (both are events).
Result<Certification> StartCertification(EventStore& store, const Actor& actor,
                                         const std::string& node, const pve::PveConfig& cfg,
                                         const report::Quarter& quarter, int64_t now_us,
                                         uint64_t* event_id = nullptr);

// A reviewer or preparer named with --by: InvalidArgument naming `flag`
// unless it is a user id as Proxmox writes them (user@realm).
Status CheckReviewer(const std::string& flag, const std::string& userid);

// The options of `pveam compliance certify decide`, as typed.
struct DecideOptions {
  std::string period, userid, decision, note, by;
};
// InvalidArgument naming the option and value: a missing option, a decision
// other than keep or revoke, a note that is not one line of at most 1024
// bytes, a reviewer that is not a user id (CheckReviewer) or who would
// certify their own access. Checks nothing in the store.
Status CheckDecideOptions(const DecideOptions& o);
// CheckDecideOptions, then checks against the campaign: InvalidArgument
// when there is no campaign of that period, it is complete (closed), or the
// user is not one of its items (with a suggestion).
Status CheckDecision(const std::optional<Certification>& c, const DecideOptions& o);

struct DecideResult {
  CertItem item;                     // with the new decision
  uint64_t event_id = 0;             // audit:certification-keep|revoke
  CertCounts counts;                 // after the decision
  uint64_t completion_event_id = 0;  // audit:certification-complete, when this completed it
  std::string completion_sha256;     // its digest (CertificationDigest)
};
// Records one decision (CheckDecision first; `actor.user` is recorded as
// the event's user, o.by as the reviewer). When it completes the campaign,
// also records audit:certification-complete (user o.by, detail "period=...
// items=... kept=... revoked=... sha256=<CertificationDigest>").
// Race: two reviewers deciding the last two open items at the same moment
// may both record the completion; the first one counts.
Result<DecideResult> DecideCertification(EventStore& store, const Actor& actor,
                                         const std::string& node, const DecideOptions& o,
                                         int64_t now_us);

// The campaign as report sections "certification" (one row: period,
// quarter_start, quarter_end, started, started_by, pve_dir, items, decided,
// kept, revoked, open, state, completed) and "items" (userid, groups,
// tokens, permissions, access_sha256, decision, decided_by, decided,
// note): what `certify show` prints.
report::Report CertificationReport(const Certification& c);
// SHA-256 of CertificationReport rendered as compact JSON: byte for byte
// what `pveam compliance certify show --period P --output-format json`
// prints, so an auditor can check a completion event's digest with
// sha256sum.
std::string CertificationDigest(const Certification& c);

// sox:certification (compliance_check.cc): PASS when the campaign of the
// quarter of in.now_us, or of the quarter before, was complete at
// in.now_us; an evidence line per campaign (started, by, decided, open,
// completed). Then CheckRevokedAccess.
Status CheckAccessCertification(const ComplianceInput& in, CheckOutcome* o);
// Revoked-but-unchanged access: every user whose latest decision in those
// two campaigns is revoke and who still has exactly the access the
// reviewer saw (the same EffectiveAccess digest in in.pve) is a subject of
// a FAIL, with an evidence line (who decided, when, the access) and the
// query that shows it. Adds nothing when there is no revoke decision.
Status CheckRevokedAccess(const ComplianceInput& in, CheckOutcome* o);

}  // namespace pveaudit

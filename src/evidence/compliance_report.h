// compliance_report.h
// `pveam compliance report --standard sox --period 2026Q3 --output DIR`:
// the compliance check of one standard (compliance_check.h) as the
// document an auditor files: a printable HTML page (a cover with the
// summary, then one page per requirement with its result, evidence, the
// query that shows it, the fix and the exceptions of the register that
// concern it) and the same content as JSON. The command records the run as
// an audit:compliance-report event with the HTML's SHA-256, so the file
// handed over can be matched to the event in the hash-chained store.
// Thread safety: pure functions of their inputs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "evidence/compliance_check.h"
#include "evidence/exceptions.h"
#include "report/quarterly.h"

namespace pveaudit {

struct ComplianceReportInfo {
  std::string standard;  // "sox"
  report::Quarter period;
  int64_t as_of_us = 0;      // when the requirements were evaluated (ComplianceInput::now_us)
  int64_t generated_us = 0;  // when the report was written
  std::string node;
  std::string prepared_by;  // the user recorded in the audit event
  std::string pve_dir;
  std::string store;               // data dir or redacted URL; "" without a store
  std::vector<std::string> notes;  // what could not be read
};

// "compliance-sox-2026Q3": the name of the report's files without .html/.json.
std::string ComplianceReportName(const std::string& standard, const report::Quarter& period);

// The page (self-contained, no external assets; every text HTML-escaped).
// Each requirement is a <section class="requirement" id="REQUIREMENT-ID">
// that starts a new page when printed. Deterministic for equal inputs.
// `exceptions`: the whole register (each requirement lists its own).
std::string ComplianceReportHtml(const ComplianceReportInfo& info,
                                 const std::vector<CheckOutcome>& outcomes,
                                 const std::vector<ComplianceException>& exceptions);

// The same content as JSON (format "pveaudit-compliance-report/1"), with
// `html_sha256`, the digest of the page written beside it. Pretty-printed.
std::string ComplianceReportJson(const ComplianceReportInfo& info,
                                 const std::vector<CheckOutcome>& outcomes,
                                 const std::vector<ComplianceException>& exceptions,
                                 const std::string& html_sha256);

}  // namespace pveaudit

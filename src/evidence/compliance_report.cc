#include "evidence/compliance_report.h"

#include <cctype>
#include <map>
#include <nlohmann/json.hpp>

#include "core/time_spec.h"
#include "evidence/requirements.h"
#include "report/render.h"

namespace pveaudit {
namespace {

using report::HtmlEscape;

constexpr const char* kResultOrder[] = {"PASS", "FAIL", "WARN", "EXCEPTED", "N/A", "UNCHECKED"};

// Besides the shared style: the result badges, and a page per requirement
// on paper (an auditor files them one by one).
constexpr const char* kStyle = R"(.result { font-weight: bold; padding: 0 0.4em; border-radius: 3px;
  white-space: nowrap; }
.result-pass { color: #fff; background: #2e7d32; }
.result-fail { color: #fff; background: #c62828; }
.result-warn { color: #000; background: #ffb300; }
.result-excepted { color: #000; background: #bbdefb; }
.result-na, .result-unchecked { color: #000; background: #e0e0e0; }
pre { white-space: pre-wrap; word-break: break-word; background: #f6f6f6; padding: 0.4em 0.6em; }
.citation { color: #555; margin-top: 0; }
@media print {
  section.requirement, section.signoff { break-before: page; page-break-before: always; }
  .result { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)";

// A CSS class for a result name: "N/A" -> "na".
std::string ResultClass(CheckResult r) {
  std::string c;
  for (char ch : std::string(CheckResultName(r)))
    if (ch != '/') c.push_back(char(std::tolower(static_cast<unsigned char>(ch))));
  return "result result-" + c;
}

std::string Badge(CheckResult r) {
  return "<span class=\"" + ResultClass(r) + "\">" + HtmlEscape(CheckResultName(r)) + "</span>";
}

std::string StandardTitle(const std::string& standard) {
  if (standard == "hipaa") return "HIPAA";
  if (standard == "pci-dss") return "PCI DSS";
  if (standard == "sox") return "SOX";
  return standard;
}

std::string Title(const ComplianceReportInfo& info) {
  return StandardTitle(info.standard) + " compliance report " + info.period.Name();
}

// The register's entries of `requirement`, active or expired.
std::vector<const ComplianceException*> ExceptionsOf(const std::vector<ComplianceException>& all,
                                                     const std::string& requirement) {
  std::vector<const ComplianceException*> out;
  for (const ComplianceException& e : all)
    if (e.requirement == requirement) out.push_back(&e);
  return out;
}

bool Applied(const CheckOutcome& o, uint64_t id) {
  for (uint64_t a : o.exceptions)
    if (a == id) return true;
  return false;
}

std::map<std::string, size_t> Tally(const std::vector<CheckOutcome>& outcomes) {
  std::map<std::string, size_t> n;
  for (const CheckOutcome& o : outcomes) ++n[CheckResultName(o.result)];
  return n;
}

std::string SummaryText(const std::vector<CheckOutcome>& outcomes) {
  std::map<std::string, size_t> n = Tally(outcomes);
  std::string s;
  for (const char* k : kResultOrder)
    if (n.count(k)) s += (s.empty() ? "" : ", ") + std::to_string(n[k]) + " " + k;
  return s.empty() ? "no requirement" : s;
}

}  // namespace

std::string ComplianceReportName(const std::string& standard, const report::Quarter& period) {
  return "compliance-" + standard + "-" + period.Name();
}

std::string ComplianceReportHtml(const ComplianceReportInfo& info,
                                 const std::vector<CheckOutcome>& outcomes,
                                 const std::vector<ComplianceException>& exceptions) {
  const std::string title = Title(info);
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                  HtmlEscape(title) + "</title>\n<style>\n" + report::HtmlStyle() + kStyle +
                  "</style>\n</head>\n<body>\n<section class=\"cover\">\n<h1>" + HtmlEscape(title) +
                  "</h1>\n<table class=\"meta\">\n";
  auto meta_row = [&](const std::string& k, const std::string& v) {
    h += "<tr><td><b>" + HtmlEscape(k) + "</b></td><td>" + HtmlEscape(v) + "</td></tr>\n";
  };
  meta_row("Standard", StandardTitle(info.standard) + " (" + info.standard + ")");
  meta_row("Period", info.period.Name() + " (" + FormatLocal(info.period.start_us) + " to " +
                         FormatLocal(info.period.end_us) + ", end exclusive)");
  meta_row("Evaluated as of",
           FormatLocal(info.as_of_us) + " (" + FormatRfc3339Utc(info.as_of_us) + ")");
  meta_row("Generated", FormatRfc3339Utc(info.generated_us));
  meta_row("Node", info.node);
  meta_row("Prepared by", info.prepared_by);
  meta_row("Proxmox config", info.pve_dir + " (as read when the report was generated)");
  meta_row("Event store", info.store.empty() ? "none" : info.store);
  h += "</table>\n";
  for (const std::string& n : info.notes) h += "<p class=\"note\">" + HtmlEscape(n) + "</p>\n";
  h += "<h2>Summary: " + HtmlEscape(SummaryText(outcomes)) +
       "</h2>\n<table>\n<thead><tr><th>Requirement</th><th>Title</th><th>Citation</th>"
       "<th>Result</th></tr></thead>\n<tbody>\n";
  for (const CheckOutcome& o : outcomes) {
    const Requirement* r = FindRequirement(o.requirement);
    h += "<tr><td><a href=\"#" + HtmlEscape(o.requirement) + "\">" + HtmlEscape(o.requirement) +
         "</a></td><td>" + HtmlEscape(r ? r->title : "") + "</td><td>" +
         HtmlEscape(r ? r->citation : "") + "</td><td>" + Badge(o.result) + "</td></tr>\n";
  }
  h += "</tbody>\n</table>\n</section>\n";

  for (const CheckOutcome& o : outcomes) {
    const Requirement* r = FindRequirement(o.requirement);
    h += "<section class=\"requirement\" id=\"" + HtmlEscape(o.requirement) + "\">\n<h2>" +
         HtmlEscape(o.requirement) + ": " + HtmlEscape(r ? r->title : "") +
         "</h2>\n<p class=\"citation\">" + HtmlEscape(r ? r->citation : "") +
         "</p>\n<p><b>Result:</b> " + Badge(o.result) + "</p>\n<h3>Evidence</h3>\n<ul>\n";
    for (const std::string& e : o.evidence) h += "<li>" + HtmlEscape(e) + "</li>\n";
    h += "</ul>\n";
    if (!o.subjects.empty()) {
      h += "<h3>Subjects</h3>\n<p>";
      for (size_t i = 0; i < o.subjects.size(); ++i)
        h += (i ? ", " : "") + HtmlEscape(o.subjects[i]);
      h += "</p>\n";
    }
    h += "<h3>Query</h3>\n" +
         (o.query.empty() ? std::string("<p>None.</p>\n")
                          : "<pre>" + HtmlEscape(o.query) + "</pre>\n") +
         "<h3>Fix</h3>\n<p>" + HtmlEscape(o.fix.empty() ? std::string("None needed.") : o.fix) +
         "</p>\n" + "<h3>Exceptions</h3>\n";
    std::vector<const ComplianceException*> ex = ExceptionsOf(exceptions, o.requirement);
    if (ex.empty()) {
      h += "<p>None in the register.</p>\n";
    } else {
      Table t;
      t.columns = {"id", "subject", "state", "expires", "approved_by", "reason", "applied"};
      t.headers = {"Id", "Subject", "State", "Expires", "Approved by", "Reason", "Applied here"};
      for (const ComplianceException* e : ex)
        t.rows.push_back({int64_t(e->id), e->subject,
                          std::string(e->Active(info.as_of_us) ? "active" : "expired"), e->expires,
                          e->approved_by, e->reason,
                          std::string(Applied(o, e->id) ? "yes" : "no")});
      h += report::HtmlTable(t);
    }
    h += "</section>\n";
  }
  h += "<section class=\"signoff\">\n<h2>Sign-off</h2>\n<table class=\"meta\">\n"
       "<tr><td>Reviewed by</td><td>____________________________</td></tr>\n"
       "<tr><td>Date</td><td>____________________________</td></tr>\n</table>\n</section>\n"
       "</body>\n</html>\n";
  return h;
}

std::string ComplianceReportJson(const ComplianceReportInfo& info,
                                 const std::vector<CheckOutcome>& outcomes,
                                 const std::vector<ComplianceException>& exceptions,
                                 const std::string& html_sha256) {
  using J = nlohmann::ordered_json;
  J summary = J::object();
  std::map<std::string, size_t> n = Tally(outcomes);
  for (const char* k : kResultOrder) summary[k] = n.count(k) ? n[k] : 0;
  J reqs = J::array();
  for (const CheckOutcome& o : outcomes) {
    const Requirement* r = FindRequirement(o.requirement);
    J ex = J::array();
    for (const ComplianceException* e : ExceptionsOf(exceptions, o.requirement))
      ex.push_back({{"id", e->id},
                    {"subject", e->subject},
                    {"state", e->Active(info.as_of_us) ? "active" : "expired"},
                    {"expires", e->expires},
                    {"approved_by", e->approved_by},
                    {"reason", e->reason},
                    {"applied", Applied(o, e->id)}});
    reqs.push_back({{"id", o.requirement},
                    {"title", r ? std::string(r->title) : ""},
                    {"citation", r ? std::string(r->citation) : ""},
                    {"result", CheckResultName(o.result)},
                    {"subjects", o.subjects},
                    {"evidence", o.evidence},
                    {"query", o.query},
                    {"fix", o.fix},
                    {"exceptions", std::move(ex)}});
  }
  J j = {{"format", "pveaudit-compliance-report/1"},
         {"title", Title(info)},
         {"standard", info.standard},
         {"period", info.period.Name()},
         {"period_start", FormatRfc3339Utc(info.period.start_us)},
         {"period_end", FormatRfc3339Utc(info.period.end_us)},
         {"as_of", FormatRfc3339Utc(info.as_of_us)},
         {"generated", FormatRfc3339Utc(info.generated_us)},
         {"node", info.node},
         {"prepared_by", info.prepared_by},
         {"pve_dir", info.pve_dir},
         {"store", info.store},
         {"summary", std::move(summary)},
         {"requirements", std::move(reqs)},
         {"notes", info.notes},
         {"html_sha256", html_sha256}};
  return j.dump(4, ' ', false, J::error_handler_t::replace) + "\n";
}

}  // namespace pveaudit

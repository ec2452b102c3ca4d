#include "evidence/exceptions.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/did_you_mean.h"
#include "core/time_spec.h"
#include "evidence/register.h"
#include "evidence/requirements.h"

namespace pveaudit {
namespace {

constexpr const char* kKey = "compliance.exceptions";

}  // namespace

// The stored form: every field but expires_end_us (derived from expires).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ComplianceException, id, requirement, subject,
                                                reason, approved_by, expires, created, created_by)

// "2027-03-31" -> the next day's local 00:00; false when not a real date.
bool ParseLastDay(const std::string& s, int64_t* end_us) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return false;
  int y = std::stoi(s.substr(0, 4)), m = std::stoi(s.substr(5, 2)), d = std::stoi(s.substr(8, 2));
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31) return false;
  // A day that does not exist (2027-02-30) moves on in the calendar: refuse it.
  const int64_t day = CivilToUs(y, m, d, 0, 0, 0);
  char back[48];
  time_t t = time_t(day / 1000000);
  struct tm tm;
  gmtime_r(&t, &tm);
  std::snprintf(back, sizeof back, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  if (s != back) return false;
  const int64_t next = day + int64_t(86400) * 1000000;
  t = time_t(next / 1000000);
  gmtime_r(&t, &tm);
  *end_us = LocalCivilToUs(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 0, 0, 0);
  return true;
}

Status CheckOneLine(const std::string& flag, const std::string& v) {
  if (v.empty()) return Status::InvalidArgument(flag + " is required");
  if (v.size() > 1024)
    return Status::InvalidArgument("invalid value for " + flag + ": at most 1024 bytes (" +
                                   std::to_string(v.size()) + " given)");
  for (unsigned char c : v)
    if (c < 0x20 || c == 0x7f)
      return Status::InvalidArgument("invalid value for " + flag +
                                     ": one line of text, no control characters");
  return Status::OK();
}

bool ParseRegisterId(const std::string& text, uint64_t* id) {
  uint64_t n = 0;
  bool digits = !text.empty() && text.size() < 20;
  for (char ch : text) {
    digits &= ch >= '0' && ch <= '9';
    if (digits) n = n * 10 + uint64_t(ch - '0');
  }
  if (digits) *id = n;
  return digits;
}

namespace {

using Register = JsonRegister<ComplianceException>;

Result<Register> Read(EventStore& store) {
  return ReadRegister<ComplianceException>(store, kKey, [](ComplianceException* e) {
    if (ParseLastDay(e->expires, &e->expires_end_us)) return Status::OK();
    return Status::Corruption("setting " + std::string(kKey) + ": exception " +
                              std::to_string(e->id) + " has no valid expiry date");
  });
}

std::string Summary(const ComplianceException& e) {
  return "exception " + std::to_string(e.id) + " " + e.requirement + " for " + e.subject +
         " until " + e.expires + ", approved by " + e.approved_by;
}

// Writes the register with the audit event of one change.
Status Save(EventStore& store, const Actor& actor, const std::string& node, const Register& reg,
            const char* action, const ComplianceException& e, std::string summary) {
  return SaveRegister(store, actor, node, kKey, reg, action, "/pveaudit/exceptions/", e.id,
                      std::move(summary));
}

}  // namespace

Result<std::vector<ComplianceException>> LoadExceptions(EventStore& store) {
  auto r = Read(store);
  if (!r.ok()) return r.status();
  return r->items;
}

Status CheckExceptionOptions(const ExceptionOptions& o, int64_t now_us) {
  if (o.requirement.empty()) return Status::InvalidArgument("--requirement is required");
  if (!FindRequirement(o.requirement)) {
    std::vector<std::string> ids;
    for (const Requirement& r : Requirements()) ids.emplace_back(r.id);
    std::string hint = DidYouMean(o.requirement, ids);
    return Status::InvalidArgument(
        "invalid value '" + o.requirement + "' for --requirement: not a known requirement" +
        (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)") +
        "; see 'pveam compliance requirements'");
  }
  PVEAUDIT_RETURN_IF_ERROR(CheckOneLine("--subject", o.subject));
  PVEAUDIT_RETURN_IF_ERROR(CheckOneLine("--reason", o.reason));
  PVEAUDIT_RETURN_IF_ERROR(CheckOneLine("--approved-by", o.approved_by));
  int64_t end = 0;
  if (o.expires.empty()) return Status::InvalidArgument("--expires YYYY-MM-DD is required");
  if (!ParseLastDay(o.expires, &end))
    return Status::InvalidArgument("invalid value '" + o.expires +
                                   "' for --expires: expected a date YYYY-MM-DD");
  if (end <= now_us)
    return Status::InvalidArgument("invalid value '" + o.expires +
                                   "' for --expires: that day is over");
  return Status::OK();
}

Result<ComplianceException> AddException(EventStore& store, const Actor& actor,
                                         const std::string& node, const ExceptionOptions& o,
                                         int64_t now_us) {
  PVEAUDIT_RETURN_IF_ERROR(CheckExceptionOptions(o, now_us));
  ComplianceException e;
  ParseLastDay(o.expires, &e.expires_end_us);
  auto reg = Read(store);
  if (!reg.ok()) return reg.status();
  e.id = reg->next_id++;
  e.requirement = o.requirement;
  e.subject = o.subject;
  e.reason = o.reason;
  e.approved_by = o.approved_by;
  e.expires = o.expires;
  e.created = FormatRfc3339Utc(now_us);
  e.created_by = actor.user;
  reg->items.push_back(e);
  PVEAUDIT_RETURN_IF_ERROR(
      Save(store, actor, node, *reg, "pveaudit:exception-add", e, Summary(e) + ": " + e.reason));
  return e;
}

Result<ComplianceException> RemoveException(EventStore& store, const Actor& actor,
                                            const std::string& node, const std::string& id) {
  uint64_t n = 0;
  if (!ParseRegisterId(id, &n))
    return Status::InvalidArgument("invalid exception id '" + id + "': expected a number");
  auto reg = Read(store);
  if (!reg.ok()) return reg.status();
  auto it = std::find_if(reg->items.begin(), reg->items.end(),
                         [&](const ComplianceException& e) { return e.id == n; });
  if (it == reg->items.end())
    return Status::InvalidArgument("invalid exception id '" + id +
                                   "': there is no such exception (see 'pveam compliance "
                                   "exception list')");
  ComplianceException gone = *it;
  reg->items.erase(it);
  PVEAUDIT_RETURN_IF_ERROR(
      Save(store, actor, node, *reg, "pveaudit:exception-remove", gone, Summary(gone)));
  return gone;
}

}  // namespace pveaudit

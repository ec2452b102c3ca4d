#include "evidence/retention.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/time_spec.h"
#include "evidence/exceptions.h"
#include "evidence/month_bundle.h"
#include "evidence/register.h"

namespace pveaudit {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LegalHold, id, reason, start, end, start_us, end_us,
                                                until, created, created_by)

namespace {

constexpr const char* kKey = "retention.holds";

// What each standard asks of audit-log retention (docs/retention.md has
// the citations): total months kept, months immediately available.
struct StandardRetention {
  const char* name;
  int archive_months, online_months;
};
constexpr StandardRetention kStandards[] = {
    {"hipaa", 72, 0},    // §164.316(b)(2)(i): 6 years
    {"pci-dss", 12, 3},  // v4.0 10.5.1: 12 months, the last 3 immediately available
    {"sox", 84, 0},      // §802 / SEC Rule 2-06: 7 years
};
constexpr int kDefaultOnlineMonths = 13;

}  // namespace

Result<RetentionPolicy> ResolveRetention(const std::string& online, const std::string& archive,
                                         const std::vector<std::string>& standards,
                                         const std::string& archive_dir,
                                         const std::string& data_dir) {
  RetentionPolicy p;
  p.archive_dir = archive_dir.empty() ? data_dir + "/archive" : archive_dir;
  int std_archive = 0, std_online = 0;
  std::string from;
  for (const std::string& s : standards) {
    auto it = std::find_if(std::begin(kStandards), std::end(kStandards),
                           [&](const StandardRetention& r) { return s == r.name; });
    if (it == std::end(kStandards))
      return Status::InvalidArgument("invalid standard '" + s +
                                     "' in [compliance] standards: expected hipaa, pci-dss or sox");
    if (it->archive_months > std_archive) {
      std_archive = it->archive_months;
      from = s;
    }
    std_online = std::max(std_online, it->online_months);
  }
  std::string archive_from = "[retention] archive", online_from = "[retention] online";
  if (!archive.empty()) {
    auto m = ParseRetentionPeriod(archive);
    if (!m.ok()) return Status::InvalidArgument(m.status().message() + " ([retention] archive)");
    p.archive_months = *m;
  } else if (std_archive) {
    p.archive_months = std_archive;
    archive_from = "the longest of the enabled standards, " + from;
  }
  if (!online.empty()) {
    auto m = ParseRetentionPeriod(online);
    if (!m.ok()) return Status::InvalidArgument(m.status().message() + " ([retention] online)");
    p.online_months = *m;
  } else if (p.archive_months) {
    // Archiving is on once a total period is known; what stays online is
    // the default unless a standard wants more immediately available.
    p.online_months = std::min(p.archive_months, std::max(kDefaultOnlineMonths, std_online));
    online_from = "the default";
  }
  if (p.archive_months && p.online_months > p.archive_months)
    return Status::InvalidArgument("[retention] online = \"" + FormatMonths(p.online_months) +
                                   "\" is longer than archive = \"" +
                                   FormatMonths(p.archive_months) +
                                   "\": events would be purged while still online");
  if (std_online && p.online_months && p.online_months < std_online)
    return Status::InvalidArgument("[retention] online = \"" + FormatMonths(p.online_months) +
                                   "\" is shorter than the " + FormatMonths(std_online) +
                                   " PCI DSS 10.5.1 wants immediately available");
  if (!p.online_months) {
    p.why = "no retention policy: every event stays online, nothing is archived or purged";
  } else {
    p.why =
        "online " + FormatMonths(p.online_months) + " (" + online_from + "), " +
        (p.archive_months ? "archive " + FormatMonths(p.archive_months) + " (" + archive_from + ")"
                          : std::string("archives kept forever (no [retention] archive)"));
  }
  return p;
}

int64_t MonthsBackStart(int64_t now_us, int months) {
  Month m = MonthOf(now_us);
  int index = m.year * 12 + (m.month - 1) - months;
  Month back;
  char name[16];
  std::snprintf(name, sizeof name, "%04d-%02d", index / 12, index % 12 + 1);
  if (!ParseMonth(name, &back)) return 0;  // before 1970: nothing is that old
  return back.start_us;
}

bool LegalHold::Covers(int64_t t_min_us, int64_t t_max_us, int64_t now_us) const {
  if (!Active(now_us)) return false;
  if (start_us && t_max_us < start_us) return false;
  if (end_us && t_min_us >= end_us) return false;
  return true;
}

namespace {

using Register = JsonRegister<LegalHold>;

Result<Register> Read(EventStore& store) {
  return ReadRegister<LegalHold>(store, kKey, [](LegalHold* h) {
    if (h->until.empty() || ParseLastDay(h->until, &h->until_end_us)) return Status::OK();
    return Status::Corruption("setting " + std::string(kKey) + ": hold " + std::to_string(h->id) +
                              " has no valid --until date");
  });
}

std::string Summary(const LegalHold& h) {
  std::string s = "legal hold " + std::to_string(h.id) + " on ";
  if (h.start.empty() && h.end.empty())
    s += "all events";
  else
    s += "events " + (h.start.empty() ? std::string("from the first") : "from " + h.start) +
         (h.end.empty() ? std::string(" on") : " to " + h.end);
  s += h.until.empty() ? ", until removed" : ", until " + h.until;
  return s;
}

Status Save(EventStore& store, const Actor& actor, const std::string& node, const Register& reg,
            const char* action, const LegalHold& h, std::string summary) {
  return SaveRegister(store, actor, node, kKey, reg, action, "/pveaudit/holds/", h.id,
                      std::move(summary));
}

}  // namespace

Result<std::vector<LegalHold>> LoadHolds(EventStore& store) {
  auto r = Read(store);
  if (!r.ok()) return r.status();
  return r->items;
}

Result<LegalHold> AddHold(EventStore& store, const Actor& actor, const std::string& node,
                          const HoldOptions& o, int64_t now_us) {
  PVEAUDIT_RETURN_IF_ERROR(CheckOneLine("--reason", o.reason));
  LegalHold h;
  auto instant = [&](const std::string& flag, const std::string& text, bool is_end,
                     int64_t* us) -> Status {
    if (text.empty()) return Status::OK();
    auto t = ParseTimeSpec(text, now_us);
    if (!t.ok())
      return Status::InvalidArgument("invalid value '" + text + "' for " + flag + ": " +
                                     t.status().message());
    if (t->kind != TimeSpec::Kind::kInstant)
      return Status::InvalidArgument("invalid value '" + text + "' for " + flag +
                                     ": a date is needed, not a time of day");
    *us = t->us + (is_end && t->date_only ? int64_t(86400) * 1000000 : 0);
    return Status::OK();
  };
  PVEAUDIT_RETURN_IF_ERROR(instant("--start", o.start, false, &h.start_us));
  PVEAUDIT_RETURN_IF_ERROR(instant("--end", o.end, true, &h.end_us));
  if (h.start_us && h.end_us && h.start_us >= h.end_us)
    return Status::InvalidArgument("invalid value '" + o.end + "' for --end: not after --start '" +
                                   o.start + "'");
  if (!o.until.empty()) {
    if (!ParseLastDay(o.until, &h.until_end_us))
      return Status::InvalidArgument("invalid value '" + o.until +
                                     "' for --until: expected a date YYYY-MM-DD");
    if (h.until_end_us <= now_us)
      return Status::InvalidArgument("invalid value '" + o.until +
                                     "' for --until: that day is over");
  }
  auto reg = Read(store);
  if (!reg.ok()) return reg.status();
  h.id = reg->next_id++;
  h.reason = o.reason;
  h.start = o.start;
  h.end = o.end;
  h.until = o.until;
  h.created = FormatRfc3339Utc(now_us);
  h.created_by = actor.user;
  reg->items.push_back(h);
  PVEAUDIT_RETURN_IF_ERROR(
      Save(store, actor, node, *reg, "pveaudit:hold-add", h, Summary(h) + ": " + h.reason));
  return h;
}

Result<LegalHold> RemoveHold(EventStore& store, const Actor& actor, const std::string& node,
                             const std::string& id) {
  uint64_t n = 0;
  if (!ParseRegisterId(id, &n))
    return Status::InvalidArgument("invalid hold id '" + id + "': expected a number");
  auto reg = Read(store);
  if (!reg.ok()) return reg.status();
  auto it = std::find_if(reg->items.begin(), reg->items.end(),
                         [&](const LegalHold& h) { return h.id == n; });
  if (it == reg->items.end())
    return Status::InvalidArgument("invalid hold id '" + id +
                                   "': there is no such hold (see 'pveam access hold list')");
  LegalHold gone = *it;
  reg->items.erase(it);
  PVEAUDIT_RETURN_IF_ERROR(
      Save(store, actor, node, *reg, "pveaudit:hold-remove", gone, Summary(gone)));
  return gone;
}

}  // namespace pveaudit

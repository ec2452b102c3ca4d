// retention.h
// The retention policy and legal holds (docs/retention.md).
//
// Policy: events stay online (queryable in the store) for `online` whole
// months after the current one; older whole blocks move into signed
// archives (evidence/archive.h); archives are purged once every event in
// them is older than `archive` months, unless a legal hold covers them.
// Either period comes from `[retention]` in the config or, when unset,
// from the standards enabled in `[compliance] standards`: the longest
// wins (HIPAA 6 years, SOX 7 years, PCI DSS 12 months with the last 3
// online). With neither, nothing is archived or purged.
//
// Legal holds: a register kept in the store's settings ("retention.holds"),
// every add and remove an audit event (store/audited_setting.h). While an
// active hold covers an archive's time range, it is never purged.
// Thread safety: free functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/time_spec.h"
#include "store/audited_setting.h"
#include "store/event_store.h"

namespace pveaudit {

struct RetentionPolicy {
  int online_months = 0;   // 0: keep everything online (no archiving)
  int archive_months = 0;  // 0: never purge
  std::string archive_dir;
  std::string why;  // "online 13 months, archive 7 years (from [retention])"
  bool Archives() const { return online_months > 0; }
};

// The policy from the config's values ("" = unset) and enabled standards
// ("hipaa", "pci-dss", "sox"). `archive_dir` "" means DATA_DIR/archive.
// InvalidArgument when archive < online, or a period or standard is bad.
Result<RetentionPolicy> ResolveRetention(const std::string& online, const std::string& archive,
                                         const std::vector<std::string>& standards,
                                         const std::string& archive_dir,
                                         const std::string& data_dir);

// The start (cluster zone) of the month `months` before the month of
// `now_us`: events older than this are past that many whole months.
int64_t MonthsBackStart(int64_t now_us, int months);

struct LegalHold {
  uint64_t id = 0;
  std::string reason;
  std::string start, end;    // as typed ("" = unbounded)
  int64_t start_us = 0;      // events at or after (0 = unbounded)
  int64_t end_us = 0;        // events before (0 = unbounded)
  std::string until;         // YYYY-MM-DD, its last day ("" = until removed)
  int64_t until_end_us = 0;  // the next day's 00:00; 0 = no end
  std::string created, created_by;
  bool Active(int64_t now_us) const { return until_end_us == 0 || now_us < until_end_us; }
  // Active and its range overlaps events [t_min_us, t_max_us].
  bool Covers(int64_t t_min_us, int64_t t_max_us, int64_t now_us) const;
};

Result<std::vector<LegalHold>> LoadHolds(EventStore& store);

struct HoldOptions {
  std::string reason, start, end, until;
};
// Adds a hold. InvalidArgument naming the option: no reason, more than one
// line, a bad --start/--end (time specs as for `pveam access log`), start
// not before end, a bad or past --until date.
Result<LegalHold> AddHold(EventStore& store, const Actor& actor, const std::string& node,
                          const HoldOptions& o, int64_t now_us);
// Removes hold `id` (as typed); InvalidArgument when not a number or absent.
Result<LegalHold> RemoveHold(EventStore& store, const Actor& actor, const std::string& node,
                             const std::string& id);

}  // namespace pveaudit

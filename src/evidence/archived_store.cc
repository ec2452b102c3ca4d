#include "evidence/archived_store.h"

#include <algorithm>
#include <cstdint>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include "evidence/archive.h"
#include "store/forwarding_store.h"

namespace pveaudit {
namespace {

struct Later {
  bool operator()(const Event& a, const Event& b) const {
    return a.time_us != b.time_us ? a.time_us > b.time_us : a.id > b.id;
  }
};

class ArchivedStore final : public ForwardingStore {
 public:
  ArchivedStore(std::unique_ptr<EventStore> base, std::string dir)
      : ForwardingStore(std::move(base)), dir_(std::move(dir)) {}

  Status Scan(const Filter& f, uint32_t fields, const std::function<bool(Event&)>& fn) override {
    auto recs = base().ListArchives();
    if (!recs.ok()) return recs.status();
    std::vector<ArchiveRecord> todo;
    for (const ArchiveRecord& r : *recs) {
      if (f.start_us && r.t_max_us < *f.start_us) continue;
      if (f.end_us && r.t_min_us >= *f.end_us) continue;
      if (!WindowsOverlap(f.windows, r.t_min_us, r.t_max_us)) continue;
      if (!r.purged_us) todo.push_back(r);  // purged: its events are gone (the CLI says so)
    }
    std::sort(todo.begin(), todo.end(), [](const ArchiveRecord& a, const ArchiveRecord& b) {
      return a.t_min_us < b.t_min_us;
    });
    std::priority_queue<Event, std::vector<Event>, Later> pending;
    size_t next = 0;
    Status err;
    auto load_until = [&](int64_t t) {
      while (err.ok() && next < todo.size() && todo[next].t_min_us <= t) {
        const ArchiveRecord& r = todo[next++];
        err = ReadArchiveEvents(dir_ + "/" + r.name, [&](Event& e) {
          if (MatchesStoredEvent(f, e)) pending.push(std::move(e));
          return true;
        });
      }
      return err.ok();
    };
    auto flush_before = [&](int64_t t, uint64_t id) {
      while (!pending.empty() &&
             (pending.top().time_us < t || (pending.top().time_us == t && pending.top().id < id))) {
        Event e = pending.top();
        pending.pop();
        if (!fn(e)) return false;
      }
      return true;
    };
    bool stopped = false;
    Status st = base().Scan(f, fields, [&](Event& e) {
      if (!load_until(e.time_us) || !flush_before(e.time_us, e.id)) {
        stopped = true;
        return false;
      }
      if (!fn(e)) {
        stopped = true;
        return false;
      }
      return true;
    });
    PVEAUDIT_RETURN_IF_ERROR(st);
    PVEAUDIT_RETURN_IF_ERROR(err);
    if (stopped) return Status::OK();
    if (!load_until(INT64_MAX)) return err;
    flush_before(INT64_MAX, UINT64_MAX);
    return Status::OK();
  }

  // The archives' events count too: `--limit` starts its search from the
  // first and last times.
  Result<StoreInfo> Info() override {
    auto info = base().Info();
    if (!info.ok()) return info;
    auto recs = base().ListArchives();
    if (!recs.ok()) return recs.status();
    for (const ArchiveRecord& r : *recs) {
      if (r.purged_us) continue;
      if (info->events == 0 || r.t_min_us < info->first_time_us) info->first_time_us = r.t_min_us;
      if (info->events == 0 || r.t_max_us > info->last_time_us) info->last_time_us = r.t_max_us;
      info->events += r.events;
    }
    return info;
  }

  // Through Scan, so that both kinds of event get indexes into one list.
  Status ScanKeys(const Filter& f, EventField key, std::vector<std::string>* names,
                  const std::function<bool(int64_t, uint32_t, uint64_t)>& fn) override {
    std::string Event::*member = nullptr;
    switch (key) {
      case kFieldNode:
        member = &Event::node;
        break;
      case kFieldUser:
        member = &Event::user;
        break;
      case kFieldIp:
        member = &Event::ip;
        break;
      case kFieldAction:
        member = &Event::action;
        break;
      case kFieldResource:
        member = &Event::resource;
        break;
      case kFieldStatus:
        member = &Event::status;
        break;
      case kFieldSource:
        member = &Event::source;
        break;
      case kFieldOrigin:
        member = &Event::origin;
        break;
      default:
        return Status::InvalidArgument("ScanKeys: not a dictionary field");
    }
    names->clear();
    std::unordered_map<std::string, uint32_t> index;
    return Scan(f, uint32_t(key), [&](Event& e) {
      auto [it, added] = index.emplace(e.*member, uint32_t(names->size()));
      if (added) names->push_back(e.*member);
      return fn(e.time_us, it->second, e.id);
    });
  }

 private:
  std::string dir_;
};

}  // namespace

std::unique_ptr<EventStore> WithArchives(std::unique_ptr<EventStore> base,
                                         std::string archive_dir) {
  return std::make_unique<ArchivedStore>(std::move(base), std::move(archive_dir));
}

}  // namespace pveaudit

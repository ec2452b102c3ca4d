#include "query/correlator.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <tuple>
#include <unordered_set>

namespace pveaudit {
namespace {

using Key = std::tuple<std::string, std::string, std::string, std::string>;  // node,user,action,res

struct Request {
  int64_t time_us;
  uint64_t id;
  std::string ip, detail;
};

}  // namespace

uint64_t AbsorbedRequestId(const Event& e) {
  if (e.source != "tasks") return 0;
  auto p = e.detail.find("request=#");
  if (p == std::string::npos) return 0;
  return std::strtoull(e.detail.c_str() + p + 9, nullptr, 10);
}

Status EnrichTasks(EventStore& store, std::vector<Event>* events) {
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (const Event& e : *events) {
    if (e.source != "tasks" || e.user.empty()) continue;
    lo = std::min(lo, e.time_us);
    hi = std::max(hi, e.time_us);
  }
  if (lo > hi) return Status::OK();
  // Requests that start tasks change state: the "modify" class narrows the
  // scan to a small share of the access log.
  Filter f;
  f.start_us = lo - kTaskRequestBeforeUs;
  f.end_us = hi + kTaskRequestAfterUs + 1;
  f.action = "modify";
  std::map<Key, std::vector<Request>> requests;
  Status st = store.Scan(f, kFieldAll, [&](const Event& r) {
    if (r.source == "pveproxy" && r.result != Outcome::kFailure)
      requests[Key{r.node, r.user, r.action, r.resource}].push_back(
          Request{r.time_us, r.id, r.ip, r.detail});
    return true;
  });
  if (!st.ok()) return st;
  if (requests.empty()) return Status::OK();
  std::unordered_set<uint64_t> used;
  for (Event& e : *events) {
    if (e.source != "tasks" || e.user.empty() || AbsorbedRequestId(e)) continue;
    auto it = requests.find(Key{e.node, e.user, e.action, e.resource});
    if (it == requests.end()) continue;
    // The newest request not after start + kAfter, not before start - kBefore.
    const Request* best = nullptr;
    for (const Request& r : it->second) {
      if (r.time_us > e.time_us + kTaskRequestAfterUs) break;  // scanned in time order
      if (r.time_us >= e.time_us - kTaskRequestBeforeUs && !used.count(r.id)) best = &r;
    }
    if (!best) continue;
    used.insert(best->id);
    if (e.ip.empty()) e.ip = best->ip;
    e.detail += " request=#" + std::to_string(best->id) + " " + best->detail;
  }
  return Status::OK();
}

void DropAbsorbedRequests(std::vector<Event>* events) {
  std::unordered_set<uint64_t> absorbed;
  for (const Event& e : *events)
    if (uint64_t id = AbsorbedRequestId(e)) absorbed.insert(id);
  if (absorbed.empty()) return;
  events->erase(std::remove_if(events->begin(), events->end(),
                               [&](const Event& e) { return absorbed.count(e.id) > 0; }),
                events->end());
}

}  // namespace pveaudit

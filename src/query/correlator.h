// correlator.h
// Whole events from split logs. Proxmox writes who started a task and its
// outcome to the task index, but the client's IP and the request only to
// pveproxy's access.log (docs/correlation.md). Before task events are
// stored, EnrichTasks looks up, for each, the access.log request that
// started it: same node, same user, same action and resource, at most
// kBeforeUs before (or kAfterUs after) the task's start. The task event then
// carries the request's IP, and its detail names the request's event id
// ("request=#123 POST /api2/json/..."), so queries show the pair once
// (DropAbsorbedRequests) with the task's real result, even when the request
// went through /api2/extjs (which always logs 200).
// Thread safety: uses the store from the calling thread.
#pragma once

#include <cstdint>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "store/event_store.h"

namespace pveaudit {

constexpr int64_t kTaskRequestBeforeUs = 10 * 1000000LL;
constexpr int64_t kTaskRequestAfterUs = 2 * 1000000LL;

// Fills ip and the request reference of task events (source "tasks") whose
// request is already stored. Events that are not tasks are left alone.
Status EnrichTasks(EventStore& store, std::vector<Event>* events);

// The id of the request a task event absorbed ("request=#ID" in its
// detail), or 0.
uint64_t AbsorbedRequestId(const Event& e);

// Removes from `events` the requests that a task event in `events`
// absorbed.
void DropAbsorbedRequests(std::vector<Event>* events);

}  // namespace pveaudit

// actions.h
// The action taxonomy: the one table that maps what Proxmox logs (an API
// method + path, or a task type + id) to a pveaudit action ("vm:start"),
// the ACL path it touches ("/vms/100") and the classes the action belongs
// to ("power", "modify"). docs/actions.md is generated from the same rules
// and must be kept in step with actions.cc.
// Thread safety: all functions are pure; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pveaudit {

// Action classes, as bits. An action may belong to several (vm:start is
// power|modify). "modify" is any state change.
enum ActionClass : uint32_t {
  kClassLogin = 1u << 0,
  kClassPower = 1u << 1,
  kClassCreate = 1u << 2,
  kClassDelete = 1u << 3,
  kClassConfig = 1u << 4,
  kClassModify = 1u << 5,
  kClassRead = 1u << 6,
  kClassConsole = 1u << 7,
  kClassBackup = 1u << 8,
  kClassMigrate = 1u << 9,
  kClassSession = 1u << 10,  // ticket renewals, second TFA step, logout
};

// Class names in bit order: "login", "power", ... "session".
const std::vector<std::string_view>& ActionClassNames();
// The class bit for a class name, or 0 when `name` is not a class.
uint32_t ActionClassFromName(std::string_view name);
// Classes of a stored action name ("vm:start" -> power|modify). Unknown
// actions get kClassModify for non-GET-derived names ending in a state
// changing verb, else 0; see actions.cc.
uint32_t ActionClasses(std::string_view action);
// Class names of an action, comma separated ("power,modify").
std::string ActionClassList(std::string_view action);

struct ActionMapping {
  std::string action;    // "vm:start"
  std::string resource;  // "/vms/100"
};

// Maps one API request. `method` is the HTTP method, `path` the request
// path *after* the "/api2/<format>" prefix and without the query string,
// e.g. ("POST", "/nodes/pve1/qemu/100/status/start") -> vm:start, /vms/100.
// Paths that match no rule map to "<object>:read" for GET and
// "<object>:modify" otherwise with the best ACL path that can be derived;
// never fails.
ActionMapping MapApiRequest(std::string_view method, std::string_view path);

// Maps a task (UPID type and id, e.g. "qmstart", "100") started on `node`.
// -> vm:start, /vms/100. Unknown types map to "task:<type>" on /nodes/<node>.
ActionMapping MapTask(std::string_view type, std::string_view id, std::string_view node);

// True when `spec` names a known class, a known object prefix ("vm") or an
// action the taxonomy can produce. Used only for "did you mean" hints: an
// unknown action in a filter is not an error, it just matches nothing.
bool IsKnownActionSpec(std::string_view spec);
// Every action name the taxonomy can produce, sorted (for docs and hints).
std::vector<std::string> KnownActions();

// Matches an --action filter spec against a stored action: exact action
// ("vm:start"), object prefix ("vm" matches "vm:*"), or class ("power").
bool ActionMatches(std::string_view spec, std::string_view action);

// True when an API request mapped to (request_action, request_resource) can
// be the request that started a task mapped to (task_action,
// task_resource), as far as the taxonomy can tell (docs/correlation.md,
// "Task and request"): the same object, or a `guest:` task for a `vm:` or
// `ct:` request (hastart, vncproxy, resize, vzdump do not say which); the
// same verb, or a `restore` task for a `create` request (POST .../qemu with
// an archive); the same resource, or a task below `/vms` for a request on
// the collection `/vms` (POST /nodes/N/qemu -> qmcreate:299 on /vms/299,
// POST /nodes/N/vzdump -> vzdump:100 on /vms/100).
bool RequestCanStartTask(std::string_view request_action, std::string_view request_resource,
                         std::string_view task_action, std::string_view task_resource);

}  // namespace pveaudit

// settings_ops.h
// Validate-and-apply for every change of pveaudit's own configuration
// (alert rules, syslog and webhook destinations), shared by the command
// line (src/cli/access_alert.cc, access_syslog.cc, access_notify.cc) and
// pveauditd's control socket (src/daemon/control_socket.h), so a change
// made in the web UI is checked and recorded exactly like one made with
// pveam. Each change is an audit event with who, before and after
// (store/audited_setting.h); the caller names the actor.
//
// Errors: kInvalidArgument for a bad value (the message names the value and
// the CLI option it came from, e.g. "invalid value 'x' for --threshold:
// ..."), or for an unknown rule id / destination name; nothing is changed.
// Any other code is a store failure.
// Thread safety: none of its own; callers serialise changes of one store
// (the daemon's control socket handles one change at a time).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "alert/alert_rule.h"
#include "core/status.h"
#include "store/audited_setting.h"
#include "store/event_store.h"

namespace pveaudit {

// ---- alert rules (setting "alert.rules") ----

// The options of `pveam access alert add`, as text (as typed).
struct AlertRuleOptions {
  std::string type, threshold, window, cooldown, group_by, notify;
  std::string user, node, resource, ip, action, start, end, days;
};

// Checks the options and builds the rule (id, from_id, created unset).
Result<AlertRule> BuildAlertRule(const AlertRuleOptions& o);

struct AlertRuleChange {
  AlertRule rule;         // the rule as it is after the change; for remove, the rule removed
  bool changed = false;   // false: enable/disable of a rule that already was so
  std::string done;       // "added", "removed", "enabled", "disabled"
  uint64_t event_id = 0;  // the audit event (0 when nothing changed)
};

// Adds the rule built from `o`. `node` is this node's name (the event's).
Result<AlertRuleChange> AddAlertRule(EventStore& store, const Actor& actor, const std::string& node,
                                     const AlertRuleOptions& o);

// verb: "remove", "enable" or "disable"; id: the rule's id as text.
Result<AlertRuleChange> ChangeAlertRule(EventStore& store, const Actor& actor,
                                        const std::string& node, const std::string& verb,
                                        const std::string& id);

// ---- syslog destinations (setting "export.syslog") ----

struct SyslogEnableOptions {
  std::string name = "default";
  std::string server, port, protocol, format, events, ca, cert, key, hold;
  bool from_start = false;
};

// The destination name's syntax (--name).
Status CheckDestinationName(const std::string& name);

// Everything that can be checked without the store (the CLI does this
// before it opens, and perhaps creates, the store).
Status CheckSyslogOptions(const SyslogEnableOptions& o);

struct DestinationChange {
  bool changed = false;        // false: it already was so
  std::string message;         // one line for a person, e.g. "syslog destination 'a' enabled: ..."
  nlohmann::json destination;  // the destination after the change (secret masked)
  uint64_t event_id = 0;
};

Result<DestinationChange> EnableSyslog(EventStore& store, const Actor& actor,
                                       const std::string& node, const SyslogEnableOptions& o);
Result<DestinationChange> DisableSyslog(EventStore& store, const Actor& actor,
                                        const std::string& node, const std::string& name);

// ---- webhook destinations (setting "export.webhook") ----

struct WebhookEnableOptions {
  std::string name = "default";
  std::string url, events, secret, batch, template_spec, ca;
  bool allow_http = false;
};

// Checks everything that can be checked without the store.
Status CheckWebhookOptions(const WebhookEnableOptions& o);

// destination carries "name" besides the stored entry.
Result<DestinationChange> EnableWebhook(EventStore& store, const Actor& actor,
                                        const std::string& node, const WebhookEnableOptions& o);
Result<DestinationChange> DisableWebhook(EventStore& store, const Actor& actor,
                                         const std::string& node, const std::string& name);

// ---- acknowledging fired alerts (action "pveaudit:alert-ack") ----
// A fired alert is an event in the append-only store, so it cannot be
// marked in place: its acknowledgement is an event of its own, naming the
// alert's event id, who, when and an optional comment (docs/alerts.md).

constexpr const char* kAlertAckAction = "pveaudit:alert-ack";
constexpr size_t kMaxAckComment = 1024;  // bytes of --comment

struct AlertAck {
  uint64_t alert_id = 0;  // the fired alert's event id
  uint64_t event_id = 0;  // the acknowledgement's event id
  std::string by;         // who acknowledged (the event's user)
  int64_t time_us = 0;    // when
  std::string comment;    // "" when none was given
};

// The acknowledgement `e` records, or false when `e` is not one.
bool ParseAlertAck(const Event& e, AlertAck* out);

// Every acknowledged alert's first acknowledgement, by alert id.
Result<std::map<uint64_t, AlertAck>> LoadAlertAcks(EventStore& store);

// The acknowledgement as the JSON of `pveam access alerts` and GET alerts
// (by, time, comment, event); null when `ack` is null.
nlohmann::json AlertAckJson(const AlertAck* ack);

struct AlertAckResult {
  bool acknowledged = false;  // true: recorded now; false: it already was (ack says by whom)
  AlertAck ack;
};

// Acknowledges the alert with event id `id_text`. kInvalidArgument, with
// nothing stored, for an id that is not a number or not a fired alert's
// event, and for a comment with control characters or longer than
// kMaxAckComment. An alert acknowledged before is not acknowledged again:
// the result says so (acknowledged false) and names the earlier one.
// `lock_file`, when not empty, is locked (flock) from the check to the
// append: the CLI and pveauditd both write the store, and two of them
// acknowledging one alert at once must store one acknowledgement.
Result<AlertAckResult> AckAlert(EventStore& store, const Actor& actor, const std::string& node,
                                const std::string& id_text, const std::string& comment,
                                const std::string& lock_file = "");

// The lock file of AckAlert for the store in `data_dir`.
std::string AlertAckLockFile(const std::string& data_dir);

}  // namespace pveaudit

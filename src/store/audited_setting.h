// audited_setting.h
// A change to pveaudit's own configuration (alert rules, syslog and webhook
// destinations) is evidence too: an auditor must see who disabled the SIEM
// export. PutAuditedSetting appends an event for the change and then
// writes the setting. The event comes first: a crash between the two leaves
// a recorded change that did not take effect (the next run of the command
// says what is set), never a change that nobody recorded.
#pragma once

#include <optional>
#include <string>

#include "core/status.h"
#include "store/event_store.h"

namespace pveaudit {

// Who made a change from this host's command line: the Proxmox convention
// for the local root is root@pam; another local account is NAME@pam. A
// change made through sudo says so in `via` ("sudo by alice").
struct Actor {
  std::string user;  // "root@pam"
  std::string ip;    // "" for the local command line; the client for the REST API
  std::string via;   // "", or "sudo by alice"
};

// The local user running this process (getuid, SUDO_USER).
Actor LocalActor();

struct SettingChange {
  std::string key;                    // settings key, e.g. "alert.rules"
  std::optional<std::string> before;  // the value it had (nullopt: unset)
  std::string after;                  // the value to store ("" clears it)
  std::string action;                 // event action, e.g. "pveaudit:alert-add"
  std::string resource;               // e.g. "/pveaudit/alerts/3"
  std::string summary;                // one line for the detail, e.g. "rule 3 failed-login ..."
  std::string node;                   // this node's name
};

// Appends the change as an event (source "pveaudit", the actor's user and
// IP, detail "<summary>; before: <before>; after: <after>", with `before`
// and `after` as given: the caller masks secrets first), then writes the
// setting. Returns the event's id through `event_id` when not null.
Status PutAuditedSetting(EventStore& store, const Actor& actor, const SettingChange& change,
                         uint64_t* event_id = nullptr);

}  // namespace pveaudit

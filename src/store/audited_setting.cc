#include "store/audited_setting.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "core/time_spec.h"

namespace pveaudit {

Actor LocalActor() {
  Actor a;
  const uid_t uid = getuid();
  std::string name;
  if (uid == 0) {
    name = "root";
  } else if (const passwd* pw = getpwuid(uid)) {
    name = pw->pw_name;
  } else {
    name = "uid" + std::to_string(uid);
  }
  a.user = name + "@pam";
  const char* sudo = std::getenv("SUDO_USER");
  if (uid == 0 && sudo && *sudo && std::string(sudo) != "root")
    a.via = std::string("sudo by ") + sudo;
  return a;
}

Status PutAuditedSetting(EventStore& store, const Actor& actor, const SettingChange& change,
                         uint64_t* event_id) {
  Event e;
  e.time_us = NowUs();
  e.node = change.node;
  e.user = actor.user;
  e.ip = actor.ip;
  e.action = change.action;
  e.resource = change.resource;
  e.result = Outcome::kSuccess;
  e.source = "pveaudit";
  e.detail = change.summary;
  if (!actor.via.empty()) e.detail += " (" + actor.via + ")";
  e.detail += "; before: " + (change.before ? *change.before : std::string("(unset)"));
  e.detail += "; after: " + (change.after.empty() ? std::string("(unset)") : change.after);
  e.origin = "settings:" + change.key;
  std::vector<Event> events{std::move(e)};
  PVEAUDIT_RETURN_IF_ERROR(store.Append(&events, {}, nullptr));
  if (event_id) *event_id = events.front().id;
  return store.PutSetting(change.key, change.after, actor.user);
}

}  // namespace pveaudit

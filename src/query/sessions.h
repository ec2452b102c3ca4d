// sessions.h
// Sessions reconstructed from the stored events: a session starts at a
// successful login of a user on a node, is extended by that user's activity
// and ticket renewals on the node, and ends at a logout or when its ticket
// expires (kTicketLifetime after the last renewal or login; Proxmox tickets
// live 2 hours and the GUI renews every 15 minutes). A new login while a
// session is open is a second, concurrent session (another browser);
// renewals and activity extend the newest open session of that user and
// node, since the authentication lines do not say which ticket was renewed.
// Thread safety: functions use the given store from the calling thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/event_store.h"

namespace pveaudit {

struct Session {
  std::string user, ip, node;
  int64_t start_us = 0;    // the login
  int64_t last_us = 0;     // last renewal or activity
  int64_t expires_us = 0;  // last_us + lifetime, or the logout time
  bool logged_out = false;
};

struct SessionOptions {
  int64_t lifetime_us = 2LL * 3600 * 1000000;
  // How far before `from` events are read to find sessions that began
  // earlier. A session renewed without pause for longer than this is seen
  // as starting at its first renewal inside the lookback.
  int64_t lookback_us = 24LL * 3600 * 1000000;
};

// Sessions active at `at_us` (start <= at < expires), oldest first.
Result<std::vector<Session>> ActiveSessions(EventStore& store, int64_t at_us,
                                            const SessionOptions& opt = {});

// Sessions that overlap [from_us, to_us), oldest first.
Result<std::vector<Session>> SessionsBetween(EventStore& store, int64_t from_us, int64_t to_us,
                                             const SessionOptions& opt = {});

}  // namespace pveaudit

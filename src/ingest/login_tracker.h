// login_tracker.h
// LoginTracker decides whether a successful authentication line is a new
// login or only a continuation of one (GUI ticket renewal every 15 minutes,
// the second "successful auth" of a TFA login, console ticket checks). It
// rewrites the action of such continuation events from "login" to
// "session:renew" so that `--action login` counts logins, not renewals.
// Rules (docs/actions.md "Login counting"):
//  - a success for (user, node) within kRenewWindow of the previous success
//    of the same (user, node) is a renewal;
//  - failures are always login attempts and do not touch the state.
// The state is a small text blob so that it can be committed with the
// source cursor and a resumed import decides exactly as an uninterrupted one.
// Thread safety: one thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/event.h"

namespace pveaudit {

class LoginTracker {
 public:
  // GUI renewals come every 15 min (pve-manager Workspace.js); 5 min slack.
  static constexpr int64_t kRenewWindowUs = 20LL * 60 * 1000000;

  // Rewrites login successes in `events` (in order) that continue a session.
  void Apply(std::vector<Event>* events);

  std::string SaveState() const;
  // Replaces the state; an empty or unreadable blob resets it.
  void LoadState(const std::string& blob);

 private:
  std::map<std::pair<std::string, std::string>, int64_t> last_success_;  // (user,node) -> time
};

}  // namespace pveaudit

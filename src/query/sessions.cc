#include "query/sessions.h"

#include <algorithm>
#include <map>

namespace pveaudit {

Result<std::vector<Session>> SessionsBetween(EventStore& store, int64_t from_us, int64_t to_us,
                                             const SessionOptions& opt) {
  Filter f;
  f.start_us = from_us - opt.lookback_us;
  f.end_us = to_us;
  std::vector<Session> done;
  // Open sessions per (user, node), newest last.
  std::map<std::pair<std::string, std::string>, std::vector<Session>> open;
  auto close_expired = [&](std::vector<Session>& v, int64_t now) {
    for (auto it = v.begin(); it != v.end();) {
      if (it->expires_us <= now) {
        done.push_back(std::move(*it));
        it = v.erase(it);
      } else {
        ++it;
      }
    }
  };
  Status st = store.Scan(f, kFieldUser | kFieldIp | kFieldNode | kFieldAction, [&](const Event& e) {
    if (e.user.empty()) return true;
    auto& v = open[{e.user, e.node}];
    close_expired(v, e.time_us);
    // A renewal proves a valid ticket: with no known session (its login lies
    // before the lookback) it opens one at the renewal.
    bool renewal_without_session =
        v.empty() && e.action == "session:renew" && e.result == Outcome::kSuccess;
    if ((e.action == "login" && e.result == Outcome::kSuccess) || renewal_without_session) {
      Session s;
      s.user = e.user;
      s.node = e.node;
      s.ip = e.ip;
      s.start_us = s.last_us = e.time_us;
      s.expires_us = e.time_us + opt.lifetime_us;
      v.push_back(std::move(s));
      return true;
    }
    if (v.empty() || e.result == Outcome::kFailure) return true;
    Session& s = v.back();
    if (e.action == "logout") {
      s.last_us = e.time_us;
      s.expires_us = e.time_us;
      s.logged_out = true;
      done.push_back(std::move(s));
      v.pop_back();
      return true;
    }
    // Activity or renewal extends the newest open session. Only a renewal
    // (or a login) issues a new ticket, so only it moves the expiry.
    s.last_us = e.time_us;
    if (s.ip.empty() && !e.ip.empty()) s.ip = e.ip;
    if (e.action == "session:renew") s.expires_us = e.time_us + opt.lifetime_us;
    return true;
  });
  if (!st.ok()) return st;
  for (auto& [key, v] : open)
    for (auto& s : v) done.push_back(std::move(s));
  std::vector<Session> out;
  for (auto& s : done)
    if (s.start_us < to_us && s.expires_us > from_us) out.push_back(std::move(s));
  std::sort(out.begin(), out.end(), [](const Session& a, const Session& b) {
    return a.start_us != b.start_us ? a.start_us < b.start_us : a.user < b.user;
  });
  return out;
}

Result<std::vector<Session>> ActiveSessions(EventStore& store, int64_t at_us,
                                            const SessionOptions& opt) {
  auto all = SessionsBetween(store, at_us, at_us + 1, opt);
  if (!all.ok()) return all;
  std::vector<Session> out;
  for (auto& s : *all)
    if (s.start_us <= at_us && at_us < s.expires_us) out.push_back(std::move(s));
  return out;
}

}  // namespace pveaudit

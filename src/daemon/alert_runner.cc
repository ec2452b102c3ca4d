#include "daemon/alert_runner.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include "alert/alert_engine.h"
#include "alert/alert_rule.h"
#include "core/time_spec.h"
#include "query/correlator.h"

namespace pveaudit {
namespace {

// Events judged per transaction: large enough for a catch-up, small enough
// that one commit stays short.
constexpr size_t kBatch = 5000;
// How often the loop looks for new events and re-reads the rules.
constexpr auto kPoll = std::chrono::milliseconds(100);

// new-ip: the successful logins of `user` in [from, before): 0 none, 1
// some, none from `ip`, 2 one from `ip`. pvedaemon's line names no address;
// it is in the anonymous ticket request answered right after it (the
// pairing of query/correlator.h: same node, kGrantRequestBeforeUs before
// to kGrantRequestAfterUs after). The view is not used here: asked for one
// user it does not read the anonymous requests that carry the addresses.
int SeenLogin(EventStore& store, const std::string& user, const std::string& ip, int64_t from,
              int64_t before) {
  std::vector<Event> logins;
  for (const char* action : {"login", "session:renew"}) {
    Filter f;
    f.user = user;
    f.action = action;
    f.start_us = from;
    f.end_us = before;
    Status st =
        store.Scan(f, kFieldNode | kFieldIp | kFieldSource | kFieldAction, [&](const Event& e) {
          if (e.result == Outcome::kSuccess && e.action == action) logins.push_back(e);
          return true;
        });
    // Unknown: better no alert than one for every login while the store fails.
    if (!st.ok()) return 2;
  }
  std::sort(logins.begin(), logins.end(),
            [](const Event& a, const Event& b) { return a.time_us < b.time_us; });
  Status st;
  if (logins.empty()) return 0;
  IpRange range;
  if (!ParseIpRange(ip, &range)) return 1;
  // Newest first: a user's usual address is usually found at once.
  for (auto it = logins.rbegin(); it != logins.rend(); ++it) {
    if (it->ip == ip) return 2;
    if (!it->ip.empty() || it->source != "auth") continue;
    Filter r;
    r.node = it->node;
    r.ip = range;
    r.start_us = it->time_us - kGrantRequestBeforeUs;
    r.end_us = it->time_us + kGrantRequestAfterUs + 1;
    bool found = false;
    st = store.Scan(r, kFieldAll, [&](const Event& e) {
      found = e.source == "pveproxy" && e.user.empty() && e.action == "access:ticket" &&
              e.result != Outcome::kFailure && e.status.rfind('2', 0) == 0;
      return !found;
    });
    if (!st.ok()) return 2;
    if (found) return 2;
  }
  return 1;
}

}  // namespace

void AlertRunner::Start() {
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void AlertRunner::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

nlohmann::json AlertRunner::State() const {
  std::lock_guard<std::mutex> l(mu_);
  return state_;
}

void AlertRunner::Loop() {
  auto seen = [this](const std::string& user, const std::string& ip, int64_t from, int64_t before) {
    return SeenLogin(store_, user, ip, from, before);
  };
  std::optional<AlertEngine> engine;
  std::optional<uint64_t> last_id;  // the cursor; none until there is a rule
  std::string rules_text;
  bool rules_applied = false;  // rules_text given to the current engine
  AlertRuleSet rules;
  uint64_t fired = 0;
  std::string error;
  bool failing = false;

  auto publish = [&]() {
    nlohmann::json j;
    j["rules"] = engine ? engine->active_rules() : 0;
    j["cursor"] = last_id ? *last_id : 0;
    j["fired"] = fired;
    j["error"] = error;
    j["ok"] = error.empty();
    std::lock_guard<std::mutex> l(mu_);
    state_ = std::move(j);
  };

  auto fail = [&](const std::string& what, const Status& st) {
    error = what + ": " + st.message();
    if (!failing) log_("error", "alerts: " + error);
    failing = true;
  };

  // Reads the rules (every round: a cheap read of one setting) and gives
  // them to the engine when they changed. A document that does not parse
  // keeps the previous rules.
  auto apply_rules = [&]() -> Status {
    auto text = store_.GetSetting(std::string(kAlertRulesKey));
    if (!text.ok()) return text.status();
    std::string now_text = text->value_or("");
    if (rules_applied && now_text == rules_text) return Status::OK();
    auto parsed = AlertRuleSetFromJson(now_text);
    if (!parsed.ok()) {
      fail("keeping the previous alert rules", parsed.status());
    } else {
      rules = *parsed;
      engine->SetRules(rules);
      for (const std::string& e : engine->errors()) log_("error", "alerts: " + e);
      log_("info", "alerts: " + std::to_string(engine->active_rules()) + " rule(s) enabled");
    }
    rules_text = now_text;
    rules_applied = true;
    return Status::OK();
  };

  // (Re)builds the engine from the stored cursor: its windows, the rules,
  // and the lines of the last minutes for pairing (AlertEngine::Replay).
  auto load = [&]() -> Status {
    engine.emplace(seen);
    last_id.reset();
    rules_applied = false;
    auto c = store_.GetCursor(kAlertCursorKey);
    if (!c.ok()) return c.status();
    if (*c) PVEAUDIT_RETURN_IF_ERROR(engine->LoadState((*c)->state));
    // After LoadState (the windows of unchanged rules are kept), before
    // Replay (which lines it keeps depends on the rules).
    PVEAUDIT_RETURN_IF_ERROR(apply_rules());
    if (!*c) return Status::OK();
    last_id = (*c)->offset;
    if (engine->replay_from_us() != INT64_MIN) {
      Filter f;
      f.start_us = engine->replay_from_us();
      std::vector<Event> replay;
      PVEAUDIT_RETURN_IF_ERROR(store_.Scan(f, kFieldAll, [&](const Event& e) {
        if (e.id <= *last_id) replay.push_back(e);
        return true;
      }));
      for (const Event& e : replay) engine->Replay(e);
    }
    return Status::OK();
  };

  bool loaded = false;
  while (!stop_) {
    auto next = std::chrono::steady_clock::now() + kPoll;
    do {
      if (!loaded) {
        Status st = load();
        if (!st.ok()) {
          fail("cannot load the alert cursor", st);
          break;
        }
        loaded = true;
      }
      if (Status st = apply_rules(); !st.ok()) {
        fail("cannot read the alert rules", st);
        break;
      }
      if (!last_id) {
        // No cursor yet: start with the events stored after the first rule.
        uint64_t from = UINT64_MAX;
        for (const AlertRule& r : rules.rules)
          if (r.enabled) from = std::min(from, r.from_id);
        if (from == UINT64_MAX) break;  // nothing to judge
        last_id = from;
      }
      std::vector<Event> batch;
      Status st = store_.ScanAfter(*last_id, kBatch, kFieldAll, [&](const Event& e) {
        batch.push_back(e);
        return true;
      });
      if (!st.ok()) {
        fail("cannot read new events", st);
        break;
      }
      if (batch.empty()) {
        if (failing) log_("info", "alerts: recovered");
        failing = false;
        error.clear();
        break;
      }
      std::vector<Event> alerts;
      for (const Event& e : batch) engine->Add(e, &alerts);
      SourceCursor cursor;
      cursor.key = kAlertCursorKey;
      cursor.path = "alert engine";
      cursor.offset = batch.back().id;
      cursor.state = engine->SaveState();
      const size_t n = alerts.size();
      // AppendBatch may move the details out.
      std::vector<std::string> details;
      for (const Event& a : alerts) details.push_back(a.detail);
      // The alerts and the cursor in one transaction: a crash before the
      // commit judges the batch again from the old state, one after it
      // starts past it.
      st = store_.AppendBatch(&alerts, {}, std::span<const SourceCursor>(&cursor, 1), nullptr);
      if (!st.ok()) {
        fail("cannot store alerts", st);
        loaded = false;  // the engine is ahead of the store: reload it
        break;
      }
      last_id = cursor.offset;
      fired += n;
      for (const std::string& d : details) log_("info", "alert: " + d);
      if (failing) log_("info", "alerts: recovered");
      failing = false;
      error.clear();
      // A full batch: more may be waiting, go on without sleeping.
      if (batch.size() == kBatch) next = std::chrono::steady_clock::now();
    } while (false);
    publish();
    while (!stop_ && std::chrono::steady_clock::now() < next)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace pveaudit

#include "daemon/alert_runner.h"

#include <algorithm>
#include <chrono>
#include <map>
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
constexpr size_t kBatch = 20000;
// How often the loop looks for new events and re-reads the rules.
constexpr auto kPoll = std::chrono::milliseconds(100);

// Events the engine reads: all but the session and the origin, which it
// does not look at.
constexpr uint32_t kEngineFields = kFieldAll & ~(kFieldSession | kFieldOrigin);

// new-ip: gives the engine the successful logins stored up to `last_id`
// (the events it judged) within its longest window, once, instead of a
// store query per login. pvedaemon's line names no address; it is in the
// anonymous ticket request answered right after it (the pairing of
// query/correlator.h: same node, kGrantRequestBeforeUs before to
// kGrantRequestAfterUs after). The view is not used here: it drops the
// anonymous requests that carry the addresses.
Status SeedLoginHistory(EventStore& store, AlertEngine& engine, uint64_t last_id) {
  auto info = store.Info();
  if (!info.ok()) return info.status();
  Filter base;
  // A day more than the window, as the engine keeps (logins read late).
  if (info->events > 0)
    base.start_us = info->last_time_us - engine.login_history_span_us() - 86400 * int64_t{1000000};
  const uint32_t fields =
      kFieldNode | kFieldUser | kFieldIp | kFieldSource | kFieldAction | kFieldStatus;
  std::vector<Event> auths;
  for (const char* action : {"login", "session:renew"}) {
    Filter f = base;
    f.action = action;
    PVEAUDIT_RETURN_IF_ERROR(store.Scan(f, fields, [&](Event& e) {
      if (e.id > last_id || e.action != action || e.result != Outcome::kSuccess || e.user.empty())
        return true;
      if (!e.ip.empty())
        engine.SeedLogin(e.user, e.ip, e.time_us);
      else if (e.source == "auth" && !e.node.empty())
        auths.push_back(std::move(e));
      return true;
    }));
  }
  // Granted ticket requests by node, in time order.
  std::map<std::string, std::vector<std::pair<int64_t, std::string>>> tickets;
  Filter f = base;
  f.action = "access:ticket";
  PVEAUDIT_RETURN_IF_ERROR(store.Scan(f, fields, [&](Event& e) {
    if (e.id <= last_id && e.source == "pveproxy" && e.user.empty() &&
        e.action == "access:ticket" && !e.ip.empty() && e.result != Outcome::kFailure &&
        e.status.rfind('2', 0) == 0)
      tickets[e.node].emplace_back(e.time_us, std::move(e.ip));
    return true;
  }));
  for (auto& [node, v] : tickets) std::sort(v.begin(), v.end());
  for (const Event& a : auths) {
    auto it = tickets.find(a.node);
    if (it == tickets.end()) continue;
    const auto& v = it->second;
    auto from = std::lower_bound(v.begin(), v.end(),
                                 std::make_pair(a.time_us - kGrantRequestBeforeUs, std::string()));
    for (auto t = from; t != v.end() && t->first <= a.time_us + kGrantRequestAfterUs; ++t)
      engine.SeedLogin(a.user, t->second, a.time_us);
  }
  engine.LoginHistorySeeded();
  return Status::OK();
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
  // and the lines its pairer held (AlertEngine::Replay).
  auto load = [&]() -> Status {
    engine.emplace();
    if (expect_auth_) engine->ExpectAuthLane();
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
    // Every event from the first line the pairer held to the cursor, in
    // the order they were judged, in batches (with a lane far behind this
    // can be many).
    for (uint64_t next = engine->replay_from_id(); next != 0 && next <= *last_id;) {
      uint64_t seen = 0;
      PVEAUDIT_RETURN_IF_ERROR(store_.ScanAfter(next - 1, kBatch, kEngineFields, [&](Event& e) {
        if (e.id > *last_id) return false;
        engine->Replay(e);
        seen = e.id;
        return true;
      }));
      if (seen == 0) break;
      next = seen + 1;
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
      if (engine->wants_login_history()) {
        if (Status st = SeedLoginHistory(store_, *engine, *last_id); !st.ok()) {
          fail("cannot read the logins for new-ip", st);
          break;
        }
      }
      std::vector<Event> batch;
      batch.reserve(kBatch);
      Status st = store_.ScanAfter(*last_id, kBatch, kEngineFields, [&](Event& e) {
        batch.push_back(std::move(e));
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
      // Authentication lines in the batch: failed ticket requests stored
      // ahead of them (access.log read first when pveauditd starts) wait
      // for theirs (docs/alerts.md, "One real action = one event").
      for (const Event& e : batch)
        if (e.source == "auth") {
          engine->ExpectAuthLane();
          break;
        }
      std::vector<Event> alerts;
      const uint64_t last_in_batch = batch.back().id;  // the events are moved out
      for (Event& e : batch) engine->Add(std::move(e), &alerts);
      SourceCursor cursor;
      cursor.key = kAlertCursorKey;
      cursor.path = "alert engine";
      cursor.offset = last_in_batch;
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

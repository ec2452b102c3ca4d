// pveam access notify: webhook destinations (docs/notify.md). Adds or
// replaces one (--webhook URL), disables one (--disable), or lists them
// with what pveauditd reports about their delivery. Destinations live in
// the store's settings ("export.webhook"), so every node's CLI and
// pveauditd see the same ones; every change is an audit event.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "admin/settings_ops.h"
#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/host_name.h"
#include "core/time_spec.h"
#include "export/export_loop.h"
#include "export/webhook_sink.h"
#include "store/audited_setting.h"

namespace pveaudit {
namespace {

struct Opts {
  CommonOptions common;
  std::string webhook, name, events, secret, secret_file, batch, template_spec, ca;
  bool allow_http = false;
  bool disable = false;
};

// The "export.webhook" object (name -> destination); {} when unset.
nlohmann::json LoadAll(EventStore& store) {
  auto v = store.GetSetting(kWebhookSettingsKey);
  if (!v.ok()) {
    std::cerr << "error: " << v.status().message() << "\n";
    std::exit(kExitFailure);
  }
  if (!v->has_value() || (*v)->empty()) return nlohmann::json::object();
  auto j = nlohmann::json::parse(**v, nullptr, false);
  if (!j.is_object()) {
    std::cerr << "error: the stored setting " << kWebhookSettingsKey
              << " is not a JSON object; set a destination again to replace it\n";
    std::exit(kExitFailure);
  }
  return j;
}

void PrintDestination(const Env& env, const std::string& verb, const std::string& name,
                      const nlohmann::json& entry) {
  if (env.format == OutputFormat::kJson || env.format == OutputFormat::kJsonPretty) {
    nlohmann::json j = entry;
    j["name"] = name;
    std::cout << (env.format == OutputFormat::kJson ? j.dump() : j.dump(4)) << "\n";
    return;
  }
  if (env.format != OutputFormat::kText) {
    Table t;
    t.columns = {"name", "url", "events", "enabled"};
    t.rows.push_back({name, entry.value("url", ""), entry.value("events", "all"),
                      std::string(entry.value("enabled", true) ? "true" : "false")});
    std::string out = RenderTable(t, env.format);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return;
  }
  std::printf("webhook '%s' %s: %s (events: %s, batch: %d, %s)\n", name.c_str(), verb.c_str(),
              entry.value("url", "").c_str(), entry.value("events", "all").c_str(),
              entry.value("batch", kWebhookDefaultBatch),
              entry.contains("secret") ? "signed" : "unsigned");
}

int Enable(const Opts& o, const Env& env) {
  WebhookEnableOptions w;
  w.name = o.name;
  w.url = o.webhook;
  w.events = o.events;
  w.secret = o.secret;
  w.batch = o.batch;
  w.template_spec = o.template_spec;
  w.ca = o.ca;
  w.allow_http = o.allow_http;
  if (!o.secret_file.empty()) {
    std::ifstream f(o.secret_file, std::ios::binary);
    if (!f) throw UsageError{"cannot read --secret-file '" + o.secret_file + "'"};
    std::ostringstream ss;
    ss << f.rdbuf();
    w.secret = ss.str();
    while (!w.secret.empty() && (w.secret.back() == '\n' || w.secret.back() == '\r'))
      w.secret.pop_back();
    if (w.secret.empty()) throw UsageError{"--secret-file '" + o.secret_file + "' is empty"};
  }
  // Every argument is checked before the store is touched.
  CheckChange(CheckWebhookOptions(w));
  auto store = OpenStoreOrDie(env, /*read_only=*/false);
  auto c = EnableWebhook(*store, LocalActor(), NodeNameOr(env.config.node), w);
  CheckChange(c.status());
  nlohmann::json entry = c->destination;
  entry.erase("name");
  PrintDestination(env, c->message, o.name, entry);
  return kExitOk;
}

int Disable(const Opts& o, const Env& env) {
  // Read-only first: a bad name must not even create a store.
  StoreOptions so;
  so.read_only = true;
  auto existing = OpenStore(env.store, so);
  if (!existing.ok() && existing.status().code() == Status::Code::kNotFound)
    throw UsageError{"no webhook destination named '" + o.name + "' (there are none)"};
  if (!existing.ok()) OpenStoreOrDie(env, /*read_only=*/true);  // says why and exits
  existing->reset();                                            // one connection at a time
  auto store = OpenStoreOrDie(env, /*read_only=*/false);
  auto c = DisableWebhook(*store, LocalActor(), NodeNameOr(env.config.node), o.name);
  CheckChange(c.status());
  nlohmann::json entry = c->destination;
  entry.erase("name");
  PrintDestination(env, c->message, o.name, entry);
  return kExitOk;
}

int List(const Opts& o, const Env& env, bool name_given) {
  StoreOptions so;
  so.read_only = true;
  auto opened = OpenStore(env.store, so);
  if (!opened.ok() && opened.status().code() == Status::Code::kNotFound && !name_given) {
    // No store yet: nothing configured (not an error for a listing).
    if (env.format == OutputFormat::kText)
      std::cerr << "no webhook destinations; add one with: pveam access notify --webhook URL\n";
    else if (env.format == OutputFormat::kJson || env.format == OutputFormat::kJsonPretty)
      std::cout << "[]\n";
    return kExitOk;
  }
  auto store = OpenStoreOrDie(env, /*read_only=*/true);
  nlohmann::json all = LoadAll(*store);
  if (name_given && !all.contains(o.name))
    throw UsageError{"no webhook destination named '" + o.name + "'"};
  auto info = store->Info();
  const uint64_t last_id = info.ok() ? info->last_id : 0;
  std::map<std::string, uint64_t> cursors;
  if (auto c = store->ListConsumers(); c.ok())
    for (const auto& p : *c) cursors[p.name] = p.last_id;
  // What pveauditd publishes about each export: daemon.status
  // "destinations", one ExportState (export/export_loop.h) per destination.
  nlohmann::json exports = nlohmann::json::array();
  if (auto s = store->GetSetting("daemon.status"); s.ok() && s->has_value()) {
    auto d = nlohmann::json::parse(**s, nullptr, false);
    if (d.is_object() && d.contains("destinations") && d["destinations"].is_array())
      exports = d["destinations"];
  }
  Table t;
  t.columns = {"name",  "state",  "events", "batch",    "secret", "cursor",    "lag_events",
               "lag_s", "errors", "url",    "template", "ca",     "last_error"};
  const bool text = env.format == OutputFormat::kText;
  if (text) {
    t.width = 80;
    t.own_line = {false, false, false, false, false, false, false,
                  false, false, true,  true,  true,  true};
  }
  for (auto& [name, entry] : all.items()) {
    if (name_given && name != o.name) continue;
    const nlohmann::json e = entry.is_object() ? entry : nlohmann::json::object();
    const std::string consumer = WebhookConsumerName(name);
    Cell cursor, lag_events, lag_s, errors, last_error;
    // The cursor is the store's; the backlog as pveauditd last saw it
    // (lag_s: how long the oldest undelivered event has waited), else the
    // events stored after the cursor.
    if (auto it = cursors.find(consumer); it != cursors.end()) {
      cursor = int64_t(it->second);
      lag_events = int64_t(last_id > it->second ? last_id - it->second : 0);
    }
    for (const auto& x : exports) {
      if (!x.is_object()) continue;
      if (!x.contains("consumer") || x["consumer"] != consumer) continue;
      if (x.contains("undelivered") && x["undelivered"].is_number_integer())
        lag_events = x["undelivered"].get<int64_t>();
      if (x.contains("lag_s") && x["lag_s"].is_number_integer()) lag_s = x["lag_s"].get<int64_t>();
      // Failed deliveries since pveauditd started.
      if (x.contains("failures") && x["failures"].is_number_integer())
        errors = x["failures"].get<int64_t>();
      if (x.contains("last_error") && x["last_error"].is_string())
        last_error = x["last_error"].get<std::string>();
    }
    const bool enabled = e.value("enabled", true);
    t.rows.push_back({name, std::string(enabled ? "enabled" : "disabled"), e.value("events", "all"),
                      int64_t(e.value("batch", kWebhookDefaultBatch)),
                      std::string(e.value("secret", "") == kSecretMask ? kSecretMask : ""), cursor,
                      lag_events, lag_s, errors, e.value("url", ""), e.value("template", ""),
                      e.value("ca", ""), last_error});
  }
  if (t.rows.empty() && text) {
    std::cerr << "no webhook destinations; add one with: pveam access notify --webhook URL\n";
    return kExitOk;
  }
  std::string out = RenderTable(t, env.format);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

}  // namespace

CommandRun AddAccessNotifyCommand(CLI::App* access) {
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = access->add_subcommand(
      "notify", "Send access events to webhooks (SIEM, chat tools); list or disable them");
  cmd->add_option("--webhook", o->webhook,
                  "Add or replace a destination: POST events to URL (https://; http:// only "
                  "with --allow-http)")
      ->type_name("URL");
  cmd->add_option("--name", o->name, "Destination name (default: default)")->type_name("NAME");
  cmd->add_option("--events", o->events,
                  "Which events: all (default), alerts (fired alerts) or failed (failed "
                  "logins and actions, and alerts)")
      ->type_name("SET");
  cmd->add_option("--secret", o->secret,
                  "Sign each request: X-Pveaudit-Signature: sha256=HMAC-SHA256(S, body) "
                  "(visible in ps: prefer --secret-file)")
      ->type_name("S");
  cmd->add_option("--secret-file", o->secret_file,
                  "Read the signing secret from FILE (without its final newline)")
      ->type_name("FILE");
  cmd->add_option("--batch", o->batch, "Events per request at most, 1-10000 (default: 100)")
      ->type_name("N");
  cmd->add_option("--template", o->template_spec,
                  "Body for a chat tool: gotify, ntfy, slack (also Teams and Mattermost), or a "
                  "template FILE (docs/notify.md)")
      ->type_name("NAME|FILE");
  cmd->add_option("--ca", o->ca,
                  "Trust only the CA certificates in FILE (PEM) instead of the system's")
      ->type_name("FILE");
  cmd->add_flag("--allow-http", o->allow_http,
                "Allow a plain http:// URL (a receiver on this host or a trusted network)");
  cmd->add_flag("--disable", o->disable, "Stop sending to the destination --name");
  AddCommonOptions(cmd, &o->common, true);
  cmd->footer(R"HELP(
Without --webhook or --disable, lists the destinations: state, which events,
the secret as "(set)" (never in clear), and, once pveauditd delivers to them,
the last event delivered (cursor), how far behind it is (lag_events, lag_s)
and its delivery errors.

pveauditd POSTs events in batches, as JSON: {"events": [...]} where each
event has the fields of 'pveam access log --output-format json' with its id.
Each request has an Idempotency-Key header, the same when a batch is sent
again (at least once delivery: a receiver drops repeats by it). TLS
certificates are verified. A 2xx answer is success; 5xx, 408, 429 and
network errors are retried with backoff (Retry-After honoured); another 4xx
is reported and retried slowly. Events are kept while a receiver is down.

Every change is recorded as an audit event (action pveaudit:notify-enable
or pveaudit:notify-disable, resource /pveaudit/notify/NAME), secret masked.

Examples:
  pveam access notify --webhook https://hooks.example.com/siem
  pveam access notify --webhook https://siem.example.com/pveaudit \
      --name siem --secret-file /etc/pveaudit/siem.secret --batch 500
  pveam access notify --webhook https://ntfy.example.com/pve-alerts \
      --name phone --events alerts --template ntfy
  pveam access notify --disable --name phone
  pveam access notify --output-format json-pretty)HELP");
  return [o, cmd]() -> int {
    const bool name_given = cmd->count("--name") > 0;
    if (o->name.empty()) o->name = "default";
    if (!o->webhook.empty() && o->disable)
      throw UsageError{"--webhook and --disable cannot be used together"};
    if (!o->secret.empty() && !o->secret_file.empty())
      throw UsageError{"--secret and --secret-file cannot be used together"};
    if (cmd->count("--secret") && o->secret.empty())
      throw UsageError{"invalid value '' for --secret: the secret must not be empty"};
    if (cmd->count("--webhook") && o->webhook.empty())
      throw UsageError{"invalid value '' for --webhook: expected https://HOST[:PORT]/PATH"};
    if (o->webhook.empty()) {
      for (const char* opt : {"--events", "--secret", "--secret-file", "--batch", "--template",
                              "--ca", "--allow-http"})
        if (cmd->count(opt))
          throw UsageError{
              std::string(opt) +
              " needs --webhook URL (it describes the destination being added or replaced)"};
    }
    // The name's syntax (ParseWebhookConfig checks it with a stand-in URL).
    nlohmann::json probe = {{"name", o->name}, {"url", "https://localhost/"}};
    if (auto c = ParseWebhookConfig(probe); !c.ok()) throw UsageError{c.status().message()};
    Env env = ResolveEnv(o->common);
    if (!o->webhook.empty()) return Enable(*o, env);
    if (o->disable) return Disable(*o, env);
    return List(*o, env, name_given);
  };
}

}  // namespace pveaudit

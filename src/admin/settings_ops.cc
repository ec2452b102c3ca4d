#include "admin/settings_ops.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "alert/alert_engine.h"
#include "core/actions.h"
#include "core/did_you_mean.h"
#include "core/filter.h"
#include "core/time_spec.h"
#include "export/export_loop.h"
#include "export/syslog_sink.h"
#include "export/webhook_sink.h"
#include "query/log_query.h"

namespace pveaudit {
namespace {

// A bad value, thrown inside the validation code and returned as
// kInvalidArgument at the public functions: the checks read top-down like
// the CLI's they came from, without a return after each.
struct Bad {
  std::string message;
};

template <typename Range>
std::string Join(const Range& items, const char* sep) {
  std::string s;
  for (const auto& i : items) {
    if (!s.empty()) s += sep;
    s += i;
  }
  return s;
}

uint64_t Count(const std::string& flag, const std::string& v, uint64_t min) {
  bool digits =
      !v.empty() && v.size() < 19 && v.find_first_not_of("0123456789") == std::string::npos;
  uint64_t n = digits ? std::stoull(v) : 0;
  if (!digits || n < min)
    throw Bad{"invalid value '" + v + "' for " + flag +
              ": expected a whole number >= " + std::to_string(min)};
  return n;
}

int64_t Duration(const std::string& flag, const std::string& v, bool zero_ok) {
  int64_t us = 0;
  if (zero_ok && (v == "0" || v == "0s" || v == "0m")) return 0;
  if (!ParseDuration(v, &us))
    throw Bad{"invalid value '" + v + "' for " + flag +
              ": expected a duration such as 90s, 15m, 2h, 1d or 1w"};
  return us;
}

// Runs `fn`, turning a Bad into kInvalidArgument.
template <typename T, typename Fn>
Result<T> Checked(Fn&& fn) {
  try {
    return fn();
  } catch (const Bad& b) {
    return Status::InvalidArgument(b.message);
  }
}

AlertRule BuildRule(const AlertRuleOptions& o) {
  AlertType type;
  if (o.type.empty()) throw Bad{"--type is required: one of " + Join(AlertTypeNames(), ", ")};
  if (!ParseAlertType(o.type, &type)) {
    std::string all = Join(AlertTypeNames(), ", ");
    std::string hint = DidYouMean(o.type, AlertTypeNames());
    throw Bad{"invalid value '" + o.type + "' for --type: expected " + all +
              (hint.empty() ? "" : " (did you mean '" + hint + "'?)")};
  }
  AlertRule r = DefaultRule(type);
  if (!o.threshold.empty()) r.threshold = Count("--threshold", o.threshold, 1);
  if (!o.window.empty()) {
    r.window_us = Duration("--window", o.window, false);
    // The cooldown follows the window unless given (one alert per window).
    if (r.cooldown_us) r.cooldown_us = r.window_us;
  }
  if (!o.cooldown.empty()) r.cooldown_us = Duration("--cooldown", o.cooldown, true);
  if (!o.group_by.empty()) {
    GroupBy g;
    if (!ParseGroupBy(o.group_by, &g))
      throw Bad{"invalid value '" + o.group_by +
                "' for --group-by: expected user, ip, resource or action"};
    const bool logins = type == AlertType::kFailedLogin || type == AlertType::kBruteForceSuccess;
    if (logins && g != GroupBy::kUser && g != GroupBy::kIp)
      throw Bad{"invalid value '" + o.group_by + "' for --group-by with --type " + o.type +
                ": expected user or ip"};
    if (type == AlertType::kNewIp && g != GroupBy::kUser)
      throw Bad{"invalid value '" + o.group_by +
                "' for --group-by with --type new-ip: it is always per user"};
    r.group_by = o.group_by;
  }
  if (!o.notify.empty()) {
    size_t pos = 0;
    while (pos <= o.notify.size()) {
      size_t comma = o.notify.find(',', pos);
      if (comma == std::string::npos) comma = o.notify.size();
      std::string n = o.notify.substr(pos, comma - pos);
      if (n != "syslog" && n != "webhook")
        throw Bad{"invalid value '" + n +
                  "' for --notify: expected syslog, webhook or both (syslog,webhook)"};
      r.notify.push_back(n);
      pos = comma + 1;
    }
  }
  r.user = o.user;
  r.node = o.node;
  if (!o.resource.empty()) {
    if (o.resource[0] != '/')
      throw Bad{"invalid value '" + o.resource +
                "' for --resource: expected an ACL path such as /vms/100"};
    r.resource = o.resource;
    while (r.resource.size() > 1 && r.resource.back() == '/') r.resource.pop_back();
  }
  if (!o.ip.empty()) {
    IpRange range;
    if (!ParseIpRange(o.ip, &range))
      throw Bad{"invalid value '" + o.ip +
                "' for --ip: expected an address or CIDR range such as 192.0.2.0/24"};
    r.ip = o.ip;
  }
  if (!o.action.empty()) {
    if (!IsKnownActionSpec(o.action)) {
      std::vector<std::string> known = KnownActions();
      for (std::string_view c : ActionClassNames()) known.emplace_back(c);
      std::string hint = DidYouMean(o.action, known);
      throw Bad{"invalid value '" + o.action +
                "' for --action: not a known action, object or class" +
                (hint.empty() ? "" : " (did you mean '" + hint + "'?)") + "; see docs/actions.md"};
    }
    r.action = o.action;
  }
  if (type == AlertType::kActionRate && r.action.empty())
    throw Bad{"--type action-rate needs --action (e.g. --action vm:create)"};
  const bool off = type == AlertType::kOffHours;
  if (!off && (!o.start.empty() || !o.end.empty() || !o.days.empty()))
    throw Bad{std::string(!o.start.empty() ? "--start"
                          : !o.end.empty() ? "--end"
                                           : "--days") +
              " is for --type off-hours only"};
  if (off) {
    if (o.start.empty() || o.end.empty())
      throw Bad{
          "--type off-hours needs --start HH:MM and --end HH:MM (e.g. --start 18:00 "
          "--end 08:00)"};
    int secs[2];
    const std::string* texts[2] = {&o.start, &o.end};
    const char* flags[2] = {"--start", "--end"};
    for (int i = 0; i < 2; ++i) {
      auto t = ParseTimeSpec(*texts[i], NowUs());
      if (!t.ok() || t->kind != TimeSpec::Kind::kTimeOfDay)
        throw Bad{"invalid value '" + *texts[i] + "' for " + flags[i] +
                  ": expected a time of day HH:MM"};
      secs[i] = t->seconds_of_day;
    }
    if (secs[0] == secs[1])
      throw Bad{"--start and --end are the same time of day; the window would be empty"};
    r.start = o.start;
    r.end = o.end;
    if (!o.days.empty()) {
      uint8_t mask;
      if (!ParseWeekdays(o.days, &mask))
        throw Bad{"invalid value '" + o.days +
                  "' for --days: expected days such as mon-fri or sat,sun"};
      r.days = o.days;
    }
  }
  return r;
}

// The stored rules and their text (nullopt: none stored yet).
struct LoadedRules {
  std::optional<std::string> text;
  AlertRuleSet set;
};

Status LoadRules(EventStore& store, LoadedRules* l) {
  auto t = store.GetSetting(std::string(kAlertRulesKey));
  if (!t.ok()) return t.status();
  l->text = *t;
  auto set = AlertRuleSetFromJson(l->text.value_or(""));
  if (!set.ok()) return Status::Corruption(set.status().message());
  l->set = *set;
  return Status::OK();
}

Status SaveRules(EventStore& store, const Actor& actor, const std::string& node,
                 const LoadedRules& before, const AlertRuleSet& after, const std::string& action,
                 uint64_t id, const std::string& summary, uint64_t* event_id) {
  SettingChange c;
  c.key = std::string(kAlertRulesKey);
  c.before = before.text;
  c.after = AlertRuleSetToJson(after);
  c.action = action;
  c.resource = "/pveaudit/alerts/" + std::to_string(id);
  c.summary = summary;
  c.node = node;
  Status st = PutAuditedSetting(store, actor, c, event_id);
  if (!st.ok()) return Status::IOError("cannot save the alert rules: " + st.message());
  return st;
}

// ---- syslog ----

constexpr const char* kSyslogKey = "export.syslog";

void CheckServer(const std::string& s) {
  bool ok = !s.empty() && s.size() <= 253 && s[0] != '-';
  for (char c : s) ok &= c > 32 && c < 127 && c != '/' && c != '@';
  if (!ok)
    throw Bad{"invalid value '" + s +
              "' for --server: expected a host name or IP address such as syslog.example.com"};
}

int ParsePort(const std::string& v) {
  bool digits =
      !v.empty() && v.size() <= 5 && v.find_first_not_of("0123456789") == std::string::npos;
  int p = digits ? std::stoi(v) : 0;
  if (p < 1 || p > 65535)
    throw Bad{"invalid value '" + v + "' for --port: expected a port number 1-65535"};
  return p;
}

void CheckReadable(const std::string& flag, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) || access(path.c_str(), R_OK) != 0)
    throw Bad{"invalid value '" + path + "' for " + flag +
              ": not a readable file (a PEM file is expected)"};
}

std::string SyslogSummary(const SyslogDestination& d) {
  std::string server = d.server.find(':') != std::string::npos ? "[" + d.server + "]" : d.server;
  std::string s = std::string(SyslogProtocolName(d.protocol)) + "://" + server + ":" +
                  std::to_string(d.port) + " format " + SyslogFormatName(d.format) + " events " +
                  EventSelectionName(d.events);
  if (!d.ca.empty()) s += " ca " + d.ca;
  if (!d.cert.empty()) s += " cert " + d.cert;
  if (d.hold_s != SyslogDestination::kDefaultHoldS) s += " hold " + std::to_string(d.hold_s) + "s";
  return s;
}

// A settings object (name -> destination); {} when unset.
Status LoadObject(EventStore& store, const char* key, nlohmann::json* out) {
  auto v = store.GetSetting(key);
  if (!v.ok()) return v.status();
  *out = nlohmann::json::object();
  if (!v->has_value() || (*v)->empty()) return Status::OK();
  auto j = nlohmann::json::parse(**v, nullptr, false);
  if (!j.is_object())
    return Status::Corruption(std::string("the stored setting ") + key +
                              " is not a JSON object; set a destination again to replace it");
  *out = std::move(j);
  return Status::OK();
}

void CheckSyslog(const SyslogEnableOptions& o) {
  SyslogProtocol protocol;
  SyslogFormat format;
  EventSelection events;
  Status n = CheckDestinationName(o.name);
  if (!n.ok()) throw Bad{n.message()};
  if (!o.protocol.empty() && !ParseSyslogProtocol(o.protocol, &protocol))
    throw Bad{"invalid value '" + o.protocol + "' for --protocol: expected udp, tcp or tls"};
  if (!o.format.empty() && !ParseSyslogFormat(o.format, &format))
    throw Bad{"invalid value '" + o.format + "' for --format: expected cef or rfc5424"};
  if (!o.events.empty() && !ParseEventSelection(o.events, &events))
    throw Bad{"invalid value '" + o.events + "' for --events: expected all, alerts or failed"};
  if (!o.server.empty()) CheckServer(o.server);
  if (!o.hold.empty()) {
    bool digits = o.hold.size() <= 4 && o.hold.find_first_not_of("0123456789") == std::string::npos;
    int hold = digits ? std::stoi(o.hold) : -1;
    if (hold < 0 || hold > 3600)
      throw Bad{"invalid value '" + o.hold + "' for --hold: expected a number of seconds 0-3600"};
  }
  if (!o.port.empty()) ParsePort(o.port);
  if (!o.ca.empty()) CheckReadable("--ca", o.ca);
  if (!o.cert.empty()) CheckReadable("--cert", o.cert);
  if (!o.key.empty()) CheckReadable("--key", o.key);
  if (o.cert.empty() != o.key.empty())
    throw Bad{o.cert.empty() ? "--key needs --cert (the client certificate)"
                             : "--cert needs --key (the client certificate's key)"};
}

// ---- webhooks ----

std::string Absolute(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

// The entry to store (URL masked, secret "(set)"), after every check.
nlohmann::json WebhookEntry(const WebhookEnableOptions& o) {
  if (Status st = CheckWebhookUrl(o.url, o.allow_http); !st.ok())
    throw Bad{"invalid value '" + o.url + "' for --webhook: " + st.message()};
  // The audited entry names the host only: a chat tool's token in the
  // path or query must not land in an (undeletable) audit event.
  nlohmann::json entry = {{"url", MaskedWebhookUrl(o.url)}};
  entry["events"] = o.events.empty() ? "all" : o.events;
  if (entry["events"] != "all" && entry["events"] != "alerts" && entry["events"] != "failed")
    throw Bad{"invalid value '" + o.events + "' for --events: expected all, alerts or failed"};
  int batch = kWebhookDefaultBatch;
  if (!o.batch.empty()) {
    if (o.batch.size() > 5 || o.batch.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(o.batch) < 1 || std::stoi(o.batch) > kWebhookMaxBatch)
      throw Bad{"invalid value '" + o.batch + "' for --batch: expected a whole number from 1 to " +
                std::to_string(kWebhookMaxBatch)};
    batch = std::stoi(o.batch);
  }
  entry["batch"] = batch;
  if (!o.template_spec.empty())
    entry["template"] = o.template_spec.find('/') == std::string::npos ? o.template_spec
                                                                       : Absolute(o.template_spec);
  if (!o.ca.empty()) entry["ca"] = Absolute(o.ca);
  if (o.allow_http) entry["allow_http"] = true;
  entry["enabled"] = true;
  nlohmann::json check = entry;
  check["url"] = o.url;
  check["name"] = o.name;
  if (!o.secret.empty()) check["secret"] = o.secret;
  auto parsed = ParseWebhookConfig(check);
  if (!parsed.ok()) throw Bad{parsed.status().message()};
  if (!o.secret.empty()) entry["secret"] = kSecretMask;
  return entry;
}

}  // namespace

Result<AlertRule> BuildAlertRule(const AlertRuleOptions& o) {
  return Checked<AlertRule>([&] { return BuildRule(o); });
}

Result<AlertRuleChange> AddAlertRule(EventStore& store, const Actor& actor, const std::string& node,
                                     const AlertRuleOptions& o) {
  auto built = BuildAlertRule(o);
  if (!built.ok()) return built.status();
  AlertRule rule = *built;
  LoadedRules before;
  PVEAUDIT_RETURN_IF_ERROR(LoadRules(store, &before));
  auto info = store.Info();
  if (!info.ok()) return info.status();
  AlertRuleSet after = before.set;
  rule.id = after.next_id++;
  rule.from_id = info->last_id;
  rule.created_us = NowUs();
  rule.created_by = actor.user;
  after.rules.push_back(rule);
  AlertRuleChange c;
  c.rule = rule;
  c.changed = true;
  c.done = "added";
  PVEAUDIT_RETURN_IF_ERROR(SaveRules(
      store, actor, node, before, after, "pveaudit:alert-add", rule.id,
      "alert rule " + std::to_string(rule.id) + " added: " + DescribeRule(rule), &c.event_id));
  return c;
}

Result<AlertRuleChange> ChangeAlertRule(EventStore& store, const Actor& actor,
                                        const std::string& node, const std::string& verb,
                                        const std::string& id_text) {
  if (verb != "remove" && verb != "enable" && verb != "disable")
    return Status::InvalidArgument("invalid change '" + verb +
                                   "': expected remove, enable or disable");
  bool digits = !id_text.empty() && id_text.size() < 19 &&
                id_text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits)
    return Status::InvalidArgument("invalid rule id '" + id_text +
                                   "': expected a number from 'pveam access alert list'");
  const uint64_t id = std::stoull(id_text);
  LoadedRules before;
  PVEAUDIT_RETURN_IF_ERROR(LoadRules(store, &before));
  AlertRuleSet after = before.set;
  auto it = std::find_if(after.rules.begin(), after.rules.end(),
                         [&](const AlertRule& r) { return r.id == id; });
  if (it == after.rules.end())
    return Status::InvalidArgument("no alert rule '" + id_text +
                                   "' (see 'pveam access alert list')");
  AlertRuleChange c;
  c.rule = *it;
  const std::string desc = DescribeRule(*it);
  if (verb == "remove") {
    after.rules.erase(it);
    c.done = "removed";
  } else {
    const bool enable = verb == "enable";
    c.rule.enabled = enable;
    c.done = enable ? "enabled" : "disabled";
    if (it->enabled == enable) return c;  // already so: nothing to record
    it->enabled = enable;
  }
  c.changed = true;
  PVEAUDIT_RETURN_IF_ERROR(SaveRules(store, actor, node, before, after, "pveaudit:alert-" + verb,
                                     id, "alert rule " + id_text + " " + c.done + ": " + desc,
                                     &c.event_id));
  return c;
}

Status CheckDestinationName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name)
    ok &= std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  if (!ok)
    return Status::InvalidArgument("invalid value '" + name +
                                   "' for --name: expected 1-64 letters, digits, '-', '_' or '.'");
  return Status::OK();
}

Status CheckSyslogOptions(const SyslogEnableOptions& o) {
  auto r = Checked<bool>([&] {
    CheckSyslog(o);
    return true;
  });
  return r.ok() ? Status::OK() : r.status();
}

Result<DestinationChange> EnableSyslog(EventStore& store, const Actor& actor,
                                       const std::string& node, const SyslogEnableOptions& o) {
  PVEAUDIT_RETURN_IF_ERROR(CheckSyslogOptions(o));
  SyslogProtocol protocol = SyslogProtocol::kUdp;
  SyslogFormat format = SyslogFormat::kCef;
  EventSelection events = EventSelection::kAll;
  if (!o.protocol.empty()) ParseSyslogProtocol(o.protocol, &protocol);
  if (!o.format.empty()) ParseSyslogFormat(o.format, &format);
  if (!o.events.empty()) ParseEventSelection(o.events, &events);
  const int hold = o.hold.empty() ? -1 : std::stoi(o.hold);
  const int port = o.port.empty() ? 0 : std::stoi(o.port);

  nlohmann::json all;
  PVEAUDIT_RETURN_IF_ERROR(LoadObject(store, kSyslogKey, &all));
  const bool exists = all.contains(o.name);
  SyslogDestination d;
  if (exists) {
    auto old = SyslogDestination::FromJson(o.name, all[o.name]);
    if (old.ok()) d = *old;
  } else if (o.server.empty()) {
    return Status::InvalidArgument("--server is required for a new destination ('" + o.name + "')");
  }
  d.name = o.name;
  if (!o.server.empty()) d.server = o.server;
  if (!o.protocol.empty()) {
    // The default port follows the protocol unless one was given.
    if (!port && (d.port == 514 || d.port == 6514))
      d.port = protocol == SyslogProtocol::kTls ? 6514 : 514;
    d.protocol = protocol;
  } else if (!exists) {
    d.protocol = SyslogProtocol::kUdp;
  }
  if (port) d.port = port;
  if (!exists && !port) d.port = d.protocol == SyslogProtocol::kTls ? 6514 : 514;
  if (!o.format.empty() || !exists) d.format = format;
  if (!o.events.empty() || !exists) d.events = events;
  if (hold >= 0) d.hold_s = hold;
  if (!o.ca.empty()) d.ca = std::filesystem::absolute(o.ca).string();
  if (!o.cert.empty()) {
    d.cert = std::filesystem::absolute(o.cert).string();
    d.key = std::filesystem::absolute(o.key).string();
  }
  if (d.protocol != SyslogProtocol::kTls && (!o.ca.empty() || !o.cert.empty()))
    return Status::InvalidArgument("--ca, --cert and --key need --protocol tls");
  d.enabled = true;
  if (!exists)
    d.from_start = o.from_start;
  else if (o.from_start)
    return Status::InvalidArgument("--from-start applies to a new destination only; '" + o.name +
                                   "' exists and keeps its position");

  DestinationChange c;
  const std::string before = all.dump();
  all[o.name] = d.ToJson();
  c.destination = all[o.name];
  c.destination["name"] = o.name;
  const std::string after = all.dump();
  if (before == after) {
    c.message = "syslog destination '" + o.name + "' is already enabled: " + SyslogSummary(d);
    return c;
  }
  // The position first: a new destination gets what is stored from now on
  // (or everything with --from-start), whenever pveauditd picks it up.
  uint64_t start = 0;
  PVEAUDIT_RETURN_IF_ERROR(StartConsumer(store, "syslog:" + o.name, d.from_start, &start));
  SettingChange ch;
  ch.key = kSyslogKey;
  ch.before = before == "{}" ? std::nullopt : std::optional<std::string>(before);
  ch.after = after;
  ch.action = "pveaudit:syslog-enable";
  ch.resource = "/pveaudit/syslog/" + o.name;
  ch.summary = "syslog destination " + o.name + " enabled: " + SyslogSummary(d);
  ch.node = node;
  PVEAUDIT_RETURN_IF_ERROR(PutAuditedSetting(store, actor, ch, &c.event_id));
  c.changed = true;
  c.message = "syslog destination '" + o.name + "' enabled: " + SyslogSummary(d);
  return c;
}

Result<DestinationChange> DisableSyslog(EventStore& store, const Actor& actor,
                                        const std::string& node, const std::string& name) {
  PVEAUDIT_RETURN_IF_ERROR(CheckDestinationName(name));
  nlohmann::json all;
  PVEAUDIT_RETURN_IF_ERROR(LoadObject(store, kSyslogKey, &all));
  if (!all.contains(name)) {
    std::vector<std::string> names;
    for (auto it = all.begin(); it != all.end(); ++it) names.push_back(it.key());
    std::string hint = DidYouMean(name, names);
    return Status::InvalidArgument("no syslog destination named '" + name + "'" +
                                   (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
  }
  DestinationChange c;
  if (all[name].is_object() && all[name].value("enabled", true) == false) {
    c.destination = all[name];
    c.destination["name"] = name;
    c.message = "syslog destination '" + name + "' is already disabled";
    return c;
  }
  const std::string before = all.dump();
  all[name]["enabled"] = false;
  SettingChange ch;
  ch.key = kSyslogKey;
  ch.before = before;
  ch.after = all.dump();
  ch.action = "pveaudit:syslog-disable";
  ch.resource = "/pveaudit/syslog/" + name;
  ch.summary = "syslog destination " + name + " disabled";
  ch.node = node;
  PVEAUDIT_RETURN_IF_ERROR(PutAuditedSetting(store, actor, ch, &c.event_id));
  c.changed = true;
  c.destination = all[name];
  c.destination["name"] = name;
  c.message = "syslog destination '" + name +
              "' disabled (its position is kept: enabling it again sends what was stored "
              "meanwhile)";
  return c;
}

Status CheckWebhookOptions(const WebhookEnableOptions& o) {
  auto r = Checked<nlohmann::json>([&] { return WebhookEntry(o); });
  return r.ok() ? Status::OK() : r.status();
}

Result<DestinationChange> EnableWebhook(EventStore& store, const Actor& actor,
                                        const std::string& node, const WebhookEnableOptions& o) {
  auto checked = Checked<nlohmann::json>([&] { return WebhookEntry(o); });
  if (!checked.ok()) return checked.status();
  nlohmann::json entry = *checked;
  const std::string& secret = o.secret;
  nlohmann::json all;
  PVEAUDIT_RETURN_IF_ERROR(LoadObject(store, kWebhookSettingsKey, &all));
  const std::string secret_key = kWebhookSecretKeyPrefix + o.name;
  std::optional<std::string> old_secret;
  if (auto s = store.GetSetting(secret_key); s.ok() && s->has_value() && !(*s)->empty())
    old_secret = **s;
  const bool had = all.contains(o.name);
  const bool had_secret =
      had && all[o.name].is_object() && all[o.name].value("secret", "") == kSecretMask;
  std::string secret_note = "unsigned";
  if (!secret.empty())
    secret_note = !had_secret            ? "secret set"
                  : old_secret == secret ? "secret unchanged"
                                         : "secret changed";
  else if (had_secret)
    secret_note = "secret removed";
  // A new secret gets a new version: pveauditd compares entries to see a
  // change, and the entry holds only "(set)".
  if (!secret.empty()) {
    int64_t version =
        had && all[o.name].is_object() ? all[o.name].value("secret_version", int64_t(0)) : 0;
    entry["secret_version"] = old_secret == secret && had_secret ? version : version + 1;
  }
  DestinationChange c;
  c.destination = entry;
  c.destination["name"] = o.name;
  if (had && all[o.name] == entry) {
    c.message = "unchanged";
    return c;
  }
  const std::optional<std::string> before =
      all.empty() ? std::nullopt : std::optional<std::string>(all.dump());
  all[o.name] = entry;
  // The secret is written first, under its own key: the audited object says
  // only "(set)". A crash between the two writes leaves the old object
  // pointing at the new secret, which the next run of this command fixes.
  if (!secret.empty()) PVEAUDIT_RETURN_IF_ERROR(store.PutSetting(secret_key, secret, actor.user));
  // The full URL under its own key, like the secret (not audited in clear).
  PVEAUDIT_RETURN_IF_ERROR(store.PutSetting(kWebhookUrlKeyPrefix + o.name, o.url, actor.user));
  // The position first: a new destination gets what is stored from now on,
  // whenever pveauditd picks it up. Regression: pveauditd set it when it
  // noticed the destination, and events stored in between were never sent.
  uint64_t start = 0;
  PVEAUDIT_RETURN_IF_ERROR(StartConsumer(store, WebhookConsumerName(o.name), false, &start));
  SettingChange change;
  change.key = kWebhookSettingsKey;
  change.before = before;
  change.after = all.dump();
  change.action = "pveaudit:notify-enable";
  change.resource = "/pveaudit/notify/" + o.name;
  change.summary = "webhook " + o.name + (had ? " changed" : " added") + ": " +
                   entry["url"].get<std::string>() + ", events " +
                   entry["events"].get<std::string>() + ", batch " +
                   std::to_string(entry["batch"].get<int>()) + ", " + secret_note;
  change.node = node;
  PVEAUDIT_RETURN_IF_ERROR(PutAuditedSetting(store, actor, change, &c.event_id));
  if (secret.empty() && old_secret) (void)store.PutSetting(secret_key, "", actor.user);
  c.changed = true;
  c.message = had ? "changed" : "enabled";
  return c;
}

Result<DestinationChange> DisableWebhook(EventStore& store, const Actor& actor,
                                         const std::string& node, const std::string& name) {
  nlohmann::json all;
  PVEAUDIT_RETURN_IF_ERROR(LoadObject(store, kWebhookSettingsKey, &all));
  if (!all.contains(name)) {
    std::string names;
    for (auto& [n, e] : all.items()) names += (names.empty() ? "" : ", ") + n;
    return Status::InvalidArgument(
        "no webhook destination named '" + name + "'" +
        (names.empty() ? std::string(" (there are none)") : " (destinations: " + names + ")"));
  }
  if (!all[name].is_object()) all[name] = nlohmann::json::object();
  DestinationChange c;
  if (!all[name].value("enabled", true)) {
    c.destination = all[name];
    c.destination["name"] = name;
    c.message = "already disabled";
    return c;
  }
  const std::string before = all.dump();
  all[name]["enabled"] = false;
  SettingChange change;
  change.key = kWebhookSettingsKey;
  change.before = before;
  change.after = all.dump();
  change.action = "pveaudit:notify-disable";
  change.resource = "/pveaudit/notify/" + name;
  change.summary = "webhook " + name + " disabled";
  change.node = node;
  PVEAUDIT_RETURN_IF_ERROR(PutAuditedSetting(store, actor, change, &c.event_id));
  c.changed = true;
  c.destination = all[name];
  c.destination["name"] = name;
  c.message = "disabled";
  return c;
}

// ---- alert acknowledgements ----

namespace {

constexpr std::string_view kAckPrefix = "alert ";
constexpr std::string_view kAckVerb = " acknowledged";
constexpr std::string_view kAckComment = "; comment: ";

// The fired alert with event id `id`, or nullopt when that event is none.
Result<std::optional<Event>> FindAlert(EventStore& store, uint64_t id) {
  std::optional<Event> found;
  Status st = store.ScanAfter(id - 1, 1, kFieldAll, [&](Event& e) {
    if (e.id == id && AlertRuleId(e) != 0 && e.action.rfind("alert:", 0) == 0) found = e;
    return false;
  });
  if (!st.ok()) return st;
  return found;
}

}  // namespace

bool ParseAlertAck(const Event& e, AlertAck* out) {
  // Detail: "alert ID acknowledged (...)[ (via ...)][; comment: TEXT]".
  if (e.action != kAlertAckAction || e.source != "pveaudit" || e.detail.rfind(kAckPrefix, 0) != 0)
    return false;
  const size_t digits = e.detail.find_first_not_of("0123456789", kAckPrefix.size());
  if (digits == std::string::npos || digits == kAckPrefix.size() ||
      digits - kAckPrefix.size() > 18 || e.detail.compare(digits, kAckVerb.size(), kAckVerb) != 0)
    return false;
  AlertAck a;
  a.alert_id = std::stoull(e.detail.substr(kAckPrefix.size(), digits - kAckPrefix.size()));
  a.event_id = e.id;
  a.by = e.user;
  a.time_us = e.time_us;
  // The comment is last, so one containing "; comment: " reads back whole.
  if (size_t c = e.detail.find(kAckComment, digits); c != std::string::npos)
    a.comment = e.detail.substr(c + kAckComment.size());
  *out = std::move(a);
  return true;
}

Result<std::map<uint64_t, AlertAck>> LoadAlertAcks(EventStore& store) {
  std::map<uint64_t, AlertAck> acks;
  Filter f;
  f.action = kAlertAckAction;
  Status st = store.Scan(f, kFieldAll, [&](Event& e) {
    AlertAck a;
    // Scan goes in time order: keep the earliest (by id on a tie).
    if (ParseAlertAck(e, &a)) {
      auto [it, added] = acks.emplace(a.alert_id, a);
      if (!added && a.event_id < it->second.event_id) it->second = a;
    }
    return true;
  });
  if (!st.ok()) return st;
  return acks;
}

nlohmann::json AlertAckJson(const AlertAck* ack) {
  if (!ack) return nullptr;
  return {{"by", ack->by},
          {"time", FormatRfc3339Utc(ack->time_us)},
          {"comment", ack->comment},
          {"event", ack->event_id}};
}

std::string AlertAckLockFile(const std::string& data_dir) { return data_dir + "/alert-ack.lock"; }

Result<AlertAckResult> AckAlert(EventStore& store, const Actor& actor, const std::string& node,
                                const std::string& id_text, const std::string& comment,
                                const std::string& lock_file) {
  const bool digits = !id_text.empty() && id_text.size() < 19 &&
                      id_text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoull(id_text) == 0)
    return Status::InvalidArgument("invalid alert id '" + id_text +
                                   "': expected the id of a fired alert (pveam access alerts)");
  for (unsigned char ch : comment)
    if (ch < 0x20 || ch == 0x7f)
      return Status::InvalidArgument(
          "invalid value for --comment: control characters (newline, tab, ...) are not allowed");
  if (comment.size() > kMaxAckComment)
    return Status::InvalidArgument("invalid value for --comment: longer than " +
                                   std::to_string(kMaxAckComment) + " bytes");
  const uint64_t id = std::stoull(id_text);
  // Held until return: the check below and the append are one step for
  // every process that takes it (closing the descriptor releases it).
  struct Lock {
    int fd = -1;
    ~Lock() {
      if (fd >= 0) close(fd);
    }
  } lock;
  if (!lock_file.empty()) {
    lock.fd = open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int rc = lock.fd < 0 ? -1 : 0;
    while (rc == 0 && flock(lock.fd, LOCK_EX) != 0)
      if (errno != EINTR) rc = -1;
    if (rc != 0) return Status::IOError("cannot lock " + lock_file + ": " + std::strerror(errno));
  }
  auto alert = FindAlert(store, id);
  if (!alert.ok()) return alert.status();
  if (!*alert)
    return Status::InvalidArgument("no fired alert with id '" + id_text + "': event " + id_text +
                                   " is not an alert (see 'pveam access alerts')");
  auto acks = LoadAlertAcks(store);
  if (!acks.ok()) return acks.status();
  AlertAckResult r;
  if (auto it = acks->find(id); it != acks->end()) {
    r.ack = it->second;
    return r;
  }
  const Event& a = **alert;
  Event e;
  e.time_us = NowUs();
  e.node = node;
  e.user = actor.user;
  e.ip = actor.ip;
  e.action = kAlertAckAction;
  e.resource = a.resource;  // /pveaudit/alerts/RULE, as the alert's
  e.result = Outcome::kSuccess;
  e.source = "pveaudit";
  e.origin = "alert-ack";
  e.detail = std::string(kAckPrefix) + id_text + std::string(kAckVerb) + " (" + a.action +
             ", rule " + std::to_string(AlertRuleId(a)) + ", " + FormatRfc3339Utc(a.time_us) + ")";
  if (!actor.via.empty()) e.detail += " (" + actor.via + ")";
  if (!comment.empty()) e.detail += std::string(kAckComment) + comment;
  std::vector<Event> events{e};
  if (Status st = store.Append(&events, {}, nullptr); !st.ok())
    return Status::IOError("cannot store the acknowledgement: " + st.message());
  r.acknowledged = true;
  e.id = events.front().id;  // Append may have moved the detail out of its copy
  ParseAlertAck(e, &r.ack);
  return r;
}

}  // namespace pveaudit

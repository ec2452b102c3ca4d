// The read routes of /api2/json/audit/ (docs/api.md): the same parameter
// names and JSON as `pveam access ...` and `pveum ... report` with
// --output-format json, each row filtered by the caller's Visibility inside
// the query.
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <thread>

#include "admin/settings_ops.h"
#include "alert/alert_engine.h"
#include "alert/alert_rule.h"
#include "core/event_json.h"
#include "core/time_spec.h"
#include "export/webhook_sink.h"
#include "pve/access_config.h"
#include "query/log_output.h"
#include "query/log_params.h"
#include "query/log_query.h"
#include "query/log_stats.h"
#include "query/sessions.h"
#include "report/model.h"
#include "report/quarterly.h"
#include "report/reports.h"
#include "server/http_server.h"

namespace pveaudit {
namespace {

constexpr const char* kApi = "/api2/json/audit";
// A page of events when `limit` is not given, and the most one request
// returns: the API pages (before=ID) where the CLI streams everything.
constexpr size_t kDefaultPage = 100;
constexpr size_t kMaxPage = 10000;

HttpReply Bad(const std::string& msg) { return HttpReply::Error(400, msg); }

std::string Rfc(int64_t us) { return FormatRfc3339Utc(us); }

// Whether `e` is at or after the paging cursor (time, id): newest first,
// ties by id, as the views order events.
bool AtOrAfter(const Event& e, int64_t t, uint64_t id) {
  return e.time_us > t || (e.time_us == t && e.id >= id);
}

// The newest `limit` events the caller may see among those `f` matches
// (and before the cursor, when given), newest first. Like FindEvents, it
// reads only the end of the range: one hour, then 8x longer, until the
// window holds `limit` visible events; invisible rows do not count.
Result<std::vector<Event>> NewestVisible(EventStore& store, Filter f, const Visibility& vis,
                                         size_t limit,
                                         std::optional<std::pair<int64_t, uint64_t>> before) {
  if (before) f.end_us = std::min(f.end_us.value_or(INT64_MAX), before->first + 1);
  auto info = store.Info();
  if (!info.ok()) return info.status();
  if (info->events == 0) return std::vector<Event>();
  if (f.start_us && f.end_us && *f.start_us >= *f.end_us) return std::vector<Event>();
  const int64_t end = f.end_us ? *f.end_us : info->last_time_us + 1;
  const int64_t lo = f.start_us ? *f.start_us : info->first_time_us;
  for (int64_t span = int64_t(3600) * 1000000;; span *= 8) {
    const bool whole = span > INT64_MAX / 8 || end - lo <= span;
    Filter w = f;
    if (!whole) w.start_us = end - span;
    std::deque<Event> out;
    uint64_t n = 0;
    Status st = ForEachEvent(store, w, 0, kFieldAll, [&](Event&& e) {
      if (before && AtOrAfter(e, before->first, before->second)) return true;
      if (!vis.Sees(e)) return true;
      ++n;
      out.push_back(std::move(e));
      if (out.size() > limit) out.pop_front();
      return true;
    });
    if (!st.ok()) return st;
    if (whole || n >= limit) return std::vector<Event>(out.rbegin(), out.rend());
  }
}

// "YYYY-MM-DD..." / "today" / epoch, for routes that take one instant.
Result<int64_t> Instant(const std::string& name, const std::string& v, int64_t now) {
  auto t = ParseTimeSpec(v, now);
  if (!t.ok()) return Status::InvalidArgument(name + ": " + t.status().message());
  if (t->kind != TimeSpec::Kind::kInstant)
    return Status::InvalidArgument("invalid value '" + v + "' for " + name +
                                   ": expected a date or time, not a time of day");
  return t->us;
}

Result<uint64_t> Whole(const std::string& name, const std::string& v, uint64_t min) {
  uint64_t n = 0;
  if (!ParseWholeNumber(v, min, &n))
    return Status::InvalidArgument("invalid value '" + v + "' for " + name +
                                   ": expected a whole number >= " + std::to_string(min));
  return n;
}

struct Deps {
  StorePool* stores;
  WebOptions o;
  const std::atomic<bool>* stopping;
  // GET stats for full auditors: whole hours kept between requests.
  std::unique_ptr<StatsCache> stats = std::make_unique<StatsCache>();
};

#define PVEAUDIT_STORE_OR_500(lease, d)                                  \
  auto lease##_r = (d)->stores->Acquire();                               \
  if (!lease##_r.ok()) return HttpReply::FromStatus(lease##_r.status()); \
  EventStore& lease = *lease##_r->store

// The filters `log` and `stats` share, by the CLI's names.
LogParams FilterParams(const HttpContext& c) {
  LogParams p;
  p.user = c.Param("user");
  p.start = c.Param("start");
  p.end = c.Param("end");
  p.action = c.Param("action");
  p.resource = c.Param("resource");
  p.failed = c.Param("failed");
  p.ip = c.Param("ip");
  p.node = c.Param("node");
  return p;
}

// GET log: events (newest first) or, with count, groups.
HttpReply Log(const Deps* d, HttpContext& c) {
  LogParams p = FilterParams(c);
  p.count = c.Param("count");
  p.hour = c.Param("hour");
  p.group_by = c.Param("group-by");
  p.limit = c.Param("limit");
  auto req = ParseLogParams(p, NowUs(), "");
  if (!req.ok()) return HttpReply::FromStatus(req.status());
  if (req->counting && !c.Param("before").empty())
    return Bad("before applies to events, not to count");
  std::optional<uint64_t> before_id;
  if (!c.Param("before").empty()) {
    auto b = Whole("before", c.Param("before"), 1);
    if (!b.ok()) return HttpReply::FromStatus(b.status());
    before_id = *b;
  }
  if (req->limit > kMaxPage)
    return Bad("invalid value '" + p.limit + "' for limit: at most " + std::to_string(kMaxPage));
  const std::string format = c.Param("output-format");
  if (!format.empty()) {
    // A download: every event of the selection the caller may see, as
    // `pveam access log --output-format csv|json` prints it.
    if (format != "csv" && format != "json")
      return Bad("invalid value '" + format + "' for output-format: expected csv or json");
    if (req->counting || before_id || !p.limit.empty())
      return Bad("output-format downloads the whole selection: without count, limit or before");
    PVEAUDIT_STORE_OR_500(store, d);
    OutputBuffer out;
    std::function<bool(const Event&)> keep;
    if (!c.visibility.all) keep = [&](const Event& e) { return c.visibility.Sees(e); };
    auto n = WriteEventRows(store, req->filter, 0,
                            format == "csv" ? OutputFormat::kCsv : OutputFormat::kJson, &out, keep);
    if (!n.ok()) return HttpReply::FromStatus(n.status());
    c.res->set_header("Content-Disposition", "attachment; filename=\"access-log." + format + "\"");
    c.res->set_content(out.Take(), format == "csv" ? "text/csv; charset=utf-8"
                                                   : "application/json; charset=utf-8");
    HttpReply r;
    r.streaming = true;  // the body is set
    return r;
  }
  PVEAUDIT_STORE_OR_500(store, d);
  if (req->counting) {
    std::function<bool(const Event&)> keep;
    if (!c.visibility.all) keep = [&](const Event& e) { return c.visibility.Sees(e); };
    auto rows = CountGroups(store, req->filter, req->spec, keep);
    if (!rows.ok()) return HttpReply::FromStatus(rows.status());
    if (req->limit && rows->size() > req->limit) rows->resize(req->limit);
    // The keys of `pveam access log --count N --output-format json`.
    nlohmann::json out = nlohmann::json::array();
    for (const GroupRow& r : *rows) {
      nlohmann::json j = nlohmann::json::object();
      j[GroupByName(req->spec.group_by)] = r.value;
      if (req->spec.group_by == GroupBy::kUser) j["ip"] = r.anonymous_ip;
      j["count"] = r.count;
      j["first"] = Rfc(r.first_us);
      j["last"] = Rfc(r.last_us);
      out.push_back(std::move(j));
    }
    return HttpReply::Ok(std::move(out));
  }
  std::optional<std::pair<int64_t, uint64_t>> cursor;
  if (before_id) {
    // The cursor's place in time order: the stored line with that id (a
    // joined event keeps the id and time of one of its lines).
    std::optional<int64_t> t;
    Status st = store.ScanAfter(*before_id - 1, 1, 0, [&](Event& e) {
      if (e.id == *before_id) t = e.time_us;
      return false;
    });
    if (!st.ok()) return HttpReply::FromStatus(st);
    if (!t)
      return Bad("invalid value '" + c.Param("before") + "' for before: no event has that id");
    cursor = std::pair{*t, *before_id};
  }
  const size_t limit = req->limit ? req->limit : kDefaultPage;
  auto events = NewestVisible(store, req->filter, c.visibility, limit, cursor);
  if (!events.ok()) return HttpReply::FromStatus(events.status());
  nlohmann::json out = nlohmann::json::array();
  for (const Event& e : *events) out.push_back(EventToJson(e));
  HttpReply r = HttpReply::Ok(std::move(out));
  // The next page: before=<id of the last row>, while the page was full.
  if (events->size() == limit) r.extra["next"] = "before=" + std::to_string(events->back().id);
  return r;
}

// GET sessions: as `pveam access sessions`.
HttpReply Sessions(const Deps* d, HttpContext& c) {
  const int64_t now = NowUs();
  const std::string all_s = c.Param("all");
  if (!all_s.empty() && all_s != "0" && all_s != "1")
    return Bad("invalid value '" + all_s + "' for all: expected 0 or 1");
  const bool all = all_s == "1";
  if (!all && (!c.Param("start").empty() || !c.Param("end").empty()))
    return Bad("start/end need all=1 (use at for one moment)");
  if (all && !c.Param("at").empty()) return Bad("at and all exclude each other");
  auto get = [&](const char* name, int64_t dflt) -> Result<int64_t> {
    return c.Param(name).empty() ? Result<int64_t>(dflt) : Instant(name, c.Param(name), now);
  };
  auto at = get("at", now);
  auto from = get("start", now - 24LL * 3600 * 1000000);
  auto to = get("end", now);
  for (auto* r : {&at, &from, &to})
    if (!r->ok()) return HttpReply::FromStatus(r->status());
  if (all && *from >= *to) return Bad("start is not before end");
  PVEAUDIT_STORE_OR_500(store, d);
  SessionOptions so;
  so.lifetime_us = int64_t(d->o.session_lifetime_s) * 1000000;
  auto sessions = all ? SessionsBetween(store, *from, *to, so) : ActiveSessions(store, *at, so);
  if (!sessions.ok()) return HttpReply::FromStatus(sessions.status());
  std::map<std::string, int64_t> per_user;
  for (const Session& s : *sessions) ++per_user[s.user];
  nlohmann::json out = nlohmann::json::array();
  const std::string user = c.Param("user");
  for (const Session& s : *sessions) {
    if (!user.empty() && s.user != user) continue;
    // A session is the user's login on a node: seen as that login event.
    Event login;
    login.user = s.user;
    login.ip = s.ip;
    login.node = s.node;
    login.action = "login";
    login.time_us = s.start_us;
    if (!c.visibility.Sees(login)) continue;
    nlohmann::json j = {{"user", s.user},         {"ip", s.ip},
                        {"node", s.node},         {"start", Rfc(s.start_us)},
                        {"last", Rfc(s.last_us)}, {"expires", Rfc(s.expires_us)}};
    if (!all) j["concurrent"] = per_user[s.user];
    out.push_back(std::move(j));
  }
  return HttpReply::Ok(std::move(out));
}

// GET alerts: fired alerts, newest first, as `pveam access alerts`.
HttpReply Alerts(const Deps* d, HttpContext& c) {
  const int64_t now = NowUs();
  Filter f;
  f.action = "alert";
  for (const char* name : {"start", "end"}) {
    if (c.Param(name).empty()) continue;
    auto t = Instant(name, c.Param(name), now);
    if (!t.ok()) return HttpReply::FromStatus(t.status());
    (std::string(name) == "start" ? f.start_us : f.end_us) = *t;
  }
  if (f.start_us && f.end_us && *f.start_us >= *f.end_us)
    return Bad("start " + c.Param("start") + " is not before end " + c.Param("end"));
  uint64_t rule = 0;
  size_t limit = kDefaultPage;
  if (!c.Param("rule").empty()) {
    auto r = Whole("rule", c.Param("rule"), 1);
    if (!r.ok()) return HttpReply::FromStatus(r.status());
    rule = *r;
  }
  if (!c.Param("limit").empty()) {
    auto r = Whole("limit", c.Param("limit"), 1);
    if (!r.ok()) return HttpReply::FromStatus(r.status());
    if (*r > kMaxPage)
      return Bad("invalid value '" + c.Param("limit") + "' for limit: at most " +
                 std::to_string(kMaxPage));
    limit = size_t(*r);
  }
  PVEAUDIT_STORE_OR_500(store, d);
  std::deque<Event> alerts;
  Status st = store.Scan(f, kFieldAll, [&](const Event& e) {
    const uint64_t id = AlertRuleId(e);
    if (!id || (rule && id != rule) || !c.visibility.Sees(e)) return true;
    alerts.push_back(e);
    if (alerts.size() > limit) alerts.pop_front();
    return true;
  });
  if (!st.ok()) return HttpReply::FromStatus(st);
  auto acks = LoadAlertAcks(store);
  if (!acks.ok()) return HttpReply::FromStatus(acks.status());
  nlohmann::json out = nlohmann::json::array();
  for (auto it = alerts.rbegin(); it != alerts.rend(); ++it) {
    nlohmann::json j = EventToJson(*it);
    std::string ids;
    for (uint64_t id : AlertTriggerIds(*it)) {
      if (!ids.empty()) ids += ',';
      ids += std::to_string(id);
    }
    j["rule"] = AlertRuleId(*it);
    j["events"] = ids;
    auto ack = acks->find(it->id);
    j["acknowledged"] = AlertAckJson(ack == acks->end() ? nullptr : &ack->second);
    out.push_back(std::move(j));
  }
  return HttpReply::Ok(std::move(out));
}

// GET rules: as `pveam access alert list --output-format json`.
HttpReply Rules(const Deps* d, HttpContext&) {
  PVEAUDIT_STORE_OR_500(store, d);
  auto t = store.GetSetting(std::string(kAlertRulesKey));
  if (!t.ok()) return HttpReply::FromStatus(t.status());
  auto set = AlertRuleSetFromJson(t->value_or(""));
  if (!set.ok()) return HttpReply::Error(500, set.status().message());
  nlohmann::json out = nlohmann::json::array();
  for (const AlertRule& r : set->rules) out.push_back(nlohmann::json::parse(AlertRuleToJson(r)));
  return HttpReply::Ok(std::move(out));
}

// The daemon's last published status (src/daemon), or null.
nlohmann::json DaemonStatus(EventStore& store) {
  auto s = store.GetSetting("daemon.status");
  if (!s.ok() || !s->has_value()) return nullptr;
  auto j = nlohmann::json::parse(**s, nullptr, false);
  return j.is_object() ? j : nlohmann::json();
}

// GET status: the store and what pveauditd last reported.
HttpReply StatusRoute(const Deps* d, HttpContext&) {
  PVEAUDIT_STORE_OR_500(store, d);
  auto info = store.Info();
  if (!info.ok()) return HttpReply::FromStatus(info.status());
  nlohmann::json daemon = DaemonStatus(store);
  std::string state = "not started";
  if (daemon.is_object()) {
    auto t = ParseTimeSpec(daemon.value("updated", ""), NowUs());
    // The daemon writes its status every second; older than 10 s: stalled or gone.
    state = t.ok() && NowUs() - t->us < 10 * 1000000LL ? "running" : "not running";
  }
  nlohmann::ordered_json j;
  j["data_dir"] = d->stores->where().data_dir;
  if (d->stores->where().postgres()) j["store"] = d->stores->where().Describe();
  j["events"] = info->events;
  j["last_id"] = info->last_id;
  j["first_time"] = info->events ? Rfc(info->first_time_us) : "";
  j["last_time"] = info->events ? Rfc(info->last_time_us) : "";
  j["bytes_on_disk"] = info->bytes_on_disk;
  j["rejected_lines"] = info->rejected_lines;
  j["chain_head"] = info->head_hash;
  j["daemon_state"] = state;
  j["daemon"] = daemon;
  return HttpReply::Ok(nlohmann::json::parse(j.dump()));
}

// GET verify: recomputes the hash chain, as `pveam access verify`.
HttpReply Verify(const Deps* d, HttpContext&) {
  PVEAUDIT_STORE_OR_500(store, d);
  auto r = store.Verify(nullptr);
  if (!r.ok()) return HttpReply::FromStatus(r.status());
  return HttpReply::Ok({{"intact", r->intact ? 1 : 0},
                        {"events", r->events_checked},
                        {"first_bad_id", r->first_bad_id},
                        {"reason", r->reason},
                        {"head", r->head_hash}});
}

// Export destinations (syslog:<name>, webhook:<name>) as the stored
// settings hold them (secrets are stored elsewhere and only masked here)
// and what pveauditd reports of each: cursor, undelivered, lag.
HttpReply Destinations(const Deps* d, const std::string& kind, const std::string& key) {
  PVEAUDIT_STORE_OR_500(store, d);
  auto v = store.GetSetting(key);
  if (!v.ok()) return HttpReply::FromStatus(v.status());
  nlohmann::json all = v->has_value() && !(*v)->empty() ? nlohmann::json::parse(**v, nullptr, false)
                                                        : nlohmann::json::object();
  if (!all.is_object())
    return HttpReply::Error(500, "the stored setting " + key + " is not a JSON object");
  auto info = store.Info();
  const uint64_t last_id = info.ok() ? info->last_id : 0;
  std::map<std::string, uint64_t> cursors;
  if (auto cs = store.ListConsumers(); cs.ok())
    for (const auto& cp : *cs) cursors[cp.name] = cp.last_id;
  std::map<std::string, nlohmann::json> live;
  nlohmann::json daemon = DaemonStatus(store);
  bool fresh = false;
  if (daemon.is_object()) {
    auto t = ParseTimeSpec(daemon.value("updated", ""), NowUs());
    fresh = t.ok() && NowUs() - t->us < 10 * 1000000LL;
    for (const auto& x : daemon.value("destinations", nlohmann::json::array()))
      if (x.value("kind", "") == kind) live[x.value("destination", "")] = x;
  }
  nlohmann::json out = nlohmann::json::array();
  for (auto it = all.begin(); it != all.end(); ++it) {
    nlohmann::json j = it.value().is_object() ? it.value() : nlohmann::json::object();
    // Whatever a future setting holds under a secret-looking name is masked.
    for (const char* s : {"secret", "key", "password", "token"})
      if (j.contains(s)) j[s] = "********";
    const std::string cname = kind + ":" + it.key();
    const uint64_t cursor = cursors.count(cname) ? cursors[cname] : 0;
    const nlohmann::json* l = fresh && live.count(it.key()) ? &live[it.key()] : nullptr;
    const bool enabled = j.value("enabled", true);
    uint64_t undelivered = last_id > cursor ? last_id - cursor : 0;
    if (l) undelivered = std::min(undelivered, l->value("undelivered", uint64_t(0)));
    j["name"] = it.key();
    j["state"] = !enabled                             ? "disabled"
                 : !l                                 ? "waiting"
                 : l->value("last_error", "").empty() ? "ok"
                                                      : "failing";
    j["cursor"] = cursor;
    j["undelivered"] = undelivered;
    j["lag_s"] = l ? l->value("lag_s", int64_t(0)) : 0;
    j["delivered"] = l ? l->value("delivered", int64_t(0)) : 0;
    j["last_error"] = l ? l->value("last_error", "") : "";
    out.push_back(std::move(j));
  }
  return HttpReply::Ok(std::move(out));
}

Result<int64_t> ReportNow(HttpContext& c) {
  if (c.Param("now").empty()) return NowUs();
  return Instant("now", c.Param("now"), NowUs());
}

// The reports render through a FILE*; an in-memory one keeps them exactly
// as `pveum ... report --output-format json` writes them.
HttpReply ReportJson(const std::function<bool(std::FILE*)>& write) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  if (!f) return HttpReply::Error(500, "out of memory");
  bool ok = write(f);
  std::fclose(f);
  std::string text(buf ? buf : "", len);
  std::free(buf);
  if (!ok) return HttpReply::Error(500, "cannot render the report");
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return HttpReply::Error(500, "the report is not JSON");
  return HttpReply::Ok(std::move(j));
}

// A report's `output-format` for a download ("" = the JSON answer).
Result<std::optional<report::ReportFormat>> DownloadFormat(const HttpContext& c) {
  const std::string v = c.Param("output-format");
  if (v.empty()) return std::optional<report::ReportFormat>();
  report::ReportFormat f;
  if (!report::ParseReportFormat(v, &f))
    return Status::InvalidArgument("invalid value '" + v +
                                   "' for output-format: expected csv, json, json-pretty, text, "
                                   "html or yaml");
  return std::optional<report::ReportFormat>(f);
}

// How a report in format `f` is downloaded: its file name extension and
// Content-Type.
struct ReportFile {
  const char* extension;
  const char* content_type;
};
ReportFile ReportFileOf(report::ReportFormat f) {
  switch (f) {
    case report::ReportFormat::kCsv:
      return {"csv", "text/csv; charset=utf-8"};
    case report::ReportFormat::kJson:
    case report::ReportFormat::kJsonPretty:
      return {"json", "application/json; charset=utf-8"};
    case report::ReportFormat::kHtml:
      return {"html", "text/html; charset=utf-8"};
    case report::ReportFormat::kYaml:
      return {"yaml", "application/yaml; charset=utf-8"};
    case report::ReportFormat::kText:
      break;
  }
  return {"txt", "text/plain; charset=utf-8"};
}

// A file to save, not a page to show: an HTML report opened from the API's
// origin must not run as part of it (the attachment and the CSP keep it so).
HttpReply Download(HttpContext& c, std::string body, const std::string& filename,
                   const char* type) {
  c.res->set_header("Content-Disposition", "attachment; filename=\"" + filename + "\"");
  c.res->set_content(std::move(body), type);
  HttpReply r;
  r.streaming = true;  // the body is set
  return r;
}

// Runs `write` on an in-memory FILE*: the bytes the CLI writes to a file.
Result<std::string> Capture(const std::function<bool(std::FILE*)>& write) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  if (!f) return Status::Internal("out of memory");
  bool ok = write(f);
  std::fclose(f);
  std::string text(buf ? buf : "", len);
  std::free(buf);
  if (!ok) return Status::Internal("cannot render the report");
  return text;
}

HttpReply UserReport(const Deps* d, HttpContext& c) {
  auto now = ReportNow(c);
  if (!now.ok()) return HttpReply::FromStatus(now.status());
  auto fmt = DownloadFormat(c);
  if (!fmt.ok()) return HttpReply::FromStatus(fmt.status());
  auto cfg = pve::LoadPveConfig(d->o.pve_dir);
  if (!cfg.ok()) return HttpReply::Error(500, cfg.status().message());
  report::ReportOptions ropt;
  ropt.now_us = *now;
  PVEAUDIT_STORE_OR_500(store, d);
  auto facts = report::CollectStoreFacts(&store, ropt, "");
  if (!facts.ok()) return HttpReply::FromStatus(facts.status());
  if (*fmt) {
    // `pveum user report --output-format F`, byte for byte.
    auto text = Capture(
        [&](std::FILE* f) { return report::WriteUserReport(*cfg, *facts, ropt, **fmt, f); });
    if (!text.ok()) return HttpReply::FromStatus(text.status());
    const ReportFile file = ReportFileOf(**fmt);
    return Download(c, std::move(*text), std::string("user-report.") + file.extension,
                    file.content_type);
  }
  return ReportJson([&](std::FILE* f) {
    return report::WriteUserReport(*cfg, *facts, ropt, report::ReportFormat::kJson, f);
  });
}

HttpReply AclReport(const Deps* d, HttpContext& c) {
  auto now = ReportNow(c);
  if (!now.ok()) return HttpReply::FromStatus(now.status());
  auto fmt = DownloadFormat(c);
  if (!fmt.ok()) return HttpReply::FromStatus(fmt.status());
  auto cfg = pve::LoadPveConfig(d->o.pve_dir);
  if (!cfg.ok()) return HttpReply::Error(500, cfg.status().message());
  report::ReportOptions ropt;
  ropt.now_us = *now;
  if (*fmt) {
    // `pveum acl report --output-format F`, byte for byte.
    auto text = Capture(
        [&](std::FILE* f) { return report::WriteAclReport(*cfg, ropt, **fmt, f, nullptr); });
    if (!text.ok()) return HttpReply::FromStatus(text.status());
    const ReportFile file = ReportFileOf(**fmt);
    return Download(c, std::move(*text), std::string("permission-report.") + file.extension,
                    file.content_type);
  }
  return ReportJson([&](std::FILE* f) {
    return report::WriteAclReport(*cfg, ropt, report::ReportFormat::kJson, f, nullptr);
  });
}

// GET report/quarterly: the review `pveum audit quarterly` writes, with the
// caller as reviewer: its findings as JSON, or (output-format) one of its
// three files, byte for byte: html (access-review-Q.html), csv
// (-findings.csv) or json (-findings.json). The web process reads the
// store only: the download is recorded as pveaudit:api-export (with the
// quarter in its detail), not as the CLI's audit:review.
HttpReply QuarterlyReport(const Deps* d, HttpContext& c) {
  auto now = ReportNow(c);
  if (!now.ok()) return HttpReply::FromStatus(now.status());
  report::ReportOptions ropt;
  ropt.now_us = *now;
  report::Quarter q;
  const std::string qs = c.Param("quarter");
  if (qs.empty())
    q = report::QuarterOf(ropt.now_us);
  else if (!report::ParseQuarter(qs, &q))
    return Bad("invalid value '" + qs + "' for quarter: expected YYYYQ1..Q4, e.g. 2026Q4");
  const std::string format = c.Param("output-format");
  if (!format.empty() && format != "html" && format != "csv" && format != "json")
    return Bad("invalid value '" + format + "' for output-format: expected html, csv or json");
  ropt.period_start_us = q.start_us;
  ropt.period_end_us = std::min(q.end_us, ropt.now_us);
  auto cfg = pve::LoadPveConfig(d->o.pve_dir);
  if (!cfg.ok()) return HttpReply::Error(500, cfg.status().message());
  PVEAUDIT_STORE_OR_500(store, d);
  auto facts = report::CollectStoreFacts(&store, ropt, "");
  if (!facts.ok()) return HttpReply::FromStatus(facts.status());
  // As src/cli/pveum_reports.cc assembles the three files.
  std::vector<report::Finding> findings = report::RunQuarterlyChecks(*cfg, *facts, ropt);
  report::ReviewMeta meta{q, c.principal.Actor(), d->o.pve_dir,
                          d->stores->where().postgres() ? RedactStoreUrl(d->stores->where().url)
                                                        : d->stores->where().data_dir};
  const std::string base = "access-review-" + q.Name();
  if (format == "html") {
    std::string html = report::QuarterlyHtml(meta, *cfg, *facts, ropt, findings);
    // The page the reviewer keeps is recorded with its digest, as the CLI
    // records its run (audit:review); pveauditd takes pveaudit:api-* only
    // from this process, so it is pveaudit:api-review. Unrecorded, it is
    // not handed out.
    if (d->o.control) {
      nlohmann::json req = {
          {"request", "audit"},
          {"actor", {{"user", c.principal.Actor()}, {"ip", c.req->remote_addr}}},
          {"params",
           {{"action", "pveaudit:api-review"},
            {"resource", "/pveaudit/report/quarterly"},
            {"detail", "quarter=" + q.Name() + " sha256=" + report::Sha256Hex(html)},
            {"result", "success"},
            {"status", "200"}}}};
      auto reply = d->o.control(req);
      if (!reply.ok() || !reply->value("ok", false))
        return HttpReply::Error(503, "pveauditd did not record the review: " +
                                         (reply.ok() ? reply->value("error", std::string("refused"))
                                                     : reply.status().message()));
    }
    return Download(c, std::move(html), base + ".html", "text/html; charset=utf-8");
  }
  report::Report data;
  data.title = "Quarterly access review " + q.Name();
  Table review;
  review.columns = {"quarter",  "period_start", "period_end", "now",
                    "reviewer", "pve_dir",      "store",      "html_sha256"};
  const std::string digest =
      report::Sha256Hex(report::QuarterlyHtml(meta, *cfg, *facts, ropt, findings));
  review.rows.push_back({q.Name(), Rfc(q.start_us), Rfc(q.end_us), Rfc(ropt.now_us), meta.reviewer,
                         meta.pve_dir, meta.store, digest});
  data.sections.push_back({"review", "Review", review});
  data.sections.push_back({"findings", "Findings", report::FindingsTable(findings)});
  data.sections.push_back({"users", "Users", report::ReviewUsersTable(*cfg, *facts, ropt, false)});
  if (!facts->available) data.notes.push_back(facts->note);
  for (const pve::ConfigWarning& w : cfg->warnings) data.notes.push_back(report::WarningText(w));
  if (format == "csv") {
    report::Report csv;
    csv.sections.push_back(data.sections[1]);
    return Download(c, report::RenderReport(csv, report::ReportFormat::kCsv),
                    base + "-findings.csv", "text/csv; charset=utf-8");
  }
  std::string json = report::RenderReport(data, report::ReportFormat::kJsonPretty);
  if (format == "json")
    return Download(c, std::move(json), base + "-findings.json", "application/json; charset=utf-8");
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded()) return HttpReply::Error(500, "the review is not JSON");
  return HttpReply::Ok(std::move(j));
}

// GET report/reviews: the recorded reviews the caller may see, newest
// first: `pveum audit quarterly` runs (audit:review) and review pages
// downloaded here (pveaudit:api-review).
HttpReply Reviews(const Deps* d, HttpContext& c) {
  PVEAUDIT_STORE_OR_500(store, d);
  std::vector<Event> found;
  for (const char* action : {"audit:review", "pveaudit:api-review"}) {
    Filter f;
    f.action = action;
    Status st = store.Scan(f, kFieldAll, [&](const Event& e) {
      if (e.action == action && c.visibility.Sees(e)) found.push_back(e);
      return true;
    });
    if (!st.ok()) return HttpReply::FromStatus(st);
  }
  std::sort(found.begin(), found.end(), [](const Event& a, const Event& b) {
    return a.time_us != b.time_us ? a.time_us < b.time_us : a.id < b.id;
  });
  nlohmann::json out = nlohmann::json::array();
  for (auto it = found.rbegin(); it != found.rend(); ++it) {
    // detail: "quarter=2026Q4 sha256=<hex>"
    std::string quarter, sha;
    for (const char* k : {"quarter=", "sha256="}) {
      const size_t at = it->detail.find(k);
      if (at == std::string::npos) continue;
      const size_t from = at + std::strlen(k);
      (k[0] == 'q' ? quarter : sha) = it->detail.substr(from, it->detail.find(' ', from) - from);
    }
    out.push_back({{"id", it->id},
                   {"time", Rfc(it->time_us)},
                   {"via", it->action == "audit:review" ? "pveum" : "web"},
                   {"reviewer", it->user},
                   {"node", it->node},
                   {"quarter", quarter},
                   {"html_sha256", sha}});
  }
  return HttpReply::Ok(std::move(out));
}

// GET stats: the charts of the Access view (query/log_stats.h) over the
// events `log` lists for the same filters, as the caller may see them.
HttpReply Stats(const Deps* d, HttpContext& c) {
  LogParams p = FilterParams(c);
  auto req = ParseLogParams(p, NowUs(), "");
  if (!req.ok()) return HttpReply::FromStatus(req.status());
  size_t top = 10;
  if (!c.Param("top").empty()) {
    auto t = Whole("top", c.Param("top"), 1);
    if (!t.ok()) return HttpReply::FromStatus(t.status());
    if (*t > 100) return Bad("invalid value '" + c.Param("top") + "' for top: at most 100");
    top = size_t(*t);
  }
  PVEAUDIT_STORE_OR_500(store, d);
  // A caller who sees a part only is counted afresh (the cache holds what
  // everyone may see, and visibility follows the live ACL).
  std::function<bool(const Event&)> keep = [&](const Event& e) { return c.visibility.Sees(e); };
  auto s = c.visibility.all ? d->stats->Compute(store, req->filter, top)
                            : ComputeLogStats(store, req->filter, top, keep);
  if (!s.ok()) return HttpReply::FromStatus(s.status());
  nlohmann::json hours = nlohmann::json::array();
  for (const auto& [h, n] : s->hours)
    hours.push_back({{"time", Rfc(h)}, {"count", n.total}, {"failed", n.failed}});
  nlohmann::json count = nlohmann::json::array(), failed = nlohmann::json::array();
  for (const auto& day : s->heat) {
    nlohmann::json cr = nlohmann::json::array(), fr = nlohmann::json::array();
    for (const HourCount& n : day) {
      cr.push_back(n.total);
      fr.push_back(n.failed);
    }
    count.push_back(std::move(cr));
    failed.push_back(std::move(fr));
  }
  // The keys of `pveam access log --count N --group-by user|ip`.
  auto groups = [](const std::vector<GroupRow>& rows, bool user) {
    nlohmann::json out = nlohmann::json::array();
    for (const GroupRow& r : rows) {
      nlohmann::json j = nlohmann::json::object();
      j[user ? "user" : "ip"] = r.value;
      if (user) j["ip"] = r.anonymous_ip;
      j["count"] = r.count;
      j["first"] = Rfc(r.first_us);
      j["last"] = Rfc(r.last_us);
      out.push_back(std::move(j));
    }
    return out;
  };
  return HttpReply::Ok({{"count", s->total},
                        {"failed", s->failed},
                        {"hours", std::move(hours)},
                        {"heatmap",
                         {{"days", {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}},
                          {"count", std::move(count)},
                          {"failed", std::move(failed)}}},
                        {"users", groups(s->top_users, true)},
                        {"ips", groups(s->top_ips, false)}});
}

// GET events: server-sent events. Every event stored after the cursor that
// the caller may see, as its JSON (event type "alert" for fired alerts,
// "event" otherwise), within a poll interval of being stored; a comment
// line every 15 s keeps proxies from closing an idle stream.
HttpReply EventStream(const Deps* d, HttpContext& c) {
  uint64_t after = 0;
  std::string a = c.Param("after");
  if (a.empty()) a = c.req->get_header_value("Last-Event-ID");
  if (!a.empty()) {
    auto r = Whole(c.Param("after").empty() ? "Last-Event-ID" : "after", a, 0);
    if (!r.ok()) return HttpReply::FromStatus(r.status());
    after = *r;
  } else {
    PVEAUDIT_STORE_OR_500(store, d);
    auto info = store.Info();
    if (!info.ok()) return HttpReply::FromStatus(info.status());
    after = info->last_id;  // only what is new from now on
  }
  // Open streams are limited: each holds a server thread.
  static std::atomic<int> open{0};
  if (open.load() >= 32) return HttpReply::Error(503, "too many open event streams");
  auto last = std::make_shared<uint64_t>(after);
  auto idle_since =
      std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  Visibility vis = c.visibility;
  ++open;
  c.res->set_header("X-Accel-Buffering", "no");
  c.res->set_chunked_content_provider(
      "text/event-stream",
      [d, vis, last, idle_since](size_t, httplib::DataSink& sink) {
        if (d->stopping->load()) {
          sink.done();
          return true;
        }
        std::string out;
        {
          auto lease = d->stores->Acquire();
          if (!lease.ok()) return false;
          Status st = lease->store->ScanAfter(*last, 1000, kFieldAll, [&](Event& e) {
            *last = e.id;
            if (!vis.Sees(e)) return true;
            const bool alert = e.action.rfind("alert:", 0) == 0;
            std::string data =
                EventToJson(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            out += "id: " + std::to_string(e.id) + "\nevent: " + (alert ? "alert" : "event") +
                   "\ndata: " + data + "\n\n";
            return true;
          });
          if (!st.ok()) return false;
        }
        const auto now = std::chrono::steady_clock::now();
        if (out.empty() && now - *idle_since > std::chrono::seconds(15)) out = ": keep-alive\n\n";
        if (!out.empty()) {
          *idle_since = now;
          if (!sink.write(out.data(), out.size())) return false;
        } else {
          if (!sink.is_writable()) return false;
          // Polling the store: new rows reach the page within this interval.
          std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
        return true;
      },
      [](bool) { --open; });
  HttpReply r;
  r.streaming = true;
  return r;
}

// Percent-encodes all but unreserved characters: a ticket as a cookie
// value (its base64 holds '+', '/' and '=').
std::string CookieEncode(std::string_view v) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : v) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += char(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

std::string TicketCookie(const std::string& value, int max_age_s) {
  return std::string(kLocalTicketCookie) + "=" + CookieEncode(value) +
         "; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_s);
}

// POST login: a local account (docs/auth.md). The body, JSON or a form,
// holds username and password; nothing of it is logged but the name.
HttpReply Login(const Deps* d, HttpContext& c) {
  std::string user, password;
  const std::string type = c.req->get_header_value("Content-Type");
  if (type.rfind("application/json", 0) == 0) {
    auto j = nlohmann::json::parse(c.req->body, nullptr, false);
    if (j.is_object()) {
      if (j.contains("username") && j["username"].is_string()) user = j["username"];
      if (j.contains("password") && j["password"].is_string()) password = j["password"];
    }
  } else {
    user = c.req->get_param_value("username");
    password = c.req->get_param_value("password");
  }
  c.query["username"] = user.substr(0, 64);  // for the record of the attempt
  if (!d->o.login || user.empty() || password.empty())
    return HttpReply::Error(401, "authentication failure");
  auto l = d->o.login(user, password, c.req->remote_addr);
  if (!l.ok())
    return l.status().code() == Status::Code::kBusy
               ? HttpReply::Error(429, "too many failed logins; try again later")
               : HttpReply::Error(401, "authentication failure");
  c.principal = l->principal;
  c.res->set_header("Set-Cookie", TicketCookie(l->ticket, d->o.session_lifetime_s));
  return HttpReply::Ok({{"username", l->principal.userid}, {"CSRFPreventionToken", l->csrf}});
}

// GET whoami: the caller, the CSRF token for changes, and what the page
// may offer them.
HttpReply WhoAmI(const Deps*, HttpContext& c) {
  const Principal& p = c.principal;
  auto has = [&](const char* path, const char* priv) {
    return c.auth && c.auth->HasPrivilege(p, path, priv);
  };
  nlohmann::json j = {
      {"userid", p.userid},
      {"tokenid", p.tokenid},
      {"via", p.via == Principal::Via::kToken   ? "token"
              : p.via == Principal::Via::kLocal ? "local"
                                                : "ticket"},
      {"CSRFPreventionToken", c.auth ? c.auth->CsrfToken(p) : std::string()},
      {"sees_all", c.visibility.all},
      {"can_modify", has("/", "Sys.Modify")},
      {"can_report", has("/access", "Sys.Audit")},
  };
  return HttpReply::Ok(std::move(j));
}

// The parameters of a change: the JSON object of the body, or the form
// fields (cpp-httplib puts a form body's fields with the query's).
nlohmann::json BodyParams(const HttpContext& c) {
  const std::string type = c.req->get_header_value("Content-Type");
  if (type.rfind("application/json", 0) == 0) {
    auto j = nlohmann::json::parse(c.req->body, nullptr, false);
    return j.is_object() ? j : nlohmann::json();  // null: not an object
  }
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : c.req->params)
    if (k != "_dc") j[k] = v;
  return j;
}

// One change handed to pveauditd (docs/control-socket.md), in the web
// principal's name; pveauditd validates it as the CLI does and records it.
HttpReply Change(const Deps* d, const HttpContext& c, const std::string& request,
                 nlohmann::json params) {
  if (!d->o.control)
    return HttpReply::Error(503, "changes go through pveauditd, and none is configured");
  nlohmann::json req = {{"request", request},
                        {"actor", {{"user", c.principal.Actor()}, {"ip", c.req->remote_addr}}},
                        {"params", std::move(params)}};
  auto reply = d->o.control(req);
  if (!reply.ok())
    return HttpReply::Error(503, "pveauditd is not reachable: " + reply.status().message());
  if (reply->value("ok", false)) {
    reply->erase("ok");
    reply->erase("id");
    return HttpReply::Ok(*reply);
  }
  const std::string code = reply->value("code", "");
  return HttpReply::Error(code == "invalid"    ? 400
                          : code == "conflict" ? 409
                          : code == "busy"     ? 503
                                               : 500,
                          reply->value("error", std::string("refused")));
}

HttpReply AddRule(const Deps* d, HttpContext& c) {
  nlohmann::json p = BodyParams(c);
  if (!p.is_object()) return Bad("the body is not a JSON object");
  return Change(d, c, "rule-add", std::move(p));
}

HttpReply SetRule(const Deps* d, HttpContext& c) {
  nlohmann::json p = BodyParams(c);
  if (!p.is_object() || !p.contains("enabled")) return Bad("expected {\"enabled\": true|false}");
  const nlohmann::json& e = p["enabled"];
  bool on;
  if (e.is_boolean())
    on = e.get<bool>();
  else if (e == "1" || e == 1 || e == "true")
    on = true;
  else if (e == "0" || e == 0 || e == "false")
    on = false;
  else
    return Bad("invalid value " + e.dump() + " for enabled: expected true or false");
  return Change(d, c, on ? "rule-enable" : "rule-disable", {{"id", c.path.at("id")}});
}

HttpReply RemoveRule(const Deps* d, HttpContext& c) {
  return Change(d, c, "rule-remove", {{"id", c.path.at("id")}});
}

// POST alerts/{id}/ack: acknowledges a fired alert (pveam access alert
// ack); 400 for an id that is no alert, 409 when it already was.
HttpReply AckAlertRoute(const Deps* d, HttpContext& c) {
  nlohmann::json p = BodyParams(c);
  if (!p.is_object()) return Bad("the body is not a JSON object");
  for (auto it = p.begin(); it != p.end(); ++it)
    if (it.key() != "comment") return Bad("unknown parameter '" + it.key() + "': expected comment");
  nlohmann::json params = {{"id", c.path.at("id")}};
  if (p.contains("comment")) params["comment"] = p["comment"];
  return Change(d, c, "alert-ack", std::move(params));
}

// POST syslog / POST notify: a destination added or changed, as `pveam
// access syslog --enable` / `notify --webhook` would. Files (CA,
// certificate, key, a template file) are named on the host with the CLI
// only: pveauditd reads them as root, and a path from the web would let a
// caller have any file read and, as a webhook template, sent away.
HttpReply EnableDestination(const Deps* d, HttpContext& c, const std::string& request) {
  nlohmann::json p = BodyParams(c);
  if (!p.is_object()) return Bad("the body is not a JSON object");
  for (const char* file : {"ca", "cert", "key"})
    if (p.contains(file))
      return Bad("parameter '" + std::string(file) +
                 "' names a file: set it on the host with pveam, not over the API");
  if (p.contains("template") && p["template"].is_string() &&
      p["template"].get<std::string>().find('/') != std::string::npos)
    return Bad("parameter 'template' names a file: only the built-in templates over the API");
  return Change(d, c, request, std::move(p));
}

// POST logout: ends a local account's cookie (a Proxmox ticket is the
// Proxmox GUI's to end).
HttpReply Logout(const Deps*, HttpContext& c) {
  c.res->set_header("Set-Cookie", TicketCookie("", 0));
  return HttpReply::Ok(nullptr);
}

}  // namespace

void AddAuditRoutes(Router* router, StorePool* stores, const WebOptions& o,
                    const std::atomic<bool>* stopping) {
  auto d = std::make_shared<Deps>(Deps{stores, o, stopping});
  auto bind = [d](HttpReply (*fn)(const Deps*, HttpContext&)) {
    return [d, fn](HttpContext& c) { return fn(d.get(), c); };
  };
  const std::string api = kApi;
  Route login{"POST",
              api + "/login",
              "",
              "",
              "Log in with a local account: sets the ticket cookie, returns the CSRF token",
              {{"username", "the account (in the body, JSON or a form)"},
               {"password", "its password (in the body only)"}},
              bind(Login)};
  login.open = true;
  router->Add(std::move(login));
  router->Add({"GET",
               api + "/whoami",
               "",
               "",
               "The caller, their CSRF token and what they may do",
               {},
               bind(WhoAmI)});
  router->Add({"POST",
               api + "/logout",
               "",
               "",
               "Ends a local account's login (clears its cookie)",
               {},
               bind(Logout)});
  router->Add(
      {"GET",
       api + "/log",
       "",
       "",
       "Access events, newest first, or with count the groups reaching it",
       {{"user", "only events of this user or API token (alice@pve, bob@pve!ci)"},
        {"start",
         "from this time (as pveam access log --start; HH:MM with end HH:MM: a daily window)"},
        {"end", "until this time (exclusive); a date alone includes that day"},
        {"action", "an action (vm:start), an object (vm) or a class (login, power, ...)"},
        {"resource", "an ACL path; selects its subtree (/vms/100)"},
        {"failed", "1: only failures; 0: only events that did not fail"},
        {"ip", "source address or CIDR range"},
        {"node", "only events from this node"},
        {"count", "instead of events, the groups with at least N matching events"},
        {"hour", "with count: the N events within some sliding window of H hours"},
        {"group-by", "with count: user (default), ip, resource or action"},
        {"limit", "events per page (default 100, at most 10000); with count: groups"},
        {"before", "the next page: events older than the event with this id"},
        {"output-format",
         "csv or json: download every event of the selection as pveam access log prints it"}},
       bind(Log)});
  router->Add(
      {"GET",
       api + "/stats",
       "",
       "",
       "The Access view's charts: events and failures per hour, an hour x weekday heat map, the "
       "users and addresses with the most failures",
       {{"user", "as for log"},
        {"start", "as for log"},
        {"end", "as for log"},
        {"action", "as for log"},
        {"resource", "as for log"},
        {"failed", "as for log"},
        {"ip", "as for log"},
        {"node", "as for log"},
        {"top", "rows of the top users and addresses (default 10, at most 100)"}},
       bind(Stats)});
  router->Add(
      {"GET",
       api + "/events",
       "",
       "",
       "Server-sent events: each new event and alert the caller may see",
       {{"after", "start after this event id (default: the newest; or the Last-Event-ID header)"}},
       bind(EventStream)});
  router->Add({"GET",
               api + "/sessions",
               "",
               "",
               "Active sessions (or with all=1 past ones) and concurrent sessions per user",
               {{"at", "the sessions active at this time (default: now)"},
                {"all", "1: every session that overlaps start/end"},
                {"start", "with all=1: from this time (default: 24 hours ago)"},
                {"end", "with all=1: until this time (default: now)"},
                {"user", "only this user's sessions"}},
               bind(Sessions)});
  router->Add({"GET",
               api + "/alerts",
               "",
               "",
               "Fired alerts, newest first",
               {{"start", "from this time"},
                {"end", "until this time (exclusive)"},
                {"rule", "only the alerts of this rule id"},
                {"limit", "the newest N alerts (default 100, at most 10000)"}},
               bind(Alerts)});
  router->Add({"POST",
               api + "/alerts/{id}/ack",
               "Sys.Modify",
               "/",
               "Acknowledge a fired alert (pveam access alert ack)",
               {{"comment", "why, or what was done (one line, at most 1024 bytes)"}},
               bind(AckAlertRoute)});
  router->Add({"GET", api + "/rules", "Sys.Audit", "/", "The alert rules", {}, bind(Rules)});
  router->Add({"POST",
               api + "/rules",
               "Sys.Modify",
               "/",
               "Add an alert rule (pveam access alert add)",
               {{"type",
                 "failed-login (default), brute-force-success, off-hours, action-rate, "
                 "privilege-change or new-ip"},
                {"threshold", "events that fire it (default 3)"},
                {"window", "the window (15m, 1h, ...; default 15m)"},
                {"cooldown", "fire again during a burst only after this long"},
                {"group-by", "user (default), ip, resource or action"},
                {"notify", "syslog, webhook or both (default: every destination)"},
                {"user", "only events of this user or API token"},
                {"node", "only events from this node"},
                {"resource", "only events on this ACL path or below"},
                {"ip", "only events from this address or CIDR range"},
                {"action", "only this action or class"},
                {"start", "off-hours: the window's start (18:00)"},
                {"end", "off-hours: the window's end (08:00)"},
                {"days", "off-hours: weekdays (mon-fri)"}},
               bind(AddRule)});
  router->Add({"PUT",
               api + "/rules/{id}",
               "Sys.Modify",
               "/",
               "Enable or disable an alert rule",
               {{"enabled", "true or false (in the body)"}},
               bind(SetRule)});
  router->Add({"DELETE",
               api + "/rules/{id}",
               "Sys.Modify",
               "/",
               "Remove an alert rule",
               {},
               bind(RemoveRule)});
  router->Add({"POST",
               api + "/syslog",
               "Sys.Modify",
               "/",
               "Add or change a syslog export destination (pveam access syslog --enable)",
               {{"server", "the syslog server (name or address)"},
                {"port", "its port (default 514, 6514 for tls)"},
                {"protocol", "udp (default), tcp or tls"},
                {"format", "cef (default) or rfc5424"},
                {"events", "all (default), alerts or failed"},
                {"name", "the destination's name (default: default)"},
                {"hold", "seconds an event that may still be joined waits (default 40)"},
                {"from-start", "1: send every stored event, not only new ones"}},
               [d](HttpContext& c) { return EnableDestination(d.get(), c, "syslog-enable"); }});
  router->Add({"POST",
               api + "/notify",
               "Sys.Modify",
               "/",
               "Add or change a webhook (pveam access notify --webhook)",
               {{"webhook", "the https:// URL to POST events to"},
                {"events", "all (default), alerts or failed"},
                {"secret", "HMAC key of the X-Pveaudit-Signature header (never shown again)"},
                {"batch", "events per POST (default 100)"},
                {"template", "a built-in body template: gotify, ntfy or slack"},
                {"allow-http", "1: allow a plain http:// URL"},
                {"name", "the destination's name (default: default)"}},
               [d](HttpContext& c) { return EnableDestination(d.get(), c, "notify-enable"); }});
  for (auto [kind, title] :
       {std::pair<std::string, const char*>{
            "syslog", "Disable a syslog export destination (pveam access syslog --disable)"},
        {"notify", "Disable a webhook (pveam access notify --disable)"}})
    router->Add({"DELETE",
                 api + "/" + kind + "/{name}",
                 "Sys.Modify",
                 "/",
                 title,
                 {},
                 [d, request = kind + "-disable"](HttpContext& c) {
                   return Change(d.get(), c, request, {{"name", c.path.at("name")}});
                 }});
  router->Add({"GET",
               api + "/syslog",
               "Sys.Audit",
               "/",
               "Syslog export destinations with their delivery status",
               {},
               [d](HttpContext&) { return Destinations(d.get(), "syslog", "export.syslog"); }});
  router->Add(
      {"GET",
       api + "/notify",
       "Sys.Audit",
       "/",
       "Webhook destinations with their delivery status",
       {},
       [d](HttpContext&) { return Destinations(d.get(), "webhook", kWebhookSettingsKey); }});
  router->Add({"GET",
               api + "/status",
               "Sys.Audit",
               "/",
               "The store and pveauditd's status",
               {},
               bind(StatusRoute)});
  router->Add({"GET",
               api + "/verify",
               "Sys.Audit",
               "/",
               "Recompute the hash chain over every stored event",
               {},
               bind(Verify)});
  router->Add({"GET",
               api + "/report/users",
               "Sys.Audit",
               "/access",
               "The user access report (pveum user report)",
               {{"now", "time reference for the 30- and 90-day windows (default: now)"},
                {"output-format",
                 "csv, json, json-pretty, text, html or yaml: download the report as pveum user "
                 "report --output-format prints it"}},
               bind(UserReport)});
  router->Add({"GET",
               api + "/report/acl",
               "Sys.Audit",
               "/access",
               "The permission audit report (pveum acl report)",
               {{"now", "time reference for expiry (default: now)"},
                {"output-format",
                 "csv, json, json-pretty, text, html or yaml: download the report as pveum acl "
                 "report --output-format prints it"}},
               bind(AclReport)});
  router->Add({"GET",
               api + "/report/quarterly",
               "Sys.Audit",
               "/access",
               "The quarterly access review (pveum audit quarterly) with the caller as reviewer",
               {{"quarter", "the quarter under review, e.g. 2026Q4 (default: the one holding now)"},
                {"now", "time reference (default: now)"},
                {"output-format",
                 "html, csv or json: download the review page, its findings as CSV or the "
                 "review as JSON, as pveum audit quarterly writes them"}},
               bind(QuarterlyReport)});
  router->Add({"GET",
               api + "/report/reviews",
               "Sys.Audit",
               "/access",
               "Recorded quarterly reviews (pveum audit quarterly, review pages downloaded "
               "here), newest first",
               {},
               bind(Reviews)});
}

}  // namespace pveaudit

#include "evidence/certification.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "core/did_you_mean.h"
#include "core/time_spec.h"
#include "evidence/audit_event.h"
#include "pve/parse_util.h"
#include "query/log_query.h"

namespace pveaudit {
namespace {

constexpr const char* kFormat = "pveaudit-certification/1";
constexpr size_t kListedUsers = 10;       // revoked users named one line each
constexpr size_t kPermissionsText = 160;  // bytes of a user's permissions in an evidence line

std::string CampaignKey(const std::string& period) { return "compliance.certification." + period; }
std::string DecisionKey(const std::string& period, const std::string& userid) {
  return CampaignKey(period) + ".decision." + userid;
}
std::string Resource(const std::string& period) { return "/pveaudit/certifications/" + period; }

// Stored times are whole seconds: they are read by people, in evidence lines.
int64_t WholeSeconds(int64_t us) { return us - us % 1000000; }

// An RFC 3339 time this module wrote; false when it is not one.
bool ParseStamp(const std::string& text, int64_t* us) {
  auto t = ParseTimeSpec(text, 0);
  if (!t.ok() || t->kind != TimeSpec::Kind::kInstant) return false;
  *us = t->us;
  return true;
}

// The privileges `roles` grant: privilege -> propagates (NoAccess: none).
std::map<std::string, bool> PrivilegesOf(const pve::PveConfig& cfg,
                                         const pve::PermissionIndex& engine,
                                         const pve::PermissionIndex::RoleIds& roles) {
  std::map<std::string, bool> out;
  for (const auto& [role, propagate] : roles)
    if (engine.RoleName(role) == "NoAccess") return {};
  for (const auto& [role, propagate] : roles) {
    auto it = cfg.access.roles.find(engine.RoleName(role));
    if (it == cfg.access.roles.end()) continue;
    for (const std::string& p : it->second.privs) out[p] = out[p] || propagate;
  }
  return out;
}

// The canonical text the access digest is taken of. A path is listed when
// the privileges there, or what it passes down, differ from what it
// inherits; so two configs that grant the same privileges on every path
// (whatever roles, groups, pools or redundant entries do it) give the same
// text, and any change of a privilege anywhere gives another.
std::string PrivilegesText(const pve::PveConfig& cfg, const report::AclIndex& index,
                           const std::string& userid) {
  const pve::PermissionIndex& e = index.engine();
  std::string out = "pveaudit-access/1\n";
  // Decided ancestors of the current path and what they pass down.
  std::vector<std::pair<int, std::map<std::string, bool>>> stack;
  static const std::map<std::string, bool> kNone;
  pve::PermissionIndex::DecideScratch scratch;
  e.ForEachDecision(userid, &scratch,
                    [&](int path, const pve::PermissionIndex::RoleIds& roles,
                        const pve::PermissionIndex::RoleIds& below) {
                      while (!stack.empty() && path >= stack.back().first) stack.pop_back();
                      const std::map<std::string, bool>& inherited =
                          stack.empty() ? kNone : stack.back().second;
                      std::map<std::string, bool> here = PrivilegesOf(cfg, e, roles);
                      std::map<std::string, bool> down = PrivilegesOf(cfg, e, below);
                      for (auto& [p, propagate] : down) propagate = true;
                      if (here != inherited || down != inherited) {
                        out += e.paths()[size_t(path)] + "\n";
                        for (const auto& [p, propagate] : here)
                          out += "\t" + p + (propagate ? "\n" : " (this path only)\n");
                        out += "\tpasses down:";
                        for (const auto& [p, propagate] : down) out += " " + p;
                        out += "\n";
                      }
                      stack.emplace_back(e.subtree_end()[size_t(path)], std::move(down));
                    });
  return out;
}

nlohmann::ordered_json ItemJson(const CertItem& i) {
  return {{"userid", i.userid},
          {"permissions", i.access.permissions},
          {"groups", i.access.groups},
          {"tokens", i.access.tokens},
          {"access_sha256", i.access.digest}};
}

nlohmann::ordered_json DecisionJson(const CertDecision& d) {
  return {{"decision", d.decision}, {"note", d.note}, {"by", d.by}, {"decided", d.decided}};
}

std::string SerializeCampaign(const Certification& c) {
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  for (const CertItem& i : c.items) items.push_back(ItemJson(i));
  return nlohmann::ordered_json{{"format", kFormat},    {"period", c.period},
                                {"started", c.started}, {"started_by", c.started_by},
                                {"pve_dir", c.pve_dir}, {"items", items}}
      .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Status Damaged(const std::string& key) {
  return Status::Corruption("setting " + key + " is damaged");
}

Result<CertDecision> ParseDecision(const std::string& key, const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j["decision"].is_string() || !j["by"].is_string() ||
      !j["decided"].is_string() || !j["note"].is_string())
    return Damaged(key);
  CertDecision d;
  d.decision = j["decision"];
  d.note = j["note"];
  d.by = j["by"];
  d.decided = j["decided"];
  if ((d.decision != "keep" && d.decision != "revoke") || !ParseStamp(d.decided, &d.decided_us))
    return Damaged(key);
  return d;
}

std::vector<std::string> Strings(const nlohmann::json& a, bool* ok) {
  std::vector<std::string> out;
  if (!a.is_array()) {
    *ok = false;
    return out;
  }
  for (const auto& s : a)
    if (s.is_string())
      out.push_back(s.get<std::string>());
    else
      *ok = false;
  return out;
}

// The campaigns the checks look at: the quarter of in.now_us and the one
// before, newest first, as they were at in.now_us (absent: not started).
Result<std::vector<std::pair<report::Quarter, std::optional<Certification>>>> RecentCampaigns(
    const ComplianceInput& in) {
  const report::Quarter cur = report::QuarterOf(in.now_us);
  const report::Quarter prev = report::QuarterOf(cur.start_us - 1);
  std::vector<std::pair<report::Quarter, std::optional<Certification>>> out;
  for (const report::Quarter& q : {cur, prev}) {
    auto c = LoadCertification(*in.store, q.Name());
    if (!c.ok()) return c.status();
    if (*c && (*c)->started_us > in.now_us) c->reset();
    out.emplace_back(q, std::move(*c));
  }
  return out;
}

// True when an audit:certification-complete of `period` was recorded.
Result<bool> CompletionRecorded(EventStore& store, const std::string& period) {
  Filter f;
  f.action = "audit:certification-complete";
  bool found = false;
  const std::string prefix = "period=" + period + " ";
  Status st = ForEachEvent(store, f, 0, kFieldAll, [&](Event&& e) {
    found |= e.source == "pveaudit" && e.detail.rfind(prefix, 0) == 0;
    return !found;
  });
  if (!st.ok()) return st;
  return found;
}

}  // namespace

UserAccess EffectiveAccess(const pve::PveConfig& cfg, const report::AclIndex& index,
                           const std::string& userid, int64_t now_us) {
  UserAccess a;
  auto u = cfg.access.users.find(userid);
  if (u == cfg.access.users.end() || !u->second.enabled ||
      report::Expired(u->second.expire, now_us))
    return a;
  a.active = true;
  a.groups = u->second.groups;
  // Token ids are "USERID!NAME": the user's tokens are one range of the map.
  const std::string prefix = userid + "!";
  for (auto t = cfg.access.tokens.lower_bound(prefix);
       t != cfg.access.tokens.end() && t->first.compare(0, prefix.size(), prefix) == 0; ++t)
    a.tokens.push_back(t->first + (t->second.privsep ? "" : " (no privilege separation)"));
  a.permissions = index.CompactPermissions(userid);
  a.digest = report::Sha256Hex(PrivilegesText(cfg, index, userid));
  return a;
}

std::string ShortPermissions(const std::string& permissions, size_t max) {
  if (permissions.empty()) return "no permissions";
  if (permissions.size() <= max) return permissions;
  size_t cut = permissions.rfind("; ", max);
  if (cut == std::string::npos) cut = permissions.find("; ");
  if (cut == std::string::npos) return permissions;
  size_t more = 0;
  for (size_t p = cut; (p = permissions.find("; ", p)) != std::string::npos; p += 2) ++more;
  return permissions.substr(0, cut) + "; ... (" + std::to_string(more) + " more paths)";
}

CertCounts CountDecisions(const Certification& c, int64_t as_of_us) {
  CertCounts n;
  n.items = c.items.size();
  for (const CertItem& i : c.items) {
    if (!i.decision || i.decision->decided_us > as_of_us) continue;
    ++n.decided;
    (i.decision->decision == "revoke" ? n.revoked : n.kept)++;
    n.completed_us = std::max(n.completed_us, i.decision->decided_us);
  }
  n.open = n.items - n.decided;
  n.complete = n.open == 0;
  if (!n.complete)
    n.completed_us = 0;
  else if (n.items == 0)
    n.completed_us = c.started_us;
  return n;
}

Status ParseCertificationPeriod(const std::string& flag, const std::string& text, int64_t now_us,
                                report::Quarter* out) {
  if (text.empty())
    return Status::InvalidArgument(flag +
                                   " is required: a quarter such as 2026Q4, current or last");
  report::Quarter q;
  if (text == "current") {
    q = report::QuarterOf(now_us);
  } else if (text == "last") {
    q = report::QuarterOf(report::QuarterOf(now_us).start_us - 1);
  } else if (!report::ParseQuarter(text, &q)) {
    return Status::InvalidArgument(
        "invalid value '" + text + "' for " + flag +
        ": expected a quarter YYYYQ1..Q4 (e.g. 2026Q4), current or last");
  }
  if (q.start_us > now_us)
    return Status::InvalidArgument("invalid value '" + text + "' for " + flag + ": " + q.Name() +
                                   " has not begun");
  *out = q;
  return Status::OK();
}

Result<std::optional<Certification>> LoadCertification(EventStore& store,
                                                       const std::string& period) {
  const std::string key = CampaignKey(period);
  auto v = store.GetSetting(key);
  if (!v.ok()) return v.status();
  if (!*v || (*v)->empty()) return std::optional<Certification>();
  nlohmann::json j = nlohmann::json::parse(**v, nullptr, false);
  if (!j.is_object() || j.value("format", "") != kFormat || !j["items"].is_array() ||
      !j["started"].is_string() || !j["started_by"].is_string() || !j["pve_dir"].is_string())
    return Damaged(key);
  Certification c;
  c.period = period;
  c.started = j["started"];
  c.started_by = j["started_by"];
  c.pve_dir = j["pve_dir"];
  if (!report::ParseQuarter(period, &c.quarter) || !ParseStamp(c.started, &c.started_us))
    return Damaged(key);
  for (const auto& o : j["items"]) {
    if (!o.is_object() || !o["userid"].is_string() || !o["permissions"].is_string() ||
        !o["access_sha256"].is_string())
      return Damaged(key);
    CertItem i;
    i.userid = o["userid"];
    i.access.active = true;
    i.access.permissions = o["permissions"];
    i.access.digest = o["access_sha256"];
    bool ok = true;
    i.access.groups = Strings(o["groups"], &ok);
    i.access.tokens = Strings(o["tokens"], &ok);
    if (!ok) return Damaged(key);
    // One read per item: decisions are settings of their own (see the header).
    const std::string dkey = DecisionKey(period, i.userid);
    auto d = store.GetSetting(dkey);
    if (!d.ok()) return d.status();
    if (*d && !(*d)->empty()) {
      auto decision = ParseDecision(dkey, **d);
      if (!decision.ok()) return decision.status();
      i.decision = std::move(*decision);
    }
    c.items.push_back(std::move(i));
  }
  return std::optional<Certification>(std::move(c));
}

Result<std::vector<std::string>> ListCertificationPeriods(EventStore& store) {
  Filter f;
  f.action = "audit:certification-start";
  std::vector<std::string> periods;
  const std::string prefix = Resource("");
  Status st = ForEachEvent(store, f, 0, kFieldAll, [&](Event&& e) {
    report::Quarter q;
    if (e.source == "pveaudit" && e.resource.rfind(prefix, 0) == 0 &&
        report::ParseQuarter(e.resource.substr(prefix.size()), &q) &&
        std::find(periods.begin(), periods.end(), q.Name()) == periods.end())
      periods.push_back(q.Name());
    return true;
  });
  if (!st.ok()) return st;
  std::sort(periods.begin(), periods.end());
  return periods;
}

Result<Certification> StartCertification(EventStore& store, const Actor& actor,
                                         const std::string& node, const pve::PveConfig& cfg,
                                         const report::Quarter& quarter, int64_t now_us,
                                         uint64_t* event_id) {
  const std::string period = quarter.Name();
  auto existing = LoadCertification(store, period);
  if (!existing.ok()) return existing.status();
  if (*existing)
    return Status::InvalidArgument(
        "invalid value '" + period + "' for --period: the certification of " + period +
        " was started on " + (*existing)->started + " by " + (*existing)->started_by +
        " (see 'pveam compliance certify show --period " + period + "')");
  Certification c;
  c.period = period;
  c.quarter = quarter;
  c.started_us = WholeSeconds(now_us);
  c.started = FormatRfc3339Utc(c.started_us);
  c.started_by = actor.user;
  c.pve_dir = cfg.dir;
  report::AclIndex index(cfg);
  for (const auto& [id, u] : cfg.access.users) {
    UserAccess a = EffectiveAccess(cfg, index, id, now_us);
    if (a.active) c.items.push_back({id, std::move(a), std::nullopt});
  }
  SettingChange ch;
  ch.key = CampaignKey(period);
  ch.after = SerializeCampaign(c);
  ch.action = "audit:certification-start";
  ch.resource = Resource(period);
  ch.summary = "certification " + period + " started: " + std::to_string(c.items.size()) +
               " users to certify";
  ch.node = node;
  PVEAUDIT_RETURN_IF_ERROR(PutAuditedSetting(store, actor, ch, event_id));
  return c;
}

Status CheckReviewer(const std::string& flag, const std::string& userid) {
  if (userid.empty()) return Status::InvalidArgument(flag + " USERID is required");
  if (!pve::VerifyUsername(userid))
    return Status::InvalidArgument("invalid value '" + userid + "' for " + flag +
                                   ": expected a user id such as ciso@pve");
  return Status::OK();
}

Status CheckDecideOptions(const DecideOptions& o) {
  report::Quarter q;
  if (o.period.empty()) return Status::InvalidArgument("--period is required (e.g. 2026Q4)");
  if (!report::ParseQuarter(o.period, &q))
    return Status::InvalidArgument("invalid value '" + o.period +
                                   "' for --period: expected a quarter YYYYQ1..Q4 (e.g. 2026Q4)");
  if (o.userid.empty()) return Status::InvalidArgument("--user USERID is required");
  if (o.decision.empty()) return Status::InvalidArgument("--decision keep|revoke is required");
  if (o.decision != "keep" && o.decision != "revoke")
    return Status::InvalidArgument("invalid value '" + o.decision +
                                   "' for --decision: expected keep or revoke");
  if (o.note.size() > 1024 || std::any_of(o.note.begin(), o.note.end(),
                                          [](unsigned char ch) { return ch < 0x20 || ch == 0x7f; }))
    return Status::InvalidArgument(
        "invalid value for --note: one line of at most 1024 bytes, no control characters");
  PVEAUDIT_RETURN_IF_ERROR(CheckReviewer("--by", o.by));
  // Segregation of duties: nobody certifies their own access.
  if (o.by == o.userid)
    return Status::InvalidArgument("invalid value '" + o.by + "' for --by: " + o.by +
                                   " cannot certify their own access; another reviewer must");
  return Status::OK();
}

Status CheckDecision(const std::optional<Certification>& c, const DecideOptions& o) {
  PVEAUDIT_RETURN_IF_ERROR(CheckDecideOptions(o));
  if (!c)
    return Status::InvalidArgument(
        "invalid value '" + o.period + "' for --period: no certification of " + o.period +
        " was started (pveam compliance certify start --period " + o.period + ")");
  const CertCounts n = CountDecisions(*c);
  if (n.complete)
    return Status::InvalidArgument(
        "invalid value '" + o.period + "' for --period: the certification of " + c->period +
        " is complete since " + FormatRfc3339Utc(n.completed_us) + "; its decisions are closed");
  for (const CertItem& i : c->items)
    if (i.userid == o.userid) return Status::OK();
  std::vector<std::string> ids;
  for (const CertItem& i : c->items) ids.push_back(i.userid);
  const std::string hint = DidYouMean(o.userid, ids);
  return Status::InvalidArgument(
      "invalid value '" + o.userid + "' for --user: not one of the " + std::to_string(ids.size()) +
      " users of the certification of " + c->period +
      (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)") +
      "; it lists the users enabled when it started");
}

Result<DecideResult> DecideCertification(EventStore& store, const Actor& actor,
                                         const std::string& node, const DecideOptions& o,
                                         int64_t now_us) {
  PVEAUDIT_RETURN_IF_ERROR(CheckDecideOptions(o));
  report::Quarter q;
  report::ParseQuarter(o.period, &q);
  const std::string period = q.Name();
  DecideOptions opt = o;
  opt.period = period;
  auto c = LoadCertification(store, period);
  if (!c.ok()) return c.status();
  PVEAUDIT_RETURN_IF_ERROR(CheckDecision(*c, opt));
  const CertItem& item = *std::find_if((*c)->items.begin(), (*c)->items.end(),
                                       [&](const CertItem& i) { return i.userid == o.userid; });
  CertDecision d{o.decision, o.note, o.by, FormatRfc3339Utc(WholeSeconds(now_us)),
                 WholeSeconds(now_us)};
  SettingChange ch;
  ch.key = DecisionKey(period, o.userid);
  auto text = [](const CertDecision& x) {
    return DecisionJson(x).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  };
  if (item.decision) ch.before = text(*item.decision);
  ch.after = text(d);
  ch.action = "audit:certification-" + o.decision;
  ch.resource = Resource(period) + "/" + o.userid;
  ch.summary = "certification " + period + ": " + o.decision + " " + o.userid + " (" +
               ShortPermissions(item.access.permissions, kPermissionsText) + "), decided by " +
               o.by;
  ch.node = node;
  DecideResult r;
  PVEAUDIT_RETURN_IF_ERROR(PutAuditedSetting(store, actor, ch, &r.event_id));

  // Read every decision back: of concurrent deciders, the last one to write
  // sees them all, so a completion is never missed.
  auto after = LoadCertification(store, period);
  if (!after.ok()) return after.status();
  if (!*after) return Status::Internal("the certification of " + period + " vanished");
  for (const CertItem& i : (*after)->items)
    if (i.userid == o.userid) r.item = i;
  r.counts = CountDecisions(**after);
  if (!r.counts.complete) return r;
  auto recorded = CompletionRecorded(store, period);
  if (!recorded.ok()) return recorded.status();
  if (*recorded) return r;
  r.completion_sha256 = CertificationDigest(**after);
  std::vector<Event> ev = {OwnAuditEvent(
      "audit:certification-complete", o.by, node,
      "period=" + period + " items=" + std::to_string(r.counts.items) +
          " kept=" + std::to_string(r.counts.kept) +
          " revoked=" + std::to_string(r.counts.revoked) + " sha256=" + r.completion_sha256,
      NowUs())};
  ev[0].resource = Resource(period);
  PVEAUDIT_RETURN_IF_ERROR(store.Append(&ev, {}, nullptr));
  r.completion_event_id = ev[0].id;
  return r;
}

report::Report CertificationReport(const Certification& c) {
  const CertCounts n = CountDecisions(c);
  report::Report r;
  r.title = "Access certification " + c.period;
  Table head;
  head.columns = {"period",  "quarter_start", "quarter_end", "started", "started_by",
                  "pve_dir", "items",         "decided",     "kept",    "revoked",
                  "open",    "state",         "completed"};
  head.rows.push_back({c.period, FormatRfc3339Utc(c.quarter.start_us),
                       FormatRfc3339Utc(c.quarter.end_us), c.started, c.started_by, c.pve_dir,
                       int64_t(n.items), int64_t(n.decided), int64_t(n.kept), int64_t(n.revoked),
                       int64_t(n.open), std::string(n.complete ? "complete" : "open"),
                       n.complete ? Cell(FormatRfc3339Utc(n.completed_us)) : Cell()});
  Table items;
  items.columns = {"userid",   "groups",     "tokens",  "permissions", "access_sha256",
                   "decision", "decided_by", "decided", "note"};
  for (const CertItem& i : c.items) {
    const CertDecision* d = i.decision ? &*i.decision : nullptr;
    items.rows.push_back({i.userid, report::Join(i.access.groups, ","),
                          report::Join(i.access.tokens, ", "), i.access.permissions,
                          i.access.digest, d ? Cell(d->decision) : Cell(), d ? Cell(d->by) : Cell(),
                          d ? Cell(d->decided) : Cell(), d ? Cell(d->note) : Cell()});
  }
  r.sections.push_back({"certification", "Certification", std::move(head)});
  r.sections.push_back({"items", "Users", std::move(items)});
  return r;
}

std::string CertificationDigest(const Certification& c) {
  return report::Sha256Hex(
      report::RenderReport(CertificationReport(c), report::ReportFormat::kJson));
}

Status CheckAccessCertification(const ComplianceInput& in, CheckOutcome* o) {
  const report::Quarter cur = report::QuarterOf(in.now_us);
  o->query = "pveam compliance certify list; pveam compliance certify show --period " + cur.Name();
  const std::string fix =
      "certify every user each quarter: pveam compliance certify start --period " + cur.Name() +
      ", then for each user pveam compliance certify decide --period " + cur.Name() +
      " --user USERID --decision keep|revoke --by REVIEWER";
  if (!in.store) {
    o->result = CheckResult::kFail;
    o->subjects.push_back("access certification");
    o->evidence.push_back("no event store: no certification can have been recorded");
    o->fix = fix;
    return Status::OK();
  }
  auto campaigns = RecentCampaigns(in);
  if (!campaigns.ok()) return campaigns.status();
  bool complete = false;
  for (const auto& [q, c] : *campaigns) {
    if (!c) {
      o->evidence.push_back("no certification of " + q.Name());
      continue;
    }
    const CertCounts n = CountDecisions(*c, in.now_us);
    std::string line = "certification " + q.Name() + " started " + c->started + " by " +
                       c->started_by + ": " + std::to_string(n.items) + " users, " +
                       std::to_string(n.decided) + " decided (" + std::to_string(n.kept) +
                       " keep, " + std::to_string(n.revoked) + " revoke), ";
    line += n.complete ? "complete " + FormatRfc3339Utc(n.completed_us)
                       : std::to_string(n.open) + " open";
    o->evidence.push_back(line);
    complete |= n.complete;
  }
  o->result = complete ? CheckResult::kPass : CheckResult::kFail;
  if (!complete) {
    o->subjects.push_back("access certification");
    o->fix = fix;
  }
  return CheckRevokedAccess(in, o);
}

Status CheckRevokedAccess(const ComplianceInput& in, CheckOutcome* o) {
  if (!in.store) return Status::OK();
  auto campaigns = RecentCampaigns(in);
  if (!campaigns.ok()) return campaigns.status();
  // The latest decision on each user counts (campaigns are newest first): a
  // revoke followed by a keep in the next quarter is settled.
  std::map<std::string, std::pair<const Certification*, const CertItem*>> latest;
  for (const auto& [q, c] : *campaigns)
    if (c)
      for (const CertItem& i : c->items)
        if (i.decision && i.decision->decided_us <= in.now_us)
          latest.emplace(i.userid, std::make_pair(&*c, &i));
  std::vector<std::pair<const Certification*, const CertItem*>> revoked;
  for (const auto& [userid, ci] : latest)
    if (ci.second->decision->decision == "revoke") revoked.push_back(ci);
  if (revoked.empty()) return Status::OK();
  const std::string fix =
      "remove what the reviewer revoked (pveum acl delete PATH --roles ROLE --users USERID, or "
      "the group membership: pveum user modify USERID --groups ...) or disable the account "
      "(pveum user modify USERID --enable 0)";
  if (!in.pve) {
    o->result = CheckResult::kFail;
    o->subjects.push_back("revoked access");
    o->evidence.push_back(
        "the Proxmox config could not be read: " + std::to_string(revoked.size()) +
        " revoke decision" + (revoked.size() == 1 ? "" : "s") + " not checked");
    o->fix += (o->fix.empty() ? "" : "; ") + fix;
    return Status::OK();
  }
  report::AclIndex index(*in.pve);
  std::vector<std::string> lines;
  size_t unchanged = 0;
  for (const auto& [c, item] : revoked) {
    const UserAccess now = EffectiveAccess(*in.pve, index, item->userid, in.now_us);
    if (!now.active || now.digest != item->access.digest) continue;
    o->subjects.push_back(item->userid);
    if (++unchanged <= kListedUsers)
      lines.push_back(
          item->userid + ": revoke decided " + item->decision->decided + " by " +
          item->decision->by + " (certification " + c->period +
          "), access unchanged: " + ShortPermissions(now.permissions, kPermissionsText));
  }
  o->evidence.push_back(std::to_string(revoked.size()) + " revoke decision" +
                        (revoked.size() == 1 ? ", " : "s, ") + std::to_string(unchanged) +
                        " with the access unchanged in the live config");
  o->evidence.insert(o->evidence.end(), lines.begin(), lines.end());
  if (unchanged > kListedUsers)
    o->evidence.push_back("... and " + std::to_string(unchanged - kListedUsers) + " more");
  if (!unchanged) return Status::OK();
  o->result = CheckResult::kFail;
  o->query += "; pveum user permissions USERID";
  o->fix += (o->fix.empty() ? "" : "; ") + fix;
  return Status::OK();
}

}  // namespace pveaudit

#include "export/export_loop.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/time_spec.h"
#include "query/correlator.h"
#include "query/log_query.h"

namespace pveaudit {

bool SelectedFor(EventSelection sel, const Event& e) {
  const bool alert = e.action.rfind("alert:", 0) == 0;
  switch (sel) {
    case EventSelection::kAll:
      return true;
    case EventSelection::kAlerts:
      return alert;
    case EventSelection::kFailed:
      return alert || e.result == Outcome::kFailure;
  }
  return true;
}

bool IdRanges::Has(uint64_t id) const {
  auto it = r_.upper_bound(id);
  if (it == r_.begin()) return false;
  --it;
  return id <= it->second;
}

void IdRanges::Add(uint64_t id) {
  if (Has(id)) return;
  auto next = r_.upper_bound(id);
  if (next != r_.begin()) {
    auto prev = std::prev(next);
    if (prev->second + 1 == id) {  // extends prev, perhaps up to next
      prev->second = id;
      if (next != r_.end() && next->first == id + 1) {
        prev->second = next->second;
        r_.erase(next);
      }
      return;
    }
  }
  if (next != r_.end() && next->first == id + 1) {  // extends next downwards
    uint64_t last = next->second;
    r_.erase(next);
    r_.emplace(id, last);
    return;
  }
  r_.emplace(id, id);
}

void IdRanges::DropThrough(uint64_t id) {
  while (!r_.empty() && r_.begin()->first <= id) {
    auto first = r_.begin();
    uint64_t last = first->second;
    r_.erase(first);
    if (last > id) {
      r_.emplace(id + 1, last);
      break;
    }
  }
}

std::string IdRanges::Encode() const {
  std::string out;
  for (auto [a, b] : r_) {
    if (!out.empty()) out += ',';
    out += std::to_string(a);
    if (b != a) {
      out += '-';
      out += std::to_string(b);
    }
  }
  return out;
}

bool IdRanges::Decode(const std::string& s) {
  r_.clear();
  const char* p = s.c_str();
  while (*p) {
    char* end = nullptr;
    uint64_t a = std::strtoull(p, &end, 10), b = a;
    if (end == p) return r_.clear(), false;
    p = end;
    if (*p == '-') {
      b = std::strtoull(p + 1, &end, 10);
      if (end == p + 1 || b < a) return r_.clear(), false;
      p = end;
    }
    // Ranges as written: sorted and disjoint; merged when adjacent.
    if (!r_.empty() && a <= std::prev(r_.end())->second) return r_.clear(), false;
    if (!r_.empty() && a == std::prev(r_.end())->second + 1)
      std::prev(r_.end())->second = b;
    else
      r_.emplace_hint(r_.end(), a, b);
    if (*p == ',')
      ++p;
    else if (*p)
      return r_.clear(), false;
  }
  return true;
}

nlohmann::json ExportState::ToJson() const {
  return {{"destination", destination},
          {"consumer", consumer},
          {"describe", describe},
          {"enabled", enabled},
          {"cursor", cursor},
          {"undelivered", undelivered},
          {"lag_s", lag_s},
          {"held", held},
          {"last_error", last_error},
          {"last_error_time", last_error_us ? FormatRfc3339Utc(last_error_us) : std::string()},
          {"delivered", delivered},
          {"failures", failures}};
}

ExportLoop::ExportLoop(EventStore& store, std::unique_ptr<Sink> sink, ExportLoopOptions options,
                       std::unique_ptr<EventStore> reader)
    : store_(store),
      own_reader_(std::move(reader)),
      reader_(own_reader_ ? *own_reader_ : store),
      sink_(std::move(sink)),
      opt_(std::move(options)),
      rng_(std::random_device{}()) {
  if (opt_.batch == 0) opt_.batch = 1;
  opt_.max_round = std::max(opt_.max_round, opt_.batch);
  round_ = opt_.batch;
  state_.destination = opt_.destination;
  state_.consumer = opt_.consumer;
  state_.describe = sink_->Describe();
}

Status StartConsumer(EventStore& store, const std::string& consumer, bool from_start,
                     uint64_t* start) {
  auto c = store.GetConsumer(consumer);
  if (!c.ok()) return c.status();
  if (c->has_value()) {
    *start = **c;
    return Status::OK();
  }
  *start = 0;
  if (!from_start) {
    auto info = store.Info();
    if (!info.ok()) return info.status();
    *start = info->last_id;
  }
  return store.PutConsumer(consumer, *start);
}

Status ExportLoop::Init() {
  auto c = store_.GetConsumer(opt_.consumer);
  if (!c.ok()) return c.status();
  // Events decided above the cursor before a restart (sent ahead of an
  // older held one) are not sent again.
  auto ahead = store_.GetSetting(AheadKey());
  if (!ahead.ok()) return ahead.status();
  ahead_value_ = ahead->value_or("");
  ahead_written_ = !ahead_value_.empty();
  if (c->has_value()) {
    cursor_ = **c;
    // An unreadable value gives nothing: those events are sent again (at
    // least once).
    if (ahead_.Decode(ahead_value_)) ahead_.DropThrough(cursor_);
  } else {
    uint64_t start = 0;
    PVEAUDIT_RETURN_IF_ERROR(StartConsumer(store_, opt_.consumer, opt_.from_start, &start));
    cursor_ = start;
  }
  initialized_ = true;
  std::lock_guard<std::mutex> l(mu_);
  state_.cursor = cursor_;
  return Status::OK();
}

void ExportLoop::SetError(const Status& s) {
  std::lock_guard<std::mutex> l(mu_);
  state_.last_error = s.message();
  state_.last_error_us = NowUs();
  ++state_.failures;
}

bool MayBeJoined(const Event& e) {
  return e.action.rfind("alert:", 0) != 0 && e.source != "pveaudit";
}

namespace {

// Ids the view wrote into a survivor's detail: " request=#12",
// " forwarded=#3", "; attributed from event 7".
void ReferencedIds(const std::string& detail, std::vector<uint64_t>* out) {
  auto number_at = [&](size_t p) {
    const char* s = detail.c_str() + p;
    char* end = nullptr;
    uint64_t id = std::strtoull(s, &end, 10);
    if (end != s && id) out->push_back(id);
  };
  // Found by their '#' rather than by a search for the whole mark, whose
  // leading space matches at every word: this runs for every event a view
  // scan shows.
  for (std::string_view mark : {" request=#", " forwarded=#"})
    for (size_t h = detail.find('#'); h != std::string::npos; h = detail.find('#', h + 1))
      if (h + 1 >= mark.size() && detail.compare(h + 1 - mark.size(), mark.size(), mark) == 0)
        number_at(h + 1);
  constexpr std::string_view kAttributed = "; attributed from event ";
  for (size_t p = detail.find(kAttributed); p != std::string::npos;
       p = detail.find(kAttributed, p + 1))
    number_at(p + kAttributed.size());
}

std::string Upid(const Event& e) {
  return e.detail.rfind("UPID:", 0) == 0 ? e.detail.substr(0, e.detail.find(' ')) : "";
}

// True when `survivor`, as the view shows it, carries `x`.
bool Carries(const Event& survivor, const Event& x) {
  std::vector<uint64_t> refs;
  ReferencedIds(survivor.detail, &refs);
  return std::find(refs.begin(), refs.end(), x.id) != refs.end() ||
         (!Upid(x).empty() && Upid(x) == Upid(survivor));
}

}  // namespace

Status ExportLoop::Decide(const std::vector<uint64_t>& due, const std::vector<uint64_t>& overdue,
                          Decision* d) {
  std::vector<const Event*> joinable;
  std::map<uint64_t, Event> send;  // by id
  std::unordered_set<uint64_t> due_set(due.begin(), due.end());
  // What the view scan must keep: the due events themselves, the events
  // that carry one of them (by id, or a task by its UPID). Everything else
  // the scan shows is dropped at once instead of being kept in a map (a
  // catch-up round's range holds every node's events of those hours: most
  // of them are decided in other rounds).
  std::unordered_set<uint64_t> want_ids;
  std::unordered_set<std::string> want_upids;
  std::set<uint64_t> decided(due.begin(), due.end());
  for (uint64_t id : due) {
    const Event& e = pending_.at(id).e;
    // Behind, its survivor already went out carrying it (decided ahead
    // from an earlier round's view): done, without a view of its own.
    if (auto c = carried_.find(id); c != carried_.end() && newest_us_ >= e.time_us + opt_.hold_us &&
                                    (c->second <= cursor_ || ahead_.Has(c->second)))
      continue;
    if (MayBeJoined(e)) {
      joinable.push_back(&e);
      want_ids.insert(id);
      if (std::string u = Upid(e); !u.empty()) want_upids.insert(std::move(u));
    } else {
      send.emplace(id, e);  // alerts and settings: rare, copied
    }
  }
  // The view over clusters of nearby times (not one range from the oldest
  // to the newest: a catch-up mixes old and new events). A cluster spans
  // gaps of up to an hour: each view scan decodes every stored block (4,096
  // events, all columns) whose time range meets its range, whatever the
  // range's width, so a few wide scans cost far less than many narrow ones
  // (a quiet night split a catch-up round into dozens of scans of the same
  // blocks: that was 90 % of the export's CPU).
  constexpr int64_t kClusterGapUs = 3600 * 1000000LL;
  std::sort(joinable.begin(), joinable.end(),
            [](const Event* a, const Event* b) { return a->time_us < b->time_us; });
  std::vector<std::pair<const Event*, uint64_t>> absorbed;  // event, its survivor (0: none)
  std::map<uint64_t, Event> survivors;  // those survivors, joined as the view shows them now
  std::vector<uint64_t> refs;
  for (size_t i = 0; i < joinable.size();) {
    size_t j = i + 1;
    while (j < joinable.size() && joinable[j]->time_us - joinable[j - 1]->time_us <=
                                      std::max(kViewMarginUs, kClusterGapUs))
      ++j;
    // Widened by the views' margin: the survivor of an absorbed event can
    // lie outside the range of the events decided now.
    Filter f;
    f.start_us = joinable[i]->time_us - kViewMarginUs;
    f.end_us = joinable[j - 1]->time_us + kViewMarginUs + 1;
    std::unordered_map<uint64_t, Event> shown;           // kept events of the range, by id
    std::unordered_map<uint64_t, uint64_t> survivor_of;  // absorbed (due) id -> survivor id
    std::unordered_map<std::string, uint64_t> task_by_upid;
    const int64_t lo = joinable[i]->time_us, hi = joinable[j - 1]->time_us;
    PVEAUDIT_RETURN_IF_ERROR(ForEachEvent(reader_, f, 0, kFieldAll, [&](Event&& e) {
      // An event not read yet, shown (not absorbed), whose join window
      // lies inside this scan and has closed by event time: the view has
      // decided it for good, so it goes now, ahead of the cursor, and is
      // skipped when read. In a catch-up this is most of the store (every
      // other file's events of these hours): each event is run through
      // the view about once instead of once per round whose range meets
      // it.
      const bool ahead = e.id > read_upto_ && e.time_us >= lo && e.time_us <= hi &&
                         newest_us_ >= e.time_us + opt_.hold_us && MayBeJoined(e) &&
                         !ahead_.Has(e.id) && !send.count(e.id);
      if (ahead) d->ahead.push_back(e.id);
      bool keep = want_ids.count(e.id) > 0;
      refs.clear();
      ReferencedIds(e.detail, &refs);
      for (uint64_t r : refs)
        if (want_ids.count(r)) {
          survivor_of[r] = e.id;
          keep = true;
        }
      if (!want_upids.empty())
        if (std::string u = Upid(e); !u.empty() && want_upids.count(u)) {
          task_by_upid[std::move(u)] = e.id;
          keep = true;
        }
      if (keep && ahead)
        send.emplace(e.id, e);
      else if (ahead)
        send.emplace(e.id, std::move(e));
      if (keep) shown.insert_or_assign(e.id, std::move(e));
      return true;
    }));
    for (size_t k = i; k < j; ++k) {
      const Event& x = *joinable[k];
      if (auto it = shown.find(x.id); it != shown.end()) {
        // It survives, with what it absorbed. Moved: another event of the
        // cluster absorbed by it finds it in `send` (it is due); only
        // survivors that are not due are looked up in `shown` below.
        send.insert_or_assign(x.id, std::move(it->second));
        continue;
      }
      uint64_t s = 0;
      if (auto it = survivor_of.find(x.id); it != survivor_of.end())
        s = it->second;
      else if (auto u = task_by_upid.find(Upid(x)); !Upid(x).empty() && u != task_by_upid.end())
        s = u->second;
      if (s && !due_set.count(s)) survivors.emplace(s, shown.at(s));
      absorbed.emplace_back(&x, s);
    }
    i = j;
  }
  // True when `survivor`, as sent now, carries `x`.
  auto carries = [&](uint64_t survivor, const Event& x) {
    auto it = send.find(survivor);
    return it != send.end() && Carries(it->second, x);
  };
  for (auto [x, s] : absorbed) {
    if (s && due_set.count(s)) {
      if (!carries(s, *x)) send.emplace(x->id, *x);
      continue;
    }
    // Its survivor went out already, carrying it (it was stored by then).
    if (auto c = carried_.find(x->id); s && c != carried_.end() && c->second == s) continue;
    auto j = s ? survivors.find(s) : survivors.end();
    // A survivor not decided yet (not due, or not read yet) will carry it.
    const bool undecided = s > cursor_ && !ahead_.Has(s);
    if (s && undecided) {
      // Not read yet, but stored (the view showed it) and its partners'
      // window closed by event time (the loop is behind: a catch-up, where
      // partners can lie many ids apart, e.g. files imported one after
      // another): it goes now, joined, ahead of the cursor, and is skipped
      // when read. Waiting for the read to reach it would hold the cursor
      // (and the read-ahead) for as long as that takes.
      if (s > read_upto_ && j != survivors.end() &&
          newest_us_ >= j->second.time_us + opt_.hold_us) {
        if (!Carries(j->second, *x)) send.emplace(x->id, *x);
        send.insert_or_assign(s, j->second);
        d->ahead.push_back(s);
        continue;
      }
      // Else it waits for that one, and keeps the cursor before it.
      decided.erase(x->id);
      d->waits.emplace_back(x->id, s);
      continue;
    }
    // Its survivor went out before it came (alone, or carrying another
    // partner): the survivor goes again, joined, under its own id, so the
    // destination has one event for the action (a repeat of the same
    // externalId, which a SIEM deduplicates) and not a second one.
    if (j != survivors.end() && Carries(j->second, *x)) {
      send.insert_or_assign(s, j->second);
      continue;
    }
    send.emplace(x->id, *x);  // the view no longer joins them: as it is
  }
  // Events that waited for a survivor decided now (and, in turn, for
  // those): dropped when it carries them, else sent as they are (the view
  // paired differently since).
  std::vector<uint64_t> work(decided.begin(), decided.end());
  work.insert(work.end(), d->ahead.begin(), d->ahead.end());
  while (!work.empty()) {
    uint64_t s = work.back();
    work.pop_back();
    auto [b, e] = waiters_.equal_range(s);
    for (auto it = b; it != e; ++it) {
      auto p = pending_.find(it->second);
      if (p == pending_.end() || decided.count(it->second)) continue;
      decided.insert(it->second);
      work.push_back(it->second);
      if (!carries(s, p->second.e)) send.emplace(it->second, p->second.e);
    }
  }
  // Waited too long (its survivor is not read yet, or never came due):
  // sent as it is rather than held without bound.
  for (uint64_t id : overdue) {
    if (decided.count(id)) continue;
    decided.insert(id);
    send.emplace(id, pending_.at(id).e);
  }
  d->decided.assign(decided.begin(), decided.end());
  // What each survivor sent now carries, for its partners still pending.
  for (auto& [id, e] : send) {
    refs.clear();
    ReferencedIds(e.detail, &refs);
    for (uint64_t r : refs)
      if (r > cursor_) d->carried.emplace_back(r, id);
  }
  d->send.reserve(send.size());
  for (auto& [id, e] : send)
    if (SelectedFor(opt_.selection, e)) d->send.push_back(std::move(e));
  return Status::OK();
}

Status ExportLoop::Step(bool* idle) {
  *idle = false;
  if (!initialized_) {
    Status s = Init();
    if (!s.ok()) {
      SetError(s);
      return s;
    }
  }
  const int64_t now = NowUs();
  if (read_upto_ < cursor_) read_upto_ = cursor_;
  size_t read = 0;
  const size_t want = round_;
  if (pending_.size() < opt_.max_pending) {
    Status s = reader_.ScanAfter(read_upto_, want, kFieldAll, [&](Event& e) {
      ++read;
      read_upto_ = e.id;
      // Decided before it was read (a survivor sent ahead, or before a
      // restart): nothing more to do for it.
      if (ahead_.Has(e.id)) return true;
      // Alerts and setting changes carry the time they were made, not a
      // log's: they say nothing about how far the logs were read.
      if (MayBeJoined(e)) max_time_read_ = std::max(max_time_read_, e.time_us);
      pending_.emplace_hint(pending_.end(), e.id, Pending{std::move(e), now, 0});
      return true;
    });
    if (!s.ok()) {
      SetError(s);
      return s;
    }
    // A full read: a backlog, read more at once next round.
    round_ = read == want ? std::min(want * 2, opt_.max_round) : opt_.batch;
    // Behind: the newest event stored (not only read) is what says whose
    // partners are all stored (event time, not how long the loop held it).
    newest_us_ = max_time_read_;
    if (read == want) {
      if (auto info = reader_.Info(); info.ok())
        newest_us_ = std::max(newest_us_, info->last_time_us);
    }
  }
  // Due: never joined, held long enough, or passed by the stream (an
  // event stored since is hold_us newer: a catch-up need not wait).
  std::vector<uint64_t> due, overdue;
  const int64_t wait_limit_us = 2 * opt_.hold_us + 5000000;
  for (auto& [id, p] : pending_) {
    if (p.waiting_on) {  // decided with its survivor
      if (now - p.seen_us >= wait_limit_us) overdue.push_back(id);
      continue;
    }
    if (!MayBeJoined(p.e) || now - p.seen_us >= opt_.hold_us ||
        newest_us_ >= p.e.time_us + opt_.hold_us)
      due.push_back(id);
    if (due.size() + overdue.size() >= want) break;
  }
  Decision d;
  Status s = Status::OK();
  if (due.empty() && overdue.empty()) {
    // Nothing to decide; the read may still have passed events decided
    // ahead (then the cursor moves, below).
    if ((pending_.empty() ? read_upto_ : pending_.begin()->first - 1) == cursor_) {
      *idle = true;
      PublishBacklog(now, read < want && pending_.empty());
      return Status::OK();
    }
  } else {
    s = Decide(due, overdue, &d);
  }
  // In Deliver calls of `batch` (a webhook POST, a syslog write); the
  // cursor moves only once all of them succeeded.
  for (size_t i = 0; s.ok() && i < d.send.size(); i += opt_.batch)
    s = sink_->Deliver(
        std::span<const Event>(d.send).subspan(i, std::min(opt_.batch, d.send.size() - i)));
  if (!s.ok()) {
    sink_->Reset();
    SetError(s);
    PublishBacklog(now, false);
    return s;
  }
  for (uint64_t id : d.decided) {
    pending_.erase(id);
    ahead_.Add(id);  // those at or below the new cursor are dropped below
  }
  for (uint64_t id : d.ahead) ahead_.Add(id);
  for (auto [x, survivor] : d.waits) {
    pending_.at(x).waiting_on = survivor;
    waiters_.emplace(survivor, x);
  }
  for (uint64_t id : d.decided) waiters_.erase(id);
  for (uint64_t id : d.ahead) waiters_.erase(id);
  for (auto [absorbed, survivor] : d.carried) carried_[absorbed] = survivor;
  // The cursor: just before the oldest event not yet decided (pending_
  // holds only those). A crash now resends only what was decided above it
  // (at least once).
  uint64_t cursor = pending_.empty() ? read_upto_ : pending_.begin()->first - 1;
  ahead_.DropThrough(cursor);
  // Events decided above the new cursor are written down first (only when
  // there are some, or were), so that a crash does not send them again:
  // repeats after a crash are only the batch between Deliver and here.
  if (!ahead_.empty() || ahead_written_) {
    std::string v = ahead_.Encode();
    if (v != ahead_value_) {
      s = store_.PutSetting(AheadKey(), v, "pveauditd");
      if (!s.ok()) {
        SetError(s);
        return s;
      }
      ahead_value_ = std::move(v);
    }
    ahead_written_ = !ahead_.empty();
  }
  if (cursor != cursor_) {
    s = store_.PutConsumer(opt_.consumer, cursor);
    if (!s.ok()) {
      SetError(s);
      return s;
    }
    cursor_ = cursor;
    carried_.erase(carried_.begin(), carried_.upper_bound(cursor));
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    state_.cursor = cursor_;
    state_.delivered += d.send.size();
    state_.last_error.clear();
  }
  PublishBacklog(now, read < want && pending_.empty());
  return Status::OK();
}

void ExportLoop::PublishBacklog(int64_t now, bool caught_up) {
  size_t held = 0;
  int64_t oldest = 0;  // when the oldest undecided event was first seen
  for (auto& [id, p] : pending_) {
    held += MayBeJoined(p.e) && now - p.seen_us < opt_.hold_us;
    if (!oldest || p.seen_us < oldest) oldest = p.seen_us;
  }
  // The backlog behind the cursor: Info reads the store, at most once a
  // second.
  std::optional<uint64_t> undelivered;
  if (caught_up) {
    undelivered = 0;
  } else if (now - last_info_us_ >= 1000000) {
    last_info_us_ = now;
    if (auto info = reader_.Info(); info.ok())
      undelivered = info->last_id > cursor_ ? info->last_id - cursor_ : 0;
  }
  std::lock_guard<std::mutex> l(mu_);
  state_.held = held;
  state_.lag_s = oldest ? (now - oldest) / 1000000 : 0;
  if (undelivered) state_.undelivered = *undelivered;
}

void ExportLoop::Nap(int64_t us, const std::atomic<bool>& stop) {
  auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
  while (!stop && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(20, us / 1000 + 1)));
}

void ExportLoop::Run(const std::atomic<bool>& stop) {
  sink_->SetCancel(&stop);
  while (!stop) {
    bool idle = false;
    Status s = Step(&idle);
    if (s.ok()) {
      backoff_us_ = 0;
      if (idle) Nap(opt_.idle_poll_us, stop);
      continue;
    }
    // Transient (kBusy, kIOError): exponential backoff with jitter, so many
    // nodes do not reconnect in step. Anything else (a refusal, a bad
    // certificate) will not heal by itself soon: retry at the cap.
    const bool transient = s.code() == Status::Code::kBusy || s.code() == Status::Code::kIOError;
    backoff_us_ = transient ? std::clamp(backoff_us_ * 2, opt_.min_backoff_us, opt_.max_backoff_us)
                            : opt_.max_backoff_us;
    int64_t wait = backoff_us_ / 2 + int64_t(rng_() % uint64_t(backoff_us_ / 2 + 1));
    wait = std::max(wait, std::min(sink_->RetryAfterUs(), opt_.max_backoff_us * 10));
    Nap(wait, stop);
  }
  sink_->SetCancel(nullptr);
}

ExportState ExportLoop::State() const {
  std::lock_guard<std::mutex> l(mu_);
  return state_;
}

}  // namespace pveaudit

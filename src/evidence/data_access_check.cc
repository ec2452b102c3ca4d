#include "evidence/data_access_check.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/actions.h"
#include "core/time_spec.h"

namespace pveaudit {
namespace {

constexpr int64_t kDayUs = int64_t(86400) * 1000000;
constexpr int kPeriodDays = 90;
constexpr int kGapDays = 3;  // empty days in a row that make a gap
constexpr size_t kListed = 10;

// Whole seconds, as a command line takes them.
std::string Time(int64_t us) { return FormatRfc3339Utc(us - us % 1000000); }

template <typename T>
std::string Listed(const T& items) {
  std::string s;
  size_t n = 0;
  for (const auto& i : items) {
    if (n == kListed) {
      s += ", ... (" + std::to_string(items.size() - kListed) + " more)";
      break;
    }
    s += (n++ ? ", " : "") + std::string(i);
  }
  return s;
}

// What the check reads: the scope's ACL paths, none below another, and
// the nodes its guests run on.
struct Scope {
  std::vector<std::string> roots;
  std::set<std::string> nodes;
  std::vector<std::string> described;
  bool every_node = false;  // the whole cluster: every node with events too
};

class Checker {
 public:
  Checker(const ComplianceInput& in, const std::string& scope_key, CheckOutcome* o)
      : in_(in), key_(scope_key), o_(o) {
    to_ = in.events_until_us ? in.events_until_us : in.now_us;
    from_ = to_ - kPeriodDays * kDayUs;
  }

  Status Run(const std::vector<std::string>& scope, bool whole_cluster) {
    o_->query = "pveam access status";
    if (scope.empty() && !whole_cluster) {
      Fail(key_, "no scope configured: " + key_ + " names no pool, guest or storage",
           "list what holds the data in the config, e.g. " + key_ +
               " = [\"pool:ehr\", \"/vms/120\"] (docs/config.md)");
      o_->result = CheckResult::kFail;
      return Status::OK();
    }
    Scope s = whole_cluster && scope.empty() ? WholeCluster() : Resolve(scope);
    for (const std::string& d : s.described) o_->evidence.push_back(d);
    if (!in_.store) {
      Fail("store", "no event store: no access can have been recorded",
           "install and start pveauditd (systemctl enable --now pveauditd)");
      o_->result = CheckResult::kFail;
      return Status::OK();
    }
    PVEAUDIT_RETURN_IF_ERROR(Read(s.roots));
    // Nodes by events: the nodes to check when no guest names one.
    std::map<std::string, const std::vector<bool>*> by_node;
    for (size_t k = 0; k < days_.size() && k < names_[0].size(); ++k)
      if (!days_[k].empty() && !names_[0][k].empty()) by_node[names_[0][k]] = &days_[k];
    if (s.nodes.empty() || s.every_node)
      for (const auto& entry : by_node) s.nodes.insert(entry.first);
    PVEAUDIT_RETURN_IF_ERROR(CheckSources(s.nodes));
    CheckGaps(s.nodes, by_node);
    ReportAccess(s.roots);
    if (!o_->subjects.empty())
      o_->result = CheckResult::kFail;
    else
      o_->result = warned_ ? CheckResult::kWarn : CheckResult::kPass;
    return Status::OK();
  }

 private:
  void Fail(std::string subject, std::string why, std::string fix) {
    if (std::find(o_->subjects.begin(), o_->subjects.end(), subject) == o_->subjects.end())
      o_->subjects.push_back(std::move(subject));
    o_->evidence.push_back(std::move(why));
    if (o_->fix.empty()) o_->fix = std::move(fix);
  }
  void Warn(std::string why, std::string fix) {
    warned_ = true;
    o_->evidence.push_back(std::move(why));
    if (o_->fix.empty()) o_->fix = std::move(fix);
  }

  Scope WholeCluster() {
    Scope s;
    s.every_node = true;
    s.roots = {"/pool", "/storage", "/vms"};
    size_t guests = 0, storages = 0;
    if (in_.pve) {
      for (const auto& [vmid, node] : in_.pve->inventory.guest_node) s.nodes.insert(node);
      guests = in_.pve->inventory.guests.size();
      storages = in_.pve->inventory.storages.size();
    }
    s.described.push_back("scope: every guest (" + std::to_string(guests) + ") and storage (" +
                          std::to_string(storages) + "); " + key_ + " narrows it");
    return s;
  }

  Scope Resolve(const std::vector<std::string>& scope) {
    Scope s;
    auto add = [&](const std::string& path) {
      if (std::find(s.roots.begin(), s.roots.end(), path) == s.roots.end()) s.roots.push_back(path);
    };
    const pve::Inventory* inv = in_.pve ? &in_.pve->inventory : nullptr;
    for (const std::string& path : scope) {
      if (path.rfind("/pool/", 0) == 0) {
        const std::string name = path.substr(6);
        add(path);
        if (!in_.pve) {
          Fail(path, "pool " + name + ": the Proxmox config (user.cfg) could not be read",
               "run on a cluster node, or point pve_dir at the config (--pve-dir)");
          continue;
        }
        auto it = in_.pve->access.pools.find(name);
        if (it == in_.pve->access.pools.end()) {
          Fail(path, "pool " + name + ", named in " + key_ + ", does not exist in user.cfg",
               "correct " + key_ + " to the pools that hold the data (pveum pool list)");
          continue;
        }
        std::vector<std::string> vms, stores;
        for (int id : it->second.vms) {
          add("/vms/" + std::to_string(id));
          vms.push_back(std::to_string(id));
        }
        for (const std::string& st : it->second.storages) {
          add("/storage/" + st);
          stores.push_back(st);
        }
        s.described.push_back("scope: pool " + name + ": guests " +
                              (vms.empty() ? "none" : Listed(vms)) + "; storages " +
                              (stores.empty() ? "none" : Listed(stores)));
      } else if (path.rfind("/vms/", 0) == 0) {
        add(path);
        const int id = std::stoi(path.substr(5));
        if (inv && !inv->guests.count(id))
          Fail(path,
               "guest " + path.substr(5) + ", named in " + key_ +
                   ", is not in the cluster's config (removed, or moved out of the cluster)",
               "correct " + key_ +
                   " to the guests that hold the data (pvesh get "
                   "/cluster/resources --type vm)");
        else
          s.described.push_back("scope: guest " + path.substr(5));
      } else {
        add(path);
        const std::string name = path.substr(9);  // "/storage/"
        if (inv && !inv->storages.count(name))
          Fail(path, "storage " + name + ", named in " + key_ + ", is not in storage.cfg",
               "correct " + key_ + " to the storages that hold the data (pvesm status)");
        else
          s.described.push_back("scope: storage " + name);
      }
    }
    if (inv)
      for (const std::string& r : s.roots)
        if (r.rfind("/vms/", 0) == 0) {
          auto it = inv->guest_node.find(std::stoi(r.substr(5)));
          if (it != inv->guest_node.end()) s.nodes.insert(it->second);
        }
    // None below another: each event is counted once.
    std::sort(s.roots.begin(), s.roots.end());
    std::vector<std::string> roots;
    for (const std::string& r : s.roots)
      if (roots.empty() || !ResourceCovers(roots.back(), r)) roots.push_back(r);
    s.roots = std::move(roots);
    return s;
  }

  // Every source followed: pveauditd's status on each node (PostgreSQL:
  // daemon.status.NODE), else this store's (SQLite: daemon.status).
  Status CheckSources(const std::set<std::string>& nodes) {
    std::vector<std::pair<std::string, std::string>> statuses;  // where, JSON
    for (const std::string& node : nodes) {
      auto s = in_.store->GetSetting("daemon.status." + node);
      if (!s.ok()) return s.status();
      if (*s) statuses.emplace_back("node " + node, **s);
    }
    if (statuses.empty()) {
      auto s = in_.store->GetSetting("daemon.status");
      if (!s.ok()) return s.status();
      if (*s) statuses.emplace_back("this store", **s);
    }
    const std::string start = "systemctl enable --now pveauditd; pveam access status";
    if (statuses.empty()) {
      Fail("pveauditd",
           "pveauditd has never reported to this store: no source is followed as it is "
           "written (imports alone leave gaps between them)",
           start);
      return Status::OK();
    }
    for (const auto& [where, text] : statuses) {
      const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
      const std::string updated = j.is_object() ? j.value("updated", "") : "";
      auto t = ParseTimeSpec(updated, in_.now_us);
      if (!t.ok() || t->us < to_ - 15 * 60 * int64_t(1000000)) {
        Fail("pveauditd",
             "pveauditd (" + where + ") last reported at " + (updated.empty() ? "?" : updated) +
                 ": what was written since is not followed",
             start);
        continue;
      }
      std::vector<std::string> healthy;
      bool access_log = false;
      if (j.contains("sources") && j["sources"].is_array())
        for (const nlohmann::json& src : j["sources"]) {
          if (!src.is_object()) continue;
          const std::string name = src.value("name", "?");
          access_log |= src.value("format", "") == "pveproxy";
          if (src.value("ok", false)) {
            healthy.push_back(name);
          } else {
            Fail("source " + name,
                 "pveauditd (" + where + "): source " + name + " (" + src.value("path", "") +
                     ") is failing: " + src.value("error", "no reason given"),
                 "fix the source (pveam access status names the error), then restart "
                 "pveauditd");
          }
        }
      if (!access_log)
        Fail("access log",
             "pveauditd (" + where +
                 ") does not follow the API access log, the only log that records reads",
             "enable [sources.access_log] (/var/log/pveproxy/access.log) in the config");
      o_->evidence.push_back("pveauditd (" + where + ") reported at " + updated + "; " +
                             std::to_string(healthy.size()) + " sources healthy" +
                             (healthy.empty() ? "" : ": " + Listed(healthy)));
    }
    return Status::OK();
  }

  // Days without an event from a node that hosts the scope, from its first
  // event of the period on (a node that joined later has no gap before).
  void CheckGaps(const std::set<std::string>& nodes,
                 const std::map<std::string, const std::vector<bool>*>& by_node) {
    std::vector<std::string> whole;
    for (const std::string& node : nodes) {
      auto it = by_node.find(node);
      if (it == by_node.end()) {
        Fail("node " + node,
             "node " + node + ": no event in the last " + std::to_string(kPeriodDays) + " days",
             "check pveauditd on that node (systemctl status pveauditd; pveam access status)");
        continue;
      }
      const std::vector<bool>& v = *it->second;
      int oldest = kPeriodDays - 1;
      while (oldest > 0 && !v[size_t(oldest)]) --oldest;
      std::vector<std::string> runs;
      int longest = 0;
      for (int i = 0; i <= oldest;) {  // i: days back from the end
        if (v[size_t(i)]) {
          ++i;
          continue;
        }
        int j = i;
        while (j <= oldest && !v[size_t(j)]) ++j;
        const int len = j - i;
        longest = std::max(longest, len);
        runs.push_back("from " + Time(to_ - int64_t(j) * kDayUs) + " to " +
                       Time(to_ - int64_t(i) * kDayUs) + " (" + std::to_string(len) +
                       (len == 1 ? " day)" : " days)"));
        i = j;
      }
      std::reverse(runs.begin(), runs.end());  // oldest first
      if (runs.empty()) {
        // Since the start of its first day with events in the period.
        whole.push_back(node + " (since " + Time(to_ - int64_t(oldest + 1) * kDayUs) + ")");
        continue;
      }
      const std::string line = "node " + node + ": no event " + Listed(runs);
      const std::string fix =
          "find out why nothing was recorded (pveauditd's journal: journalctl -u pveauditd) "
          "and import the missing logs (pveam access import); if the node was idle, document "
          "it: pveam compliance exception add --requirement " +
          o_->requirement + " --subject \"node " + node + "\"";
      if (longest >= kGapDays)
        Fail("node " + node, line, fix);
      else
        Warn(line + " (fewer than " + std::to_string(kGapDays) + " days in a row: maybe quiet)",
             fix);
    }
    if (!whole.empty()) o_->evidence.push_back("events on every day from " + Listed(whole));
  }

  // One pass over the period's events as dictionary keys (node, resource,
  // action, user): the days each node has events, and the access to the
  // scope: reads and console sessions (data access) by user, and changes
  // (the modify class: a QEMU monitor or guest agent command is both a
  // console session and a change). One scan per path of a scope took 18 s
  // for a pool of 111 guests at 10 M events in the period; one ScanKeys per
  // field and class, 6.5 s.
  Status Read(const std::vector<std::string>& roots) {
    Filter f;
    f.start_us = from_;
    f.end_us = to_;
    return in_.store->ScanKeyTuples(f, {kFieldNode, kFieldResource, kFieldAction, kFieldUser},
                                    &names_, [&](int64_t t, const uint32_t* k) {
                                      Visit(t, k[0], k[1], k[2], k[3], roots);
                                      return true;
                                    });
  }

  void Visit(int64_t t, uint32_t node, uint32_t resource, uint32_t action, uint32_t user,
             const std::vector<std::string>& roots) {
    if (node >= days_.size()) days_.resize(node + 1);
    std::vector<bool>& days = days_[node];
    if (days.empty()) days.resize(kPeriodDays, false);
    const int64_t i = (to_ - 1 - t) / kDayUs;
    if (i >= 0 && i < kPeriodDays) days[size_t(i)] = true;
    if (resource >= scoped_.size()) scoped_.resize(resource + 1, 0);
    if (!scoped_[resource]) {
      const std::string& r = names_[1][resource];
      scoped_[resource] = 2;
      for (const std::string& root : roots)
        if (!r.empty() && ResourceCovers(root, r)) scoped_[resource] = 1;
    }
    if (scoped_[resource] != 1) return;
    if (action >= classes_.size()) classes_.resize(action + 1, -1);
    if (classes_[action] < 0) classes_[action] = ActionClasses(names_[2][action]);
    const uint32_t c = uint32_t(classes_[action]);
    if (c & (kClassRead | kClassConsole)) {
      ++(c & kClassConsole ? consoles_ : reads_);
      if (user >= per_user_.size()) per_user_.resize(user + 1, 0);
      ++per_user_[user];
      last_read_ = std::max(last_read_, t);
    }
    if (c & kClassModify) ++changes_;
  }

  void ReportAccess(const std::vector<std::string>& roots) {
    std::map<std::string, uint64_t> by_user;
    for (size_t k = 0; k < per_user_.size(); ++k)
      if (per_user_[k])
        by_user[k < names_[3].size() && !names_[3][k].empty() ? names_[3][k] : "(no user)"] +=
            per_user_[k];
    const uint64_t reads = reads_, consoles = consoles_, changes = changes_;
    const int64_t last_read = last_read_;
    std::vector<std::pair<uint64_t, std::string>> top;
    for (const auto& [user, n] : by_user) top.emplace_back(n, user);
    std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::vector<std::string> who;
    for (const auto& [n, user] : top) who.push_back(user + " " + std::to_string(n));
    // A pool's own path does not cover its members: show a guest's.
    std::string first = roots.empty() ? std::string("/") : roots.front();
    for (const std::string& r : roots)
      if (ResourceCovers("/vms", r)) {
        first = r;
        break;
      }
    o_->query = "pveam access log --resource " + first + " --action read --start " + Time(from_) +
                (roots.size() > 1 ? " (and each other path of the scope)" : "") +
                "; pveam access status";
    if (reads + consoles == 0) {
      Warn("no read or console session of the scope recorded in the last " +
               std::to_string(kPeriodDays) + " days (" + std::to_string(changes) +
               " changes): if it was used, the API access log of its nodes does not reach "
               "the store",
           "check that pveauditd follows /var/log/pveproxy/access.log on each node "
           "([sources.access_log]; pveam access status)");
      return;
    }
    o_->evidence.push_back(
        "in the last " + std::to_string(kPeriodDays) + " days: " + std::to_string(reads) +
        " reads and " + std::to_string(consoles) + " console sessions by " +
        std::to_string(by_user.size()) + " users (" + Listed(who) + "), " +
        std::to_string(changes) + " changes; last access " + FormatRfc3339Utc(last_read));
  }

  const ComplianceInput& in_;
  const std::string key_;
  CheckOutcome* o_;
  int64_t to_ = 0, from_ = 0;
  bool warned_ = false;
  // What Read found: names of node, resource, action and user keys; days
  // with events per node key; the scope's accesses.
  std::vector<std::vector<std::string>> names_;
  std::vector<std::vector<bool>> days_;
  std::vector<int8_t> scoped_;    // per resource key: 0 not yet known, 1 in, 2 out
  std::vector<int64_t> classes_;  // per action key: its classes, -1 not yet known
  std::vector<uint64_t> per_user_;
  uint64_t reads_ = 0, consoles_ = 0, changes_ = 0;
  int64_t last_read_ = 0;
};

}  // namespace

Status CheckDataAccess(const ComplianceInput& in, const std::vector<std::string>& scope,
                       bool whole_cluster, const std::string& scope_key, CheckOutcome* o) {
  return Checker(in, scope_key, o).Run(scope, whole_cluster);
}

}  // namespace pveaudit

// Tests of the shared validate-and-apply (settings_ops.h) on a real SQLite
// store: a bad value is kInvalidArgument naming it and changes nothing; a
// change is one audit event naming the actor given (the web principal
// here), with the secret masked.
#include "admin/settings_ops.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "export/webhook_sink.h"
#include "query/store_fixture.h"

namespace pveaudit {
namespace {

// Rule options of `type` with some fields set (by member), as typed.
using Field = std::string AlertRuleOptions::*;
AlertRuleOptions Rule(const std::string& type,
                      std::vector<std::pair<Field, std::string>> set = {}) {
  AlertRuleOptions o;
  o.type = type;
  for (auto& [field, value] : set) o.*field = value;
  return o;
}

class SettingsOpsTest : public StoreFixture {
 protected:
  Actor Web() const { return Actor{"alice@pve", "192.0.2.7", "via pveaudit-web from 192.0.2.7"}; }
  std::vector<Event> All() {
    std::vector<Event> v;
    EXPECT_TRUE(store_
                    ->Scan(Filter{}, kFieldAll,
                           [&](Event& e) {
                             v.push_back(e);
                             return true;
                           })
                    .ok());
    return v;
  }
};

TEST_F(SettingsOpsTest, BadRuleValuesNameTheValueAndChangeNothing) {
  struct Case {
    AlertRuleOptions o;
    std::string want;
  };
  std::vector<Case> cases = {
      {Rule(""), "--type is required"},
      {Rule("failed-login", {{&AlertRuleOptions::threshold, "0"}}), "'0' for --threshold"},
      {Rule("failed-login", {{&AlertRuleOptions::window, "soon"}}), "'soon' for --window"},
      {Rule("failed-login", {{&AlertRuleOptions::group_by, "action"}}), "'action' for --group-by"},
      {Rule("failed-login", {{&AlertRuleOptions::notify, "email"}}), "'email' for --notify"},
      {Rule("failed-login", {{&AlertRuleOptions::ip, "300.1.1.1"}}), "'300.1.1.1' for --ip"},
      {Rule("action-rate"), "needs --action"},
      {Rule("off-hours", {{&AlertRuleOptions::start, "18:00"}}),
       "needs --start HH:MM and --end HH:MM"},
  };
  for (const Case& c : cases) {
    auto r = AddAlertRule(*store_, Web(), "pve1", c.o);
    ASSERT_FALSE(r.ok()) << c.want;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().message();
  }
  for (const char* id : {"x", "", "7"}) {
    auto r = ChangeAlertRule(*store_, Web(), "pve1", "disable", id);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  }
  EXPECT_TRUE(All().empty());
  auto s = store_->GetSetting(std::string(kAlertRulesKey));
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->has_value());
}

TEST_F(SettingsOpsTest, ARuleChangeIsOneEventNamingTheActor) {
  auto added = AddAlertRule(*store_, Web(), "pve1",
                            Rule("failed-login", {{&AlertRuleOptions::threshold, "5"}}));
  ASSERT_TRUE(added.ok()) << added.status().message();
  EXPECT_EQ(added->rule.threshold, 5u);
  EXPECT_EQ(added->rule.created_by, "alice@pve");
  auto again = ChangeAlertRule(*store_, Web(), "pve1", "enable", std::to_string(added->rule.id));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed) << "already enabled: nothing recorded";
  std::vector<Event> events = All();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, added->event_id);
  EXPECT_EQ(events[0].user, "alice@pve");
  EXPECT_EQ(events[0].ip, "192.0.2.7");
  EXPECT_EQ(events[0].action, "pveaudit:alert-add");
  EXPECT_EQ(events[0].node, "pve1");
  EXPECT_NE(events[0].detail.find("(via pveaudit-web from 192.0.2.7); before: (unset)"),
            std::string::npos)
      << events[0].detail;
}

TEST_F(SettingsOpsTest, WebhookSecretAndUrlPathNeverReachTheEvent) {
  WebhookEnableOptions o;
  o.name = "chat";
  o.url = "https://hooks.example.com/services/T0KEN";
  o.secret = "s3cret";
  auto c = EnableWebhook(*store_, Web(), "pve1", o);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->destination["secret"], "(set)");
  std::vector<Event> events = All();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].detail.find("s3cret"), std::string::npos) << events[0].detail;
  EXPECT_EQ(events[0].detail.find("T0KEN"), std::string::npos) << events[0].detail;
  // The secret itself is stored for the sender, under its own key.
  auto s = store_->GetSetting(std::string(kWebhookSecretKeyPrefix) + "chat");
  ASSERT_TRUE(s.ok() && s->has_value());
  EXPECT_EQ(**s, "s3cret");
  auto bad = DisableWebhook(*store_, Web(), "pve1", "chta");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'chta'"), std::string::npos);
  EXPECT_EQ(All().size(), 1u);
}

// An alert acknowledged: one pveaudit:alert-ack event naming the actor, the
// alert and the comment, read back by LoadAlertAcks; a bad id or comment
// and a second ack store nothing.
TEST_F(SettingsOpsTest, AnAlertIsAcknowledgedOnceByAnEventOfItsOwn) {
  Event alert;
  alert.time_us = 1736339000000000;
  alert.node = "pve1";
  alert.ip = "203.0.113.9";
  alert.action = "alert:failed-login";
  alert.resource = "/pveaudit/alerts/3";
  alert.source = "pveaudit-alert";
  alert.detail = "rule 3 failed-login: 3 failed logins; events 1,2,3";
  Event other = alert;
  other.action = "vm:start";
  other.source = "pveproxy";
  other.resource = "/vms/100";
  std::vector<Event> events{alert, other};
  ASSERT_TRUE(store_->Append(&events, {}, nullptr).ok());
  const std::string id = std::to_string(events[0].id), vm = std::to_string(events[1].id);
  for (const auto& [bad_id, comment, want] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {vm, "", "'" + vm + "'"},
           {"0", "", "'0'"},
           {"x1", "", "'x1'"},
           {"999", "", "'999'"},
           {id, "two\nlines", "--comment"},
           {id, std::string(kMaxAckComment + 1, 'a'), "--comment"}}) {
    auto r = AckAlert(*store_, Web(), "pve1", bad_id, comment);
    ASSERT_FALSE(r.ok()) << bad_id;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(want), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(All().size(), 2u);

  auto r = AckAlert(*store_, Web(), "pve1", id, "seen; comment: twice");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->acknowledged);
  EXPECT_EQ(r->ack.alert_id, events[0].id);
  EXPECT_EQ(r->ack.by, "alice@pve");
  EXPECT_EQ(r->ack.comment, "seen; comment: twice");
  std::vector<Event> all = All();
  ASSERT_EQ(all.size(), 3u);
  const Event& e = all.back();
  EXPECT_EQ(e.id, r->ack.event_id);
  EXPECT_EQ(e.action, kAlertAckAction);
  EXPECT_EQ(e.resource, "/pveaudit/alerts/3");
  EXPECT_EQ(e.ip, "192.0.2.7");
  EXPECT_EQ(e.detail.rfind("alert " + id + " acknowledged (alert:failed-login, rule 3, ", 0), 0u)
      << e.detail;
  EXPECT_NE(e.detail.find("(via pveaudit-web from 192.0.2.7); comment: seen; comment: twice"),
            std::string::npos)
      << e.detail;

  auto again = AckAlert(*store_, Actor{"bob@pve", "", ""}, "pve1", id, "");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->acknowledged);
  EXPECT_EQ(again->ack.by, "alice@pve");
  EXPECT_EQ(again->ack.event_id, r->ack.event_id);
  EXPECT_EQ(All().size(), 3u);
  auto acks = LoadAlertAcks(*store_);
  ASSERT_TRUE(acks.ok());
  ASSERT_EQ(acks->size(), 1u);
  EXPECT_EQ(acks->at(events[0].id).comment, "seen; comment: twice");
  nlohmann::json j = AlertAckJson(&acks->at(events[0].id));
  EXPECT_EQ(j["by"], "alice@pve");
  EXPECT_EQ(j["event"], r->ack.event_id);
  EXPECT_TRUE(AlertAckJson(nullptr).is_null());
}

// Check and append happen under the lock file: while another process holds
// it (here the test), an acknowledgement waits, and then finds the one
// stored meanwhile instead of storing a second.
TEST_F(SettingsOpsTest, AckChecksAndAppendsUnderTheLockFile) {
  Event alert;
  alert.time_us = 1736339000000000;
  alert.action = "alert:failed-login";
  alert.resource = "/pveaudit/alerts/1";
  alert.source = "pveaudit-alert";
  std::vector<Event> events{alert};
  ASSERT_TRUE(store_->Append(&events, {}, nullptr).ok());
  const std::string id = std::to_string(events[0].id);
  const std::string lock = AlertAckLockFile(dir_.string());
  int fd = open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(flock(fd, LOCK_EX), 0);
  std::atomic<bool> done{false};
  Result<AlertAckResult> waited = Status::Internal("not run");
  std::thread other([&] {
    auto s = OpenSqliteStore(dir_.string(), StoreOptions{});  // its own, as another process
    if (s.ok()) waited = AckAlert(**s, Web(), "pve1", id, "", lock);
    done = true;
  });
  // It must not get past the lock while the test holds it (a second is
  // plenty for one that does not wait to finish).
  for (int i = 0; i < 100 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(done) << "AckAlert did not wait for the lock";
  auto first = AckAlert(*store_, Actor{"bob@pve", "", ""}, "pve1", id, "mine");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->acknowledged);
  close(fd);
  other.join();
  ASSERT_TRUE(waited.ok()) << waited.status().message();
  EXPECT_FALSE(waited->acknowledged);
  EXPECT_EQ(waited->ack.by, "bob@pve");
  EXPECT_EQ(All().size(), 2u);
}

}  // namespace
}  // namespace pveaudit

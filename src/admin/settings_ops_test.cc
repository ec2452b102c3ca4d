// Tests of the shared validate-and-apply (settings_ops.h) on a real SQLite
// store: a bad value is kInvalidArgument naming it and changes nothing; a
// change is one audit event naming the actor given (the web principal
// here), with the secret masked.
#include "admin/settings_ops.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace pveaudit

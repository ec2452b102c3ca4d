// web_test_server: pveaudit-web (WebMain, the same program) with a
// test-only Authenticator standing in for the real one (src/server/auth*,
// Proxmox tickets and API tokens), which the product binary uses instead.
// It accepts `Authorization: Bearer <value>` for the values listed in the
// JSON file named by $PVEAUDIT_TEST_AUTH:
//   {"<bearer>": {"userid": "alice@pve", "all": false,
//                 "users": ["alice@pve"], "resources": ["/vms/100"],
//                 "privileges": ["Sys.Audit:/"], "csrf": "..."}}
// A principal sees every event with "all", else the events of the listed
// users and those on (below) the listed resources. Never installed.
#include <sys/prctl.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/filter.h"
#include "server/http_main.h"

namespace {

class TestAuthenticator : public pveaudit::Authenticator {
 public:
  explicit TestAuthenticator(nlohmann::json table) : table_(std::move(table)) {}
  pveaudit::Result<pveaudit::Principal> Authenticate(const pveaudit::Credentials& c) override {
    const std::string prefix = "Bearer ";
    if (c.authorization.rfind(prefix, 0) != 0)
      return pveaudit::Status::NotFound("no bearer credentials");
    const std::string value = c.authorization.substr(prefix.size());
    if (!table_.contains(value)) return pveaudit::Status::NotFound("unknown bearer value");
    pveaudit::Principal p;
    p.userid = table_[value].value("userid", "");
    p.via = pveaudit::Principal::Via::kToken;
    return p;
  }
  std::string CsrfToken(const pveaudit::Principal&) override { return "csrf"; }
  bool CheckCsrf(const pveaudit::Principal&, const std::string& t) override { return t == "csrf"; }
  bool HasPrivilege(const pveaudit::Principal& p, const std::string& path,
                    const std::string& privilege) override {
    for (const auto& [k, v] : table_.items())
      if (v.value("userid", "") == p.userid)
        for (const auto& priv : v.value("privileges", nlohmann::json::array()))
          if (priv.get<std::string>() == privilege + ":" + path) return true;
    return false;
  }
  pveaudit::Visibility VisibilityOf(const pveaudit::Principal& p) override {
    pveaudit::Visibility v;
    for (const auto& [k, e] : table_.items()) {
      if (e.value("userid", "") != p.userid) continue;
      v.all = e.value("all", false);
      auto users = e.value("users", std::vector<std::string>());
      auto resources = e.value("resources", std::vector<std::string>());
      v.sees = [users, resources](const pveaudit::Event& ev) {
        for (const auto& u : users)
          if (ev.user == u) return true;
        for (const auto& r : resources)
          if (!ev.resource.empty() && pveaudit::ResourceCovers(r, ev.resource)) return true;
        return false;
      };
    }
    return v;
  }

 private:
  nlohmann::json table_;
};

}  // namespace

int main(int argc, char** argv) {
  // A test killed by its timeout must not leave its server running: the
  // server gets SIGTERM (a clean stop) when the test process goes away.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  pveaudit::WebHooks hooks;
  hooks.make_authenticator = [](const pveaudit::Config&, const pveaudit::WebOptions&)
      -> pveaudit::Result<std::unique_ptr<pveaudit::Authenticator>> {
    const char* path = std::getenv("PVEAUDIT_TEST_AUTH");
    if (!path) return pveaudit::Status::InvalidArgument("PVEAUDIT_TEST_AUTH is not set");
    std::ifstream in(path);
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_object()) return pveaudit::Status::InvalidArgument("PVEAUDIT_TEST_AUTH: not JSON");
    return std::unique_ptr<pveaudit::Authenticator>(new TestAuthenticator(j));
  };
  return pveaudit::WebMain(argc, argv, hooks);
}

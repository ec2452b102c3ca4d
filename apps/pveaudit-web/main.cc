// pveaudit-web: the HTTPS API and web UI (src/server/http_main.h).
#include "server/http_main.h"

int main(int argc, char** argv) {
  pveaudit::WebHooks hooks;
  // The Proxmox ticket / API token / local account authentication
  // (src/server/auth*) is wired in here; until it is, every API request is
  // refused (401) rather than served unauthenticated.
  hooks.make_authenticator = [](const pveaudit::Config&, const pveaudit::WebOptions&)
      -> pveaudit::Result<std::unique_ptr<pveaudit::Authenticator>> {
    struct RefuseAll : pveaudit::Authenticator {
      pveaudit::Result<pveaudit::Principal> Authenticate(const pveaudit::Credentials&) override {
        return pveaudit::Status::NotFound("no authentication method is built in yet");
      }
      std::string CsrfToken(const pveaudit::Principal&) override { return ""; }
      bool CheckCsrf(const pveaudit::Principal&, const std::string&) override { return false; }
      bool HasPrivilege(const pveaudit::Principal&, const std::string&,
                        const std::string&) override {
        return false;
      }
      pveaudit::Visibility VisibilityOf(const pveaudit::Principal&) override { return {}; }
    };
    return std::unique_ptr<pveaudit::Authenticator>(new RefuseAll);
  };
  return pveaudit::WebMain(argc, argv, hooks);
}

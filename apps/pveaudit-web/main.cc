// pveaudit-web: the HTTPS API and web UI (src/server/http_main.h), with
// Proxmox tickets, API tokens and pveaudit's own accounts
// (src/server/auth_authenticator.h).
#include <iostream>
#include <mutex>

#include "server/auth_authenticator.h"
#include "server/http_main.h"
#include "store/event_store.h"

int main(int argc, char** argv) {
  using namespace pveaudit;
  WebHooks hooks;
  // Local accounts are read from the store's settings, on a read-only
  // connection of their own (one EventStore per thread at a time: a lock).
  struct Settings {
    std::mutex mu;
    std::unique_ptr<EventStore> store;
  };
  auto settings = std::make_shared<Settings>();
  hooks.make_authenticator =
      [settings](const Config&, const WebOptions& o) -> Result<std::unique_ptr<Authenticator>> {
    auth::PveAuthenticator::Options ao;
    ao.pve_dir = o.pve_dir;
    ao.data_dir = o.data_dir;
    // Opened at the first login, not at start: the server reports a bad
    // address or certificate before a missing store.
    ao.settings = [settings,
                   dir = o.data_dir](const std::string& key) -> Result<std::optional<std::string>> {
      std::lock_guard<std::mutex> l(settings->mu);
      if (!settings->store) {
        StoreOptions so;
        so.read_only = true;
        auto st = OpenSqliteStore(dir, so);
        if (!st.ok()) return st.status();
        settings->store = std::move(st.value());
      }
      return settings->store->GetSetting(key);
    };
    auto a = auth::PveAuthenticator::Create(std::move(ao));
    if (!a.ok()) return a.status();
    return std::unique_ptr<Authenticator>(std::move(a.value()));
  };
  hooks.login = [](Authenticator* a, const std::string& user, const std::string& password,
                   const std::string& ip) -> Result<WebLogin> {
    auto l = static_cast<auth::PveAuthenticator*>(a)->LoginLocal(user, password, ip);
    if (!l.ok()) return l.status();
    return WebLogin{l->principal, l->ticket, l->csrf};
  };
  return WebMain(argc, argv, hooks);
}

// pveaudit-web: the HTTPS API and web UI (src/server/http_main.h), with
// Proxmox tickets, API tokens and pveaudit's own accounts
// (src/server/auth_authenticator.h), and pveauditd's control socket
// (src/admin/control_client.h) as the only way it changes anything.
#include <iostream>
#include <mutex>

#include "admin/control_client.h"
#include "server/auth_authenticator.h"
#include "server/http_main.h"
#include "store/event_store.h"

namespace pveaudit {
namespace {

constexpr std::string_view kApi = "/api2/json/audit";

// The audit event of one API request (docs/api.md): reads, exports,
// changes and local logins, by whom and from where.
nlohmann::json AuditRequest(const ApiUse& u, const std::string& user) {
  const bool login = u.path == std::string(kApi) + "/login";
  const std::string action = login               ? "pveaudit:web-login"
                             : u.method != "GET" ? "pveaudit:api-change"
                             : u.query.find("output-format=") != std::string::npos
                                 ? "pveaudit:api-export"
                                 : "pveaudit:api-read";
  std::string detail = u.method + " " + u.path + (u.query.empty() ? "" : "?" + u.query);
  if (detail.size() > 4000) detail.resize(4000);
  std::string resource = "/pveaudit";
  if (u.path.size() > kApi.size()) resource += u.path.substr(kApi.size());
  return {{"request", "audit"},
          {"actor", {{"user", user}, {"ip", u.remote_ip}}},
          {"params",
           {{"action", action},
            {"resource", resource.substr(0, 512)},
            {"detail", detail},
            {"result", u.status < 400 ? "success" : "failure"},
            {"status", std::to_string(u.status)}}}};
}

}  // namespace
}  // namespace pveaudit

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
  auto control = std::make_shared<std::unique_ptr<ControlClient>>();
  hooks.make_authenticator = [settings, control](
                                 const Config& cfg,
                                 const WebOptions& o) -> Result<std::unique_ptr<Authenticator>> {
    *control = std::make_unique<ControlClient>(
        cfg.control_socket.empty() ? o.data_dir + "/control.sock" : cfg.control_socket);
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
  hooks.control = [control](const nlohmann::json& request) -> Result<nlohmann::json> {
    nlohmann::json reply;
    if (Status st = (*control)->Call(request, &reply); !st.ok()) return st;
    return reply;
  };
  hooks.audit = [control](const ApiUse& u) -> Status {
    std::string user = !u.actor.empty() ? u.actor : u.login_user;
    if (user.empty()) {  // no valid credentials: nobody to name; logged only
      std::cerr << "api: - " << u.remote_ip << " " << u.method << " " << LogSafe(u.path) << " "
                << u.status << "\n";
      return Status::OK();
    }
    const bool login = !u.login_user.empty() && u.actor.empty();
    if (login && user.find('@') == std::string::npos) user += "@pveaudit";
    nlohmann::json reply;
    PVEAUDIT_RETURN_IF_ERROR((*control)->Call(AuditRequest(u, user), &reply));
    if (reply.value("ok", false)) return Status::OK();
    // A failed login under a name that is no user id at all: logged here,
    // and answered (its 401) as any other.
    if (login && reply.value("code", "") == "invalid") {
      std::cerr << "api: login attempt as " << LogSafe(user) << " from " << u.remote_ip << ": "
                << LogSafe(reply.value("error", "")) << "\n";
      return Status::OK();
    }
    return Status::IOError(reply.value("error", std::string("refused")));
  };
  return WebMain(argc, argv, hooks);
}

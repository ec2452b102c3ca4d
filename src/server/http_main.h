// http_main.h
// The program pveaudit-web: command line, configuration, certificate, then
// HttpServer until SIGTERM/SIGINT. The Authenticator and the hook that
// records API use are passed in, so the same program runs with the real
// authentication (src/server/auth*) and, in tests, with a stand-in.
#pragma once

#include <functional>
#include <memory>

#include "config/config.h"
#include "core/status.h"
#include "server/http_server.h"
#include "server/principal.h"

namespace pveaudit {

struct WebHooks {
  // The Authenticator for this configuration (error: the program exits 1).
  std::function<Result<std::unique_ptr<Authenticator>>(const Config&, const WebOptions&)>
      make_authenticator;
  // Records one API request (see ApiUse); empty: written to stderr.
  std::function<Status(const ApiUse&)> audit;
  // Requests to pveauditd's control socket (changes); empty: none.
  std::function<Result<nlohmann::json>(const nlohmann::json&)> control;
  // A local account's login with the authenticator made above; empty: none.
  std::function<Result<WebLogin>(Authenticator*, const std::string& user,
                                 const std::string& password, const std::string& ip)>
      login;
};

// Exit status: 0 after SIGTERM/SIGINT, 1 when the server cannot start
// (address in use, certificate), 2 for bad arguments or configuration.
int WebMain(int argc, char** argv, const WebHooks& hooks);

}  // namespace pveaudit

// pveaudit-web's command line (http_main.h).
#include "server/http_main.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/help_formatter.h"
#include "core/time_spec.h"

namespace pveaudit {
namespace {

// The UI's files: [web] www, else the installed ones, else the build
// tree's (next to the binary), else none (the API alone).
std::string ResolveWww(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  std::vector<std::string> candidates = {"/usr/share/pveaudit/www"};
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back((exe.parent_path() / "www").string());
    candidates.push_back((exe.parent_path().parent_path() / "www").string());
  }
  for (const auto& c : candidates)
    if (std::filesystem::is_directory(c, ec)) return c;
  return "";
}

}  // namespace

int WebMain(int argc, char** argv, const WebHooks& hooks) {
  CLI::App app{
      "pveaudit-web: the HTTPS API (/api2/json/audit/) and web UI of pveaudit.\n"
      "Serves TLS 1.2+ only, reads the event store read-only and hands every\n"
      "change and the record of each API request to pveauditd. pveauditd starts\n"
      "it when [web] listen is set; it can also be started by hand.",
      "pveaudit-web"};
  UseHelpFormatter(&app);
  std::string config_path, data_dir, listen, pve_dir, www;
  app.add_option("--config", config_path,
                 "Config file (default: $PVEAUDIT_CONFIG, /etc/pveaudit/pveaudit.toml)")
      ->type_name("FILE");
  app.add_option("--data-dir", data_dir,
                 "Store directory, opened read-only (default: $PVEAUDIT_DATA_DIR, the "
                 "config's data_dir, /var/lib/pveaudit)")
      ->type_name("DIR");
  app.add_option("--listen", listen,
                 "Address and port, e.g. 127.0.0.1:8016, [::1]:8016, *:8016 (default: the "
                 "config's [web] listen); port 0 picks a free port")
      ->type_name("ADDR:PORT");
  app.add_option("--pve-dir", pve_dir,
                 "Proxmox config directory: certificates, user.cfg (default: the config's "
                 "pve_dir, /etc/pve)")
      ->type_name("DIR");
  app.add_option("--www", www, "Directory of the UI's static files (default: [web] www)")
      ->type_name("DIR");
  app.set_version_flag("--version", kPveauditVersion);
  app.footer(R"(
Certificate: [web] cert and key when set, else the node's Proxmox
certificate (PVE_DIR/local/pveproxy-ssl.pem and .key, else pve-ssl.pem and
.key), else a self-signed one generated at first start in the data
directory (web-cert.pem, web-key.pem, mode 0600).

Port 8016 is the default of [web] listen: no Proxmox VE service uses it.
Once listening, the program prints "listening on https://ADDR:PORT".

Examples:
  pveaudit-web --listen 127.0.0.1:8016
  pveaudit-web --config /etc/pveaudit/pveaudit.toml --data-dir /var/lib/pveaudit

Exit status: 0 after SIGTERM or SIGINT, 1 when the server cannot start,
2 for a bad argument or configuration.)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto cfg = LoadConfig(config_path);
  if (!cfg.ok()) {
    std::cerr << "pveaudit-web: " << cfg.status().message() << "\n";
    return 2;
  }
  SetClusterTimeZone(cfg->timezone);
  WebOptions o;
  o.listen = !listen.empty() ? listen : cfg->web_listen;
  if (o.listen.empty()) {
    std::cerr << "pveaudit-web: no address to listen on: set [web] listen in the config (e.g. "
                 "\"127.0.0.1:8016\") or give --listen\n";
    return 2;
  }
  if (!data_dir.empty())
    o.data_dir = data_dir;
  else if (const char* d = std::getenv("PVEAUDIT_DATA_DIR"); d && *d)
    o.data_dir = d;
  else
    o.data_dir = cfg->data_dir;
  o.store = cfg->StoreAt(o.data_dir);
  o.pve_dir = !pve_dir.empty() ? pve_dir : cfg->pve_dir;
  o.cert = cfg->web_cert;
  o.key = cfg->web_key;
  o.www = ResolveWww(!www.empty() ? www : cfg->web_www);
  o.session_lifetime_s = cfg->session_lifetime_s;
  o.control = hooks.control;
  o.audit = hooks.audit ? hooks.audit : [](const ApiUse& u) {
    // Without a control socket (the tests' stand-in server): one line per
    // request on stderr, without credentials (the query holds only filters).
    std::cerr << "api: " << (u.actor.empty() ? "-" : u.actor) << " " << u.remote_ip << " "
              << u.method << " " << LogSafe(u.path + (u.query.empty() ? "" : "?" + u.query)) << " "
              << u.status << "\n";
    return Status::OK();
  };
  if (Status st = CheckListen(o.listen); !st.ok()) {
    std::cerr << "pveaudit-web: " << st.message() << "\n";
    return 2;
  }
  auto auth = hooks.make_authenticator(*cfg, o);
  if (!auth.ok()) {
    std::cerr << "pveaudit-web: " << auth.status().message() << "\n";
    return 1;
  }
  if (hooks.login) {
    Authenticator* a = auth->get();
    o.login = [a, login = hooks.login](const std::string& user, const std::string& password,
                                       const std::string& ip) {
      return login(a, user, password, ip);
    };
  }
  // Signals are taken by sigwait below; the server's threads inherit the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  HttpServer server(o, auth->get());
  if (Status st = server.Start(); !st.ok()) {
    std::cerr << "pveaudit-web: " << st.message() << "\n";
    return st.code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  std::string host = o.listen.substr(0, o.listen.rfind(':'));
  std::cout << "listening on https://" << host << ":" << server.port()
            << " (certificate: " << server.certificate().origin << " " << server.certificate().cert
            << ")" << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  server.Stop();
  return 0;
}

}  // namespace pveaudit

// webhook_receiver: a small HTTP(S) server that plays a webhook receiver in
// the tests of the webhook sink (src/export/webhook_sink_test.cc) and the
// end-to-end proof. It listens on loopback (--host, default 127.0.0.1), checks each request's
// X-Pveaudit-Signature against --secret, appends one JSON line per request
// to --record (written and flushed before the answer is sent, so a 2xx the
// client saw is always on record), and can be told to misbehave: fail the
// first N requests with 500, answer 429 with Retry-After, refuse with 400,
// or answer late (--delay-ms, for the client's timeout).
//
// Usage: webhook_receiver --port-file F --record F [--host 127.0.0.1|::1]
//          [--port N] [--secret S]
//          [--cert F --key F] [--fail-first N] [--retry-after-first N
//          --retry-after V] [--refuse] [--delay-ms N] [--record-body]
#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

namespace {

std::string HmacHex(const std::string& key, const std::string& body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), int(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), md, &len);
  std::string out;
  char b[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    out += b;
  }
  return out;
}

int Usage(const std::string& msg) {
  std::cerr << "webhook_receiver: " << msg << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string port_file, record, secret, cert, key, retry_after = "1", host = "127.0.0.1";
  int port = 0, fail_first = 0, retry_after_first = 0, delay_ms = 0;
  bool refuse = false, record_body = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "webhook_receiver: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port-file")
      port_file = next();
    else if (a == "--record")
      record = next();
    else if (a == "--port")
      port = std::atoi(next().c_str());
    else if (a == "--secret")
      secret = next();
    else if (a == "--cert")
      cert = next();
    else if (a == "--key")
      key = next();
    else if (a == "--fail-first")
      fail_first = std::atoi(next().c_str());
    else if (a == "--retry-after-first")
      retry_after_first = std::atoi(next().c_str());
    else if (a == "--retry-after")
      retry_after = next();
    else if (a == "--refuse")
      refuse = true;
    else if (a == "--host")
      host = next();
    else if (a == "--delay-ms")
      delay_ms = std::atoi(next().c_str());
    else if (a == "--record-body")
      record_body = true;
    else
      return Usage("unknown argument '" + a + "'");
  }
  if (port_file.empty() || record.empty()) return Usage("--port-file and --record are required");
  if (cert.empty() != key.empty()) return Usage("--cert and --key go together");

  std::unique_ptr<httplib::Server> server;
  if (!cert.empty())
    server = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
  else
    server = std::make_unique<httplib::Server>();
  if (!server->is_valid()) return Usage("cannot load the certificate or key");

  std::mutex mu;
  int requests = 0;
  std::ofstream out(record, std::ios::app);
  if (!out) return Usage("cannot open " + record);

  server->Post(".*", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    const int n = ++requests;
    nlohmann::json r;
    r["n"] = n;
    r["path"] = req.path;
    r["key"] = req.get_header_value("Idempotency-Key");
    std::string sig = req.get_header_value("X-Pveaudit-Signature");
    std::string verdict = "none";
    if (!sig.empty()) {
      const std::string want = "sha256=" + HmacHex(secret, req.body);
      verdict = sig.size() == want.size() && CRYPTO_memcmp(sig.data(), want.data(), sig.size()) == 0
                    ? "ok"
                    : "bad";
    }
    r["signature"] = verdict;
    int status = 200;
    if (!secret.empty() && verdict != "ok")
      status = 401;
    else if (refuse)
      status = 400;
    else if (n <= fail_first)
      status = 500;
    else if (n <= fail_first + retry_after_first)
      status = 429;
    r["status"] = status;
    nlohmann::json ids = nlohmann::json::array();
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_object() && body.contains("events") && body["events"].is_array())
      for (const auto& e : body["events"])
        if (e.is_object() && e.contains("id")) ids.push_back(e["id"]);
    r["ids"] = ids;
    r["json"] = !body.is_discarded();
    if (record_body) r["body"] = req.body;
    out << r.dump() << "\n";
    out.flush();
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    res.status = status;
    if (status == 429) res.set_header("Retry-After", retry_after);
    if (status == 400)
      res.set_content("{\"error\":\"receiver refuses this batch\"}", "application/json");
    else if (status == 500)
      res.set_content("internal error (told to fail)", "text/plain");
    else if (status == 401)
      res.set_content("bad signature", "text/plain");
    else
      res.set_content("ok", "text/plain");
  });

  if (port == 0) {
    port = server->bind_to_any_port(host);
    if (port <= 0) return Usage("cannot bind to " + host);
  } else if (!server->bind_to_port(host, port)) {
    return Usage("cannot bind to " + host + " port " + std::to_string(port));
  }
  // Written once listening is possible, atomically: the test waits for it.
  const std::string tmp = port_file + ".tmp";
  {
    std::ofstream pf(tmp);
    pf << port << "\n";
  }
  std::rename(tmp.c_str(), port_file.c_str());
  return server->listen_after_bind() ? 0 : 1;
}

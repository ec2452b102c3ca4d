// web_bench: latency of API requests to a running pveaudit-web over one
// kept-alive HTTPS connection (as a browser page does), so the figures are
// the server's query time plus one loopback round trip, not TLS handshakes.
//   web_bench --port P --ca CERT --bearer VALUE --runs N PATH...
// Prints one line per PATH: p50 and p95 in ms, rows in the last answer.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  int port = 0, runs = 20;
  std::string ca, bearer;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "web_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port")
      port = std::atoi(next().c_str());
    else if (a == "--ca")
      ca = next();
    else if (a == "--bearer")
      bearer = next();
    else if (a == "--runs")
      runs = std::atoi(next().c_str());
    else
      paths.push_back(a);
  }
  if (port <= 0 || ca.empty() || runs <= 0 || paths.empty()) {
    std::fprintf(stderr, "usage: web_bench --port P --ca CERT --bearer VALUE --runs N PATH...\n");
    return 2;
  }
  httplib::SSLClient c("127.0.0.1", port);
  c.set_ca_cert_path(ca.c_str());
  c.enable_server_certificate_verification(true);
  c.set_keep_alive(true);
  c.set_read_timeout(300, 0);
  httplib::Headers h = {{"Authorization", "Bearer " + bearer}};
  for (const std::string& p : paths) {
    std::vector<double> ms;
    size_t rows = 0;
    for (int r = 0; r < runs + 1; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      auto res = c.Get(p.c_str(), h);
      auto t1 = std::chrono::steady_clock::now();
      if (!res || res->status != 200) {
        std::fprintf(stderr, "web_bench: %s: %s\n", p.c_str(),
                     res ? res->body.c_str() : httplib::to_string(res.error()).c_str());
        return 1;
      }
      auto j = nlohmann::json::parse(res->body, nullptr, false);
      rows = j.is_object() && j["data"].is_array() ? j["data"].size() : 0;
      // GET stats: the hours with events (the bars of the hourly chart).
      if (j.is_object() && j["data"].is_object() && j["data"].contains("hours"))
        rows = j["data"]["hours"].size();
      // The first request warms the connection and the page cache.
      if (r > 0) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double q) { return ms[std::min(ms.size() - 1, size_t(q * double(ms.size())))]; };
    std::printf("%s\t%.1f\t%.1f\t%zu\n", p.c_str(), pct(0.50), pct(0.95), rows);
  }
  return 0;
}

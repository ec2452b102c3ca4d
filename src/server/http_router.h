// http_router.h
// The route table of pveaudit-web: every route of the HTTPS API with its
// method, path pattern, the privilege it needs, its parameters and a one-line
// summary, so that tests walk the table (every route refuses a caller
// without credentials) and docs/api.md is checked against it.
// Thread safety: the table is built once and then only read; handlers run
// on many server threads at once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "server/principal.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace pveaudit {

struct RouteParam {
  std::string name;
  std::string doc;  // one line for docs/api.md
};

// What a handler gets: the authenticated principal, what it may see, the
// values of {placeholders} in the path and the checked query parameters.
struct HttpContext {
  const httplib::Request* req = nullptr;
  httplib::Response* res = nullptr;
  Principal principal;
  Visibility visibility;
  Authenticator* auth = nullptr;             // for the CSRF token and privileges a page shows
  std::map<std::string, std::string> path;   // {id} -> "3"
  std::map<std::string, std::string> query;  // only the route's declared parameters
  std::string Param(const std::string& name) const {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  }
};

// A handler's answer: `data` goes out as {"data": ...} with `status` 200;
// an error as {"data": null, "message": ...} with its HTTP status. A
// handler that streams (server-sent events) sets `streaming` and fills the
// response itself.
struct HttpReply {
  int status = 200;
  nlohmann::json data;
  std::string message;
  bool streaming = false;
  // Extra top-level members beside "data" (e.g. "total").
  nlohmann::json extra = nlohmann::json::object();
  static HttpReply Ok(nlohmann::json d) {
    HttpReply r;
    r.data = std::move(d);
    return r;
  }
  static HttpReply Error(int status, std::string message) {
    HttpReply r;
    r.status = status;
    r.message = std::move(message);
    return r;
  }
  // 400 for an InvalidArgument (a bad parameter), else 500.
  static HttpReply FromStatus(const Status& st) {
    return Error(st.code() == Status::Code::kInvalidArgument ? 400 : 500, st.message());
  }
};

struct Route {
  std::string method;   // GET, POST, PUT, DELETE
  std::string pattern;  // "/api2/json/audit/rules/{id}"
  // The privilege the caller needs on `priv_path` (Proxmox semantics, asked
  // of the Authenticator); "" = any authenticated caller, who then sees only
  // the rows their Visibility allows.
  std::string privilege, priv_path;
  std::string summary;
  std::vector<RouteParam> params;
  std::function<HttpReply(HttpContext&)> handler;
  // Answers without credentials: the login only (its handler reads the
  // request body itself, and fails with 401 without a valid account).
  bool open = false;
};

class Router {
 public:
  void Add(Route r) { routes_.push_back(std::move(r)); }
  const std::vector<Route>& routes() const { return routes_; }
  // The route for `method` and `path`, with its placeholders filled in
  // `vars`; null when none matches. `path_known` tells whether some route
  // has this path with another method (405 rather than 404).
  const Route* Match(const std::string& method, const std::string& path,
                     std::map<std::string, std::string>* vars, bool* path_known) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace pveaudit

// The JSON HTTP API of PROTOCOL.md, independent of the HTTP transport.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace fun_notes::server {
struct app;
}

namespace fun_notes::server::net {

struct http_request {
  std::string method;
  std::string path;  // without the query string
  std::string body;
  std::string authorization;
  // The client's address: the peer's, or the one a trusted proxy forwarded.
  std::string client_address;
};

struct http_response {
  http_response() = default;
  http_response(int s, std::string b, std::string type = "application/json")
      : status(s), body(std::move(b)), content_type(std::move(type)) {}

  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (Retry-After)
};

// True for the paths handle_api answers (everything else is static files).
bool is_api_path(const std::string& path);

// Blocking: runs on the worker pool (store calls, password hashing).
http_response handle_api(app& a, const http_request& req);

http_response json_error(int status, const std::string& code, const std::string& message);

}  // namespace fun_notes::server::net

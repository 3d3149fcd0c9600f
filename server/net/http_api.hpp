// The JSON HTTP API of PROTOCOL.md, independent of the HTTP transport.
#pragma once

#include <string>

namespace fun_notes::server {
struct app;
}

namespace fun_notes::server::net {

struct http_request {
  std::string method;
  std::string path;  // without the query string
  std::string body;
  std::string authorization;
};

struct http_response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

// True for the paths handle_api answers (everything else is static files).
bool is_api_path(const std::string& path);

// Blocking: runs on the worker pool (store calls, password hashing).
http_response handle_api(app& a, const http_request& req);

http_response json_error(int status, const std::string& code, const std::string& message);

}  // namespace fun_notes::server::net

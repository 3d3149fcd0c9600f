// A server URL split into what a connection needs (http/https/ws/wss, host, port, path prefix).
#pragma once

#include <boost/system/error_code.hpp>
#include <string>

#include "fun_notes/core/result.hpp"

namespace fun_notes::cli::net {

struct endpoint {
  bool tls = false;
  std::string host;
  std::string port;    // "80" / "443" when the URL names none
  std::string prefix;  // path before /api and /ws, without a trailing slash ("" usually)
};

// Error code "invalid" with the reason for a URL that is not http(s):// or ws(s)://.
core::result<endpoint> parse_endpoint(const std::string& url);

// A network failure in words ("the server refused the connection (is it running?)").
std::string describe_network_error(const boost::system::error_code& ec);

}  // namespace fun_notes::cli::net

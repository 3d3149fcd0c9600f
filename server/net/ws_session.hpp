// A client's WebSocket session (protocol v1): hello, rooms, ops, presence, dashboard.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace fun_notes::server {
struct app;
}

namespace fun_notes::server::net {

// Takes over a connection whose upgrade request has been read and accepted by the HTTP layer.
// `address_key` was admitted by app::admit_socket; the session releases it when it ends.
void start_ws_session(app& a, boost::beast::tcp_stream stream,
                      boost::beast::http::request<boost::beast::http::string_body> request,
                      std::string address_key);
// The same over TLS (--tls-cert), the handshake done.
void start_ws_session(app& a, boost::beast::ssl_stream<boost::beast::tcp_stream> stream,
                      boost::beast::http::request<boost::beast::http::string_body> request,
                      std::string address_key);

}  // namespace fun_notes::server::net

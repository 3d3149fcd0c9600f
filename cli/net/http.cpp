// The HTTP API client: blocking Beast requests with a deadline, over TCP or TLS.
#include "net/http.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "fun_notes/core/codec.hpp"
#include "net/endpoint.hpp"

namespace fun_notes::cli::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

core::result<endpoint> parse_endpoint(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return core::invalid("not a URL: " + url + " (e.g. http://localhost:8080)");
  }
  endpoint e;
  const std::string scheme(parsed->scheme());
  if (scheme == "https" || scheme == "wss") {
    e.tls = true;
  } else if (scheme != "http" && scheme != "ws") {
    return core::invalid("the server URL must start with http://, https://, ws:// or wss://");
  }
  e.host = std::string(parsed->host());
  if (e.host.empty()) {
    return core::invalid("the server URL names no host: " + url);
  }
  e.port = parsed->has_port() ? std::string(parsed->port()) : (e.tls ? "443" : "80");
  e.prefix = std::string(parsed->path());
  while (!e.prefix.empty() && e.prefix.back() == '/') {
    e.prefix.pop_back();
  }
  if (e.prefix.size() >= 3 && e.prefix.ends_with("/ws")) {
    e.prefix.resize(e.prefix.size() - 3);
  }
  return e;
}

std::string describe_network_error(const boost::system::error_code& ec) {
  if (ec == asio::error::connection_refused) {
    return "the server refused the connection (is it running?)";
  }
  if (ec == beast::error::timeout || ec == asio::error::timed_out) {
    return "the server did not answer in time";
  }
  if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again) {
    return "the server's host name is unknown";
  }
  return ec.message();
}

namespace {

struct response {
  unsigned status = 0;
  std::string body;
};

template <class Stream>
core::result<response> exchange(Stream& stream, http::request<http::string_body>& req,
                                std::chrono::milliseconds timeout) {
  beast::get_lowest_layer(stream).expires_after(timeout);
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64U * 1024U * 1024U);
  http::read(stream, buffer, parser);
  return response{parser.get().result_int(), std::move(parser.get().body())};
}

core::result<response> request(const api& a, http::verb method, const std::string& path,
                               const std::optional<json::object>& body) {
  auto ep = parse_endpoint(a.server_url);
  if (!ep) {
    return ep.err();
  }
  http::request<http::string_body> req{method, ep->prefix + path, 11};
  req.set(http::field::host, ep->host);
  req.set(http::field::user_agent, "fun-notes-cli/0.1");
  req.set(http::field::accept, "application/json");
  if (!a.token.empty()) {
    req.set(http::field::authorization, "Bearer " + a.token);
  }
  if (body) {
    req.set(http::field::content_type, "application/json");
    req.body() = json::serialize(*body);
  }
  req.prepare_payload();
  asio::io_context io;
  try {
    tcp::resolver resolver(io);
    beast::tcp_stream tcp_stream(io);
    tcp_stream.expires_after(a.timeout);
    const auto results = resolver.resolve(ep->host, ep->port);
    tcp_stream.connect(results);
    if (!ep->tls) {
      auto r = exchange(tcp_stream, req, a.timeout);
      beast::error_code ignored;
      tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return r;
    }
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_default_verify_paths();
    ctx.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), ctx);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), ep->host.c_str())) {
      return core::error{"offline", "cannot set the TLS server name"};
    }
    stream.set_verify_callback(asio::ssl::host_name_verification(ep->host));
    stream.handshake(asio::ssl::stream_base::client);
    auto r = exchange(stream, req, a.timeout);
    beast::error_code ignored;
    stream.shutdown(ignored);
    return r;
  } catch (const boost::system::system_error& e) {
    return core::error{"offline",
                       "cannot reach " + a.server_url + ": " + describe_network_error(e.code())};
  } catch (const std::exception& e) {
    return core::error{"offline", "cannot reach " + a.server_url + ": " + e.what()};
  }
}

// The server's error object, or a generic one for a body that is not.
core::error error_of(const response& r) {
  auto v = core::parse_json(r.body);
  if (v && v->is_object()) {
    if (const auto* e = v->get_object().if_contains("error"); e && e->is_object()) {
      const auto& o = e->get_object();
      const auto* code = o.if_contains("code");
      const auto* message = o.if_contains("message");
      return core::error{code && code->is_string() ? std::string(code->get_string()) : "error",
                         message && message->is_string() ? std::string(message->get_string())
                                                         : "HTTP " + std::to_string(r.status)};
    }
  }
  if (r.status == 401) {
    return core::error{"unauthorized", "the server refused the sign-in; run fun-notes login"};
  }
  return core::error{"error", "the server answered HTTP " + std::to_string(r.status)};
}

core::result<json::object> json_body(const core::result<response>& r, unsigned expected) {
  if (!r) {
    return r.err();
  }
  if (r->status != expected && !(expected == 200 && r->status == 201)) {
    return error_of(*r);
  }
  auto v = core::parse_json(r->body);
  if (!v || !v->is_object()) {
    return core::error{"error", "the server's answer is not a JSON object"};
  }
  return v->get_object();
}

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::int64_t int64(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->get_int64() : 0;
}

sync::room_info room_of(const json::object& o) {
  return sync::room_info{str(o, "id"),
                         str(o, "name"),
                         str(o, "visibility"),
                         str(o, "role"),
                         int64(o, "active_user_count"),
                         int64(o, "total_notes")};
}

core::result<session> session_of(const core::result<response>& r) {
  auto body = json_body(r, 200);
  if (!body) {
    return body.err();
  }
  session s;
  s.token = str(*body, "token");
  if (const auto* u = body->if_contains("user"); u && u->is_object()) {
    s.user = {str(u->get_object(), "id"), str(u->get_object(), "name")};
  }
  if (s.token.empty()) {
    return core::error{"error", "the server's answer holds no token"};
  }
  return s;
}

}  // namespace

core::result<session> api::login(const std::string& username, const std::string& password) const {
  return session_of(request(*this, http::verb::post, "/api/login",
                            json::object{{"username", username}, {"password", password}}));
}

core::result<session> api::register_user(const std::string& username,
                                         const std::string& password) const {
  return session_of(request(*this, http::verb::post, "/api/register",
                            json::object{{"username", username}, {"password", password}}));
}

core::result<std::vector<sync::room_info>> api::list_rooms() const {
  auto body = json_body(request(*this, http::verb::get, "/api/rooms", std::nullopt), 200);
  if (!body) {
    return body.err();
  }
  std::vector<sync::room_info> rooms;
  if (const auto* list = body->if_contains("rooms"); list && list->is_array()) {
    for (const auto& r : list->get_array()) {
      if (r.is_object()) {
        rooms.push_back(room_of(r.get_object()));
      }
    }
  }
  return rooms;
}

core::result<sync::room_info> api::create_room(const std::string& name,
                                               const std::string& visibility) const {
  auto body = json_body(request(*this, http::verb::post, "/api/rooms",
                                json::object{{"name", name}, {"visibility", visibility}}),
                        201);
  if (!body) {
    return body.err();
  }
  const auto* room = body->if_contains("room");
  if (room == nullptr || !room->is_object()) {
    return core::error{"error", "the server's answer holds no room"};
  }
  return room_of(room->get_object());
}

core::result<json::object> api::call(std::string_view method, const std::string& path,
                                     const std::optional<json::object>& body) const {
  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    return core::error{"invalid", "unknown HTTP method " + std::string(method)};
  }
  auto r = request(*this, verb, path, body);
  if (!r) {
    return r.err();
  }
  if (r->status == 204) {
    return json::object{};
  }
  return json_body(r, r->status >= 200 && r->status < 300 ? r->status : 200);
}

core::result<core::room_state> api::room_notes(const std::string& room_id) const {
  auto body = json_body(
      request(*this, http::verb::get, "/api/rooms/" + room_id + "/notes", std::nullopt), 200);
  if (!body) {
    return body.err();
  }
  std::vector<core::note> notes;
  if (const auto* list = body->if_contains("notes"); list && list->is_array()) {
    for (const auto& n : list->get_array()) {
      auto note = core::parse_note(n);
      if (!note) {
        return note.err();
      }
      notes.push_back(std::move(*note));
    }
  }
  return core::room_state(int64(*body, "seq"), std::move(notes));
}

}  // namespace fun_notes::cli::net

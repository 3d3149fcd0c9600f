// HTTP/1.1 sessions on Beast, over TCP or TLS; WebSocket upgrades on /ws go to ws_session.
#include "net/listener.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <algorithm>
#include <boost/url/parse.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "app.hpp"
#include "async.hpp"
#include "net/http_api.hpp"
#include "net/ws_session.hpp"

namespace fun_notes::server::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using asio::awaitable;
using asio::ip::tcp;
using namespace std::chrono_literals;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

namespace {

constexpr std::size_t max_http_body = 1024 * 1024;

const char* fallback_page = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fun-notes</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>fun-notes server is running</h1>
<p>No web build was found. The server serves the web UI from <code>web/dist</code> once it
is built there, or from any directory given with <code>--web-dir DIR</code>.</p>
<p>The API and the WebSocket endpoint <code>/ws</code> work without it: see
<code>docs/protocol.md</code>.</p>
</body></html>
)";

std::string mime_type(const fs::path& p) {
  const auto ext = p.extension().string();
  if (ext == ".html")
    return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs")
    return "text/javascript; charset=utf-8";
  if (ext == ".css")
    return "text/css; charset=utf-8";
  if (ext == ".json")
    return "application/json";
  if (ext == ".svg")
    return "image/svg+xml";
  if (ext == ".png")
    return "image/png";
  if (ext == ".ico")
    return "image/x-icon";
  if (ext == ".woff2")
    return "font/woff2";
  if (ext == ".txt")
    return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

std::optional<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Static files of the web build; unknown paths get index.html (client-side routes).
http_response serve_static(const fs::path& web_dir, const std::string& path) {
  if (web_dir.empty() || !fs::exists(web_dir / "index.html")) {
    return http_response{200, fallback_page, "text/html; charset=utf-8"};
  }
  fs::path rel = fs::path(path).relative_path().lexically_normal();
  if (rel.empty() || rel == "." || *rel.begin() == "..") {
    rel = "index.html";
  }
  fs::path file = web_dir / rel;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    file = web_dir / "index.html";
  }
  auto body = read_file(file);
  if (!body) {
    return json_error(404, "not_found", "no such file");
  }
  return http_response{200, std::move(*body), mime_type(file)};
}

fs::path resolve_web_dir(const app& a) {
  if (!a.config.web_dir.empty()) {
    return a.config.web_dir;
  }
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  for (const auto& candidate :
       {exe.parent_path() / "../../web/dist", fs::current_path() / "web/dist"}) {
    if (fs::exists(candidate / "index.html", ec)) {
      return fs::weakly_canonical(candidate, ec);
    }
  }
  return {};
}

// An origin (or a Host header under a scheme) as compared: scheme, lower-case host, port.
struct origin_parts {
  std::string scheme;
  std::string host;
  std::uint16_t port = 0;
  bool operator==(const origin_parts&) const = default;
};

std::uint16_t default_port(std::string_view scheme) {
  return scheme == "https" ? 443 : 80;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// "http://host[:port]" exactly: no user, path, query or fragment.
std::optional<origin_parts> parse_origin(std::string_view text) {
  auto url = boost::urls::parse_absolute_uri(text);
  if (!url || url->has_userinfo() || !url->encoded_path().empty() || url->has_query() ||
      url->has_fragment()) {
    return std::nullopt;
  }
  origin_parts o;
  o.scheme = lower(url->scheme());
  if ((o.scheme != "http" && o.scheme != "https") || url->encoded_host().empty()) {
    return std::nullopt;
  }
  o.host = lower(url->encoded_host());
  o.port = url->has_port() ? url->port_number() : default_port(o.scheme);
  if (url->has_port() && o.port == 0) {
    return std::nullopt;
  }
  return o;
}

// A Host header under `scheme`.
std::optional<origin_parts> parse_host(std::string_view host, std::string_view scheme) {
  return parse_origin(std::string(scheme) + "://" + std::string(host));
}

bool is_ip_literal(std::string_view host) {
  boost::system::error_code ec;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  asio::ip::make_address(std::string(host), ec);
  return !ec;
}

const std::string& machine_name() {
  static const std::string name = [] {
    char buf[256] = {};
    return ::gethostname(buf, sizeof buf - 1) == 0 ? lower(buf) : std::string();
  }();
  return name;
}

// DNS rebinding needs a name the attacker controls: IP literals, localhost and this machine's
// name are always fine, other names only when listed.
bool host_allowed(const app& a, std::string_view host_header) {
  if (host_header.empty()) {
    return true;  // HTTP/1.0 without Host (health checks): browsers always send one
  }
  const auto h = parse_host(host_header, "http");
  if (!h) {
    return false;
  }
  if (is_ip_literal(h->host) || h->host == "localhost" || h->host.ends_with(".localhost") ||
      (!machine_name().empty() && h->host == machine_name())) {
    return true;
  }
  return std::any_of(
      a.config.allowed_hosts.begin(), a.config.allowed_hosts.end(),
      [&](const std::string& allowed) { return allowed == "*" || lower(allowed) == h->host; });
}

// No Origin header (non-browser clients), the server's own origin (scheme, host and port
// exactly), or one of --allowed-origins. An empty or unparsable Origin is refused.
bool origin_allowed(const app& a, const http::request<http::string_body>& req,
                    std::string_view own_scheme) {
  const auto it = req.find(http::field::origin);
  if (it == req.end()) {
    return true;
  }
  const auto origin = parse_origin(it->value());
  if (!origin) {
    return false;
  }
  for (const auto& allowed : a.config.allowed_origins) {
    if (parse_origin(allowed) == origin) {
      return true;
    }
  }
  const auto own = parse_host(req[http::field::host], own_scheme);
  return own && *own == *origin;
}

http::response<http::string_body> to_beast(const http_response& r, unsigned version,
                                           bool keep_alive, bool tls = false) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "fun-notes");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  // Security headers on every answer; the page gets a policy that allows only its own
  // scripts (the build has no inline script), its own socket, and no framing by other sites.
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  if (tls) {
    // Served over TLS by this server: browsers keep to https for this host from now on.
    res.set(http::field::strict_transport_security, "max-age=31536000");
  }
  if (r.content_type.rfind("text/html", 0) == 0) {
    res.set("Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'");
  }
  for (const auto& [name, value] : r.headers) {
    res.set(name, value);
  }
  res.keep_alive(keep_alive);
  res.body() = r.body;
  res.prepare_payload();
  return res;
}

// Built outside the coroutine: g++ 12 double-destroys temporaries of braced initialisers in
// coroutine bodies.
http_request to_api_request(http::request<http::string_body>& req, const std::string& path,
                            const std::string& client_address) {
  http_request r;
  r.client_address = client_address;
  r.method = std::string(req.method_string());
  r.path = path;
  r.body = std::move(req.body());
  r.authorization = std::string(req[http::field::authorization]);
  return r;
}

// Who is asking: the peer, or what a trusted proxy says about the client.
struct client_info {
  std::string address;
  std::string scheme = "http";
};

client_info client_of(const app& a, beast::tcp_stream& stream,
                      const http::request<http::string_body>& req, bool tls) {
  client_info c;
  c.scheme = tls ? "https" : "http";
  boost::system::error_code ec;
  const auto peer = stream.socket().remote_endpoint(ec);
  if (!ec) {
    c.address = peer.address().to_string();
  }
  const auto& trusted = a.config.trusted_proxies;
  if (std::find(trusted.begin(), trusted.end(), c.address) == trusted.end()) {
    return c;
  }
  // The proxy appends the address it saw: the last entry is the one it vouches for.
  if (const auto xff = req.find("X-Forwarded-For"); xff != req.end()) {
    std::string_view list = xff->value();
    const auto comma = list.rfind(',');
    std::string_view last = comma == std::string_view::npos ? list : list.substr(comma + 1);
    while (!last.empty() && last.front() == ' ') {
      last.remove_prefix(1);
    }
    if (!last.empty()) {
      c.address = std::string(last);
    }
  }
  if (const auto proto = req.find("X-Forwarded-Proto"); proto != req.end() && !tls) {
    c.scheme = lower(proto->value()) == "https" ? "https" : "http";
  }
  return c;
}

// The server's certificate chain and key (PEM), TLS 1.2 and later only. Throws
// std::runtime_error naming the file that cannot be used.
std::unique_ptr<asio::ssl::context> make_tls_context(const server_config& cfg) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cfg.tls_cert, ec);
  if (ec) {
    throw std::runtime_error("--tls-cert " + cfg.tls_cert +
                             ": not a readable PEM certificate chain (" + ec.message() + ")");
  }
  ctx->use_private_key_file(cfg.tls_key, asio::ssl::context::pem, ec);
  if (ec && ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
    throw std::runtime_error("--tls-key " + cfg.tls_key + " does not belong to the certificate " +
                             cfg.tls_cert);
  }
  if (ec) {
    throw std::runtime_error("--tls-key " + cfg.tls_key + ": not a readable PEM private key (" +
                             ec.message() + ")");
  }
  return ctx;
}

// The TCP layer under either stream.
beast::tcp_stream& tcp_of(beast::tcp_stream& s) {
  return s;
}
beast::tcp_stream& tcp_of(tls_stream& s) {
  return beast::get_lowest_layer(s);
}

class tcp_listener : public listener {
 public:
  explicit tcp_listener(app& a) : app_(a), acceptor_(asio::make_strand(a.io)) {}

  void open() {
    if (!app_.config.tls_cert.empty() || !app_.config.tls_key.empty()) {
      if (app_.config.tls_cert.empty() || app_.config.tls_key.empty()) {
        throw std::runtime_error("--tls-cert and --tls-key go together");
      }
      tls_ = make_tls_context(app_.config);
    }
    web_dir_ = resolve_web_dir(app_);
    const auto address = asio::ip::make_address(app_.config.host);
    tcp::endpoint endpoint(address, app_.config.port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    if (web_dir_.empty()) {
      spdlog::info("no web build found: serving a page that explains how to build it");
    } else {
      spdlog::info("serving the web build from {}", web_dir_.string());
    }
  }

  void run() { asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached); }

  std::uint16_t port() const override { return port_; }

  void stop() override {
    asio::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
    });
  }

 private:
  awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      // A connection's handlers run one at a time: on a strand, or with a single I/O thread on
      // the io_context itself, which then needs no strand's locking for every handler.
      asio::any_io_executor executor = app_.io.get_executor();
      if (app_.config.threads != 1) {
        executor = asio::make_strand(app_.io);
      }
      auto socket =
          co_await acceptor_.async_accept(executor, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
        co_return;
      }
      if (ec) {
        spdlog::warn("accept failed: {}", ec.message());
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      if (tls_) {
        asio::co_spawn(executor, tls_session(app_, web_dir_, std::move(socket), *tls_),
                       asio::detached);
      } else {
        asio::co_spawn(executor, http_session(app_, web_dir_, beast::tcp_stream(std::move(socket))),
                       asio::detached);
      }
    }
  }

  static awaitable<void> tls_session(app& a, fs::path web_dir, tcp::socket socket,
                                     asio::ssl::context& ctx) {
    tls_stream stream(std::move(socket), ctx);
    // The handshake has the time of a request: a peer that never finishes it is dropped.
    beast::get_lowest_layer(stream).expires_after(a.config.http_request_timeout);
    boost::system::error_code ec;
    co_await stream.async_handshake(asio::ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      // Plain HTTP sent to the TLS port, an old protocol version, an untrusted client...
      spdlog::debug("TLS handshake failed: {}", ec.message());
      co_return;
    }
    co_await http_session(a, std::move(web_dir), std::move(stream));
  }

  template <class Stream>
  static awaitable<void> http_session(app& a, fs::path web_dir, Stream stream) {
    constexpr bool tls = std::is_same_v<Stream, tls_stream>;
    beast::flat_buffer buffer;
    try {
      for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(max_http_body);
        parser.header_limit(16 * 1024);
        // A request must arrive whole within this, however slowly it trickles in.
        tcp_of(stream).expires_after(a.config.http_request_timeout);
        boost::system::error_code ec;
        co_await http::async_read(stream, buffer, parser,
                                  asio::redirect_error(asio::use_awaitable, ec));
        if (ec == http::error::end_of_stream || ec == beast::error::timeout) {
          break;
        }
        if (ec == http::error::body_limit) {
          auto res =
              to_beast(json_error(413, "too_large", "request body over 1 MiB"), 11, false, tls);
          co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
          break;
        }
        if (ec) {
          auto res = to_beast(json_error(400, "invalid", "malformed HTTP request"), 11, false, tls);
          co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
          break;
        }
        auto req = parser.release();
        const auto client = client_of(a, tcp_of(stream), req, tls);
        if (!host_allowed(a, req[http::field::host])) {
          auto res = to_beast(
              json_error(403, "forbidden", "this server does not answer to that host name"),
              req.version(), false, tls);
          co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
          break;
        }
        const std::string target(req.target());
        const std::string path = target.substr(0, target.find('?'));
        if (beast::websocket::is_upgrade(req)) {
          if (path != "/ws") {
            auto res = to_beast(json_error(404, "not_found", "WebSocket endpoint is /ws"),
                                req.version(), false, tls);
            co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
            break;
          }
          if (!origin_allowed(a, req, client.scheme)) {
            auto res = to_beast(json_error(403, "forbidden", "origin not allowed"), req.version(),
                                false, tls);
            co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
            break;
          }
          if (a.shutting_down) {
            auto res = to_beast(json_error(503, "unavailable", "shutting down"), req.version(),
                                false, tls);
            co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
            break;
          }
          const std::string address_key = "a:" + client.address;
          if (!a.admit_socket(address_key, a.config.max_sockets_per_address)) {
            auto res =
                to_beast(json_error(429, "rate_limited", "too many connections from this address"),
                         req.version(), false, tls);
            co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
            break;
          }
          start_ws_session(a, std::move(stream), std::move(req), address_key);
          co_return;
        }
        http_response response;
        if (is_api_path(path)) {
          auto job = [&a, r = to_api_request(req, path, client.address)] {
            return handle_api(a, r);
          };
          response = co_await offload(a.pool, std::move(job));
        } else if (req.method() == http::verb::get || req.method() == http::verb::head) {
          response = serve_static(web_dir, path);
        } else {
          response = json_error(405, "invalid", "method not allowed");
        }
        const bool keep_alive = req.keep_alive() && !a.shutting_down;
        auto res = to_beast(response, req.version(), keep_alive, tls);
        co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
        if (ec || !keep_alive) {
          break;
        }
      }
    } catch (const std::exception& e) {
      spdlog::debug("http session ended: {}", e.what());
    }
    boost::system::error_code ec;
    if constexpr (tls) {
      tcp_of(stream).expires_after(2s);  // close_notify, but not waiting long for the peer's
      co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    } else {
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  app& app_;
  std::unique_ptr<asio::ssl::context> tls_;
  tcp::acceptor acceptor_;
  fs::path web_dir_;
  std::uint16_t port_ = 0;
};

}  // namespace

std::unique_ptr<listener> start_listener(app& a) {
  auto l = std::make_unique<tcp_listener>(a);
  l->open();
  l->run();
  return l;
}

}  // namespace fun_notes::server::net

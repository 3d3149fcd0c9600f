// The Beast half of the test support: a WebSocket client whose reader thread fills an inbox
// (so a test waits for frames with a deadline, never cancelling a read), and one-shot HTTP.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "fun_notes/core/codec.hpp"
#include "fun_notes_test.hpp"

namespace fun_notes::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

tcp::endpoint loopback(std::uint16_t port) {
  return {asio::ip::make_address_v4("127.0.0.1"), port};
}

// Runs the io_context until the operation started just before completes (or its timer fires).
void run_to_completion(asio::io_context& ioc) {
  ioc.restart();
  ioc.run();
}

std::string truncate(std::string_view s, std::size_t n = 300) {
  if (s.size() <= n) {
    return std::string{s};
  }
  return std::string{s.substr(0, n)} + "...(" + std::to_string(s.size()) + " bytes)";
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct ws_client::impl {
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer read_buffer;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;

  // Owned by the io thread.
  std::deque<std::pair<std::string, bool>> outbox;  // payload, binary
  bool writing = false;
  bool paused = false;
  bool read_parked = false;  // a frame arrived while paused; no read is pending

  mutable std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::string> inbox;
  std::optional<close_info> close;
  std::size_t unsent = 0;
  std::string write_error;

  // Opens TCP and performs the upgrade on the calling thread. Returns the error and fills
  // `res` with the server's answer.
  error_code handshake(std::uint16_t port, const options& opts, websocket::response_type& res) {
    auto& stream = beast::get_lowest_layer(ws);
    error_code ec = asio::error::timed_out;
    if (opts.receive_buffer_bytes > 0) {
      // Before connect, so the window the peer sees is small from the first segment.
      stream.socket().open(tcp::v4(), ec);
      if (ec) {
        return ec;
      }
      stream.socket().set_option(asio::socket_base::receive_buffer_size(opts.receive_buffer_bytes),
                                 ec);
      ec = asio::error::timed_out;
    }
    stream.expires_after(opts.connect_timeout);
    stream.async_connect(loopback(port), [&](error_code e) { ec = e; });
    run_to_completion(ioc);
    if (ec) {
      return ec;
    }
    const std::string origin = opts.origin;
    const bool empty_origin = opts.empty_origin;
    ws.set_option(
        websocket::stream_base::decorator([origin, empty_origin](websocket::request_type& req) {
          req.set(http::field::user_agent, "fun-notes-integration-tests");
          if (empty_origin) {
            req.set(http::field::origin, "");
          }
          if (!origin.empty()) {
            req.set(http::field::origin, origin);
          }
        }));
    // One frame per message whatever its size: the frame-size limit is what some tests probe.
    ws.auto_fragment(false);
    ws.read_message_max(256u << 20);
    ec = asio::error::timed_out;
    stream.expires_after(opts.connect_timeout);
    ws.async_handshake(res, "127.0.0.1:" + std::to_string(port), opts.target,
                       [&](error_code e) { ec = e; });
    run_to_completion(ioc);
    // From here on the test's own deadlines apply; the stream must not time reads out.
    stream.expires_never();
    return ec;
  }

  void start() {
    ioc.restart();
    work.emplace(ioc.get_executor());
    start_read();
    thread = std::thread([this] { ioc.run(); });
  }

  void start_read() {
    ws.async_read(read_buffer, [this](error_code ec, std::size_t) { on_read(ec); });
  }

  void on_read(error_code ec) {
    if (ec) {
      close_info info;
      const websocket::close_reason& r = ws.reason();
      // A close frame can arrive while one of our writes is still going (a test sending an
      // oversized frame): the read then fails with that write's error, but the server's close
      // code was received and is what the test is about.
      if (ec == websocket::error::closed || r.code != websocket::close_code::none) {
        info.code = static_cast<int>(r.code);
        info.reason.assign(r.reason.data(), r.reason.size());
      } else {
        info.code = 1006;
        info.reason = "connection ended without a close frame: " + ec.message();
      }
      std::lock_guard lock(mutex);
      close = std::move(info);
      cv.notify_all();
      return;
    }
    std::string frame = beast::buffers_to_string(read_buffer.data());
    read_buffer.consume(read_buffer.size());
    {
      std::lock_guard lock(mutex);
      inbox.push_back(std::move(frame));
      cv.notify_all();
    }
    if (paused) {
      read_parked = true;
      return;
    }
    start_read();
  }

  void enqueue(std::string payload, bool binary) {
    {
      std::lock_guard lock(mutex);
      ++unsent;
    }
    asio::post(ioc, [this, payload = std::move(payload), binary]() mutable {
      outbox.emplace_back(std::move(payload), binary);
      if (!writing) {
        write_next();
      }
    });
  }

  void write_next() {
    if (outbox.empty()) {
      writing = false;
      return;
    }
    writing = true;
    ws.binary(outbox.front().second);
    ws.async_write(asio::buffer(outbox.front().first), [this](error_code ec, std::size_t) {
      outbox.pop_front();
      {
        std::lock_guard lock(mutex);
        --unsent;
        if (ec && write_error.empty()) {
          write_error = ec.message();
        }
        cv.notify_all();
      }
      write_next();
    });
  }

  bool wait_for_close(milliseconds timeout) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, timeout, [&] { return close.has_value(); });
  }

  void stop() {
    if (!thread.joinable()) {
      return;
    }
    work.reset();
    ioc.stop();
    thread.join();
  }
};

ws_client::ws_client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

ws_client::~ws_client() {
  if (!impl_) {
    return;
  }
  bool open = false;
  {
    std::lock_guard lock(impl_->mutex);
    open = !impl_->close.has_value();
  }
  if (open) {
    close(2000ms);
  }
  impl_->stop();
}

std::unique_ptr<ws_client> ws_client::connect(std::uint16_t port, const options& opts) {
  auto p = std::make_unique<impl>();
  websocket::response_type res;
  const error_code ec = p->handshake(port, opts, res);
  if (ec) {
    std::string msg = "WebSocket connect to 127.0.0.1:" + std::to_string(port) + opts.target +
                      " failed: " + ec.message();
    if (ec == websocket::error::upgrade_declined) {
      msg += " (HTTP " + std::to_string(res.result_int()) + " " + truncate(res.body()) + ")";
    }
    throw protocol_failure(msg);
  }
  p->start();
  return std::unique_ptr<ws_client>(new ws_client(std::move(p)));
}

int ws_client::upgrade_status(std::uint16_t port, const options& opts) {
  impl p;
  websocket::response_type res;
  const error_code ec = p.handshake(port, opts, res);
  if (!ec || ec == websocket::error::upgrade_declined) {
    return res.result_int();
  }
  throw protocol_failure("no HTTP answer to the upgrade request: " + ec.message());
}

void ws_client::send(const json::value& message) {
  send_text(json::serialize(message));
}
void ws_client::send_text(std::string text) {
  impl_->enqueue(std::move(text), false);
}
void ws_client::send_binary(std::string bytes) {
  impl_->enqueue(std::move(bytes), true);
}

bool ws_client::wait_sent(milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->unsent == 0; });
}

std::string ws_client::write_error() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->write_error;
}

std::optional<json::object> ws_client::next(milliseconds timeout) {
  std::string frame;
  {
    std::unique_lock lock(impl_->mutex);
    impl_->cv.wait_for(lock, timeout,
                       [&] { return !impl_->inbox.empty() || impl_->close.has_value(); });
    if (impl_->inbox.empty()) {
      return std::nullopt;
    }
    frame = std::move(impl_->inbox.front());
    impl_->inbox.pop_front();
  }
  // The core's parser: Boost.JSON 1.81's own is off by one ulp for some 17-digit numbers, and
  // replicas are compared byte for byte.
  auto v = core::parse_json(frame);
  if (!v || !v->is_object()) {
    throw protocol_failure("server sent a frame that is not a JSON object: " + truncate(frame));
  }
  return std::move(v->get_object());
}

std::optional<json::object> ws_client::next_skipping(std::initializer_list<std::string_view> skip,
                                                     milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    auto f = next(std::max(left, 0ms));
    if (!f) {
      return std::nullopt;
    }
    const std::string t = type_of(*f);
    if (std::find(skip.begin(), skip.end(), t) == skip.end()) {
      return f;
    }
  }
}

std::optional<json::object> ws_client::next_of_type(std::string_view type, milliseconds timeout,
                                                    std::vector<json::object>* dropped) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    auto f = next(std::max(left, 0ms));
    if (!f) {
      return std::nullopt;
    }
    if (type_of(*f) == type) {
      return f;
    }
    if (dropped != nullptr) {
      dropped->push_back(std::move(*f));
    }
  }
}

std::optional<close_info> ws_client::wait_closed(milliseconds timeout,
                                                 std::vector<json::object>* dropped) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    std::optional<json::object> f;
    try {
      f = next(std::max(left, 0ms));
    } catch (const protocol_failure&) {
      continue;  // whatever it was, the test waits for the close
    }
    if (f) {
      if (dropped != nullptr) {
        dropped->push_back(std::move(*f));
      }
      continue;
    }
    return closed();
  }
}

void ws_client::pause_reading() {
  impl* p = impl_.get();
  asio::post(p->ioc, [p] { p->paused = true; });
}

void ws_client::resume_reading() {
  impl* p = impl_.get();
  asio::post(p->ioc, [p] {
    p->paused = false;
    if (p->read_parked) {
      p->read_parked = false;
      p->start_read();
    }
  });
}

bool ws_client::is_closed() const {
  return closed().has_value();
}

std::optional<close_info> ws_client::closed() const {
  std::lock_guard lock(impl_->mutex);
  if (impl_->close && impl_->inbox.empty()) {
    return impl_->close;
  }
  return std::nullopt;
}

void ws_client::close(milliseconds timeout) {
  impl* p = impl_.get();
  asio::post(p->ioc, [p] { p->ws.async_close(websocket::close_code::normal, [](error_code) {}); });
  p->wait_for_close(timeout);
}

void ws_client::abort() {
  impl* p = impl_.get();
  asio::post(p->ioc, [p] {
    error_code ec;
    auto& socket = beast::get_lowest_layer(p->ws).socket();
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  });
  p->wait_for_close(5000ms);
}

// ---------------------------------------------------------------------------------------------

std::string http_response::error_code() const {
  if (!json.is_object()) {
    return {};
  }
  const auto* e = json.get_object().if_contains("error");
  if (e == nullptr || !e->is_object()) {
    return {};
  }
  const auto* c = e->get_object().if_contains("code");
  if (c == nullptr || !c->is_string()) {
    return {};
  }
  return std::string{c->get_string()};
}

http_response http_request(std::uint16_t port, std::string_view method, std::string_view target,
                           std::optional<std::string> body, std::string_view bearer_token,
                           milliseconds timeout) {
  return http_request_with(port, method, target, std::move(body), bearer_token, {}, timeout);
}

http_response http_request_with(std::uint16_t port, std::string_view method,
                                std::string_view target, std::optional<std::string> body,
                                std::string_view bearer_token, const header_list& headers,
                                milliseconds timeout) {
  const std::string what = std::string{method} + " " + std::string{target};
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(timeout);

  error_code ec = asio::error::timed_out;
  stream.async_connect(loopback(port), [&](error_code e) { ec = e; });
  run_to_completion(ioc);
  if (ec) {
    throw protocol_failure(what + ": connect failed: " + ec.message());
  }

  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    throw protocol_failure("unknown HTTP method " + std::string{method});
  }
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::user_agent, "fun-notes-integration-tests");
  if (!bearer_token.empty()) {
    req.set(http::field::authorization, "Bearer " + std::string{bearer_token});
  }
  if (body) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(*body);
  }
  for (const auto& [name, value] : headers) {
    req.set(name, value);
  }
  req.keep_alive(false);
  req.prepare_payload();

  ec = asio::error::timed_out;
  http::async_write(stream, req, [&](error_code e, std::size_t) { ec = e; });
  run_to_completion(ioc);
  // A server may answer (413) and close before reading a large body; still read the answer.
  const error_code write_ec = ec;

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256u << 20);
  ec = asio::error::timed_out;
  http::async_read(stream, buffer, parser, [&](error_code e, std::size_t) { ec = e; });
  run_to_completion(ioc);
  if (ec && !parser.is_header_done()) {
    throw protocol_failure(what + ": no response: " + ec.message() +
                           (write_ec ? " (write: " + write_ec.message() + ")" : ""));
  }
  const auto& res = parser.get();
  http_response out;
  out.status = res.result_int();
  out.body = res.body();
  for (const auto& field : res) {
    std::string name{field.name_string()};
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.headers[name] = std::string{field.value()};
  }
  if (auto v = core::parse_json(out.body)) {
    out.json = std::move(*v);
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return out;
}

}  // namespace fun_notes::test

// The only translation unit of the driver that includes Asio and Beast (each one that does
// takes long to compile): event loops, timers and WebSocket client sessions.
#include "transport.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <optional>
#include <thread>
#include <utility>

namespace fun_notes::load {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// Large enough for a snapshot of a big seeded room.
constexpr std::size_t max_message_bytes = 256u << 20;

class session : public std::enable_shared_from_this<session> {
 public:
  session(asio::io_context& ioc, ws_events& events) : ws_(ioc), events_(&events) {}

  void start(const endpoint& ep, const std::string& source, std::string target) {
    target_ = std::move(target);
    host_ = ep.host + ":" + std::to_string(ep.port);
    error_code ec;
    const auto remote = tcp::endpoint{asio::ip::make_address_v4(ep.host, ec), ep.port};
    if (ec) {
      return fail_later("bad endpoint address " + ep.host);
    }
    auto& sock = ws_.next_layer();
    sock.open(tcp::v4(), ec);
    if (ec) {
      return fail_later("socket: " + ec.message());
    }
    if (!source.empty()) {
      // Without this, bind() reserves a local port for every socket whatever the peer, and
      // one source address runs out of ports at ~28k sockets.
      const int one = 1;
      ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      const auto local = asio::ip::make_address_v4(source, ec);
      if (!ec) {
        sock.bind(tcp::endpoint{local, 0}, ec);
      }
      if (ec) {
        return fail_later("bind " + source + ": " + ec.message());
      }
    }
    sock.async_connect(remote, [self = shared_from_this()](error_code e) { self->on_connect(e); });
  }

  void send(std::string frame) {
    if (closed_) {
      return;
    }
    out_.push_back(std::move(frame));
    if (open_ && !writing_) {
      write_next();
    }
  }

  std::size_t queued() const { return out_.size(); }

  // The owner is gone: no more events; the socket closes and pending operations end.
  void detach() {
    events_ = nullptr;
    closed_ = true;
    error_code ec;
    ws_.next_layer().shutdown(tcp::socket::shutdown_both, ec);
    ws_.next_layer().close(ec);
  }

 private:
  void fail_later(std::string why) {
    asio::post(ws_.get_executor(),
               [self = shared_from_this(), why = std::move(why)] { self->report_closed(why); });
  }

  void report_closed(const std::string& why) {
    closed_ = true;
    if (events_ != nullptr) {
      auto* e = std::exchange(events_, nullptr);
      e->on_closed(why);
    }
  }

  void on_connect(error_code ec) {
    if (events_ == nullptr) {
      return;
    }
    if (ec) {
      return report_closed("connect: " + ec.message());
    }
    ws_.next_layer().set_option(tcp::no_delay(true), ec);
    ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "fun-notes-load");
    }));
    ws_.auto_fragment(false);
    ws_.read_message_max(max_message_bytes);
    // The mask only has to be unpredictable to a browser's scripts, not here.
    ws_.secure_prng(false);
    ws_.async_handshake(host_, target_,
                        [self = shared_from_this()](error_code e) { self->on_handshake(e); });
  }

  void on_handshake(error_code ec) {
    if (events_ == nullptr) {
      return;
    }
    if (ec) {
      return report_closed("upgrade: " + ec.message());
    }
    open_ = true;
    events_->on_open();
    if (events_ == nullptr) {
      return;
    }
    read();
    if (!out_.empty() && !writing_) {
      write_next();
    }
  }

  void read() {
    ws_.async_read(buffer_,
                   [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (events_ == nullptr) {
      return;
    }
    if (ec) {
      if (ec == websocket::error::closed) {
        const auto& r = ws_.reason();
        return report_closed("closed " + std::to_string(r.code) + " " +
                             std::string(r.reason.data(), r.reason.size()));
      }
      return report_closed("read: " + ec.message());
    }
    const auto data = buffer_.cdata();
    events_->on_frame(std::string_view(static_cast<const char*>(data.data()), data.size()),
                      clock::now());
    buffer_.consume(buffer_.size());
    if (events_ != nullptr) {
      read();
    }
  }

  void write_next() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(
        asio::buffer(out_.front()),
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(error_code ec) {
    writing_ = false;
    if (events_ == nullptr) {
      return;
    }
    if (ec) {
      return;  // the read side reports the close
    }
    out_.pop_front();
    if (!out_.empty()) {
      write_next();
    }
  }

  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> out_;
  ws_events* events_;
  std::string host_;
  std::string target_;
  bool open_ = false;
  bool writing_ = false;
  bool closed_ = false;
};

class session_handle final : public ws_socket {
 public:
  explicit session_handle(std::shared_ptr<session> s) : s_(std::move(s)) {}
  ~session_handle() override { s_->detach(); }
  session_handle(const session_handle&) = delete;
  session_handle& operator=(const session_handle&) = delete;

  void send(std::string frame) override { s_->send(std::move(frame)); }
  std::size_t queued_frames() const override { return s_->queued(); }

 private:
  std::shared_ptr<session> s_;
};

class asio_timer final : public timer {
 public:
  explicit asio_timer(asio::io_context& ioc) : t_(ioc) {}

  void wait_until(clock::time_point t, std::function<void()> fn) override {
    t_.expires_at(t);
    t_.async_wait([fn = std::move(fn)](error_code ec) {
      if (!ec) {
        fn();
      }
    });
  }
  void cancel() override { t_.cancel(); }

 private:
  asio::steady_timer t_;
};

class asio_loop final : public event_loop {
 public:
  asio_loop() : ioc_(1), work_(asio::make_work_guard(ioc_)) {}
  ~asio_loop() override { stop(); }

  void post(std::function<void()> fn) override { asio::post(ioc_, std::move(fn)); }

  std::unique_ptr<timer> make_timer() override { return std::make_unique<asio_timer>(ioc_); }

  std::unique_ptr<ws_socket> connect(const endpoint& ep, const std::string& source,
                                     const std::string& target, ws_events& events) override {
    auto s = std::make_shared<session>(ioc_, events);
    s->start(ep, source, target);
    return std::make_unique<session_handle>(std::move(s));
  }

  void start() override {
    thread_ = std::thread([this] { ioc_.run(); });
  }

  void stop() override {
    work_.reset();
    ioc_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

 private:
  asio::io_context ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<event_loop> event_loop::create() {
  return std::make_unique<asio_loop>();
}

}  // namespace fun_notes::load

// The WebSocket connection thread: one coroutine per attempt, a writer coroutine fed by a queue,
// full-jitter backoff between attempts, and an eventfd that wakes the caller's loop.
#include "net/connection.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "net/endpoint.hpp"

namespace fun_notes::cli::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

namespace {

// The server's frame limit is 64 KiB; a snapshot of a big room is one frame too, so the client
// reads frames up to the protocol's largest plausible snapshot.
constexpr std::size_t max_read_frame = 256U * 1024U * 1024U;

}  // namespace

struct connection::impl {
  explicit impl(connection_options o) : options(std::move(o)), rng(std::random_device{}()) {
    wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }
  ~impl() {
    if (wake_fd >= 0) {
      ::close(wake_fd);
    }
  }

  connection_options options;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  int wake_fd = -1;

  std::mutex inbox_mutex;
  std::vector<net_event> inbox;

  // Touched on the io thread only.
  std::deque<std::string> outbox;
  bool connected = false;
  bool stopping = false;
  asio::steady_timer* writer_wakeup = nullptr;
  bool writer_running = false;
  asio::steady_timer* backoff_timer = nullptr;
  std::function<void()> close_socket;
  std::mt19937_64 rng;

  void post_event(net_event e) {
    {
      std::lock_guard lock(inbox_mutex);
      inbox.push_back(std::move(e));
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd, &one, sizeof(one));
  }

  std::chrono::milliseconds backoff(int attempt) {
    const auto cap = std::min<std::int64_t>(options.backoff_max.count(),
                                            options.backoff_min.count() << std::min(attempt, 16));
    std::uniform_int_distribution<std::int64_t> d(options.backoff_min.count() / 2, cap);
    return std::chrono::milliseconds(d(rng));
  }

  awaitable<void> writer(auto& ws) {
    asio::steady_timer wakeup(co_await asio::this_coro::executor);
    writer_wakeup = &wakeup;
    try {
      for (;;) {
        while (!outbox.empty()) {
          std::string frame = std::move(outbox.front());
          outbox.pop_front();
          co_await ws.async_write(asio::buffer(frame), use_awaitable);
        }
        wakeup.expires_at(std::chrono::steady_clock::time_point::max());
        beast::error_code ec;
        co_await wakeup.async_wait(asio::redirect_error(use_awaitable, ec));
        if (!connected) {
          break;
        }
      }
    } catch (...) {
      // The reader sees the same failure and reports it.
    }
    writer_wakeup = nullptr;
    writer_running = false;
  }

  // One connection attempt and its session; returns how it ended.
  template <class Stream>
  awaitable<disconnected_event> session(websocket::stream<Stream>& ws, const endpoint& ep) {
    disconnected_event end;
    auto& lowest = beast::get_lowest_layer(ws);
    // Stopping closes the socket outright: a websocket read parked behind Beast's own
    // operations (a ping, a close) is not always reached by cancel().
    close_socket = [&lowest] {
      beast::error_code ignored;
      lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
      lowest.close();
    };
    try {
      tcp::resolver resolver(co_await asio::this_coro::executor);
      lowest.expires_after(options.connect_timeout);
      const auto results = co_await resolver.async_resolve(ep.host, ep.port, use_awaitable);
      co_await lowest.async_connect(results, use_awaitable);
      if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
        if (!SSL_set_tlsext_host_name(ws.next_layer().native_handle(), ep.host.c_str())) {
          throw beast::system_error(asio::error::invalid_argument);
        }
        ws.next_layer().set_verify_callback(asio::ssl::host_name_verification(ep.host));
        lowest.expires_after(options.connect_timeout);
        co_await ws.next_layer().async_handshake(asio::ssl::stream_base::client, use_awaitable);
      }
      lowest.expires_after(options.connect_timeout);
      ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
        req.set(beast::http::field::user_agent, "fun-notes-cli/0.1");
      }));
      co_await ws.async_handshake(ep.host + ":" + ep.port, ep.prefix + "/ws", use_awaitable);
      lowest.expires_never();
      // Beast pings after half the idle time and drops a server that stays silent.
      websocket::stream_base::timeout t{};
      t.handshake_timeout = options.connect_timeout;
      t.idle_timeout = std::chrono::seconds(40);
      t.keep_alive_pings = true;
      ws.set_option(t);
      ws.read_message_max(max_read_frame);
      ws.text(true);

      connected = true;
      outbox.clear();  // frames from before this session belong to the old one
      outbox.push_back(sync::hello_frame(options.token, options.client_name, true));
      post_event(connected_event{});
      writer_running = true;
      asio::co_spawn(co_await asio::this_coro::executor, writer(ws), asio::detached);
      if (writer_wakeup != nullptr) {
        writer_wakeup->cancel();
      }
      beast::flat_buffer buffer;
      for (;;) {
        buffer.clear();
        co_await ws.async_read(buffer, use_awaitable);
        for (auto& msg : sync::parse_server_frames(beast::buffers_to_string(buffer.data()))) {
          post_event(message_event{std::move(msg)});
        }
      }
    } catch (const beast::system_error& e) {
      if (e.code() == websocket::error::closed) {
        end.close_code = ws.reason().code;
        end.reason = ws.reason().reason.empty() ? "the server closed the connection"
                                                : std::string(ws.reason().reason.c_str());
      } else {
        end.reason = stopping ? "stopped" : describe_network_error(e.code());
      }
    }
    connected = false;
    // The writer may be inside a write on this stream: cancel it and wait for it to leave
    // before the stream goes away.
    lowest.cancel();
    asio::steady_timer pause(co_await asio::this_coro::executor);
    while (writer_running) {
      if (writer_wakeup != nullptr) {
        writer_wakeup->cancel();
      }
      pause.expires_after(std::chrono::milliseconds(1));
      beast::error_code ec;
      co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    close_socket = nullptr;
    co_return end;
  }

  awaitable<void> run() {
    auto ep = parse_endpoint(options.server_url);
    if (!ep) {
      post_event(disconnected_event{0, ep.err().message, {}, true});
      co_return;
    }
    int attempt = 0;
    asio::ssl::context tls(asio::ssl::context::tls_client);
    tls.set_default_verify_paths();
    tls.set_verify_mode(asio::ssl::verify_peer);
    while (!stopping) {
      post_event(connecting_event{});
      disconnected_event end;
      const auto started = std::chrono::steady_clock::now();
      if (ep->tls) {
        websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(
            co_await asio::this_coro::executor, tls);
        end = co_await session(ws, *ep);
      } else {
        websocket::stream<beast::tcp_stream> ws(co_await asio::this_coro::executor);
        end = co_await session(ws, *ep);
      }
      if (stopping) {
        break;
      }
      // A session that lasted a while starts the backoff over.
      if (std::chrono::steady_clock::now() - started > std::chrono::seconds(5)) {
        attempt = 0;
      }
      end.fatal = end.close_code == 4001 || !options.reconnect;
      end.retry_in = end.fatal ? std::chrono::milliseconds(0) : backoff(attempt++);
      post_event(end);
      if (end.fatal) {
        break;
      }
      asio::steady_timer timer(co_await asio::this_coro::executor, end.retry_in);
      backoff_timer = &timer;
      beast::error_code ec;
      co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
      backoff_timer = nullptr;
    }
  }
};

connection::connection(connection_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

connection::~connection() {
  stop();
}

void connection::start() {
  if (impl_->thread.joinable()) {
    return;
  }
  impl_->work.emplace(impl_->io.get_executor());
  asio::co_spawn(impl_->io, impl_->run(), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

void connection::stop() {
  if (!impl_->thread.joinable()) {
    return;
  }
  asio::post(impl_->io, [i = impl_.get()] {
    i->stopping = true;
    if (i->close_socket) {
      i->close_socket();
    }
    if (i->backoff_timer != nullptr) {
      i->backoff_timer->cancel();
    }
    i->work.reset();
  });
  impl_->thread.join();
}

void connection::send(std::string frame) {
  asio::post(impl_->io, [i = impl_.get(), f = std::move(frame)]() mutable {
    if (!i->connected) {
      return;
    }
    i->outbox.push_back(std::move(f));
    if (i->writer_wakeup != nullptr) {
      i->writer_wakeup->cancel();
    }
  });
}

void connection::reconnect_now() {
  asio::post(impl_->io, [i = impl_.get()] {
    if (i->backoff_timer != nullptr) {
      i->backoff_timer->cancel();
    }
  });
}

std::vector<net_event> connection::drain() {
  std::uint64_t count = 0;
  [[maybe_unused]] const auto n = ::read(impl_->wake_fd, &count, sizeof(count));
  std::lock_guard lock(impl_->inbox_mutex);
  std::vector<net_event> out;
  out.swap(impl_->inbox);
  return out;
}

int connection::wakeup_fd() const {
  return impl_->wake_fd;
}

}  // namespace fun_notes::cli::net

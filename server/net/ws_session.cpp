// WebSocket sessions: one strand each, one write in flight, a bounded outbound queue.
#include "net/ws_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "access/accounts.hpp"
#include "access/room_access.hpp"
#include "app.hpp"
#include "async.hpp"
#include "fun_notes/core/codec.hpp"
#include "net/outbound.hpp"
#include "rooms/dashboard.hpp"
#include "rooms/frames.hpp"
#include "rooms/room_hub.hpp"

namespace fun_notes::server::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
namespace json = boost::json;
using asio::awaitable;
using namespace std::chrono_literals;
using rooms::frame_ptr;
using rooms::make_frame;
using tcp = asio::ip::tcp;

namespace {

// Close codes of PROTOCOL.md.
constexpr std::uint16_t close_going_away_code = 1001;
constexpr std::uint16_t close_policy = 1008;
constexpr std::uint16_t close_too_big = 1009;
constexpr std::size_t drain_limit = 2 * 1024 * 1024;
constexpr std::uint16_t close_unauthorized = 4001;
constexpr std::uint16_t close_slow_consumer = 4008;
constexpr std::uint16_t close_rate_limited = 4029;
// How long a close handshake may take before the connection is dropped.
constexpr auto close_handshake_limit = 5s;
// A text op whose field another server changed first is transformed again this many times at
// most, then the client gets `conflict` and rebases.
constexpr int max_text_attempts = 8;
// Cids a join may name as in doubt.
constexpr std::size_t max_in_doubt = 256;

// The note fields an op changes (store::field_key): the op log records their last seq, which
// is what a text op's guard checks.
std::vector<std::string> touched_fields(const core::op& o) {
  std::vector<std::string> keys;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, core::create_op> || std::is_same_v<T, core::delete_op>) {
          keys.push_back(store::field_key(x.id, "title"));
          keys.push_back(store::field_key(x.id, "body"));
        } else if constexpr (std::is_same_v<T, core::update_op>) {
          if (x.title) {
            keys.push_back(store::field_key(x.id, "title"));
          }
          if (x.body) {
            keys.push_back(store::field_key(x.id, "body"));
          }
        } else if constexpr (std::is_same_v<T, core::text_edit_op>) {
          keys.push_back(store::field_key(x.id, core::field_name(x.field)));
        }
      },
      o);
  return keys;
}

// `co_await prepare_on_hub(...)`: the hub's transform of a text op, resumed on the caller's
// executor.
awaitable<rooms::text_prepared> prepare_on_hub(std::shared_ptr<rooms::room_hub> hub,
                                               core::text_edit_op op, std::string origin,
                                               std::int64_t min_seq, core::limits lim) {
  return asio::async_initiate<const asio::use_awaitable_t<>, void(rooms::text_prepared)>(
      [hub = std::move(hub), origin = std::move(origin), min_seq, lim](auto handler,
                                                                       core::text_edit_op o) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        hub->prepare_text(std::move(o), origin, min_seq, lim, [shared](rooms::text_prepared p) {
          auto home = asio::get_associated_executor(*shared);
          asio::post(home,
                     [shared, p = std::move(p)]() mutable { std::move (*shared)(std::move(p)); });
        });
      },
      asio::use_awaitable, std::move(op));
}

using append_outcome = std::shared_ptr<core::result<store::append_result>>;

// `co_await append_on_log(...)`: the op log's answer, resumed on the caller's executor.
awaitable<append_outcome> append_on_log(store::hot_log& log, store::append_request request) {
  return asio::async_initiate<const asio::use_awaitable_t<>, void(append_outcome)>(
      [&log](auto handler, store::append_request r) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        log.append(std::move(r), [shared](core::result<store::append_result> result) {
          auto outcome = std::make_shared<core::result<store::append_result>>(std::move(result));
          auto home = asio::get_associated_executor(*shared);
          asio::post(home, [shared, outcome] { std::move (*shared)(outcome); });
        });
      },
      asio::use_awaitable, std::move(request));
}

// Where a write or the close handshake reports its end (on the connection's strand).
class write_target {
 public:
  virtual void on_written(boost::system::error_code ec) = 0;

 protected:
  ~write_target() = default;
};

// Where a read reports its end (on the connection's strand).
class read_target {
 public:
  virtual void on_read(boost::system::error_code ec) = 0;

 protected:
  ~read_target() = default;
};

// The WebSocket stream over plain TCP or over TLS, behind the few calls a session makes, so the
// session is written (and compiled) once. Reads hand back Beast's own awaitables; writes take a
// completion target, so the hot path (one write per batch of queued frames) resumes no
// coroutine and its operation state comes from Asio's recycling allocator.
class ws_transport {
 public:
  using executor_type = asio::any_io_executor;
  virtual ~ws_transport() = default;
  virtual executor_type get_executor() = 0;
  virtual void set_options(const websocket::stream_base::timeout& timeouts,
                           std::size_t read_message_max) = 0;
  virtual awaitable<void> accept(const http::request<http::string_body>& req) = 0;
  // Reads a piece of the next message into `buffer` (at most `limit` bytes): `to` hears of it,
  // and asks is_message_done() whether the message is whole. Cancelled with `slot`.
  virtual void read_some(beast::flat_buffer& buffer, std::size_t limit,
                         std::shared_ptr<read_target> to, asio::cancellation_slot slot) = 0;
  virtual bool is_message_done() const = 0;
  virtual bool got_text() const = 0;
  // One message made of `buffers` (which must stay valid until `to` hears of the end). A write
  // ends when the socket closes (abort); the close handshake, which may wait on Beast's own
  // locks, also ends when `slot` is cancelled.
  virtual void write(std::span<const asio::const_buffer> buffers,
                     std::shared_ptr<write_target> to) = 0;
  virtual void close(const websocket::close_reason& reason, std::shared_ptr<write_target> to,
                     asio::cancellation_slot slot) = 0;
  // Closes the TCP connection at once.
  virtual void abort() = 0;
};

template <class NextLayer>
class ws_transport_of final : public ws_transport {
 public:
  explicit ws_transport_of(NextLayer&& next) : ws_(std::move(next)) {}
  executor_type get_executor() override { return ws_.get_executor(); }
  void set_options(const websocket::stream_base::timeout& timeouts,
                   std::size_t read_message_max) override {
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "fun-notes"); }));
    ws_.read_message_max(read_message_max);
    ws_.text(true);
    // A message goes out as one frame in one write, whatever its size (auto-fragmenting would
    // cut a snapshot into 4 KiB frames, one send each).
    ws_.auto_fragment(false);
  }
  awaitable<void> accept(const http::request<http::string_body>& req) override {
    return ws_.async_accept(req, asio::use_awaitable);
  }
  void read_some(beast::flat_buffer& buffer, std::size_t limit, std::shared_ptr<read_target> to,
                 asio::cancellation_slot slot) override {
    ws_.async_read_some(
        buffer, limit,
        asio::bind_cancellation_slot(
            slot, asio::bind_allocator(asio::recycling_allocator<void>(),
                                       [to = std::move(to)](boost::system::error_code ec,
                                                            std::size_t) { to->on_read(ec); })));
  }
  bool is_message_done() const override { return ws_.is_message_done(); }
  bool got_text() const override { return ws_.got_text(); }
  void write(std::span<const asio::const_buffer> buffers,
             std::shared_ptr<write_target> to) override {
    ws_.async_write(
        buffers, asio::bind_allocator(asio::recycling_allocator<void>(),
                                      [to = std::move(to)](boost::system::error_code ec,
                                                           std::size_t) { to->on_written(ec); }));
  }
  void close(const websocket::close_reason& reason, std::shared_ptr<write_target> to,
             asio::cancellation_slot slot) override {
    ws_.async_close(reason, asio::bind_cancellation_slot(
                                slot, [to = std::move(to)](boost::system::error_code ec) {
                                  to->on_written(ec);
                                }));
  }
  void abort() override {
    boost::system::error_code ignored;
    auto& lowest = beast::get_lowest_layer(ws_);
    if constexpr (requires { lowest.socket(); }) {
      lowest.socket().close(ignored);  // beast::tcp_stream, under TLS
    } else {
      lowest.close(ignored);
    }
  }

 private:
  websocket::stream<NextLayer> ws_;
};

class ws_session : public std::enable_shared_from_this<ws_session>,
                   public rooms::session_sink,
                   public closable,
                   public write_target,
                   public read_target {
 public:
  ws_session(app& a, std::unique_ptr<ws_transport> transport, std::string address_key)
      : app_(a),
        address_key_(std::move(address_key)),
        ws_(std::move(transport)),
        executor_(ws_->get_executor()),
        hello_timer_(executor_),
        close_watchdog_(executor_),
        tokens_(a.config.max_op_burst),
        last_refill_(std::chrono::steady_clock::now()),
        join_tokens_(a.config.max_join_burst) {}

  ~ws_session() override {
    app_.stats.outbound_bytes.fetch_add(-reported_bytes_, std::memory_order_relaxed);
  }

  void start(http::request<http::string_body> req) {
    ++app_.stats.connections;
    ++app_.stats.connections_total;
    app_.add_session(shared_from_this());
    // The handshake has Beast's own timeout; read_cancel_ is the reads' (see abandon()).
    asio::co_spawn(executor_, run(shared_from_this(), std::move(req)), asio::detached);
  }

  // A piece of a message arrived (or the connection ended).
  void on_read(boost::system::error_code ec) override {
    if (ec || closing_ || close_code_) {
      // message_too_big: Beast has already failed the connection with close code 1009.
      cleanup();
      return;
    }
    if (!ws_->is_message_done()) {
      read_next(64 * 1024);
      return;
    }
    if (buffer_.size() > app_.config.max_frame_bytes) {
      buffer_.consume(buffer_.size());
      close(close_too_big, "frame too big");
      cleanup();
      return;
    }
    const bool text = ws_->got_text();
    std::string message = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    if (buffer_.capacity() > 4096) {
      buffer_.shrink_to_fit();  // one large message does not keep its memory for good
    }
    asio::co_spawn(executor_, handle_then_read(shared_from_this(), std::move(message), text),
                   asio::detached);
  }

  // Frames from hubs and the dashboard, on their strands: they wait in the inbox, and one post
  // moves all that gathered meanwhile to the connection's strand (in order).
  void deliver(frame_ptr frame) override { to_inbox(std::move(frame), true); }

  void deliver_snapshot(frame_ptr frame) override { to_inbox(std::move(frame), false); }

  // The end of a write or of the close handshake, on the connection's strand.
  void on_written(boost::system::error_code ec) override {
    writing_ = false;
    const auto frames = queue_.frames_in_write();
    if (frames > 0) {
      app_.stats.frames_written.fetch_add(static_cast<std::int64_t>(frames),
                                          std::memory_order_relaxed);
      app_.stats.delivery_latency.observe(
          std::chrono::duration<double>(outbound_queue::clock::now() - queue_.oldest_in_write())
              .count(),
          frames);
    }
    queue_.written();
    if (ec || close_sent_) {
      write_closed_ = true;
      return;
    }
    pump();
  }

  std::size_t resume_budget() const override { return app_.config.max_outbound_bytes / 2; }

  void join_failed(const std::string& room_id) override {
    asio::post(executor_, [self = shared_from_this(), room_id] {
      auto it = self->rooms_.find(room_id);
      if (it != self->rooms_.end()) {
        self->app_.hubs->release(it->second.hub);
        self->rooms_.erase(it);
      }
    });
  }

  void role_changed(const std::string& room_id, store::role r) override {
    asio::post(executor_, [self = shared_from_this(), room_id, r] {
      auto it = self->rooms_.find(room_id);
      if (it == self->rooms_.end()) {
        return;
      }
      it->second.role = r;
      self->send(json::serialize(
          json::object{{"type", "role"}, {"room", room_id}, {"role", store::to_string(r)}}));
    });
  }

  void access_lost(const std::string& room_id, bool room_deleted) override {
    asio::post(executor_, [self = shared_from_this(), room_id, room_deleted] {
      auto it = self->rooms_.find(room_id);
      if (it == self->rooms_.end()) {
        return;
      }
      self->app_.hubs->release(it->second.hub);
      self->rooms_.erase(it);
      if (room_deleted) {
        self->send(rooms::error_frame("not_found", "this room was deleted", room_id));
      } else {
        self->send(
            rooms::error_frame("forbidden", "you no longer have access to this room", room_id));
      }
    });
  }

  void revoke(const std::string& user_id, std::int64_t version) override {
    asio::post(executor_, [self = shared_from_this(), user_id, version] {
      if (self->user_ && self->user_->user_id == user_id && self->user_->token_version < version) {
        self->close(close_unauthorized, "unauthorized: signed out");
      }
    });
  }

  void close_going_away() override {
    asio::post(executor_, [self = shared_from_this()] {
      self->close(close_going_away_code, "server going away");
    });
  }

 private:
  struct joined_room {
    std::shared_ptr<rooms::room_hub> hub;
    store::role role = store::role::none;
  };

  static awaitable<void> run(std::shared_ptr<ws_session> self,
                             http::request<http::string_body> req) {
    try {
      co_await self->serve(std::move(req));
    } catch (const std::exception& e) {
      spdlog::debug("session ended: {}", e.what());
      self->cleanup();
    }
  }

  // One message at a time, as the client sent them: the next read starts when this one is
  // handled. Between messages no coroutine frame is kept, only the read in progress.
  static awaitable<void> handle_then_read(std::shared_ptr<ws_session> self, std::string message,
                                          bool text) {
    try {
      if (text) {
        co_await self->handle(message);
      } else {
        co_await self->on_invalid_frame("frames must be JSON text");
      }
    } catch (const std::exception& e) {
      spdlog::debug("session ended: {}", e.what());
      self->cleanup();
      co_return;
    }
    self->read_next();
  }

  // Once the session closes, the writer's close reads (and drops) what the peer still sends
  // until its close reply. Reading here as well would let a protocol error in frames already
  // buffered (a ping, then invalid UTF-8) deadlock Beast 1.81's read against that close (see
  // close()); for a close that comes while a read waits here, the watchdog there bounds it.
  // The first piece of a message is small, so that a connection waiting for its next message
  // (most of them, most of the time) holds 256 bytes of buffer rather than Beast's 1.5 KiB.
  void read_next(std::size_t limit = 256) {
    if (close_code_ || closing_) {
      cleanup();
      return;
    }
    ws_->read_some(buffer_, limit, shared_from_this(), read_cancel_.slot());
  }

  awaitable<void> serve(http::request<http::string_body> req) {
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = 30s;
    timeouts.idle_timeout = 60s;  // a ping every 30 s; a peer silent for two is dropped
    timeouts.keep_alive_pings = true;
    // Frames up to the drain limit are read whole and then refused with 1009, so the peer gets
    // the close frame instead of a reset caused by unread data; larger ones are refused from
    // their header alone.
    ws_->set_options(timeouts, std::max(app_.config.max_frame_bytes, drain_limit));
    co_await ws_->accept(req);

    write_started_ = true;
    pump();
    hello_timer_.expires_after(app_.config.hello_timeout);
    hello_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec && !self->user_) {
        self->close(close_unauthorized, "unauthorized: no hello in time");
      }
    });

    read_next();
  }

  // Once, when reading ends: the session leaves its rooms; the writer finishes on its own.
  void cleanup() {
    if (cleaned_up_) {
      return;
    }
    cleaned_up_ = true;
    if (!address_key_.empty()) {
      app_.release_socket(address_key_);
      address_key_.clear();
    }
    if (!user_key_.empty()) {
      app_.release_socket(user_key_);
      user_key_.clear();
    }
    closing_ = true;
    pump();
    hello_timer_.cancel();
    for (auto& [_, r] : rooms_) {
      r.hub->leave(shared_from_this());
      app_.hubs->release(r.hub);
    }
    rooms_.clear();
    app_.dashboard->unwatch(this);
    app_.remove_session(this);
    --app_.stats.connections;
  }

  void to_inbox(frame_ptr frame, bool counted) {
    const auto now = outbound_queue::clock::now();
    bool first = false;
    {
      const std::lock_guard lock(inbox_mutex_);
      first = inbox_.empty();
      inbox_.push_back(inbound{std::move(frame), counted, now});
    }
    if (first) {
      asio::post(executor_, [self = shared_from_this()] { self->take_inbox(); });
    }
  }

  void take_inbox() {
    {
      const std::lock_guard lock(inbox_mutex_);
      inbox_.swap(inbox_taken_);
    }
    for (auto& in : inbox_taken_) {
      enqueue(std::move(in.frame), in.counted, false, in.at);
    }
    inbox_taken_.clear();
    pump();
  }

  // Starts the next write when none is in flight: what is queued goes out (as one batch when
  // the client takes batches), then the close handshake once a close is due and the frames
  // queued before it (the error that caused it, say) are out.
  void pump() {
    report_queued_bytes();
    if (writing_ || write_closed_ || !write_started_) {
      return;
    }
    if (queue_.empty()) {
      if (close_code_ && !close_sent_) {
        close_sent_ = true;
        writing_ = true;
        const websocket::close_reason reason(static_cast<websocket::close_code>(*close_code_),
                                             close_reason_);
        ws_->close(reason, shared_from_this(), write_cancel_.slot());
      } else if (closing_ && !close_code_) {
        write_closed_ = true;  // the connection is gone
      }
      return;
    }
    writing_ = true;
    app_.stats.writes.fetch_add(1, std::memory_order_relaxed);
    const auto buffers = queue_.next_write(batch_);
    report_queued_bytes();
    ws_->write(buffers, shared_from_this());
  }

  // The outbound_bytes gauge follows this queue (counted frames only).
  void report_queued_bytes() {
    const auto now = static_cast<std::int64_t>(queue_.bytes());
    if (now != reported_bytes_) {
      app_.stats.outbound_bytes.fetch_add(now - reported_bytes_, std::memory_order_relaxed);
      reported_bytes_ = now;
    }
  }

  // `counted` frames count towards the slow-consumer limit; a join's snapshot does not.
  void enqueue(frame_ptr frame, bool counted = true, bool start = true,
               outbound_queue::clock::time_point at = outbound_queue::clock::now()) {
    if (closing_ || close_code_) {
      return;
    }
    queue_.push(std::move(frame), counted, at);
    if (queue_.bytes() > app_.config.max_outbound_bytes) {
      // The client resumes with `since`; what it did not get is not lost.
      queue_.clear();
      report_queued_bytes();
      close(close_slow_consumer, "slow consumer: re-join with since");
      return;
    }
    if (start) {
      pump();
    }
  }

  void send(std::string s) { enqueue(make_frame(std::move(s))); }

  void close(std::uint16_t code, std::string reason) {
    if (close_code_ || write_closed_) {
      return;
    }
    close_code_ = code;
    close_reason_ = std::move(reason);
    pump();
    // A peer that does not read cannot block the close handshake for long. Nor can Beast: in
    // Boost 1.81, when the read in progress meets a protocol error (invalid UTF-8, say) in
    // frames already buffered behind a ping while the writer's close is under way, the read
    // waits for the write lock the close holds and the close for the read lock the read holds,
    // and no socket operation is pending. Past the limit the socket is closed and both
    // operations are cancelled.
    close_watchdog_.expires_after(close_handshake_limit);
    close_watchdog_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (auto self = weak.lock(); self && !ec) {
        self->abandon();
      }
    });
  }

  // Ends a session whose close handshake did not end in time: the socket is closed, and the
  // read and the writer, wherever they wait, complete with operation_aborted.
  void abandon() {
    ws_->abort();
    read_cancel_.emit(asio::cancellation_type::terminal);
    write_cancel_.emit(asio::cancellation_type::terminal);
  }

  awaitable<void> on_invalid_frame(std::string_view message) {
    if (!user_) {
      close(close_unauthorized, "unauthorized: the first frame must be hello");
      co_return;
    }
    ++app_.stats.frames_invalid;
    send(rooms::error_frame("invalid", message));
    if (++invalid_in_row_ >= app_.config.max_invalid_in_row) {
      close(close_policy, "too many invalid frames");
    }
  }

  void send_error(std::string_view code, std::string_view message, std::string_view room) {
    if (code == "invalid") {
      ++app_.stats.frames_invalid;
      if (++invalid_in_row_ >= app_.config.max_invalid_in_row) {
        close(close_policy, "too many invalid frames");
        return;
      }
    }
    send(rooms::error_frame(code, message, room));
  }

  void reject(std::string_view room, std::string_view cid, std::string_view code,
              std::string_view message) {
    ++app_.stats.ops_rejected;
    send(rooms::reject_frame(room, cid, code, message));
  }

  awaitable<void> handle(const std::string& text) {
    // core::parse_json reads decimal numbers exactly (as JavaScript does), unlike Boost 1.81.
    auto parsed = core::parse_json(text);
    if (!parsed || !parsed->is_object()) {
      co_await on_invalid_frame("a frame must be one JSON object");
      co_return;
    }
    const auto& msg = parsed->get_object();
    const auto* type_v = msg.if_contains("type");
    if (type_v == nullptr || !type_v->is_string()) {
      co_await on_invalid_frame("a frame needs a string \"type\"");
      co_return;
    }
    const std::string_view type = type_v->get_string();
    if (!user_) {
      if (type != "hello") {
        close(close_unauthorized, "unauthorized: the first frame must be hello");
        co_return;
      }
      co_await on_hello(msg);
      co_return;
    }
    if (type == "op") {
      co_await on_op(msg);
    } else if (type == "join") {
      co_await on_join(msg);
    } else if (type == "leave") {
      on_leave(msg);
    } else if (type == "ping") {
      on_ping(msg);
    } else if (type == "cursor") {
      on_cursor(msg);
    } else if (type == "watch_rooms") {
      co_await on_watch_rooms();
    } else if (type == "unwatch_rooms") {
      app_.dashboard->unwatch(this);
      invalid_in_row_ = 0;
    } else if (type == "hello") {
      send_error("invalid", "hello was already received", {});
    } else {
      const std::string message = "unknown type \"" + std::string(type) + "\"";
      co_await on_invalid_frame(message);
    }
  }

  // A caret or selection in a note field (PROTOCOL.md, Carets); without "note" it is cleared.
  void on_cursor(const json::object& msg) {
    auto room_id = room_field(msg);
    if (!room_id) {
      send_error("invalid", "cursor needs \"room\": a room id", {});
      return;
    }
    const auto it = rooms_.find(*room_id);
    if (it == rooms_.end()) {
      send_error("invalid", "cursor for a room this socket has not joined", *room_id);
      return;
    }
    std::optional<rooms::caret> c;
    if (const auto* n = msg.if_contains("note"); n != nullptr && !n->is_null()) {
      // Offsets are code points into a field, whose text the limits bound far below this.
      constexpr std::int64_t max_offset = std::int64_t{1} << 24;
      auto offset = [&msg](std::string_view key) -> std::optional<std::int64_t> {
        const auto* v = msg.if_contains(key);
        if (v == nullptr || !v->is_int64() || v->get_int64() < 0 || v->get_int64() > max_offset) {
          return std::nullopt;
        }
        return v->get_int64();
      };
      const auto* f = msg.if_contains("field");
      const auto anchor = offset("anchor");
      const auto head = offset("head");
      const auto* seq = msg.if_contains("seq");
      if (!n->is_string() || !core::valid_id(n->get_string()) || f == nullptr || !f->is_string() ||
          (f->get_string() != "title" && f->get_string() != "body") || !anchor || !head ||
          (seq != nullptr && (!seq->is_int64() || seq->get_int64() < 0))) {
        send_error("invalid",
                   "cursor needs \"note\" (a note id), \"field\" (\"title\" or \"body\"), "
                   "\"anchor\" and \"head\" (code point offsets) and \"seq\" (a seq)",
                   *room_id);
        return;
      }
      c = rooms::caret{std::string(n->get_string()), std::string(f->get_string()), *anchor, *head,
                       seq != nullptr ? seq->get_int64() : 0};
    }
    invalid_in_row_ = 0;
    it->second.hub->cursor(shared_from_this(), std::move(c));
  }

  void on_ping(const json::object& msg) {
    json::object pong;
    pong["type"] = "pong";
    if (const auto* t = msg.if_contains("t")) {
      // 1e999 parsed as infinity would go back as `Infinity`, which is not JSON.
      pong["t"] = core::json_compatible(*t);
    }
    invalid_in_row_ = 0;
    send(json::serialize(pong));
  }

  awaitable<void> on_hello(const json::object& msg) {
    const auto* token = msg.if_contains("token");
    std::optional<auth::claims> c;
    if (token != nullptr && token->is_string()) {
      c = app_.tokens->verify(token->get_string());
    }
    if (!c) {
      close(close_unauthorized, "unauthorized");
      co_return;
    }
    // A correctly signed token for an account that does not exist (deleted, or from another
    // instance with the same secret), or from before a sign-out everywhere or a password
    // change, is refused. When the store cannot answer, the signature stands: sessions keep
    // working through a database outage.
    auto job = [&a = app_, claims = *c] { return a.accounts->check(claims); };
    const auto standing = co_await offload(app_.pool, std::move(job));
    if (standing == access::standing::revoked) {
      close(close_unauthorized, "unauthorized: signed out, or no such account");
      co_return;
    }
    if (!app_.admit_socket("u:" + c->user_id, app_.config.max_sockets_per_user)) {
      close(close_policy, "too many connections for this user");
      co_return;
    }
    user_key_ = "u:" + c->user_id;
    user_ = std::move(*c);
    if (const auto* b = msg.if_contains("batch"); b != nullptr && b->is_bool()) {
      batch_ = b->get_bool();
    }
    hello_timer_.cancel();
    json::object welcome;
    welcome["type"] = "welcome";
    welcome["protocol"] = 1;
    welcome["server"] = app_.instance_id;
    if (batch_) {
      welcome["batch"] = true;  // frames may come several to a {"type":"batch"} frame
    }
    welcome["user"] = json::object{{"id", user_->user_id}, {"name", user_->user_name}};
    // The sizes this server enforces, so a client can stop an oversized edit where it is typed
    // instead of learning about it from a reject (docs/protocol.md "Session").
    welcome["limits"] = json::object{
        {"title_bytes", app_.config.op_limits.max_title_bytes},
        {"body_bytes", app_.config.op_limits.max_body_bytes},
        {"frame_bytes", app_.config.max_frame_bytes},
    };
    send(json::serialize(welcome));
  }

  // The "room" field when present and well formed.
  static std::optional<std::string> room_field(const json::object& msg) {
    const auto* r = msg.if_contains("room");
    if (r == nullptr || !r->is_string() || !core::valid_id(r->get_string())) {
      return std::nullopt;
    }
    return std::string(r->get_string());
  }

  awaitable<void> on_join(const json::object& msg) {
    auto room_id = room_field(msg);
    if (!room_id) {
      send_error("invalid", "join needs \"room\": a room id", {});
      co_return;
    }
    std::optional<std::int64_t> since;
    if (const auto* s = msg.if_contains("since"); s != nullptr && !s->is_null()) {
      if (s->is_int64() && s->get_int64() >= 0) {
        since = s->get_int64();
      } else if (s->is_uint64()) {
        since = std::numeric_limits<std::int64_t>::max();
      } else {
        send_error("invalid", "\"since\" must be a non-negative integer", *room_id);
        co_return;
      }
    }
    // The client's ops in doubt (sent, never echoed, before its last connection died).
    std::vector<std::string> in_doubt;
    if (const auto* d = msg.if_contains("in_doubt"); d != nullptr && !d->is_null()) {
      const auto* cids = d->if_array();
      bool ok = cids != nullptr && cids->size() <= max_in_doubt;
      for (std::size_t i = 0; ok && i < cids->size(); ++i) {
        ok = (*cids)[i].is_string() && core::valid_id((*cids)[i].get_string());
        if (ok) {
          in_doubt.emplace_back((*cids)[i].get_string());
        }
      }
      if (!ok) {
        send_error(
            "invalid",
            "\"in_doubt\" must be an array of at most " + std::to_string(max_in_doubt) + " cids",
            *room_id);
        co_return;
      }
    }
    if (!take_join_token()) {
      send_error("rate_limited", "too many joins: slow down and retry", *room_id);
      co_return;
    }
    if (rooms_.count(*room_id) == 0 && rooms_.size() >= app_.config.max_rooms_per_connection) {
      send_error("invalid", "too many rooms joined on this connection", *room_id);
      co_return;
    }
    access::grant g;
    try {
      auto job = [&a = app_, room = *room_id, uid = user_->user_id] {
        return a.access->join(room, uid);
      };  // named: g++ 12 destroys a temporary lambda in a co_await twice (see async.hpp)
      g = co_await offload(app_.pool, std::move(job));
    } catch (const access::denied& d) {
      invalid_in_row_ = 0;
      send_error(d.code, d.message, *room_id);
      co_return;
    } catch (const std::exception& e) {
      send_error("unavailable", "storage is unavailable, try again", *room_id);
      co_return;
    }
    invalid_in_row_ = 0;
    enter_room(*room_id, g, since, std::move(in_doubt));
  }

  void enter_room(const std::string& room_id, const access::grant& g,
                  std::optional<std::int64_t> since, std::vector<std::string> in_doubt = {}) {
    auto& entry = rooms_[room_id];
    if (!entry.hub) {
      entry.hub = app_.hubs->acquire(room_id);
    }
    entry.role = g.role;
    rooms::member_info who;
    who.user_id = user_->user_id;
    who.user_name = user_->user_name;
    who.role = g.role;
    who.member_role = g.member_role;
    entry.hub->join(shared_from_this(), std::move(who), since, std::move(in_doubt));
  }

  void on_leave(const json::object& msg) {
    auto room_id = room_field(msg);
    if (!room_id) {
      send_error("invalid", "leave needs \"room\": a room id", {});
      return;
    }
    invalid_in_row_ = 0;
    auto it = rooms_.find(*room_id);
    if (it == rooms_.end()) {
      return;
    }
    it->second.hub->leave(shared_from_this());
    app_.hubs->release(it->second.hub);
    rooms_.erase(it);
  }

  // Joins: a token bucket of their own (max_join_rate, max_join_burst).
  bool take_join_token() {
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - last_join_refill_).count();
    last_join_refill_ = now;
    join_tokens_ =
        std::min(app_.config.max_join_burst, join_tokens_ + elapsed * app_.config.max_join_rate);
    if (join_tokens_ < 1.0) {
      return false;
    }
    join_tokens_ -= 1.0;
    return true;
  }

  // Token bucket: refills at max_op_rate up to max_op_burst.
  bool take_token() {
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - last_refill_).count();
    last_refill_ = now;
    tokens_ = std::min(app_.config.max_op_burst, tokens_ + elapsed * app_.config.max_op_rate);
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      return true;
    }
    // "Stays over the limit": refused again and again with no pause of a second between the
    // refusals. A client sending a little over the rate gets a token now and then, so a token
    // granted does not end the episode; only a quiet second does.
    if (!over_limit_since_ || now - last_refused_ > std::chrono::seconds(1)) {
      over_limit_since_ = now;
    }
    last_refused_ = now;
    if (now - *over_limit_since_ >= app_.config.rate_limit_close_after) {
      close(close_rate_limited, "rate limited");
    }
    return false;
  }

  awaitable<void> on_op(const json::object& msg) {
    const auto* cid_v = msg.if_contains("cid");
    if (cid_v == nullptr || !cid_v->is_string() || cid_v->get_string().empty() ||
        cid_v->get_string().size() > 128) {
      send_error("invalid", "an op needs \"cid\": a string of 1-128 bytes", {});
      co_return;
    }
    invalid_in_row_ = 0;
    const std::string cid(cid_v->get_string());
    const auto* room_v = msg.if_contains("room");
    const std::string room_id =
        room_v != nullptr && room_v->is_string() ? std::string(room_v->get_string()) : "";
    if (!core::valid_id(room_id)) {
      reject(room_id, cid, "invalid", "an op needs \"room\": a room id");
      co_return;
    }
    if (!take_token()) {
      reject(room_id, cid, "rate_limited", "too many ops: slow down and retry");
      co_return;
    }
    auto joined = rooms_.find(room_id);
    if (joined == rooms_.end()) {
      store::role r = store::role::none;
      auto job = [&a = app_, room_id, uid = user_->user_id] {
        return a.access->role_in(room_id, uid);
      };
      try {
        r = co_await offload(app_.pool, std::move(job));
      } catch (const std::exception&) {
        reject(room_id, cid, "unavailable", "storage is unavailable, try again");
        co_return;
      }
      if (r == store::role::none) {
        reject(room_id, cid, "forbidden", "you are not a member of this room");
      } else {
        reject(room_id, cid, "invalid", "join the room before sending ops");
      }
      co_return;
    }
    if (!access::at_least(joined->second.role, store::role::editor)) {
      reject(room_id, cid, "forbidden", "viewers cannot change notes");
      co_return;
    }
    const auto* op_v = msg.if_contains("op");
    if (op_v == nullptr) {
      reject(room_id, cid, "invalid", "an op message needs \"op\"");
      co_return;
    }
    auto parsed = core::parse_op(*op_v, app_.config.op_limits);
    if (!parsed) {
      reject(room_id, cid, parsed.err().code, parsed.err().message);
      co_return;
    }
    if (std::holds_alternative<core::create_op>(*parsed) &&
        joined->second.hub->note_count() >= app_.config.max_notes_per_room) {
      reject(room_id, cid, "too_large",
             "the room is full (" + std::to_string(app_.config.max_notes_per_room) + " notes)");
      co_return;
    }
    if (auto* text = std::get_if<core::text_edit_op>(&*parsed)) {
      // Awaited, so that the ops of one socket are still appended in the order it sent them.
      // References into this frame: it outlives the awaited call.
      const auto hub = joined->second.hub;
      co_await append_text(room_id, cid, *text, hub);
      co_return;
    }
    append(room_id, cid, *parsed, joined->second.hub->seq());
  }

  // A text op: the hub transforms it past the text ops of its field the client had not seen,
  // and the log numbers it only while that field is still as the hub saw it (the guard). When
  // another server changed the field first, wait until this hub has that change and transform
  // again.
  awaitable<void> append_text(const std::string& room_id, const std::string& cid,
                              const core::text_edit_op& op,
                              const std::shared_ptr<rooms::room_hub>& hub) {
    std::int64_t min_seq = 0;
    for (int attempt = 1;; ++attempt) {
      core::text_edit_op attempt_op = op;
      auto attempt_hub = hub;
      rooms::text_prepared p = co_await prepare_on_hub(
          std::move(attempt_hub), std::move(attempt_op), rooms::text_origin(user_->user_id, cid),
          min_seq, app_.config.op_limits);
      if (p.code == "duplicate") {
        // Resent in doubt, and the first copy was numbered: numbering it again would insert
        // its text twice. Above the resend's base the first copy reaches the client in its
        // stream, which acknowledges it; at or below, the client already holds it in its
        // state without having seen its echo (it re-joined with a snapshot): `duplicate`
        // tells it to drop the op.
        if (p.seen_seq <= op.base) {
          reject(room_id, cid, "duplicate", p.message);
        }
        co_return;
      }
      if (!p.code.empty()) {
        reject(room_id, cid, p.code, p.message);
        co_return;
      }
      const std::string key = store::field_key(p.op.id, core::field_name(p.op.field));
      const core::op transformed{std::move(p.op)};
      auto parts = rooms::op_frame(room_id, cid, user_->user_id,
                                   core::format_time(core::now_millis()), transformed);
      store::append_request request;
      request.room_id = room_id;
      request.frame_prefix = std::move(parts.prefix);
      request.frame_suffix = std::move(parts.suffix);
      request.known_seq = hub->seq();
      request.guard = store::field_guard{key, p.seen_seq};
      request.touched_fields = {key};
      const auto asked = std::chrono::steady_clock::now();
      append_outcome r = co_await append_on_log(*app_.hot, std::move(request));
      app_.stats.append_latency.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count());
      if (r->ok()) {
        ++app_.stats.ops_appended;
        co_return;
      }
      if (r->err().code != store::stale_code) {
        reject(room_id, cid, "unavailable", "the op log is unavailable: " + r->err().message);
        co_return;
      }
      if (attempt == max_text_attempts) {
        reject(room_id, cid, "conflict", "the field kept changing: rebase and retry");
        co_return;
      }
      min_seq = store::stale_field_seq(r->err());
    }
  }

  void append(const std::string& room_id, const std::string& cid, const core::op& o,
              std::int64_t known_seq) {
    auto parts =
        rooms::op_frame(room_id, cid, user_->user_id, core::format_time(core::now_millis()), o);
    store::append_request request;
    request.room_id = room_id;
    request.frame_prefix = std::move(parts.prefix);
    request.frame_suffix = std::move(parts.suffix);
    request.known_seq = known_seq;
    request.touched_fields = touched_fields(o);
    app_.hot->append(std::move(request), [self = shared_from_this(), room_id, cid,
                                          asked = std::chrono::steady_clock::now()](
                                             core::result<store::append_result> r) {
      self->app_.stats.append_latency.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count());
      if (!r) {
        asio::post(self->executor_, [self, room_id, cid, message = r.err().message] {
          self->reject(room_id, cid, "unavailable", "the op log is unavailable: " + message);
        });
        return;
      }
      ++self->app_.stats.ops_appended;
    });
  }

  awaitable<void> on_watch_rooms() {
    std::vector<access::listed_room> listing;
    auto job = [&a = app_, uid = user_->user_id] { return a.access->dashboard_rooms(uid); };
    try {
      listing = co_await offload(app_.pool, std::move(job));
    } catch (const std::exception&) {
      send_error("unavailable", "storage is unavailable, try again", {});
      co_return;
    }
    invalid_in_row_ = 0;
    app_.dashboard->watch(shared_from_this(), user_->user_id, listing);
  }

  app& app_;
  std::string address_key_;  // released when the session ends
  std::string user_key_;
  // Bound to the read loop and the writer, for abandon(); they outlive the stream, whose
  // operations hold their slots.
  asio::cancellation_signal read_cancel_;
  asio::cancellation_signal write_cancel_;
  std::unique_ptr<ws_transport> ws_;
  ws_transport::executor_type executor_;  // the connection's strand
  asio::steady_timer hello_timer_;
  asio::steady_timer close_watchdog_;
  struct inbound {
    frame_ptr frame;
    bool counted = false;
    outbound_queue::clock::time_point at{};
  };
  std::mutex inbox_mutex_;
  std::vector<inbound> inbox_;
  std::vector<inbound> inbox_taken_;
  outbound_queue queue_;
  std::int64_t reported_bytes_ = 0;  // this queue's part of stats.outbound_bytes
  bool batch_ = false;               // the client takes {"type":"batch"} frames
  bool cleaned_up_ = false;
  beast::flat_buffer buffer_;  // the message being read
  bool write_started_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool write_closed_ = false;
  bool close_sent_ = false;
  std::optional<std::uint16_t> close_code_;
  std::string close_reason_;

  std::optional<auth::claims> user_;
  std::map<std::string, joined_room> rooms_;
  int invalid_in_row_ = 0;
  double tokens_;
  std::chrono::steady_clock::time_point last_refill_;
  double join_tokens_;
  std::chrono::steady_clock::time_point last_join_refill_ = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> over_limit_since_;
  std::chrono::steady_clock::time_point last_refused_{};
};

}  // namespace

void start_ws_session(app& a, beast::tcp_stream stream, http::request<http::string_body> request,
                      std::string address_key) {
  // A bare socket under the WebSocket: the session bounds its close handshake itself, so the
  // per-operation timer bookkeeping of beast::tcp_stream is not needed on the hot path.
  auto session = std::make_shared<ws_session>(
      a, std::make_unique<ws_transport_of<tcp::socket>>(stream.release_socket()),
      std::move(address_key));
  session->start(std::move(request));
}

void start_ws_session(app& a, beast::ssl_stream<beast::tcp_stream> stream,
                      http::request<http::string_body> request, std::string address_key) {
  using tls_stream = beast::ssl_stream<beast::tcp_stream>;
  beast::get_lowest_layer(stream).expires_never();  // the WebSocket's own timeouts rule
  auto session = std::make_shared<ws_session>(
      a, std::make_unique<ws_transport_of<tls_stream>>(std::move(stream)), std::move(address_key));
  session->start(std::move(request));
}

}  // namespace fun_notes::server::net

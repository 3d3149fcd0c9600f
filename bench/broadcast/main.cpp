// fun-notes-broadcast: the ceiling for fan-out in bench/compare.sh. A bare WebSocket relay with
// no storage and no auth: a client's first frame {"room":"<name>"} puts it in a room, and every
// later frame is relayed unchanged to the room's other members.
//
// One io_context per thread (a shard); a session lives on one shard. A frame is copied once
// into a shared_ptr<const std::string> that every recipient's write queue holds; the sender's
// shard delivers it to its own members and posts it once to each other shard, which delivers it
// to theirs. Rooms are per process.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using frame_ptr = std::shared_ptr<const std::string>;

// A recipient this far behind is dropped rather than buffered without bound.
constexpr std::size_t max_queued_frames = 4096;

class session;

struct shard {
  asio::io_context ioc{1};
  std::vector<shard*>* all = nullptr;
  std::unordered_map<std::string, std::vector<session*>> rooms;  // only this shard's sessions

  void deliver(const std::string& room, const frame_ptr& frame, const session* from);
  // Delivers here and on every other shard (their members of the room, if any).
  void broadcast(const std::shared_ptr<const std::string>& room, const frame_ptr& frame,
                 const session* from) {
    deliver(*room, frame, from);
    for (shard* other : *all) {
      if (other != this) {
        asio::post(other->ioc, [other, room, frame] { other->deliver(*room, frame, nullptr); });
      }
    }
  }
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, shard& home) : ws_(std::move(socket)), home_(home) {}
  ~session() { leave(); }

  void start() {
    error_code ec;
    ws_.next_layer().set_option(tcp::no_delay(true), ec);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.auto_fragment(false);
    ws_.read_message_max(1 << 20);
    ws_.async_accept([self = shared_from_this()](error_code e) {
      if (!e) {
        self->read();
      }
    });
  }

  // On the home shard's thread.
  void send(const frame_ptr& frame) {
    if (dropped_) {
      return;
    }
    if (queue_.size() >= max_queued_frames) {
      // The pending read fails and the session ends (and leaves its room) from there, not
      // here in the middle of a delivery loop over the room.
      dropped_ = true;
      error_code ec;
      ws_.next_layer().close(ec);
      return;
    }
    queue_.push_back(frame);
    if (queue_.size() == 1) {
      write();
    }
  }

 private:
  void read() {
    ws_.async_read(buffer_,
                   [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (ec) {
      return leave();
    }
    const auto data = buffer_.cdata();
    const std::string_view text(static_cast<const char*>(data.data()), data.size());
    if (!room_) {
      if (!join(text)) {
        return;  // not a room frame: the session ends
      }
    } else {
      home_.broadcast(room_, std::make_shared<const std::string>(text), this);
    }
    buffer_.consume(buffer_.size());
    read();
  }

  bool join(std::string_view text) {
    error_code ec;
    const auto v = boost::json::parse(text, ec);
    const auto* room = !ec && v.is_object() ? v.get_object().if_contains("room") : nullptr;
    if (room == nullptr || !room->is_string()) {
      return false;
    }
    room_ = std::make_shared<const std::string>(room->get_string());
    home_.rooms[*room_].push_back(this);
    return true;
  }

  void leave() {
    if (!room_ || left_) {
      return;
    }
    left_ = true;
    auto it = home_.rooms.find(*room_);
    if (it == home_.rooms.end()) {
      return;
    }
    auto& members = it->second;
    std::erase(members, this);
    if (members.empty()) {
      home_.rooms.erase(it);
    }
  }

  void write() {
    ws_.text(true);
    ws_.async_write(asio::buffer(*queue_.front()),
                    [self = shared_from_this()](error_code ec, std::size_t) {
                      if (ec) {
                        return self->leave();  // the read fails too and ends the session
                      }
                      self->queue_.pop_front();
                      if (!self->queue_.empty()) {
                        self->write();
                      }
                    });
  }

  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
  shard& home_;
  std::shared_ptr<const std::string> room_;
  bool left_ = false;
  bool dropped_ = false;
  std::deque<frame_ptr> queue_;
};

void shard::deliver(const std::string& room, const frame_ptr& frame, const session* from) {
  const auto it = rooms.find(room);
  if (it == rooms.end()) {
    return;
  }
  for (session* s : it->second) {
    if (s != from) {
      s->send(frame);
    }
  }
}

// Accepts on the first shard and hands sockets to the shards in turn.
class listener {
 public:
  listener(std::vector<shard*>& shards, tcp::endpoint ep)
      : shards_(shards), acceptor_(shards.front()->ioc, ep) {}

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void accept() {
    shard& next = *shards_[next_++ % shards_.size()];
    acceptor_.async_accept(next.ioc, [this, &next](error_code ec, tcp::socket socket) {
      if (!ec) {
        auto s = std::make_shared<session>(std::move(socket), next);
        asio::post(next.ioc, [s] { s->start(); });
      }
      accept();
    });
  }

 private:
  std::vector<shard*>& shards_;
  tcp::acceptor acceptor_;
  std::size_t next_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::uint16_t port = 0;
  int threads = 1;
  std::string host = "127.0.0.1";
  CLI::App cli{"fun-notes-broadcast: a bare WebSocket room relay, the fan-out ceiling"};
  cli.add_option("--port", port, "Port to listen on (0: any; the port is printed)");
  cli.add_option("--host", host, "Address to listen on");
  cli.add_option("--threads", threads, "Threads, one io_context each")->check(CLI::Range(1, 256));
  CLI11_PARSE(cli, argc, argv);

  std::vector<std::unique_ptr<shard>> owned;
  std::vector<shard*> shards;
  for (int i = 0; i < threads; ++i) {
    owned.push_back(std::make_unique<shard>());
    shards.push_back(owned.back().get());
  }
  for (auto* s : shards) {
    s->all = &shards;
  }
  try {
    listener l(shards, tcp::endpoint{asio::ip::make_address(host), port});
    l.accept();
    std::printf("fun-notes-broadcast: listening on %s:%u with %d threads\n", host.c_str(), l.port(),
                threads);
    std::fflush(stdout);

    asio::signal_set signals(shards.front()->ioc, SIGINT, SIGTERM);
    signals.async_wait([&](error_code, int) {
      for (auto* s : shards) {
        s->ioc.stop();
      }
    });
    std::vector<std::thread> pool;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
    for (auto* s : shards) {
      work.push_back(asio::make_work_guard(s->ioc));
    }
    for (std::size_t i = 1; i < shards.size(); ++i) {
      pool.emplace_back([s = shards[i]] { s->ioc.run(); });
    }
    shards.front()->ioc.run();
    for (auto* s : shards) {
      s->ioc.stop();
    }
    for (auto& t : pool) {
      t.join();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fun-notes-broadcast: %s\n", e.what());
    return 1;
  }
  return 0;
}

// The servers fun-notes is compared with (bench/peers/README.md) and the broadcast ceiling:
// Socket.IO (Engine.IO v4 over a raw WebSocket), ShareDB's wire protocol, and
// fun-notes-broadcast's relay.
#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "adapter.hpp"
#include "fun_notes_test.hpp"

namespace fun_notes::load {
namespace {

namespace json = boost::json;

// POST /bench/seed {room, notes, ops} for every room, on the endpoint of the room's first
// member, a few at a time.
void seed_over_http(const options& o, int notes, int ops) {
  std::atomic<int> next{0};
  std::mutex mutex;
  std::string failure;
  std::vector<std::thread> pool;
  for (int t = 0; t < std::min(4, o.rooms); ++t) {
    pool.emplace_back([&] {
      for (int r = next++; r < o.rooms; r = next++) {
        const json::object body{{"room", peer_room_name(r)}, {"notes", notes}, {"ops", ops}};
        std::string why;
        try {
          const auto res =
              test::http_request(o.endpoint_of(r, 0).port, "POST", "/bench/seed", body);
          if (res.status != 200) {
            why = "HTTP " + std::to_string(res.status) + " " + res.body;
          }
        } catch (const std::exception& e) {
          why = e.what();
        }
        if (!why.empty()) {
          std::lock_guard lock(mutex);
          failure = "POST /bench/seed for " + peer_room_name(r) + ": " + why;
          next = o.rooms;
        }
      }
    });
  }
  for (auto& t : pool) {
    t.join();
  }
  if (!failure.empty()) {
    throw std::runtime_error(failure);
  }
}

// The note a typist types into (one each, so the peers' per-note write-behind sees every
// typist) and the op key it carries.
std::string note_of(const client_spec& spec) {
  return "n" + std::to_string(spec.member);
}

// ---------------------------------------------------------------------------------------------
// Socket.IO

class socketio_client final : public client, public ws_events {
 public:
  explicit socketio_client(const client_spec& spec) : client(spec) {}

  void start() override {
    ws_ =
        spec_.loop->connect(spec_.ep, spec_.source, "/socket.io/?EIO=4&transport=websocket", *this);
  }

  bool send_op(const op_ref& op) override {
    if (!joined_ || acks_.size() >= 1024) {
      return false;
    }
    const std::uint32_t id = next_ack_++;
    acks_.emplace_back(id, op);
    ws_->send("42" + std::to_string(id) + R"(["op",{"k":")" + encode_op_key(op) + R"(","note":")" +
              note_of(spec_) + R"(","text":"x"}])");
    return true;
  }

  void on_open() override {}

  void on_frame(std::string_view text, clock::time_point at) override {
    if (text.starts_with("42[")) {
      op_ref r;
      if (const auto k = scan_string(text, "k"); k && decode_op_key(*k, r)) {
        return spec_.events->on_delivery(*this, r, at);
      }
      return;  // another event
    }
    if (text.starts_with("43")) {
      return on_ack(text.substr(2), at);
    }
    if (text == "2") {
      ws_->send("3");
    } else if (text.starts_with("0{")) {
      ws_->send(R"(40{"room":")" + peer_room_name(spec_.room) + R"(","user":"u)" +
                std::to_string(spec_.id) + R"("})");
    } else if (text.starts_with("40")) {
      joined_ = true;
      if (spec_.wants_state) {
        join_ack_ = next_ack_++;
        ws_->send("42" + std::to_string(join_ack_) + R"(["join",{}])");
      } else {
        spec_.events->on_ready(*this, at);
      }
    } else if (text.starts_with("44")) {
      fail("connect refused: " + std::string(text.substr(2)));
    } else if (text.starts_with("41") || text == "1") {
      fail("disconnected by the server");
    }
  }

  void on_closed(const std::string& why) override {
    joined_ = false;
    spec_.events->on_failed(*this, why);
  }

 private:
  void fail(const std::string& why) {
    joined_ = false;
    ws_.reset();
    spec_.events->on_failed(*this, why);
  }

  void on_ack(std::string_view rest, clock::time_point at) {
    std::uint32_t id = 0;
    const auto r = std::from_chars(rest.data(), rest.data() + rest.size(), id);
    if (r.ec != std::errc{}) {
      return spec_.events->on_error(*this, "an ack without an id");
    }
    const std::string_view payload(r.ptr,
                                   static_cast<std::size_t>(rest.data() + rest.size() - r.ptr));
    if (join_ack_ != 0 && id == join_ack_) {
      join_ack_ = 0;
      if (payload.find("\"notes\"") == std::string_view::npos) {
        return fail("join refused: " + std::string(payload));
      }
      return spec_.events->on_ready(*this, at);
    }
    const auto it =
        std::find_if(acks_.begin(), acks_.end(), [id](const auto& a) { return a.first == id; });
    if (it == acks_.end()) {
      return spec_.events->on_error(*this, "an ack for no op");
    }
    const op_ref op = it->second;
    acks_.erase(it);
    if (payload.find("\"ok\":true") == std::string_view::npos) {
      return spec_.events->on_error(*this, "op refused: " + std::string(payload));
    }
    spec_.events->on_ack(*this, op, at);
  }

  std::unique_ptr<ws_socket> ws_;
  bool joined_ = false;
  std::uint32_t next_ack_ = 1;
  std::uint32_t join_ack_ = 0;
  std::deque<std::pair<std::uint32_t, op_ref>> acks_;
};

class socketio_adapter final : public adapter {
 public:
  void prepare(const options&) override {}
  void seed(const options& o, const std::vector<event_loop*>&, int notes, int ops) override {
    seed_over_http(o, notes, ops);
  }
  std::unique_ptr<client> make_client(const client_spec& spec) override {
    return std::make_unique<socketio_client>(spec);
  }
};

// ---------------------------------------------------------------------------------------------
// ShareDB

class sharedb_adapter;

// Op submissions carry (src, seq), which the server assigns (src) and the client counts (seq),
// so a receiver finds the sender through the adapter's registry and the send time in the
// sender's ring of recent sends.
class sharedb_client final : public client, public ws_events {
 public:
  static constexpr std::size_t ring_size = 1024;

  sharedb_client(const client_spec& spec, sharedb_adapter& a) : client(spec), adapter_(a) {
    if (spec.role == client_role::typist) {
      sent_ = std::make_unique<std::array<std::atomic<std::int64_t>, ring_size>>();
    }
  }

  void start() override { ws_ = spec_.loop->connect(spec_.ep, spec_.source, "/", *this); }

  bool send_op(const op_ref& op) override {
    // A ShareDB client has one op in flight and waits for its ack.
    if (!subscribed_ || in_flight_ || !sent_) {
      return false;
    }
    in_flight_ = true;
    in_flight_op_ = op;
    (*sent_)[op.n % ring_size].store(op.sent_ns, std::memory_order_release);
    ws_->send(R"({"a":"op","c":"rooms","d":")" + peer_room_name(spec_.room) + R"(","v":)" +
              std::to_string(v_) + R"(,"src":)" + src_json_ + R"(,"seq":)" + std::to_string(op.n) +
              R"(,"op":[{"p":["notes",")" + note_of(spec_) + R"(","body",0],"si":"x"}]})");
    return true;
  }

  // The send time of this client's op `seq`, for a receiver on any thread.
  std::int64_t sent_ns(std::uint32_t seq) const {
    return sent_ ? (*sent_)[seq % ring_size].load(std::memory_order_acquire) : 0;
  }

  void on_open() override { ws_->send(R"({"a":"hs","id":null,"protocol":1,"protocolMinor":2})"); }

  void on_frame(std::string_view text, clock::time_point at) override;

  void on_closed(const std::string& why) override {
    subscribed_ = false;
    spec_.events->on_failed(*this, why);
  }

 private:
  void fail(const std::string& why) {
    subscribed_ = false;
    ws_.reset();
    spec_.events->on_failed(*this, why);
  }

  sharedb_adapter& adapter_;
  std::unique_ptr<ws_socket> ws_;
  std::unique_ptr<std::array<std::atomic<std::int64_t>, ring_size>> sent_;
  std::string src_;
  std::string src_json_;
  bool subscribed_ = false;
  bool in_flight_ = false;
  op_ref in_flight_op_;
  std::int64_t v_ = 0;
};

class sharedb_adapter final : public adapter {
 public:
  void prepare(const options&) override {}
  void seed(const options& o, const std::vector<event_loop*>&, int notes, int ops) override {
    // Typists edit notes n0..n<typists-1> of the room's document: a json0 op on a path that
    // does not exist fails, so they must be there (and the document too).
    if (o.workload == workload_kind::typing) {
      notes = std::max(notes, std::max(o.typists, 1));
    }
    seed_over_http(o, notes, ops);
  }
  std::unique_ptr<client> make_client(const client_spec& spec) override {
    return std::make_unique<sharedb_client>(spec, *this);
  }

  void enrol(const std::string& src, sharedb_client* c) {
    std::unique_lock lock(mutex_);
    by_src_[src] = c;
  }
  const sharedb_client* find(std::string_view src) const {
    std::shared_lock lock(mutex_);
    const auto it = by_src_.find(std::string(src));
    return it == by_src_.end() ? nullptr : it->second;
  }

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, sharedb_client*> by_src_;
};

void sharedb_client::on_frame(std::string_view text, clock::time_point at) {
  json::error_code ec;
  const auto v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return spec_.events->on_error(*this, "a frame that is not a JSON object");
  }
  const auto& m = v.get_object();
  const auto* a = m.if_contains("a");
  if (a == nullptr || !a->is_string()) {
    return;
  }
  const std::string_view action = a->get_string();
  const auto* error = m.if_contains("error");
  if (action == "op") {
    const auto* src = m.if_contains("src");
    const auto* seq = m.if_contains("seq");
    const auto* ver = m.if_contains("v");
    if (error != nullptr && !error->is_null()) {
      in_flight_ = false;
      return spec_.events->on_error(*this, "op refused: " + json::serialize(*error));
    }
    if (src == nullptr || !src->is_string() || seq == nullptr || !seq->is_number() ||
        ver == nullptr || !ver->is_number()) {
      return spec_.events->on_error(*this, "an op without src, seq or v");
    }
    const auto version = ver->to_number<std::int64_t>();
    const auto n = seq->to_number<std::uint32_t>();
    if (!m.contains("op")) {
      if (src->get_string() != src_ || !in_flight_ || n != in_flight_op_.n) {
        return spec_.events->on_error(*this, "an ack for no op in flight");
      }
      v_ = std::max(v_, version + 1);
      in_flight_ = false;
      return spec_.events->on_ack(*this, in_flight_op_, at);
    }
    // A submit made on an older version gets the ops it missed again before its ack, ops the
    // subscription may have brought already: count each version once.
    if (version < v_) {
      return;
    }
    v_ = version + 1;
    const auto* sender = adapter_.find(src->get_string());
    if (sender == nullptr) {
      return;  // not one of ours (a seed)
    }
    const op_ref r{sender->spec().id, n, sender->sent_ns(n)};
    return spec_.events->on_delivery(*this, r, at);
  }
  if (action == "hs") {
    if (error != nullptr && !error->is_null()) {
      return fail("handshake refused: " + json::serialize(*error));
    }
    const auto* id = m.if_contains("id");
    if (id == nullptr || !id->is_string()) {
      return fail("a handshake without a client id");
    }
    src_ = std::string(id->get_string());
    src_json_ = json::serialize(*id);
    adapter_.enrol(src_, this);
    ws_->send(R"({"a":"s","c":"rooms","d":")" + peer_room_name(spec_.room) + R"("})");
  } else if (action == "s") {
    if (error != nullptr && !error->is_null()) {
      return fail("subscribe refused: " + json::serialize(*error));
    }
    const auto* data = m.if_contains("data");
    if (data != nullptr && data->is_object()) {
      if (const auto* ver = data->get_object().if_contains("v"); ver && ver->is_number()) {
        v_ = ver->to_number<std::int64_t>();
      }
    }
    subscribed_ = true;
    spec_.events->on_ready(*this, at);
  }
  // init (the legacy greeting), presence, queries: not used
}

// ---------------------------------------------------------------------------------------------
// fun-notes-broadcast: the first frame names the room, every later one is relayed as it is.

class broadcast_client final : public client, public ws_events {
 public:
  explicit broadcast_client(const client_spec& spec) : client(spec) {}

  void start() override { ws_ = spec_.loop->connect(spec_.ep, spec_.source, "/", *this); }

  bool send_op(const op_ref& op) override {
    if (!open_) {
      return false;
    }
    ws_->send(R"({"k":")" + encode_op_key(op) + R"(","note":")" + note_of(spec_) +
              R"(","text":"x"})");
    return true;
  }

  void on_open() override {
    open_ = true;
    ws_->send(R"({"room":")" + peer_room_name(spec_.room) + R"("})");
    spec_.events->on_ready(*this, clock::now());
  }

  void on_frame(std::string_view text, clock::time_point at) override {
    op_ref r;
    if (const auto k = scan_string(text, "k"); k && decode_op_key(*k, r)) {
      spec_.events->on_delivery(*this, r, at);
    }
  }

  void on_closed(const std::string& why) override {
    open_ = false;
    spec_.events->on_failed(*this, why);
  }

 private:
  std::unique_ptr<ws_socket> ws_;
  bool open_ = false;
};

class broadcast_adapter final : public adapter {
 public:
  void prepare(const options&) override {}
  void seed(const options&, const std::vector<event_loop*>&, int, int) override {}
  std::unique_ptr<client> make_client(const client_spec& spec) override {
    return std::make_unique<broadcast_client>(spec);
  }
  bool has_acks() const override { return false; }
};

}  // namespace

std::unique_ptr<adapter> make_socketio_adapter() {
  return std::make_unique<socketio_adapter>();
}
std::unique_ptr<adapter> make_sharedb_adapter() {
  return std::make_unique<sharedb_adapter>();
}
std::unique_ptr<adapter> make_broadcast_adapter() {
  return std::make_unique<broadcast_adapter>();
}

}  // namespace fun_notes::load

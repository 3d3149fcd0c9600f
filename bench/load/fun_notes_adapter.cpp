// fun-notes-server through its real protocol (docs/protocol.md): accounts and link rooms over
// HTTP, then WebSocket hello, join, and text ops on a note of the typist's own.
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "adapter.hpp"
#include "fun_notes_test.hpp"

namespace fun_notes::load {
namespace {

namespace json = boost::json;

// Unacknowledged text ops per typist: the server transforms an op against the ones numbered
// after its base and keeps the last 256 per field, far more than this.
constexpr std::size_t text_window = 64;
// A typist's note body stays between these lengths: it types to the upper one, then deletes
// from the front down to the lower one, like someone typing and cutting.
constexpr std::int64_t body_high = 256;
constexpr std::int64_t body_low = 128;
constexpr int seed_window = 100;
constexpr int max_users = 16;

std::string json_quote(std::string_view s) {
  return json::serialize(json::value(json::string_view(s.data(), s.size())));
}

class fun_notes_adapter;

class fun_notes_client final : public client, public ws_events {
 public:
  fun_notes_client(const client_spec& spec, const std::string& room_id, const std::string& token,
                   int seed_notes, int seed_ops)
      : client(spec),
        room_json_(json_quote(room_id)),
        token_(token),
        seed_notes_(seed_notes),
        seed_ops_(seed_ops) {}

  void start() override { ws_ = spec_.loop->connect(spec_.ep, spec_.source, "/ws", *this); }

  bool send_op(const op_ref& op) override {
    if (phase_ != phase::ready || spec_.role != client_role::typist ||
        in_flight_.size() >= text_window) {
      return false;
    }
    const std::int64_t projected =
        length_ + static_cast<std::int64_t>(inserts_) - static_cast<std::int64_t>(deletes_);
    if (cutting_ && projected <= body_low) {
      cutting_ = false;
    } else if (!cutting_ && projected >= body_high) {
      cutting_ = true;
    }
    // In-flight deletes take the first characters (of the text at their own base); this one
    // takes the next, so no two of them aim at the same character.
    const auto at = static_cast<std::int64_t>(deletes_);
    const bool cut = cutting_ && at < length_;
    std::string ops = "[";
    if (cut) {
      if (at > 0) {
        ops += std::to_string(at) + ",";
      }
      ops += "-1";
      if (length_ - at - 1 > 0) {
        ops += "," + std::to_string(length_ - at - 1);
      }
    } else {
      if (length_ > 0) {
        ops += std::to_string(length_) + ",";
      }
      ops += "\"x\"";
    }
    ops += "]";
    std::string frame = R"({"type":"op","room":)" + room_json_ + R"(,"cid":")" + encode_op_key(op) +
                        R"(","op":{"kind":"text","id":")" + note_id() +
                        R"(","field":"body","base":)" + std::to_string(last_seq_) + R"(,"ops":)" +
                        ops + "}}";
    in_flight_.push_back({op, cut});
    (cut ? deletes_ : inserts_) += 1;
    ws_->send(std::move(frame));
    return true;
  }

  // ws_events
  void on_open() override {
    // Batches, as the page and the terminal client take them (docs/protocol.md).
    ws_->send(R"({"type":"hello","token":)" + json_quote(token_) +
              R"(,"client":"fun-notes-load","batch":true})");
    phase_ = phase::hello;
  }

  void on_frame(std::string_view text, clock::time_point at) override {
    constexpr std::string_view batch_open = R"({"type":"batch","frames":[)";
    if (!text.starts_with(batch_open)) {
      return on_one(text, at);
    }
    // The server writes a batch as the frames themselves, comma-separated: each top-level
    // object of the array is one frame.
    const std::string_view rest = text.substr(batch_open.size());
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i < rest.size(); ++i) {
      const char c = rest[i];
      if (in_string) {
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          in_string = false;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{') {
        if (depth++ == 0) {
          start = i;
        }
      } else if (c == '}' && --depth == 0) {
        on_one(rest.substr(start, i + 1 - start), at);
        if (phase_ == phase::closed) {
          return;
        }
      }
    }
  }

  void on_one(std::string_view text, clock::time_point at) {
    if (text.starts_with(R"({"type":"op",)")) {
      return on_op(text, at);
    }
    const auto type = scan_string(text, "type").value_or("");
    if (type == "welcome") {
      ws_->send(R"({"type":"join","room":)" + room_json_ + "}");
      phase_ = phase::joining;
    } else if (type == "snapshot" || type == "resume") {
      if (phase_ != phase::joining) {
        return spec_.events->on_error(*this, "a second snapshot (the stream was cut)");
      }
      last_seq_ = scan_int(text, type == "snapshot" ? "seq" : "since").value_or(-1);
      on_joined(at);
    } else if (type == "reject") {
      on_reject(text);
    } else if (type == "error") {
      const std::string what = "error " + std::string(scan_string(text, "code").value_or("?"));
      if (phase_ == phase::ready) {
        spec_.events->on_error(*this, what);
      } else {
        fail(what);
      }
    }
    // presence, room_stat, cursor, pong: not measured
  }

  void on_closed(const std::string& why) override {
    phase_ = phase::closed;
    spec_.events->on_failed(*this, why);
  }

 private:
  enum class phase { connecting, hello, joining, creating, seeding, ready, closed };

  struct pending {
    op_ref op;
    bool cut;
  };

  std::string note_id() const { return "t" + std::to_string(spec_.id); }

  void fail(const std::string& why) {
    if (phase_ == phase::closed) {
      return;
    }
    phase_ = phase::closed;
    ws_.reset();
    spec_.events->on_failed(*this, why);
  }

  void on_joined(clock::time_point at) {
    if (spec_.role == client_role::typist) {
      // Its own note, so that the length of the text at any base is known from its echoes.
      phase_ = phase::creating;
      ws_->send(R"({"type":"op","room":)" + room_json_ + R"(,"cid":"c)" + std::to_string(spec_.id) +
                R"(","op":{"kind":"create","note":{"id":")" + note_id() +
                R"(","title":"typing","body":"","is_important":false,"is_completed":false,)"
                R"("current_index":)" +
                std::to_string(spec_.id) + "}}}");
    } else if (spec_.role == client_role::seeder) {
      phase_ = phase::seeding;
      pump_seed(at);
    } else {
      phase_ = phase::ready;
      spec_.events->on_ready(*this, at);
    }
  }

  void on_op(std::string_view text, clock::time_point at) {
    const auto seq = scan_int(text, "seq");
    const auto cid = scan_string(text, "cid");
    if (!seq || !cid) {
      return spec_.events->on_error(*this, "an op frame without seq or cid");
    }
    if (last_seq_ >= 0 && *seq != last_seq_ + 1) {
      spec_.events->on_gap(*this);
    }
    last_seq_ = std::max(last_seq_, *seq);
    op_ref r;
    if (decode_op_key(*cid, r)) {
      if (r.sender != spec_.id) {
        return spec_.events->on_delivery(*this, r, at);
      }
      on_own_echo(text, r, at);
    } else if (phase_ == phase::creating && *cid == "c" + std::to_string(spec_.id)) {
      phase_ = phase::ready;
      spec_.events->on_ready(*this, at);
    } else if (phase_ == phase::seeding && cid->starts_with("s")) {
      ++seed_acked_;
      pump_seed(at);
    }
  }

  void on_own_echo(std::string_view text, const op_ref& r, clock::time_point at) {
    const auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                                 [&](const pending& p) { return p.op.n == r.n; });
    if (it == in_flight_.end()) {
      return spec_.events->on_error(*this, "an echo of an op not in flight");
    }
    (it->cut ? deletes_ : inserts_) -= 1;
    in_flight_.erase(it);
    // The op as applied gives the body's new length: retains and inserts (one code point per
    // ASCII character) add up to it.
    json::error_code ec;
    const auto v = json::parse(text, ec);
    const json::array* ops = nullptr;
    if (!ec && v.is_object()) {
      if (const auto* op = v.get_object().if_contains("op"); op != nullptr && op->is_object()) {
        if (const auto* o = op->get_object().if_contains("ops"); o != nullptr && o->is_array()) {
          ops = &o->get_array();
        }
      }
    }
    if (ops == nullptr) {
      return spec_.events->on_error(*this, "an echo without op.ops");
    }
    std::int64_t length = 0;
    for (const auto& c : *ops) {
      if (c.is_string()) {
        length += static_cast<std::int64_t>(c.get_string().size());
      } else if (c.is_int64() && c.get_int64() > 0) {
        length += c.get_int64();
      } else if (c.is_uint64()) {
        length += static_cast<std::int64_t>(c.get_uint64());
      }
    }
    length_ = length;
    spec_.events->on_ack(*this, r, at);
  }

  void on_reject(std::string_view text) {
    const auto cid = scan_string(text, "cid").value_or("");
    const std::string what = "reject " + std::string(scan_string(text, "code").value_or("?"));
    op_ref r;
    if (decode_op_key(cid, r)) {
      const auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                                   [&](const pending& p) { return p.op.n == r.n; });
      if (it != in_flight_.end()) {
        (it->cut ? deletes_ : inserts_) -= 1;
        in_flight_.erase(it);
      }
      return spec_.events->on_error(*this, what);
    }
    if (phase_ == phase::creating || phase_ == phase::seeding) {
      return fail(what + " while setting up the room");
    }
    spec_.events->on_error(*this, what);
  }

  // The seeder's notes (creates) and then its ops (title updates of those notes), a window of
  // them in flight.
  void pump_seed(clock::time_point at) {
    const int total = seed_notes_ + seed_ops_;
    while (seed_sent_ < total && seed_sent_ - seed_acked_ < seed_window) {
      const int k = seed_sent_++;
      std::string op;
      if (k < seed_notes_) {
        op = R"({"kind":"create","note":{"id":"n)" + std::to_string(k) + R"(","title":"note )" +
             std::to_string(k) +
             R"(","body":"seeded by fun-notes-load: a body of a plausible length for a note",)"
             R"("is_important":false,"is_completed":false,"current_index":)" +
             std::to_string(k) + "}}";
      } else {
        const int u = k - seed_notes_;
        op = R"({"kind":"update","id":"n)" + std::to_string(seed_notes_ > 0 ? u % seed_notes_ : 0) +
             R"(","set":{"title":"seed op )" + std::to_string(u) + R"("}})";
      }
      ws_->send(R"({"type":"op","room":)" + room_json_ + R"(,"cid":"s)" + std::to_string(k) +
                R"(","op":)" + op + "}");
    }
    if (seed_acked_ >= total) {
      phase_ = phase::ready;
      spec_.events->on_ready(*this, at);
    }
  }

  std::string room_json_;
  const std::string& token_;
  std::unique_ptr<ws_socket> ws_;
  phase phase_ = phase::connecting;
  std::int64_t last_seq_ = -1;
  // Typist: the body's length at last_seq_, and the ops not yet echoed.
  std::int64_t length_ = 0;
  std::deque<pending> in_flight_;
  std::size_t inserts_ = 0;
  std::size_t deletes_ = 0;
  bool cutting_ = false;
  // Seeder.
  int seed_notes_;
  int seed_ops_;
  int seed_sent_ = 0;
  int seed_acked_ = 0;
};

// Counts the seeders' outcome for the blocking seed().
class seed_events final : public client_events {
 public:
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  std::mutex mutex;
  std::string first_failure;

  void on_ready(client&, clock::time_point) override { ++done; }
  void on_delivery(client&, const op_ref&, clock::time_point) override {}
  void on_ack(client&, const op_ref&, clock::time_point) override {}
  void on_error(client& c, const std::string& what) override { on_failed(c, what); }
  void on_gap(client&) override {}
  void on_failed(client&, const std::string& why) override {
    ++failed;
    std::lock_guard lock(mutex);
    if (first_failure.empty()) {
      first_failure = why;
    }
  }
};

// Runs fn(i) for i in [0, n) on a few threads (HTTP set-up calls, one connection each).
template <class Fn>
void parallel_for(int n, int threads, Fn fn) {
  std::atomic<int> next{0};
  std::mutex mutex;
  std::exception_ptr error;
  std::vector<std::thread> pool;
  for (int t = 0; t < std::min(threads, n); ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        try {
          fn(i);
        } catch (...) {
          std::lock_guard lock(mutex);
          error = std::current_exception();
          next = n;
        }
      }
    });
  }
  for (auto& t : pool) {
    t.join();
  }
  if (error) {
    std::rethrow_exception(error);
  }
}

class fun_notes_adapter final : public adapter {
 public:
  void prepare(const options& o) override {
    // Accounts and rooms are made on the first endpoint (over 127.0.0.1): the servers of a
    // fleet share them.
    const std::uint16_t port = o.endpoints.front().port;
    const long long clients = o.workload == workload_kind::typing
                                  ? static_cast<long long>(o.rooms) * o.members
                                  : o.connections;
    const int n_users = static_cast<int>(std::clamp<long long>(clients, 1, max_users));
    users_.resize(static_cast<std::size_t>(n_users));
    std::fprintf(stderr, "fun-notes-load: registering %d users and creating %d rooms on :%u\n",
                 n_users, o.rooms, port);
    parallel_for(n_users, 4, [&](int i) {
      users_[static_cast<std::size_t>(i)] = test::register_user(port, "load");
    });
    rooms_.resize(static_cast<std::size_t>(o.rooms));
    parallel_for(o.rooms, 4, [&](int r) {
      rooms_[static_cast<std::size_t>(r)] =
          test::create_room(port, users_[static_cast<std::size_t>(r % n_users)],
                            "load room " + std::to_string(r), "link");
    });
  }

  void seed(const options& o, const std::vector<event_loop*>& loops, int notes, int ops) override {
    if (notes == 0 && ops == 0) {
      return;
    }
    seed_events events;
    std::vector<std::unique_ptr<client>> seeders;
    for (int r = 0; r < o.rooms; ++r) {
      client_spec spec;
      spec.id = 0xF0000000u + static_cast<std::uint32_t>(r);
      spec.room = r;
      spec.role = client_role::seeder;
      spec.ep = o.endpoint_of(r, 0);
      spec.source =
          o.sources.empty() ? "" : o.sources[static_cast<std::size_t>(r) % o.sources.size()];
      spec.loop = loops[static_cast<std::size_t>(r) % loops.size()];
      spec.events = &events;
      seeders.push_back(make_seeder(spec, notes, ops));
    }
    for (auto& s : seeders) {
      auto* c = s.get();
      c->spec().loop->post([c] { c->start(); });
    }
    const auto deadline = clock::now() + std::chrono::seconds(600);
    while (events.done + events.failed < o.rooms && clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // The seeders go away on their own threads (their sockets belong there).
    std::atomic<int> gone{0};
    for (auto& s : seeders) {
      auto* c = s.release();
      c->spec().loop->post([c, &gone] {
        delete c;
        ++gone;
      });
    }
    while (gone < o.rooms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (events.done < o.rooms) {
      throw std::runtime_error("seeding failed: " + (events.first_failure.empty()
                                                         ? std::string("timed out")
                                                         : events.first_failure));
    }
  }

  std::unique_ptr<client> make_client(const client_spec& spec) override {
    return std::make_unique<fun_notes_client>(spec, rooms_[static_cast<std::size_t>(spec.room)],
                                              users_[spec.id % users_.size()].token, 0, 0);
  }

 private:
  std::unique_ptr<client> make_seeder(const client_spec& spec, int notes, int ops) {
    return std::make_unique<fun_notes_client>(spec, rooms_[static_cast<std::size_t>(spec.room)],
                                              users_[spec.id % users_.size()].token, notes, ops);
  }

  std::vector<test::user> users_;
  std::vector<std::string> rooms_;
};

}  // namespace

std::unique_ptr<adapter> make_fun_notes_adapter() {
  return std::make_unique<fun_notes_adapter>();
}

}  // namespace fun_notes::load

// fun-notes-bench: a load generator for a running fun-notes-server on this machine. W writers
// and R readers share one link room; it reports acknowledged ops/s, delivery latency from a
// writer's send to each reader's receive (one process, one clock), and whether every client saw
// every seq exactly once, in order.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "fun_notes_test.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using steady = std::chrono::steady_clock;

// Hard bounds, whatever the flags say: this is a tool for one machine.
constexpr int max_connections = 5000;
constexpr long long max_total_ops = 10'000'000;

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  int writers = 4;
  int readers = 16;
  int ops_per_writer = 1000;
  double duration_s = 0;     // > 0: send for this long instead of a fixed count
  double rate = 100;         // ops/s per writer; 0 = as fast as the window allows
  int window = 64;           // unanswered ops per writer
  int baseline_pings = 100;  // per writer, before the run: the ping/pong round trip baseline
  double timeout_s = 300;
  bool batch = false;  // ask for batches (docs/protocol.md)
  int cpu_pid = 0;     // the server's CPU time over the sending phase alone is reported
};

// utime + stime of a process in seconds (/proc/PID/stat); -1 when it cannot be read.
double process_cpu_s(int pid) {
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) {
    return -1;
  }
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // the command name may hold spaces
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  if (p == nullptr || std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                                  &utime, &stime) != 2) {
    return -1;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "fun-notes-bench: %s\n"
               "usage: fun-notes-bench --port P [--host 127.0.0.1] [--writers 4] [--readers 16]\n"
               "         [--ops-per-writer 1000 | --duration SECONDS] [--rate 100 (ops/s per "
               "writer, 0 = unpaced)]\n"
               "         [--window 64] [--baseline-pings 100] [--timeout 300] [--batch]\n"
               "         [--cpu-pid PID (the server: its CPU over the sending phase)]\n"
               "Start the server with a raised --max-op-rate/--max-op-burst for rates over 50/s.\n",
               why);
  std::exit(2);
}

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage(("missing value for " + a).c_str());
      }
      return argv[++i];
    };
    try {
      if (a == "--host") {
        o.host = value();
      } else if (a == "--port") {
        o.port = static_cast<std::uint16_t>(std::stoi(value()));
      } else if (a == "--writers") {
        o.writers = std::stoi(value());
      } else if (a == "--readers") {
        o.readers = std::stoi(value());
      } else if (a == "--ops-per-writer") {
        o.ops_per_writer = std::stoi(value());
      } else if (a == "--duration") {
        o.duration_s = std::stod(value());
      } else if (a == "--rate") {
        o.rate = std::stod(value());
      } else if (a == "--window") {
        o.window = std::stoi(value());
      } else if (a == "--baseline-pings") {
        o.baseline_pings = std::stoi(value());
      } else if (a == "--timeout") {
        o.timeout_s = std::stod(value());
      } else if (a == "--batch") {
        o.batch = true;
      } else if (a == "--cpu-pid") {
        o.cpu_pid = std::stoi(value());
      } else if (a == "--help" || a == "-h") {
        usage("help");
      } else {
        usage(("unknown flag " + a).c_str());
      }
    } catch (const std::logic_error&) {
      usage(("bad value for " + a).c_str());
    }
  }
  if (o.host == "localhost") {
    o.host = "127.0.0.1";
  }
  if (o.host != "127.0.0.1") {
    usage("only 127.0.0.1 is supported (a load generator for this machine)");
  }
  if (o.port == 0) {
    usage("--port is required");
  }
  if (o.writers < 1 || o.readers < 0 || o.writers + o.readers > max_connections) {
    usage("need 1..5000 connections with at least one writer");
  }
  if (o.baseline_pings < 0 || o.baseline_pings > 100000) {
    usage("--baseline-pings must be 0..100000");
  }
  if (o.window < 1 || o.rate < 0 || o.duration_s < 0 || o.timeout_s <= 0 || o.ops_per_writer < 1) {
    usage("window, ops-per-writer and timeout must be positive, rate and duration >= 0");
  }
  if (o.duration_s == 0 && static_cast<long long>(o.ops_per_writer) * o.writers > max_total_ops) {
    usage("more than 10,000,000 ops in total");
  }
  if (o.duration_s > 0 && o.rate == 0 && o.duration_s > 600) {
    usage("an unpaced run is limited to 600 s");
  }
  if (o.duration_s > 0 && o.rate > 0 && o.duration_s * o.rate * o.writers > max_total_ops) {
    usage("more than 10,000,000 ops in total");
  }
  return o;
}

double ms_between(steady::time_point a, steady::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct percentiles {
  std::size_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

percentiles summarize(std::vector<double>& v) {
  percentiles p;
  p.count = v.size();
  if (v.empty()) {
    return p;
  }
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
    return v[std::min(i, v.size() - 1)];
  };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.max = v.back();
  return p;
}

class bench;

// One WebSocket session: connect, hello, join, then a read loop; frames out through a queue.
class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(bench& b, asio::io_context& ioc, int index, bool writer, std::string token)
      : bench_(b), ws_(ioc), index_(index), writer_(writer), token_(std::move(token)) {}

  void start(const tcp::endpoint& ep);
  void send(std::string frame);

  int index() const { return index_; }
  bool writer() const { return writer_; }

  // Sequence bookkeeping (every client is a member and sees every op).
  std::int64_t last_seq = -1;
  std::int64_t gaps = 0;  // an op whose seq was not last+1
  std::int64_t ops_seen = 0;
  bool joined = false;
  std::optional<std::pair<int, std::string>> closed;  // code, reason

  // Writer state.
  int pings_left = 0;
  steady::time_point ping_sent;
  int sent = 0;
  int answered = 0;
  int acked = 0;
  int rejected = 0;
  bool done_sending = false;
  std::unique_ptr<asio::steady_timer> pace;

 private:
  void fail(const std::string& where, const error_code& ec);
  void read();
  void on_frame(std::string_view text);
  void on_message(const json::object& f, steady::time_point now);
  void write_next();

  bench& bench_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> outq_;
  bool writing_ = false;
  int index_;
  bool writer_;
  std::string token_;
  std::string room_;
};

class bench {
 public:
  explicit bench(options o) : opts_(std::move(o)) {}
  int run();

  // Called by connections.
  void on_joined(connection& c, std::int64_t seq);
  void on_op(connection& c, const json::object& frame, steady::time_point now);
  void on_reject(connection& c, const json::object& frame);
  void on_pong(connection& c, steady::time_point now);
  void on_closed(connection& c, int code, const std::string& why);
  const std::string& room() const { return room_; }
  bool batch() const { return opts_.batch; }

 private:
  void start_baseline();
  void send_ping(connection& w);
  void start_writers();
  void pump(connection& w);
  void send_op(connection& w);
  void check_finished();
  json::object make_op(int writer, int k) const;

  options opts_;
  asio::io_context ioc_;
  std::string room_;
  std::vector<std::shared_ptr<connection>> conns_;
  int joined_ = 0;
  std::int64_t start_seq_ = -1;
  double cpu_start_s_ = -1;
  double cpu_end_s_ = -1;
  bool start_seq_mismatch_ = false;
  bool started_ = false;
  bool finished_ = false;
  steady::time_point send_start_;
  steady::time_point send_deadline_;
  steady::time_point last_ack_;
  steady::time_point last_delivery_;
  std::unordered_map<std::string, steady::time_point> sent_at_;  // cid -> send time
  std::vector<double> ping_ms_;
  int baseline_done_ = 0;
  std::vector<double> ack_ms_;
  std::vector<double> delivery_ms_;
  std::int64_t total_acked_ = 0;
  std::int64_t total_rejected_ = 0;
  std::int64_t rate_limited_ = 0;
  std::unique_ptr<asio::steady_timer> deadline_;
  std::string failure_;
};

// ---------------------------------------------------------------------------------------------

void connection::start(const tcp::endpoint& ep) {
  auto self = shared_from_this();
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
  beast::get_lowest_layer(ws_).async_connect(ep, [self, ep](error_code ec) {
    if (ec) {
      return self->fail("connect", ec);
    }
    self->ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "fun-notes-bench");
    }));
    self->ws_.async_handshake(
        "127.0.0.1:" + std::to_string(ep.port()), "/ws", [self](error_code ec2) {
          if (ec2) {
            return self->fail("handshake", ec2);
          }
          beast::get_lowest_layer(self->ws_).expires_never();
          json::object hello{
              {"type", "hello"}, {"token", self->token_}, {"client", "fun-notes-bench/0.1"}};
          if (self->bench_.batch()) {
            hello["batch"] = true;
          }
          self->send(json::serialize(hello));
          self->read();
        });
  });
}

void connection::send(std::string frame) {
  outq_.push_back(std::move(frame));
  if (!writing_) {
    write_next();
  }
}

void connection::write_next() {
  if (outq_.empty() || closed) {
    writing_ = false;
    return;
  }
  writing_ = true;
  ws_.text(true);
  ws_.async_write(asio::buffer(outq_.front()),
                  [self = shared_from_this()](error_code ec, std::size_t) {
                    self->outq_.pop_front();
                    if (ec) {
                      self->writing_ = false;
                      return;  // the read side reports the close
                    }
                    self->write_next();
                  });
}

void connection::read() {
  ws_.async_read(buffer_, [self = shared_from_this()](error_code ec, std::size_t) {
    if (ec) {
      if (ec == websocket::error::closed) {
        const auto& r = self->ws_.reason();
        return self->bench_.on_closed(*self, static_cast<int>(r.code),
                                      std::string(r.reason.data(), r.reason.size()));
      }
      return self->fail("read", ec);
    }
    const auto data = self->buffer_.cdata();
    self->on_frame(std::string_view(static_cast<const char*>(data.data()), data.size()));
    self->buffer_.consume(self->buffer_.size());
    if (!self->closed) {
      self->read();
    }
  });
}

void connection::fail(const std::string& where, const error_code& ec) {
  bench_.on_closed(*this, 1006, where + ": " + ec.message());
}

void connection::on_frame(std::string_view text) {
  const auto now = steady::now();
  error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    bench_.on_closed(*this, 0, "server sent a frame that is not a JSON object");
    return;
  }
  const json::object& f = v.get_object();
  const auto* frames = f.if_contains("frames");
  if (frames != nullptr && frames->is_array() && f.at("type") == "batch") {
    for (const auto& inner : frames->get_array()) {
      if (inner.is_object()) {
        on_message(inner.get_object(), now);
      }
    }
    return;
  }
  on_message(f, now);
}

void connection::on_message(const json::object& f, steady::time_point now) {
  const auto* type = f.if_contains("type");
  if (type == nullptr || !type->is_string()) {
    return;
  }
  const std::string_view t = type->get_string();
  if (t == "op") {
    bench_.on_op(*this, f, now);
  } else if (t == "welcome") {
    send(json::serialize(json::object{{"type", "join"}, {"room", bench_.room()}}));
  } else if (t == "snapshot") {
    bench_.on_joined(*this, f.at("seq").to_number<std::int64_t>());
  } else if (t == "resume") {
    bench_.on_joined(*this, f.at("since").to_number<std::int64_t>());
  } else if (t == "reject") {
    bench_.on_reject(*this, f);
  } else if (t == "pong") {
    bench_.on_pong(*this, now);
  } else if (t == "error") {
    bench_.on_closed(*this, 0, "error frame: " + json::serialize(f));
  }
  // presence, room_stat: not measured
}

// ---------------------------------------------------------------------------------------------

int bench::run() {
  using fun_notes::test::create_room;
  using fun_notes::test::http_request;
  using fun_notes::test::register_user;

  // Accounts: one per writer, one shared by all readers (one user on many sockets).
  std::vector<fun_notes::test::user> writers;
  for (int w = 0; w < opts_.writers; ++w) {
    writers.push_back(register_user(opts_.port, "bench_w"));
  }
  const auto reader = register_user(opts_.port, "bench_r");
  room_ = create_room(opts_.port, writers[0], "bench room", "link");

  const tcp::endpoint ep{asio::ip::make_address_v4("127.0.0.1"), opts_.port};
  for (int i = 0; i < opts_.writers + opts_.readers; ++i) {
    const bool is_writer = i < opts_.writers;
    conns_.push_back(std::make_shared<connection>(*this, ioc_, i, is_writer,
                                                  is_writer ? writers[i].token : reader.token));
    conns_.back()->start(ep);
  }
  deadline_ = std::make_unique<asio::steady_timer>(ioc_);
  deadline_->expires_after(
      std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(opts_.timeout_s)));
  deadline_->async_wait([this](error_code ec) {
    if (!ec && !finished_) {
      failure_ = "timed out after " + std::to_string(opts_.timeout_s) + " s";
      finished_ = true;
      ioc_.stop();
    }
  });
  ioc_.run();

  // Report.
  const int n_writers = opts_.writers;
  std::int64_t sent = 0;
  for (const auto& c : conns_) {
    sent += c->writer() ? c->sent : 0;
  }
  const std::int64_t final_seq = start_seq_ + total_acked_;
  int complete = 0;
  int complete_readers = 0;
  for (const auto& c : conns_) {
    const bool ok = c->gaps == 0 && c->last_seq == final_seq && c->ops_seen == total_acked_;
    complete += ok ? 1 : 0;
    complete_readers += ok && !c->writer() ? 1 : 0;
    if (!ok && failure_.empty()) {
      failure_ =
          "client " + std::to_string(c->index()) + " ended at seq " + std::to_string(c->last_seq) +
          " of " + std::to_string(final_seq) + " with " + std::to_string(c->gaps) + " gaps" +
          (c->closed
               ? " (closed " + std::to_string(c->closed->first) + " " + c->closed->second + ")"
               : "");
    }
  }
  const double elapsed_s = total_acked_ > 0 ? ms_between(send_start_, last_ack_) / 1000.0 : 0;
  const double ops_per_s = elapsed_s > 0 ? static_cast<double>(total_acked_) / elapsed_s : 0;
  const auto ack = summarize(ack_ms_);
  const auto delivery = summarize(delivery_ms_);
  const auto ping = summarize(ping_ms_);
  const bool gapless = complete == static_cast<int>(conns_.size()) && !start_seq_mismatch_;

  char amount[64];
  if (opts_.duration_s > 0) {
    std::snprintf(amount, sizeof amount, "duration %g s", opts_.duration_s);
  } else {
    std::snprintf(amount, sizeof amount, "%d ops/writer", opts_.ops_per_writer);
  }
  char rate[64];
  if (opts_.rate > 0) {
    std::snprintf(rate, sizeof rate, "%g ops/s/writer", opts_.rate);
  } else {
    std::snprintf(rate, sizeof rate, "unpaced");
  }
  std::printf("fun-notes-bench: %d writers, %d readers, %s, rate %s, window %d\n", n_writers,
              opts_.readers, amount, rate, opts_.window);
  std::printf("ops: sent %lld, acknowledged %lld, rejected %lld (rate_limited %lld)\n",
              static_cast<long long>(sent), static_cast<long long>(total_acked_),
              static_cast<long long>(total_rejected_), static_cast<long long>(rate_limited_));
  std::printf("throughput: %.1f acknowledged ops/s (%.2f s from first send to last ack)\n",
              ops_per_s, elapsed_s);
  if (ping.count > 0) {
    std::printf(
        "baseline ping -> pong on the writers' sockets (%zu samples): p50 %.2f ms  "
        "p90 %.2f ms  p99 %.2f ms  max %.2f ms\n",
        ping.count, ping.p50, ping.p90, ping.p99, ping.max);
  }
  std::printf(
      "ack latency (writer send -> own echo, %zu samples): p50 %.2f ms  p90 %.2f ms  "
      "p99 %.2f ms  max %.2f ms\n",
      ack.count, ack.p50, ack.p90, ack.p99, ack.max);
  std::printf(
      "delivery latency (writer send -> reader receive, %zu samples): p50 %.2f ms  "
      "p90 %.2f ms  p99 %.2f ms  max %.2f ms\n",
      delivery.count, delivery.p50, delivery.p90, delivery.p99, delivery.max);
  std::printf(
      "gapless: %d/%d readers and %d/%d writers saw every seq %lld..%lld exactly once, "
      "in order\n",
      complete_readers, opts_.readers, complete - complete_readers, n_writers,
      static_cast<long long>(start_seq_ + 1), static_cast<long long>(final_seq));
  if (ping.count > 0 && ping.p50 > 0 && delivery.count > 0) {
    std::printf("delivery vs baseline: p50 %.1fx, p99 %.1fx the ping round trip\n",
                delivery.p50 / ping.p50, delivery.p99 / ping.p99);
  }
  if (!failure_.empty()) {
    std::printf("FAILED: %s\n", failure_.c_str());
  }
  std::printf(
      "SUMMARY writers=%d readers=%d acked=%lld rejected=%lld acked_ops_per_s=%.1f "
      "delivery_p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f ping_p50_ms=%.2f "
      "gapless=%s server_cpu_s=%.3f\n",
      n_writers, opts_.readers, static_cast<long long>(total_acked_),
      static_cast<long long>(total_rejected_), ops_per_s, delivery.p50, delivery.p90, delivery.p99,
      delivery.max, ping.p50, gapless ? "yes" : "NO",
      cpu_start_s_ >= 0 && cpu_end_s_ >= 0 ? cpu_end_s_ - cpu_start_s_ : -1.0);
  return gapless && failure_.empty() ? 0 : 1;
}

void bench::on_joined(connection& c, std::int64_t seq) {
  if (c.joined) {
    return;
  }
  c.joined = true;
  c.last_seq = seq;
  if (start_seq_ < 0) {
    start_seq_ = seq;
  } else if (seq != start_seq_) {
    start_seq_mismatch_ = true;  // someone else wrote to the room meanwhile
  }
  if (++joined_ == static_cast<int>(conns_.size())) {
    start_baseline();
  }
}

// Before any op: ping/pong round trips on the writers' sockets, one at a time per socket. The
// server answers a ping without touching a room, so this is the transport's own latency on
// this machine, the baseline the delivery latency is compared with.
void bench::start_baseline() {
  if (opts_.baseline_pings == 0) {
    start_writers();
    return;
  }
  for (auto& c : conns_) {
    if (c->writer()) {
      c->pings_left = opts_.baseline_pings;
      send_ping(*c);
    }
  }
}

void bench::send_ping(connection& w) {
  --w.pings_left;
  w.ping_sent = steady::now();
  w.send(json::serialize(json::object{{"type", "ping"}, {"t", w.pings_left}}));
}

void bench::on_pong(connection& c, steady::time_point now) {
  if (!c.writer() || started_) {
    return;
  }
  ping_ms_.push_back(ms_between(c.ping_sent, now));
  if (c.pings_left > 0) {
    send_ping(c);
  } else if (++baseline_done_ == opts_.writers) {
    start_writers();
  }
}

void bench::start_writers() {
  started_ = true;
  send_start_ = steady::now();
  if (opts_.cpu_pid > 0) {
    cpu_start_s_ = process_cpu_s(opts_.cpu_pid);
  }
  if (opts_.duration_s > 0) {
    send_deadline_ = send_start_ + std::chrono::duration_cast<steady::duration>(
                                       std::chrono::duration<double>(opts_.duration_s));
  }
  for (auto& c : conns_) {
    if (c->writer()) {
      c->pace = std::make_unique<asio::steady_timer>(ioc_);
      pump(*c);
    }
  }
}

json::object bench::make_op(int writer, int k) const {
  // One note per 10 ops, then edits to it: a typing-like mix of creates and updates.
  const std::string id = "w" + std::to_string(writer) + "-n" + std::to_string(k / 10);
  if (k % 10 == 0) {
    return json::object{{"kind", "create"},
                        {"note", json::object{{"id", id},
                                              {"title", "note " + std::to_string(k)},
                                              {"body", ""},
                                              {"is_important", false},
                                              {"is_completed", false},
                                              {"current_index", writer * 1e6 + k}}}};
  }
  return json::object{{"kind", "update"},
                      {"id", id},
                      {"set", json::object{{"title", "edit " + std::to_string(k) + " by " +
                                                         std::to_string(writer)}}}};
}

void bench::send_op(connection& w) {
  const int k = w.sent++;
  const std::string cid = "w" + std::to_string(w.index()) + "-" + std::to_string(k);
  sent_at_[cid] = steady::now();
  w.send(json::serialize(
      json::object{{"type", "op"}, {"room", room_}, {"cid", cid}, {"op", make_op(w.index(), k)}}));
}

// Sends what the pace and the window allow, then waits for the pace timer or an answer.
void bench::pump(connection& w) {
  if (w.done_sending || w.closed || finished_) {
    return;
  }
  const auto now = steady::now();
  for (;;) {
    const bool out_of_ops =
        opts_.duration_s > 0 ? now >= send_deadline_ : w.sent >= opts_.ops_per_writer;
    if (out_of_ops || w.sent >= max_total_ops / opts_.writers) {
      w.done_sending = true;
      check_finished();
      return;
    }
    if (w.sent - w.answered >= opts_.window) {
      return;  // an answer calls pump again
    }
    if (opts_.rate > 0) {
      const auto due = send_start_ + std::chrono::duration_cast<steady::duration>(
                                         std::chrono::duration<double>(w.sent / opts_.rate));
      if (due > now) {
        w.pace->expires_at(due);
        w.pace->async_wait([this, &w](error_code ec) {
          if (!ec) {
            pump(w);
          }
        });
        return;
      }
    }
    send_op(w);
  }
}

void bench::on_op(connection& c, const json::object& f, steady::time_point now) {
  const std::int64_t seq = f.at("seq").to_number<std::int64_t>();
  if (seq != c.last_seq + 1) {
    ++c.gaps;
  }
  c.last_seq = std::max(c.last_seq, seq);
  ++c.ops_seen;
  const auto* cid_v = f.if_contains("cid");
  if (cid_v != nullptr && cid_v->is_string()) {
    const std::string cid{cid_v->get_string()};
    const auto it = sent_at_.find(cid);
    if (it != sent_at_.end()) {
      const double ms = ms_between(it->second, now);
      const int owner = std::atoi(cid.c_str() + 1);
      if (c.writer() && c.index() == owner) {
        ack_ms_.push_back(ms);
        ++c.acked;
        ++c.answered;
        ++total_acked_;
        last_ack_ = now;
        pump(c);
      } else if (!c.writer()) {
        delivery_ms_.push_back(ms);
        last_delivery_ = now;
      }
    }
  }
  check_finished();
}

void bench::on_reject(connection& c, const json::object& f) {
  ++c.rejected;
  ++c.answered;
  ++total_rejected_;
  const auto* code = f.if_contains("code");
  if (code != nullptr && code->is_string() && code->get_string() == "rate_limited") {
    ++rate_limited_;
  }
  pump(c);
  check_finished();
}

void bench::on_closed(connection& c, int code, const std::string& why) {
  if (c.closed) {
    return;
  }
  c.closed = std::make_pair(code, why);
  if (!finished_ && failure_.empty()) {
    failure_ = "client " + std::to_string(c.index()) +
               " lost its connection: " + std::to_string(code) + " " + why;
  }
  // A run with a dead client cannot complete; stop now rather than at the timeout.
  if (!finished_) {
    finished_ = true;
    ioc_.stop();
  }
}

void bench::check_finished() {
  if (finished_ || !started_) {
    return;
  }
  for (const auto& c : conns_) {
    if (c->writer() && (!c->done_sending || c->answered < c->sent)) {
      return;
    }
  }
  const std::int64_t final_seq = start_seq_ + total_acked_;
  for (const auto& c : conns_) {
    if (c->last_seq < final_seq) {
      return;
    }
  }
  if (opts_.cpu_pid > 0) {
    cpu_end_s_ = process_cpu_s(opts_.cpu_pid);
  }
  finished_ = true;
  ioc_.stop();
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse_args(argc, argv);
  try {
    bench b(o);
    return b.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fun-notes-bench: %s\n", e.what());
    return 1;
  }
}

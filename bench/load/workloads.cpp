#include "workloads.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <thread>

#include "histogram.hpp"
#include "metrics.hpp"

namespace fun_notes::load {
namespace {

using namespace std::chrono_literals;
using counter = std::atomic<std::int64_t>;

// Connections a loop has connecting at once while it fills up (the join storm has no limit:
// the storm is what it measures).
constexpr std::size_t connect_window = 128;
// After the window: wait for its ops' deliveries while they keep coming, within limits.
constexpr auto drain_limit = 30s;
constexpr auto drain_stall = 2s;

std::chrono::nanoseconds seconds(double s) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
}

// The measured window, in to_ns() time; ops sent in it are the ones counted.
struct window {
  std::atomic<std::int64_t> begin_ns{std::numeric_limits<std::int64_t>::max()};
  std::atomic<std::int64_t> end_ns{std::numeric_limits<std::int64_t>::min()};
  bool contains(std::int64_t ns) const {
    return ns >= begin_ns.load(std::memory_order_relaxed) &&
           ns < end_ns.load(std::memory_order_relaxed);
  }
};

struct typist_state {
  client* c = nullptr;
  std::unique_ptr<timer> pace;
  clock::time_point due;
  std::uint32_t n = 0;
  bool owed = false;  // a tick found the window full: send at the next ack
};

// What one event loop owns and counts. The counters are atomics because the main thread
// watches them while the loop runs; the histograms are read after the loop stopped.
class worker final : public client_events {
 public:
  worker(event_loop& loop, const window& w) : loop_(loop), window_(w) {}

  event_loop& loop() { return loop_; }
  std::vector<std::unique_ptr<client>> clients;

  histogram delivery;
  histogram ack;
  histogram join;
  counter ready{0}, failed{0}, lost{0};
  counter sent_total{0}, sent_window{0}, delivered_window{0}, acked_window{0};
  counter errors{0}, gaps{0}, behind{0};
  std::map<std::string, std::int64_t> reasons;

  // On the loop thread: connect every client, at most `limit` at once.
  void start_clients(std::size_t limit) {
    connect_limit_ = limit;
    start_more();
  }

  // On the loop thread: every typist sends at `rate` ops/s from t0 (plus a random part of one
  // interval, so that typists do not send in lockstep) until `end`.
  void start_typing(clock::time_point t0, clock::time_point end, double rate) {
    end_ = end;
    interval_ = std::chrono::duration_cast<clock::duration>(seconds(1.0 / rate));
    for (auto& c : clients) {
      if (c->spec().role != client_role::typist) {
        continue;
      }
      auto t = std::make_unique<typist_state>();
      t->c = c.get();
      t->pace = loop_.make_timer();
      std::mt19937_64 rng(c->spec().id * 0x9E3779B97F4A7C15ull + 1);
      std::uniform_int_distribution<std::int64_t> jitter(0, interval_.count() - 1);
      t->due = t0 + clock::duration(jitter(rng));
      c->workload_data = t.get();
      auto* raw = t.get();
      typists_.push_back(std::move(t));
      raw->pace->wait_until(raw->due, [this, raw] { tick(*raw); });
    }
  }

  // client_events
  void on_ready(client& c, clock::time_point at) override {
    if (c.ready || c.failed) {
      return;
    }
    c.ready = true;
    ++ready;
    join.record_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(at - c.started_at).count());
    --connecting_;
    start_more();
  }

  void on_delivery(client&, const op_ref& op, clock::time_point at) override {
    if (window_.contains(op.sent_ns)) {
      ++delivered_window;
      delivery.record_ns(to_ns(at) - op.sent_ns);
    }
  }

  void on_ack(client& c, const op_ref& op, clock::time_point at) override {
    if (window_.contains(op.sent_ns)) {
      ++acked_window;
      ack.record_ns(to_ns(at) - op.sent_ns);
    }
    auto* t = static_cast<typist_state*>(c.workload_data);
    if (t != nullptr && t->owed && at < end_) {
      send_one(*t);
    }
  }

  void on_error(client&, const std::string& what) override {
    ++errors;
    note(what);
  }

  void on_gap(client&) override { ++gaps; }

  void on_failed(client& c, const std::string& why) override {
    if (c.failed) {
      return;
    }
    c.failed = true;
    ++errors;
    note(why);
    if (c.ready) {
      ++lost;
      return;
    }
    ++failed;
    --connecting_;
    start_more();
  }

 private:
  void start_more() {
    while (connecting_ < connect_limit_ && next_ < clients.size()) {
      client& c = *clients[next_++];
      ++connecting_;
      c.started_at = clock::now();
      c.start();
    }
  }

  void tick(typist_state& t) {
    const auto now = clock::now();
    if (now >= end_) {
      return;
    }
    send_one(t);
    t.due += interval_;
    if (t.due < now - 1s) {
      // The loop fell far behind: go on from here rather than burst, and count what was not
      // sent.
      behind += (now - t.due) / interval_;
      t.due = now;
    }
    t.pace->wait_until(t.due, [this, &t] { tick(t); });
  }

  void send_one(typist_state& t) {
    if (!t.c->ready || t.c->failed) {
      return;
    }
    const op_ref op{t.c->spec().id, t.n + 1, now_ns()};
    if (t.c->send_op(op)) {
      ++t.n;
      t.owed = false;
      ++sent_total;
      if (window_.contains(op.sent_ns)) {
        ++sent_window;
      }
    } else {
      ++behind;
      t.owed = true;
    }
  }

  void note(const std::string& why) {
    std::string key = why.substr(0, 80);
    if (reasons.size() >= 40 && !reasons.contains(key)) {
      key = "(other)";
    }
    ++reasons[key];
  }

  event_loop& loop_;
  const window& window_;
  std::size_t connect_limit_ = 0;
  std::size_t next_ = 0;
  std::size_t connecting_ = 0;
  std::vector<std::unique_ptr<typist_state>> typists_;
  clock::time_point end_{};
  clock::duration interval_{};
};

// The loops, their workers and the clients of one run.
class run {
 public:
  run(const options& o, adapter& a) : o_(o), a_(a) {
    for (int t = 0; t < o.threads; ++t) {
      loops_.push_back(event_loop::create());
      workers_.push_back(std::make_unique<worker>(*loops_.back(), window_));
      loops_.back()->start();
    }
  }

  ~run() { stop(); }
  run(const run&) = delete;
  run& operator=(const run&) = delete;

  window& measured() { return window_; }

  std::vector<event_loop*> loops() const {
    std::vector<event_loop*> out;
    for (const auto& l : loops_) {
      out.push_back(l.get());
    }
    return out;
  }

  void add_client(std::uint32_t id, int room, int member, client_role role, bool wants_state) {
    worker& w = *workers_[id % workers_.size()];
    client_spec spec;
    spec.id = id;
    spec.room = room;
    spec.member = member;
    spec.role = role;
    spec.wants_state = wants_state;
    spec.ep = o_.endpoint_of(room, member);
    if (!o_.sources.empty()) {
      spec.source = o_.sources[id % o_.sources.size()];
    }
    spec.loop = &w.loop();
    spec.events = &w;
    w.clients.push_back(a_.make_client(spec));
    ++clients_;
  }

  std::int64_t clients() const { return clients_; }

  void start_clients(std::size_t limit) {
    for (auto& w : workers_) {
      auto* raw = w.get();
      raw->loop().post([raw, limit] { raw->start_clients(limit); });
    }
  }

  void start_typing(clock::time_point t0, clock::time_point end, double rate) {
    for (auto& w : workers_) {
      auto* raw = w.get();
      raw->loop().post([raw, t0, end, rate] { raw->start_typing(t0, end, rate); });
    }
  }

  std::int64_t sum(counter worker::*field) const {
    std::int64_t total = 0;
    for (const auto& w : workers_) {
      total += ((*w).*field).load(std::memory_order_relaxed);
    }
    return total;
  }

  // Waits until every client is ready or failed (or the deadline); reports progress on stderr.
  // Returns when that happened.
  clock::time_point wait_connected(clock::duration limit) {
    const auto deadline = clock::now() + limit;
    auto next_note = clock::now() + 2s;
    for (;;) {
      const auto done = sum(&worker::ready) + sum(&worker::failed);
      const auto now = clock::now();
      if (done >= clients_) {
        return now;
      }
      if (now >= deadline) {
        std::fprintf(stderr, "fun-notes-load: gave up waiting: %lld of %lld clients ready\n",
                     static_cast<long long>(sum(&worker::ready)), static_cast<long long>(clients_));
        return now;
      }
      if (now >= next_note) {
        std::fprintf(stderr, "fun-notes-load: %lld/%lld ready, %lld failed\n",
                     static_cast<long long>(sum(&worker::ready)), static_cast<long long>(clients_),
                     static_cast<long long>(sum(&worker::failed)));
        next_note = now + 2s;
      }
      std::this_thread::sleep_for(2ms);
    }
  }

  // Stops the loops, then drops the clients (their sockets close) and the loops.
  void stop() {
    for (auto& l : loops_) {
      l->stop();
    }
    if (stopped_) {
      return;
    }
    stopped_ = true;
    for (auto& w : workers_) {
      merged_delivery_.merge(w->delivery);
      merged_ack_.merge(w->ack);
      merged_join_.merge(w->join);
      for (const auto& [k, v] : w->reasons) {
        reasons_[k] += v;
      }
      w->clients.clear();
    }
  }

  const histogram& delivery() const { return merged_delivery_; }
  const histogram& ack() const { return merged_ack_; }
  const histogram& join() const { return merged_join_; }
  const std::map<std::string, std::int64_t>& reasons() const { return reasons_; }

 private:
  const options& o_;
  adapter& a_;
  window window_;
  std::vector<std::unique_ptr<event_loop>> loops_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::int64_t clients_ = 0;
  bool stopped_ = false;
  histogram merged_delivery_;
  histogram merged_ack_;
  histogram merged_join_;
  std::map<std::string, std::int64_t> reasons_;
};

clock::duration connect_limit(std::int64_t clients) {
  return std::chrono::duration_cast<clock::duration>(
      seconds(std::min(600.0, 60.0 + static_cast<double>(clients) / 500.0)));
}

void print_reasons(const run& r) {
  for (const auto& [why, n] : r.reasons()) {
    std::fprintf(stderr, "fun-notes-load: %lld x %s\n", static_cast<long long>(n), why.c_str());
  }
}

// The fields every workload has, null until a workload sets them.
void common_fields(report& rep, const options& o) {
  rep.set("label", o.label);
  rep.set("target", o.target_name);
  rep.set("workload", o.workload_name);
  for (const char* k :
       {"offered_deliveries_per_s", "deliveries_per_s", "p50_ms", "p99_ms", "p999_ms", "max_ms",
        "ack_p50_ms", "ack_p99_ms", "cpu_s", "cpu_s_per_1000_deliveries", "driver_cpu_s", "rss_kib",
        "errors", "missing"}) {
    rep.set_null(k);
  }
}

std::optional<double> if_pids(const options& o, double v) {
  return o.cpu_pids.empty() ? std::nullopt : std::optional<double>(v);
}

report run_typing(const options& o, adapter& a) {
  report rep;
  common_fields(rep, o);
  a.prepare(o);
  run r(o, a);
  // Rooms of a plausible size (their notes, no ops): a ShareDB submit reads and writes the whole
  // document, so it is the size of the room that it pays for.
  if (o.notes > 0 || o.target == target_kind::sharedb) {
    std::fprintf(stderr, "fun-notes-load: seeding %d rooms with %d notes\n", o.rooms, o.notes);
    a.seed(o, r.loops(), o.notes, 0);
  }
  for (int room = 0; room < o.rooms; ++room) {
    for (int m = 0; m < o.members; ++m) {
      const auto id = static_cast<std::uint32_t>(room * o.members + m);
      r.add_client(id, room, m, m < o.typists ? client_role::typist : client_role::member, false);
    }
  }
  std::fprintf(stderr, "fun-notes-load: connecting %lld clients\n",
               static_cast<long long>(r.clients()));
  r.start_clients(connect_window);
  r.wait_connected(connect_limit(r.clients()));

  const auto t0 = clock::now() + 100ms;
  const auto begin = t0 + std::chrono::duration_cast<clock::duration>(seconds(o.warmup_s));
  const auto end = begin + std::chrono::duration_cast<clock::duration>(seconds(o.duration_s));
  r.measured().begin_ns = to_ns(begin);
  r.measured().end_ns = to_ns(end);
  std::fprintf(stderr, "fun-notes-load: typing: %g s warm-up, %g s measured\n", o.warmup_s,
               o.duration_s);
  r.start_typing(t0, end, o.rate);

  std::this_thread::sleep_until(begin);
  const auto cpu0 = process_tree_cpu(o.cpu_pids);
  const double driver0 = own_cpu_seconds();
  std::this_thread::sleep_until(end);
  const auto cpu1 = process_tree_cpu(o.cpu_pids);
  const double driver1 = own_cpu_seconds();
  const auto rss = rss_kib(o.rss_pids);

  // Deliveries of the window's last ops are still on their way.
  const auto receivers = static_cast<std::int64_t>(o.members - 1);
  const auto drain_until = clock::now() + drain_limit;
  std::int64_t last_count = -1;
  auto last_progress = clock::now();
  while (clock::now() < drain_until) {
    const auto sent = r.sum(&worker::sent_window);
    const auto delivered = r.sum(&worker::delivered_window);
    const auto acked = r.sum(&worker::acked_window);
    if (delivered >= sent * receivers && (!a.has_acks() || acked >= sent)) {
      break;
    }
    const auto now = clock::now();
    if (delivered + acked != last_count) {
      last_count = delivered + acked;
      last_progress = now;
    } else if (now - last_progress > drain_stall) {
      break;  // nothing more is coming
    }
    std::this_thread::sleep_for(10ms);
  }
  const auto sent = r.sum(&worker::sent_window);
  const auto delivered = r.sum(&worker::delivered_window);
  const auto gaps = r.sum(&worker::gaps);
  const auto errors = r.sum(&worker::errors) + gaps;
  const auto behind = r.sum(&worker::behind);
  const auto ready = r.sum(&worker::ready);
  r.stop();
  print_reasons(r);

  const double cpu_s = cpu1.seconds - cpu0.seconds;
  const double offered = static_cast<double>(o.rooms) * o.typists * o.rate * (o.members - 1);
  const double per_s = static_cast<double>(delivered) / o.duration_s;
  rep.set("offered_deliveries_per_s", offered);
  rep.set("deliveries_per_s", per_s);
  const auto& d = r.delivery();
  const bool any = d.count() > 0;
  rep.set("p50_ms", any ? std::optional<double>(d.quantile_ms(0.50)) : std::nullopt);
  rep.set("p99_ms", any ? std::optional<double>(d.quantile_ms(0.99)) : std::nullopt);
  rep.set("p999_ms", any ? std::optional<double>(d.quantile_ms(0.999)) : std::nullopt);
  rep.set("max_ms", any ? std::optional<double>(d.max_ms()) : std::nullopt);
  const bool acks = a.has_acks() && r.ack().count() > 0;
  rep.set("ack_p50_ms", acks ? std::optional<double>(r.ack().quantile_ms(0.50)) : std::nullopt);
  rep.set("ack_p99_ms", acks ? std::optional<double>(r.ack().quantile_ms(0.99)) : std::nullopt);
  rep.set("cpu_s", if_pids(o, cpu_s));
  rep.set("cpu_s_per_1000_deliveries",
          !o.cpu_pids.empty() && delivered > 0
              ? std::optional<double>(cpu_s / (static_cast<double>(delivered) / 1000.0))
              : std::nullopt);
  rep.set("driver_cpu_s", driver1 - driver0);
  if (!o.rss_pids.empty()) {
    rep.set("rss_kib", rss);
  }
  rep.set("errors", errors);
  rep.set("missing", std::max<std::int64_t>(0, sent * receivers - delivered));
  rep.set("rooms", o.rooms);
  rep.set("members", o.members);
  rep.set("typists", o.typists);
  rep.set("rate", o.rate);
  rep.set("duration_s", o.duration_s);
  rep.set("warmup_s", o.warmup_s);
  rep.set("threads", o.threads);
  rep.set("endpoints", static_cast<std::int64_t>(o.endpoints.size()));
  rep.set("clients", r.clients());
  rep.set("clients_ready", ready);
  rep.set("ops_offered",
          static_cast<std::int64_t>(std::llround(o.rooms * o.typists * o.rate * o.duration_s)));
  rep.set("ops_sent", sent);
  rep.set("deliveries", delivered);
  rep.set("duplicates", std::max<std::int64_t>(0, delivered - sent * receivers));
  rep.set("ops_behind", behind);
  rep.set("seq_gaps", gaps);
  rep.set("acks", r.ack().count());
  rep.set("cpu_processes", static_cast<std::int64_t>(cpu1.processes));
  return rep;
}

report run_join(const options& o, adapter& a) {
  report rep;
  common_fields(rep, o);
  a.prepare(o);
  run r(o, a);
  if (o.notes > 0 || o.ops > 0) {
    std::fprintf(stderr, "fun-notes-load: seeding %d rooms with %d notes and %d ops\n", o.rooms,
                 o.notes, o.ops);
    a.seed(o, r.loops(), o.notes, o.ops);
  }
  for (int i = 0; i < o.connections; ++i) {
    r.add_client(static_cast<std::uint32_t>(i), i % o.rooms, i / o.rooms, client_role::member,
                 true);
  }
  std::fprintf(stderr, "fun-notes-load: %d clients join at once\n", o.connections);
  const auto cpu0 = process_tree_cpu(o.cpu_pids);
  const double driver0 = own_cpu_seconds();
  const auto t0 = clock::now();
  r.start_clients(std::numeric_limits<std::size_t>::max());
  const auto t1 = r.wait_connected(connect_limit(r.clients()));
  const auto cpu1 = process_tree_cpu(o.cpu_pids);
  const double driver1 = own_cpu_seconds();
  const auto rss = rss_kib(o.rss_pids);
  const auto joins = r.sum(&worker::ready);
  const auto errors = r.sum(&worker::errors) + r.sum(&worker::gaps);
  r.stop();
  print_reasons(r);

  const double cpu_s = cpu1.seconds - cpu0.seconds;
  rep.set("cpu_s", if_pids(o, cpu_s));
  rep.set("driver_cpu_s", driver1 - driver0);
  if (!o.rss_pids.empty()) {
    rep.set("rss_kib", rss);
  }
  rep.set("errors", errors);
  rep.set("joins", joins);
  const auto& j = r.join();
  rep.set("join_p50_ms", j.count() > 0 ? std::optional<double>(j.quantile_ms(0.5)) : std::nullopt);
  rep.set("join_p99_ms", j.count() > 0 ? std::optional<double>(j.quantile_ms(0.99)) : std::nullopt);
  rep.set("join_max_ms", j.count() > 0 ? std::optional<double>(j.max_ms()) : std::nullopt);
  rep.set("cpu_ms_per_join",
          !o.cpu_pids.empty() && joins > 0
              ? std::optional<double>(cpu_s * 1000.0 / static_cast<double>(joins))
              : std::nullopt);
  rep.set("storm_s", std::chrono::duration<double>(t1 - t0).count());
  rep.set("rooms", o.rooms);
  rep.set("notes", o.notes);
  rep.set("ops", o.ops);
  rep.set("connections", o.connections);
  rep.set("threads", o.threads);
  rep.set("cpu_processes", static_cast<std::int64_t>(cpu1.processes));
  return rep;
}

report run_idle(const options& o, adapter& a) {
  report rep;
  common_fields(rep, o);
  a.prepare(o);
  run r(o, a);
  for (int i = 0; i < o.connections; ++i) {
    r.add_client(static_cast<std::uint32_t>(i), i % o.rooms, i / o.rooms, client_role::member,
                 false);
  }
  const auto rss0 = rss_kib(o.rss_pids);
  std::fprintf(stderr, "fun-notes-load: opening %d idle connections\n", o.connections);
  r.start_clients(connect_window);
  r.wait_connected(connect_limit(r.clients()));
  std::fprintf(stderr, "fun-notes-load: holding them for %g s\n", o.duration_s);
  const auto cpu0 = process_tree_cpu(o.cpu_pids);
  const double driver0 = own_cpu_seconds();
  std::this_thread::sleep_for(seconds(o.duration_s));
  const auto cpu1 = process_tree_cpu(o.cpu_pids);
  const double driver1 = own_cpu_seconds();
  const auto rss1 = rss_kib(o.rss_pids);
  const auto connected = r.sum(&worker::ready) - r.sum(&worker::lost);
  const auto errors = r.sum(&worker::errors) + r.sum(&worker::gaps);
  r.stop();
  print_reasons(r);

  rep.set("cpu_s", if_pids(o, cpu1.seconds - cpu0.seconds));
  rep.set("driver_cpu_s", driver1 - driver0);
  if (!o.rss_pids.empty()) {
    rep.set("rss_kib", rss1);
  }
  rep.set("errors", errors);
  rep.set("connections", connected);
  rep.set("rss_per_connection_kib", !o.rss_pids.empty() && connected > 0
                                        ? std::optional<double>(static_cast<double>(rss1 - rss0) /
                                                                static_cast<double>(connected))
                                        : std::nullopt);
  rep.set("rss_before_kib", o.rss_pids.empty() ? std::optional<double>()
                                               : std::optional<double>(static_cast<double>(rss0)));
  rep.set("join_p50_ms",
          r.join().count() > 0 ? std::optional<double>(r.join().quantile_ms(0.5)) : std::nullopt);
  rep.set("rooms", o.rooms);
  rep.set("hold_s", o.duration_s);
  rep.set("cpu_processes", static_cast<std::int64_t>(cpu1.processes));
  rep.set("threads", o.threads);
  return rep;
}

}  // namespace

report run_workload(const options& o, adapter& a) {
  switch (o.workload) {
    case workload_kind::typing:
      return run_typing(o, a);
    case workload_kind::join:
      return run_join(o, a);
    case workload_kind::idle:
      return run_idle(o, a);
  }
  return {};
}

std::vector<std::string> table_columns(workload_kind w) {
  switch (w) {
    case workload_kind::typing:
      return {"label",
              "target",
              "workload",
              "offered_deliveries_per_s",
              "deliveries_per_s",
              "p50_ms",
              "p99_ms",
              "p999_ms",
              "max_ms",
              "ack_p50_ms",
              "ack_p99_ms",
              "cpu_s",
              "cpu_s_per_1000_deliveries",
              "driver_cpu_s",
              "rss_kib",
              "errors",
              "missing"};
    case workload_kind::join:
      return {"label", "target",          "workload",     "joins",   "join_p50_ms", "join_p99_ms",
              "cpu_s", "cpu_ms_per_join", "driver_cpu_s", "rss_kib", "errors"};
    case workload_kind::idle:
      return {"label",   "target",       "workload", "connections", "rss_per_connection_kib",
              "rss_kib", "driver_cpu_s", "errors"};
  }
  return {};
}

}  // namespace fun_notes::load

// The fault suite's load generator (see load.hpp).
#include "load.hpp"

#include <algorithm>
#include <cstdio>

namespace fun_notes::test::faults {

namespace {

// Pacing and backoff of a client thread; every wait for the server has its own deadline.
constexpr auto poll = 10ms;

std::uint64_t next_random(std::uint64_t& state) {
  // xorshift64: cheap, and seeded per client so runs differ only by timing.
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

std::string padded(std::int64_t n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%08lld", static_cast<long long>(n));
  return buf;
}

// What someone typing produces: the text grows by a word per keystroke burst and always has
// `bytes` characters, so frames keep one size.
std::string typed_body(std::int64_t n, std::size_t bytes) {
  std::string s = "typed " + std::to_string(n) + ":";
  while (s.size() < bytes) {
    s += static_cast<char>('a' + (n + static_cast<std::int64_t>(s.size())) % 26);
  }
  s.resize(bytes);
  return s;
}

}  // namespace

std::string str_or_empty(const json::object& o, std::string_view field) {
  const auto* v = o.if_contains(field);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// ---------------------------------------------------------------------------------------------

void directory::set_servers(std::vector<std::uint16_t> ports) {
  std::lock_guard lock(mutex_);
  servers_ = std::move(ports);
}

void directory::set_balancer(std::uint16_t port) {
  std::lock_guard lock(mutex_);
  balancer_ = port;
}

std::uint16_t directory::server(std::size_t turn) const {
  std::lock_guard lock(mutex_);
  return servers_.empty() ? 0 : servers_[turn % servers_.size()];
}

std::uint16_t directory::balancer() const {
  std::lock_guard lock(mutex_);
  return balancer_;
}

void room_history::observe(std::int64_t seq, const std::string& cid) {
  std::lock_guard lock(mutex_);
  const auto [it, inserted] = cids_.emplace(seq, cid);
  if (!inserted && it->second != cid && conflicts_.size() < 50) {
    conflicts_.push_back("seq " + std::to_string(seq) + " numbered " + it->second + " and " +
                         cid);
  }
}

std::optional<std::string> room_history::cid_at(std::int64_t seq) const {
  std::lock_guard lock(mutex_);
  const auto it = cids_.find(seq);
  if (it == cids_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::vector<std::string> room_history::conflicts() const {
  std::lock_guard lock(mutex_);
  return conflicts_;
}

// ---------------------------------------------------------------------------------------------

load_client::load_client(config cfg, directory& dir, room_history& history)
    : cfg_(std::move(cfg)), dir_(dir), history_(history) {
  rng_ = 0x9E3779B97F4A7C15ULL ^ std::hash<std::string>{}(cfg_.name);
  if (rng_ == 0) {
    rng_ = 1;
  }
  turn_ = static_cast<std::size_t>(rng_ % 7);
}

load_client::~load_client() {
  stop();
}

void load_client::start() {
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void load_client::stop() {
  stop_ = true;
  if (thread_.joinable()) {
    thread_.join();
  }
  std::unique_ptr<ws_client> ws;
  {
    std::lock_guard lock(mutex_);
    ws = std::move(ws_);
  }
  if (ws && !ws->is_closed()) {
    ws->close(2000ms);
  }
}

void load_client::set_writing(bool on) {
  writing_ = on;
}

void load_client::pause_reading() {
  std::lock_guard lock(mutex_);
  if (ws_) {
    ws_->pause_reading();
  }
}

void load_client::resume_reading() {
  std::lock_guard lock(mutex_);
  if (ws_) {
    ws_->resume_reading();
  }
}

bool load_client::connected() const {
  std::lock_guard lock(mutex_);
  return ws_ != nullptr;
}

std::int64_t load_client::seq() const {
  std::lock_guard lock(mutex_);
  return loaded_ ? view_.seq() : -1;
}

std::string load_client::serialized() const {
  std::lock_guard lock(mutex_);
  return view_.serialized();
}

std::string load_client::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

std::size_t load_client::unacknowledged() const {
  std::lock_guard lock(mutex_);
  return in_flight_.size() + retry_.size();
}

std::vector<acked_op> load_client::acked() const {
  std::lock_guard lock(mutex_);
  return acked_;
}

std::vector<rejoin_event> load_client::rejoins() const {
  std::lock_guard lock(mutex_);
  return rejoins_;
}

client_counts load_client::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

std::string load_client::server_id() const {
  std::lock_guard lock(mutex_);
  return server_id_;
}

std::optional<clock_type::time_point> load_client::first_ack_after(clock_type::time_point t) const {
  std::lock_guard lock(mutex_);
  for (const auto& a : acked_) {
    if (a.at >= t) {
      return a.at;
    }
  }
  return std::nullopt;
}

void load_client::run() {
  next_send_ = clock_type::now();
  while (!stop_) {
    ws_client* ws = nullptr;
    {
      std::lock_guard lock(mutex_);
      ws = ws_.get();
    }
    if (ws == nullptr) {
      if (!reconnect()) {
        const auto until = clock_type::now() + cfg_.retry_backoff;
        while (!stop_ && clock_type::now() < until) {
          std::this_thread::sleep_for(poll);  // reconnect backoff, not a synchronisation
        }
      }
      continue;
    }
    std::optional<json::object> frame;
    try {
      frame = ws->next(poll);
    } catch (const protocol_failure& e) {
      std::lock_guard lock(mutex_);
      last_error_ = e.what();
      continue;
    }
    std::unique_ptr<ws_client> ended;
    {
      std::lock_guard lock(mutex_);
      if (frame) {
        take(*frame, true);
      } else if (const auto closed = ws->closed()) {
        rejoin_event e;
        e.close_code = closed->code;
        slow_closes_in_row_ = closed->code == 4008 ? slow_closes_in_row_ + 1 : 0;
        e.closed_at = clock_type::now();
        open_rejoin_ = e;
        last_error_ = "closed " + std::to_string(closed->code) + " " + closed->reason;
        ended = std::move(ws_);
        resend_unacknowledged();
        gap_rejoin_since_.reset();
      }
      if (ws_ && cfg_.writer) {
        send_next();
      }
    }
    ended.reset();  // joins its io thread outside the lock
  }
}

bool load_client::reconnect() {
  const std::uint16_t port = cfg_.via_balancer ? dir_.balancer() : dir_.server(turn_++);
  std::optional<std::int64_t> since;
  {
    std::lock_guard lock(mutex_);
    // A backlog larger than the server's outbound limit closes a resume with 4008 again:
    // after two in a row, start from a snapshot as a real client would.
    if (loaded_ && slow_closes_in_row_ < 2) {
      since = view_.seq();
    }
  }
  std::unique_ptr<ws_client> ws;
  try {
    if (port == 0) {
      throw protocol_failure("no server to connect to");
    }
    ws_client::options opts;
    opts.receive_buffer_bytes = cfg_.receive_buffer_bytes;
    opts.connect_timeout = 5000ms;
    ws = ws_client::connect(port, opts);
    ws->send(json::value{{"type", "hello"}, {"token", cfg_.who.token}, {"client", "faults"}});
    auto welcome = ws->next_skipping({"presence", "room_stat"}, 10000ms);
    if (!welcome || type_of(*welcome) != "welcome") {
      throw protocol_failure("no welcome" + (welcome ? ": " + to_string(*welcome) : ""));
    }
    const auto answer = join(*ws, cfg_.room, since);
    const std::string kind = type_of(answer);
    if (kind != "snapshot" && kind != "resume") {
      throw protocol_failure("join answered " + to_string(answer));
    }
    std::lock_guard lock(mutex_);
    if (kind == "resume") {
      view_.expect_resume(int64(answer, "since"));
    } else {
      view_.load(answer);
      slow_closes_in_row_ = 0;
    }
    loaded_ = true;
    server_id_ = str(*welcome, "server");
    ws_ = std::move(ws);
    if (open_rejoin_) {
      open_rejoin_->rejoined_at = clock_type::now();
      open_rejoin_->resumed = kind == "resume";
      rejoins_.push_back(*open_rejoin_);
      open_rejoin_.reset();
    }
    return true;
  } catch (const protocol_failure& e) {
    std::lock_guard lock(mutex_);
    ++counts_.failed_reconnects;
    last_error_ = std::string("reconnect to ") + std::to_string(port) + ": " + e.what();
    // A join answer cut by 4008 counts as a slow close: the next try may need a snapshot.
    if (const auto closed = ws ? ws->closed() : std::nullopt) {
      last_error_ += " (closed " + std::to_string(closed->code) + " " + closed->reason + ")";
      if (closed->code == 4008) {
        ++slow_closes_in_row_;
      }
    }
    return false;
  }
}

void load_client::take(const json::object& frame, bool) {
  const std::string kind = type_of(frame);
  if (kind == "op") {
    if (str_or_empty(frame, "room") == cfg_.room) {
      apply_op(frame);
    }
    return;
  }
  if (kind == "reject") {
    const std::string cid = str_or_empty(frame, "cid");
    const std::string code = str_or_empty(frame, "code");
    ++counts_.rejected;
    ++counts_.rejects_by_code[code];
    const auto it = in_flight_.find(cid);
    if (it == in_flight_.end()) {
      return;
    }
    op_to_send op = std::move(it->second);
    in_flight_.erase(it);
    if (code == "invalid" && !gap_rejoin_since_) {
      // "join the room before sending ops": the server dropped this socket from the room
      // without a word. Counted (a scenario fails on it), then what a client can do: join
      // again with since and send the edit again.
      ++counts_.evicted;
      retry_.push_back(std::move(op));
      gap_rejoin_since_ = view_.seq();
      ws_->send(json::value{{"type", "join"}, {"room", cfg_.room}, {"since", view_.seq()}});
      return;
    }
    if (code == "invalid") {
      retry_.push_back(std::move(op));
      return;
    }
    if (code == "unavailable" || code == "rate_limited" || code == "conflict") {
      // A real client keeps the edit and tries again a little later.
      retry_.push_back(std::move(op));
      not_before_ = clock_type::now() + cfg_.retry_backoff;
    } else {
      last_error_ = "rejected for good: " + to_string(frame);
      if (op.create) {
        create_pending_.erase(op.note);
      }
    }
    return;
  }
  if ((kind == "snapshot" || kind == "resume") && gap_rejoin_since_) {
    if (kind == "resume") {
      view_.expect_resume(int64(frame, "since"));
    } else {
      view_.load(frame);
    }
    gap_rejoin_since_.reset();
    return;
  }
  if (kind == "error") {
    last_error_ = to_string(frame);
    if (gap_rejoin_since_ && str_or_empty(frame, "room") == cfg_.room) {
      // The re-join was refused (e.g. unavailable): start over on a new connection.
      ws_->abort();
    }
  }
  // presence, room_stat, pong: nothing to keep.
}

void load_client::apply_op(const json::object& frame) {
  const std::int64_t seq = int64(frame, "seq");
  const std::string cid = str_or_empty(frame, "cid");
  history_.observe(seq, cid);
  if (!gap_rejoin_since_) {
    try {
      view_.apply(frame);
    } catch (const protocol_failure& e) {
      // PROTOCOL.md: a client that sees a gap (or a repeat) joins again with `since`.
      ++counts_.gaps;
      last_error_ = e.what();
      gap_rejoin_since_ = view_.seq();
      ws_->send(json::value{{"type", "join"}, {"room", cfg_.room}, {"since", view_.seq()}});
    }
  }
  const auto sent = sent_ops_.find(cid);
  if (sent == sent_ops_.end()) {
    return;
  }
  in_flight_.erase(cid);
  const op_to_send& op = sent->second;
  if (!acked_cids_.insert(cid).second) {
    return;
  }
  // Copies of the same edit queued for a retry are no longer needed.
  retry_.erase(std::remove_if(retry_.begin(), retry_.end(),
                              [&](const op_to_send& r) { return r.origin == op.origin; }),
               retry_.end());
  acked_op a;
  a.cid = cid;
  a.seq = seq;
  a.note = op.note;
  a.create = op.create;
  a.fields = op.fields;
  a.at = clock_type::now();
  acked_.push_back(std::move(a));
  ++counts_.acked;
  if (op.create) {
    created_[op.note] = true;
    create_pending_.erase(op.note);
  }
}

void load_client::resend_unacknowledged() {
  // In send order (cids sort by their counter), ahead of anything already waiting.
  std::vector<op_to_send> again;
  for (auto& [cid, op] : in_flight_) {
    again.push_back(std::move(op));
  }
  in_flight_.clear();
  for (auto& op : retry_) {
    again.push_back(std::move(op));
  }
  retry_ = std::move(again);
}

std::optional<load_client::op_to_send> load_client::next_op() {
  for (int k = 0; k < cfg_.notes; ++k) {
    const std::string id = cfg_.name + "-n" + std::to_string(k);
    if (!created_[id] && !create_pending_[id]) {
      create_pending_[id] = true;
      op_to_send op;
      op.note = id;
      op.create = true;
      const double index = static_cast<double>(next_random(rng_) % 100000) / 100.0;
      op.op = create_op(id, cfg_.name + " note " + std::to_string(k), index, "", false, false);
      op.fields = json::object{{"title", cfg_.name + " note " + std::to_string(k)},
                               {"body", ""},
                               {"is_important", false},
                               {"is_completed", false},
                               {"current_index", index}};
      return op;
    }
  }
  std::vector<std::string> live;
  for (const auto& [id, done] : created_) {
    if (done) {
      live.push_back(id);
    }
  }
  if (live.empty()) {
    return std::nullopt;  // every create is still waiting for its ack
  }
  op_to_send op;
  op.note = live[next_random(rng_) % live.size()];
  const auto pick = next_random(rng_) % 20;
  ++typed_;
  if (pick < 14) {
    json::object set{{"body", typed_body(typed_, cfg_.body_bytes)}};
    op.fields = set;
    op.op = update_op(op.note, std::move(set));
  } else if (pick < 17) {
    json::object set{{"title", cfg_.name + " title " + std::to_string(typed_)},
                     {"is_important", typed_ % 2 == 0}};
    op.fields = set;
    op.op = update_op(op.note, std::move(set));
  } else {
    const double index = static_cast<double>(next_random(rng_) % 100000) / 100.0;
    op.fields = json::object{{"current_index", index}};
    op.op = move_op(op.note, index);
  }
  return op;
}

void load_client::send_next() {
  const auto now = clock_type::now();
  if (now < not_before_ || now < next_send_ || in_flight_.size() >= cfg_.max_in_flight) {
    return;
  }
  std::optional<op_to_send> op;
  if (!retry_.empty()) {
    op = std::move(retry_.front());
    retry_.erase(retry_.begin());
  } else if (writing_) {
    op = next_op();
  }
  if (!op) {
    return;
  }
  send_op(std::move(*op));
  next_send_ += cfg_.interval;
  if (next_send_ < now - 1s) {
    next_send_ = now;  // after a stall, steady typing again rather than a burst
  }
}

void load_client::send_op(op_to_send op) {
  const std::string cid = cfg_.name + "-" + padded(next_cid_++);
  if (op.origin.empty()) {
    op.origin = cid;
  }
  ws_->send(op_frame(cfg_.room, cid, op.op));
  ++counts_.sent;
  sent_ops_[cid] = op;
  in_flight_[cid] = std::move(op);
}

}  // namespace fun_notes::test::faults

// ---------------------------------------------------------------------------------------------

namespace fun_notes::test::faults {

struct crowd::member {
  user who;
  std::string room;
  bool via_balancer = false;
  std::size_t turn = 0;
  std::mutex mutex;
  std::unique_ptr<ws_client> ws;
  replica view;
  bool loaded = false;
  bool resumed = false;
  bool broken = false;  // saw a gap: left behind, counted by behind()
};

crowd::crowd(directory& dir, std::vector<std::pair<user, std::string>> members_user_room,
             std::size_t via_balancer_every, std::size_t threads)
    : dir_(dir), threads_(std::max<std::size_t>(threads, 1)) {
  for (std::size_t i = 0; i < members_user_room.size(); ++i) {
    auto m = std::make_unique<member>();
    m->who = std::move(members_user_room[i].first);
    m->room = std::move(members_user_room[i].second);
    m->via_balancer = via_balancer_every != 0 && i % via_balancer_every == 0;
    m->turn = i;
    members_.push_back(std::move(m));
  }
}

crowd::~crowd() {
  stop();
  for (auto& m : members_) {
    if (m->ws) {
      m->ws->abort();
    }
  }
}

std::size_t crowd::size() const {
  return members_.size();
}

void crowd::join_member(member& m) {
  const std::uint16_t port = m.via_balancer ? dir_.balancer() : dir_.server(m.turn++);
  ws_client::options opts;
  opts.connect_timeout = 10000ms;
  auto ws = ws_client::connect(port, opts);
  ws->send(json::value{{"type", "hello"}, {"token", m.who.token}, {"client", "faults-crowd"}});
  auto welcome = ws->next_skipping({"presence", "room_stat"}, 20000ms);
  if (!welcome || type_of(*welcome) != "welcome") {
    throw protocol_failure("no welcome" + (welcome ? ": " + to_string(*welcome) : ""));
  }
  std::optional<std::int64_t> since;
  if (m.loaded && !m.broken) {
    since = m.view.seq();
  }
  const auto answer = join(*ws, m.room, since);
  std::lock_guard lock(m.mutex);
  if (type_of(answer) == "resume") {
    m.view.expect_resume(int64(answer, "since"));
    m.resumed = true;
  } else if (type_of(answer) == "snapshot") {
    m.view.load(answer);
    m.resumed = false;
  } else {
    throw protocol_failure("join answered " + to_string(answer));
  }
  m.loaded = true;
  m.broken = false;
  m.ws = std::move(ws);
}

void crowd::connect_all(milliseconds deadline) {
  if (reconnect_all(deadline) != members_.size()) {
    throw protocol_failure("the crowd could not connect in time");
  }
}

std::size_t crowd::reconnect_all(milliseconds deadline) {
  const auto give_up = clock_type::now() + deadline;
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> joined{0};
  std::vector<std::thread> workers;
  // Many connectors at once: the point is a thundering herd, not a queue.
  const std::size_t connectors = std::min<std::size_t>(64, members_.size());
  for (std::size_t t = 0; t < connectors; ++t) {
    workers.emplace_back([&] {
      for (std::size_t i = next++; i < members_.size(); i = next++) {
        member& m = *members_[i];
        while (clock_type::now() < give_up) {
          try {
            join_member(m);
            ++joined;
            break;
          } catch (const protocol_failure&) {
            std::this_thread::sleep_for(100ms);  // retry backoff of a real client
          }
        }
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  return joined;
}

void crowd::read_loop(std::size_t slice) {
  while (!stop_) {
    bool any = false;
    for (std::size_t i = slice; i < members_.size(); i += threads_) {
      member& m = *members_[i];
      std::lock_guard lock(m.mutex);
      if (!m.ws) {
        continue;
      }
      for (int n = 0; n < 64; ++n) {
        std::optional<json::object> f;
        try {
          f = m.ws->next(0ms);
        } catch (const protocol_failure&) {
          continue;
        }
        if (!f) {
          break;
        }
        any = true;
        if (type_of(*f) == "op" && !m.broken) {
          try {
            m.view.apply(*f);
          } catch (const protocol_failure&) {
            m.broken = true;
          }
        }
      }
    }
    if (!any) {
      std::this_thread::sleep_for(20ms);  // nothing arrived: pacing the sweep
    }
  }
}

void crowd::start() {
  stop_ = false;
  for (std::size_t t = 0; t < threads_; ++t) {
    readers_.emplace_back([this, t] { read_loop(t); });
  }
}

void crowd::stop() {
  stop_ = true;
  for (auto& r : readers_) {
    r.join();
  }
  readers_.clear();
}

void crowd::drop_all() {
  stop();
  // Everything first, then the cleanup: the server sees every socket go at once.
  for (auto& m : members_) {
    if (m->ws) {
      m->ws->abort();
    }
  }
  for (auto& m : members_) {
    if (!m->ws) {
      continue;
    }
    // What arrived before the drop was received, and counts.
    while (auto f = m->ws->next(0ms)) {
      if (type_of(*f) == "op" && !m->broken) {
        try {
          m->view.apply(*f);
        } catch (const protocol_failure&) {
          m->broken = true;
        }
      }
    }
    m->ws.reset();
  }
}

std::size_t crowd::behind(const std::map<std::string, std::int64_t>& seqs) const {
  std::size_t n = 0;
  for (const auto& m : members_) {
    std::lock_guard lock(m->mutex);
    const auto it = seqs.find(m->room);
    if (m->broken || !m->ws || it == seqs.end() || m->view.seq() != it->second) {
      ++n;
    }
  }
  return n;
}

std::vector<std::pair<std::string, std::string>> crowd::serialized() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& m : members_) {
    std::lock_guard lock(m->mutex);
    out.emplace_back(m->room, m->view.serialized());
  }
  return out;
}

std::size_t crowd::resumed() const {
  std::size_t n = 0;
  for (const auto& m : members_) {
    std::lock_guard lock(m->mutex);
    n += m->resumed ? 1 : 0;
  }
  return n;
}

}  // namespace fun_notes::test::faults

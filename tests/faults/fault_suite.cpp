// The fault suite's fleet, its end-of-scenario checks and the table (see fault_suite.hpp).
#include "fault_suite.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>

#include "fun_notes/core/codec.hpp"
#include "pg_test_server.hpp"
#include "store/postgres/pg_connection.hpp"

namespace fun_notes::test::faults {

namespace {

std::mutex rows_mutex;
std::vector<scenario_row>& rows() {
  static std::vector<scenario_row> r;
  return r;
}

// Waits for `done` with a deadline, checking every `every`: for states the servers reach on
// their own schedule (a flush, a replica catching up) and announce nowhere.
template <class F>
bool poll_until(F done, milliseconds deadline, milliseconds every = 50ms) {
  const auto give_up = clock_type::now() + deadline;
  for (;;) {
    if (done()) {
      return true;
    }
    if (clock_type::now() > give_up) {
      return false;
    }
    std::this_thread::sleep_for(every);
  }
}

std::string join_urls(const std::vector<std::string>& urls) {
  std::string out;
  for (const auto& u : urls) {
    out += (out.empty() ? "" : ",") + u;
  }
  return out;
}

std::string describe_note(const core::note& n) {
  std::ostringstream o;
  o << n.id << "{title=" << n.title << " body=" << n.body.substr(0, 24) << " imp=" << n.is_important
    << " idx=" << n.current_index << " seq=" << n.seq << "}";
  return o.str();
}

bool same_note(const core::note& a, const core::note& b) {
  return a.id == b.id && a.title == b.title && a.body == b.body &&
         a.is_important == b.is_important && a.is_completed == b.is_completed &&
         a.current_index == b.current_index && a.seq == b.seq;
}

// Whether note `n` shows `value` for `field` (as an acknowledged op set it).
bool field_matches(const core::note& n, const std::string& field, const json::value& value) {
  if (field == "title") {
    return value.is_string() && n.title == value.get_string();
  }
  if (field == "body") {
    return value.is_string() && n.body == value.get_string();
  }
  if (field == "is_important") {
    return value.is_bool() && n.is_important == value.get_bool();
  }
  if (field == "is_completed") {
    return value.is_bool() && n.is_completed == value.get_bool();
  }
  if (field == "current_index") {
    return n.current_index == value.to_number<double>();
  }
  return false;
}

}  // namespace

void record_row(scenario_row row) {
  std::lock_guard lock(rows_mutex);
  rows().push_back(std::move(row));
}

std::string seconds_text(clock_type::duration d) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(2)
    << std::chrono::duration_cast<std::chrono::duration<double>>(d).count() << " s";
  return o.str();
}

void write_table(std::ostream& out) {
  std::lock_guard lock(rows_mutex);
  out << "| scenario | ops sent | acknowledged | rejected | lost (must be 0) | recovery time | "
         "notes |\n|---|---:|---:|---:|---:|---|---|\n";
  for (const auto& r : rows()) {
    out << "| " << r.scenario << " | " << r.sent << " | " << r.acked << " | " << r.rejected << " | "
        << r.lost << " | " << r.recovery << " | " << r.notes << " |\n";
  }
}

void merge_table_file(const std::string& path) {
  // ctest runs each scenario in a process of its own: keep the rows other runs wrote, replace
  // those of the scenarios run now, and order them by their number.
  std::map<double, std::string> lines;
  const auto order = [](const std::string& line) {
    char* end = nullptr;
    double n = std::strtod(line.c_str() + 2, &end);  // "| 4a. ..." -> 4, then 'a'
    if (end != nullptr && (*end == 'a' || *end == 'b')) {
      n += *end == 'a' ? 0.1 : 0.2;
    }
    return n;
  };
  {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("| ", 0) == 0 && line.rfind("| scenario", 0) != 0) {
        lines[order(line)] = line;
      }
    }
  }
  std::ostringstream mine;
  write_table(mine);
  std::istringstream rows_now(mine.str());
  std::string line;
  while (std::getline(rows_now, line)) {
    if (line.rfind("| ", 0) == 0 && line.rfind("| scenario", 0) != 0) {
      lines[order(line)] = line;
    }
  }
  std::ofstream out(path);
  out << "| scenario | ops sent | acknowledged | rejected | lost (must be 0) | recovery time | "
         "notes |\n|---|---:|---:|---:|---:|---|---|\n";
  for (const auto& [k, l] : lines) {
    out << l << "\n";
  }
}

// ---------------------------------------------------------------------------------------------

fleet::fleet(fleet_options options) : options_(std::move(options)) {
  if (!options_.embedded) {
    redis_ = store::redis::testing::redis_deployment::cluster(3, 1);
    // Strict mode needs replicas that can confirm from the first op.
    redis_->wait_replicas_synced();
    postgres_url_ = store::testing::fresh_postgres_database();
  }
  const std::size_t n = options_.embedded ? 1 : options_.servers;
  for (std::size_t i = 0; i < n; ++i) {
    server_process::options o;
    o.extra_args = server_args();
    servers_.push_back(std::make_unique<server_process>(std::move(o)));
  }
  std::vector<std::uint16_t> ports;
  for (const auto& s : servers_) {
    ports.push_back(s->port());
  }
  directory_.set_servers(ports);
  if (!options_.embedded) {
    haproxy_ = std::make_unique<haproxy_process>(
        std::filesystem::path(FUN_NOTES_SOURCE_DIR) / "deploy" / "haproxy.cfg", ports);
    haproxy_->wait_ready();
    directory_.set_balancer(haproxy_->port());
  }
  owner_ = register_user(ports[0], "owner");
  for (int i = 0; i < 4; ++i) {
    users_.push_back(register_user(ports[i % ports.size()], "typist"));
  }
  for (std::size_t r = 0; r < options_.rooms; ++r) {
    rooms_.push_back(create_room(ports[0], owner_, "Room " + std::to_string(r), "link"));
    histories_[rooms_.back()] = std::make_unique<room_history>();
  }
  std::size_t k = 0;
  for (std::size_t r = 0; r < options_.rooms; ++r) {
    const std::string& room = rooms_[r];
    for (std::size_t w = 0; w < options_.writers_per_room + options_.readers_per_room; ++w) {
      load_client::config c;
      const bool writer = w < options_.writers_per_room;
      c.name = "r" + std::to_string(r) + (writer ? "w" : "r") + std::to_string(w);
      c.who = users_[k++ % users_.size()];
      c.room = room;
      c.writer = writer;
      // Every other client goes through HAProxy, the rest straight to a server.
      c.via_balancer = haproxy_ != nullptr && w % 2 == 1;
      c.body_bytes = r == 0 && options_.room0_body_bytes != 0 ? options_.room0_body_bytes
                                                              : options_.body_bytes;
      clients_.push_back(std::make_unique<load_client>(c, directory_, *histories_[room]));
    }
  }
}

fleet::~fleet() {
  for (auto& c : clients_) {
    c->stop();
  }
  haproxy_.reset();
  servers_.clear();
  redis_.reset();
}

std::vector<std::string> fleet::server_args() const {
  // Quick flushes so the cold store catches up within a scenario; the op log keeps every op
  // of the run so the checks can read it.
  std::vector<std::string> args = {"--flush-quiet-ms", "100",   "--flush-max-ms", "1000",
                                   "--hot-log-keep",   "100000"};
  if (!options_.embedded) {
    // Strict mode: an op is acknowledged only once a replica holds it, so no failover can
    // lose one.
    std::vector<std::string> more = {
        "--postgres", postgres_url_, "--redis", join_urls(redis_->urls()), "--redis-wait-replicas",
        "1"};
    args.insert(args.end(), more.begin(), more.end());
  }
  // A few accounts stand for many people here (a thousand sockets over four users).
  // All of them come from 127.0.0.1, too.
  args.insert(args.end(), {"--max-sockets-per-user", "0", "--max-sockets-per-address", "0"});
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  return args;
}

std::vector<load_client*> fleet::writers() const {
  std::vector<load_client*> out;
  for (const auto& c : clients_) {
    if (c->cfg().writer) {
      out.push_back(c.get());
    }
  }
  return out;
}

void fleet::start_load(std::int64_t acks) {
  for (auto& c : clients_) {
    c->start();
  }
  const bool joined = poll_until(
      [&] {
        return std::all_of(clients_.begin(), clients_.end(), [&](const auto& c) {
          return c->connected() && (!c->cfg().writer || c->counts().acked >= acks);
        });
      },
      60000ms);
  if (!joined) {
    std::string why;
    for (const auto& c : clients_) {
      if (!c->connected() || (c->cfg().writer && c->counts().acked < acks)) {
        why += "\n  " + c->cfg().name + ": " + c->last_error();
      }
    }
    throw protocol_failure("the load did not get going:" + why);
  }
  baseline_rss_.clear();
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    baseline_rss_.push_back(rss_kib(i));
  }
}

bool fleet::wait_progress(std::int64_t more, milliseconds deadline) {
  std::vector<std::int64_t> start;
  const auto ws = writers();
  for (auto* w : ws) {
    start.push_back(w->counts().acked);
  }
  return poll_until(
      [&] {
        for (std::size_t i = 0; i < ws.size(); ++i) {
          if (ws[i]->counts().acked < start[i] + more) {
            return false;
          }
        }
        return true;
      },
      deadline);
}

void fleet::set_writing(bool on) {
  for (auto* w : writers()) {
    w->set_writing(on);
  }
}

void fleet::refresh_directory() {
  std::vector<std::uint16_t> ports;
  for (auto& s : servers_) {
    if (s->running()) {
      ports.push_back(s->port());
    }
  }
  directory_.set_servers(ports);
}

std::uint16_t fleet::live_port() {
  for (auto& s : servers_) {
    if (s->running()) {
      return s->port();
    }
  }
  throw protocol_failure("no server is running");
}

std::vector<std::size_t> fleet::redis_masters() {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < redis_->size(); ++i) {
    if (!redis_->node(i).running()) {
      continue;
    }
    const auto role = redis_->node(i).command({"ROLE"});
    if (role.is_array() && !role.elements.empty() && role.elements[0].str == "master") {
      out.push_back(i);
    }
  }
  return out;
}

std::optional<std::size_t> fleet::replica_of(std::size_t master) {
  const std::string port = std::to_string(redis_->node(master).port());
  for (std::size_t i = 0; i < redis_->size(); ++i) {
    if (!redis_->node(i).running()) {
      continue;
    }
    const auto role = redis_->node(i).command({"ROLE"});
    if (role.is_array() && role.elements.size() >= 3 && role.elements[0].str == "slave" &&
        (role.elements[2].str == port || std::to_string(role.elements[2].integer) == port)) {
      return i;
    }
  }
  return std::nullopt;
}

std::optional<clock_type::time_point> fleet::all_writers_acked_after(
    clock_type::time_point t) const {
  clock_type::time_point latest = t;
  for (auto* w : writers()) {
    const auto a = w->first_ack_after(t);
    if (!a) {
      return std::nullopt;
    }
    latest = std::max(latest, *a);
  }
  return latest;
}

std::optional<clock_type::duration> fleet::wait_writers_recovered(clock_type::time_point t,
                                                                  milliseconds deadline) const {
  std::optional<clock_type::time_point> at;
  poll_until([&] { return (at = all_writers_acked_after(t)).has_value(); }, deadline, 20ms);
  if (!at) {
    return std::nullopt;
  }
  return *at - t;
}

std::int64_t fleet::rss_kib(std::size_t i) {
  auto& s = *servers_.at(i);
  if (!s.running()) {
    return 0;
  }
  std::ifstream in("/proc/" + std::to_string(s.pid()) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoll(line.substr(6));
    }
  }
  return 0;
}

fleet::cold_view fleet::read_cold(const std::string& room) {
  cold_view v;
  if (!options_.embedded) {
    try {
      store::pg::connection c(postgres_url_);
      const auto seq = c.exec("SELECT last_seq FROM note_rooms WHERE id = $1", {room});
      if (seq.rows() == 1) {
        v.last_seq = seq.int64(0, 0);
      }
      const auto r = c.exec(
          "SELECT id, title, body, is_important, is_completed, current_index, sequence_id "
          "FROM notes WHERE note_room_id = $1",
          {room});
      for (int i = 0; i < r.rows(); ++i) {
        core::note n;
        n.id = r.text(i, 0);
        n.title = r.text(i, 1);
        n.body = r.text(i, 2);
        n.is_important = r.boolean(i, 3);
        n.is_completed = r.boolean(i, 4);
        n.current_index = r.float8(i, 5);
        n.seq = r.int64(i, 6);
        v.notes[n.id] = n;
      }
    } catch (const std::exception&) {
      v.last_seq = -1;  // PostgreSQL is down: nothing read
    }
    return v;
  }
  sqlite3* db = nullptr;
  const std::string path = (servers_.at(0)->data_dir() / "fun-notes.db").string();
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return v;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT last_seq FROM note_rooms WHERE id = ?", -1, &st, nullptr) ==
      SQLITE_OK) {
    sqlite3_bind_text(st, 1, room.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
      v.last_seq = sqlite3_column_int64(st, 0);
    }
  }
  sqlite3_finalize(st);
  if (sqlite3_prepare_v2(db,
                         "SELECT id, title, body, is_important, is_completed, current_index, "
                         "sequence_id FROM notes WHERE note_room_id = ?",
                         -1, &st, nullptr) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, room.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) {
      core::note n;
      const auto text = [&](int c) {
        const auto* p = sqlite3_column_text(st, c);
        return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p));
      };
      n.id = text(0);
      n.title = text(1);
      n.body = text(2);
      n.is_important = sqlite3_column_int(st, 3) != 0;
      n.is_completed = sqlite3_column_int(st, 4) != 0;
      n.current_index = sqlite3_column_double(st, 5);
      n.seq = sqlite3_column_int64(st, 6);
      v.notes[n.id] = n;
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

std::map<std::int64_t, std::string> fleet::read_hot(const std::string& room) {
  std::map<std::int64_t, std::string> out;
  const auto add = [&](const std::string& frame) {
    const auto v = core::parse_json(frame);
    if (v && v->is_object()) {
      const auto* seq = v->get_object().if_contains("seq");
      if (seq != nullptr && seq->is_int64()) {
        out[seq->get_int64()] = str_or_empty(v->get_object(), "cid");
      }
    }
  };
  if (!options_.embedded) {
    const std::string key = "room:updates:{" + room + "}";
    for (std::size_t i = 0; i < redis_->size(); ++i) {
      if (!redis_->node(i).running()) {
        continue;
      }
      try {
        const auto r = redis_->node(i).command({"ZRANGE", key, "0", "-1"});
        if (r.is_array()) {  // a MOVED error comes from a node not holding the slot
          for (const auto& e : r.elements) {
            add(e.str);
          }
          return out;
        }
      } catch (const std::exception&) {
      }
    }
    return out;
  }
  sqlite3* db = nullptr;
  const std::string path = (servers_.at(0)->data_dir() / "oplog.db").string();
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT frame FROM op_log WHERE room_id = ?", -1, &st, nullptr) ==
        SQLITE_OK) {
      sqlite3_bind_text(st, 1, room.c_str(), -1, SQLITE_TRANSIENT);
      while (sqlite3_step(st) == SQLITE_ROW) {
        add(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
      }
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

scenario_row fleet::verify(const std::string& scenario, const std::string& recovery,
                           std::string notes) {
  scenario_row row;
  row.scenario = scenario;
  row.recovery = recovery;

  // 1. The writers stop typing and get every edit they still hold acknowledged.
  set_writing(false);
  const bool drained = poll_until(
      [&] {
        return std::all_of(clients_.begin(), clients_.end(),
                           [](const auto& c) { return c->unacknowledged() == 0; });
      },
      60000ms);
  if (!drained) {
    for (const auto& c : clients_) {
      if (c->unacknowledged() != 0) {
        ADD_FAILURE() << c->cfg().name << " still holds " << c->unacknowledged()
                      << " unacknowledged ops: " << c->last_error();
      }
    }
  }

  // 2. The room's latest state as a live server serves it, and every client converges on it.
  std::map<std::string, json::object> live;
  std::map<std::string, std::int64_t> final_seq;
  for (const auto& room : rooms_) {
    const bool got = poll_until(
        [&] {
          try {
            const auto body = get_notes(live_port(), owner_, room);
            live[room] = body;
            final_seq[room] = int64(body, "seq");
            return true;
          } catch (const protocol_failure&) {
            return false;
          }
        },
        30000ms, 200ms);
    if (!got) {
      ADD_FAILURE() << "GET /api/rooms/" << room << "/notes never answered";
      final_seq[room] = -1;
    }
  }
  const bool converged = poll_until(
      [&] {
        return std::all_of(clients_.begin(), clients_.end(),
                           [&](const auto& c) { return c->seq() == final_seq[c->cfg().room]; });
      },
      30000ms);
  for (const auto& c : clients_) {
    const auto& room = c->cfg().room;
    if (!converged && c->seq() != final_seq[room]) {
      ADD_FAILURE() << c->cfg().name << " is at seq " << c->seq() << ", the room at "
                    << final_seq[room] << ": " << c->last_error();
    } else if (live.count(room) != 0) {
      EXPECT_EQ(c->serialized(), serialized_state(live[room]))
          << c->cfg().name << " diverged from the server's state of " << room;
    }
  }
  for (const auto& c : clients_) {
    // A session dropped from its room without a close or an error cannot know it must
    // re-join: its reader would silently stop receiving.
    EXPECT_EQ(c->counts().evicted, 0)
        << c->cfg().name << " was removed from its room without being told (ops rejected "
        << "\"join the room before sending ops\")";
    c->stop();
  }

  // 3. The cold store catches up: last_seq reaches the room's seq, with the same notes.
  std::map<std::string, cold_view> cold;
  for (const auto& room : rooms_) {
    const bool flushed = poll_until(
        [&] {
          cold[room] = read_cold(room);
          return cold[room].last_seq == final_seq[room];
        },
        30000ms, 100ms);
    if (!flushed) {
      ADD_FAILURE() << "the cold store has " << room << " at last_seq " << cold[room].last_seq
                    << ", the room is at " << final_seq[room];
      continue;
    }
    core::room_state expected;
    if (live.count(room) != 0) {
      std::vector<core::note> ns;
      for (const auto& v : arr(live[room], "notes")) {
        auto n = core::parse_note(v);
        if (n) {
          ns.push_back(*n);
        }
      }
      expected = core::room_state(final_seq[room], ns);
    }
    for (const auto& n : expected.sorted_notes()) {
      const auto it = cold[room].notes.find(n.id);
      if (it == cold[room].notes.end()) {
        ADD_FAILURE() << "note " << n.id << " of " << room << " is not in the cold store";
      } else if (!same_note(it->second, n)) {
        ADD_FAILURE() << "cold store " << describe_note(it->second) << " != served "
                      << describe_note(n);
      }
    }
    EXPECT_EQ(cold[room].notes.size(), expected.size()) << room << " in the cold store";
  }

  // 4. A server that never saw the rooms serves them from the stores alone.
  std::map<std::string, core::room_state> fresh;
  try {
    std::unique_ptr<server_process> extra;
    std::uint16_t port = 0;
    if (options_.embedded) {
      // One data dir per embedded server: the same one, restarted.
      servers_[0]->terminate();
      servers_[0]->restart();
      port = servers_[0]->port();
    } else {
      server_process::options o;
      o.extra_args = server_args();
      extra = std::make_unique<server_process>(std::move(o));
      port = extra->port();
    }
    for (const auto& room : rooms_) {
      const auto body = get_notes(port, owner_, room);
      std::vector<core::note> ns;
      for (const auto& v : arr(body, "notes")) {
        if (auto n = core::parse_note(v)) {
          ns.push_back(*n);
        }
      }
      fresh[room] = core::room_state(int64(body, "seq"), ns);
      if (live.count(room) != 0) {
        EXPECT_EQ(serialized_state(body), serialized_state(live[room]))
            << "a fresh server serves " << room << " differently";
      }
    }
  } catch (const protocol_failure& e) {
    ADD_FAILURE() << "a fresh server could not serve the rooms: " << e.what();
  }

  // 5. Every acknowledged op: numbered once, held by the hot log or covered by the cold
  //    store, and (the last one per note field) visible in what a fresh server serves.
  std::set<std::string> lost;
  std::vector<std::string> why;
  const auto lose = [&](const acked_op& a, const std::string& reason) {
    if (lost.insert(a.cid).second && why.size() < 12) {
      why.push_back(a.cid + " (seq " + std::to_string(a.seq) + "): " + reason);
    }
  };
  for (const auto& room : rooms_) {
    for (const auto& conflict : histories_[room]->conflicts()) {
      ADD_FAILURE() << room << ": " << conflict;
    }
    const auto hot = read_hot(room);
    // note -> field -> the acknowledged op that set it last.
    std::map<std::string, std::map<std::string, const acked_op*>> last_set;
    std::map<std::string, const acked_op*> first_create;
    std::vector<acked_op> all;
    for (const auto& c : clients_) {
      if (c->cfg().room != room || !c->cfg().writer) {
        continue;
      }
      auto a = c->acked();
      all.insert(all.end(), a.begin(), a.end());
      const auto counts = c->counts();
      row.sent += counts.sent;
      row.acked += counts.acked;
      row.rejected += counts.rejected;
    }
    std::sort(all.begin(), all.end(),
              [](const acked_op& x, const acked_op& y) { return x.seq < y.seq; });
    for (const auto& a : all) {
      if (const auto seen = histories_[room]->cid_at(a.seq); seen && *seen != a.cid) {
        lose(a, "its seq was numbered again for " + *seen);
      }
      if (a.seq > final_seq[room]) {
        lose(a, "the room's seq went back to " + std::to_string(final_seq[room]));
      }
      const auto h = hot.find(a.seq);
      if (h != hot.end() && h->second != a.cid) {
        lose(a, "the hot log holds " + h->second + " at its seq");
      }
      if (h == hot.end() && a.seq > cold[room].last_seq) {
        lose(a, "neither in the hot log nor in the cold store (last_seq " +
                    std::to_string(cold[room].last_seq) + ")");
      }
      if (a.create) {
        if (first_create.count(a.note) != 0) {
          continue;  // a create of an existing note is a no-op: only the first one counts
        }
        first_create[a.note] = &a;
      }
      for (const auto& [field, value] : a.fields) {
        last_set[a.note][std::string(field)] = &a;
      }
    }
    const auto check_state = [&](const core::room_state& state, const std::string& where) {
      for (const auto& [note_id, fields] : last_set) {
        const core::note* n = state.find(note_id);
        for (const auto& [field, a] : fields) {
          if (n == nullptr) {
            lose(*a, "note " + note_id + " is missing from " + where);
          } else if (!field_matches(*n, field, a->fields.at(field))) {
            lose(*a, field + " of " + note_id + " is not what it set, in " + where);
          }
        }
      }
    };
    if (live.count(room) != 0) {
      std::vector<core::note> ns;
      for (const auto& v : arr(live[room], "notes")) {
        if (auto n = core::parse_note(v)) {
          ns.push_back(*n);
        }
      }
      check_state(core::room_state(final_seq[room], ns), "the live state");
    }
    if (fresh.count(room) != 0) {
      check_state(fresh[room], "a fresh server's state");
    }
  }
  row.lost = static_cast<std::int64_t>(lost.size());
  for (const auto& w : why) {
    ADD_FAILURE() << "acknowledged op lost: " << w;
  }
  EXPECT_EQ(row.lost, 0) << row.lost << " acknowledged ops lost in " << scenario;

  // 6. Memory: each server that lived through the scenario is back near its baseline.
  std::ostringstream rss;
  for (std::size_t i = 0; i < servers_.size() && i < baseline_rss_.size(); ++i) {
    const auto now = rss_kib(i);
    if (now == 0 || baseline_rss_[i] == 0) {
      continue;
    }
    rss << (rss.tellp() > 0 ? ", " : "RSS MiB ") << baseline_rss_[i] / 1024 << "→" << now / 1024;
    // Generous: allocators keep what they once had; a leak per op or per client is far more.
    EXPECT_LE(now, 2 * baseline_rss_[i] + 200 * 1024)
        << "server " << i << " RSS " << now << " KiB, baseline " << baseline_rss_[i];
  }
  row.notes = notes + (notes.empty() || rss.tellp() == 0 ? "" : "; ") + rss.str();
  std::cout << "[ faults ] " << scenario << ": sent " << row.sent << ", acknowledged " << row.acked
            << ", rejected " << row.rejected << ", lost " << row.lost << ", recovery " << recovery
            << "; " << row.notes << "\n";
  record_row(row);
  return row;
}

void fleet::print_logs(std::ostream& out) {
  for (auto& s : servers_) {
    s->print_log(out);
  }
  if (haproxy_) {
    out << "--- haproxy log ---\n" << haproxy_->log() << "\n";
  }
  for (const auto& c : clients_) {
    out << "client " << c->cfg().name << " last error: " << c->last_error() << "\n";
  }
}

load_client& fleet::add_reader(std::size_t room_index, const std::string& name,
                               int receive_buffer_bytes) {
  load_client::config c;
  c.name = name;
  c.who = users_.at(0);
  c.room = rooms_.at(room_index);
  c.receive_buffer_bytes = receive_buffer_bytes;
  clients_.push_back(std::make_unique<load_client>(c, directory_, *histories_[c.room]));
  return *clients_.back();
}

fleet& fault_test::make_fleet(fleet_options options) {
  fleet_ = std::make_unique<fleet>(std::move(options));
  return *fleet_;
}

void fault_test::TearDown() {
  if (HasFailure() && fleet_) {
    fleet_->print_logs(std::cerr);
  }
  fleet_.reset();
}

}  // namespace fun_notes::test::faults

// The fault suite's load generator: writers that type into notes at a steady rate and readers
// that follow, each keeping a replica, reconnecting (to another server or through HAProxy)
// and re-joining with `since` whenever their connection ends, like real clients.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fun_notes_test.hpp"

namespace fun_notes::test::faults {

using clock_type = std::chrono::steady_clock;

// Where clients connect. Asked anew at every (re)connect, so a scenario can take a dead server
// out or put a restarted one (on a new port) in.
class directory {
 public:
  void set_servers(std::vector<std::uint16_t> ports);
  void set_balancer(std::uint16_t port);
  // The server for a client's `turn`-th connection attempt (each attempt moves on by one).
  std::uint16_t server(std::size_t turn) const;
  std::uint16_t balancer() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::uint16_t> servers_;
  std::uint16_t balancer_ = 0;
};

// Every op any client of one room saw numbered: seq -> cid. Two clients that saw different
// ops under one seq mean the room reused a seq (what an acknowledged op lost with a Redis
// master, then numbered again, looks like).
class room_history {
 public:
  void observe(std::int64_t seq, const std::string& cid);
  std::optional<std::string> cid_at(std::int64_t seq) const;
  std::vector<std::string> conflicts() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::int64_t, std::string> cids_;
  std::vector<std::string> conflicts_;
};

// An op the writer saw echoed with its cid: acknowledged, so it must never be lost.
struct acked_op {
  std::string cid;
  std::int64_t seq = 0;
  std::string note;
  bool create = false;
  json::object fields;  // what it set: title/body/... or current_index
  clock_type::time_point at;
};

struct rejoin_event {
  int close_code = 0;  // how the connection ended
  clock_type::time_point closed_at;
  clock_type::time_point rejoined_at;
  bool resumed = false;  // resume (true) or snapshot
};

struct client_counts {
  std::int64_t sent = 0;      // op frames sent, retries included
  std::int64_t acked = 0;     // distinct acknowledged ops
  std::int64_t rejected = 0;  // rejects of any code (retried when unavailable/rate_limited)
  std::map<std::string, std::int64_t> rejects_by_code;
  std::int64_t gaps = 0;  // gaps or repeats seen in the stream (then re-joined with since)
  std::int64_t evicted = 0;  // ops rejected "invalid" because the socket was no longer joined
  std::int64_t failed_reconnects = 0;  // connect + hello + join attempts that did not hold
};

class load_client {
 public:
  struct config {
    std::string name;  // unique in the run: prefixes cids and note ids
    user who;
    std::string room;
    bool writer = false;
    bool via_balancer = false;
    int notes = 4;                         // notes this writer owns (creates, then types into)
    milliseconds interval{50};             // one op every interval: 20 ops/s
    std::size_t body_bytes = 120;          // a note body's length while typing
    std::size_t max_in_flight = 8;         // unacknowledged ops before the writer waits
    int receive_buffer_bytes = 0;          // see ws_client::options
    milliseconds retry_backoff{150};       // after a reject `unavailable`, or a failed connect
  };

  load_client(config cfg, directory& dir, room_history& history);
  ~load_client();
  load_client(const load_client&) = delete;
  load_client& operator=(const load_client&) = delete;

  void start();
  void stop();  // joins the thread and closes the connection
  // A writer with writing off sends nothing new but still retries what is unacknowledged.
  void set_writing(bool on);
  // A consumer that stops reading (see ws_client::pause_reading); nothing else changes.
  void pause_reading();
  void resume_reading();

  const config& cfg() const { return cfg_; }
  bool connected() const;
  std::int64_t seq() const;
  std::string serialized() const;
  std::string last_error() const;
  std::size_t unacknowledged() const;
  std::vector<acked_op> acked() const;
  std::vector<rejoin_event> rejoins() const;
  client_counts counts() const;
  // The first ack at or after `t`, if any yet.
  std::optional<clock_type::time_point> first_ack_after(clock_type::time_point t) const;
  // The instance id (welcome.server) of the current connection.
  std::string server_id() const;

 private:
  struct op_to_send {
    std::string origin;  // cid of its first send: retries of one edit share it
    std::string note;
    bool create = false;
    json::object op;
    json::object fields;
  };

  void run();
  bool reconnect();  // false while it cannot (then retried after a backoff)
  void take(const json::object& frame, bool answered);  // under mutex_
  void apply_op(const json::object& frame);
  void send_next();
  void send_op(op_to_send op);
  std::optional<op_to_send> next_op();
  void resend_unacknowledged();

  config cfg_;
  directory& dir_;
  room_history& history_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> writing_{true};

  mutable std::mutex mutex_;
  std::unique_ptr<ws_client> ws_;
  std::string server_id_;
  replica view_;
  bool loaded_ = false;
  std::size_t turn_ = 0;
  int slow_closes_in_row_ = 0;
  std::string last_error_;
  client_counts counts_;
  std::vector<acked_op> acked_;
  std::vector<rejoin_event> rejoins_;
  std::optional<rejoin_event> open_rejoin_;

  // Writer state (client thread only, read under mutex_ by the queries).
  std::map<std::string, op_to_send> in_flight_;  // cid -> op
  std::map<std::string, op_to_send> sent_ops_;   // every cid sent -> its op
  std::set<std::string> acked_cids_;
  std::optional<std::int64_t> gap_rejoin_since_;  // a join with since sent after a gap
  std::vector<op_to_send> retry_;                // rejected or cut off, sent again first
  std::map<std::string, bool> created_;          // note -> create acknowledged
  std::map<std::string, bool> create_pending_;
  std::int64_t next_cid_ = 0;
  std::int64_t typed_ = 0;
  clock_type::time_point next_send_;
  clock_type::time_point not_before_;
  std::uint64_t rng_ = 0;
};

// Many passive clients (readers) on a few threads, for "1,000 clients drop at once": each
// keeps a replica; drop_all() cuts every TCP connection at once, reconnect_all() brings them
// back with `since`.
class crowd {
 public:
  struct member;
  crowd(directory& dir, std::vector<std::pair<user, std::string>> members_user_room,
        std::size_t via_balancer_every, std::size_t threads);
  ~crowd();
  crowd(const crowd&) = delete;
  crowd& operator=(const crowd&) = delete;

  // Connects and joins everyone (throws protocol_failure if one cannot within the deadline).
  void connect_all(milliseconds deadline);
  // Starts the reader threads that apply what arrives.
  void start();
  void stop();
  void drop_all();
  // Reconnects everyone at once (from `threads` threads) with `since`; returns when all
  // have re-joined or the deadline passed. Returns how many re-joined.
  std::size_t reconnect_all(milliseconds deadline);
  std::size_t size() const;
  // Members whose replica is not at `seq` for their room (a map room -> seq).
  std::size_t behind(const std::map<std::string, std::int64_t>& seqs) const;
  // Serialized replicas, one per member, with the room.
  std::vector<std::pair<std::string, std::string>> serialized() const;
  std::size_t resumed() const;

 private:
  void read_loop(std::size_t slice);
  void join_member(member& m);

  directory& dir_;
  std::vector<std::unique_ptr<member>> members_;
  std::size_t threads_;
  std::vector<std::thread> readers_;
  std::atomic<bool> stop_{false};
};

// The named frame field if it is a string, else "".
std::string str_or_empty(const json::object& o, std::string_view field);

}  // namespace fun_notes::test::faults

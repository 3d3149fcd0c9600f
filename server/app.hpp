// The server's shared context: configuration, executors, stores and services.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/auth.hpp"
#include "auth/login_throttle.hpp"
#include "config.hpp"
#include "store/bus.hpp"
#include "store/cold_store.hpp"
#include "store/histogram.hpp"
#include "store/hot_log.hpp"
#include "store/presence.hpp"
#include "store/throttle_store.hpp"

namespace fun_notes::server {

namespace rooms {
class hub_registry;
class dashboard;
}  // namespace rooms
namespace persist {
class write_behind;
}
namespace access {
class access_events;
class accounts;
class room_access;
}  // namespace access
}  // namespace fun_notes::server
namespace fun_notes::store::redis {
class client;
}
namespace fun_notes::server {

struct metrics {
  std::atomic<std::int64_t> connections{0};
  std::atomic<std::int64_t> connections_total{0};
  std::atomic<std::int64_t> ops_appended{0};
  std::atomic<std::int64_t> ops_rejected{0};
  std::atomic<std::int64_t> frames_invalid{0};
  std::atomic<std::int64_t> flushes{0};
  std::atomic<std::int64_t> flush_failures{0};
  // Rooms whose op log lost ops the cold store lacked, repaired from a server's full state or
  // (no server held it) continued from the cold store with the gap recorded.
  std::atomic<std::int64_t> repairs_from_server_state{0};
  std::atomic<std::int64_t> repairs_from_cold_store{0};
  std::atomic<std::int64_t> notes_written{0};
  std::atomic<std::int64_t> http_requests{0};
  // WebSocket messages written, and the frames they carried (more frames than writes: batches).
  std::atomic<std::int64_t> writes{0};
  std::atomic<std::int64_t> frames_written{0};
  // Bytes waiting in the sessions' outbound queues.
  std::atomic<std::int64_t> outbound_bytes{0};
  // Seconds: an op from the session's append request to the op log's answer; a frame from its
  // hand-over to a session to the end of the write that carried it; a join from the hub's
  // receipt to its answer; one write-behind flush of a room.
  store::histogram append_latency{store::histogram::latency_bounds()};
  store::histogram delivery_latency{store::histogram::latency_bounds()};
  store::histogram join_latency{store::histogram::latency_bounds()};
  store::histogram flush_duration{store::histogram::latency_bounds()};
  // Ops folded by one flush.
  store::histogram flush_ops{store::histogram::size_bounds()};
};

// Something that can be asked to close (a WebSocket session) at shutdown.
class closable {
 public:
  virtual ~closable() = default;
  virtual void close_going_away() = 0;
  // Closes (4001) a session of `user_id` signed in with a token older than `version`.
  virtual void revoke(const std::string& user_id, std::int64_t version) = 0;
};

struct app {
  explicit app(server_config cfg);
  ~app();

  server_config config;
  std::string instance_id;
  boost::asio::thread_pool pool;

  std::unique_ptr<store::bus> bus;
  std::unique_ptr<store::cold_store> cold;
  std::unique_ptr<store::hot_log> hot;
  // Set in distributed mode; `bus` and `hot` use it.
  std::unique_ptr<store::redis::client> redis;
  // Distributed mode only: who is in each room on every server. Null: this process is the
  // whole fleet and each hub's own sessions are the truth.
  std::unique_ptr<store::presence_store> presence;
  // Sign-in failure counts: in Redis for the whole fleet in distributed mode, else this
  // process's own. `local_throttle` (distributed mode only) counts while Redis fails.
  std::unique_ptr<store::throttle_store> throttle;
  std::unique_ptr<store::throttle_store> local_throttle;
  std::unique_ptr<auth::login_throttle> login_throttle;
  std::unique_ptr<auth::token_service> tokens;
  // Destruction runs bottom-up: the services below go while `io` still exists (their timers
  // need it), then `io` with its pending handlers, which may own the last reference to a hub
  // or session whose destructor still uses the bus and stores above.
  boost::asio::io_context io;
  std::unique_ptr<rooms::hub_registry> hubs;
  std::unique_ptr<rooms::dashboard> dashboard;
  std::unique_ptr<access::access_events> access_events;
  std::unique_ptr<access::room_access> access;
  std::unique_ptr<access::accounts> accounts;
  std::unique_ptr<persist::write_behind> write_behind;
  metrics stats;
  std::atomic<bool> shutting_down{false};

  void add_session(const std::shared_ptr<closable>& s);
  void remove_session(const closable* s);
  void close_all_sessions();
  void revoke_sessions(const std::string& user_id, std::int64_t version);

  // Socket caps (config.max_sockets_per_*): false when `key` already holds `cap` sockets;
  // else counted until release.
  bool admit_socket(const std::string& key, std::size_t cap);
  void release_socket(const std::string& key);
  std::size_t session_count();

 private:
  // The sessions still alive, taken under the lock and used outside it.
  std::vector<std::shared_ptr<closable>> live_sessions();

  std::mutex sessions_mutex_;
  std::map<const closable*, std::weak_ptr<closable>> sessions_;
  std::mutex sockets_mutex_;
  std::map<std::string, std::size_t> sockets_;  // "u:<user id>" / "a:<address>" -> open
};

}  // namespace fun_notes::server

// What the room hubs need from the rest of the server, handed to them by the composition root.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "store/bus.hpp"
#include "store/cold_store.hpp"
#include "store/histogram.hpp"
#include "store/hot_log.hpp"
#include "store/presence.hpp"

namespace fun_notes::server::rooms {

// The timings the hubs follow. No defaults here: server_config holds them, and the
// composition root copies them over, so a test states the ones it relies on.
struct hub_settings {
  // How long a room with no sessions stays loaded.
  std::chrono::milliseconds room_idle{};
  // Distributed presence: this server's entry expires after this and is renewed every third.
  std::chrono::milliseconds presence_ttl{};
  // The hot log's expiry period (Redis), which joins and present users start again.
  std::chrono::seconds hot_log_ttl{};
};

struct hub_context {
  boost::asio::io_context& io;     // the hubs' strands and timers
  boost::asio::thread_pool& pool;  // blocking store calls, never on a strand
  store::bus& bus;
  store::cold_store& cold;
  store::hot_log& hot;
  // Distributed mode only. Null: this process is the whole fleet, and each hub's own sessions
  // are the truth about who is present.
  store::presence_store* presence = nullptr;
  // This server's name in the presence store.
  std::string instance_id;
  // Set when the server stops: hubs then start no more writes of their own to the cold store.
  const std::atomic<bool>& shutting_down;
  hub_settings settings;
  // The write-behind's part. `repair_room` blocks until the room's op log continues the cold
  // store again (true when it does); `flush_urgently` asks for the room to be folded (and
  // repaired if need be) now. Either may be empty where there is no write-behind: a load then
  // retries without asking for a repair, and the request is dropped.
  std::function<bool(const std::string& room_id)> repair_room;
  std::function<void(const std::string& room_id)> flush_urgently;
  // Where a join's time from the hub's receipt to its answer is counted (none: not counted).
  store::histogram* join_latency = nullptr;
};

}  // namespace fun_notes::server::rooms

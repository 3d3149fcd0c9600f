// The live dashboard: who watches which rooms, and the latest stats of every room.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "rooms/frames.hpp"
#include "rooms/session_sink.hpp"
#include "store/bus.hpp"

namespace fun_notes::server {
struct app;
}

namespace fun_notes::server::rooms {

class dashboard {
 public:
  explicit dashboard(app& a) : app_(a) {}
  void start();
  void stop() { subscription_.reset(); }

  // The stats shown for a room: live from a hub loaded here, else the last room_stat seen on
  // the stats channel, else the stored counts.
  room_stats current_stats(const store::room_meta& meta);

  // Sends the full `rooms` list, then forwards room_stat changes for those rooms.
  void watch(const std::shared_ptr<session_sink>& sink, const std::string& user_id,
             const std::vector<store::room_listing>& rooms);
  void unwatch(const session_sink* sink);
  // A user gained access to a room (created it, joined a link room): its watchers see it.
  void room_added(const std::string& user_id, const store::room_meta& meta);

 private:
  struct watcher {
    std::shared_ptr<session_sink> sink;
    std::string user_id;
    std::set<std::string> rooms;
  };
  void on_stat(const store::bus_message& m);

  app& app_;
  std::unique_ptr<store::subscription> subscription_;
  std::mutex mutex_;
  std::unordered_map<const session_sink*, watcher> watchers_;
  std::unordered_map<std::string, room_stats> latest_;
};

}  // namespace fun_notes::server::rooms

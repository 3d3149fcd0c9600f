// The live dashboard: who watches which rooms, and the latest stats of every room.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "access/room_access.hpp"
#include "rooms/frames.hpp"
#include "rooms/session_sink.hpp"
#include "store/bus.hpp"

namespace fun_notes::server::rooms {

class hub_registry;

class dashboard {
 public:
  // Another server revoked a user's tokens older than `version`: the sessions on this server
  // signed in with one must close. Sessions belong to the net layer, so it is asked.
  using revoke_handler = std::function<void(const std::string& user_id, std::int64_t version)>;

  // `hubs` gives the live stats of the rooms loaded here.
  dashboard(store::bus& bus, hub_registry& hubs, revoke_handler revoke)
      : bus_(bus), hubs_(hubs), revoke_(std::move(revoke)) {}
  void start();
  void stop() { subscription_.reset(); }

  // The stats shown for a room: live from a hub loaded here, else the last room_stat seen on
  // the stats channel, else the stored counts.
  room_stats current_stats(const store::room_meta& meta);

  // Sends the full `rooms` list, then forwards room_stat changes for those rooms, adds rooms
  // that become visible to the user (made public, the user added) and drops the ones that
  // stop being visible (room_gone).
  void watch(const std::shared_ptr<session_sink>& sink, const std::string& user_id,
             const std::vector<access::listed_room>& rooms);
  void unwatch(const session_sink* sink);

  // Stats-channel messages for access changes (published by access_fanout).
  static std::string member_message(const store::room_meta& meta, const room_stats& stats,
                                    const std::string& user_id, store::role member_role);
  static std::string room_gone_frame(const std::string& room_id);
  static std::string user_revoked_message(const std::string& user_id, std::int64_t version);

 private:
  struct watcher {
    std::shared_ptr<session_sink> sink;
    std::string user_id;
    std::set<std::string> rooms;    // shown
    std::set<std::string> members;  // shown as a member (the rest: public rooms)
  };
  void on_stat(const store::bus_message& m);
  void on_room_stat(const store::bus_message& m, const boost::json::object& room);
  void on_member(const boost::json::object& msg);
  void on_room_gone(const store::bus_message& m, const std::string& room_id);

  store::bus& bus_;
  hub_registry& hubs_;
  revoke_handler revoke_;
  std::unique_ptr<store::subscription> subscription_;
  std::mutex mutex_;
  std::unordered_map<const session_sink*, watcher> watchers_;
  std::unordered_map<std::string, room_stats> latest_;
};

}  // namespace fun_notes::server::rooms

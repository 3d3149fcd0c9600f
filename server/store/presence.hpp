// Presence port: who is in a room across every server of the fleet.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

namespace fun_notes::store {

// user id -> display name
using user_set = std::map<std::string, std::string>;

// Each server writes the users it holds in a room under its own id, with an expiry it renews
// by heartbeat, so a crashed server's users drop out when the expiry passes. Blocking calls
// (worker pool); may throw store_error.
class presence_store {
 public:
  virtual ~presence_store() = default;
  // Replaces this server's entry for the room (an empty set removes it).
  virtual void set_local(std::string_view room_id, std::string_view server_id,
                         const user_set& users, std::chrono::milliseconds ttl) = 0;
  // Distinct users of the room over every server whose entry has not expired.
  virtual user_set room_users(std::string_view room_id) = 0;
};

}  // namespace fun_notes::store

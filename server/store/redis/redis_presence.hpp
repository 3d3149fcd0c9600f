// Presence in Redis: one hash per room in the room's slot, a field per server.
#pragma once

#include "store/presence.hpp"
#include "store/redis/redis_client.hpp"

namespace fun_notes::store {

// room:presence:{R} — field = server id, value = "<expiry unix ms>\n<user id>\t<name>\n...".
// Expired fields are ignored by readers and removed by the next writer.
class redis_presence final : public presence_store {
 public:
  explicit redis_presence(redis::client& client) : client_(client) {}
  void set_local(std::string_view room_id, std::string_view server_id, const user_set& users,
                 std::chrono::milliseconds ttl) override;
  user_set room_users(std::string_view room_id) override;

 private:
  redis::client& client_;
};

}  // namespace fun_notes::store

// Publishing of access changes on the bus.
#include "rooms/access_fanout.hpp"

#include <boost/json.hpp>

#include "rooms/dashboard.hpp"
#include "rooms/frames.hpp"

namespace fun_notes::server::rooms {
namespace json = boost::json;

void access_fanout::publish_to_room(const std::string& room_id, std::string frame) {
  bus_.publish(store::room_channel(room_id), store::bus_message{0, make_frame(std::move(frame))});
}

void access_fanout::member_changed(const store::room_meta& meta, const std::string& user_id,
                                   store::role member_role) {
  publish_to_room(meta.id, json::serialize(json::object{{"type", "access"},
                                                        {"user", user_id},
                                                        {"role", store::to_string(member_role)}}));
  bus_.publish(
      store::stats_channel,
      store::bus_message{0, make_frame(dashboard::member_message(
                                meta, dashboard_.current_stats(meta), user_id, member_role))});
}

void access_fanout::room_changed(const store::room_meta& meta) {
  json::object room{{"name", meta.name},
                    {"visibility", meta.visibility},
                    {"public_role", store::to_string(meta.public_role)}};
  publish_to_room(meta.id,
                  json::serialize(json::object{{"type", "access"}, {"room", std::move(room)}}));
  bus_.publish(
      store::stats_channel,
      store::bus_message{0, make_frame(room_stat_frame(meta, dashboard_.current_stats(meta)))});
}

void access_fanout::room_deleted(const std::string& room_id) {
  publish_to_room(room_id, json::serialize(json::object{{"type", "access"}, {"deleted", true}}));
  bus_.publish(store::stats_channel,
               store::bus_message{0, make_frame(dashboard::room_gone_frame(room_id))});
}

void access_fanout::user_revoked(const std::string& user_id, std::int64_t version) {
  bus_.publish(
      store::stats_channel,
      store::bus_message{0, make_frame(dashboard::user_revoked_message(user_id, version))});
}

}  // namespace fun_notes::server::rooms

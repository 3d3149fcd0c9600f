// Dashboard fan-out: one subscription to the stats channel per server.
#include "rooms/dashboard.hpp"

#include <boost/json.hpp>
#include <optional>

#include "fun_notes/core/codec.hpp"
#include "rooms/room_hub.hpp"

namespace fun_notes::server::rooms {
namespace json = boost::json;

void dashboard::start() {
  subscription_ = bus_.subscribe(
      std::string(store::stats_channel), [this](const store::bus_message& m) { on_stat(m); },
      [] {});
}

room_stats dashboard::current_stats(const store::room_meta& meta) {
  if (auto hub = hubs_.find(meta.id); hub && hub->loaded()) {
    return hub->stats();
  }
  std::lock_guard lock(mutex_);
  if (auto it = latest_.find(meta.id); it != latest_.end()) {
    return it->second;
  }
  return room_stats{0, meta.total_notes};
}

void dashboard::watch(const std::shared_ptr<session_sink>& sink, const std::string& user_id,
                      const std::vector<access::listed_room>& rooms) {
  json::array list;
  watcher w{sink, user_id, {}, {}};
  for (const auto& e : rooms) {
    const auto& meta = e.listing.meta;
    const auto s = current_stats(meta);
    list.emplace_back(json::object{{"id", meta.id},
                                   {"name", meta.name},
                                   {"visibility", meta.visibility},
                                   {"role", store::to_string(e.listing.member_role)},
                                   {"active_user_count", s.active_user_count},
                                   {"total_notes", s.total_notes}});
    w.rooms.insert(meta.id);
    if (e.member) {
      w.members.insert(meta.id);
    }
  }
  json::object o;
  o["type"] = "rooms";
  o["rooms"] = std::move(list);
  // Registering and queueing the list under one lock orders the list before any later stat.
  std::lock_guard lock(mutex_);
  watchers_[sink.get()] = std::move(w);
  sink->deliver(make_frame(json::serialize(o)));
}

void dashboard::unwatch(const session_sink* sink) {
  std::lock_guard lock(mutex_);
  watchers_.erase(sink);
}

std::string dashboard::member_message(const store::room_meta& meta, const room_stats& stats,
                                      const std::string& user_id, store::role member_role) {
  auto v = json::parse(room_stat_frame(meta, stats));
  auto& o = v.as_object();
  o["type"] = "member";
  o["user"] = user_id;
  o["role"] = store::to_string(member_role);
  return json::serialize(o);
}

std::string dashboard::user_revoked_message(const std::string& user_id, std::int64_t version) {
  return json::serialize(
      json::object{{"type", "user_revoked"}, {"user", user_id}, {"version", version}});
}

std::string dashboard::room_gone_frame(const std::string& room_id) {
  return json::serialize(json::object{{"type", "room_gone"}, {"room", room_id}});
}

void dashboard::on_stat(const store::bus_message& m) {
  auto v = core::parse_json(*m.frame);
  if (!v || !v->is_object()) {
    return;
  }
  const auto& o = v->get_object();
  const auto* type = o.if_contains("type");
  if (type == nullptr || !type->is_string()) {
    return;
  }
  if (*type == "user_revoked") {
    const auto* user = o.if_contains("user");
    const auto* version = o.if_contains("version");
    if (user != nullptr && user->is_string() && version != nullptr && version->is_int64()) {
      if (revoke_) {
        revoke_(std::string(user->get_string()), version->get_int64());
      }
    }
    return;
  }
  const auto* room = o.if_contains("room");
  if (*type == "room_gone" && room != nullptr && room->is_string()) {
    on_room_gone(m, std::string(room->get_string()));
    return;
  }
  if (room == nullptr || !room->is_object()) {
    return;
  }
  if (*type == "room_stat") {
    on_room_stat(m, room->get_object());
  } else if (*type == "member") {
    on_member(o);
  }
}

namespace {

// The id and stats of a stats-channel room object, if it has them.
std::optional<std::pair<std::string, room_stats>> read_stats(const json::object& r) {
  const auto* id = r.if_contains("id");
  const auto* users = r.if_contains("active_user_count");
  const auto* notes = r.if_contains("total_notes");
  if (id == nullptr || !id->is_string() || users == nullptr || !users->is_int64() ||
      notes == nullptr || !notes->is_int64()) {
    return std::nullopt;
  }
  return std::pair{std::string(id->get_string()),
                   room_stats{users->get_int64(), notes->get_int64()}};
}

std::optional<std::string> visibility_of(const json::object& r) {
  const auto* v = r.if_contains("visibility");
  if (v == nullptr || !v->is_string()) {
    return std::nullopt;  // a server that does not send it: nothing changed
  }
  return std::string(v->get_string());
}

}  // namespace

void dashboard::on_room_stat(const store::bus_message& m, const json::object& room) {
  const auto read = read_stats(room);
  if (!read) {
    return;
  }
  const auto& [room_id, stats] = *read;
  const auto visibility = visibility_of(room);
  const bool is_public = visibility == "public";
  std::lock_guard lock(mutex_);
  latest_[room_id] = stats;
  frame_ptr gone;
  for (auto& [_, w] : watchers_) {
    const bool shown = w.rooms.count(room_id) != 0;
    if (shown && visibility && !is_public && w.members.count(room_id) == 0) {
      // A public room went private: gone from the dashboards of those not in it.
      w.rooms.erase(room_id);
      if (!gone) {
        gone = make_frame(room_gone_frame(room_id));
      }
      w.sink->deliver(gone);
    } else if (shown || is_public) {
      w.rooms.insert(room_id);
      w.sink->deliver(m.frame);
    }
  }
}

void dashboard::on_member(const json::object& msg) {
  const auto& room = msg.at("room").get_object();
  const auto* user = msg.if_contains("user");
  const auto* role = msg.if_contains("role");
  const auto read = read_stats(room);
  if (!read || user == nullptr || !user->is_string() || role == nullptr || !role->is_string()) {
    return;
  }
  const auto& room_id = read->first;
  const bool removed = !store::parse_role(role->get_string());
  const bool is_public = visibility_of(room) == "public";
  json::object stat{{"type", "room_stat"}, {"room", room}};
  auto stat_frame = make_frame(json::serialize(stat));
  std::lock_guard lock(mutex_);
  for (auto& [_, w] : watchers_) {
    if (w.user_id != user->get_string()) {
      continue;
    }
    if (removed) {
      w.members.erase(room_id);
      if (!is_public && w.rooms.erase(room_id) != 0) {
        w.sink->deliver(make_frame(room_gone_frame(room_id)));
      }
    } else {
      w.members.insert(room_id);
      if (w.rooms.insert(room_id).second) {
        w.sink->deliver(stat_frame);
      }
    }
  }
}

void dashboard::on_room_gone(const store::bus_message& m, const std::string& room_id) {
  std::lock_guard lock(mutex_);
  latest_.erase(room_id);
  for (auto& [_, w] : watchers_) {
    w.members.erase(room_id);
    if (w.rooms.erase(room_id) != 0) {
      w.sink->deliver(m.frame);
    }
  }
}

}  // namespace fun_notes::server::rooms

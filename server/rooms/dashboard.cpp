// Dashboard fan-out: one subscription to the stats channel per server.
#include "rooms/dashboard.hpp"

#include <boost/json.hpp>

#include "app.hpp"
#include "fun_notes/core/codec.hpp"
#include "rooms/room_hub.hpp"

namespace fun_notes::server::rooms {
namespace json = boost::json;

void dashboard::start() {
  subscription_ = app_.bus->subscribe(
      std::string(store::stats_channel), [this](const store::bus_message& m) { on_stat(m); },
      [] {});
}

room_stats dashboard::current_stats(const store::room_meta& meta) {
  if (auto hub = app_.hubs->find(meta.id); hub && hub->loaded()) {
    return hub->stats();
  }
  std::lock_guard lock(mutex_);
  if (auto it = latest_.find(meta.id); it != latest_.end()) {
    return it->second;
  }
  return room_stats{0, meta.total_notes};
}

void dashboard::watch(const std::shared_ptr<session_sink>& sink, const std::string& user_id,
                      const std::vector<store::room_listing>& rooms) {
  json::array list;
  watcher w{sink, user_id, {}};
  for (const auto& r : rooms) {
    const auto s = current_stats(r.meta);
    list.emplace_back(json::object{{"id", r.meta.id},
                                   {"name", r.meta.name},
                                   {"active_user_count", s.active_user_count},
                                   {"total_notes", s.total_notes}});
    w.rooms.insert(r.meta.id);
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

void dashboard::room_added(const std::string& user_id, const store::room_meta& meta) {
  const auto s = current_stats(meta);
  auto frame = make_frame(room_stat_frame(meta.id, meta.name, s));
  std::lock_guard lock(mutex_);
  for (auto& [_, w] : watchers_) {
    if (w.user_id == user_id && w.rooms.insert(meta.id).second) {
      w.sink->deliver(frame);
    }
  }
}

void dashboard::on_stat(const store::bus_message& m) {
  auto v = core::parse_json(*m.frame);
  if (!v || !v->is_object()) {
    return;
  }
  const auto* room = v->get_object().if_contains("room");
  if (room == nullptr || !room->is_object()) {
    return;
  }
  const auto& r = room->get_object();
  const auto* id = r.if_contains("id");
  const auto* users = r.if_contains("active_user_count");
  const auto* notes = r.if_contains("total_notes");
  if (id == nullptr || !id->is_string() || users == nullptr || !users->is_int64() ||
      notes == nullptr || !notes->is_int64()) {
    return;
  }
  const std::string room_id(id->as_string());
  std::lock_guard lock(mutex_);
  latest_[room_id] = room_stats{users->as_int64(), notes->as_int64()};
  for (auto& [_, w] : watchers_) {
    if (w.rooms.count(room_id) != 0) {
      w.sink->deliver(m.frame);
    }
  }
}

}  // namespace fun_notes::server::rooms

#include "rooms/carets.hpp"

#include <boost/json.hpp>
#include <utility>

#include "fun_notes/core/codec.hpp"

namespace fun_notes::server::rooms {

namespace json = boost::json;

caret_board::caret_board(std::string room_id, std::string instance_id)
    : room_id_(std::move(room_id)), instance_id_(std::move(instance_id)) {}

bool caret_board::set_local(session_sink* sink, const std::string& user_id,
                            const std::string& user_name, std::optional<caret> c) {
  auto it = local_.find(sink);
  if (it != local_.end() && it->second.gone) {
    return false;  // the socket has left the room
  }
  if (it == local_.end()) {
    if (!c) {
      return false;  // nothing shown, nothing to clear
    }
    local_entry e;
    e.session = instance_id_ + "-" + std::to_string(++next_session_);
    e.user_id = user_id;
    e.user_name = user_name;
    local_by_session_[e.session] = sink;
    it = local_.emplace(sink, std::move(e)).first;
  }
  if (it->second.current == c) {
    return false;
  }
  it->second.current = std::move(c);
  it->second.dirty = true;
  return true;
}

bool caret_board::drop_local(session_sink* sink) {
  auto it = local_.find(sink);
  if (it == local_.end()) {
    return false;
  }
  // Stays until the flush has published the clear; a socket that comes back gets a new id.
  const bool had = it->second.current.has_value() || it->second.dirty;
  it->second.current.reset();
  it->second.dirty = had;
  local_by_session_.erase(it->second.session);
  if (!had) {
    local_.erase(it);
  } else {
    it->second.gone = true;
  }
  return had;
}

std::vector<frame_ptr> caret_board::flush() {
  std::vector<frame_ptr> frames;
  for (auto it = local_.begin(); it != local_.end();) {
    local_entry& e = it->second;
    if (e.dirty) {
      frames.push_back(std::make_shared<const std::string>(frame_of(e)));
      e.dirty = false;
    }
    if (e.gone) {
      it = local_.erase(it);  // its clear is out
    } else {
      ++it;
    }
  }
  return frames;
}

std::string caret_board::frame_of(const local_entry& e) const {
  // Keys in this order: the frame starts with caret_frame_prefix, and "session" comes next.
  json::object o;
  o["type"] = "cursor";
  o["session"] = e.session;
  o["room"] = room_id_;
  o["user"] = json::object{{"id", e.user_id}, {"name", e.user_name}};
  if (e.current) {
    o["note"] = e.current->note;
    o["field"] = e.current->field;
    o["anchor"] = e.current->anchor;
    o["head"] = e.current->head;
    o["seq"] = e.current->seq;
  }
  return json::serialize(o);
}

session_sink* caret_board::on_frame(const frame_ptr& frame, clock::time_point now) {
  auto v = core::parse_json(*frame);
  if (!v || !v->is_object()) {
    return nullptr;
  }
  const auto& o = v->get_object();
  const auto* s = o.if_contains("session");
  if (s == nullptr || !s->is_string()) {
    return nullptr;
  }
  std::string session(s->get_string());
  if (o.contains("note")) {
    known_[session] = known_entry{frame, now};
  } else {
    known_.erase(session);
  }
  const auto local = local_by_session_.find(session);
  return local == local_by_session_.end() ? nullptr : local->second;
}

std::vector<frame_ptr> caret_board::known(clock::time_point now, session_sink* joining) {
  const auto own = local_.find(joining);
  std::vector<frame_ptr> frames;
  for (auto it = known_.begin(); it != known_.end();) {
    if (now - it->second.seen > caret_lifetime) {
      it = known_.erase(it);
      continue;
    }
    if (own == local_.end() || own->second.session != it->first) {
      frames.push_back(it->second.frame);
    }
    ++it;
  }
  return frames;
}

}  // namespace fun_notes::server::rooms

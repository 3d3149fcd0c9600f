// Server frames parsed into the client's message types, and client frames serialized.
#include "sync/messages.hpp"

#include <boost/json.hpp>
#include <limits>

#include "fun_notes/core/codec.hpp"

namespace fun_notes::cli::sync {

namespace json = boost::json;

namespace {

// The server has validated every op it broadcasts, under limits it may have raised: the client
// checks shape, not size.
const core::limits& unbounded() {
  static const core::limits lim{std::numeric_limits<std::size_t>::max(),
                                std::numeric_limits<std::size_t>::max(),
                                std::numeric_limits<std::size_t>::max()};
  return lim;
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<std::int64_t> integer(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_int64()) {
    return v->get_int64();
  }
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  if (v->is_double() &&
      v->get_double() == static_cast<double>(static_cast<std::int64_t>(v->get_double()))) {
    return static_cast<std::int64_t>(v->get_double());
  }
  return std::nullopt;
}

core::result<std::int64_t> required_integer(const json::object& o, std::string_view key,
                                            std::string_view type) {
  if (auto v = integer(o, key)) {
    return *v;
  }
  return core::invalid(std::string(type) + "." + std::string(key) + " must be an integer");
}

core::result<std::string> required_string(const json::object& o, std::string_view key,
                                          std::string_view type) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return core::invalid(std::string(type) + "." + std::string(key) + " must be a string");
  }
  return std::string(v->get_string());
}

// The "room" and an integer field every room frame carries ("seq", "since").
core::result<std::pair<std::string, std::int64_t>> room_and(const json::object& o,
                                                            std::string_view key,
                                                            std::string_view type) {
  auto room = required_string(o, "room", type);
  if (!room) {
    return room.err();
  }
  auto n = required_integer(o, key, type);
  if (!n) {
    return n.err();
  }
  return std::pair{std::move(*room), *n};
}

std::vector<user_ref> users_of(const json::object& o) {
  std::vector<user_ref> users;
  const json::value* v = o.if_contains("users");
  if (v == nullptr || !v->is_array()) {
    return users;
  }
  for (const json::value& u : v->get_array()) {
    if (u.is_object()) {
      users.push_back({str(u.get_object(), "id"), str(u.get_object(), "name")});
    }
  }
  return users;
}

room_stat stat_of(const json::object& o) {
  return room_stat{str(o, "id"), str(o, "name"), integer(o, "active_user_count").value_or(0),
                   integer(o, "total_notes").value_or(0)};
}

room_info info_of(const json::object& o) {
  return room_info{str(o, "id"),
                   str(o, "name"),
                   str(o, "visibility"),
                   str(o, "role"),
                   integer(o, "active_user_count").value_or(0),
                   integer(o, "total_notes").value_or(0)};
}

core::result<server_msg> parse_object(const json::object& o) {
  const std::string type = str(o, "type");
  if (type == "welcome") {
    welcome_msg m;
    m.server = str(o, "server");
    if (const json::value* u = o.if_contains("user"); u != nullptr && u->is_object()) {
      m.user = {str(u->get_object(), "id"), str(u->get_object(), "name")};
    }
    if (const json::value* l = o.if_contains("limits"); l != nullptr && l->is_object()) {
      const json::object& lim = l->get_object();
      auto set = [&](std::string_view key, std::size_t& into) {
        if (auto v = integer(lim, key); v && *v > 0) {
          into = static_cast<std::size_t>(*v);
        }
      };
      set("title_bytes", m.title_bytes);
      set("body_bytes", m.body_bytes);
      set("frame_bytes", m.frame_bytes);
    }
    return server_msg{std::move(m)};
  }
  if (type == "snapshot") {
    snapshot_msg m;
    auto head = room_and(o, "seq", type);
    if (!head) {
      return head.err();
    }
    m.room = std::move(head->first);
    m.seq = head->second;
    if (const json::value* info = o.if_contains("room_info");
        info != nullptr && info->is_object()) {
      m.info = info_of(info->get_object());
    }
    const json::value* notes = o.if_contains("notes");
    if (notes == nullptr || !notes->is_array()) {
      return core::invalid("snapshot.notes must be an array");
    }
    for (const json::value& n : notes->get_array()) {
      auto note = core::parse_note(n);
      if (!note) {
        return note.err();
      }
      m.notes.push_back(std::move(*note));
    }
    if (const json::value* d = o.if_contains("in_doubt"); d != nullptr && d->is_object()) {
      const json::object& doubt = d->get_object();
      m.checked_from = integer(doubt, "checked_from");
      if (const json::value* n = doubt.if_contains("numbered"); n != nullptr && n->is_object()) {
        for (const auto& [cid, seq] : n->get_object()) {
          if (seq.is_int64()) {
            m.numbered.emplace(std::string(cid), seq.get_int64());
          }
        }
      }
    }
    return server_msg{std::move(m)};
  }
  if (type == "resume") {
    auto head = room_and(o, "since", type);
    if (!head) {
      return head.err();
    }
    return server_msg{resume_msg{std::move(head->first), head->second}};
  }
  if (type == "op") {
    op_msg m;
    auto head = room_and(o, "seq", type);
    if (!head) {
      return head.err();
    }
    const json::value* op = o.if_contains("op");
    if (op == nullptr) {
      return core::invalid("op.op is required");
    }
    auto parsed = core::parse_op(*op, unbounded());
    if (!parsed) {
      return parsed.err();
    }
    m.room = std::move(head->first);
    m.cid = str(o, "cid");
    m.user = str(o, "user");
    m.applied = core::applied_op{head->second, str(o, "at"), std::move(*parsed)};
    return server_msg{std::move(m)};
  }
  if (type == "reject") {
    return server_msg{reject_msg{str(o, "room"), str(o, "cid"), str(o, "code"), str(o, "message")}};
  }
  if (type == "error") {
    return server_msg{error_msg{str(o, "code"), str(o, "room"), str(o, "message")}};
  }
  if (type == "presence") {
    auto room = required_string(o, "room", type);
    if (!room) {
      return room.err();
    }
    return server_msg{
        presence_msg{std::move(*room), integer(o, "active_user_count").value_or(0), users_of(o)}};
  }
  if (type == "rooms") {
    rooms_msg m;
    if (const json::value* rooms = o.if_contains("rooms"); rooms != nullptr && rooms->is_array()) {
      for (const json::value& r : rooms->get_array()) {
        if (r.is_object()) {
          m.rooms.push_back(stat_of(r.get_object()));
        }
      }
    }
    return server_msg{std::move(m)};
  }
  if (type == "room_stat") {
    const json::value* r = o.if_contains("room");
    if (r == nullptr || !r->is_object()) {
      return core::invalid("room_stat.room must be an object");
    }
    return server_msg{room_stat_msg{stat_of(r->get_object())}};
  }
  if (type == "pong") {
    return server_msg{pong_msg{}};
  }
  if (type == "role") {
    auto room = required_string(o, "room", type);
    if (!room) {
      return room.err();
    }
    return server_msg{role_msg{std::move(*room), str(o, "role")}};
  }
  if (type == "cursor") {
    auto room = required_string(o, "room", type);
    if (!room) {
      return room.err();
    }
    cursor_msg m;
    m.room = std::move(*room);
    m.session = str(o, "session");
    if (const json::value* u = o.if_contains("user"); u != nullptr && u->is_object()) {
      m.user = {str(u->get_object(), "id"), str(u->get_object(), "name")};
    }
    m.note = str(o, "note");
    if (!m.note.empty()) {
      const std::string field = str(o, "field");
      if (field != "title" && field != "body") {
        return core::invalid("cursor.field must be \"title\" or \"body\"");
      }
      m.field = field == "title" ? core::text_field::title : core::text_field::body;
      const auto anchor = integer(o, "anchor");
      const auto head = integer(o, "head");
      if (!anchor || !head || *anchor < 0 || *head < 0) {
        return core::invalid("cursor.anchor and cursor.head must be offsets");
      }
      m.anchor = static_cast<std::size_t>(*anchor);
      m.head = static_cast<std::size_t>(*head);
      m.seq = integer(o, "seq").value_or(0);
    }
    return server_msg{std::move(m)};
  }
  return core::invalid("unknown frame type \"" + type + "\"");
}

std::string frame(json::object o) {
  return json::serialize(o);
}

}  // namespace

core::result<server_msg> parse_server_frame(std::string_view text) {
  auto value = core::parse_json(text);
  if (!value) {
    return value.err();
  }
  if (!value->is_object()) {
    return core::invalid("a frame must be a JSON object");
  }
  return parse_object(value->get_object());
}

std::vector<server_msg> parse_server_frames(std::string_view text) {
  std::vector<server_msg> out;
  auto value = core::parse_json(text);
  if (!value || !value->is_object()) {
    return out;
  }
  const auto& o = value->get_object();
  const auto* type = o.if_contains("type");
  const auto* frames = o.if_contains("frames");
  if (type != nullptr && type->is_string() && type->get_string() == "batch" && frames != nullptr &&
      frames->is_array()) {
    for (const auto& f : frames->get_array()) {
      if (f.is_object()) {
        if (auto m = parse_object(f.get_object())) {
          out.push_back(std::move(*m));
        }
      }
    }
    return out;
  }
  if (auto m = parse_object(o)) {
    out.push_back(std::move(*m));
  }
  return out;
}

std::string hello_frame(std::string_view token, std::string_view client, bool batch) {
  json::object o{{"type", "hello"}, {"token", token}, {"client", client}};
  if (batch) {
    o["batch"] = true;
  }
  return frame(std::move(o));
}

std::string join_frame(std::string_view room, std::optional<std::int64_t> since,
                       const std::vector<std::string>& in_doubt) {
  json::object o{{"type", "join"}, {"room", room}};
  if (since) {
    o["since"] = *since;
  }
  if (!in_doubt.empty()) {
    json::array cids;
    for (const std::string& cid : in_doubt) {
      cids.emplace_back(cid);
    }
    o["in_doubt"] = std::move(cids);
  }
  return frame(std::move(o));
}

std::string leave_frame(std::string_view room) {
  return frame({{"type", "leave"}, {"room", room}});
}

std::string op_frame(std::string_view room, std::string_view cid, const core::op& o) {
  return frame({{"type", "op"}, {"room", room}, {"cid", cid}, {"op", core::to_json(o)}});
}

std::string watch_rooms_frame() {
  return frame({{"type", "watch_rooms"}});
}

std::string unwatch_rooms_frame() {
  return frame({{"type", "unwatch_rooms"}});
}

std::string ping_frame(std::int64_t t) {
  return frame({{"type", "ping"}, {"t", t}});
}

std::string cursor_frame(std::string_view room, std::string_view note, core::text_field field,
                         std::size_t anchor, std::size_t head, std::int64_t seq) {
  return frame({{"type", "cursor"},
                {"room", room},
                {"note", note},
                {"field", core::field_name(field)},
                {"anchor", anchor},
                {"head", head},
                {"seq", seq}});
}

std::string cursor_clear_frame(std::string_view room) {
  return frame({{"type", "cursor"}, {"room", room}});
}

}  // namespace fun_notes::cli::sync

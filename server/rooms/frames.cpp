// Frames are serialised once and shared by every recipient.
#include "rooms/frames.hpp"

#include <boost/json.hpp>

#include "fun_notes/core/codec.hpp"

namespace fun_notes::server::rooms {
namespace json = boost::json;

frame_ptr make_frame(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

std::string error_frame(std::string_view code, std::string_view message, std::string_view room_id) {
  json::object o;
  o["type"] = "error";
  o["code"] = code;
  if (!room_id.empty()) {
    o["room"] = room_id;
  }
  o["message"] = message;
  return json::serialize(o);
}

std::string reject_frame(std::string_view room_id, std::string_view cid, std::string_view code,
                         std::string_view message) {
  json::object o;
  o["type"] = "reject";
  o["room"] = room_id;
  o["cid"] = cid;
  o["code"] = code;
  o["message"] = message;
  return json::serialize(o);
}

namespace {
json::object room_info(const store::room_meta& meta, store::role r, const room_stats& stats) {
  json::object info;
  info["id"] = meta.id;
  info["name"] = meta.name;
  info["visibility"] = meta.visibility;
  info["public_role"] = store::to_string(meta.public_role);
  info["owner_id"] = meta.owner_id;
  info["role"] = store::to_string(r);
  info["active_user_count"] = stats.active_user_count;
  info["total_notes"] = stats.total_notes;
  return info;
}
}  // namespace

std::string snapshot_notes(const core::room_state& state) {
  json::array notes;
  auto sorted = state.sorted_notes();
  notes.reserve(sorted.size());
  for (const auto& n : sorted) {
    notes.emplace_back(core::to_json(n));
  }
  return json::serialize(notes);
}

std::string snapshot_frame(const store::room_meta& meta, store::role r, const room_stats& stats,
                           std::int64_t seq, std::string_view notes_json,
                           const snapshot_doubts* doubts) {
  json::object o;
  o["type"] = "snapshot";
  o["room"] = meta.id;
  o["seq"] = seq;
  o["room_info"] = room_info(meta, r, stats);
  if (doubts != nullptr) {
    json::object numbered;
    for (const auto& [cid, n] : doubts->numbered) {
      numbered[cid] = n;
    }
    o["in_doubt"] =
        json::object{{"numbered", std::move(numbered)}, {"checked_from", doubts->checked_from}};
  }
  // The object without its closing brace, then the notes as they are.
  std::string frame = json::serialize(o);
  frame.pop_back();
  frame.reserve(frame.size() + notes_json.size() + 12);
  frame.append(R"(,"notes":)").append(notes_json).push_back('}');
  return frame;
}

std::string snapshot_frame(const store::room_meta& meta, store::role r, const room_stats& stats,
                           const core::room_state& state, const snapshot_doubts* doubts) {
  return snapshot_frame(meta, r, stats, state.seq(), snapshot_notes(state), doubts);
}

std::string resume_frame(std::string_view room_id, std::int64_t since) {
  json::object o;
  o["type"] = "resume";
  o["room"] = room_id;
  o["since"] = since;
  return json::serialize(o);
}

std::string room_stat_frame(const store::room_meta& meta, const room_stats& stats) {
  json::object room;
  room["id"] = meta.id;
  room["name"] = meta.name;
  room["visibility"] = meta.visibility;
  room["active_user_count"] = stats.active_user_count;
  room["total_notes"] = stats.total_notes;
  json::object o;
  o["type"] = "room_stat";
  o["room"] = std::move(room);
  return json::serialize(o);
}

std::string room_json(const room_view& r) {
  return json::serialize(room_info(r.meta, r.role, r.stats));
}

op_frame_parts op_frame(std::string_view room_id, std::string_view cid, std::string_view user_id,
                        std::string_view at, const core::op& o) {
  op_frame_parts parts;
  parts.prefix = R"({"type":"op","room":)" + json::serialize(json::value(room_id)) + R"(,"seq":)";
  parts.suffix = R"(,"cid":)" + json::serialize(json::value(cid)) + R"(,"user":)" +
                 json::serialize(json::value(user_id)) + R"(,"at":)" +
                 json::serialize(json::value(at)) + R"(,"op":)" +
                 json::serialize(core::to_json(o)) + "}";
  return parts;
}

}  // namespace fun_notes::server::rooms

// Builders for the server-to-client frames of PROTOCOL.md.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fun_notes/core/note.hpp"
#include "rooms/room_hub.hpp"
#include "store/cold_store.hpp"

namespace fun_notes::server::rooms {

frame_ptr make_frame(std::string s);

// Server-to-server markers on a room's channel (seq 0, never sent to clients).
inline constexpr std::string_view presence_changed_marker = R"({"type":"presence_changed"})";
inline constexpr std::string_view repair_needed_marker = R"({"type":"repair_needed"})";
inline constexpr std::string_view room_reset_marker = R"({"type":"room_reset"})";
// Access changes start with this: {"type":"access","user":U,"role":R} (a member's role, "none"
// when removed), {"type":"access","room":{name,visibility,public_role}}, or
// {"type":"access","deleted":true}.
inline constexpr std::string_view access_marker_prefix = R"({"type":"access")";

std::string error_frame(std::string_view code, std::string_view message,
                        std::string_view room_id = {});
std::string reject_frame(std::string_view room_id, std::string_view cid, std::string_view code,
                         std::string_view message);
// The answer about a joining client's ops in doubt: the cids numbered (at which seq) among the
// room's ops from seq `checked_from` on. A cid not listed was not numbered at or after it.
struct snapshot_doubts {
  std::map<std::string, std::int64_t> numbered;
  std::int64_t checked_from = 0;
};

// With `doubts`: "in_doubt":{"numbered":{cid:seq,...},"checked_from":F} (docs/protocol.md).
std::string snapshot_frame(const store::room_meta& meta, store::role r, const room_stats& stats,
                           const core::room_state& state, const snapshot_doubts* doubts = nullptr);
// The same from the room's notes already serialized (snapshot_notes), which a hub keeps per
// seq: a join storm serializes the notes once, not once per join.
std::string snapshot_frame(const store::room_meta& meta, store::role r, const room_stats& stats,
                           std::int64_t seq, std::string_view notes_json,
                           const snapshot_doubts* doubts = nullptr);
// The notes of `state` in board order, as the JSON array of a snapshot.
std::string snapshot_notes(const core::room_state& state);
std::string resume_frame(std::string_view room_id, std::int64_t since);
// The room as a dashboard entry shows it: id, name, visibility and the stats.
std::string room_stat_frame(const store::room_meta& meta, const room_stats& stats);

// The JSON object of a room as HTTP and dashboard listings show it.
struct room_view {
  store::room_meta meta;
  store::role role = store::role::none;
  room_stats stats;
};
std::string room_json(const room_view& r);

// The two halves of an op frame around its seq (see store::append_request).
struct op_frame_parts {
  std::string prefix;
  std::string suffix;
};
op_frame_parts op_frame(std::string_view room_id, std::string_view cid, std::string_view user_id,
                        std::string_view at, const core::op& o);

}  // namespace fun_notes::server::rooms

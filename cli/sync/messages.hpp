// The protocol's server frames as the terminal client sees them, parsed once at the socket, and
// the client frames it sends. Pure: no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fun_notes/core/note.hpp"
#include "fun_notes/core/result.hpp"

namespace fun_notes::cli::sync {

struct room_info {
  std::string id;
  std::string name;
  std::string visibility;  // "private" | "link" | "public"
  std::string role;        // "owner" | "editor" | "viewer"
  std::int64_t active_user_count = 0;
  std::int64_t total_notes = 0;
  bool operator==(const room_info&) const = default;
};

struct user_ref {
  std::string id;
  std::string name;
  bool operator==(const user_ref&) const = default;
};

struct welcome_msg {
  std::string server;
  user_ref user;
  std::size_t title_bytes = 1024;
  std::size_t body_bytes = 64 * 1024;
  std::size_t frame_bytes = 64 * 1024;
};
struct snapshot_msg {
  std::string room;
  std::int64_t seq = 0;
  room_info info;
  std::vector<core::note> notes;
  // The answer about the ops the join named in doubt: the cids numbered from `checked_from` on,
  // with their seqs. Absent when the join named none (or the server predates the field).
  std::optional<std::int64_t> checked_from{};
  std::map<std::string, std::int64_t, std::less<>> numbered{};
};
struct resume_msg {
  std::string room;
  std::int64_t since = 0;
};
struct op_msg {
  std::string room;
  std::string cid;
  std::string user;
  core::applied_op applied;  // seq, at, op
};
struct reject_msg {
  std::string room;
  std::string cid;
  std::string code;
  std::string message;
};
struct error_msg {
  std::string code;
  std::string room;  // empty when the error is not about a room
  std::string message;
};
struct presence_msg {
  std::string room;
  std::int64_t active_user_count = 0;
  std::vector<user_ref> users;
};
// A dashboard row: `rooms` (the full list) and `room_stat` (one changed row).
struct room_stat {
  std::string id;
  std::string name;
  std::int64_t active_user_count = 0;
  std::int64_t total_notes = 0;
  bool operator==(const room_stat&) const = default;
};
struct rooms_msg {
  std::vector<room_stat> rooms;
};
struct room_stat_msg {
  room_stat room;
};
struct pong_msg {};
// The socket's role in a joined room changed (promoted, demoted, the room's public role).
struct role_msg {
  std::string room;
  std::string role;
};

// Someone else's caret in a note field (docs/protocol.md, "Carets"), or, without a note, their
// caret left the field. Offsets are code points of the field's text as the sender showed it.
struct cursor_msg {
  std::string room;
  std::string session;  // one socket; a user may have several
  user_ref user;
  std::string note;  // empty: cleared
  core::text_field field = core::text_field::body;
  std::size_t anchor = 0;
  std::size_t head = 0;
  std::int64_t seq = 0;
};

using server_msg =
    std::variant<welcome_msg, snapshot_msg, resume_msg, op_msg, reject_msg, error_msg, presence_msg,
                 rooms_msg, room_stat_msg, pong_msg, role_msg, cursor_msg>;

// Parses one text frame from the server. A frame that is not valid protocol is an error value
// (the caller drops it), never an exception.
core::result<server_msg> parse_server_frame(std::string_view text);
// The same for every frame a text frame carries: one, or the frames of a {"type":"batch"} in
// order (the hello asks for batches). Frames that are not valid protocol are left out.
std::vector<server_msg> parse_server_frames(std::string_view text);

// Client frames, serialized. `batch`: the client unpacks {"type":"batch"} frames.
std::string hello_frame(std::string_view token, std::string_view client, bool batch = false);
// `in_doubt`: cids of text ops sent and never echoed before the connection died, for the
// server to say which of them a snapshot holds.
std::string join_frame(std::string_view room, std::optional<std::int64_t> since,
                       const std::vector<std::string>& in_doubt = {});
std::string leave_frame(std::string_view room);
std::string op_frame(std::string_view room, std::string_view cid, const core::op& o);
std::string watch_rooms_frame();
std::string unwatch_rooms_frame();
std::string ping_frame(std::int64_t t);
// This socket's caret in a note field, and the caret leaving the fields (no note).
std::string cursor_frame(std::string_view room, std::string_view note, core::text_field field,
                         std::size_t anchor, std::size_t head, std::int64_t seq);
std::string cursor_clear_frame(std::string_view room);

}  // namespace fun_notes::cli::sync

// The TUI's whole state as one value: what update changes and view draws.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fun_notes/core/note.hpp"
#include "sync/messages.hpp"
#include "sync/replica.hpp"
#include "sync/undo.hpp"
#include "tui/editor.hpp"

namespace fun_notes::cli::tui {

enum class screen_kind { dashboard, room, editor, help, confirm_delete };

// The socket as the user knows it.
enum class socket_state {
  offline,     // no socket; a retry may be scheduled
  connecting,  // an attempt is under way, or the socket is open and `welcome` not yet in
  welcomed,    // the session is up
};

// A one-line input at the bottom of the dashboard.
enum class prompt_kind { create_room, join_room };
struct prompt {
  prompt_kind kind = prompt_kind::create_room;
  text_field input;
};

// Someone else's caret in a note field, moved along with the text ops that reach the view.
struct remote_caret {
  sync::user_ref user;
  std::string note_id;
  core::text_field field = core::text_field::body;
  std::size_t pos = 0;       // code point offset in the field's text as the view shows it
  std::int64_t seen_ms = 0;  // dropped when not refreshed for 45 s
};

// This client's caret as last sent.
struct sent_caret {
  std::string note_id;
  core::text_field field = core::text_field::body;
  std::size_t pos = 0;
  std::int64_t at_ms = 0;
};

struct dashboard_state {
  std::vector<sync::room_info> rooms;  // sorted by name, then id
  std::size_t selected = 0;
  std::size_t scroll = 0;  // first row shown
  bool listed = false;     // the server sent a list this session (HTTP or watch_rooms)
};

struct room_screen_state {
  std::optional<sync::replica> replica;  // set while a room is open
  bool loading = false;                  // load_room sent, its answer not in
  // The selection is held by note id, so it stays on its note when others insert, move or
  // delete notes above it; `selected` is its row among the shown notes, kept in step.
  std::string selected_id;
  std::size_t selected = 0;
  std::size_t scroll = 0;
  // The filter: shown notes are those whose title or body holds it (case-folded).
  std::string filter;
  bool filtering = false;            // the filter line has the keyboard
  std::vector<std::size_t> matches;  // view positions shown while a filter is set
  // Undo and redo of this user's own changes in the room (u / Ctrl+R; Ctrl+Z in the editor).
  sync::undo_history history;
  std::map<std::string, remote_caret> carets;  // by the other socket's session id
  std::optional<sent_caret> my_caret;
  std::int64_t last_flush_ms = 0;  // the last resend of ops the server asked to retry
  std::string confirm_id;          // the note awaiting y/n on the confirm-delete screen
  // Others' ops changed the replica: written to the cache on the next tick, so a busy room
  // costs one transaction a second rather than one per op. Local edits are written at once.
  bool persist_pending = false;
};

struct model {
  std::vector<screen_kind> stack{screen_kind::dashboard};  // back() is on screen
  dashboard_state dash;
  room_screen_state room;
  std::optional<note_editor> editor;
  std::optional<prompt> input;

  socket_state socket = socket_state::offline;
  std::string socket_reason;     // why the last connection ended, in words
  std::int64_t retry_at_ms = 0;  // when the next attempt starts (0: none scheduled)
  bool signed_out = false;       // the server refused the token: no more retries
  sync::user_ref user;
  std::size_t title_bytes = 1024;  // the server's limits, from `welcome`
  std::size_t body_bytes = 64 * 1024;

  std::string status;  // the status line's message
  bool status_is_error = false;
  std::int64_t status_until_ms = 0;  // 0: until replaced
  std::deque<std::string> notices;   // recent notices, newest first (help screen lists them)

  int width = 80;
  int height = 24;
  bool color = true;
  sync::id_source ids{1};
  std::string now;    // RFC 3339, from the last tick
  std::string clock;  // local "HH:MM", from the last tick
  std::int64_t now_ms = 0;
  bool quitting = false;

  screen_kind top() const { return stack.back(); }
};

// A fresh model; `seed` seeds the id source (the runtime passes a random one, tests a fixed one).
model initial_model(sync::user_ref user, bool color, int width, int height, std::uint64_t seed,
                    std::int64_t now_ms, std::string now);

}  // namespace fun_notes::cli::tui

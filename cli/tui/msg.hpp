// Messages: everything that happens to the TUI (keys, resizes, ticks, the socket's events and
// the answers to commands), as values that update folds into the model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "fun_notes/core/result.hpp"
#include "net/connection.hpp"
#include "sync/replica.hpp"
#include "tui/key.hpp"

namespace fun_notes::cli::tui {

struct key_msg {
  key k;
};
struct resize_msg {
  int width = 80;
  int height = 24;
};
// The clock, read by the runtime only: update never reads it.
struct tick_msg {
  std::int64_t unix_millis = 0;
  std::string now;    // RFC 3339 UTC, the `at` of local edits
  std::string clock;  // "HH:MM" in the user's time zone, for the header (empty: UTC from `now`)
};
struct net_msg {
  net::net_event event;
};
// The room list from the cache, at start.
struct cached_rooms_msg {
  std::vector<sync::room_info> rooms;
};
// Open a room by id (the command line's ROOM, or a test).
struct open_room_msg {
  std::string room_id;
};
struct room_loaded_msg {
  std::string room_id;
  std::optional<sync::replica> replica;  // nullopt: never opened on this machine
};
struct rooms_listed_msg {
  core::result<std::vector<sync::room_info>> result;
};
struct room_created_msg {
  core::result<sync::room_info> result;
};

// Changes another process of this user queued for the open room (read from the cache when the
// socket is welcomed, before the join).
struct queued_elsewhere_msg {
  std::string room_id;
  std::vector<sync::local_op> ops;
};

// Something the runtime must tell the user (a cache write that failed).
struct status_msg {
  std::string text;
  bool error = false;
};

using msg = std::variant<key_msg, resize_msg, tick_msg, net_msg, cached_rooms_msg, open_room_msg,
                         room_loaded_msg, rooms_listed_msg, room_created_msg, status_msg,
                         queued_elsewhere_msg>;

}  // namespace fun_notes::cli::tui

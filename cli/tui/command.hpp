// Commands: the I/O that update asks for, as values. The runtime carries them out and posts
// their results back as messages; tests read them to see what would have happened.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "sync/replica.hpp"

namespace fun_notes::cli::tui {

namespace cmd {

struct send_frame {
  std::string frame;
  bool operator==(const send_frame&) const = default;
};
// Write what changed in the open room's replica (base, info, outbox) to the cache.
struct persist_room {
  bool operator==(const persist_room&) const = default;
};
// The room the user left: write what changed, then it is dropped.
struct save_closed_room {
  sync::replica room;
};
struct save_rooms {
  std::vector<sync::room_info> rooms;
  bool operator==(const save_rooms&) const = default;
};
struct save_room_stat {
  sync::room_stat stat;
  bool operator==(const save_room_stat&) const = default;
};
struct store_notices {
  std::string room;
  std::vector<std::string> messages;
  std::vector<std::string> note_ids;
  bool operator==(const store_notices&) const = default;
};
// Read a room's replica from the cache; answered by room_loaded_msg.
struct load_room {
  std::string room_id;
  bool operator==(const load_room&) const = default;
};
// HTTP POST /api/rooms; answered by room_created_msg.
struct create_room {
  std::string name;
  std::string visibility;
  bool operator==(const create_room&) const = default;
};
// HTTP GET /api/rooms; answered by rooms_listed_msg.
struct list_rooms {
  bool operator==(const list_rooms&) const = default;
};
struct reconnect_now {
  bool operator==(const reconnect_now&) const = default;
};
struct quit {
  bool operator==(const quit&) const = default;
};

}  // namespace cmd

using command =
    std::variant<cmd::send_frame, cmd::persist_room, cmd::save_closed_room, cmd::save_rooms,
                 cmd::save_room_stat, cmd::store_notices, cmd::load_room, cmd::create_room,
                 cmd::list_rooms, cmd::reconnect_now, cmd::quit>;

}  // namespace fun_notes::cli::tui

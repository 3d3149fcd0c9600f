// Reads a room's state at its latest seq from the ColdStore snapshot plus the HotLog gap.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "fun_notes/core/note.hpp"
#include "fun_notes/core/result.hpp"
#include "store/cold_store.hpp"
#include "store/hot_log.hpp"

namespace fun_notes::server::rooms {

struct loaded_room {
  store::room_meta meta;
  core::room_state state;                // at the latest seq the log held when read
  std::vector<store::log_entry> recent;  // every op the log still holds (ascending)
};

// Parses an `op` frame as stored in the HotLog back into the op every replica applies; `user`,
// when given, gets the frame's user id.
core::result<core::applied_op> parse_op_frame(const std::string& frame,
                                              std::string* user = nullptr);

// Blocking (run on the worker pool). nullopt when the room does not exist. Throws
// store_error when a store fails. Retries when a flush trimmed the log between the two reads,
// so the result never has a gap. A log that keeps not continuing the snapshot lost ops: then
// `repair` (when given) is asked once to make the stores agree again before the last tries.
std::optional<loaded_room> load_room(store::cold_store& cold, store::hot_log& hot,
                                     std::string_view room_id,
                                     const std::function<bool()>& repair = {});

}  // namespace fun_notes::server::rooms

// The room's Trash: what a range of ops does to it, and reading it as of the latest seq.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fun_notes/core/note.hpp"
#include "store/cold_store.hpp"
#include "store/hot_log.hpp"

namespace fun_notes::server::persist {

// How long a deleted note stays restorable. Entries older than this are purged by the flushes
// that trash something in the room, and never listed.
constexpr std::chrono::hours trash_retention{24 * 30};

// What a range of ops does to the Trash: each id's last delete in the range (the note as it was
// just before it), and the ids a create brought back.
struct trash_changes {
  std::map<std::string, store::trashed_note> trashed;
  std::set<std::string> untrashed;
};

// Every note id an op touches: the notes whose existence its apply looks at.
void touched_ids(const core::op& o, std::set<std::string>& out);

// Applies `op`, made by `user`, to `state` and records what it does to the Trash.
void apply_recording_trash(core::room_state& state, const core::applied_op& op,
                           std::string_view user, trash_changes& changes);

// The time before which Trash entries are purged, at `now`.
std::string trash_cutoff(std::chrono::system_clock::time_point now);

// The room's Trash at its latest seq, newest first, at most `limit`: the ColdStore's entries
// with the ops not flushed yet folded in. Blocking; throws store_error. Empty for no room.
std::vector<store::trashed_note> read_trash(store::cold_store& cold, store::hot_log& hot,
                                            const std::string& room_id, std::size_t limit);

}  // namespace fun_notes::server::persist

// One room as a portable JSON file (export / import), read at the room's latest seq.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fun_notes/core/note.hpp"
#include "fun_notes/core/result.hpp"
#include "store/cold_store.hpp"
#include "store/hot_log.hpp"

namespace fun_notes::server::admin {

// The file's "format" and "version"; a reader refuses anything else.
inline constexpr std::string_view archive_format = "fun-notes-room";
inline constexpr std::int64_t archive_version = 1;

struct room_archive {
  store::room_meta room;  // last_seq: the seq the notes are at; total_notes: notes.size()
  std::string owner_name;
  std::vector<store::member> members;  // ordered by username, then id
  std::vector<core::note> notes;       // ordered by (current_index, id)
};

// Called as notes are written or read: (done, total).
using progress_fn = std::function<void(std::size_t done, std::size_t total)>;

// The room at its latest seq: the ColdStore snapshot plus the HotLog's ops after it, applied
// with the core apply function (what GET /api/rooms/{id}/notes returns), so an op that was
// acknowledged but not yet flushed is in it. nullopt when the room does not exist. Throws
// store_error.
std::optional<room_archive> read_room(store::cold_store& cold, store::hot_log& hot,
                                      std::string_view room_id);

// Deterministic text: the same room state gives the same bytes. One note per line.
std::string serialize_archive(const room_archive& archive, const progress_fn& progress = {});
// Strict: every field checked, errors name the field ("invalid").
core::result<room_archive> parse_archive(std::string_view text);

struct import_options {
  bool replace = false;  // overwrite a room with the same id
};

struct import_report {
  std::int64_t last_seq = 0;               // where the room's numbering continues from
  std::size_t members = 0;                 // members written, the owner included
  std::vector<std::string> missing_users;  // "name (id)" of members with no account here
  bool replaced = false;
};

// Creates the room from `archive`: members whose user exists here (by id, else by username),
// the notes and last_seq, and makes the HotLog number on after last_seq. Errors: "exists" (the
// id is taken and replace is off), "owner_missing". Throws store_error.
core::result<import_report> import_room(store::cold_store& cold, store::hot_log& hot,
                                        const room_archive& archive, const import_options& options,
                                        const progress_fn& progress = {});

// 12345 -> "12,345", for progress lines people read.
std::string with_commas(std::size_t n);

}  // namespace fun_notes::server::admin

// ColdStore port: the source of truth for users, rooms, members and materialized notes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fun_notes/core/note.hpp"
#include "store/store_error.hpp"

namespace fun_notes::store {

enum class role { none = 0, viewer = 1, editor = 2, owner = 3 };
std::string_view to_string(role r);
std::optional<role> parse_role(std::string_view s);  // "viewer" | "editor" | "owner"

struct user {
  std::string id;
  std::string name;
  std::string password_hash;  // Argon2id string (libsodium crypto_pwhash_str)
  std::string created_at;
  // Tokens carry the version they were issued under; a password change, a sign-out
  // everywhere or a deletion moves it on, and older tokens stop working.
  std::int64_t token_version = 0;
};

struct room_meta {
  std::string id;
  std::string name;
  std::string visibility = "private";  // "private" | "link" | "public"
  // What a signed-in non-member gets in a public room: viewer or editor.
  role public_role = role::viewer;
  std::string owner_id;
  std::int64_t last_seq = 0;     // seq of the last op folded into the notes
  std::int64_t total_notes = 0;  // notes as of last_seq
  std::string created_at;
  // Distinct users in the room across the fleet, as presence last reported it (debounced).
  std::int64_t active_user_count = 0;
};

struct member {
  std::string user_id;
  std::string user_name;
  role member_role = role::none;
};

struct room_listing {
  room_meta meta;
  role member_role = role::none;
};

// Notes sorted by (current_index, id) and the last_seq they reflect, read in one transaction.
struct snapshot {
  room_meta meta;
  std::vector<core::note> notes;
};

// A deleted note as the room's Trash keeps it, for any editor to restore (by creating it
// again with the same id and content).
struct trashed_note {
  core::note note;         // as it was just before the delete
  std::string deleted_at;  // the delete op's time, RFC 3339 UTC
  std::string deleted_by;  // user id of the delete op
  std::int64_t deleted_seq = 0;
  bool operator==(const trashed_note&) const = default;
};

// One write-behind flush: applied in ONE transaction only if the room's last_seq still equals
// `expected_last_seq`; it then becomes `new_last_seq`.
struct flush_batch {
  std::string room_id;
  std::int64_t expected_last_seq = 0;
  std::int64_t new_last_seq = 0;
  std::vector<core::note> upserts;   // full final values of notes that exist after the range
  std::vector<std::string> deletes;  // ids that do not exist after the range
  // The Trash: ids created again in the range leave it first, then the notes deleted in the
  // range (each id's last delete) go in, replacing an older entry of the same id.
  std::vector<std::string> untrashed{};
  std::vector<trashed_note> trashed{};
  // Entries deleted before this time (RFC 3339 UTC) are purged; empty: none.
  std::string trash_cutoff{};
};

enum class flush_outcome { applied, stale };

// A stretch of a room's history that was lost (the op log lost ops the cold store never got)
// and skipped by a repair: seqs `from_seq`..`to_seq` have no op, the room went on from the
// cold store's state.
struct room_gap {
  std::string room_id;
  std::int64_t from_seq = 0;
  std::int64_t to_seq = 0;
  std::string reason;
  std::string recorded_at;  // set by the store
};

// ---- Operator tools (export, import, migrate): the types of the bulk block below. ----

// An invite link to a room; `expires_at` is an RFC 3339 UTC time.
struct invite {
  std::string token;
  std::string room_id;
  role invite_role = role::viewer;
  std::optional<std::string> expires_at;
  std::optional<std::int64_t> max_uses;
  std::int64_t uses = 0;
  bool operator==(const invite&) const = default;
};

// What PATCH /api/rooms/{id} changes; absent fields stay as they are.
struct room_changes {
  std::optional<std::string> name;
  std::optional<std::string> visibility;
  std::optional<role> public_role;
};

enum class accept_outcome { accepted, already_member, not_found, expired, used_up };

struct accept_result {
  accept_outcome outcome = accept_outcome::not_found;
  std::string room_id;
  role member_role = role::none;  // the caller's role in the room afterwards
};

// cold_store::accept_invite's rule for an invite that exists, for adapters that decide it in
// code: expired, used_up, already_member (`current` is at least the invite's role), else
// accepted. Times compare as text, which orders core::format_time's fixed-width UTC by time.
accept_outcome accept_outcome_for(const invite& inv, role current, std::string_view now);

// A whole room as an import writes it. `meta.total_notes` is ignored (it is counted);
// `meta.last_seq` is stored as given. The owner is a member with role owner whether or not
// `members` lists them; `member::user_name` is ignored.
struct room_import {
  room_meta meta;
  std::vector<member> members;
  std::vector<core::note> notes;
  std::vector<invite> invites;
};

enum class user_import { created, exists, name_taken };

// Called with the number of notes written so far, every few thousand notes and at the end.
using import_progress = std::function<void(std::size_t notes_written)>;

// All calls block; the server runs them on its worker pool, never on an io_context thread.
// Every method may throw store_error.
class cold_store {
 public:
  virtual ~cold_store() = default;

  // Users. Names are unique without ASCII case ("Alice" and "ALICE" are one name); names are
  // restricted to ASCII, so no other normalisation applies. create_user returns false when
  // the name is taken; find_user_by_name ignores ASCII case.
  virtual bool create_user(const user& u) = 0;
  virtual std::optional<user> find_user_by_name(std::string_view name) = 0;
  virtual std::optional<user> find_user(std::string_view user_id) = 0;
  // Sets a new password hash and moves token_version on, in one statement. The new version,
  // or nullopt for no such user.
  virtual std::optional<std::int64_t> set_password(std::string_view user_id,
                                                   std::string_view password_hash) = 0;
  // Moves token_version on: every token issued before stops working. nullopt: no such user.
  virtual std::optional<std::int64_t> bump_token_version(std::string_view user_id) = 0;
  // In ONE transaction: deletes the user, their memberships and invites nothing else needs,
  // and the rooms they own (with notes, members, invites, gaps). The ids of the deleted rooms,
  // or nullopt for no such user.
  virtual std::optional<std::vector<std::string>> delete_user(std::string_view user_id) = 0;

  // Rooms. create_room also makes `meta.owner_id` the owner member.
  virtual void create_room(const room_meta& meta) = 0;
  virtual std::optional<room_meta> find_room(std::string_view room_id) = 0;
  virtual void update_room(std::string_view room_id, const room_changes& changes) = 0;
  // Deletes the room with its notes, members, invites and gaps. False: no such room.
  virtual bool delete_room(std::string_view room_id) = 0;
  // In ONE transaction: `new_owner_id` (an existing user, member or not) becomes the owner
  // (rooms.owner_id and its member row) and the previous owner an editor. False: no such room.
  // A `new_owner_id` that is no user throws store_error and changes nothing.
  virtual bool transfer_ownership(std::string_view room_id, std::string_view new_owner_id) = 0;
  // Public rooms, most active first (active_user_count descending), then by name, then id.
  virtual std::vector<room_meta> public_rooms(std::size_t limit) = 0;
  // Presence's count of the room's distinct users (written debounced, not per join).
  virtual void set_active_user_count(std::string_view room_id, std::int64_t count) = 0;
  // Rooms the user is a member of, with the user's role, ordered by name then id.
  virtual std::vector<room_listing> rooms_of_user(std::string_view user_id) = 0;

  // Members. role_of returns role::none for non-members and unknown rooms.
  virtual role role_of(std::string_view room_id, std::string_view user_id) = 0;
  // A room with the user's member role in it (none: not a member), in one read where the
  // adapter can (a join's access check). nullopt: no such room.
  virtual std::optional<std::pair<room_meta, role>> find_room_as(std::string_view room_id,
                                                                 std::string_view user_id) {
    auto meta = find_room(room_id);
    if (!meta) {
      return std::nullopt;
    }
    return std::make_pair(std::move(*meta), role_of(room_id, user_id));
  }
  virtual void set_member(std::string_view room_id, std::string_view user_id, role r) = 0;
  virtual bool remove_member(std::string_view room_id, std::string_view user_id) = 0;
  virtual std::vector<member> members(std::string_view room_id) = 0;

  // Invites. create_invite stores `inv` as given (uses counted from inv.uses).
  virtual void create_invite(const invite& inv) = 0;
  virtual std::optional<invite> find_invite(std::string_view token) = 0;
  // False: no such invite in that room.
  virtual bool delete_invite(std::string_view room_id, std::string_view token) = 0;
  // In ONE transaction: an invite past `expires_at` (compared with `now`, RFC 3339 UTC) or at
  // `max_uses` is refused (expired / used_up); otherwise the user becomes a member with the
  // invite's role and one use is counted. A member whose role is already at least the
  // invite's keeps it and counts no use (already_member). The owner is never downgraded.
  // Every outcome but not_found carries the invite's room and the user's role afterwards
  // (unchanged unless accepted). Accepting for a `user_id` that is no user throws store_error.
  virtual accept_result accept_invite(std::string_view token, std::string_view user_id,
                                      std::string_view now) = 0;

  // Notes.
  virtual std::optional<snapshot> load_snapshot(std::string_view room_id) = 0;
  virtual std::vector<core::note> load_notes(std::string_view room_id,
                                             const std::vector<std::string>& ids) = 0;
  virtual flush_outcome apply_flush(const flush_batch& batch) = 0;
  // The room's Trash as of its last_seq: entries deleted at or after `since` (RFC 3339 UTC),
  // newest first (deleted_seq descending), at most `limit`.
  virtual std::vector<trashed_note> trash(std::string_view room_id, std::string_view since,
                                          std::size_t limit) = 0;

  // Repairs: the record of every gap skipped in a room, oldest first.
  virtual void record_gap(const room_gap& gap) = 0;
  virtual std::vector<room_gap> gaps(std::string_view room_id) = 0;

  // ---- Operator tools (export, import, migrate): whole-instance listings and bulk writes.
  // They run from the command line, never on a request path, so they may scan everything.

  // Every user with its password hash, ordered by id.
  virtual std::vector<user> all_users() = 0;
  // Every room, ordered by id.
  virtual std::vector<room_meta> all_rooms() = 0;
  // The room's invites, ordered by token.
  virtual std::vector<invite> invites(std::string_view room_id) = 0;
  // The named secret, if get_or_create_secret ever created it.
  virtual std::optional<std::string> find_secret(std::string_view name) = 0;
  // Stores `u` exactly as given (id, password hash, created_at), so the user can still log in.
  // `exists`: a user with this id is already there (left unchanged); `name_taken`: another
  // user holds the name.
  virtual user_import import_user(const user& u) = 0;
  // Writes the room, its members, notes and invites in ONE transaction. A room with the same
  // id: with `replace` it is deleted first (with its notes, members and invites), else nothing
  // changes and the result is false. Members and the owner must exist as users.
  virtual bool import_room(const room_import& room, bool replace,
                           const import_progress& progress) = 0;

  // A named secret, created once with `make` and the same for every later call.
  virtual std::string get_or_create_secret(std::string_view name,
                                           const std::function<std::string()>& make) = 0;
};

}  // namespace fun_notes::store

// The one place that decides who may do what in a room: joins (link rooms make members,
// public rooms admit visitors), the role each HTTP call needs, room creation and every
// sharing change. The WebSocket session and the HTTP API only translate the protocol.
// All calls block on the cold store: run them on the worker pool.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/cold_store.hpp"

namespace fun_notes::server::access {

// A refusal: `status` for HTTP, `code` for both HTTP and WebSocket (PROTOCOL.md codes).
struct denied {
  int status = 403;
  std::string code = "forbidden";
  std::string message;
  std::int64_t retry_after_seconds = 0;  // 429: sent as Retry-After
};

// The role a user has in a room: their member role, or for a public room at least its
// public role.
store::role effective_role(const store::room_meta& meta, store::role member_role);
bool at_least(store::role r, store::role min);

// What was decided for a user in a room.
struct grant {
  store::room_meta meta;
  store::role role = store::role::none;         // effective
  store::role member_role = store::role::none;  // none: a visitor of a public room
  bool became_member = false;                   // a link room just made them a member
};

// A room in a listing, with the user's effective role, and whether they are a member (or see
// it because it is public).
struct listed_room {
  store::room_listing listing;
  bool member = true;
};

// Tells every server (and so every open socket and dashboard) what changed.
class access_events {
 public:
  virtual ~access_events() = default;
  // A user's member role in a room changed; none: no longer a member.
  virtual void member_changed(const store::room_meta& meta, const std::string& user_id,
                              store::role member_role) = 0;
  // Name, visibility or public role changed.
  virtual void room_changed(const store::room_meta& meta) = 0;
  virtual void room_deleted(const std::string& room_id) = 0;
  // Tokens of the user older than `version` stopped working: their sockets close.
  virtual void user_revoked(const std::string& user_id, std::int64_t version) = 0;
};

struct room_settings {
  std::string name;
  std::string visibility = "private";
  store::role public_role = store::role::viewer;
};

struct new_invite {
  store::role invite_role = store::role::viewer;
  std::optional<std::int64_t> expires_in_seconds = 7 * 24 * 3600;  // nullopt: never
  std::optional<std::int64_t> max_uses;                            // nullopt: unlimited
};

// What accepting an invite would give, for a page that asks first.
struct invite_preview {
  store::room_meta meta;
  store::invite inv;
};

class room_access {
 public:
  room_access(store::cold_store& cold, access_events& events) : cold_(cold), events_(events) {}

  // Throws denied (not_found, forbidden). A link room makes the user an editor member.
  grant join(std::string_view room_id, std::string_view user_id);
  // The caller's standing in a room for an HTTP call needing `min_role`; throws denied.
  grant require(std::string_view room_id, std::string_view user_id, store::role min_role);
  // The user's effective role, none for no access (also for unknown rooms).
  store::role role_in(std::string_view room_id, std::string_view user_id);

  // Throws denied (invalid) for a bad name, visibility or public role.
  store::room_meta create_room(std::string_view owner_id, const room_settings& settings);
  store::room_meta update_room(std::string_view room_id, std::string_view user_id,
                               const store::room_changes& changes);
  void delete_room(std::string_view room_id, std::string_view user_id);

  // The caller's standing (at least viewer) and the room's members; a public room's visitor
  // does not see who its members are.
  std::pair<grant, std::vector<store::member>> members(std::string_view room_id,
                                                       std::string_view user_id);
  // role owner transfers ownership (the previous owner becomes an editor).
  store::member set_member(std::string_view room_id, std::string_view owner_id,
                           std::string_view target_id, store::role r);
  // By the owner, or by the member themself (leaving).
  void remove_member(std::string_view room_id, std::string_view actor_id,
                     std::string_view target_id);

  store::invite create_invite(std::string_view room_id, std::string_view owner_id,
                              const new_invite& spec);
  std::vector<store::invite> invites(std::string_view room_id, std::string_view owner_id);
  void revoke_invite(std::string_view room_id, std::string_view owner_id, std::string_view token);
  invite_preview preview_invite(std::string_view token);
  // The room and the user's role in it afterwards.
  grant accept_invite(std::string_view token, std::string_view user_id);

  // Rooms the user is a member of plus the public rooms, each with the user's role, most
  // active first (then by name, then id).
  std::vector<listed_room> dashboard_rooms(std::string_view user_id);
  std::vector<listed_room> public_rooms(std::string_view user_id);

  static constexpr std::size_t max_public_rooms = 500;

 private:
  store::room_meta existing_room(std::string_view room_id);
  std::vector<listed_room> listing(std::string_view user_id, bool with_member_rooms);

  store::cold_store& cold_;
  access_events& events_;
};

// Validation shared with the operator tools.
bool valid_visibility(std::string_view v);

}  // namespace fun_notes::server::access

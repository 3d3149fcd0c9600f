// Access decisions and sharing changes; every change is announced through access_events.
#include "access/room_access.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include "auth/auth.hpp"
#include "fun_notes/core/codec.hpp"

namespace fun_notes::server::access {

namespace {

denied not_found(std::string message = "no such room") {
  return denied{404, "not_found", std::move(message)};
}

denied forbidden(std::string message) {
  return denied{403, "forbidden", std::move(message)};
}

denied invalid(std::string message) {
  return denied{400, "invalid", std::move(message)};
}

denied conflict(std::string message) {
  return denied{409, "conflict", std::move(message)};
}

// An invite token is a credential: the log names it by its first characters only.
std::string_view token_hint(std::string_view token) {
  return token.substr(0, 6);
}

void check_name(std::string_view name) {
  if (name.empty() || name.size() > 200) {
    throw invalid("name must be 1-200 bytes");
  }
}

void check_visibility(std::string_view v) {
  if (!valid_visibility(v)) {
    throw invalid(R"(visibility must be "private", "link" or "public")");
  }
}

void check_public_role(store::role r) {
  if (r != store::role::viewer && r != store::role::editor) {
    throw invalid(R"(public_role must be "viewer" or "editor")");
  }
}

std::string role_name(store::role r) {
  return std::string(store::to_string(r));
}

}  // namespace

bool valid_visibility(std::string_view v) {
  return v == "private" || v == "link" || v == "public";
}

bool at_least(store::role r, store::role min) {
  return static_cast<int>(r) >= static_cast<int>(min);
}

store::role effective_role(const store::room_meta& meta, store::role member_role) {
  if (meta.visibility == "public" && !at_least(member_role, meta.public_role)) {
    return meta.public_role;
  }
  return member_role;
}

store::room_meta room_access::existing_room(std::string_view room_id) {
  auto meta = cold_.find_room(room_id);
  if (!meta) {
    throw not_found();
  }
  return *meta;
}

grant room_access::join(std::string_view room_id, std::string_view user_id) {
  grant g;
  auto found = cold_.find_room_as(room_id, user_id);  // one read where the store can
  if (!found) {
    throw not_found();
  }
  g.meta = std::move(found->first);
  g.member_role = found->second;
  if (g.member_role == store::role::none && g.meta.visibility == "link") {
    // Anyone signed in who knows a link room's id joins it as an editor member.
    cold_.set_member(room_id, user_id, store::role::editor);
    g.member_role = store::role::editor;
    g.became_member = true;
    spdlog::info("audit: {} joined link room {} as editor", user_id, room_id);
    events_.member_changed(g.meta, std::string(user_id), g.member_role);
  }
  g.role = effective_role(g.meta, g.member_role);
  if (g.role == store::role::none) {
    throw forbidden("this room is private: ask its owner for an invite");
  }
  return g;
}

grant room_access::require(std::string_view room_id, std::string_view user_id,
                           store::role min_role) {
  grant g;
  auto found = cold_.find_room_as(room_id, user_id);
  if (!found) {
    throw not_found();
  }
  g.meta = std::move(found->first);
  g.member_role = found->second;
  g.role = effective_role(g.meta, g.member_role);
  if (g.role == store::role::none) {
    throw forbidden("you are not a member of this room");
  }
  if (!at_least(g.role, min_role)) {
    throw forbidden("this needs the " + role_name(min_role) + " role; yours is " +
                    role_name(g.role));
  }
  return g;
}

store::role room_access::role_in(std::string_view room_id, std::string_view user_id) {
  auto meta = cold_.find_room(room_id);
  if (!meta) {
    return store::role::none;
  }
  return effective_role(*meta, cold_.role_of(room_id, user_id));
}

store::room_meta room_access::create_room(std::string_view owner_id,
                                          const room_settings& settings) {
  check_name(settings.name);
  check_visibility(settings.visibility);
  check_public_role(settings.public_role);
  store::room_meta meta;
  meta.id = auth::readable_id(14);
  meta.name = settings.name;
  meta.visibility = settings.visibility;
  meta.public_role = settings.public_role;
  meta.owner_id = owner_id;
  meta.created_at = core::format_time(core::now_millis());
  cold_.create_room(meta);
  events_.member_changed(meta, meta.owner_id, store::role::owner);
  if (meta.visibility == "public") {
    events_.room_changed(meta);
  }
  return meta;
}

store::room_meta room_access::update_room(std::string_view room_id, std::string_view user_id,
                                          const store::room_changes& changes) {
  if (changes.name) {
    check_name(*changes.name);
  }
  if (changes.visibility) {
    check_visibility(*changes.visibility);
  }
  if (changes.public_role) {
    check_public_role(*changes.public_role);
  }
  require(room_id, user_id, store::role::owner);
  cold_.update_room(room_id, changes);
  auto meta = existing_room(room_id);
  if (changes.visibility || changes.public_role) {
    spdlog::info("audit: {} made room {} {} (public role {})", user_id, room_id, meta.visibility,
                 store::to_string(meta.public_role));
  }
  events_.room_changed(meta);
  return meta;
}

void room_access::delete_room(std::string_view room_id, std::string_view user_id) {
  require(room_id, user_id, store::role::owner);
  if (!cold_.delete_room(room_id)) {
    throw not_found();
  }
  spdlog::info("audit: {} deleted room {}", user_id, room_id);
  events_.room_deleted(std::string(room_id));
}

std::pair<grant, std::vector<store::member>> room_access::members(std::string_view room_id,
                                                                  std::string_view user_id) {
  auto g = require(room_id, user_id, store::role::viewer);
  auto list =
      g.member_role == store::role::none ? std::vector<store::member>{} : cold_.members(room_id);
  return {std::move(g), std::move(list)};
}

store::member room_access::set_member(std::string_view room_id, std::string_view owner_id,
                                      std::string_view target_id, store::role r) {
  if (r == store::role::none) {
    throw invalid(R"(role must be "viewer", "editor" or "owner")");
  }
  const auto g = require(room_id, owner_id, store::role::owner);
  if (target_id == owner_id) {
    throw conflict("you own this room: transfer ownership to another member instead");
  }
  auto target = cold_.find_user(target_id);
  if (!target) {
    throw not_found("no such user");
  }
  if (r == store::role::owner) {
    if (!cold_.transfer_ownership(room_id, target_id)) {
      throw not_found();
    }
    auto meta = existing_room(room_id);
    spdlog::info("audit: {} handed room {} over to {}", owner_id, room_id, target_id);
    events_.member_changed(meta, std::string(owner_id), store::role::editor);
    events_.member_changed(meta, target->id, store::role::owner);
  } else {
    cold_.set_member(room_id, target_id, r);
    spdlog::info("audit: {} made {} {} of room {}", owner_id, target_id, store::to_string(r),
                 room_id);
    events_.member_changed(g.meta, target->id, r);
  }
  return store::member{target->id, target->name, r};
}

void room_access::remove_member(std::string_view room_id, std::string_view actor_id,
                                std::string_view target_id) {
  const auto g = require(room_id, actor_id, store::role::viewer);
  if (target_id != actor_id && g.member_role != store::role::owner) {
    throw forbidden("only the owner can remove other members");
  }
  if (target_id == g.meta.owner_id) {
    throw conflict("the owner cannot leave: transfer ownership or delete the room");
  }
  if (!cold_.remove_member(room_id, target_id)) {
    throw not_found("no such member");
  }
  if (target_id == actor_id) {
    spdlog::info("audit: {} left room {}", actor_id, room_id);
  } else {
    spdlog::info("audit: {} removed {} from room {}", actor_id, target_id, room_id);
  }
  events_.member_changed(g.meta, std::string(target_id), store::role::none);
}

store::invite room_access::create_invite(std::string_view room_id, std::string_view owner_id,
                                         const new_invite& spec) {
  if (spec.invite_role != store::role::viewer && spec.invite_role != store::role::editor) {
    throw invalid(R"(an invite's role must be "viewer" or "editor")");
  }
  if (spec.expires_in_seconds &&
      (*spec.expires_in_seconds < 1 || *spec.expires_in_seconds > 365LL * 24 * 3600)) {
    throw invalid("expires_in must be 1-31536000 seconds, or null for never");
  }
  if (spec.max_uses && (*spec.max_uses < 1 || *spec.max_uses > 100000)) {
    throw invalid("max_uses must be 1-100000, or null for unlimited");
  }
  require(room_id, owner_id, store::role::owner);
  store::invite inv;
  inv.token = auth::random_id(32);
  inv.room_id = room_id;
  inv.invite_role = spec.invite_role;
  if (spec.expires_in_seconds) {
    inv.expires_at = core::format_time(core::now_millis() + *spec.expires_in_seconds * 1000);
  }
  inv.max_uses = spec.max_uses;
  cold_.create_invite(inv);
  spdlog::info("audit: {} invited to room {} as {} (invite {}...)", owner_id, room_id,
               store::to_string(inv.invite_role), token_hint(inv.token));
  return inv;
}

std::vector<store::invite> room_access::invites(std::string_view room_id,
                                                std::string_view owner_id) {
  require(room_id, owner_id, store::role::owner);
  return cold_.invites(room_id);
}

void room_access::revoke_invite(std::string_view room_id, std::string_view owner_id,
                                std::string_view token) {
  require(room_id, owner_id, store::role::owner);
  if (!cold_.delete_invite(room_id, token)) {
    throw not_found("no such invite");
  }
  spdlog::info("audit: {} revoked invite {}... of room {}", owner_id, token_hint(token), room_id);
}

invite_preview room_access::preview_invite(std::string_view token) {
  auto inv = cold_.find_invite(token);
  if (!inv) {
    throw not_found("this invite does not exist or was revoked");
  }
  // The same refusals as accepting, so a page can say so before anyone clicks.
  if (inv->expires_at && *inv->expires_at <= core::format_time(core::now_millis())) {
    throw forbidden("this invite has expired: ask the room's owner for a new one");
  }
  if (inv->max_uses && inv->uses >= *inv->max_uses) {
    throw forbidden("this invite has been used as many times as it allows");
  }
  return invite_preview{existing_room(inv->room_id), *inv};
}

grant room_access::accept_invite(std::string_view token, std::string_view user_id) {
  const auto result = cold_.accept_invite(token, user_id, core::format_time(core::now_millis()));
  switch (result.outcome) {
    case store::accept_outcome::not_found:
      throw not_found("this invite does not exist or was revoked");
    case store::accept_outcome::expired:
      throw forbidden("this invite has expired: ask the room's owner for a new one");
    case store::accept_outcome::used_up:
      throw forbidden("this invite has been used as many times as it allows");
    case store::accept_outcome::accepted:
    case store::accept_outcome::already_member:
      break;
  }
  grant g;
  g.meta = existing_room(result.room_id);
  g.member_role = result.member_role;
  g.role = effective_role(g.meta, g.member_role);
  if (result.outcome == store::accept_outcome::accepted) {
    g.became_member = true;
    spdlog::info("audit: {} accepted invite {}... to room {} as {}", user_id, token_hint(token),
                 result.room_id, store::to_string(g.member_role));
    events_.member_changed(g.meta, std::string(user_id), g.member_role);
  }
  return g;
}

std::vector<listed_room> room_access::public_rooms(std::string_view user_id) {
  return listing(user_id, false);
}

std::vector<listed_room> room_access::dashboard_rooms(std::string_view user_id) {
  return listing(user_id, true);
}

std::vector<listed_room> room_access::listing(std::string_view user_id, bool with_member_rooms) {
  std::unordered_map<std::string, store::role> member_roles;
  std::vector<listed_room> out;
  for (auto& r : cold_.rooms_of_user(user_id)) {
    member_roles.emplace(r.meta.id, r.member_role);
    if (with_member_rooms) {
      r.member_role = effective_role(r.meta, r.member_role);
      out.push_back(listed_room{std::move(r), true});
    }
  }
  for (auto& meta : cold_.public_rooms(max_public_rooms)) {
    const auto it = member_roles.find(meta.id);
    if (with_member_rooms && it != member_roles.end()) {
      continue;  // listed above
    }
    const bool member = it != member_roles.end();
    const auto r = effective_role(meta, member ? it->second : store::role::none);
    out.push_back(listed_room{store::room_listing{std::move(meta), r}, member});
  }
  // Most active first, then by name, then id.
  std::sort(out.begin(), out.end(), [](const listed_room& x, const listed_room& y) {
    const auto& a = x.listing.meta;
    const auto& b = y.listing.meta;
    return std::tie(b.active_user_count, a.name, a.id) <
           std::tie(a.active_user_count, b.name, b.id);
  });
  return out;
}

}  // namespace fun_notes::server::access

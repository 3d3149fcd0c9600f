// The small helpers the port headers declare, shared by every adapter.
#include <string>
#include <string_view>

#include "store/bus.hpp"
#include "store/cold_store.hpp"

namespace fun_notes::store {

std::string_view to_string(role r) {
  switch (r) {
    case role::viewer:
      return "viewer";
    case role::editor:
      return "editor";
    case role::owner:
      return "owner";
    case role::none:
      break;
  }
  return "none";
}

std::optional<role> parse_role(std::string_view s) {
  if (s == "viewer") {
    return role::viewer;
  }
  if (s == "editor") {
    return role::editor;
  }
  if (s == "owner") {
    return role::owner;
  }
  return std::nullopt;
}

accept_outcome accept_outcome_for(const invite& inv, role current, std::string_view now) {
  if (inv.expires_at && now >= *inv.expires_at) {
    return accept_outcome::expired;
  }
  if (inv.max_uses && inv.uses >= *inv.max_uses) {
    return accept_outcome::used_up;
  }
  // An owner always ends here: no invite role is above it.
  return current >= inv.invite_role ? accept_outcome::already_member : accept_outcome::accepted;
}

std::string room_channel(std::string_view room_id) {
  std::string channel = "room:";
  channel += room_id;
  return channel;
}

}  // namespace fun_notes::store

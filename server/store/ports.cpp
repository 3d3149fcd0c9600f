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

std::string room_channel(std::string_view room_id) {
  std::string channel = "room:";
  channel += room_id;
  return channel;
}

}  // namespace fun_notes::store

// The server's HTTP API as the terminal client uses it (Beast, http:// and https://), blocking
// with a timeout. Failures are error values: code "offline" when the server cannot be reached,
// else the server's error code ("unauthorized", "conflict", "invalid", ...).
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fun_notes/core/result.hpp"
#include "sync/messages.hpp"

namespace fun_notes::cli::net {

struct session {
  std::string token;
  sync::user_ref user;
};

struct api {
  std::string server_url;
  std::string token;
  std::chrono::milliseconds timeout{5000};

  core::result<session> login(const std::string& username, const std::string& password) const;
  core::result<session> register_user(const std::string& username,
                                      const std::string& password) const;
  core::result<std::vector<sync::room_info>> list_rooms() const;
  core::result<sync::room_info> create_room(const std::string& name,
                                            const std::string& visibility) const;
  // Any JSON call: `method` GET | POST | PUT | PATCH | DELETE; a 2xx answer's object (empty
  // for 204), else the server's error.
  core::result<boost::json::object> call(std::string_view method, const std::string& path,
                                         const std::optional<boost::json::object>& body) const;
  // GET /api/rooms/{id}/notes: {seq, notes}.
  core::result<core::room_state> room_notes(const std::string& room_id) const;
};

}  // namespace fun_notes::cli::net

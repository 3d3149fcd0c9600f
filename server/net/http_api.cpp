// HTTP API: accounts, rooms and notes. Every failure is a JSON error, never a crash.
#include "net/http_api.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <optional>
#include <regex>
#include <sstream>

#include "app.hpp"
#include "fun_notes/core/codec.hpp"
#include "persist/write_behind.hpp"
#include "rooms/dashboard.hpp"
#include "rooms/frames.hpp"
#include "rooms/room_hub.hpp"
#include "rooms/room_loader.hpp"

namespace fun_notes::server::net {
namespace json = boost::json;

namespace {

struct api_error {
  int status;
  std::string code;
  std::string message;
};

http_response ok(int status, const json::value& v) {
  return http_response{status, json::serialize(v), "application/json"};
}

json::object parse_body(const http_request& req) {
  auto v = core::parse_json(req.body);
  if (!v || !v->is_object()) {
    throw api_error{400, "invalid", "the request body must be a JSON object"};
  }
  return std::move(v->get_object());
}

std::optional<std::string> opt_string(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return std::nullopt;
  }
  if (!v->is_string()) {
    throw api_error{400, "invalid", std::string(key) + " must be a string"};
  }
  return std::string(v->as_string());
}

std::string req_string(const json::object& o, const char* key) {
  auto s = opt_string(o, key);
  if (!s) {
    throw api_error{400, "invalid", std::string(key) + " is required"};
  }
  return *s;
}

std::size_t code_points(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    n += (c & 0xC0) != 0x80 ? 1 : 0;
  }
  return n;
}

auth::claims require_user(app& a, const http_request& req) {
  static constexpr std::string_view prefix = "Bearer ";
  if (req.authorization.rfind(prefix, 0) != 0) {
    throw api_error{401, "unauthorized", "sign in first (Authorization: Bearer <token>)"};
  }
  auto c = a.tokens->verify(std::string_view(req.authorization).substr(prefix.size()));
  if (!c) {
    throw api_error{401, "unauthorized", "the token is invalid or expired"};
  }
  // The account must exist (a signed token outlives a deleted account); when the store cannot
  // answer, the call goes on and meets the store's own error.
  std::optional<bool> exists;
  try {
    exists = a.cold->find_user(c->user_id).has_value();
  } catch (const std::exception&) {
  }
  if (exists && !*exists) {
    throw api_error{401, "unauthorized", "the account of this token does not exist"};
  }
  return *c;
}

json::object user_json(const std::string& id, const std::string& name) {
  return json::object{{"id", id}, {"name", name}};
}

http_response token_response(app& a, int status, const store::user& u) {
  json::object o;
  o["token"] = a.tokens->issue(u.id, u.name);
  o["user"] = user_json(u.id, u.name);
  return ok(status, o);
}

http_response do_register(app& a, const http_request& req) {
  auto body = parse_body(req);
  const auto username = req_string(body, "username");
  const auto password = req_string(body, "password");
  static const std::regex name_re("^[A-Za-z0-9_.-]{3,32}$");
  if (!std::regex_match(username, name_re)) {
    throw api_error{400, "invalid", "username must be 3-32 characters of A-Z a-z 0-9 _ . -"};
  }
  const auto pw_len = code_points(password);
  if (pw_len < 8 || pw_len > 256) {
    throw api_error{400, "invalid", "password must be 8-256 characters"};
  }
  store::user u;
  u.id = "u_" + auth::random_id(16);
  u.name = username;
  u.password_hash = auth::hash_password(password);
  u.created_at = core::format_time(core::now_millis());
  if (!a.cold->create_user(u)) {
    throw api_error{409, "conflict", "that username is taken"};
  }
  return token_response(a, 201, u);
}

http_response do_login(app& a, const http_request& req) {
  auto body = parse_body(req);
  const auto username = req_string(body, "username");
  const auto password = req_string(body, "password");
  auto u = a.cold->find_user_by_name(username);
  if (!u || !auth::verify_password(u->password_hash, password)) {
    throw api_error{401, "unauthorized", "wrong username or password"};
  }
  return token_response(a, 200, *u);
}

std::string room_object(app& a, const store::room_meta& meta, store::role r) {
  return rooms::room_json(rooms::room_view{meta, r, a.dashboard->current_stats(meta)});
}

http_response do_list_rooms(app& a, const auth::claims& who) {
  std::string out = R"({"rooms":[)";
  bool first = true;
  for (const auto& r : a.cold->rooms_of_user(who.user_id)) {
    out += first ? "" : ",";
    first = false;
    out += room_object(a, r.meta, r.member_role);
  }
  out += "]}";
  return http_response{200, out, "application/json"};
}

std::string check_visibility(const std::string& v) {
  if (v != "private" && v != "link") {
    throw api_error{400, "invalid", "visibility must be \"private\" or \"link\""};
  }
  return v;
}

std::string check_room_name(const std::string& name) {
  if (name.empty() || name.size() > 200) {
    throw api_error{400, "invalid", "name must be 1-200 bytes"};
  }
  return name;
}

http_response do_create_room(app& a, const auth::claims& who, const http_request& req) {
  auto body = parse_body(req);
  store::room_meta meta;
  meta.id = auth::random_id(12);
  meta.name = check_room_name(req_string(body, "name"));
  meta.visibility = check_visibility(opt_string(body, "visibility").value_or("private"));
  meta.owner_id = who.user_id;
  meta.created_at = core::format_time(core::now_millis());
  a.cold->create_room(meta);
  a.dashboard->room_added(who.user_id, meta);
  return http_response{201, R"({"room":)" + room_object(a, meta, store::role::owner) + "}",
                       "application/json"};
}

// The room and the caller's role; 404 for unknown rooms, 403 below `min_role`.
std::pair<store::room_meta, store::role> member_room(app& a, const auth::claims& who,
                                                     const std::string& room_id,
                                                     store::role min_role) {
  auto meta = a.cold->find_room(room_id);
  if (!meta) {
    throw api_error{404, "not_found", "no such room"};
  }
  const auto r = a.cold->role_of(room_id, who.user_id);
  if (r == store::role::none) {
    throw api_error{403, "forbidden", "you are not a member of this room"};
  }
  if (static_cast<int>(r) < static_cast<int>(min_role)) {
    throw api_error{403, "forbidden", "this needs the owner role"};
  }
  return {*meta, r};
}

http_response do_get_room(app& a, const auth::claims& who, const std::string& room_id) {
  auto [meta, r] = member_room(a, who, room_id, store::role::viewer);
  json::array members;
  for (const auto& m : a.cold->members(room_id)) {
    members.emplace_back(json::object{
        {"id", m.user_id}, {"name", m.user_name}, {"role", store::to_string(m.member_role)}});
  }
  return http_response{
      200,
      R"({"room":)" + room_object(a, meta, r) + R"(,"members":)" + json::serialize(members) + "}",
      "application/json"};
}

http_response do_patch_room(app& a, const auth::claims& who, const std::string& room_id,
                            const http_request& req) {
  auto body = parse_body(req);
  auto name = opt_string(body, "name");
  auto visibility = opt_string(body, "visibility");
  if (name) {
    check_room_name(*name);
  }
  if (visibility) {
    check_visibility(*visibility);
  }
  member_room(a, who, room_id, store::role::owner);
  a.cold->update_room(room_id, store::room_changes{name, visibility, std::nullopt});
  if (auto hub = a.hubs->find(room_id)) {
    hub->update_meta(name, visibility);
  }
  auto meta = a.cold->find_room(room_id);
  if (!meta) {
    throw api_error{404, "not_found", "no such room"};
  }
  return http_response{200, R"({"room":)" + room_object(a, *meta, store::role::owner) + "}",
                       "application/json"};
}

http_response do_get_notes(app& a, const auth::claims& who, const std::string& room_id) {
  member_room(a, who, room_id, store::role::viewer);
  auto room = rooms::load_room(*a.cold, *a.hot, room_id,
                               [&a, &room_id] { return a.write_behind->repair(room_id); });
  if (!room) {
    throw api_error{404, "not_found", "no such room"};
  }
  json::array notes;
  for (const auto& n : room->state.sorted_notes()) {
    notes.emplace_back(core::to_json(n));
  }
  json::object o;
  o["seq"] = room->state.seq();
  o["notes"] = std::move(notes);
  return ok(200, o);
}

http_response do_metrics(app& a) {
  std::ostringstream out;
  auto metric = [&](const char* name, const char* type, const char* help, std::int64_t v) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
        << name << ' ' << v << '\n';
  };
  metric("fun_notes_connections", "gauge", "Open WebSocket connections.", a.stats.connections);
  metric("fun_notes_connections_total", "counter", "WebSocket connections accepted.",
         a.stats.connections_total);
  metric("fun_notes_ops_appended_total", "counter", "Ops numbered and logged.",
         a.stats.ops_appended);
  metric("fun_notes_ops_rejected_total", "counter", "Ops rejected.", a.stats.ops_rejected);
  metric("fun_notes_frames_invalid_total", "counter", "Frames answered with error invalid.",
         a.stats.frames_invalid);
  metric("fun_notes_flushes_total", "counter", "Write-behind flushes that wrote to the store.",
         a.stats.flushes);
  metric("fun_notes_flush_failures_total", "counter", "Write-behind flushes that failed.",
         a.stats.flush_failures);
  metric("fun_notes_room_repairs_from_server_state_total", "counter",
         "Rooms whose op log lost ops, rewritten from a server's full state.",
         a.stats.repairs_from_server_state);
  metric("fun_notes_room_repairs_from_cold_store_total", "counter",
         "Rooms whose lost ops no server held, continued from the cold store (gap recorded).",
         a.stats.repairs_from_cold_store);
  metric("fun_notes_note_rows_written_total", "counter", "Note rows upserted or deleted.",
         a.stats.notes_written);
  metric("fun_notes_rooms_loaded", "gauge", "Rooms loaded on this server.",
         static_cast<std::int64_t>(a.hubs->size()));
  metric("fun_notes_http_requests_total", "counter", "HTTP requests.", a.stats.http_requests);
  return http_response{200, out.str(), "text/plain; version=0.0.4"};
}

http_response route(app& a, const http_request& req) {
  const auto& p = req.path;
  const auto& m = req.method;
  if (p == "/healthz") {
    return ok(200, json::object{{"status", "ok"}});
  }
  if (p == "/readyz") {
    if (a.shutting_down) {
      return json_error(503, "unavailable", "shutting down");
    }
    return ok(200, json::object{{"status", "ready"}});
  }
  if (p == "/metrics") {
    return do_metrics(a);
  }
  auto method_guard = [&](std::initializer_list<const char*> allowed) {
    for (const char* x : allowed) {
      if (m == x) {
        return;
      }
    }
    throw api_error{405, "invalid", "method not allowed"};
  };
  if (p == "/api/register") {
    method_guard({"POST"});
    return do_register(a, req);
  }
  if (p == "/api/login") {
    method_guard({"POST"});
    return do_login(a, req);
  }
  if (p == "/api/rooms") {
    method_guard({"GET", "POST"});
    const auto who = require_user(a, req);
    return m == "GET" ? do_list_rooms(a, who) : do_create_room(a, who, req);
  }
  static const std::regex room_re("^/api/rooms/([A-Za-z0-9_-]{1,64})(/notes)?$");
  std::smatch match;
  if (std::regex_match(p, match, room_re)) {
    const std::string room_id = match[1];
    if (match[2].matched) {
      method_guard({"GET"});
      return do_get_notes(a, require_user(a, req), room_id);
    }
    method_guard({"GET", "PATCH"});
    const auto who = require_user(a, req);
    return m == "GET" ? do_get_room(a, who, room_id) : do_patch_room(a, who, room_id, req);
  }
  throw api_error{404, "not_found", "no such endpoint"};
}

}  // namespace

bool is_api_path(const std::string& path) {
  return path.rfind("/api/", 0) == 0 || path == "/healthz" || path == "/readyz" ||
         path == "/metrics";
}

http_response json_error(int status, const std::string& code, const std::string& message) {
  json::object err{{"code", code}, {"message", message}};
  return http_response{status, json::serialize(json::object{{"error", std::move(err)}}),
                       "application/json"};
}

http_response handle_api(app& a, const http_request& req) {
  ++a.stats.http_requests;
  try {
    return route(a, req);
  } catch (const api_error& e) {
    return json_error(e.status, e.code, e.message);
  } catch (const store::store_error& e) {
    spdlog::warn("{} {}: store unavailable: {}", req.method, req.path, e.what());
    return json_error(503, "unavailable", "storage is unavailable, try again");
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", req.method, req.path, e.what());
    return json_error(500, "internal", "internal error");
  }
}

}  // namespace fun_notes::server::net

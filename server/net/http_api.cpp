// HTTP API: accounts, rooms and notes. Every failure is a JSON error, never a crash.
#include "net/http_api.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <regex>
#include <sstream>

#include "access/accounts.hpp"
#include "access/room_access.hpp"
#include "app.hpp"
#include "fun_notes/core/codec.hpp"
#include "persist/trash.hpp"
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

// The API's bodies are small objects: more keys than this anywhere in one is not a request.
constexpr std::size_t max_body_keys = 64;

bool within_key_limit(const json::value& v) {
  if (const auto* o = v.if_object()) {
    if (o->size() > max_body_keys) {
      return false;
    }
    return std::all_of(o->begin(), o->end(),
                       [](const auto& kv) { return within_key_limit(kv.value()); });
  }
  if (const auto* a = v.if_array()) {
    return std::all_of(a->begin(), a->end(), within_key_limit);
  }
  return true;
}

json::object parse_body(const http_request& req) {
  auto v = core::parse_json(req.body);  // nesting is limited by the parser
  if (!v || !v->is_object()) {
    throw api_error{400, "invalid", "the request body must be a JSON object"};
  }
  if (!within_key_limit(*v)) {
    throw api_error{
        400, "invalid",
        "the request body has more than " + std::to_string(max_body_keys) + " keys in one object"};
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

auth::claims require_user(app& a, const http_request& req) {
  static constexpr std::string_view prefix = "Bearer ";
  if (req.authorization.rfind(prefix, 0) != 0) {
    throw api_error{401, "unauthorized", "sign in first (Authorization: Bearer <token>)"};
  }
  auto c = a.tokens->verify(std::string_view(req.authorization).substr(prefix.size()));
  if (!c) {
    throw api_error{401, "unauthorized", "the token is invalid or expired"};
  }
  // The account must exist and the token be of its current version (a signed token outlives
  // a deletion, a sign-out everywhere and a password change); when the store cannot answer,
  // the call goes on and meets the store's own error.
  if (a.accounts->check(*c) == access::standing::revoked) {
    throw api_error{401, "unauthorized", "this token was signed out, or its account is gone"};
  }
  return *c;
}

json::object user_json(const std::string& id, const std::string& name) {
  return json::object{{"id", id}, {"name", name}};
}

http_response token_response(int status, const access::signed_in& s) {
  json::object o;
  o["token"] = s.token;
  o["user"] = user_json(s.user.id, s.user.name);
  return ok(status, o);
}

http_response do_register(app& a, const http_request& req) {
  auto body = parse_body(req);
  return token_response(
      201, a.accounts->register_user(req_string(body, "username"), req_string(body, "password"),
                                     req.client_address));
}

http_response do_login(app& a, const http_request& req) {
  auto body = parse_body(req);
  return token_response(200, a.accounts->sign_in(req_string(body, "username"),
                                                 req_string(body, "password"), req.client_address));
}

bool opt_bool(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return false;
  }
  if (!v->is_bool()) {
    throw api_error{400, "invalid", std::string(key) + " must be true or false"};
  }
  return v->get_bool();
}

http_response do_logout(app& a, const http_request& req) {
  const auto who = require_user(a, req);
  const bool everywhere = req.body.empty() ? false : opt_bool(parse_body(req), "everywhere");
  if (everywhere) {
    a.accounts->sign_out_everywhere(who);
  }
  return http_response{204, ""};
}

http_response do_account(app& a, const http_request& req, bool password) {
  const auto who = require_user(a, req);
  auto body = parse_body(req);
  if (password) {
    return token_response(200,
                          a.accounts->change_password(who, req_string(body, "current_password"),
                                                      req_string(body, "new_password")));
  }
  a.accounts->delete_account(who, req_string(body, "password"));
  return http_response{204, ""};
}

std::string room_object(app& a, const store::room_meta& meta, store::role r) {
  return rooms::room_json(rooms::room_view{meta, r, a.dashboard->current_stats(meta)});
}

http_response room_response(app& a, int status, const store::room_meta& meta, store::role r) {
  return http_response{status, R"({"room":)" + room_object(a, meta, r) + "}", "application/json"};
}

http_response rooms_response(app& a, const std::vector<access::listed_room>& rooms) {
  std::string out = R"({"rooms":[)";
  bool first = true;
  for (const auto& r : rooms) {
    out += first ? "" : ",";
    first = false;
    out += room_object(a, r.listing.meta, r.listing.member_role);
  }
  out += "]}";
  return http_response{200, out, "application/json"};
}

http_response do_list_rooms(app& a, const auth::claims& who) {
  std::vector<access::listed_room> rooms;
  for (auto& r : a.cold->rooms_of_user(who.user_id)) {
    r.member_role = access::effective_role(r.meta, r.member_role);
    rooms.push_back(access::listed_room{std::move(r), true});
  }
  return rooms_response(a, rooms);
}

store::role req_role(const json::object& o, const char* key) {
  const auto name = req_string(o, key);
  const auto r = store::parse_role(name);
  if (!r) {
    throw api_error{400, "invalid", std::string(key) + R"( must be "viewer", "editor" or "owner")"};
  }
  return *r;
}

std::optional<store::role> opt_role(const json::object& o, const char* key) {
  if (!opt_string(o, key)) {
    return std::nullopt;
  }
  return req_role(o, key);
}

// An optional positive integer: absent -> `absent`, null -> nullopt.
std::optional<std::int64_t> opt_count(const json::object& o, const char* key,
                                      std::optional<std::int64_t> absent) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    return absent;
  }
  if (v->is_null()) {
    return std::nullopt;
  }
  if (!v->is_int64()) {
    throw api_error{400, "invalid", std::string(key) + " must be an integer or null"};
  }
  return v->get_int64();
}

http_response do_create_room(app& a, const auth::claims& who, const http_request& req) {
  auto body = parse_body(req);
  access::room_settings settings;
  settings.name = req_string(body, "name");
  settings.visibility = opt_string(body, "visibility").value_or("private");
  settings.public_role = opt_role(body, "public_role").value_or(store::role::viewer);
  const auto meta = a.access->create_room(who.user_id, settings);
  return room_response(a, 201, meta, store::role::owner);
}

http_response do_get_room(app& a, const auth::claims& who, const std::string& room_id) {
  const auto [g, list] = a.access->members(room_id, who.user_id);
  json::array members;
  for (const auto& m : list) {
    members.emplace_back(json::object{
        {"id", m.user_id}, {"name", m.user_name}, {"role", store::to_string(m.member_role)}});
  }
  return http_response{200,
                       R"({"room":)" + room_object(a, g.meta, g.role) + R"(,"members":)" +
                           json::serialize(members) + "}",
                       "application/json"};
}

http_response do_patch_room(app& a, const auth::claims& who, const std::string& room_id,
                            const http_request& req) {
  auto body = parse_body(req);
  store::room_changes changes;
  changes.name = opt_string(body, "name");
  changes.visibility = opt_string(body, "visibility");
  changes.public_role = opt_role(body, "public_role");
  const auto meta = a.access->update_room(room_id, who.user_id, changes);
  return room_response(a, 200, meta, store::role::owner);
}

http_response no_content() {
  return http_response{204, "", "application/json"};
}

json::value invite_json(const store::invite& inv) {
  json::object o;
  o["token"] = inv.token;
  o["role"] = store::to_string(inv.invite_role);
  o["expires_at"] = inv.expires_at ? json::value(*inv.expires_at) : json::value(nullptr);
  o["max_uses"] = inv.max_uses ? json::value(*inv.max_uses) : json::value(nullptr);
  o["uses"] = inv.uses;
  return o;
}

std::string invite_url(const std::string& token) {
  return "/invite/" + token;
}

http_response do_create_invite(app& a, const auth::claims& who, const std::string& room_id,
                               const http_request& req) {
  auto body = parse_body(req);
  access::new_invite spec;
  spec.invite_role = req_role(body, "role");
  spec.expires_in_seconds = opt_count(body, "expires_in", spec.expires_in_seconds);
  spec.max_uses = opt_count(body, "max_uses", std::nullopt);
  const auto inv = a.access->create_invite(room_id, who.user_id, spec);
  return ok(
      201, json::object{
               {"invite", invite_json(inv)}, {"token", inv.token}, {"url", invite_url(inv.token)}});
}

http_response do_list_invites(app& a, const auth::claims& who, const std::string& room_id) {
  json::array list;
  for (const auto& inv : a.access->invites(room_id, who.user_id)) {
    list.push_back(invite_json(inv));
  }
  return ok(200, json::object{{"invites", std::move(list)}});
}

http_response do_preview_invite(app& a, const std::string& token) {
  const auto p = a.access->preview_invite(token);
  json::object o;
  o["room"] = json::object{{"id", p.meta.id}, {"name", p.meta.name}};
  o["role"] = store::to_string(p.inv.invite_role);
  o["expires_at"] = p.inv.expires_at ? json::value(*p.inv.expires_at) : json::value(nullptr);
  return ok(200, o);
}

http_response do_set_member(app& a, const auth::claims& who, const std::string& room_id,
                            const std::string& user_id, const http_request& req) {
  auto body = parse_body(req);
  const auto m = a.access->set_member(room_id, who.user_id, user_id, req_role(body, "role"));
  return ok(200, json::object{{"member", json::object{{"id", m.user_id},
                                                      {"name", m.user_name},
                                                      {"role", store::to_string(m.member_role)}}}});
}

http_response do_get_notes(app& a, const auth::claims& who, const std::string& room_id) {
  a.access->require(room_id, who.user_id, store::role::viewer);
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

// The room's Trash: deleted notes any editor may restore by creating them again.
http_response do_get_trash(app& a, const auth::claims& who, const std::string& room_id) {
  a.access->require(room_id, who.user_id, store::role::viewer);
  constexpr std::size_t max_listed = 1000;
  const auto entries = persist::read_trash(*a.cold, *a.hot, room_id, max_listed);
  std::map<std::string, std::string> names;
  json::array notes;
  for (const auto& t : entries) {
    auto [it, fresh] = names.try_emplace(t.deleted_by);
    if (fresh) {
      const auto u = a.cold->find_user(t.deleted_by);
      it->second = u ? u->name : std::string();
    }
    auto o = core::to_json(t.note);
    o["deleted_at"] = t.deleted_at;
    o["deleted_seq"] = t.deleted_seq;
    o["deleted_by"] =
        json::object{{"id", t.deleted_by},
                     {"name", it->second.empty() ? json::value(nullptr) : json::value(it->second)}};
    notes.emplace_back(std::move(o));
  }
  json::object o;
  o["notes"] = std::move(notes);
  o["retention_days"] =
      std::chrono::duration_cast<std::chrono::hours>(persist::trash_retention).count() / 24;
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
  metric("fun_notes_ws_writes_total", "counter", "WebSocket messages written.", a.stats.writes);
  metric("fun_notes_ws_frames_written_total", "counter",
         "Frames those messages carried (several to a batch).", a.stats.frames_written);
  metric("fun_notes_outbound_queue_bytes", "gauge",
         "Bytes of frames waiting in the sessions' outbound queues.", a.stats.outbound_bytes);
  out << a.stats.append_latency.text("fun_notes_append_seconds",
                                     "From a session's append request to the op log's answer.");
  out << a.stats.delivery_latency.text(
      "fun_notes_delivery_seconds",
      "From a frame's hand-over to a session to the end of its write (per frame, timed by the "
      "oldest frame of the write).");
  out << a.stats.join_latency.text("fun_notes_join_seconds",
                                   "From a join reaching the room's hub to its answer.");
  out << a.stats.flush_duration.text("fun_notes_flush_seconds",
                                     "One write-behind flush of a room.");
  out << a.stats.flush_ops.text("fun_notes_flush_ops", "Ops folded by one flush.");
  out << store::timings().redis.text("fun_notes_redis_call_seconds",
                                     "A Redis command, from queued to its reply.");
  out << store::timings().postgres.text("fun_notes_postgres_call_seconds",
                                        "A PostgreSQL statement, sent to its result.");
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
  if (p == "/api/logout") {
    method_guard({"POST"});
    return do_logout(a, req);
  }
  if (p == "/api/account/password") {
    method_guard({"PUT"});
    return do_account(a, req, true);
  }
  if (p == "/api/account") {
    method_guard({"DELETE"});
    return do_account(a, req, false);
  }
  if (p == "/api/rooms") {
    method_guard({"GET", "POST"});
    const auto who = require_user(a, req);
    return m == "GET" ? do_list_rooms(a, who) : do_create_room(a, who, req);
  }
  if (p == "/api/public-rooms") {
    method_guard({"GET"});
    const auto who = require_user(a, req);
    return rooms_response(a, a.access->public_rooms(who.user_id));
  }
  static const std::regex room_re(
      "^/api/rooms/([A-Za-z0-9_-]{1,64})(?:/(notes|trash|invites|members)(?:/"
      "([A-Za-z0-9_-]{1,128}))?)?$");
  static const std::regex invite_re("^/api/invites/([A-Za-z0-9_-]{1,128})(/accept)?$");
  std::smatch match;
  if (std::regex_match(p, match, room_re)) {
    const std::string room_id = match[1];
    const std::string sub = match[2];
    const std::string item = match[3];
    if (sub.empty()) {
      method_guard({"GET", "PATCH", "DELETE"});
      const auto who = require_user(a, req);
      if (m == "GET") {
        return do_get_room(a, who, room_id);
      }
      if (m == "PATCH") {
        return do_patch_room(a, who, room_id, req);
      }
      a.access->delete_room(room_id, who.user_id);
      return no_content();
    }
    if (sub == "notes" && item.empty()) {
      method_guard({"GET"});
      return do_get_notes(a, require_user(a, req), room_id);
    }
    if (sub == "trash" && item.empty()) {
      method_guard({"GET"});
      return do_get_trash(a, require_user(a, req), room_id);
    }
    if (sub == "invites" && item.empty()) {
      method_guard({"GET", "POST"});
      const auto who = require_user(a, req);
      return m == "GET" ? do_list_invites(a, who, room_id) : do_create_invite(a, who, room_id, req);
    }
    if (sub == "invites") {
      method_guard({"DELETE"});
      a.access->revoke_invite(room_id, require_user(a, req).user_id, item);
      return no_content();
    }
    if (sub == "members" && !item.empty()) {
      method_guard({"PUT", "DELETE"});
      const auto who = require_user(a, req);
      if (m == "PUT") {
        return do_set_member(a, who, room_id, item, req);
      }
      a.access->remove_member(room_id, who.user_id, item);
      return no_content();
    }
  }
  if (std::regex_match(p, match, invite_re)) {
    const std::string token = match[1];
    const auto who = require_user(a, req);
    if (match[2].matched) {
      method_guard({"POST"});
      const auto g = a.access->accept_invite(token, who.user_id);
      return room_response(a, 200, g.meta, g.role);
    }
    method_guard({"GET"});
    return do_preview_invite(a, token);
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
  } catch (const access::denied& e) {
    auto r = json_error(e.status, e.code, e.message);
    if (e.retry_after_seconds > 0) {
      r.headers.emplace_back("Retry-After", std::to_string(e.retry_after_seconds));
    }
    return r;
  } catch (const store::store_error& e) {
    spdlog::warn("{} {}: store unavailable: {}", req.method, req.path, e.what());
    return json_error(503, "unavailable", "storage is unavailable, try again");
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", req.method, req.path, e.what());
    return json_error(500, "internal", "internal error");
  }
}

}  // namespace fun_notes::server::net

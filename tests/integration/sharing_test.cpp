// Sharing: invites, roles, public rooms and room deletion, seen from real clients. Every
// refusal must change nothing, and a change of access must reach open sockets at once.
#include <algorithm>
#include <thread>

#include "fleet.hpp"

namespace fun_notes::test {
namespace {

class sharing : public fleet_test {
 protected:
  // Embedded by default; a test that calls use_fleet() first runs two servers on PostgreSQL
  // and Redis instead.
  server_process& server() {
    if (!first_) {
      auto opts = fleet_ ? with_args(fleet_args()) : server_process::options{};
      opts.log_level = log_level_;
      first_ = &start_server(std::move(opts));
    }
    return *first_;
  }
  server_process& second_server() {
    if (!second_) {
      server();
      second_ = &start_server(with_args(fleet_args()));
    }
    return *second_;
  }
  void use_fleet() { fleet_ = true; }
  void use_log_level(std::string level) { log_level_ = std::move(level); }

  std::uint16_t port() { return server().port(); }

  http_response call(std::string_view method, const std::string& target, const user& who,
                     std::optional<json::value> body = std::nullopt) {
    return http_request(port(), method, target,
                        body ? std::optional<std::string>{serialize(*body)} : std::nullopt,
                        who.token);
  }

  // POST an invite; returns its token.
  std::string invite(const std::string& room, const user& owner, json::object spec) {
    const auto r = call("POST", "/api/rooms/" + room + "/invites", owner, json::value(spec));
    if (r.status != 201) {
      throw protocol_failure("POST invites: " + std::to_string(r.status) + " " + r.body);
    }
    const auto& o = r.json.as_object();
    if (str(o, "url") != "/invite/" + str(o, "token")) {
      throw protocol_failure("invite url: " + r.body);
    }
    return str(o, "token");
  }

  http_response accept(const std::string& token, const user& who) {
    return call("POST", "/api/invites/" + token + "/accept", who);
  }

  json::array members(const std::string& room, const user& who) {
    const auto r = call("GET", "/api/rooms/" + room, who);
    if (r.status != 200) {
      throw protocol_failure("GET room: " + std::to_string(r.status) + " " + r.body);
    }
    return arr(r.json.as_object(), "members");
  }

  static std::string role_of(const json::array& list, const user& u) {
    for (const auto& m : list) {
      if (str(m.as_object(), "id") == u.id) {
        return str(m.as_object(), "role");
      }
    }
    return "none";
  }

  static std::vector<json::object> viewer_ops() {
    return {create_op("v1", "by a viewer", 9.0),
            update_op("n1", json::object{{"title", "viewer was here"}}),
            move_op("n1", 0.5),
            delete_op("n1"),
            rebalance_op({{"n1", 3.0}}),
            json::object{{"kind", "text"},
                         {"id", "n1"},
                         {"field", "title"},
                         {"base", 1},
                         {"ops", json::array{json::value("x")}}}};
  }

 private:
  bool fleet_ = false;
  std::string log_level_ = "warn";
  server_process* first_ = nullptr;
  server_process* second_ = nullptr;
};

TEST_F(sharing, an_invite_makes_a_viewer_who_cannot_write_then_an_editor_then_nobody) {
  const user owner = register_user(port(), "own");
  const user guest = register_user(port(), "guest");
  const std::string room = create_room(port(), owner, "Team", "private");
  auto o = connect_hello(port(), owner);
  join_snapshot(*o, room);
  ASSERT_EQ(type_of(send_op_and_wait(*o, room, "c1", create_op("n1", "first", 1.0))), "op");

  // Before accepting: the room refuses them, over HTTP and over the socket.
  auto g = connect_hello(port(), guest);
  const auto refused = join(*g, room);
  EXPECT_EQ(type_of(refused), "error") << to_string(refused);
  EXPECT_EQ(str(refused, "code"), "forbidden");
  EXPECT_EQ(call("GET", "/api/rooms/" + room + "/notes", guest).status, 403);

  const std::string token = invite(room, owner, json::object{{"role", "viewer"}});
  const auto preview = call("GET", "/api/invites/" + token, guest);
  ASSERT_EQ(preview.status, 200) << preview.body;
  EXPECT_EQ(str(obj(preview.json.as_object(), "room"), "name"), "Team");
  EXPECT_EQ(str(preview.json.as_object(), "role"), "viewer");
  const auto accepted = accept(token, guest);
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(str(obj(accepted.json.as_object(), "room"), "role"), "viewer");
  EXPECT_EQ(role_of(members(room, owner), guest), "viewer");

  const auto snap = join_snapshot(*g, room);
  EXPECT_EQ(str(obj(snap, "room_info"), "role"), "viewer");
  int k = 0;
  for (const auto& op : viewer_ops()) {
    const auto r = send_op_and_wait(*g, room, "v" + std::to_string(k++), op);
    EXPECT_EQ(type_of(r), "reject") << to_string(r);
    EXPECT_EQ(str(r, "code"), "forbidden") << to_string(r);
  }
  const auto notes = get_notes(port(), owner, room);
  ASSERT_EQ(arr(notes, "notes").size(), 1U);
  EXPECT_EQ(str(arr(notes, "notes").at(0).as_object(), "title"), "first");
  EXPECT_EQ(int64(notes, "seq"), 1) << "a refused op changed the room";

  // Promoted: the open socket hears it and writes at once.
  const auto put = call("PUT", "/api/rooms/" + room + "/members/" + guest.id, owner,
                        json::value(json::object{{"role", "editor"}}));
  ASSERT_EQ(put.status, 200) << put.body;
  FN_EXPECT_FRAME(promoted, g->next_of_type("role"), "the guest's role message");
  EXPECT_EQ(str(promoted, "room"), room);
  EXPECT_EQ(str(promoted, "role"), "editor");
  EXPECT_EQ(type_of(send_op_and_wait(*g, room, "g1", create_op("n2", "by the guest", 2.0))), "op");

  // Removed: the socket is out of the room, and stays out.
  ASSERT_EQ(call("DELETE", "/api/rooms/" + room + "/members/" + guest.id, owner).status, 204);
  FN_EXPECT_FRAME(out, g->next_of_type("error"), "the guest's removal");
  EXPECT_EQ(str(out, "code"), "forbidden") << to_string(out);
  EXPECT_EQ(str(out, "room"), room);
  const auto after = send_op_and_wait(*g, room, "g2", create_op("n3", "after removal", 3.0));
  EXPECT_EQ(str(after, "code"), "forbidden") << to_string(after);
  EXPECT_EQ(str(join(*g, room), "code"), "forbidden");
  EXPECT_EQ(role_of(members(room, owner), guest), "none");
  EXPECT_EQ(arr(get_notes(port(), owner, room), "notes").size(), 2U);
}

TEST_F(sharing, invites_past_their_uses_expiry_or_revoked_are_refused) {
  const user owner = register_user(port(), "own");
  const user a = register_user(port(), "a");
  const user b = register_user(port(), "b");
  const std::string room = create_room(port(), owner, "Limited", "private");

  const std::string once = invite(room, owner, json::object{{"role", "editor"}, {"max_uses", 1}});
  EXPECT_EQ(accept(once, a).status, 200);
  EXPECT_EQ(call("GET", "/api/invites/" + once, b).status, 403) << "the preview says it too";
  const auto used_up = accept(once, b);
  EXPECT_EQ(used_up.status, 403) << used_up.body;
  EXPECT_EQ(used_up.error_code(), "forbidden");

  const std::string brief =
      invite(room, owner, json::object{{"role", "viewer"}, {"expires_in", 1}});
  std::this_thread::sleep_for(1100ms);  // the invite's own lifetime, not a synchronisation
  EXPECT_EQ(call("GET", "/api/invites/" + brief, b).status, 403);
  const auto expired = accept(brief, b);
  EXPECT_EQ(expired.status, 403) << expired.body;
  EXPECT_NE(expired.body.find("expired"), std::string::npos) << expired.body;

  const std::string revoked = invite(room, owner, json::object{{"role", "viewer"}});
  const auto listed = call("GET", "/api/rooms/" + room + "/invites", owner);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(arr(listed.json.as_object(), "invites").size(), 3U) << listed.body;
  ASSERT_EQ(call("DELETE", "/api/rooms/" + room + "/invites/" + revoked, owner).status, 204);
  EXPECT_EQ(accept(revoked, b).status, 404);
  EXPECT_EQ(accept("no-such-invite", b).status, 404);

  EXPECT_EQ(role_of(members(room, owner), b), "none");
  EXPECT_EQ(role_of(members(room, owner), a), "editor");
  // Only the owner manages invites.
  EXPECT_EQ(call("POST", "/api/rooms/" + room + "/invites", a,
                 json::value(json::object{{"role", "viewer"}}))
                .status,
            403);
  EXPECT_EQ(call("GET", "/api/rooms/" + room + "/invites", a).status, 403);
  const auto bad_role = call("POST", "/api/rooms/" + room + "/invites", owner,
                             json::value(json::object{{"role", "owner"}}));
  EXPECT_EQ(bad_role.status, 400) << bad_role.body;
}

TEST_F(sharing, only_the_owner_manages_members_and_ownership_moves_whole) {
  const user owner = register_user(port(), "own");
  const user ed = register_user(port(), "ed");
  const user vi = register_user(port(), "vi");
  const std::string room = create_room(port(), owner, "Handover", "private");
  const auto put = [&](const user& by, const user& target, const char* role) {
    return call("PUT", "/api/rooms/" + room + "/members/" + target.id, by,
                json::value(json::object{{"role", role}}));
  };
  ASSERT_EQ(put(owner, ed, "editor").status, 200);
  ASSERT_EQ(put(owner, vi, "viewer").status, 200);
  EXPECT_EQ(put(ed, vi, "editor").status, 403);
  EXPECT_EQ(call("DELETE", "/api/rooms/" + room + "/members/" + vi.id, ed).status, 403);
  EXPECT_EQ(
      call("PATCH", "/api/rooms/" + room, ed, json::value(json::object{{"name", "x"}})).status,
      403);
  EXPECT_EQ(call("DELETE", "/api/rooms/" + room, ed).status, 403);
  EXPECT_EQ(put(owner, owner, "editor").status, 409);
  EXPECT_EQ(call("DELETE", "/api/rooms/" + room + "/members/" + owner.id, owner).status, 409);

  auto o = connect_hello(port(), owner);
  join_snapshot(*o, room);
  ASSERT_EQ(put(owner, ed, "owner").status, 200);
  FN_EXPECT_FRAME(demoted, o->next_of_type("role"), "the old owner's role message");
  EXPECT_EQ(str(demoted, "role"), "editor");
  const auto list = members(room, ed);
  EXPECT_EQ(role_of(list, ed), "owner");
  EXPECT_EQ(role_of(list, owner), "editor");
  EXPECT_EQ(str(obj(call("GET", "/api/rooms/" + room, ed).json.as_object(), "room"), "owner_id"),
            ed.id);
  EXPECT_EQ(put(owner, vi, "editor").status, 403) << "the old owner still manages members";

  // A member may leave by themself.
  EXPECT_EQ(call("DELETE", "/api/rooms/" + room + "/members/" + vi.id, vi).status, 204);
  EXPECT_EQ(role_of(members(room, ed), vi), "none");
}

TEST_F(sharing, a_public_room_appears_live_on_a_strangers_dashboard_and_a_private_one_never) {
  const user owner = register_user(port(), "own");
  const user stranger = register_user(port(), "str");
  auto dash = connect_hello(port(), stranger);
  dash->send(json::value{{"type", "watch_rooms"}});
  FN_EXPECT_FRAME(initial, dash->next_of_type("rooms"), "the stranger's rooms list");
  const auto known = arr(initial, "rooms").size();

  const std::string hidden = create_room(port(), owner, "Secret plans", "private");
  const std::string shown = create_room(port(), owner, "Open plans", "private");
  const auto patch = call("PATCH", "/api/rooms/" + shown, owner,
                          json::value(json::object{{"visibility", "public"}}));
  ASSERT_EQ(patch.status, 200) << patch.body;
  FN_EXPECT_FRAME(appeared, dash->next_of_type("room_stat"), "the public room on the dashboard");
  EXPECT_EQ(str(obj(appeared, "room"), "id"), shown) << to_string(appeared);
  EXPECT_EQ(str(obj(appeared, "room"), "visibility"), "public");

  // Activity in the private room never reaches the stranger.
  auto o = connect_hello(port(), owner);
  join_snapshot(*o, hidden);
  ASSERT_EQ(type_of(send_op_and_wait(*o, hidden, "h1", create_op("h", "secret", 1.0))), "op");

  // The stranger joins the public room as a viewer; a fresh dashboard lists it, not the other.
  auto s = connect_hello(port(), stranger);
  const auto snap = join_snapshot(*s, shown);
  EXPECT_EQ(str(obj(snap, "room_info"), "role"), "viewer");
  EXPECT_EQ(str(send_op_and_wait(*s, shown, "s1", create_op("s", "visitor", 1.0)), "code"),
            "forbidden");
  const auto listed =
      http_request(port(), "GET", "/api/public-rooms", std::nullopt, stranger.token);
  ASSERT_EQ(listed.status, 200);
  EXPECT_NE(listed.body.find(shown), std::string::npos);
  EXPECT_EQ(listed.body.find(hidden), std::string::npos);
  EXPECT_EQ(call("GET", "/api/rooms/" + hidden, stranger).status, 403);
  EXPECT_TRUE(members(shown, stranger).empty()) << "a visitor sees the member list";

  // Visitors may edit once the owner allows it: the open socket is told.
  ASSERT_EQ(call("PATCH", "/api/rooms/" + shown, owner,
                 json::value(json::object{{"public_role", "editor"}}))
                .status,
            200);
  FN_EXPECT_FRAME(upgraded, s->next_of_type("role"), "the visitor's new role");
  EXPECT_EQ(str(upgraded, "role"), "editor");
  EXPECT_EQ(type_of(send_op_and_wait(*s, shown, "s2", create_op("s", "visitor", 1.0))), "op");

  // Private again: the visitor is out, and the room leaves the dashboard.
  ASSERT_EQ(call("PATCH", "/api/rooms/" + shown, owner,
                 json::value(json::object{{"visibility", "private"}}))
                .status,
            200);
  FN_EXPECT_FRAME(out, s->next_of_type("error"), "the visitor's removal");
  EXPECT_EQ(str(out, "code"), "forbidden");
  FN_EXPECT_FRAME(gone, dash->next_of_type("room_gone"), "the room leaving the dashboard");
  EXPECT_EQ(str(gone, "room"), shown);

  auto fresh = connect_hello(port(), stranger);
  fresh->send(json::value{{"type", "watch_rooms"}});
  FN_EXPECT_FRAME(now, fresh->next_of_type("rooms"), "a fresh rooms list");
  EXPECT_EQ(arr(now, "rooms").size(), known);
  // Nothing about the private room reached the first dashboard meanwhile.
  while (auto f = dash->next(200ms)) {
    EXPECT_EQ(to_string(*f).find(hidden), std::string::npos) << to_string(*f);
  }
}

TEST_F(sharing, a_deleted_room_is_gone_for_its_sockets_its_dashboards_and_the_api) {
  const user owner = register_user(port(), "own");
  const user ed = register_user(port(), "ed");
  const std::string room = create_room(port(), owner, "Short-lived", "link");
  auto e = connect_hello(port(), ed);
  join_snapshot(*e, room);
  ASSERT_EQ(type_of(send_op_and_wait(*e, room, "c1", create_op("n1", "note", 1.0))), "op");
  auto dash = connect_hello(port(), ed);
  dash->send(json::value{{"type", "watch_rooms"}});
  FN_EXPECT_FRAME(listed, dash->next_of_type("rooms"), "the rooms list");
  EXPECT_NE(to_string(listed).find(room), std::string::npos);

  ASSERT_EQ(call("DELETE", "/api/rooms/" + room, owner).status, 204);
  FN_EXPECT_FRAME(deleted, e->next_of_type("error"), "the member's socket hearing the deletion");
  EXPECT_EQ(str(deleted, "code"), "not_found");
  FN_EXPECT_FRAME(gone, dash->next_of_type("room_gone"), "the dashboard dropping the room");
  EXPECT_EQ(str(gone, "room"), room);
  EXPECT_EQ(call("GET", "/api/rooms/" + room, owner).status, 404);
  EXPECT_EQ(call("GET", "/api/rooms/" + room + "/notes", owner).status, 404);
  EXPECT_EQ(str(join(*e, room), "code"), "not_found");
  const auto rooms = call("GET", "/api/rooms", ed);
  EXPECT_EQ(rooms.body.find(room), std::string::npos) << rooms.body;
}

TEST_F(sharing, a_member_removed_on_one_server_is_out_of_the_room_on_another) {
  use_fleet();
  const user owner = register_user(port(), "own");
  const user guest = register_user(port(), "guest");
  const std::string room = create_room(port(), owner, "Fleet room", "private");
  ASSERT_EQ(call("PUT", "/api/rooms/" + room + "/members/" + guest.id, owner,
                 json::value(json::object{{"role", "editor"}}))
                .status,
            200);
  // The guest works on the other server.
  auto g = connect_hello(second_server().port(), guest);
  join_snapshot(*g, room);
  ASSERT_EQ(type_of(send_op_and_wait(*g, room, "g1", create_op("n1", "guest", 1.0))), "op");

  ASSERT_EQ(call("PUT", "/api/rooms/" + room + "/members/" + guest.id, owner,
                 json::value(json::object{{"role", "viewer"}}))
                .status,
            200);
  FN_EXPECT_FRAME(demoted, g->next_of_type("role"), "the demotion on the other server");
  EXPECT_EQ(str(demoted, "role"), "viewer");
  EXPECT_EQ(str(send_op_and_wait(*g, room, "g2", update_op("n1", {{"title", "x"}})), "code"),
            "forbidden");

  ASSERT_EQ(call("DELETE", "/api/rooms/" + room + "/members/" + guest.id, owner).status, 204);
  FN_EXPECT_FRAME(out, g->next_of_type("error"), "the removal on the other server");
  EXPECT_EQ(str(out, "code"), "forbidden");
  EXPECT_EQ(str(send_op_and_wait(*g, room, "g3", create_op("n2", "late", 2.0)), "code"),
            "forbidden");
  const auto notes = get_notes(port(), owner, room);
  ASSERT_EQ(arr(notes, "notes").size(), 1U);
  EXPECT_EQ(str(arr(notes, "notes").at(0).as_object(), "title"), "guest");
}

TEST_F(sharing, sign_ins_and_every_change_of_access_leave_an_audit_line) {
  use_log_level("info");
  const user owner = register_user(port(), "owner");
  const user guest = register_user(port(), "guest");
  const auto wrong = http_request(
      port(), "POST", "/api/login",
      json::value(json::object{{"username", guest.name}, {"password", "not-the-password"}}));
  EXPECT_EQ(wrong.status, 401);
  const std::string room = create_room(port(), owner, "Audited");
  const std::string token = invite(room, owner, json::object{{"role", "viewer"}});
  ASSERT_EQ(accept(token, guest).status, 200);
  ASSERT_EQ(call("PUT", "/api/rooms/" + room + "/members/" + guest.id, owner,
                 json::value(json::object{{"role", "editor"}}))
                .status,
            200);
  ASSERT_EQ(call("PATCH", "/api/rooms/" + room, owner,
                 json::value(json::object{{"visibility", "public"}}))
                .status,
            200);
  ASSERT_EQ(call("DELETE", "/api/rooms/" + room + "/members/" + guest.id, owner).status, 204);
  ASSERT_EQ(call("DELETE", "/api/rooms/" + room, owner).status, 204);

  const std::vector<std::string> expected{
      "audit: registered " + owner.name,
      "audit: sign-in failed for \"" + guest.name + "\"",
      "audit: " + owner.id + " invited to room " + room + " as viewer (invite " +
          token.substr(0, 6) + "...)",
      "audit: " + guest.id + " accepted invite " + token.substr(0, 6) + "... to room " + room +
          " as viewer",
      "audit: " + owner.id + " made " + guest.id + " editor of room " + room,
      "audit: " + owner.id + " made room " + room + " public",
      "audit: " + owner.id + " removed " + guest.id + " from room " + room,
      "audit: " + owner.id + " deleted room " + room,
  };
  std::string log;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  auto missing = [&] {
    log = server().log();
    return std::find_if(expected.begin(), expected.end(), [&](const std::string& line) {
      return log.find(line) == std::string::npos;
    });
  };
  while (missing() != expected.end() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);  // polling the log file
  }
  const auto first_missing = missing();
  EXPECT_EQ(first_missing, expected.end()) << "no line \"" << *first_missing << "\" in:\n" << log;
  // A credential never reaches the log: not the password, not the whole invite token.
  EXPECT_EQ(log.find(guest.password), std::string::npos);
  EXPECT_EQ(log.find(token), std::string::npos);
}

}  // namespace
}  // namespace fun_notes::test

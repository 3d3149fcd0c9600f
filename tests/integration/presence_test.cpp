// Who is here: presence in a room and the live dashboard of a user's rooms.
#include <set>

#include "fixture.hpp"

namespace fun_notes::test {
namespace {

class presence : public server_test {};

// Frames a session received but a step did not consume yet (presence can come before or
// after the snapshot).
struct session {
  explicit session(std::unique_ptr<ws_client> c) : ws(std::move(c)) {}
  std::unique_ptr<ws_client> ws;
  std::vector<json::object> backlog;
  std::vector<json::object> presences;  // every presence seen, in order
};

json::object join_keeping(session& s, std::string_view room) {
  s.ws->send(json::value{{"type", "join"}, {"room", room}});
  auto snap = s.ws->next_of_type("snapshot", default_wait, &s.backlog);
  if (!snap) {
    throw protocol_failure("no snapshot");
  }
  return std::move(*snap);
}

std::set<std::string> user_ids(const json::object& presence) {
  std::set<std::string> ids;
  for (const auto& u : arr(presence, "users")) {
    ids.insert(str(u.get_object(), "id"));
  }
  return ids;
}

// Waits for a presence of `room` that satisfies `pred`, checking the backlog first. Every
// presence passed over is recorded and must be self-consistent.
template <class Pred>
std::optional<json::object> wait_presence(session& s, std::string_view room, Pred pred) {
  auto check = [&](const json::object& f) -> bool {
    if (type_of(f) != "presence" || str(f, "room") != room) {
      return false;
    }
    s.presences.push_back(f);
    EXPECT_EQ(int64(f, "active_user_count"), static_cast<std::int64_t>(user_ids(f).size()))
        << "active_user_count counts distinct users: " << to_string(f);
    return pred(f);
  };
  while (!s.backlog.empty()) {
    json::object f = std::move(s.backlog.front());
    s.backlog.erase(s.backlog.begin());
    if (check(f)) {
      return f;
    }
  }
  for (;;) {
    auto f = s.ws->next();
    if (!f) {
      return std::nullopt;
    }
    if (check(*f)) {
      return f;
    }
  }
}

auto count_is(std::int64_t n) {
  return [n](const json::object& p) { return int64(p, "active_user_count") == n; };
}

TEST_F(presence, members_see_who_is_in_the_room_counting_each_user_once) {
  auto& server = start_server();
  const user alice = register_user(server.port(), "alice");
  const user bob = register_user(server.port(), "bob");
  const std::string room = create_room(server.port(), alice, "Standup", "link");

  session a{connect_hello(server.port(), alice)};
  join_keeping(a, room);
  auto first = wait_presence(a, room, count_is(1));
  ASSERT_TRUE(first.has_value()) << "the joining socket gets presence too";
  EXPECT_EQ(user_ids(*first), std::set<std::string>{alice.id});

  session b{connect_hello(server.port(), bob)};
  join_keeping(b, room);
  auto a_sees_two = wait_presence(a, room, count_is(2));
  ASSERT_TRUE(a_sees_two.has_value()) << "alice did not see bob arrive";
  EXPECT_EQ(user_ids(*a_sees_two), (std::set<std::string>{alice.id, bob.id}));
  const auto& bob_entry = arr(*a_sees_two, "users");
  for (const auto& u : bob_entry) {
    if (str(u.get_object(), "id") == bob.id) {
      EXPECT_EQ(str(u.get_object(), "name"), bob.name);
    }
  }
  ASSERT_TRUE(wait_presence(b, room, count_is(2)).has_value()) << "bob did not see alice";

  // Alice on a second socket is still one user.
  session a2{connect_hello(server.port(), alice)};
  join_keeping(a2, room);
  auto a2_first = wait_presence(a2, room, [](const json::object&) { return true; });
  ASSERT_TRUE(a2_first.has_value());
  EXPECT_EQ(int64(*a2_first, "active_user_count"), 2) << to_string(*a2_first);

  // Bob leaves: alice's sessions see one user again.
  b.ws->send(json::value{{"type", "leave"}, {"room", room}});
  auto after_leave = wait_presence(a, room, count_is(1));
  ASSERT_TRUE(after_leave.has_value()) << "alice did not see bob leave";
  EXPECT_EQ(user_ids(*after_leave), std::set<std::string>{alice.id});
  ASSERT_TRUE(wait_presence(a2, room, count_is(1)).has_value());

  // Bob comes back and then his connection drops: that counts as leaving too.
  join_keeping(b, room);
  ASSERT_TRUE(wait_presence(a, room, count_is(2)).has_value()) << "bob's return";
  // A socket that joins again (as after a gap) is still one socket of one user.
  join_keeping(b, room);
  b.ws->abort();
  ASSERT_TRUE(wait_presence(a, room, count_is(1)).has_value()) << "bob's dropped connection";

  for (const auto& p : a.presences) {
    EXPECT_LE(int64(p, "active_user_count"), 2) << to_string(p);
  }
}

TEST_F(presence, the_dashboard_lists_my_rooms_then_streams_their_changes) {
  auto& server = start_server();
  const user alice = register_user(server.port(), "alice");
  const user bob = register_user(server.port(), "bob");
  const user carol = register_user(server.port(), "carol");
  const std::string shared = create_room(server.port(), alice, "Shared board", "link");
  const std::string mine = create_room(server.port(), alice, "My diary", "private");
  const std::string carols = create_room(server.port(), carol, "Carol's", "private");

  auto dash = connect_hello(server.port(), alice);
  dash->send(json::value{{"type", "watch_rooms"}});
  FN_EXPECT_FRAME(rooms, dash->next_of_type("rooms"), "the rooms list");
  std::map<std::string, json::object> listed;
  for (const auto& r : arr(rooms, "rooms")) {
    listed[str(r.get_object(), "id")] = r.get_object();
  }
  EXPECT_EQ(listed.size(), 2u) << to_string(rooms);
  ASSERT_TRUE(listed.contains(shared)) << to_string(rooms);
  ASSERT_TRUE(listed.contains(mine)) << to_string(rooms);
  EXPECT_FALSE(listed.contains(carols)) << "a room alice is not a member of is listed";
  EXPECT_EQ(str(listed[shared], "name"), "Shared board");
  EXPECT_EQ(int64(listed[shared], "active_user_count"), 0);
  EXPECT_EQ(int64(listed[shared], "total_notes"), 0);

  auto stat_of = [&](auto pred) -> std::optional<json::object> {
    for (;;) {
      auto f = dash->next_of_type("room_stat");
      if (!f) {
        return std::nullopt;
      }
      const auto& r = obj(*f, "room");
      EXPECT_NE(str(r, "id"), carols) << "stats of a room alice is not a member of";
      if (str(r, "id") == shared && pred(r)) {
        return f;
      }
    }
  };

  auto b = connect_hello(server.port(), bob);
  ASSERT_NO_THROW(join_snapshot(*b, shared));
  auto joined = stat_of([](const json::object& r) { return int64(r, "active_user_count") == 1; });
  ASSERT_TRUE(joined.has_value()) << "no room_stat after bob joined";
  EXPECT_EQ(str(obj(*joined, "room"), "name"), "Shared board");

  const auto ack = send_op_and_wait(*b, shared, "bob-1", create_op("n1", "first", 1.0));
  ASSERT_EQ(type_of(ack), "op") << to_string(ack);
  auto counted = stat_of([](const json::object& r) { return int64(r, "total_notes") == 1; });
  ASSERT_TRUE(counted.has_value()) << "no room_stat with the new note count";

  b->close();
  auto left = stat_of([](const json::object& r) { return int64(r, "active_user_count") == 0; });
  ASSERT_TRUE(left.has_value()) << "no room_stat after bob left";
}

}  // namespace
}  // namespace fun_notes::test

// Who may read and write a room: private rooms keep strangers out; link rooms let any signed-in
// user in as an editor.
#include "fixture.hpp"

namespace fun_notes::test {
namespace {

class access : public server_test {};

TEST_F(access, a_stranger_cannot_join_or_write_a_private_room) {
  auto& server = start_server();
  const user owner = register_user(server.port(), "owner");
  const user stranger = register_user(server.port(), "stranger");
  const std::string room = create_room(server.port(), owner, "Diary", "private");

  auto o = connect_hello(server.port(), owner);
  const auto snap = join_snapshot(*o, room);
  const auto created = send_op_and_wait(*o, room, "o-1", create_op("secret", "Secret", 1.0));
  ASSERT_EQ(type_of(created), "op") << to_string(created);
  const auto before = get_notes(server.port(), owner, room);

  auto s = connect_hello(server.port(), stranger);
  const auto answer = join(*s, room);
  ASSERT_EQ(type_of(answer), "error") << "stranger joined a private room: " << to_string(answer);
  EXPECT_EQ(str(answer, "code"), "forbidden") << to_string(answer);
  EXPECT_EQ(str(answer, "room"), room) << to_string(answer);

  const auto rejected =
      send_op_and_wait(*s, room, "s-1", update_op("secret", json::object{{"title", "Defaced"}}));
  ASSERT_EQ(type_of(rejected), "reject")
      << "stranger wrote to a private room: " << to_string(rejected);
  EXPECT_EQ(str(rejected, "code"), "forbidden") << to_string(rejected);
  EXPECT_EQ(str(rejected, "room"), room);

  const auto reading = http_request(server.port(), "GET", "/api/rooms/" + room + "/notes",
                                    std::nullopt, stranger.token);
  EXPECT_TRUE(reading.status == 403 || reading.status == 404)
      << "a stranger read a private room's notes: HTTP " << reading.status << " " << reading.body;

  // Nothing changed, and the owner's live stream shows no op from the stranger: the owner's
  // next op is the very next seq.
  EXPECT_EQ(serialized_state(get_notes(server.port(), owner, room)), serialized_state(before));
  const auto probe = send_op_and_wait(*o, room, "o-2", move_op("secret", 2.0));
  ASSERT_EQ(type_of(probe), "op") << to_string(probe);
  EXPECT_EQ(int64(probe, "seq"), int64(snap, "seq") + 2);
}

TEST_F(access, joining_a_room_that_does_not_exist_is_not_found) {
  auto& server = start_server();
  const user u = register_user(server.port(), "lost");
  auto ws = connect_hello(server.port(), u);
  const auto answer = join(*ws, "no-such-room-0123456789");
  ASSERT_EQ(type_of(answer), "error") << to_string(answer);
  EXPECT_EQ(str(answer, "code"), "not_found") << to_string(answer);
}

TEST_F(access, any_signed_in_user_can_join_a_link_room_as_an_editor_and_write) {
  auto& server = start_server();
  const user owner = register_user(server.port(), "owner");
  const user guest = register_user(server.port(), "guest");
  const std::string room = create_room(server.port(), owner, "Team board", "link");

  auto o = connect_hello(server.port(), owner);
  const auto owner_snap = join_snapshot(*o, room);

  auto g = connect_hello(server.port(), guest);
  const auto snap = join_snapshot(*g, room);
  EXPECT_EQ(str(obj(snap, "room_info"), "role"), "editor") << to_string(snap);

  const auto ack = send_op_and_wait(*g, room, "g-1", create_op("hi", "Hello from a guest", 1.0));
  ASSERT_EQ(type_of(ack), "op") << "a link-room guest could not write: " << to_string(ack);
  EXPECT_EQ(str(ack, "user"), guest.id);

  FN_EXPECT_FRAME(seen, o->next_skipping({"presence"}), "the guest's op at the owner");
  ASSERT_EQ(type_of(seen), "op") << to_string(seen);
  EXPECT_EQ(str(seen, "cid"), "g-1");
  EXPECT_EQ(int64(seen, "seq"), int64(owner_snap, "seq") + 1);

  const auto notes = get_notes(server.port(), owner, room);
  ASSERT_EQ(arr(notes, "notes").size(), 1u) << to_string(notes);
  EXPECT_EQ(str(arr(notes, "notes")[0].get_object(), "title"), "Hello from a guest");
}

}  // namespace
}  // namespace fun_notes::test

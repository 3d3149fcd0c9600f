// The Trash over HTTP: a deleted note is listed at once (before any flush) with who deleted it,
// outlives a kill -9, leaves the Trash when it is created again (a restore), and is read from
// any server of a fleet.
#include <string>

#include "fixture.hpp"
#include "fleet.hpp"

namespace fun_notes::test {
namespace {

class trash : public server_test {};
using trash_fleet = fleet_test;

json::object get_trash(std::uint16_t port, const user& who, const std::string& room) {
  const auto r =
      http_request(port, "GET", "/api/rooms/" + room + "/trash", std::nullopt, who.token);
  if (r.status != 200 || !r.json.is_object()) {
    throw protocol_failure("GET trash: " + std::to_string(r.status) + " " + r.body);
  }
  return r.json.get_object();
}

std::vector<std::string> trashed_ids(const json::object& listing) {
  std::vector<std::string> ids;
  for (const auto& n : arr(listing, "notes")) {
    ids.push_back(str(n.get_object(), "id"));
  }
  return ids;
}

TEST_F(trash, a_deleted_note_is_listed_at_once_outlives_a_kill_and_leaves_when_restored) {
  auto& server = start_server();
  const user alice = register_user(server.port(), "alice");
  const user bob = register_user(server.port(), "bob");
  const user eve = register_user(server.port(), "eve");
  const std::string room = create_room(server.port(), alice, "Trip", "link");
  auto a = connect_hello(server.port(), alice);
  auto b = connect_hello(server.port(), bob);
  join_snapshot(*a, room);
  join_snapshot(*b, room);

  send_op_and_wait(*a, room, "c1", create_op("passport", "Passport", 2.5, "renew\nby March", true));
  send_op_and_wait(*a, room, "c2", create_op("visa", "Visa", 3.0));
  send_op_and_wait(*a, room, "c3", update_op("passport", json::object{{"title", "Passport!"}}));
  const auto del = send_op_and_wait(*b, room, "d1", delete_op("passport"));
  ASSERT_EQ(type_of(del), "op") << to_string(del);

  // Listed at once, as it was just before the delete, with who and when.
  auto listing = get_trash(server.port(), alice, room);
  EXPECT_EQ(int64(listing, "retention_days"), 30);
  ASSERT_EQ(trashed_ids(listing), (std::vector<std::string>{"passport"})) << to_string(listing);
  const auto& entry = arr(listing, "notes")[0].get_object();
  EXPECT_EQ(str(entry, "title"), "Passport!");
  EXPECT_EQ(str(entry, "body"), "renew\nby March");
  EXPECT_TRUE(entry.at("is_important").as_bool());
  EXPECT_EQ(entry.at("current_index").to_number<double>(), 2.5);
  EXPECT_EQ(int64(entry, "deleted_seq"), int64(del, "seq"));
  EXPECT_EQ(str(entry, "deleted_at"), str(del, "at"));
  EXPECT_EQ(str(obj(entry, "deleted_by"), "id"), bob.id);
  EXPECT_EQ(str(obj(entry, "deleted_by"), "name"), bob.name);

  // Members read it (as GET .../notes: a link room's visitor once the join made them one); a
  // wrong method and no token are refused.
  EXPECT_EQ(trashed_ids(get_trash(server.port(), bob, room)).size(), 1U);
  EXPECT_EQ(
      http_request(server.port(), "GET", "/api/rooms/" + room + "/trash", std::nullopt, eve.token)
          .status,
      403);
  EXPECT_EQ(
      http_request(server.port(), "GET", "/api/rooms/" + room + "/trash", std::nullopt, "").status,
      401);
  EXPECT_EQ(http_request(server.port(), "POST", "/api/rooms/" + room + "/trash", std::nullopt,
                         alice.token)
                .status,
            405);
  const std::string secret = create_room(server.port(), alice, "Private");
  EXPECT_EQ(
      http_request(server.port(), "GET", "/api/rooms/" + secret + "/trash", std::nullopt, bob.token)
          .status,
      403);
  EXPECT_EQ(
      http_request(server.port(), "GET", "/api/rooms/nosuchroom/trash", std::nullopt, bob.token)
          .status,
      404);

  // kill -9 before the write-behind's quiet period is over: the delete is in the op log, and so
  // is the Trash entry.
  a.reset();
  b.reset();
  server.kill();
  server.restart();
  listing = get_trash(server.port(), alice, room);
  ASSERT_EQ(trashed_ids(listing), (std::vector<std::string>{"passport"})) << to_string(listing);
  EXPECT_EQ(str(arr(listing, "notes")[0].get_object(), "title"), "Passport!");

  // A restore is a create with the same id: out of the Trash at once, and after a clean restart
  // (the write-behind drained) the note is back and the Trash empty.
  auto c = connect_hello(server.port(), eve);
  join_snapshot(*c, room);  // eve is a member (an editor) from here on
  EXPECT_EQ(trashed_ids(get_trash(server.port(), eve, room)).size(), 1U);
  const auto restored = send_op_and_wait(
      *c, room, "r1", create_op("passport", "Passport!", 2.5, "renew\nby March", true));
  ASSERT_EQ(type_of(restored), "op") << to_string(restored);
  EXPECT_TRUE(trashed_ids(get_trash(server.port(), alice, room)).empty());
  c.reset();
  ASSERT_EQ(server.terminate(), 0);
  server.restart();
  EXPECT_TRUE(trashed_ids(get_trash(server.port(), alice, room)).empty());
  const auto notes = get_notes(server.port(), alice, room);
  ASSERT_EQ(arr(notes, "notes").size(), 2U) << to_string(notes);
  EXPECT_EQ(str(arr(notes, "notes")[0].get_object(), "body"), "renew\nby March");
}

TEST_F(trash_fleet, a_delete_on_one_server_is_in_the_trash_read_from_another) {
  auto& a_server = start_server(with_args(fleet_args()));
  auto& b_server = start_server(with_args(fleet_args()));
  const user alice = register_user(a_server.port(), "alice");
  const std::string room = create_room(a_server.port(), alice, "Fleet trash", "link");
  auto a = connect_hello(a_server.port(), alice);
  join_snapshot(*a, room);
  send_op_and_wait(*a, room, "c1", create_op("n1", "One", 1.0, "first"));
  send_op_and_wait(*a, room, "c2", create_op("n2", "Two", 2.0, "second"));
  send_op_and_wait(*a, room, "d1", delete_op("n1"));
  send_op_and_wait(*a, room, "d2", delete_op("n2"));
  // Server B has never loaded the room: it reads PostgreSQL and the Redis log.
  const auto listing = get_trash(b_server.port(), alice, room);
  EXPECT_EQ(trashed_ids(listing), (std::vector<std::string>{"n2", "n1"})) << to_string(listing);
  send_op_and_wait(*a, room, "r1", create_op("n1", "One", 1.0, "first"));
  EXPECT_EQ(trashed_ids(get_trash(b_server.port(), alice, room)), (std::vector<std::string>{"n2"}));
}

}  // namespace
}  // namespace fun_notes::test

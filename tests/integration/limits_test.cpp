// The limits a server enforces are the ones its welcome frame advertises, counted in UTF-8 bytes.
#include "fixture.hpp"

namespace fun_notes::test {
namespace {

class advertised_limits : public server_test {};

// Connects, says hello and returns the welcome frame (connect_hello would swallow it).
json::object welcome_of(std::uint16_t port, const user& u, std::unique_ptr<ws_client>& ws) {
  ws = ws_client::connect(port);
  ws->send(json::value{{"type", "hello"}, {"token", u.token}, {"client", "tests/1"}});
  auto f = ws->next();
  if (!f || type_of(*f) != "welcome") {
    throw protocol_failure("no welcome after hello" + (f ? ": " + to_string(*f) : ""));
  }
  return *f;
}

std::string repeat(std::string_view piece, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) {
    out += piece;
  }
  return out;
}

TEST_F(advertised_limits, the_welcome_frame_carries_the_default_limits) {
  auto& server = start_server();
  const user u = register_user(server.port(), "lim");
  std::unique_ptr<ws_client> ws;
  const json::object welcome = welcome_of(server.port(), u, ws);
  ASSERT_TRUE(welcome.contains("limits")) << to_string(welcome);
  const json::object& limits = obj(welcome, "limits");
  EXPECT_EQ(int64(limits, "title_bytes"), 1024);
  EXPECT_EQ(int64(limits, "body_bytes"), 65536);
  EXPECT_EQ(int64(limits, "frame_bytes"), 65536);
}

TEST_F(advertised_limits, a_server_with_max_title_bytes_100_advertises_and_enforces_100_bytes) {
  auto& server = start_server(with_args({"--max-title-bytes", "100"}));
  const user u = register_user(server.port(), "lim100");
  std::unique_ptr<ws_client> ws;
  const json::object welcome = welcome_of(server.port(), u, ws);
  ASSERT_TRUE(welcome.contains("limits")) << to_string(welcome);
  EXPECT_EQ(int64(obj(welcome, "limits"), "title_bytes"), 100) << to_string(welcome);

  const std::string room = create_room(server.port(), u, "Limits", "private");
  join_snapshot(*ws, room);
  const auto ascii = send_op_and_wait(*ws, room, "t100", create_op("a", repeat("t", 100), 1.0));
  EXPECT_EQ(type_of(ascii), "op") << "100 bytes is within the limit: " << to_string(ascii);
  const auto over = send_op_and_wait(*ws, room, "t101", create_op("b", repeat("t", 101), 2.0));
  ASSERT_EQ(type_of(over), "reject") << to_string(over);
  EXPECT_EQ(str(over, "code"), "too_large");

  // Bytes, not letters: 50 Cyrillic letters are 100 bytes, 51 are 102.
  const auto cyrillic =
      send_op_and_wait(*ws, room, "c50", update_op("a", json::object{{"title", repeat("Я", 50)}}));
  EXPECT_EQ(type_of(cyrillic), "op") << to_string(cyrillic);
  const auto cyrillic_over =
      send_op_and_wait(*ws, room, "c51", update_op("a", json::object{{"title", repeat("Я", 51)}}));
  ASSERT_EQ(type_of(cyrillic_over), "reject") << to_string(cyrillic_over);
  EXPECT_EQ(str(cyrillic_over, "code"), "too_large");

  const json::object stored = get_notes(server.port(), u, room);
  const json::array& notes = arr(stored, "notes");
  ASSERT_EQ(notes.size(), 1U);
  EXPECT_EQ(str(notes.at(0).as_object(), "title"), repeat("Я", 50));
}

// The slow-consumer limit bounds what piles up behind a client, never the answer to its join:
// a snapshot larger than the limit arrives whole, and a missed backlog larger than half the
// limit is answered with a snapshot instead of a resume the limit would cut.
TEST_F(advertised_limits, join_answers_fit_the_outbound_limit_of_a_small_server) {
  auto& server = start_server(with_args({"--max-outbound-bytes", "65536"}));
  const user u = register_user(server.port(), "big");
  std::unique_ptr<ws_client> ws;
  welcome_of(server.port(), u, ws);
  const std::string room = create_room(server.port(), u, "Big notes", "private");
  join_snapshot(*ws, room);
  const std::string body = repeat("b", 30000);
  std::int64_t seq = 0;
  for (int i = 0; i < 3; ++i) {
    const auto ack = send_op_and_wait(*ws, room, "c" + std::to_string(i),
                                      create_op("n" + std::to_string(i), "big", i + 1.0, body));
    ASSERT_EQ(type_of(ack), "op") << to_string(ack);
    seq = int64(ack, "seq");
  }

  // About 90 KB of notes: more than the 64 KiB limit, still the whole room.
  auto fresh = connect_hello(server.port(), u);
  const auto snapshot = join_snapshot(*fresh, room);
  EXPECT_EQ(arr(snapshot, "notes").size(), 3U);
  EXPECT_FALSE(fresh->closed()) << "closed " << fresh->closed()->code;

  // Since the first op: two ops of 30 KB missed, over the 32 KiB resume budget.
  auto behind = connect_hello(server.port(), u);
  const auto far = join(*behind, room, seq - 2);
  EXPECT_EQ(type_of(far), "snapshot") << to_string(far).substr(0, 200);
  // One op missed resumes as usual.
  auto near = connect_hello(server.port(), u);
  const auto close_by = join(*near, room, seq - 1);
  EXPECT_EQ(type_of(close_by), "resume") << to_string(close_by).substr(0, 200);
  const auto missed = near->next_skipping({"presence", "room_stat"});
  ASSERT_TRUE(missed.has_value());
  EXPECT_EQ(int64(*missed, "seq"), seq);
}

}  // namespace
}  // namespace fun_notes::test

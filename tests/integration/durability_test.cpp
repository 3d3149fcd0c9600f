// Nothing acknowledged is lost: not when the server is killed mid-burst, not across a clean
// shutdown.
#include <map>
#include <set>

#include "fixture.hpp"

namespace fun_notes::test {
namespace {

class durability : public server_test {};

struct acked_note {
  std::int64_t seq = 0;
  std::string title;
  double index = 0;
};

TEST_F(durability, kill_9_mid_burst_loses_no_acknowledged_op_and_never_reuses_a_seq) {
  auto& server = start_server(with_args({"--max-op-rate", "100000", "--max-op-burst", "100000"}));
  const user u = register_user(server.port(), "writer");
  const std::string room = create_room(server.port(), u, "Crashy", "private");

  auto ws = connect_hello(server.port(), u);
  replica view;
  view.load(join_snapshot(*ws, room));
  const std::int64_t initial_seq = view.seq();

  // Keep a window of ops in flight and kill the server once enough have been acknowledged, so
  // the kill lands while the server is busy appending.
  constexpr int window = 200;
  constexpr int kill_after_acks = 1000;
  constexpr int max_ops = 20000;
  int sent = 0;
  std::map<std::string, acked_note> acked;  // note id -> what its ack said
  auto send_one = [&] {
    const std::string id = "n" + std::to_string(sent);
    ws->send(op_frame(room, "c" + std::to_string(sent),
                      create_op(id, "title " + std::to_string(sent), sent * 0.5 + 0.25)));
    ++sent;
  };
  auto take = [&](const json::object& f) {
    ASSERT_EQ(type_of(f), "op") << "a create was not acknowledged: " << to_string(f);
    view.apply(f);  // throws on a gap or a repeat
    const auto& note = obj(obj(f, "op"), "note");
    acked[str(note, "id")] = acked_note{int64(f, "seq"), str(note, "title"),
                                        note.at("current_index").to_number<double>()};
  };
  while (sent < window) {
    send_one();
  }
  bool killed = false;
  while (!killed) {
    FN_EXPECT_FRAME(f, ws->next_skipping({"presence"}), "an ack during the burst");
    ASSERT_NO_FATAL_FAILURE(take(f));
    if (static_cast<int>(acked.size()) >= kill_after_acks) {
      server.kill();
      killed = true;
    } else if (sent < max_ops) {
      send_one();
    }
  }
  // Frames the server sent before it died are acknowledgements too.
  for (;;) {
    auto f = ws->next_skipping({"presence"});
    if (!f) {
      break;
    }
    ASSERT_NO_FATAL_FAILURE(take(*f));
  }
  ASSERT_TRUE(ws->is_closed()) << "the connection should end when the server dies";
  const std::int64_t last_acked = view.seq();
  std::cout << "[ info ] sent " << sent << " creates, " << acked.size()
            << " acknowledged before the kill (last acked seq " << last_acked << ")\n";

  server.restart();

  // A fresh snapshot holds every acknowledged note as acknowledged.
  auto fresh = connect_hello(server.port(), u);
  const auto snap = join_snapshot(*fresh, room);
  const std::int64_t s = int64(snap, "seq");
  EXPECT_GE(s, last_acked) << "the room's seq went back below an acknowledged op";
  std::map<std::string, json::object> stored;
  std::set<std::int64_t> note_seqs;
  for (const auto& v : arr(snap, "notes")) {
    const auto& n = v.get_object();
    stored[str(n, "id")] = n;
    EXPECT_TRUE(note_seqs.insert(int64(n, "seq")).second)
        << "two notes carry one seq (each op created one note): " << to_string(n);
    EXPECT_LE(int64(n, "seq"), s);
  }
  int missing = 0;
  for (const auto& [id, a] : acked) {
    const auto it = stored.find(id);
    if (it == stored.end()) {
      if (++missing <= 5) {
        ADD_FAILURE() << "acknowledged note " << id << " (seq " << a.seq << ") is gone";
      }
      continue;
    }
    EXPECT_EQ(int64(it->second, "seq"), a.seq) << id;
    EXPECT_EQ(str(it->second, "title"), a.title) << id;
    EXPECT_EQ(it->second.at("current_index").to_number<double>(), a.index) << id;
  }
  EXPECT_EQ(missing, 0) << missing << " of " << acked.size() << " acknowledged ops were lost";
  // Unacknowledged ops may or may not have survived, but only as whole, numbered ops.
  EXPECT_EQ(static_cast<std::int64_t>(stored.size()), s - initial_seq)
      << "every op of this room created one note";

  // Re-joining with `since` continues the client's own history without a gap.
  auto back = connect_hello(server.port(), u);
  const auto answer = join(*back, room, last_acked);
  if (type_of(answer) == "resume") {
    EXPECT_EQ(int64(answer, "since"), last_acked);
    view.expect_resume(last_acked);
    while (view.seq() < s) {
      FN_EXPECT_FRAME(f, back->next_skipping({"presence"}), "a resumed op");
      ASSERT_EQ(type_of(f), "op") << to_string(f);
      ASSERT_NO_THROW(view.apply(f));
    }
  } else {
    ASSERT_EQ(type_of(answer), "snapshot") << to_string(answer);
    view.load(answer);
  }
  EXPECT_EQ(view.seq(), s);
  EXPECT_EQ(view.serialized(), serialized_state(snap));

  // New ops are numbered after everything that was acknowledged; both sessions see them.
  const auto next = send_op_and_wait(*fresh, room, "after-restart", create_op("z", "after", -1.0));
  ASSERT_EQ(type_of(next), "op") << to_string(next);
  EXPECT_EQ(int64(next, "seq"), s + 1);
  EXPECT_GT(int64(next, "seq"), last_acked);
  FN_EXPECT_FRAME(echo, back->next_skipping({"presence"}), "the new op on the since session");
  ASSERT_EQ(type_of(echo), "op") << to_string(echo);
  ASSERT_NO_THROW(view.apply(echo));
  EXPECT_EQ(view.serialized(), serialized_state(get_notes(server.port(), u, room)));
}

TEST_F(durability, sigterm_closes_sessions_with_1001_exits_0_and_keeps_everything) {
  auto& server = start_server();
  const user alice = register_user(server.port(), "alice");
  const user bob = register_user(server.port(), "bob");
  const std::string room = create_room(server.port(), alice, "Tidy", "link");

  auto a = connect_hello(server.port(), alice);
  auto b = connect_hello(server.port(), bob);
  replica view;
  view.load(join_snapshot(*a, room));
  ASSERT_NO_THROW(join_snapshot(*b, room));

  constexpr int ops = 60;  // within the default burst of 100
  for (int i = 0; i < ops; ++i) {
    const std::string id = "n" + std::to_string(i % 20);
    a->send(op_frame(room, "a" + std::to_string(i),
                     i < 20 ? create_op(id, "note " + std::to_string(i), i * 1.0)
                            : update_op(id, json::object{{"body", "edit " + std::to_string(i)}})));
  }
  const std::int64_t target = view.seq() + ops;
  while (view.seq() < target) {
    FN_EXPECT_FRAME(f, a->next_skipping({"presence"}), "an ack");
    ASSERT_EQ(type_of(f), "op") << to_string(f);
    ASSERT_NO_THROW(view.apply(f));
  }

  const auto code = server.terminate();
  ASSERT_TRUE(code.has_value()) << "the server did not exit after SIGTERM";
  EXPECT_EQ(*code, 0);
  for (ws_client* c : {a.get(), b.get()}) {
    const auto closed = c->wait_closed();
    ASSERT_TRUE(closed.has_value());
    EXPECT_EQ(closed->code, 1001) << closed->reason;
  }

  server.restart();
  EXPECT_EQ(serialized_state(get_notes(server.port(), bob, room)), view.serialized());
  auto again = connect_hello(server.port(), alice);  // the token outlives the restart
  const auto snap = join_snapshot(*again, room);
  EXPECT_EQ(serialized_state(snap), view.serialized());
}

}  // namespace
}  // namespace fun_notes::test

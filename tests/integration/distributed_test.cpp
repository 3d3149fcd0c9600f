// Distributed mode: two servers on one PostgreSQL and one Redis. Clients on different servers
// see one gapless order; killing a server loses nothing that it acknowledged.
#include <chrono>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "fleet.hpp"

namespace fun_notes::test {
namespace {

using distributed = fleet_test;

// Sends an op and applies every frame up to and including its ack (ops numbered in between
// by others arrive first).
json::object send_and_apply_until_ack(ws_client& ws, replica& view, std::string_view room,
                                      std::string_view cid, json::object op) {
  ws.send(op_frame(room, cid, std::move(op)));
  for (;;) {
    auto f = ws.next_skipping({"presence", "room_stat"});
    if (!f) {
      throw protocol_failure("no ack for " + std::string(cid));
    }
    if (type_of(*f) != "op") {
      throw protocol_failure("unexpected frame " + to_string(*f));
    }
    view.apply(*f);
    if (str(*f, "cid") == cid) {
      return std::move(*f);
    }
  }
}

TEST_F(distributed, clients_on_two_servers_see_one_order_and_a_killed_server_loses_nothing) {
  auto& a_server = start_server(with_args(fleet_args()));
  auto& b_server = start_server(with_args(fleet_args()));
  const user alice = register_user(a_server.port(), "alice");
  const user bob = register_user(b_server.port(), "bob");  // the same accounts everywhere
  const std::string room = create_room(a_server.port(), alice, "Fleet", "link");

  auto a = connect_hello(a_server.port(), alice);
  auto b = connect_hello(b_server.port(), bob);
  replica a_view;
  replica b_view;
  a_view.load(join_snapshot(*a, room));
  b_view.load(join_snapshot(*b, room));
  ASSERT_EQ(a_view.seq(), b_view.seq());

  // Both write at once, each to its own server.
  constexpr int per_writer = 200;
  for (int i = 0; i < per_writer; ++i) {
    a->send(op_frame(room, "a" + std::to_string(i),
                     create_op("a" + std::to_string(i), "from A", i * 1.0)));
    b->send(op_frame(room, "b" + std::to_string(i),
                     create_op("b" + std::to_string(i), "from B", i * 1.0 + 0.5)));
  }
  const std::int64_t target = a_view.seq() + 2 * per_writer;
  ASSERT_NO_THROW(read_ops_to(*a, a_view, target));
  ASSERT_NO_THROW(read_ops_to(*b, b_view, target));
  EXPECT_EQ(a_view.serialized(), b_view.serialized());
  EXPECT_EQ(a_view.applied_seqs(), b_view.applied_seqs());
  EXPECT_EQ(serialized_state(get_notes(b_server.port(), bob, room)), b_view.serialized());

  // A burst on server A, killed mid-way. Every op A acknowledged was published through Redis
  // before the ack, so B's client receives all of them.
  int sent = 0;
  int acked = 0;
  while (sent < 100) {
    a->send(op_frame(room, "k" + std::to_string(sent),
                     update_op("a" + std::to_string(sent % per_writer),
                               json::object{{"title", "k" + std::to_string(sent)}})));
    ++sent;
  }
  while (acked < 50) {
    auto f = a->next_skipping({"presence", "room_stat"});
    ASSERT_TRUE(f.has_value()) << "acks stopped at " << acked;
    ASSERT_EQ(type_of(*f), "op") << to_string(*f);
    a_view.apply(*f);
    if (str(*f, "user") == alice.id) {
      ++acked;
    }
  }
  a_server.kill();
  for (auto f = a->next_skipping({"presence", "room_stat"}); f;
       f = a->next_skipping({"presence", "room_stat"})) {
    a_view.apply(*f);  // acknowledgements sent before the kill count too
  }
  const std::int64_t last_acked = a_view.seq();
  ASSERT_NO_THROW(read_ops_to(*b, b_view, last_acked));

  // B keeps serving: a new op gets the next seq after everything A numbered.
  const auto ack = send_and_apply_until_ack(*b, b_view, room, "after-kill", delete_op("b0"));
  ASSERT_EQ(type_of(ack), "op") << to_string(ack);
  EXPECT_GT(int64(ack, "seq"), last_acked);

  // Alice reconnects to B with `since` and gets exactly what she missed.
  auto a2 = connect_hello(b_server.port(), alice);
  const auto answer = join(*a2, room, a_view.seq());
  ASSERT_EQ(type_of(answer), "resume") << to_string(answer);
  a_view.expect_resume(a_view.seq());
  ASSERT_NO_THROW(read_ops_to(*a2, a_view, int64(ack, "seq")));
  ASSERT_NO_THROW(read_ops_to(*b, b_view, int64(ack, "seq")));
  EXPECT_EQ(a_view.serialized(), b_view.serialized());

  // B stops cleanly (SIGTERM drains its write-behind); a server started afterwards serves the
  // same state from PostgreSQL and Redis.
  ASSERT_EQ(b_server.terminate(), 0);
  auto& c_server = start_server(with_args(fleet_args()));
  EXPECT_EQ(serialized_state(get_notes(c_server.port(), bob, room)), b_view.serialized());
}

TEST_F(distributed, a_client_joining_mid_burst_gets_snapshot_plus_gap_with_persistence_held_back) {
  // Persistence held back: nothing reaches PostgreSQL during the test, so a join must be served
  // from the (empty) snapshot plus every op of the gap from Redis, while writes keep coming.
  auto args = fleet_args("3600000");
  args.push_back("--flush-max-ms");
  args.push_back("3600000");
  auto& writer_server = start_server(with_args(args));
  auto& joiner_server = start_server(with_args(args));
  const user alice = register_user(writer_server.port(), "alice");
  const user bob = register_user(joiner_server.port(), "bob");
  const std::string room = create_room(writer_server.port(), alice, "Note D", "link");

  auto w = connect_hello(writer_server.port(), alice);
  replica writer_view;
  writer_view.load(join_snapshot(*w, room));
  constexpr int total = 600;
  int sent = 0;
  auto send_some = [&](int n) {
    for (int i = 0; i < n && sent < total; ++i, ++sent) {
      const std::string id = "n" + std::to_string(sent % 50);
      w->send(op_frame(room, "w" + std::to_string(sent),
                       sent < 50 ? create_op(id, "t", sent * 1.0)
                                 : update_op(id, json::object{{"title", std::to_string(sent)}})));
    }
  };
  send_some(300);
  ASSERT_NO_THROW(read_ops_to(*w, writer_view, 100));  // the burst is under way

  // Bob joins on the other server while ops are still being numbered.
  auto b = connect_hello(joiner_server.port(), bob);
  replica joiner_view;
  joiner_view.load(join_snapshot(*b, room));
  // Nothing is in PostgreSQL, so every op up to the snapshot came from the Redis gap, and the
  // ones after it arrive live.
  EXPECT_GE(joiner_view.seq(), 100);
  EXPECT_LT(joiner_view.seq(), total);
  send_some(total);
  ASSERT_NO_THROW(read_ops_to(*w, writer_view, total));
  ASSERT_NO_THROW(read_ops_to(*b, joiner_view, total));  // throws on any gap or repeat
  EXPECT_EQ(joiner_view.serialized(), writer_view.serialized());
  EXPECT_EQ(serialized_state(get_notes(joiner_server.port(), bob, room)),
            writer_view.serialized());
}

TEST_F(distributed, an_idle_rooms_redis_keys_expire_and_postgres_still_has_everything) {
  // A 1-second sliding TTL: once the room is flushed and idle, Redis forgets it.
  auto args = fleet_args();
  args.push_back("--redis-ttl");
  args.push_back("1");
  auto& server = start_server(with_args(args));
  const user alice = register_user(server.port(), "alice");
  const std::string room = create_room(server.port(), alice, "Idle", "private");
  replica view;
  {
    auto a = connect_hello(server.port(), alice);
    view.load(join_snapshot(*a, room));
    for (int i = 0; i < 10; ++i) {
      const auto ack = send_op_and_wait(*a, room, "c" + std::to_string(i),
                                        create_op("n" + std::to_string(i), "kept", i * 1.0));
      ASSERT_EQ(type_of(ack), "op") << to_string(ack);
      view.apply(ack);
    }
  }
  const std::string seq_key = "room:seq:{" + room + "}";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (redis_->node(0).command({"EXISTS", seq_key}).integer != 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the room's keys never expired";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition
  }
  EXPECT_EQ(redis_->node(0).command({"EXISTS", "room:updates:{" + room + "}"}).integer, 0);

  // A server that never saw the room serves it whole from PostgreSQL, and numbering goes on.
  auto& fresh = start_server(with_args(fleet_args()));
  auto a = connect_hello(fresh.port(), alice);
  const auto snap = join_snapshot(*a, room);
  EXPECT_EQ(int64(snap, "seq"), view.seq());
  EXPECT_EQ(serialized_state(snap), view.serialized());
  const auto ack = send_op_and_wait(*a, room, "later", delete_op("n0"));
  ASSERT_EQ(type_of(ack), "op") << to_string(ack);
  EXPECT_EQ(int64(ack, "seq"), view.seq() + 1);
}

// The next presence of `room` on `ws` whose count is `count` (other frames are skipped).
std::optional<json::object> presence_with_count(ws_client& ws, std::string_view room,
                                                std::int64_t count) {
  for (;;) {
    auto f = ws.next();
    if (!f) {
      return std::nullopt;
    }
    if (type_of(*f) == "presence" && str(*f, "room") == room &&
        int64(*f, "active_user_count") == count) {
      return f;
    }
  }
}

TEST_F(distributed, presence_spans_servers_and_a_killed_servers_users_drop_out) {
  auto args = fleet_args();
  args.push_back("--presence-ttl-ms");
  args.push_back("1500");
  auto& a_server = start_server(with_args(args));
  auto& b_server = start_server(with_args(args));
  const user alice = register_user(a_server.port(), "alice");
  const user bob = register_user(b_server.port(), "bob");
  const std::string room = create_room(a_server.port(), alice, "Who is here", "link");

  auto a = connect_hello(a_server.port(), alice);
  ASSERT_NO_THROW(join_snapshot(*a, room));
  auto b = connect_hello(b_server.port(), bob);
  ASSERT_NO_THROW(join_snapshot(*b, room));

  auto a_sees = presence_with_count(*a, room, 2);
  ASSERT_TRUE(a_sees.has_value()) << "alice (server A) never saw bob (server B)";
  auto b_sees = presence_with_count(*b, room, 2);
  ASSERT_TRUE(b_sees.has_value()) << "bob (server B) never saw alice (server A)";
  std::set<std::string> ids;
  for (const auto& u : arr(*b_sees, "users")) {
    ids.insert(str(u.get_object(), "id"));
  }
  EXPECT_EQ(ids, (std::set<std::string>{alice.id, bob.id}));

  // Server A dies without a word: its users leave once their entry expires.
  a_server.kill();
  auto after = presence_with_count(*b, room, 1);
  ASSERT_TRUE(after.has_value()) << "alice stayed present after her server died";
  EXPECT_EQ(str(arr(*after, "users").at(0).get_object(), "id"), bob.id);
}

TEST_F(distributed, while_redis_restarts_ops_are_rejected_unavailable_then_flow_again) {
  auto& server = start_server(with_args(fleet_args()));
  const user alice = register_user(server.port(), "alice");
  const std::string room = create_room(server.port(), alice, "Redis restarts", "private");
  auto a = connect_hello(server.port(), alice);
  replica view;
  view.load(join_snapshot(*a, room));
  for (int i = 0; i < 5; ++i) {
    const auto ack = send_op_and_wait(*a, room, "c" + std::to_string(i),
                                      create_op("n" + std::to_string(i), "before", i * 1.0));
    ASSERT_EQ(type_of(ack), "op") << to_string(ack);
    view.apply(ack);
  }

  redis_->node(0).stop();  // a clean restart: Redis writes its AOF on the way out
  const auto down = send_op_and_wait(*a, room, "while-down", create_op("x", "lost?", 9.0));
  ASSERT_EQ(type_of(down), "reject") << to_string(down);
  EXPECT_EQ(str(down, "code"), "unavailable");

  redis_->node(0).start();
  // The client retries (as PROTOCOL.md says for `unavailable`) until the op log is back.
  json::object ack;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (int attempt = 0;; ++attempt) {
    ack = send_op_and_wait(*a, room, "retry-" + std::to_string(attempt),
                           create_op("x", "after", 9.0));
    if (type_of(ack) == "op") {
      break;
    }
    ASSERT_EQ(str(ack, "code"), "unavailable") << to_string(ack);
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "Redis never came back";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // client retry backoff
  }
  // Nothing acknowledged was lost and numbering went on: the rejected op took no seq.
  EXPECT_EQ(int64(ack, "seq"), view.seq() + 1);
  view.apply(ack);
  EXPECT_EQ(serialized_state(get_notes(server.port(), alice, room)), view.serialized());
}

TEST_F(distributed, a_dashboard_on_one_server_sees_activity_on_another) {
  auto& a_server = start_server(with_args(fleet_args()));
  auto& b_server = start_server(with_args(fleet_args()));
  const user carol = register_user(b_server.port(), "carol");
  const user bob = register_user(a_server.port(), "bob");
  const std::string room = create_room(b_server.port(), carol, "Watched", "link");

  auto dash = connect_hello(b_server.port(), carol);
  dash->send(json::value{{"type", "watch_rooms"}});
  FN_EXPECT_FRAME(rooms, dash->next_of_type("rooms"), "the rooms list");
  ASSERT_EQ(arr(rooms, "rooms").size(), 1u) << to_string(rooms);

  // Bob works in the room on the OTHER server.
  auto b = connect_hello(a_server.port(), bob);
  ASSERT_NO_THROW(join_snapshot(*b, room));
  const auto ack = send_op_and_wait(*b, room, "n1", create_op("n1", "from A", 1.0));
  ASSERT_EQ(type_of(ack), "op") << to_string(ack);

  for (;;) {
    auto f = dash->next_of_type("room_stat");
    ASSERT_TRUE(f.has_value()) << "carol's dashboard never saw bob's activity on server A";
    const auto& r = obj(*f, "room");
    ASSERT_EQ(str(r, "id"), room);
    if (int64(r, "active_user_count") == 1 && int64(r, "total_notes") == 1) {
      break;
    }
  }
}


TEST_F(distributed, with_postgres_down_for_60_seconds_ops_flow_nothing_unpersisted_is_trimmed) {
  // A short log tail and quick flushes, so trimming and flush attempts happen all the time.
  auto args = fleet_args();
  for (const char* extra : {"--hot-log-keep", "10", "--flush-max-ms", "200"}) {
    args.emplace_back(extra);
  }
  auto& a_server = start_server(with_args(args));
  auto& b_server = start_server(with_args(args));
  const user alice = register_user(a_server.port(), "alice");
  const user bob = register_user(b_server.port(), "bob");
  const std::string room = create_room(a_server.port(), alice, "Outage", "link");

  auto writer = connect_hello(a_server.port(), alice);
  auto reader = connect_hello(b_server.port(), bob);
  replica written;
  written.load(join_snapshot(*writer, room));
  replica read;
  read.load(join_snapshot(*reader, room));
  for (int i = 0; i < 20; ++i) {
    const auto ack = send_op_and_wait(*writer, room, "pre-" + std::to_string(i),
                                      create_op("n" + std::to_string(i), "before", i * 1.0));
    ASSERT_EQ(type_of(ack), "op") << to_string(ack);
    written.apply(ack);
  }
  // Polls PostgreSQL until the room is persisted up to `seq`.
  const auto wait_persisted = [&](std::int64_t seq, std::chrono::seconds limit) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (persisted_seq(postgres_url_, room) != seq) {
      ASSERT_LT(std::chrono::steady_clock::now(), give_up)
          << "PostgreSQL has the room at seq " << persisted_seq(postgres_url_, room)
          << ", not " << seq;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition
    }
  };
  ASSERT_NO_FATAL_FAILURE(wait_persisted(written.seq(), std::chrono::seconds(30)));
  const std::int64_t persisted_before = written.seq();
  const std::string log_key = "room:updates:{" + room + "}";

  // PostgreSQL goes away for 60 s while alice keeps typing at 20 ops/s.
  store::testing::stop_postgres();
  const auto outage_ends = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto next_op = std::chrono::steady_clock::now();
  int sent = 0;
  std::int64_t smallest_unpersisted_held = -1;
  while (std::chrono::steady_clock::now() < outage_ends) {
    const std::string note = "n" + std::to_string(sent % 20);
    json::object set;
    set["body"] = "edit " + std::to_string(sent);
    const auto ack =
        send_op_and_wait(*writer, room, "down-" + std::to_string(sent), update_op(note, set));
    ASSERT_EQ(type_of(ack), "op") << "op " << sent << " during the outage: " << to_string(ack);
    written.apply(ack);
    ++sent;
    if (sent % 200 == 0) {
      // Every op above the persisted seq is still in the Redis log, however short its tail.
      const auto held = redis_->node(0).command({"ZRANGE", log_key, "0", "0", "WITHSCORES"});
      ASSERT_TRUE(held.is_array() && held.elements.size() == 2) << held.str;
      smallest_unpersisted_held = std::stoll(held.elements[1].str);
      EXPECT_LE(smallest_unpersisted_held, persisted_before + 1);
      EXPECT_GE(redis_integer(redis_->node(0), {"ZCARD", log_key}), written.seq() - persisted_before);
    }
    // Pacing the load (20 ops/s), not waiting for anything.
    next_op += std::chrono::milliseconds(50);
    std::this_thread::sleep_until(next_op);
  }
  ASSERT_GE(sent, 1000);
  ASSERT_GE(smallest_unpersisted_held, 0) << "the Redis log was never inspected";
  EXPECT_ANY_THROW(persisted_seq(postgres_url_, room)) << "PostgreSQL was not down";

  // Bob, on the other server, got every op in order all along.
  while (read.seq() < written.seq()) {
    auto f = reader->next_skipping({"presence", "room_stat"});
    ASSERT_TRUE(f.has_value()) << "bob stopped at seq " << read.seq();
    read.apply(*f);
  }
  EXPECT_EQ(read.serialized(), written.serialized());

  // PostgreSQL returns: the write-behind catches up by itself, and then the log is trimmed.
  store::testing::start_postgres();
  ASSERT_NO_FATAL_FAILURE(wait_persisted(written.seq(), std::chrono::seconds(90)));
  const auto caught_up_by = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (redis_integer(redis_->node(0), {"ZCARD", log_key}) > 10) {
    ASSERT_LT(std::chrono::steady_clock::now(), caught_up_by) << "the log was never trimmed";
    // A trim happens with the next flush: keep the room busy.
    ++sent;
    const auto ack = send_op_and_wait(*writer, room, "after-" + std::to_string(sent),
                                      move_op("n0", -1.0 * sent));
    ASSERT_EQ(type_of(ack), "op") << to_string(ack);
    written.apply(ack);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // pacing
  }

  // A server that never saw the room serves exactly the writers' state from PostgreSQL.
  ASSERT_NO_FATAL_FAILURE(wait_persisted(written.seq(), std::chrono::seconds(30)));
  auto& fresh = start_server(with_args(fleet_args()));
  auto c = connect_hello(fresh.port(), alice);
  const auto snap = join_snapshot(*c, room);
  EXPECT_EQ(int64(snap, "seq"), written.seq());
  EXPECT_EQ(serialized_state(snap), written.serialized());
}

}  // namespace
}  // namespace fun_notes::test

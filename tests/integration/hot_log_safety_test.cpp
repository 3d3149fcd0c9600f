// The hot log never loses what the cold store does not hold yet: Redis keys of a room with
// unpersisted ops carry no expiry, and a room whose log and cold store disagree repairs itself.
#include <chrono>
#include <thread>

#include "fleet.hpp"

namespace fun_notes::test {
namespace {

using hot_log_safety = fleet_test;

// Polls PostgreSQL until `room` is persisted up to `seq`; fails the test at the deadline.
void wait_persisted(const std::string& postgres_url, const std::string& room, std::int64_t seq,
                    std::chrono::seconds limit) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  for (;;) {
    std::int64_t now_at = -2;
    try {
      now_at = persisted_seq(postgres_url, room);
    } catch (const std::exception&) {
      // PostgreSQL still starting
    }
    if (now_at == seq) {
      return;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), give_up)
        << "PostgreSQL has the room at seq " << now_at << ", not " << seq;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition
  }
}

// Stops PostgreSQL and brings it back when the scope ends, even if an assertion left early.
class postgres_outage {
 public:
  postgres_outage() { store::testing::stop_postgres(); }
  ~postgres_outage() { end(); }
  postgres_outage(const postgres_outage&) = delete;
  postgres_outage& operator=(const postgres_outage&) = delete;
  void end() { store::testing::start_postgres(); }
};

// Sends an op, expects its ack (not a reject) and applies it to `view`.
void send_acknowledged(ws_client& ws, const std::string& room, replica& view,
                       const std::string& cid, json::object op) {
  const auto ack = send_op_and_wait(ws, room, cid, std::move(op));
  ASSERT_EQ(type_of(ack), "op") << to_string(ack);
  view.apply(ack);
}

json::object body_op(std::string_view note, std::string body) {
  json::object set;
  set["body"] = std::move(body);
  return update_op(note, set);
}

TEST_F(hot_log_safety, with_postgres_down_longer_than_the_ttl_acknowledged_ops_survive) {
  // A 2-second sliding TTL, and PostgreSQL away for well over it.
  auto args = fleet_args();
  args.emplace_back("--redis-ttl");
  args.emplace_back("2");
  auto& server = start_server(with_args(args));
  const user alice = register_user(server.port(), "alice");
  const std::string room = create_room(server.port(), alice, "Outage", "private");
  const std::string seq_key = "room:seq:{" + room + "}";
  const std::string log_key = "room:updates:{" + room + "}";
  auto& redis = redis_->node(0);

  auto a = connect_hello(server.port(), alice);
  replica view;
  view.load(join_snapshot(*a, room));
  const auto send = [&](const std::string& cid, json::object op) {
    send_acknowledged(*a, room, view, cid, std::move(op));
  };
  ASSERT_NO_FATAL_FAILURE(send("c1", create_op("n0", "kept", 1.0)));
  ASSERT_NO_FATAL_FAILURE(
      wait_persisted(postgres_url_, room, view.seq(), std::chrono::seconds(30)));
  const std::int64_t persisted_before = view.seq();

  postgres_outage outage;
  ASSERT_NO_FATAL_FAILURE(send("c2", body_op("n0", "typed while the database was away")));
  ASSERT_NO_FATAL_FAILURE(send("c3", create_op("n1", "also acknowledged", 2.0)));
  // While the log holds ops PostgreSQL lacks, none of the room's keys may expire.
  EXPECT_EQ(redis_integer(redis, {"TTL", seq_key}), -1);
  EXPECT_EQ(redis_integer(redis, {"TTL", log_key}), -1);
  // Well past the TTL (the passage of time is what is tested here).
  std::this_thread::sleep_for(std::chrono::seconds(5));
  ASSERT_EQ(redis_integer(redis, {"EXISTS", seq_key}), 1) << "the room's seq expired unpersisted";
  ASSERT_EQ(
      redis_integer(redis, {"ZCOUNT", log_key, "(" + std::to_string(persisted_before), "+inf"}),
      view.seq() - persisted_before)
      << "unpersisted ops left the log";

  EXPECT_GT(metric(server.port(), "fun_notes_flush_failures_total"), 0)
      << "flushes failed against the stopped database, and /metrics should say so";
  outage.end();
  ASSERT_NO_FATAL_FAILURE(send("c4", body_op("n1", "typed after it came back")));
  ASSERT_NO_FATAL_FAILURE(
      wait_persisted(postgres_url_, room, view.seq(), std::chrono::seconds(60)));
  EXPECT_EQ(serialized_state(get_notes(server.port(), alice, room)), view.serialized());

  // Fully persisted again: the sliding expiry is back.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (redis_integer(redis, {"TTL", seq_key}) < 0 && redis_integer(redis, {"EXISTS", seq_key})) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the persisted log never got its TTL";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition
  }

  // A server that never saw the room serves every acknowledged op from PostgreSQL.
  auto& fresh = start_server(with_args(fleet_args()));
  auto b = connect_hello(fresh.port(), alice);
  const auto snap = join_snapshot(*b, room);
  EXPECT_EQ(int64(snap, "seq"), view.seq());
  EXPECT_EQ(serialized_state(snap), view.serialized());
}

TEST_F(hot_log_safety, a_room_in_use_keeps_its_log_past_the_ttl_and_an_unused_one_expires) {
  // A 2-second sliding TTL; presence renewed every 300 ms.
  auto args = fleet_args();
  for (const char* a : {"--redis-ttl", "2", "--presence-ttl-ms", "900"}) {
    args.emplace_back(a);
  }
  auto& server = start_server(with_args(args));
  const user alice = register_user(server.port(), "alice");
  const std::string room = create_room(server.port(), alice, "Kept", "private");
  const std::string seq_key = "room:seq:{" + room + "}";
  auto& redis = redis_->node(0);

  auto a = connect_hello(server.port(), alice);
  replica view;
  view.load(join_snapshot(*a, room));
  ASSERT_NO_FATAL_FAILURE(send_acknowledged(*a, room, view, "c1", create_op("n0", "here", 1.0)));
  ASSERT_NO_FATAL_FAILURE(
      wait_persisted(postgres_url_, room, view.seq(), std::chrono::seconds(30)));
  // Someone is in the room, typing nothing, for well over the TTL (time is what is tested).
  std::this_thread::sleep_for(std::chrono::seconds(5));
  EXPECT_EQ(redis_integer(redis, {"EXISTS", seq_key}), 1)
      << "the log of a room in use expired while its user was present";
  EXPECT_GT(redis_integer(redis, {"TTL", seq_key}), 0) << "a persisted log keeps its expiry";

  // Nobody there: the sliding expiry runs out.
  a->close();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (redis_integer(redis, {"EXISTS", seq_key}) == 1) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "an unused room's log never expired";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling a condition
  }
  // And the room goes on whole.
  auto b = connect_hello(server.port(), alice);
  EXPECT_EQ(serialized_state(join_snapshot(*b, room)), view.serialized());
}

TEST_F(hot_log_safety, redis_at_maxmemory_rejects_ops_unavailable_keeps_flushing_then_recovers) {
  auto& server = start_server(with_args(fleet_args()));
  const user alice = register_user(server.port(), "alice");
  const std::string room = create_room(server.port(), alice, "Full", "private");
  auto& redis = redis_->node(0);
  auto a = connect_hello(server.port(), alice);
  replica view;
  view.load(join_snapshot(*a, room));
  for (int i = 0; i < 5; ++i) {
    ASSERT_NO_FATAL_FAILURE(
        send_acknowledged(*a, room, view, "c" + std::to_string(i),
                          create_op("n" + std::to_string(i), "before", i * 1.0)));
  }

  // Redis is full (noeviction, as in deploy/redis.conf): every write that adds data fails.
  ASSERT_EQ(redis.command({"CONFIG", "SET", "maxmemory", "1"}).str, "OK");
  struct restore_memory {
    store::redis::testing::redis_node& node;
    ~restore_memory() { node.command({"CONFIG", "SET", "maxmemory", "0"}); }
  } restore{redis};
  for (int i = 0; i < 3; ++i) {
    const auto answer = send_op_and_wait(*a, room, "full" + std::to_string(i),
                                         update_op("n0", json::object{{"title", "refused"}}));
    ASSERT_EQ(type_of(answer), "reject") << to_string(answer);
    EXPECT_EQ(str(answer, "code"), "unavailable") << to_string(answer);
  }
  // What was acknowledged before still reaches PostgreSQL: flushing and trimming free memory,
  // so they work on a full Redis.
  ASSERT_NO_FATAL_FAILURE(
      wait_persisted(postgres_url_, room, view.seq(), std::chrono::seconds(30)));
  const std::string persisted_key = "room:persisted:{" + room + "}";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (redis.command({"GET", persisted_key}).str != std::to_string(view.seq())) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "the persisted seq was never recorded in the full Redis";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition
  }

  ASSERT_EQ(redis.command({"CONFIG", "SET", "maxmemory", "0"}).str, "OK");
  const auto ack =
      send_op_and_wait(*a, room, "after", update_op("n0", json::object{{"title", "ok"}}));
  ASSERT_EQ(type_of(ack), "op") << to_string(ack);
  EXPECT_EQ(int64(ack, "seq"), view.seq() + 1) << "a refused op left a seq behind";
  view.apply(ack);
  ASSERT_NO_FATAL_FAILURE(
      wait_persisted(postgres_url_, room, view.seq(), std::chrono::seconds(30)));
  EXPECT_EQ(serialized_state(get_notes(server.port(), alice, room)), view.serialized());
}

TEST_F(hot_log_safety, a_log_that_lost_ops_is_rewritten_from_the_state_a_server_holds) {
  auto& server = start_server(with_args(fleet_args()));
  const user alice = register_user(server.port(), "alice");
  const std::string room = create_room(server.port(), alice, "Lost", "private");
  auto& redis = redis_->node(0);
  auto a = connect_hello(server.port(), alice);
  replica view;
  view.load(join_snapshot(*a, room));
  const auto send = [&](const std::string& cid, json::object op) {
    send_acknowledged(*a, room, view, cid, std::move(op));
  };
  ASSERT_NO_FATAL_FAILURE(send("c1", create_op("n1", "persisted", 1.0)));
  ASSERT_NO_FATAL_FAILURE(
      wait_persisted(postgres_url_, room, view.seq(), std::chrono::seconds(30)));
  {
    postgres_outage outage;
    ASSERT_NO_FATAL_FAILURE(send("c2", create_op("n2", "only in Redis", 2.0)));
    ASSERT_NO_FATAL_FAILURE(send("c3", body_op("n1", "edited, only in Redis")));
    ASSERT_NO_FATAL_FAILURE(send("c4", move_op("n2", 0.5)));
    // Redis loses the room (a node restarted without its AOF, say): the unpersisted ops are
    // gone from the log, but this server's hub applied every one of them.
    for (const char* prefix : {"room:seq:", "room:persisted:", "room:updates:"}) {
      redis.command({"DEL", prefix + ("{" + room + "}")});
    }
  }
  ASSERT_NO_FATAL_FAILURE(send("c5", create_op("n3", "after the loss", 3.0)));
  // The flush finds the log short of PostgreSQL and writes the hub's state instead.
  ASSERT_NO_FATAL_FAILURE(
      wait_persisted(postgres_url_, room, view.seq(), std::chrono::seconds(60)));
  EXPECT_EQ(serialized_state(get_notes(server.port(), alice, room)), view.serialized());
  EXPECT_EQ(metric(server.port(), "fun_notes_room_repairs_from_server_state_total"), 1);
  EXPECT_EQ(metric(server.port(), "fun_notes_room_repairs_from_cold_store_total"), 0);

  // Presence reaches the cold store too (debounced): one user is in the room.
  const auto count_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    store::pg::connection c(postgres_url_);
    const auto r = c.exec("SELECT active_user_count FROM note_rooms WHERE id = $1", {room});
    if (r.rows() == 1 && r.int64(0, 0) == 1) {
      break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), count_deadline)
        << "note_rooms.active_user_count never became 1";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling a condition
  }

  // Numbering goes on, and a server that never saw the room serves the same state.
  ASSERT_NO_FATAL_FAILURE(send("c6", update_op("n3", json::object{{"is_important", true}})));
  auto& fresh = start_server(with_args(fleet_args()));
  auto b = connect_hello(fresh.port(), alice);
  const auto snap = join_snapshot(*b, room);
  EXPECT_EQ(int64(snap, "seq"), view.seq());
  EXPECT_EQ(serialized_state(snap), view.serialized());
}

TEST_F(hot_log_safety, a_cold_store_restored_from_an_old_backup_goes_on_with_the_gap_recorded) {
  // A short log tail, so ops the old backup lacks are no longer in the log either.
  auto args = fleet_args();
  args.emplace_back("--hot-log-keep");
  args.emplace_back("2");
  auto& first = start_server(with_args(args));
  const user alice = register_user(first.port(), "alice");
  const std::string room = create_room(first.port(), alice, "Restored", "private");
  replica view;
  {
    auto a = connect_hello(first.port(), alice);
    view.load(join_snapshot(*a, room));
    for (int i = 1; i <= 8; ++i) {
      ASSERT_NO_FATAL_FAILURE(
          send_acknowledged(*a, room, view, "c" + std::to_string(i),
                            create_op("n" + std::to_string(i), "note", i * 1.0)));
    }
    ASSERT_NO_FATAL_FAILURE(wait_persisted(postgres_url_, room, 8, std::chrono::seconds(30)));
  }
  const std::int64_t old_head = view.seq();
  // No server holds the room any more; the database comes back from a backup taken at seq 3.
  first.kill();
  {
    store::pg::connection c(postgres_url_);
    c.exec("DELETE FROM notes WHERE note_room_id = $1 AND sequence_id > 3", {room});
    c.exec("UPDATE note_rooms SET last_seq = 3, total_notes = 3 WHERE id = $1", {room});
  }

  auto& second = start_server(with_args(args));
  auto a = connect_hello(second.port(), alice);
  // The join is answered (not stuck): the room goes on from the backup, past every seq any
  // client may have seen, so a client that saw ops 4..8 can only get a snapshot.
  const auto snap = join_snapshot(*a, room);
  EXPECT_GT(int64(snap, "seq"), old_head);
  EXPECT_EQ(arr(snap, "notes").size(), 3u);
  const auto answer = join(*a, room, old_head);
  EXPECT_EQ(type_of(answer), "snapshot") << to_string(answer);
  const auto ack = send_op_and_wait(*a, room, "after", create_op("n9", "after", 9.0));
  ASSERT_EQ(type_of(ack), "op") << to_string(ack);
  EXPECT_EQ(int64(ack, "seq"), int64(snap, "seq") + 1);
  EXPECT_EQ(metric(second.port(), "fun_notes_room_repairs_from_cold_store_total"), 1);
  // The gap is on record in the cold store.
  store::pg::connection c(postgres_url_);
  const auto gaps = c.exec("SELECT from_seq, to_seq FROM room_gaps WHERE room_id = $1", {room});
  ASSERT_EQ(gaps.rows(), 1);
  EXPECT_EQ(gaps.int64(0, 0), 4);
  EXPECT_EQ(gaps.int64(0, 1), int64(snap, "seq"));
}

class strict_mode : public fleet_test {
 protected:
  strict_mode() { cluster_with_replicas_ = true; }
};

TEST_F(strict_mode, an_op_is_acknowledged_only_once_a_replica_holds_it) {
  auto args = fleet_args();
  for (const char* extra : {"--redis-wait-replicas", "1", "--redis-timeout-ms", "1000"}) {
    args.emplace_back(extra);
  }
  auto& a_server = start_server(with_args(args));
  auto& b_server = start_server(with_args(args));
  const user alice = register_user(a_server.port(), "alice");
  const user bob = register_user(b_server.port(), "bob");
  const std::string room = create_room(a_server.port(), alice, "Strict", "link");
  auto a = connect_hello(a_server.port(), alice);
  auto b = connect_hello(b_server.port(), bob);
  replica a_view;
  replica b_view;
  a_view.load(join_snapshot(*a, room));
  b_view.load(join_snapshot(*b, room));
  // The replicas first finish their initial sync (until then no write can be confirmed).
  ASSERT_NO_THROW(redis_->wait_replicas_synced());
  for (int i = 0; i < 20; ++i) {
    ASSERT_NO_FATAL_FAILURE(send_acknowledged(*a, room, a_view, "c" + std::to_string(i),
                                              create_op("n" + std::to_string(i), "x", i * 1.0)));
  }
  ASSERT_NO_THROW(read_ops_to(*b, b_view, a_view.seq()));

  // Every replica stops answering: nothing can be confirmed, so nothing is acknowledged and
  // nobody sees the op.
  std::vector<store::redis::testing::redis_node*> replicas;
  for (std::size_t i = 0; i < redis_->size(); ++i) {
    const auto info = redis_->node(i).command({"INFO", "replication"});
    if (info.str.find("role:slave") != std::string::npos) {
      replicas.push_back(&redis_->node(i));
    }
  }
  ASSERT_EQ(replicas.size(), 3U);
  struct resume_all {
    std::vector<store::redis::testing::redis_node*>& nodes;
    ~resume_all() {
      for (auto* n : nodes) {
        n->resume();
      }
    }
  } resume{replicas};
  for (auto* n : replicas) {
    n->pause();
  }
  const auto refused =
      send_op_and_wait(*a, room, "unconfirmed", update_op("n0", json::object{{"title", "held"}}));
  ASSERT_EQ(type_of(refused), "reject") << to_string(refused);
  EXPECT_EQ(str(refused, "code"), "unavailable");
  EXPECT_FALSE(b->next_skipping({"presence", "room_stat"}, milliseconds(300)).has_value())
      << "an unconfirmed op reached another server's client";
  for (auto* n : replicas) {
    n->resume();
  }

  // Once a replica holds the log again, the next op is confirmed and published, with the
  // unconfirmed one before it in seq order: both clients converge, gapless.
  const auto ack = send_op_and_wait(*a, room, "confirmed", delete_op("n1"));
  ASSERT_EQ(type_of(ack), "op") << to_string(ack);
  ASSERT_NO_THROW(read_ops_to(*b, b_view, int64(ack, "seq")));
  EXPECT_EQ(int64(ack, "seq"), a_view.seq() + 2);
  auto fresh = connect_hello(b_server.port(), bob);
  EXPECT_EQ(serialized_state(join_snapshot(*fresh, room)), b_view.serialized());
}

}  // namespace
}  // namespace fun_notes::test

// Live sync: ops reach every member in one gapless order, concurrent writers converge, a
// client that comes back with `since` gets exactly what it missed.
#include <chrono>
#include <deque>
#include <set>
#include <thread>

#include "fixture.hpp"

namespace fun_notes::test {
namespace {

class sync : public server_test {};

// Reads op frames into `r` until it reaches `seq`; every op frame's cid is appended to `cids`.
// Rejects and errors fail the test (returned as a message).
std::string read_until(ws_client& ws, std::string_view room, replica& r, std::int64_t seq,
                       std::vector<std::string>* cids = nullptr) {
  while (r.seq() < seq) {
    auto f = ws.next_skipping({"presence", "room_stat"});
    if (!f) {
      auto c = ws.closed();
      return "stopped at seq " + std::to_string(r.seq()) + " waiting for " + std::to_string(seq) +
             (c ? " (closed " + std::to_string(c->code) + " " + c->reason + ")" : std::string{});
    }
    if (type_of(*f) != "op" || str(*f, "room") != room) {
      return "unexpected frame " + to_string(*f);
    }
    r.apply(*f);
    if (cids != nullptr) {
      cids->push_back(str(*f, "cid"));
    }
  }
  return {};
}

// PROTOCOL.md: a snapshot and GET /api/rooms/{id}/notes list notes sorted by
// (current_index, id).
void expect_display_order(const json::object& snapshot_or_notes) {
  const auto& notes = arr(snapshot_or_notes, "notes");
  for (std::size_t i = 1; i < notes.size(); ++i) {
    const auto& a = notes[i - 1].get_object();
    const auto& b = notes[i].get_object();
    const double ia = a.at("current_index").to_number<double>();
    const double ib = b.at("current_index").to_number<double>();
    EXPECT_TRUE(ia < ib || (ia == ib && str(a, "id") < str(b, "id")))
        << "notes out of (current_index, id) order at " << i << ": " << to_string(a) << " then "
        << to_string(b);
  }
}

TEST_F(sync, an_op_reaches_every_member_with_one_seq_and_acks_the_sender) {
  auto& server = start_server();
  const user alice = register_user(server.port(), "alice");
  const user bob = register_user(server.port(), "bob");
  const std::string room = create_room(server.port(), alice, "Shared", "link");

  auto a = connect_hello(server.port(), alice);
  auto b = connect_hello(server.port(), bob);
  const auto snap_a = join_snapshot(*a, room);
  const auto snap_b = join_snapshot(*b, room);
  const std::int64_t s = int64(snap_a, "seq");
  ASSERT_EQ(int64(snap_b, "seq"), s);
  EXPECT_EQ(str(obj(snap_a, "room_info"), "role"), "owner") << to_string(snap_a);
  EXPECT_EQ(str(obj(snap_b, "room_info"), "role"), "editor") << to_string(snap_b);
  EXPECT_EQ(str(obj(snap_b, "room_info"), "id"), room);
  EXPECT_EQ(str(obj(snap_b, "room_info"), "name"), "Shared");
  EXPECT_EQ(str(obj(snap_b, "room_info"), "visibility"), "link");

  a->send(op_frame(room, "alice-1", create_op("milk", "Buy milk", 1024.0, "2 litres", true)));
  for (ws_client* c : {a.get(), b.get()}) {
    FN_EXPECT_FRAME(f, c->next_skipping({"presence"}), "the create op");
    ASSERT_EQ(type_of(f), "op") << to_string(f);
    EXPECT_EQ(str(f, "room"), room);
    EXPECT_EQ(int64(f, "seq"), s + 1);
    EXPECT_EQ(str(f, "cid"), "alice-1");
    EXPECT_EQ(str(f, "user"), alice.id);
    EXPECT_FALSE(str(f, "at").empty());
    const auto& op = obj(f, "op");
    EXPECT_EQ(str(op, "kind"), "create");
    EXPECT_EQ(str(obj(op, "note"), "id"), "milk");
    EXPECT_EQ(str(obj(op, "note"), "title"), "Buy milk");
  }

  b->send(op_frame(room, "bob-1", update_op("milk", json::object{{"title", "Buy oat milk"}})));
  for (ws_client* c : {a.get(), b.get()}) {
    FN_EXPECT_FRAME(f, c->next_skipping({"presence"}), "the update op");
    ASSERT_EQ(type_of(f), "op") << to_string(f);
    EXPECT_EQ(int64(f, "seq"), s + 2);
    EXPECT_EQ(str(f, "cid"), "bob-1");
    EXPECT_EQ(str(f, "user"), bob.id);
  }

  const auto notes = get_notes(server.port(), alice, room);
  EXPECT_EQ(int64(notes, "seq"), s + 2);
  ASSERT_EQ(arr(notes, "notes").size(), 1u) << to_string(notes);
  const auto& note = arr(notes, "notes")[0].get_object();
  EXPECT_EQ(str(note, "id"), "milk");
  EXPECT_EQ(str(note, "title"), "Buy oat milk");
  EXPECT_EQ(str(note, "body"), "2 litres");
  EXPECT_EQ(note.at("is_important"), json::value(true));
  EXPECT_EQ(int64(note, "seq"), s + 2);
}

// The frames a socket that asked for batches receives, unpacked, with the batches counted.
class unbatching_reader {
 public:
  explicit unbatching_reader(ws_client& ws) : ws_(ws) {}
  std::optional<json::object> next() {
    while (pending_.empty()) {
      auto f = ws_.next();
      if (!f) {
        return std::nullopt;
      }
      if (type_of(*f) != "batch") {
        return f;
      }
      ++batches;
      const auto& frames = arr(*f, "frames");
      EXPECT_GE(frames.size(), 2U) << "a lone frame goes unwrapped";
      for (const auto& x : frames) {
        pending_.push_back(x.as_object());
      }
    }
    auto f = std::move(pending_.front());
    pending_.pop_front();
    return f;
  }
  // The next frame that is not presence or room_stat.
  std::optional<json::object> next_skipping_noise() {
    for (;;) {
      auto f = next();
      if (!f || (type_of(*f) != "presence" && type_of(*f) != "room_stat")) {
        return f;
      }
    }
  }
  int batches = 0;

 private:
  ws_client& ws_;
  std::deque<json::object> pending_;
};

// docs/protocol.md "batches": a client that asks for them gets the frames that waited for its
// socket several to a message, each exactly as alone and in order; one that does not, never.
TEST_F(sync, a_lagging_client_that_takes_batches_gets_every_frame_in_order_in_batches) {
  auto& server = start_server();
  const user alice = register_user(server.port(), "alice");
  const user bob = register_user(server.port(), "bob");
  const std::string room = create_room(server.port(), alice, "Batches", "link");

  auto a = connect_hello(server.port(), alice);
  const std::int64_t s = int64(join_snapshot(*a, room), "seq");
  ws_client::options small;
  small.receive_buffer_bytes = 4096;  // a slow link: the server's writes back up quickly
  auto b = ws_client::connect(server.port(), small);
  unbatching_reader bob_frames(*b);
  b->send(json::value{{"type", "hello"}, {"token", bob.token}, {"client", "t"}, {"batch", true}});
  FN_EXPECT_FRAME(w, bob_frames.next(), "welcome");
  ASSERT_EQ(type_of(w), "welcome") << to_string(w);
  EXPECT_EQ(w.at("batch"), json::value(true)) << to_string(w);
  b->send(json::value{{"type", "join"}, {"room", room}});
  FN_EXPECT_FRAME(snap, bob_frames.next_skipping_noise(), "the snapshot");
  ASSERT_EQ(type_of(snap), "snapshot") << to_string(snap);
  ASSERT_EQ(int64(snap, "seq"), s);

  // 90 ops of 2 KB while bob reads nothing, well past what the kernel buffers hold.
  b->pause_reading();
  replica alice_view;
  alice_view.load(get_notes(server.port(), alice, room));
  const int n = 90;
  a->send(op_frame(room, "c-0", create_op("n", "t", 1, "", false)));
  const std::string body(2000, 'b');
  for (int i = 1; i < n; ++i) {
    a->send(op_frame(room, "c-" + std::to_string(i),
                     update_op("n", json::object{{"body", body + std::to_string(i)}})));
  }
  read_ops_to(*a, alice_view, s + n);  // alice, who did not ask, gets plain op frames

  const int batches_before = bob_frames.batches;
  b->resume_reading();
  for (int i = 0; i < n; ++i) {
    FN_EXPECT_FRAME(op, bob_frames.next_skipping_noise(), "the ops, batched or not");
    ASSERT_EQ(type_of(op), "op") << to_string(op);
    EXPECT_EQ(int64(op, "seq"), s + 1 + i);
  }
  EXPECT_GT(bob_frames.batches, batches_before) << "frames that waited should leave together";
  EXPECT_GT(metric(server.port(), "fun_notes_ws_frames_written_total"),
            metric(server.port(), "fun_notes_ws_writes_total"));
}

// The op writer `w` sends as its k-th op: creates, updates, moves, deletes and rebalances that
// aim at its own notes and at the other writers' (so many ops race for the same note).
json::object writer_op(int w, int k) {
  const int i = k / 5;
  auto id = [](int writer, int n) {
    return "w" + std::to_string(writer % 4) + "-n" + std::to_string(n);
  };
  switch (k % 5) {
    case 0:
      return create_op(id(w, i), "title " + std::to_string(w) + "/" + std::to_string(i),
                       w * 1000.0 + i + 0.5, "body", i % 3 == 0, false);
    case 1:
      return update_op(id(w + 1, i), json::object{{"title", "retitled by " + std::to_string(w) +
                                                                " at " + std::to_string(k)},
                                                  {"is_important", k % 2 == 0}});
    case 2:
      return move_op(id(w + 2, i), (k * 7 % 1000) + w * 0.25);
    case 3:
      return update_op(id(w, i),
                       json::object{{"body", "body " + std::to_string(w) + " " + std::to_string(k)},
                                    {"is_completed", true}});
    default:
      if (i % 2 == 0) {
        return delete_op(id(w + 3, i / 2));
      }
      return rebalance_op({{id(w, i), i * 2.0}, {id(w + 1, i), i * 2.0 + 1}});
  }
}

TEST_F(sync, concurrent_writers_and_a_reader_see_one_gapless_history_and_converge) {
  auto& server = start_server(with_args({"--max-op-rate", "100000", "--max-op-burst", "100000"}));
  constexpr int writers = 4;
  constexpr int ops_per_writer = 500;
  constexpr int total = writers * ops_per_writer;

  const user owner = register_user(server.port(), "owner");
  const std::string room = create_room(server.port(), owner, "Busy", "link");

  std::vector<user> users;
  std::vector<std::unique_ptr<ws_client>> clients;  // writers first, the reader last
  std::vector<replica> replicas(writers + 1);
  std::int64_t s0 = -1;
  for (int c = 0; c <= writers; ++c) {
    users.push_back(c == writers ? register_user(server.port(), "reader")
                                 : register_user(server.port(), "writer"));
    clients.push_back(connect_hello(server.port(), users.back()));
    const auto snap = join_snapshot(*clients.back(), room);
    replicas[c].load(snap);
    if (s0 < 0) {
      s0 = int64(snap, "seq");
    }
    ASSERT_EQ(int64(snap, "seq"), s0) << "nothing was written yet";
  }

  // Interleave the writers' frames; each client's frames go out on its own connection.
  for (int k = 0; k < ops_per_writer; ++k) {
    for (int w = 0; w < writers; ++w) {
      clients[w]->send(
          op_frame(room, "w" + std::to_string(w) + "-c" + std::to_string(k), writer_op(w, k)));
    }
  }

  std::set<std::string> all_cids;
  for (int w = 0; w < writers; ++w) {
    for (int k = 0; k < ops_per_writer; ++k) {
      all_cids.insert("w" + std::to_string(w) + "-c" + std::to_string(k));
    }
  }

  for (int c = 0; c <= writers; ++c) {
    std::vector<std::string> cids;
    const std::string failure = read_until(*clients[c], room, replicas[c], s0 + total, &cids);
    ASSERT_EQ(failure, "") << "client " << c << " (" << (c == writers ? "reader" : "writer") << ")";
    // Every op exactly once, in seq order with no gap (replica::apply checks the order).
    ASSERT_EQ(replicas[c].applied_seqs().size(), static_cast<std::size_t>(total));
    EXPECT_EQ(replicas[c].applied_seqs().front(), s0 + 1);
    EXPECT_EQ(replicas[c].applied_seqs().back(), s0 + total);
    const std::set<std::string> seen(cids.begin(), cids.end());
    EXPECT_EQ(seen.size(), cids.size()) << "client " << c << " got a cid twice";
    EXPECT_EQ(seen, all_cids) << "client " << c;
  }

  // Byte-identical states everywhere, and the server's own view agrees.
  const std::string expected = replicas[writers].serialized();
  for (int c = 0; c < writers; ++c) {
    EXPECT_EQ(replicas[c].serialized(), expected) << "writer " << c << " diverged";
  }
  const auto notes = get_notes(server.port(), owner, room);
  EXPECT_EQ(int64(notes, "seq"), s0 + total);
  EXPECT_EQ(serialized_state(notes), expected);
  expect_display_order(notes);
  EXPECT_FALSE(replicas[writers].state().size() == 0) << "the workload should leave notes";

  // A newcomer's snapshot is the same state.
  auto late = connect_hello(server.port(), owner);
  const auto late_snap = join_snapshot(*late, room);
  EXPECT_EQ(int64(late_snap, "seq"), s0 + total);
  EXPECT_EQ(serialized_state(late_snap), expected);
  expect_display_order(late_snap);
}

TEST_F(sync, a_client_that_rejoins_with_since_gets_exactly_the_ops_it_missed) {
  auto& server = start_server();
  const user alice = register_user(server.port(), "alice");
  const user bob = register_user(server.port(), "bob");
  const std::string room = create_room(server.port(), alice, "Resume", "link");

  auto a = connect_hello(server.port(), alice);
  ASSERT_NO_THROW(join_snapshot(*a, room));
  replica bob_view;
  {
    auto b = connect_hello(server.port(), bob);
    bob_view.load(join_snapshot(*b, room));
    for (int i = 0; i < 3; ++i) {
      const auto ack = send_op_and_wait(*a, room, "before-" + std::to_string(i),
                                        create_op("n" + std::to_string(i), "note", i * 10.0));
      ASSERT_EQ(type_of(ack), "op") << to_string(ack);
    }
    ASSERT_EQ(read_until(*b, room, bob_view, bob_view.seq() + 3), "");
    b->abort();  // Bob's laptop drops off the network.
  }
  const std::int64_t last_seen = bob_view.seq();

  std::vector<std::string> missed_cids;
  for (int i = 0; i < 5; ++i) {
    missed_cids.push_back("missed-" + std::to_string(i));
    const auto ack = send_op_and_wait(
        *a, room, missed_cids.back(),
        i % 2 == 0 ? update_op("n" + std::to_string(i % 3), json::object{{"title", "edited"}})
                   : create_op("m" + std::to_string(i), "while away", 100.0 + i));
    ASSERT_EQ(type_of(ack), "op") << to_string(ack);
  }

  auto b = connect_hello(server.port(), bob);
  const auto answer = join(*b, room, last_seen);
  ASSERT_EQ(type_of(answer), "resume") << "5 recent ops are still held: " << to_string(answer);
  EXPECT_EQ(str(answer, "room"), room);
  EXPECT_EQ(int64(answer, "since"), last_seen);
  bob_view.expect_resume(last_seen);

  std::vector<std::string> cids;
  ASSERT_EQ(read_until(*b, room, bob_view, last_seen + 5, &cids), "");
  EXPECT_EQ(cids, missed_cids);

  // Then live ops, and nothing in between: the next op is the next seq.
  const auto live = send_op_and_wait(*a, room, "live-1", move_op("n0", 5000.0));
  ASSERT_EQ(type_of(live), "op") << to_string(live);
  FN_EXPECT_FRAME(next, b->next_skipping({"presence"}), "the live op");
  ASSERT_EQ(type_of(next), "op") << to_string(next);
  EXPECT_EQ(str(next, "cid"), "live-1");
  ASSERT_NO_THROW(bob_view.apply(next));
  EXPECT_EQ(int64(next, "seq"), last_seen + 6);

  EXPECT_EQ(bob_view.serialized(), serialized_state(get_notes(server.port(), bob, room)));
}

TEST_F(sync, ping_gets_a_pong_with_the_same_t) {
  auto& server = start_server();
  const user u = register_user(server.port(), "pinger");
  auto ws = connect_hello(server.port(), u);
  ws->send(json::value{{"type", "ping"}, {"t", 7}});
  FN_EXPECT_FRAME(pong, ws->next(), "pong");
  EXPECT_EQ(type_of(pong), "pong") << to_string(pong);
  EXPECT_EQ(pong.at("t"), json::value(7)) << to_string(pong);

  ws->send(json::value{{"type", "ping"}, {"t", "abc"}});
  FN_EXPECT_FRAME(pong2, ws->next(), "second pong");
  EXPECT_EQ(type_of(pong2), "pong") << to_string(pong2);
  EXPECT_EQ(pong2.at("t"), json::value("abc")) << to_string(pong2);
}

}  // namespace
}  // namespace fun_notes::test

namespace fun_notes::test {
namespace {

// How many rooms the server holds in memory, from /metrics.
std::int64_t rooms_loaded(std::uint16_t port) {
  const auto n = metric(port, "fun_notes_rooms_loaded");
  if (n < 0) {
    throw protocol_failure("/metrics lacks fun_notes_rooms_loaded");
  }
  return n;
}

TEST_F(sync, a_room_unloaded_from_memory_comes_back_whole_from_the_stores) {
  // Empty rooms unload at once and flushes come quickly, so the second visit is served from
  // the SQLite snapshot plus the op log rather than from the first visit's memory.
  auto& server = start_server(with_args({"--room-idle-ms", "1", "--flush-quiet-ms", "5"}));
  const user alice = register_user(server.port(), "alice");
  const std::string room = create_room(server.port(), alice, "Comes back", "private");

  replica first_visit;
  {
    auto a = connect_hello(server.port(), alice);
    first_visit.load(join_snapshot(*a, room));
    for (int i = 0; i < 5; ++i) {
      const auto ack = send_op_and_wait(*a, room, "c" + std::to_string(i),
                                        create_op("n" + std::to_string(i), "note", i * 1.0));
      ASSERT_EQ(type_of(ack), "op") << to_string(ack);
      first_visit.apply(ack);
    }
    a->close();
  }
  const auto deadline = std::chrono::steady_clock::now() + default_wait;
  while (rooms_loaded(server.port()) != 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the empty room never unloaded";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a condition
  }

  auto b = connect_hello(server.port(), alice);
  const auto snap = join_snapshot(*b, room);
  EXPECT_EQ(int64(snap, "seq"), first_visit.seq());
  EXPECT_EQ(serialized_state(snap), first_visit.serialized());

  // Resuming from the middle still works: the log keeps recent ops after they are persisted.
  auto c = connect_hello(server.port(), alice);
  const auto answer = join(*c, room, first_visit.seq() - 2);
  ASSERT_EQ(type_of(answer), "resume") << to_string(answer);
  for (std::int64_t seq = first_visit.seq() - 1; seq <= first_visit.seq(); ++seq) {
    auto f = c->next_skipping({"presence", "room_stat"});
    ASSERT_TRUE(f.has_value()) << "missing op " << seq;
    ASSERT_EQ(type_of(*f), "op") << to_string(*f);
    EXPECT_EQ(int64(*f, "seq"), seq);
  }
}

TEST_F(sync, resume_needs_every_op_after_since_one_older_than_the_oldest_held_gets_a_snapshot) {
  // The log keeps 5 ops once they are persisted; a restart makes the server hold only those.
  auto& server = start_server(with_args({"--hot-log-keep", "5", "--flush-quiet-ms", "20"}));
  const user alice = register_user(server.port(), "alice");
  const std::string room = create_room(server.port(), alice, "Edge", "private");
  replica view;
  {
    auto a = connect_hello(server.port(), alice);
    view.load(join_snapshot(*a, room));
    for (int i = 0; i < 20; ++i) {
      const auto ack = send_op_and_wait(*a, room, "c" + std::to_string(i),
                                        create_op("n" + std::to_string(i), "note", i * 1.0));
      ASSERT_EQ(type_of(ack), "op") << to_string(ack);
      view.apply(ack);
    }
    a->close();
  }
  ASSERT_EQ(server.terminate(), 0);  // drains the write-behind: persisted, trimmed to 5
  server.restart();
  const std::int64_t head = view.seq();
  const std::int64_t oldest_held = head - 4;

  // since = oldest_held - 1: the op after it is the oldest held, so resume is exact.
  auto b = connect_hello(server.port(), alice);
  const auto resumed = join(*b, room, oldest_held - 1);
  ASSERT_EQ(type_of(resumed), "resume") << to_string(resumed);
  for (std::int64_t seq = oldest_held; seq <= head; ++seq) {
    auto f = b->next_skipping({"presence", "room_stat"});
    ASSERT_TRUE(f.has_value()) << "missing op " << seq;
    ASSERT_EQ(type_of(*f), "op") << to_string(*f);
    EXPECT_EQ(int64(*f, "seq"), seq);
  }
  // One older: op oldest_held - 1 is no longer held, so only a snapshot is right.
  auto c = connect_hello(server.port(), alice);
  const auto answer = join(*c, room, oldest_held - 2);
  ASSERT_EQ(type_of(answer), "snapshot")
      << "op " << oldest_held - 1 << " is gone, yet: " << to_string(answer);
  EXPECT_EQ(int64(answer, "seq"), head);
  EXPECT_EQ(serialized_state(answer), view.serialized());
}

}  // namespace
}  // namespace fun_notes::test

// Order under stress: 1,000 consecutive moves into the same slot (between the first two notes),
// planned by the terminal client's replica (cli/sync), which moves a note between its
// neighbours with `core::between` and, once the gap between them is exhausted, renumbers the
// smallest window around it with a rebalance. The gap halves with every move, so rebalances
// come every few dozen moves; after each move every client shows the same strict order (no two
// notes share an index) with the note in the slot. Then clients race: moves and rebalances
// sent at once by three clients that read late, settled by seq; every client ends with the
// server's order.
#include <algorithm>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "fixture.hpp"
#include "fleet.hpp"
#include "replica_socket.hpp"

namespace fun_notes::test {
namespace {

namespace cs = fun_notes::cli::sync;

// One terminal-client replica on its own socket, moving notes.
class mover : public replica_socket {
 public:
  mover(std::uint16_t port, const user& u, const std::string& room, std::string name)
      : replica_socket(port, u, room, std::move(name)) {
    go_live();
  }

  // Moves `note_id` to position `to` of this client's view.
  void move(const std::string& note_id, std::size_t to) {
    const std::size_t before = replica_.outbox().size();
    auto e = replica_.move(note_id, cs::move_target{cs::move_target::kind::position, to},
                           name_ + "-" + std::to_string(++cids_), "2026-12-03T00:00:00.000Z");
    for (std::size_t i = before; i < replica_.outbox().size(); ++i) {
      if (std::holds_alternative<core::rebalance_op>(replica_.outbox()[i].op)) {
        ++rebalances_;
      }
    }
    send(std::move(e));
  }

  void settle() {
    pump_until([&] { return replica_.outbox().empty(); }, "moves never all acknowledged");
  }

  void read_to(std::int64_t seq) {
    pump_until([&] { return replica_.base().seq() >= seq; },
               "never reached seq " + std::to_string(seq));
  }

  int rebalances() const { return rebalances_; }
  int rejects() const { return rejects_; }
  int gaps() const { return gaps_; }

 private:
  void seen(const cs::server_msg& msg) override {
    if (std::holds_alternative<cs::reject_msg>(msg)) {
      ++rejects_;
    }
  }
  void applied(const cs::effects& e) override {
    if (e.gap) {
      ++gaps_;
    }
  }

  int cids_ = 0;
  int rebalances_ = 0;
  int rejects_ = 0;
  int gaps_ = 0;
};

std::vector<std::string> order_of(const core::room_state& s) {
  std::vector<std::string> ids;
  for (const auto& n : s.sorted_notes()) {
    ids.push_back(n.id);
  }
  return ids;
}

// No two notes share an index: the order does not fall back on ids.
void expect_strict(const core::room_state& s, const std::string& who) {
  std::set<double> indexes;
  for (const auto& n : s.sorted_notes()) {
    EXPECT_TRUE(indexes.insert(n.current_index).second)
        << who << ": index " << n.current_index << " of " << n.id << " is shared";
  }
}

void thousand_moves_then_races(std::uint16_t a_port, std::uint16_t b_port, const user& u) {
  const std::string room = create_room(a_port, u, "Order", "private");
  {
    auto setup = connect_hello(a_port, u);
    join_snapshot(*setup, room);
    for (int i = 0; i < 10; ++i) {
      const auto ack = send_op_and_wait(
          *setup, room, "n" + std::to_string(i),
          create_op("n" + std::to_string(i), "note " + std::to_string(i), 1024.0 * (i + 1)));
      ASSERT_EQ(type_of(ack), "op") << to_string(ack);
    }
  }
  std::vector<std::unique_ptr<mover>> clients;
  clients.push_back(std::make_unique<mover>(a_port, u, room, "a"));
  clients.push_back(std::make_unique<mover>(b_port, u, room, "b"));
  clients.push_back(std::make_unique<mover>(a_port, u, room, "c"));
  std::mt19937_64 rng(20261203);

  // 1,000 consecutive moves into slot 1, each seen by everyone before the next.
  for (int i = 0; i < 1000; ++i) {
    auto& c = *clients[static_cast<std::size_t>(i) % clients.size()];
    const auto& view = c.replica().view();
    // Any note but the two around the slot.
    const std::size_t pick = std::uniform_int_distribution<std::size_t>(2, view.size() - 1)(rng);
    const std::string id = view[pick].id;
    c.move(id, 1);
    c.settle();
    const std::int64_t seq = c.replica().base().seq();
    for (auto& other : clients) {
      other->read_to(seq);
    }
    const auto order = order_of(c.replica().base());
    ASSERT_EQ(order[1], id) << "move " << i << " put the note in the slot";
    expect_strict(c.replica().base(), "move " + std::to_string(i));
    if (::testing::Test::HasFailure()) {
      return;
    }
    for (auto& other : clients) {
      ASSERT_EQ(order_of(other->replica().base()), order) << "move " << i;
    }
  }
  int sequential_rebalances = 0;
  for (const auto& c : clients) {
    sequential_rebalances += c->rebalances();
  }
  EXPECT_GT(sequential_rebalances, 5) << "the slot's gap ran out and was renumbered";

  // Races: each client moves into the slot while the others' moves are still on their way.
  for (int i = 0; i < 300; ++i) {
    auto& c = *clients[std::uniform_int_distribution<std::size_t>(0, clients.size() - 1)(rng)];
    const auto& view = c.replica().view();
    c.move(view[std::uniform_int_distribution<std::size_t>(2, view.size() - 1)(rng)].id, 1);
    if (std::uniform_int_distribution<int>(0, 3)(rng) == 0) {
      clients[std::uniform_int_distribution<std::size_t>(0, clients.size() - 1)(rng)]->pump();
    }
  }
  for (auto& c : clients) {
    c->settle();
  }
  const json::object notes = get_notes(b_port, u, room);
  const std::int64_t last = int64(notes, "seq");
  replica server_view;
  server_view.load(notes);
  // Two rebalances planned at once from the same neighbours may give two notes one index; the
  // order stays total and the same everywhere ((current_index, id)), and the next move into
  // that spot finds no gap there and renumbers it.
  std::set<double> indexes;
  int shared = 0;
  for (const auto& n : server_view.state().sorted_notes()) {
    shared += indexes.insert(n.current_index).second ? 0 : 1;
  }
  for (auto& c : clients) {
    c->read_to(last);
    EXPECT_EQ(core::serialize_state(c->replica().base()), serialized_state(notes));
    EXPECT_EQ(c->rejects(), 0);
  }
  std::printf(
      "order: %d rebalances in 1,000 sequential moves, %d in all; after the races %d "
      "notes share an index with a neighbour\n",
      sequential_rebalances,
      clients[0]->rebalances() + clients[1]->rebalances() + clients[2]->rebalances(), shared);
}

class order_stress : public server_test {};
class order_stress_fleet : public fleet_test {};

TEST_F(order_stress, a_thousand_moves_into_one_slot_keep_one_strict_order_everywhere) {
  auto& server = start_server(with_args({"--max-op-rate", "100000", "--max-op-burst", "100000"}));
  const user u = register_user(server.port(), "order");
  thousand_moves_then_races(server.port(), server.port(), u);
}

TEST_F(order_stress_fleet, a_thousand_moves_into_one_slot_keep_one_strict_order_on_two_servers) {
  auto args = fleet_args();
  auto& a = start_server(with_args(args));
  auto& b = start_server(with_args(args));
  const user u = register_user(a.port(), "orderf");
  thousand_moves_then_races(a.port(), b.port(), u);
}

}  // namespace
}  // namespace fun_notes::test

// The local fleet's load balancer: two servers behind a real HAProxy configured from
// deploy/haproxy.cfg. Clients spread over both servers through one port; when a server is
// killed mid-burst its client reconnects through HAProxy to the survivor, resumes with `since`
// and ends identical to the other client.
#include <chrono>
#include <set>
#include <sstream>
#include <thread>

#include "fixture.hpp"
#include "pg_test_server.hpp"
#include "redis_test_server.hpp"

namespace fun_notes::test {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

// A client after hello: the connection and the instance id from welcome.server.
struct session {
  std::unique_ptr<ws_client> ws;
  std::string server;
};

session hello(std::uint16_t port, const user& u) {
  session s{ws_client::connect(port), {}};
  s.ws->send(json::value{{"type", "hello"}, {"token", u.token}, {"client", "haproxy-test"}});
  auto f = s.ws->next();
  if (!f || type_of(*f) != "welcome") {
    throw protocol_failure("no welcome after hello" + (f ? ": " + to_string(*f) : ""));
  }
  s.server = str(*f, "server");
  return s;
}

class haproxy_fleet : public server_test {
 protected:
  std::vector<std::string> fleet_args() {
    if (!redis_) {
      redis_ = store::redis::testing::redis_deployment::standalone();
      postgres_url_ = store::testing::fresh_postgres_database();
    }
    std::ostringstream urls;
    for (const auto& u : redis_->urls()) {
      urls << (urls.tellp() > 0 ? "," : "") << u;
    }
    return {"--postgres",      postgres_url_, "--redis",          urls.str(),
            "--max-op-rate",   "100000",      "--max-op-burst",   "100000",
            "--flush-quiet-ms", "20"};
  }

  void TearDown() override {
    if (HasFailure() && haproxy_) {
      std::cerr << "--- haproxy log ---\n" << haproxy_->log() << "\n";
    }
    haproxy_.reset();
    server_test::TearDown();
  }

  std::unique_ptr<store::redis::testing::redis_deployment> redis_;
  std::string postgres_url_;
  std::unique_ptr<haproxy_process> haproxy_;
};

TEST_F(haproxy_fleet, clients_spread_over_servers_and_survive_a_killed_server) {
  ASSERT_FALSE(haproxy_process::binary().empty())
      << "haproxy is not installed: run scripts/setup.sh (or point HAPROXY_BIN at it)";
  server_process* servers[] = {&start_server(with_args(fleet_args())),
                               &start_server(with_args(fleet_args()))};
  const user alice = register_user(servers[0]->port(), "alice");

  // Each server's instance id, asked directly.
  std::map<std::string, server_process*> by_id;
  for (auto* s : servers) {
    auto direct = hello(s->port(), alice);
    by_id[direct.server] = s;
    direct.ws->close();
  }
  ASSERT_EQ(by_id.size(), 2u) << "the two servers report the same instance id";

  ASSERT_NO_THROW(haproxy_ = std::make_unique<haproxy_process>(
                      fs::path(FUN_NOTES_SOURCE_DIR) / "deploy" / "haproxy.cfg",
                      std::vector<std::uint16_t>{servers[0]->port(), servers[1]->port()}));
  ASSERT_NO_THROW(haproxy_->wait_ready());
  const std::uint16_t lb = haproxy_->port();

  // The HTTP API works through HAProxy too.
  const user bob = register_user(lb, "bob");
  const std::string room = create_room(lb, alice, "Balanced", "link");

  // leastconn puts the second connection on the other server; should it not (a health check
  // still pending), more connections are opened until both servers are in use.
  std::vector<session> extra;
  session a = hello(lb, alice);
  session b;
  for (int i = 0; i < 10 && b.server.empty(); ++i) {
    session s = hello(lb, bob);
    if (s.server != a.server) {
      b = std::move(s);
    } else {
      extra.push_back(std::move(s));
    }
  }
  ASSERT_FALSE(b.server.empty()) << "HAProxy routed every connection to " << a.server;
  ASSERT_TRUE(by_id.count(a.server) && by_id.count(b.server));

  replica a_view;
  replica b_view;
  a_view.load(join_snapshot(*a.ws, room));
  b_view.load(join_snapshot(*b.ws, room));

  // Both write at once, each through HAProxy to its own server.
  constexpr int per_writer = 100;
  for (int i = 0; i < per_writer; ++i) {
    a.ws->send(op_frame(room, "a" + std::to_string(i),
                        create_op("a" + std::to_string(i), "from A", i * 1.0)));
    b.ws->send(op_frame(room, "b" + std::to_string(i),
                        create_op("b" + std::to_string(i), "from B", i * 1.0 + 0.5)));
  }
  const std::int64_t target = a_view.seq() + 2 * per_writer;
  ASSERT_NO_THROW(read_ops_to(*a.ws, a_view, target));
  ASSERT_NO_THROW(read_ops_to(*b.ws, b_view, target));
  EXPECT_EQ(a_view.serialized(), b_view.serialized());

  // A burst from A; A's server is killed once half of it is acknowledged.
  for (int i = 0; i < 100; ++i) {
    a.ws->send(op_frame(room, "k" + std::to_string(i),
                        update_op("a" + std::to_string(i % per_writer),
                                  json::object{{"title", "k" + std::to_string(i)}})));
  }
  std::set<std::string> acked;  // cids of A's acknowledged burst ops
  while (acked.size() < 50) {
    auto f = a.ws->next_skipping({"presence", "room_stat"});
    ASSERT_TRUE(f.has_value()) << "acks stopped at " << acked.size();
    ASSERT_EQ(type_of(*f), "op") << to_string(*f);
    a_view.apply(*f);
    if (f->contains("cid") && str(*f, "cid").starts_with("k")) {
      acked.insert(str(*f, "cid"));
    }
  }
  by_id[a.server]->kill();

  // A's connection through HAProxy drops; what arrived before counts.
  const auto drop_deadline = clock_type::now() + default_wait;
  while (!a.ws->is_closed() && clock_type::now() < drop_deadline) {
    if (auto f = a.ws->next_skipping({"presence", "room_stat"}, 1000ms)) {
      ASSERT_EQ(type_of(*f), "op") << to_string(*f);
      a_view.apply(*f);
      if (f->contains("cid") && str(*f, "cid").starts_with("k")) {
        acked.insert(str(*f, "cid"));
      }
    }
  }
  ASSERT_TRUE(a.ws->is_closed()) << "the client of the killed server was not disconnected";
  const std::int64_t last_applied = a_view.seq();
  ASSERT_NO_THROW(read_ops_to(*b.ws, b_view, last_applied));

  // A reconnects through HAProxy until it is routed to the live server (HAProxy retries a
  // refused connection elsewhere, and the health check takes the dead one out of rotation).
  session a2;
  std::string last_error;
  const auto reconnect_deadline = clock_type::now() + default_wait;
  while (a2.server.empty() && clock_type::now() < reconnect_deadline) {
    try {
      a2 = hello(lb, alice);
    } catch (const protocol_failure& e) {
      last_error = e.what();
      std::this_thread::sleep_for(50ms);  // retry interval, not a synchronisation
    }
  }
  ASSERT_FALSE(a2.server.empty()) << "no reconnect through HAProxy: " << last_error;
  EXPECT_EQ(a2.server, b.server);

  const auto answer = join(*a2.ws, room, last_applied);
  if (type_of(answer) == "resume") {
    EXPECT_EQ(int64(answer, "since"), last_applied);
    a_view.expect_resume(last_applied);
  } else {
    ASSERT_EQ(type_of(answer), "snapshot") << to_string(answer);
    a_view.load(answer);
  }

  // B keeps writing; both clients converge on its next op.
  b.ws->send(op_frame(room, "after-kill", delete_op("b0")));
  json::object ack;
  for (;;) {  // B applies every op up to and including its ack
    auto f = b.ws->next_skipping({"presence", "room_stat"});
    ASSERT_TRUE(f.has_value()) << "no ack for after-kill";
    ASSERT_EQ(type_of(*f), "op") << to_string(*f);
    b_view.apply(*f);
    if (f->contains("cid") && str(*f, "cid") == "after-kill") {
      ack = std::move(*f);
      break;
    }
  }
  ASSERT_GT(int64(ack, "seq"), last_applied);
  ASSERT_NO_THROW(read_ops_to(*a2.ws, a_view, int64(ack, "seq")));
  EXPECT_EQ(a_view.serialized(), b_view.serialized());
  EXPECT_EQ(a_view.seq(), int64(ack, "seq"));

  // Every burst op A saw acknowledged is in the final state: notes a<i> carry the title of
  // the last acknowledged k-op that updated them.
  const auto final_notes = get_notes(lb, bob, room);
  const std::string final_state = serialized_state(final_notes);
  EXPECT_EQ(final_state, a_view.serialized());
  for (const auto& cid : acked) {
    EXPECT_NE(final_state.find("\"" + cid + "\""), std::string::npos)
        << "acknowledged " << cid << " missing from the final state";
  }

  a2.ws->close();
  b.ws->close();
  haproxy_->stop();
  EXPECT_FALSE(haproxy_->running());
}

}  // namespace
}  // namespace fun_notes::test

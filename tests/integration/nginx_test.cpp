// The fleet behind nginx: two servers on PostgreSQL and Redis behind a real nginx configured
// from deploy/nginx.conf. The HTTP API, the page and the WebSocket pass through it; the servers
// see each client's own address, not nginx's; a client whose server is killed reconnects
// through nginx to the survivor and catches up without losing an acknowledged op.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "fleet.hpp"

namespace fun_notes::test {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

// The status of one HTTP request sent from `source`, one of the many loopback addresses
// (127.0.0.0/8), so nginx sees a client address of the test's choosing; `headers` end with
// "\r\n". The connection is closed once the status line is in.
int status_from(const char* source, std::uint16_t port, const std::string& request_line,
                const std::string& headers, const std::string& body = {}) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    throw protocol_failure("socket failed");
  }
  const timeval timeout{static_cast<time_t>(default_wait.count() / 1000), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    throw protocol_failure(std::string("cannot connect from ") + source);
  }
  const std::string request =
      request_line + "\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" + headers +
      (body.empty() ? std::string() : "Content-Length: " + std::to_string(body.size()) + "\r\n") +
      "\r\n" + body;
  std::string answer;
  if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buf[512];
    for (ssize_t n;
         answer.find("\r\n") == std::string::npos && (n = ::read(fd, buf, sizeof buf)) > 0;) {
      answer.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  // "HTTP/1.1 200 OK"
  if (answer.size() < 12 || answer.compare(0, 5, "HTTP/") != 0) {
    throw protocol_failure("no HTTP answer to " + request_line + " from " + source);
  }
  return std::stoi(answer.substr(9, 3));
}

// A sign-in from `source` that claims to come from `claimed` in an X-Forwarded-For of its own,
// as a client trying to dodge the per-address throttle would.
int login_status_from(const char* source, std::uint16_t port, const std::string& name,
                      const std::string& password, const std::string& claimed) {
  return status_from(
      source, port, "POST /api/login HTTP/1.1",
      "Content-Type: application/json\r\nConnection: close\r\nX-Forwarded-For: " + claimed + "\r\n",
      serialize(json::value{{"username", name}, {"password", password}}));
}

class nginx_fleet : public fleet_test {
 protected:
  // Two servers that believe nginx's X-Forwarded-* (it connects from 127.0.0.1), nginx in front.
  std::vector<server_process*> start_fleet() {
    std::vector<server_process*> servers;
    for (int i = 0; i < 2; ++i) {
      auto args = fleet_args();
      args.insert(args.end(), {"--trusted-proxies", "127.0.0.1"});
      servers.push_back(&start_server(with_args(std::move(args))));
    }
    return servers;
  }

  std::uint16_t start_nginx(const std::vector<server_process*>& servers) {
    std::vector<std::uint16_t> ports;
    for (auto* s : servers) {
      ports.push_back(s->port());
    }
    nginx_ = std::make_unique<nginx_process>(
        fs::path(FUN_NOTES_SOURCE_DIR) / "deploy" / "nginx.conf", ports);
    nginx_->wait_ready();
    return nginx_->port();
  }

  void SetUp() override {
    if (nginx_process::binary().empty()) {
      GTEST_FAIL() << "nginx is not installed: run scripts/setup.sh (or point NGINX_BIN at it)";
    }
  }

  void TearDown() override {
    if (HasFailure() && nginx_) {
      std::cerr << "--- nginx log ---\n" << nginx_->log() << "\n";
    }
    nginx_.reset();
    fleet_test::TearDown();
  }

  std::unique_ptr<nginx_process> nginx_;
};

TEST_F(nginx_fleet, passes_the_api_the_page_and_each_clients_own_address) {
  const auto servers = start_fleet();
  std::uint16_t lb = 0;
  ASSERT_NO_THROW(lb = start_nginx(servers));

  // Sign-up, sign-in and the API through nginx.
  const user alice = register_user(lb, "alice");
  const auto login =
      http_request(lb, "POST", "/api/login",
                   json::value{{"username", alice.name}, {"password", alice.password}});
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string token = str(login.json.as_object(), "token");
  const user signed_in{alice.id, alice.name, alice.password, token};
  const std::string room = create_room(lb, signed_in, "Through nginx", "link");
  EXPECT_EQ(int64(get_notes(lb, signed_in, room), "seq"), 0);
  for (const char* path : {"/healthz", "/readyz"}) {
    EXPECT_EQ(http_request(lb, "GET", path).status, 200) << path;
  }
  const auto page = http_request(lb, "GET", "/");
  EXPECT_EQ(page.status, 200);
  const std::string type =
      page.headers.count("content-type") ? page.headers.at("content-type") : "";
  EXPECT_TRUE(type.starts_with("text/html")) << type;

  // Bodies up to the server's own 1 MiB limit reach it (it answers that this is no JSON);
  // past it nginx refuses them as the server would.
  auto body = [](std::size_t bytes) { return std::optional<std::string>(std::string(bytes, 'x')); };
  EXPECT_EQ(http_request(lb, "POST", "/api/login", body(1000 * 1024)).status, 400);
  EXPECT_EQ(http_request(lb, "POST", "/api/login", body(1024 * 1024 + 1)).status, 413);

  // The page opens /ws from nginx's origin: the server sees nginx's host and port (Host is
  // passed on whole) and the scheme (X-Forwarded-Proto), so that origin is its own.
  ws_client::options own;
  own.origin = "http://127.0.0.1:" + std::to_string(lb);
  EXPECT_EQ(ws_client::upgrade_status(lb, own), 101);
  ws_client::options foreign;
  foreign.origin = "http://evil.example";
  EXPECT_EQ(ws_client::upgrade_status(lb, foreign), 403);
  // The scheme is nginx's to say: a client's own X-Forwarded-Proto does not reach the server.
  const std::string upgrade =
      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: " +
      own.origin + "\r\n";
  EXPECT_EQ(status_from("127.0.0.1", lb, "GET /ws HTTP/1.1", upgrade), 101);
  EXPECT_EQ(
      status_from("127.0.0.1", lb, "GET /ws HTTP/1.1", upgrade + "X-Forwarded-Proto: https\r\n"),
      101);

  // Wrong passwords from 127.0.0.5, each for a name without an account and each claiming
  // another address in its own X-Forwarded-For: nginx appends the address it saw, the server
  // counts that one, and past the free failures per address (20) 127.0.0.5 is locked out.
  int locked_after = 0;
  for (int i = 1; i <= 40 && locked_after == 0; ++i) {
    const int status = login_status_from("127.0.0.5", lb, unique_username("ghost"),
                                         "wrong-password", "198.51.100." + std::to_string(i));
    if (status == 429) {
      locked_after = i - 1;
    } else {
      ASSERT_EQ(status, 401) << "attempt " << i;
    }
  }
  ASSERT_NE(locked_after, 0) << "127.0.0.5 was never locked out: the servers believed the "
                                "client's X-Forwarded-For";
  EXPECT_GE(locked_after, 20);
  // The lock is 127.0.0.5's alone, not nginx's: another client signs in.
  EXPECT_EQ(login_status_from("127.0.0.6", lb, alice.name, alice.password, "127.0.0.5"), 200);
}

TEST_F(nginx_fleet, websockets_spread_over_both_servers_and_survive_a_killed_one) {
  const auto servers = start_fleet();
  const user alice = register_user(servers[0]->port(), "alice");
  std::map<std::string, server_process*> by_id;  // instance id (welcome.server) -> process
  for (auto* s : servers) {
    auto direct = hello_server(s->port(), alice);
    by_id[direct.server] = s;
    direct.ws->close();
  }
  ASSERT_EQ(by_id.size(), 2u) << "the two servers report the same instance id";
  std::uint16_t lb = 0;
  ASSERT_NO_THROW(lb = start_nginx(servers));

  const user bob = register_user(lb, "bob");
  const std::string room = create_room(lb, alice, "Balanced by nginx", "link");
  // least_conn, its counts shared by the workers: the second WebSocket goes to the server
  // that has none.
  fleet_session a = hello_server(lb, alice);
  fleet_session b = hello_server(lb, bob);
  ASSERT_NE(a.server, b.server) << "nginx put both WebSockets on one server";
  ASSERT_TRUE(by_id.count(a.server) && by_id.count(b.server));

  replica a_view;
  replica b_view;
  a_view.load(join_snapshot(*a.ws, room));
  b_view.load(join_snapshot(*b.ws, room));

  // Both write at once, each through nginx to its own server; both see every op in one order.
  constexpr int per_writer = 20;
  std::vector<std::string> notes;
  for (int i = 0; i < per_writer; ++i) {
    notes.push_back("a" + std::to_string(i));
    notes.push_back("b" + std::to_string(i));
    a.ws->send(op_frame(room, notes[notes.size() - 2],
                        create_op(notes[notes.size() - 2], "from A", i * 1.0)));
    b.ws->send(op_frame(room, notes.back(), create_op(notes.back(), "from B", i * 1.0 + 0.5)));
  }
  const std::int64_t written = a_view.seq() + 2 * per_writer;
  ASSERT_NO_THROW(read_ops_to(*a.ws, a_view, written));
  ASSERT_NO_THROW(read_ops_to(*b.ws, b_view, written));
  EXPECT_EQ(a_view.serialized(), b_view.serialized());

  // A burst from A, one title per note; A's server is killed once half of it is acknowledged.
  for (std::size_t i = 0; i < notes.size(); ++i) {
    a.ws->send(op_frame(room, "k" + std::to_string(i),
                        update_op(notes[i], json::object{{"title", "k" + std::to_string(i)}})));
  }
  std::set<std::string> acked;  // cids of A's acknowledged burst ops
  auto take = [&](const json::object& f) {
    if (type_of(f) != "op") {
      throw protocol_failure("expected an op, got " + to_string(f));
    }
    a_view.apply(f);
    if (f.contains("cid") && str(f, "cid").starts_with("k")) {
      acked.insert(str(f, "cid"));
    }
  };
  while (acked.size() < notes.size() / 2) {
    auto f = a.ws->next_skipping({"presence", "room_stat"});
    ASSERT_TRUE(f.has_value()) << "acks stopped at " << acked.size();
    ASSERT_NO_THROW(take(*f));
  }
  by_id[a.server]->kill();

  // nginx closes A's connection when its server dies; what arrived before counts.
  const auto drop_deadline = clock_type::now() + default_wait;
  while (!a.ws->is_closed() && clock_type::now() < drop_deadline) {
    if (auto f = a.ws->next_skipping({"presence", "room_stat"}, 1000ms)) {
      ASSERT_NO_THROW(take(*f));
    }
  }
  ASSERT_TRUE(a.ws->is_closed()) << "the client of the killed server was not disconnected";
  const std::int64_t last_applied = a_view.seq();

  // A reconnects through nginx, which skips the refusing server, and re-joins with `since`.
  fleet_session a2;
  std::string last_error;
  const auto reconnect_deadline = clock_type::now() + default_wait;
  while (a2.server.empty() && clock_type::now() < reconnect_deadline) {
    try {
      a2 = hello_server(lb, alice);
    } catch (const protocol_failure& e) {
      last_error = e.what();
      std::this_thread::sleep_for(50ms);  // retry interval, not a synchronisation
    }
  }
  ASSERT_FALSE(a2.server.empty()) << "no reconnect through nginx: " << last_error;
  EXPECT_EQ(a2.server, b.server);
  const auto answer = join(*a2.ws, room, last_applied);
  if (type_of(answer) == "resume") {
    a_view.expect_resume(last_applied);
  } else {
    ASSERT_EQ(type_of(answer), "snapshot") << to_string(answer);
    a_view.load(answer);
  }

  // B writes after the kill; A catches up to its ack and holds what the fleet holds.
  const auto ack = send_op_and_wait(*b.ws, room, "after-kill",
                                    update_op("a0", json::object{{"body", "after the kill"}}));
  ASSERT_EQ(type_of(ack), "op") << to_string(ack);
  ASSERT_GT(int64(ack, "seq"), last_applied);
  ASSERT_NO_THROW(read_ops_to(*a2.ws, a_view, int64(ack, "seq")));
  const std::string final_state = serialized_state(get_notes(lb, bob, room));
  EXPECT_EQ(final_state, a_view.serialized());
  for (const auto& cid : acked) {
    EXPECT_NE(final_state.find("\"" + cid + "\""), std::string::npos)
        << "acknowledged " << cid << " missing from the final state";
  }
  a2.ws->close();
  b.ws->close();
}

}  // namespace
}  // namespace fun_notes::test

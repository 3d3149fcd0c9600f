// The attack suite: what an attacker tries from outside, each seen refused with its documented
// answer, nothing stored changed, and the server still serving everyone else.
#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <optional>
#include <thread>

#include <poll.h>

#include "fleet.hpp"

namespace fun_notes::test {
namespace {

// A sign-in as if through a trusted proxy (the server runs with --trusted-proxies 127.0.0.1), so
// each attempt comes from the client address the test chooses.
http_response login_from(std::uint16_t port, const std::string& address, const std::string& name,
                         const std::string& password) {
  return http_request_with(port, "POST", "/api/login",
                           serialize(json::value{{"username", name}, {"password", password}}), {},
                           {{"X-Forwarded-For", "203.0.113.250, " + address}});
}

// Every attack against an embedded server and against one of a fleet on PostgreSQL and Redis.
class attacks : public fleet_test, public ::testing::WithParamInterface<std::string> {
 protected:
  server_process& serve(std::vector<std::string> args = {}) {
    if (GetParam() == "distributed") {
      auto fleet = fleet_args();
      args.insert(args.begin(), fleet.begin(), fleet.end());
    }
    return start_server(with_args(std::move(args)));
  }

  static constexpr std::string_view secret = "integration-test-secret-0123456789abcdef";

  // Everything the server answers a token with: the WebSocket hello and an HTTP call.
  struct verdict {
    int close_code = 0;  // 0: welcomed
    int http_status = 0;
  };
  static verdict try_token(std::uint16_t port, const std::string& token) {
    verdict v;
    auto ws = ws_client::connect(port);
    ws->send(json::value{{"type", "hello"}, {"token", token}, {"client", "attacks"}});
    auto f = ws->next();
    if (f && type_of(*f) == "welcome") {
      v.close_code = 0;
    } else {
      const auto c = ws->wait_closed();
      v.close_code = c ? c->code : -1;
    }
    v.http_status = http_request(port, "GET", "/api/rooms", std::nullopt, token).status;
    return v;
  }

  static std::string payload(const user& u, std::int64_t iat, std::int64_t exp,
                             std::string_view iss = "fun-notes") {
    return serialize(
        json::value{{"sub", u.id}, {"name", "x"}, {"iss", iss}, {"iat", iat}, {"exp", exp}});
  }
};

TEST_P(attacks, forged_tokens_are_refused_on_the_socket_and_over_http) {
  auto& server = serve();
  const user u = register_user(server.port(), "victim");
  const auto now = unix_now();
  const std::string good_payload = payload(u, now - 10, now + 3600);
  const std::string hs256 = R"({"alg":"HS256","typ":"JWT"})";
  // The well-formed token first: the forgeries differ from it in one thing each.
  ASSERT_EQ(
      try_token(server.port(), forge_raw_token(hs256, good_payload, secret, "sha256")).close_code,
      0);
  const std::vector<std::pair<std::string, std::string>> forged = {
      {"alg none", forge_raw_token(R"({"alg":"none","typ":"JWT"})", good_payload, "", "none")},
      {"alg None", forge_raw_token(R"({"alg":"None"})", good_payload, "", "none")},
      {"alg hs256 (case)", forge_raw_token(R"({"alg":"hs256"})", good_payload, secret, "sha256")},
      {"alg HS512", forge_raw_token(R"({"alg":"HS512"})", good_payload, secret, "sha512")},
      {"alg HS384", forge_raw_token(R"({"alg":"HS384"})", good_payload, secret, "sha384")},
      {"RS256 header, HMAC signature (key confusion)",
       forge_raw_token(R"({"alg":"RS256"})", good_payload, secret, "sha256")},
      {"wrong key", forge_raw_token(hs256, good_payload, "another-secret-0123456789", "sha256")},
      {"unknown kid", forge_raw_token(R"({"alg":"HS256","kid":"0000000000000000"})", good_payload,
                                      secret, "sha256")},
      {"expired", forge_raw_token(hs256, payload(u, now - 7200, now - 60), secret, "sha256")},
      {"issued in the future",
       forge_raw_token(hs256, payload(u, now + 3600, now + 7200), secret, "sha256")},
      {"no iat",
       forge_raw_token(
           hs256, serialize(json::value{{"sub", u.id}, {"iss", "fun-notes"}, {"exp", now + 3600}}),
           secret, "sha256")},
      {"wrong issuer",
       forge_raw_token(hs256, payload(u, now - 10, now + 3600, "evil"), secret, "sha256")},
      {"user that does not exist",
       forge_raw_token(hs256, payload(user{"u_nobody", "x", "", ""}, now - 10, now + 3600), secret,
                       "sha256")},
      {"garbage", "not.a.token"},
  };
  for (const auto& [what, token] : forged) {
    const auto v = try_token(server.port(), token);
    EXPECT_EQ(v.close_code, 4001) << what;
    EXPECT_EQ(v.http_status, 401) << what;
  }
  // A tampered payload: the good token with its payload swapped for another user's.
  const user other = register_user(server.port(), "other");
  std::string tampered = forge_raw_token(hs256, good_payload, secret, "sha256");
  const std::string other_token =
      forge_raw_token(hs256, payload(other, now - 10, now + 3600), secret, "sha256");
  const auto a = tampered.find('.');
  const auto b = tampered.rfind('.');
  tampered =
      tampered.substr(0, a) +
      other_token.substr(other_token.find('.'), other_token.rfind('.') - other_token.find('.')) +
      tampered.substr(b);
  EXPECT_EQ(try_token(server.port(), tampered).close_code, 4001) << "tampered payload";
  // The server kept serving: the real user's own token still works.
  EXPECT_EQ(try_token(server.port(), u.token).close_code, 0);
}

TEST_P(attacks, a_thousand_wrong_passwords_meet_the_throttle_the_same_way_for_any_name) {
  auto& server = serve({"--trusted-proxies", "127.0.0.1"});
  const user real = register_user(server.port(), "target");
  // The same attempts against a real name and a name with no account, each from its own
  // address: the same answers, one for one.
  std::vector<int> for_real;
  std::vector<int> for_ghost;
  std::vector<std::string> bodies_real;
  std::vector<std::string> bodies_ghost;
  for (int i = 0; i < 7; ++i) {
    const auto r = login_from(server.port(), "198.51.100.1", real.name, "wrong-password");
    const auto g =
        login_from(server.port(), "198.51.100.2", "ghost-" + real.name, "wrong-password");
    for_real.push_back(r.status);
    for_ghost.push_back(g.status);
    bodies_real.push_back(r.body);
    bodies_ghost.push_back(g.body);
  }
  EXPECT_EQ(for_real, (std::vector<int>{401, 401, 401, 401, 401, 401, 429}));
  EXPECT_EQ(for_ghost, for_real) << "a name without an account answers differently";
  EXPECT_EQ(bodies_ghost, bodies_real);
  const auto locked = login_from(server.port(), "198.51.100.3", real.name, real.password);
  EXPECT_EQ(locked.status, 429) << "the right password during the lock";
  ASSERT_TRUE(locked.headers.count("retry-after")) << locked.body;
  EXPECT_EQ(locked.error_code(), "rate_limited");

  // A thousand more from one address: nearly all refused before any password is checked.
  int throttled = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto r = login_from(server.port(), "198.51.100.9", "name" + std::to_string(i % 50),
                              "wrong-password");
    throttled += r.status == 429 ? 1 : 0;
    ASSERT_TRUE(r.status == 401 || r.status == 429) << r.status << " " << r.body;
  }
  EXPECT_GE(throttled, 975);
  // Everyone else is still served, and the real user gets in once the lock is over.
  const user bystander = register_user(server.port(), "bystander");
  EXPECT_EQ(login_from(server.port(), "198.51.100.20", bystander.name, bystander.password).status,
            200);
  const auto wait = std::stoi(locked.headers.at("retry-after"));
  std::this_thread::sleep_for(std::chrono::seconds(wait));  // the lock's length, not a sync
  EXPECT_EQ(login_from(server.port(), "198.51.100.21", real.name, real.password).status, 200);
}

TEST_P(attacks, foreign_origins_and_host_names_are_refused) {
  auto& server = serve();
  const user u = register_user(server.port(), "origin");
  const std::string self = "http://127.0.0.1:" + std::to_string(server.port());
  for (const std::string& origin :
       {self + ".evil.example", "https://127.0.0.1:" + std::to_string(server.port()),
        "http://127.0.0.1:" + std::to_string(server.port() + 1), std::string("http://evil.example"),
        std::string("null"), self + "/path"}) {
    ws_client::options opts;
    opts.origin = origin;
    EXPECT_EQ(ws_client::upgrade_status(server.port(), opts), 403) << "Origin: " << origin;
  }
  ws_client::options empty;
  empty.empty_origin = true;
  EXPECT_EQ(ws_client::upgrade_status(server.port(), empty), 403) << "an empty Origin";
  ws_client::options same;
  same.origin = self;
  EXPECT_EQ(ws_client::upgrade_status(server.port(), same), 101) << "the server's own origin";
  ws_client::options upper;
  upper.origin = "HTTP://127.0.0.1:" + std::to_string(server.port());
  EXPECT_EQ(ws_client::upgrade_status(server.port(), upper), 101) << "scheme case";

  // DNS rebinding: a name the server was not told about.
  for (const char* path : {"/api/rooms", "/", "/healthz"}) {
    const auto r = http_request_with(server.port(), "GET", path, std::nullopt, u.token,
                                     {{"Host", "rebind.evil.example"}});
    EXPECT_EQ(r.status, 403) << path;
  }
  for (const std::string& host :
       {"localhost:" + std::to_string(server.port()), std::string("127.0.0.1"),
        "[::1]:" + std::to_string(server.port())}) {
    EXPECT_EQ(
        http_request_with(server.port(), "GET", "/healthz", std::nullopt, {}, {{"Host", host}})
            .status,
        200)
        << host;
  }
  auto& named = serve({"--allowed-hosts", "notes.example"});
  EXPECT_EQ(http_request_with(named.port(), "GET", "/healthz", std::nullopt, {},
                              {{"Host", "notes.example"}})
                .status,
            200);
  EXPECT_EQ(http_request_with(named.port(), "GET", "/healthz", std::nullopt, {},
                              {{"Host", "notes.example.evil.example"}})
                .status,
            403);
}

// Raw TCP for requests no HTTP client sends.
class raw_socket {
 public:
  explicit raw_socket(std::uint16_t port) : socket_(io_) {
    socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  }
  void send(std::string_view bytes) { boost::asio::write(socket_, boost::asio::buffer(bytes)); }
  // True once the server has closed its side (a read returns end of file or reset).
  bool closed_by_server() {
    socket_.non_blocking(true);
    char c = 0;
    boost::system::error_code ec;
    socket_.read_some(boost::asio::buffer(&c, 1), ec);
    return ec && ec != boost::asio::error::would_block;
  }
  std::string read_all() {
    std::string out;
    boost::system::error_code ec;
    char buf[4096];
    for (;;) {
      const auto n = socket_.read_some(boost::asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) {
        return out;
      }
    }
  }
  // Reads into received() until `done(received())` holds or the server closes the connection;
  // false if neither happened by the deadline.
  bool read_until(const std::function<bool(const std::string&)>& done, milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(received_) && !eof_) {
      const auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return false;
      }
      pollfd p{socket_.native_handle(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        continue;
      }
      char buf[4096];
      boost::system::error_code ec;
      const auto n = socket_.read_some(boost::asio::buffer(buf), ec);
      received_.append(buf, n);
      eof_ = eof_ || ec;
    }
    return true;
  }
  const std::string& received() const { return received_; }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::string received_;
  bool eof_ = false;
};

// A masked client frame of under 126 bytes (the all-zero mask leaves the payload as it is).
std::string client_frame(std::uint8_t opcode, std::string_view payload) {
  std::string f{static_cast<char>(0x80 | opcode), static_cast<char>(0x80 | payload.size())};
  f.append(4, '\0');
  f += payload;
  return f;
}

TEST_P(attacks, a_request_trickled_byte_by_byte_is_closed_within_fifteen_seconds) {
  auto& server = serve();
  raw_socket slow(server.port());
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ";
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  // One byte a second: every byte would restart an idle timer; only a whole-request deadline
  // closes it. The old 60 s timer shows as still open after 25 s.
  for (std::size_t i = 0; i < 25 && !closed; ++i) {
    try {
      slow.send(std::string(1, request[std::min(i, request.size() - 1)]));
    } catch (const std::exception&) {
      closed = true;
      break;
    }
    std::this_thread::sleep_for(1s);  // the trickle itself, not a synchronisation
    closed = slow.closed_by_server();
  }
  const auto held = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(closed) << "a trickled request was held open for 25 s";
  EXPECT_LT(held, 20s);
  // Meanwhile the server answers others.
  EXPECT_EQ(http_request(server.port(), "GET", "/healthz").status, 200);
}

TEST_P(attacks, path_traversal_never_leaves_the_web_directory) {
  auto& server = serve();
  for (const char* path : {"/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                           "/..%2f..%2f..%2fetc%2fpasswd", "/assets/../../../../etc/passwd",
                           "//etc/passwd", "/%252e%252e/etc/passwd"}) {
    raw_socket s(server.port());
    s.send(std::string("GET ") + path +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    const std::string answer = s.read_all();
    EXPECT_EQ(answer.find("root:"), std::string::npos) << path;
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.1 404") ||
                answer.starts_with("HTTP/1.1 400"))
        << path << ": " << answer.substr(0, 80);
  }
}

TEST_P(attacks, deeply_nested_and_huge_json_is_refused_and_changes_nothing) {
  auto& server = serve();
  const user u = register_user(server.port(), "nest");
  const std::string room = create_room(server.port(), u, "Nest", "private");
  std::string deep;
  for (int i = 0; i < 10000; ++i) {
    deep += "[";
  }
  for (int i = 0; i < 10000; ++i) {
    deep += "]";
  }
  const auto http_deep = http_request(server.port(), "POST", "/api/rooms", deep, u.token);
  EXPECT_EQ(http_deep.status, 400) << http_deep.body;
  std::string many_keys = "{";
  for (int i = 0; i < 50000; ++i) {
    many_keys += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  }
  many_keys += ",\"name\":\"many\"}";
  const auto http_many = http_request(server.port(), "POST", "/api/rooms", many_keys, u.token);
  EXPECT_EQ(http_many.status, 400) << http_many.body;

  auto ws = connect_hello(server.port(), u);
  join_snapshot(*ws, room);
  std::string frame = R"({"type":"op","room":")" + room + R"(","cid":"c","op":)";
  for (int i = 0; i < 5000; ++i) {
    frame += "[";
  }
  ws->send_text(frame);
  FN_EXPECT_FRAME(answer, ws->next_skipping({"presence", "room_stat"}), "an answer to deep JSON");
  EXPECT_EQ(str(answer, "code"), "invalid") << to_string(answer);
  EXPECT_FALSE(ws->is_closed());
  EXPECT_EQ(type_of(send_op_and_wait(*ws, room, "ok", create_op("n1", "still here", 1.0))), "op");
  EXPECT_EQ(arr(get_notes(server.port(), u, room), "notes").size(), 1U);
}

TEST_P(attacks, sql_and_markup_in_names_and_notes_are_stored_verbatim) {
  auto& server = serve();
  const user u = register_user(server.port(), "inj");
  const std::string nasty_name = R"('; DROP TABLE notes; -- <img src=x onerror=alert(1)>)";
  const std::string nasty_body = R"(<script>alert("x")</script> ' OR 1=1; --)";
  const std::string room = create_room(server.port(), u, nasty_name, "private");
  auto ws = connect_hello(server.port(), u);
  const auto snap = join_snapshot(*ws, room);
  EXPECT_EQ(str(obj(snap, "room_info"), "name"), nasty_name);
  ASSERT_EQ(
      type_of(send_op_and_wait(*ws, room, "c1", create_op("n1", nasty_name, 1.0, nasty_body))),
      "op");
  const auto notes = get_notes(server.port(), u, room);
  ASSERT_EQ(arr(notes, "notes").size(), 1U);
  EXPECT_EQ(str(arr(notes, "notes").at(0).as_object(), "title"), nasty_name);
  EXPECT_EQ(str(arr(notes, "notes").at(0).as_object(), "body"), nasty_body);
  const auto listed = http_request(server.port(), "GET", "/api/rooms", std::nullopt, u.token);
  EXPECT_NE(listed.body.find("DROP TABLE"), std::string::npos);
  // Names a username may not hold are refused, not stored changed.
  const auto bad = http_request(
      server.port(), "POST", "/api/register",
      json::value{{"username", "x'; DROP TABLE users; --"}, {"password", "password123"}});
  EXPECT_EQ(bad.status, 400);
}

TEST_P(attacks, a_token_from_before_a_password_change_or_a_sign_out_everywhere_is_refused) {
  auto& server = serve();
  const user u = register_user(server.port(), "rotate");
  const std::string room = create_room(server.port(), u, "Mine", "private");
  auto open_socket = connect_hello(server.port(), u);
  join_snapshot(*open_socket, room);
  const std::string old_token = u.token;

  const auto wrong = http_request(
      server.port(), "PUT", "/api/account/password",
      json::value{{"current_password", "not-the-password"}, {"new_password", "a-new-password"}},
      old_token);
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  const auto changed = http_request(
      server.port(), "PUT", "/api/account/password",
      json::value{{"current_password", u.password}, {"new_password", "a-new-password"}}, old_token);
  ASSERT_EQ(changed.status, 200) << changed.body;
  const std::string new_token = str(changed.json.as_object(), "token");
  // The socket opened with the old token is closed, and the old token opens nothing.
  const auto closed = open_socket->wait_closed();
  ASSERT_TRUE(closed.has_value()) << "the old session stayed open";
  EXPECT_EQ(closed->code, 4001);
  EXPECT_EQ(try_token(server.port(), old_token).close_code, 4001);
  EXPECT_EQ(try_token(server.port(), old_token).http_status, 401);
  EXPECT_EQ(try_token(server.port(), new_token).close_code, 0);
  const auto old_login = http_request(server.port(), "POST", "/api/login",
                                      json::value{{"username", u.name}, {"password", u.password}});
  EXPECT_EQ(old_login.status, 401);

  // Sign out everywhere: every token so far, and every socket.
  auto second = ws_client::connect(server.port());
  second->send(json::value{{"type", "hello"}, {"token", new_token}, {"client", "attacks"}});
  ASSERT_TRUE(second->next_of_type("welcome").has_value());
  const auto out = http_request(server.port(), "POST", "/api/logout",
                                json::value{{"everywhere", true}}, new_token);
  EXPECT_EQ(out.status, 204) << out.body;
  const auto second_closed = second->wait_closed();
  ASSERT_TRUE(second_closed.has_value());
  EXPECT_EQ(second_closed->code, 4001);
  EXPECT_EQ(try_token(server.port(), new_token).http_status, 401);
  const auto again =
      http_request(server.port(), "POST", "/api/login",
                   json::value{{"username", u.name}, {"password", "a-new-password"}});
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(try_token(server.port(), str(again.json.as_object(), "token")).close_code, 0);
  EXPECT_EQ(arr(get_notes(server.port(),
                          user{u.id, u.name, "", str(again.json.as_object(), "token")}, room),
                "notes")
                .size(),
            0U);
}

TEST_P(attacks, a_deleted_account_takes_its_rooms_and_frees_nothing_else) {
  auto& server = serve();
  const user owner = register_user(server.port(), "leaver");
  const user other = register_user(server.port(), "stayer");
  const std::string owned = create_room(server.port(), owner, "Owned", "link");
  const std::string foreign = create_room(server.port(), other, "Foreign", "link");
  auto o = connect_hello(server.port(), owner);
  join_snapshot(*o, foreign);
  auto x = connect_hello(server.port(), other);
  join_snapshot(*x, owned);
  const auto refused = http_request(server.port(), "DELETE", "/api/account",
                                    json::value{{"password", "wrong-password"}}, owner.token);
  EXPECT_EQ(refused.status, 403);
  const auto deleted = http_request(server.port(), "DELETE", "/api/account",
                                    json::value{{"password", owner.password}}, owner.token);
  ASSERT_EQ(deleted.status, 204) << deleted.body;
  const auto closed = o->wait_closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, 4001);
  FN_EXPECT_FRAME(gone, x->next_of_type("error"), "the owned room's deletion");
  EXPECT_EQ(str(gone, "code"), "not_found");
  EXPECT_EQ(
      http_request(server.port(), "GET", "/api/rooms/" + owned, std::nullopt, other.token).status,
      404);
  EXPECT_EQ(
      http_request(server.port(), "GET", "/api/rooms/" + foreign, std::nullopt, other.token).status,
      200);
  EXPECT_EQ(try_token(server.port(), owner.token).http_status, 401);
  EXPECT_EQ(http_request(server.port(), "POST", "/api/login",
                         json::value{{"username", owner.name}, {"password", owner.password}})
                .status,
            401);
}

TEST_P(attacks, user_names_differ_by_more_than_case) {
  auto& server = serve();
  const std::string name = unique_username("Case");
  const auto first = http_request(server.port(), "POST", "/api/register",
                                  json::value{{"username", name}, {"password", "password123"}});
  ASSERT_EQ(first.status, 201) << first.body;
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const auto second = http_request(server.port(), "POST", "/api/register",
                                   json::value{{"username", upper}, {"password", "password123"}});
  EXPECT_EQ(second.status, 409) << second.body;
  const auto login = http_request(server.port(), "POST", "/api/login",
                                  json::value{{"username", upper}, {"password", "password123"}});
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_EQ(str(obj(login.json.as_object(), "user"), "name"), name) << "the stored spelling";
}

TEST_P(attacks, sockets_per_user_and_per_address_are_capped_and_joins_rate_limited) {
  auto& server =
      serve({"--max-sockets-per-user", "3", "--max-join-rate", "1", "--max-join-burst", "3"});
  const user u = register_user(server.port(), "many");
  const user other = register_user(server.port(), "other");
  std::vector<std::unique_ptr<ws_client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(connect_hello(server.port(), u));
  }
  auto fourth = ws_client::connect(server.port());
  fourth->send(json::value{{"type", "hello"}, {"token", u.token}, {"client", "attacks"}});
  const auto refused = fourth->wait_closed();
  ASSERT_TRUE(refused.has_value()) << "a fourth socket of one user was accepted";
  EXPECT_EQ(refused->code, 1008) << refused->reason;
  EXPECT_NO_THROW(connect_hello(server.port(), other)) << "another user is not capped";
  held.back()->close(2000ms);
  held.pop_back();
  // The slot comes back once the server has seen the close.
  bool admitted = false;
  for (int i = 0; i < 50 && !admitted; ++i) {
    auto again = ws_client::connect(server.port());
    again->send(json::value{{"type", "hello"}, {"token", u.token}, {"client", "attacks"}});
    admitted = again->next_of_type("welcome", 500ms).has_value();
    if (admitted) {
      held.push_back(std::move(again));
    }
  }
  EXPECT_TRUE(admitted) << "a closed socket's slot was never given back";

  // Joins: a burst of 3, then one a second.
  const std::string room = create_room(server.port(), u, "Joins", "private");
  std::vector<std::string> answers;
  for (int i = 0; i < 6; ++i) {
    const auto a = join(*held.front(), room);
    answers.push_back(type_of(a) == "error" ? str(a, "code") : type_of(a));
  }
  EXPECT_NE(std::find(answers.begin(), answers.end(), "rate_limited"), answers.end())
      << "six joins at once were all answered";
  EXPECT_EQ(answers.front(), "snapshot");

  auto& capped = serve({"--max-sockets-per-address", "2"});
  auto a1 = ws_client::connect(capped.port());
  auto a2 = ws_client::connect(capped.port());
  EXPECT_EQ(ws_client::upgrade_status(capped.port(), {}), 429);
  EXPECT_EQ(http_request(capped.port(), "GET", "/healthz").status, 200);
}

// Sign-in throttling over a fleet: the counts are in Redis, so what one server saw counts on
// the others, and a server that loses Redis keeps counting on its own.
class fleet_sign_in : public fleet_test {
 protected:
  server_process& fleet_server() {
    auto args = fleet_args();
    args.insert(args.end(), {"--trusted-proxies", "127.0.0.1"});
    return start_server(with_args(std::move(args)));
  }
};

TEST_F(fleet_sign_in, failures_spread_over_two_servers_lock_the_name_on_both) {
  auto& a = fleet_server();
  auto& b = fleet_server();
  const user u = register_user(a.port(), "spread");
  // Three wrong passwords on each server, each from its own address (no address lock plays a
  // part): on its own a server would let all of them and the next ones through (5 are free).
  std::vector<int> answers;
  for (int i = 0; i < 6; ++i) {
    auto& server = i % 2 == 0 ? a : b;
    answers.push_back(
        login_from(server.port(), "198.51.100." + std::to_string(i + 1), u.name, "wrong-password")
            .status);
  }
  EXPECT_EQ(answers, std::vector<int>(6, 401));
  for (auto* server : {&a, &b}) {
    const auto r = login_from(server->port(), "198.51.100.50", u.name, "wrong-password");
    EXPECT_EQ(r.status, 429) << "port " << server->port() << ": " << r.body;
    EXPECT_TRUE(r.headers.count("retry-after")) << r.body;
    EXPECT_EQ(r.error_code(), "rate_limited");
  }
  EXPECT_EQ(login_from(b.port(), "198.51.100.51", u.name, u.password).status, 429)
      << "the right password during the lock";
  // One hash in Redis holds the name's count (test names are lower case already): the six
  // failures, not the refused attempts.
  EXPECT_EQ(redis_->node(0).command({"HGET", "login-throttle:name:" + u.name, "failures"}).str,
            "6");
}

TEST_F(fleet_sign_in, a_server_that_loses_redis_still_throttles_sign_in_on_its_own) {
  auto& server = fleet_server();
  const user u = register_user(server.port(), "outage");
  redis_->node(0).kill();
  std::vector<int> answers;
  std::string last_body;
  for (int i = 0; i < 7; ++i) {
    const auto r =
        login_from(server.port(), "198.51.100." + std::to_string(i + 1), u.name, "wrong-password");
    answers.push_back(r.status);
    if (r.status == 429) {
      EXPECT_TRUE(r.headers.count("retry-after")) << r.body;
    }
    last_body = r.body;
  }
  EXPECT_EQ(answers, (std::vector<int>{401, 401, 401, 401, 401, 401, 429})) << last_body;
  EXPECT_EQ(http_request(server.port(), "GET", "/healthz").status, 200);
}

TEST_P(attacks, a_close_that_meets_bad_frames_already_sent_still_ends_the_connection) {
  // Such connections were never closed, each keeping its socket, its session and a place under
  // the per-address cap: the session's read and its close waited for each other inside Beast.
  auto& server = serve({"--max-sockets-per-address", "2"});
  for (int i = 0; i < 3; ++i) {
    raw_socket s(server.port());
    s.send(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    const auto headers_end = [](const std::string& r) { return r.find("\r\n\r\n"); };
    ASSERT_TRUE(s.read_until(
        [&](const std::string& r) { return headers_end(r) != std::string::npos; }, default_wait));
    ASSERT_TRUE(s.received().starts_with("HTTP/1.1 101")) << s.received();
    const std::size_t frames = headers_end(s.received()) + 4;
    // In one write: a first frame that is not hello (close 4001), a ping, and a text frame
    // that is not UTF-8.
    s.send(client_frame(0x1, "x") + client_frame(0x9, "ping") + client_frame(0x1, "\xc0\xaf"));
    // The server's frames here are short and unmasked: two header bytes, then the payload.
    const auto close_frame_at = [&](const std::string& r) -> std::optional<std::size_t> {
      for (std::size_t at = frames; at + 2 <= r.size(); at += 2 + (r[at + 1] & 0x7f)) {
        if ((r[at] & 0x0f) == 0x8) {
          return at;
        }
      }
      return std::nullopt;
    };
    ASSERT_TRUE(s.read_until(
        [&](const std::string& r) {
          const auto at = close_frame_at(r);
          return at && r.size() >= *at + 4;
        },
        default_wait));
    const auto at = close_frame_at(s.received());
    ASSERT_TRUE(at.has_value()) << "no close frame";
    EXPECT_EQ(s.received().substr(*at + 2, 2), "\x0f\xa1") << "the close code is 4001";
    s.send(client_frame(0x8, std::string("\x03\xe8", 2)));  // the close reply, 1000
    EXPECT_TRUE(s.read_until([](const std::string&) { return false; }, default_wait))
        << "the server kept connection " << i << " open after the close handshake";
  }
  EXPECT_EQ(ws_client::upgrade_status(server.port(), {}), 101)
      << "the connections were not given back to the per-address cap";
}

INSTANTIATE_TEST_SUITE_P(modes, attacks, ::testing::Values("embedded", "distributed"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fun_notes::test

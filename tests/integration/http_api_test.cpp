// Accounts and rooms over the HTTP API, as a user signing up and creating a room sees them.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fixture.hpp"

namespace fun_notes::test {
namespace {

class http_api : public server_test {};

http_response post_json(std::uint16_t port, std::string_view target, const json::value& body,
                        std::string_view token = {}) {
  return http_request(port, "POST", target, body, token);
}

void expect_error_body(const http_response& r) {
  ASSERT_TRUE(r.json.is_object()) << r.body;
  const auto* e = r.json.get_object().if_contains("error");
  ASSERT_NE(e, nullptr) << r.body;
  ASSERT_TRUE(e->is_object()) << r.body;
  EXPECT_TRUE(e->get_object().contains("code") && e->get_object().at("code").is_string()) << r.body;
  EXPECT_TRUE(e->get_object().contains("message") && e->get_object().at("message").is_string())
      << r.body;
}

TEST_F(http_api, healthz_answers) {
  auto& server = start_server();
  EXPECT_EQ(http_request(server.port(), "GET", "/healthz").status, 200);
}

TEST_F(http_api, answers_carry_security_headers_and_the_page_a_content_security_policy) {
  const auto web =
      std::filesystem::temp_directory_path() / ("fun_notes_web_" + std::to_string(::getpid()));
  std::filesystem::create_directories(web);
  std::ofstream(web / "index.html") << "<!doctype html><title>t</title>";
  auto& server = start_server(with_args({"--web-dir", web.string()}));
  const auto page = http_request(server.port(), "GET", "/");
  ASSERT_EQ(page.status, 200) << page.body;
  ASSERT_TRUE(page.headers.contains("content-security-policy"));
  const std::string csp = page.headers.at("content-security-policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("script-src 'self' 'unsafe-inline'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(page.headers.at("x-content-type-options"), "nosniff");
  EXPECT_EQ(page.headers.at("x-frame-options"), "DENY");
  const auto api = http_request(server.port(), "GET", "/api/rooms");
  EXPECT_EQ(api.status, 401);
  EXPECT_EQ(api.headers.at("x-content-type-options"), "nosniff");
  std::filesystem::remove_all(web);
}

TEST_F(http_api, register_returns_a_token_that_opens_a_session) {
  auto& server = start_server();
  const std::string name = unique_username("reg");
  const auto r = post_json(server.port(), "/api/register",
                           json::value{{"username", name}, {"password", "correct horse"}});
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_TRUE(r.json.is_object()) << r.body;
  const auto& body = r.json.get_object();
  user u;
  u.token = str(body, "token");
  u.id = str(obj(body, "user"), "id");
  u.name = str(obj(body, "user"), "name");
  EXPECT_FALSE(u.token.empty());
  EXPECT_FALSE(u.id.empty());
  EXPECT_EQ(u.name, name);

  auto ws = ws_client::connect(server.port());
  ws->send(json::value{{"type", "hello"}, {"token", u.token}, {"client", "tests/1"}});
  FN_EXPECT_FRAME(welcome, ws->next(), "welcome");
  EXPECT_EQ(type_of(welcome), "welcome") << to_string(welcome);
  EXPECT_EQ(int64(welcome, "protocol"), 1);
  EXPECT_EQ(str(obj(welcome, "user"), "id"), u.id);
  EXPECT_EQ(str(obj(welcome, "user"), "name"), name);
  EXPECT_TRUE(welcome.contains("server")) << to_string(welcome);
}

TEST_F(http_api, register_rejects_a_taken_username_with_409) {
  auto& server = start_server();
  const std::string name = unique_username("dup");
  ASSERT_EQ(post_json(server.port(), "/api/register",
                      json::value{{"username", name}, {"password", "password-1"}})
                .status,
            201);
  const auto again = post_json(server.port(), "/api/register",
                               json::value{{"username", name}, {"password", "password-2"}});
  EXPECT_EQ(again.status, 409) << again.body;
  expect_error_body(again);
  // The first account keeps its password.
  EXPECT_EQ(post_json(server.port(), "/api/login",
                      json::value{{"username", name}, {"password", "password-1"}})
                .status,
            200);
}

TEST_F(http_api, register_validates_username_and_password) {
  auto& server = start_server();
  const std::string good_password = "eight-ch";
  const std::vector<std::string> bad_names = {
      "ab", std::string(33, 'a'), "has space", "slash/name", "caf\xc3\xa9", "", "semi;colon"};
  for (const auto& n : bad_names) {
    const auto r = post_json(server.port(), "/api/register",
                             json::value{{"username", n}, {"password", good_password}});
    EXPECT_EQ(r.status, 400) << "username \"" << n << "\": " << r.body;
    expect_error_body(r);
  }
  const std::vector<std::string> bad_passwords = {"", "7-chars", std::string(257, 'p')};
  for (const auto& p : bad_passwords) {
    const auto r = post_json(server.port(), "/api/register",
                             json::value{{"username", unique_username("pw")}, {"password", p}});
    EXPECT_EQ(r.status, 400) << "password of " << p.size() << " chars: " << r.body;
    expect_error_body(r);
  }
  // Missing fields, wrong types and a body that is not JSON.
  EXPECT_EQ(post_json(server.port(), "/api/register", json::value{{"username", "someone"}}).status,
            400);
  EXPECT_EQ(post_json(server.port(), "/api/register",
                      json::value{{"username", 12345}, {"password", good_password}})
                .status,
            400);
  EXPECT_EQ(http_request(server.port(), "POST", "/api/register", std::string{"{not json"}).status,
            400);

  // The limits are inclusive: 3 and 32 chars of the allowed set, 8 and 256 char passwords.
  const std::string salt = unique_username("x").substr(2);
  for (const auto& [n, p] : std::vector<std::pair<std::string, std::string>>{
           {"a.b", good_password},
           {("Z_-." + salt + std::string(32, '9')).substr(0, 32), std::string(256, 'q')}}) {
    const auto r =
        post_json(server.port(), "/api/register", json::value{{"username", n}, {"password", p}});
    EXPECT_EQ(r.status, 201) << "username \"" << n << "\" (" << n.size() << " chars), password of "
                             << p.size() << " chars: " << r.body;
  }
}

TEST_F(http_api, login_returns_a_token_and_refuses_wrong_passwords) {
  auto& server = start_server();
  const user u = register_user(server.port(), "login");

  const auto ok = post_json(server.port(), "/api/login",
                            json::value{{"username", u.name}, {"password", u.password}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  ASSERT_TRUE(ok.json.is_object());
  user again = u;
  again.token = str(ok.json.get_object(), "token");
  EXPECT_EQ(str(obj(ok.json.get_object(), "user"), "id"), u.id);
  // The new token opens a session as the same user.
  auto ws = connect_hello(server.port(), again);

  const auto wrong = post_json(server.port(), "/api/login",
                               json::value{{"username", u.name}, {"password", "not-the-password"}});
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  expect_error_body(wrong);
  EXPECT_FALSE(wrong.json.is_object() && wrong.json.get_object().contains("token")) << wrong.body;

  const auto nobody =
      post_json(server.port(), "/api/login",
                json::value{{"username", unique_username("ghost")}, {"password", "whatever-123"}});
  EXPECT_EQ(nobody.status, 401) << nobody.body;
}

TEST_F(http_api, create_room_makes_the_caller_its_owner) {
  auto& server = start_server();
  const user u = register_user(server.port(), "owner");

  const auto r =
      post_json(server.port(), "/api/rooms", json::value{{"name", "Groceries"}}, u.token);
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_TRUE(r.json.is_object());
  const auto& room = obj(r.json.get_object(), "room");
  const std::string id = str(room, "id");
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(str(room, "name"), "Groceries");
  EXPECT_EQ(str(room, "visibility"), "private") << "visibility defaults to private";
  EXPECT_EQ(str(room, "role"), "owner");

  const auto link = post_json(server.port(), "/api/rooms",
                              json::value{{"name", "Shared"}, {"visibility", "link"}}, u.token);
  ASSERT_EQ(link.status, 201) << link.body;
  const std::string link_id = str(obj(link.json.get_object(), "room"), "id");
  EXPECT_EQ(str(obj(link.json.get_object(), "room"), "visibility"), "link");
  EXPECT_NE(link_id, id);

  // Both rooms are listed as the user's.
  const auto list = http_request(server.port(), "GET", "/api/rooms", std::nullopt, u.token);
  ASSERT_EQ(list.status, 200) << list.body;
  std::map<std::string, std::string> roles;
  for (const auto& v : arr(list.json.get_object(), "rooms")) {
    roles[str(v.get_object(), "id")] = str(v.get_object(), "role");
  }
  EXPECT_EQ(roles[id], "owner") << list.body;
  EXPECT_EQ(roles[link_id], "owner") << list.body;

  // A new room has no notes.
  const auto notes = get_notes(server.port(), u, id);
  EXPECT_TRUE(arr(notes, "notes").empty()) << to_string(notes);

  // Another user does not see them.
  const user other = register_user(server.port(), "other");
  const auto other_list =
      http_request(server.port(), "GET", "/api/rooms", std::nullopt, other.token);
  ASSERT_EQ(other_list.status, 200) << other_list.body;
  EXPECT_TRUE(arr(other_list.json.get_object(), "rooms").empty()) << other_list.body;
}

TEST_F(http_api, room_calls_need_a_valid_token) {
  auto& server = start_server();
  const auto anonymous = post_json(server.port(), "/api/rooms", json::value{{"name", "x"}});
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
  expect_error_body(anonymous);
  const auto forged =
      post_json(server.port(), "/api/rooms", json::value{{"name", "x"}},
                forge_token("not-the-server-secret", "someone", "someone", unix_now() + 3600));
  EXPECT_EQ(forged.status, 401) << forged.body;
  EXPECT_EQ(http_request(server.port(), "GET", "/api/rooms").status, 401);
}

}  // namespace
}  // namespace fun_notes::test

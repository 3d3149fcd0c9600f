// The terminal client against the real server: its commands round-trip, its exit codes hold,
// and what it does offline arrives after a restart, merged by the documented rules, with the
// terminal, a web-protocol client and the HTTP API agreeing.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "cli_support.hpp"
#include "fun_notes/core/codec.hpp"

namespace fun_notes::test {
namespace {

std::vector<std::string> cli_titles(const cli_user& u, const std::string& room) {
  json::object out = u.json_of({"notes", room, "--json"});
  std::vector<std::string> titles;
  for (const auto& n : arr(out, "notes")) {
    titles.push_back(str(n.as_object(), "title"));
  }
  return titles;
}

const json::object* find_note(const json::object& state, std::string_view id) {
  for (const auto& n : arr(state, "notes")) {
    if (str(n.as_object(), "id") == id) {
      return &n.as_object();
    }
  }
  return nullptr;
}

void login(const cli_user& cli, const user& u) {
  cli.ok({"login", "-u", u.name, "--password", u.password});
}

TEST(cli, the_commands_round_trip_with_the_server) {
  server_process server;
  const user alice = register_user(server.port(), "alice");
  cli_user cli(server.port());
  login(cli, alice);

  const json::object room = cli.json_of({"create-room", "Groceries", "--link", "--json"});
  const std::string room_id = str(room, "id");
  EXPECT_EQ(str(room, "role"), "owner");

  cli.ok({"add", "Groceries", "--title", "Milk", "--body", "2 litres"});
  cli.ok({"add", room_id, "--title", "Bread", "--important"});
  const json::object eggs = cli.json_of({"add", room_id, "--title", "Eggs ✓", "--top", "--json"});
  EXPECT_EQ(int64(eggs, "position"), 1);
  EXPECT_EQ(cli_titles(cli, room_id), (std::vector<std::string>{"Eggs ✓", "Milk", "Bread"}));

  cli.ok({"move", room_id, "1", "down"});
  EXPECT_EQ(cli_titles(cli, room_id), (std::vector<std::string>{"Milk", "Eggs ✓", "Bread"}));
  cli.ok({"move", room_id, "3", "top"});
  cli.ok({"move", room_id, "1", "--to", "3"});
  EXPECT_EQ(cli_titles(cli, room_id), (std::vector<std::string>{"Milk", "Eggs ✓", "Bread"}));
  // A note by a prefix of its id.
  cli.ok({"edit", room_id, str(eggs, "id").substr(0, 5), "--title", "Eggs (6)", "--body",
          "free range"});
  cli.ok({"done", room_id, "1"});
  cli.ok({"flag", room_id, "3"});  // Bread was important: toggled off
  cli.ok({"flag", room_id, "2", "--on"});
  cli.ok({"rm", room_id, "1"});

  // What the server holds is what the terminal shows, and what a web client receives.
  const json::object http = get_notes(server.port(), alice, room_id);
  EXPECT_EQ(cli.state(room_id), serialized_state(http));
  const json::object* e = find_note(http, str(eggs, "id"));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(str(*e, "title"), "Eggs (6)");
  EXPECT_EQ(str(*e, "body"), "free range");
  EXPECT_TRUE(e->at("is_important").as_bool());
  EXPECT_EQ(arr(http, "notes").size(), 2U);
  auto ws = connect_hello(server.port(), alice);
  EXPECT_EQ(serialized_state(join_snapshot(*ws, room_id)), serialized_state(http));

  const json::object listed = cli.json_of({"rooms", "--json"});
  ASSERT_EQ(arr(listed, "rooms").size(), 1U);
  EXPECT_EQ(int64(arr(listed, "rooms")[0].as_object(), "total_notes"), 2);
  EXPECT_FALSE(listed.at("offline").as_bool());
}

TEST(cli, exit_codes_and_errors_a_script_can_rely_on) {
  server_process server;
  cli_user cli(server.port());
  cli_result r = cli.run({"rooms"});
  EXPECT_EQ(r.code, 3) << r.err;  // not signed in
  EXPECT_NE(r.err.find("fun-notes login"), std::string::npos);
  EXPECT_EQ(cli.run({"add"}).code, 2);  // usage
  EXPECT_EQ(cli.run({"frobnicate"}).code, 2);

  const user bob = register_user(server.port(), "bob");
  r = cli.run({"login", "-u", bob.name, "--password", "wrong-password"});
  EXPECT_EQ(r.code, 3) << r.err;
  login(cli, bob);
  const std::string room = str(cli.json_of({"create-room", "Work", "--json"}), "id");
  cli.ok({"add", room, "-t", "one"});
  cli.ok({"add", room, "-t", "two"});
  EXPECT_EQ(cli.run({"notes", "no-such-room"}).code, 5);
  EXPECT_EQ(cli.run({"edit", room, "9", "-t", "x"}).code, 5);
  EXPECT_EQ(cli.run({"rm", room, "zzzzzz"}).code, 5);
  // Someone else's private room: refused by the server.
  const user carol = register_user(server.port(), "carol");
  const std::string hers = create_room(server.port(), carol, "Private");
  r = cli.run({"notes", hers});
  EXPECT_EQ(r.code, 5) << r.out << r.err;

  server.kill();
  r = cli.run({"create-room", "Later"});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_NE(r.err.find("cannot reach"), std::string::npos);
  // The cache answers what it can.
  r = cli.run({"notes", room, "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"offline\":true"), std::string::npos);
  EXPECT_EQ(cli.run({"notes", "never-opened-here"}).code, 4);
}

TEST(cli, offline_changes_arrive_after_a_restart_merged_by_the_rules) {
  server_process::options opts;
  opts.keep_port = true;
  server_process server(opts);
  const user dana = register_user(server.port(), "dana");
  const user erin = register_user(server.port(), "erin");
  const std::string room = create_room(server.port(), dana, "Plans", "link");
  auto web = connect_hello(server.port(), erin);
  (void)join_snapshot(*web, room);
  // Notes a..e, made by the web client.
  const char* ids[] = {"note-a", "note-b", "note-c", "note-d", "note-e"};
  for (int i = 0; i < 5; ++i) {
    send_op_and_wait(*web, room, std::string("c-") + ids[i],
                     create_op(ids[i], std::string("title ") + ids[i], 1024.0 * (i + 1)));
  }
  cli_user cli(server.port());
  login(cli, dana);
  (void)cli.state(room);  // the terminal has the room on this device

  server.kill();
  web.reset();
  // Offline in the terminal:
  cli_result r = cli.run({"add", room, "-t", "written offline", "-b", "on the train"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("queued"), std::string::npos) << r.out;
  cli.ok({"edit", room, "note-a", "-t", "terminal title"});  // both sides edit a's title
  cli.ok({"edit", room, "note-b", "-b", "terminal body"});   // only the terminal edits b
  cli.ok({"edit", room, "note-e", "-b", "kept words"});      // the web deletes e
  cli.ok({"rm", room, "note-d"});                            // the web edits d
  cli.ok({"move", room, "note-c", "top"});
  EXPECT_EQ(int64(cli.json_of({"notes", room, "--json"}), "unsent"), 6);

  // The server comes back; the web client edits the same notes first.
  server.restart();
  web = connect_hello(server.port(), erin);
  (void)join_snapshot(*web, room);
  send_op_and_wait(*web, room, "w1", update_op("note-a", {{"title", "web title"}}));
  send_op_and_wait(*web, room, "w2", update_op("note-c", {{"body", "web body"}}));
  send_op_and_wait(*web, room, "w3", delete_op("note-e"));
  send_op_and_wait(*web, room, "w4", update_op("note-d", {{"body", "web words"}}));

  r = cli.run({"sync"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  // Each merge decision is told.
  EXPECT_NE(r.err.find("also changed by someone else"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("brought it back"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not deleted"), std::string::npos) << r.err;

  const json::object http = get_notes(server.port(), dana, room);
  const auto title_of = [&](std::string_view id) { return str(*find_note(http, id), "title"); };
  const auto body_of = [&](std::string_view id) { return str(*find_note(http, id), "body"); };
  EXPECT_EQ(title_of("note-a"), "terminal title");  // both: the later writer, the terminal
  EXPECT_EQ(body_of("note-b"), "terminal body");    // only local
  EXPECT_EQ(body_of("note-c"), "web body");         // only remote, and the local move kept
  ASSERT_NE(find_note(http, "note-e"), nullptr);    // edited here, deleted there: back
  EXPECT_EQ(body_of("note-e"), "kept words");
  ASSERT_NE(find_note(http, "note-d"), nullptr);  // deleted here, edited there: kept
  EXPECT_EQ(body_of("note-d"), "web words");
  EXPECT_EQ(str(arr(http, "notes")[0].as_object(), "id"), "note-c");
  bool offline_note = false;
  for (const auto& n : arr(http, "notes")) {
    offline_note = offline_note || str(n.as_object(), "title") == "written offline";
  }
  EXPECT_TRUE(offline_note);

  // The terminal, a web-protocol client and the HTTP API agree, byte for byte.
  EXPECT_EQ(cli.state(room), serialized_state(http));
  auto fresh = connect_hello(server.port(), erin);
  EXPECT_EQ(serialized_state(join_snapshot(*fresh, room)), serialized_state(http));
  const json::object status = cli.json_of({"status", "--json"});
  EXPECT_TRUE(arr(status, "unsent").empty());
  EXPECT_FALSE(arr(status, "recent_notices").empty());
}

TEST(cli, speaks_tls_to_an_https_server_for_http_and_the_websocket) {
  // HAProxy terminates TLS in front of the server with a certificate for localhost that the
  // client trusts through SSL_CERT_FILE (OpenSSL's default verify paths honour it).
  server_process server;
  const user alice = register_user(server.port(), "alice");
  cli_user cli(server.port());
  const test_certificate tls = make_test_certificate(cli.home() / "tls");
  const auto dir = cli.home() / "tls";
  std::ifstream in(std::string(FUN_NOTES_SOURCE_DIR) + "/deploy/haproxy.cfg");
  std::stringstream text;
  text << in.rdbuf();
  std::string cfg = text.str();
  const std::string bind = "bind 127.0.0.1:@FRONTEND_PORT@";
  ASSERT_NE(cfg.find(bind), std::string::npos);
  cfg.replace(cfg.find(bind), bind.size(), bind + " ssl crt " + tls.combined.string());
  {
    std::ofstream out(dir / "haproxy.cfg");
    out << cfg;
  }
  haproxy_process proxy(dir / "haproxy.cfg", {server.port()});
  cli.set_extra_env("SSL_CERT_FILE=" + shell_quote(tls.cert.string()));
  const std::string url = "https://localhost:" + std::to_string(proxy.port());

  // HTTP over TLS (login waits for HAProxy's first health check to pass).
  cli_result r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  do {
    r = cli.run({"--server", url, "login", "-u", alice.name, "--password", alice.password});
    if (r.code == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling for readiness
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(r.code, 0) << r.out << r.err << proxy.log();
  const std::string room =
      str(cli.json_of({"--server", url, "create-room", "Secure", "--json"}), "id");
  // The WebSocket over TLS: the op is acknowledged live (no "queued"), and the server has it.
  const std::string out = cli.ok({"--server", url, "add", room, "-t", "over wss"});
  EXPECT_EQ(out.find("queued"), std::string::npos) << out;
  EXPECT_EQ(arr(get_notes(server.port(), alice, room), "notes").size(), 1U);
  EXPECT_FALSE(cli.json_of({"--server", url, "notes", room, "--json"}).at("offline").as_bool());

  // Without the certificate trusted, the client refuses the server rather than talking to it.
  cli.set_extra_env("SSL_CERT_FILE=/nonexistent");
  r = cli.run({"--server", url, "rooms"});
  EXPECT_EQ(r.code, 0) << r.err;  // from the cache, offline
  EXPECT_NE(r.out.find("offline"), std::string::npos) << r.out;
  r = cli.run({"--server", url, "create-room", "Refused"});
  EXPECT_EQ(r.code, 4) << r.out << r.err;
}

}  // namespace
}  // namespace fun_notes::test

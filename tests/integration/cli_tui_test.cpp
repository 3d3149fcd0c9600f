// The full-screen client driven through tmux (send-keys, capture-pane) against the real server:
// it shows what another client does, live; its moves reach the other client; what is typed in
// it while the server is down arrives after a restart, with the terminal, a web-protocol client
// and the HTTP API agreeing; and a sentence typed in it and one typed at the same time by a
// web-protocol client into the same body both survive, character by character, on both.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <thread>

#include "cli_support.hpp"
#include "replica_socket.hpp"

namespace fun_notes::test {
namespace {

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    return out;
  }
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) {
    out.append(buf, n);
  }
  ::pclose(pipe);
  return out;
}

// One tmux server of its own (-L), one 80x24 window running the command.
class tmux_session {
 public:
  tmux_session(const cli_user& user, const std::vector<std::string>& args) {
    static std::atomic<int> counter{0};
    socket_ = "fun-notes-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    std::string cmd =
        "env " + user.env() + " LANG=C.UTF-8 TERM=tmux-256color " + shell_quote(cli_user::binary());
    for (const auto& a : args) {
      cmd += " " + shell_quote(a);
    }
    tmux("new-session -d -s t -x 80 -y 24 " + shell_quote(cmd));
  }
  ~tmux_session() { tmux("kill-server"); }

  std::string screen() const { return run_capture("tmux -L " + socket_ + " capture-pane -p -t t"); }
  void keys(const std::string& keys) const { tmux("send-keys -t t " + keys); }
  void type(const std::string& text) const { tmux("send-keys -t t -l " + shell_quote(text)); }

  // Waits for the screen to satisfy `ok`; fails the test with the last screen if it never does.
  bool wait_for(const std::function<bool(const std::string&)>& ok, const std::string& what,
                std::chrono::milliseconds timeout = std::chrono::seconds(15)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
      last = screen();
      if (ok(last)) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling the screen
    }
    ADD_FAILURE() << "the terminal never showed " << what << "; last screen:\n" << last;
    return false;
  }
  bool wait_for_text(const std::string& text,
                     std::chrono::milliseconds timeout = std::chrono::seconds(15)) const {
    return wait_for([&](const std::string& s) { return s.find(text) != std::string::npos; },
                    "\"" + text + "\"", timeout);
  }

 private:
  void tmux(const std::string& args) const {
    const std::string cmd = "tmux -L " + socket_ + " " + args + " >/dev/null 2>&1";
    [[maybe_unused]] const int rc = std::system(cmd.c_str());
  }
  std::string socket_;
};

bool have_tmux() {
  return std::system("command -v tmux >/dev/null 2>&1") == 0;
}

// The note titles in the order the room screen shows them (lines between the header and the
// key hints that hold one of `titles`).
std::vector<std::string> shown_order(const std::string& screen,
                                     const std::vector<std::string>& titles) {
  std::vector<std::string> order;
  std::istringstream lines(screen);
  std::string line;
  while (std::getline(lines, line)) {
    for (const auto& t : titles) {
      if (line.find(t) != std::string::npos) {
        order.push_back(t);
        break;
      }
    }
  }
  return order;
}

std::vector<std::string> titles_of(const json::object& notes) {
  std::vector<std::string> out;
  for (const auto& n : arr(notes, "notes")) {
    out.push_back(str(n.as_object(), "title"));
  }
  return out;
}

TEST(cli_tui, shows_another_clients_note_live_and_its_moves_reach_that_client) {
  ASSERT_TRUE(have_tmux()) << "tmux is missing: run scripts/setup.sh";
  server_process server;
  const user alice = register_user(server.port(), "alice");
  const user bob = register_user(server.port(), "bob");
  const std::string room = create_room(server.port(), alice, "Live room", "link");
  cli_user cli(server.port());
  cli.ok({"login", "-u", alice.name, "--password", alice.password});
  cli.ok({"add", room, "-t", "first note"});
  cli.ok({"add", room, "-t", "second note"});

  auto web = connect_hello(server.port(), bob);
  replica view;
  view.load(join_snapshot(*web, room));
  tmux_session tui(cli, {"tui", room});
  ASSERT_TRUE(tui.wait_for_text("second note"));
  ASSERT_TRUE(tui.wait_for_text("bob"));  // who is in the room

  // The other client adds a note at the end: it shows without a key press.
  view.apply(
      send_op_and_wait(*web, room, "w1", create_op("web-note", "from the web page", 99999.0)));
  ASSERT_TRUE(tui.wait_for_text("from the web page"));
  const std::vector<std::string> titles = {"first note", "second note", "from the web page"};
  EXPECT_EQ(shown_order(tui.screen(), titles), titles);

  // Select it (last) and move it up twice with Shift+Up and K: the other client gets the moves.
  tui.keys("G");
  tui.keys("S-Up");
  const auto first_move = web->next_of_type("op");
  ASSERT_TRUE(first_move.has_value());
  view.apply(*first_move);
  EXPECT_EQ(str(obj(*first_move, "op"), "kind"), "move");
  EXPECT_EQ(str(obj(*first_move, "op"), "id"), "web-note");
  tui.keys("K");
  const auto second_move = web->next_of_type("op");
  ASSERT_TRUE(second_move.has_value());
  view.apply(*second_move);
  const std::vector<std::string> moved = {"from the web page", "first note", "second note"};
  std::vector<std::string> web_order;
  for (const auto& n : view.state().sorted_notes()) {
    web_order.push_back(n.title);
  }
  EXPECT_EQ(web_order, moved);
  EXPECT_TRUE(tui.wait_for([&](const std::string& s) { return shown_order(s, titles) == moved; },
                           "the moved order"));
  // And down again with J.
  tui.keys("J");
  const auto third_move = web->next_of_type("op");
  ASSERT_TRUE(third_move.has_value());
  view.apply(*third_move);
  EXPECT_EQ(titles_of(get_notes(server.port(), alice, room)),
            (std::vector<std::string>{"first note", "from the web page", "second note"}));
  EXPECT_EQ(serialized_state(get_notes(server.port(), alice, room)), view.serialized());
}

TEST(cli_tui, what_is_typed_while_the_server_is_down_arrives_after_a_restart) {
  ASSERT_TRUE(have_tmux()) << "tmux is missing: run scripts/setup.sh";
  server_process::options opts;
  opts.keep_port = true;
  server_process server(opts);
  const user alice = register_user(server.port(), "alice");
  const user bob = register_user(server.port(), "bob");
  const std::string room = create_room(server.port(), alice, "Train trip", "link");
  cli_user cli(server.port());
  cli.ok({"login", "-u", alice.name, "--password", alice.password});
  const std::string shared = str(cli.json_of({"add", room, "-t", "shared note", "--json"}), "id");

  tmux_session tui(cli, {"tui", room});
  ASSERT_TRUE(tui.wait_for_text("shared note"));
  ASSERT_TRUE(tui.wait_for_text("live"));

  server.kill();
  ASSERT_TRUE(tui.wait_for_text("offline"));
  // In the terminal: the shared note's title gets more words, and a new note is written.
  tui.keys("g");
  tui.keys("e");
  ASSERT_TRUE(tui.wait_for_text("Title"));
  tui.keys("End");
  tui.type(" (edited in the terminal)");
  tui.keys("Escape");
  ASSERT_TRUE(tui.wait_for_text("shared note (edited in the terminal)"));
  tui.keys("n");
  ASSERT_TRUE(tui.wait_for_text("Title"));
  tui.type("typed while offline ✓");
  tui.keys("Escape");
  ASSERT_TRUE(tui.wait_for_text("typed while offline ✓"));
  ASSERT_TRUE(tui.wait_for_text("2 unsent"));
  // And a command beside it queues one more.
  const cli_result added = cli.run({"add", room, "-t", "added by a command"});
  EXPECT_EQ(added.code, 0) << added.err;
  EXPECT_NE(added.out.find("queued"), std::string::npos) << added.out;

  // The server comes back; another client edits the shared note's body at once.
  server.restart();
  auto web = connect_hello(server.port(), bob);
  (void)join_snapshot(*web, room);
  send_op_and_wait(*web, room, "w1", update_op(shared, {{"body", "body from the web page"}}));
  tui.keys("r");  // reconnect now instead of waiting out the backoff
  ASSERT_TRUE(tui.wait_for_text("all saved", std::chrono::seconds(30)));

  // Every edit arrived, merged field by field: the terminal's title, the web page's body.
  const json::object http = get_notes(server.port(), alice, room);
  std::vector<std::string> titles = titles_of(http);
  std::sort(titles.begin(), titles.end());
  EXPECT_EQ(titles,
            (std::vector<std::string>{"added by a command", "shared note (edited in the terminal)",
                                      "typed while offline ✓"}));
  for (const auto& n : arr(http, "notes")) {
    if (str(n.as_object(), "id") == shared) {
      EXPECT_EQ(str(n.as_object(), "body"), "body from the web page");
    }
  }
  // The terminal shows the server's order; a web-protocol client and a command agree byte for
  // byte with the HTTP API.
  EXPECT_TRUE(tui.wait_for(
      [&](const std::string& s) { return shown_order(s, titles_of(http)) == titles_of(http); },
      "the server's order"));
  auto fresh = connect_hello(server.port(), bob);
  EXPECT_EQ(serialized_state(join_snapshot(*fresh, room)), serialized_state(http));
  EXPECT_EQ(cli.state(room), serialized_state(http));
}

namespace cs = fun_notes::cli::sync;

// A web-protocol client typing into one note's body, one text op per character as the page
// sends them: the classic OT client of cli/sync on its own socket, its caret moved by others'
// text and sent as the page sends it.
class typist : public replica_socket {
 public:
  typist(std::uint16_t port, const user& u, const std::string& room)
      : replica_socket(port, u, room, "the typist"), room_(room) {
    go_live();
  }

  // Types `ch` at the caret in the note's body (which starts at its beginning) and shows the
  // caret there.
  void type(const std::string& note_id, const std::string& ch) {
    note_ = note_id;
    const std::string& text = replica_.find(note_id)->body;
    const std::size_t n = core::utf8_code_points(text).value();
    core::text_op op;
    op.retain(caret_).insert(ch).retain(n - caret_);
    send(replica_.edit_text(note_id, core::text_field::body, op, "web-" + std::to_string(++cids_),
                            "2026-12-03T00:00:00.000Z"));
    ++caret_;
    ws_->send_text(cs::cursor_frame(room_, note_id, core::text_field::body, caret_, caret_,
                                    replica_.base().seq()));
  }

  // Pumps, then sends what the server asked to retry.
  void pump_and_flush(std::chrono::milliseconds wait = std::chrono::milliseconds(0)) {
    pump(wait);
    send(replica_.flush());
  }

  void settle() {
    pump_until(
        [&] {
          send(replica_.flush());
          return replica_.outbox().empty();
        },
        "text ops never all acknowledged");
  }

  int carets_seen() const { return carets_seen_; }

 private:
  void seen(const cs::server_msg& msg) override {
    if (const auto* c = std::get_if<cs::cursor_msg>(&msg); c && !c->note.empty()) {
      ++carets_seen_;
    }
  }
  void applied(const cs::effects& e) override {
    for (const cs::text_change& c : e.text_changes) {
      if (c.op && c.note_id == note_ && c.field == core::text_field::body) {
        caret_ = core::transform_index(*c.op, caret_, false);
      }
    }
  }

  std::string room_;
  std::string note_;
  std::size_t caret_ = 0;
  int cids_ = 0;
  int carets_seen_ = 0;
};

TEST(cli_tui, a_sentence_typed_in_the_terminal_and_one_typed_at_once_on_the_web_both_survive) {
  ASSERT_TRUE(have_tmux()) << "tmux is missing: run scripts/setup.sh";
  server_process server;
  const user alice = register_user(server.port(), "alice");
  const user bob = register_user(server.port(), "bob");
  const std::string room = create_room(server.port(), alice, "Minutes", "link");
  cli_user cli(server.port());
  cli.ok({"login", "-u", alice.name, "--password", alice.password});
  const std::string note =
      str(cli.json_of({"add", room, "-t", "minutes", "-b", "Agreed.", "--json"}), "id");

  typist web(server.port(), bob, room);
  tmux_session tui(cli, {"tui", room});
  ASSERT_TRUE(tui.wait_for_text("minutes"));
  ASSERT_TRUE(tui.wait_for_text("live"));
  tui.keys("g");
  tui.keys("e");
  ASSERT_TRUE(tui.wait_for_text("Body"));
  tui.keys("Tab");
  tui.keys("End");  // the terminal types at the end of the body, the web page at its start

  // Character by character, in turns, neither side waiting for the other's echo: the server
  // transforms each op against the ones numbered since its base.
  const std::string mine = " Alice types here.";
  const std::string theirs = "Bob writes first. ";
  for (std::size_t i = 0; i < std::max(mine.size(), theirs.size()); ++i) {
    if (i < mine.size()) {
      tui.type(mine.substr(i, 1));
    }
    if (i < theirs.size()) {
      web.type(note, theirs.substr(i, 1));
    }
    web.pump_and_flush(std::chrono::milliseconds(i % 3 == 0 ? 15 : 0));
  }
  web.settle();
  const std::string expected = theirs + "Agreed." + mine;
  // The web client sees the terminal's sentence arrive whole, in place.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (web.replica().find(note)->body != expected && std::chrono::steady_clock::now() < give_up) {
    web.pump_and_flush(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(web.replica().find(note)->body, expected);
  // The terminal shows both, and the other person's caret with their name.
  EXPECT_TRUE(tui.wait_for_text(expected));
  EXPECT_TRUE(tui.wait_for_text("✎ bob"));
  EXPECT_GT(web.carets_seen(), 0);  // the terminal's caret reached the page
  tui.keys("Escape");
  ASSERT_TRUE(tui.wait_for_text("all saved", std::chrono::seconds(30)));
  // The server agrees, and the terminal's cache holds the same room.
  const json::object http = get_notes(server.port(), alice, room);
  for (const auto& n : arr(http, "notes")) {
    if (str(n.as_object(), "id") == note) {
      EXPECT_EQ(str(n.as_object(), "body"), expected);
    }
  }
  EXPECT_EQ(cli.state(room), serialized_state(http));
}

}  // namespace
}  // namespace fun_notes::test

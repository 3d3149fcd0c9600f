// The operator subcommands against the real binary: export / import round trips a room with
// ops still unflushed, and migrate moves an embedded instance into PostgreSQL + Redis.
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "child_process.hpp"
#include "fixture.hpp"
#include "fun_notes/core/codec.hpp"
#include "pg_test_server.hpp"
#include "redis_test_server.hpp"

namespace fun_notes::test {
namespace {

namespace fs = std::filesystem;

struct tool_run {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `fun-notes-server ARGS...` to completion.
tool_run run_tool(const fs::path& scratch, const std::vector<std::string>& args) {
  static int runs = 0;
  const fs::path log = scratch / ("tool-" + std::to_string(++runs) + ".log");
  std::vector<std::string> argv{server_process::binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  const pid_t pid = fun_notes::testing::spawn(argv, log);
  tool_run out;
  out.exit_code = fun_notes::testing::wait_for_exit(pid);
  std::ifstream in(log);
  std::ostringstream text;
  text << in.rdbuf();
  out.output = text.str();
  return out;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The room's last_seq in an embedded cold store, read beside the server.
std::int64_t cold_last_seq(const fs::path& data_dir, const std::string& room) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2((data_dir / "fun-notes.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    sqlite3_close(db);
    throw protocol_failure("cannot open fun-notes.db");
  }
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT last_seq FROM note_rooms WHERE id = ?1", -1, &st, nullptr);
  sqlite3_bind_text(st, 1, room.c_str(), -1, SQLITE_TRANSIENT);
  std::int64_t seq = -1;
  if (sqlite3_step(st) == SQLITE_ROW) {
    seq = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return seq;
}

std::string pg_rows(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  PGresult* res = PQexec(conn, sql.c_str());
  std::string out;
  if (PQresultStatus(res) == PGRES_TUPLES_OK) {
    for (int r = 0; r < PQntuples(res); ++r) {
      for (int c = 0; c < PQnfields(res); ++c) {
        out += std::string(PQgetvalue(res, r, c)) + "|";
      }
      out += "\n";
    }
  } else {
    out = "error: " + std::string(PQresultErrorMessage(res));
  }
  PQclear(res);
  PQfinish(conn);
  return out;
}

// serialize_state of the notes section of an export file.
std::string archive_state(const std::string& text) {
  auto doc = core::parse_json(text);
  if (!doc || !doc->is_object()) {
    throw protocol_failure("export is not JSON: " + text.substr(0, 200));
  }
  std::vector<core::note> notes;
  for (const auto& v : arr(doc->get_object(), "notes")) {
    auto n = core::parse_note(v);
    if (!n) {
      throw protocol_failure("bad note in export: " + n.err().message);
    }
    notes.push_back(*n);
  }
  return core::serialize_state(core::room_state(int64(doc->get_object(), "last_seq"), notes));
}

std::string notes_section(const std::string& text) {
  const auto at = text.find("\"notes\":[");
  return at == std::string::npos ? "" : text.substr(at);
}

// A populated embedded instance: two rooms, three members, creates, updates, moves, a
// rebalance and deletes, none of it flushed yet.
struct populated {
  user alice, bob, carol;
  std::string room, solo;
  replica view, solo_view;
};

server_process::options embedded_options() {
  server_process::options o;
  // Nothing is flushed while the test runs: every op stays in the op log only.
  o.extra_args = {"--flush-quiet-ms", "600000", "--flush-max-ms", "600000"};
  o.jwt_secret.clear();  // the server generates its secret and keeps it in the data dir
  return o;
}

void populate(server_process& server, populated& p) {
  p.alice = register_user(server.port(), "alice");
  p.bob = register_user(server.port(), "bob");
  p.carol = register_user(server.port(), "carol");
  p.room = create_room(server.port(), p.alice, "Plans", "link");
  p.solo = create_room(server.port(), p.alice, "Alice only", "private");

  auto a = connect_hello(server.port(), p.alice);
  auto b = connect_hello(server.port(), p.bob);
  auto c = connect_hello(server.port(), p.carol);
  // A watcher that only listens sees every op, whoever sent it.
  auto watch = connect_hello(server.port(), p.alice);
  p.view.load(join_snapshot(*watch, p.room));
  join_snapshot(*a, p.room);
  join_snapshot(*b, p.room);  // a link room: bob and carol become editors
  join_snapshot(*c, p.room);
  int cid = 0;
  auto send = [&](ws_client& ws, json::object op) {
    const auto ack = send_op_and_wait(ws, p.room, "c" + std::to_string(++cid), std::move(op));
    if (type_of(ack) != "op") {
      throw protocol_failure("op not acknowledged: " + to_string(ack));
    }
  };
  for (int i = 0; i < 8; ++i) {
    send(*a, create_op("n" + std::to_string(i), "note " + std::to_string(i), i * 1.25,
                       "body " + std::to_string(i), i % 3 == 0, i % 4 == 0));
  }
  send(*b, update_op("n2", json::object{{"title", "edited by bob"}, {"is_completed", true}}));
  send(*b, move_op("n5", -3.0625));
  send(*a, delete_op("n3"));
  send(*c, rebalance_op({{"n0", 0.1}, {"n1", 0.2}, {"ghost", 9.0}}));
  send(*c, update_op("n7", json::object{{"body", "ünïcode ✓ \"quoted\"\n"}}));
  send(*a, delete_op("n6"));
  read_ops_to(*watch, p.view, 14);

  auto solo = connect_hello(server.port(), p.alice);
  p.solo_view.load(join_snapshot(*solo, p.solo));
  const auto ack = send_op_and_wait(*solo, p.solo, "s1", create_op("only", "just me", 1.0));
  if (type_of(ack) != "op") {
    throw protocol_failure("op not acknowledged: " + to_string(ack));
  }
  p.solo_view.apply(ack);
}

class admin : public server_test {
 protected:
  void SetUp() override {
    scratch_ = fs::temp_directory_path() /
               ("fun-notes-admin-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(scratch_);
    fs::create_directories(scratch_);
  }
  void TearDown() override {
    server_test::TearDown();
    std::error_code ec;
    fs::remove_all(scratch_, ec);
  }
  fs::path scratch_;
};

TEST_F(admin, export_import_export_gives_the_same_room_with_unflushed_ops_folded_in) {
  auto& source = start_server(embedded_options());
  populated p;
  ASSERT_NO_THROW(populate(source, p));
  // A crash: the op log holds every op, the cold store none of them.
  source.kill();
  ASSERT_EQ(cold_last_seq(source.data_dir(), p.room), 0) << "the ops should still be unflushed";

  const fs::path first = scratch_ / "first.json";
  auto exported = run_tool(scratch_, {"export", "--room", p.room, "--out", first.string(), "--data",
                                      source.data_dir().string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  const std::string first_text = read_text(first);
  EXPECT_EQ(archive_state(first_text), p.view.serialized());
  EXPECT_NE(first_text.find("\"username\":\"" + p.carol.name + "\",\"role\":\"editor\""),
            std::string::npos)
      << first_text;

  // A fresh instance where alice and bob have accounts (with other ids) and carol has none.
  server_process::options fresh_options;
  auto& target = start_server(fresh_options);
  for (const user* u : {&p.alice, &p.bob}) {
    const auto r = http_request(target.port(), "POST", "/api/register",
                                json::value{{"username", u->name}, {"password", u->password}});
    ASSERT_EQ(r.status, 201) << r.body;
  }
  ASSERT_EQ(target.terminate(), 0);
  const std::string target_data = target.data_dir().string();

  auto imported = run_tool(scratch_, {"import", first.string(), "--data", target_data});
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_NE(imported.output.find(p.carol.name), std::string::npos)
      << "import names the member without an account: " << imported.output;

  auto again = run_tool(scratch_, {"import", first.string(), "--data", target_data});
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_NE(again.output.find("already exists"), std::string::npos) << again.output;

  const fs::path second = scratch_ / "second.json";
  auto reexported = run_tool(
      scratch_, {"export", "--room", p.room, "--out", second.string(), "--data", target_data});
  ASSERT_EQ(reexported.exit_code, 0) << reexported.output;
  const std::string second_text = read_text(second);
  EXPECT_EQ(notes_section(second_text), notes_section(first_text));
  EXPECT_FALSE(notes_section(first_text).empty());
  EXPECT_EQ(archive_state(second_text), archive_state(first_text));

  // The imported room is live: same state over HTTP, numbering on after last_seq.
  target.restart();
  const auto login =
      http_request(target.port(), "POST", "/api/login",
                   json::value{{"username", p.alice.name}, {"password", p.alice.password}});
  ASSERT_EQ(login.status, 200) << login.body;
  user alice_here = p.alice;
  alice_here.token = str(login.json.get_object(), "token");
  alice_here.id = str(obj(login.json.get_object(), "user"), "id");  // another id here
  EXPECT_EQ(serialized_state(get_notes(target.port(), alice_here, p.room)), p.view.serialized());
  auto ws = connect_hello(target.port(), alice_here);
  join_snapshot(*ws, p.room);
  const auto ack = send_op_and_wait(*ws, p.room, "after-import", delete_op("n0"));
  ASSERT_EQ(type_of(ack), "op") << to_string(ack);
  EXPECT_EQ(int64(ack, "seq"), p.view.seq() + 1);
}

TEST_F(admin, a_client_that_held_a_replaced_room_gets_a_snapshot_of_the_new_content) {
  auto& server = start_server(embedded_options());
  const user alice = register_user(server.port(), "alice");
  const std::string room = create_room(server.port(), alice, "Replaced", "private");
  auto ws = connect_hello(server.port(), alice);
  replica view;
  view.load(join_snapshot(*ws, room));
  view.apply(send_op_and_wait(*ws, room, "c1", create_op("old", "before the restore", 1.0)));
  ws->close();
  ASSERT_EQ(server.terminate(), 0);

  // An archive of the room at the same seq, with other notes (as a restored backup would be).
  const fs::path file = scratch_ / "room.json";
  auto exported = run_tool(scratch_, {"export", "--room", room, "--out", file.string(), "--data",
                                      server.data_dir().string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  std::string text = read_text(file);
  const auto at = text.find("\"title\":\"before the restore\"");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, std::string("\"title\":\"before the restore\"").size(),
               "\"title\":\"from the backup\"");
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
  }
  auto imported = run_tool(
      scratch_, {"import", file.string(), "--replace", "--data", server.data_dir().string()});
  ASSERT_EQ(imported.exit_code, 0) << imported.output;

  // A client that held the room at its last seq asks to resume from it: it must be told the
  // new content (a snapshot), not resumed past it.
  server.restart();
  auto again = connect_hello(server.port(), alice);
  const json::object answer = join(*again, room, view.seq());
  ASSERT_EQ(type_of(answer), "snapshot") << to_string(answer);
  EXPECT_GT(int64(answer, "seq"), view.seq());
  EXPECT_NE(to_string(answer).find("from the backup"), std::string::npos) << to_string(answer);
  // And numbering goes on after the replacement's seq.
  const auto ack = send_op_and_wait(*again, room, "c2", delete_op("old"));
  ASSERT_EQ(type_of(ack), "op") << to_string(ack);
  EXPECT_EQ(int64(ack, "seq"), int64(answer, "seq") + 1);
}

TEST_F(admin, migrate_moves_an_embedded_instance_into_postgres_and_a_second_run_changes_nothing) {
  auto& source = start_server(embedded_options());
  populated p;
  ASSERT_NO_THROW(populate(source, p));
  source.kill();
  ASSERT_EQ(cold_last_seq(source.data_dir(), p.room), 0) << "the ops should still be unflushed";

  const std::string url = store::testing::fresh_postgres_database();
  auto first =
      run_tool(scratch_, {"migrate", "--to-postgres", url, "--data", source.data_dir().string()});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const std::string pg_state =
      pg_rows(url, "SELECT id, last_seq, total_notes FROM note_rooms ORDER BY id") +
      pg_rows(url, "SELECT note_room_id, id, title, sequence_id FROM notes ORDER BY 1, 2") +
      pg_rows(url, "SELECT id, name, password_hash FROM users ORDER BY id") +
      pg_rows(url, "SELECT room_id, user_id, role FROM room_members ORDER BY 1, 2") +
      pg_rows(url, "SELECT name, value FROM settings ORDER BY name");

  auto second =
      run_tool(scratch_, {"migrate", "--to-postgres", url, "--data", source.data_dir().string()});
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("nothing to do"), std::string::npos) << second.output;
  EXPECT_EQ(
      pg_rows(url, "SELECT id, last_seq, total_notes FROM note_rooms ORDER BY id") +
          pg_rows(url, "SELECT note_room_id, id, title, sequence_id FROM notes ORDER BY 1, 2") +
          pg_rows(url, "SELECT id, name, password_hash FROM users ORDER BY id") +
          pg_rows(url, "SELECT room_id, user_id, role FROM room_members ORDER BY 1, 2") +
          pg_rows(url, "SELECT name, value FROM settings ORDER BY name"),
      pg_state);

  auto redis = store::redis::testing::redis_deployment::standalone();
  server_process::options distributed;
  distributed.jwt_secret.clear();  // the secret migrated into PostgreSQL
  distributed.extra_args = {"--postgres", url, "--redis", redis->urls().front()};
  auto& fleet = start_server(distributed);

  // The embedded server's token is still good, and passwords still work.
  const auto rooms = http_request(fleet.port(), "GET", "/api/rooms", std::nullopt, p.alice.token);
  ASSERT_EQ(rooms.status, 200) << rooms.body;
  std::vector<std::string> names;
  for (const auto& r : arr(rooms.json.get_object(), "rooms")) {
    names.push_back(str(r.get_object(), "name"));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Alice only", "Plans"}));
  const auto login =
      http_request(fleet.port(), "POST", "/api/login",
                   json::value{{"username", p.bob.name}, {"password", p.bob.password}});
  EXPECT_EQ(login.status, 200) << login.body;

  EXPECT_EQ(serialized_state(get_notes(fleet.port(), p.alice, p.room)), p.view.serialized());
  EXPECT_EQ(serialized_state(get_notes(fleet.port(), p.alice, p.solo)), p.solo_view.serialized());
  const auto info =
      http_request(fleet.port(), "GET", "/api/rooms/" + p.room, std::nullopt, p.alice.token);
  ASSERT_EQ(info.status, 200) << info.body;
  std::vector<std::string> members;
  for (const auto& m : arr(info.json.get_object(), "members")) {
    members.push_back(str(m.get_object(), "name") + ":" + str(m.get_object(), "role"));
  }
  std::sort(members.begin(), members.end());
  std::vector<std::string> expected{p.alice.name + ":owner", p.bob.name + ":editor",
                                    p.carol.name + ":editor"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(members, expected);

  // The Redis log numbers on after the migrated last_seq.
  auto ws = connect_hello(fleet.port(), p.carol);
  join_snapshot(*ws, p.room);
  const auto ack = send_op_and_wait(*ws, p.room, "after-migrate", delete_op("n1"));
  ASSERT_EQ(type_of(ack), "op") << to_string(ack);
  EXPECT_EQ(int64(ack, "seq"), p.view.seq() + 1);
}

TEST_F(admin, the_subcommands_refuse_what_they_cannot_do_with_one_line) {
  auto missing =
      run_tool(scratch_, {"export", "--room", "r", "--data", (scratch_ / "nowhere").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("no fun-notes instance"), std::string::npos) << missing.output;
  EXPECT_FALSE(fs::exists(scratch_ / "nowhere" / "fun-notes.db")) << "export created an instance";

  std::ofstream(scratch_ / "bad.json") << R"({"format":"something-else","version":1})";
  auto bad = run_tool(
      scratch_, {"import", (scratch_ / "bad.json").string(), "--data", (scratch_ / "d").string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("not a fun-notes room file"), std::string::npos) << bad.output;

  auto help = run_tool(scratch_, {"migrate", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--to-postgres"), std::string::npos) << help.output;
}

}  // namespace
}  // namespace fun_notes::test

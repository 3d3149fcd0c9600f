// The server with PostgreSQL as its cold store: accounts, rooms and notes live in PostgreSQL,
// so a server with a brand-new data directory (an empty op log) carries on where another left.
#include <libpq-fe.h>

#include "fixture.hpp"
#include "pg_test_server.hpp"

namespace fun_notes::test {
namespace {

class postgres : public server_test {};

// One value read straight from PostgreSQL, bypassing the server.
std::string pg_scalar(const std::string& url, const std::string& sql, const std::string& param) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string err = PQerrorMessage(conn);
    PQfinish(conn);
    throw protocol_failure("cannot connect to the test PostgreSQL: " + err);
  }
  const char* values[] = {param.c_str()};
  PGresult* res = PQexecParams(conn, sql.c_str(), 1, nullptr, values, nullptr, nullptr, 0);
  std::string out;
  const bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
  if (ok) {
    out = PQgetvalue(res, 0, 0);
  }
  const std::string err = PQresultErrorMessage(res);
  PQclear(res);
  PQfinish(conn);
  if (!ok) {
    throw protocol_failure("query failed: " + sql + ": " + err);
  }
  return out;
}

TEST_F(postgres, a_new_server_with_an_empty_op_log_resumes_from_postgres) {
  const std::string url = store::testing::fresh_postgres_database();
  auto& first = start_server(with_args({"--postgres", url, "--flush-quiet-ms", "10"}));
  const user alice = register_user(first.port(), "alice");
  const std::string room = create_room(first.port(), alice, "Kept in PostgreSQL", "private");

  replica view;
  {
    auto a = connect_hello(first.port(), alice);
    view.load(join_snapshot(*a, room));
    for (int i = 0; i < 12; ++i) {
      const std::string id = "n" + std::to_string(i % 4);
      const auto op = i < 4 ? create_op(id, "note " + id, i * 1.5)
                            : update_op(id, json::object{{"title", "edit " + std::to_string(i)}});
      const auto ack = send_op_and_wait(*a, room, "c" + std::to_string(i), op);
      ASSERT_EQ(type_of(ack), "op") << to_string(ack);
      view.apply(ack);
    }
  }
  // SIGTERM flushes the write-behind before exiting.
  ASSERT_EQ(first.terminate(), 0);
  EXPECT_EQ(pg_scalar(url, "SELECT last_seq::text FROM note_rooms WHERE id = $1", room),
            std::to_string(view.seq()));
  EXPECT_EQ(pg_scalar(url, "SELECT count(*)::text FROM notes WHERE note_room_id = $1", room), "4");
  EXPECT_EQ(pg_scalar(url, "SELECT title FROM notes WHERE id = 'n3' AND note_room_id = $1", room),
            "edit 11");

  // Another server, another (empty) data directory, the same PostgreSQL.
  auto& second = start_server(with_args({"--postgres", url}));
  const auto login =
      http_request(second.port(), "POST", "/api/login",
                   json::value{{"username", alice.name}, {"password", alice.password}});
  ASSERT_EQ(login.status, 200) << login.body;
  user again = alice;
  again.token = str(login.json.get_object(), "token");
  auto b = connect_hello(second.port(), again);
  const auto snap = join_snapshot(*b, room);
  EXPECT_EQ(int64(snap, "seq"), view.seq());
  EXPECT_EQ(serialized_state(snap), view.serialized());
  // Numbering continues from PostgreSQL's last_seq, never from 0.
  const auto ack = send_op_and_wait(*b, room, "after", delete_op("n0"));
  ASSERT_EQ(type_of(ack), "op") << to_string(ack);
  EXPECT_EQ(int64(ack, "seq"), view.seq() + 1);
}

}  // namespace
}  // namespace fun_notes::test

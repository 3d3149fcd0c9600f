// Fixture for tests of distributed mode: servers on one throwaway PostgreSQL and Redis, and
// direct reads of what those two hold.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "fixture.hpp"
#include "pg_test_server.hpp"
#include "redis_test_server.hpp"
#include "store/postgres/pg_connection.hpp"

namespace fun_notes::test {

class fleet_test : public server_test {
 protected:
  std::vector<std::string> fleet_args(const std::string& flush_quiet_ms = "20") {
    if (!redis_) {
      redis_ = cluster_with_replicas_ ? store::redis::testing::redis_deployment::cluster(3, 1)
                                      : store::redis::testing::redis_deployment::standalone();
      postgres_url_ = store::testing::fresh_postgres_database();
    }
    std::ostringstream urls;
    for (const auto& u : redis_->urls()) {
      urls << (urls.tellp() > 0 ? "," : "") << u;
    }
    return {"--postgres", postgres_url_,    "--redis", urls.str(),         "--max-op-rate",
            "100000",     "--max-op-burst", "100000",  "--flush-quiet-ms", flush_quiet_ms};
  }

  std::unique_ptr<store::redis::testing::redis_deployment> redis_;
  std::string postgres_url_;
  // Set before the first fleet_args(): a Redis Cluster of 3 masters with a replica each.
  bool cluster_with_replicas_ = false;
};

// A client after hello, through a load balancer or not: the connection and the instance id of
// the server it reached (welcome.server).
struct fleet_session {
  std::unique_ptr<ws_client> ws;
  std::string server;
};

inline fleet_session hello_server(std::uint16_t port, const user& u) {
  fleet_session s{ws_client::connect(port), {}};
  s.ws->send(json::value{{"type", "hello"}, {"token", u.token}, {"client", "fleet-test"}});
  auto f = s.ws->next();
  if (!f || type_of(*f) != "welcome") {
    throw protocol_failure("no welcome after hello" + (f ? ": " + to_string(*f) : ""));
  }
  s.server = str(*f, "server");
  return s;
}

// The room's persisted seq as PostgreSQL has it, read directly (not through a server).
inline std::int64_t persisted_seq(const std::string& postgres_url, const std::string& room) {
  store::pg::connection c(postgres_url);
  const auto r = c.exec("SELECT last_seq FROM note_rooms WHERE id = $1", {room});
  return r.rows() == 1 ? r.int64(0, 0) : -1;
}

inline std::int64_t redis_integer(store::redis::testing::redis_node& node,
                                  const std::vector<std::string>& command) {
  const auto r = node.command(command);
  if (!r.is_integer()) {
    throw protocol_failure("unexpected Redis reply " + r.str);
  }
  return r.integer;
}

}  // namespace fun_notes::test

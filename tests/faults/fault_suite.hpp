// The fault suite's fleet: PostgreSQL, a Redis Cluster with replicas, servers, HAProxy and a
// typing load over several rooms (or one embedded server), plus the checks every scenario
// ends with and the table the suite prints.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "load.hpp"
#include "redis_test_server.hpp"

namespace fun_notes::test::faults {

struct fleet_options {
  bool embedded = false;       // one server, SQLite in its data dir; no PG, Redis, HAProxy
  std::size_t servers = 3;     // distributed mode
  std::vector<std::string> extra_args;
  std::size_t rooms = 4;
  std::size_t writers_per_room = 2;
  std::size_t readers_per_room = 2;
  std::size_t body_bytes = 120;
  std::size_t room0_body_bytes = 0;  // room 0's writers type bodies this long (0: body_bytes)
};

// One row of the table.
struct scenario_row {
  std::string scenario;
  std::int64_t sent = 0;
  std::int64_t acked = 0;
  std::int64_t rejected = 0;
  std::int64_t lost = 0;
  std::string recovery;
  std::string notes;
};

// Rows of every scenario run by this process; printed and written out at the end.
void record_row(scenario_row row);
void write_table(std::ostream& out);
// Writes this run's rows into the table file at `path`, keeping other scenarios' rows there.
void merge_table_file(const std::string& path);
std::string seconds_text(clock_type::duration d);

class fleet {
 public:
  explicit fleet(fleet_options options);
  ~fleet();
  fleet(const fleet&) = delete;
  fleet& operator=(const fleet&) = delete;

  // Starts every client and waits until each has joined and each writer has `acks` acks.
  void start_load(std::int64_t acks = 10);
  // Waits until every writer has `more` acknowledged ops beyond what it had at the call.
  // Returns false at the deadline.
  bool wait_progress(std::int64_t more, milliseconds deadline);
  void set_writing(bool on);

  server_process& server(std::size_t i) { return *servers_.at(i); }
  std::size_t server_count() const { return servers_.size(); }
  store::redis::testing::redis_deployment& redis() { return *redis_; }
  haproxy_process* balancer() { return haproxy_.get(); }
  directory& dir() { return directory_; }
  const std::vector<std::unique_ptr<load_client>>& clients() const { return clients_; }
  std::vector<load_client*> writers() const;
  const std::vector<std::string>& rooms() const { return rooms_; }
  const user& owner() const { return owner_; }
  const std::string& postgres_url() const { return postgres_url_; }
  std::vector<std::string> server_args() const;
  // Points the directory at the servers that are running now.
  void refresh_directory();
  // A port of a running server (for HTTP checks).
  std::uint16_t live_port();

  // Masters and their replicas, by node index (ROLE of every running node).
  std::vector<std::size_t> redis_masters();
  std::optional<std::size_t> replica_of(std::size_t master);

  // The time every writer had an acknowledged op at or after `t` (nullopt if one has not yet).
  std::optional<clock_type::time_point> all_writers_acked_after(clock_type::time_point t) const;
  // Waits for all_writers_acked_after(t); the recovery, or nullopt at the deadline.
  std::optional<clock_type::duration> wait_writers_recovered(clock_type::time_point t,
                                                             milliseconds deadline) const;

  // VmRSS in KiB of server i (0 if it is not running).
  std::int64_t rss_kib(std::size_t i);

  // The checks every scenario ends with; writes the row (recovery from the scenario) and
  // reports each broken guarantee as a test failure. Stops the load.
  scenario_row verify(const std::string& scenario, const std::string& recovery,
                      std::string notes = {});

  void print_logs(std::ostream& out);

  // One more reader in room `room_index`, e.g. a slow consumer (before start_load()).
  load_client& add_reader(std::size_t room_index, const std::string& name,
                          int receive_buffer_bytes);
  // The room's last_seq in the cold store (-1 when it cannot be read).
  std::int64_t cold_last_seq(const std::string& room) { return read_cold(room).last_seq; }
  const std::vector<user>& users() const { return users_; }

 private:
  struct cold_view {
    std::int64_t last_seq = -1;
    std::map<std::string, core::note> notes;
  };
  cold_view read_cold(const std::string& room);
  // seq -> cid of the room's op log as the hot log holds it.
  std::map<std::int64_t, std::string> read_hot(const std::string& room);

  fleet_options options_;
  std::unique_ptr<store::redis::testing::redis_deployment> redis_;
  std::string postgres_url_;
  std::vector<std::unique_ptr<server_process>> servers_;
  std::vector<std::int64_t> baseline_rss_;
  std::unique_ptr<haproxy_process> haproxy_;
  directory directory_;
  user owner_;
  std::vector<user> users_;
  std::vector<std::string> rooms_;
  std::map<std::string, std::unique_ptr<room_history>> histories_;
  std::vector<std::unique_ptr<load_client>> clients_;
};

// Every scenario's fixture: prints the fleet's logs when the scenario failed.
class fault_test : public ::testing::Test {
 protected:
  fleet& make_fleet(fleet_options options);
  void TearDown() override;
  std::unique_ptr<fleet> fleet_;
};

}  // namespace fun_notes::test::faults

// The fault suite (issue 8): one fault per scenario under a steady typing load over servers on
// PostgreSQL and a Redis Cluster with replicas (or one embedded server), then the same checks:
// nothing acknowledged lost, every replica identical, the cold store caught up, memory back.
// Prints `scenario | ops sent | acknowledged | lost | recovery` and writes it to
// faults-table.md in the build dir.
#include <sys/resource.h>

#include <fstream>
#include <iostream>

#include "fault_suite.hpp"
#include "pg_test_server.hpp"

namespace fun_notes::test::faults {
namespace {

using namespace std::chrono_literals;

std::string since_text(const std::optional<clock_type::duration>& d) {
  return d ? seconds_text(*d) : "not within the deadline";
}

// Rejections of `code` over all writers.
std::int64_t rejects(fleet& f, const std::string& code) {
  std::int64_t n = 0;
  for (auto* w : f.writers()) {
    const auto c = w->counts();
    const auto it = c.rejects_by_code.find(code);
    n += it == c.rejects_by_code.end() ? 0 : it->second;
  }
  return n;
}

// Re-joins (after the connection ended) that started at or after `t`.
std::vector<rejoin_event> rejoins_after(fleet& f, clock_type::time_point t) {
  std::vector<rejoin_event> out;
  for (const auto& c : f.clients()) {
    for (const auto& e : c->rejoins()) {
      if (e.closed_at >= t) {
        out.push_back(e);
      }
    }
  }
  return out;
}

std::string rejoin_summary(const std::vector<rejoin_event>& events) {
  std::size_t resumed = 0;
  clock_type::duration longest{};
  for (const auto& e : events) {
    resumed += e.resumed ? 1 : 0;
    longest = std::max(longest, e.rejoined_at - e.closed_at);
  }
  return std::to_string(events.size()) + " clients re-joined (" + std::to_string(resumed) +
         " resumed), slowest " + seconds_text(longest);
}

// Polls a condition the test has no event for, until a deadline.
template <class F>
bool wait_for(F done, milliseconds deadline, milliseconds every = 50ms) {
  const auto give_up = clock_type::now() + deadline;
  while (!done()) {
    if (clock_type::now() > give_up) {
      return false;
    }
    std::this_thread::sleep_for(every);
  }
  return true;
}

// Keeps the load running for `span` (the length of a fault), checking that writers still get
// acks when `expect_progress`.
void hold_for(fleet& f, clock_type::duration span, bool expect_progress) {
  const auto until = clock_type::now() + span;
  while (clock_type::now() < until) {
    if (expect_progress) {
      ASSERT_TRUE(f.wait_progress(5, 20000ms)) << "writers stopped getting acks";
    } else {
      std::this_thread::sleep_for(100ms);  // the fault's duration, not a synchronisation
    }
  }
}

class faults : public fault_test {};

TEST_F(faults, s01_kill_9_a_server) {
  auto& f = make_fleet({});
  f.start_load();
  ASSERT_TRUE(f.wait_progress(40, 30000ms));
  const auto t = clock_type::now();
  f.server(0).kill();
  f.refresh_directory();
  const auto recovery = f.wait_writers_recovered(t, 30000ms);
  EXPECT_TRUE(recovery) << "some writer never got an ack after the kill";
  ASSERT_TRUE(f.wait_progress(40, 30000ms));
  const auto events = rejoins_after(f, t);
  EXPECT_FALSE(events.empty()) << "no client was on the killed server";
  f.verify("1. kill -9 a server", since_text(recovery), rejoin_summary(events));
}

TEST_F(faults, s02_sigterm_a_server_drains_with_1001_and_clients_resume_elsewhere) {
  auto& f = make_fleet({});
  f.start_load();
  ASSERT_TRUE(f.wait_progress(40, 30000ms));
  const auto t = clock_type::now();
  const auto code = f.server(0).terminate();
  EXPECT_EQ(code, std::optional<int>(0)) << "SIGTERM: the server should drain and exit 0";
  f.refresh_directory();
  const auto recovery = f.wait_writers_recovered(t, 30000ms);
  EXPECT_TRUE(recovery);
  ASSERT_TRUE(f.wait_progress(40, 30000ms));
  const auto events = rejoins_after(f, t);
  ASSERT_FALSE(events.empty()) << "no client was on the drained server";
  clock_type::duration longest{};
  for (const auto& e : events) {
    EXPECT_EQ(e.close_code, 1001) << "a drained client saw another close code";
    longest = std::max(longest, e.rejoined_at - e.closed_at);
  }
  // The target is 2 s; the assertion is a generous deadline (the machine is shared), the
  // measured figure goes into the table.
  EXPECT_LT(longest, 15s) << "a drained client took " << seconds_text(longest) << " to resume";
  f.verify("2. SIGTERM a server", "resume after 1001: " + seconds_text(longest),
           rejoin_summary(events) + "; exit " + (code ? std::to_string(*code) : "none"));
}

TEST_F(faults, s03_restart_a_redis_master) {
  auto& f = make_fleet({});
  f.start_load();
  ASSERT_TRUE(f.wait_progress(40, 30000ms));
  const auto masters = f.redis_masters();
  ASSERT_EQ(masters.size(), 3u);
  const auto before = rejects(f, "unavailable");
  // A crash and an immediate restart from the AOF, quicker than the cluster's node timeout,
  // so the same node is master again.
  f.redis().node(masters[0]).kill();
  f.redis().node(masters[0]).start();
  const auto t = clock_type::now();
  const auto recovery = f.wait_writers_recovered(t, 30000ms);
  EXPECT_TRUE(recovery);
  ASSERT_TRUE(f.wait_progress(40, 30000ms));
  f.verify("3. restart a Redis master (kill -9, AOF)", since_text(recovery),
           std::to_string(rejects(f, "unavailable") - before) + " rejected unavailable");
}

TEST_F(faults, s04a_manual_failover_to_the_replica) {
  auto& f = make_fleet({});
  f.start_load();
  ASSERT_TRUE(f.wait_progress(40, 30000ms));
  const auto masters = f.redis_masters();
  ASSERT_FALSE(masters.empty());
  const auto replica = f.replica_of(masters[0]);
  ASSERT_TRUE(replica) << "master " << masters[0] << " has no replica";
  const auto t = clock_type::now();
  const auto r = f.redis().node(*replica).command({"CLUSTER", "FAILOVER"});
  ASSERT_FALSE(r.is_error()) << r.str;
  ASSERT_TRUE(wait_for(
      [&] {
        const auto m = f.redis_masters();
        return std::find(m.begin(), m.end(), *replica) != m.end();
      },
      30000ms));
  const auto promoted = clock_type::now();
  const auto recovery = f.wait_writers_recovered(promoted, 30000ms);
  EXPECT_TRUE(recovery);
  ASSERT_TRUE(f.wait_progress(40, 30000ms));
  f.verify("4a. CLUSTER FAILOVER on the replica", since_text(recovery),
           "promoted in " + seconds_text(promoted - t) + ", " +
               std::to_string(rejects(f, "unavailable")) + " rejected unavailable");
}

TEST_F(faults, s04b_kill_a_master_its_replica_takes_over) {
  auto& f = make_fleet({});
  f.start_load();
  ASSERT_TRUE(f.wait_progress(40, 30000ms));
  const auto masters = f.redis_masters();
  ASSERT_FALSE(masters.empty());
  const auto replica = f.replica_of(masters[0]);
  ASSERT_TRUE(replica);
  // A replica still in its first sync cannot be promoted.
  ASSERT_NO_THROW(f.redis().wait_replicas_synced());
  const auto t = clock_type::now();
  f.redis().node(masters[0]).kill();
  ASSERT_TRUE(wait_for(
      [&] {
        const auto m = f.redis_masters();
        return std::find(m.begin(), m.end(), *replica) != m.end();
      },
      60000ms))
      << "the replica was never promoted";
  const auto promoted = clock_type::now();
  // Strict mode: the promoted master has no replica of its own yet, so its rooms accept no op
  // until the old master is back as its replica and has synced (an op a single copy holds
  // could be lost by the next failure).
  f.redis().node(masters[0]).start();
  ASSERT_NO_THROW(f.redis().wait_cluster_ok());
  ASSERT_NO_THROW(f.redis().wait_replicas_synced());
  const auto replicated = clock_type::now();
  const auto recovery = f.wait_writers_recovered(promoted, 30000ms);
  EXPECT_TRUE(recovery);
  ASSERT_TRUE(f.wait_progress(40, 30000ms));
  f.verify("4b. kill -9 a master (replica promoted)",
           "promoted after " + seconds_text(promoted - t) + ", its new replica synced after " +
               seconds_text(replicated - promoted) + ", writers " + since_text(recovery),
           std::to_string(rejects(f, "unavailable")) + " rejected unavailable");
}

TEST_F(faults, s05_postgres_down_60_seconds) {
  auto& f = make_fleet({});
  f.start_load();
  ASSERT_TRUE(f.wait_progress(40, 30000ms));
  store::testing::stop_postgres();
  ASSERT_NO_FATAL_FAILURE(hold_for(f, 60s, true));
  store::testing::start_postgres();
  const auto t = clock_type::now();
  // Recovery: the write-behind has caught up with everything typed during the outage.
  std::map<std::string, std::int64_t> target;
  for (const auto& c : f.clients()) {
    target[c->cfg().room] = std::max(target[c->cfg().room], c->seq());
  }
  const bool caught_up = wait_for(
      [&] {
        return std::all_of(target.begin(), target.end(),
                           [&](const auto& r) { return f.cold_last_seq(r.first) >= r.second; });
      },
      60000ms, 200ms);
  EXPECT_TRUE(caught_up) << "the cold store did not catch up after PostgreSQL came back";
  const auto recovery = clock_type::now() - t;
  f.verify("5. PostgreSQL down 60 s", "cold store caught up " + seconds_text(recovery),
           "acks never stopped");
}

TEST_F(faults, s06_postgres_down_longer_than_the_redis_ttl) {
  fleet_options o;
  o.extra_args = {"--redis-ttl", "2"};
  auto& f = make_fleet(o);
  f.start_load();
  ASSERT_TRUE(f.wait_progress(20, 30000ms));
  store::testing::stop_postgres();
  const auto t = clock_type::now();
  ASSERT_TRUE(f.wait_progress(20, 30000ms));  // typing while the database is away
  // Then everyone pauses: the rooms go quiet for three times the TTL, PostgreSQL still down.
  // Keys of unpersisted ops must not expire.
  f.set_writing(false);
  ASSERT_TRUE(wait_for(
      [&] {
        const auto ws = f.writers();
        return std::all_of(ws.begin(), ws.end(), [](auto* w) { return w->unacknowledged() == 0; });
      },
      30000ms));
  std::this_thread::sleep_for(6s);  // the outage's length, not a synchronisation
  store::testing::start_postgres();
  const auto back = clock_type::now();
  f.set_writing(true);
  const auto recovery = f.wait_writers_recovered(back, 30000ms);
  EXPECT_TRUE(recovery);
  ASSERT_TRUE(f.wait_progress(20, 30000ms));
  f.verify("6. PostgreSQL down 8 s, rooms idle past a 2 s TTL", since_text(recovery),
           "outage " + seconds_text(back - t));
}

TEST_F(faults, s07_redis_at_maxmemory_rejects_then_resumes) {
  auto& f = make_fleet({});
  f.start_load();
  ASSERT_TRUE(f.wait_progress(20, 30000ms));
  const auto masters = f.redis_masters();
  ASSERT_EQ(masters.size(), 3u);
  const auto before = rejects(f, "unavailable");
  const auto t = clock_type::now();
  for (const auto m : masters) {
    auto& node = f.redis().node(m);
    const auto info = node.command({"INFO", "memory"});
    const auto pos = info.str.find("used_memory:");
    ASSERT_NE(pos, std::string::npos) << info.str;
    const long long used = std::stoll(info.str.substr(pos + 12));
    // A little headroom: the typing fills it within a second or two.
    ASSERT_FALSE(node.command({"CONFIG", "SET", "maxmemory-policy", "noeviction"}).is_error());
    ASSERT_FALSE(
        node.command({"CONFIG", "SET", "maxmemory", std::to_string(used + 64 * 1024)}).is_error());
  }
  const bool rejected = wait_for(
      [&] { return rejects(f, "unavailable") >= before + 20; }, 30000ms);
  EXPECT_TRUE(rejected) << "appends were not rejected at maxmemory";
  const auto full_at = clock_type::now();
  hold_for(f, 2s, false);
  for (const auto m : masters) {
    ASSERT_FALSE(f.redis().node(m).command({"CONFIG", "SET", "maxmemory", "0"}).is_error());
  }
  const auto raised = clock_type::now();
  const auto recovery = f.wait_writers_recovered(raised, 30000ms);
  EXPECT_TRUE(recovery);
  ASSERT_TRUE(f.wait_progress(40, 30000ms));
  f.verify("7. Redis at maxmemory (noeviction)", since_text(recovery),
           "full after " + seconds_text(full_at - t) + ", " +
               std::to_string(rejects(f, "unavailable") - before) + " rejected unavailable");
}

TEST_F(faults, s08_a_slow_consumer_is_closed_4008_and_catches_up) {
  fleet_options o;
  o.extra_args = {"--max-outbound-bytes", "65536"};
  // Big notes in the slow reader's room: the kernel buffers in front of the server's queue
  // (autotuned up to 4 MiB on loopback) fill in seconds.
  o.room0_body_bytes = 8000;
  auto& f = make_fleet(o);
  auto& slow = f.add_reader(0, "r0slow", 4096);
  f.start_load();
  ASSERT_TRUE(f.wait_progress(20, 30000ms));
  load_client& witness = *f.clients().at(2);  // another reader of room 0
  ASSERT_EQ(witness.cfg().room, slow.cfg().room);
  const auto t = clock_type::now();
  const std::int64_t stalled_at = witness.seq();
  slow.pause_reading();
  // 600 ops of ~8 KB: more than the kernel buffers (autotuned to MiBs on loopback) and the
  // 64 KiB queue together; the server gives up on the close handshake 5 s after it decided,
  // so the close seen may be 4008 or, if it reads again too late, 1006.
  ASSERT_TRUE(wait_for([&] { return witness.seq() >= stalled_at + 600; }, 60000ms));
  slow.resume_reading();
  ASSERT_TRUE(wait_for([&] { return !slow.rejoins().empty(); }, 30000ms))
      << "the stalled reader was never closed: " << slow.last_error();
  const auto e = slow.rejoins().front();
  EXPECT_EQ(e.close_code, 4008) << slow.last_error();
  // It comes back with since: a short backlog resumes, one over the resume budget (half the
  // outbound limit) gets a snapshot. Either way the first re-join holds: a resume cut by
  // 4008 again would show as a failed reconnect or a second re-join.
  const auto all = slow.rejoins();
  EXPECT_EQ(slow.counts().failed_reconnects, 0) << slow.last_error();
  EXPECT_EQ(all.size(), 1U) << "re-joined more than once; last error: " << slow.last_error();
  for (const auto& c : f.clients()) {
    if (c.get() != &slow) {
      EXPECT_TRUE(c->rejoins().empty()) << c->cfg().name << " was disconnected too";
      EXPECT_EQ(c->counts().gaps, 0) << c->cfg().name;
    }
  }
  ASSERT_TRUE(f.wait_progress(20, 30000ms));
  f.verify("8. slow consumer (4008)", "re-joined " + seconds_text(e.rejoined_at - e.closed_at),
           "close " + std::to_string(e.close_code) + " after a " +
               seconds_text(e.closed_at - t) + " stall; " + std::to_string(all.size()) +
               " re-joins (" + (e.resumed ? "a resume" : "a snapshot") +
               "); others untouched");
}

TEST_F(faults, s09_a_thousand_clients_drop_and_reconnect_at_once) {
  auto& f = make_fleet({});
  f.start_load();
  std::vector<std::pair<user, std::string>> members;
  for (std::size_t i = 0; i < 1000; ++i) {
    members.emplace_back(f.users()[i % f.users().size()], f.rooms()[i % f.rooms().size()]);
  }
  crowd many(f.dir(), std::move(members), 2, 8);
  ASSERT_NO_THROW(many.connect_all(180000ms));
  many.start();
  ASSERT_TRUE(f.wait_progress(20, 30000ms));
  const auto t = clock_type::now();
  many.drop_all();
  const std::size_t back = many.reconnect_all(120000ms);
  const auto rejoined = clock_type::now();
  EXPECT_EQ(back, many.size()) << "not everyone re-joined";
  many.start();
  ASSERT_TRUE(f.wait_progress(20, 30000ms));
  // Writers pause so every replica has one seq to reach.
  f.set_writing(false);
  ASSERT_TRUE(wait_for(
      [&] {
        const auto ws = f.writers();
        return std::all_of(ws.begin(), ws.end(), [](auto* w) { return w->unacknowledged() == 0; });
      },
      30000ms));
  std::map<std::string, std::int64_t> seqs;
  std::map<std::string, std::string> states;
  for (const auto& room : f.rooms()) {
    const auto body = get_notes(f.live_port(), f.owner(), room);
    seqs[room] = int64(body, "seq");
    states[room] = serialized_state(body);
  }
  const bool converged = wait_for([&] { return many.behind(seqs) == 0; }, 60000ms, 100ms);
  const auto converged_at = clock_type::now();
  EXPECT_TRUE(converged) << many.behind(seqs) << " of the crowd never caught up";
  many.stop();
  std::size_t differ = 0;
  for (const auto& [room, state] : many.serialized()) {
    differ += state == states[room] ? 0 : 1;
  }
  EXPECT_EQ(differ, 0u) << "crowd replicas differing from the server";
  const std::size_t resumed = many.resumed();
  f.set_writing(true);
  ASSERT_TRUE(f.wait_progress(10, 30000ms));
  f.verify("9. 1,000 clients drop and reconnect at once",
           "all re-joined " + seconds_text(rejoined - t) + ", converged " +
               seconds_text(converged_at - t),
           std::to_string(back) + " re-joined (" + std::to_string(resumed) + " resumed)");
}

TEST_F(faults, s10_embedded_kill_9_mid_burst_and_restart_on_the_same_data) {
  fleet_options o;
  o.embedded = true;
  auto& f = make_fleet(o);
  f.start_load();
  ASSERT_TRUE(f.wait_progress(40, 30000ms));
  const auto t = clock_type::now();
  f.server(0).kill();
  f.server(0).restart();
  f.refresh_directory();
  const auto recovery = f.wait_writers_recovered(t, 30000ms);
  EXPECT_TRUE(recovery);
  ASSERT_TRUE(f.wait_progress(40, 30000ms));
  f.verify("10. embedded: kill -9 mid-burst, restart", since_text(recovery),
           rejoin_summary(rejoins_after(f, t)));
}

TEST_F(faults, s11_embedded_full_disk_rejects_keeps_reading_and_resumes) {
  fleet_options o;
  o.embedded = true;
  auto& f = make_fleet(o);
  f.start_load();
  ASSERT_TRUE(f.wait_progress(40, 30000ms));
  const auto before = rejects(f, "unavailable");
  // A full disk: no file of the server may grow past 64 KiB (its databases already have).
  const pid_t pid = f.server(0).pid();
  rlimit full{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_FSIZE, nullptr, &full), 0);
  const rlim_t unlimited = full.rlim_cur;
  full.rlim_cur = 64 * 1024;
  ASSERT_EQ(::prlimit(pid, RLIMIT_FSIZE, &full, nullptr), 0);
  const auto t = clock_type::now();
  const bool rejected =
      wait_for([&] { return rejects(f, "unavailable") >= before + 20; }, 30000ms);
  EXPECT_TRUE(rejected) << "writes were not rejected with the disk full";
  ASSERT_TRUE(f.server(0).running()) << "the server died with the disk full: "
                                     << f.server(0).unexpected_exit();
  // Reads go on: the HTTP API and a new client's join.
  const auto notes = get_notes(f.server(0).port(), f.owner(), f.rooms()[0]);
  EXPECT_GE(int64(notes, "seq"), 1);
  auto reader = connect_hello(f.server(0).port(), f.users()[0]);
  EXPECT_NO_THROW(join_snapshot(*reader, f.rooms()[1]));
  reader->close();
  full.rlim_cur = unlimited;
  ASSERT_EQ(::prlimit(pid, RLIMIT_FSIZE, &full, nullptr), 0);
  const auto freed = clock_type::now();
  const auto recovery = f.wait_writers_recovered(freed, 30000ms);
  EXPECT_TRUE(recovery) << "writes did not resume once space was back";
  ASSERT_TRUE(f.wait_progress(40, 30000ms));
  f.verify("11. embedded: full disk (RLIMIT_FSIZE)", since_text(recovery),
           std::to_string(rejects(f, "unavailable") - before) + " rejected unavailable over " +
               seconds_text(freed - t));
}

// Prints the table of every scenario this run went through and writes it next to the build.
class table_printer : public ::testing::Environment {
 public:
  void TearDown() override {
    std::cout << "\nFault suite\n";
    write_table(std::cout);
    merge_table_file(FUN_NOTES_BINARY_DIR "/faults-table.md");
    std::cout << "(written to " << FUN_NOTES_BINARY_DIR "/faults-table.md)\n";
  }
};

}  // namespace
}  // namespace fun_notes::test::faults

int main(int argc, char** argv) {
  // 1,000 clients hold a socket and an io_context each, and the servers inherit the limit.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new fun_notes::test::faults::table_printer);
  return RUN_ALL_TESTS();
}

// Behaviour of the PostgreSQL ColdStore beyond the conformance suite: migrations when several
// servers start at once, and recovery of the connection pool after the server drops it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "pg_test_server.hpp"
#include "store/postgres/pg_connection.hpp"
#include "store/postgres/postgres_cold_store.hpp"
#include "store_test_support.hpp"

namespace fun_notes::store {
namespace {

user make_user(std::string id, std::string name) {
  return user{std::move(id), std::move(name), "hash", "2024-05-01T10:00:00.000Z"};
}

TEST(postgres_cold_store, servers_starting_together_migrate_once) {
  const std::string url = testing::fresh_postgres_database();
  std::atomic<int> failures = 0;
  std::vector<std::thread> servers;
  for (int i = 0; i < 4; ++i) {
    servers.emplace_back([&] {
      try {
        postgres_cold_store store(url, 1);
      } catch (const store_error& e) {
        ADD_FAILURE() << e.what();
        ++failures;
      }
    });
  }
  for (auto& server : servers) {
    server.join();
  }
  EXPECT_EQ(failures.load(), 0);

  pg::connection raw(url);
  const auto versions = raw.exec("SELECT version FROM schema_migrations ORDER BY version");
  // Every migration once, in order.
  ASSERT_EQ(versions.rows(), 3);
  EXPECT_EQ(versions.int64(0, 0), 1);
  EXPECT_EQ(versions.int64(1, 0), 2);
  EXPECT_EQ(versions.int64(2, 0), 3);
}

TEST(postgres_cold_store, refuses_a_schema_newer_than_it_knows) {
  const std::string url = testing::fresh_postgres_database();
  { postgres_cold_store first(url); }
  pg::connection raw(url);
  raw.exec("INSERT INTO schema_migrations (version) VALUES (99)");
  EXPECT_THROW(postgres_cold_store again(url), store_error);
}

TEST(postgres_cold_store, reports_an_unreachable_server_as_store_error) {
  // A socket directory where no server listens.
  testing::temp_dir nowhere;
  try {
    postgres_cold_store store("postgresql:///x?host=" + nowhere.path().string(), 1);
    ADD_FAILURE() << "connected to nothing";
  } catch (const store_error& e) {
    EXPECT_NE(std::string(e.what()).find("postgres: cannot connect"), std::string::npos)
        << e.what();
  }
}

TEST(postgres_cold_store, a_dropped_connection_is_reconnected_on_next_use) {
  const std::string url = testing::fresh_postgres_database();
  postgres_cold_store store(url, 1);
  ASSERT_TRUE(store.create_user(make_user("u-alice", "alice")));

  // As a server restart or a failover would: every session of the store's database ends.
  pg::connection admin(url);
  const std::string others =
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
      "AND pid <> pg_backend_pid()";
  admin.exec("SELECT pg_terminate_backend(pid) FROM (" + others + ") AS s");
  const auto give_up = std::chrono::steady_clock::now() + testing::deadline;
  while (admin.exec(others).rows() > 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  ASSERT_EQ(admin.exec(others).rows(), 0) << "the store's session outlived the deadline";

  // The call that finds the connection dead fails cleanly; the next one reconnects.
  EXPECT_THROW(store.find_user("u-alice"), store_error);
  const auto alice = store.find_user("u-alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->name, "alice");
}

TEST(postgres_cold_store, callers_beyond_the_pool_size_wait_for_a_connection) {
  postgres_cold_store store(testing::fresh_postgres_database(), 2);
  std::atomic<int> created = 0;
  std::vector<std::thread> callers;
  for (int t = 0; t < 6; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string id = std::to_string(t) + "-" + std::to_string(i);
        if (store.create_user(make_user("u-" + id, "user-" + id))) {
          ++created;
        }
      }
    });
  }
  for (auto& caller : callers) {
    caller.join();
  }
  EXPECT_EQ(created.load(), 120);
  EXPECT_TRUE(store.find_user_by_name("user-5-19").has_value());
}

}  // namespace
}  // namespace fun_notes::store

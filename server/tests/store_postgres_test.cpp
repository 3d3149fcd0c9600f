// Behaviour of the PostgreSQL ColdStore beyond the conformance suite: migrations when several
// servers start at once, and recovery of the connection pool after the server drops it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "case_duplicate_users.hpp"
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
  ASSERT_EQ(versions.rows(), 5);
  for (int row = 0; row < versions.rows(); ++row) {
    EXPECT_EQ(versions.int64(row, 0), row + 1);
  }
}

// The cold store's schema at version 3, as released before names were unique without case.
constexpr std::string_view schema_v3 = R"sql(
CREATE TABLE schema_migrations (
  version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
INSERT INTO schema_migrations (version) VALUES (1), (2), (3);
CREATE TABLE users (
  id TEXT COLLATE "C" PRIMARY KEY, name TEXT COLLATE "C" NOT NULL UNIQUE,
  password_hash TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL);
CREATE TABLE note_rooms (
  id TEXT COLLATE "C" PRIMARY KEY, name TEXT COLLATE "C" NOT NULL,
  visibility TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'link', 'public')),
  owner_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
  active_user_count INTEGER NOT NULL DEFAULT 0, total_notes BIGINT NOT NULL DEFAULT 0,
  last_seq BIGINT NOT NULL DEFAULT 0, created_at TIMESTAMPTZ NOT NULL,
  public_role TEXT NOT NULL DEFAULT 'viewer' CHECK (public_role IN ('viewer', 'editor')));
CREATE INDEX note_rooms_public ON note_rooms (active_user_count DESC, name, id)
  WHERE visibility = 'public';
CREATE TABLE notes (
  id TEXT COLLATE "C" NOT NULL,
  note_room_id TEXT COLLATE "C" NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  title TEXT NOT NULL DEFAULT '', body TEXT NOT NULL DEFAULT '',
  is_important BOOLEAN NOT NULL DEFAULT false, is_completed BOOLEAN NOT NULL DEFAULT false,
  current_index DOUBLE PRECISION NOT NULL DEFAULT 0, sequence_id BIGINT NOT NULL DEFAULT 0,
  updated_at TIMESTAMPTZ, PRIMARY KEY (note_room_id, id));
CREATE INDEX notes_by_room ON notes USING btree (note_room_id, current_index, id);
CREATE TABLE room_members (
  room_id TEXT COLLATE "C" NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')), PRIMARY KEY (room_id, user_id));
CREATE INDEX room_members_by_user ON room_members (user_id);
CREATE TABLE invites (
  token TEXT PRIMARY KEY,
  room_id TEXT COLLATE "C" NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')), expires_at TIMESTAMPTZ,
  max_uses INTEGER, uses INTEGER NOT NULL DEFAULT 0);
CREATE INDEX invites_by_room ON invites (room_id);
CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE room_gaps (
  room_id TEXT COLLATE "C" NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  from_seq BIGINT NOT NULL, to_seq BIGINT NOT NULL, reason TEXT NOT NULL,
  recorded_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE INDEX room_gaps_by_room ON room_gaps (room_id, from_seq);
)sql";

TEST(postgres_cold_store, migrating_renames_every_case_duplicate_name_but_the_oldest) {
  const std::string url = testing::fresh_postgres_database();
  pg::connection raw(url);
  raw.exec_script(std::string(schema_v3) + std::string(testing::case_duplicate_users));

  postgres_cold_store store(url, 1);
  EXPECT_EQ(raw.exec("SELECT max(version) FROM schema_migrations").int64(0, 0), 5);
  const auto renames = raw.exec(
      "SELECT user_id || ' ' || old_name || ' ' || new_name, renamed_at IS NOT NULL "
      R"(FROM user_renames ORDER BY user_id COLLATE "C")");
  std::vector<std::string> records;
  for (int row = 0; row < renames.rows(); ++row) {
    records.push_back(renames.text(row, 0));
    EXPECT_TRUE(renames.boolean(row, 1));
  }
  EXPECT_EQ(records, testing::expected_user_renames);

  // The unique index is in place and lookups by name can use it.
  const auto index =
      raw.exec("SELECT indexdef FROM pg_indexes WHERE indexname = 'users_name_lower'");
  ASSERT_EQ(index.rows(), 1);
  EXPECT_EQ(index.text(0, 0),
            "CREATE UNIQUE INDEX users_name_lower ON public.users USING btree (lower(name))");
  raw.exec("SET enable_seqscan = off");
  const auto plan =
      raw.exec("EXPLAIN SELECT id FROM users WHERE lower(name) = lower($1)", {"alice"});
  EXPECT_NE(plan.text(0, 0).find("users_name_lower"), std::string::npos) << plan.text(0, 0);

  testing::expect_case_duplicates_renamed(store);
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

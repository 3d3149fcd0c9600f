// Behaviour of the SQLite adapters beyond the conformance suite: schema migrations and the
// hot log's handling of a failed group commit.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "store/memory/memory_bus.hpp"
#include "store/sqlite/sqlite_cold_store.hpp"
#include "store/sqlite/sqlite_hot_log.hpp"
#include "store_test_support.hpp"

namespace fun_notes::store {
namespace {

using testing::append_and_wait;
using testing::collector;
using testing::frame_prefix;
using testing::frame_suffix;
using testing::temp_dir;

// A second, raw connection to a database file, as another process (or an operator) would have.
class raw_db {
 public:
  explicit raw_db(const std::filesystem::path& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
      ADD_FAILURE() << "open " << path << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_busy_timeout(db_, 10000);
  }
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;
  ~raw_db() { sqlite3_close(db_); }

  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (error != nullptr ? error : "?");
    }
    sqlite3_free(error);
  }

  // The first column of every row, as text.
  std::vector<std::string> column(const std::string& sql) {
    std::vector<std::string> values;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return values;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(st, 0);
      values.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
    }
    sqlite3_finalize(st);
    return values;
  }

 private:
  sqlite3* db_ = nullptr;
};

TEST(sqlite_cold_store, migrates_a_new_file_once) {
  temp_dir dir;
  const auto path = dir.path() / "fun-notes.db";
  { sqlite_cold_store store(path); }
  { sqlite_cold_store again(path); }  // reopening must not re-apply a migration

  raw_db db(path);
  EXPECT_EQ(db.column("SELECT version FROM schema_migrations ORDER BY version"),
            (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(db.column("PRAGMA journal_mode"), (std::vector<std::string>{"wal"}));
  const auto tables = db.column("SELECT name FROM sqlite_schema WHERE type = 'table'");
  const std::set<std::string> present(tables.begin(), tables.end());
  for (const char* table :
       {"users", "note_rooms", "notes", "room_members", "invites", "settings", "room_gaps"}) {
    EXPECT_TRUE(present.contains(table)) << "missing table " << table;
  }
}

TEST(sqlite_cold_store, refuses_a_schema_newer_than_it_knows) {
  temp_dir dir;
  const auto path = dir.path() / "fun-notes.db";
  { sqlite_cold_store store(path); }
  raw_db(path).exec("INSERT INTO schema_migrations (version) VALUES (99)");
  EXPECT_THROW(sqlite_cold_store{path}, store_error);
}

TEST(sqlite_cold_store, reports_an_unopenable_file_as_store_error) {
  temp_dir dir;
  EXPECT_THROW(sqlite_cold_store{dir.path() / "no-such-dir" / "fun-notes.db"}, store_error);
}

TEST(sqlite_hot_log, a_failed_commit_numbers_and_publishes_nothing) {
  temp_dir dir;
  const auto path = dir.path() / "oplog.db";
  memory_bus bus;
  sqlite_hot_log log(path, bus);
  log.ensure_room("r", 0);
  ASSERT_EQ(append_and_wait(log, "r", "ok-1")->entry.seq, 1);

  collector<bus_message> published;
  auto sub = bus.subscribe(
      room_channel("r"), [&](const bus_message& m) { published.add(m); }, nullptr);
  raw_db raw(path);
  raw.exec(
      "CREATE TRIGGER fail_appends BEFORE INSERT ON op_log "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");

  collector<core::result<append_result>> failed;
  for (int i = 0; i < 5; ++i) {
    log.append(append_request{"r", frame_prefix("r"), frame_suffix("lost")},
               [&](core::result<append_result> r) { failed.add(std::move(r)); });
  }
  ASSERT_TRUE(failed.wait_for(5));
  for (const auto& r : failed.items()) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().code, "unavailable");
  }
  EXPECT_EQ(published.size(), 0u);
  EXPECT_EQ(log.read_after("r", 0).head_seq, 1);
  EXPECT_TRUE(log.dirty_rooms() == std::vector<std::string>{"r"});

  raw.exec("DROP TRIGGER fail_appends");
  auto next = append_and_wait(log, "r", "ok-2");
  ASSERT_TRUE(next.ok()) << next.err().message;
  EXPECT_EQ(next->entry.seq, 2) << "a failed commit left a gap";
  ASSERT_TRUE(published.wait_for(1));
  EXPECT_EQ(published.items()[0].seq, 2);
  auto range = log.read_after("r", 0);
  ASSERT_EQ(range.entries.size(), 2u);
  EXPECT_EQ(range.entries[1].seq, 2);
  EXPECT_EQ(*range.entries[1].frame, testing::expected_frame("r", 2, "ok-2"));
}

TEST(sqlite_hot_log, keeps_its_own_schema_version) {
  temp_dir dir;
  const auto path = dir.path() / "oplog.db";
  memory_bus bus;
  { sqlite_hot_log log(path, bus); }
  raw_db db(path);
  EXPECT_EQ(db.column("SELECT version FROM schema_migrations"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(db.column("PRAGMA journal_mode"), (std::vector<std::string>{"wal"}));
}

}  // namespace
}  // namespace fun_notes::store

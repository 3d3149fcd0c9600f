// Behaviour of the SQLite adapters beyond the conformance suite: schema migrations and the
// hot log's handling of a failed group commit.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "case_duplicate_users.hpp"
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

  // One column (the first unless told) of every row, as text.
  std::vector<std::string> column(const std::string& sql, int index = 0) {
    std::vector<std::string> values;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return values;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(st, index);
      values.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
    }
    sqlite3_finalize(st);
    return values;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Every schema version this build knows.
const std::vector<std::string> all_versions = {"1", "2", "3", "4", "5"};

TEST(sqlite_cold_store, migrates_a_new_file_once) {
  temp_dir dir;
  const auto path = dir.path() / "fun-notes.db";
  { sqlite_cold_store store(path); }
  { sqlite_cold_store again(path); }  // reopening must not re-apply a migration

  raw_db db(path);
  EXPECT_EQ(db.column("SELECT version FROM schema_migrations ORDER BY version"), all_versions);
  EXPECT_EQ(db.column("PRAGMA journal_mode"), (std::vector<std::string>{"wal"}));
  const auto tables = db.column("SELECT name FROM sqlite_schema WHERE type = 'table'");
  const std::set<std::string> present(tables.begin(), tables.end());
  for (const char* table : {"users", "note_rooms", "notes", "room_members", "invites", "settings",
                            "room_gaps", "user_renames", "trashed_notes"}) {
    EXPECT_TRUE(present.contains(table)) << "missing table " << table;
  }
}

// The cold store's schema at version 2, as released before rooms could be public.
constexpr std::string_view schema_v2 = R"sql(
CREATE TABLE schema_migrations (
  version INTEGER PRIMARY KEY,
  applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')));
INSERT INTO schema_migrations (version) VALUES (1), (2);
CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
                    created_at TEXT NOT NULL);
CREATE TABLE note_rooms (
  id TEXT PRIMARY KEY, name TEXT NOT NULL,
  visibility TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'link')),
  owner_id TEXT NOT NULL REFERENCES users (id), active_user_count INTEGER NOT NULL DEFAULT 0,
  total_notes INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL);
CREATE TABLE notes (
  id TEXT NOT NULL, note_room_id TEXT NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  title TEXT NOT NULL DEFAULT '', body TEXT NOT NULL DEFAULT '',
  is_important INTEGER NOT NULL DEFAULT 0, is_completed INTEGER NOT NULL DEFAULT 0,
  current_index REAL NOT NULL DEFAULT 0, sequence_id INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL DEFAULT '', PRIMARY KEY (note_room_id, id));
CREATE INDEX notes_by_room_order ON notes (note_room_id, current_index, id);
CREATE TABLE room_members (
  room_id TEXT NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')), PRIMARY KEY (room_id, user_id));
CREATE INDEX room_members_by_user ON room_members (user_id);
CREATE TABLE invites (
  token TEXT PRIMARY KEY, room_id TEXT NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')), expires_at TEXT,
  max_uses INTEGER, uses INTEGER NOT NULL DEFAULT 0);
CREATE INDEX invites_by_room ON invites (room_id);
CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE room_gaps (
  room_id TEXT NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE, from_seq INTEGER NOT NULL,
  to_seq INTEGER NOT NULL, reason TEXT NOT NULL,
  recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE INDEX room_gaps_by_room ON room_gaps (room_id, from_seq);

INSERT INTO users VALUES ('u-ann', 'ann', 'h', '2024-05-01T10:00:00.000Z'),
                         ('u-bo', 'bo', 'h', '2024-05-01T10:00:00.000Z');
INSERT INTO note_rooms VALUES ('r1', 'Plans', 'link', 'u-ann', 2, 2, 7, '2024-05-01T10:00:01.000Z'),
                              ('r2', 'Other', 'private', 'u-bo', 0, 1, 3, '2024-05-02T10:00:01.000Z');
INSERT INTO notes VALUES ('a', 'r1', 'A', 'body a', 1, 0, 1.5, 6, '2024-05-01T10:00:06.000Z'),
                         ('b', 'r1', 'B', '', 0, 1, 0.5, 7, '2024-05-01T10:00:07.000Z'),
                         ('c', 'r2', 'C', '', 0, 0, 1.0, 3, '');
INSERT INTO room_members VALUES ('r1', 'u-ann', 'owner'), ('r1', 'u-bo', 'editor'),
                                ('r2', 'u-bo', 'owner');
INSERT INTO invites VALUES ('tok', 'r1', 'viewer', '2030-01-01T00:00:00.000Z', 5, 2);
INSERT INTO room_gaps (room_id, from_seq, to_seq, reason) VALUES ('r1', 3, 4, 'log lost');
INSERT INTO settings VALUES ('jwt_secret', 's3cr3t');
)sql";

TEST(sqlite_cold_store, migrates_a_database_of_the_previous_schema_keeping_every_row) {
  temp_dir dir;
  const auto path = dir.path() / "fun-notes.db";
  raw_db(path).exec(std::string(schema_v2));

  sqlite_cold_store store(path);
  raw_db db(path);
  EXPECT_EQ(db.column("SELECT version FROM schema_migrations ORDER BY version"), all_versions);
  EXPECT_TRUE(db.column("PRAGMA foreign_key_check").empty());
  EXPECT_EQ(db.column("PRAGMA integrity_check"), (std::vector<std::string>{"ok"}));

  const auto r1 = store.load_snapshot("r1");
  ASSERT_TRUE(r1.has_value());
  EXPECT_EQ(r1->meta.name, "Plans");
  EXPECT_EQ(r1->meta.visibility, "link");
  EXPECT_EQ(r1->meta.public_role, role::viewer);
  EXPECT_EQ(r1->meta.owner_id, "u-ann");
  EXPECT_EQ(r1->meta.active_user_count, 2);
  EXPECT_EQ(r1->meta.total_notes, 2);
  EXPECT_EQ(r1->meta.last_seq, 7);
  EXPECT_EQ(r1->meta.created_at, "2024-05-01T10:00:01.000Z");
  ASSERT_EQ(r1->notes.size(), 2U);
  EXPECT_EQ(r1->notes[0].id, "b");
  EXPECT_EQ(r1->notes[1].body, "body a");
  EXPECT_EQ(store.role_of("r1", "u-bo"), role::editor);
  EXPECT_EQ(
      store.find_invite("tok"),
      std::optional<invite>(invite{"tok", "r1", role::viewer, "2030-01-01T00:00:00.000Z", 5, 2}));
  ASSERT_EQ(store.gaps("r1").size(), 1U);
  EXPECT_EQ(store.find_secret("jwt_secret"), std::optional<std::string>("s3cr3t"));
  EXPECT_EQ(store.all_rooms().size(), 2U);

  // The new columns and constraint are in place.
  store.update_room("r1", room_changes{std::nullopt, "public", role::editor});
  EXPECT_EQ(store.public_rooms(10).size(), 1U);
  EXPECT_EQ(store.public_rooms(10)[0].public_role, role::editor);
  EXPECT_THROW(store.update_room("r1", room_changes{std::nullopt, "secret", std::nullopt}),
               store_error);

  // The other tables still point at the rebuilt one: its foreign keys refuse and cascade.
  EXPECT_THROW(store.create_invite(invite{"orphan", "r-missing", role::viewer, {}, {}, 0}),
               store_error);
  ASSERT_TRUE(store.delete_room("r1"));
  EXPECT_EQ(db.column("SELECT count(*) FROM notes"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(db.column("SELECT room_id FROM room_members ORDER BY room_id"),
            (std::vector<std::string>{"r2"}));
  EXPECT_EQ(db.column("SELECT count(*) FROM invites"), (std::vector<std::string>{"0"}));
  EXPECT_EQ(db.column("SELECT count(*) FROM room_gaps"), (std::vector<std::string>{"0"}));
}

// Version 3 on top of version 2, as released: note_rooms rebuilt for public rooms.
constexpr std::string_view schema_v3_from_v2 = R"sql(
CREATE TABLE note_rooms_new (
  id TEXT PRIMARY KEY, name TEXT NOT NULL,
  visibility TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'link', 'public')),
  public_role TEXT NOT NULL DEFAULT 'viewer' CHECK (public_role IN ('viewer', 'editor')),
  owner_id TEXT NOT NULL REFERENCES users (id), active_user_count INTEGER NOT NULL DEFAULT 0,
  total_notes INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL);
INSERT INTO note_rooms_new (id, name, visibility, owner_id, active_user_count, total_notes,
                            last_seq, created_at)
  SELECT id, name, visibility, owner_id, active_user_count, total_notes, last_seq, created_at
  FROM note_rooms;
DROP TABLE note_rooms;
ALTER TABLE note_rooms_new RENAME TO note_rooms;
CREATE INDEX note_rooms_public ON note_rooms (active_user_count DESC, name, id)
  WHERE visibility = 'public';
INSERT INTO schema_migrations (version) VALUES (3);
)sql";

TEST(sqlite_cold_store, migrating_renames_every_case_duplicate_name_but_the_oldest) {
  temp_dir dir;
  const auto path = dir.path() / "fun-notes.db";
  raw_db(path).exec(std::string(schema_v2) + std::string(schema_v3_from_v2) +
                    std::string(testing::case_duplicate_users));

  sqlite_cold_store store(path);
  raw_db db(path);
  EXPECT_EQ(db.column("SELECT version FROM schema_migrations ORDER BY version"), all_versions);
  EXPECT_TRUE(db.column("PRAGMA foreign_key_check").empty());
  EXPECT_EQ(db.column("SELECT user_id || ' ' || old_name || ' ' || new_name FROM user_renames "
                      "ORDER BY user_id"),
            testing::expected_user_renames);
  EXPECT_EQ(db.column("SELECT count(*) FROM user_renames WHERE renamed_at LIKE '20%Z'"),
            (std::vector<std::string>{"3"}));

  // The unique index is in place and lookups by name use it.
  EXPECT_EQ(db.column("SELECT sql FROM sqlite_schema WHERE name = 'users_name_nocase'"),
            (std::vector<std::string>{
                "CREATE UNIQUE INDEX users_name_nocase ON users (name COLLATE NOCASE)"}));
  const auto plan =
      db.column("EXPLAIN QUERY PLAN SELECT id FROM users WHERE name = ?1 COLLATE NOCASE", 3);
  ASSERT_EQ(plan.size(), 1U);
  EXPECT_NE(plan[0].find("users_name_nocase"), std::string::npos) << plan[0];

  testing::expect_case_duplicates_renamed(store);
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
  // 1: the op log; 2: the field log that text op guards read.
  EXPECT_EQ(db.column("SELECT version FROM schema_migrations"),
            (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(db.column("PRAGMA journal_mode"), (std::vector<std::string>{"wal"}));
}

}  // namespace
}  // namespace fun_notes::store

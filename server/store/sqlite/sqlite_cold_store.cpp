// The SQLite ColdStore: schema migrations and one prepared statement per query.
#include "store/sqlite/sqlite_cold_store.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

namespace fun_notes::store {

namespace {

// Append-only: a released migration is never edited, a schema change is a new entry.
constexpr std::array<std::string_view, 2> migrations = {
    R"sql(
CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  created_at    TEXT NOT NULL
);

CREATE TABLE note_rooms (
  id                TEXT PRIMARY KEY,
  name              TEXT NOT NULL,
  visibility        TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'link')),
  owner_id          TEXT NOT NULL REFERENCES users (id),
  active_user_count INTEGER NOT NULL DEFAULT 0,
  total_notes       INTEGER NOT NULL DEFAULT 0,
  last_seq          INTEGER NOT NULL DEFAULT 0,
  created_at        TEXT NOT NULL
);

-- Note ids are chosen by clients, so they are unique only within a room.
CREATE TABLE notes (
  id            TEXT NOT NULL,
  note_room_id  TEXT NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  title         TEXT NOT NULL DEFAULT '',
  body          TEXT NOT NULL DEFAULT '',
  is_important  INTEGER NOT NULL DEFAULT 0,
  is_completed  INTEGER NOT NULL DEFAULT 0,
  current_index REAL NOT NULL DEFAULT 0,
  sequence_id   INTEGER NOT NULL DEFAULT 0,
  updated_at    TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (note_room_id, id)
);
-- Serves the snapshot's ORDER BY (current_index, id) without a sort.
CREATE INDEX notes_by_room_order ON notes (note_room_id, current_index, id);

CREATE TABLE room_members (
  room_id TEXT NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role    TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
  PRIMARY KEY (room_id, user_id)
);
-- rooms_of_user looks members up by user.
CREATE INDEX room_members_by_user ON room_members (user_id);

CREATE TABLE invites (
  token      TEXT PRIMARY KEY,
  room_id    TEXT NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  role       TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
  expires_at TEXT,
  max_uses   INTEGER,
  uses       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX invites_by_room ON invites (room_id);

CREATE TABLE settings (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql",
    R"sql(
-- Stretches of history lost with the op log and skipped by a repair.
CREATE TABLE room_gaps (
  room_id     TEXT NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  from_seq    INTEGER NOT NULL,
  to_seq      INTEGER NOT NULL,
  reason      TEXT NOT NULL,
  recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX room_gaps_by_room ON room_gaps (room_id, from_seq);
)sql",
};

constexpr std::string_view room_columns =
    "id, name, visibility, owner_id, last_seq, total_notes, created_at, active_user_count";

room_meta read_room(const sqlite::statement& st, int first = 0) {
  room_meta meta;
  meta.id = st.column_text(first);
  meta.name = st.column_text(first + 1);
  meta.visibility = st.column_text(first + 2);
  meta.owner_id = st.column_text(first + 3);
  meta.last_seq = st.column_int64(first + 4);
  meta.total_notes = st.column_int64(first + 5);
  meta.created_at = st.column_text(first + 6);
  meta.active_user_count = st.column_int64(first + 7);
  return meta;
}

constexpr std::string_view note_columns =
    "id, title, body, is_important, is_completed, current_index, sequence_id, updated_at";

core::note read_note(const sqlite::statement& st) {
  core::note n;
  n.id = st.column_text(0);
  n.title = st.column_text(1);
  n.body = st.column_text(2);
  n.is_important = st.column_bool(3);
  n.is_completed = st.column_bool(4);
  n.current_index = st.column_double(5);
  n.seq = st.column_int64(6);
  n.updated_at = st.column_text(7);
  return n;
}

user read_user(const sqlite::statement& st) {
  return user{st.column_text(0), st.column_text(1), st.column_text(2), st.column_text(3)};
}

role read_role(const sqlite::statement& st, int column) {
  return parse_role(st.column_text(column)).value_or(role::none);
}

std::string select_rooms_where(std::string_view condition) {
  return "SELECT " + std::string(room_columns) + " FROM note_rooms WHERE " + std::string(condition);
}

}  // namespace

sqlite_cold_store::sqlite_cold_store(const std::filesystem::path& path)
    : db_(path, sqlite::open_options{}) {
  db_.migrate(migrations);
}

bool sqlite_cold_store::create_user(const user& u) {
  std::lock_guard lock(mutex_);
  // Only a taken name is an expected outcome; a duplicate id is a bug and throws.
  db_.query(
         "INSERT INTO users (id, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4) "
         "ON CONFLICT (name) DO NOTHING",
         u.id, u.name, u.password_hash, u.created_at)
      .run();
  return db_.changes() == 1;
}

std::optional<user> sqlite_cold_store::find_user_by_name(std::string_view name) {
  std::lock_guard lock(mutex_);
  auto st =
      db_.query("SELECT id, name, password_hash, created_at FROM users WHERE name = ?1", name);
  if (!st.step()) {
    return std::nullopt;
  }
  return read_user(st);
}

std::optional<user> sqlite_cold_store::find_user(std::string_view user_id) {
  std::lock_guard lock(mutex_);
  auto st =
      db_.query("SELECT id, name, password_hash, created_at FROM users WHERE id = ?1", user_id);
  if (!st.step()) {
    return std::nullopt;
  }
  return read_user(st);
}

void sqlite_cold_store::create_room(const room_meta& meta) {
  std::lock_guard lock(mutex_);
  sqlite::transaction tx(db_, sqlite::transaction::kind::immediate);
  db_.query(
         "INSERT INTO note_rooms (id, name, visibility, owner_id, total_notes, last_seq, "
         "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
         meta.id, meta.name, meta.visibility, meta.owner_id, meta.total_notes, meta.last_seq,
         meta.created_at)
      .run();
  db_.query("INSERT INTO room_members (room_id, user_id, role) VALUES (?1, ?2, 'owner')", meta.id,
            meta.owner_id)
      .run();
  tx.commit();
}

std::optional<room_meta> sqlite_cold_store::find_room(std::string_view room_id) {
  std::lock_guard lock(mutex_);
  return find_room_locked(room_id);
}

std::optional<room_meta> sqlite_cold_store::find_room_locked(std::string_view room_id) {
  static const std::string sql = select_rooms_where("id = ?1");
  auto st = db_.query(sql, room_id);
  if (!st.step()) {
    return std::nullopt;
  }
  return read_room(st);
}

void sqlite_cold_store::set_active_user_count(std::string_view room_id, std::int64_t count) {
  std::lock_guard lock(mutex_);
  db_.query("UPDATE note_rooms SET active_user_count = ?2 WHERE id = ?1", room_id, count).run();
}

void sqlite_cold_store::update_room(std::string_view room_id,
                                    const std::optional<std::string>& name,
                                    const std::optional<std::string>& visibility) {
  std::lock_guard lock(mutex_);
  // coalesce keeps a column whose new value is absent (bound as NULL).
  db_.query(
         "UPDATE note_rooms SET name = coalesce(?2, name), visibility = coalesce(?3, visibility) "
         "WHERE id = ?1",
         room_id, name, visibility)
      .run();
}

std::vector<room_listing> sqlite_cold_store::rooms_of_user(std::string_view user_id) {
  std::lock_guard lock(mutex_);
  auto st = db_.query(
      "SELECT r.id, r.name, r.visibility, r.owner_id, r.last_seq, r.total_notes, r.created_at, "
      "r.active_user_count, m.role FROM room_members m JOIN note_rooms r ON r.id = m.room_id "
      "WHERE m.user_id = ?1 ORDER BY r.name, r.id",
      user_id);
  std::vector<room_listing> rooms;
  while (st.step()) {
    rooms.push_back(room_listing{read_room(st), read_role(st, 8)});
  }
  return rooms;
}

role sqlite_cold_store::role_of(std::string_view room_id, std::string_view user_id) {
  std::lock_guard lock(mutex_);
  auto st = db_.query("SELECT role FROM room_members WHERE room_id = ?1 AND user_id = ?2", room_id,
                      user_id);
  if (!st.step()) {
    return role::none;
  }
  return read_role(st, 0);
}

void sqlite_cold_store::set_member(std::string_view room_id, std::string_view user_id, role r) {
  std::lock_guard lock(mutex_);
  if (r == role::none) {
    // "No role" is not a stored role: it means not a member.
    db_.query("DELETE FROM room_members WHERE room_id = ?1 AND user_id = ?2", room_id, user_id)
        .run();
    return;
  }
  db_.query(
         "INSERT INTO room_members (room_id, user_id, role) VALUES (?1, ?2, ?3) "
         "ON CONFLICT (room_id, user_id) DO UPDATE SET role = excluded.role",
         room_id, user_id, to_string(r))
      .run();
}

bool sqlite_cold_store::remove_member(std::string_view room_id, std::string_view user_id) {
  std::lock_guard lock(mutex_);
  db_.query("DELETE FROM room_members WHERE room_id = ?1 AND user_id = ?2", room_id, user_id).run();
  return db_.changes() == 1;
}

std::vector<member> sqlite_cold_store::members(std::string_view room_id) {
  std::lock_guard lock(mutex_);
  auto st = db_.query(
      "SELECT u.id, u.name, m.role FROM room_members m JOIN users u ON u.id = m.user_id "
      "WHERE m.room_id = ?1 ORDER BY u.name, u.id",
      room_id);
  std::vector<member> result;
  while (st.step()) {
    result.push_back(member{st.column_text(0), st.column_text(1), read_role(st, 2)});
  }
  return result;
}

std::optional<snapshot> sqlite_cold_store::load_snapshot(std::string_view room_id) {
  static const std::string sql = "SELECT " + std::string(note_columns) +
                                 " FROM notes WHERE note_room_id = ?1 ORDER BY current_index, id";
  std::lock_guard lock(mutex_);
  // One read transaction: the notes are exactly the state at the last_seq read with them.
  sqlite::transaction tx(db_, sqlite::transaction::kind::deferred);
  auto meta = find_room_locked(room_id);
  if (!meta) {
    return std::nullopt;
  }
  snapshot result{std::move(*meta), {}};
  {
    auto st = db_.query(sql, room_id);
    while (st.step()) {
      result.notes.push_back(read_note(st));
    }
  }
  tx.commit();
  return result;
}

std::vector<core::note> sqlite_cold_store::load_notes(std::string_view room_id,
                                                      const std::vector<std::string>& ids) {
  static const std::string sql =
      "SELECT " + std::string(note_columns) + " FROM notes WHERE note_room_id = ?1 AND id = ?2";
  std::lock_guard lock(mutex_);
  sqlite::transaction tx(db_, sqlite::transaction::kind::deferred);
  std::vector<core::note> result;
  for (const auto& id : ids) {
    auto st = db_.query(sql, room_id, id);
    if (st.step()) {
      result.push_back(read_note(st));
    }
  }
  tx.commit();
  std::sort(result.begin(), result.end(), core::display_less);
  return result;
}

flush_outcome sqlite_cold_store::apply_flush(const flush_batch& batch) {
  std::lock_guard lock(mutex_);
  sqlite::transaction tx(db_, sqlite::transaction::kind::immediate);
  // The guard that makes a flush idempotent: a replayed or overtaken batch matches no row.
  db_.query("UPDATE note_rooms SET last_seq = ?3 WHERE id = ?1 AND last_seq = ?2", batch.room_id,
            batch.expected_last_seq, batch.new_last_seq)
      .run();
  if (db_.changes() == 0) {
    return flush_outcome::stale;
  }
  for (const auto& n : batch.upserts) {
    db_.query(
           "INSERT INTO notes (note_room_id, id, title, body, is_important, is_completed, "
           "current_index, sequence_id, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
           "ON CONFLICT (note_room_id, id) DO UPDATE SET title = excluded.title, "
           "body = excluded.body, is_important = excluded.is_important, "
           "is_completed = excluded.is_completed, current_index = excluded.current_index, "
           "sequence_id = excluded.sequence_id, updated_at = excluded.updated_at",
           batch.room_id, n.id, n.title, n.body, n.is_important, n.is_completed, n.current_index,
           n.seq, n.updated_at)
        .run();
  }
  for (const auto& id : batch.deletes) {
    db_.query("DELETE FROM notes WHERE note_room_id = ?1 AND id = ?2", batch.room_id, id).run();
  }
  db_.query(
         "UPDATE note_rooms SET total_notes = (SELECT count(*) FROM notes WHERE note_room_id = ?1) "
         "WHERE id = ?1",
         batch.room_id)
      .run();
  tx.commit();
  return flush_outcome::applied;
}

void sqlite_cold_store::record_gap(const room_gap& gap) {
  std::lock_guard lock(mutex_);
  db_.query("INSERT INTO room_gaps (room_id, from_seq, to_seq, reason) VALUES (?1, ?2, ?3, ?4)",
            gap.room_id, gap.from_seq, gap.to_seq, gap.reason)
      .run();
}

std::vector<room_gap> sqlite_cold_store::gaps(std::string_view room_id) {
  std::lock_guard lock(mutex_);
  auto st = db_.query(
      "SELECT from_seq, to_seq, reason, recorded_at FROM room_gaps WHERE room_id = ?1 "
      "ORDER BY from_seq, rowid",
      room_id);
  std::vector<room_gap> out;
  while (st.step()) {
    out.push_back(room_gap{std::string(room_id), st.column_int64(0), st.column_int64(1),
                           st.column_text(2), st.column_text(3)});
  }
  return out;
}

// ---- Operator tools.

namespace {
// How often a bulk import reports progress.
constexpr std::size_t progress_every = 5000;
}  // namespace

std::vector<user> sqlite_cold_store::all_users() {
  std::lock_guard lock(mutex_);
  auto st = db_.query("SELECT id, name, password_hash, created_at FROM users ORDER BY id");
  std::vector<user> result;
  while (st.step()) {
    result.push_back(read_user(st));
  }
  return result;
}

std::vector<room_meta> sqlite_cold_store::all_rooms() {
  static const std::string sql =
      "SELECT " + std::string(room_columns) + " FROM note_rooms ORDER BY id";
  std::lock_guard lock(mutex_);
  auto st = db_.query(sql);
  std::vector<room_meta> result;
  while (st.step()) {
    result.push_back(read_room(st));
  }
  return result;
}

std::vector<invite> sqlite_cold_store::invites(std::string_view room_id) {
  std::lock_guard lock(mutex_);
  auto st = db_.query(
      "SELECT token, room_id, role, expires_at IS NULL, coalesce(expires_at, ''), "
      "max_uses IS NULL, coalesce(max_uses, 0), uses FROM invites WHERE room_id = ?1 "
      "ORDER BY token",
      room_id);
  std::vector<invite> result;
  while (st.step()) {
    invite i;
    i.token = st.column_text(0);
    i.room_id = st.column_text(1);
    i.invite_role = read_role(st, 2);
    if (!st.column_bool(3)) {
      i.expires_at = st.column_text(4);
    }
    if (!st.column_bool(5)) {
      i.max_uses = st.column_int64(6);
    }
    i.uses = st.column_int64(7);
    result.push_back(std::move(i));
  }
  return result;
}

std::optional<std::string> sqlite_cold_store::find_secret(std::string_view name) {
  std::lock_guard lock(mutex_);
  auto st = db_.query("SELECT value FROM settings WHERE name = ?1", name);
  if (!st.step()) {
    return std::nullopt;
  }
  return st.column_text(0);
}

user_import sqlite_cold_store::import_user(const user& u) {
  std::lock_guard lock(mutex_);
  sqlite::transaction tx(db_, sqlite::transaction::kind::immediate);
  {
    auto st = db_.query("SELECT id = ?1 FROM users WHERE id = ?1 OR name = ?2", u.id, u.name);
    // A user with the id wins over one holding the name: the id is what members point at.
    bool same_id = false;
    bool found = false;
    while (st.step()) {
      found = true;
      same_id = same_id || st.column_bool(0);
    }
    if (found) {
      return same_id ? user_import::exists : user_import::name_taken;
    }
  }
  db_.query("INSERT INTO users (id, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)", u.id,
            u.name, u.password_hash, u.created_at)
      .run();
  tx.commit();
  return user_import::created;
}

bool sqlite_cold_store::import_room(const room_import& room, bool replace,
                                    const import_progress& progress) {
  std::lock_guard lock(mutex_);
  sqlite::transaction tx(db_, sqlite::transaction::kind::immediate);
  const auto& meta = room.meta;
  if (find_room_locked(meta.id)) {
    if (!replace) {
      return false;
    }
    // ON DELETE CASCADE takes the notes, members and invites with it.
    db_.query("DELETE FROM note_rooms WHERE id = ?1", meta.id).run();
  }
  db_.query(
         "INSERT INTO note_rooms (id, name, visibility, owner_id, total_notes, last_seq, "
         "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
         meta.id, meta.name, meta.visibility, meta.owner_id,
         static_cast<std::int64_t>(room.notes.size()), meta.last_seq, meta.created_at)
      .run();
  for (const auto& m : room.members) {
    if (m.member_role == role::none || m.user_id == meta.owner_id) {
      continue;
    }
    db_.query("INSERT INTO room_members (room_id, user_id, role) VALUES (?1, ?2, ?3)", meta.id,
              m.user_id, to_string(m.member_role))
        .run();
  }
  db_.query("INSERT INTO room_members (room_id, user_id, role) VALUES (?1, ?2, 'owner')", meta.id,
            meta.owner_id)
      .run();
  std::size_t written = 0;
  for (const auto& n : room.notes) {
    db_.query(
           "INSERT INTO notes (note_room_id, id, title, body, is_important, is_completed, "
           "current_index, sequence_id, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
           meta.id, n.id, n.title, n.body, n.is_important, n.is_completed, n.current_index, n.seq,
           n.updated_at)
        .run();
    if (++written % progress_every == 0 && progress) {
      progress(written);
    }
  }
  for (const auto& i : room.invites) {
    db_.query(
           "INSERT INTO invites (token, room_id, role, expires_at, max_uses, uses) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
           i.token, meta.id, to_string(i.invite_role), i.expires_at, i.max_uses, i.uses)
        .run();
  }
  tx.commit();
  if (progress) {
    progress(written);
  }
  return true;
}

std::string sqlite_cold_store::get_or_create_secret(std::string_view name,
                                                    const std::function<std::string()>& make) {
  std::lock_guard lock(mutex_);
  // IMMEDIATE: another process opening the same file must not create a second secret.
  sqlite::transaction tx(db_, sqlite::transaction::kind::immediate);
  {
    auto st = db_.query("SELECT value FROM settings WHERE name = ?1", name);
    if (st.step()) {
      return st.column_text(0);
    }
  }
  std::string value = make();
  db_.query("INSERT INTO settings (name, value) VALUES (?1, ?2)", name, value).run();
  tx.commit();
  return value;
}

}  // namespace fun_notes::store

// The SQLite ColdStore: schema migrations and one prepared statement per query.
#include "store/sqlite/sqlite_cold_store.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <utility>

namespace fun_notes::store {

namespace {

// Append-only: a released migration is never edited, a schema change is a new entry.
constexpr std::array<std::string_view, 5> migrations = {
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
    R"sql(
-- Public rooms and the role a non-member gets in one. SQLite cannot change a CHECK
-- constraint, so note_rooms is rebuilt the documented way: a new table, the rows copied, the
-- old one dropped and the new one renamed (foreign keys are off while migrations run, so the
-- drop takes no notes, members, invites or gaps with it).
CREATE TABLE note_rooms_new (
  id                TEXT PRIMARY KEY,
  name              TEXT NOT NULL,
  visibility        TEXT NOT NULL DEFAULT 'private'
                    CHECK (visibility IN ('private', 'link', 'public')),
  public_role       TEXT NOT NULL DEFAULT 'viewer' CHECK (public_role IN ('viewer', 'editor')),
  owner_id          TEXT NOT NULL REFERENCES users (id),
  active_user_count INTEGER NOT NULL DEFAULT 0,
  total_notes       INTEGER NOT NULL DEFAULT 0,
  last_seq          INTEGER NOT NULL DEFAULT 0,
  created_at        TEXT NOT NULL
);
INSERT INTO note_rooms_new (id, name, visibility, owner_id, active_user_count, total_notes,
                            last_seq, created_at)
  SELECT id, name, visibility, owner_id, active_user_count, total_notes, last_seq, created_at
  FROM note_rooms;
DROP TABLE note_rooms;
ALTER TABLE note_rooms_new RENAME TO note_rooms;
-- Serves public_rooms' ORDER BY without a sort.
CREATE INDEX note_rooms_public ON note_rooms (active_user_count DESC, name, id)
  WHERE visibility = 'public';
)sql",
    R"sql(
-- Accounts: a token version per user (tokens issued under an older one stop working), and names
-- unique without ASCII case.
ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;
-- The accounts this migration renamed because their name equalled an older one's without case.
CREATE TABLE user_renames (
  user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  old_name   TEXT NOT NULL,
  new_name   TEXT NOT NULL,
  renamed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX user_renames_by_user ON user_renames (user_id);
-- Of each set of names equal without case, the oldest account (created_at, then id) keeps its
-- name; every other becomes <name>-<the first 6 characters of its id after "u_">, the name cut
-- so the whole fits 32 characters. While that name is held by an account, or is one another
-- renamed account could get, one more character of the id is taken. (PostgreSQL's migration 4
-- makes the same choices.)
WITH RECURSIVE
  duplicates AS (
    SELECT id, name, CASE WHEN substr(id, 1, 2) = 'u_' THEN substr(id, 3) ELSE id END AS tail
    FROM (SELECT id, name,
                 row_number() OVER (PARTITION BY lower(name) ORDER BY created_at, id) AS age
          FROM users)
    WHERE age > 1),
  lengths (k) AS (SELECT 6 UNION ALL SELECT k + 1 FROM lengths WHERE k < 30),
  candidates AS (
    SELECT d.id, d.name, k,
           substr(d.name, 1, 31 - min(k, length(d.tail))) || '-' || substr(d.tail, 1, k)
             AS new_name
    FROM duplicates d CROSS JOIN lengths
    WHERE k <= max(6, length(d.tail))),
  shared AS (
    SELECT lower(new_name) AS folded FROM candidates GROUP BY lower(new_name)
    HAVING count(DISTINCT id) > 1),
  free AS (
    SELECT id, name, new_name, row_number() OVER (PARTITION BY id ORDER BY k) AS pick
    FROM candidates
    WHERE lower(new_name) NOT IN (SELECT lower(name) FROM users)
      AND lower(new_name) NOT IN (SELECT folded FROM shared))
INSERT INTO user_renames (user_id, old_name, new_name)
  SELECT id, name, new_name FROM free WHERE pick = 1;
UPDATE users SET name = r.new_name FROM user_renames r WHERE r.user_id = users.id;
-- Serves every lookup by name. The first migration's case-sensitive UNIQUE stays (this index
-- implies it; dropping it would mean rebuilding the table).
CREATE UNIQUE INDEX users_name_nocase ON users (name COLLATE NOCASE);
-- delete_user finds the rooms a user owns.
CREATE INDEX note_rooms_by_owner ON note_rooms (owner_id);
)sql",
    R"sql(
-- The Trash: each deleted note as it was just before its delete, until it is created again
-- (restored) or purged after the retention.
CREATE TABLE trashed_notes (
  note_room_id  TEXT NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  id            TEXT NOT NULL,
  title         TEXT NOT NULL DEFAULT '',
  body          TEXT NOT NULL DEFAULT '',
  is_important  INTEGER NOT NULL DEFAULT 0,
  is_completed  INTEGER NOT NULL DEFAULT 0,
  current_index REAL NOT NULL DEFAULT 0,
  sequence_id   INTEGER NOT NULL DEFAULT 0,
  updated_at    TEXT NOT NULL DEFAULT '',
  deleted_at    TEXT NOT NULL,
  deleted_by    TEXT NOT NULL,
  deleted_seq   INTEGER NOT NULL,
  PRIMARY KEY (note_room_id, id)
);
-- The listing (newest first) and the purge by age.
CREATE INDEX trashed_notes_by_seq ON trashed_notes (note_room_id, deleted_seq);
CREATE INDEX trashed_notes_by_time ON trashed_notes (note_room_id, deleted_at);
)sql",
};

constexpr std::string_view room_columns =
    "r.id, r.name, r.visibility, r.owner_id, r.last_seq, r.total_notes, r.created_at, "
    "r.active_user_count, r.public_role";
constexpr int room_column_count = 9;

role read_role(const sqlite::statement& st, int column) {
  return parse_role(st.column_text(column)).value_or(role::none);
}

room_meta read_room(const sqlite::statement& st) {
  room_meta meta;
  meta.id = st.column_text(0);
  meta.name = st.column_text(1);
  meta.visibility = st.column_text(2);
  meta.owner_id = st.column_text(3);
  meta.last_seq = st.column_int64(4);
  meta.total_notes = st.column_int64(5);
  meta.created_at = st.column_text(6);
  meta.active_user_count = st.column_int64(7);
  meta.public_role = read_role(st, 8);
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

constexpr std::string_view user_columns = "id, name, password_hash, created_at, token_version";

user read_user(const sqlite::statement& st) {
  return user{st.column_text(0), st.column_text(1), st.column_text(2), st.column_text(3),
              st.column_int64(4)};
}

std::string select_users_where(std::string_view condition) {
  return "SELECT " + std::string(user_columns) + " FROM users WHERE " + std::string(condition);
}

std::optional<user> find_one_user(sqlite::database& db, const std::string& sql,
                                  std::string_view key) {
  auto st = db.query(sql, key);
  if (!st.step()) {
    return std::nullopt;
  }
  return read_user(st);
}

std::string select_rooms_where(std::string_view condition) {
  return "SELECT " + std::string(room_columns) + " FROM note_rooms r WHERE " +
         std::string(condition);
}

constexpr std::string_view invite_columns =
    "token, room_id, role, expires_at IS NULL, coalesce(expires_at, ''), max_uses IS NULL, "
    "coalesce(max_uses, 0), uses";

invite read_invite(const sqlite::statement& st) {
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
  return i;
}

std::optional<std::string> role_text(const std::optional<role>& r) {
  if (!r) {
    return std::nullopt;
  }
  return std::string(to_string(*r));
}

// The room row alone; its members are the caller's to write.
void insert_room(sqlite::database& db, const room_meta& meta, std::int64_t total_notes) {
  db.query(
        "INSERT INTO note_rooms (id, name, visibility, public_role, owner_id, total_notes, "
        "last_seq, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        meta.id, meta.name, meta.visibility, to_string(meta.public_role), meta.owner_id,
        total_notes, meta.last_seq, meta.created_at)
      .run();
}

// `conflict` is the INSERT's ON CONFLICT clause, or empty.
void insert_user(sqlite::database& db, const user& u, std::string_view conflict) {
  db.query(
        "INSERT INTO users (id, name, password_hash, created_at, token_version) "
        "VALUES (?1, ?2, ?3, ?4, ?5)" +
            std::string(conflict),
        u.id, u.name, u.password_hash, u.created_at, u.token_version)
      .run();
}

void insert_invite(sqlite::database& db, const invite& inv, std::string_view room_id) {
  db.query(
        "INSERT INTO invites (token, room_id, role, expires_at, max_uses, uses) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        inv.token, room_id, to_string(inv.invite_role), inv.expires_at, inv.max_uses, inv.uses)
      .run();
}

void upsert_member(sqlite::database& db, std::string_view room_id, std::string_view user_id,
                   role r) {
  db.query(
        "INSERT INTO room_members (room_id, user_id, role) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (room_id, user_id) DO UPDATE SET role = excluded.role",
        room_id, user_id, to_string(r))
      .run();
}

}  // namespace

sqlite_cold_store::sqlite_cold_store(const std::filesystem::path& path)
    : db_(path, sqlite::open_options{}) {
  db_.migrate(migrations);
}

bool sqlite_cold_store::create_user(const user& u) {
  std::lock_guard lock(mutex_);
  // Only a taken name is an expected outcome; a duplicate id is a bug and throws.
  insert_user(db_, u, " ON CONFLICT (name COLLATE NOCASE) DO NOTHING");
  return db_.changes() == 1;
}

std::optional<user> sqlite_cold_store::find_user_by_name(std::string_view name) {
  // COLLATE NOCASE: the comparison users_name_nocase serves.
  static const std::string sql = select_users_where("name = ?1 COLLATE NOCASE");
  std::lock_guard lock(mutex_);
  return find_one_user(db_, sql, name);
}

std::optional<user> sqlite_cold_store::find_user(std::string_view user_id) {
  static const std::string sql = select_users_where("id = ?1");
  std::lock_guard lock(mutex_);
  return find_one_user(db_, sql, user_id);
}

std::optional<std::int64_t> sqlite_cold_store::set_password(std::string_view user_id,
                                                            std::string_view password_hash) {
  return next_token_version(user_id, password_hash);
}

std::optional<std::int64_t> sqlite_cold_store::bump_token_version(std::string_view user_id) {
  return next_token_version(user_id, std::nullopt);
}

std::optional<std::int64_t> sqlite_cold_store::next_token_version(
    std::string_view user_id, std::optional<std::string_view> password_hash) {
  std::lock_guard lock(mutex_);
  // One statement: two changes at once cannot both read the same version. A hash bound as
  // NULL keeps the stored one.
  auto st = db_.query(
      "UPDATE users SET password_hash = coalesce(?2, password_hash), "
      "token_version = token_version + 1 WHERE id = ?1 RETURNING token_version",
      user_id, password_hash);
  if (!st.step()) {
    return std::nullopt;
  }
  const std::int64_t version = st.column_int64(0);
  st.run();
  return version;
}

std::optional<std::vector<std::string>> sqlite_cold_store::delete_user(std::string_view user_id) {
  std::lock_guard lock(mutex_);
  sqlite::transaction tx(db_, sqlite::transaction::kind::immediate);
  if (!db_.query("SELECT 1 FROM users WHERE id = ?1", user_id).step()) {
    return std::nullopt;
  }
  // The rooms first: rooms.owner_id does not cascade. Deleting them takes their notes,
  // members, invites and gaps; deleting the user takes their other memberships.
  std::vector<std::string> rooms;
  {
    auto st = db_.query("DELETE FROM note_rooms WHERE owner_id = ?1 RETURNING id", user_id);
    while (st.step()) {
      rooms.push_back(st.column_text(0));
    }
  }
  db_.query("DELETE FROM users WHERE id = ?1", user_id).run();
  tx.commit();
  std::sort(rooms.begin(), rooms.end());
  return rooms;
}

void sqlite_cold_store::create_room(const room_meta& meta) {
  std::lock_guard lock(mutex_);
  sqlite::transaction tx(db_, sqlite::transaction::kind::immediate);
  insert_room(db_, meta, meta.total_notes);
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

void sqlite_cold_store::update_room(std::string_view room_id, const room_changes& changes) {
  std::lock_guard lock(mutex_);
  // coalesce keeps a column whose new value is absent (bound as NULL).
  db_.query(
         "UPDATE note_rooms SET name = coalesce(?2, name), visibility = coalesce(?3, visibility), "
         "public_role = coalesce(?4, public_role) WHERE id = ?1",
         room_id, changes.name, changes.visibility, role_text(changes.public_role))
      .run();
}

bool sqlite_cold_store::delete_room(std::string_view room_id) {
  std::lock_guard lock(mutex_);
  // ON DELETE CASCADE takes the notes, members, invites and gaps with it.
  db_.query("DELETE FROM note_rooms WHERE id = ?1", room_id).run();
  return db_.changes() == 1;
}

bool sqlite_cold_store::transfer_ownership(std::string_view room_id,
                                           std::string_view new_owner_id) {
  std::lock_guard lock(mutex_);
  sqlite::transaction tx(db_, sqlite::transaction::kind::immediate);
  std::string previous;
  {
    auto st = db_.query("SELECT owner_id FROM note_rooms WHERE id = ?1", room_id);
    if (!st.step()) {
      return false;
    }
    previous = st.column_text(0);
  }
  // The foreign key on owner_id refuses a user that does not exist.
  db_.query("UPDATE note_rooms SET owner_id = ?2 WHERE id = ?1", room_id, new_owner_id).run();
  if (previous != new_owner_id) {
    upsert_member(db_, room_id, previous, role::editor);
  }
  upsert_member(db_, room_id, new_owner_id, role::owner);
  tx.commit();
  return true;
}

std::vector<room_meta> sqlite_cold_store::public_rooms(std::size_t limit) {
  static const std::string sql = select_rooms_where(
      "r.visibility = 'public' ORDER BY r.active_user_count DESC, r.name, r.id LIMIT ?1");
  std::lock_guard lock(mutex_);
  auto st = db_.query(sql, static_cast<std::int64_t>(std::min<std::size_t>(
                               limit, std::numeric_limits<std::int64_t>::max())));
  std::vector<room_meta> rooms;
  while (st.step()) {
    rooms.push_back(read_room(st));
  }
  return rooms;
}

std::vector<room_listing> sqlite_cold_store::rooms_of_user(std::string_view user_id) {
  static const std::string sql = "SELECT " + std::string(room_columns) +
                                 ", m.role FROM room_members m JOIN note_rooms r ON r.id = "
                                 "m.room_id WHERE m.user_id = ?1 ORDER BY r.name, r.id";
  std::lock_guard lock(mutex_);
  auto st = db_.query(sql, user_id);
  std::vector<room_listing> rooms;
  while (st.step()) {
    rooms.push_back(room_listing{read_room(st), read_role(st, room_column_count)});
  }
  return rooms;
}

role sqlite_cold_store::role_of(std::string_view room_id, std::string_view user_id) {
  std::lock_guard lock(mutex_);
  return role_of_locked(room_id, user_id);
}

role sqlite_cold_store::role_of_locked(std::string_view room_id, std::string_view user_id) {
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
  upsert_member(db_, room_id, user_id, r);
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

void sqlite_cold_store::create_invite(const invite& inv) {
  std::lock_guard lock(mutex_);
  insert_invite(db_, inv, inv.room_id);
}

std::optional<invite> sqlite_cold_store::find_invite(std::string_view token) {
  std::lock_guard lock(mutex_);
  return find_invite_locked(token);
}

std::optional<invite> sqlite_cold_store::find_invite_locked(std::string_view token) {
  static const std::string sql =
      "SELECT " + std::string(invite_columns) + " FROM invites WHERE token = ?1";
  auto st = db_.query(sql, token);
  if (!st.step()) {
    return std::nullopt;
  }
  return read_invite(st);
}

bool sqlite_cold_store::delete_invite(std::string_view room_id, std::string_view token) {
  std::lock_guard lock(mutex_);
  db_.query("DELETE FROM invites WHERE room_id = ?1 AND token = ?2", room_id, token).run();
  return db_.changes() == 1;
}

accept_result sqlite_cold_store::accept_invite(std::string_view token, std::string_view user_id,
                                               std::string_view now) {
  std::lock_guard lock(mutex_);
  // IMMEDIATE: another process on the same file cannot count a use between the read and the
  // write.
  sqlite::transaction tx(db_, sqlite::transaction::kind::immediate);
  const auto inv = find_invite_locked(token);
  if (!inv) {
    return accept_result{};
  }
  const role current = role_of_locked(inv->room_id, user_id);
  const accept_outcome outcome = accept_outcome_for(*inv, current, now);
  if (outcome != accept_outcome::accepted) {
    return accept_result{outcome, inv->room_id, current};
  }
  // The foreign key on user_id refuses a user that does not exist.
  upsert_member(db_, inv->room_id, user_id, inv->invite_role);
  db_.query("UPDATE invites SET uses = uses + 1 WHERE token = ?1", token).run();
  tx.commit();
  return accept_result{outcome, inv->room_id, inv->invite_role};
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
  for (const auto& id : batch.untrashed) {
    db_.query("DELETE FROM trashed_notes WHERE note_room_id = ?1 AND id = ?2", batch.room_id, id)
        .run();
  }
  for (const auto& t : batch.trashed) {
    const auto& n = t.note;
    db_.query(
           "INSERT OR REPLACE INTO trashed_notes (note_room_id, id, title, body, is_important, "
           "is_completed, current_index, sequence_id, updated_at, deleted_at, deleted_by, "
           "deleted_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
           batch.room_id, n.id, n.title, n.body, n.is_important, n.is_completed, n.current_index,
           n.seq, n.updated_at, t.deleted_at, t.deleted_by, t.deleted_seq)
        .run();
  }
  if (!batch.trash_cutoff.empty()) {
    db_.query("DELETE FROM trashed_notes WHERE note_room_id = ?1 AND deleted_at < ?2",
              batch.room_id, batch.trash_cutoff)
        .run();
  }
  db_.query(
         "UPDATE note_rooms SET total_notes = (SELECT count(*) FROM notes WHERE note_room_id = ?1) "
         "WHERE id = ?1",
         batch.room_id)
      .run();
  tx.commit();
  return flush_outcome::applied;
}

std::vector<trashed_note> sqlite_cold_store::trash(std::string_view room_id, std::string_view since,
                                                   std::size_t limit) {
  static const std::string sql =
      "SELECT " + std::string(note_columns) +
      ", deleted_at, deleted_by, deleted_seq FROM trashed_notes WHERE note_room_id = ?1 AND "
      "deleted_at >= ?2 ORDER BY deleted_seq DESC LIMIT ?3";
  std::lock_guard lock(mutex_);
  auto st = db_.query(sql, room_id, since, static_cast<std::int64_t>(limit));
  std::vector<trashed_note> out;
  while (st.step()) {
    trashed_note t;
    t.note = read_note(st);
    t.deleted_at = st.column_text(8);
    t.deleted_by = st.column_text(9);
    t.deleted_seq = st.column_int64(10);
    out.push_back(std::move(t));
  }
  return out;
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
  static const std::string sql = "SELECT " + std::string(user_columns) + " FROM users ORDER BY id";
  std::lock_guard lock(mutex_);
  auto st = db_.query(sql);
  std::vector<user> result;
  while (st.step()) {
    result.push_back(read_user(st));
  }
  return result;
}

std::vector<room_meta> sqlite_cold_store::all_rooms() {
  static const std::string sql =
      "SELECT " + std::string(room_columns) + " FROM note_rooms r ORDER BY r.id";
  std::lock_guard lock(mutex_);
  auto st = db_.query(sql);
  std::vector<room_meta> result;
  while (st.step()) {
    result.push_back(read_room(st));
  }
  return result;
}

std::vector<invite> sqlite_cold_store::invites(std::string_view room_id) {
  static const std::string sql =
      "SELECT " + std::string(invite_columns) + " FROM invites WHERE room_id = ?1 ORDER BY token";
  std::lock_guard lock(mutex_);
  auto st = db_.query(sql, room_id);
  std::vector<invite> result;
  while (st.step()) {
    result.push_back(read_invite(st));
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
    auto st = db_.query("SELECT id = ?1 FROM users WHERE id = ?1 OR name = ?2 COLLATE NOCASE", u.id,
                        u.name);
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
  insert_user(db_, u, "");
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
  insert_room(db_, meta, static_cast<std::int64_t>(room.notes.size()));
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
    insert_invite(db_, i, meta.id);
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

// The PostgreSQL ColdStore: versioned migrations, parameterised queries, set-based flushes.
#include "store/postgres/postgres_cold_store.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <unordered_set>
#include <utility>

namespace fun_notes::store {

namespace {

// Append-only: a released migration is never edited, a schema change is a new entry.
// Ids and names sort by bytes (COLLATE "C"), as in SQLite, whatever the database's locale: the
// order users see must not depend on the deployment, and the snapshot index stays usable.
constexpr std::array<std::string_view, 5> migrations = {
    R"sql(
CREATE TABLE users (
  id            TEXT COLLATE "C" PRIMARY KEY,
  name          TEXT COLLATE "C" NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE note_rooms (
  id                TEXT COLLATE "C" PRIMARY KEY,
  name              TEXT COLLATE "C" NOT NULL,
  visibility        TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'link')),
  owner_id          TEXT COLLATE "C" NOT NULL REFERENCES users (id),
  active_user_count INTEGER NOT NULL DEFAULT 0,
  total_notes       BIGINT NOT NULL DEFAULT 0,
  last_seq          BIGINT NOT NULL DEFAULT 0,
  created_at        TIMESTAMPTZ NOT NULL
);

-- Note ids are chosen by clients, so they are unique only within a room.
CREATE TABLE notes (
  id            TEXT COLLATE "C" NOT NULL,
  note_room_id  TEXT COLLATE "C" NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  title         TEXT NOT NULL DEFAULT '',
  body          TEXT NOT NULL DEFAULT '',
  is_important  BOOLEAN NOT NULL DEFAULT false,
  is_completed  BOOLEAN NOT NULL DEFAULT false,
  current_index DOUBLE PRECISION NOT NULL DEFAULT 0,
  sequence_id   BIGINT NOT NULL DEFAULT 0,
  updated_at    TIMESTAMPTZ,  -- NULL for a note without an op time (the port's empty string)
  PRIMARY KEY (note_room_id, id)
);
-- The B-tree on note_room_id, extended so the snapshot's ORDER BY (current_index, id) needs no
-- sort.
CREATE INDEX notes_by_room ON notes USING btree (note_room_id, current_index, id);

CREATE TABLE room_members (
  room_id TEXT COLLATE "C" NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role    TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
  PRIMARY KEY (room_id, user_id)
);
-- rooms_of_user looks members up by user.
CREATE INDEX room_members_by_user ON room_members (user_id);

CREATE TABLE invites (
  token      TEXT PRIMARY KEY,
  room_id    TEXT COLLATE "C" NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  role       TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
  expires_at TIMESTAMPTZ,
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
  room_id     TEXT COLLATE "C" NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  from_seq    BIGINT NOT NULL,
  to_seq      BIGINT NOT NULL,
  reason      TEXT NOT NULL,
  recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX room_gaps_by_room ON room_gaps (room_id, from_seq);
)sql",
    R"sql(
-- Public rooms and the role a signed-in non-member gets in one.
ALTER TABLE note_rooms DROP CONSTRAINT note_rooms_visibility_check;
ALTER TABLE note_rooms ADD CONSTRAINT note_rooms_visibility_check
  CHECK (visibility IN ('private', 'link', 'public'));
ALTER TABLE note_rooms ADD COLUMN public_role TEXT NOT NULL DEFAULT 'viewer'
  CHECK (public_role IN ('viewer', 'editor'));
-- Serves public_rooms' ORDER BY without a sort.
CREATE INDEX note_rooms_public ON note_rooms (active_user_count DESC, name, id)
  WHERE visibility = 'public';
)sql",
    R"sql(
-- Accounts: a token version per user (tokens issued under an older one stop working), and names
-- unique without ASCII case.
ALTER TABLE users ADD COLUMN token_version BIGINT NOT NULL DEFAULT 0;
-- The accounts this migration renamed because their name equalled an older one's without case.
CREATE TABLE user_renames (
  user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  old_name   TEXT COLLATE "C" NOT NULL,
  new_name   TEXT COLLATE "C" NOT NULL,
  renamed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX user_renames_by_user ON user_renames (user_id);
-- Of each set of names equal without case, the oldest account (created_at, then id) keeps its
-- name; every other becomes <name>-<the first 6 characters of its id after "u_">, the name cut
-- so the whole fits 32 characters. While that name is held by an account, or is one another
-- renamed account could get, one more character of the id is taken. (SQLite's migration 4
-- makes the same choices.)
WITH
  duplicates AS (
    SELECT id, name, CASE WHEN substr(id, 1, 2) = 'u_' THEN substr(id, 3) ELSE id END AS tail
    FROM (SELECT id, name,
                 row_number() OVER (PARTITION BY lower(name) ORDER BY created_at, id) AS age
          FROM users) AS ranked
    WHERE age > 1),
  candidates AS (
    SELECT d.id, d.name, k,
           substr(d.name, 1, 31 - least(k, length(d.tail))) || '-' || substr(d.tail, 1, k)
             AS new_name
    FROM duplicates d CROSS JOIN generate_series(6, 30) AS k
    WHERE k <= greatest(6, length(d.tail))),
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
-- Serves every lookup by name. The first migration's case-sensitive UNIQUE stays: this index
-- implies it, and servers of the previous version, still running during a rolling upgrade,
-- name it in their sign-up's ON CONFLICT.
CREATE UNIQUE INDEX users_name_lower ON users (lower(name));
-- delete_user finds the rooms a user owns (and deleting a user checks note_rooms by owner).
CREATE INDEX note_rooms_by_owner ON note_rooms (owner_id);
)sql",
    R"sql(
-- The Trash: each deleted note as it was just before its delete, until it is created again
-- (restored) or purged after the retention.
CREATE TABLE trashed_notes (
  note_room_id  TEXT COLLATE "C" NOT NULL REFERENCES note_rooms (id) ON DELETE CASCADE,
  id            TEXT COLLATE "C" NOT NULL,
  title         TEXT NOT NULL DEFAULT '',
  body          TEXT NOT NULL DEFAULT '',
  is_important  BOOLEAN NOT NULL DEFAULT false,
  is_completed  BOOLEAN NOT NULL DEFAULT false,
  current_index DOUBLE PRECISION NOT NULL DEFAULT 0,
  sequence_id   BIGINT NOT NULL DEFAULT 0,
  updated_at    TIMESTAMPTZ,
  deleted_at    TIMESTAMPTZ NOT NULL,
  deleted_by    TEXT COLLATE "C" NOT NULL,
  deleted_seq   BIGINT NOT NULL,
  PRIMARY KEY (note_room_id, id)
);
-- The listing (newest first) and the purge by age.
CREATE INDEX trashed_notes_by_seq ON trashed_notes (note_room_id, deleted_seq);
CREATE INDEX trashed_notes_by_time ON trashed_notes (note_room_id, deleted_at);
)sql",
};

// Any constant shared by every server of the deployment; "fun_note" in ASCII.
constexpr std::int64_t migration_lock_key = 0x66756e5f6e6f7465;

// RFC 3339 UTC with milliseconds, byte for byte what core::format_time writes, so a time read
// back equals the one stored. TIMESTAMPTZ keeps microseconds; the server never sends more
// than milliseconds.
std::string utc_text(std::string_view column) {
  return "to_char(" + std::string(column) +
         R"( AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))";
}

const std::string& room_columns() {
  static const std::string columns =
      "r.id, r.name, r.visibility, r.owner_id, r.last_seq, r.total_notes, " +
      utc_text("r.created_at") + ", r.active_user_count, r.public_role";
  return columns;
}
constexpr int room_column_count = 9;

role read_role(const pg::result& r, int row, int column) {
  return parse_role(r.text(row, column)).value_or(role::none);
}

room_meta read_room(const pg::result& r, int row) {
  room_meta meta;
  meta.id = r.text(row, 0);
  meta.name = r.text(row, 1);
  meta.visibility = r.text(row, 2);
  meta.owner_id = r.text(row, 3);
  meta.last_seq = r.int64(row, 4);
  meta.total_notes = r.int64(row, 5);
  meta.created_at = r.text(row, 6);
  meta.active_user_count = r.int64(row, 7);
  meta.public_role = read_role(r, row, 8);
  return meta;
}

const std::string& note_columns() {
  static const std::string columns =
      "id, title, body, is_important, is_completed, current_index, sequence_id, coalesce(" +
      utc_text("updated_at") + ", '')";
  return columns;
}

// The same columns of `notes n` beside note_rooms r.
const std::string& joined_note_columns() {
  static const std::string columns =
      "n.id, n.title, n.body, n.is_important, n.is_completed, n.current_index, n.sequence_id, "
      "coalesce(" +
      utc_text("n.updated_at") + ", '')";
  return columns;
}

// Notes as one array parameter per column ($k::text[] ... in note_columns' order, updated_at
// as text), for set-based writes with unnest.
struct note_arrays {
  std::vector<std::string> ids, titles, bodies, important, completed, indexes, seqs, times;
  void add(const core::note& n) {
    ids.push_back(n.id);
    titles.push_back(n.title);
    bodies.push_back(n.body);
    important.push_back(n.is_important ? "t" : "f");
    completed.push_back(n.is_completed ? "t" : "f");
    indexes.push_back(pg::format_double(n.current_index));
    seqs.push_back(std::to_string(n.seq));
    times.push_back(n.updated_at);
  }
  // `first` and then the eight columns.
  std::vector<pg::param> params(std::string first) const {
    return {std::move(first),           pg::array_literal(ids),       pg::array_literal(titles),
            pg::array_literal(bodies),  pg::array_literal(important), pg::array_literal(completed),
            pg::array_literal(indexes), pg::array_literal(seqs),      pg::array_literal(times)};
  }
};

// The note_columns() of a row, starting at column `first`.
core::note read_note(const pg::result& r, int row, int first = 0) {
  core::note n;
  n.id = r.text(row, first);
  n.title = r.text(row, first + 1);
  n.body = r.text(row, first + 2);
  n.is_important = r.boolean(row, first + 3);
  n.is_completed = r.boolean(row, first + 4);
  n.current_index = r.float8(row, first + 5);
  n.seq = r.int64(row, first + 6);
  n.updated_at = r.text(row, first + 7);
  return n;
}

const std::string& user_columns() {
  static const std::string columns =
      "id, name, password_hash, " + utc_text("created_at") + ", token_version";
  return columns;
}

user read_user(const pg::result& r, int row) {
  return user{r.text(row, 0), r.text(row, 1), r.text(row, 2), r.text(row, 3), r.int64(row, 4)};
}

std::optional<user> find_one_user(pg::connection& conn, const std::string& sql,
                                  std::string_view key) {
  const auto r = conn.exec(sql, {key});
  if (r.rows() == 0) {
    return std::nullopt;
  }
  return read_user(r, 0);
}

std::optional<room_meta> find_room_on(pg::connection& conn, std::string_view room_id) {
  static const std::string sql = "SELECT " + room_columns() + " FROM note_rooms r WHERE r.id = $1";
  const auto r = conn.exec(sql, {room_id});
  if (r.rows() == 0) {
    return std::nullopt;
  }
  return read_room(r, 0);
}

role role_on(pg::connection& conn, std::string_view room_id, std::string_view user_id) {
  const auto r = conn.exec("SELECT role FROM room_members WHERE room_id = $1 AND user_id = $2",
                           {room_id, user_id});
  return r.rows() == 0 ? role::none : read_role(r, 0, 0);
}

// False when a unique key is taken (the id, or the name with or without case); then ask which.
// DO NOTHING for every unique index: naming only lower(name) would let two inserts of one exact
// name race into a unique violation on the case-sensitive one.
bool insert_user(pg::connection& conn, const user& u) {
  return conn.exec(
                 "INSERT INTO users (id, name, password_hash, created_at, token_version) "
                 "VALUES ($1, $2, $3, $4::timestamptz, $5) ON CONFLICT DO NOTHING",
                 {u.id, u.name, u.password_hash, u.created_at, u.token_version})
             .affected() == 1;
}

void upsert_member(pg::connection& conn, std::string_view room_id, std::string_view user_id,
                   role r) {
  conn.exec(
      "INSERT INTO room_members (room_id, user_id, role) VALUES ($1, $2, $3) "
      "ON CONFLICT (room_id, user_id) DO UPDATE SET role = excluded.role",
      {room_id, user_id, to_string(r)});
}

// The room row alone; its members are the caller's to write.
void insert_room(pg::connection& conn, const room_meta& meta, std::int64_t total_notes) {
  conn.exec(
      "INSERT INTO note_rooms (id, name, visibility, public_role, owner_id, total_notes, "
      "last_seq, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz)",
      {meta.id, meta.name, meta.visibility, to_string(meta.public_role), meta.owner_id, total_notes,
       meta.last_seq, meta.created_at});
}

const std::string& invite_columns() {
  static const std::string columns =
      "token, room_id, role, " + utc_text("expires_at") + ", max_uses, uses";
  return columns;
}

invite read_invite(const pg::result& r, int row) {
  invite i;
  i.token = r.text(row, 0);
  i.room_id = r.text(row, 1);
  i.invite_role = read_role(r, row, 2);
  if (!r.is_null(row, 3)) {
    i.expires_at = r.text(row, 3);
  }
  if (!r.is_null(row, 4)) {
    i.max_uses = r.int64(row, 4);
  }
  i.uses = r.int64(row, 5);
  return i;
}

void insert_invite(pg::connection& conn, const invite& inv, std::string_view room_id) {
  conn.exec(
      "INSERT INTO invites (token, room_id, role, expires_at, max_uses, uses) "
      "VALUES ($1, $2, $3, $4::timestamptz, $5::integer, $6)",
      {inv.token, room_id, to_string(inv.invite_role), inv.expires_at,
       inv.max_uses ? std::optional<std::string>(std::to_string(*inv.max_uses)) : std::nullopt,
       inv.uses});
}

// One statement cannot upsert the same row twice (PostgreSQL refuses); the last value of a
// note wins, as it would with one INSERT per note.
std::vector<const core::note*> last_of_each_id(const std::vector<core::note>& notes) {
  std::vector<const core::note*> kept;
  std::unordered_set<std::string_view> seen;
  for (auto it = notes.rbegin(); it != notes.rend(); ++it) {
    if (seen.insert(it->id).second) {
      kept.push_back(&*it);
    }
  }
  std::reverse(kept.begin(), kept.end());
  return kept;
}

}  // namespace

postgres_cold_store::postgres_cold_store(const std::string& conninfo_url, std::size_t pool_size)
    : pool_(conninfo_url, pool_size) {
  migrate();
}

void postgres_cold_store::migrate() {
  auto conn = pool_.acquire();
  pg::transaction tx(*conn);
  // Servers starting together queue here; each then sees the others' migrations as applied.
  conn->exec("SELECT pg_advisory_xact_lock($1)", {migration_lock_key});
  conn->exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "  version    INTEGER PRIMARY KEY,"
      "  applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
  const std::int64_t newest =
      conn->exec("SELECT coalesce(max(version), 0) FROM schema_migrations").int64(0, 0);
  const auto known = static_cast<std::int64_t>(migrations.size());
  if (newest > known) {
    throw store_error("postgres: the database has schema version " + std::to_string(newest) +
                      ", newer than this build knows (" + std::to_string(known) + ")");
  }
  for (std::int64_t version = newest + 1; version <= known; ++version) {
    conn->exec_script(std::string(migrations[static_cast<std::size_t>(version - 1)]));
    conn->exec("INSERT INTO schema_migrations (version) VALUES ($1)", {version});
  }
  tx.commit();
}

bool postgres_cold_store::create_user(const user& u) {
  auto conn = pool_.acquire();
  if (insert_user(*conn, u)) {
    return true;
  }
  // Only a taken name is an expected outcome; a duplicate id is a bug and throws.
  if (conn->exec("SELECT 1 FROM users WHERE lower(name) = lower($1)", {u.name}).rows() == 0) {
    throw store_error("postgres: duplicate user id '" + u.id + "'");
  }
  return false;
}

std::optional<user> postgres_cold_store::find_user_by_name(std::string_view name) {
  // lower(name): the expression users_name_lower indexes.
  static const std::string sql =
      "SELECT " + user_columns() + " FROM users WHERE lower(name) = lower($1)";
  auto conn = pool_.acquire();
  return find_one_user(*conn, sql, name);
}

std::optional<user> postgres_cold_store::find_user(std::string_view user_id) {
  static const std::string sql = "SELECT " + user_columns() + " FROM users WHERE id = $1";
  auto conn = pool_.acquire();
  return find_one_user(*conn, sql, user_id);
}

std::optional<std::int64_t> postgres_cold_store::set_password(std::string_view user_id,
                                                              std::string_view password_hash) {
  return next_token_version(user_id, std::string(password_hash));
}

std::optional<std::int64_t> postgres_cold_store::bump_token_version(std::string_view user_id) {
  return next_token_version(user_id, std::nullopt);
}

std::optional<std::int64_t> postgres_cold_store::next_token_version(
    std::string_view user_id, const std::optional<std::string>& password_hash) {
  auto conn = pool_.acquire();
  // One statement: concurrent changes queue on the row lock, each moving the version once. A
  // NULL hash keeps the stored one.
  const auto r = conn->exec(
      "UPDATE users SET password_hash = coalesce($2, password_hash), "
      "token_version = token_version + 1 WHERE id = $1 RETURNING token_version",
      {user_id, password_hash});
  if (r.rows() == 0) {
    return std::nullopt;
  }
  return r.int64(0, 0);
}

std::optional<std::vector<std::string>> postgres_cold_store::delete_user(std::string_view user_id) {
  auto conn = pool_.acquire();
  pg::transaction tx(*conn);
  // The row lock makes a room created or handed over to the user meanwhile wait for the
  // deletion, then fail its foreign key, instead of making the deletion fail.
  if (conn->exec("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", {user_id}).rows() == 0) {
    return std::nullopt;
  }
  // The rooms first: rooms.owner_id does not cascade. Deleting them takes their notes,
  // members, invites and gaps; deleting the user takes their other memberships.
  const auto r = conn->exec("DELETE FROM note_rooms WHERE owner_id = $1 RETURNING id", {user_id});
  conn->exec("DELETE FROM users WHERE id = $1", {user_id});
  tx.commit();
  std::vector<std::string> rooms;
  rooms.reserve(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) {
    rooms.push_back(r.text(row, 0));
  }
  std::sort(rooms.begin(), rooms.end());
  return rooms;
}

void postgres_cold_store::create_room(const room_meta& meta) {
  auto conn = pool_.acquire();
  pg::transaction tx(*conn);
  insert_room(*conn, meta, meta.total_notes);
  conn->exec("INSERT INTO room_members (room_id, user_id, role) VALUES ($1, $2, 'owner')",
             {meta.id, meta.owner_id});
  tx.commit();
}

std::optional<room_meta> postgres_cold_store::find_room(std::string_view room_id) {
  auto conn = pool_.acquire();
  return find_room_on(*conn, room_id);
}

void postgres_cold_store::set_active_user_count(std::string_view room_id, std::int64_t count) {
  auto conn = pool_.acquire();
  conn->exec("UPDATE note_rooms SET active_user_count = $2 WHERE id = $1", {room_id, count});
}

void postgres_cold_store::update_room(std::string_view room_id, const room_changes& changes) {
  auto conn = pool_.acquire();
  // coalesce keeps a column whose new value is absent (sent as NULL).
  conn->exec(
      "UPDATE note_rooms SET name = coalesce($2::text, name), "
      "visibility = coalesce($3::text, visibility), "
      "public_role = coalesce($4::text, public_role) WHERE id = $1",
      {room_id, changes.name, changes.visibility,
       changes.public_role ? std::optional<std::string>(to_string(*changes.public_role))
                           : std::nullopt});
}

bool postgres_cold_store::delete_room(std::string_view room_id) {
  auto conn = pool_.acquire();
  // ON DELETE CASCADE takes the notes, members, invites and gaps with it.
  return conn->exec("DELETE FROM note_rooms WHERE id = $1", {room_id}).affected() == 1;
}

bool postgres_cold_store::transfer_ownership(std::string_view room_id,
                                             std::string_view new_owner_id) {
  auto conn = pool_.acquire();
  pg::transaction tx(*conn);
  // The row lock queues two transfers of one room: the second demotes the first one's owner.
  const auto room =
      conn->exec("SELECT owner_id FROM note_rooms WHERE id = $1 FOR UPDATE", {room_id});
  if (room.rows() == 0) {
    return false;
  }
  const std::string previous = room.text(0, 0);
  // The foreign key on owner_id refuses a user that does not exist.
  conn->exec("UPDATE note_rooms SET owner_id = $2 WHERE id = $1", {room_id, new_owner_id});
  if (previous != new_owner_id) {
    upsert_member(*conn, room_id, previous, role::editor);
  }
  upsert_member(*conn, room_id, new_owner_id, role::owner);
  tx.commit();
  return true;
}

std::vector<room_meta> postgres_cold_store::public_rooms(std::size_t limit) {
  static const std::string sql = "SELECT " + room_columns() +
                                 " FROM note_rooms r WHERE r.visibility = 'public' "
                                 "ORDER BY r.active_user_count DESC, "
                                 R"(r.name COLLATE "C", r.id COLLATE "C" LIMIT $1)";
  auto conn = pool_.acquire();
  const auto r = conn->exec(sql, {static_cast<std::int64_t>(std::min<std::size_t>(
                                     limit, std::numeric_limits<std::int64_t>::max()))});
  std::vector<room_meta> rooms;
  rooms.reserve(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) {
    rooms.push_back(read_room(r, row));
  }
  return rooms;
}

std::optional<std::pair<room_meta, role>> postgres_cold_store::find_room_as(
    std::string_view room_id, std::string_view user_id) {
  static const std::string sql =
      "SELECT " + room_columns() +
      ", m.role FROM note_rooms r LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $2"
      " WHERE r.id = $1";
  auto conn = pool_.acquire();
  const auto r = conn->exec(sql, {room_id, user_id});
  if (r.rows() == 0) {
    return std::nullopt;
  }
  const role member_role =
      r.is_null(0, room_column_count) ? role::none : read_role(r, 0, room_column_count);
  return std::make_pair(read_room(r, 0), member_role);
}

std::vector<room_listing> postgres_cold_store::rooms_of_user(std::string_view user_id) {
  static const std::string sql =
      "SELECT " + room_columns() +
      ", m.role FROM room_members m JOIN note_rooms r ON r.id = m.room_id "
      R"(WHERE m.user_id = $1 ORDER BY r.name COLLATE "C", r.id COLLATE "C")";
  auto conn = pool_.acquire();
  const auto r = conn->exec(sql, {user_id});
  std::vector<room_listing> rooms;
  rooms.reserve(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) {
    rooms.push_back(room_listing{read_room(r, row), read_role(r, row, room_column_count)});
  }
  return rooms;
}

role postgres_cold_store::role_of(std::string_view room_id, std::string_view user_id) {
  auto conn = pool_.acquire();
  return role_on(*conn, room_id, user_id);
}

void postgres_cold_store::set_member(std::string_view room_id, std::string_view user_id, role r) {
  auto conn = pool_.acquire();
  if (r == role::none) {
    // "No role" is not a stored role: it means not a member.
    conn->exec("DELETE FROM room_members WHERE room_id = $1 AND user_id = $2", {room_id, user_id});
    return;
  }
  upsert_member(*conn, room_id, user_id, r);
}

bool postgres_cold_store::remove_member(std::string_view room_id, std::string_view user_id) {
  auto conn = pool_.acquire();
  return conn->exec("DELETE FROM room_members WHERE room_id = $1 AND user_id = $2",
                    {room_id, user_id})
             .affected() == 1;
}

std::vector<member> postgres_cold_store::members(std::string_view room_id) {
  auto conn = pool_.acquire();
  const auto r = conn->exec(
      "SELECT u.id, u.name, m.role FROM room_members m JOIN users u ON u.id = m.user_id "
      R"(WHERE m.room_id = $1 ORDER BY u.name COLLATE "C", u.id COLLATE "C")",
      {room_id});
  std::vector<member> result;
  result.reserve(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) {
    result.push_back(member{r.text(row, 0), r.text(row, 1), read_role(r, row, 2)});
  }
  return result;
}

void postgres_cold_store::create_invite(const invite& inv) {
  auto conn = pool_.acquire();
  insert_invite(*conn, inv, inv.room_id);
}

std::optional<invite> postgres_cold_store::find_invite(std::string_view token) {
  static const std::string sql = "SELECT " + invite_columns() + " FROM invites WHERE token = $1";
  auto conn = pool_.acquire();
  const auto r = conn->exec(sql, {token});
  if (r.rows() == 0) {
    return std::nullopt;
  }
  return read_invite(r, 0);
}

bool postgres_cold_store::delete_invite(std::string_view room_id, std::string_view token) {
  auto conn = pool_.acquire();
  return conn->exec("DELETE FROM invites WHERE room_id = $1 AND token = $2", {room_id, token})
             .affected() == 1;
}

accept_result postgres_cold_store::accept_invite(std::string_view token, std::string_view user_id,
                                                 std::string_view now) {
  // Raises the member's role to the invite's, never lowers it (an owner stays the owner); no
  // row comes back when the member already had at least the invite's role.
  static const std::string raise_member =
      "INSERT INTO room_members (room_id, user_id, role) VALUES ($1, $2, $3) "
      "ON CONFLICT (room_id, user_id) DO UPDATE SET role = excluded.role "
      "WHERE array_position(ARRAY['viewer', 'editor', 'owner'], room_members.role) < "
      "array_position(ARRAY['viewer', 'editor', 'owner'], excluded.role) RETURNING role";
  auto conn = pool_.acquire();
  pg::transaction tx(*conn);
  // The row lock queues concurrent accepts of one invite: each sees the uses counted by the
  // ones before it, so a single-use invite admits one user.
  const auto inv = conn->exec(
      "SELECT room_id, role, expires_at IS NOT NULL AND $2::timestamptz >= expires_at, "
      "max_uses IS NOT NULL AND uses >= max_uses FROM invites WHERE token = $1 FOR UPDATE",
      {token, now});
  if (inv.rows() == 0) {
    return accept_result{};
  }
  accept_result result{accept_outcome::accepted, inv.text(0, 0), role::none};
  const role invited = read_role(inv, 0, 1);
  if (inv.boolean(0, 2) || inv.boolean(0, 3)) {
    result.outcome = inv.boolean(0, 2) ? accept_outcome::expired : accept_outcome::used_up;
    result.member_role = role_on(*conn, result.room_id, user_id);
    return result;
  }
  // One statement decides, so a role given meanwhile by another invite or the owner is never
  // overwritten with a lower one. The foreign key on user_id refuses an unknown user.
  if (conn->exec(raise_member, {result.room_id, user_id, to_string(invited)}).rows() == 0) {
    result.outcome = accept_outcome::already_member;
    result.member_role = role_on(*conn, result.room_id, user_id);
    return result;
  }
  conn->exec("UPDATE invites SET uses = uses + 1 WHERE token = $1", {token});
  tx.commit();
  result.member_role = invited;
  return result;
}

std::optional<snapshot> postgres_cold_store::load_snapshot(std::string_view room_id) {
  // One statement, so one round trip and one snapshot of the database: the notes are exactly
  // the state at the last_seq read with them, even while a flush commits meanwhile. The room's
  // columns come with every note (a room without notes: one row, its note columns null).
  static const std::string sql = "SELECT " + room_columns() + ", " + joined_note_columns() +
                                 " FROM note_rooms r LEFT JOIN notes n ON n.note_room_id = r.id"
                                 R"( WHERE r.id = $1 ORDER BY n.current_index, n.id COLLATE "C")";
  auto conn = pool_.acquire();
  const auto r = conn->exec(sql, {room_id});
  if (r.rows() == 0) {
    return std::nullopt;
  }
  snapshot result{read_room(r, 0), {}};
  result.notes.reserve(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) {
    if (!r.is_null(row, room_column_count)) {
      result.notes.push_back(read_note(r, row, room_column_count));
    }
  }
  return result;
}

std::vector<core::note> postgres_cold_store::load_notes(std::string_view room_id,
                                                        const std::vector<std::string>& ids) {
  static const std::string sql =
      "SELECT " + note_columns() + " FROM notes WHERE note_room_id = $1 AND id = ANY($2::text[])";
  if (ids.empty()) {
    return {};
  }
  auto conn = pool_.acquire();
  const auto r = conn->exec(sql, {room_id, pg::array_literal(ids)});
  std::vector<core::note> result;
  result.reserve(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) {
    result.push_back(read_note(r, row));
  }
  std::sort(result.begin(), result.end(), core::display_less);
  return result;
}

flush_outcome postgres_cold_store::apply_flush(const flush_batch& batch) {
  auto conn = pool_.acquire();
  pg::transaction tx(*conn);
  // The guard that makes a flush idempotent: a replayed or overtaken batch matches no row. A
  // concurrent flush of the same range waits on the row lock, then matches nothing either.
  const auto guard =
      conn->exec("UPDATE note_rooms SET last_seq = $3 WHERE id = $1 AND last_seq = $2",
                 {batch.room_id, batch.expected_last_seq, batch.new_last_seq});
  if (guard.affected() == 0) {
    return flush_outcome::stale;
  }
  if (!batch.upserts.empty()) {
    // One statement for the whole batch: each column travels as one array parameter.
    note_arrays columns;
    for (const core::note* n : last_of_each_id(batch.upserts)) {
      columns.add(*n);
    }
    conn->exec(
        "INSERT INTO notes (note_room_id, id, title, body, is_important, is_completed, "
        "current_index, sequence_id, updated_at) "
        "SELECT $1::text, u.id, u.title, u.body, u.is_important, u.is_completed, "
        "u.current_index, u.sequence_id, NULLIF(u.updated_at, '')::timestamptz "
        "FROM unnest($2::text[], $3::text[], $4::text[], $5::boolean[], $6::boolean[], "
        "$7::float8[], $8::bigint[], $9::text[]) "
        "AS u (id, title, body, is_important, is_completed, current_index, sequence_id, "
        "updated_at) "
        "ON CONFLICT (note_room_id, id) DO UPDATE SET title = excluded.title, "
        "body = excluded.body, is_important = excluded.is_important, "
        "is_completed = excluded.is_completed, current_index = excluded.current_index, "
        "sequence_id = excluded.sequence_id, updated_at = excluded.updated_at",
        columns.params(batch.room_id));
  }
  if (!batch.deletes.empty()) {
    conn->exec("DELETE FROM notes WHERE note_room_id = $1 AND id = ANY($2::text[])",
               {batch.room_id, pg::array_literal(batch.deletes)});
  }
  if (!batch.untrashed.empty()) {
    conn->exec("DELETE FROM trashed_notes WHERE note_room_id = $1 AND id = ANY($2::text[])",
               {batch.room_id, pg::array_literal(batch.untrashed)});
  }
  if (!batch.trashed.empty()) {
    note_arrays columns;
    std::vector<std::string> deleted_at, deleted_by, deleted_seq;
    for (const auto& t : batch.trashed) {
      columns.add(t.note);
      deleted_at.push_back(t.deleted_at);
      deleted_by.push_back(t.deleted_by);
      deleted_seq.push_back(std::to_string(t.deleted_seq));
    }
    auto params = columns.params(batch.room_id);
    params.emplace_back(pg::array_literal(deleted_at));
    params.emplace_back(pg::array_literal(deleted_by));
    params.emplace_back(pg::array_literal(deleted_seq));
    conn->exec(
        "INSERT INTO trashed_notes (note_room_id, id, title, body, is_important, is_completed, "
        "current_index, sequence_id, updated_at, deleted_at, deleted_by, deleted_seq) "
        "SELECT $1::text, u.id, u.title, u.body, u.is_important, u.is_completed, "
        "u.current_index, u.sequence_id, NULLIF(u.updated_at, '')::timestamptz, "
        "u.deleted_at::timestamptz, u.deleted_by, u.deleted_seq "
        "FROM unnest($2::text[], $3::text[], $4::text[], $5::boolean[], $6::boolean[], "
        "$7::float8[], $8::bigint[], $9::text[], $10::text[], $11::text[], $12::bigint[]) "
        "AS u (id, title, body, is_important, is_completed, current_index, sequence_id, "
        "updated_at, deleted_at, deleted_by, deleted_seq) "
        "ON CONFLICT (note_room_id, id) DO UPDATE SET title = excluded.title, "
        "body = excluded.body, is_important = excluded.is_important, "
        "is_completed = excluded.is_completed, current_index = excluded.current_index, "
        "sequence_id = excluded.sequence_id, updated_at = excluded.updated_at, "
        "deleted_at = excluded.deleted_at, deleted_by = excluded.deleted_by, "
        "deleted_seq = excluded.deleted_seq",
        params);
  }
  if (!batch.trash_cutoff.empty()) {
    conn->exec("DELETE FROM trashed_notes WHERE note_room_id = $1 AND deleted_at < $2::timestamptz",
               {batch.room_id, batch.trash_cutoff});
  }
  conn->exec(
      "UPDATE note_rooms SET total_notes = (SELECT count(*) FROM notes WHERE note_room_id = $1) "
      "WHERE id = $1",
      {batch.room_id});
  tx.commit();
  return flush_outcome::applied;
}

std::vector<trashed_note> postgres_cold_store::trash(std::string_view room_id,
                                                     std::string_view since, std::size_t limit) {
  static const std::string sql =
      "SELECT " + note_columns() + ", " + utc_text("deleted_at") +
      ", deleted_by, deleted_seq FROM trashed_notes WHERE note_room_id = $1 AND "
      "deleted_at >= $2::timestamptz ORDER BY deleted_seq DESC LIMIT $3";
  auto conn = pool_.acquire();
  const auto r = conn->exec(sql, {room_id, since, static_cast<std::int64_t>(limit)});
  std::vector<trashed_note> out;
  for (int row = 0; row < r.rows(); ++row) {
    trashed_note t;
    t.note = read_note(r, row);
    t.deleted_at = r.text(row, 8);
    t.deleted_by = r.text(row, 9);
    t.deleted_seq = r.int64(row, 10);
    out.push_back(std::move(t));
  }
  return out;
}

void postgres_cold_store::record_gap(const room_gap& gap) {
  auto conn = pool_.acquire();
  conn->exec("INSERT INTO room_gaps (room_id, from_seq, to_seq, reason) VALUES ($1, $2, $3, $4)",
             {gap.room_id, gap.from_seq, gap.to_seq, gap.reason});
}

std::vector<room_gap> postgres_cold_store::gaps(std::string_view room_id) {
  auto conn = pool_.acquire();
  const auto r = conn->exec("SELECT from_seq, to_seq, reason, " + utc_text("recorded_at") +
                                " FROM room_gaps WHERE room_id = $1 ORDER BY from_seq, recorded_at",
                            {room_id});
  std::vector<room_gap> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(
        room_gap{std::string(room_id), r.int64(i, 0), r.int64(i, 1), r.text(i, 2), r.text(i, 3)});
  }
  return out;
}

// ---- Operator tools.

namespace {
// Notes per INSERT of a bulk import (one array parameter per column), and how often it reports.
constexpr std::size_t import_chunk = 1000;
constexpr std::size_t progress_every = 5000;
}  // namespace

std::vector<user> postgres_cold_store::all_users() {
  static const std::string sql =
      "SELECT " + user_columns() + R"( FROM users ORDER BY id COLLATE "C")";
  auto conn = pool_.acquire();
  const auto r = conn->exec(sql);
  std::vector<user> result;
  result.reserve(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) {
    result.push_back(read_user(r, row));
  }
  return result;
}

std::vector<room_meta> postgres_cold_store::all_rooms() {
  static const std::string sql =
      "SELECT " + room_columns() + R"( FROM note_rooms r ORDER BY r.id COLLATE "C")";
  auto conn = pool_.acquire();
  const auto r = conn->exec(sql);
  std::vector<room_meta> result;
  result.reserve(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) {
    result.push_back(read_room(r, row));
  }
  return result;
}

std::vector<invite> postgres_cold_store::invites(std::string_view room_id) {
  static const std::string sql = "SELECT " + invite_columns() +
                                 " FROM invites WHERE room_id = $1 "
                                 R"(ORDER BY token COLLATE "C")";
  auto conn = pool_.acquire();
  const auto r = conn->exec(sql, {room_id});
  std::vector<invite> result;
  result.reserve(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) {
    result.push_back(read_invite(r, row));
  }
  return result;
}

std::optional<std::string> postgres_cold_store::find_secret(std::string_view name) {
  auto conn = pool_.acquire();
  const auto r = conn->exec("SELECT value FROM settings WHERE name = $1", {name});
  if (r.rows() == 0) {
    return std::nullopt;
  }
  return r.text(0, 0);
}

user_import postgres_cold_store::import_user(const user& u) {
  auto conn = pool_.acquire();
  if (insert_user(*conn, u)) {
    return user_import::created;
  }
  const auto same_id = conn->exec("SELECT 1 FROM users WHERE id = $1", {u.id});
  return same_id.rows() == 1 ? user_import::exists : user_import::name_taken;
}

bool postgres_cold_store::import_room(const room_import& room, bool replace,
                                      const import_progress& progress) {
  const auto& meta = room.meta;
  auto conn = pool_.acquire();
  pg::transaction tx(*conn);
  // The row lock makes two imports of one room queue instead of both inserting.
  if (conn->exec("SELECT 1 FROM note_rooms WHERE id = $1 FOR UPDATE", {meta.id}).rows() == 1) {
    if (!replace) {
      return false;
    }
    // ON DELETE CASCADE takes the notes, members and invites with it.
    conn->exec("DELETE FROM note_rooms WHERE id = $1", {meta.id});
  }
  insert_room(*conn, meta, static_cast<std::int64_t>(room.notes.size()));
  std::vector<std::string> user_ids{meta.owner_id};
  std::vector<std::string> roles{"owner"};
  for (const auto& m : room.members) {
    if (m.member_role != role::none && m.user_id != meta.owner_id) {
      user_ids.push_back(m.user_id);
      roles.emplace_back(to_string(m.member_role));
    }
  }
  conn->exec(
      "INSERT INTO room_members (room_id, user_id, role) "
      "SELECT $1::text, m.user_id, m.role FROM unnest($2::text[], $3::text[]) AS m (user_id, role)",
      {meta.id, pg::array_literal(user_ids), pg::array_literal(roles)});
  std::size_t written = 0;
  std::size_t reported = 0;
  for (std::size_t first = 0; first < room.notes.size(); first += import_chunk) {
    const std::size_t last = std::min(room.notes.size(), first + import_chunk);
    note_arrays columns;
    for (std::size_t k = first; k < last; ++k) {
      columns.add(room.notes[k]);
    }
    conn->exec(
        "INSERT INTO notes (note_room_id, id, title, body, is_important, is_completed, "
        "current_index, sequence_id, updated_at) "
        "SELECT $1::text, u.id, u.title, u.body, u.is_important, u.is_completed, "
        "u.current_index, u.sequence_id, NULLIF(u.updated_at, '')::timestamptz "
        "FROM unnest($2::text[], $3::text[], $4::text[], $5::boolean[], $6::boolean[], "
        "$7::float8[], $8::bigint[], $9::text[]) "
        "AS u (id, title, body, is_important, is_completed, current_index, sequence_id, "
        "updated_at)",
        columns.params(meta.id));
    written = last;
    if (progress && written - reported >= progress_every) {
      progress(written);
      reported = written;
    }
  }
  for (const auto& i : room.invites) {
    insert_invite(*conn, i, meta.id);
  }
  tx.commit();
  if (progress) {
    progress(written);
  }
  return true;
}

std::string postgres_cold_store::get_or_create_secret(std::string_view name,
                                                      const std::function<std::string()>& make) {
  static const std::string select = "SELECT value FROM settings WHERE name = $1";
  auto conn = pool_.acquire();
  if (const auto found = conn->exec(select, {name}); found.rows() == 1) {
    return found.text(0, 0);
  }
  // Servers starting together may all get here: the first insert wins and every one of them
  // returns the winner's value.
  conn->exec("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
             {name, make()});
  const auto stored = conn->exec(select, {name});
  if (stored.rows() != 1) {
    throw store_error("postgres: secret '" + std::string(name) + "' vanished after its insert");
  }
  return stored.text(0, 0);
}

}  // namespace fun_notes::store

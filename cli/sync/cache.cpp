// The terminal client's SQLite cache, on the server's SQLite RAII layer.
#include "sync/cache.hpp"

#include <boost/json.hpp>
#include <stdexcept>

#include "fun_notes/core/codec.hpp"
#include "store/sqlite/sqlite_db.hpp"

namespace fun_notes::cli::sync {

namespace json = boost::json;
namespace sql = store::sqlite;

namespace {

constexpr std::string_view schema_v1 = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE rooms (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  visibility TEXT NOT NULL,
  role TEXT NOT NULL,
  active_user_count INTEGER NOT NULL DEFAULT 0,
  total_notes INTEGER NOT NULL DEFAULT 0,
  listed INTEGER NOT NULL DEFAULT 1
);
-- A room's base: the last state the server confirmed. Notes are stored as the protocol's JSON.
CREATE TABLE bases (room TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE notes (
  room TEXT NOT NULL,
  id TEXT NOT NULL,
  note TEXT NOT NULL,
  PRIMARY KEY (room, id)
);
-- Local changes not yet confirmed, in the order they were made.
CREATE TABLE outbox (
  room TEXT NOT NULL,
  pos INTEGER NOT NULL,
  cid TEXT NOT NULL,
  op TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (room, pos)
);
CREATE TABLE notices (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  room TEXT NOT NULL,
  note_id TEXT NOT NULL,
  message TEXT NOT NULL,
  at TEXT NOT NULL
);
)sql";

constexpr std::string_view migrations[] = {schema_v1};

}  // namespace

struct cache::impl {
  explicit impl(const std::filesystem::path& file)
      : db(file, sql::open_options{.synchronous_full = true, .busy_timeout_ms = 5000}) {}
  sql::database db;
};

cache::cache(const std::filesystem::path& file) {
  try {
    std::filesystem::create_directories(file.parent_path());
    impl_ = std::make_unique<impl>(file);
    impl_->db.migrate(migrations);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("cannot open the local cache: ") + e.what());
  }
}

cache::~cache() = default;

std::vector<room_info> cache::rooms() const {
  std::vector<room_info> out;
  auto st = impl_->db.query(
      "SELECT id, name, visibility, role, active_user_count, total_notes FROM rooms "
      "WHERE listed = 1 ORDER BY name, id");
  while (st.step()) {
    out.push_back(room_info{st.column_text(0), st.column_text(1), st.column_text(2),
                            st.column_text(3), st.column_int64(4), st.column_int64(5)});
  }
  return out;
}

namespace {

void upsert_room(sql::database& db, const room_info& r) {
  db.query(
        "INSERT INTO rooms (id, name, visibility, role, active_user_count, total_notes, listed) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1) ON CONFLICT (id) DO UPDATE SET name = ?2, "
        "visibility = CASE WHEN ?3 = '' THEN visibility ELSE ?3 END, "
        "role = CASE WHEN ?4 = '' THEN role ELSE ?4 END, active_user_count = ?5, "
        "total_notes = ?6, listed = 1",
        r.id, r.name, r.visibility, r.role, r.active_user_count, r.total_notes)
      .run();
}

}  // namespace

void cache::save_rooms(const std::vector<room_info>& rooms) {
  sql::transaction tx(impl_->db, sql::transaction::kind::immediate);
  impl_->db.query("UPDATE rooms SET listed = 0").run();
  for (const room_info& r : rooms) {
    upsert_room(impl_->db, r);
  }
  tx.commit();
}

void cache::save_room_info(const room_info& info) {
  upsert_room(impl_->db, info);
}

void cache::update_room_stat(const room_stat& stat) {
  impl_->db
      .query("UPDATE rooms SET name = ?2, active_user_count = ?3, total_notes = ?4 WHERE id = ?1",
             stat.id, stat.name, stat.active_user_count, stat.total_notes)
      .run();
}

std::optional<replica> cache::load_room(const std::string& room_id) const {
  std::int64_t seq = 0;
  {
    auto st = impl_->db.query("SELECT seq FROM bases WHERE room = ?1", room_id);
    if (!st.step()) {
      return std::nullopt;
    }
    seq = st.column_int64(0);
  }
  room_info info;
  info.id = room_id;
  {
    auto st = impl_->db.query(
        "SELECT name, visibility, role, active_user_count, total_notes FROM rooms WHERE id = ?1",
        room_id);
    if (st.step()) {
      info = room_info{room_id,           st.column_text(0),  st.column_text(1),
                       st.column_text(2), st.column_int64(3), st.column_int64(4)};
    }
  }
  std::vector<core::note> notes;
  {
    auto st = impl_->db.query("SELECT note FROM notes WHERE room = ?1", room_id);
    while (st.step()) {
      auto value = core::parse_json(st.column_text(0));
      auto note = value ? core::parse_note(*value) : core::result<core::note>(value.err());
      if (!note) {
        throw std::runtime_error("the local cache holds a damaged note in room " + room_id + ": " +
                                 note.err().message);
      }
      notes.push_back(std::move(*note));
    }
  }
  std::vector<local_op> outbox;
  {
    auto st =
        impl_->db.query("SELECT cid, op, at FROM outbox WHERE room = ?1 ORDER BY pos", room_id);
    while (st.step()) {
      auto value = core::parse_json(st.column_text(1));
      const core::limits unlimited{SIZE_MAX, SIZE_MAX, SIZE_MAX};
      auto op = value ? core::parse_op(*value, unlimited) : core::result<core::op>(value.err());
      if (!op) {
        throw std::runtime_error("the local cache holds a damaged change in room " + room_id +
                                 ": " + op.err().message);
      }
      outbox.push_back(local_op{st.column_text(0), std::move(*op), st.column_text(2), false});
    }
  }
  return replica(std::move(info), core::room_state(seq, std::move(notes)), std::move(outbox));
}

void cache::save(replica& room) {
  dirty_set dirty = room.take_dirty();
  sql::database& db = impl_->db;
  const std::string& id = room.room_id();
  bool stored = false;
  {
    auto st = db.query("SELECT 1 FROM bases WHERE room = ?1", id);
    stored = st.step();
  }
  if (!stored) {
    dirty.everything = true;  // a room this cache has not held yet: write it whole
  } else if (dirty.empty()) {
    return;
  }
  sql::transaction tx(db, sql::transaction::kind::immediate);
  if (dirty.info || dirty.everything) {
    upsert_room(db, room.info());
  } else {
    db.query("UPDATE rooms SET total_notes = ?2, active_user_count = ?3 WHERE id = ?1", id,
             room.info().total_notes, room.info().active_user_count)
        .run();
  }
  db.query(
        "INSERT INTO bases (room, seq) VALUES (?1, ?2) "
        "ON CONFLICT (room) DO UPDATE SET seq = ?2",
        id, room.base().seq())
      .run();
  const auto write_note = [&](const core::note& n) {
    db.query(
          "INSERT INTO notes (room, id, note) VALUES (?1, ?2, ?3) "
          "ON CONFLICT (room, id) DO UPDATE SET note = ?3",
          id, n.id, json::serialize(core::to_json(n)))
        .run();
  };
  if (dirty.everything) {
    db.query("DELETE FROM notes WHERE room = ?1", id).run();
    for (const core::note& n : room.base().sorted_notes()) {
      write_note(n);
    }
  } else {
    for (const std::string& note_id : dirty.notes) {
      if (const core::note* n = room.base().find(note_id)) {
        write_note(*n);
      } else {
        db.query("DELETE FROM notes WHERE room = ?1 AND id = ?2", id, note_id).run();
      }
    }
  }
  if (dirty.outbox || dirty.everything) {
    db.query("DELETE FROM outbox WHERE room = ?1", id).run();
    std::int64_t pos = 0;
    for (const local_op& o : room.outbox()) {
      db.query("INSERT INTO outbox (room, pos, cid, op, at) VALUES (?1, ?2, ?3, ?4, ?5)", id, pos++,
               o.cid, json::serialize(core::to_json(o.op)), o.at)
          .run();
    }
  }
  tx.commit();
}

std::vector<std::pair<std::string, std::size_t>> cache::unsent() const {
  std::vector<std::pair<std::string, std::size_t>> out;
  auto st = impl_->db.query("SELECT room, COUNT(*) FROM outbox GROUP BY room ORDER BY room");
  while (st.step()) {
    out.emplace_back(st.column_text(0), static_cast<std::size_t>(st.column_int64(1)));
  }
  return out;
}

void cache::add_notices(const std::string& room, const std::vector<notice>& notices,
                        const std::string& at) {
  if (notices.empty()) {
    return;
  }
  sql::transaction tx(impl_->db, sql::transaction::kind::immediate);
  for (const notice& n : notices) {
    impl_->db
        .query("INSERT INTO notices (room, note_id, message, at) VALUES (?1, ?2, ?3, ?4)", room,
               n.note_id, n.message, at)
        .run();
  }
  // Keep the last thousand.
  impl_->db.query("DELETE FROM notices WHERE id <= (SELECT MAX(id) - 1000 FROM notices)").run();
  tx.commit();
}

std::vector<stored_notice> cache::recent_notices(std::size_t limit) const {
  std::vector<stored_notice> out;
  auto st = impl_->db.query(
      "SELECT id, room, note_id, message, at FROM notices ORDER BY id DESC LIMIT ?1", limit);
  while (st.step()) {
    out.push_back(stored_notice{st.column_int64(0), st.column_text(1), st.column_text(2),
                                st.column_text(3), st.column_text(4)});
  }
  return out;
}

std::optional<std::string> cache::get(const std::string& key) const {
  auto st = impl_->db.query("SELECT value FROM meta WHERE key = ?1", key);
  if (!st.step()) {
    return std::nullopt;
  }
  return st.column_text(0);
}

void cache::set(const std::string& key, const std::string& value) {
  impl_->db
      .query(
          "INSERT INTO meta (key, value) VALUES (?1, ?2) "
          "ON CONFLICT (key) DO UPDATE SET value = ?2",
          key, value)
      .run();
}

}  // namespace fun_notes::cli::sync

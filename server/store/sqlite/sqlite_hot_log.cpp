// The SQLite HotLog: group commit on one appender thread, reads on their own connection.
#include "store/sqlite/sqlite_hot_log.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <exception>
#include <optional>
#include <utility>

namespace fun_notes::store {

namespace {

// Append-only: a released migration is never edited, a schema change is a new entry.
constexpr std::array<std::string_view, 2> migrations = {
    R"sql(
-- head_seq: last seq assigned; persisted_seq: last seq folded into the ColdStore.
CREATE TABLE room_log (
  room_id       TEXT PRIMARY KEY,
  head_seq      INTEGER NOT NULL,
  persisted_seq INTEGER NOT NULL
);

-- frame: the S->C op frame exactly as broadcast.
CREATE TABLE op_log (
  room_id TEXT NOT NULL,
  seq     INTEGER NOT NULL,
  frame   TEXT NOT NULL,
  PRIMARY KEY (room_id, seq)
);
)sql",
    R"sql(
-- The seq of the last op that touched each note field ("<note id>/<field>"): the guard of a
-- text op's append (store/hot_log.hpp field_guard).
CREATE TABLE field_log (
  room_id   TEXT NOT NULL,
  field_key TEXT NOT NULL,
  seq       INTEGER NOT NULL,
  PRIMARY KEY (room_id, field_key)
);
)sql",
};

sqlite::open_options writer_options() {
  sqlite::open_options options;
  // An op is acknowledged once it is here, so each group commit is fsynced.
  options.synchronous_full = true;
  return options;
}

}  // namespace

sqlite_hot_log::sqlite_hot_log(const std::filesystem::path& path, bus& bus, hot_log_options options)
    : bus_(bus),
      options_(options),
      writer_(path, writer_options()),
      reader_(path, sqlite::open_options{}) {
  writer_.migrate(migrations);
  // Last: the thread must only see fully constructed members.
  appender_ = std::thread([this] { run_appender(); });
}

sqlite_hot_log::~sqlite_hot_log() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_changed_.notify_all();
  appender_.join();
}

void sqlite_hot_log::do_append(append_request request, append_handler done) {
  {
    std::lock_guard lock(queue_mutex_);
    if (!stopped_) {
      queue_.push_back(pending_append{std::move(request), std::move(done)});
      queue_changed_.notify_one();
      return;
    }
  }
  done(core::error{"unavailable", "hot log: shut down"});
}

void sqlite_hot_log::run_appender() {
  std::vector<pending_append> batch;
  std::unique_lock lock(queue_mutex_);
  while (true) {
    queue_changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {
      // Stopping, and everything queued before has been completed.
      stopped_ = true;
      return;
    }
    // Everything that queued up during the previous commit becomes the next group.
    batch.swap(queue_);
    lock.unlock();
    append_batch(batch);
    batch.clear();
    lock.lock();
  }
}

void sqlite_hot_log::append_batch(std::vector<pending_append>& batch) {
  std::vector<append_result> results;
  results.reserve(batch.size());
  // Appends whose guard failed: not numbered, answered with the error.
  std::vector<std::optional<core::error>> stale(batch.size());
  std::optional<std::string> failure;
  {
    std::lock_guard lock(write_mutex_);
    // Positions as they were before this group (nullopt: not cached), to undo on failure.
    std::map<std::string, std::optional<room_position>, std::less<>> before;
    try {
      sqlite::transaction tx(writer_, sqlite::transaction::kind::immediate);
      for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto& pending = batch[i];
        const std::string& room_id = pending.request.room_id;
        if (const auto& guard = pending.request.guard) {
          // Inside the transaction: an earlier op of this group that touched the field counts.
          auto st = writer_.query("SELECT seq FROM field_log WHERE room_id = ?1 AND field_key = ?2",
                                  room_id, guard->field_key);
          if (st.step() && st.column_int64(0) > guard->seen_seq) {
            stale[i] = stale_error(guard->field_key, st.column_int64(0));
            results.emplace_back();
            continue;
          }
        }
        if (!before.contains(room_id)) {
          auto cached = positions_.find(room_id);
          before.emplace(room_id, cached == positions_.end()
                                      ? std::nullopt
                                      : std::optional<room_position>(cached->second));
        }
        auto& position = position_locked(room_id);
        const std::int64_t seq = ++position.head_seq;
        const std::string seq_text = std::to_string(seq);
        std::string frame;
        frame.reserve(pending.request.frame_prefix.size() + seq_text.size() +
                      pending.request.frame_suffix.size());
        frame += pending.request.frame_prefix;
        frame += seq_text;
        frame += pending.request.frame_suffix;
        writer_
            .query("INSERT INTO op_log (room_id, seq, frame) VALUES (?1, ?2, ?3)", room_id, seq,
                   frame)
            .run();
        for (const std::string& key : pending.request.touched_fields) {
          writer_
              .query(
                  "INSERT INTO field_log (room_id, field_key, seq) VALUES (?1, ?2, ?3) "
                  "ON CONFLICT (room_id, field_key) DO UPDATE SET seq = excluded.seq",
                  room_id, key, seq)
              .run();
        }
        results.push_back(
            append_result{log_entry{seq, std::make_shared<const std::string>(std::move(frame))},
                          position.persisted_seq});
      }
      for (const auto& [room_id, unused] : before) {
        store_position_locked(room_id, positions_.at(room_id));
      }
      tx.commit();
    } catch (const std::exception& e) {
      // Nothing of the group is in the log: take the seqs back so the next op reuses them.
      for (const auto& [room_id, position] : before) {
        if (position) {
          positions_.insert_or_assign(room_id, *position);
        } else if (auto it = positions_.find(room_id); it != positions_.end()) {
          positions_.erase(it);
        }
      }
      failure = e.what();
    }
  }

  if (failure) {
    spdlog::error("hot log: group commit of {} ops failed: {}", batch.size(), *failure);
    for (auto& pending : batch) {
      try {
        pending.done(core::error{"unavailable", "hot log: " + *failure});
      } catch (const std::exception& e) {
        spdlog::error("hot log: append handler threw: {}", e.what());
      }
    }
    return;
  }

  // Only this thread publishes, one group after another, so a room's ops leave in seq order.
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (stale[i]) {
      try {
        batch[i].done(*stale[i]);
      } catch (const std::exception& e) {
        spdlog::error("hot log: append handler threw: {}", e.what());
      }
      continue;
    }
    const auto& entry = results[i].entry;
    try {
      bus_.publish(room_channel(batch[i].request.room_id), bus_message{entry.seq, entry.frame});
    } catch (const std::exception& e) {
      // The op is durable and readers catch up from the log: keep going.
      spdlog::error("hot log: publish of seq {} failed: {}", entry.seq, e.what());
    }
    try {
      batch[i].done(std::move(results[i]));
    } catch (const std::exception& e) {
      spdlog::error("hot log: append handler threw: {}", e.what());
    }
  }
}

sqlite_hot_log::room_position& sqlite_hot_log::position_locked(std::string_view room_id) {
  if (auto it = positions_.find(room_id); it != positions_.end()) {
    return it->second;
  }
  room_position position;  // a room the log has never seen starts at 0
  {
    auto st =
        writer_.query("SELECT head_seq, persisted_seq FROM room_log WHERE room_id = ?1", room_id);
    if (st.step()) {
      position = room_position{st.column_int64(0), st.column_int64(1)};
    }
  }
  return positions_.emplace(std::string(room_id), position).first->second;
}

void sqlite_hot_log::store_position_locked(std::string_view room_id,
                                           const room_position& position) {
  writer_
      .query(
          "INSERT INTO room_log (room_id, head_seq, persisted_seq) VALUES (?1, ?2, ?3) "
          "ON CONFLICT (room_id) DO UPDATE SET head_seq = excluded.head_seq, "
          "persisted_seq = excluded.persisted_seq",
          room_id, position.head_seq, position.persisted_seq)
      .run();
}

void sqlite_hot_log::touch_room(std::string_view) {}

void sqlite_hot_log::ensure_room(std::string_view room_id, std::int64_t cold_last_seq) {
  std::lock_guard lock(write_mutex_);
  auto& position = position_locked(room_id);
  // A room unknown to the log reads as head 0, so one test covers both cases: a room cold in
  // the log and (should the log ever lose state) a log behind the ColdStore. Numbering then
  // resumes after the ColdStore's last_seq so no seq is ever handed out twice.
  if (position.head_seq >= cold_last_seq) {
    return;
  }
  room_position next = position;
  next.head_seq = std::max(next.head_seq, cold_last_seq);
  next.persisted_seq = std::max(next.persisted_seq, cold_last_seq);
  store_position_locked(room_id, next);
  position = next;
}

log_range sqlite_hot_log::read_after(std::string_view room_id, std::int64_t after_seq) {
  std::lock_guard lock(read_mutex_);
  // One read transaction: head, persisted and entries come from the same commit.
  sqlite::transaction tx(reader_, sqlite::transaction::kind::deferred);
  log_range range;
  {
    auto st =
        reader_.query("SELECT head_seq, persisted_seq FROM room_log WHERE room_id = ?1", room_id);
    if (st.step()) {
      range.head_seq = st.column_int64(0);
      range.persisted_seq = st.column_int64(1);
    }
  }
  {
    auto st =
        reader_.query("SELECT seq, frame FROM op_log WHERE room_id = ?1 AND seq > ?2 ORDER BY seq",
                      room_id, after_seq);
    while (st.step()) {
      range.entries.push_back(
          log_entry{st.column_int64(0), std::make_shared<const std::string>(st.column_text(1))});
    }
  }
  tx.commit();
  range.complete = after_seq >= range.head_seq ||
                   (!range.entries.empty() && range.entries.front().seq <= after_seq + 1);
  return range;
}

void sqlite_hot_log::set_persisted(std::string_view room_id, std::int64_t seq) {
  std::lock_guard lock(write_mutex_);
  auto& position = position_locked(room_id);
  room_position next = position;
  next.persisted_seq = std::max(next.persisted_seq, seq);
  // Ops up to `seq` are in the ColdStore, so numbering must never reuse them.
  next.head_seq = std::max(next.head_seq, next.persisted_seq);
  if (next == position) {
    // Nothing to record, and nothing became trimmable since the last call.
    return;
  }
  const std::int64_t trim_to = std::min(next.persisted_seq, next.head_seq - options_.keep_recent);
  sqlite::transaction tx(writer_, sqlite::transaction::kind::immediate);
  store_position_locked(room_id, next);
  writer_.query("DELETE FROM op_log WHERE room_id = ?1 AND seq <= ?2", room_id, trim_to).run();
  tx.commit();
  position = next;
}

bool sqlite_hot_log::reset_room(std::string_view room_id, std::int64_t expected_head,
                                std::int64_t new_seq) {
  // Under the appender's lock: no op is numbered while the room is reset.
  std::lock_guard lock(write_mutex_);
  auto& position = position_locked(room_id);
  if (position.head_seq != expected_head || new_seq <= expected_head) {
    return false;
  }
  room_position next{new_seq, new_seq};
  sqlite::transaction tx(writer_, sqlite::transaction::kind::immediate);
  store_position_locked(room_id, next);
  writer_.query("DELETE FROM op_log WHERE room_id = ?1", room_id).run();
  tx.commit();
  position = next;
  return true;
}

std::vector<std::string> sqlite_hot_log::dirty_rooms() {
  std::lock_guard lock(read_mutex_);
  auto st =
      reader_.query("SELECT room_id FROM room_log WHERE head_seq > persisted_seq ORDER BY room_id");
  std::vector<std::string> rooms;
  while (st.step()) {
    rooms.push_back(st.column_text(0));
  }
  return rooms;
}

}  // namespace fun_notes::store

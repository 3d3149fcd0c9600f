// Debounced, coalescing, idempotent persistence of the op log into the ColdStore.
#include "persist/write_behind.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <variant>

#include "fun_notes/core/note.hpp"
#include "persist/lease_guard.hpp"
#include "persist/trash.hpp"
#include "rooms/room_loader.hpp"

namespace fun_notes::server::persist {

namespace {

flush_report flush_leased(store::cold_store& cold, store::hot_log& hot, const std::string& room_id);

}  // namespace

flush_report flush_room(store::cold_store& cold, store::hot_log& hot, const std::string& room_id,
                        const std::string& owner, std::chrono::milliseconds lease_ttl) {
  if (!hot.try_lease(room_id, owner, lease_ttl)) {
    flush_report report;
    report.leased_elsewhere = true;
    return report;
  }
  lease_guard guard(hot, room_id, owner);
  return flush_leased(cold, hot, room_id);
}

namespace {

flush_report flush_leased(store::cold_store& cold, store::hot_log& hot,
                          const std::string& room_id) {
  flush_report report;
  auto meta = cold.find_room(room_id);
  if (!meta) {
    // The room was deleted: its logged ops have nowhere to go. Marked persisted, the log is
    // trimmed (SQLite) or expires (Redis) like any other.
    const auto range = hot.read_after(room_id, std::numeric_limits<std::int64_t>::max());
    if (range.persisted_seq < range.head_seq) {
      hot.set_persisted(room_id, range.head_seq);
    }
    return report;
  }
  const std::int64_t s = meta->last_seq;
  auto range = hot.read_after(room_id, s);
  if (range.entries.empty() && range.head_seq <= s) {
    // Nothing newer than the ColdStore: only the bookkeeping may lag (crash after commit).
    if (range.persisted_seq < range.head_seq) {
      hot.set_persisted(room_id, range.head_seq);
    }
    return report;
  }
  if (!range.complete || range.entries.empty() || range.entries.front().seq != s + 1) {
    throw log_gap(room_id, s, range.head_seq);
  }
  std::vector<core::applied_op> ops;
  std::vector<std::string> users;
  ops.reserve(range.entries.size());
  users.reserve(range.entries.size());
  std::set<std::string> ids;
  for (const auto& e : range.entries) {
    std::string user;
    auto op = rooms::parse_op_frame(*e.frame, &user);
    if (!op) {
      throw store::store_error("room " + room_id + ": corrupt log entry " + std::to_string(e.seq));
    }
    touched_ids(op->operation, ids);
    ops.push_back(std::move(*op));
    users.push_back(std::move(user));
  }
  const std::vector<std::string> id_list(ids.begin(), ids.end());
  core::room_state partial(s, cold.load_notes(room_id, id_list));
  trash_changes trash;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    apply_recording_trash(partial, ops[i], users[i], trash);
  }
  store::flush_batch batch;
  batch.room_id = room_id;
  batch.expected_last_seq = s;
  batch.new_last_seq = ops.back().seq;
  for (const auto& id : id_list) {
    if (const auto* n = partial.find(id)) {
      batch.upserts.push_back(*n);
    } else {
      batch.deletes.push_back(id);
    }
  }
  batch.untrashed.assign(trash.untrashed.begin(), trash.untrashed.end());
  for (auto& [_, t] : trash.trashed) {
    batch.trashed.push_back(std::move(t));
  }
  if (!batch.trashed.empty()) {
    batch.trash_cutoff = trash_cutoff(std::chrono::system_clock::now());
  }
  report.ops = static_cast<std::int64_t>(ops.size());
  report.notes_written = static_cast<std::int64_t>(batch.upserts.size() + batch.deletes.size());
  if (cold.apply_flush(batch) == store::flush_outcome::stale) {
    report.stale = true;
    report.notes_written = 0;
    return report;
  }
  hot.set_persisted(room_id, batch.new_last_seq);
  return report;
}

}  // namespace

write_behind::write_behind(store::cold_store& cold, store::hot_log& hot,
                           write_behind_options options,
                           std::function<void(const flush_report&)> on_flush)
    : cold_(cold), hot_(hot), options_(options), on_flush_(std::move(on_flush)) {}

write_behind::~write_behind() {
  stop();
}

void write_behind::start() {
  hot_.observe_appends(
      [this](const std::string& room_id, std::int64_t seq, std::int64_t persisted_seq) {
        note_append(room_id, seq, persisted_seq);
      });
  for (const auto& room_id : hot_.dirty_rooms()) {
    std::lock_guard lock(mutex_);
    const auto now = clock::now();
    dirty_[room_id] = room_state{now, now, true};
  }
  next_sweep_ = clock::now() + options_.sweep_interval;
  for (unsigned i = 0; i < std::max(1U, options_.workers); ++i) {
    threads_.emplace_back([this] { run(); });
  }
  cv_.notify_all();
}

void write_behind::note_append(const std::string& room_id, std::int64_t seq,
                               std::int64_t persisted_seq) {
  const auto now = clock::now();
  std::lock_guard lock(mutex_);
  auto [it, inserted] = dirty_.try_emplace(room_id, room_state{now, now, false});
  it->second.last_op = now;
  if (seq - persisted_seq > options_.hard_cap) {
    it->second.urgent = true;
  }
  if (inserted || it->second.urgent) {
    cv_.notify_one();
  }
}

write_behind::clock::duration write_behind::retry_delay(int failures) const {
  const clock::duration cap = std::max<clock::duration>(options_.quiet, std::chrono::seconds(5));
  clock::duration delay = std::max<clock::duration>(options_.quiet, std::chrono::milliseconds(50));
  for (int i = 1; i < failures && delay < cap; ++i) {
    delay *= 2;
  }
  return std::min(delay, cap);
}

void write_behind::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (clock::now() >= next_sweep_) {
      next_sweep_ = clock::now() + options_.sweep_interval;
      lock.unlock();
      sweep();
      lock.lock();
      continue;
    }
    const auto now = clock::now();
    auto next_due = next_sweep_;
    std::string ready;
    for (const auto& [room_id, st] : dirty_) {
      if (in_flight_.count(room_id) != 0) {
        continue;
      }
      const auto due =
          std::max(st.not_before, st.urgent ? now
                                            : std::min(st.last_op + options_.quiet,
                                                       st.first_unflushed + options_.max_delay));
      if (due <= now) {
        ready = room_id;
        break;
      }
      next_due = std::min(next_due, due);
    }
    if (ready.empty()) {
      cv_.wait_until(lock, next_due);
      continue;
    }
    // Ops appended from here on start a new debounce window for the room.
    const int failures = dirty_[ready].failures;
    dirty_.erase(ready);
    in_flight_.insert(ready);
    lock.unlock();
    const bool ok = flush_one(ready);
    lock.lock();
    in_flight_.erase(ready);
    if (!ok) {
      // Keep the room dirty and retry with a growing delay: the store may be down for a while,
      // and a room over the hard cap must not spin against it.
      const auto t = clock::now();
      auto [it, _] = dirty_.try_emplace(ready, room_state{t, t, false});
      it->second.urgent = false;
      it->second.failures = failures + 1;
      it->second.not_before = t + retry_delay(failures + 1);
    }
    cv_.notify_all();
  }
}

// Rooms the HotLog holds unflushed that no append here scheduled: another server died with
// them, or this one restarted. They are flushed after the quiet period like any other.
void write_behind::sweep() {
  std::vector<std::string> rooms;
  try {
    rooms = hot_.dirty_rooms();
  } catch (const std::exception& e) {
    spdlog::warn("dirty-room sweep failed: {}", e.what());
    return;
  }
  const auto now = clock::now();
  std::lock_guard lock(mutex_);
  for (const auto& room_id : rooms) {
    if (in_flight_.count(room_id) == 0) {
      dirty_.try_emplace(room_id, room_state{now, now, false});
    }
  }
}

bool write_behind::flush_one(const std::string& room_id) {
  for (int attempt = 0;; ++attempt) {
    try {
      const auto started = clock::now();
      auto report = flush_room(cold_, hot_, room_id, options_.owner, options_.lease_ttl);
      report.seconds = std::chrono::duration<double>(clock::now() - started).count();
      if (report.leased_elsewhere) {
        return false;  // another server is on it: look again after the quiet period
      }
      if (on_flush_) {
        on_flush_(report);
      }
      return true;
    } catch (const log_gap& gap) {
      // Never stuck: repair the room, then fold what the log holds after the repaired seq.
      spdlog::warn("{}: repairing", gap.what());
      if (attempt > 0 || !repair(room_id)) {
        if (on_failure_) {
          on_failure_();
        }
        return false;
      }
    } catch (const std::exception& e) {
      spdlog::warn("flush of room {} failed: {}", room_id, e.what());
      if (on_failure_) {
        on_failure_();
      }
      return false;
    }
  }
}

bool write_behind::repair(const std::string& room_id) {
  const auto step = [&](bool fallback) {
    try {
      return repair_room(cold_, hot_, room_id, options_.owner, options_.lease_ttl, repair_hooks_,
                         fallback);
    } catch (const std::exception& e) {
      spdlog::warn("repair of room {} failed: {}", room_id, e.what());
      return repair_outcome::waiting;
    }
  };
  auto outcome = step(false);
  if (outcome == repair_outcome::waiting && repair_hooks_.signal) {
    // Maybe a hub on another server holds the room whole: it writes it when asked.
    repair_hooks_.signal(room_id, repair_signal::needed);
  }
  const auto give_up = clock::now() + options_.repair_grace;
  while ((outcome == repair_outcome::waiting || outcome == repair_outcome::leased_elsewhere) &&
         clock::now() < give_up) {
    {
      std::unique_lock lock(mutex_);
      if (cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; })) {
        return false;
      }
    }
    outcome = step(false);
  }
  if (outcome == repair_outcome::waiting) {
    outcome = step(true);
  }
  return outcome == repair_outcome::consistent || outcome == repair_outcome::from_server_state ||
         outcome == repair_outcome::from_cold_store;
}

void write_behind::schedule_urgent(const std::string& room_id) {
  const auto now = clock::now();
  std::lock_guard lock(mutex_);
  auto [it, _] = dirty_.try_emplace(room_id, room_state{now, now, false});
  it->second.urgent = true;
  it->second.not_before = {};
  cv_.notify_one();
}

bool write_behind::drain() {
  bool all_ok = true;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::string> rooms;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return in_flight_.empty(); });
      for (const auto& [room_id, _] : dirty_) {
        rooms.push_back(room_id);
      }
      dirty_.clear();
      for (const auto& r : rooms) {
        in_flight_.insert(r);
      }
    }
    for (const auto& r : hot_.dirty_rooms()) {
      if (std::find(rooms.begin(), rooms.end(), r) == rooms.end()) {
        rooms.push_back(r);
        std::lock_guard lock(mutex_);
        in_flight_.insert(r);
      }
    }
    if (rooms.empty()) {
      break;
    }
    all_ok = true;
    for (const auto& r : rooms) {
      all_ok = flush_one(r) && all_ok;
      std::lock_guard lock(mutex_);
      in_flight_.erase(r);
    }
    cv_.notify_all();
  }
  return all_ok;
}

void write_behind::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
  threads_.clear();
}

}  // namespace fun_notes::server::persist

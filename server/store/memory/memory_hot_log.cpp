// The in-memory HotLog: per-room deques under one mutex and a serial delivery queue.
#include "store/memory/memory_hot_log.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <utility>

namespace fun_notes::store {

memory_hot_log::memory_hot_log(bus& bus, hot_log_options options) : bus_(bus), options_(options) {}

void memory_hot_log::do_append(append_request request, append_handler done) {
  std::unique_lock lock(mutex_);
  if (failing_) {
    lock.unlock();
    done(core::error{"unavailable", "hot log: appends are failing (test switch)"});
    return;
  }
  auto& room = rooms_[request.room_id];
  if (request.guard) {
    const auto it = room.field_seqs.find(request.guard->field_key);
    if (it != room.field_seqs.end() && it->second > request.guard->seen_seq) {
      const core::error stale = stale_error(request.guard->field_key, it->second);
      lock.unlock();
      done(stale);
      return;
    }
  }
  const std::int64_t seq = ++room.head_seq;
  for (const std::string& key : request.touched_fields) {
    room.field_seqs.insert_or_assign(key, seq);
  }
  std::string frame = std::move(request.frame_prefix);
  frame += std::to_string(seq);
  frame += request.frame_suffix;
  log_entry entry{seq, std::make_shared<const std::string>(std::move(frame))};
  room.entries.push_back(entry);
  deliveries_.push_back(delivery{room_channel(request.room_id),
                                 append_result{std::move(entry), room.persisted_seq},
                                 std::move(done)});
  deliver_pending(lock);
}

void memory_hot_log::deliver_pending(std::unique_lock<std::mutex>& lock) {
  // Only one thread delivers at a time and it takes deliveries in the order seqs were
  // assigned; a handler that appends again just queues behind the current delivery.
  if (delivering_) {
    return;
  }
  delivering_ = true;
  while (!deliveries_.empty()) {
    delivery next = std::move(deliveries_.front());
    deliveries_.pop_front();
    lock.unlock();
    // The op is logged: a throwing bus or handler must not stall the deliveries behind it.
    try {
      bus_.publish(next.channel, bus_message{next.result.entry.seq, next.result.entry.frame});
    } catch (const std::exception& e) {
      spdlog::error("hot log: publish on {} failed: {}", next.channel, e.what());
    }
    try {
      next.done(std::move(next.result));
    } catch (const std::exception& e) {
      spdlog::error("hot log: append handler threw: {}", e.what());
    }
    lock.lock();
  }
  delivering_ = false;
}

void memory_hot_log::touch_room(std::string_view) {}

void memory_hot_log::ensure_room(std::string_view room_id, std::int64_t cold_last_seq) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) {
    it = rooms_.emplace(std::string(room_id), room_log{}).first;
    it->second.head_seq = cold_last_seq;
    it->second.persisted_seq = cold_last_seq;
    return;
  }
  auto& room = it->second;
  if (room.head_seq < cold_last_seq) {
    // The ColdStore is ahead of the log (the log lost its state): never reuse a seq.
    room.head_seq = cold_last_seq;
    room.persisted_seq = std::max(room.persisted_seq, cold_last_seq);
  }
}

log_range memory_hot_log::read_after(std::string_view room_id, std::int64_t after_seq) {
  std::lock_guard lock(mutex_);
  log_range range;
  auto it = rooms_.find(room_id);
  if (it != rooms_.end()) {
    const auto& room = it->second;
    range.head_seq = room.head_seq;
    range.persisted_seq = room.persisted_seq;
    if (!room.entries.empty()) {
      // Seqs are consecutive, so the first wanted entry is found by arithmetic.
      const std::int64_t skip =
          std::clamp<std::int64_t>(after_seq + 1 - room.entries.front().seq, 0,
                                   static_cast<std::int64_t>(room.entries.size()));
      range.entries.assign(room.entries.begin() + skip, room.entries.end());
    }
  }
  range.complete = after_seq >= range.head_seq ||
                   (!range.entries.empty() && range.entries.front().seq <= after_seq + 1);
  return range;
}

void memory_hot_log::set_persisted(std::string_view room_id, std::int64_t seq) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) {
    it = rooms_.emplace(std::string(room_id), room_log{}).first;
  }
  auto& room = it->second;
  room.persisted_seq = std::max(room.persisted_seq, seq);
  // Ops up to `seq` are in the ColdStore, so numbering must never reuse them.
  room.head_seq = std::max(room.head_seq, room.persisted_seq);
  const std::int64_t trim_to = std::min(room.persisted_seq, room.head_seq - options_.keep_recent);
  while (!room.entries.empty() && room.entries.front().seq <= trim_to) {
    room.entries.pop_front();
  }
}

std::vector<std::string> memory_hot_log::dirty_rooms() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> result;
  for (const auto& [id, room] : rooms_) {
    if (room.head_seq > room.persisted_seq) {
      result.push_back(id);
    }
  }
  return result;
}

bool memory_hot_log::reset_room(std::string_view room_id, std::int64_t expected_head,
                                std::int64_t new_seq) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) {
    it = rooms_.emplace(std::string(room_id), room_log{}).first;
  }
  auto& room = it->second;
  if (room.head_seq != expected_head || new_seq <= expected_head) {
    return false;
  }
  room.entries.clear();
  room.head_seq = new_seq;
  room.persisted_seq = new_seq;
  return true;
}

void memory_hot_log::set_failing(bool failing) {
  std::lock_guard lock(mutex_);
  failing_ = failing;
}

}  // namespace fun_notes::store

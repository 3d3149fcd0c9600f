// Repair of a room whose op log lost ops the cold store never got.
#include "persist/repair.hpp"

#include <spdlog/spdlog.h>

#include <set>

#include "persist/lease_guard.hpp"

namespace fun_notes::server::persist {

log_gap::log_gap(const std::string& room_id, std::int64_t cold, std::int64_t head)
    : store::store_error("room " + room_id +
                         ": the op log does not continue the cold store (cold " + "store at seq " +
                         std::to_string(cold) + ", log head " + std::to_string(head) + ")"),
      cold_seq(cold),
      head_seq(head) {}

repair_outcome repair_room(store::cold_store& cold, store::hot_log& hot, const std::string& room_id,
                           const std::string& owner, std::chrono::milliseconds lease_ttl,
                           const repair_hooks& hooks, bool allow_cold_fallback) {
  if (!hot.try_lease(room_id, owner, lease_ttl)) {
    return repair_outcome::leased_elsewhere;
  }
  lease_guard guard(hot, room_id, owner);
  auto snap = cold.load_snapshot(room_id);
  if (!snap) {
    return repair_outcome::consistent;  // deleted: nothing to keep
  }
  const std::int64_t s = snap->meta.last_seq;
  const auto range = hot.read_after(room_id, s);
  if (range.complete) {
    return repair_outcome::consistent;
  }

  // A hub here holds every op of the room: its state is the truth. Written as a full
  // snapshot (notes it lacks deleted) guarded by the cold store's seq.
  if (hooks.local_state) {
    if (auto state = hooks.local_state(room_id); state && state->seq() > s) {
      store::flush_batch batch;
      batch.room_id = room_id;
      batch.expected_last_seq = s;
      batch.new_last_seq = state->seq();
      batch.upserts = state->sorted_notes();
      std::set<std::string> kept;
      for (const auto& n : batch.upserts) {
        kept.insert(n.id);
      }
      for (const auto& n : snap->notes) {
        if (kept.count(n.id) == 0) {
          batch.deletes.push_back(n.id);
        }
      }
      if (cold.apply_flush(batch) == store::flush_outcome::stale) {
        return repair_outcome::consistent;  // the cold store moved on: look again
      }
      hot.set_persisted(room_id, state->seq());
      spdlog::warn(
          "room {}: the op log lost ops after seq {} (log head {}); wrote this server's full "
          "state at seq {} to the cold store",
          room_id, s, range.head_seq, state->seq());
      if (hooks.repaired) {
        hooks.repaired(repair_outcome::from_server_state);
      }
      return repair_outcome::from_server_state;
    }
  }
  if (!allow_cold_fallback) {
    return repair_outcome::waiting;
  }

  // Nobody holds the lost ops. The room goes on from the cold store's state; the seqs up to
  // one past the log's head are skipped, so a client that saw any of the lost ops (its seq is
  // at most the old head) can never resume and gets a snapshot. The log goes first: a crash
  // before the cold store is updated leaves a gap that the next repair finds again.
  const std::int64_t new_seq = std::max(range.head_seq, s) + 1;
  if (!hot.reset_room(room_id, range.head_seq, new_seq)) {
    return repair_outcome::waiting;  // ops were appended meanwhile: look again
  }
  store::flush_batch batch;
  batch.room_id = room_id;
  batch.expected_last_seq = s;
  batch.new_last_seq = new_seq;
  if (cold.apply_flush(batch) == store::flush_outcome::stale) {
    return repair_outcome::consistent;
  }
  cold.record_gap(store::room_gap{room_id, s + 1, new_seq,
                                  "op log lost ops after seq " + std::to_string(s) + " (log head " +
                                      std::to_string(range.head_seq) + "); no server held the room",
                                  ""});
  spdlog::error(
      "room {}: the op log lost ops after seq {} (log head {}) and no server holds them; the "
      "room goes on from the cold store at seq {} (gap {}..{} recorded)",
      room_id, s, range.head_seq, new_seq, s + 1, new_seq);
  if (hooks.signal) {
    hooks.signal(room_id, repair_signal::reset);
  }
  if (hooks.repaired) {
    hooks.repaired(repair_outcome::from_cold_store);
  }
  return repair_outcome::from_cold_store;
}

}  // namespace fun_notes::server::persist

// Repair of a room whose op log and cold store disagree (the log lost ops the cold store
// never got, or the cold store was restored from an old backup).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "fun_notes/core/note.hpp"
#include "store/cold_store.hpp"
#include "store/hot_log.hpp"

namespace fun_notes::server::persist {

// Thrown by a flush that finds the log does not continue the cold store: the ops after
// `cold_seq` are not all in the log (its head is `head_seq`).
class log_gap : public store::store_error {
 public:
  log_gap(const std::string& room_id, std::int64_t cold_seq, std::int64_t head_seq);
  std::int64_t cold_seq;
  std::int64_t head_seq;
};

enum class repair_outcome {
  consistent,         // nothing to repair (any more)
  from_server_state,  // a hub's full state was written to the cold store as a snapshot
  from_cold_store,    // no server holds the room whole: it goes on from the cold store's state
  waiting,            // nothing done yet (a server holding the state may still answer)
  leased_elsewhere,   // another worker holds the room's flush lease
};

// What the fleet is told on the room's channel.
enum class repair_signal {
  needed,  // a server holding the room's full state should write it
  reset,   // the room went on from the cold store: reload it and send everyone a snapshot
};

struct repair_hooks {
  // The room's full state, when a hub on this server holds it.
  std::function<std::optional<core::room_state>(const std::string& room_id)> local_state;
  std::function<void(const std::string& room_id, repair_signal)> signal;
  // Called once per repair that changed something (for /metrics).
  std::function<void(repair_outcome)> repaired;
};

// One step of the repair, under the room's flush lease. With `allow_cold_fallback` false it
// only writes a state this server holds; with it, when no such state exists, the room's log is
// dropped, the seqs it lost are recorded as a gap, numbering goes on past them and every hub
// is told to reload (so clients get a snapshot, never a silent fork).
repair_outcome repair_room(store::cold_store& cold, store::hot_log& hot, const std::string& room_id,
                           const std::string& owner, std::chrono::milliseconds lease_ttl,
                           const repair_hooks& hooks, bool allow_cold_fallback);

}  // namespace fun_notes::server::persist

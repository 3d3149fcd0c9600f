// The catch-up read: snapshot at last_seq S, then every logged op with seq > S.
#include "rooms/room_loader.hpp"

#include <boost/json.hpp>
#include <string>

#include "fun_notes/core/codec.hpp"

namespace fun_notes::server::rooms {

core::result<core::applied_op> parse_op_frame(const std::string& frame, std::string* user) {
  auto v = core::parse_json(frame);
  if (!v || !v->is_object()) {
    return core::invalid("logged frame is not a JSON object");
  }
  const auto& obj = v->get_object();
  const auto* seq = obj.if_contains("seq");
  const auto* at = obj.if_contains("at");
  const auto* op = obj.if_contains("op");
  if (seq == nullptr || !seq->is_int64() || at == nullptr || !at->is_string() || op == nullptr) {
    return core::invalid("logged frame lacks seq, at or op");
  }
  if (user != nullptr) {
    const auto* u = obj.if_contains("user");
    *user = u != nullptr && u->is_string() ? std::string(u->as_string()) : std::string();
  }
  // Logged ops were validated on the way in; limits here only guard against a corrupt log.
  core::limits generous;
  generous.max_title_bytes = 1 << 30;
  generous.max_body_bytes = 1 << 30;
  generous.max_rebalance_entries = 1 << 30;
  auto parsed = core::parse_op(*op, generous);
  if (!parsed) {
    return parsed.err();
  }
  return core::applied_op{seq->as_int64(), std::string(at->as_string()), std::move(*parsed)};
}

std::optional<loaded_room> load_room(store::cold_store& cold, store::hot_log& hot,
                                     std::string_view room_id,
                                     const std::function<bool()>& repair) {
  bool repaired = false;
  for (int attempt = 0;; ++attempt) {
    auto snap = cold.load_snapshot(room_id);
    if (!snap) {
      return std::nullopt;
    }
    const std::int64_t s = snap->meta.last_seq;
    hot.ensure_room(room_id, s);
    // Read everything the log holds: the ops after S build the state, the older ones let
    // reconnecting clients resume without a snapshot.
    auto range = hot.read_after(room_id, 0);
    const bool covers =
        range.head_seq <= s || (!range.entries.empty() && range.entries.front().seq <= s + 1);
    if (!covers) {
      // A flush moved last_seq past S and trimmed the log between the two reads: read again.
      // Still so after a few reads, with no flush in between: the log lost ops.
      if (attempt >= 3 && !repaired && repair) {
        repaired = true;
        repair();
        attempt = 0;
        continue;
      }
      if (attempt >= 20) {
        throw store::store_error("room " + std::string(room_id) +
                                 ": hot log does not cover the snapshot");
      }
      continue;
    }
    loaded_room out;
    out.meta = snap->meta;
    out.state = core::room_state(s, std::move(snap->notes));
    for (auto& entry : range.entries) {
      if (entry.seq <= s) {
        out.recent.push_back(std::move(entry));
        continue;
      }
      auto op = parse_op_frame(*entry.frame);
      if (!op) {
        throw store::store_error("room " + std::string(room_id) + ": corrupt log entry " +
                                 std::to_string(entry.seq) + ": " + op.err().message);
      }
      out.state.apply(*op);
      out.recent.push_back(std::move(entry));
    }
    return out;
  }
}

}  // namespace fun_notes::server::rooms

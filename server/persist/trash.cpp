// A delete keeps the note it removes; a create of that id takes it out of the Trash again.
#include "persist/trash.hpp"

#include <algorithm>
#include <variant>

#include "fun_notes/core/codec.hpp"
#include "rooms/room_loader.hpp"

namespace fun_notes::server::persist {

void apply_recording_trash(core::room_state& state, const core::applied_op& op,
                           std::string_view user, trash_changes& changes) {
  if (const auto* del = std::get_if<core::delete_op>(&op.operation)) {
    if (const auto* n = state.find(del->id)) {
      changes.trashed.insert_or_assign(del->id,
                                       store::trashed_note{*n, op.at, std::string(user), op.seq});
    }
  } else if (const auto* create = std::get_if<core::create_op>(&op.operation)) {
    if (!state.contains(create->id)) {
      state.apply(op);
      if (state.contains(create->id)) {
        changes.trashed.erase(create->id);
        changes.untrashed.insert(create->id);
      }
      return;
    }
  }
  state.apply(op);
}

std::string trash_cutoff(std::chrono::system_clock::time_point now) {
  const auto cutoff = now - trash_retention;
  return core::format_time(
      std::chrono::duration_cast<std::chrono::milliseconds>(cutoff.time_since_epoch()).count());
}

void touched_ids(const core::op& o, std::set<std::string>& out) {
  std::visit(
      [&](const auto& op) {
        using T = std::decay_t<decltype(op)>;
        if constexpr (std::is_same_v<T, core::rebalance_op>) {
          for (const auto& [id, _] : op.indexes) {
            out.insert(id);
          }
        } else {
          out.insert(op.id);
        }
      },
      o);
}

std::vector<store::trashed_note> read_trash(store::cold_store& cold, store::hot_log& hot,
                                            const std::string& room_id, std::size_t limit) {
  const std::string since = trash_cutoff(std::chrono::system_clock::now());
  // Optimistic: a flush that lands between the reads moves last_seq on, and the reads repeat.
  for (int attempt = 0;; ++attempt) {
    const auto before = cold.find_room(room_id);
    if (!before) {
      return {};
    }
    const std::int64_t s = before->last_seq;
    auto range = hot.read_after(room_id, s);
    const bool continues =
        range.entries.empty() ? range.head_seq <= s : range.entries.front().seq == s + 1;
    std::vector<core::applied_op> ops;
    std::vector<std::string> users;
    std::set<std::string> ids;
    if (continues) {
      for (const auto& e : range.entries) {
        std::string user;
        auto op = rooms::parse_op_frame(*e.frame, &user);
        if (!op) {
          throw store::store_error("room " + room_id + ": corrupt log entry " +
                                   std::to_string(e.seq));
        }
        touched_ids(op->operation, ids);
        ops.push_back(std::move(*op));
        users.push_back(std::move(user));
      }
    }
    const std::vector<std::string> id_list(ids.begin(), ids.end());
    core::room_state partial(
        s, id_list.empty() ? std::vector<core::note>{} : cold.load_notes(room_id, id_list));
    trash_changes changes;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      apply_recording_trash(partial, ops[i], users[i], changes);
    }
    auto stored =
        cold.trash(room_id, since, limit + changes.untrashed.size() + changes.trashed.size());
    const auto after = cold.find_room(room_id);
    if (!after) {
      return {};
    }
    if ((after->last_seq != s || !continues) && attempt < 10) {
      continue;
    }
    // Out of attempts (a log that does not continue the cold store: a repair is due): what the
    // cold store holds.
    std::vector<store::trashed_note> out;
    for (auto& t : stored) {
      if (changes.untrashed.count(t.note.id) == 0 && changes.trashed.count(t.note.id) == 0) {
        out.push_back(std::move(t));
      }
    }
    for (auto& [_, t] : changes.trashed) {
      out.push_back(std::move(t));
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.deleted_seq > b.deleted_seq; });
    if (out.size() > limit) {
      out.resize(limit);
    }
    return out;
  }
}

}  // namespace fun_notes::server::persist

// The deterministic apply function: every replica (server, terminal client, and the web mirror
// in web/src/sync/) must reach byte-identical states from the same ops in seq order.
#include "fun_notes/core/note.hpp"

#include <algorithm>

namespace fun_notes::core {

namespace {

using note_map = std::unordered_map<std::string, note>;

// Every op that reaches an existing note stamps it, even when the values it sets are the ones
// the note already has: `seq` tells clients which op last touched the note.
void stamp(note& n, const applied_op& o) {
  n.seq = o.seq;
  n.updated_at = o.at;
}

bool apply_one(note_map& notes, const create_op& c, const applied_op& o) {
  if (notes.contains(c.id)) {
    return false;
  }
  note n{.id = c.id,
         .title = c.title,
         .body = c.body,
         .is_important = c.is_important,
         .is_completed = c.is_completed,
         .current_index = c.current_index,
         .seq = o.seq,
         .updated_at = o.at};
  notes.emplace(c.id, std::move(n));
  return true;
}

bool apply_one(note_map& notes, const update_op& u, const applied_op& o) {
  const auto it = notes.find(u.id);
  if (it == notes.end()) {
    return false;
  }
  note& n = it->second;
  if (u.title) {
    n.title = *u.title;
  }
  if (u.body) {
    n.body = *u.body;
  }
  if (u.is_important) {
    n.is_important = *u.is_important;
  }
  if (u.is_completed) {
    n.is_completed = *u.is_completed;
  }
  stamp(n, o);
  return true;
}

bool apply_one(note_map& notes, const move_op& m, const applied_op& o) {
  const auto it = notes.find(m.id);
  if (it == notes.end()) {
    return false;
  }
  it->second.current_index = m.current_index;
  stamp(it->second, o);
  return true;
}

bool apply_one(note_map& notes, const rebalance_op& r, const applied_op& o) {
  bool changed = false;
  for (const auto& [id, index] : r.indexes) {
    const auto it = notes.find(id);
    if (it == notes.end()) {
      continue;
    }
    it->second.current_index = index;
    stamp(it->second, o);
    changed = true;
  }
  return changed;
}

bool apply_one(note_map& notes, const delete_op& d, const applied_op&) {
  return notes.erase(d.id) > 0;
}

bool apply_one(note_map& notes, const text_edit_op& t, const applied_op& o) {
  const auto it = notes.find(t.id);
  if (it == notes.end()) {
    return false;
  }
  note& n = it->second;
  std::string& text = t.field == text_field::title ? n.title : n.body;
  // An op that does not span the current text cannot be placed: the server transforms every
  // text op against the ops numbered after its base before numbering it, so it never numbers
  // such an op. A replica that meets one anyway leaves the note alone (not even stamped), the
  // same way in every language, rather than guessing where the edit was meant to go.
  auto edited = apply_text_op(t.ops, text);
  if (!edited) {
    return false;
  }
  text = std::move(*edited);
  stamp(n, o);
  return true;
}

std::string_view kind_name(const create_op&) {
  return "create";
}
std::string_view kind_name(const update_op&) {
  return "update";
}
std::string_view kind_name(const move_op&) {
  return "move";
}
std::string_view kind_name(const rebalance_op&) {
  return "rebalance";
}
std::string_view kind_name(const delete_op&) {
  return "delete";
}
std::string_view kind_name(const text_edit_op&) {
  return "text";
}

}  // namespace

std::string_view field_name(text_field f) {
  return f == text_field::title ? "title" : "body";
}

std::string_view kind_of(const op& o) {
  return std::visit([](const auto& x) { return kind_name(x); }, o);
}

bool display_less(const note& a, const note& b) {
  if (a.current_index != b.current_index) {
    return a.current_index < b.current_index;
  }
  // Byte order; ids are ASCII, so this equals the UTF-16 order a JavaScript replica uses.
  return a.id < b.id;
}

room_state::room_state(std::int64_t seq, std::vector<note> notes) : seq_(seq) {
  notes_.reserve(notes.size());
  for (auto& n : notes) {
    std::string id = n.id;
    notes_.insert_or_assign(std::move(id), std::move(n));
  }
}

bool room_state::apply(const applied_op& o) {
  // No-op ops advance the seq too: they were numbered and broadcast like any other.
  seq_ = o.seq;
  return std::visit([&](const auto& x) { return apply_one(notes_, x, o); }, o.operation);
}

bool room_state::contains(std::string_view id) const {
  return find(id) != nullptr;
}

const note* room_state::find(std::string_view id) const {
  // The map is keyed by std::string without a transparent hash, so build the key once here.
  const auto it = notes_.find(std::string{id});
  return it == notes_.end() ? nullptr : &it->second;
}

std::vector<note> room_state::sorted_notes() const {
  std::vector<note> out;
  out.reserve(notes_.size());
  for (const auto& [id, n] : notes_) {
    out.push_back(n);
  }
  std::sort(out.begin(), out.end(), display_less);
  return out;
}

}  // namespace fun_notes::core

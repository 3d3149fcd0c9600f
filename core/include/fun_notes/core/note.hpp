// The note model, the op model and the deterministic apply function shared by every replica.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "fun_notes/core/text_op.hpp"

namespace fun_notes::core {

struct note {
  std::string id;
  std::string title;
  std::string body;
  bool is_important = false;
  bool is_completed = false;
  double current_index = 0.0;
  std::int64_t seq = 0;    // room seq of the last op aimed at this note
  std::string updated_at;  // RFC 3339 UTC time of that op

  bool operator==(const note&) const = default;
};

// The fields a client sends for a new note (no seq / updated_at: the server assigns them).
struct create_op {
  std::string id;
  std::string title;
  std::string body;
  bool is_important = false;
  bool is_completed = false;
  double current_index = 0.0;
  bool operator==(const create_op&) const = default;
};

struct update_op {
  std::string id;
  std::optional<std::string> title;
  std::optional<std::string> body;
  std::optional<bool> is_important;
  std::optional<bool> is_completed;
  bool operator==(const update_op&) const = default;
};

struct move_op {
  std::string id;
  double current_index = 0.0;
  bool operator==(const move_op&) const = default;
};

struct rebalance_op {
  // Kept in the order the client sent them; ids are unique (the codec rejects duplicates).
  std::vector<std::pair<std::string, double>> indexes;
  bool operator==(const rebalance_op&) const = default;
};

struct delete_op {
  std::string id;
  bool operator==(const delete_op&) const = default;
};

// The note field a text op edits.
enum class text_field : std::uint8_t { title, body };

std::string_view field_name(text_field f);

// A character-level edit of one field (PROTOCOL.md "Text ops (OT)"): `ops` spans the field's
// text as the client saw it at room seq `base`.
struct text_edit_op {
  std::string id;
  text_field field = text_field::body;
  std::int64_t base = 0;
  text_op ops{};
  bool operator==(const text_edit_op&) const = default;
};

using op = std::variant<create_op, update_op, move_op, rebalance_op, delete_op, text_edit_op>;

// The op's "kind" string as on the wire.
std::string_view kind_of(const op& o);

// An op as the server numbered it: what every replica applies, in seq order.
struct applied_op {
  std::int64_t seq = 0;
  std::string at;  // RFC 3339 UTC
  op operation;
};

// Notes sorted for display: by (current_index, id).
bool display_less(const note& a, const note& b);

// The materialized state of one room at `seq`.
class room_state {
 public:
  room_state() = default;
  room_state(std::int64_t seq, std::vector<note> notes);

  // Applies `o` with the PROTOCOL.md rules: create on an existing id, update/move on a missing
  // id, delete of a missing id are no-ops; rebalance skips missing ids. A text op whose ops do
  // not span the field's current text is a no-op too (the server transforms every text op
  // before numbering it, so it never numbers one; a replica that meets one anyway must not
  // diverge by guessing). Every op advances seq().
  // Returns true when the op changed a note.
  bool apply(const applied_op& o);

  std::int64_t seq() const { return seq_; }
  std::size_t size() const { return notes_.size(); }
  bool contains(std::string_view id) const;
  const note* find(std::string_view id) const;

  // All notes sorted by (current_index, id).
  std::vector<note> sorted_notes() const;

 private:
  std::int64_t seq_ = 0;
  std::unordered_map<std::string, note> notes_;
};

}  // namespace fun_notes::core

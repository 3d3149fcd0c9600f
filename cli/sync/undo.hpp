// Undo and redo of this client's own changes in a room. Text steps are kept as ops on the text
// the view shows now: every later change of the field (others' edits and this user's own)
// rebases them, so undoing an edit removes only what this user typed and brings back only what
// they removed. Consecutive typing is one step until a pause of more than a second or a caret
// jump. Pure; the caller applies a step through the replica and records its opposite.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "fun_notes/core/note.hpp"
#include "fun_notes/core/text_op.hpp"

namespace fun_notes::cli::sync {

// Typing that pauses for longer than this starts a new undo step.
inline constexpr std::int64_t undo_group_ms = 1000;

struct undo_step {
  enum class kind {
    text,     // apply `op` to the field's text as the view shows it now
    flags,    // set the flags that are given
    move,     // move the note to position `to` of the view's order
    restore,  // bring `note` back as it was
    remove,   // delete the note again (the redo of a restore)
  };
  kind type = kind::text;
  std::string note_id;
  // text
  core::text_field field = core::text_field::body;
  core::text_op op;
  std::size_t start = 0;  // where the step's edit begins and ends in that text
  std::size_t end = 0;
  std::int64_t at = 0;  // when it was last extended (ms); INT64_MIN: sealed
  // flags
  std::optional<bool> is_important;
  std::optional<bool> is_completed;
  // move
  std::size_t to = 0;
  // restore
  core::note note;
};

class undo_history {
 public:
  // The user's own edit `op` of a field whose text was `before`, at `now_ms`.
  void record_text(std::string_view note_id, core::text_field field, const core::text_op& op,
                   std::string_view before, std::int64_t now_ms);
  // A change of the field that is not a step here (others' edits, an undo applied): every text
  // step of the field, undo and redo, is rebased over it.
  void transform(std::string_view note_id, core::text_field field, const core::text_op& change);
  // The next edit starts a new step (the editor closed or the caret left the field).
  void seal();
  // A change that is not text (a toggle, a move, a delete); clears the redo steps.
  void record(undo_step step);

  bool can_undo() const { return !undo_.empty(); }
  bool can_redo() const { return !redo_.empty(); }
  std::optional<undo_step> pop_undo();
  std::optional<undo_step> pop_redo();
  // The opposite of a step just applied, onto the other stack (the redo stays).
  void push_undo(undo_step step) { push(undo_, std::move(step)); }
  void push_redo(undo_step step) { push(redo_, std::move(step)); }

  const std::deque<undo_step>& undo_steps() const { return undo_; }
  const std::deque<undo_step>& redo_steps() const { return redo_; }

 private:
  static void push(std::deque<undo_step>& stack, undo_step step);
  static void move_step(undo_step& step, std::string_view note_id, core::text_field field,
                        const core::text_op& change);

  std::deque<undo_step> undo_;
  std::deque<undo_step> redo_;
};

}  // namespace fun_notes::cli::sync

#include "sync/undo.hpp"

#include <algorithm>
#include <limits>

namespace fun_notes::cli::sync {

namespace {

constexpr std::size_t max_steps = 200;
constexpr std::int64_t sealed = std::numeric_limits<std::int64_t>::min();

// Where an op's changes begin (in its base text) and end (in its base and target text).
struct span_of {
  std::size_t start = 0;
  std::size_t base_end = 0;
  std::size_t target_end = 0;
};

span_of span(const core::text_op& op) {
  const auto& c = op.components();
  using k = core::text_component::kind;
  const std::size_t lead = !c.empty() && c.front().type == k::retain ? c.front().count : 0;
  const std::size_t trail = c.size() > 1 && c.back().type == k::retain ? c.back().count : 0;
  return {lead, op.base_length() - trail, op.target_length() - trail};
}

}  // namespace

void undo_history::record_text(std::string_view note_id, core::text_field field,
                               const core::text_op& op, std::string_view before,
                               std::int64_t now_ms) {
  auto inverse = core::invert(op, before);
  if (!inverse || op.is_noop()) {
    return;
  }
  redo_.clear();
  undo_step* top = undo_.empty() ? nullptr : &undo_.back();
  const span_of s = span(op);
  // Typing on where the step ended, or deleting backwards from where it began.
  const bool continues =
      top != nullptr && top->type == undo_step::kind::text && top->note_id == note_id &&
      top->field == field && top->at != sealed && now_ms - top->at <= undo_group_ms &&
      (s.start == top->end || (s.target_end == s.start && s.base_end == top->start));
  // Every older step of the field moves over the edit (the top one too, unless it absorbs it).
  for (undo_step& step : undo_) {
    if (continues && &step == top) {
      continue;
    }
    move_step(step, note_id, field, op);
  }
  if (continues) {
    if (auto merged = core::compose(*inverse, top->op)) {
      top->op = std::move(*merged);
      top->start = std::min(core::transform_index(op, top->start, false), s.start);
      top->end = s.target_end;
      top->at = now_ms;
      return;
    }
  }
  undo_step step;
  step.type = undo_step::kind::text;
  step.note_id = std::string(note_id);
  step.field = field;
  step.op = std::move(*inverse);
  step.start = s.start;
  step.end = s.target_end;
  step.at = now_ms;
  push(undo_, std::move(step));
}

void undo_history::transform(std::string_view note_id, core::text_field field,
                             const core::text_op& change) {
  for (undo_step& step : undo_) {
    move_step(step, note_id, field, change);
  }
  for (undo_step& step : redo_) {
    move_step(step, note_id, field, change);
  }
}

void undo_history::seal() {
  if (!undo_.empty() && undo_.back().type == undo_step::kind::text) {
    undo_.back().at = sealed;
  }
}

void undo_history::record(undo_step step) {
  redo_.clear();
  push(undo_, std::move(step));
}

std::optional<undo_step> undo_history::pop_undo() {
  if (undo_.empty()) {
    return std::nullopt;
  }
  undo_step s = std::move(undo_.back());
  undo_.pop_back();
  return s;
}

std::optional<undo_step> undo_history::pop_redo() {
  if (redo_.empty()) {
    return std::nullopt;
  }
  undo_step s = std::move(redo_.back());
  redo_.pop_back();
  return s;
}

void undo_history::push(std::deque<undo_step>& stack, undo_step step) {
  stack.push_back(std::move(step));
  if (stack.size() > max_steps) {
    stack.pop_front();
  }
}

void undo_history::move_step(undo_step& step, std::string_view note_id, core::text_field field,
                             const core::text_op& change) {
  if (step.type != undo_step::kind::text || step.note_id != note_id || step.field != field) {
    return;
  }
  // The step is not numbered yet: the change's inserts go first on a tie.
  auto moved = core::transform(step.op, change, false);
  if (!moved) {
    return;
  }
  step.op = std::move(moved->first);
  step.start = core::transform_index(change, step.start, false);
  step.end = core::transform_index(change, step.end, false);
}

}  // namespace fun_notes::cli::sync

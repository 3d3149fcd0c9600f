// The TUI's update: (model, msg) -> (model, commands). Pure: no I/O, no clock, no randomness but
// the model's id source, so every behaviour is unit-tested by feeding messages.
#pragma once

#include <utility>
#include <vector>

#include "tui/command.hpp"
#include "tui/model.hpp"
#include "tui/msg.hpp"

namespace fun_notes::cli::tui {

std::pair<model, std::vector<command>> update(model&& m, const msg& message);

// The notes the room screen lists, in order: the view, or its matches while a filter is set.
std::size_t shown_count(const model& m);
const core::note& shown_note(const model& m, std::size_t row);

// Rows the room screen gives to the note list at the model's size (the view uses the same).
int list_rows(const model& m);
int dashboard_rows(const model& m);
// Columns the editor wraps the body at.
int editor_body_width(const model& m);

}  // namespace fun_notes::cli::tui

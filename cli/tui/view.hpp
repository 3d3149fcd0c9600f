// The TUI's view: the model drawn into a screen grid. Pure, so golden tests compare its text;
// it touches only the rows on screen, so a room of 10,000 notes draws as fast as one of 20.
#pragma once

#include "tui/model.hpp"
#include "tui/screen.hpp"

namespace fun_notes::cli::tui {

screen view(const model& m);

}  // namespace fun_notes::cli::tui

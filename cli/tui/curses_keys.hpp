// Key presses as curses reports them (wget_wch) decoded into the TUI's keys. Kept apart from
// the runtime so it is unit-tested without a terminal.
#pragma once

#include <cstdint>
#include <optional>

#include "tui/key.hpp"

namespace fun_notes::cli::tui {

// Shift+Up/Down have no fixed curses code: the runtime finds them in terminfo (kUP / kDN) or
// defines them for the xterm sequences, and passes the codes here.
struct shifted_arrows {
  int shift_up = 0;
  int shift_down = 0;
};

// `status` is wget_wch's result (OK or KEY_CODE_YES), `ch` what it stored. nullopt: a key the
// TUI has no use for (function keys, mouse, ...).
std::optional<key> decode_curses_key(int status, std::uint32_t ch, const shifted_arrows& codes);

}  // namespace fun_notes::cli::tui

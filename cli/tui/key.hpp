// A key press as the TUI's update sees it, decoded from ncurses by the runtime.
#pragma once

namespace fun_notes::cli::tui {

enum class key_code {
  character,  // `ch` holds the code point
  ctrl,       // Ctrl + a letter; `ch` holds the lower-case letter
  enter,
  escape,
  backspace,
  del,
  tab,
  backtab,
  up,
  down,
  left,
  right,
  shift_up,
  shift_down,
  home,
  end,
  page_up,
  page_down,
};

struct key {
  key_code code = key_code::character;
  char32_t ch = 0;

  static key chr(char32_t c) { return key{key_code::character, c}; }
  static key ctrl(char c) { return key{key_code::ctrl, static_cast<char32_t>(c)}; }
  static key of(key_code c) { return key{c, 0}; }
  bool is_char(char32_t c) const { return code == key_code::character && ch == c; }
  bool operator==(const key&) const = default;
};

}  // namespace fun_notes::cli::tui

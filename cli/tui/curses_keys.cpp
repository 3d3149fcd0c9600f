#include "tui/curses_keys.hpp"

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <ncursesw/curses.h>

namespace fun_notes::cli::tui {

std::optional<key> decode_curses_key(int status, std::uint32_t ch, const shifted_arrows& codes) {
  if (status == KEY_CODE_YES) {
    const int code = static_cast<int>(ch);
    if (code == codes.shift_up || code == KEY_SR) {
      return key::of(key_code::shift_up);
    }
    if (code == codes.shift_down || code == KEY_SF) {
      return key::of(key_code::shift_down);
    }
    switch (code) {
      case KEY_UP:
        return key::of(key_code::up);
      case KEY_DOWN:
        return key::of(key_code::down);
      case KEY_LEFT:
        return key::of(key_code::left);
      case KEY_RIGHT:
        return key::of(key_code::right);
      case KEY_HOME:
        return key::of(key_code::home);
      case KEY_END:
        return key::of(key_code::end);
      case KEY_PPAGE:
        return key::of(key_code::page_up);
      case KEY_NPAGE:
        return key::of(key_code::page_down);
      case KEY_BACKSPACE:
        return key::of(key_code::backspace);
      case KEY_DC:
        return key::of(key_code::del);
      case KEY_ENTER:
        return key::of(key_code::enter);
      case KEY_BTAB:
        return key::of(key_code::backtab);
      default:
        return std::nullopt;
    }
  }
  const auto c = static_cast<char32_t>(ch);
  switch (c) {
    case 27:
      return key::of(key_code::escape);
    case U'\n':
    case U'\r':
      return key::of(key_code::enter);
    case U'\t':
      return key::of(key_code::tab);
    case 127:
    case 8:
      return key::of(key_code::backspace);
    default:
      break;
  }
  if (c >= 1 && c <= 26) {
    return key::ctrl(static_cast<char>('a' + (c - 1)));
  }
  if (c < 0x20) {
    return std::nullopt;
  }
  return key::chr(c);
}

}  // namespace fun_notes::cli::tui

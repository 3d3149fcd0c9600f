// Curses key codes to the TUI's keys: what each key on the keyboard does depends on this.
#include <gtest/gtest.h>

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <ncursesw/curses.h>

#include "tui/curses_keys.hpp"

namespace fun_notes::cli::tui {
namespace {

const shifted_arrows codes{600, 601};

std::optional<key> function_key(int code) {
  return decode_curses_key(KEY_CODE_YES, static_cast<std::uint32_t>(code), codes);
}
std::optional<key> character(std::uint32_t ch) {
  return decode_curses_key(OK, ch, codes);
}

TEST(TuiKeys, ShiftedArrowsFromTerminfoAndScrollKeys) {
  EXPECT_EQ(function_key(600), key::of(key_code::shift_up));
  EXPECT_EQ(function_key(601), key::of(key_code::shift_down));
  // Terminals without kUP / kDN report Shift+Up/Down as scroll reverse / forward.
  EXPECT_EQ(function_key(KEY_SR), key::of(key_code::shift_up));
  EXPECT_EQ(function_key(KEY_SF), key::of(key_code::shift_down));
}

TEST(TuiKeys, NavigationAndEditingKeys) {
  EXPECT_EQ(function_key(KEY_UP), key::of(key_code::up));
  EXPECT_EQ(function_key(KEY_NPAGE), key::of(key_code::page_down));
  EXPECT_EQ(function_key(KEY_BACKSPACE), key::of(key_code::backspace));
  EXPECT_EQ(function_key(KEY_DC), key::of(key_code::del));
  EXPECT_EQ(function_key(KEY_BTAB), key::of(key_code::backtab));
  EXPECT_EQ(function_key(KEY_F(5)), std::nullopt);
}

TEST(TuiKeys, ControlCharacters) {
  EXPECT_EQ(character(27), key::of(key_code::escape));
  EXPECT_EQ(character('\r'), key::of(key_code::enter));  // raw mode with nonl: Enter is CR
  EXPECT_EQ(character('\n'), key::of(key_code::enter));
  EXPECT_EQ(character('\t'), key::of(key_code::tab));
  EXPECT_EQ(character(127), key::of(key_code::backspace));
  EXPECT_EQ(character(19), key::ctrl('s'));
  EXPECT_EQ(character(3), key::ctrl('c'));
}

TEST(TuiKeys, TextIsCodePoints) {
  EXPECT_EQ(character('K'), key::chr(U'K'));
  EXPECT_EQ(character(0x65E5), key::chr(U'日'));
  EXPECT_EQ(character(0x1F389), key::chr(U'🎉'));
}

}  // namespace
}  // namespace fun_notes::cli::tui

// A terminal screen as a value: a grid of cells, each one grapheme of UTF-8 text and a style.
// The view draws into it (pure, compared against golden files as text); the runtime copies it
// to ncurses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fun_notes::cli::tui {

// Colour roles, not colours: the runtime maps each to an ncurses colour pair, and a monochrome
// view never uses them.
enum class color : std::uint8_t {
  none,
  accent,     // titles, headings, key hints
  selection,  // the selected row's bar
  important,  // the ! mark
  completed,  // the ✓ mark and a done note's title
  muted,      // secondary text: previews, counts
  live,
  connecting,
  offline,
  error,
};
const char* color_name(color c);

enum attr : std::uint8_t {
  attr_none = 0,
  attr_bold = 1,
  attr_reverse = 2,
  attr_dim = 4,
  attr_underline = 8,
};

struct style {
  std::uint8_t attrs = attr_none;
  color fg = color::none;
  bool operator==(const style&) const = default;
};

struct cell {
  std::string text = " ";  // one grapheme: a code point and any zero-width marks after it
  style st;
  bool continuation = false;  // the right half of a wide character (text empty)
  bool operator==(const cell&) const = default;
};

class screen {
 public:
  screen(int width, int height);

  int width() const { return width_; }
  int height() const { return height_; }
  const cell& at(int row, int col) const { return cells_[index(row, col)]; }

  // Writes `utf8` from (row, col), never past `max_col` (exclusive; -1: the width). Control
  // characters show as "·", a tab as a space. Returns the column after the text.
  int put(int row, int col, std::string_view utf8, style st = {}, int max_col = -1);
  // Blanks `count` cells with style `st` (a bar, a cleared line).
  void fill(int row, int col, int count, style st);
  // Restyles cells keeping their text (the selection bar over a drawn row).
  void restyle(int row, int col, int count, style st);

  // Where the terminal cursor goes (the editor's caret); none: hidden.
  std::optional<std::pair<int, int>> cursor;

  std::string row_text(int row) const;
  // The whole grid as text, one line per row; then, for the goldens, the style of each cell as
  // a letter and a legend of the letters.
  std::string text() const;
  std::string style_map() const;

 private:
  std::size_t index(int row, int col) const {
    return static_cast<std::size_t>(row) * static_cast<std::size_t>(width_) +
           static_cast<std::size_t>(col);
  }

  int width_;
  int height_;
  std::vector<cell> cells_;
};

}  // namespace fun_notes::cli::tui

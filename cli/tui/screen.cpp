#include "tui/screen.hpp"

#include <algorithm>

#include "tui/text.hpp"

namespace fun_notes::cli::tui {

const char* color_name(color c) {
  switch (c) {
    case color::none:
      return "none";
    case color::accent:
      return "accent";
    case color::selection:
      return "selection";
    case color::important:
      return "important";
    case color::completed:
      return "completed";
    case color::muted:
      return "muted";
    case color::live:
      return "live";
    case color::connecting:
      return "connecting";
    case color::offline:
      return "offline";
    case color::error:
      return "error";
  }
  return "?";
}

screen::screen(int width, int height)
    : width_(std::max(width, 1)),
      height_(std::max(height, 1)),
      cells_(static_cast<std::size_t>(width_) * static_cast<std::size_t>(height_)) {}

int screen::put(int row, int col, std::string_view utf8, style st, int max_col) {
  if (row < 0 || row >= height_) {
    return col;
  }
  const int limit = max_col < 0 ? width_ : std::min(max_col, width_);
  for (char32_t cp : utf8_decode(utf8)) {
    if (cp == U'\t') {
      cp = U' ';
    } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
      cp = U'·';
    }
    const int w = display_width(cp);
    if (w == 0) {
      // A combining mark belongs to the grapheme before it.
      if (col > 0 && col <= limit) {
        int lead = col - 1;
        while (lead > 0 && cells_[index(row, lead)].continuation) {
          --lead;
        }
        utf8_append(cells_[index(row, lead)].text, cp);
      }
      continue;
    }
    if (col < 0) {
      col += w;
      continue;
    }
    if (col + w > limit) {
      // A wide character that does not fit leaves a blank rather than half a glyph.
      if (col < limit) {
        cells_[index(row, col)] = cell{" ", st, false};
        ++col;
      }
      break;
    }
    // Overwriting half of a wide character blanks its other half.
    if (cells_[index(row, col)].continuation && col > 0) {
      cells_[index(row, col - 1)] = cell{" ", cells_[index(row, col - 1)].st, false};
    }
    if (col + w < width_ && cells_[index(row, col + w)].continuation) {
      cells_[index(row, col + w)] = cell{" ", cells_[index(row, col + w)].st, false};
    }
    cell& c = cells_[index(row, col)];
    c.text.clear();
    utf8_append(c.text, cp);
    c.st = st;
    c.continuation = false;
    if (w == 2) {
      cells_[index(row, col + 1)] = cell{"", st, true};
    }
    col += w;
  }
  return col;
}

void screen::fill(int row, int col, int count, style st) {
  if (row < 0 || row >= height_) {
    return;
  }
  for (int c = std::max(col, 0); c < std::min(col + count, width_); ++c) {
    cells_[index(row, c)] = cell{" ", st, false};
  }
}

void screen::restyle(int row, int col, int count, style st) {
  if (row < 0 || row >= height_) {
    return;
  }
  for (int c = std::max(col, 0); c < std::min(col + count, width_); ++c) {
    cells_[index(row, c)].st = st;
  }
}

std::string screen::row_text(int row) const {
  std::string out;
  for (int c = 0; c < width_; ++c) {
    const cell& x = cells_[index(row, c)];
    if (!x.continuation) {
      out += x.text;
    }
  }
  return out;
}

std::string screen::text() const {
  std::string out;
  for (int r = 0; r < height_; ++r) {
    // The bar keeps trailing blanks visible in the golden files (editors strip them).
    out += row_text(r);
    out += "|\n";
  }
  return out;
}

std::string screen::style_map() const {
  std::vector<style> seen;
  std::string out;
  for (int r = 0; r < height_; ++r) {
    for (int c = 0; c < width_; ++c) {
      const style st = cells_[index(r, c)].st;
      if (st == style{}) {
        out += '.';
        continue;
      }
      auto it = std::find(seen.begin(), seen.end(), st);
      if (it == seen.end()) {
        seen.push_back(st);
        it = seen.end() - 1;
      }
      const auto n = static_cast<std::size_t>(it - seen.begin());
      // 52 letters are far more styles than one screen uses; past them a '#' still marks it.
      out += n < 26 ? static_cast<char>('a' + n) : n < 52 ? static_cast<char>('A' + n - 26) : '#';
    }
    out += '\n';
  }
  for (std::size_t n = 0; n < seen.size(); ++n) {
    out += n < 26 ? static_cast<char>('a' + n) : static_cast<char>('A' + n - 26);
    out += ':';
    const style st = seen[n];
    if (st.attrs & attr_bold) {
      out += " bold";
    }
    if (st.attrs & attr_reverse) {
      out += " reverse";
    }
    if (st.attrs & attr_dim) {
      out += " dim";
    }
    if (st.attrs & attr_underline) {
      out += " underline";
    }
    if (st.fg != color::none) {
      out += " ";
      out += color_name(st.fg);
    }
    out += '\n';
  }
  if (cursor) {
    out += "cursor: " + std::to_string(cursor->first) + "," + std::to_string(cursor->second) + "\n";
  }
  return out;
}

}  // namespace fun_notes::cli::tui

#include "tui/editor.hpp"

#include <algorithm>

#include "tui/text.hpp"

namespace fun_notes::cli::tui {

std::vector<visual_line> wrap_lines(std::u32string_view text, int width) {
  width = std::max(width, 1);
  std::vector<visual_line> lines;
  std::size_t start = 0;
  std::size_t last_space = std::u32string_view::npos;  // in the current line
  int col = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (c == U'\n') {
      lines.push_back({start, i});
      start = i + 1;
      col = 0;
      last_space = std::u32string_view::npos;
      continue;
    }
    const int w = display_width(c);
    if (col + w > width && i > start) {
      if (last_space != std::u32string_view::npos) {
        lines.push_back({start, last_space + 1});
        start = last_space + 1;
        col = display_width(text.substr(start, i - start));
      } else {
        lines.push_back({start, i});
        start = i;
        col = 0;
      }
      last_space = std::u32string_view::npos;
      if (col + w > width && i > start) {
        lines.push_back({start, i});
        start = i;
        col = 0;
      }
    }
    if (c == U' ') {
      last_space = i;
    }
    col += w;
  }
  lines.push_back({start, text.size()});
  return lines;
}

std::size_t caret_line(const std::vector<visual_line>& lines, std::size_t pos) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const bool wrapped_here = i + 1 < lines.size() && lines[i + 1].start == lines[i].end;
    if (pos >= lines[i].start && (pos < lines[i].end || (pos == lines[i].end && !wrapped_here))) {
      return i;
    }
  }
  return lines.empty() ? 0 : lines.size() - 1;
}

text_field::text_field(std::string_view utf8, bool multiline)
    : text_(utf8_decode(utf8)), cursor_(0), multiline_(multiline) {
  if (!multiline_) {
    // A title from the wire may hold line breaks; the field shows and edits one line.
    for (char32_t& cp : text_) {
      if (cp == U'\n' || cp == U'\r') {
        cp = U' ';
      }
    }
  }
  cursor_ = text_.size();
}

std::string text_field::text() const {
  return utf8_encode(text_);
}

void text_field::insert(char32_t cp) {
  if (cp == U'\r') {
    cp = U'\n';
  }
  if (cp == U'\n' && !multiline_) {
    return;
  }
  text_.insert(text_.begin() + static_cast<std::ptrdiff_t>(cursor_), cp);
  ++cursor_;
  goal_column_ = -1;
}

void text_field::insert(std::u32string_view text) {
  for (char32_t cp : text) {
    insert(cp);
  }
}

bool text_field::backspace() {
  goal_column_ = -1;
  if (cursor_ == 0) {
    return false;
  }
  --cursor_;
  text_.erase(cursor_, 1);
  return true;
}

bool text_field::erase_forward() {
  goal_column_ = -1;
  if (cursor_ >= text_.size()) {
    return false;
  }
  text_.erase(cursor_, 1);
  return true;
}

void text_field::left() {
  goal_column_ = -1;
  if (cursor_ > 0) {
    --cursor_;
  }
}

void text_field::right() {
  goal_column_ = -1;
  if (cursor_ < text_.size()) {
    ++cursor_;
  }
}

std::size_t text_field::line_start(std::size_t pos) const {
  while (pos > 0 && text_[pos - 1] != U'\n') {
    --pos;
  }
  return pos;
}

std::size_t text_field::line_end(std::size_t pos) const {
  while (pos < text_.size() && text_[pos] != U'\n') {
    ++pos;
  }
  return pos;
}

int text_field::column_of(std::size_t pos) const {
  const std::size_t start = line_start(pos);
  return display_width(std::u32string_view(text_).substr(start, pos - start));
}

std::size_t text_field::at_column(std::size_t start, int column) const {
  // The last position on the line whose column does not pass `column`: a wide character the
  // goal falls inside puts the cursor before it.
  std::size_t pos = start;
  int col = 0;
  while (pos < text_.size() && text_[pos] != U'\n') {
    const int w = display_width(text_[pos]);
    if (col + w > column) {
      break;
    }
    col += w;
    ++pos;
  }
  return pos;
}

bool text_field::up() {
  const std::size_t start = line_start(cursor_);
  if (start == 0) {
    return false;
  }
  if (goal_column_ < 0) {
    goal_column_ = column_of(cursor_);
  }
  cursor_ = at_column(line_start(start - 1), goal_column_);
  return true;
}

bool text_field::down() {
  const std::size_t end = line_end(cursor_);
  if (end >= text_.size()) {
    return false;
  }
  if (goal_column_ < 0) {
    goal_column_ = column_of(cursor_);
  }
  cursor_ = at_column(end + 1, goal_column_);
  return true;
}

bool text_field::move_visual(int delta, int width) {
  if (width <= 0) {
    return delta < 0 ? up() : down();
  }
  const std::vector<visual_line> lines = wrap_lines(text_, width);
  const std::size_t at = caret_line(lines, cursor_);
  if ((delta < 0 && at == 0) || (delta > 0 && at + 1 >= lines.size())) {
    return false;
  }
  if (goal_column_ < 0) {
    goal_column_ = display_width(
        std::u32string_view(text_).substr(lines[at].start, cursor_ - lines[at].start));
  }
  const visual_line& target = lines[delta < 0 ? at - 1 : at + 1];
  std::size_t pos = target.start;
  int col = 0;
  while (pos < target.end) {
    const int w = display_width(text_[pos]);
    if (col + w > goal_column_) {
      break;
    }
    col += w;
    ++pos;
  }
  // The end of a wrapped line is the start of the next one on screen: stay on this line.
  const bool wrapped = pos < text_.size() && text_[pos] != U'\n';
  if (pos == target.end && pos > target.start && wrapped) {
    --pos;
  }
  cursor_ = pos;
  return true;
}

void text_field::home() {
  goal_column_ = -1;
  cursor_ = line_start(cursor_);
}

void text_field::reset(std::string_view utf8, std::size_t cursor) {
  text_ = utf8_decode(utf8);
  if (!multiline_) {
    // As in the constructor: one line, and the same code point count as the note's text.
    std::replace(text_.begin(), text_.end(), U'\n', U' ');
    std::replace(text_.begin(), text_.end(), U'\r', U' ');
  }
  cursor_ = std::min(cursor, text_.size());
  goal_column_ = -1;
}

void text_field::end() {
  goal_column_ = -1;
  cursor_ = line_end(cursor_);
}

std::pair<std::size_t, int> text_field::cursor_line_col() const {
  std::size_t line = 0;
  for (std::size_t i = 0; i < cursor_; ++i) {
    if (text_[i] == U'\n') {
      ++line;
    }
  }
  return {line, column_of(cursor_)};
}

note_editor::note_editor(std::string note_id, bool is_new, std::string_view title,
                         std::string_view body)
    : note_id_(std::move(note_id)),
      is_new_(is_new),
      title_(title, false),
      body_(body, true),
      saved_title_(title_.text()),
      saved_body_(body_.text()) {}

void note_editor::mark_saved() {
  saved_title_ = title_.text();
  saved_body_ = body_.text();
  is_new_ = false;
}

editor_action note_editor::handle(const key& k, int body_width) {
  text_field& field = focused();
  switch (k.code) {
    case key_code::character:
      field.insert(k.ch);
      return editor_action::none;
    case key_code::ctrl:
      switch (k.ch) {
        case U's':
          return editor_action::save;
        case U'x':
          return editor_action::close;
        case U'z':
          return editor_action::undo;
        case U'r':
        case U'y':
          return editor_action::redo;
        case U'a':
          field.home();
          return editor_action::none;
        case U'e':
          field.end();
          return editor_action::none;
        default:
          return editor_action::none;
      }
    case key_code::escape:
      return editor_action::close;
    case key_code::enter:
      if (focus_ == editor_field::title) {
        // Enter ends the title line, as in a form: go on writing the body.
        focus_ = editor_field::body;
      } else {
        field.insert(U'\n');
      }
      return editor_action::none;
    case key_code::tab:
    case key_code::backtab:
      focus_ = focus_ == editor_field::title ? editor_field::body : editor_field::title;
      return editor_action::none;
    case key_code::backspace:
      field.backspace();
      return editor_action::none;
    case key_code::del:
      field.erase_forward();
      return editor_action::none;
    case key_code::left:
      field.left();
      return editor_action::none;
    case key_code::right:
      field.right();
      return editor_action::none;
    case key_code::up:
    case key_code::shift_up:
    case key_code::page_up:
      if (!(focus_ == editor_field::body ? field.up(body_width) : field.up()) &&
          focus_ == editor_field::body) {
        focus_ = editor_field::title;
      }
      return editor_action::none;
    case key_code::down:
    case key_code::shift_down:
    case key_code::page_down:
      if (!(focus_ == editor_field::body ? field.down(body_width) : field.down()) &&
          focus_ == editor_field::title) {
        focus_ = editor_field::body;
      }
      return editor_action::none;
    case key_code::home:
      field.home();
      return editor_action::none;
    case key_code::end:
      field.end();
      return editor_action::none;
  }
  return editor_action::none;
}

}  // namespace fun_notes::cli::tui

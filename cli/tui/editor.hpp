// The note editor: a title line and a multi-line body, edited over Unicode code points.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tui/key.hpp"

namespace fun_notes::cli::tui {

// One screen line of a wrapped text: code points [start, end). A newline ending a line is not
// part of it; a space where a line was wrapped is.
struct visual_line {
  std::size_t start = 0;
  std::size_t end = 0;
};

// Breaks `text` into screen lines of at most `width` columns, after the last space that fits
// (a word longer than the line is cut).
std::vector<visual_line> wrap_lines(std::u32string_view text, int width);
// The screen line that shows a caret at `pos`: at a wrap point, the next line (where typing
// puts the character).
std::size_t caret_line(const std::vector<visual_line>& lines, std::size_t pos);

// One editable text: code points and a cursor between them (0 .. size()).
class text_field {
 public:
  explicit text_field(std::string_view utf8 = {}, bool multiline = false);

  std::string text() const;  // UTF-8
  const std::u32string& code_points() const { return text_; }
  std::size_t cursor() const { return cursor_; }
  bool multiline() const { return multiline_; }
  bool empty() const { return text_.empty(); }
  // Replaces the text (someone else's edit arrived) with the cursor at `cursor` (clamped).
  void reset(std::string_view utf8, std::size_t cursor);

  // A newline in a single-line field is dropped (a pasted title stays one line).
  void insert(char32_t cp);
  void insert(std::u32string_view text);
  bool backspace();      // false at the start
  bool erase_forward();  // false at the end
  void left();
  void right();
  // Up/down keep the display column the cursor had when vertical movement started, as editors
  // do. They return false at the first/last line so the caller can move to the other field.
  bool up();
  bool down();
  // The same over screen lines when the text is wrapped at `width` columns.
  bool up(int width) { return move_visual(-1, width); }
  bool down(int width) { return move_visual(1, width); }
  void home();  // start of the current line
  void end();   // end of the current line

  // The cursor's line (0-based) and display column within that line.
  std::pair<std::size_t, int> cursor_line_col() const;

 private:
  std::size_t line_start(std::size_t pos) const;
  std::size_t line_end(std::size_t pos) const;
  int column_of(std::size_t pos) const;
  std::size_t at_column(std::size_t start, int column) const;
  bool move_visual(int delta, int width);

  std::u32string text_;
  std::size_t cursor_ = 0;
  bool multiline_ = false;
  int goal_column_ = -1;  // -1: no vertical movement in progress
};

enum class editor_field { title, body };

// What a key did to the editor, for the caller to act on.
enum class editor_action {
  none,   // edited or moved; stay (every edit goes out as it is typed)
  save,   // Ctrl+S: nothing left to write, said so
  close,  // Esc or Ctrl+X
  undo,   // Ctrl+Z
  redo,   // Ctrl+R or Ctrl+Y
};

class note_editor {
 public:
  // An existing note (`is_new` false) or a new one, created once it has content.
  note_editor(std::string note_id, bool is_new, std::string_view title, std::string_view body);

  // `body_width`: the columns the body is wrapped at on screen, so up/down move by screen line
  // (0: by line of text).
  editor_action handle(const key& k, int body_width = 0);

  const std::string& note_id() const { return note_id_; }
  bool is_new() const { return is_new_; }
  editor_field focus() const { return focus_; }
  const text_field& title() const { return title_; }
  const text_field& body() const { return body_; }
  text_field& field(editor_field f) { return f == editor_field::title ? title_ : body_; }
  const text_field& field(editor_field f) const {
    return f == editor_field::title ? title_ : body_;
  }
  bool title_changed() const { return title_.text() != saved_title_; }
  bool body_changed() const { return body_.text() != saved_body_; }
  // Called once the changes went to the replica (for a new note: once it was created).
  void mark_saved();

 private:
  text_field& focused() { return focus_ == editor_field::title ? title_ : body_; }

  std::string note_id_;
  bool is_new_ = false;
  text_field title_;
  text_field body_;
  editor_field focus_ = editor_field::title;
  std::string saved_title_;
  std::string saved_body_;
};

}  // namespace fun_notes::cli::tui

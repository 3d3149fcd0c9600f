// The TUI's text handling: UTF-8, display widths, and the note editor's cursor and fields.
#include <gtest/gtest.h>

#include "tui/editor.hpp"
#include "tui/text.hpp"

namespace fun_notes::cli::tui {
namespace {

TEST(TuiText, Utf8RoundTripsEveryPlane) {
  const std::string text = "a é € 日本 🎉";
  const std::u32string cps = utf8_decode(text);
  EXPECT_EQ(cps, U"a é € 日本 🎉");
  EXPECT_EQ(utf8_encode(cps), text);
}

TEST(TuiText, InvalidBytesShowAsReplacementNotAnError) {
  // A lone continuation byte, a truncated sequence and an overlong '/'.
  EXPECT_EQ(utf8_decode("a\x80z"), U"a\uFFFDz");
  EXPECT_EQ(utf8_decode("\xE6\x97"), U"\uFFFD\uFFFD");
  EXPECT_EQ(utf8_decode("\xC0\xAF"), U"\uFFFD\uFFFD");
}

TEST(TuiText, WidthCountsWideAndZeroWidthCharacters) {
  EXPECT_EQ(display_width(std::string_view("abc")), 3);
  EXPECT_EQ(display_width(std::string_view("日本")), 4);
  EXPECT_EQ(display_width(std::string_view("e\u0301")), 1);  // e + combining acute
  EXPECT_EQ(display_width(std::string_view("🎉")), 2);
}

TEST(TuiText, FitCutsByColumnsWithAnEllipsis) {
  EXPECT_EQ(fit("groceries", 20), "groceries");
  EXPECT_EQ(fit("groceries", 5), "groc…");
  // A wide character that would straddle the cut is left out whole.
  EXPECT_EQ(fit("日本語です", 6), "日本…");
  EXPECT_EQ(display_width(fit("日本語です", 6)), 5);
}

TEST(TuiText, FilterFoldsCase) {
  EXPECT_TRUE(contains_folded("Buy MILK", U"milk"));
  EXPECT_TRUE(contains_folded("ÉCOLE", U"école"));
  EXPECT_FALSE(contains_folded("bread", U"milk"));
}

TEST(TuiEditor, InsertsAndDeletesCodePointsNotBytes) {
  text_field f("café", false);
  EXPECT_EQ(f.cursor(), 4u);
  f.backspace();  // removes "é", both of its bytes
  EXPECT_EQ(f.text(), "caf");
  f.insert(U'日');
  f.left();
  f.left();
  f.erase_forward();  // the "f"
  EXPECT_EQ(f.text(), "ca日");
  f.home();
  EXPECT_FALSE(f.backspace());
  f.end();
  EXPECT_FALSE(f.erase_forward());
}

TEST(TuiEditor, TitleStaysOneLine) {
  text_field title("two\nlines", false);
  EXPECT_EQ(title.text(), "two lines");
  title.insert(U'\n');
  EXPECT_EQ(title.text(), "two lines");
}

TEST(TuiEditor, UpDownKeepTheDisplayColumnAcrossWideCharacters) {
  text_field body("abcdef\n日本語\nxy\nlonger line", true);
  body.home();
  // Go to the first line, column 4 ("ab|cd" is col 2, so move 4 right from its start).
  while (body.up()) {
  }
  body.home();
  for (int i = 0; i < 4; ++i) {
    body.right();
  }
  ASSERT_EQ(body.cursor_line_col(), (std::pair<std::size_t, int>{0, 4}));
  ASSERT_TRUE(body.down());  // "日本語": column 4 is after "日本"
  EXPECT_EQ(body.cursor_line_col(), (std::pair<std::size_t, int>{1, 4}));
  ASSERT_TRUE(body.down());  // "xy" is shorter: the end of the line
  EXPECT_EQ(body.cursor_line_col(), (std::pair<std::size_t, int>{2, 2}));
  ASSERT_TRUE(body.down());  // back to column 4 on a long line
  EXPECT_EQ(body.cursor_line_col(), (std::pair<std::size_t, int>{3, 4}));
  EXPECT_FALSE(body.down());
}

TEST(TuiEditor, UpLandsBeforeAWideCharacterTheColumnFallsInside) {
  text_field body("日本\nabc", true);
  body.end();  // line 1, column 3
  body.left();
  body.left();  // column 1
  ASSERT_TRUE(body.up());
  EXPECT_EQ(body.cursor_line_col(), (std::pair<std::size_t, int>{0, 0}));
}

TEST(TuiEditor, KeysMoveBetweenTitleAndBody) {
  note_editor e("n1", true, "", "");
  EXPECT_EQ(e.focus(), editor_field::title);
  for (char32_t c : std::u32string(U"Köln")) {
    e.handle(key::chr(c));
  }
  e.handle(key::of(key_code::enter));  // ends the title
  EXPECT_EQ(e.focus(), editor_field::body);
  e.handle(key::chr(U'a'));
  e.handle(key::of(key_code::enter));  // a new line in the body
  e.handle(key::chr(U'b'));
  EXPECT_EQ(e.title().text(), "Köln");
  EXPECT_EQ(e.body().text(), "a\nb");
  e.handle(key::of(key_code::up));
  e.handle(key::of(key_code::up));  // past the body's first line: the title
  EXPECT_EQ(e.focus(), editor_field::title);
  e.handle(key::of(key_code::tab));
  EXPECT_EQ(e.focus(), editor_field::body);
  EXPECT_EQ(e.handle(key::of(key_code::escape)), editor_action::close);
  EXPECT_EQ(e.handle(key::ctrl('s')), editor_action::save);
  EXPECT_EQ(e.handle(key::ctrl('x')), editor_action::close);
  EXPECT_EQ(e.handle(key::ctrl('z')), editor_action::undo);
  EXPECT_EQ(e.handle(key::ctrl('r')), editor_action::redo);
}

TEST(TuiEditor, ChangedOnlyAfterAnEdit) {
  note_editor e("n1", false, "Milk", "2 litres");
  EXPECT_FALSE(e.title_changed());
  EXPECT_FALSE(e.body_changed());
  e.handle(key::chr(U'!'));
  EXPECT_TRUE(e.title_changed());
  EXPECT_FALSE(e.body_changed());
  e.mark_saved();
  EXPECT_FALSE(e.title_changed());
}

}  // namespace
}  // namespace fun_notes::cli::tui

namespace fun_notes::cli::tui {
namespace {

std::vector<std::u32string> wrapped(std::u32string_view text, int width) {
  std::vector<std::u32string> out;
  for (const visual_line& l : wrap_lines(text, width)) {
    out.emplace_back(text.substr(l.start, l.end - l.start));
  }
  return out;
}

TEST(TuiWrap, BreaksAfterTheLastSpaceThatFits) {
  EXPECT_EQ(wrapped(U"buy oat milk today", 9),
            (std::vector<std::u32string>{U"buy oat ", U"milk ", U"today"}));
  // A word longer than the line is cut; a newline always ends a line.
  EXPECT_EQ(wrapped(U"abcdefghij\nx", 4),
            (std::vector<std::u32string>{U"abcd", U"efgh", U"ij", U"x"}));
  // Wide characters count two columns.
  EXPECT_EQ(wrapped(U"日本語です", 4), (std::vector<std::u32string>{U"日本", U"語で", U"す"}));
  EXPECT_EQ(wrapped(U"", 10), (std::vector<std::u32string>{U""}));
}

TEST(TuiWrap, ACaretAtAWrapPointShowsOnTheNextLine) {
  const auto lines = wrap_lines(U"buy oat milk", 8);  // "buy oat " | "milk"
  EXPECT_EQ(caret_line(lines, 7), 0u);
  EXPECT_EQ(caret_line(lines, 8), 1u);
  EXPECT_EQ(caret_line(lines, 12), 1u);
  const auto hard = wrap_lines(U"ab\ncd", 8);
  EXPECT_EQ(caret_line(hard, 2), 0u);  // before the newline: the end of the first line
  EXPECT_EQ(caret_line(hard, 3), 1u);
}

TEST(TuiWrap, UpAndDownMoveByScreenLineInAWrappedBody) {
  note_editor e("n1", false, "t", "one two three four five six");
  e.handle(key::of(key_code::tab));  // the body, caret at its end
  const int width = 10;              // "one two " | "three " | "four five " | "six"
  e.handle(key::of(key_code::up), width);
  EXPECT_EQ(e.body().cursor(), std::u32string(U"one two three fou").size());
  e.handle(key::of(key_code::up), width);
  EXPECT_EQ(e.body().cursor(), std::u32string(U"one two thr").size());
  e.handle(key::of(key_code::up), width);
  EXPECT_EQ(e.body().cursor(), std::u32string(U"one").size());
  e.handle(key::of(key_code::up), width);  // past the first screen line: the title
  EXPECT_EQ(e.focus(), editor_field::title);
}

}  // namespace
}  // namespace fun_notes::cli::tui

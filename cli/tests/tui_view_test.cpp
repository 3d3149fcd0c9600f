// The TUI's view: whole screens against golden files (text, then each cell's style), and the
// things a user would notice, asserted directly.
//
// A golden mismatch fails with a diff. To accept a deliberate change, run the tests with
// FUN_NOTES_UPDATE_GOLDEN=1 and review the files' diff before committing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tui/text.hpp"
#include "tui/view.hpp"
#include "tui_test_support.hpp"

namespace fun_notes::cli::tui {
namespace {

using testing::contains;
using testing::driver;
using testing::make_note;
using testing::make_room;

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

// The changed lines, numbered, expected then actual.
std::string line_diff(const std::string& expected, const std::string& actual) {
  const auto e = split_lines(expected);
  const auto a = split_lines(actual);
  std::ostringstream out;
  for (std::size_t i = 0; i < std::max(e.size(), a.size()); ++i) {
    const std::string* x = i < e.size() ? &e[i] : nullptr;
    const std::string* y = i < a.size() ? &a[i] : nullptr;
    if (x == nullptr || y == nullptr || *x != *y) {
      out << "line " << i + 1 << ":\n  - " << (x ? *x : "<none>") << "\n  + " << (y ? *y : "<none>")
          << "\n";
    }
  }
  return out.str();
}

std::string render(const screen& s) {
  return s.text() + "--- styles ---\n" + s.style_map();
}

void expect_golden(const screen& s, const std::string& name) {
  const std::string path = std::string(FUN_NOTES_GOLDEN_DIR) + "/" + name + ".txt";
  const std::string actual = render(s);
  const char* regenerate = std::getenv("FUN_NOTES_UPDATE_GOLDEN");
  if (regenerate != nullptr && std::string(regenerate) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    std::cout << "[ golden   ] wrote " << path << "\n";
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in.good()) << "no golden file " << path
                         << "; create it with FUN_NOTES_UPDATE_GOLDEN=1 and review it.\n"
                         << actual;
  std::stringstream expected;
  expected << in.rdbuf();
  if (expected.str() != actual) {
    ADD_FAILURE() << "screen differs from " << path << "\n"
                  << line_diff(expected.str(), actual)
                  << "(FUN_NOTES_UPDATE_GOLDEN=1 accepts the new screen)";
  }
}

std::vector<core::note> groceries() {
  return {make_note("a", "Milk", 1024, "2 litres, semi-skimmed", false, false),
          make_note("b", "Bread", 2048, "", false, true),
          make_note("c", "Eggs", 3072, "a dozen\nfree range", true, false),
          make_note("d", "Coffee beans from the shop on the corner of the market square", 4096,
                    "the dark roast, not the espresso blend they keep pushing", true, true),
          make_note("e", "日本茶", 5120, "sencha"),
          make_note("f", "", 6144, "a note without a title")};
}

driver dashboard(int w, int h, bool color) {
  driver d(w, h, color);
  d.connect();
  d.server(sync::rooms_msg{
      {{"r1", "Groceries", 2, 6},
       {"r2", "Work", 5, 120},
       {"r3", "Trip to Kyoto 京都", 1, 14},
       {"r4", "A room with a really long name that will not fit the column", 0, 0}}});
  d.press(key_code::down);
  return d;
}

driver live_room(int w, int h, bool color) {
  driver d(w, h, color);
  d.open_live(groceries());
  d.press(U'!');              // Milk: unsent until the server echoes it, so marked
  d.press(U'j').press(U'j');  // Eggs
  return d;
}

// --- goldens --------------------------------------------------------------------------------

TEST(TuiViewGolden, Dashboard80x24Color) {
  expect_golden(view(dashboard(80, 24, true).m), "dashboard_80x24_color");
}

TEST(TuiViewGolden, Dashboard80x24Mono) {
  expect_golden(view(dashboard(80, 24, false).m), "dashboard_80x24_mono");
}

TEST(TuiViewGolden, DashboardPrompt40x12) {
  driver d = dashboard(40, 12, false);
  d.press(U'n').type(U"Plans 計画");
  expect_golden(view(d.m), "dashboard_prompt_40x12_mono");
}

TEST(TuiViewGolden, Room80x24Color) {
  expect_golden(view(live_room(80, 24, true).m), "room_80x24_color");
}

TEST(TuiViewGolden, Room80x24Mono) {
  expect_golden(view(live_room(80, 24, false).m), "room_80x24_mono");
}

TEST(TuiViewGolden, Room40x12Mono) {
  expect_golden(view(live_room(40, 12, false).m), "room_40x12_mono");
}

TEST(TuiViewGolden, RoomOffline40x12Color) {
  driver d(40, 12, true);
  d.open_cached(groceries());
  d.press(U' ');
  d.send(net_msg{
      net::disconnected_event{0, "connection refused", std::chrono::milliseconds(3000), false}});
  expect_golden(view(d.m), "room_offline_40x12_color");
}

TEST(TuiViewGolden, RoomFiltered80x24) {
  driver d = live_room(80, 24, true);
  d.press(U'/').type(U"EE");
  expect_golden(view(d.m), "room_filter_80x24_color");
}

TEST(TuiViewGolden, Editor80x24) {
  driver d = live_room(80, 24, true);
  d.press(key_code::enter).press(key_code::tab).press(key_code::end).type(U" — 日本");
  expect_golden(view(d.m), "editor_80x24_color");
}

TEST(TuiViewGolden, EditorWraps40x12) {
  driver d(40, 12, false);
  d.open_live(groceries());
  d.press(U'n').type(U"Long").press(key_code::enter);
  d.type(U"a body line that is longer than the narrow screen is wide\nand a second");
  expect_golden(view(d.m), "editor_wrap_40x12_mono");
}

TEST(TuiViewGolden, ConfirmDelete80x24) {
  driver d = live_room(80, 24, true);
  d.press(U'd');
  expect_golden(view(d.m), "confirm_delete_80x24_color");
}

TEST(TuiViewGolden, Help80x24) {
  driver d = live_room(80, 24, false);
  d.press(U'?');
  expect_golden(view(d.m), "help_80x24_mono");
}

// --- direct assertions ----------------------------------------------------------------------

TEST(TuiView, TheStatusLineTellsConnectionUnsentAndUsers) {
  driver d = live_room(80, 24, true);
  const screen s = view(d.m);
  const std::string status = s.row_text(23);
  EXPECT_TRUE(contains(status, "● live"));
  EXPECT_TRUE(contains(status, "1 unsent"));
  EXPECT_TRUE(contains(status, "2 here"));
  EXPECT_TRUE(contains(s.row_text(1), "ann, bob"));

  d.disconnect();
  const std::string offline = view(d.m).row_text(23);
  EXPECT_TRUE(contains(offline, "○ offline (retry in 2 s)"));
  EXPECT_FALSE(contains(offline, "here"));
  EXPECT_TRUE(contains(view(d.m).row_text(1), "unknown while offline"));
}

TEST(TuiView, MonochromeUsesNoColour) {
  const screen s = view(live_room(80, 24, false).m);
  for (int r = 0; r < s.height(); ++r) {
    for (int c = 0; c < s.width(); ++c) {
      ASSERT_EQ(s.at(r, c).st.fg, color::none) << "row " << r << " col " << c;
    }
  }
  // The selection still shows, by reverse video.
  EXPECT_TRUE(s.at(4, 10).st.attrs & attr_reverse);
}

TEST(TuiView, MarksShowImportantAndDone) {
  const screen s = view(live_room(80, 24, true).m);
  // Rows 2.. are the notes in order: Milk (important, unsent), Bread (done), Eggs (important),
  // Coffee (both).
  EXPECT_EQ(s.at(2, 1).text, "!");
  EXPECT_EQ(s.at(2, 78).text, "↑");
  EXPECT_EQ(s.at(3, 1).text, " ");
  EXPECT_EQ(s.at(3, 2).text, "✓");
  EXPECT_EQ(s.at(4, 1).text, "!");
  EXPECT_EQ(s.at(5, 1).text, "!");
  EXPECT_EQ(s.at(5, 2).text, "✓");
  EXPECT_TRUE(contains(s.row_text(7), "Untitled"));
}

TEST(TuiView, ATenThousandNoteRoomShowsOnlyItsWindow) {
  driver d(80, 24, false);
  std::vector<core::note> notes;
  for (int i = 0; i < 10000; ++i) {
    notes.push_back(
        make_note("n" + std::to_string(100000 + i), "Note " + std::to_string(i), 1024.0 * (i + 1)));
  }
  d.open_live(std::move(notes));
  d.press(key_code::end).press(key_code::up);
  const screen s = view(d.m);
  EXPECT_TRUE(contains(s.row_text(1), "9981–10000 of 10000"));
  EXPECT_TRUE(contains(s.row_text(2), "Note 9980"));
  EXPECT_TRUE(contains(s.row_text(20), "Note 9998"));
  EXPECT_TRUE(s.at(20, 10).st.attrs & attr_reverse);  // the selected row
  EXPECT_TRUE(contains(s.row_text(21), "Note 9999"));
}

TEST(TuiView, ANarrowScreenCutsThePresenceLineInsteadOfOverwritingIt) {
  driver d(40, 12, false);
  std::vector<core::note> notes;
  for (int i = 0; i < 30; ++i) {
    notes.push_back(
        make_note("n" + std::to_string(10 + i), "Note " + std::to_string(i), 1024.0 * (i + 1)));
  }
  d.open_cached(notes);
  const std::string line = view(d.m).row_text(1);
  EXPECT_TRUE(contains(line, "1–8 of 30 notes")) << line;
  EXPECT_TRUE(contains(line, "Here now: unknown whi… ")) << line;
}

TEST(TuiView, WideCharactersTakeTwoCells) {
  const screen s = view(live_room(80, 24, true).m);
  // "日本茶" on row 6 from column 4: each character is a cell and its continuation.
  EXPECT_EQ(s.at(6, 4).text, "日");
  EXPECT_TRUE(s.at(6, 5).continuation);
  EXPECT_EQ(s.at(6, 6).text, "本");
  EXPECT_EQ(display_width(std::string_view(s.row_text(6))), 80);
}

TEST(TuiView, EveryScreenFitsItsWidthExactly) {
  for (auto [w, h] : {std::pair{80, 24}, std::pair{40, 12}, std::pair{120, 40}, std::pair{20, 6}}) {
    driver d = live_room(w, h, true);
    for (key k : {key::chr(U'?'), key::of(key_code::escape), key::chr(U'd'),
                  key::of(key_code::escape), key::of(key_code::enter)}) {
      d.press(k);
      const screen s = view(d.m);
      for (int r = 0; r < h; ++r) {
        ASSERT_EQ(display_width(std::string_view(s.row_text(r))), w)
            << w << "x" << h << " row " << r << ": " << s.row_text(r);
      }
    }
  }
}

TEST(TuiView, TheEditorPutsTheCaretAfterWideCharacters) {
  driver d(80, 24, true);
  d.open_live(groceries());
  d.press(U'n').type(U"日本");
  const screen s = view(d.m);
  ASSERT_TRUE(s.cursor.has_value());
  EXPECT_EQ(*s.cursor, (std::pair<int, int>{1, 7 + 4}));  // "Title " is 6 columns from col 1
}

TEST(TuiView, AnEmptyRoomSaysHowToStart) {
  driver d;
  d.open_live({});
  EXPECT_TRUE(contains(view(d.m).row_text(3), "Press n to add the first one."));
}

}  // namespace
}  // namespace fun_notes::cli::tui

// The TUI's update, driven by messages as the runtime would: what the user sees change and what
// would go over the wire.
#include <gtest/gtest.h>

#include "tui_test_support.hpp"

namespace fun_notes::cli::tui {
namespace {

using testing::contains;
using testing::driver;
using testing::make_note;
using testing::make_room;

std::vector<core::note> three_notes() {
  return {make_note("a", "Milk", 1024, "2 litres"), make_note("b", "Bread", 2048),
          make_note("c", "Eggs", 3072, "a dozen", true)};
}

std::vector<core::note> many_notes(int count) {
  std::vector<core::note> notes;
  for (int i = 0; i < count; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "n%05d", i);
    notes.push_back(make_note(id, "Note " + std::to_string(i), 1024.0 * (i + 1)));
  }
  return notes;
}

// --- navigation -----------------------------------------------------------------------------

TEST(TuiUpdate, ArrowsAndJkMoveTheSelectionWithinTheList) {
  driver d;
  d.open_live(three_notes());
  EXPECT_EQ(d.m.top(), screen_kind::room);
  EXPECT_EQ(d.shown_titles(), (std::vector<std::string>{"Milk", "Bread", "Eggs"}));
  EXPECT_EQ(d.selected_title(), "Milk");
  d.press(key_code::down);
  EXPECT_EQ(d.selected_title(), "Bread");
  d.press(U'j').press(U'j');  // past the end: stays on the last note
  EXPECT_EQ(d.selected_title(), "Eggs");
  d.press(U'k');
  EXPECT_EQ(d.selected_title(), "Bread");
  d.press(key_code::up).press(key_code::up);
  EXPECT_EQ(d.selected_title(), "Milk");
  EXPECT_TRUE(d.frames().empty());  // moving the selection sends nothing
}

TEST(TuiUpdate, ALongListScrollsToKeepTheSelectionOnScreen) {
  driver d(80, 24);
  d.open_live(many_notes(10000));
  const int rows = list_rows(d.m);
  ASSERT_EQ(rows, 20);
  for (int i = 0; i < rows; ++i) {
    d.press(key_code::down);
  }
  EXPECT_EQ(d.m.room.selected, 20u);
  EXPECT_EQ(d.m.room.scroll, 1u);  // the list moved one row, not a page
  d.press(key_code::end);
  EXPECT_EQ(d.selected_title(), "Note 9999");
  EXPECT_EQ(d.m.room.scroll, 10000u - 20u);
  d.press(key_code::page_up);
  EXPECT_EQ(d.m.room.selected, 9999u - 19u);
  d.press(U'g');
  EXPECT_EQ(d.m.room.selected, 0u);
  EXPECT_EQ(d.m.room.scroll, 0u);
}

TEST(TuiUpdate, ResizeKeepsTheSelectedNoteVisible) {
  driver d(80, 24);
  d.open_live(many_notes(100));
  d.press(key_code::end);
  d.send(resize_msg{40, 12});
  const auto rows = static_cast<std::size_t>(list_rows(d.m));
  EXPECT_EQ(rows, 8u);
  EXPECT_GE(d.m.room.selected, d.m.room.scroll);
  EXPECT_LT(d.m.room.selected, d.m.room.scroll + rows);
}

TEST(TuiUpdate, SelectionStaysOnItsNoteWhenOthersInsertAndDeleteAbove) {
  driver d;
  d.open_live(three_notes());
  d.press(U'j');  // Bread
  core::create_op top{"z", "Coffee", "", false, false, 512};
  d.remote(top, 2);
  EXPECT_EQ(d.shown_titles().front(), "Coffee");
  EXPECT_EQ(d.selected_title(), "Bread");
  EXPECT_EQ(d.m.room.selected, 2u);
  d.remote(core::delete_op{"a"}, 3);
  EXPECT_EQ(d.selected_title(), "Bread");
  EXPECT_EQ(d.m.room.selected, 1u);
  d.remote(core::delete_op{"b"}, 4);  // the selected note itself goes: its neighbour is selected
  EXPECT_EQ(d.selected_title(), "Eggs");
}

// --- moving notes ---------------------------------------------------------------------------

TEST(TuiUpdate, ShiftDownMovesTheNoteAtOnceAndTheSelectionFollows) {
  driver d;
  d.open_live(three_notes());
  d.press(key_code::shift_down);
  EXPECT_EQ(d.shown_titles(), (std::vector<std::string>{"Bread", "Milk", "Eggs"}));
  EXPECT_EQ(d.selected_title(), "Milk");
  ASSERT_EQ(d.frames().size(), 1u);
  EXPECT_TRUE(contains(d.frames()[0], R"("kind":"move")"));
  EXPECT_TRUE(contains(d.frames()[0], R"("id":"a")"));
  d.press(U'J');  // J is shift+down for terminals that send no shifted arrows
  EXPECT_EQ(d.shown_titles(), (std::vector<std::string>{"Bread", "Eggs", "Milk"}));
  EXPECT_EQ(d.selected_title(), "Milk");
  d.press(key_code::shift_down);  // already last: nothing to send
  EXPECT_TRUE(d.frames().empty());
  d.press(U'K');
  EXPECT_EQ(d.shown_titles(), (std::vector<std::string>{"Bread", "Milk", "Eggs"}));
  EXPECT_EQ(d.m.room.selected, 1u);
}

TEST(TuiUpdate, TheServersEchoOfAMoveChangesNothingOnScreen) {
  driver d;
  d.open_live(three_notes());
  d.press(key_code::shift_up);  // the first note: nothing happens
  EXPECT_TRUE(d.frames().empty());
  d.press(U'j').press(key_code::shift_up);  // Bread to the top
  ASSERT_EQ(d.m.room.replica->outbox().size(), 1u);
  const sync::local_op sent = d.m.room.replica->outbox().front();
  const auto before = d.shown_titles();
  const auto selected = d.m.room.selected;
  d.remote(sent.op, 2, sent.cid);  // the acknowledgement
  EXPECT_EQ(d.m.room.replica->outbox().size(), 0u);
  EXPECT_EQ(d.shown_titles(), before);
  EXPECT_EQ(d.m.room.selected, selected);
  EXPECT_EQ(d.selected_title(), "Bread");
}

TEST(TuiUpdate, MovingWhileFilteredStepsOverHiddenNotes) {
  driver d;
  d.open_live({make_note("a", "milk", 1024), make_note("b", "bread", 2048),
               make_note("c", "oat milk", 3072)});
  d.press(U'/').type(U"milk").press(key_code::enter);
  ASSERT_EQ(d.shown_titles(), (std::vector<std::string>{"milk", "oat milk"}));
  d.press(U'j').press(key_code::shift_up);
  EXPECT_EQ(d.shown_titles(), (std::vector<std::string>{"oat milk", "milk"}));
  EXPECT_EQ(d.selected_title(), "oat milk");
  d.press(key_code::escape);  // clears the filter: the full order shows the move
  EXPECT_EQ(d.shown_titles(), (std::vector<std::string>{"oat milk", "milk", "bread"}));
}

// --- editing --------------------------------------------------------------------------------

// The op frames among `frames`.
std::vector<std::string> op_frames(const std::vector<std::string>& frames) {
  std::vector<std::string> out;
  for (const std::string& f : frames) {
    if (contains(f, R"("type":"op")")) {
      out.push_back(f);
    }
  }
  return out;
}

std::vector<std::string> all_frames(const driver& d) {
  std::vector<std::string> out;
  for (const auto& f : d.commands_of<cmd::send_frame>(d.all)) {
    out.push_back(f.frame);
  }
  return out;
}

TEST(TuiUpdate, EditingATitleWithUtf8AndCursorMovesSendsTextOpsAsItIsTyped) {
  driver d;
  d.open_live(three_notes());
  const std::size_t before = all_frames(d).size();
  d.press(key_code::enter);
  ASSERT_EQ(d.m.top(), screen_kind::editor);
  // "Milk|" -> "Milch" by cursor moves: the first keystroke goes out at once, as a text op.
  d.press(key_code::backspace);
  ASSERT_EQ(op_frames(d.frames()).size(), 1u);
  EXPECT_TRUE(contains(d.frames()[0], R"("kind":"text")"));
  EXPECT_TRUE(contains(d.frames()[0], R"("field":"title")"));
  EXPECT_TRUE(contains(d.frames()[0], R"("ops":[3,-1])"));
  d.press(key_code::left).press(key_code::del);
  d.type(U"lch");
  EXPECT_EQ(d.m.editor->title().text(), "Milch");
  d.press(key_code::home).type(U"日本 ").press(key_code::end).type(U"é");
  EXPECT_EQ(d.m.editor->title().text(), "日本 Milché");
  // The view shows every keystroke at once; one op is in flight, the rest wait composed.
  EXPECT_EQ(d.m.room.replica->find("a")->title, "日本 Milché");
  EXPECT_EQ(d.m.room.replica->outbox().size(), 2u);
  d.press(key_code::escape);
  EXPECT_EQ(d.m.top(), screen_kind::room);
  EXPECT_EQ(d.selected_title(), "日本 Milché");
  // Only the title's text went out: never an update, never the body (no overwrite of others).
  const std::vector<std::string> every = all_frames(d);
  const std::vector<std::string> sent(every.begin() + static_cast<std::ptrdiff_t>(before),
                                      every.end());
  for (const std::string& f : op_frames(sent)) {
    EXPECT_TRUE(contains(f, R"("kind":"text")")) << f;
    EXPECT_FALSE(contains(f, R"("field":"body")")) << f;
  }
  // The caret went along, and left with the editor.
  EXPECT_TRUE(std::any_of(sent.begin(), sent.end(), [](const std::string& f) {
    return contains(f, R"("type":"cursor")") && contains(f, R"("field":"title")");
  }));
  EXPECT_TRUE(contains(sent.back(), R"({"type":"cursor","room":"r1"})"));
}

TEST(TuiUpdate, TheBodyTakesNewlinesAndTabSwitchesFields) {
  driver d;
  d.open_live(three_notes());
  d.press(U'e').press(key_code::tab);
  EXPECT_EQ(d.m.editor->focus(), editor_field::body);
  d.press(key_code::end).press(key_code::enter).type(U"semi-skimmed");
  EXPECT_EQ(d.m.room.replica->find("a")->body, "2 litres\nsemi-skimmed");
  d.press(key::ctrl('s'));  // nothing to save: said so, still editing
  EXPECT_EQ(d.m.top(), screen_kind::editor);
  EXPECT_TRUE(contains(d.m.status, "as you type"));
  d.press(key_code::escape);  // nothing more changed: no op, only the caret leaving
  EXPECT_TRUE(op_frames(d.frames()).empty());
}

TEST(TuiUpdate, AnothersTypingShowsInTheOpenEditorAndTheCaretKeepsItsPlace) {
  driver d;
  d.open_live(three_notes());
  d.press(U'e').type(U" and honey");  // "Milk and honey|"
  // Someone numbered "Oat " at the start of the title before our typing.
  core::text_op theirs;
  theirs.insert("Oat ").retain(4);
  d.remote(core::text_edit_op{"a", core::text_field::title, 1, theirs}, 2);
  EXPECT_EQ(d.m.editor->title().text(), "Oat Milk and honey");
  EXPECT_EQ(d.m.editor->title().cursor(), 18u);  // still after what was typed
  d.type(U"!");
  EXPECT_EQ(d.m.room.replica->find("a")->title, "Oat Milk and honey!");
  // Undo takes back only this user's typing, not the other person's word.
  d.press(key::ctrl('z'));
  EXPECT_EQ(d.m.editor->title().text(), "Oat Milk");
  d.press(key::ctrl('r'));
  EXPECT_EQ(d.m.editor->title().text(), "Oat Milk and honey!");
}

TEST(TuiUpdate, OthersCaretsInTheNoteAreKeptAndMoveWithTheirText) {
  driver d;
  d.open_live(three_notes());
  d.press(U'e').press(key_code::tab);
  sync::cursor_msg c;
  c.room = "r1";
  c.session = "s2";
  c.user = {"u2", "bob"};
  c.note = "a";
  c.field = core::text_field::body;
  c.anchor = c.head = 2;  // "2 |litres"
  c.seq = 1;
  d.server(c);
  ASSERT_EQ(d.m.room.carets.size(), 1u);
  d.press(key_code::home).type(U">");  // typed at 0, before bob's caret: it moves on
  EXPECT_EQ(d.m.room.carets.at("s2").pos, 3u);
  core::text_op theirs;
  theirs.insert("~").retain(8);
  d.remote(core::text_edit_op{"a", core::text_field::body, 1, theirs}, 2);
  EXPECT_EQ(d.m.room.replica->find("a")->body, "~>2 litres");
  EXPECT_EQ(d.m.room.carets.at("s2").pos, 4u);
  c.note.clear();
  d.server(c);  // bob's caret left the field
  EXPECT_TRUE(d.m.room.carets.empty());
}

TEST(TuiUpdate, CtrlXClosesAndWhatWasTypedStays) {
  driver d;
  d.open_live(three_notes());
  d.press(U'e').type(U" and honey").press(key::ctrl('x'));
  EXPECT_EQ(d.m.top(), screen_kind::room);
  EXPECT_EQ(d.selected_title(), "Milk and honey");
  // u in the list undoes the typing.
  d.press(U'u');
  EXPECT_EQ(d.selected_title(), "Milk");
}

TEST(TuiUpdate, ANewNoteIsCreatedOnceItHasContentAtTheTopAndSelected) {
  driver d;
  d.open_live(three_notes());
  d.press(U'j').press(U'n');
  ASSERT_EQ(d.m.top(), screen_kind::editor);
  EXPECT_TRUE(d.m.room.replica->outbox().empty());  // nothing exists until it has content
  d.type(U"Apples").press(key_code::enter).type(U"green ones").press(key_code::escape);
  EXPECT_EQ(d.shown_titles().front(), "Apples");
  EXPECT_EQ(d.selected_title(), "Apples");
  EXPECT_EQ(d.m.room.replica->find(shown_note(d.m, 0).id)->body, "green ones");
  const auto ops = op_frames(all_frames(d));
  ASSERT_FALSE(ops.empty());
  EXPECT_TRUE(contains(ops[0], R"("kind":"create")"));
  EXPECT_TRUE(contains(ops[0], R"("title":"A")"));  // sent at the first character
}

TEST(TuiUpdate, AnEmptyNewNoteIsDroppedOnEscape) {
  driver d;
  d.open_live(three_notes());
  d.press(U'n').type(U"  ").press(key_code::escape);
  EXPECT_EQ(d.m.top(), screen_kind::room);
  EXPECT_EQ(d.shown_titles().size(), 3u);
  EXPECT_TRUE(d.m.room.replica->outbox().empty());
  EXPECT_TRUE(d.frames().empty());
  EXPECT_EQ(d.m.status, "Empty note dropped.");
}

TEST(TuiUpdate, TypingPastTheServersLimitIsRefusedAndSaysSo) {
  driver d;
  d.open_live(three_notes());
  core::limits lim;
  lim.max_title_bytes = 8;
  d.m.room.replica->set_limits(lim);
  d.press(U'e').type(U" and more");
  EXPECT_EQ(d.m.editor->title().text(), "Milk and");  // what fits; the rest refused
  EXPECT_EQ(d.m.room.replica->find("a")->title, "Milk and");
  EXPECT_TRUE(contains(d.m.status, "at most 8 bytes"));
  EXPECT_EQ(d.m.top(), screen_kind::editor);
}

TEST(TuiUpdate, TypingIntoANoteSomeoneDeletesBringsItBack) {
  driver d;
  d.open_live(three_notes());
  d.press(U'e').type(U" (oat)");
  d.remote(core::delete_op{"a"}, 2);
  EXPECT_EQ(d.m.top(), screen_kind::editor);
  EXPECT_EQ(d.m.editor->title().text(), "Milk (oat)");
  d.press(key_code::escape);
  EXPECT_EQ(d.shown_titles().front(), "Milk (oat)");
  EXPECT_EQ(shown_note(d.m, 0).id, "a");
  EXPECT_TRUE(contains(d.m.notices.front(), "brought it back"));
}

TEST(TuiUpdate, UndoAndRedoInTheListCoverTogglesMovesAndDeletes) {
  driver d;
  d.open_live(three_notes());
  d.press(U' ');                  // Milk done
  d.press(key_code::shift_down);  // Milk below Bread
  d.press(U'd').press(U'y');      // deleted
  EXPECT_EQ(d.m.room.replica->find("a"), nullptr);
  d.press(U'u');
  ASSERT_NE(d.m.room.replica->find("a"), nullptr);
  d.press(U'u');
  EXPECT_EQ(d.shown_titles().front(), "Milk");
  d.press(U'u');
  EXPECT_FALSE(d.m.room.replica->find("a")->is_completed);
  d.press(U'u');
  EXPECT_EQ(d.m.status, "Nothing to undo.");
  d.press(key::ctrl('r')).press(key::ctrl('r'));
  EXPECT_TRUE(d.m.room.replica->find("a")->is_completed);
  EXPECT_NE(d.shown_titles().front(), "Milk");
}

TEST(TuiUpdate, SpaceAndBangToggleDoneAndImportant) {
  driver d;
  d.open_live(three_notes());
  d.press(U' ');
  EXPECT_TRUE(shown_note(d.m, 0).is_completed);
  EXPECT_TRUE(contains(d.frames().at(0), R"("is_completed":true)"));
  d.press(U' ');
  EXPECT_FALSE(shown_note(d.m, 0).is_completed);
  d.press(U'!');
  EXPECT_TRUE(shown_note(d.m, 0).is_important);
  EXPECT_TRUE(contains(d.frames().at(0), R"("is_important":true)"));
}

TEST(TuiUpdate, ALocalChangeIsWrittenToTheCacheBeforeItIsSent) {
  driver d;
  d.open_live(three_notes());
  d.press(U'!');
  std::optional<std::size_t> persist_at;
  std::optional<std::size_t> send_at;
  for (std::size_t i = 0; i < d.last.size(); ++i) {
    if (std::holds_alternative<cmd::persist_room>(d.last[i]) && !persist_at) {
      persist_at = i;
    }
    if (std::holds_alternative<cmd::send_frame>(d.last[i]) && !send_at) {
      send_at = i;
    }
  }
  ASSERT_TRUE(persist_at.has_value());
  ASSERT_TRUE(send_at.has_value());
  EXPECT_LT(*persist_at, *send_at);
}

TEST(TuiUpdate, AViewerCannotEdit) {
  driver d;
  d.open_live(three_notes(), "viewer");
  d.press(U' ').press(U'd').press(key_code::shift_down).press(U'n');
  EXPECT_EQ(d.m.top(), screen_kind::room);
  EXPECT_TRUE(d.m.room.replica->outbox().empty());
  EXPECT_EQ(d.m.status, "You can only read this room.");
}

// --- filter ---------------------------------------------------------------------------------

TEST(TuiUpdate, TheFilterNarrowsTheListAsYouType) {
  driver d;
  d.open_live(three_notes());
  d.press(U'/');
  EXPECT_TRUE(d.m.room.filtering);
  d.type(U"E");  // Milk's body ("2 litres") holds an e too
  EXPECT_EQ(d.shown_titles(), (std::vector<std::string>{"Milk", "Bread", "Eggs"}));
  d.type(U"GG");  // case does not matter
  EXPECT_EQ(d.shown_titles(), (std::vector<std::string>{"Eggs"}));
  d.type(U"x");
  EXPECT_TRUE(d.shown_titles().empty());
  for (int i = 0; i < 4; ++i) {
    d.press(key_code::backspace);
  }
  d.type(U"litre");  // the body counts too
  EXPECT_EQ(d.shown_titles(), (std::vector<std::string>{"Milk"}));
  d.press(key_code::enter);  // keeps the filter, gives the keys back to the list
  EXPECT_FALSE(d.m.room.filtering);
  EXPECT_EQ(d.shown_titles(), (std::vector<std::string>{"Milk"}));
  // A matching note someone else adds shows up live.
  d.remote(core::create_op{"z", "Oat", "1 litre", false, false, 4096}, 2);
  EXPECT_EQ(d.shown_titles(), (std::vector<std::string>{"Milk", "Oat"}));
  d.press(key_code::escape);
  EXPECT_EQ(d.shown_titles().size(), 4u);
  EXPECT_EQ(d.m.top(), screen_kind::room);  // the first esc only cleared the filter
}

// --- delete and undo ------------------------------------------------------------------------

TEST(TuiUpdate, DeleteAsksFirstAndUndoBringsTheNoteBackInPlace) {
  driver d;
  d.open_live(three_notes());
  d.press(U'j').press(U'd');
  ASSERT_EQ(d.m.top(), screen_kind::confirm_delete);
  d.press(U'n');
  EXPECT_EQ(d.m.top(), screen_kind::room);
  EXPECT_EQ(d.shown_titles().size(), 3u);
  EXPECT_TRUE(d.frames().empty());

  d.press(U'd').press(U'y');
  EXPECT_EQ(d.m.top(), screen_kind::room);
  EXPECT_EQ(d.shown_titles(), (std::vector<std::string>{"Milk", "Eggs"}));
  EXPECT_EQ(d.selected_title(), "Eggs");
  EXPECT_TRUE(contains(d.frames().at(0), R"("kind":"delete")"));
  EXPECT_TRUE(contains(d.m.status, "Deleted “Bread”"));

  d.press(U'u');
  EXPECT_EQ(d.shown_titles(), (std::vector<std::string>{"Milk", "Bread", "Eggs"}));
  EXPECT_EQ(d.selected_title(), "Bread");
  const core::note* back = d.m.room.replica->find("b");
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->current_index, 2048);
  EXPECT_TRUE(contains(d.frames().at(0), R"("kind":"create")"));
  d.press(U'u');  // one undo per delete
  EXPECT_EQ(d.m.status, "Nothing to undo.");
}

TEST(TuiUpdate, UndoKeepsEveryFieldOfTheDeletedNote) {
  driver d;
  d.open_live(three_notes());
  d.press(U'G').press(U'd').press(U'y').press(U'u');
  const core::note* back = d.m.room.replica->find("c");
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->title, "Eggs");
  EXPECT_EQ(back->body, "a dozen");
  EXPECT_TRUE(back->is_important);
}

// --- offline --------------------------------------------------------------------------------

TEST(TuiUpdate, OfflineEditsQueueAndGoOutOnceTheJoinCompletes) {
  driver d;
  d.open_cached(three_notes());
  EXPECT_EQ(d.m.socket, socket_state::offline);
  EXPECT_EQ(d.shown_titles().size(), 3u);  // the cache shows the room at once

  d.press(U' ');
  d.press(U'n').type(U"Tea").press(key_code::escape);
  d.press(U'j').press(key_code::shift_down);
  EXPECT_EQ(d.m.room.replica->outbox().size(), 3u);
  EXPECT_TRUE(d.commands_of<cmd::send_frame>(d.all).empty());
  EXPECT_FALSE(d.commands_of<cmd::persist_room>(d.all).empty());  // each edit is kept on disk

  d.connect();
  ASSERT_EQ(d.frames().size(), 2u);
  EXPECT_TRUE(contains(d.frames()[0], R"("type":"watch_rooms")"));
  EXPECT_TRUE(contains(d.frames()[1], R"("type":"join")"));
  EXPECT_TRUE(contains(d.frames()[1], R"("since":1)"));
  d.press(U'!');  // joining: still queued
  EXPECT_TRUE(d.frames().empty());
  EXPECT_EQ(d.m.room.replica->outbox().size(), 4u);

  d.join_answer(three_notes());
  const auto frames = d.frames();
  ASSERT_EQ(frames.size(), 4u);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_TRUE(contains(frames[i], R"("type":"op")"));
    EXPECT_TRUE(contains(frames[i], d.m.room.replica->outbox()[i].cid));
  }
  EXPECT_EQ(d.shown_titles().front(), "Tea");  // the local changes still show
}

TEST(TuiUpdate, ALostConnectionQueuesEditsUntilTheNextJoin) {
  driver d;
  d.open_live(three_notes());
  d.disconnect();
  EXPECT_EQ(d.m.socket, socket_state::offline);
  EXPECT_EQ(d.m.retry_at_ms, d.m.now_ms + 2000);
  d.press(U' ');
  EXPECT_TRUE(d.frames().empty());
  EXPECT_EQ(d.m.room.replica->outbox().size(), 1u);
  d.connect().join_answer(three_notes());
  ASSERT_EQ(d.frames().size(), 1u);
  EXPECT_TRUE(contains(d.frames()[0], R"("is_completed":true)"));
}

TEST(TuiUpdate, ARejectedChangeIsUndoneOnScreenAndSaysWhy) {
  driver d;
  d.open_live(three_notes());
  d.press(U' ');
  ASSERT_TRUE(shown_note(d.m, 0).is_completed);
  const std::string cid = d.m.room.replica->outbox().front().cid;
  d.server(sync::reject_msg{"r1", cid, "forbidden", "viewers cannot edit"});
  EXPECT_FALSE(shown_note(d.m, 0).is_completed);
  EXPECT_TRUE(d.m.room.replica->outbox().empty());
  EXPECT_FALSE(d.m.status.empty());
  EXPECT_EQ(d.m.notices.size(), 1u);
  EXPECT_EQ(d.commands_of<cmd::store_notices>(d.last).size(), 1u);
}

TEST(TuiUpdate, ARefusedTokenStopsRetrying) {
  driver d;
  d.send(net_msg{net::disconnected_event{4001, "unauthorized", {}, true}});
  EXPECT_TRUE(d.m.signed_out);
  EXPECT_EQ(d.m.retry_at_ms, 0);
  EXPECT_TRUE(contains(d.m.status, "fun-notes login"));
  d.press(U'r');
  EXPECT_TRUE(d.commands_of<cmd::reconnect_now>(d.last).empty());
}

TEST(TuiUpdate, OthersOpsAreWrittenToTheCacheOnTheNextTick) {
  driver d;
  d.open_live(three_notes());
  d.remote(core::create_op{"z", "Coffee", "", false, false, 512}, 2);
  EXPECT_TRUE(d.commands_of<cmd::persist_room>(d.last).empty());
  d.send(tick_msg{d.m.now_ms + 1000, "2026-12-02T09:00:01.000Z", "09:00"});
  EXPECT_EQ(d.commands_of<cmd::persist_room>(d.last).size(), 1u);
  d.send(tick_msg{d.m.now_ms + 1000, "2026-12-02T09:00:02.000Z", "09:00"});
  EXPECT_TRUE(d.commands_of<cmd::persist_room>(d.last).empty());
}

TEST(TuiUpdate, StatusMessagesFadeAfterAFewSeconds) {
  driver d;
  d.open_live(three_notes());
  d.press(U'u');
  EXPECT_EQ(d.m.status, "Nothing to undo.");
  d.send(tick_msg{d.m.now_ms + 3000, "2026-12-02T09:00:03.000Z", "09:00"});
  EXPECT_EQ(d.m.status, "Nothing to undo.");
  d.send(tick_msg{d.m.now_ms + 4000, "2026-12-02T09:00:07.000Z", "09:00"});
  EXPECT_EQ(d.m.status, "");
}

// --- rooms and the dashboard ----------------------------------------------------------------

TEST(TuiUpdate, TheDashboardListsRoomsAndUpdatesTheirCountsLive) {
  driver d;
  d.send(cached_rooms_msg{{make_room("r2", "Work", 0, 5), make_room("r1", "Groceries", 0, 3)}});
  ASSERT_EQ(d.m.dash.rooms.size(), 2u);
  EXPECT_EQ(d.m.dash.rooms[0].name, "Groceries");  // by name, as the web dashboard sorts
  d.press(key_code::down);                         // Work
  d.connect();
  d.server(
      sync::rooms_msg{{{"r1", "Groceries", 1, 3}, {"r2", "Work", 2, 5}, {"r3", "Ideas", 0, 0}}});
  EXPECT_EQ(d.m.dash.rooms.size(), 3u);
  EXPECT_EQ(d.m.dash.rooms[d.m.dash.selected].name, "Work");  // the selection stays on its room
  EXPECT_EQ(d.m.dash.rooms[0].role, "owner");                 // kept from what was known
  d.server(sync::room_stat_msg{{"r2", "Work", 3, 6}});
  EXPECT_EQ(d.m.dash.rooms[d.m.dash.selected].active_user_count, 3);
  EXPECT_EQ(d.m.dash.rooms[d.m.dash.selected].total_notes, 6);
  EXPECT_EQ(d.commands_of<cmd::save_room_stat>(d.last).size(), 1u);
  d.press(key_code::enter);
  EXPECT_EQ(d.m.top(), screen_kind::room);
  ASSERT_EQ(d.commands_of<cmd::load_room>(d.last).size(), 1u);
  EXPECT_EQ(d.commands_of<cmd::load_room>(d.last)[0].room_id, "r2");
}

TEST(TuiUpdate, ACachedListDoesNotReplaceTheServers) {
  driver d;
  d.send(rooms_listed_msg{std::vector<sync::room_info>{make_room("r1", "Groceries")}});
  d.send(cached_rooms_msg{{make_room("old", "Old room")}});
  ASSERT_EQ(d.m.dash.rooms.size(), 1u);
  EXPECT_EQ(d.m.dash.rooms[0].id, "r1");
}

TEST(TuiUpdate, NCreatesARoomAndOpensIt) {
  driver d;
  d.press(U'n');
  ASSERT_TRUE(d.m.input.has_value());
  d.type(U"Trip to Kyoto 京都").press(key_code::enter);
  const auto create = d.commands_of<cmd::create_room>(d.last);
  ASSERT_EQ(create.size(), 1u);
  EXPECT_EQ(create[0].name, "Trip to Kyoto 京都");
  d.send(room_created_msg{make_room("k1", "Trip to Kyoto 京都")});
  EXPECT_EQ(d.m.top(), screen_kind::room);
  EXPECT_EQ(d.m.room.replica->room_id(), "k1");
  EXPECT_EQ(d.m.dash.rooms.size(), 1u);
}

TEST(TuiUpdate, CreatingARoomOfflineSaysSo) {
  driver d;
  d.press(U'n').type(U"Work").press(key_code::enter);
  d.send(room_created_msg{core::error{"offline", "connection refused"}});
  EXPECT_EQ(d.m.top(), screen_kind::dashboard);
  EXPECT_TRUE(d.m.status_is_error);
  EXPECT_EQ(d.m.status, "Cannot create a room while offline.");
}

TEST(TuiUpdate, JJoinsARoomByIdAndRefusesABadId) {
  driver d;
  d.press(U'j').type(U"not an id!").press(key_code::enter);
  EXPECT_EQ(d.m.top(), screen_kind::dashboard);
  EXPECT_TRUE(d.m.status_is_error);
  d.press(U'o').type(U"room-42").press(key_code::enter);
  EXPECT_EQ(d.m.top(), screen_kind::room);
  EXPECT_EQ(d.commands_of<cmd::load_room>(d.last).at(0).room_id, "room-42");
}

TEST(TuiUpdate, EscapeCancelsAPrompt) {
  driver d;
  d.press(U'n').type(U"Wor").press(key_code::escape);
  EXPECT_FALSE(d.m.input.has_value());
  EXPECT_TRUE(d.commands_of<cmd::create_room>(d.all).empty());
}

TEST(TuiUpdate, LeavingARoomSendsLeaveAndSavesIt) {
  driver d;
  d.open_live(three_notes());
  d.press(key_code::escape);
  EXPECT_EQ(d.m.top(), screen_kind::dashboard);
  EXPECT_FALSE(d.m.room.replica.has_value());
  ASSERT_EQ(d.frames().size(), 1u);
  EXPECT_TRUE(contains(d.frames()[0], R"("type":"leave")"));
  EXPECT_EQ(d.commands_of<cmd::save_closed_room>(d.last).size(), 1u);
}

TEST(TuiUpdate, AJoinRefusedAsForbiddenSaysWhy) {
  driver d;
  d.send(open_room_msg{"secret"});
  d.send(room_loaded_msg{"secret", std::nullopt});
  d.connect();
  d.server(sync::error_msg{"forbidden", "secret", "not a member"});
  EXPECT_TRUE(d.m.room.replica->join_error().has_value());
  EXPECT_TRUE(contains(d.m.status, "not a member"));
}

TEST(TuiUpdate, FramesForAnotherRoomAreIgnored) {
  driver d;
  d.open_live(three_notes());
  sync::op_msg other;
  other.room = "r9";
  other.applied = core::applied_op{2, "", core::delete_op{"a"}};
  d.server(other);
  EXPECT_EQ(d.shown_titles().size(), 3u);
}

TEST(TuiUpdate, HelpOpensWithQuestionMarkAndAnyKeyCloses) {
  driver d;
  d.open_live(three_notes());
  d.press(U'?');
  EXPECT_EQ(d.m.top(), screen_kind::help);
  d.press(U'x');
  EXPECT_EQ(d.m.top(), screen_kind::room);
}

TEST(TuiUpdate, CtrlCQuitsAfterSavingTheRoom) {
  driver d;
  d.open_live(three_notes());
  d.press(key::ctrl('c'));
  ASSERT_EQ(d.last.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<cmd::persist_room>(d.last[0]));
  EXPECT_TRUE(std::holds_alternative<cmd::quit>(d.last[1]));
}

TEST(TuiUpdate, IdsComeFromTheModelsSourceSoARunIsReproducible) {
  driver a;
  driver b;
  a.open_live(three_notes()).press(U'n').type(U"x").press(key_code::escape);
  b.open_live(three_notes()).press(U'n').type(U"x").press(key_code::escape);
  EXPECT_EQ(a.frames(), b.frames());
}

}  // namespace
}  // namespace fun_notes::cli::tui

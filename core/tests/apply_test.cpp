// The apply rules of PROTOCOL.md on room_state, one rule per test.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fun_notes/core/note.hpp"

namespace fun_notes::core {
namespace {

applied_op at_seq(std::int64_t seq, op operation) {
  return applied_op{seq, "2026-03-01T10:00:" + std::to_string(10 + seq) + ".000Z",
                    std::move(operation)};
}

create_op make_create(std::string id, double index, std::string title = "t") {
  return create_op{.id = std::move(id),
                   .title = std::move(title),
                   .body = "b",
                   .is_important = false,
                   .is_completed = false,
                   .current_index = index};
}

update_op set_title(std::string id, std::string title) {
  update_op u;
  u.id = std::move(id);
  u.title = std::move(title);
  return u;
}

// Partial designated initializers of `note` trip -Wmissing-field-initializers on g++ 12.
note make_note(std::string id, double index, std::int64_t seq = 0) {
  note n;
  n.id = std::move(id);
  n.current_index = index;
  n.seq = seq;
  return n;
}

std::vector<std::string> ids(const room_state& state) {
  std::vector<std::string> out;
  for (const note& n : state.sorted_notes()) {
    out.push_back(n.id);
  }
  return out;
}

TEST(KindOf, NamesEveryKindAsOnTheWire) {
  EXPECT_EQ(kind_of(create_op{}), "create");
  EXPECT_EQ(kind_of(update_op{}), "update");
  EXPECT_EQ(kind_of(move_op{}), "move");
  EXPECT_EQ(kind_of(rebalance_op{}), "rebalance");
  EXPECT_EQ(kind_of(delete_op{}), "delete");
}

TEST(DisplayLess, OrdersByIndexThenId) {
  const note a = make_note("a", 2.0);
  note b = make_note("b", 1.0);
  EXPECT_TRUE(display_less(b, a));
  EXPECT_FALSE(display_less(a, b));
  b.current_index = 2.0;
  EXPECT_TRUE(display_less(a, b));
  EXPECT_FALSE(display_less(b, a));
  EXPECT_FALSE(display_less(a, a));
}

TEST(RoomState, CreateSetsAllFieldsAndStamps) {
  room_state state;
  EXPECT_TRUE(state.apply(at_seq(1, make_create("n1", 1024.0, "Title"))));
  ASSERT_EQ(state.size(), 1U);
  const note* n = state.find("n1");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(*n, (note{.id = "n1",
                      .title = "Title",
                      .body = "b",
                      .is_important = false,
                      .is_completed = false,
                      .current_index = 1024.0,
                      .seq = 1,
                      .updated_at = "2026-03-01T10:00:11.000Z"}));
  EXPECT_EQ(state.seq(), 1);
}

TEST(RoomState, CreateOnExistingIdChangesNothingButRoomSeq) {
  room_state state;
  state.apply(at_seq(1, make_create("n1", 1024.0, "first")));
  const note before = *state.find("n1");
  EXPECT_FALSE(state.apply(at_seq(2, make_create("n1", 1.0, "second"))));
  EXPECT_EQ(*state.find("n1"), before);
  EXPECT_EQ(state.find("n1")->seq, 1);
  EXPECT_EQ(state.seq(), 2);
}

TEST(RoomState, UpdateSetsOnlyGivenFieldsAndStamps) {
  room_state state;
  state.apply(at_seq(1, make_create("n1", 1024.0, "old")));
  update_op u;
  u.id = "n1";
  u.is_completed = true;
  EXPECT_TRUE(state.apply(at_seq(2, u)));
  const note* n = state.find("n1");
  EXPECT_EQ(n->title, "old");
  EXPECT_EQ(n->body, "b");
  EXPECT_FALSE(n->is_important);
  EXPECT_TRUE(n->is_completed);
  EXPECT_EQ(n->seq, 2);
  EXPECT_EQ(n->updated_at, "2026-03-01T10:00:12.000Z");
}

TEST(RoomState, OpsOnMissingIdsAreNoOpsThatAdvanceSeq) {
  room_state state;
  state.apply(at_seq(1, make_create("n1", 1024.0)));
  const note before = *state.find("n1");
  EXPECT_FALSE(state.apply(at_seq(2, set_title("ghost", "x"))));
  EXPECT_FALSE(state.apply(at_seq(3, move_op{.id = "ghost", .current_index = 1.0})));
  EXPECT_FALSE(state.apply(at_seq(4, delete_op{.id = "ghost"})));
  EXPECT_FALSE(state.apply(at_seq(5, rebalance_op{.indexes = {{"ghost", 1.0}}})));
  EXPECT_EQ(state.seq(), 5);
  EXPECT_EQ(state.size(), 1U);
  EXPECT_EQ(*state.find("n1"), before);
  EXPECT_FALSE(state.contains("ghost"));
}

TEST(RoomState, MoveChangesIndexAndOrder) {
  room_state state;
  state.apply(at_seq(1, make_create("a", 1024.0)));
  state.apply(at_seq(2, make_create("b", 2048.0)));
  EXPECT_EQ(ids(state), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(state.apply(at_seq(3, move_op{.id = "a", .current_index = 4096.0})));
  EXPECT_EQ(ids(state), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(state.find("a")->seq, 3);
  EXPECT_EQ(state.find("b")->seq, 2);
}

TEST(RoomState, RebalanceSkipsMissingAndStampsFound) {
  room_state state;
  state.apply(at_seq(1, make_create("a", 1.0)));
  state.apply(at_seq(2, make_create("b", 1.5)));
  state.apply(at_seq(3, make_create("c", 9.0)));
  EXPECT_TRUE(
      state.apply(at_seq(4, rebalance_op{.indexes = {{"b", 1024.0}, {"x", 5.0}, {"a", 2048.0}}})));
  EXPECT_EQ(ids(state), (std::vector<std::string>{"c", "b", "a"}));
  EXPECT_EQ(state.find("a")->seq, 4);
  EXPECT_EQ(state.find("b")->seq, 4);
  EXPECT_EQ(state.find("c")->seq, 3);  // not named: untouched
  EXPECT_FALSE(state.contains("x"));
}

TEST(RoomState, DeleteRemovesAndLaterOpsOnItAreNoOps) {
  room_state state;
  state.apply(at_seq(1, make_create("a", 1.0)));
  EXPECT_TRUE(state.apply(at_seq(2, delete_op{.id = "a"})));
  EXPECT_FALSE(state.contains("a"));
  EXPECT_EQ(state.find("a"), nullptr);
  EXPECT_FALSE(state.apply(at_seq(3, set_title("a", "back?"))));
  EXPECT_FALSE(state.apply(at_seq(4, delete_op{.id = "a"})));
  EXPECT_EQ(state.size(), 0U);
  EXPECT_TRUE(state.apply(at_seq(5, make_create("a", 2.0, "fresh"))));
  EXPECT_EQ(state.find("a")->title, "fresh");
  EXPECT_EQ(state.find("a")->seq, 5);
}

TEST(RoomState, ConstructedFromSnapshot) {
  room_state state{7, {make_note("b", 1.0, 3), make_note("a", 1.0, 5)}};
  EXPECT_EQ(state.seq(), 7);
  EXPECT_EQ(state.size(), 2U);
  EXPECT_EQ(ids(state), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(state.find("a")->seq, 5);
}

TEST(RoomState, SortedNotesTieBreakByIdBytes) {
  room_state state;
  std::int64_t seq = 0;
  for (const char* id : {"a", "_", "Z", "0", "-", "aa", "a-", "A"}) {
    state.apply(at_seq(++seq, make_create(id, 0.0)));
  }
  EXPECT_EQ(ids(state), (std::vector<std::string>{"-", "0", "A", "Z", "_", "a", "a-", "aa"}));
}

}  // namespace
}  // namespace fun_notes::core

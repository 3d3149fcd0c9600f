// The SQLite cache: a room's base and outbox survive a reopen, written incrementally.
#include "sync/cache.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace fun_notes::cli::sync {
namespace {

namespace fs = std::filesystem;

class cache_test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "fun_notes_cache_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path file() const { return dir_ / "sub" / "cache.sqlite"; }
  fs::path dir_;
};

core::note make_note(std::string id, std::string title, double index) {
  core::note n;
  n.id = std::move(id);
  n.title = std::move(title);
  n.current_index = index;
  n.seq = 2;
  n.updated_at = "2026-12-02T00:00:00.000Z";
  return n;
}

TEST_F(cache_test, a_room_with_its_outbox_survives_a_reopen) {
  const double odd_index = 0.1 + 0.2;  // not exactly representable in short decimal
  {
    cache c(file());
    replica r(room_info{"r1", "Room", "link", "owner", 0, 0},
              core::room_state(4, {make_note("a", "A", odd_index), make_note("b", "Б", 2)}), {});
    core::update_op u;
    u.id = "a";
    u.body = "offline ✓";
    (void)r.update(u, "c1", "t1");
    (void)r.create(core::create_op{"z", "new", "", true, false, 9}, "c2", "t2");
    c.save(r);
  }
  cache c(file());
  auto r = c.load_room("r1");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->base().seq(), 4);
  EXPECT_EQ(r->base().find("a")->current_index, odd_index);
  EXPECT_EQ(r->base().find("b")->title, "Б");
  ASSERT_EQ(r->outbox().size(), 2U);
  EXPECT_EQ(r->outbox()[0].cid, "c1");
  EXPECT_FALSE(r->outbox()[0].sent);
  EXPECT_EQ(r->find("a")->body, "offline ✓");
  EXPECT_EQ(r->view().size(), 3U);
  EXPECT_EQ(c.unsent(), (std::vector<std::pair<std::string, std::size_t>>{{"r1", 2}}));
  EXPECT_FALSE(c.load_room("other").has_value());
}

TEST_F(cache_test, incremental_writes_follow_ops_and_deletes) {
  cache c(file());
  replica r(room_info{"r1", "Room", "link", "owner", 0, 0},
            core::room_state(1, {make_note("a", "A", 1), make_note("b", "B", 2)}), {});
  c.save(r);
  (void)r.on_connected();
  (void)r.on_message(resume_msg{"r1", 1});
  (void)r.on_message(presence_msg{"r1", 1, {}});
  (void)r.on_message(op_msg{"r1", "x", "u", {2, "t", core::op{core::delete_op{"a"}}}});
  core::update_op u;
  u.id = "b";
  u.title = "B2";
  (void)r.on_message(op_msg{"r1", "y", "u", {3, "t", core::op{u}}});
  c.save(r);
  auto back = c.load_room("r1");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->base().seq(), 3);
  EXPECT_EQ(back->base().size(), 1U);
  EXPECT_EQ(back->base().find("b")->title, "B2");
}

TEST_F(cache_test, the_room_list_notices_and_settings_are_kept) {
  cache c(file());
  c.save_rooms({{"r2", "Zeta", "private", "owner", 0, 3}, {"r1", "Alpha", "link", "editor", 1, 5}});
  c.update_room_stat({"r1", "Alpha", 4, 6});
  auto rooms = c.rooms();
  ASSERT_EQ(rooms.size(), 2U);
  EXPECT_EQ(rooms[0].name, "Alpha");
  EXPECT_EQ(rooms[0].active_user_count, 4);
  c.save_rooms({{"r2", "Zeta", "private", "owner", 0, 3}});
  EXPECT_EQ(c.rooms().size(), 1U);
  c.add_notices("r1", {{"a", "kept yours"}}, "t");
  ASSERT_EQ(c.recent_notices(10).size(), 1U);
  EXPECT_EQ(c.recent_notices(10)[0].message, "kept yours");
  c.set("user_id", "u1");
  EXPECT_EQ(c.get("user_id"), "u1");
  EXPECT_FALSE(c.get("missing").has_value());
}

}  // namespace
}  // namespace fun_notes::cli::sync

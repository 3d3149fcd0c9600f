// The room replica: local edits, the join state machine, and the offline merge rules.
#include "sync/replica.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fun_notes/core/codec.hpp"

namespace fun_notes::cli::sync {
namespace {

core::note make_note(std::string id, std::string title, double index, std::string body = "") {
  core::note n;
  n.id = std::move(id);
  n.title = std::move(title);
  n.body = std::move(body);
  n.current_index = index;
  n.seq = 1;
  return n;
}

room_info info() {
  return room_info{"r1", "Room", "link", "editor", 0, 0};
}

// A replica restored from a cache holding notes a, b, c at seq 3.
replica cached() {
  return replica(info(),
                 core::room_state(3, {make_note("a", "A", 1024), make_note("b", "B", 2048),
                                      make_note("c", "C", 3072)}),
                 {});
}

std::vector<std::string> titles(const replica& r) {
  std::vector<std::string> out;
  for (const auto& n : r.view()) {
    out.push_back(n.title);
  }
  return out;
}

boost::json::object parse(const std::string& frame) {
  return boost::json::parse(frame).as_object();
}

op_msg remote(std::int64_t seq, core::op o, std::string cid = "other-1") {
  return op_msg{"r1", std::move(cid), "u2", core::applied_op{seq, "2026-12-02T00:00:00.000Z", o}};
}

// Connects and completes a resume answer with no ops in between.
effects go_live(replica& r) {
  effects fx = r.on_connected();
  fx.append(r.on_message(resume_msg{"r1", r.base().seq()}));
  fx.append(r.on_message(presence_msg{"r1", 1, {{"u1", "me"}}}));
  return fx;
}

core::update_op set_title(std::string id, std::string title) {
  core::update_op u;
  u.id = std::move(id);
  u.title = std::move(title);
  return u;
}

core::update_op set_body(std::string id, std::string body) {
  core::update_op u;
  u.id = std::move(id);
  u.body = std::move(body);
  return u;
}

TEST(replica, offline_edits_show_at_once_and_wait_in_the_outbox) {
  replica r = cached();
  effects fx = r.create(core::create_op{"d", "D", "", false, false, 4096}, "c1", "t");
  EXPECT_TRUE(fx.frames.empty());
  EXPECT_TRUE(fx.persist);
  fx = r.update(set_title("a", "A2"), "c2", "t");
  EXPECT_TRUE(fx.frames.empty());
  EXPECT_EQ(titles(r), (std::vector<std::string>{"A2", "B", "C", "D"}));
  EXPECT_EQ(r.outbox().size(), 2U);
  EXPECT_EQ(r.base().seq(), 3);
  EXPECT_EQ(r.base().find("a")->title, "A");
}

TEST(replica, the_join_asks_since_the_base_and_the_outbox_goes_out_after_the_replay) {
  replica r = cached();
  (void)r.update(set_title("a", "A2"), "c1", "t");
  effects fx = r.on_connected();
  ASSERT_EQ(fx.frames.size(), 1U);
  EXPECT_EQ(parse(fx.frames[0]).at("type"), "join");
  EXPECT_EQ(parse(fx.frames[0]).at("since"), 3);
  EXPECT_EQ(r.state(), link_state::joining);
  fx = r.on_message(resume_msg{"r1", 3});
  EXPECT_TRUE(fx.frames.empty());
  fx = r.on_message(remote(4, core::op{set_title("b", "B2")}));
  EXPECT_TRUE(fx.frames.empty());  // still the replay
  fx = r.on_message(presence_msg{"r1", 2, {{"u1", "me"}, {"u2", "you"}}});
  ASSERT_EQ(fx.frames.size(), 1U);
  const auto op = parse(fx.frames[0]);
  EXPECT_EQ(op.at("cid"), "c1");
  EXPECT_EQ(op.at("op").at("set").at("title"), "A2");
  EXPECT_EQ(r.state(), link_state::live);
  EXPECT_EQ(r.users().size(), 2U);
  EXPECT_EQ(titles(r), (std::vector<std::string>{"A2", "B2", "C"}));
}

TEST(replica, an_echo_acknowledges_without_changing_the_view) {
  replica r = cached();
  go_live(r);
  effects fx = r.update(set_title("a", "A2"), "c1", "t");
  ASSERT_EQ(fx.frames.size(), 1U);
  const auto before = titles(r);
  fx = r.on_message(remote(4, core::op{set_title("a", "A2")}, "c1"));
  EXPECT_TRUE(r.outbox().empty());
  EXPECT_EQ(titles(r), before);
  EXPECT_EQ(r.base().find("a")->title, "A2");
  EXPECT_EQ(r.base().seq(), 4);
}

TEST(replica, an_op_in_doubt_acknowledged_by_the_replay_is_not_sent_again) {
  replica r = cached();
  go_live(r);
  (void)r.update(set_title("a", "A2"), "c1", "t");
  (void)r.update(set_title("b", "B2"), "c2", "t");
  r.on_disconnected();
  effects fx = r.on_connected();
  fx.append(r.on_message(resume_msg{"r1", 3}));
  fx.append(r.on_message(remote(4, core::op{set_title("a", "A2")}, "c1")));  // numbered
  fx.append(r.on_message(presence_msg{"r1", 1, {}}));
  // The join frame, then only c2 again.
  ASSERT_EQ(fx.frames.size(), 2U);
  EXPECT_EQ(parse(fx.frames[1]).at("cid"), "c2");
}

TEST(replica, after_a_snapshot_every_unacknowledged_op_is_sent_again) {
  replica r = cached();
  go_live(r);
  (void)r.update(set_title("a", "A2"), "c1", "t");
  r.on_disconnected();
  effects fx = r.on_connected();
  fx.append(r.on_message(snapshot_msg{"r1", 9, info(), {make_note("a", "A", 1024)}}));
  fx.append(r.on_message(presence_msg{"r1", 1, {}}));
  ASSERT_EQ(fx.frames.size(), 2U);
  EXPECT_EQ(parse(fx.frames[1]).at("cid"), "c1");
  EXPECT_EQ(r.base().seq(), 9);
  EXPECT_EQ(titles(r), (std::vector<std::string>{"A2"}));
}

TEST(replica, move_down_and_up_puts_the_note_between_its_new_neighbours) {
  replica r = cached();
  (void)r.move("a", {move_target::kind::down}, "c1", "t");
  EXPECT_EQ(titles(r), (std::vector<std::string>{"B", "A", "C"}));
  const auto& m = std::get<core::move_op>(r.outbox().back().op);
  EXPECT_GT(m.current_index, 2048);
  EXPECT_LT(m.current_index, 3072);
  (void)r.move("c", {move_target::kind::top}, "c2", "t");
  EXPECT_EQ(titles(r), (std::vector<std::string>{"C", "B", "A"}));
  (void)r.move("c", {move_target::kind::position, 2}, "c3", "t");
  EXPECT_EQ(titles(r), (std::vector<std::string>{"B", "A", "C"}));
  effects fx = r.move("b", {move_target::kind::up}, "c4", "t");  // already first
  EXPECT_FALSE(fx.view_changed);
  EXPECT_EQ(r.outbox().size(), 3U);
}

TEST(replica, a_move_into_an_exhausted_gap_rebalances_a_window_around_it) {
  // Neighbours one ulp apart: no index fits between them.
  const double x = 1024.0;
  const double y = std::nextafter(x, 2048.0);
  replica r(info(),
            core::room_state(3, {make_note("a", "A", 0), make_note("b", "B", x),
                                 make_note("c", "C", y), make_note("d", "D", 4096)}),
            {});
  (void)r.move("a", {move_target::kind::position, 1}, "c1", "t");  // between B and C
  EXPECT_EQ(titles(r), (std::vector<std::string>{"B", "A", "C", "D"}));
  ASSERT_EQ(r.outbox().size(), 1U);
  EXPECT_TRUE(std::holds_alternative<core::rebalance_op>(r.outbox()[0].op));
  const auto& view = r.view();
  for (std::size_t i = 1; i < view.size(); ++i) {
    EXPECT_LT(view[i - 1].current_index, view[i].current_index);
  }
}

TEST(replica, a_field_changed_on_both_sides_keeps_the_local_value_and_tells_the_user) {
  replica r = cached();
  (void)r.update(set_title("a", "mine"), "c1", "t");
  effects fx = r.on_connected();
  fx.append(r.on_message(resume_msg{"r1", 3}));
  fx.append(r.on_message(remote(4, core::op{set_title("a", "theirs")})));
  fx.append(r.on_message(remote(5, core::op{set_body("b", "their body")})));
  fx.append(r.on_message(presence_msg{"r1", 2, {}}));
  ASSERT_EQ(fx.notices.size(), 1U);
  EXPECT_NE(fx.notices[0].message.find("theirs"), std::string::npos);
  EXPECT_EQ(fx.notices[0].note_id, "a");
  EXPECT_EQ(r.find("a")->title, "mine");
  EXPECT_EQ(r.find("b")->body, "their body");  // changed only remotely: theirs
  ASSERT_EQ(fx.frames.size(), 2U);             // join, then the edit
}

TEST(replica, a_field_changed_only_locally_and_one_changed_only_remotely_both_survive) {
  replica r = cached();
  (void)r.update(set_body("a", "my body"), "c1", "t");
  effects fx = r.on_connected();
  fx.append(r.on_message(resume_msg{"r1", 3}));
  fx.append(r.on_message(remote(4, core::op{set_title("a", "their title")})));
  fx.append(r.on_message(presence_msg{"r1", 2, {}}));
  EXPECT_TRUE(fx.notices.empty());
  EXPECT_EQ(r.find("a")->title, "their title");
  EXPECT_EQ(r.find("a")->body, "my body");
}

TEST(replica, an_offline_edit_of_a_note_someone_deleted_brings_it_back) {
  replica r = cached();
  (void)r.update(set_body("b", "typed offline"), "c1", "t");
  (void)r.move("b", {move_target::kind::bottom}, "c2", "t");
  effects fx = r.on_connected();
  fx.append(r.on_message(
      snapshot_msg{"r1", 7, info(), {make_note("a", "A", 1024), make_note("c", "C", 3072)}}));
  fx.append(r.on_message(presence_msg{"r1", 2, {}}));
  ASSERT_EQ(fx.notices.size(), 1U);
  EXPECT_NE(fx.notices[0].message.find("brought it back"), std::string::npos);
  ASSERT_EQ(r.outbox().size(), 1U);
  const auto& c = std::get<core::create_op>(r.outbox()[0].op);
  EXPECT_EQ(c.id, "b");
  EXPECT_EQ(c.title, "B");
  EXPECT_EQ(c.body, "typed offline");
  EXPECT_GT(c.current_index, 3072);  // where the offline move put it
  EXPECT_EQ(titles(r), (std::vector<std::string>{"A", "C", "B"}));
  ASSERT_EQ(fx.frames.size(), 2U);
  EXPECT_EQ(parse(fx.frames[1]).at("op").at("kind"), "create");
}

TEST(replica, an_offline_move_of_a_note_someone_deleted_is_dropped_with_a_notice) {
  replica r = cached();
  (void)r.move("b", {move_target::kind::top}, "c1", "t");
  effects fx = r.on_connected();
  fx.append(r.on_message(resume_msg{"r1", 3}));
  fx.append(r.on_message(remote(4, core::op{core::delete_op{"b"}})));
  fx.append(r.on_message(presence_msg{"r1", 2, {}}));
  ASSERT_EQ(fx.notices.size(), 1U);
  EXPECT_NE(fx.notices[0].message.find("dropped"), std::string::npos);
  EXPECT_TRUE(r.outbox().empty());
  EXPECT_EQ(titles(r), (std::vector<std::string>{"A", "C"}));
}

TEST(replica, a_live_unsent_edit_meets_a_remote_delete_and_restores_the_note) {
  replica r = cached();
  go_live(r);
  (void)r.on_message(reject_msg{});  // nothing
  // An edit refused for the rate limit waits unsent; then someone deletes the note.
  (void)r.update(set_title("a", "A2"), "c1", "t");
  (void)r.on_message(reject_msg{"r1", "c1", "rate_limited", "slow down"});
  EXPECT_TRUE(r.has_unsent());
  effects fx = r.on_message(remote(4, core::op{core::delete_op{"a"}}));
  ASSERT_EQ(fx.notices.size(), 1U);
  ASSERT_EQ(fx.frames.size(), 1U);
  EXPECT_EQ(parse(fx.frames[0]).at("op").at("kind"), "create");
  EXPECT_EQ(r.find("a")->title, "A2");
}

TEST(replica, a_sent_edit_numbered_after_a_remote_delete_restores_the_note_on_its_echo) {
  replica r = cached();
  go_live(r);
  (void)r.update(set_title("a", "A2"), "c1", "t");
  effects fx = r.on_message(remote(4, core::op{core::delete_op{"a"}}));
  EXPECT_TRUE(fx.notices.empty());  // the echo decides
  fx = r.on_message(remote(5, core::op{set_title("a", "A2")}, "c1"));
  ASSERT_EQ(fx.notices.size(), 1U);
  ASSERT_EQ(fx.frames.size(), 1U);
  const auto create = parse(fx.frames[0]);
  EXPECT_EQ(create.at("op").at("note").at("title"), "A2");
  EXPECT_EQ(r.find("a")->title, "A2");
}

TEST(replica, an_offline_delete_of_a_note_someone_edited_is_not_carried_out) {
  replica r = cached();
  (void)r.remove("c", "c1", "t");
  EXPECT_EQ(titles(r), (std::vector<std::string>{"A", "B"}));
  effects fx = r.on_connected();
  fx.append(r.on_message(resume_msg{"r1", 3}));
  fx.append(r.on_message(remote(4, core::op{set_body("c", "their words")})));
  fx.append(r.on_message(presence_msg{"r1", 2, {}}));
  ASSERT_EQ(fx.notices.size(), 1U);
  EXPECT_NE(fx.notices[0].message.find("not deleted"), std::string::npos);
  EXPECT_TRUE(r.outbox().empty());
  EXPECT_EQ(r.find("c")->body, "their words");
  EXPECT_EQ(fx.frames.size(), 1U);  // the join only
}

TEST(replica, a_gap_in_the_stream_joins_again_from_the_base) {
  replica r = cached();
  go_live(r);
  effects fx = r.on_message(remote(6, core::op{set_title("a", "x")}));
  EXPECT_TRUE(fx.gap);
  ASSERT_EQ(fx.frames.size(), 1U);
  EXPECT_EQ(parse(fx.frames[0]).at("since"), 3);
  EXPECT_EQ(r.base().find("a")->title, "A");  // not applied past the gap
}

TEST(replica, a_refused_op_is_dropped_and_told_a_retryable_one_is_sent_again) {
  replica r = cached();
  go_live(r);
  (void)r.update(set_title("a", "A2"), "c1", "t");
  effects fx = r.on_message(reject_msg{"r1", "c1", "forbidden", "viewers cannot edit"});
  EXPECT_TRUE(r.outbox().empty());
  ASSERT_EQ(fx.notices.size(), 1U);
  EXPECT_EQ(r.find("a")->title, "A");
  (void)r.update(set_title("b", "B2"), "c2", "t");
  (void)r.on_message(reject_msg{"r1", "c2", "unavailable", "try later"});
  fx = r.flush();
  ASSERT_EQ(fx.frames.size(), 1U);
  EXPECT_EQ(parse(fx.frames[0]).at("cid"), "c2");
}

TEST(replica, unsent_edits_of_one_note_travel_as_one_op) {
  replica r = cached();
  (void)r.update(set_title("a", "A1"), "c1", "t");
  (void)r.update(set_body("a", "body"), "c2", "t");
  ASSERT_EQ(r.outbox().size(), 1U);
  const auto& u = std::get<core::update_op>(r.outbox()[0].op);
  EXPECT_EQ(u.title, "A1");
  EXPECT_EQ(u.body, "body");
  EXPECT_EQ(r.outbox()[0].cid, "c1");
}

TEST(replica, an_edit_over_the_servers_limit_is_refused_locally_with_words) {
  replica r = cached();
  core::limits lim;
  lim.max_title_bytes = 8;
  r.set_limits(lim);
  effects fx = r.update(set_title("a", "far too long a title"), "c1", "t");
  ASSERT_EQ(fx.notices.size(), 1U);
  EXPECT_NE(fx.notices[0].message.find("too long"), std::string::npos);
  EXPECT_TRUE(r.outbox().empty());
}

TEST(replica, a_viewer_cannot_edit) {
  room_info viewer = info();
  viewer.role = "viewer";
  replica r(viewer, core::room_state(3, {make_note("a", "A", 1)}), {});
  effects fx = r.update(set_title("a", "x"), "c1", "t");
  EXPECT_EQ(fx.notices.size(), 1U);
  EXPECT_TRUE(r.outbox().empty());
}

TEST(replica, a_join_refused_keeps_the_room_offline_with_its_cache) {
  replica r = cached();
  (void)r.on_connected();
  effects fx = r.on_message(error_msg{"not_found", "r1", "no such room"});
  EXPECT_EQ(r.state(), link_state::offline);
  ASSERT_TRUE(r.join_error().has_value());
  EXPECT_EQ(titles(r).size(), 3U);
}

TEST(replica, a_role_message_makes_the_room_read_only_and_back) {
  replica r = cached();
  go_live(r);
  effects fx = r.on_message(role_msg{"r1", "viewer"});
  EXPECT_TRUE(r.read_only());
  EXPECT_EQ(fx.notices.size(), 1U);
  EXPECT_TRUE(r.update(set_title("a", "x"), "c1", "t").frames.empty());
  (void)r.on_message(role_msg{"r1", "editor"});
  EXPECT_FALSE(r.read_only());
  EXPECT_FALSE(r.update(set_title("a", "x"), "c2", "t").frames.empty());
  (void)r.on_message(role_msg{"another-room", "viewer"});
  EXPECT_FALSE(r.read_only()) << "another room's role";
}

TEST(replica, losing_access_while_live_takes_the_room_offline_and_says_why) {
  replica r = cached();
  go_live(r);
  effects fx = r.on_message(error_msg{"forbidden", "r1", "you no longer have access"});
  EXPECT_EQ(r.state(), link_state::offline);
  ASSERT_TRUE(r.join_error().has_value());
  ASSERT_EQ(fx.notices.size(), 1U);
  EXPECT_NE(fx.notices[0].message.find("no longer have access"), std::string::npos);
  replica other = cached();
  go_live(other);
  (void)other.on_message(error_msg{"forbidden", "elsewhere", "not yours"});
  EXPECT_EQ(other.state(), link_state::live) << "an error about another room";
}

TEST(replica, dirty_tracking_names_the_notes_an_op_touched) {
  replica r = cached();
  go_live(r);
  (void)r.take_dirty();
  (void)r.on_message(remote(4, core::op{set_title("b", "B2")}));
  dirty_set d = r.take_dirty();
  EXPECT_FALSE(d.everything);
  EXPECT_EQ(d.notes, (std::set<std::string>{"b"}));
  EXPECT_TRUE(r.take_dirty().empty());
}

TEST(replica, ops_another_process_queued_are_adopted_once_and_sent_after_the_join) {
  replica r = cached();
  (void)r.update(set_title("a", "mine"), "c1", "t");
  go_live(r);
  (void)r.on_message(remote(4, core::op{set_title("a", "mine")}, "c1"));  // c1 acknowledged
  (void)r.take_dirty();
  r.on_disconnected();
  const std::vector<local_op> in_cache = {
      local_op{"c1", core::op{set_title("a", "mine")}, "t", false},  // stale row: settled here
      local_op{"cli-1", core::op{core::create_op{"z", "from a command", "", false, false, 9000}},
               "t", false}};
  effects fx = r.adopt(in_cache);
  EXPECT_TRUE(fx.frames.empty());  // offline: waits for the join
  ASSERT_EQ(r.outbox().size(), 1U);
  EXPECT_EQ(r.outbox()[0].cid, "cli-1");
  EXPECT_EQ(r.view().back().title, "from a command");
  (void)r.adopt(in_cache);  // again: nothing new
  EXPECT_EQ(r.outbox().size(), 1U);
  fx = go_live(r);
  ASSERT_EQ(fx.frames.size(), 2U);  // the join, then the adopted op
  EXPECT_EQ(parse(fx.frames[1]).at("cid"), "cli-1");
}

TEST(id_source, is_deterministic_per_seed_and_valid_as_a_note_id) {
  id_source a(42);
  id_source b(42);
  id_source c(43);
  const std::string first = a.next();
  EXPECT_EQ(first, b.next());
  EXPECT_NE(first, c.next());
  EXPECT_TRUE(core::valid_id(first));
  EXPECT_NE(a.next(), first);
}

}  // namespace
}  // namespace fun_notes::cli::sync

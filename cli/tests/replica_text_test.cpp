// The replica's text ops: the classic OT client (one op per field in flight, later typing
// composed), others' ops moving both, the edit that beats a concurrent delete, ops in doubt
// after a reconnect; and a seeded run of several replicas against a model server that
// transforms as the real one does, all ending on one text with every surviving character.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <deque>
#include <map>
#include <random>
#include <set>

#include "fun_notes/core/codec.hpp"
#include "sync/replica.hpp"
#include "sync/text_edit.hpp"
#include "sync/undo.hpp"

namespace fun_notes::cli::sync {
namespace {

constexpr auto body = core::text_field::body;

core::note make_note(std::string id, std::string title, double index, std::string text = "") {
  core::note n;
  n.id = std::move(id);
  n.title = std::move(title);
  n.body = std::move(text);
  n.current_index = index;
  n.seq = 1;
  return n;
}

replica cached(std::string text = "hello") {
  return replica(room_info{"r1", "Room", "link", "editor", 0, 0},
                 core::room_state(3, {make_note("a", "A", 1024, std::move(text))}), {});
}

effects go_live(replica& r) {
  effects fx = r.on_connected();
  fx.append(r.on_message(resume_msg{"r1", r.base().seq()}));
  fx.append(r.on_message(presence_msg{"r1", 1, {{"u1", "me"}}}));
  return fx;
}

boost::json::object parse(const std::string& frame) {
  return boost::json::parse(frame).as_object();
}

core::text_op insert_at(std::size_t at, std::string_view text, std::size_t length) {
  core::text_op op;
  op.retain(at).insert(text).retain(length - at);
  return op;
}

// The op a frame carries, as the server would number it at `seq` (unchanged: nothing came in
// between).
op_msg echo_of(const std::string& frame, std::int64_t seq) {
  const auto o = parse(frame);
  auto op = core::parse_op(o.at("op"));
  return op_msg{"r1", std::string(o.at("cid").as_string()), "u1",
                core::applied_op{seq, "2026-12-03T00:00:00.000Z", *op}};
}

op_msg remote(std::int64_t seq, core::op o) {
  return op_msg{"r1", "other-" + std::to_string(seq), "u2",
                core::applied_op{seq, "2026-12-03T00:00:00.000Z", std::move(o)}};
}

const std::string& shown(const replica& r) {
  return r.find("a")->body;
}

TEST(replica_text, one_op_in_flight_per_field_and_later_typing_composed) {
  replica r = cached();
  go_live(r);
  effects fx = r.edit_text("a", body, insert_at(5, " w", 5), "c1", "t");
  ASSERT_EQ(fx.frames.size(), 1U);
  EXPECT_EQ(parse(fx.frames[0]).at("op").at("base"), 3);
  const std::string first = fx.frames[0];
  // Two more keystrokes while c1 is in flight: nothing goes out, one op waits.
  EXPECT_TRUE(r.edit_text("a", body, insert_at(7, "o", 7), "c2", "t").frames.empty());
  EXPECT_TRUE(r.edit_text("a", body, insert_at(8, "r", 8), "c3", "t").frames.empty());
  EXPECT_EQ(r.outbox().size(), 2U);
  EXPECT_EQ(shown(r), "hello wor");
  // The echo acknowledges c1 and lets the composed op go, based on the echo's seq.
  fx = r.on_message(echo_of(first, 4));
  ASSERT_EQ(fx.frames.size(), 1U);
  const auto next = parse(fx.frames[0]);
  EXPECT_EQ(next.at("cid"), "c2");
  EXPECT_EQ(next.at("op").at("base"), 4);
  EXPECT_EQ(boost::json::serialize(next.at("op").at("ops")), R"([7,"or"])");
  EXPECT_EQ(shown(r), "hello wor");
}

TEST(replica_text, anothers_op_moves_the_ops_in_flight_and_waiting_and_is_told_as_a_view_change) {
  replica r = cached();
  go_live(r);
  const std::string first = r.edit_text("a", body, insert_at(5, "!", 5), "c1", "t").frames.at(0);
  (void)r.edit_text("a", body, insert_at(6, "?", 6), "c2", "t");
  // Someone inserts at the start, numbered before our op.
  effects fx = r.on_message(remote(4, core::text_edit_op{"a", body, 3, insert_at(0, ">> ", 5)}));
  EXPECT_EQ(shown(r), ">> hello!?");
  ASSERT_EQ(fx.text_changes.size(), 1U);
  ASSERT_TRUE(fx.text_changes[0].op.has_value());
  // The change as the view sees it: it applies to the text shown before it.
  EXPECT_EQ(*core::apply_text_op(*fx.text_changes[0].op, "hello!?"), ">> hello!?");
  // The server transformed c1 past seq 4 as the replica did: its echo changes nothing shown.
  core::text_edit_op numbered{"a", body, 4, insert_at(8, "!", 8)};
  fx = r.on_message(op_msg{"r1", "c1", "u1", core::applied_op{5, "t", core::op{numbered}}});
  EXPECT_EQ(shown(r), ">> hello!?");
  ASSERT_EQ(fx.frames.size(), 1U);
  EXPECT_EQ(boost::json::serialize(parse(fx.frames[0]).at("op").at("ops")), R"([9,"?"])");
  (void)first;
}

TEST(replica_text, a_plain_update_of_the_field_rebases_the_typing_and_a_conflict_resends_it) {
  replica r = cached("hello");
  go_live(r);
  (void)r.edit_text("a", body, insert_at(5, " there", 5), "c1", "t");
  core::update_op u;
  u.id = "a";
  u.body = "hello world";
  (void)r.on_message(remote(4, core::op{u}));
  // Both inserted at one place: the numbered one goes first.
  EXPECT_EQ(shown(r), "hello world there");
  // The server refuses c1 (the field was set after its base); the flush sends it rebased.
  (void)r.on_message(reject_msg{"r1", "c1", "conflict", "rebase"});
  const effects fx = r.flush();
  ASSERT_EQ(fx.frames.size(), 1U);
  const auto op = parse(fx.frames[0]).at("op");
  EXPECT_EQ(op.at("base"), 4);
  EXPECT_EQ(boost::json::serialize(op.at("ops")), R"([11," there"])");
}

TEST(replica_text, typing_beats_a_concurrent_delete_the_note_comes_back_with_the_text) {
  replica r = cached("hello");
  go_live(r);
  (void)r.edit_text("a", body, insert_at(5, " world", 5), "c1", "t");
  const effects fx = r.on_message(remote(4, core::op{core::delete_op{"a"}}));
  ASSERT_NE(r.find("a"), nullptr);
  EXPECT_EQ(shown(r), "hello world");
  ASSERT_EQ(fx.notices.size(), 1U);
  EXPECT_NE(fx.notices[0].message.find("brought it back"), std::string::npos);
  ASSERT_EQ(r.outbox().size(), 1U);
  EXPECT_TRUE(std::holds_alternative<core::create_op>(r.outbox()[0].op));
  // A late refusal of the dropped text op changes nothing.
  (void)r.on_message(reject_msg{"r1", "c1", "conflict", "deleted"});
  EXPECT_EQ(shown(r), "hello world");
}

TEST(replica_text, the_resume_replay_acknowledges_an_op_in_doubt_and_the_join_names_it) {
  replica r = cached();
  go_live(r);
  const std::string sent = r.edit_text("a", body, insert_at(5, "!", 5), "c1", "t").frames.at(0);
  r.on_disconnected();
  effects fx = r.on_connected();
  const auto join = parse(fx.frames.at(0));
  EXPECT_EQ(boost::json::serialize(join.at("in_doubt")), R"(["c1"])");
  fx = r.on_message(resume_msg{"r1", 3});
  fx.append(r.on_message(echo_of(sent, 4)));
  fx.append(r.on_message(presence_msg{"r1", 1, {}}));
  EXPECT_TRUE(fx.frames.empty());
  EXPECT_TRUE(r.outbox().empty());
  EXPECT_EQ(shown(r), "hello!");
}

TEST(replica_text, after_a_snapshot_a_numbered_op_is_dropped_and_the_rest_rebased) {
  replica r = cached("hello");
  go_live(r);
  (void)r.edit_text("a", body, insert_at(5, "!", 5), "c1", "t");  // in flight
  (void)r.edit_text("a", body, insert_at(6, "?", 6), "c2", "t");  // waiting
  r.on_disconnected();
  (void)r.on_connected();
  snapshot_msg snap;
  snap.room = "r1";
  snap.seq = 9;
  snap.notes = {make_note("a", "A", 1024, ">> hello!")};  // c1 numbered, and someone's prefix
  snap.checked_from = 4;
  snap.numbered = {{"c1", 6}};
  effects fx = r.on_message(snap);
  fx.append(r.on_message(presence_msg{"r1", 1, {}}));
  EXPECT_EQ(shown(r), ">> hello!?");
  ASSERT_EQ(fx.frames.size(), 1U);
  const auto op = parse(fx.frames[0]);
  EXPECT_EQ(op.at("cid"), "c2");
  EXPECT_EQ(op.at("op").at("base"), 9);
  EXPECT_EQ(boost::json::serialize(op.at("op").at("ops")), R"([9,"?"])");
}

TEST(replica_text, an_op_not_numbered_before_a_snapshot_is_rebased_and_sent_again) {
  replica r = cached("hello");
  go_live(r);
  (void)r.edit_text("a", body, insert_at(5, "!", 5), "c1", "t");
  r.on_disconnected();
  (void)r.on_connected();
  snapshot_msg snap;
  snap.room = "r1";
  snap.seq = 9;
  snap.notes = {make_note("a", "A", 1024, "oh hello")};
  snap.checked_from = 4;
  effects fx = r.on_message(snap);
  fx.append(r.on_message(presence_msg{"r1", 1, {}}));
  EXPECT_EQ(shown(r), "oh hello!");
  ASSERT_EQ(fx.frames.size(), 1U);
  EXPECT_EQ(boost::json::serialize(parse(fx.frames[0]).at("op").at("ops")), R"([8,"!"])");
}

TEST(replica_text, a_duplicate_answer_drops_the_resend) {
  replica r = cached();
  go_live(r);
  (void)r.edit_text("a", body, insert_at(5, "!", 5), "c1", "t");
  (void)r.on_message(reject_msg{"r1", "c1", "duplicate", "held already"});
  EXPECT_TRUE(r.outbox().empty());
  EXPECT_EQ(shown(r), "hello");
}

TEST(replica_text, typing_past_the_limit_is_refused_locally) {
  replica r = cached();
  core::limits lim;
  lim.max_body_bytes = 6;
  r.set_limits(lim);
  go_live(r);
  EXPECT_EQ(r.edit_text("a", body, insert_at(5, "!", 5), "c1", "t").frames.size(), 1U);
  const effects fx = r.edit_text("a", body, insert_at(6, "?", 6), "c2", "t");
  EXPECT_TRUE(fx.frames.empty());
  ASSERT_EQ(fx.notices.size(), 1U);
  EXPECT_EQ(shown(r), "hello!");
}

TEST(replica_text, a_keystroke_diff_ends_at_the_caret) {
  // " " typed after the "a" of "a b": the insert is where the caret was, not one place later.
  EXPECT_EQ(boost::json::serialize(core::to_json(text_diff("a b", "a  b", 2))), R"([1," ",2])");
  EXPECT_EQ(boost::json::serialize(core::to_json(text_diff("a b", "a  b"))), R"([2," ",1])");
  EXPECT_EQ(boost::json::serialize(core::to_json(text_diff("añb", "ab"))), R"([1,-1,1])");
  EXPECT_EQ(change_size(text_diff("hello", "help!")), 4U);
  // Two separate changes stay two (the smallest diff), so a rebase over them keeps the rest.
  const core::text_op two = text_diff("abcde", "axcye");
  EXPECT_EQ(change_size(two), 4U);
  EXPECT_EQ(*core::apply_text_op(two, "abcde"), "axcye");
}

// --- undo ----------------------------------------------------------------------------------

TEST(undo, undo_of_typing_removes_only_ones_own_words_after_anothers_edit) {
  undo_history h;
  std::string text = "hello";
  const core::text_op mine = insert_at(5, " world", 5);
  h.record_text("a", body, mine, text, 1000);
  text = *core::apply_text_op(mine, text);
  // Someone else inserts at the front.
  const core::text_op theirs = insert_at(0, "oh ", 11);
  text = *core::apply_text_op(theirs, text);
  h.transform("a", body, theirs);
  auto step = h.pop_undo();
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(*core::apply_text_op(step->op, text), "oh hello");
}

TEST(undo, consecutive_typing_is_one_step_and_a_pause_starts_another) {
  undo_history h;
  std::string text;
  const auto type = [&](std::string_view s, std::int64_t at) {
    const core::text_op op =
        insert_at(core::utf8_code_points(text).value(), s, core::utf8_code_points(text).value());
    h.record_text("a", body, op, text, at);
    text = *core::apply_text_op(op, text);
  };
  type("a", 0);
  type("b", 100);
  type("c", 200);
  type("d", 5000);
  EXPECT_EQ(h.undo_steps().size(), 2U);
  // Applying a step moves the others over it, as the client does.
  const auto undo_one = [&] {
    const auto step = h.pop_undo();
    text = *core::apply_text_op(step->op, text);
    h.transform("a", body, step->op);
  };
  undo_one();
  EXPECT_EQ(text, "abc");
  undo_one();
  EXPECT_EQ(text, "");
}

// --- many replicas against a model server ----------------------------------------------------

// The server's text rules in miniature: a text op is transformed against every text op on its
// field numbered after its base (the numbered one first on a tie), then numbered; a plain
// update after the base answers conflict; a text op whose user and cid were numbered already is
// answered `duplicate` (numbered at or below its base) or dropped (above). A join is answered
// with a resume and its replay, or a snapshot that says which ops in doubt it holds.
class model_server {
 public:
  explicit model_server(core::room_state start) : state_(std::move(start)) {}

  struct answer {
    std::vector<server_msg> to_all;     // numbered ops
    std::vector<server_msg> to_sender;  // rejects, the join's answer
  };

  answer take(const std::string& frame, bool snapshot_on_join) {
    const auto o = parse(frame);
    if (o.at("type") == "join") {
      return join(o, snapshot_on_join);
    }
    const std::string cid(o.at("cid").as_string());
    auto op = core::parse_op(o.at("op"));
    if (!op) {
      return {{}, {reject_msg{"r1", cid, "invalid", op.err().message}}};
    }
    if (auto* t = std::get_if<core::text_edit_op>(&*op)) {
      for (const auto& [seq, past_cid, past] : history_) {
        if (past_cid == cid) {
          if (seq <= t->base) {
            return {{}, {reject_msg{"r1", cid, "duplicate", "numbered already"}}};
          }
          return {};
        }
      }
      for (const auto& [seq, past_cid, past] : history_) {
        if (seq <= t->base) {
          continue;
        }
        if (const auto* pt = std::get_if<core::text_edit_op>(&past);
            pt != nullptr && pt->id == t->id && pt->field == t->field) {
          auto moved = core::transform(t->ops, pt->ops, false);
          if (!moved) {
            return {{}, {reject_msg{"r1", cid, "invalid", moved.err().message}}};
          }
          t->ops = moved->first;
        } else if (!std::holds_alternative<core::text_edit_op>(past) &&
                   !std::holds_alternative<core::move_op>(past)) {
          return {{}, {reject_msg{"r1", cid, "conflict", "the field was set"}}};
        }
      }
      t->base = state_.seq();
    }
    const std::int64_t seq = state_.seq() + 1;
    state_.apply(core::applied_op{seq, "t", *op});
    history_.emplace_back(seq, cid, *op);
    return {{op_msg{"r1", cid, "u", core::applied_op{seq, "t", *op}}}, {}};
  }
  const core::room_state& state() const { return state_; }

 private:
  answer join(const boost::json::object& o, bool snapshot) {
    answer a;
    if (snapshot) {
      snapshot_msg m;
      m.room = "r1";
      m.seq = state_.seq();
      m.notes = state_.sorted_notes();
      m.checked_from = 1;
      if (const auto* doubt = o.if_contains("in_doubt")) {
        for (const auto& cid : doubt->as_array()) {
          for (const auto& [seq, past_cid, past] : history_) {
            if (past_cid == cid.as_string()) {
              m.numbered.emplace(std::string(cid.as_string()), seq);
            }
          }
        }
      }
      a.to_sender.emplace_back(std::move(m));
    } else {
      const std::int64_t since = o.at("since").as_int64();
      a.to_sender.emplace_back(resume_msg{"r1", since});
      for (const auto& [seq, cid, past] : history_) {
        if (seq > since) {
          a.to_sender.emplace_back(op_msg{"r1", cid, "u", core::applied_op{seq, "t", past}});
        }
      }
    }
    a.to_sender.emplace_back(presence_msg{"r1", 1, {}});
    return a;
  }

  core::room_state state_;
  std::vector<std::tuple<std::int64_t, std::string, core::op>> history_;
};

// An ASCII-free character of its own for each keystroke, so the expected text is known.
std::string unique_char(int n) {
  const char32_t cp = U'\u4e00' + static_cast<char32_t>(n);
  std::string ch;
  ch += static_cast<char>(0xE0 | (cp >> 12));
  ch += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  ch += static_cast<char>(0x80 | (cp & 0x3F));
  return ch;
}

TEST(replica_text, seeded_replicas_typing_into_one_body_converge_and_keep_every_character) {
  // FUN_NOTES_REPLICA_RUNS runs more (thousands on demand).
  const char* more = std::getenv("FUN_NOTES_REPLICA_RUNS");
  const int runs = more != nullptr ? std::atoi(more) : 200;
  int reconnects = 0;
  int snapshots = 0;
  for (int run = 0; run < runs; ++run) {
    std::mt19937 rng(static_cast<unsigned>(run));
    const auto pick = [&](std::size_t n) {
      return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };
    const core::room_state start(3, {make_note("a", "A", 1024, "")});
    model_server server(start);
    constexpr std::size_t clients = 3;
    std::vector<replica> replicas;
    std::vector<std::deque<std::string>> up(clients);   // client → server, in order
    std::vector<std::deque<server_msg>> down(clients);  // server → client, in order
    std::vector<bool> subscribed(clients, true);        // gets the room's ops
    for (std::size_t c = 0; c < clients; ++c) {
      replicas.emplace_back(room_info{"r1", "Room", "link", "editor", 0, 0}, start,
                            std::vector<local_op>{});
      (void)go_live(replicas.back());
    }
    std::set<std::string> typed;  // every character typed (each one unique)
    std::set<std::string> erased;
    int next_char = 0;
    const auto send = [&](std::size_t c, const effects& fx) {
      for (const std::string& f : fx.frames) {
        up[c].push_back(f);
      }
    };
    // The server takes the client's next frame: an op goes to everyone in the room, a reject
    // and a join's answer back to the sender.
    const auto deliver_up = [&](std::size_t c) {
      if (up[c].empty()) {
        return false;
      }
      const bool join = parse(up[c].front()).at("type") == "join";
      auto a = server.take(up[c].front(), pick(2) == 0);
      if (join) {
        subscribed[c] = true;
        snapshots += std::holds_alternative<snapshot_msg>(a.to_sender.front()) ? 1 : 0;
      }
      for (server_msg& m : a.to_sender) {
        down[c].push_back(std::move(m));
      }
      for (const server_msg& m : a.to_all) {
        for (std::size_t d = 0; d < clients; ++d) {
          if (subscribed[d]) {
            down[d].push_back(m);
          }
        }
      }
      up[c].pop_front();
      return true;
    };
    // The client reads the next frame the server sent it.
    const auto deliver_down = [&](std::size_t c) {
      if (down[c].empty()) {
        return false;
      }
      send(c, replicas[c].on_message(down[c].front()));
      down[c].pop_front();
      send(c, replicas[c].flush());
      return true;
    };
    for (int step = 0; step < 300; ++step) {
      const std::size_t c = pick(clients);
      const std::size_t action = pick(20);
      const std::string cid = "c" + std::to_string(c) + "-" + std::to_string(step);
      const std::string text = replicas[c].find("a")->body;
      const std::size_t n = core::utf8_code_points(text).value();
      if (action < 8) {  // type one character
        const std::string ch = unique_char(next_char++);
        typed.insert(ch);
        send(c, replicas[c].edit_text("a", body, insert_at(pick(n + 1), ch, n), cid, "t"));
      } else if (action < 10) {  // erase one character
        if (n == 0) {
          continue;
        }
        const std::size_t at = pick(n);
        core::text_op op;
        op.retain(at).remove(1).retain(n - at - 1);
        core::text_op keep_only;
        keep_only.remove(at).retain(1).remove(n - at - 1);
        erased.insert(*core::apply_text_op(keep_only, text));
        send(c, replicas[c].edit_text("a", body, op, cid, "t"));
      } else if (action < 11) {  // the connection drops: frames on the wire are lost
        up[c].clear();
        down[c].clear();
        subscribed[c] = false;
        replicas[c].on_disconnected();
        send(c, replicas[c].on_connected());
        ++reconnects;
      } else if (action < 16) {
        deliver_up(c);
      } else {
        deliver_down(c);
      }
    }
    // Drain: everything reaches the server and back.
    for (bool busy = true; busy;) {
      busy = false;
      for (std::size_t c = 0; c < clients; ++c) {
        busy = deliver_up(c) || busy;
        busy = deliver_down(c) || busy;
      }
    }
    const std::string& final_text = server.state().find("a")->body;
    for (std::size_t c = 0; c < clients; ++c) {
      ASSERT_TRUE(replicas[c].outbox().empty()) << "run " << run << " client " << c;
      ASSERT_EQ(replicas[c].find("a")->body, final_text) << "run " << run << " client " << c;
    }
    for (const std::string& ch : typed) {
      const bool present = final_text.find(ch) != std::string::npos;
      ASSERT_EQ(present, !erased.contains(ch)) << "run " << run << " char " << ch;
    }
  }
  std::printf("replica_text: %d runs, %d reconnects, %d snapshots\n", runs, reconnects, snapshots);
  EXPECT_GT(snapshots, 0);
}

}  // namespace
}  // namespace fun_notes::cli::sync

// Hostile and broken clients: every kind of bad input gets the answer PROTOCOL.md names, changes
// nothing stored, and leaves everyone else's session working.
#include <set>
#include <thread>

#include "fixture.hpp"

namespace fun_notes::test {
namespace {

// A room with one note, an "actor" session that misbehaves and a "watcher" session that must
// not notice.
class bad_input : public server_test {
 protected:
  void SetUp() override { ASSERT_NO_THROW(start({})); }

  void start(server_process::options opts) {
    server_ = &start_server(std::move(opts));
    owner_ = register_user(port(), "actor");
    watcher_user_ = register_user(port(), "watcher");
    room_ = create_room(port(), owner_, "Target", "link");
    actor_ = connect_hello(port(), owner_);
    join_snapshot(*actor_, room_);
    watcher_ = connect_hello(port(), watcher_user_);
    watcher_view_.load(join_snapshot(*watcher_, room_));
    const auto ack = send_op_and_wait(*actor_, room_, "setup", create_op("base", "Base", 1.0));
    if (type_of(ack) != "op") {
      throw protocol_failure("setup op not acknowledged: " + to_string(ack));
    }
    auto seen = watcher_->next_skipping({"presence"});
    if (!seen) {
      throw protocol_failure("the watcher did not see the setup op");
    }
    watcher_view_.apply(*seen);
    baseline_ = serialized_state(get_notes(port(), owner_, room_));
  }

  std::uint16_t port() const { return server_->port(); }

  // The stored room is what it was, and the watcher's next op is acknowledged with the very
  // next seq (nothing was broadcast in between). Ops of others that the watcher sees first are
  // returned (by cid) for tests that expect some.
  std::vector<std::string> expect_unchanged_and_alive(std::string_view after,
                                                      bool others_allowed = false) {
    std::vector<std::string> others;
    EXPECT_EQ(serialized_state(get_notes(port(), owner_, room_)), baseline_)
        << "the stored room changed after " << after;
    const std::string cid = "probe-" + std::to_string(++probes_);
    watcher_->send(op_frame(room_, cid, update_op("base", json::object{{"title", cid}})));
    for (;;) {
      auto f = watcher_->next_skipping({"presence", "room_stat"});
      if (!f) {
        ADD_FAILURE() << "the watcher got no ack after " << after;
        return others;
      }
      if (type_of(*f) != "op") {
        ADD_FAILURE() << "the watcher got " << to_string(*f) << " after " << after;
        return others;
      }
      watcher_view_.apply(*f);
      if (str(*f, "cid") == cid) {
        break;
      }
      EXPECT_TRUE(others_allowed) << "an op was broadcast after " << after << ": " << to_string(*f);
      others.push_back(str(*f, "cid"));
    }
    baseline_ = serialized_state(get_notes(port(), owner_, room_));
    EXPECT_EQ(baseline_, watcher_view_.serialized());
    return others;
  }

  void expect_error_invalid(ws_client& ws, std::string_view sent) {
    auto f = ws.next_skipping({"presence", "room_stat", "op"});
    ASSERT_TRUE(f.has_value()) << "no answer to " << sent;
    EXPECT_EQ(type_of(*f), "error") << "answer to " << sent << ": " << to_string(*f);
    EXPECT_EQ(str(*f, "code"), "invalid") << "answer to " << sent << ": " << to_string(*f);
  }

  void expect_pong(ws_client& ws, int t) {
    ws.send(json::value{{"type", "ping"}, {"t", t}});
    auto f = ws.next_skipping({"presence", "room_stat", "op"});
    ASSERT_TRUE(f.has_value()) << "no pong: connection " << (ws.is_closed() ? "closed" : "silent");
    EXPECT_EQ(type_of(*f), "pong") << to_string(*f);
    EXPECT_EQ(f->at("t"), json::value(t)) << to_string(*f);
  }

  std::unique_ptr<ws_client> fresh_actor() {
    auto ws = connect_hello(port(), owner_);
    join_snapshot(*ws, room_);
    return ws;
  }

  server_process* server_ = nullptr;
  user owner_;
  user watcher_user_;
  std::string room_;
  std::unique_ptr<ws_client> actor_;
  std::unique_ptr<ws_client> watcher_;
  replica watcher_view_;
  std::string baseline_;
  int probes_ = 0;
};

TEST_F(bad_input, a_frame_that_is_not_a_json_message_gets_error_invalid_and_the_socket_stays) {
  for (const std::string frame : {"this is not json", "{\"type\":\"op\",", "", "[1,2,3]",
                                  "{\"no_type\":true}", "\"hello\""}) {
    actor_->send_text(frame);
    ASSERT_NO_FATAL_FAILURE(expect_error_invalid(*actor_, frame));
  }
  ASSERT_NO_FATAL_FAILURE(expect_pong(*actor_, 1));
  expect_unchanged_and_alive("frames that are not JSON messages");
}

TEST_F(bad_input, an_unknown_type_gets_error_invalid_and_the_socket_stays) {
  for (const std::string frame :
       {R"({"type":"frobnicate"})", R"({"type":42})", R"({"type":"OP","room":"x"})"}) {
    actor_->send_text(frame);
    ASSERT_NO_FATAL_FAILURE(expect_error_invalid(*actor_, frame));
  }
  ASSERT_NO_FATAL_FAILURE(expect_pong(*actor_, 2));
  expect_unchanged_and_alive("unknown types");
}

// Found by fuzz/fuzz_codec: "t" is echoed, and 1e999 (read as infinity) used to go back as
// `Infinity`, which no JSON parser accepts. As JSON.stringify does, it goes back as null.
TEST_F(bad_input, a_ping_with_out_of_range_numbers_gets_a_pong_that_is_json) {
  actor_->send_text(R"({"type":"ping","t":[1e999,{"x":-1e999},2.5]})");
  auto f = actor_->next_skipping({"presence", "room_stat", "op"});
  ASSERT_TRUE(f.has_value()) << "no pong: connection "
                             << (actor_->is_closed() ? "closed" : "silent");
  EXPECT_EQ(type_of(*f), "pong") << to_string(*f);
  const json::value nulled = json::array{nullptr, json::object{{"x", nullptr}}, 2.5};
  EXPECT_EQ(f->at("t"), nulled) << to_string(*f);
  expect_unchanged_and_alive("a ping with out-of-range numbers");
}

TEST_F(bad_input, malformed_ops_are_rejected_invalid_with_their_cid_and_change_nothing) {
  const json::object good_note{{"id", "fresh"},         {"title", "t"},
                               {"body", "b"},           {"is_important", false},
                               {"is_completed", false}, {"current_index", 2.0}};
  auto with = [&](std::string_view key, json::value v) {
    json::object n = good_note;
    n[key] = std::move(v);
    return json::object{{"kind", "create"}, {"note", std::move(n)}};
  };
  auto without = [&](std::string_view key) {
    json::object n = good_note;
    n.erase(key);
    return json::object{{"kind", "create"}, {"note", std::move(n)}};
  };
  const std::vector<std::pair<std::string, json::value>> bad_ops = {
      {"op is a string", "create"},
      {"kind missing", json::object{{"note", good_note}}},
      {"unknown kind", json::object{{"kind", "explode"}, {"id", "base"}}},
      {"create without note", json::object{{"kind", "create"}}},
      {"note id with a space", with("id", "bad id")},
      {"empty note id", with("id", "")},
      {"65-char note id", with("id", json::value(std::string(65, 'a')))},
      {"numeric note id", with("id", 7)},
      {"title is a number", with("title", 5)},
      {"current_index is a string", with("current_index", "1.5")},
      {"is_completed missing", without("is_completed")},
      {"update of a numeric id",
       json::object{{"kind", "update"}, {"id", 42}, {"set", json::object{{"title", "x"}}}}},
      {"update is_important is a string",
       json::object{
           {"kind", "update"}, {"id", "base"}, {"set", json::object{{"is_important", "yes"}}}}},
      {"update without set", json::object{{"kind", "update"}, {"id", "base"}}},
      {"move without current_index", json::object{{"kind", "move"}, {"id", "base"}}},
      {"move of a path-like id",
       json::object{{"kind", "move"}, {"id", "../etc"}, {"current_index", 3.0}}},
      {"rebalance indexes is an array",
       json::object{{"kind", "rebalance"}, {"indexes", json::array{1, 2}}}},
      {"rebalance with a bad id",
       json::object{{"kind", "rebalance"}, {"indexes", json::object{{"no way", 1.0}}}}},
      {"delete without id", json::object{{"kind", "delete"}}},
      {"delete of a null id", json::object{{"kind", "delete"}, {"id", nullptr}}},
  };
  int n = 0;
  for (const auto& [what, op] : bad_ops) {
    const std::string cid = "bad-" + std::to_string(++n);
    json::object frame{{"type", "op"}, {"room", room_}, {"cid", cid}, {"op", op}};
    if (what == "op is a string") {
      frame["op"] = "create";
    }
    actor_->send(frame);
    auto f = actor_->next_skipping({"presence", "room_stat"});
    ASSERT_TRUE(f.has_value()) << what << ": no answer"
                               << (actor_->is_closed()
                                       ? " (closed " + std::to_string(actor_->closed()->code) + ")"
                                       : std::string{});
    EXPECT_EQ(type_of(*f), "reject") << what << ": " << to_string(*f);
    if (type_of(*f) == "reject") {
      EXPECT_EQ(str(*f, "code"), "invalid") << what << ": " << to_string(*f);
      EXPECT_EQ(str(*f, "cid"), cid) << what;
      EXPECT_EQ(str(*f, "room"), room_) << what;
    }
  }
  // The op frame itself malformed: no room, or a room that is not a string.
  for (const auto& [what, frame] : std::vector<std::pair<std::string, json::object>>{
           {"op frame without room",
            json::object{{"type", "op"}, {"cid", "bad-room-1"}, {"op", delete_op("base")}}},
           {"op frame with a numeric room",
            json::object{
                {"type", "op"}, {"room", 7}, {"cid", "bad-room-2"}, {"op", delete_op("base")}}}}) {
    actor_->send(frame);
    auto f = actor_->next_skipping({"presence", "room_stat"});
    ASSERT_TRUE(f.has_value()) << what << ": no answer";
    EXPECT_EQ(type_of(*f), "reject") << what << ": " << to_string(*f);
    if (type_of(*f) == "reject") {
      EXPECT_EQ(str(*f, "code"), "invalid") << what << ": " << to_string(*f);
      EXPECT_EQ(str(*f, "cid"), str(frame, "cid")) << what;
    }
  }
  expect_unchanged_and_alive("malformed ops");
  // The actor's session still works too.
  const auto ok = send_op_and_wait(*actor_, room_, "actor-ok", move_op("base", 9.0));
  EXPECT_EQ(type_of(ok), "op") << to_string(ok);
}

TEST_F(bad_input, an_op_for_a_room_the_socket_has_not_joined_is_rejected_invalid) {
  const std::string other_room = create_room(port(), owner_, "Elsewhere", "private");
  const auto r =
      send_op_and_wait(*actor_, other_room, "not-joined", create_op("x", "nowhere", 1.0));
  ASSERT_EQ(type_of(r), "reject") << to_string(r);
  EXPECT_EQ(str(r, "code"), "invalid") << to_string(r);
  EXPECT_EQ(str(r, "room"), other_room);
  EXPECT_TRUE(arr(get_notes(port(), owner_, other_room), "notes").empty());
  expect_unchanged_and_alive("an op for a room not joined");
}

TEST_F(bad_input, a_title_over_1_KiB_is_rejected_too_large) {
  const auto exact = send_op_and_wait(*actor_, room_, "title-1024",
                                      create_op("long", std::string(1024, 't'), 3.0));
  ASSERT_EQ(type_of(exact), "op") << "a 1024-byte title is within the limit: "
                                  << to_string(exact).substr(0, 300);
  FN_EXPECT_FRAME(seen, watcher_->next_skipping({"presence"}), "the 1 KiB title op");
  watcher_view_.apply(seen);
  baseline_ = serialized_state(get_notes(port(), owner_, room_));

  const auto create = send_op_and_wait(*actor_, room_, "title-1025",
                                       create_op("longer", std::string(1025, 't'), 4.0));
  ASSERT_EQ(type_of(create), "reject") << to_string(create).substr(0, 300);
  EXPECT_EQ(str(create, "code"), "too_large");
  EXPECT_EQ(str(create, "cid"), "title-1025");
  const auto update =
      send_op_and_wait(*actor_, room_, "title-update",
                       update_op("base", json::object{{"title", std::string(4096, 'u')}}));
  ASSERT_EQ(type_of(update), "reject") << to_string(update).substr(0, 300);
  EXPECT_EQ(str(update, "code"), "too_large");
  expect_unchanged_and_alive("oversized titles");
}

// With the default 64 KiB frame limit no body over 64 KiB fits in a frame, so this needs a
// server started with larger frames (--max-frame-bytes) to reach the body limit itself.
class bad_input_large_frames : public bad_input {
 protected:
  void SetUp() override { ASSERT_NO_THROW(start(with_args({"--max-frame-bytes", "262144"}))); }
};

TEST_F(bad_input_large_frames, a_body_over_64_KiB_is_rejected_too_large) {
  const auto exact = send_op_and_wait(*actor_, room_, "body-65536",
                                      create_op("roomy", "t", 3.0, std::string(65536, 'b')));
  ASSERT_EQ(type_of(exact), "op") << "a 64 KiB body is within the limit: "
                                  << to_string(exact).substr(0, 300);
  FN_EXPECT_FRAME(seen, watcher_->next_skipping({"presence"}), "the 64 KiB body op");
  watcher_view_.apply(seen);
  baseline_ = serialized_state(get_notes(port(), owner_, room_));

  const auto create = send_op_and_wait(*actor_, room_, "body-65537",
                                       create_op("too-roomy", "t", 4.0, std::string(65537, 'b')));
  ASSERT_EQ(type_of(create), "reject") << to_string(create).substr(0, 300);
  EXPECT_EQ(str(create, "code"), "too_large");
  EXPECT_EQ(str(create, "cid"), "body-65537");
  const auto update =
      send_op_and_wait(*actor_, room_, "body-update",
                       update_op("base", json::object{{"body", std::string(100000, 'u')}}));
  ASSERT_EQ(type_of(update), "reject") << to_string(update).substr(0, 300);
  EXPECT_EQ(str(update, "code"), "too_large");
  EXPECT_FALSE(actor_->is_closed());
  expect_unchanged_and_alive("oversized bodies");
}

TEST_F(bad_input, a_frame_over_64_KiB_closes_the_socket_with_1009) {
  // Exactly 65,536 bytes is allowed: pad a create's body to make the frame that long.
  auto frame_of_size = [&](std::size_t size, std::string_view note_id) {
    json::object f = op_frame(room_, "big", create_op(note_id, "big", 5.0, ""));
    const std::size_t bare = json::serialize(f).size();
    if (size < bare) {
      throw protocol_failure("frame too small to pad");
    }
    f = op_frame(room_, "big", create_op(note_id, "big", 5.0, std::string(size - bare, 'b')));
    std::string text = json::serialize(f);
    if (text.size() != size) {
      throw protocol_failure("padding went wrong");
    }
    return text;
  };
  actor_->send_text(frame_of_size(65536, "exact"));
  auto ack = actor_->next_skipping({"presence"});
  ASSERT_TRUE(ack.has_value()) << "a 65,536-byte frame was not answered"
                               << (actor_->is_closed()
                                       ? " (closed " + std::to_string(actor_->closed()->code) + ")"
                                       : std::string{});
  ASSERT_EQ(type_of(*ack), "op") << "a 65,536-byte frame is within the limit: "
                                 << to_string(*ack).substr(0, 300);
  FN_EXPECT_FRAME(seen, watcher_->next_skipping({"presence"}), "the 65,536-byte op");
  watcher_view_.apply(seen);
  baseline_ = serialized_state(get_notes(port(), owner_, room_));

  auto big = fresh_actor();
  big->send_text(frame_of_size(65537, "over"));
  const auto closed = big->wait_closed();
  ASSERT_TRUE(closed.has_value()) << "a 65,537-byte frame did not close the socket";
  EXPECT_EQ(closed->code, 1009) << closed->reason;

  auto huge = fresh_actor();
  huge->send_text(std::string(1 << 20, ' '));
  const auto closed_huge = huge->wait_closed();
  ASSERT_TRUE(closed_huge.has_value()) << "a 1 MiB frame did not close the socket";
  EXPECT_EQ(closed_huge->code, 1009) << closed_huge->reason;

  auto binary = fresh_actor();
  binary->send_binary(std::string(100000, '\0'));
  const auto closed_binary = binary->wait_closed();
  ASSERT_TRUE(closed_binary.has_value()) << "a 100 kB binary frame did not close the socket";
  EXPECT_EQ(closed_binary->code, 1009) << closed_binary->reason;

  expect_unchanged_and_alive("oversized frames");
}

TEST_F(bad_input, anything_but_hello_first_closes_with_4001) {
  const std::vector<std::pair<std::string, std::string>> first_frames = {
      {"an op", json::serialize(op_frame(room_, "early", delete_op("base")))},
      {"a join", json::serialize(json::object{{"type", "join"}, {"room", room_}})},
      {"a ping", R"({"type":"ping","t":1})"},
      {"not JSON", "hello?"},
      {"hello without token", R"({"type":"hello","client":"x"})"},
      {"hello with a numeric token", R"({"type":"hello","token":12345})"},
      {"hello with garbage", R"({"type":"hello","token":"not.a.jwt"})"},
      {"hello with an empty token", R"({"type":"hello","token":""})"},
  };
  for (const auto& [what, frame] : first_frames) {
    auto ws = ws_client::connect(port());
    ws->send_text(frame);
    std::vector<json::object> before_close;
    const auto closed = ws->wait_closed(default_wait, &before_close);
    ASSERT_TRUE(closed.has_value()) << what << " as first frame: socket not closed";
    EXPECT_EQ(closed->code, 4001) << what << ": " << closed->reason;
    for (const auto& f : before_close) {
      EXPECT_NE(type_of(f), "welcome") << what;
      EXPECT_NE(type_of(f), "snapshot") << what;
      EXPECT_NE(type_of(f), "op") << what << ": " << to_string(f);
    }
  }
  expect_unchanged_and_alive("unauthenticated frames");
}

TEST_F(bad_input, expired_or_wrongly_signed_tokens_close_with_4001) {
  const std::string& secret = server_->jwt_secret();
  // The forging is right: a fresh token signed with the server's secret opens a session.
  {
    user forged = owner_;
    forged.token = forge_token(secret, owner_.id, owner_.name, unix_now() + 3600);
    auto ws = connect_hello(port(), forged);
    EXPECT_NO_THROW(join_snapshot(*ws, room_));
  }
  const std::vector<std::pair<std::string, std::string>> tokens = {
      {"expired", forge_token(secret, owner_.id, owner_.name, unix_now() - 60)},
      {"signed with another secret",
       forge_token(secret + "-but-not-quite", owner_.id, owner_.name, unix_now() + 3600)},
      {"another issuer",
       forge_token(secret, owner_.id, owner_.name, unix_now() + 3600, "someone-else")},
      {"a real token with its signature cut off",
       owner_.token.substr(0, owner_.token.rfind('.') + 1)},
      {"correctly signed, for an account that does not exist",
       forge_token(secret, "u_nobody_has_this_id", "ghost", unix_now() + 3600)},
  };
  for (const auto& [what, token] : tokens) {
    auto ws = ws_client::connect(port());
    ws->send(json::value{{"type", "hello"}, {"token", token}, {"client", "tests"}});
    std::vector<json::object> before_close;
    const auto closed = ws->wait_closed(default_wait, &before_close);
    ASSERT_TRUE(closed.has_value()) << what << " token: socket not closed";
    EXPECT_EQ(closed->code, 4001) << what << ": " << closed->reason;
    for (const auto& f : before_close) {
      EXPECT_NE(type_of(f), "welcome") << what << " token was accepted";
    }
  }
  // Over HTTP the account that does not exist is refused 401 too, not a 503 from the store.
  user ghost = owner_;
  ghost.token = forge_token(secret, "u_nobody_has_this_id", "ghost", unix_now() + 3600);
  const auto listed = http_request(port(), "GET", "/api/rooms", std::nullopt, ghost.token);
  EXPECT_EQ(listed.status, 401) << listed.body;
  const auto created =
      http_request(port(), "POST", "/api/rooms", json::value{{"name", "x"}}, ghost.token);
  EXPECT_EQ(created.status, 401) << created.body;
  expect_unchanged_and_alive("bad tokens");
}

TEST_F(bad_input, twenty_error_replies_in_a_row_close_with_1008) {
  // 19 in a row, then a good frame, then 19 more: still open.
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 19; ++i) {
      actor_->send_text("nonsense " + std::to_string(i));
      ASSERT_NO_FATAL_FAILURE(expect_error_invalid(*actor_, "nonsense"));
    }
    ASSERT_NO_FATAL_FAILURE(expect_pong(*actor_, 100 + round));
  }
  // 20 in a row: closed with 1008 after the 20th error.
  for (int i = 0; i < 20; ++i) {
    actor_->send_text(R"({"type":"no-such-type"})");
  }
  std::vector<json::object> before_close;
  const auto closed = actor_->wait_closed(default_wait, &before_close);
  ASSERT_TRUE(closed.has_value()) << "20 invalid frames in a row did not close the socket";
  EXPECT_EQ(closed->code, 1008) << closed->reason;
  int errors = 0;
  for (const auto& f : before_close) {
    errors += type_of(f) == "error" ? 1 : 0;
  }
  EXPECT_EQ(errors, 20) << "each invalid frame gets its error reply before the close";
  expect_unchanged_and_alive("too many invalid frames");
}

TEST_F(bad_input, a_burst_over_the_default_rate_limit_is_partly_rejected_rate_limited) {
  // A fresh connection starts with a full bucket (the fixture's actor already spent a token).
  auto burster = fresh_actor();
  constexpr int burst = 150;
  for (int i = 0; i < burst; ++i) {
    burster->send(op_frame(room_, "burst-" + std::to_string(i),
                           create_op("b" + std::to_string(i), "burst", 10.0 + i)));
  }
  std::set<std::string> acked;
  int rate_limited = 0;
  for (int answered = 0; answered < burst;) {
    auto f = burster->next_skipping({"presence", "room_stat"});
    ASSERT_TRUE(f.has_value()) << "only " << answered << " of " << burst << " ops answered";
    const std::string t = type_of(*f);
    ASSERT_TRUE(t == "op" || t == "reject") << to_string(*f);
    const std::string cid = str(*f, "cid");
    if (cid.rfind("burst-", 0) != 0) {
      continue;  // not one of ours
    }
    ++answered;
    if (t == "op") {
      acked.insert(cid);
    } else {
      EXPECT_EQ(str(*f, "code"), "rate_limited") << to_string(*f);
      ++rate_limited;
    }
  }
  EXPECT_GT(rate_limited, 0) << "150 ops in one burst all passed a 50/s, burst-100 limit";
  EXPECT_GE(acked.size(), 100u) << "the burst allowance is 100 ops";
  EXPECT_FALSE(burster->is_closed()) << "one burst must not close the connection";

  // The room holds exactly the acknowledged ops, and the watcher saw exactly those.
  const auto notes = get_notes(port(), owner_, room_);
  EXPECT_EQ(arr(notes, "notes").size(), acked.size() + 1) << "acked creates plus the base note";
  baseline_ = serialized_state(notes);
  const auto seen = expect_unchanged_and_alive("a rate-limited burst", /*others_allowed=*/true);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), acked);
}

// Bad input that needs the server started with other flags.
class bad_input_flags : public server_test {};

TEST_F(bad_input_flags, no_hello_within_the_hello_timeout_closes_with_4001) {
  auto& server = start_server(with_args({"--hello-timeout-ms", "500"}));
  const user u = register_user(server.port(), "prompt");
  auto prompt = connect_hello(server.port(), u);  // connected first, said hello in time
  auto silent = ws_client::connect(server.port());
  const auto closed = silent->wait_closed();
  ASSERT_TRUE(closed.has_value()) << "a silent socket was not closed";
  EXPECT_EQ(closed->code, 4001) << closed->reason;
  // The hello timer of the earlier socket has run out too; it said hello, so it stays.
  prompt->send(json::value{{"type", "ping"}, {"t", 5}});
  FN_EXPECT_FRAME(pong, prompt->next(), "pong on the session that said hello");
  EXPECT_EQ(type_of(pong), "pong") << to_string(pong);
}

TEST_F(bad_input_flags, a_connection_that_stays_over_the_op_rate_is_closed_with_4029) {
  // 20 ops/s, a burst of 5, and 2 s of staying over it before the close.
  auto& server = start_server(
      with_args({"--max-op-rate", "20", "--max-op-burst", "5", "--rate-limit-close-ms", "2000"}));
  const user u = register_user(server.port(), "rate");
  const std::string room = create_room(server.port(), u, "Rate", "private");
  auto flooder = connect_hello(server.port(), u);
  auto steady = connect_hello(server.port(), u);
  join_snapshot(*flooder, room);
  join_snapshot(*steady, room);
  // The flooder sends at about twice the rate: it gets a token now and then (so the old rule,
  // which forgave it at every token, never closed it), the steady one at half the rate.
  int sent = 0;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  while (!flooder->is_closed() && std::chrono::steady_clock::now() < give_up) {
    flooder->send(op_frame(room, "f" + std::to_string(sent), update_op("none", {{"title", "x"}})));
    if (sent % 4 == 0) {
      steady->send(op_frame(room, "s" + std::to_string(sent), update_op("none", {{"title", "y"}})));
    }
    ++sent;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));  // pacing the load
    while (flooder->next(std::chrono::milliseconds(0))) {
      // its rejects, read so that a close behind them shows
    }
  }
  const auto closed = flooder->wait_closed();
  ASSERT_TRUE(closed.has_value()) << "a client over the rate for 8 s was never closed";
  EXPECT_EQ(closed->code, 4029) << closed->reason;
  // The steady client was never refused and is still served.
  std::vector<json::object> frames;
  steady->send(json::value{{"type", "ping"}, {"t", 1}});
  const auto pong = steady->next_of_type("pong", default_wait, &frames);
  ASSERT_TRUE(pong.has_value()) << "the client within the rate lost its connection";
  for (const auto& f : frames) {
    EXPECT_NE(type_of(f), "reject") << to_string(f);
  }
}

TEST_F(bad_input_flags, an_origin_outside_the_allow_list_gets_403_on_upgrade) {
  auto& server = start_server(with_args({"--allowed-origins", "http://allowed.example"}));
  const user u = register_user(server.port(), "origin");
  for (const std::string origin : {"http://evil.example", "http://allowed.example.evil.com",
                                   "https://allowed.example", "null"}) {
    ws_client::options opts;
    opts.origin = origin;
    EXPECT_EQ(ws_client::upgrade_status(server.port(), opts), 403) << "Origin: " << origin;
  }
  ws_client::options allowed;
  allowed.origin = "http://allowed.example";
  EXPECT_EQ(ws_client::upgrade_status(server.port(), allowed), 101);
  EXPECT_NO_THROW(connect_hello(server.port(), u, allowed)) << "allowed Origin";
  EXPECT_NO_THROW(connect_hello(server.port(), u)) << "no Origin (a non-browser client)";
}

}  // namespace
}  // namespace fun_notes::test

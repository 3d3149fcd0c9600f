// Text ops (PROTOCOL.md "Text ops (OT)") and carets (docs/protocol.md) against the real server:
// concurrent edits of one field are transformed so that both survive and every replica converges,
// stale or bad ones are refused, and across a fleet the append guard keeps two servers from
// numbering edits built on the same text.
#include <algorithm>
#include <string>
#include <vector>

#include "fixture.hpp"
#include "fleet.hpp"

namespace fun_notes::test {
namespace {

class text_ops : public server_test {};
using text_ops_fleet = fleet_test;

json::object text_edit(std::string_view note_id, std::string_view field, std::int64_t base,
                       json::array ops) {
  return json::object{
      {"kind", "text"}, {"id", note_id}, {"field", field}, {"base", base}, {"ops", std::move(ops)}};
}

std::string body_of(const replica& r, const std::string& note_id) {
  const core::note* n = r.state().find(note_id);
  return n == nullptr ? std::string("<missing>") : n->body;
}

std::string body_in(const json::object& notes, const std::string& note_id) {
  for (const auto& n : arr(notes, "notes")) {
    if (str(n.get_object(), "id") == note_id) {
      return str(n.get_object(), "body");
    }
  }
  return "<missing>";
}

// Two clients of one room, each with a replica loaded from its snapshot, and one note.
struct two_writers {
  std::unique_ptr<ws_client> a;
  std::unique_ptr<ws_client> b;
  replica a_view;
  replica b_view;
  std::int64_t base = 0;  // the seq after the note was created
};

two_writers setup(std::uint16_t a_port, std::uint16_t b_port, const user& alice, const user& bob,
                  const std::string& room, const std::string& note_id, std::string_view body) {
  two_writers w;
  w.a = connect_hello(a_port, alice);
  w.b = connect_hello(b_port, bob);
  w.a_view.load(join_snapshot(*w.a, room));
  w.b_view.load(join_snapshot(*w.b, room));
  const auto ack = send_op_and_wait(*w.a, room, "create-" + note_id,
                                    create_op(note_id, "t", 1.0, std::string(body)));
  if (type_of(ack) != "op") {
    throw protocol_failure("create refused: " + to_string(ack));
  }
  w.base = int64(ack, "seq");
  w.a_view.apply(ack);
  read_ops_to(*w.b, w.b_view, w.base);
  return w;
}

// Sends one text op from each client with the same base, then reads both ops on both sockets.
// Returns the broadcast frames as client `a` saw them, in seq order.
std::vector<json::object> send_both(two_writers& w, const std::string& room, const std::string& tag,
                                    json::object op_a, json::object op_b) {
  w.a->send(op_frame(room, "a-" + tag, std::move(op_a)));
  w.b->send(op_frame(room, "b-" + tag, std::move(op_b)));
  std::vector<json::object> seen;
  const std::int64_t target = w.a_view.seq() + 2;
  while (w.a_view.seq() < target) {
    auto f = w.a->next_skipping({"presence", "room_stat"});
    if (!f) {
      throw protocol_failure("no op frame on a");
    }
    if (type_of(*f) != "op") {
      throw protocol_failure("unexpected frame on a: " + to_string(*f));
    }
    w.a_view.apply(*f);
    seen.push_back(std::move(*f));
  }
  read_ops_to(*w.b, w.b_view, target);
  return seen;
}

TEST_F(text_ops, concurrent_edits_with_one_base_both_survive_and_every_replica_converges) {
  auto& server = start_server();
  const user alice = register_user(server.port(), "alice");
  const user bob = register_user(server.port(), "bob");
  const std::string room = create_room(server.port(), alice, "Text", "link");
  auto w = setup(server.port(), server.port(), alice, bob, room, "n", "Hello world");

  // Inserts at one position: the one numbered first goes first, in every replica.
  auto seen = send_both(w, room, "same", text_edit("n", "body", w.base, {5, " big", 6}),
                        text_edit("n", "body", w.base, {5, " old", 6}));
  const std::string first = str(seen[0], "cid") == "a-same" ? " big" : " old";
  const std::string second = first == " big" ? " old" : " big";
  EXPECT_EQ(body_of(w.a_view, "n"), "Hello" + first + second + " world");
  EXPECT_EQ(w.a_view.serialized(), w.b_view.serialized());
  // The second op went out transformed, with the base it was transformed to.
  const auto& moved = obj(seen[1], "op");
  EXPECT_EQ(to_string(moved.at("ops")), to_string(json::array{9, second, 6})) << to_string(moved);
  EXPECT_EQ(int64(moved, "base"), int64(seen[0], "seq")) << to_string(seen[1]);

  // Inserts at different positions, both built on the text before either.
  std::int64_t base = w.a_view.seq();
  const std::string before = body_of(w.a_view, "n");  // "Hello big old world" (or old big)
  const std::size_t n = before.size();
  seen = send_both(w, room, "apart", text_edit("n", "body", base, {"A sentence. ", n}),
                   text_edit("n", "body", base, {n, " B sentence."}));
  EXPECT_EQ(body_of(w.a_view, "n"), "A sentence. " + before + " B sentence.");
  EXPECT_EQ(w.a_view.serialized(), w.b_view.serialized());

  // Overlapping deletes: what either removed is gone, nothing is removed twice.
  base = w.a_view.seq();
  const std::string text = body_of(w.a_view, "n");  // "A sentence. Hello ... world B sentence."
  const std::size_t len = text.size();
  // a removes "A sentence. " (12), b removes "sentence. Hello" (chars 2..17).
  seen = send_both(w, room, "overlap", text_edit("n", "body", base, {-12, len - 12}),
                   text_edit("n", "body", base, {2, -15, len - 17}));
  EXPECT_EQ(body_of(w.a_view, "n"), text.substr(17));
  EXPECT_EQ(w.a_view.serialized(), w.b_view.serialized());

  // What the server serves is what the replicas built.
  EXPECT_EQ(serialized_state(get_notes(server.port(), alice, room)), w.a_view.serialized());
}

TEST_F(text_ops, a_stale_base_after_a_plain_update_is_a_conflict_and_nothing_is_numbered) {
  auto& server = start_server();
  const user alice = register_user(server.port(), "alice");
  const user bob = register_user(server.port(), "bob");
  const std::string room = create_room(server.port(), alice, "Text", "link");
  auto w = setup(server.port(), server.port(), alice, bob, room, "n", "abc");

  const auto update = send_op_and_wait(*w.b, room, "b-set", update_op("n", {{"body", "xyz"}}));
  ASSERT_EQ(type_of(update), "op") << to_string(update);
  const std::int64_t after_update = int64(update, "seq");
  const auto stale =
      send_op_and_wait(*w.a, room, "a-stale", text_edit("n", "body", w.base, {3, "d"}));
  EXPECT_EQ(type_of(stale), "reject") << to_string(stale);
  EXPECT_EQ(str(stale, "code"), "conflict") << to_string(stale);

  // The same edit rebased on the update goes through, and it is the next seq: the refused one
  // took none.
  const auto rebased =
      send_op_and_wait(*w.a, room, "a-rebased", text_edit("n", "body", after_update, {3, "d"}));
  ASSERT_EQ(type_of(rebased), "op") << to_string(rebased);
  EXPECT_EQ(int64(rebased, "seq"), after_update + 1);
  // An update of another field after base does not stand in the way.
  const auto flag =
      send_op_and_wait(*w.b, room, "b-flag", update_op("n", {{"is_important", true}}));
  ASSERT_EQ(type_of(flag), "op") << to_string(flag);
  const auto past_flag = send_op_and_wait(*w.a, room, "a-past-flag",
                                          text_edit("n", "body", int64(rebased, "seq"), {4, "e"}));
  ASSERT_EQ(type_of(past_flag), "op") << to_string(past_flag);
  EXPECT_EQ(body_in(get_notes(server.port(), alice, room), "n"), "xyzde");
}

TEST_F(text_ops, a_viewers_text_op_is_forbidden_and_one_that_does_not_span_the_text_invalid) {
  auto& server = start_server();
  const user alice = register_user(server.port(), "alice");
  const user viewer = register_user(server.port(), "viewer");
  const std::string room = create_room(server.port(), alice, "Text", "public");
  auto a = connect_hello(server.port(), alice);
  auto v = connect_hello(server.port(), viewer);
  join_snapshot(*a, room);
  const auto snap = join_snapshot(*v, room);
  ASSERT_EQ(str(obj(snap, "room_info"), "role"), "viewer") << to_string(snap);
  const auto created = send_op_and_wait(*a, room, "create", create_op("n", "t", 1.0, "abc"));
  ASSERT_EQ(type_of(created), "op") << to_string(created);
  const std::int64_t base = int64(created, "seq");

  const auto forbidden = send_op_and_wait(*v, room, "v-1", text_edit("n", "body", base, {3, "!"}));
  EXPECT_EQ(type_of(forbidden), "reject") << to_string(forbidden);
  EXPECT_EQ(str(forbidden, "code"), "forbidden") << to_string(forbidden);

  for (const auto& [cid, ops] : std::vector<std::pair<std::string, json::array>>{
           {"short", {2, "!"}}, {"long", {4, "!"}}, {"too-far-delete", {-5}}}) {
    const auto bad = send_op_and_wait(*a, room, cid, text_edit("n", "body", base, ops));
    EXPECT_EQ(type_of(bad), "reject") << cid << ": " << to_string(bad);
    EXPECT_EQ(str(bad, "code"), "invalid") << cid << ": " << to_string(bad);
  }
  const auto good = send_op_and_wait(*a, room, "good", text_edit("n", "title", base, {"T", -1}));
  ASSERT_EQ(type_of(good), "op") << to_string(good);
  EXPECT_EQ(int64(good, "seq"), base + 1);
  const auto notes = get_notes(server.port(), alice, room);
  EXPECT_EQ(str(arr(notes, "notes")[0].get_object(), "title"), "T");
  EXPECT_EQ(body_in(notes, "n"), "abc");
}

TEST_F(text_ops, concurrent_typing_survives_a_restart) {
  auto& server = start_server();
  const user alice = register_user(server.port(), "alice");
  const user bob = register_user(server.port(), "bob");
  const std::string room = create_room(server.port(), alice, "Text", "link");
  auto w = setup(server.port(), server.port(), alice, bob, room, "n", "");
  std::string expected;
  for (int i = 0; i < 20; ++i) {
    const std::string word = "w" + std::to_string(i) + " ";
    const std::size_t at = expected.size();
    auto seen = send_both(
        w, room, std::to_string(i),
        text_edit("n", "body", w.a_view.seq(), at == 0 ? json::array{word} : json::array{at, word}),
        text_edit("n", "body", w.a_view.seq(), at == 0 ? json::array{"B"} : json::array{"B", at}));
    expected = body_of(w.a_view, "n");
  }
  ASSERT_EQ(w.a_view.serialized(), w.b_view.serialized());
  w.a.reset();
  w.b.reset();
  server.restart();
  EXPECT_EQ(serialized_state(get_notes(server.port(), alice, room)), w.a_view.serialized());
  EXPECT_EQ(body_in(get_notes(server.port(), alice, room), "n"), expected);
}

// Two servers, each with its own hub, number concurrent edits of one field: each server
// transforms against what its hub has seen, so without the append guard an edit built on a
// text the other server had already changed would be numbered as is and the replicas would
// disagree (or apply would meet an op that does not span the text).
TEST_F(text_ops_fleet, concurrent_edits_on_two_servers_converge_under_the_append_guard) {
  cluster_with_replicas_ = true;
  auto& a_server = start_server(with_args(fleet_args()));
  auto& b_server = start_server(with_args(fleet_args()));
  const user alice = register_user(a_server.port(), "alice");
  const user bob = register_user(b_server.port(), "bob");
  const std::string room = create_room(a_server.port(), alice, "Fleet text", "link");
  auto w = setup(a_server.port(), b_server.port(), alice, bob, room, "n", "");

  constexpr int rounds = 60;
  std::size_t a_words = 0;
  std::size_t b_words = 0;
  for (int i = 0; i < rounds; ++i) {
    const std::string text = body_of(w.a_view, "n");
    ASSERT_EQ(text, body_of(w.b_view, "n"));
    const std::size_t len = core::utf8_code_points(text).value();
    // Both built on the same seq, sent at once: a appends at the end, b prepends.
    const std::int64_t base = w.a_view.seq();
    json::array a_ops = len == 0 ? json::array{"a"} : json::array{len, "a"};
    json::array b_ops = len == 0 ? json::array{"b"} : json::array{"b", len};
    auto seen = send_both(w, room, std::to_string(i), text_edit("n", "body", base, a_ops),
                          text_edit("n", "body", base, b_ops));
    ASSERT_EQ(seen.size(), 2u);
    ++a_words;
    ++b_words;
    ASSERT_EQ(w.a_view.serialized(), w.b_view.serialized()) << "round " << i;
  }
  const std::string final_text = body_of(w.a_view, "n");
  // Every edit survived (round 0's two inserts into the empty text tie: seq order decides).
  EXPECT_EQ(static_cast<std::size_t>(std::count(final_text.begin(), final_text.end(), 'a')),
            a_words);
  EXPECT_EQ(static_cast<std::size_t>(std::count(final_text.begin(), final_text.end(), 'b')),
            b_words);
  EXPECT_EQ(final_text.substr(0, b_words - 1), std::string(b_words - 1, 'b')) << final_text;
  EXPECT_EQ(body_in(get_notes(b_server.port(), bob, room), "n"), final_text);
  EXPECT_EQ(serialized_state(get_notes(a_server.port(), alice, room)), w.a_view.serialized());
}

// A client that lost its connection resends its text op in doubt with the same cid; when the
// first copy was numbered after all, the copy is dropped: a text op inserted twice would
// duplicate the text.
TEST_F(text_ops, a_text_op_resent_with_its_cid_is_numbered_once) {
  auto& server = start_server();
  const user alice = register_user(server.port(), "alice");
  const user bob = register_user(server.port(), "bob");
  const std::string room = create_room(server.port(), alice, "Resend", "link");
  auto w = setup(server.port(), server.port(), alice, bob, room, "n", "ab");

  const auto ack =
      send_op_and_wait(*w.a, room, "once", text_edit("n", "body", w.base, {1, "X", 1}));
  ASSERT_EQ(type_of(ack), "op") << to_string(ack);
  w.a_view.apply(ack);
  // The resend as from a client that had not seen the first copy's echo when it sent it again
  // (its base is before the first copy), then another op: ops of one socket are numbered in
  // order, so a second copy would come before that one's echo.
  const std::int64_t now = w.a_view.seq();
  w.a->send(op_frame(room, "once", text_edit("n", "body", w.base, {1, "X", 1})));
  w.a->send(op_frame(room, "after", text_edit("n", "body", now, {3, "Y"})));
  for (;;) {
    const auto f = w.a->next_skipping({"presence", "room_stat"});
    ASSERT_TRUE(f) << "the second op is acknowledged";
    ASSERT_EQ(type_of(*f), "op") << to_string(*f);
    ASSERT_NE(str(*f, "cid"), "once") << "numbered twice: " << to_string(*f);
    if (str(*f, "cid") == "after") {
      break;
    }
  }
  EXPECT_EQ(body_in(get_notes(server.port(), alice, room), "n"), "aXbY");
}

json::object cursor(const std::string& room, std::string_view note, std::int64_t anchor,
                    std::int64_t head, std::int64_t seq) {
  return json::object{{"type", "cursor"}, {"room", room}, {"note", note}, {"field", "body"},
                      {"anchor", anchor}, {"head", head}, {"seq", seq}};
}

TEST_F(text_ops, carets_reach_the_others_and_bad_ones_are_refused) {
  auto& server = start_server();
  const user alice = register_user(server.port(), "alice");
  const user bob = register_user(server.port(), "bob");
  const std::string room = create_room(server.port(), alice, "Carets", "link");
  auto w = setup(server.port(), server.port(), alice, bob, room, "n", "Hello world");

  w.a->send(cursor(room, "n", 2, 5, w.base));
  auto seen = w.b->next_of_type("cursor");
  ASSERT_TRUE(seen) << "bob sees alice's selection";
  EXPECT_EQ(str(obj(*seen, "user"), "id"), alice.id);
  EXPECT_EQ(str(obj(*seen, "user"), "name"), alice.name);
  EXPECT_EQ(str(*seen, "note"), "n");
  EXPECT_EQ(str(*seen, "field"), "body");
  EXPECT_EQ(int64(*seen, "anchor"), 2);
  EXPECT_EQ(int64(*seen, "head"), 5);
  EXPECT_EQ(int64(*seen, "seq"), w.base);

  // Malformed carets and a room not joined: error invalid, nothing relayed.
  auto bad = cursor(room, "n", -1, 5, w.base);
  w.a->send(bad);
  bad["anchor"] = 1;
  bad["field"] = "tags";
  w.a->send(bad);
  w.a->send(cursor("not-joined", "n", 0, 0, 0));
  for (int i = 0; i < 3; ++i) {
    auto e = w.a->next_of_type("error");
    ASSERT_TRUE(e) << "error " << i;
    EXPECT_EQ(str(*e, "code"), "invalid") << to_string(*e);
  }
  // Blur: the others see it cleared.
  w.a->send(json::object{{"type", "cursor"}, {"room", room}});
  seen = w.b->next_of_type("cursor");
  ASSERT_TRUE(seen);
  EXPECT_FALSE(seen->contains("note")) << to_string(*seen);
}

// A caret crosses servers; a socket joining later on the other server gets it, and when its
// socket goes, the others see it cleared.
TEST_F(text_ops_fleet, carets_cross_servers_and_are_cleared_when_their_socket_goes) {
  auto& a_server = start_server(with_args(fleet_args()));
  auto& b_server = start_server(with_args(fleet_args()));
  const user alice = register_user(a_server.port(), "alice");
  const user bob = register_user(b_server.port(), "bob");
  const std::string room = create_room(a_server.port(), alice, "Fleet carets", "link");
  auto w = setup(a_server.port(), b_server.port(), alice, bob, room, "n", "Hello world");

  w.a->send(cursor(room, "n", 11, 11, w.base));
  auto seen = w.b->next_of_type("cursor");
  ASSERT_TRUE(seen) << "bob on the other server sees alice's caret";
  EXPECT_EQ(str(obj(*seen, "user"), "id"), alice.id);
  EXPECT_EQ(int64(*seen, "head"), 11);
  const std::string session = str(*seen, "session");

  auto late = connect_hello(b_server.port(), bob);
  join_snapshot(*late, room);
  auto known = late->next_of_type("cursor");
  ASSERT_TRUE(known) << "a socket joining later gets the caret already shown";
  EXPECT_EQ(str(*known, "session"), session);
  EXPECT_EQ(int64(*known, "head"), 11);

  w.a->abort();
  auto cleared = w.b->next_of_type("cursor");
  ASSERT_TRUE(cleared);
  EXPECT_EQ(str(*cleared, "session"), session);
  EXPECT_FALSE(cleared->contains("note")) << to_string(*cleared);
}

}  // namespace
}  // namespace fun_notes::test

// The strict op codec: what a client may send, the error it gets otherwise, and the
// deterministic serialization replicas compare.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "fun_notes/core/codec.hpp"

namespace fun_notes::core {
namespace {

namespace json = boost::json;

json::value parse(std::string_view text) {
  auto v = parse_json(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : json::value{};
}

json::object valid_create() {
  return parse(R"({"kind":"create","note":{"id":"n1","title":"t","body":"b",
                  "is_important":false,"is_completed":true,"current_index":1024}})")
      .as_object();
}

// Expects parse_op to fail with `code` and a message that mentions `fragment`.
void expect_error(const json::value& v, std::string_view code, std::string_view fragment,
                  const limits& lim = {}) {
  const auto r = parse_op(v, lim);
  ASSERT_FALSE(r.ok()) << json::serialize(v);
  EXPECT_EQ(r.err().code, code) << r.err().message;
  EXPECT_NE(r.err().message.find(fragment), std::string::npos)
      << "message \"" << r.err().message << "\" does not mention \"" << fragment << "\"";
}

TEST(ValidId, AcceptsOnlyOneTo64OfTheAlphabet) {
  EXPECT_TRUE(valid_id("a"));
  EXPECT_TRUE(valid_id("Az09_-"));
  EXPECT_TRUE(valid_id(std::string(64, 'x')));
  EXPECT_FALSE(valid_id(""));
  EXPECT_FALSE(valid_id(std::string(65, 'x')));
  EXPECT_FALSE(valid_id("a b"));
  EXPECT_FALSE(valid_id("\xc3\xa9"));  // é
  EXPECT_FALSE(valid_id("a.b"));
  EXPECT_FALSE(valid_id("a/b"));
  EXPECT_FALSE(valid_id(std::string("a\0b", 3)));
}

TEST(ParseOp, AcceptsCreate) {
  const auto r = parse_op(valid_create());
  ASSERT_TRUE(r.ok()) << r.err().message;
  const op expected = create_op{.id = "n1",
                                .title = "t",
                                .body = "b",
                                .is_important = false,
                                .is_completed = true,
                                .current_index = 1024.0};
  EXPECT_EQ(*r, expected);
}

TEST(ParseOp, NumbersMayBeIntegersOrDoublesButNotBooleans) {
  for (const char* index : {"1024", "1024.0", "1.024e3", "-7", "18446744073709551615", "0.1"}) {
    auto v = parse(std::string{R"({"kind":"move","id":"a","current_index":)"} + index + "}");
    const auto r = parse_op(v);
    ASSERT_TRUE(r.ok()) << index << ": " << r.err().message;
    EXPECT_EQ(std::get<move_op>(*r).current_index, std::strtod(index, nullptr)) << index;
  }
  expect_error(parse(R"({"kind":"move","id":"a","current_index":true})"), "invalid",
               "op.current_index must be a number");
  expect_error(parse(R"({"kind":"move","id":"a","current_index":"1"})"), "invalid",
               "op.current_index must be a number");
}

TEST(ParseOp, NegativeZeroIndexBecomesZero) {
  const auto r = parse_op(parse(R"({"kind":"move","id":"a","current_index":-0.0})"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(std::signbit(std::get<move_op>(*r).current_index));
}

TEST(ParseOp, HugeNumbersAreRejected) {
  // Boost.JSON reads 1e309 as infinity rather than failing; the codec must catch it.
  expect_error(parse(R"({"kind":"move","id":"a","current_index":1e309})"), "invalid",
               "op.current_index must be a finite number");
  expect_error(parse(R"({"kind":"rebalance","indexes":{"a":1,"b":-1e309}})"), "invalid",
               "op.indexes.b must be a finite number");
  auto v = valid_create();
  v["note"].as_object()["current_index"] = std::numeric_limits<double>::quiet_NaN();
  expect_error(v, "invalid", "op.note.current_index must be a finite number");
}

TEST(ParseOp, ShapeErrors) {
  expect_error(json::value{}, "invalid", "op must be an object");
  expect_error(json::array{}, "invalid", "op must be an object");
  expect_error(parse(R"({"id":"a"})"), "invalid", "op.kind is required");
  expect_error(parse(R"({"kind":1})"), "invalid", "op.kind must be a string");
  expect_error(parse(R"({"kind":"archive"})"), "invalid", "archive");
  expect_error(parse(R"({"kind":"text","id":"a","field":"tags","base":1,"ops":[]})"), "invalid",
               "op.field must be");
  expect_error(parse(R"({"kind":"text","id":"a","field":"body","base":-1,"ops":[]})"), "invalid",
               "op.base must be an integer >= 0");
  expect_error(parse(R"({"kind":"text","id":"a","field":"body","base":1.5,"ops":[]})"), "invalid",
               "op.base must be an integer >= 0");
  expect_error(parse(R"({"kind":"text","id":"a","field":"body","base":1})"), "invalid",
               "op.ops is required");
}

TEST(ParseOp, CreateFieldErrorsNameTheField) {
  struct bad_field {
    const char* field;
    json::value value;
    const char* message;
  };
  const bad_field cases[] = {
      {"id", "", "op.note.id must be 1-64 chars"},
      {"id", json::string(65, 'x'), "op.note.id must be 1-64 chars"},
      {"id", "a b", "op.note.id must be 1-64 chars"},
      {"id", "\xc3\xa9", "op.note.id must be 1-64 chars"},
      {"id", 42, "op.note.id must be a string"},
      {"title", 5, "op.note.title must be a string"},
      {"title", nullptr, "op.note.title must be a string"},
      {"body", json::array{}, "op.note.body must be a string"},
      {"is_important", "true", "op.note.is_important must be a boolean"},
      {"is_completed", 1, "op.note.is_completed must be a boolean"},
      {"current_index", "1", "op.note.current_index must be a number"},
  };
  for (const auto& c : cases) {
    auto v = valid_create();
    v["note"].as_object()[c.field] = c.value;
    expect_error(v, "invalid", c.message);
  }
  for (const char* field :
       {"id", "title", "body", "is_important", "is_completed", "current_index"}) {
    auto v = valid_create();
    v["note"].as_object().erase(field);
    expect_error(v, "invalid", std::string{"op.note."} + field + " is required");
  }
  expect_error(parse(R"({"kind":"create"})"), "invalid", "op.note is required");
  expect_error(parse(R"({"kind":"create","note":[]})"), "invalid", "op.note must be an object");
}

TEST(ParseOp, OversizedTextIsTooLarge) {
  auto v = valid_create();
  // Limits count UTF-8 bytes: 512 'é' are exactly 1024 bytes, one more character is over.
  std::string title;
  for (int i = 0; i < 512; ++i) {
    title += "\xc3\xa9";
  }
  v["note"].as_object()["title"] = title;
  EXPECT_TRUE(parse_op(v).ok());
  v["note"].as_object()["title"] = title + "x";
  expect_error(v, "too_large", "op.note.title");

  v = valid_create();
  v["note"].as_object()["body"] = std::string(64 * 1024, 'b');
  EXPECT_TRUE(parse_op(v).ok());
  v["note"].as_object()["body"] = std::string(64 * 1024 + 1, 'b');
  expect_error(v, "too_large", "op.note.body");

  json::object update{
      {"kind", "update"}, {"id", "a"}, {"set", {{"body", std::string(70000, 'b')}}}};
  expect_error(update, "too_large", "op.set.body");
  update["set"] = {{"title", std::string(1025, 't')}};
  expect_error(update, "too_large", "op.set.title");
}

TEST(ParseOp, LimitsAreConfigurable) {
  const limits small{.max_title_bytes = 3, .max_body_bytes = 5, .max_rebalance_entries = 2};
  expect_error(parse(R"({"kind":"update","id":"a","set":{"title":"abcd"}})"), "too_large",
               "op.set.title", small);
  expect_error(parse(R"({"kind":"update","id":"a","set":{"body":"abcdef"}})"), "too_large",
               "op.set.body", small);
  expect_error(parse(R"({"kind":"rebalance","indexes":{"a":1,"b":2,"c":3}})"), "invalid",
               "op.indexes has more than 2 entries", small);
  EXPECT_TRUE(parse_op(parse(R"({"kind":"rebalance","indexes":{"a":1,"b":2}})"), small).ok());
}

TEST(ParseOp, UpdateErrors) {
  expect_error(parse(R"({"kind":"update","set":{"title":"x"}})"), "invalid", "op.id is required");
  expect_error(parse(R"({"kind":"update","id":"","set":{"title":"x"}})"), "invalid",
               "op.id must be 1-64 chars");
  expect_error(parse(R"({"kind":"update","id":"a"})"), "invalid", "op.set is required");
  expect_error(parse(R"({"kind":"update","id":"a","set":[]})"), "invalid",
               "op.set must be an object");
  expect_error(parse(R"({"kind":"update","id":"a","set":{}})"), "invalid", "at least one of");
  expect_error(parse(R"({"kind":"update","id":"a","set":{"color":"red"}})"), "invalid",
               "at least one of");
  expect_error(parse(R"({"kind":"update","id":"a","set":{"title":null}})"), "invalid",
               "op.set.title must be a string");
  expect_error(parse(R"({"kind":"update","id":"a","set":{"title":"ok","is_completed":"yes"}})"),
               "invalid", "op.set.is_completed must be a boolean");
}

TEST(ParseOp, UpdateKeepsOnlyGivenFields) {
  const auto r = parse_op(parse(R"({"kind":"update","id":"a","set":{"is_important":false}})"));
  ASSERT_TRUE(r.ok());
  const auto& u = std::get<update_op>(*r);
  EXPECT_EQ(u.id, "a");
  EXPECT_FALSE(u.title.has_value());
  EXPECT_FALSE(u.body.has_value());
  EXPECT_EQ(u.is_important, std::optional<bool>{false});
  EXPECT_FALSE(u.is_completed.has_value());
}

TEST(ParseOp, MoveRebalanceDeleteErrors) {
  expect_error(parse(R"({"kind":"move","id":"a"})"), "invalid", "op.current_index is required");
  expect_error(parse(R"({"kind":"move","current_index":1})"), "invalid", "op.id is required");
  expect_error(parse(R"({"kind":"rebalance"})"), "invalid", "op.indexes is required");
  expect_error(parse(R"({"kind":"rebalance","indexes":[]})"), "invalid",
               "op.indexes must be an object");
  expect_error(parse(R"({"kind":"rebalance","indexes":{}})"), "invalid",
               "op.indexes must not be empty");
  expect_error(parse(R"({"kind":"rebalance","indexes":{"a":1,"b c":2}})"), "invalid",
               "op.indexes keys must be 1-64 chars");
  expect_error(parse(R"({"kind":"rebalance","indexes":{"a":1,"b":"2"}})"), "invalid",
               "op.indexes.b must be a number");
  expect_error(parse(R"({"kind":"delete"})"), "invalid", "op.id is required");
  expect_error(parse(R"({"kind":"delete","id":7})"), "invalid", "op.id must be a string");
}

TEST(ParseOp, UnknownFieldsAreIgnored) {
  const auto r = parse_op(parse(R"({"kind":"delete","id":"a","extra":{"x":1},"seq":9})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, op{delete_op{.id = "a"}});
}

TEST(ToJson, WireFormOfEveryKind) {
  update_op u;
  u.id = "a";
  u.body = "B";
  u.is_completed = false;
  const std::pair<op, const char*> cases[] = {
      {create_op{.id = "n1",
                 .title = "T",
                 .body = "",
                 .is_important = true,
                 .is_completed = false,
                 .current_index = 1.5},
       R"({"kind":"create","note":{"id":"n1","title":"T","body":"","is_important":true,)"
       R"("is_completed":false,"current_index":1.5E0}})"},
      {u, R"({"kind":"update","id":"a","set":{"body":"B","is_completed":false}})"},
      {move_op{.id = "a", .current_index = -2.0},
       R"({"kind":"move","id":"a","current_index":-2E0})"},
      {rebalance_op{.indexes = {{"z", 1024.0}, {"a", 2048.0}}},
       R"({"kind":"rebalance","indexes":{"z":1.024E3,"a":2.048E3}})"},
      {delete_op{.id = "a"}, R"({"kind":"delete","id":"a"})"},
  };
  for (const auto& [o, expected] : cases) {
    EXPECT_EQ(json::serialize(to_json(o)), expected);
  }
}

TEST(ToJson, OpRoundTrips) {
  update_op u;
  u.id = "u-1";
  u.title = "caf\xc3\xa9 \"q\"\n";
  u.is_important = true;
  const op ops[] = {
      create_op{.id = "n1",
                .title = "\xf0\x9f\x98\x80",
                .body = "line\nline",
                .is_important = true,
                .is_completed = true,
                .current_index = 22463.674438476562},
      u,
      move_op{.id = "m", .current_index = 0.1 + 0.2},
      rebalance_op{.indexes = {{"c", 3.0}, {"b", 1e-7}, {"a", -1e300}}},
      delete_op{.id = std::string(64, 'd')},
  };
  for (const op& o : ops) {
    const std::string text = json::serialize(to_json(o));
    const auto back = parse_op(parse(text));
    ASSERT_TRUE(back.ok()) << text << ": " << back.err().message;
    EXPECT_EQ(*back, o) << text;
  }
}

note sample_note(std::string id, double index, std::int64_t seq) {
  return note{.id = std::move(id),
              .title = "Title",
              .body = "Body \xe2\x98\x95",
              .is_important = true,
              .is_completed = false,
              .current_index = index,
              .seq = seq,
              .updated_at = "2026-03-01T10:00:00.000Z"};
}

TEST(NoteJson, RoundTripsEveryField) {
  const note n = sample_note("n1", 1536.25, 42);
  const json::object o = to_json(n);
  EXPECT_EQ(json::serialize(o), R"({"id":"n1","title":"Title","body":"Body ☕","is_important":true,)"
                                R"("is_completed":false,"current_index":1.53625E3,"seq":42,)"
                                R"("updated_at":"2026-03-01T10:00:00.000Z"})");
  const auto back = parse_note(parse(json::serialize(o)));
  ASSERT_TRUE(back.ok()) << back.err().message;
  EXPECT_EQ(*back, n);
}

TEST(NoteJson, RejectsBadNotes) {
  json::object o = to_json(sample_note("n1", 1.0, 1));
  for (const char* field : {"id", "title", "body", "is_important", "is_completed", "current_index",
                            "seq", "updated_at"}) {
    json::object missing = o;
    missing.erase(field);
    const auto r = parse_note(missing);
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_NE(r.err().message.find(field), std::string::npos) << r.err().message;
  }
  for (json::value bad_seq : {json::value(-1), json::value(1.5), json::value("3")}) {
    json::object copy = o;
    copy["seq"] = bad_seq;
    EXPECT_FALSE(parse_note(copy).ok()) << json::serialize(bad_seq);
  }
  EXPECT_FALSE(parse_note(json::array{}).ok());
}

TEST(SerializeState, IndependentOfInsertionOrder) {
  std::vector<note> notes;
  for (int i = 0; i < 50; ++i) {
    // Several notes share an index so the id tie-break is exercised too.
    notes.push_back(sample_note("n" + std::to_string(i), static_cast<double>(i % 7) * 0.1, i));
  }
  room_state forward{99, notes};
  std::mt19937 rng{12345};
  std::shuffle(notes.begin(), notes.end(), rng);
  room_state shuffled{99, notes};
  const std::string expected = serialize_state(forward);
  EXPECT_EQ(serialize_state(shuffled), expected);

  // Replicas fed creates in different orders agree once a rebalance has stamped every note.
  auto created_in_order = [](const std::vector<note>& order) {
    room_state state;
    rebalance_op rebalance;
    std::int64_t seq = 0;
    for (const note& n : order) {
      state.apply(applied_op{++seq, "x",
                             create_op{.id = n.id,
                                       .title = n.title,
                                       .body = n.body,
                                       .is_important = n.is_important,
                                       .is_completed = n.is_completed,
                                       .current_index = 0.0}});
      rebalance.indexes.emplace_back(n.id, n.current_index);
    }
    std::sort(rebalance.indexes.begin(), rebalance.indexes.end());
    state.apply(applied_op{1000, "2026-03-01T10:00:00.000Z", rebalance});
    return serialize_state(state);
  };
  const std::string first = created_in_order(notes);
  std::shuffle(notes.begin(), notes.end(), rng);
  EXPECT_EQ(created_in_order(notes), first);
  EXPECT_EQ(serialize_state(room_state{}), R"({"seq":0,"notes":[]})");
}

TEST(SerializeState, ReplicasConvergeToIdenticalBytes) {
  // Two replicas: one applies every op, the other starts from a mid-way snapshot that went
  // through JSON (as a joining client does) and applies the rest.
  std::vector<applied_op> ops;
  std::mt19937 rng{7};
  std::uniform_int_distribution<int> pick{0, 9};
  for (std::int64_t seq = 1; seq <= 400; ++seq) {
    const std::string id = "n" + std::to_string(pick(rng));
    const int kind = pick(rng);
    op o = delete_op{.id = id};
    if (kind < 3) {
      o = create_op{.id = id,
                    .title = "t" + std::to_string(seq),
                    .body = "",
                    .is_important = false,
                    .is_completed = false,
                    .current_index = static_cast<double>(seq) * 0.37};
    } else if (kind < 6) {
      update_op u;
      u.id = id;
      u.title = "u" + std::to_string(seq);
      u.is_completed = (seq % 2) == 0;
      o = u;
    } else if (kind < 8) {
      o = move_op{.id = id, .current_index = 1024.0 / static_cast<double>(seq)};
    } else if (kind == 8) {
      o = rebalance_op{.indexes = {{id, 3.0}, {"n0", 3.0}}};
    }
    ops.push_back(applied_op{seq, format_time(1'700'000'000'000 + seq), o});
  }
  room_state full;
  for (const auto& o : ops) {
    full.apply(o);
  }
  room_state first_half;
  for (std::size_t i = 0; i < ops.size() / 2; ++i) {
    first_half.apply(ops[i]);
  }
  const auto snapshot = parse(serialize_state(first_half)).as_object();
  std::vector<note> notes;
  for (const auto& v : snapshot.at("notes").as_array()) {
    auto n = parse_note(v);
    ASSERT_TRUE(n.ok()) << n.err().message;
    notes.push_back(*n);
  }
  room_state joined{snapshot.at("seq").as_int64(), std::move(notes)};
  for (std::size_t i = ops.size() / 2; i < ops.size(); ++i) {
    joined.apply(ops[i]);
  }
  EXPECT_EQ(serialize_state(joined), serialize_state(full));
}

TEST(ParseJson, DoublesAreCorrectlyRounded) {
  // Boost.JSON 1.81's own parser reads these one ulp off; compiler literals are exact.
  const std::pair<const char*, double> cases[] = {
      {"22463.674438476562", 22463.674438476562},   {"-22463.674438476562", -22463.674438476562},
      {"1176.2662792205811", 1176.2662792205811},   {"100098.50341796875", 100098.50341796875},
      {"2.2463674438476562E4", 22463.674438476562}, {"[1.0009850341796875e5]", 100098.50341796875},
  };
  for (const auto& [text, expected] : cases) {
    const auto v = parse_json(text);
    ASSERT_TRUE(v.ok()) << text;
    const double got = v->is_array() ? v->as_array()[0].as_double() : v->as_double();
    EXPECT_EQ(got, expected) << text;
  }
}

TEST(ParseJson, SerializedDoublesRoundTrip) {
  std::mt19937_64 rng{99};
  int checked = 0;
  while (checked < 20000) {
    const std::uint64_t bits = rng();
    double d = 0.0;
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d)) {
      continue;
    }
    const std::string text = json::serialize(json::value(d));
    const auto v = parse_json(text);
    ASSERT_TRUE(v.ok());
    ASSERT_EQ(v->as_double(), d) << text;
    ++checked;
  }
}

TEST(ParseJson, KeepsEverythingElseAsBoostDoes) {
  const std::string text =
      R"({"s":"caf\u00e9","i":-5,"u":18446744073709551615,"d":0.5,"b":true,"n":null,)"
      R"("a":[1,[2,{"k":[]}]],"big":1e309})";
  const auto v = parse_json(text);
  ASSERT_TRUE(v.ok());
  const auto& o = v->as_object();
  EXPECT_EQ(o.at("s").as_string(), "caf\xc3\xa9");
  EXPECT_EQ(o.at("i").as_int64(), -5);
  EXPECT_EQ(o.at("u").as_uint64(), 18446744073709551615ULL);
  EXPECT_EQ(o.at("d").as_double(), 0.5);
  EXPECT_TRUE(o.at("b").as_bool());
  EXPECT_TRUE(o.at("n").is_null());
  EXPECT_EQ(json::serialize(o.at("a")), R"([1,[2,{"k":[]}]])");
  EXPECT_TRUE(std::isinf(o.at("big").as_double()));
  // Same tree as Boost's parser apart from number rounding.
  EXPECT_EQ(*v, json::parse(text));
}

TEST(ParseJson, RejectsMalformedInput) {
  for (const char* text : {"", "{", "{\"a\":}", "[1,]", "{} {}", "NaN", "\"\xff\"", "'a'"}) {
    const auto v = parse_json(text);
    ASSERT_FALSE(v.ok()) << text;
    EXPECT_EQ(v.err().code, "invalid");
  }
  EXPECT_TRUE(parse_json(" {} \n").ok());
}

// Found by fuzz/fuzz_codec: 1e999 parses as infinity, which Boost.JSON writes as `Infinity`, so a
// value echoed back to a client (pong's "t") was not JSON.
TEST(JsonCompatible, NonFiniteNumbersBecomeNullAndTheTextParses) {
  const std::string text = R"({"t":[1e999,{"x":-1e999,"y":0.5},-7,18446744073709551615,"s"]})";
  const auto v = parse_json(text);
  ASSERT_TRUE(v.ok());
  const std::string out = json::serialize(json_compatible(*v));
  EXPECT_EQ(out, R"({"t":[null,{"x":null,"y":5E-1},-7,18446744073709551615,"s"]})");
  EXPECT_TRUE(parse_json(out).ok()) << out;
}

TEST(JsonCompatible, KeepsFiniteValuesExactly) {
  const auto v = parse_json(R"({"a":[1,-0.0,2.2463674438476562E4,{"b":null,"c":true}],"d":"x"})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(json_compatible(*v), *v);
  EXPECT_EQ(json::serialize(json_compatible(*v)), json::serialize(*v));
}

TEST(FormatTime, Rfc3339UtcWithMilliseconds) {
  EXPECT_EQ(format_time(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_time(1'795'598'016'123), "2026-11-25T09:13:36.123Z");  // date -u -d
  EXPECT_EQ(format_time(951'782'400'007), "2000-02-29T00:00:00.007Z");
  EXPECT_EQ(format_time(-1), "1969-12-31T23:59:59.999Z");
}

TEST(FormatTime, NowIsRecentAndFormats) {
  const std::int64_t now = now_millis();
  EXPECT_GT(now, 1'700'000'000'000);  // after 2023-11
  const std::string text = format_time(now);
  EXPECT_EQ(text.size(), 24U);
  EXPECT_EQ(text.back(), 'Z');
}

}  // namespace
}  // namespace fun_notes::core

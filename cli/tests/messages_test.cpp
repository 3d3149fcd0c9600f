// Server frames parsed into the client's messages; client frames as the protocol spells them.
#include "sync/messages.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace fun_notes::cli::sync {
namespace {

TEST(messages, a_snapshot_carries_its_notes_and_room_info) {
  auto m = parse_server_frame(
      R"({"type":"snapshot","room":"r","seq":5,"room_info":{"id":"r","name":"N","visibility":"link",)"
      R"("role":"owner","active_user_count":2,"total_notes":1},"notes":[{"id":"a","title":"T",)"
      R"("body":"b","is_important":true,"is_completed":false,"current_index":1.5,"seq":4,)"
      R"("updated_at":"2026-12-02T00:00:00.000Z"}]})");
  ASSERT_TRUE(m.ok()) << m.err().message;
  const auto& s = std::get<snapshot_msg>(*m);
  EXPECT_EQ(s.seq, 5);
  EXPECT_EQ(s.info.role, "owner");
  ASSERT_EQ(s.notes.size(), 1U);
  EXPECT_EQ(s.notes[0].current_index, 1.5);
  EXPECT_TRUE(s.notes[0].is_important);
}

TEST(messages, an_op_keeps_its_seq_cid_and_operation) {
  auto m = parse_server_frame(R"({"type":"op","room":"r","seq":9,"cid":"c1","user":"u","at":"t",)"
                              R"("op":{"kind":"move","id":"a","current_index":3}})");
  ASSERT_TRUE(m.ok()) << m.err().message;
  const auto& o = std::get<op_msg>(*m);
  EXPECT_EQ(o.applied.seq, 9);
  EXPECT_EQ(o.cid, "c1");
  EXPECT_EQ(std::get<core::move_op>(o.applied.operation).current_index, 3.0);
}

TEST(messages, welcome_limits_and_presence_users_are_read) {
  auto w = parse_server_frame(
      R"({"type":"welcome","protocol":1,"server":"s","user":{"id":"u","name":"ann"},)"
      R"("limits":{"title_bytes":100,"body_bytes":200,"frame_bytes":300}})");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(std::get<welcome_msg>(*w).title_bytes, 100U);
  EXPECT_EQ(std::get<welcome_msg>(*w).user.name, "ann");
  auto p = parse_server_frame(
      R"({"type":"presence","room":"r","active_user_count":2,"users":[{"id":"a","name":"A"},{"id":"b","name":"B"}]})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(std::get<presence_msg>(*p).users.size(), 2U);
}

TEST(messages, malformed_frames_are_errors_not_exceptions) {
  for (const char* bad : {"", "nope", "[]", R"({"type":"bogus"})", R"({"type":"op","room":"r"})",
                          R"({"type":"op","room":"r","seq":"x","op":{}})",
                          R"({"type":"snapshot","room":"r","seq":1,"notes":[{"id":1}]})",
                          R"({"type":"resume","room":"r"})"}) {
    EXPECT_FALSE(parse_server_frame(bad).ok()) << bad;
  }
}

TEST(messages, client_frames_follow_the_protocol) {
  auto join = boost::json::parse(join_frame("r", 7)).as_object();
  EXPECT_EQ(join.at("type"), "join");
  EXPECT_EQ(join.at("since"), 7);
  EXPECT_FALSE(boost::json::parse(join_frame("r", std::nullopt)).as_object().contains("since"));
  auto op = boost::json::parse(op_frame("r", "c", core::op{core::delete_op{"a"}})).as_object();
  EXPECT_EQ(op.at("op").at("kind"), "delete");
  EXPECT_EQ(op.at("cid"), "c");
  EXPECT_EQ(boost::json::parse(hello_frame("tok", "cli")).at("token"), "tok");
  EXPECT_FALSE(boost::json::parse(hello_frame("tok", "cli")).as_object().contains("batch"));
  EXPECT_EQ(boost::json::parse(hello_frame("tok", "cli", true)).at("batch"), true);
}

TEST(Messages, BatchFramesUnpackInOrderAndSkipBadOnes) {
  const auto msgs = parse_server_frames(
      R"({"type":"batch","frames":[{"type":"error","code":"a","message":"m"},)"
      R"({"type":"nonsense"},{"type":"pong"},{"type":"error","code":"b","message":"m"}]})");
  ASSERT_EQ(msgs.size(), 3U);
  EXPECT_EQ(std::get<error_msg>(msgs[0]).code, "a");
  EXPECT_TRUE(std::holds_alternative<pong_msg>(msgs[1]));
  EXPECT_EQ(std::get<error_msg>(msgs[2]).code, "b");
  // A frame that is not a batch is itself.
  const auto one = parse_server_frames(R"({"type":"pong","t":3})");
  ASSERT_EQ(one.size(), 1U);
  EXPECT_TRUE(std::holds_alternative<pong_msg>(one[0]));
  EXPECT_TRUE(parse_server_frames("not json").empty());
  EXPECT_TRUE(parse_server_frames(R"({"type":"batch","frames":7})").empty());
}

}  // namespace
}  // namespace fun_notes::cli::sync

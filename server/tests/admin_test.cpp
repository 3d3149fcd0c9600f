// export / import on the memory adapters: the whole file round-trips byte for byte when the
// accounts are the same, unflushed ops are folded in, and bad files are refused clearly; migrate
// copies accounts as they are.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <future>
#include <sstream>
#include <string>
#include <utility>

#include "admin/migrate.hpp"
#include "admin/room_archive.hpp"
#include "store/memory/memory_bus.hpp"
#include "store/memory/memory_cold_store.hpp"
#include "store/memory/memory_hot_log.hpp"

namespace fun_notes::server::admin {
namespace {

using store::role;

struct instance {
  store::memory_bus bus;
  store::memory_cold_store cold;
  store::memory_hot_log hot{bus};
};

// Logs one op frame as a session would, and waits for its seq.
std::int64_t append(store::hot_log& log, const std::string& room, const std::string& op) {
  std::promise<std::int64_t> seq;
  log.append(
      store::append_request{
          room, R"({"type":"op","room":")" + room + R"(","seq":)",
          R"(,"cid":"c","user":"u-a","at":"2024-06-01T12:00:00.250Z","op":)" + op + "}"},
      [&](core::result<store::append_result> r) { seq.set_value(r ? r->entry.seq : -1); });
  return seq.get_future().get();
}

void add_users(store::cold_store& cold) {
  for (const char* name : {"ann", "bo", "cy"}) {
    ASSERT_TRUE(cold.create_user(
        store::user{std::string("u-") + name, name, "$argon2id$hash", "2024-05-01T10:00:00.000Z"}));
  }
}

// A room of ann's, as add_users makes her.
store::room_meta room_of_ann(std::string id, std::string name, std::string visibility) {
  store::room_meta meta;
  meta.id = std::move(id);
  meta.name = std::move(name);
  meta.visibility = std::move(visibility);
  meta.owner_id = "u-ann";
  meta.created_at = "2024-05-01T10:00:01.000Z";
  return meta;
}

TEST(admin_archive, round_trips_a_room_byte_for_byte_with_unflushed_ops) {
  instance a;
  add_users(a.cold);
  store::room_meta meta;
  meta.id = "r1";
  meta.name = "Plans \"quoted\"";
  meta.visibility = "link";
  meta.owner_id = "u-ann";
  meta.created_at = "2024-05-01T10:00:01.000Z";
  a.cold.create_room(meta);
  a.cold.set_member("r1", "u-bo", role::editor);
  a.cold.set_member("r1", "u-cy", role::viewer);
  a.hot.ensure_room("r1", 0);
  ASSERT_EQ(
      append(
          a.hot, "r1",
          R"({"kind":"create","note":{"id":"n1","title":"one","body":"b","is_important":true,"is_completed":false,"current_index":0.1}})"),
      1);
  ASSERT_EQ(
      append(
          a.hot, "r1",
          R"({"kind":"create","note":{"id":"n2","title":"two","body":"","is_important":false,"is_completed":false,"current_index":0.30000000000000004}})"),
      2);
  ASSERT_EQ(append(a.hot, "r1", R"({"kind":"move","id":"n2","current_index":-1.5})"), 3);
  ASSERT_EQ(append(a.hot, "r1", R"({"kind":"update","id":"n1","set":{"title":"ünï"}})"), 4);

  auto first = read_room(a.cold, a.hot, "r1");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->room.last_seq, 4) << "the ops only the log holds are folded in";
  ASSERT_EQ(first->notes.size(), 2U);
  EXPECT_EQ(first->notes[0].id, "n2");
  EXPECT_EQ(first->notes[1].title, "ünï");
  const std::string text = serialize_archive(*first);

  // Another instance with the same accounts (as after a migrate).
  instance b;
  add_users(b.cold);
  auto parsed = parse_archive(text);
  ASSERT_TRUE(parsed.ok()) << parsed.err().message;
  auto report = import_room(b.cold, b.hot, *parsed, import_options{});
  ASSERT_TRUE(report.ok()) << report.err().message;
  EXPECT_EQ(report->last_seq, 4);
  EXPECT_TRUE(report->missing_users.empty());
  auto second = read_room(b.cold, b.hot, "r1");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(serialize_archive(*second), text);
  // The log numbers on after the imported last_seq.
  EXPECT_EQ(append(b.hot, "r1", R"({"kind":"delete","id":"n1"})"), 5);

  auto again = import_room(b.cold, b.hot, *parsed, import_options{});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.err().code, "exists");

  // A replacement, even one from a file at the room's own seq, takes a seq above every seq the
  // old room had: a client holding the room at seq 5 must not resume past the new content.
  auto replaced = import_room(b.cold, b.hot, *parsed, import_options{true});
  ASSERT_TRUE(replaced.ok()) << replaced.err().message;
  EXPECT_TRUE(replaced->replaced);
  EXPECT_EQ(replaced->last_seq, 6);
  EXPECT_EQ(append(b.hot, "r1", R"({"kind":"delete","id":"n2"})"), 7);
}

TEST(admin_archive, round_trips_a_public_room_with_public_role_editor) {
  instance a;
  add_users(a.cold);
  store::room_meta meta = room_of_ann("r-pub", "Town square", "public");
  meta.public_role = role::editor;
  a.cold.create_room(meta);
  a.cold.set_member("r-pub", "u-bo", role::viewer);
  auto first = read_room(a.cold, a.hot, "r-pub");
  ASSERT_TRUE(first.has_value());
  const std::string text = serialize_archive(*first);
  const auto room = boost::json::parse(text).as_object().at("room").as_object();
  EXPECT_EQ(room.at("visibility"), "public");
  EXPECT_EQ(room.at("public_role"), "editor");

  instance b;
  add_users(b.cold);
  auto parsed = parse_archive(text);
  ASSERT_TRUE(parsed.ok()) << parsed.err().message;
  EXPECT_EQ(parsed->room.public_role, role::editor);
  auto report = import_room(b.cold, b.hot, *parsed, import_options{});
  ASSERT_TRUE(report.ok()) << report.err().message;
  const auto imported = b.cold.find_room("r-pub");
  ASSERT_TRUE(imported.has_value());
  EXPECT_EQ(imported->visibility, "public");
  EXPECT_EQ(imported->public_role, role::editor);
  EXPECT_EQ(b.cold.role_of("r-pub", "u-bo"), role::viewer);
  auto second = read_room(b.cold, b.hot, "r-pub");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(serialize_archive(*second), text);
}

TEST(admin_archive, a_file_without_public_role_gives_viewers_and_a_bad_one_is_refused) {
  instance a;
  add_users(a.cold);
  a.cold.create_room(room_of_ann("r1", "Plans", "link"));
  auto room = read_room(a.cold, a.hot, "r1");
  ASSERT_TRUE(room.has_value());
  auto doc = boost::json::parse(serialize_archive(*room)).as_object();
  // A room that is not public and gives viewers is written as older builds wrote it.
  EXPECT_FALSE(doc["room"].as_object().contains("public_role"));

  doc["room"].as_object()["visibility"] = "public";  // and no public_role
  const auto old = parse_archive(boost::json::serialize(doc));
  ASSERT_TRUE(old.ok()) << old.err().message;
  EXPECT_EQ(old->room.visibility, "public");
  EXPECT_EQ(old->room.public_role, role::viewer);

  for (const char* bad : {"owner", "nobody"}) {
    doc["room"].as_object()["public_role"] = bad;
    const auto refused = parse_archive(boost::json::serialize(doc));
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.err().message.find("public_role"), std::string::npos)
        << refused.err().message;
  }
  doc["room"].as_object()["visibility"] = "secret";
  doc["room"].as_object().erase("public_role");
  EXPECT_FALSE(parse_archive(boost::json::serialize(doc)).ok());
}

TEST(admin_archive, matches_members_by_username_and_lists_the_missing) {
  instance a;
  add_users(a.cold);
  store::room_meta meta;
  meta.id = "r1";
  meta.name = "n";
  meta.owner_id = "u-ann";
  meta.created_at = "2024-05-01T10:00:01.000Z";
  a.cold.create_room(meta);
  a.cold.set_member("r1", "u-cy", role::editor);
  auto archive = read_room(a.cold, a.hot, "r1");
  ASSERT_TRUE(archive.has_value());

  instance b;
  ASSERT_TRUE(b.cold.create_user(store::user{"other-id", "ann", "h", "2024-05-01T10:00:00.000Z"}));
  auto report = import_room(b.cold, b.hot, *archive, import_options{});
  ASSERT_TRUE(report.ok()) << report.err().message;
  EXPECT_EQ(b.cold.role_of("r1", "other-id"), role::owner);
  EXPECT_EQ(report->missing_users, (std::vector<std::string>{"cy (u-cy)"}));

  instance c;
  auto orphan = import_room(c.cold, c.hot, *archive, import_options{});
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.err().code, "owner_missing");
  EXPECT_FALSE(c.cold.find_room("r1").has_value());
}

TEST(admin_archive, refuses_files_it_cannot_trust) {
  EXPECT_FALSE(parse_archive("not json").ok());
  EXPECT_FALSE(parse_archive(R"({"format":"other","version":1})").ok());
  const auto future = parse_archive(R"({"format":"fun-notes-room","version":2})");
  ASSERT_FALSE(future.ok());
  EXPECT_NE(future.err().message.find("version"), std::string::npos);
}

TEST(admin_archive, refuses_a_note_id_twice_even_when_the_copies_sort_apart) {
  instance a;
  add_users(a.cold);
  store::room_meta meta;
  meta.id = "r1";
  meta.name = "Dup";
  meta.owner_id = "u-ann";
  a.cold.create_room(meta);
  a.hot.ensure_room("r1", 0);
  for (const char* id : {"a", "b"}) {
    append(a.hot, "r1",
           std::string(R"({"kind":"create","note":{"id":")") + id +
               R"(","title":"t","body":"","is_important":false,"is_completed":false,)" +
               R"("current_index":)" + (id[0] == 'a' ? "1" : "2") + "}}");
  }
  auto room = read_room(a.cold, a.hot, "r1");
  ASSERT_TRUE(room.has_value());
  auto doc = boost::json::parse(serialize_archive(*room)).as_object();
  auto copy = doc["notes"].as_array()[0].as_object();  // note "a", index 1
  copy["current_index"] = 3.0;                         // "b" (index 2) sorts between the two copies
  doc["notes"].as_array().push_back(copy);
  const auto parsed = parse_archive(boost::json::serialize(doc));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.err().message.find("twice"), std::string::npos) << parsed.err().message;
}

TEST(admin_migrate, copies_every_user_with_its_password_hash_and_token_version) {
  instance a;
  add_users(a.cold);  // ann, bo and cy, at token version 0
  ASSERT_EQ(a.cold.set_password("u-bo", "$argon2id$changed"), std::optional<std::int64_t>(1));
  ASSERT_EQ(a.cold.bump_token_version("u-bo"), std::optional<std::int64_t>(2));
  ASSERT_EQ(a.cold.bump_token_version("u-cy"), std::optional<std::int64_t>(1));

  store::memory_cold_store target;
  std::ostringstream log;
  const auto report = migrate(a.cold, a.hot, target, migrate_options{}, log);
  EXPECT_TRUE(report.problems.empty());
  EXPECT_EQ(report.users_created, 3U);
  const auto source = a.cold.all_users();
  const auto copied = target.all_users();
  ASSERT_EQ(copied.size(), source.size());
  for (std::size_t i = 0; i < copied.size(); ++i) {
    EXPECT_EQ(copied[i].id, source[i].id);
    EXPECT_EQ(copied[i].name, source[i].name);
    EXPECT_EQ(copied[i].password_hash, source[i].password_hash);
    EXPECT_EQ(copied[i].created_at, source[i].created_at);
    EXPECT_EQ(copied[i].token_version, source[i].token_version) << copied[i].id;
  }
  // Tokens the old instance revoked stay revoked: bo is at 2 there and here.
  EXPECT_EQ(target.find_user("u-bo")->token_version, 2);
  EXPECT_EQ(target.find_user_by_name("BO")->password_hash, "$argon2id$changed");
  EXPECT_EQ(target.find_user("u-ann")->token_version, 0);

  const auto again = migrate(a.cold, a.hot, target, migrate_options{}, log);
  EXPECT_FALSE(again.changed_anything());
  EXPECT_EQ(again.users_present, 3U);
}

TEST(admin_archive, progress_numbers_read_well) {
  EXPECT_EQ(with_commas(0), "0");
  EXPECT_EQ(with_commas(999), "999");
  EXPECT_EQ(with_commas(5000), "5,000");
  EXPECT_EQ(with_commas(1234567), "1,234,567");
}

}  // namespace
}  // namespace fun_notes::server::admin

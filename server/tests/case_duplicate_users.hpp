// What the cold stores' migration 4 must make of names equal without case, shared by the
// SQLite and PostgreSQL migration tests: the rows (plain SQL both accept) and the outcome.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "store/cold_store.hpp"

namespace fun_notes::store::testing {

// Users as a database of schema version 3 may hold them: Alice is the oldest of hers; Bob's
// duplicate finds its 6-character name taken; a 32-character name must be cut. The renamed
// ALICE owns a room.
inline constexpr std::string_view case_duplicate_users = R"sql(
INSERT INTO users VALUES
  ('u_aaaaaa0000000000', 'Alice', 'h1', '2024-01-01T00:00:00.000Z'),
  ('u_Qw3rtY0000000000', 'ALICE', 'h2', '2024-02-01T00:00:00.000Z'),
  ('u_bbbbbb0000000000', 'bob', 'h', '2024-01-01T00:00:00.000Z'),
  ('u_xYz123abcdefghij', 'BOB', 'h', '2024-01-01T00:00:00.000Z'),
  ('u_cccccc0000000000', 'Bob-XYZ123', 'h', '2024-03-01T00:00:00.000Z'),
  ('u_dddddd0000000000', 'abcdefghijklmnopqrstuvwxyz_12345', 'h', '2024-01-01T00:00:00.000Z'),
  ('u_Long990000000000', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_12345', 'h', '2024-01-02T00:00:00.000Z');
INSERT INTO note_rooms (id, name, owner_id, created_at)
  VALUES ('r-q', 'Qwerty''s', 'u_Qw3rtY0000000000', '2024-02-01T00:00:01.000Z');
INSERT INTO room_members VALUES ('r-q', 'u_Qw3rtY0000000000', 'owner');
)sql";

// user_renames as "user_id old_name new_name", ordered by user_id.
inline const std::vector<std::string> expected_user_renames = {
    "u_Long990000000000 ABCDEFGHIJKLMNOPQRSTUVWXYZ_12345 ABCDEFGHIJKLMNOPQRSTUVWXY-Long99",
    "u_Qw3rtY0000000000 ALICE ALICE-Qw3rtY",
    "u_xYz123abcdefghij BOB BOB-xYz123a",
};

// The users of case_duplicate_users after the migration, seen through the port.
inline void expect_case_duplicates_renamed(cold_store& store) {
  // The oldest keeps the name; the newer one is <name>-<6 characters of its id after "u_">.
  const auto alice = store.find_user_by_name("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->id, "u_aaaaaa0000000000");
  EXPECT_EQ(alice->name, "Alice");
  const auto renamed = store.find_user("u_Qw3rtY0000000000");
  ASSERT_TRUE(renamed.has_value());
  EXPECT_EQ(renamed->name, "ALICE-Qw3rtY");
  EXPECT_EQ(renamed->password_hash, "h2");
  EXPECT_EQ(renamed->token_version, 0);
  const auto by_new_name = store.find_user_by_name("alice-qw3rty");
  ASSERT_TRUE(by_new_name.has_value());
  EXPECT_EQ(by_new_name->id, "u_Qw3rtY0000000000");
  EXPECT_EQ(store.role_of("r-q", "u_Qw3rtY0000000000"), role::owner);
  // Same created_at: the lower id is the older. "BOB-xYz123" is taken (as Bob-XYZ123), so one
  // more character of the id.
  EXPECT_EQ(store.find_user("u_bbbbbb0000000000")->name, "bob");
  EXPECT_EQ(store.find_user("u_xYz123abcdefghij")->name, "BOB-xYz123a");
  EXPECT_EQ(store.find_user("u_cccccc0000000000")->name, "Bob-XYZ123");
  // The name cut so the whole fits 32 characters.
  EXPECT_EQ(store.find_user("u_dddddd0000000000")->name, "abcdefghijklmnopqrstuvwxyz_12345");
  EXPECT_EQ(store.find_user("u_Long990000000000")->name, "ABCDEFGHIJKLMNOPQRSTUVWXY-Long99");
  // Names are unique without case from now on.
  EXPECT_FALSE(store.create_user(user{"u_new", "aLiCe", "h", "2024-05-01T10:00:00.000Z"}));
  EXPECT_FALSE(store.create_user(user{"u_new", "alice-QW3RTY", "h", "2024-05-01T10:00:00.000Z"}));
  EXPECT_TRUE(store.create_user(user{"u_new", "ALICE-2", "h", "2024-05-01T10:00:00.000Z"}));
}

}  // namespace fun_notes::store::testing

// The one conformance suite for the storage ports: every ColdStore, HotLog and Bus adapter
// must pass it. It uses the ports only; each adapter contributes a factory below.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pg_test_server.hpp"
#include "redis_test_server.hpp"
#include "store/bus.hpp"
#include "store/cold_store.hpp"
#include "store/hot_log.hpp"
#include "store/memory/memory_bus.hpp"
#include "store/memory/memory_cold_store.hpp"
#include "store/memory/memory_hot_log.hpp"
#include "store/postgres/postgres_cold_store.hpp"
#include "store/redis/redis_client.hpp"
#include "store/redis/redis_hot_log.hpp"
#include "store/sqlite/sqlite_cold_store.hpp"
#include "store/sqlite/sqlite_hot_log.hpp"
#include "store_test_support.hpp"

namespace fun_notes::store {
namespace {

using testing::append_and_wait;
using testing::append_request_and_wait;
using testing::collector;
using testing::expected_frame;
using testing::frame_prefix;
using testing::frame_suffix;
using testing::temp_dir;

// ---------------------------------------------------------------------------------------------
// Adapters under test. A new adapter adds a harness and one entry to an INSTANTIATE list.

// Owns one cold store and whatever backs it (a temp dir, a database connection, ...).
class cold_store_harness {
 public:
  virtual ~cold_store_harness() = default;
  virtual cold_store& store() = 0;
  // Replaces the store with a new one over the same storage, as a restart would; false when
  // the adapter keeps nothing across instances.
  virtual bool reopen() = 0;
};

struct cold_store_adapter {
  std::string name;
  std::function<std::unique_ptr<cold_store_harness>()> make;
};

void PrintTo(const cold_store_adapter& adapter, std::ostream* out) {
  *out << adapter.name;
}

class memory_cold_store_harness final : public cold_store_harness {
 public:
  cold_store& store() override { return store_; }
  bool reopen() override { return false; }

 private:
  memory_cold_store store_;
};

class sqlite_cold_store_harness final : public cold_store_harness {
 public:
  sqlite_cold_store_harness() { reopen(); }
  cold_store& store() override { return *store_; }
  bool reopen() override {
    store_.reset();
    store_ = std::make_unique<sqlite_cold_store>(dir_.path() / "fun-notes.db");
    return true;
  }

 private:
  temp_dir dir_;
  std::unique_ptr<sqlite_cold_store> store_;
};

// Each harness gets a database of its own on the test binary's throwaway PostgreSQL server.
class postgres_cold_store_harness final : public cold_store_harness {
 public:
  postgres_cold_store_harness() : url_(testing::fresh_postgres_database()) { reopen(); }
  cold_store& store() override { return *store_; }
  bool reopen() override {
    store_.reset();
    store_ = std::make_unique<postgres_cold_store>(url_);
    return true;
  }

 private:
  std::string url_;
  std::unique_ptr<postgres_cold_store> store_;
};

// Owns one hot log, the bus it publishes on, and whatever backs them.
class hot_log_harness {
 public:
  virtual ~hot_log_harness() = default;
  virtual hot_log& log() = 0;
  virtual bus& events() = 0;
  // Destroys the log (which completes its queued appends) and opens a new one over the same
  // storage, as a restart would; false when the adapter keeps nothing across instances.
  virtual bool reopen() = 0;
};

struct hot_log_adapter {
  std::string name;
  std::function<std::unique_ptr<hot_log_harness>(hot_log_options)> make;
};

void PrintTo(const hot_log_adapter& adapter, std::ostream* out) {
  *out << adapter.name;
}

class memory_hot_log_harness final : public hot_log_harness {
 public:
  explicit memory_hot_log_harness(hot_log_options options) : log_(bus_, options) {}
  hot_log& log() override { return log_; }
  bus& events() override { return bus_; }
  bool reopen() override { return false; }

 private:
  memory_bus bus_;
  memory_hot_log log_;
};

class sqlite_hot_log_harness final : public hot_log_harness {
 public:
  explicit sqlite_hot_log_harness(hot_log_options options) : options_(options) { reopen(); }
  hot_log& log() override { return *log_; }
  bus& events() override { return bus_; }
  bool reopen() override {
    log_.reset();
    log_ = std::make_unique<sqlite_hot_log>(dir_.path() / "oplog.db", bus_, options_);
    return true;
  }

 private:
  temp_dir dir_;
  hot_log_options options_;
  memory_bus bus_;
  std::unique_ptr<sqlite_hot_log> log_;  // after bus_: it publishes on it until destroyed
};

// A throwaway Redis (standalone, or a 3-master cluster) per harness. Each reopen() starts a
// new client generation over the same servers; generations are kept until the harness ends
// because subscriptions made by a test may still point at them.
class redis_generation {
 public:
  redis_generation(const std::vector<std::string>& urls, hot_log_options options)
      : client_(std::make_unique<redis::client>(urls)) {
    bus_ = std::make_unique<redis_bus>(*client_);
    redis_hot_log_options redis_options;
    redis_options.keep_recent = options.keep_recent;
    log_ = std::make_unique<redis_hot_log>(*client_, redis_options);
  }
  ~redis_generation() {
    client_.reset();  // stops the client's thread while the log its callbacks use still exists
  }
  redis_hot_log& log() { return *log_; }
  redis_bus& events() { return *bus_; }

 private:
  std::unique_ptr<redis::client> client_;
  std::unique_ptr<redis_bus> bus_;
  std::unique_ptr<redis_hot_log> log_;
};

class redis_hot_log_harness final : public hot_log_harness {
 public:
  redis_hot_log_harness(hot_log_options options, bool cluster)
      : deployment_(cluster ? redis::testing::redis_deployment::cluster(3)
                            : redis::testing::redis_deployment::standalone()),
        options_(options) {
    reopen();
  }
  ~redis_hot_log_harness() override {
    while (!generations_.empty()) {
      generations_.pop_back();
    }
  }
  hot_log& log() override { return generations_.back()->log(); }
  bus& events() override { return generations_.back()->events(); }
  bool reopen() override {
    generations_.push_back(std::make_unique<redis_generation>(deployment_->urls(), options_));
    return true;
  }

 private:
  std::unique_ptr<redis::testing::redis_deployment> deployment_;
  hot_log_options options_;
  std::vector<std::unique_ptr<redis_generation>> generations_;
};

// The bus conformance suite sees only a bus: this one owns its Redis and client too.
class owning_redis_bus final : public bus {
 public:
  explicit owning_redis_bus(bool cluster)
      : deployment_(cluster ? redis::testing::redis_deployment::cluster(3)
                            : redis::testing::redis_deployment::standalone()),
        client_(std::make_unique<redis::client>(deployment_->urls())),
        bus_(*client_) {}
  std::unique_ptr<subscription> subscribe(std::string channel, handler on_message,
                                          std::function<void()> on_confirmed) override {
    return bus_.subscribe(std::move(channel), std::move(on_message), std::move(on_confirmed));
  }
  void publish(std::string_view channel, bus_message message) override {
    bus_.publish(channel, std::move(message));
  }

 private:
  std::unique_ptr<redis::testing::redis_deployment> deployment_;
  std::unique_ptr<redis::client> client_;
  redis_bus bus_;
};

struct bus_adapter {
  std::string name;
  std::function<std::unique_ptr<bus>()> make;
};

void PrintTo(const bus_adapter& adapter, std::ostream* out) {
  *out << adapter.name;
}

template <class Adapter>
std::string adapter_name(const ::testing::TestParamInfo<Adapter>& info) {
  return info.param.name;
}

// ---------------------------------------------------------------------------------------------
// Helpers.

// Times are written as the server writes them (core::format_time, UTC with milliseconds): an
// adapter may store them as timestamps, and only that form is promised to come back unchanged.
user make_user(std::string id, std::string name) {
  return user{std::move(id), std::move(name), "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA",
              "2024-05-01T10:00:00.000Z"};
}

room_meta make_room(std::string id, std::string name, std::string owner_id) {
  room_meta meta;
  meta.id = std::move(id);
  meta.name = std::move(name);
  meta.owner_id = std::move(owner_id);
  meta.created_at = "2024-05-01T10:00:01.000Z";
  return meta;
}

core::note make_note(std::string id, double current_index, std::int64_t seq,
                     std::string title = "title") {
  core::note n;
  n.id = std::move(id);
  n.title = std::move(title);
  n.body = "body of " + n.id;
  n.current_index = current_index;
  n.seq = seq;
  n.updated_at = "2024-05-01T10:00:0" + std::to_string(seq % 10) + ".123Z";
  return n;
}

std::vector<std::string> ids_of(const std::vector<core::note>& notes) {
  std::vector<std::string> ids;
  for (const auto& n : notes) {
    ids.push_back(n.id);
  }
  return ids;
}

void expect_same_meta(const room_meta& actual, const room_meta& expected) {
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.name, expected.name);
  EXPECT_EQ(actual.visibility, expected.visibility);
  EXPECT_EQ(actual.public_role, expected.public_role);
  EXPECT_EQ(actual.owner_id, expected.owner_id);
  EXPECT_EQ(actual.last_seq, expected.last_seq);
  EXPECT_EQ(actual.total_notes, expected.total_notes);
  EXPECT_EQ(actual.created_at, expected.created_at);
}

void expect_same_user(const std::optional<user>& actual, const user& expected) {
  ASSERT_TRUE(actual.has_value());
  EXPECT_EQ(actual->id, expected.id);
  EXPECT_EQ(actual->name, expected.name);
  EXPECT_EQ(actual->password_hash, expected.password_hash);
  EXPECT_EQ(actual->created_at, expected.created_at);
  EXPECT_EQ(actual->token_version, expected.token_version);
}

// ---------------------------------------------------------------------------------------------
// ColdStore.

class cold_store_conformance : public ::testing::TestWithParam<cold_store_adapter> {
 protected:
  void SetUp() override { harness_ = GetParam().make(); }
  cold_store& store() { return harness_->store(); }

  // alice owns room r1; bob exists.
  void seed() {
    ASSERT_TRUE(store().create_user(make_user("u-alice", "alice")));
    ASSERT_TRUE(store().create_user(make_user("u-bob", "bob")));
    store().create_room(make_room("r1", "Groceries", "u-alice"));
  }

  std::unique_ptr<cold_store_harness> harness_;
};

TEST_P(cold_store_conformance, creates_and_finds_users) {
  const user alice = make_user("u-alice", "alice");
  ASSERT_TRUE(store().create_user(alice));

  expect_same_user(store().find_user_by_name("alice"), alice);
  expect_same_user(store().find_user("u-alice"), alice);
  EXPECT_FALSE(store().find_user_by_name("nobody").has_value());
  EXPECT_FALSE(store().find_user("u-nobody").has_value());
}

TEST_P(cold_store_conformance, refuses_a_taken_user_name) {
  const user alice = make_user("u-alice", "alice");
  ASSERT_TRUE(store().create_user(alice));

  user impostor = make_user("u-other", "alice");
  impostor.password_hash = "other";
  EXPECT_FALSE(store().create_user(impostor));

  expect_same_user(store().find_user_by_name("alice"), alice);
  EXPECT_FALSE(store().find_user("u-other").has_value());
}

TEST_P(cold_store_conformance, a_taken_user_id_is_an_error_not_a_taken_name) {
  ASSERT_TRUE(store().create_user(make_user("u-alice", "alice")));
  EXPECT_THROW(store().create_user(make_user("u-alice", "someone")), store_error);
  EXPECT_FALSE(store().find_user_by_name("someone").has_value());
  // Both taken: the name is what a sign-up is told about.
  EXPECT_FALSE(store().create_user(make_user("u-alice", "ALICE")));
  expect_same_user(store().find_user("u-alice"), make_user("u-alice", "alice"));
}

TEST_P(cold_store_conformance, concurrent_sign_ups_for_one_name_make_one_user) {
  std::atomic<int> created = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      if (store().create_user(make_user("u-" + std::to_string(t), "same-name"))) {
        ++created;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(created.load(), 1);
  EXPECT_TRUE(store().find_user_by_name("same-name").has_value());
}

TEST_P(cold_store_conformance, user_names_are_unique_without_case_and_keep_their_spelling) {
  const user alice = make_user("u-alice", "Alice");
  ASSERT_TRUE(store().create_user(alice));

  EXPECT_FALSE(store().create_user(make_user("u-upper", "ALICE")));
  EXPECT_FALSE(store().create_user(make_user("u-lower", "alice")));
  EXPECT_EQ(store().import_user(make_user("u-mixed", "aLiCe")), user_import::name_taken);
  for (const char* spelling : {"Alice", "alice", "ALICE", "aLICE"}) {
    expect_same_user(store().find_user_by_name(spelling), alice);
  }
  EXPECT_EQ(store().all_users().size(), 1U);
  // Equal without case, nothing looser: other names are still other names.
  EXPECT_TRUE(store().create_user(make_user("u-alice2", "Alice2")));
  EXPECT_FALSE(store().find_user_by_name("alic").has_value());
}

TEST_P(cold_store_conformance, concurrent_sign_ups_for_one_name_in_any_case_make_one_user) {
  std::atomic<int> created = 0;
  std::vector<std::thread> threads;
  const std::vector<std::string> spellings = {"same-name", "SAME-NAME", "Same-Name", "same-name"};
  for (std::size_t t = 0; t < spellings.size(); ++t) {
    threads.emplace_back([&, t] {
      if (store().create_user(make_user("u-" + std::to_string(t), spellings[t]))) {
        ++created;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(store().all_users().size(), 1U);
}

TEST_P(cold_store_conformance, a_password_change_sets_the_hash_and_moves_the_token_version_on) {
  seed();
  EXPECT_EQ(store().find_user("u-alice")->token_version, 0);

  EXPECT_EQ(store().set_password("u-alice", "$argon2id$new"), std::optional<std::int64_t>(1));
  user alice = make_user("u-alice", "alice");
  alice.password_hash = "$argon2id$new";
  alice.token_version = 1;
  expect_same_user(store().find_user("u-alice"), alice);
  expect_same_user(store().find_user_by_name("ALICE"), alice);
  EXPECT_EQ(store().set_password("u-alice", "$argon2id$newer"), std::optional<std::int64_t>(2));
  EXPECT_EQ(store().find_user("u-alice")->password_hash, "$argon2id$newer");

  expect_same_user(store().find_user("u-bob"), make_user("u-bob", "bob"));
  EXPECT_EQ(store().set_password("u-ghost", "$argon2id$x"), std::nullopt);
  EXPECT_FALSE(store().find_user("u-ghost").has_value());
}

TEST_P(cold_store_conformance, bumping_the_token_version_keeps_the_password) {
  seed();
  EXPECT_EQ(store().bump_token_version("u-bob"), std::optional<std::int64_t>(1));
  EXPECT_EQ(store().bump_token_version("u-bob"), std::optional<std::int64_t>(2));
  EXPECT_EQ(store().set_password("u-bob", "$argon2id$new"), std::optional<std::int64_t>(3));
  EXPECT_EQ(store().bump_token_version("u-bob"), std::optional<std::int64_t>(4));

  user bob = make_user("u-bob", "bob");
  bob.password_hash = "$argon2id$new";
  bob.token_version = 4;
  expect_same_user(store().find_user_by_name("bob"), bob);
  const auto users = store().all_users();  // u-alice, u-bob
  ASSERT_EQ(users.size(), 2U);
  expect_same_user(users[0], make_user("u-alice", "alice"));
  expect_same_user(users[1], bob);
  EXPECT_EQ(store().bump_token_version("u-ghost"), std::nullopt);
}

TEST_P(cold_store_conformance, concurrent_token_version_changes_each_move_it_once) {
  seed();
  constexpr int threads_n = 4;
  constexpr int changes_each = 10;
  std::mutex seen_mutex;
  std::set<std::int64_t> seen;
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_n; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < changes_each; ++i) {
        const auto v = t % 2 == 0
                           ? store().bump_token_version("u-alice")
                           : store().set_password("u-alice", "$argon2id$" + std::to_string(t));
        ASSERT_TRUE(v.has_value());
        std::lock_guard lock(seen_mutex);
        EXPECT_TRUE(seen.insert(*v).second) << "version " << *v << " handed out twice";
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(store().find_user("u-alice")->token_version, threads_n * changes_each);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(threads_n * changes_each));
}

TEST_P(cold_store_conformance, deleting_a_user_takes_their_rooms_and_memberships_and_nothing_else) {
  seed();  // alice owns r1; bob exists
  store().create_room(make_room("r0", "Also alice's", "u-alice"));
  store().create_room(make_room("r2", "Bob's", "u-bob"));
  store().set_member("r1", "u-bob", role::editor);
  store().set_member("r2", "u-alice", role::editor);
  ASSERT_EQ(store().apply_flush(flush_batch{"r1", 0, 2, {make_note("a", 1.0, 2)}, {}}),
            flush_outcome::applied);
  ASSERT_EQ(store().apply_flush(flush_batch{"r2", 0, 3, {make_note("b", 1.0, 3)}, {}}),
            flush_outcome::applied);
  store().create_invite(invite{"tok-1", "r1", role::viewer, std::nullopt, std::nullopt, 0});
  store().create_invite(invite{"tok-2", "r2", role::viewer, std::nullopt, std::nullopt, 0});
  store().record_gap(room_gap{"r0", 1, 1, "lost", ""});
  store().record_gap(room_gap{"r2", 4, 5, "kept", ""});

  EXPECT_EQ(store().delete_user("u-alice"), std::optional<std::vector<std::string>>({"r0", "r1"}));

  EXPECT_FALSE(store().find_user("u-alice").has_value());
  EXPECT_FALSE(store().find_user_by_name("alice").has_value());
  for (const char* id : {"r0", "r1"}) {
    EXPECT_FALSE(store().find_room(id).has_value()) << id;
    EXPECT_TRUE(store().members(id).empty()) << id;
    EXPECT_TRUE(store().invites(id).empty()) << id;
    EXPECT_TRUE(store().gaps(id).empty()) << id;
  }
  EXPECT_FALSE(store().find_invite("tok-1").has_value());
  EXPECT_EQ(store().rooms_of_user("u-alice").size(), 0U);
  EXPECT_EQ(store().role_of("r2", "u-alice"), role::none);

  // Bob, his room and everything in it stay; he lost only his membership of alice's room.
  expect_same_user(store().find_user("u-bob"), make_user("u-bob", "bob"));
  const auto bobs = store().rooms_of_user("u-bob");
  ASSERT_EQ(bobs.size(), 1U);
  EXPECT_EQ(bobs[0].meta.id, "r2");
  EXPECT_EQ(bobs[0].member_role, role::owner);
  EXPECT_EQ(store().members("r2").size(), 1U);
  EXPECT_EQ(ids_of(store().load_snapshot("r2")->notes), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(store().find_invite("tok-2").has_value());
  EXPECT_EQ(store().gaps("r2").size(), 1U);
  EXPECT_EQ(store().all_users().size(), 1U);
  EXPECT_EQ(store().all_rooms().size(), 1U);

  // The name is free again, in any case; the old user is gone for good.
  EXPECT_TRUE(store().create_user(make_user("u-alice-2", "ALICE")));
  EXPECT_EQ(store().delete_user("u-alice"), std::nullopt);
  EXPECT_EQ(store().set_password("u-alice", "$argon2id$x"), std::nullopt);
}

TEST_P(cold_store_conformance, deleting_a_user_who_owns_nothing_returns_no_rooms) {
  seed();  // alice owns r1; bob exists
  store().set_member("r1", "u-bob", role::viewer);
  EXPECT_EQ(store().delete_user("u-bob"), std::make_optional(std::vector<std::string>{}));
  EXPECT_FALSE(store().find_user("u-bob").has_value());
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::none);
  EXPECT_EQ(store().members("r1").size(), 1U);
  EXPECT_TRUE(store().find_room("r1").has_value());
  EXPECT_EQ(store().delete_user("u-nobody"), std::nullopt);
}

TEST_P(cold_store_conformance, creating_a_room_makes_its_owner_a_member) {
  ASSERT_TRUE(store().create_user(make_user("u-alice", "alice")));
  room_meta meta = make_room("r1", "Groceries", "u-alice");
  meta.visibility = "link";
  store().create_room(meta);

  auto found = store().find_room("r1");
  ASSERT_TRUE(found.has_value());
  expect_same_meta(*found, meta);
  EXPECT_EQ(found->last_seq, 0);
  EXPECT_EQ(found->total_notes, 0);
  EXPECT_EQ(store().role_of("r1", "u-alice"), role::owner);

  auto members = store().members("r1");
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0].user_id, "u-alice");
  EXPECT_EQ(members[0].user_name, "alice");
  EXPECT_EQ(members[0].member_role, role::owner);

  EXPECT_FALSE(store().find_room("r-missing").has_value());
}

TEST_P(cold_store_conformance, finds_a_room_with_the_users_role_in_it) {
  seed();  // alice owns r1; bob exists
  store().set_member("r1", "u-bob", role::viewer);
  auto as_alice = store().find_room_as("r1", "u-alice");
  ASSERT_TRUE(as_alice.has_value());
  expect_same_meta(as_alice->first, *store().find_room("r1"));
  EXPECT_EQ(as_alice->second, role::owner);
  EXPECT_EQ(store().find_room_as("r1", "u-bob")->second, role::viewer);
  EXPECT_EQ(store().find_room_as("r1", "u-nobody")->second, role::none);
  EXPECT_FALSE(store().find_room_as("r-missing", "u-alice").has_value());
}

TEST_P(cold_store_conformance, refuses_a_duplicate_room_id) {
  seed();
  EXPECT_THROW(store().create_room(make_room("r1", "Other", "u-bob")), store_error);
  EXPECT_EQ(store().find_room("r1")->name, "Groceries");
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::none);
}

TEST_P(cold_store_conformance, updates_room_name_visibility_and_public_role_independently) {
  seed();
  store().update_room("r1", room_changes{"Shopping", std::nullopt, std::nullopt});
  auto room = store().find_room("r1");
  ASSERT_TRUE(room.has_value());
  EXPECT_EQ(room->name, "Shopping");
  EXPECT_EQ(room->visibility, "private");
  EXPECT_EQ(room->public_role, role::viewer);

  store().update_room("r1", room_changes{std::nullopt, "link", std::nullopt});
  room = store().find_room("r1");
  EXPECT_EQ(room->name, "Shopping");
  EXPECT_EQ(room->visibility, "link");

  store().update_room("r1", room_changes{std::nullopt, std::nullopt, role::editor});
  room = store().find_room("r1");
  EXPECT_EQ(room->name, "Shopping");
  EXPECT_EQ(room->visibility, "link");
  EXPECT_EQ(room->public_role, role::editor);

  store().update_room("r1", room_changes{"Errands", "public", role::viewer});
  room = store().find_room("r1");
  EXPECT_EQ(room->name, "Errands");
  EXPECT_EQ(room->visibility, "public");
  EXPECT_EQ(room->public_role, role::viewer);
  EXPECT_EQ(room->owner_id, "u-alice");

  store().update_room("r-missing", room_changes{"Ghost", std::nullopt, std::nullopt});
  EXPECT_FALSE(store().find_room("r-missing").has_value());
}

TEST_P(cold_store_conformance, a_public_room_and_its_public_role_read_back_everywhere) {
  seed();
  room_meta meta = make_room("r-pub", "Town square", "u-alice");
  meta.visibility = "public";
  meta.public_role = role::editor;
  store().create_room(meta);
  store().set_member("r-pub", "u-bob", role::viewer);

  expect_same_meta(*store().find_room("r-pub"), meta);
  expect_same_meta(store().load_snapshot("r-pub")->meta, meta);
  const auto listed = store().rooms_of_user("u-bob");
  ASSERT_EQ(listed.size(), 1U);
  expect_same_meta(listed[0].meta, meta);
  EXPECT_EQ(listed[0].member_role, role::viewer);
  const auto all = store().all_rooms();  // "r-pub" before "r1"
  ASSERT_EQ(all.size(), 2U);
  expect_same_meta(all[0], meta);
  EXPECT_EQ(all[1].public_role, role::viewer) << "a room made without one gives viewers";
  const auto listed_public = store().public_rooms(10);
  ASSERT_EQ(listed_public.size(), 1U);
  expect_same_meta(listed_public[0], meta);
}

TEST_P(cold_store_conformance, refuses_an_unknown_visibility_or_public_role) {
  seed();
  room_meta secret = make_room("r2", "Secret", "u-alice");
  secret.visibility = "secret";
  EXPECT_THROW(store().create_room(secret), store_error);
  room_meta owned = make_room("r3", "Owned by all", "u-alice");
  owned.public_role = role::owner;
  EXPECT_THROW(store().create_room(owned), store_error);
  EXPECT_FALSE(store().find_room("r2").has_value());
  EXPECT_FALSE(store().find_room("r3").has_value());

  EXPECT_THROW(store().update_room("r1", room_changes{"Renamed", "secret", std::nullopt}),
               store_error);
  EXPECT_THROW(store().update_room("r1", room_changes{"Renamed", std::nullopt, role::owner}),
               store_error);
  const auto room = store().find_room("r1");
  EXPECT_EQ(room->name, "Groceries");
  EXPECT_EQ(room->visibility, "private");
  EXPECT_EQ(room->public_role, role::viewer);
}

TEST_P(cold_store_conformance, deleting_a_room_takes_its_notes_members_invites_and_gaps) {
  seed();
  store().create_room(make_room("r2", "Kept", "u-bob"));
  store().set_member("r1", "u-bob", role::editor);
  ASSERT_EQ(store().apply_flush(flush_batch{"r1", 0, 2, {make_note("a", 1.0, 2)}, {}}),
            flush_outcome::applied);
  store().create_invite(invite{"tok-1", "r1", role::viewer, std::nullopt, std::nullopt, 0});
  store().create_invite(invite{"tok-2", "r2", role::viewer, std::nullopt, std::nullopt, 0});
  store().record_gap(room_gap{"r1", 1, 1, "lost", ""});
  store().record_gap(room_gap{"r2", 4, 5, "kept", ""});

  EXPECT_TRUE(store().delete_room("r1"));
  EXPECT_FALSE(store().find_room("r1").has_value());
  EXPECT_FALSE(store().load_snapshot("r1").has_value());
  EXPECT_TRUE(store().members("r1").empty());
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::none);
  EXPECT_EQ(store().rooms_of_user("u-alice").size(), 0U);
  EXPECT_FALSE(store().find_invite("tok-1").has_value());
  EXPECT_TRUE(store().gaps("r1").empty());
  EXPECT_FALSE(store().delete_room("r1"));
  EXPECT_FALSE(store().delete_room("r-missing"));

  // A new room with the same id starts empty: nothing of the old one was left behind.
  store().create_room(make_room("r1", "Again", "u-alice"));
  EXPECT_TRUE(store().load_snapshot("r1")->notes.empty());
  EXPECT_EQ(store().members("r1").size(), 1U);
  EXPECT_TRUE(store().invites("r1").empty());
  EXPECT_TRUE(store().gaps("r1").empty());

  // The other room is untouched.
  EXPECT_TRUE(store().find_invite("tok-2").has_value());
  EXPECT_EQ(store().gaps("r2").size(), 1U);
  EXPECT_EQ(store().role_of("r2", "u-bob"), role::owner);
}

TEST_P(cold_store_conformance, transferring_ownership_makes_the_previous_owner_an_editor) {
  seed();  // alice owns r1
  store().set_member("r1", "u-bob", role::viewer);
  ASSERT_TRUE(store().transfer_ownership("r1", "u-bob"));

  EXPECT_EQ(store().find_room("r1")->owner_id, "u-bob");
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::owner);
  EXPECT_EQ(store().role_of("r1", "u-alice"), role::editor);
  const auto members = store().members("r1");
  ASSERT_EQ(members.size(), 2U);
  EXPECT_EQ(members[0].member_role, role::editor);  // alice
  EXPECT_EQ(members[1].member_role, role::owner);   // bob

  // To someone who was no member, and back to oneself: the owner stays the owner.
  ASSERT_TRUE(store().create_user(make_user("u-carol", "carol")));
  ASSERT_TRUE(store().transfer_ownership("r1", "u-carol"));
  EXPECT_EQ(store().find_room("r1")->owner_id, "u-carol");
  EXPECT_EQ(store().role_of("r1", "u-carol"), role::owner);
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::editor);
  EXPECT_EQ(store().role_of("r1", "u-alice"), role::editor);
  ASSERT_TRUE(store().transfer_ownership("r1", "u-carol"));
  EXPECT_EQ(store().role_of("r1", "u-carol"), role::owner);
  EXPECT_EQ(store().members("r1").size(), 3U);
}

TEST_P(cold_store_conformance, transferring_ownership_needs_a_room_and_a_user) {
  seed();
  EXPECT_FALSE(store().transfer_ownership("r-missing", "u-bob"));
  EXPECT_THROW(store().transfer_ownership("r1", "u-ghost"), store_error);
  EXPECT_EQ(store().find_room("r1")->owner_id, "u-alice");
  EXPECT_EQ(store().role_of("r1", "u-alice"), role::owner);
  EXPECT_EQ(store().members("r1").size(), 1U);
}

TEST_P(cold_store_conformance, public_rooms_are_listed_most_active_first_then_by_name_then_id) {
  seed();  // r1 is private
  const auto make_public = [&](const std::string& id, const std::string& name,
                               std::int64_t active) {
    room_meta meta = make_room(id, name, "u-bob");
    meta.visibility = "public";
    store().create_room(meta);
    store().set_active_user_count(id, active);
  };
  make_public("p-quiet", "Quiet", 0);
  make_public("p-b", "apple", 5);
  make_public("p-a", "apple", 5);
  make_public("p-zebra", "Zebra", 5);  // upper case sorts before lower case, by bytes
  make_public("p-busy", "Busy", 40);
  room_meta link = make_room("r-link", "Linked", "u-bob");
  link.visibility = "link";
  store().create_room(link);
  store().set_active_user_count("r-link", 100);
  store().set_active_user_count("r1", 100);

  std::vector<std::string> ids;
  for (const auto& meta : store().public_rooms(10)) {
    ids.push_back(meta.id);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"p-busy", "p-zebra", "p-a", "p-b", "p-quiet"}));
  const auto first_two = store().public_rooms(2);
  ASSERT_EQ(first_two.size(), 2U);
  EXPECT_EQ(first_two[1].id, "p-zebra");
  EXPECT_EQ(first_two[0].active_user_count, 40);
  EXPECT_TRUE(store().public_rooms(0).empty());

  // Leaving public takes a room off the list.
  store().update_room("p-busy", room_changes{std::nullopt, "private", std::nullopt});
  EXPECT_EQ(store().public_rooms(10).size(), 4U);
}

TEST_P(cold_store_conformance, lists_a_users_rooms_by_name_then_id_with_roles) {
  seed();  // alice owns r1 "Groceries"
  store().create_room(make_room("r2", "Chores", "u-bob"));
  store().create_room(make_room("r0", "Chores", "u-bob"));
  store().create_room(make_room("r3", "Bob only", "u-bob"));
  store().set_member("r2", "u-alice", role::viewer);
  store().set_member("r0", "u-alice", role::editor);

  auto rooms = store().rooms_of_user("u-alice");
  ASSERT_EQ(rooms.size(), 3u);
  EXPECT_EQ(rooms[0].meta.id, "r0");
  EXPECT_EQ(rooms[0].member_role, role::editor);
  EXPECT_EQ(rooms[1].meta.id, "r2");
  EXPECT_EQ(rooms[1].member_role, role::viewer);
  EXPECT_EQ(rooms[2].meta.id, "r1");
  EXPECT_EQ(rooms[2].member_role, role::owner);
  expect_same_meta(rooms[2].meta, *store().find_room("r1"));

  EXPECT_EQ(store().rooms_of_user("u-bob").size(), 3u);
  EXPECT_TRUE(store().rooms_of_user("u-nobody").empty());
}

TEST_P(cold_store_conformance, names_sort_by_bytes_whatever_the_locale) {
  seed();  // alice owns r1 "Groceries"; bob exists
  ASSERT_TRUE(store().create_user(make_user("u-zed", "Zed")));
  store().create_room(make_room("r-apple", "apple", "u-alice"));
  store().create_room(make_room("r-zebra", "Zebra", "u-alice"));
  store().set_member("r1", "u-zed", role::viewer);
  store().set_member("r1", "u-bob", role::viewer);

  std::vector<std::string> room_ids;
  for (const auto& listing : store().rooms_of_user("u-alice")) {
    room_ids.push_back(listing.meta.id);
  }
  // Upper case first, as SQLite and std::string compare; a linguistic order would differ.
  EXPECT_EQ(room_ids, (std::vector<std::string>{"r1", "r-zebra", "r-apple"}));

  std::vector<std::string> names;
  for (const auto& m : store().members("r1")) {
    names.push_back(m.user_name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Zed", "alice", "bob"}));
}

TEST_P(cold_store_conformance, sets_changes_and_removes_members) {
  seed();
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::none);

  store().set_member("r1", "u-bob", role::editor);
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::editor);
  store().set_member("r1", "u-bob", role::viewer);
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::viewer);

  auto members = store().members("r1");
  ASSERT_EQ(members.size(), 2u);
  std::sort(members.begin(), members.end(),
            [](const member& a, const member& b) { return a.user_id < b.user_id; });
  EXPECT_EQ(members[0].user_id, "u-alice");
  EXPECT_EQ(members[0].member_role, role::owner);
  EXPECT_EQ(members[1].user_id, "u-bob");
  EXPECT_EQ(members[1].user_name, "bob");
  EXPECT_EQ(members[1].member_role, role::viewer);

  EXPECT_TRUE(store().remove_member("r1", "u-bob"));
  EXPECT_FALSE(store().remove_member("r1", "u-bob"));
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::none);
  EXPECT_EQ(store().members("r1").size(), 1u);
  EXPECT_TRUE(store().rooms_of_user("u-bob").empty());

  EXPECT_EQ(store().role_of("r-missing", "u-alice"), role::none);
  EXPECT_FALSE(store().remove_member("r-missing", "u-alice"));
  EXPECT_TRUE(store().members("r-missing").empty());
}

TEST_P(cold_store_conformance, setting_role_none_removes_the_member) {
  seed();
  store().set_member("r1", "u-bob", role::editor);
  store().set_member("r1", "u-bob", role::none);
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::none);
  EXPECT_EQ(store().members("r1").size(), 1u);
}

// ---- Invites. Times as core::format_time writes them.

constexpr std::string_view invite_now = "2026-12-02T06:00:00.000Z";

invite make_invite(std::string token, role r, std::optional<std::string> expires_at = std::nullopt,
                   std::optional<std::int64_t> max_uses = std::nullopt) {
  return invite{std::move(token), "r1", r, std::move(expires_at), max_uses, 0};
}

TEST_P(cold_store_conformance, creates_finds_and_deletes_invites) {
  seed();
  store().create_room(make_room("r2", "Other", "u-bob"));
  invite full = make_invite("tok-full", role::editor, "2026-12-09T06:00:00.123Z", 10);
  full.uses = 3;
  store().create_invite(full);
  store().create_invite(make_invite("tok-open", role::viewer));

  EXPECT_EQ(store().find_invite("tok-full"), std::optional<invite>(full));
  EXPECT_EQ(store().find_invite("tok-open"),
            std::optional<invite>(make_invite("tok-open", role::viewer)));
  EXPECT_FALSE(store().find_invite("tok-missing").has_value());
  EXPECT_EQ(store().invites("r1").size(), 2U);

  EXPECT_FALSE(store().delete_invite("r2", "tok-full")) << "the token is another room's";
  EXPECT_FALSE(store().delete_invite("r1", "tok-missing"));
  EXPECT_TRUE(store().delete_invite("r1", "tok-full"));
  EXPECT_FALSE(store().delete_invite("r1", "tok-full"));
  EXPECT_FALSE(store().find_invite("tok-full").has_value());
  EXPECT_TRUE(store().find_invite("tok-open").has_value());
}

TEST_P(cold_store_conformance, refuses_an_invite_to_no_room_or_with_a_taken_token) {
  seed();
  store().create_room(make_room("r2", "Other", "u-bob"));
  store().create_invite(make_invite("tok", role::viewer));
  invite elsewhere = make_invite("tok", role::editor);
  elsewhere.room_id = "r2";
  EXPECT_THROW(store().create_invite(elsewhere), store_error);
  invite orphan = make_invite("tok-orphan", role::viewer);
  orphan.room_id = "r-missing";
  EXPECT_THROW(store().create_invite(orphan), store_error);
  EXPECT_EQ(store().find_invite("tok")->invite_role, role::viewer);
  EXPECT_FALSE(store().find_invite("tok-orphan").has_value());
}

TEST_P(cold_store_conformance, accepting_an_invite_makes_a_member_and_counts_a_use) {
  seed();
  store().create_invite(make_invite("tok", role::editor, std::nullopt, 5));
  const auto result = store().accept_invite("tok", "u-bob", invite_now);
  EXPECT_EQ(result.outcome, accept_outcome::accepted);
  EXPECT_EQ(result.room_id, "r1");
  EXPECT_EQ(result.member_role, role::editor);
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::editor);
  EXPECT_EQ(store().find_invite("tok")->uses, 1);
  EXPECT_EQ(store().rooms_of_user("u-bob").size(), 1U);
}

TEST_P(cold_store_conformance, accepting_an_unknown_invite_is_not_found) {
  seed();
  const auto result = store().accept_invite("tok-missing", "u-bob", invite_now);
  EXPECT_EQ(result.outcome, accept_outcome::not_found);
  EXPECT_EQ(result.member_role, role::none);
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::none);
}

TEST_P(cold_store_conformance, an_invite_is_expired_from_its_expiry_on) {
  seed();
  ASSERT_TRUE(store().create_user(make_user("u-carol", "carol")));
  store().create_invite(make_invite("tok", role::viewer, std::string(invite_now)));

  const auto at_expiry = store().accept_invite("tok", "u-bob", invite_now);
  EXPECT_EQ(at_expiry.outcome, accept_outcome::expired);
  EXPECT_EQ(at_expiry.room_id, "r1");
  EXPECT_EQ(at_expiry.member_role, role::none);
  EXPECT_EQ(store().accept_invite("tok", "u-bob", "2027-01-01T00:00:00.000Z").outcome,
            accept_outcome::expired);
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::none);
  EXPECT_EQ(store().find_invite("tok")->uses, 0);

  // A millisecond before, it still works.
  const auto before = store().accept_invite("tok", "u-carol", "2026-12-02T05:59:59.999Z");
  EXPECT_EQ(before.outcome, accept_outcome::accepted);
  EXPECT_EQ(store().role_of("r1", "u-carol"), role::viewer);
}

TEST_P(cold_store_conformance, an_invite_at_its_max_uses_is_used_up) {
  seed();
  ASSERT_TRUE(store().create_user(make_user("u-carol", "carol")));
  store().create_invite(make_invite("tok", role::viewer, std::nullopt, 1));
  ASSERT_EQ(store().accept_invite("tok", "u-bob", invite_now).outcome, accept_outcome::accepted);

  const auto late = store().accept_invite("tok", "u-carol", invite_now);
  EXPECT_EQ(late.outcome, accept_outcome::used_up);
  EXPECT_EQ(late.room_id, "r1");
  EXPECT_EQ(late.member_role, role::none);
  EXPECT_EQ(store().role_of("r1", "u-carol"), role::none);
  EXPECT_EQ(store().find_invite("tok")->uses, 1);

  // Created already at its limit (as an import may): refused from the start.
  invite spent = make_invite("tok-spent", role::viewer, std::nullopt, 2);
  spent.uses = 2;
  store().create_invite(spent);
  EXPECT_EQ(store().accept_invite("tok-spent", "u-carol", invite_now).outcome,
            accept_outcome::used_up);
}

TEST_P(cold_store_conformance, a_member_with_at_least_the_invites_role_keeps_it_and_uses_none) {
  seed();  // alice owns r1
  store().set_member("r1", "u-bob", role::editor);
  store().create_invite(make_invite("tok-view", role::viewer, std::nullopt, 1));
  store().create_invite(make_invite("tok-edit", role::editor, std::nullopt, 1));

  for (const char* token : {"tok-view", "tok-edit"}) {
    const auto bob = store().accept_invite(token, "u-bob", invite_now);
    EXPECT_EQ(bob.outcome, accept_outcome::already_member) << token;
    EXPECT_EQ(bob.room_id, "r1");
    EXPECT_EQ(bob.member_role, role::editor);
    const auto alice = store().accept_invite(token, "u-alice", invite_now);
    EXPECT_EQ(alice.outcome, accept_outcome::already_member) << token;
    EXPECT_EQ(alice.member_role, role::owner);
    EXPECT_EQ(store().find_invite(token)->uses, 0) << token;
  }
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::editor);
  EXPECT_EQ(store().role_of("r1", "u-alice"), role::owner);
  EXPECT_EQ(store().find_room("r1")->owner_id, "u-alice");
}

TEST_P(cold_store_conformance, an_invite_promotes_a_member_below_its_role) {
  seed();
  store().set_member("r1", "u-bob", role::viewer);
  store().create_invite(make_invite("tok", role::editor));
  const auto result = store().accept_invite("tok", "u-bob", invite_now);
  EXPECT_EQ(result.outcome, accept_outcome::accepted);
  EXPECT_EQ(result.member_role, role::editor);
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::editor);
  EXPECT_EQ(store().find_invite("tok")->uses, 1);
}

TEST_P(cold_store_conformance, accepting_for_an_unknown_user_throws_and_counts_no_use) {
  seed();
  store().create_invite(make_invite("tok", role::viewer));
  EXPECT_THROW(store().accept_invite("tok", "u-ghost", invite_now), store_error);
  EXPECT_EQ(store().find_invite("tok")->uses, 0);
  EXPECT_EQ(store().members("r1").size(), 1U);
}

TEST_P(cold_store_conformance, concurrent_accepts_of_a_single_use_invite_admit_exactly_one) {
  seed();
  constexpr int users = 4;
  constexpr int rounds = 10;
  for (int u = 0; u < users; ++u) {
    ASSERT_TRUE(
        store().create_user(make_user("u-" + std::to_string(u), "user-" + std::to_string(u))));
  }
  for (int round = 0; round < rounds; ++round) {
    const std::string room_id = "race-" + std::to_string(round);
    const std::string token = "tok-" + std::to_string(round);
    store().create_room(make_room(room_id, "Race", "u-alice"));
    store().create_invite(invite{token, room_id, role::editor, std::nullopt, 1, 0});

    // Every thread waits until all are ready, so the accepts overlap as much as they can.
    std::atomic<int> ready = 0;
    std::atomic<int> accepted = 0;
    std::atomic<int> used_up = 0;
    std::vector<std::thread> threads;
    for (int u = 0; u < users; ++u) {
      threads.emplace_back([&, u] {
        ++ready;
        while (ready.load() < users) {
          std::this_thread::yield();
        }
        const auto outcome =
            store().accept_invite(token, "u-" + std::to_string(u), invite_now).outcome;
        ++(outcome == accept_outcome::accepted ? accepted : used_up);
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    EXPECT_EQ(accepted.load(), 1) << "round " << round;
    EXPECT_EQ(used_up.load(), users - 1) << "round " << round;
    EXPECT_EQ(store().find_invite(token)->uses, 1) << "round " << round;
    EXPECT_EQ(store().members(room_id).size(), 2U) << "round " << round;
  }
}

TEST_P(cold_store_conformance, snapshot_lists_notes_by_index_then_id) {
  seed();
  core::note unicode = make_note("u", 2.5, 7, "Grüße \xF0\x9F\x8E\x89 \"quoted\"");
  unicode.body = "";
  unicode.is_important = true;
  unicode.is_completed = true;
  const std::vector<core::note> notes = {make_note("b", 1.0, 1),
                                         make_note("a", 1.0, 2),
                                         make_note("c", 0.5, 3),
                                         make_note("d", -2.0, 4),
                                         make_note("x", 10.0, 5),
                                         make_note("y", 9.5, 6),
                                         unicode,
                                         make_note("z", 0.1 + 0.2, 8)};
  ASSERT_EQ(store().apply_flush(flush_batch{"r1", 0, 8, notes, {}}), flush_outcome::applied);

  auto snap = store().load_snapshot("r1");
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(snap->meta.last_seq, 8);
  EXPECT_EQ(snap->meta.total_notes, 8);
  // Numeric order, not text order ("10" < "9.5" as text); ties by id.
  EXPECT_EQ(ids_of(snap->notes),
            (std::vector<std::string>{"d", "z", "c", "a", "b", "u", "y", "x"}));
  for (const auto& expected : notes) {
    auto it = std::find_if(snap->notes.begin(), snap->notes.end(),
                           [&](const core::note& n) { return n.id == expected.id; });
    ASSERT_NE(it, snap->notes.end());
    EXPECT_EQ(*it, expected) << "note " << expected.id << " did not round-trip";
  }

  EXPECT_FALSE(store().load_snapshot("r-missing").has_value());
}

TEST_P(cold_store_conformance, odd_ids_and_extreme_values_round_trip_exactly) {
  seed();
  // Characters that mean something to SQL, array literals or JSON, and doubles whose shortest
  // text has 17 digits or an extreme exponent.
  std::vector<core::note> notes = {make_note("with space", 1e-300, 1),
                                   make_note("quote\"d", 4.9406564584124654e-324, 2),
                                   make_note("back\\slash", 1.7976931348623157e308, 3),
                                   make_note("comma,{brace}", 0.30000000000000004, 4),
                                   make_note("NULL", -2.5e-8, 5),
                                   make_note("gr\xC3\xBC\xC3\x9F", 123456789.12345679, 6)};
  notes[4].updated_at = "";  // a note that never got an op time
  ASSERT_EQ(store().apply_flush(flush_batch{"r1", 0, 6, notes, {}}), flush_outcome::applied);

  auto snap = store().load_snapshot("r1");
  ASSERT_TRUE(snap.has_value());
  auto expected = notes;
  std::sort(expected.begin(), expected.end(), core::display_less);
  EXPECT_EQ(snap->notes, expected);
  EXPECT_EQ(store().load_notes("r1", {"quote\"d", "NULL", "back\\slash"}),
            (std::vector<core::note>{notes[4], notes[1], notes[2]}));

  ASSERT_EQ(store().apply_flush(flush_batch{"r1", 6, 7, {}, {"comma,{brace}", "quote\"d"}}),
            flush_outcome::applied);
  EXPECT_EQ(ids_of(store().load_snapshot("r1")->notes),
            (std::vector<std::string>{"NULL", "with space", "gr\xC3\xBC\xC3\x9F", "back\\slash"}));
}

TEST_P(cold_store_conformance, flush_applies_once_and_a_replay_is_stale) {
  seed();
  const flush_batch first{
      "r1", 0, 5, {make_note("a", 1.0, 1), make_note("b", 2.0, 3), make_note("c", 3.0, 5)}, {}};
  ASSERT_EQ(store().apply_flush(first), flush_outcome::applied);
  auto before = store().load_snapshot("r1");
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->meta.last_seq, 5);
  EXPECT_EQ(before->meta.total_notes, 3);

  // A second worker (or a retry after a crash) replays the same range.
  flush_batch replay = first;
  replay.upserts[0].title = "changed by the replay";
  EXPECT_EQ(store().apply_flush(replay), flush_outcome::stale);

  auto after = store().load_snapshot("r1");
  ASSERT_TRUE(after.has_value());
  expect_same_meta(after->meta, before->meta);
  EXPECT_EQ(after->notes, before->notes);
}

TEST_P(cold_store_conformance, flush_upserts_deletes_and_counts_notes) {
  seed();
  ASSERT_EQ(store().apply_flush(
                flush_batch{"r1", 0, 5, {make_note("a", 1.0, 1), make_note("b", 2.0, 2)}, {}}),
            flush_outcome::applied);

  core::note b = make_note("b", 0.5, 9, "renamed");
  b.is_completed = true;
  const flush_batch second{"r1", 5, 9, {b, make_note("d", 4.0, 8)}, {"a", "never-existed"}};
  ASSERT_EQ(store().apply_flush(second), flush_outcome::applied);

  auto snap = store().load_snapshot("r1");
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(snap->meta.last_seq, 9);
  EXPECT_EQ(snap->meta.total_notes, 2);
  ASSERT_EQ(ids_of(snap->notes), (std::vector<std::string>{"b", "d"}));
  EXPECT_EQ(snap->notes[0], b);
  EXPECT_EQ(store().find_room("r1")->total_notes, 2);
  EXPECT_EQ(store().rooms_of_user("u-alice")[0].meta.total_notes, 2);

  // Deleting everything leaves an empty room at the new seq.
  ASSERT_EQ(store().apply_flush(flush_batch{"r1", 9, 12, {}, {"b", "d"}}), flush_outcome::applied);
  snap = store().load_snapshot("r1");
  EXPECT_TRUE(snap->notes.empty());
  EXPECT_EQ(snap->meta.total_notes, 0);
  EXPECT_EQ(snap->meta.last_seq, 12);
}

trashed_note make_trashed(std::string id, std::int64_t deleted_seq, std::string deleted_at,
                          std::string title = "t") {
  return trashed_note{make_note(std::move(id), 1.5, deleted_seq - 1, std::move(title)),
                      std::move(deleted_at), "u-bob", deleted_seq};
}

TEST_P(cold_store_conformance, the_trash_keeps_deleted_notes_until_restored_or_purged) {
  seed();
  flush_batch first{"r1", 0, 4, {}, {"a", "b", "c"}};
  first.trashed = {make_trashed("a", 2, "2026-11-01T10:00:00.000Z", "Milk \"2%\", 'x'"),
                   make_trashed("b", 3, "2026-11-20T10:00:00.000Z"),
                   make_trashed("c", 4, "2026-11-21T10:00:00.000Z")};
  ASSERT_EQ(store().apply_flush(first), flush_outcome::applied);
  auto listed = store().trash("r1", "2000-01-01T00:00:00.000Z", 10);
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0], first.trashed[2]);  // newest first
  EXPECT_EQ(listed[2], first.trashed[0]);  // every field round-trips
  EXPECT_EQ(store().trash("r1", "2000-01-01T00:00:00.000Z", 2).size(), 2u);
  // `since` hides the older entries; another room's trash is its own.
  EXPECT_EQ(store().trash("r1", "2026-11-15T00:00:00.000Z", 10).size(), 2u);
  EXPECT_TRUE(store().trash("r-missing", "2000-01-01T00:00:00.000Z", 10).empty());

  // A restore (c created again) takes it out; a second delete of b replaces its entry; the
  // cutoff purges a.
  flush_batch second{"r1", 4, 7, {make_note("c", 1.0, 5)}, {}};
  second.untrashed = {"c", "never-trashed"};
  second.trashed = {make_trashed("b", 7, "2026-11-22T10:00:00.000Z", "second")};
  second.trash_cutoff = "2026-11-02T00:00:00.000Z";
  ASSERT_EQ(store().apply_flush(second), flush_outcome::applied);
  listed = store().trash("r1", "2000-01-01T00:00:00.000Z", 10);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0], second.trashed[0]);

  // A stale flush changes nothing in the trash either.
  flush_batch stale{"r1", 4, 9, {}, {}};
  stale.untrashed = {"b"};
  EXPECT_EQ(store().apply_flush(stale), flush_outcome::stale);
  EXPECT_EQ(store().trash("r1", "2000-01-01T00:00:00.000Z", 10).size(), 1u);

  // Deleting the room takes its trash.
  ASSERT_TRUE(store().delete_room("r1"));
  EXPECT_TRUE(store().trash("r1", "2000-01-01T00:00:00.000Z", 10).empty());
}

TEST_P(cold_store_conformance, flush_with_the_wrong_expected_seq_changes_nothing) {
  seed();
  ASSERT_EQ(store().apply_flush(flush_batch{"r1", 0, 5, {make_note("a", 1.0, 1)}, {}}),
            flush_outcome::applied);
  EXPECT_EQ(store().apply_flush(flush_batch{"r1", 3, 7, {make_note("z", 1.0, 7)}, {"a"}}),
            flush_outcome::stale);
  auto snap = store().load_snapshot("r1");
  EXPECT_EQ(snap->meta.last_seq, 5);
  EXPECT_EQ(ids_of(snap->notes), (std::vector<std::string>{"a"}));

  EXPECT_EQ(store().apply_flush(flush_batch{"r-missing", 0, 1, {make_note("a", 1.0, 1)}, {}}),
            flush_outcome::stale);
}

TEST_P(cold_store_conformance, note_ids_are_scoped_to_their_room) {
  seed();
  store().create_room(make_room("r2", "Other", "u-bob"));
  ASSERT_EQ(store().apply_flush(flush_batch{"r1", 0, 1, {make_note("n", 1.0, 1, "in r1")}, {}}),
            flush_outcome::applied);
  ASSERT_EQ(store().apply_flush(flush_batch{"r2", 0, 1, {make_note("n", 1.0, 1, "in r2")}, {}}),
            flush_outcome::applied);
  ASSERT_EQ(store().apply_flush(flush_batch{"r2", 1, 2, {}, {"n"}}), flush_outcome::applied);

  auto r1 = store().load_snapshot("r1");
  ASSERT_EQ(r1->notes.size(), 1u);
  EXPECT_EQ(r1->notes[0].title, "in r1");
  EXPECT_TRUE(store().load_snapshot("r2")->notes.empty());
}

TEST_P(cold_store_conformance, loads_selected_notes) {
  seed();
  ASSERT_EQ(store().apply_flush(flush_batch{
                "r1",
                0,
                3,
                {make_note("a", 3.0, 1), make_note("b", 2.0, 2), make_note("c", 1.0, 3)},
                {}}),
            flush_outcome::applied);
  auto notes = store().load_notes("r1", {"a", "missing", "c"});
  EXPECT_EQ(ids_of(notes), (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(notes[1], make_note("a", 3.0, 1));
  EXPECT_TRUE(store().load_notes("r-missing", {"a"}).empty());
  EXPECT_TRUE(store().load_notes("r1", {}).empty());
}

TEST_P(cold_store_conformance, the_active_user_count_is_stored_and_listed) {
  seed();
  EXPECT_EQ(store().find_room("r1")->active_user_count, 0);
  store().set_active_user_count("r1", 3);
  store().set_active_user_count("r-missing", 2);  // no such room: nothing happens
  EXPECT_EQ(store().find_room("r1")->active_user_count, 3);
  const auto listed = store().rooms_of_user("u-alice");
  ASSERT_FALSE(listed.empty());
  EXPECT_EQ(listed.front().meta.active_user_count, 3);
  EXPECT_EQ(listed.front().member_role, role::owner);
}

TEST_P(cold_store_conformance, gaps_are_recorded_per_room_in_seq_order) {
  seed();
  store().create_room(make_room("r2", "Other", "u-bob"));
  store().record_gap(room_gap{"r1", 40, 51, "log lost", ""});
  store().record_gap(room_gap{"r2", 3, 4, "elsewhere", ""});
  store().record_gap(room_gap{"r1", 7, 9, "earlier", ""});
  const auto gaps = store().gaps("r1");
  ASSERT_EQ(gaps.size(), 2u);
  EXPECT_EQ(gaps[0].from_seq, 7);
  EXPECT_EQ(gaps[0].to_seq, 9);
  EXPECT_EQ(gaps[0].reason, "earlier");
  EXPECT_EQ(gaps[1].from_seq, 40);
  EXPECT_EQ(gaps[1].to_seq, 51);
  EXPECT_FALSE(gaps[1].recorded_at.empty());
  EXPECT_TRUE(store().gaps("r-missing").empty());
}

TEST_P(cold_store_conformance, a_secret_is_created_once) {
  int made = 0;
  auto make = [&made] { return "secret-" + std::to_string(++made); };
  EXPECT_EQ(store().get_or_create_secret("jwt", make), "secret-1");
  EXPECT_EQ(store().get_or_create_secret("jwt", make), "secret-1");
  EXPECT_EQ(made, 1);
  EXPECT_EQ(store().get_or_create_secret("other", make), "secret-2");
}

TEST_P(cold_store_conformance, everything_survives_a_reopen) {
  seed();
  store().set_member("r1", "u-bob", role::editor);
  ASSERT_EQ(store().apply_flush(flush_batch{"r1", 0, 4, {make_note("a", 1.0, 4)}, {}}),
            flush_outcome::applied);
  const std::string secret = store().get_or_create_secret("jwt", [] { return "s3cr3t"; });
  store().update_room("r1", room_changes{std::nullopt, "public", role::editor});
  const invite inv{"tok", "r1", role::editor, "2030-01-01T00:00:00.000Z", 3, 1};
  store().create_invite(inv);
  ASSERT_EQ(store().bump_token_version("u-bob"), std::optional<std::int64_t>(1));
  if (!harness_->reopen()) {
    GTEST_SKIP() << GetParam().name << " keeps nothing across instances";
  }

  user bob = make_user("u-bob", "bob");
  bob.token_version = 1;
  expect_same_user(store().find_user_by_name("BOB"), bob);
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::editor);
  auto snap = store().load_snapshot("r1");
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(snap->meta.last_seq, 4);
  EXPECT_EQ(snap->notes, (std::vector<core::note>{make_note("a", 1.0, 4)}));
  EXPECT_EQ(store().get_or_create_secret("jwt", [] { return "different"; }), secret);
  EXPECT_EQ(snap->meta.visibility, "public");
  EXPECT_EQ(snap->meta.public_role, role::editor);
  EXPECT_EQ(store().find_invite("tok"), std::optional<invite>(inv));
}

// ---- Operator tools: listings and bulk imports (export, import, migrate).

room_import make_import(std::string id, std::string owner_id, std::int64_t last_seq) {
  room_import r;
  r.meta = make_room(std::move(id), "Imported", std::move(owner_id));
  r.meta.visibility = "link";
  r.meta.last_seq = last_seq;
  return r;
}

TEST_P(cold_store_conformance, lists_every_user_and_room_by_id) {
  ASSERT_TRUE(store().create_user(make_user("u-zed", "aaron")));
  ASSERT_TRUE(store().create_user(make_user("u-amy", "zoe")));
  store().create_room(make_room("r2", "A", "u-zed"));
  store().create_room(make_room("r1", "B", "u-amy"));

  const auto users = store().all_users();
  ASSERT_EQ(users.size(), 2U);
  expect_same_user(users[0], make_user("u-amy", "zoe"));
  expect_same_user(users[1], make_user("u-zed", "aaron"));
  const auto rooms = store().all_rooms();
  ASSERT_EQ(rooms.size(), 2U);
  expect_same_meta(rooms[0], make_room("r1", "B", "u-amy"));
  expect_same_meta(rooms[1], make_room("r2", "A", "u-zed"));
}

TEST_P(cold_store_conformance, imports_a_user_as_given_once) {
  user carol = make_user("u-carol", "carol");
  carol.created_at = "2023-01-02T03:04:05.678Z";
  carol.token_version = 7;
  EXPECT_EQ(store().import_user(carol), user_import::created);
  expect_same_user(store().find_user_by_name("carol"), carol);
  // Again: the stored user stays as it was, whatever the second copy says.
  user changed = carol;
  changed.password_hash = "$argon2id$other";
  changed.token_version = 0;
  EXPECT_EQ(store().import_user(changed), user_import::exists);
  expect_same_user(store().find_user("u-carol"), carol);
  EXPECT_EQ(store().import_user(make_user("u-other", "carol")), user_import::name_taken);
  EXPECT_FALSE(store().find_user("u-other").has_value());
}

TEST_P(cold_store_conformance, finds_a_secret_only_once_it_exists) {
  EXPECT_FALSE(store().find_secret("jwt_secret").has_value());
  store().get_or_create_secret("jwt_secret", [] { return "s3cr3t-value"; });
  EXPECT_EQ(store().find_secret("jwt_secret"), std::optional<std::string>("s3cr3t-value"));
}

TEST_P(cold_store_conformance, imports_a_whole_room_in_one_call) {
  seed();
  room_import r = make_import("r9", "u-bob", 41);
  r.members = {member{"u-alice", "", role::viewer}, member{"u-bob", "", role::editor}};
  r.notes = {make_note("b", 2.0, 40), make_note("a", 2.0, 12), make_note("c", -1.5, 41)};
  r.notes[0].updated_at = "";
  r.invites = {invite{"tok-2", "r9", role::editor, std::nullopt, 5, 1},
               invite{"tok-1", "r9", role::viewer, "2030-01-01T00:00:00.000Z", std::nullopt, 0}};
  std::vector<std::size_t> reported;
  ASSERT_TRUE(store().import_room(r, false, [&](std::size_t n) { reported.push_back(n); }));

  auto snap = store().load_snapshot("r9");
  ASSERT_TRUE(snap.has_value());
  room_meta expected = r.meta;
  expected.total_notes = 3;
  expect_same_meta(snap->meta, expected);
  EXPECT_EQ(ids_of(snap->notes), (std::vector<std::string>{"c", "a", "b"}));
  EXPECT_EQ(snap->notes[2], r.notes[0]);
  // The owner stays the owner even when the member list says otherwise.
  EXPECT_EQ(store().role_of("r9", "u-bob"), role::owner);
  EXPECT_EQ(store().role_of("r9", "u-alice"), role::viewer);
  EXPECT_EQ(store().invites("r9"), (std::vector<invite>{r.invites[1], r.invites[0]}));
  ASSERT_FALSE(reported.empty());
  EXPECT_EQ(reported.back(), 3U);
  ASSERT_EQ(store().all_rooms().size(), 2U);
}

TEST_P(cold_store_conformance, imports_a_public_room_with_its_public_role) {
  seed();
  room_import r = make_import("r9", "u-bob", 2);
  r.meta.visibility = "public";
  r.meta.public_role = role::editor;
  ASSERT_TRUE(store().import_room(r, false, {}));
  expect_same_meta(*store().find_room("r9"), r.meta);
  ASSERT_EQ(store().public_rooms(10).size(), 1U);
  EXPECT_EQ(store().public_rooms(10)[0].public_role, role::editor);
}

TEST_P(cold_store_conformance, an_import_over_an_existing_room_needs_replace) {
  seed();
  ASSERT_EQ(store().apply_flush(flush_batch{"r1", 0, 7, {make_note("old", 1.0, 7)}, {}}),
            flush_outcome::applied);
  store().set_member("r1", "u-bob", role::editor);
  room_import r = make_import("r1", "u-alice", 3);
  r.notes = {make_note("new", 1.0, 3)};

  EXPECT_FALSE(store().import_room(r, false, {}));
  EXPECT_EQ(ids_of(store().load_snapshot("r1")->notes), (std::vector<std::string>{"old"}));

  ASSERT_TRUE(store().import_room(r, true, {}));
  auto snap = store().load_snapshot("r1");
  EXPECT_EQ(snap->meta.last_seq, 3);
  EXPECT_EQ(snap->meta.name, "Imported");
  EXPECT_EQ(ids_of(snap->notes), (std::vector<std::string>{"new"}));
  // The replaced room's members went with it.
  EXPECT_EQ(store().role_of("r1", "u-bob"), role::none);
  EXPECT_EQ(store().role_of("r1", "u-alice"), role::owner);
}

TEST_P(cold_store_conformance, an_import_naming_an_unknown_user_changes_nothing) {
  seed();
  room_import r = make_import("r9", "u-alice", 1);
  r.members = {member{"u-ghost", "", role::editor}};
  r.notes = {make_note("a", 1.0, 1)};
  EXPECT_THROW(store().import_room(r, false, {}), store_error);
  EXPECT_FALSE(store().find_room("r9").has_value());
  room_import orphan = make_import("r8", "u-ghost", 1);
  EXPECT_THROW(store().import_room(orphan, false, {}), store_error);
  EXPECT_FALSE(store().find_room("r8").has_value());
}

TEST_P(cold_store_conformance, a_big_import_reports_progress_and_keeps_every_note) {
  seed();
  room_import r = make_import("big", "u-alice", 12000);
  for (int i = 0; i < 12000; ++i) {
    r.notes.push_back(make_note("n" + std::to_string(i), i * 0.5, i + 1));
  }
  std::vector<std::size_t> reported;
  ASSERT_TRUE(store().import_room(r, false, [&](std::size_t n) { reported.push_back(n); }));
  EXPECT_GE(reported.size(), 2U) << "a room this size reports before it is done";
  EXPECT_EQ(reported.back(), 12000U);
  auto snap = store().load_snapshot("big");
  ASSERT_EQ(snap->notes.size(), 12000U);
  EXPECT_EQ(snap->meta.total_notes, 12000);
  EXPECT_EQ(snap->notes[11999], r.notes[11999]);
}

INSTANTIATE_TEST_SUITE_P(
    adapters, cold_store_conformance,
    ::testing::Values(
        cold_store_adapter{"memory", [] { return std::make_unique<memory_cold_store_harness>(); }},
        cold_store_adapter{"sqlite", [] { return std::make_unique<sqlite_cold_store_harness>(); }},
        cold_store_adapter{"postgres",
                           [] { return std::make_unique<postgres_cold_store_harness>(); }}),
    adapter_name<cold_store_adapter>);

// ---------------------------------------------------------------------------------------------
// HotLog.

class hot_log_conformance : public ::testing::TestWithParam<hot_log_adapter> {
 protected:
  void SetUp() override { harness_ = GetParam().make(hot_log_options{}); }
  hot_log& log() { return harness_->log(); }

  // Issues `count` appends to `room_id` without waiting; `done` results land in `results`.
  void append_many(std::string_view room_id, int count,
                   collector<core::result<append_result>>& results) {
    for (int i = 0; i < count; ++i) {
      log().append(append_request{std::string(room_id), frame_prefix(room_id),
                                  frame_suffix("c" + std::to_string(i))},
                   [&results](core::result<append_result> r) { results.add(std::move(r)); });
    }
  }

  static std::vector<std::int64_t> seqs_of(const std::vector<log_entry>& entries) {
    std::vector<std::int64_t> seqs;
    for (const auto& e : entries) {
      seqs.push_back(e.seq);
    }
    return seqs;
  }

  static std::vector<std::int64_t> range(std::int64_t first, std::int64_t last) {
    std::vector<std::int64_t> seqs;
    for (std::int64_t s = first; s <= last; ++s) {
      seqs.push_back(s);
    }
    return seqs;
  }

  std::unique_ptr<hot_log_harness> harness_;
};

TEST_P(hot_log_conformance, numbering_resumes_after_the_cold_last_seq) {
  log().ensure_room("r", 41);
  auto first = append_and_wait(log(), "r", "c1");
  ASSERT_TRUE(first.ok()) << first.err().message;
  EXPECT_EQ(first->entry.seq, 42);
  EXPECT_EQ(*first->entry.frame, expected_frame("r", 42, "c1"));
  EXPECT_EQ(first->persisted_seq, 41);

  auto second = append_and_wait(log(), "r", "c2");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->entry.seq, 43);
  EXPECT_EQ(*second->entry.frame, expected_frame("r", 43, "c2"));

  auto range = log().read_after("r", 41);
  EXPECT_EQ(range.head_seq, 43);
  EXPECT_EQ(range.persisted_seq, 41);
  EXPECT_TRUE(range.complete);
  ASSERT_EQ(range.entries.size(), 2u);
  EXPECT_EQ(*range.entries[0].frame, expected_frame("r", 42, "c1"));
  EXPECT_EQ(*range.entries[1].frame, expected_frame("r", 43, "c2"));
}

namespace {

append_request field_request(std::string_view room_id, std::string_view cid,
                             std::optional<field_guard> guard, std::vector<std::string> touched) {
  append_request request{std::string(room_id), frame_prefix(room_id), frame_suffix(cid)};
  request.guard = std::move(guard);
  request.touched_fields = std::move(touched);
  return request;
}

}  // namespace

TEST_P(hot_log_conformance, a_guarded_append_commits_only_while_its_field_is_unchanged) {
  log().ensure_room("r", 0);
  auto touch = append_request_and_wait(log(), field_request("r", "c1", std::nullopt, {"n/body"}));
  ASSERT_TRUE(touch.ok()) << touch.err().message;
  ASSERT_EQ(touch->entry.seq, 1);

  auto fresh = append_request_and_wait(
      log(), field_request("r", "c2", field_guard{"n/body", 1}, {"n/body"}));
  ASSERT_TRUE(fresh.ok()) << fresh.err().message;
  EXPECT_EQ(fresh->entry.seq, 2);

  // Built on seq 1, but seq 2 changed the field since: refused, with the field's last seq.
  auto stale = append_request_and_wait(
      log(), field_request("r", "c3", field_guard{"n/body", 1}, {"n/body"}));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.err().code, stale_code);
  EXPECT_EQ(stale_field_seq(stale.err()), 2);

  // Another field of the note, and the same field of another room, are not affected.
  auto other_field = append_request_and_wait(
      log(), field_request("r", "c4", field_guard{"n/title", 0}, {"n/title"}));
  ASSERT_TRUE(other_field.ok()) << other_field.err().message;
  EXPECT_EQ(other_field->entry.seq, 3);  // the stale append numbered nothing
  log().ensure_room("r2", 0);
  auto other_room = append_request_and_wait(
      log(), field_request("r2", "c5", field_guard{"n/body", 0}, {"n/body"}));
  ASSERT_TRUE(other_room.ok()) << other_room.err().message;

  // An op that touches several fields (a delete) moves each of them on.
  auto both =
      append_request_and_wait(log(), field_request("r", "c6", std::nullopt, {"n/title", "n/body"}));
  ASSERT_TRUE(both.ok()) << both.err().message;
  EXPECT_EQ(both->entry.seq, 4);
  auto after_delete = append_request_and_wait(
      log(), field_request("r", "c7", field_guard{"n/title", 3}, {"n/title"}));
  ASSERT_FALSE(after_delete.ok());
  EXPECT_EQ(stale_field_seq(after_delete.err()), 4);

  const auto range = log().read_after("r", 0);
  EXPECT_EQ(range.head_seq, 4);
  EXPECT_EQ(seqs_of(range.entries), this->range(1, 4));
}

TEST_P(hot_log_conformance, concurrent_guarded_appends_on_one_field_commit_exactly_one) {
  log().ensure_room("r", 0);
  collector<core::result<append_result>> results;
  constexpr int attempts = 20;
  // Issued without waiting, so they share group commits and pipelines: the guard must be
  // checked against the ops before it in the same batch, not only against what was committed.
  for (int i = 0; i < attempts; ++i) {
    log().append(field_request("r", "c" + std::to_string(i), field_guard{"n/body", 0}, {"n/body"}),
                 [&results](core::result<append_result> r) { results.add(std::move(r)); });
  }
  ASSERT_TRUE(results.wait_for(attempts));
  int committed = 0;
  int refused = 0;
  for (const auto& r : results.items()) {
    if (r.ok()) {
      ++committed;
      EXPECT_EQ(r->entry.seq, 1);
    } else {
      EXPECT_EQ(r.err().code, stale_code) << r.err().message;
      EXPECT_EQ(stale_field_seq(r.err()), 1);
      ++refused;
    }
  }
  EXPECT_EQ(committed, 1);
  EXPECT_EQ(refused, attempts - 1);
  EXPECT_EQ(log().read_after("r", 0).head_seq, 1);
}

TEST_P(hot_log_conformance, a_new_room_starts_at_one) {
  log().ensure_room("r", 0);
  for (std::int64_t expected = 1; expected <= 3; ++expected) {
    auto result = append_and_wait(log(), "r");
    ASSERT_TRUE(result.ok()) << result.err().message;
    EXPECT_EQ(result->entry.seq, expected);
  }
}

TEST_P(hot_log_conformance, ensure_room_never_moves_numbering_back) {
  log().ensure_room("r", 41);
  ASSERT_EQ(append_and_wait(log(), "r")->entry.seq, 42);
  log().ensure_room("r", 41);
  EXPECT_EQ(append_and_wait(log(), "r")->entry.seq, 43);
  log().ensure_room("r", 10);
  EXPECT_EQ(append_and_wait(log(), "r")->entry.seq, 44);
  EXPECT_EQ(log().read_after("r", 0).head_seq, 44);
}

TEST_P(hot_log_conformance, ensure_room_raises_a_log_behind_the_cold_store) {
  log().ensure_room("r", 5);
  ASSERT_EQ(append_and_wait(log(), "r")->entry.seq, 6);
  log().ensure_room("r", 20);
  auto range = log().read_after("r", 20);
  EXPECT_EQ(range.head_seq, 20);
  EXPECT_EQ(range.persisted_seq, 20);
  EXPECT_EQ(append_and_wait(log(), "r")->entry.seq, 21);
}

TEST_P(hot_log_conformance, rooms_are_numbered_independently) {
  log().ensure_room("a", 0);
  log().ensure_room("b", 100);
  EXPECT_EQ(append_and_wait(log(), "a")->entry.seq, 1);
  EXPECT_EQ(append_and_wait(log(), "b")->entry.seq, 101);
  EXPECT_EQ(append_and_wait(log(), "a")->entry.seq, 2);
  EXPECT_EQ(append_and_wait(log(), "b")->entry.seq, 102);
  EXPECT_EQ(seqs_of(log().read_after("a", 0).entries), range(1, 2));
  EXPECT_EQ(seqs_of(log().read_after("b", 100).entries), range(101, 102));
}

TEST_P(hot_log_conformance, the_bus_receives_ops_in_seq_order) {
  log().ensure_room("r", 0);
  log().ensure_room("other", 0);
  collector<bus_message> published;
  collector<int> confirmed;
  auto sub = harness_->events().subscribe(
      room_channel("r"), [&](const bus_message& m) { published.add(m); },
      [&] { confirmed.add(1); });
  ASSERT_TRUE(confirmed.wait_for(1));

  constexpr int count = 200;
  collector<core::result<append_result>> done;
  append_many("r", count, done);
  ASSERT_TRUE(append_and_wait(log(), "other").ok());  // not on the subscribed channel
  ASSERT_TRUE(done.wait_for(count));
  ASSERT_TRUE(published.wait_for(count));

  const auto messages = published.items();
  ASSERT_EQ(messages.size(), static_cast<std::size_t>(count));
  const auto results = done.items();
  for (int i = 0; i < count; ++i) {
    const std::int64_t seq = i + 1;
    EXPECT_EQ(messages[i].seq, seq);
    ASSERT_TRUE(results[i].ok());
    EXPECT_EQ(results[i]->entry.seq, seq);
    EXPECT_EQ(*messages[i].frame, *results[i]->entry.frame);
    EXPECT_NE(messages[i].frame->find(R"("seq":)" + std::to_string(seq) + ","), std::string::npos);
  }
}

TEST_P(hot_log_conformance, concurrent_appends_are_gapless_and_done_in_seq_order) {
  log().ensure_room("r", 0);
  collector<bus_message> published;
  collector<int> confirmed;
  auto sub = harness_->events().subscribe(
      room_channel("r"), [&](const bus_message& m) { published.add(m); },
      [&] { confirmed.add(1); });
  ASSERT_TRUE(confirmed.wait_for(1));

  constexpr int threads = 4;
  constexpr int per_thread = 250;
  constexpr int total = threads * per_thread;
  collector<core::result<append_result>> done;
  std::vector<std::thread> appenders;
  for (int t = 0; t < threads; ++t) {
    appenders.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const std::string cid = "t" + std::to_string(t) + "-" + std::to_string(i);
        log().append(append_request{"r", frame_prefix("r"), frame_suffix(cid)},
                     [&done](core::result<append_result> r) { done.add(std::move(r)); });
      }
    });
  }
  for (auto& thread : appenders) {
    thread.join();
  }
  ASSERT_TRUE(done.wait_for(total));
  ASSERT_TRUE(published.wait_for(total));

  std::vector<std::int64_t> done_seqs;
  std::set<std::string> frames;
  for (const auto& r : done.items()) {
    ASSERT_TRUE(r.ok()) << r.err().message;
    done_seqs.push_back(r->entry.seq);
    frames.insert(*r->entry.frame);
  }
  EXPECT_EQ(done_seqs, range(1, total));
  EXPECT_EQ(frames.size(), static_cast<std::size_t>(total)) << "an op was numbered twice";

  std::vector<std::int64_t> published_seqs;
  for (const auto& m : published.items()) {
    published_seqs.push_back(m.seq);
  }
  EXPECT_EQ(published_seqs, range(1, total));

  auto all = log().read_after("r", 0);
  EXPECT_EQ(all.head_seq, total);
  EXPECT_TRUE(all.complete);
  EXPECT_EQ(seqs_of(all.entries), range(1, total));
}

TEST_P(hot_log_conformance, reads_during_appends_see_a_gapless_prefix) {
  log().ensure_room("r", 0);
  constexpr int count = 300;
  collector<core::result<append_result>> done;
  std::thread writer([&] { append_many("r", count, done); });
  const auto give_up = std::chrono::steady_clock::now() + testing::deadline;
  while (done.size() < static_cast<std::size_t>(count) &&
         std::chrono::steady_clock::now() < give_up) {
    auto seen = log().read_after("r", 0);
    EXPECT_TRUE(seen.complete);
    ASSERT_EQ(seqs_of(seen.entries), range(1, seen.head_seq));
  }
  writer.join();
  ASSERT_TRUE(done.wait_for(count));
}

TEST_P(hot_log_conformance, read_after_reports_whether_it_covers_the_gap) {
  log().ensure_room("r", 0);
  collector<core::result<append_result>> done;
  append_many("r", 500, done);
  ASSERT_TRUE(done.wait_for(500));

  // Nothing persisted: everything is held, whatever keep_recent says.
  auto all = log().read_after("r", 0);
  EXPECT_EQ(all.head_seq, 500);
  EXPECT_EQ(all.persisted_seq, 0);
  EXPECT_TRUE(all.complete);
  EXPECT_EQ(seqs_of(all.entries), range(1, 500));

  log().set_persisted("r", 450);
  // Trim to min(persisted 450, head 500 - keep 100) = 400.
  auto trimmed = log().read_after("r", 0);
  EXPECT_EQ(trimmed.persisted_seq, 450);
  EXPECT_FALSE(trimmed.complete);
  EXPECT_EQ(seqs_of(trimmed.entries), range(401, 500));

  auto from_400 = log().read_after("r", 400);
  EXPECT_TRUE(from_400.complete);
  EXPECT_EQ(seqs_of(from_400.entries), range(401, 500));
  EXPECT_EQ(*from_400.entries.front().frame, expected_frame("r", 401, "c400"));

  EXPECT_FALSE(log().read_after("r", 399).complete);

  auto caught_up = log().read_after("r", 500);
  EXPECT_TRUE(caught_up.complete);
  EXPECT_TRUE(caught_up.entries.empty());

  auto unknown = log().read_after("never-seen", 0);
  EXPECT_EQ(unknown.head_seq, 0);
  EXPECT_TRUE(unknown.complete);
  EXPECT_TRUE(unknown.entries.empty());
}

TEST_P(hot_log_conformance, trim_never_drops_an_unpersisted_op) {
  harness_ = GetParam().make(hot_log_options{.keep_recent = 10});
  log().ensure_room("r", 0);
  collector<core::result<append_result>> done;
  append_many("r", 50, done);
  ASSERT_TRUE(done.wait_for(50));

  log().set_persisted("r", 20);  // min(20, 50 - 10) = 20
  EXPECT_EQ(seqs_of(log().read_after("r", 0).entries), range(21, 50));

  log().set_persisted("r", 45);  // min(45, 40) = 40: the last 10 stay
  EXPECT_EQ(seqs_of(log().read_after("r", 0).entries), range(41, 50));

  collector<core::result<append_result>> more;
  append_many("r", 5, more);
  ASSERT_TRUE(more.wait_for(5));
  EXPECT_EQ(seqs_of(log().read_after("r", 0).entries), range(41, 55));
  EXPECT_TRUE(log().read_after("r", 40).complete);
}

TEST_P(hot_log_conformance, persisted_seq_only_moves_forward) {
  log().ensure_room("r", 0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(append_and_wait(log(), "r").ok());
  }
  log().set_persisted("r", 2);
  log().set_persisted("r", 1);
  EXPECT_EQ(log().read_after("r", 0).persisted_seq, 2);
  auto next = append_and_wait(log(), "r");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->entry.seq, 4);
  EXPECT_EQ(next->persisted_seq, 2);
}

TEST_P(hot_log_conformance, reset_room_drops_the_log_and_numbers_on_after_the_new_seq) {
  log().ensure_room("r", 0);
  collector<core::result<append_result>> done;
  append_many("r", 5, done);
  ASSERT_TRUE(done.wait_for(5));

  EXPECT_FALSE(log().reset_room("r", 4, 7)) << "the head moved on: nothing may change";
  EXPECT_EQ(seqs_of(log().read_after("r", 0).entries), range(1, 5));
  EXPECT_FALSE(log().reset_room("r", 5, 5)) << "the new seq must be past the head";

  ASSERT_TRUE(log().reset_room("r", 5, 7));
  const auto after = log().read_after("r", 0);
  EXPECT_EQ(after.head_seq, 7);
  EXPECT_EQ(after.persisted_seq, 7);
  EXPECT_TRUE(after.entries.empty());
  EXPECT_FALSE(log().read_after("r", 5).complete) << "nobody may resume across the gap";
  EXPECT_TRUE(log().dirty_rooms().empty());
  auto next = append_and_wait(log(), "r");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->entry.seq, 8);
  EXPECT_EQ(seqs_of(log().read_after("r", 0).entries), range(8, 8));
}

TEST_P(hot_log_conformance, dirty_rooms_are_those_with_unpersisted_ops) {
  log().ensure_room("a", 0);
  log().ensure_room("b", 7);
  log().ensure_room("c", 3);
  ASSERT_TRUE(append_and_wait(log(), "a").ok());
  ASSERT_TRUE(append_and_wait(log(), "c").ok());
  ASSERT_TRUE(append_and_wait(log(), "c").ok());

  auto dirty = log().dirty_rooms();
  std::sort(dirty.begin(), dirty.end());
  EXPECT_EQ(dirty, (std::vector<std::string>{"a", "c"}));

  log().set_persisted("c", 5);
  EXPECT_EQ(log().dirty_rooms(), (std::vector<std::string>{"a"}));
  log().set_persisted("a", 1);
  EXPECT_TRUE(log().dirty_rooms().empty());
}

TEST_P(hot_log_conformance, the_log_survives_a_restart) {
  log().ensure_room("r", 10);
  collector<core::result<append_result>> done;
  append_many("r", 20, done);
  ASSERT_TRUE(done.wait_for(20));
  log().set_persisted("r", 25);
  // Queued but not yet completed when the log is destroyed: destruction completes them.
  collector<core::result<append_result>> late;
  append_many("r", 5, late);
  if (!harness_->reopen()) {
    GTEST_SKIP() << GetParam().name << " keeps nothing across instances";
  }
  ASSERT_EQ(late.size(), 5u);
  for (const auto& r : late.items()) {
    ASSERT_TRUE(r.ok()) << r.err().message;
  }

  auto range_after = log().read_after("r", 10);
  EXPECT_EQ(range_after.head_seq, 35);
  EXPECT_EQ(range_after.persisted_seq, 25);
  EXPECT_TRUE(range_after.complete);
  EXPECT_EQ(seqs_of(range_after.entries), range(11, 35));
  EXPECT_EQ(*range_after.entries.front().frame, expected_frame("r", 11, "c0"));
  EXPECT_EQ(log().dirty_rooms(), (std::vector<std::string>{"r"}));

  log().ensure_room("r", 25);  // the ColdStore's last_seq after the restart
  auto next = append_and_wait(log(), "r");
  ASSERT_TRUE(next.ok()) << next.err().message;
  EXPECT_EQ(next->entry.seq, 36);
  EXPECT_EQ(next->persisted_seq, 25);
}

TEST_P(hot_log_conformance, one_owner_holds_a_room_flush_lease_at_a_time) {
  using std::chrono::milliseconds;
  EXPECT_TRUE(log().try_lease("r", "server-a", milliseconds(60000)));
  EXPECT_TRUE(log().try_lease("r", "server-a", milliseconds(60000)));  // renewing one's own
  EXPECT_FALSE(log().try_lease("r", "server-b", milliseconds(60000)));
  EXPECT_TRUE(log().try_lease("other-room", "server-b", milliseconds(60000)));
  log().release_lease("r", "server-b");  // not the holder: nothing happens
  EXPECT_FALSE(log().try_lease("r", "server-b", milliseconds(60000)));
  log().release_lease("r", "server-a");
  EXPECT_TRUE(log().try_lease("r", "server-b", milliseconds(60000)));
}

TEST_P(hot_log_conformance, a_lease_whose_holder_died_expires) {
  using std::chrono::milliseconds;
  ASSERT_TRUE(log().try_lease("r", "crashed", milliseconds(50)));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!log().try_lease("r", "survivor", milliseconds(60000))) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the lease never expired";
    std::this_thread::yield();
  }
}

INSTANTIATE_TEST_SUITE_P(
    adapters, hot_log_conformance,
    ::testing::Values(hot_log_adapter{"memory",
                                      [](hot_log_options options) {
                                        return std::make_unique<memory_hot_log_harness>(options);
                                      }},
                      hot_log_adapter{"sqlite",
                                      [](hot_log_options options) {
                                        return std::make_unique<sqlite_hot_log_harness>(options);
                                      }},
                      hot_log_adapter{"redis",
                                      [](hot_log_options options) {
                                        return std::make_unique<redis_hot_log_harness>(options,
                                                                                       false);
                                      }},
                      hot_log_adapter{"redis_cluster",
                                      [](hot_log_options options) {
                                        return std::make_unique<redis_hot_log_harness>(options,
                                                                                       true);
                                      }}),
    adapter_name<hot_log_adapter>);

// ---------------------------------------------------------------------------------------------
// Bus.

class bus_conformance : public ::testing::TestWithParam<bus_adapter> {
 protected:
  void SetUp() override { bus_ = GetParam().make(); }

  // Subscribes and waits until the subscription is live.
  std::unique_ptr<subscription> subscribe_live(const std::string& channel,
                                               collector<bus_message>& into) {
    collector<int> confirmed;
    auto sub = bus_->subscribe(
        channel, [&into](const bus_message& m) { into.add(m); }, [&] { confirmed.add(1); });
    EXPECT_TRUE(confirmed.wait_for(1)) << "subscription to " << channel << " never confirmed";
    return sub;
  }

  static bus_message message(std::int64_t seq, std::string text) {
    return bus_message{seq, std::make_shared<const std::string>(std::move(text))};
  }

  std::unique_ptr<bus> bus_;
};

TEST_P(bus_conformance, delivers_to_every_subscriber_of_the_channel_only) {
  collector<bus_message> first;
  collector<bus_message> second;
  collector<bus_message> elsewhere;
  auto a = subscribe_live(room_channel("r"), first);
  auto b = subscribe_live(room_channel("r"), second);
  auto c = subscribe_live(room_channel("other"), elsewhere);

  bus_->publish(room_channel("r"), message(7, R"({"type":"op","seq":7})"));
  bus_->publish(stats_channel, message(0, R"({"type":"room_stat"})"));
  bus_->publish(room_channel("other"), message(1, "last"));

  ASSERT_TRUE(first.wait_for(1));
  ASSERT_TRUE(second.wait_for(1));
  ASSERT_TRUE(elsewhere.wait_for(1));
  EXPECT_EQ(first.items()[0].seq, 7);
  EXPECT_EQ(*first.items()[0].frame, R"({"type":"op","seq":7})");
  EXPECT_EQ(*second.items()[0].frame, R"({"type":"op","seq":7})");
  EXPECT_EQ(elsewhere.items().size(), 1u);
  EXPECT_EQ(*elsewhere.items()[0].frame, "last");
}

TEST_P(bus_conformance, keeps_the_order_of_one_publisher) {
  collector<bus_message> received;
  auto sub = subscribe_live(room_channel("r"), received);
  constexpr int count = 1000;
  for (int i = 1; i <= count; ++i) {
    bus_->publish(room_channel("r"), message(i, "op " + std::to_string(i)));
  }
  ASSERT_TRUE(received.wait_for(count));
  const auto items = received.items();
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(items[i].seq, i + 1);
    EXPECT_EQ(*items[i].frame, "op " + std::to_string(i + 1));
  }
}

TEST_P(bus_conformance, a_dropped_subscription_receives_nothing_more) {
  collector<bus_message> dropped;
  collector<bus_message> kept;
  auto gone = subscribe_live(room_channel("r"), dropped);
  auto stays = subscribe_live(room_channel("r"), kept);
  bus_->publish(room_channel("r"), message(1, "before"));
  ASSERT_TRUE(dropped.wait_for(1));

  gone.reset();
  bus_->publish(room_channel("r"), message(2, "after"));
  ASSERT_TRUE(kept.wait_for(2));  // the publication has been delivered
  EXPECT_EQ(dropped.size(), 1u);
}

TEST_P(bus_conformance, no_delivery_after_the_subscription_destructor_returns) {
  // A session destroys its subscription while another thread publishes: once the destructor
  // has returned, the handler (which may point into the freed session) must never run.
  for (int round = 0; round < 20; ++round) {
    std::atomic<bool> destroyed = false;
    std::atomic<bool> late_call = false;
    collector<int> first_delivery;
    collector<int> confirmed;
    auto sub = bus_->subscribe(
        room_channel("r"),
        [&](const bus_message&) {
          if (destroyed.load()) {
            late_call = true;
          }
          // Stay in the handler a while, so a destructor that does not wait for a delivery in
          // flight gets caught returning in the middle of one.
          for (int i = 0; i < 200; ++i) {
            std::this_thread::yield();
          }
          if (destroyed.load()) {
            late_call = true;
          }
          if (first_delivery.size() == 0) {
            first_delivery.add(1);
          }
        },
        [&] { confirmed.add(1); });
    ASSERT_TRUE(confirmed.wait_for(1));

    std::atomic<bool> stop = false;
    std::thread publisher([&] {
      while (!stop.load()) {
        bus_->publish(room_channel("r"), message(1, "spam"));
      }
    });
    EXPECT_TRUE(first_delivery.wait_for(1));
    sub.reset();
    destroyed = true;
    // Keep publishing a little longer so a stale delivery would have a chance to happen.
    collector<bus_message> witness;
    auto probe = subscribe_live(room_channel("r"), witness);
    EXPECT_TRUE(witness.wait_for(100));
    stop = true;
    publisher.join();
    EXPECT_FALSE(late_call.load()) << "handler ran after its subscription was destroyed";
  }
}

TEST_P(bus_conformance, publishing_without_subscribers_is_harmless) {
  bus_->publish(room_channel("nobody-listens"), message(1, "x"));
  collector<bus_message> received;
  auto sub = subscribe_live(room_channel("nobody-listens"), received);
  bus_->publish(room_channel("nobody-listens"), message(2, "y"));
  ASSERT_TRUE(received.wait_for(1));
  EXPECT_EQ(received.items()[0].seq, 2);
}

INSTANTIATE_TEST_SUITE_P(
    adapters, bus_conformance,
    ::testing::Values(
        bus_adapter{"memory", [] { return std::make_unique<memory_bus>(); }},
        bus_adapter{"redis", [] { return std::make_unique<owning_redis_bus>(false); }},
        bus_adapter{"redis_cluster", [] { return std::make_unique<owning_redis_bus>(true); }}),
    adapter_name<bus_adapter>);

}  // namespace
}  // namespace fun_notes::store

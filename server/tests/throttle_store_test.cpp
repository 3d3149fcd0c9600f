// The throttle store port and the sign-in policy on top of it, run the same against every
// adapter: this process's memory, a standalone Redis and a 3-master Redis Cluster. Then what
// only Redis has: expiry of its keys, and an outage during sign-in.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "auth/login_throttle.hpp"
#include "redis_test_server.hpp"
#include "store/memory/memory_throttle_store.hpp"
#include "store/redis/redis_client.hpp"
#include "store/redis/redis_throttle_store.hpp"
#include "store/store_error.hpp"
#include "store/throttle_store.hpp"

namespace fun_notes::store {
namespace {

using namespace std::chrono_literals;
using clock_type = throttle_store::clock;
using server::auth::login_throttle;
using server::auth::throttle_limits;

constexpr auto deadline = 20s;

// Whole milliseconds, the resolution Redis keeps, so both adapters give the very same instants.
clock_type::time_point now_ms() {
  return std::chrono::floor<std::chrono::milliseconds>(clock_type::now());
}

// One adapter and what backs it. `store()` and `other_server()` are two servers' views of the
// same counts: for Redis two clients (two connections), for memory the one store of the process.
class throttle_harness {
 public:
  virtual ~throttle_harness() = default;
  virtual throttle_store& store() = 0;
  virtual throttle_store& other_server() = 0;
};

class memory_harness final : public throttle_harness {
 public:
  throttle_store& store() override { return store_; }
  throttle_store& other_server() override { return store_; }

 private:
  memory_throttle_store store_;
};

class redis_harness final : public throttle_harness {
 public:
  explicit redis_harness(bool cluster)
      : deployment_(cluster ? redis::testing::redis_deployment::cluster(3)
                            : redis::testing::redis_deployment::standalone()),
        client_a_(std::make_unique<redis::client>(deployment_->urls())),
        client_b_(std::make_unique<redis::client>(deployment_->urls())),
        store_a_(*client_a_),
        store_b_(*client_b_) {}
  throttle_store& store() override { return store_a_; }
  throttle_store& other_server() override { return store_b_; }

 private:
  std::unique_ptr<redis::testing::redis_deployment> deployment_;
  std::unique_ptr<redis::client> client_a_;
  std::unique_ptr<redis::client> client_b_;
  redis_throttle_store store_a_;
  redis_throttle_store store_b_;
};

struct throttle_adapter {
  std::string name;
  std::function<std::unique_ptr<throttle_harness>()> make;
};

void PrintTo(const throttle_adapter& adapter, std::ostream* out) {
  *out << adapter.name;
}

class throttle_conformance : public ::testing::TestWithParam<throttle_adapter> {
 protected:
  void SetUp() override { harness_ = GetParam().make(); }
  throttle_store& store() { return harness_->store(); }
  throttle_store& other_server() { return harness_->other_server(); }

  std::unique_ptr<throttle_harness> harness_;
};

const lock_policy two_free{2, 1s, 8s, 60s};

// --- the port ---

TEST_P(throttle_conformance, free_failures_then_a_lock_that_doubles_up_to_the_cap) {
  const auto t0 = now_ms();
  EXPECT_EQ(store().locked_until("k"), clock_type::time_point{}) << "an unknown key";
  EXPECT_LE(store().record_failure("k", two_free, t0), t0);
  EXPECT_LE(store().record_failure("k", two_free, t0), t0) << "the second is still free";
  EXPECT_EQ(store().record_failure("k", two_free, t0), t0 + 1s);
  EXPECT_EQ(store().locked_until("k"), t0 + 1s);
  EXPECT_EQ(store().record_failure("k", two_free, t0 + 1s), t0 + 1s + 2s);
  EXPECT_EQ(store().record_failure("k", two_free, t0 + 3s), t0 + 3s + 4s);
  EXPECT_EQ(store().record_failure("k", two_free, t0 + 7s), t0 + 7s + 8s);
  EXPECT_EQ(store().record_failure("k", two_free, t0 + 15s), t0 + 15s + 8s) << "capped";
  EXPECT_EQ(store().locked_until("k"), t0 + 23s);
}

TEST_P(throttle_conformance, a_lock_written_by_one_server_holds_on_another) {
  const auto t0 = now_ms();
  for (int i = 0; i < 3; ++i) {
    (i % 2 == 0 ? store() : other_server()).record_failure("shared", two_free, t0);
  }
  EXPECT_EQ(other_server().locked_until("shared"), t0 + 1s);
  EXPECT_EQ(store().locked_until("shared"), t0 + 1s);
}

TEST_P(throttle_conformance, keys_count_apart_and_clear_forgets_one) {
  const auto t0 = now_ms();
  for (int i = 0; i < 3; ++i) {
    store().record_failure("a", two_free, t0);
    store().record_failure("b", two_free, t0);
  }
  store().clear("a");
  EXPECT_EQ(store().locked_until("a"), clock_type::time_point{});
  EXPECT_EQ(store().locked_until("b"), t0 + 1s);
  EXPECT_LE(store().record_failure("a", two_free, t0), t0) << "counted from zero";
  store().clear("never-seen");  // not an error
}

TEST_P(throttle_conformance, a_key_quiet_for_longer_than_forget_after_starts_from_zero) {
  const auto t0 = now_ms();
  for (int i = 0; i < 3; ++i) {
    store().record_failure("old", two_free, t0);
  }
  for (int i = 0; i < 2; ++i) {
    store().record_failure("edge", two_free, t0);
  }
  // Exactly forget_after later the failures still count; a millisecond more and they do not.
  EXPECT_EQ(store().record_failure("edge", two_free, t0 + 60s), t0 + 61s);
  EXPECT_EQ(store().record_failure("old", two_free, t0 + 60s + 1ms), clock_type::time_point{})
      << "failure one of a fresh count, and the old lock gone with the old count";
  EXPECT_EQ(store().locked_until("old"), clock_type::time_point{});
  EXPECT_EQ(store().record_failure("old", two_free, t0 + 60s + 1ms), clock_type::time_point{});
}

TEST_P(throttle_conformance, failures_counted_at_once_by_two_servers_are_all_counted) {
  // 200 failures, 180 free: the lock's length tells the count (a lost one halves it).
  const lock_policy policy{180, 1s, 1048576s, 3600s};
  const auto t0 = now_ms();
  auto hammer = [&](throttle_store& s) {
    for (int i = 0; i < 100; ++i) {
      s.record_failure("contended", policy, t0);
    }
  };
  std::thread a([&] { hammer(store()); });
  std::thread b([&] { hammer(other_server()); });
  a.join();
  b.join();
  EXPECT_EQ(store().locked_until("contended"), t0 + 524288s) << "2^19 s: failure 200";
}

// --- the sign-in policy (auth::login_throttle) over the port ---

TEST_P(throttle_conformance,
       five_failures_of_a_name_are_free_then_each_one_locks_it_twice_as_long) {
  login_throttle t(store());
  const auto t0 = clock_type::now();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(t.retry_after("alice", "10.0.0.1", t0).count(), 0) << i;
    t.failed("alice", "10.0.0.1", t0);
  }
  EXPECT_EQ(t.retry_after("alice", "10.0.0.1", t0).count(), 0);
  t.failed("alice", "10.0.0.1", t0);
  EXPECT_EQ(t.retry_after("alice", "10.0.0.2", t0).count(), 1) << "the name is locked anywhere";
  EXPECT_EQ(t.retry_after("ALICE", "10.0.0.2", t0).count(), 1) << "names ignore case";
  EXPECT_EQ(t.retry_after("bob", "10.0.0.2", t0).count(), 0);
  t.failed("alice", "10.0.0.1", t0 + 1s);
  EXPECT_EQ(t.retry_after("alice", "10.0.0.1", t0 + 1s).count(), 2);
  t.failed("alice", "10.0.0.1", t0 + 3s);
  EXPECT_EQ(t.retry_after("alice", "10.0.0.1", t0 + 3s).count(), 4);
  EXPECT_EQ(t.retry_after("alice", "10.0.0.1", t0 + 7s).count(), 0) << "the lock ends";
}

TEST_P(throttle_conformance, failures_on_two_servers_lock_the_name_on_both) {
  login_throttle first(store());
  login_throttle second(other_server());
  const auto t0 = clock_type::now();
  for (int i = 0; i < 6; ++i) {
    (i % 2 == 0 ? first : second).failed("erin", "10.0.0." + std::to_string(i), t0);
  }
  EXPECT_EQ(first.retry_after("erin", "10.0.0.9", t0).count(), 1) << "three failures here";
  EXPECT_EQ(second.retry_after("Erin", "10.0.0.9", t0).count(), 1) << "three failures there";
  second.succeeded("erin");
  EXPECT_EQ(first.retry_after("erin", "10.0.0.9", t0).count(), 0) << "cleared everywhere";
}

TEST_P(throttle_conformance, the_lock_is_capped_and_a_success_clears_the_name) {
  throttle_limits limits;
  limits.max_lock = 60s;
  login_throttle t(store(), nullptr, limits);
  const auto t0 = clock_type::now();
  for (int i = 0; i < 40; ++i) {
    t.failed("carol", "", t0);
  }
  EXPECT_EQ(t.retry_after("carol", "", t0).count(), 60);
  t.succeeded("carol");
  EXPECT_EQ(t.retry_after("carol", "", t0).count(), 0);
}

TEST_P(throttle_conformance, one_address_trying_many_names_is_locked_after_twenty) {
  login_throttle t(store());
  const auto t0 = clock_type::now();
  for (int i = 0; i < 20; ++i) {
    t.failed("name" + std::to_string(i), "192.0.2.7", t0);
  }
  EXPECT_EQ(t.retry_after("someone-else", "192.0.2.7", t0).count(), 0);
  t.failed("name20", "192.0.2.7", t0);
  EXPECT_EQ(t.retry_after("someone-else", "192.0.2.7", t0).count(), 1);
  EXPECT_EQ(t.retry_after("someone-else", "192.0.2.8", t0).count(), 0);
  EXPECT_EQ(t.retry_after("192.0.2.7", "192.0.2.8", t0).count(), 0)
      << "a user named like the address is another key";
}

TEST_P(throttle_conformance, failures_an_hour_old_are_forgotten) {
  login_throttle t(store());
  const auto t0 = clock_type::now();
  for (int i = 0; i < 5; ++i) {
    t.failed("dave", "", t0);
  }
  t.failed("dave", "", t0 + 2h);
  EXPECT_EQ(t.retry_after("dave", "", t0 + 2h).count(), 0) << "counted from zero again";
}

TEST_P(throttle_conformance, a_megabyte_long_name_is_throttled_like_any_other) {
  login_throttle t(store());
  const auto t0 = clock_type::now();
  const std::string huge(1 << 20, 'x');
  for (int i = 0; i < 6; ++i) {
    t.failed(huge, "", t0);
  }
  EXPECT_EQ(t.retry_after(huge, "", t0).count(), 1);
  EXPECT_EQ(t.retry_after(huge.substr(1), "", t0).count(), 0);
}

INSTANTIATE_TEST_SUITE_P(
    adapters, throttle_conformance,
    ::testing::Values(
        throttle_adapter{"memory", [] { return std::make_unique<memory_harness>(); }},
        throttle_adapter{"redis", [] { return std::make_unique<redis_harness>(false); }},
        throttle_adapter{"redis_cluster", [] { return std::make_unique<redis_harness>(true); }}),
    [](const auto& info) { return info.param.name; });

// --- Redis only ---

class redis_throttle : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = redis::testing::redis_deployment::standalone();
    client_ = std::make_unique<redis::client>(redis_->urls());
    store_ = std::make_unique<redis_throttle_store>(*client_);
  }

  // Waits (polling, with a deadline) until the client reaches the restarted server again.
  void wait_until_redis_answers() {
    const auto give_up = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      try {
        store_->locked_until("probe");
        return;
      } catch (const store_error&) {
        ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "Redis never answered again";
        std::this_thread::sleep_for(10ms);  // reconnection backoff: poll with a deadline
      }
    }
  }

  std::unique_ptr<redis::testing::redis_deployment> redis_;
  std::unique_ptr<redis::client> client_;
  std::unique_ptr<redis_throttle_store> store_;
};

TEST_F(redis_throttle, a_key_is_one_hash_that_expires_when_it_would_be_forgotten) {
  const auto t0 = now_ms();
  store_->record_failure("name:frank", two_free, t0);
  const auto key = redis_throttle_store::redis_key("name:frank");
  auto& node = redis_->node(0);
  EXPECT_EQ(node.command({"TYPE", key}).str, "hash");
  EXPECT_EQ(node.command({"DBSIZE"}).integer, 1) << "one Redis key per throttle key";
  const auto ttl = node.command({"PTTL", key}).integer;
  EXPECT_GT(ttl, 55'000);
  EXPECT_LE(ttl, 60'000) << "forget_after";
  // A lock longer than forget_after keeps the key until the lock ends.
  const lock_policy long_lock{0, 120s, 120s, 60s};
  store_->record_failure("name:grace", long_lock, t0);
  EXPECT_GT(node.command({"PTTL", redis_throttle_store::redis_key("name:grace")}).integer, 115'000);
}

TEST_F(redis_throttle, a_stopped_redis_fails_with_store_error_rather_than_hanging) {
  redis_->node(0).kill();
  EXPECT_THROW(store_->record_failure("k", two_free, now_ms()), store_error);
  EXPECT_THROW(store_->locked_until("k"), store_error);
  EXPECT_THROW(store_->clear("k"), store_error);
}

TEST_F(redis_throttle, while_redis_is_down_each_server_throttles_on_its_own_then_shares_again) {
  memory_throttle_store local;
  // shared_retry 0: Redis is asked on every call, so the test need not wait out an interval.
  login_throttle t(*store_, &local, throttle_limits{}, 0ms);
  const auto t0 = clock_type::now();
  redis_->node(0).kill();
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(t.retry_after("heidi", "10.0.0.1", t0).count(), 0) << i;
    EXPECT_NO_THROW(t.failed("heidi", "10.0.0.1", t0)) << i;
  }
  EXPECT_EQ(t.retry_after("heidi", "10.0.0.1", t0).count(), 1) << "counted on this server";

  redis_->node(0).start();
  wait_until_redis_answers();
  EXPECT_EQ(t.retry_after("heidi", "10.0.0.1", t0).count(), 1)
      << "the lock counted during the outage still holds here";
  const auto key = redis_throttle_store::redis_key(login_throttle::store_key_of_name("heidi"));
  EXPECT_EQ(redis_->node(0).command({"EXISTS", key}).integer, 0) << "Redis never saw them";
  t.succeeded("heidi");
  EXPECT_EQ(t.retry_after("heidi", "10.0.0.1", t0).count(), 0);
  t.failed("heidi", "10.0.0.1", t0);
  EXPECT_EQ(redis_->node(0).command({"HGET", key, "failures"}).str, "1")
      << "counted in Redis again";
}

TEST_F(redis_throttle, with_no_fallback_a_redis_outage_lets_sign_in_through_without_throwing) {
  login_throttle t(*store_, nullptr, throttle_limits{}, 0ms);
  const auto t0 = clock_type::now();
  redis_->node(0).kill();
  for (int i = 0; i < 8; ++i) {
    EXPECT_NO_THROW(t.failed("ivan", "", t0));
  }
  EXPECT_EQ(t.retry_after("ivan", "", t0).count(), 0);
  EXPECT_NO_THROW(t.succeeded("ivan"));
}

}  // namespace
}  // namespace fun_notes::store

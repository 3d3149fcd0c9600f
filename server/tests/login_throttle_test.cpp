// The sign-in policy's own logic: its store keys, the cap on what it answers, and what it does
// when the shared store fails. The policy numbers themselves run against every store in
// throttle_store_test.cpp.
#include "auth/login_throttle.hpp"

#include <gtest/gtest.h>

#include "store/memory/memory_throttle_store.hpp"
#include "store/store_error.hpp"

namespace fun_notes::server::auth {
namespace {

using namespace std::chrono_literals;
using clock_type = login_throttle::clock;

// A shared store that can be made to fail, and counts how often it was asked.
class flaky_store final : public store::throttle_store {
 public:
  clock::time_point record_failure(std::string_view key, const store::lock_policy& policy,
                                   clock::time_point now) override {
    ask();
    return inner_.record_failure(key, policy, now);
  }
  clock::time_point locked_until(std::string_view key) override {
    ask();
    return inner_.locked_until(key);
  }
  void clear(std::string_view key) override {
    ask();
    inner_.clear(key);
  }

  bool down = false;
  int calls = 0;

 private:
  void ask() {
    ++calls;
    if (down) {
      throw store::store_error("redis throttle: unavailable: connection refused");
    }
  }
  store::memory_throttle_store inner_;
};

TEST(login_throttle, names_and_addresses_are_separate_keys_and_long_ones_are_hashed) {
  EXPECT_EQ(login_throttle::store_key_of_name("Alice"), "name:alice");
  EXPECT_EQ(login_throttle::store_key_of_address("10.0.0.1"), "address:10.0.0.1");
  EXPECT_NE(login_throttle::store_key_of_name("10.0.0.1"),
            login_throttle::store_key_of_address("10.0.0.1"));
  const std::string long_name(100, 'A');
  const auto hashed = login_throttle::store_key_of_name(long_name);
  EXPECT_EQ(hashed.size(), std::string("name#").size() + 32) << hashed;
  EXPECT_EQ(hashed, login_throttle::store_key_of_name(std::string(100, 'a'))) << "without case";
  EXPECT_NE(hashed, login_throttle::store_key_of_name(std::string(101, 'a')));
  EXPECT_EQ(login_throttle::store_key_of_name(std::string(64, 'a')), "name:" + std::string(64, 'a'))
      << "a key of 64 bytes is kept as it is";
}

TEST(login_throttle, a_lock_from_a_server_whose_clock_runs_ahead_is_never_more_than_the_cap) {
  store::memory_throttle_store counts;
  login_throttle t(counts);
  const auto t0 = clock_type::now();
  // Written as if an hour in the future: the lock ends 900 s after that.
  for (int i = 0; i < 40; ++i) {
    t.failed("judy", "", t0 + 1h);
  }
  EXPECT_EQ(t.retry_after("judy", "", t0).count(), 900);
}

TEST(login_throttle, a_failing_shared_store_hands_over_to_the_fallback_and_is_retried_later) {
  flaky_store shared;
  store::memory_throttle_store local;
  login_throttle t(shared, &local, throttle_limits{}, 1h);
  const auto t0 = clock_type::now();
  shared.down = true;
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(t.retry_after("kim", "10.0.0.1", t0).count(), 0) << i;
    t.failed("kim", "10.0.0.1", t0);
  }
  EXPECT_EQ(t.retry_after("kim", "10.0.0.1", t0).count(), 1) << "the fallback throttles";
  EXPECT_EQ(shared.calls, 1) << "after one failure the shared store is left alone for 1 h";

  // With a retry interval of zero the next call asks again and finds it back.
  login_throttle eager(shared, &local, throttle_limits{}, 0ms);
  shared.down = false;
  EXPECT_EQ(eager.retry_after("kim", "10.0.0.1", t0).count(), 1) << "local locks still apply";
  eager.failed("lee", "", t0);
  EXPECT_EQ(local.locked_until("name:lee"), clock_type::time_point{});
  EXPECT_GT(shared.calls, 1);
}

TEST(login_throttle, without_a_fallback_a_failing_store_neither_throttles_nor_throws) {
  flaky_store shared;
  shared.down = true;
  login_throttle t(shared, nullptr, throttle_limits{}, 0ms);
  const auto t0 = clock_type::now();
  for (int i = 0; i < 10; ++i) {
    EXPECT_NO_THROW(t.failed("mia", "10.0.0.1", t0));
  }
  EXPECT_EQ(t.retry_after("mia", "10.0.0.1", t0).count(), 0);
  EXPECT_NO_THROW(t.succeeded("mia"));
}

}  // namespace
}  // namespace fun_notes::server::auth

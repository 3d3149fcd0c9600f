// Sign-in throttling: free failures, then doubling locks per name and per address.
#include "auth/login_throttle.hpp"

#include <gtest/gtest.h>

namespace fun_notes::server::auth {
namespace {

using namespace std::chrono_literals;
using clock_type = login_throttle::clock;

TEST(login_throttle, five_failures_are_free_then_each_one_locks_the_name_twice_as_long) {
  login_throttle t;
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

TEST(login_throttle, the_lock_is_capped_and_a_success_clears_the_name) {
  throttle_limits limits;
  limits.max_lock = 60s;
  login_throttle t(limits);
  const auto t0 = clock_type::now();
  for (int i = 0; i < 40; ++i) {
    t.failed("carol", "", t0);
  }
  EXPECT_EQ(t.retry_after("carol", "", t0).count(), 60);
  t.succeeded("carol");
  EXPECT_EQ(t.retry_after("carol", "", t0).count(), 0);
}

TEST(login_throttle, one_address_trying_many_names_is_locked_after_twenty) {
  login_throttle t;
  const auto t0 = clock_type::now();
  for (int i = 0; i < 20; ++i) {
    t.failed("name" + std::to_string(i), "192.0.2.7", t0);
  }
  EXPECT_EQ(t.retry_after("someone-else", "192.0.2.7", t0).count(), 0);
  t.failed("name20", "192.0.2.7", t0);
  EXPECT_EQ(t.retry_after("someone-else", "192.0.2.7", t0).count(), 1);
  EXPECT_EQ(t.retry_after("someone-else", "192.0.2.8", t0).count(), 0);
}

TEST(login_throttle, failures_an_hour_old_are_forgotten) {
  login_throttle t;
  const auto t0 = clock_type::now();
  for (int i = 0; i < 5; ++i) {
    t.failed("dave", "", t0);
  }
  t.failed("dave", "", t0 + 2h);
  EXPECT_EQ(t.retry_after("dave", "", t0 + 2h).count(), 0) << "counted from zero again";
}

}  // namespace
}  // namespace fun_notes::server::auth

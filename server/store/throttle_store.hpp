// Throttle port: failure counts and lock expiries of sign-in keys (a user name, an address),
// shared by every server of the fleet so that a lock holds whichever server is asked.
#pragma once

#include <chrono>
#include <string_view>

namespace fun_notes::store {

// How one kind of key (names, addresses) turns failures into locks. The numbers come from the
// caller (auth::throttle_limits): adapters only apply them.
struct lock_policy {
  int free_failures = 0;
  std::chrono::seconds first_lock{0};
  std::chrono::seconds max_lock{0};
  // A key whose last failure is older than this starts again from zero.
  std::chrono::seconds forget_after{0};
};

// The lock that the `failures`-th failure in a row sets: none while failures <= free_failures,
// then first_lock, doubling with each further failure, up to max_lock.
std::chrono::milliseconds lock_after(const lock_policy& policy, long long failures);

// Times are wall-clock (system_clock), passed in by the caller rather than read by the adapter:
// a lock written by one server must mean the same instant to the others, and tests can move
// time. Blocking calls (worker pool); may throw store_error.
class throttle_store {
 public:
  using clock = std::chrono::system_clock;
  virtual ~throttle_store() = default;

  // Counts one failure of `key` at `now`, from zero when its last failure is more than
  // policy.forget_after before `now`, and returns until when the key is now locked: now +
  // lock_after(policy, count) once past the free failures, else the lock it had. Atomic: failures
  // counted at once by several servers are all counted.
  virtual clock::time_point record_failure(std::string_view key, const lock_policy& policy,
                                           clock::time_point now) = 0;
  // Until when `key` is locked; a time not after now (the epoch for an unknown key): unlocked.
  virtual clock::time_point locked_until(std::string_view key) = 0;
  // Forgets the key's failures and lock.
  virtual void clear(std::string_view key) = 0;
};

}  // namespace fun_notes::store

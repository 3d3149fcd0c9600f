// The sign-in throttle's counts in Redis / Redis Cluster, so every server of a fleet counts the
// same failures and honours the same locks.
#pragma once

#include "store/redis/redis_client.hpp"
#include "store/throttle_store.hpp"

namespace fun_notes::store {

// One hash per key, login-throttle:<key> (so any key lives in one slot), with the fields
// failures, last (unix ms of the last failure) and until (unix ms the lock ends). A failure is
// one Lua script: read, reset when forgotten, count, lock, and expire the hash once it would be
// forgotten anyway. Throws store_error when Redis fails or refuses (a full Redis refuses the
// script whole, so nothing is half-written).
class redis_throttle_store final : public throttle_store {
 public:
  explicit redis_throttle_store(redis::client& client) : client_(client) {}

  clock::time_point record_failure(std::string_view key, const lock_policy& policy,
                                   clock::time_point now) override;
  clock::time_point locked_until(std::string_view key) override;
  void clear(std::string_view key) override;

  // The Redis key of a throttle key (for tests and operators).
  static std::string redis_key(std::string_view key);

 private:
  redis::client& client_;
};

}  // namespace fun_notes::store

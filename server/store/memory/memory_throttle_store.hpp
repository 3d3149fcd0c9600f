// The throttle store of one process: embedded mode's, and a fleet server's own while Redis is
// unreachable.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "store/throttle_store.hpp"

namespace fun_notes::store {

// Thread-safe. Keys past their lock and their forget_after are dropped now and then, so an
// attacker trying endless names does not grow the map without bound.
class memory_throttle_store final : public throttle_store {
 public:
  clock::time_point record_failure(std::string_view key, const lock_policy& policy,
                                   clock::time_point now) override;
  clock::time_point locked_until(std::string_view key) override;
  void clear(std::string_view key) override;

 private:
  struct record {
    long long failures = 0;
    clock::time_point last{};
    clock::time_point locked_until{};
    // The later of the lock's end and last + forget_after: past it the record means nothing.
    clock::time_point expires{};
  };
  void prune(clock::time_point now);

  std::mutex mutex_;
  std::unordered_map<std::string, record> records_;
  std::uint64_t calls_ = 0;
};

}  // namespace fun_notes::store

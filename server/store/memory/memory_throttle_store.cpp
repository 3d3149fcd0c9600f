// The in-process throttle store (see memory_throttle_store.hpp).
#include "store/memory/memory_throttle_store.hpp"

#include <algorithm>

namespace fun_notes::store {

throttle_store::clock::time_point memory_throttle_store::record_failure(std::string_view key,
                                                                        const lock_policy& policy,
                                                                        clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto& r = records_[std::string(key)];
  if (r.failures > 0 && now - r.last > policy.forget_after) {
    r = record{};
  }
  ++r.failures;
  r.last = now;
  if (const auto lock_for = lock_after(policy, r.failures); lock_for.count() > 0) {
    r.locked_until = now + lock_for;
  }
  r.expires = std::max(r.locked_until, now + policy.forget_after);
  if (++calls_ % 1024 == 0) {
    prune(now);
  }
  return r.locked_until;
}

throttle_store::clock::time_point memory_throttle_store::locked_until(std::string_view key) {
  std::lock_guard lock(mutex_);
  const auto it = records_.find(std::string(key));
  return it == records_.end() ? clock::time_point{} : it->second.locked_until;
}

void memory_throttle_store::clear(std::string_view key) {
  std::lock_guard lock(mutex_);
  records_.erase(std::string(key));
}

void memory_throttle_store::prune(clock::time_point now) {
  std::erase_if(records_, [&](const auto& entry) { return entry.second.expires < now; });
}

}  // namespace fun_notes::store

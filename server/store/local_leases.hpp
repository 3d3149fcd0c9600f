// Flush leases within one process (the embedded and in-memory logs): same rules as Redis's.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace fun_notes::store {

class local_leases {
 public:
  bool try_lease(std::string_view room_id, std::string_view owner, std::chrono::milliseconds ttl) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    auto it = leases_.find(room_id);
    if (it != leases_.end() && it->second.owner != owner && it->second.expires > now) {
      return false;
    }
    leases_.insert_or_assign(std::string(room_id), lease{std::string(owner), now + ttl});
    return true;
  }

  void release(std::string_view room_id, std::string_view owner) {
    std::lock_guard lock(mutex_);
    auto it = leases_.find(room_id);
    if (it != leases_.end() && it->second.owner == owner) {
      leases_.erase(it);
    }
  }

 private:
  struct lease {
    std::string owner;
    std::chrono::steady_clock::time_point expires;
  };
  std::mutex mutex_;
  std::map<std::string, lease, std::less<>> leases_;
};

}  // namespace fun_notes::store

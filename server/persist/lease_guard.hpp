// Holding a room's flush lease for a scope.
#pragma once

#include <spdlog/spdlog.h>

#include <exception>
#include <string>

#include "store/hot_log.hpp"

namespace fun_notes::server::persist {

// Frees the lease however the scope ends (a flush or a repair); a crash leaves it to expire.
class lease_guard {
 public:
  lease_guard(store::hot_log& hot, const std::string& room_id, const std::string& owner)
      : hot_(hot), room_id_(room_id), owner_(owner) {}
  ~lease_guard() {
    try {
      hot_.release_lease(room_id_, owner_);
    } catch (const std::exception& e) {
      spdlog::warn("room {}: lease not released ({}); it expires by itself", room_id_, e.what());
    }
  }
  lease_guard(const lease_guard&) = delete;
  lease_guard& operator=(const lease_guard&) = delete;

 private:
  store::hot_log& hot_;
  const std::string& room_id_;
  const std::string& owner_;
};

}  // namespace fun_notes::server::persist

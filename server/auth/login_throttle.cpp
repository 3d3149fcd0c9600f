// Sign-in throttling (see login_throttle.hpp).
#include "auth/login_throttle.hpp"

#include <algorithm>
#include <cctype>

namespace fun_notes::server::auth {

std::string login_throttle::name_key(std::string_view name) {
  std::string key(name);
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return key;
}

std::chrono::seconds login_throttle::wait(const std::unordered_map<std::string, record>& map,
                                          const std::string& key, clock::time_point now) const {
  const auto it = map.find(key);
  if (it == map.end() || it->second.locked_until <= now) {
    return std::chrono::seconds{0};
  }
  // Rounded up: a client that waits exactly this long is let through.
  return std::chrono::ceil<std::chrono::seconds>(it->second.locked_until - now);
}

std::chrono::seconds login_throttle::retry_after(std::string_view name, std::string_view address,
                                                 clock::time_point now) {
  std::lock_guard lock(mutex_);
  return std::max(wait(names_, name_key(name), now), wait(addresses_, std::string(address), now));
}

void login_throttle::count(std::unordered_map<std::string, record>& map, const std::string& key,
                           int free_failures, clock::time_point now) {
  auto& r = map[key];
  if (r.failures > 0 && now - r.last > limits_.forget_after) {
    r = record{};
  }
  ++r.failures;
  r.last = now;
  const int over = r.failures - free_failures;
  if (over > 0) {
    // 1 s, 2 s, 4 s ... up to the cap.
    const int doublings = std::min(over - 1, 20);
    const auto lock =
        std::min<std::chrono::seconds>(limits_.first_lock * (1LL << doublings), limits_.max_lock);
    r.locked_until = now + lock;
  }
}

void login_throttle::failed(std::string_view name, std::string_view address,
                            clock::time_point now) {
  std::lock_guard lock(mutex_);
  count(names_, name_key(name), limits_.free_failures_per_name, now);
  if (!address.empty()) {
    count(addresses_, std::string(address), limits_.free_failures_per_address, now);
  }
  if (++calls_ % 1024 == 0) {
    prune(now);
  }
}

void login_throttle::succeeded(std::string_view name) {
  std::lock_guard lock(mutex_);
  names_.erase(name_key(name));
}

void login_throttle::prune(clock::time_point now) {
  for (auto* map : {&names_, &addresses_}) {
    std::erase_if(*map, [&](const auto& entry) {
      return entry.second.locked_until <= now && now - entry.second.last > limits_.forget_after;
    });
  }
}

}  // namespace fun_notes::server::auth

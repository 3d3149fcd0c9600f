// Sign-in throttling: failures are counted per user name and per client address, and past a
// few free ones each further failure locks that name (or address) out for a doubling time, up
// to a cap. The answer does not depend on whether the account exists.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fun_notes::server::auth {

struct throttle_limits {
  int free_failures_per_name = 5;
  int free_failures_per_address = 20;
  std::chrono::seconds first_lock{1};
  std::chrono::seconds max_lock{900};
  // A key with no failure for this long starts again from zero.
  std::chrono::seconds forget_after{3600};
};

class login_throttle {
 public:
  using clock = std::chrono::steady_clock;
  explicit login_throttle(throttle_limits limits = {}) : limits_(limits) {}

  // How long to wait before this name may be tried from this address; zero: go ahead.
  std::chrono::seconds retry_after(std::string_view name, std::string_view address,
                                   clock::time_point now);
  void failed(std::string_view name, std::string_view address, clock::time_point now);
  // A correct password clears the name's failures (not the address's).
  void succeeded(std::string_view name);

  // Names compare without ASCII case, as sign-in does.
  static std::string name_key(std::string_view name);

 private:
  struct record {
    int failures = 0;
    clock::time_point last{};
    clock::time_point locked_until{};
  };
  std::chrono::seconds wait(const std::unordered_map<std::string, record>& map,
                            const std::string& key, clock::time_point now) const;
  void count(std::unordered_map<std::string, record>& map, const std::string& key,
             int free_failures, clock::time_point now);
  void prune(clock::time_point now);

  throttle_limits limits_;
  std::mutex mutex_;
  std::unordered_map<std::string, record> names_;
  std::unordered_map<std::string, record> addresses_;
  std::uint64_t calls_ = 0;
};

}  // namespace fun_notes::server::auth

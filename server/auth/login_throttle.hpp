// Sign-in throttling: failures are counted per user name and per client address, and past a
// few free ones each further failure locks that name (or address) out for a doubling time, up
// to a cap. The answer does not depend on whether the account exists. This is the policy; the
// counts live in a throttle_store (this process's, or Redis for a whole fleet).
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <string>
#include <string_view>

#include "store/throttle_store.hpp"

namespace fun_notes::server::auth {

// The one source of the throttle's numbers.
struct throttle_limits {
  int free_failures_per_name = 5;
  int free_failures_per_address = 20;
  std::chrono::seconds first_lock{1};
  std::chrono::seconds max_lock{900};
  // A key with no failure for this long starts again from zero.
  std::chrono::seconds forget_after{3600};
};

// Thread-safe; blocks on the stores (worker pool).
class login_throttle {
 public:
  using clock = store::throttle_store::clock;

  // `shared` holds the counts: this process's own store in embedded mode, Redis in a fleet.
  // `fallback` (null in embedded mode) is this process's own store, used while `shared` fails
  // (Redis down, hung or full): failures are counted there, so each server still throttles on
  // its own, and its locks keep applying after `shared` is back. After a failure `shared` is
  // left alone for `shared_retry`, so a hung Redis costs one command timeout per interval, not
  // every sign-in. Without a fallback a failing `shared` lets sign-in through (logged): it
  // never fails the sign-in itself.
  explicit login_throttle(store::throttle_store& shared, store::throttle_store* fallback = nullptr,
                          throttle_limits limits = {},
                          std::chrono::milliseconds shared_retry = std::chrono::seconds{5});

  // How long to wait before this name may be tried from this address; zero: go ahead. Never
  // more than max_lock, whatever the clocks of the servers that wrote the locks say.
  std::chrono::seconds retry_after(std::string_view name, std::string_view address,
                                   clock::time_point now);
  void failed(std::string_view name, std::string_view address, clock::time_point now);
  // A correct password clears the name's failures (not the address's).
  void succeeded(std::string_view name);

  // Names compare without ASCII case, as sign-in does.
  static std::string name_key(std::string_view name);
  // The store keys of a name and an address. Keys longer than 64 bytes (a sign-in may send any
  // name) are stored by hash, so an attacker cannot fill Redis with megabyte-long keys.
  static std::string store_key_of_name(std::string_view name);
  static std::string store_key_of_address(std::string_view address);

 private:
  store::lock_policy policy(int free_failures) const;
  clock::time_point locked_until(const std::string& key);
  void count(const std::string& key, const store::lock_policy& policy, clock::time_point now);
  // Whether to ask `shared` now (it has not failed within the last `shared_retry`).
  bool shared_usable() const;
  void shared_answered();
  void shared_failed(const std::exception& e);

  store::throttle_store& shared_;
  store::throttle_store* fallback_;
  throttle_limits limits_;
  std::chrono::milliseconds shared_retry_;
  // steady_clock ticks before which `shared` is not asked; 0: ask.
  std::atomic<std::chrono::steady_clock::rep> shared_retry_at_{0};
  std::atomic<bool> shared_failing_{false};
};

}  // namespace fun_notes::server::auth

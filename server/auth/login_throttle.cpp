// Sign-in throttling (see login_throttle.hpp).
#include "auth/login_throttle.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace fun_notes::server::auth {
namespace {

constexpr std::size_t max_plain_key = 64;

// `kind:key`, or for a long key `kind#` and its 128-bit BLAKE2b hash: the two forms cannot meet.
std::string store_key(std::string_view kind, std::string_view key) {
  std::string out(kind);
  if (key.size() <= max_plain_key) {
    out += ':';
    out += key;
    return out;
  }
  static const bool ready = sodium_init() >= 0;
  if (!ready) {
    throw std::runtime_error("libsodium failed to initialise");
  }
  unsigned char hash[16];
  crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(key.data()),
                     key.size(), nullptr, 0);
  static constexpr char hex[] = "0123456789abcdef";
  out += '#';
  for (unsigned char b : hash) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

}  // namespace

login_throttle::login_throttle(store::throttle_store& shared, store::throttle_store* fallback,
                               throttle_limits limits, std::chrono::milliseconds shared_retry)
    : shared_(shared), fallback_(fallback), limits_(limits), shared_retry_(shared_retry) {}

std::string login_throttle::name_key(std::string_view name) {
  std::string key(name);
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return key;
}

std::string login_throttle::store_key_of_name(std::string_view name) {
  // Prefixed: "10.0.0.1" is a valid user name as well as an address, and they count apart.
  return store_key("name", name_key(name));
}

std::string login_throttle::store_key_of_address(std::string_view address) {
  return store_key("address", address);
}

store::lock_policy login_throttle::policy(int free_failures) const {
  return store::lock_policy{free_failures, limits_.first_lock, limits_.max_lock,
                            limits_.forget_after};
}

bool login_throttle::shared_usable() const {
  const auto at = shared_retry_at_.load();
  return at == 0 || std::chrono::steady_clock::now().time_since_epoch().count() >= at;
}

void login_throttle::shared_answered() {
  if (shared_failing_.exchange(false)) {
    shared_retry_at_ = 0;
    spdlog::info("sign-in throttle: the shared counts answer again");
  }
}

void login_throttle::shared_failed(const std::exception& e) {
  shared_retry_at_ = (std::chrono::steady_clock::now() + shared_retry_).time_since_epoch().count();
  if (!shared_failing_.exchange(true)) {
    spdlog::warn("sign-in throttle: the shared counts failed ({}); {} until they answer", e.what(),
                 fallback_ ? "this server counts on its own" : "sign-in is not throttled");
  }
}

login_throttle::clock::time_point login_throttle::locked_until(const std::string& key) {
  auto until = fallback_ ? fallback_->locked_until(key) : clock::time_point{};
  if (shared_usable()) {
    try {
      until = std::max(until, shared_.locked_until(key));
      shared_answered();
    } catch (const std::exception& e) {
      shared_failed(e);
    }
  }
  return until;
}

std::chrono::seconds login_throttle::retry_after(std::string_view name, std::string_view address,
                                                 clock::time_point now) {
  auto until = locked_until(store_key_of_name(name));
  if (!address.empty()) {
    until = std::max(until, locked_until(store_key_of_address(address)));
  }
  if (until <= now) {
    return std::chrono::seconds{0};
  }
  // Rounded up: a client that waits exactly this long is let through.
  return std::min(std::chrono::ceil<std::chrono::seconds>(until - now), limits_.max_lock);
}

void login_throttle::count(const std::string& key, const store::lock_policy& policy,
                           clock::time_point now) {
  if (shared_usable()) {
    try {
      shared_.record_failure(key, policy, now);
      shared_answered();
      return;
    } catch (const std::exception& e) {
      shared_failed(e);
    }
  }
  if (fallback_) {
    fallback_->record_failure(key, policy, now);
  }
}

void login_throttle::failed(std::string_view name, std::string_view address,
                            clock::time_point now) {
  count(store_key_of_name(name), policy(limits_.free_failures_per_name), now);
  if (!address.empty()) {
    count(store_key_of_address(address), policy(limits_.free_failures_per_address), now);
  }
}

void login_throttle::succeeded(std::string_view name) {
  const auto key = store_key_of_name(name);
  if (fallback_) {
    fallback_->clear(key);
  }
  if (shared_usable()) {
    try {
      shared_.clear(key);
      shared_answered();
    } catch (const std::exception& e) {
      shared_failed(e);
    }
  }
}

}  // namespace fun_notes::server::auth

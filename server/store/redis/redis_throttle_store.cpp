// The Redis throttle store: the policy arithmetic of lock_after (ports.cpp) again, in Lua, so a
// failure is counted and its lock set in one atomic step on the key's node.
#include "store/redis/redis_throttle_store.hpp"

#include <charconv>
#include <cstdint>
#include <string>

#include "store/store_error.hpp"

namespace fun_notes::store {
namespace {

// KEYS: the key's hash. ARGV: now, free failures, first lock, max lock, forget after (ms).
// Returns the lock's end (unix ms; 0 or a past time: not locked). Numbers are written with
// %.0f: Lua numbers are doubles, and Redis would otherwise write a large one as 1.7e+12.
// `#!lua` without allow-oom: a Redis at maxmemory refuses the whole script (the caller then
// counts locally) rather than let sign-in failures eat the op log's memory.
constexpr const char* record_failure_lua = R"lua(#!lua
local now = tonumber(ARGV[1])
local free = tonumber(ARGV[2])
local first = tonumber(ARGV[3])
local cap = tonumber(ARGV[4])
local forget = tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'failures', 'last', 'until')
local failures = tonumber(state[1]) or 0
local last = tonumber(state[2]) or 0
local locked_until = tonumber(state[3]) or 0
if failures > 0 and now - last > forget then
  failures = 0
  locked_until = 0
end
failures = failures + 1
local over = failures - free
if over > 0 then
  locked_until = now + math.min(first * 2 ^ math.min(over - 1, 20), cap)
end
redis.call('HSET', KEYS[1], 'failures', string.format('%.0f', failures),
           'last', string.format('%.0f', now), 'until', string.format('%.0f', locked_until))
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.max(forget, locked_until - now)))
return locked_until
)lua";

std::string millis(std::chrono::milliseconds d) {
  return std::to_string(d.count());
}

std::int64_t unix_ms(throttle_store::clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

throttle_store::clock::time_point from_unix_ms(std::int64_t ms) {
  return throttle_store::clock::time_point{std::chrono::milliseconds(ms)};
}

redis::reply checked(redis::reply r, std::string_view what) {
  if (r.is_error()) {
    throw store_error("redis throttle " + std::string(what) + ": " + r.str);
  }
  return r;
}

}  // namespace

std::string redis_throttle_store::redis_key(std::string_view key) {
  return "login-throttle:" + std::string(key);
}

throttle_store::clock::time_point redis_throttle_store::record_failure(std::string_view key,
                                                                       const lock_policy& policy,
                                                                       clock::time_point now) {
  const auto k = redis_key(key);
  // EVAL rather than EVALSHA: no SCRIPT LOAD at start-up (a server starts while Redis is
  // down) and no NOSCRIPT after a failover; Redis caches the compiled script by its hash.
  const auto r =
      checked(client_.command(k, {"EVAL", record_failure_lua, "1", k, std::to_string(unix_ms(now)),
                                  std::to_string(policy.free_failures), millis(policy.first_lock),
                                  millis(policy.max_lock), millis(policy.forget_after)}),
              "record_failure");
  if (!r.is_integer()) {
    throw store_error("redis throttle record_failure: unexpected reply " + r.str);
  }
  return from_unix_ms(r.integer);
}

throttle_store::clock::time_point redis_throttle_store::locked_until(std::string_view key) {
  const auto k = redis_key(key);
  const auto r = checked(client_.command(k, {"HGET", k, "until"}), "locked_until");
  if (r.is_nil()) {
    return clock::time_point{};
  }
  std::int64_t ms = 0;
  const auto* end = r.str.data() + r.str.size();
  if (!r.is_string() || std::from_chars(r.str.data(), end, ms).ptr != end) {
    throw store_error("redis throttle locked_until: unexpected reply " + r.str);
  }
  return from_unix_ms(ms);
}

void redis_throttle_store::clear(std::string_view key) {
  const auto k = redis_key(key);
  checked(client_.command(k, {"DEL", k}), "clear");
}

}  // namespace fun_notes::store

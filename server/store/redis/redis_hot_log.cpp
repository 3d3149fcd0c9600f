// The Redis HotLog: every mutation of a room's log is one Lua script over its own slot.
#include "store/redis/redis_hot_log.hpp"

#include <charconv>
#include <functional>
#include <stdexcept>

#include "store/cold_store.hpp"

namespace fun_notes::store {
namespace {

constexpr int dirty_shards = 16;

// KEYS: seq, persisted, updates, fields. ARGV: prefix, suffix, ttl, channel, known_seq,
// publish, guard field key ('' for none), guard seen seq, then the field keys the op touches.
// `fields` (HASH field key -> seq of the last op that touched it) is what a text op's guard
// reads: when its field changed after the seen seq the script answers {-1, that seq} and
// numbers nothing. The hash expires `ttl` after the last append: a guard's seen seq is the
// state of a live hub, far younger than that, so an expired hash can never let a stale op by.
// Trimming is left to set_persisted (each flush), as in every HotLog: the log holds the
// unpersisted ops plus the last keep_recent. The TTL rule: a room's keys expire only while
// its log is fully persisted. An append always leaves an unpersisted op, so it removes the
// expiry (PERSIST is O(1) and a no-op on a key without one); set_persisted puts it back once
// the cold store holds everything. The `#!lua` line makes Redis refuse the whole
// script up front when it is over maxmemory (without it, a write in the middle could fail);
// the bookkeeping scripts run with allow-oom, because flushing and trimming free memory.
constexpr const char* append_lua = R"lua(#!lua
if ARGV[7] ~= '' then
  local changed = tonumber(redis.call('HGET', KEYS[4], ARGV[7]) or '0')
  if changed > tonumber(ARGV[8]) then
    return {-1, changed}
  end
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  -- The room's keys are gone: idle past the TTL (so everything was persisted) or lost by
  -- Redis. Number on from the highest seq the caller has seen, never from 0; the flush
  -- compares the log with the cold store and repairs the room if ops are missing.
  redis.call('SET', KEYS[1], ARGV[5])
  redis.call('SET', KEYS[2], ARGV[5])
end
local seq = redis.call('INCR', KEYS[1])
local frame = ARGV[1] .. seq .. ARGV[2]
redis.call('ZADD', KEYS[3], seq, frame)
local persisted = tonumber(redis.call('GET', KEYS[2]) or '0')
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[2])
redis.call('PERSIST', KEYS[3])
if #ARGV > 8 then
  for i = 9, #ARGV do
    redis.call('HSET', KEYS[4], ARGV[i], seq)
  end
  if tonumber(ARGV[3]) > 0 then
    redis.call('EXPIRE', KEYS[4], ARGV[3])
  end
end
if ARGV[6] == '1' then
  redis.call('SPUBLISH', ARGV[4], seq .. '\n' .. frame)
end
return {seq, persisted}
)lua";

// The sliding expiry of a fully persisted room, or none while ops await the cold store.
// The tail of the scripts below (same KEYS; `head`, `p` and `ttl` in scope).
constexpr std::string_view set_expiry_lua = R"lua(
if head <= p then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
else
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[2])
  redis.call('PERSIST', KEYS[3])
end
)lua";

// KEYS: seq, persisted, updates. ARGV: cold_last_seq, ttl.
const std::string ensure_lua = std::string(R"lua(#!lua flags=allow-oom
local cold = tonumber(ARGV[1])
local ttl = ARGV[2]
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], cold)
  redis.call('SET', KEYS[2], cold)
elseif tonumber(cur) < cold then
  redis.call('SET', KEYS[1], cold)
  if tonumber(redis.call('GET', KEYS[2]) or '0') < cold then
    redis.call('SET', KEYS[2], cold)
  end
end
local head = tonumber(redis.call('GET', KEYS[1]))
local p = tonumber(redis.call('GET', KEYS[2]) or '0')
)lua") + std::string(set_expiry_lua) +
                               "return 1\n";

// KEYS: seq, persisted, updates. ARGV: ttl. A room with no keys stays without them.
const std::string touch_lua = std::string(R"lua(#!lua flags=allow-oom
local ttl = ARGV[1]
local cur = redis.call('GET', KEYS[1])
if not cur then
  return 0
end
local head = tonumber(cur)
local p = tonumber(redis.call('GET', KEYS[2]) or '0')
)lua") + std::string(set_expiry_lua) +
                              "return 1\n";

// KEYS: seq, persisted, updates. ARGV: after_seq.
constexpr const char* read_lua = R"lua(#!lua flags=no-writes
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local persisted = tonumber(redis.call('GET', KEYS[2]) or '0')
local entries = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf', 'WITHSCORES')
return {head, persisted, entries}
)lua";

// KEYS: seq, persisted, updates, published. ARGV: seq, keep_recent, ttl.
const std::string persist_lua = std::string(R"lua(#!lua flags=allow-oom
local ttl = ARGV[3]
local p = tonumber(redis.call('GET', KEYS[2]) or '0')
local s = tonumber(ARGV[1])
if s > p then
  p = s
  redis.call('SET', KEYS[2], p)
end
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
if head < p then
  -- A seq already in the cold store is never handed out again.
  head = p
  redis.call('SET', KEYS[1], head)
end
local cut = math.min(p, head - tonumber(ARGV[2]))
-- Strict mode: an op still waiting for its WAIT is published from the log later, so it stays.
local published = redis.call('GET', KEYS[4])
if published then
  cut = math.min(cut, tonumber(published))
end
if cut > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', cut)
end
)lua") + std::string(set_expiry_lua) +
                                "return {head, p}\n";

// KEYS: seq, persisted, updates, published. ARGV: expected head, new seq, ttl.
constexpr const char* reset_lua = R"lua(#!lua flags=allow-oom
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
if head ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('DEL', KEYS[3])
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('SET', KEYS[4], ARGV[2], 'EX', ARGV[3])
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return 1
)lua";

// Strict mode: publishes the logged ops after the last published one, up to ARGV[1], once the
// caller's WAIT confirmed the replicas hold it. Replication follows the master's write order,
// so every op numbered before it is replicated too, whichever server appended it: they are
// published with it, in seq order, each exactly once.
// KEYS: seq, persisted, updates, published. ARGV: seq, channel, ttl.
// Returns 1 (published), 0 (already published) or -1 (the op is not in this node's log: it
// was lost, e.g. in a failover between the append and the WAIT).
constexpr const char* publish_confirmed_lua = R"lua(#!lua
local target = tonumber(ARGV[1])
if #redis.call('ZRANGEBYSCORE', KEYS[3], target, target) == 0 then
  return -1
end
local published = tonumber(redis.call('GET', KEYS[4]) or redis.call('GET', KEYS[2]) or '0')
if published >= target then
  return 0
end
local ops = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. published, target, 'WITHSCORES')
for i = 1, #ops, 2 do
  redis.call('SPUBLISH', ARGV[2], ops[i + 1] .. '\n' .. ops[i])
end
redis.call('SET', KEYS[4], target, 'EX', ARGV[3])
return 1
)lua";

std::string tag(std::string_view room_id) {
  return "{" + std::string(room_id) + "}";
}
std::string seq_key(std::string_view room_id) {
  return "room:seq:" + tag(room_id);
}
std::string persisted_key(std::string_view room_id) {
  return "room:persisted:" + tag(room_id);
}
std::string updates_key(std::string_view room_id) {
  return "room:updates:" + tag(room_id);
}
std::string fields_key(std::string_view room_id) {
  return "room:fields:" + tag(room_id);
}
std::string published_key(std::string_view room_id) {
  return "room:published:" + tag(room_id);
}

std::string dirty_key(std::string_view room_id) {
  const auto shard = std::hash<std::string_view>{}(room_id) % dirty_shards;
  return "dirty-rooms:{shard-" + std::to_string(shard) + "}";
}

std::int64_t to_int(const redis::reply& r) {
  if (r.is_integer()) {
    return r.integer;
  }
  if (r.is_string() || r.is_status()) {
    std::int64_t v = 0;
    const auto* end = r.str.data() + r.str.size();
    if (std::from_chars(r.str.data(), end, v).ptr == end) {
      return v;
    }
    // ZSET scores come back as text that may be written as a float ("42" or "4.2e1").
    return static_cast<std::int64_t>(std::stod(r.str));
  }
  if (r.is_nil()) {
    return 0;
  }
  throw store_error("redis: expected a number, got " + r.str);
}

redis::reply checked(redis::reply r, std::string_view what) {
  if (r.is_error()) {
    throw store_error("redis " + std::string(what) + ": " + r.str);
  }
  return r;
}

}  // namespace

redis_hot_log::redis_hot_log(redis::client& client, redis_hot_log_options options)
    : client_(client),
      options_(options),
      append_{append_lua, {}},
      ensure_{ensure_lua, {}},
      touch_{touch_lua, {}},
      read_{read_lua, {}},
      persist_{persist_lua, {}},
      reset_{reset_lua, {}},
      release_{publish_confirmed_lua, {}} {
  // SCRIPT LOAD gives the SHA1 (the same on every node); EVALSHA falls back to EVAL on
  // NOSCRIPT, which also loads the script on a node that lacks it (a new node, a failover).
  for (auto* s : {&append_, &ensure_, &touch_, &read_, &persist_, &reset_, &release_}) {
    s->sha = checked(client_.command("fun-notes", {"SCRIPT", "LOAD", s->text}), "SCRIPT LOAD").str;
  }
}

redis::reply redis_hot_log::eval(const script& s, std::string_view room_id,
                                 std::vector<std::string> args) {
  std::vector<std::string> cmd{"EVALSHA",
                               s.sha,
                               "4",
                               seq_key(room_id),
                               persisted_key(room_id),
                               updates_key(room_id),
                               published_key(room_id)};
  cmd.insert(cmd.end(), args.begin(), args.end());
  auto r = client_.command(seq_key(room_id), cmd);
  if (r.is_error() && r.str.rfind("NOSCRIPT", 0) == 0) {
    cmd[0] = "EVAL";
    cmd[1] = s.text;
    r = client_.command(seq_key(room_id), std::move(cmd));
  }
  return r;
}

void redis_hot_log::do_append(append_request request, append_handler done) {
  const std::string room_id = request.room_id;
  // EVAL, not EVALSHA: a node without the script would answer NOSCRIPT to a pipelined run of
  // appends, and re-sending them could reorder them. Redis caches the compiled script by its
  // hash, so EVAL costs only the bytes of the script.
  std::vector<std::string> cmd{"EVAL",
                               append_.text,
                               "4",
                               seq_key(room_id),
                               persisted_key(room_id),
                               updates_key(room_id),
                               fields_key(room_id),
                               request.frame_prefix,
                               request.frame_suffix,
                               std::to_string(options_.ttl_seconds),
                               "room:" + tag(room_id),
                               std::to_string(request.known_seq),
                               options_.wait_replicas > 0 ? "0" : "1",
                               request.guard ? request.guard->field_key : std::string(),
                               std::to_string(request.guard ? request.guard->seen_seq : 0)};
  for (std::string& key : request.touched_fields) {
    cmd.push_back(std::move(key));
  }
  std::string guard_key = request.guard ? request.guard->field_key : std::string();
  client_.async_command(
      seq_key(room_id), std::move(cmd),
      [this, room_id, guard_key = std::move(guard_key), prefix = std::move(request.frame_prefix),
       suffix = std::move(request.frame_suffix), done = std::move(done)](const redis::reply& r) {
        if (r.is_error() || !r.is_array() || r.elements.size() != 2) {
          done(core::error{"unavailable", "op log: " + (r.is_error() ? r.str : "bad reply")});
          return;
        }
        if (r.elements[0].integer < 0) {
          done(stale_error(guard_key, r.elements[1].integer));
          return;
        }
        append_result out;
        out.entry.seq = r.elements[0].integer;
        out.entry.frame =
            std::make_shared<const std::string>(prefix + std::to_string(out.entry.seq) + suffix);
        out.persisted_seq = r.elements[1].integer;
        // The dirty index lives in other slots: fed after the append, swept at start.
        const auto key = dirty_key(room_id);
        client_.async_command(key, {"SADD", key, room_id}, [](const redis::reply&) {});
        if (options_.wait_replicas <= 0) {
          done(std::move(out));
          return;
        }
        // Same node, same connection, after the append: WAIT covers it.
        client_.async_command(
            seq_key(room_id),
            {"WAIT", std::to_string(options_.wait_replicas),
             std::to_string(options_.wait_timeout_ms)},
            [this, room_id, out = std::move(out),
             done = std::move(done)](const redis::reply& w) mutable {
              if (!w.is_integer() || w.integer < options_.wait_replicas) {
                done(core::error{"unavailable", "op log: not on " +
                                                    std::to_string(options_.wait_replicas) +
                                                    " replica(s) within " +
                                                    std::to_string(options_.wait_timeout_ms) +
                                                    " ms" + (w.is_error() ? ": " + w.str : "")});
                return;
              }
              release(room_id, std::move(out), std::move(done));
            });
      });
}

void redis_hot_log::release(const std::string& room_id, append_result out, append_handler done) {
  const std::string seq = std::to_string(out.entry.seq);
  client_.async_command(
      seq_key(room_id),
      {"EVAL", release_.text, "4", seq_key(room_id), persisted_key(room_id), updates_key(room_id),
       published_key(room_id), seq, "room:" + tag(room_id), std::to_string(options_.ttl_seconds)},
      [out = std::move(out), done = std::move(done)](const redis::reply& r) mutable {
        if (!r.is_integer() || r.integer < 0) {
          done(core::error{"unavailable", "op log: the op was lost before it was replicated" +
                                              (r.is_error() ? ": " + r.str : "")});
          return;
        }
        done(std::move(out));
      });
}

void redis_hot_log::ensure_room(std::string_view room_id, std::int64_t cold_last_seq) {
  checked(
      eval(ensure_, room_id, {std::to_string(cold_last_seq), std::to_string(options_.ttl_seconds)}),
      "ensure_room");
}

void redis_hot_log::touch_room(std::string_view room_id) {
  checked(eval(touch_, room_id, {std::to_string(options_.ttl_seconds)}), "touch_room");
}

log_range redis_hot_log::read_after(std::string_view room_id, std::int64_t after_seq) {
  auto r = checked(eval(read_, room_id, {std::to_string(after_seq)}), "read_after");
  if (!r.is_array() || r.elements.size() != 3 || !r.elements[2].is_array()) {
    throw store_error("redis read_after: unexpected reply");
  }
  log_range out;
  out.head_seq = to_int(r.elements[0]);
  out.persisted_seq = to_int(r.elements[1]);
  const auto& flat = r.elements[2].elements;  // member, score, member, score, ...
  out.entries.reserve(flat.size() / 2);
  for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
    out.entries.push_back(
        log_entry{to_int(flat[i + 1]), std::make_shared<const std::string>(flat[i].str)});
  }
  out.complete = after_seq >= out.head_seq ||
                 (!out.entries.empty() && out.entries.front().seq <= after_seq + 1);
  return out;
}

void redis_hot_log::set_persisted(std::string_view room_id, std::int64_t seq) {
  auto r = checked(eval(persist_, room_id,
                        {std::to_string(seq), std::to_string(options_.keep_recent),
                         std::to_string(options_.ttl_seconds)}),
                   "set_persisted");
  if (r.is_array() && r.elements.size() == 2 && to_int(r.elements[0]) == to_int(r.elements[1])) {
    const auto key = dirty_key(room_id);
    client_.command(key, {"SREM", key, std::string(room_id)});
  }
}

bool redis_hot_log::reset_room(std::string_view room_id, std::int64_t expected_head,
                               std::int64_t new_seq) {
  if (new_seq <= expected_head) {
    return false;
  }
  auto r = checked(eval(reset_, room_id,
                        {std::to_string(expected_head), std::to_string(new_seq),
                         std::to_string(options_.ttl_seconds)}),
                   "reset_room");
  return r.is_integer() && r.integer == 1;
}

std::vector<std::string> redis_hot_log::dirty_rooms() {
  std::vector<std::string> out;
  for (int shard = 0; shard < dirty_shards; ++shard) {
    const std::string key = "dirty-rooms:{shard-" + std::to_string(shard) + "}";
    auto members = checked(client_.command(key, {"SMEMBERS", key}), "SMEMBERS");
    for (const auto& m : members.elements) {
      const std::string& room_id = m.str;
      auto heads = checked(
          client_.command(seq_key(room_id), {"MGET", seq_key(room_id), persisted_key(room_id)}),
          "MGET");
      if (heads.is_array() && heads.elements.size() == 2 &&
          to_int(heads.elements[0]) > to_int(heads.elements[1])) {
        out.push_back(room_id);
      } else {
        client_.command(key, {"SREM", key, room_id});
      }
    }
  }
  return out;
}

namespace {
std::string lease_key(std::string_view room_id) {
  return "room:lease:" + tag(room_id);
}

// KEYS: lease. ARGV: owner, ttl ms. Take a free lease, or renew one's own.
constexpr const char* lease_lua = R"lua(#!lua flags=allow-oom
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
)lua";

// KEYS: lease. ARGV: owner. Only the holder frees it.
constexpr const char* release_lua = R"lua(#!lua flags=allow-oom
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
)lua";
}  // namespace

bool redis_hot_log::try_lease(std::string_view room_id, std::string_view owner,
                              std::chrono::milliseconds ttl) {
  const auto key = lease_key(room_id);
  auto r = checked(client_.command(key, {"EVAL", lease_lua, "1", key, std::string(owner),
                                         std::to_string(ttl.count())}),
                   "try_lease");
  return r.is_integer() && r.integer == 1;
}

void redis_hot_log::release_lease(std::string_view room_id, std::string_view owner) {
  const auto key = lease_key(room_id);
  checked(client_.command(key, {"EVAL", release_lua, "1", key, std::string(owner)}),
          "release_lease");
}

std::string redis_channel(std::string_view bus_channel) {
  constexpr std::string_view prefix = "room:";
  if (bus_channel.substr(0, prefix.size()) == prefix) {
    return "room:" + tag(bus_channel.substr(prefix.size()));
  }
  return std::string(bus_channel);
}

namespace {

// Guarantees the handler never runs after the subscription's destructor returned.
struct redis_subscription_state {
  std::mutex mutex;
  bool active = true;
  bus::handler on_message;
};

class redis_subscription final : public subscription {
 public:
  redis_subscription(redis::client& client, std::uint64_t id,
                     std::shared_ptr<redis_subscription_state> state)
      : client_(client), id_(id), state_(std::move(state)) {}
  ~redis_subscription() override {
    client_.sunsubscribe(id_);
    std::lock_guard lock(state_->mutex);
    state_->active = false;
  }

 private:
  redis::client& client_;
  std::uint64_t id_;
  std::shared_ptr<redis_subscription_state> state_;
};

}  // namespace

std::unique_ptr<subscription> redis_bus::subscribe(std::string channel, handler on_message,
                                                   std::function<void()> on_confirmed) {
  auto state = std::make_shared<redis_subscription_state>();
  state->on_message = std::move(on_message);
  const auto id = client_.ssubscribe(
      redis_channel(channel),
      [state](std::string_view payload) {
        const auto nl = payload.find('\n');
        if (nl == std::string_view::npos) {
          return;
        }
        bus_message m;
        std::from_chars(payload.data(), payload.data() + nl, m.seq);
        m.frame = std::make_shared<const std::string>(payload.substr(nl + 1));
        std::lock_guard lock(state->mutex);
        if (state->active) {
          state->on_message(m);
        }
      },
      [state, confirmed = std::move(on_confirmed)] {
        bool active = false;
        {
          std::lock_guard lock(state->mutex);
          active = state->active;
        }
        if (active && confirmed) {
          confirmed();
        }
      });
  return std::make_unique<redis_subscription>(client_, id, std::move(state));
}

void redis_bus::publish(std::string_view channel, bus_message message) {
  if (in_flight_->fetch_add(1) >= max_in_flight) {
    in_flight_->fetch_sub(1);
    return;
  }
  const std::string ch = redis_channel(channel);
  client_.async_command(ch, {"SPUBLISH", ch, std::to_string(message.seq) + "\n" + *message.frame},
                        [in_flight = in_flight_](const redis::reply&) { in_flight->fetch_sub(1); });
}

}  // namespace fun_notes::store

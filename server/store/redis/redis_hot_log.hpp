// HotLog and Bus on Redis / Redis Cluster: Lua scripts over one room's hash-tagged keys, and
// sharded Pub/Sub.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "store/bus.hpp"
#include "store/hot_log.hpp"
#include "store/redis/redis_client.hpp"

namespace fun_notes::store {

struct redis_hot_log_options {
  std::int64_t keep_recent = 100;
  std::int64_t ttl_seconds = 6 * 3600;  // sliding expiry of every key of a room
  // Strict mode (> 0): an op is published, and so acknowledged, only once this many replicas
  // of its node hold it (WAIT after the append), so a failover cannot lose an acknowledged op.
  std::int64_t wait_replicas = 0;
  std::int64_t wait_timeout_ms = 1000;  // then the op is rejected unavailable
};

// Keys of room R share the hash tag {R} (one cluster slot): room:seq:{R}, room:persisted:{R},
// room:updates:{R} (ZSET, score = seq, member = the op frame). The append script numbers the
// op, logs it, trims by the rule of hot_log.hpp, refreshes the expiry and SPUBLISHes the op on
// room:{R} — all in one atomic step, so publications leave Redis in seq order. A room's dirty
// mark is seq > persisted in its own slot; a sharded index of dirty rooms
// (dirty-rooms:{shard-N}) is fed right after each append for the restart sweep.
class redis_hot_log final : public hot_log {
 public:
  redis_hot_log(redis::client& client, redis_hot_log_options options = {});

  void do_append(append_request request, append_handler done) override;
  // Strict mode, after the WAIT: publish the room's ops up to `seq` in seq order.
  void release(const std::string& room_id, append_result out, append_handler done);
  void ensure_room(std::string_view room_id, std::int64_t cold_last_seq) override;
  void touch_room(std::string_view room_id) override;
  log_range read_after(std::string_view room_id, std::int64_t after_seq) override;
  void set_persisted(std::string_view room_id, std::int64_t seq) override;
  std::vector<std::string> dirty_rooms() override;
  bool reset_room(std::string_view room_id, std::int64_t expected_head,
                  std::int64_t new_seq) override;
  bool try_lease(std::string_view room_id, std::string_view owner,
                 std::chrono::milliseconds ttl) override;
  void release_lease(std::string_view room_id, std::string_view owner) override;

 private:
  struct script {
    std::string text;
    std::string sha;
  };
  redis::reply eval(const script& s, std::string_view room_id, std::vector<std::string> args);

  redis::client& client_;
  redis_hot_log_options options_;
  script append_;
  script ensure_;
  script touch_;
  script read_;
  script persist_;
  script reset_;
  script release_;
};

// Room channels map to room:{R} (the room's slot); `stats` is one shard channel. A message is
// "<seq>\n<frame>".
class redis_bus final : public bus {
 public:
  explicit redis_bus(redis::client& client)
      : client_(client), in_flight_(std::make_shared<std::atomic<std::int64_t>>(0)) {}

  std::unique_ptr<subscription> subscribe(std::string channel, handler on_message,
                                          std::function<void()> on_confirmed) override;
  // Best effort: ops never come this way (the append script publishes them); stats and the
  // like are dropped while Redis has max_in_flight publications unanswered.
  void publish(std::string_view channel, bus_message message) override;

  static constexpr std::int64_t max_in_flight = 10000;

 private:
  redis::client& client_;
  std::shared_ptr<std::atomic<std::int64_t>> in_flight_;  // shared with reply callbacks
};

// The Redis channel of a bus channel name ("room:R" → "room:{R}").
std::string redis_channel(std::string_view bus_channel);

}  // namespace fun_notes::store

// Bus port: fan-out of ops, presence and stats to every server.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace fun_notes::store {

struct bus_message {
  std::int64_t seq = 0;                       // room seq for op messages, 0 otherwise
  std::shared_ptr<const std::string> frame;   // the JSON frame, built once, shared by all
};

// Unsubscribes when destroyed.
class subscription {
 public:
  virtual ~subscription() = default;
};

// Channel names: "room:<room id>" for a room's ops, "stats" for dashboard room stats.
std::string room_channel(std::string_view room_id);
inline constexpr std::string_view stats_channel = "stats";

class bus {
 public:
  using handler = std::function<void(const bus_message&)>;
  virtual ~bus() = default;

  // `on_message` may run on any thread; messages of one channel arrive one at a time, in the
  // order they were published. `on_confirmed` runs once the subscription is live: every
  // message published after that point reaches `on_message`.
  virtual std::unique_ptr<subscription> subscribe(std::string channel, handler on_message,
                                                  std::function<void()> on_confirmed) = 0;
  virtual void publish(std::string_view channel, bus_message message) = 0;
};

}  // namespace fun_notes::store

// The in-process Bus: a channel -> subscribers map; delivery happens outside the map's lock.
#include "store/memory/memory_bus.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace fun_notes::store {

namespace detail {

struct memory_bus_subscriber {
  explicit memory_bus_subscriber(bus::handler h) : on_message(std::move(h)) {}

  // Held for the whole of a delivery: it serialises deliveries to this subscriber and lets the
  // subscription's destructor wait out one in flight. Recursive so that a handler may publish
  // to its own channel or drop its own subscription without deadlocking.
  std::recursive_mutex mutex;
  bool active = true;
  bus::handler on_message;
};

struct memory_bus_registry {
  std::mutex mutex;
  std::map<std::string, std::vector<std::shared_ptr<memory_bus_subscriber>>, std::less<>> channels;
};

}  // namespace detail

namespace {

using subscriber = detail::memory_bus_subscriber;

class memory_subscription final : public subscription {
 public:
  memory_subscription(std::weak_ptr<detail::memory_bus_registry> registry, std::string channel,
                      std::shared_ptr<subscriber> sub)
      : registry_(std::move(registry)), channel_(std::move(channel)), sub_(std::move(sub)) {}

  ~memory_subscription() override {
    if (auto registry = registry_.lock()) {
      std::lock_guard lock(registry->mutex);
      if (auto it = registry->channels.find(channel_); it != registry->channels.end()) {
        std::erase(it->second, sub_);
        if (it->second.empty()) {
          registry->channels.erase(it);
        }
      }
    }
    // A publisher may have copied the subscriber list before the erase above: waiting for
    // the subscriber's lock and clearing `active` stops that delivery from calling us later.
    std::lock_guard lock(sub_->mutex);
    sub_->active = false;
  }

 private:
  std::weak_ptr<detail::memory_bus_registry> registry_;
  std::string channel_;
  std::shared_ptr<subscriber> sub_;
};

}  // namespace

memory_bus::memory_bus() : registry_(std::make_shared<detail::memory_bus_registry>()) {}

memory_bus::~memory_bus() = default;

std::unique_ptr<subscription> memory_bus::subscribe(std::string channel, handler on_message,
                                                    std::function<void()> on_confirmed) {
  auto sub = std::make_shared<subscriber>(std::move(on_message));
  {
    std::lock_guard lock(registry_->mutex);
    registry_->channels[channel].push_back(sub);
  }
  auto result = std::make_unique<memory_subscription>(registry_, std::move(channel), sub);
  // Live as soon as it is in the map: every later publish copies it.
  if (on_confirmed) {
    on_confirmed();
  }
  return result;
}

void memory_bus::publish(std::string_view channel, bus_message message) {
  std::vector<std::shared_ptr<subscriber>> subscribers;
  {
    std::lock_guard lock(registry_->mutex);
    auto it = registry_->channels.find(channel);
    if (it == registry_->channels.end()) {
      return;
    }
    subscribers = it->second;
  }
  for (const auto& sub : subscribers) {
    std::lock_guard lock(sub->mutex);
    if (!sub->active) {
      continue;
    }
    // One faulty subscriber must not starve the others of the message.
    try {
      sub->on_message(message);
    } catch (const std::exception& e) {
      spdlog::error("bus: subscriber of {} threw: {}", channel, e.what());
    }
  }
}

}  // namespace fun_notes::store

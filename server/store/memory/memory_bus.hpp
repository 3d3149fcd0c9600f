// The embedded-mode Bus: in-process fan-out, delivered synchronously on the publisher's thread.
#pragma once

#include <memory>

#include "store/bus.hpp"

namespace fun_notes::store {

namespace detail {
struct memory_bus_registry;
}  // namespace detail

// Handlers run on the publishing thread, so they must not block (post to a strand instead).
// A subscription may outlive the bus; once its destructor returns its handler is never called.
class memory_bus final : public bus {
 public:
  memory_bus();
  ~memory_bus() override;

  std::unique_ptr<subscription> subscribe(std::string channel, handler on_message,
                                          std::function<void()> on_confirmed) override;
  void publish(std::string_view channel, bus_message message) override;

 private:
  std::shared_ptr<detail::memory_bus_registry> registry_;
};

}  // namespace fun_notes::store

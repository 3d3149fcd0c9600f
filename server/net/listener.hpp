// Accepts TCP connections and serves HTTP (API, static web build) and WebSocket upgrades.
#pragma once

#include <cstdint>
#include <memory>

namespace fun_notes::server {
struct app;
}

namespace fun_notes::server::net {

class listener {
 public:
  virtual ~listener() = default;
  virtual std::uint16_t port() const = 0;
  virtual void stop() = 0;  // stop accepting
};

// Binds config.host:config.port (throws std::runtime_error with the reason when it cannot).
std::unique_ptr<listener> start_listener(app& a);

}  // namespace fun_notes::server::net

// The terminal client's replica (cli/sync) on a socket of its own, for tests that drive it as a
// web-protocol client: joins on construction and waits until live; `pump` feeds it what the
// server sent and sends what it answers. Subclasses see each parsed frame and each effect.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "fun_notes_test.hpp"
#include "sync/messages.hpp"
#include "sync/replica.hpp"

namespace fun_notes::test {

class replica_socket {
 public:
  replica_socket(std::uint16_t port, const user& u, const std::string& room, std::string name)
      : ws_(connect_hello(port, u)), replica_(room), name_(std::move(name)) {}
  virtual ~replica_socket() = default;
  replica_socket(const replica_socket&) = delete;
  replica_socket& operator=(const replica_socket&) = delete;

  const cli::sync::replica& replica() const { return replica_; }

  void pump(std::chrono::milliseconds wait = std::chrono::milliseconds(0)) {
    while (auto f = ws_->next(wait)) {
      wait = std::chrono::milliseconds(0);
      auto msg = cli::sync::parse_server_frame(to_string(*f));
      if (!msg) {
        continue;  // a frame the replica does not take (the dashboard)
      }
      seen(*msg);
      auto e = replica_.on_message(*msg);
      applied(e);
      send(std::move(e));
    }
  }

 protected:
  // Call from the subclass's constructor: joins and waits until live.
  void go_live() {
    send(replica_.on_connected());
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (replica_.state() != cli::sync::link_state::live) {
      if (std::chrono::steady_clock::now() > give_up) {
        throw protocol_failure(name_ + " never got live");
      }
      pump(std::chrono::milliseconds(20));
    }
  }

  // Waits (pumping) until `done`, or throws `what` after 30 s.
  template <class Done>
  void pump_until(Done done, const std::string& what) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done()) {
      if (std::chrono::steady_clock::now() > give_up) {
        throw protocol_failure(name_ + ": " + what);
      }
      pump(std::chrono::milliseconds(20));
    }
  }

  virtual void seen(const cli::sync::server_msg&) {}
  virtual void applied(const cli::sync::effects&) {}

  void send(cli::sync::effects e) {
    for (auto& f : e.frames) {
      ws_->send_text(std::move(f));
    }
  }

  std::unique_ptr<ws_client> ws_;
  cli::sync::replica replica_;
  std::string name_;
};

}  // namespace fun_notes::test

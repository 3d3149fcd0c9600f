// The driver's network layer: one event loop per thread, timers, and WebSocket client
// connections, behind interfaces that keep Asio and Beast inside transport.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace fun_notes::load {

// The one clock of the run: send and receive times of every thread are compared on it.
using clock = std::chrono::steady_clock;

inline std::int64_t to_ns(clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
inline std::int64_t now_ns() {
  return to_ns(clock::now());
}

struct endpoint {
  std::string host;  // an IPv4 address
  std::uint16_t port = 0;
};

// What a connection reports; every call comes on the connection's loop thread.
class ws_events {
 public:
  virtual ~ws_events() = default;
  virtual void on_open() = 0;  // the upgrade succeeded
  virtual void on_frame(std::string_view text, clock::time_point at) = 0;
  // Connect, upgrade or read failed, or the peer closed; called once, then nothing more.
  virtual void on_closed(const std::string& why) = 0;
};

// A WebSocket client connection. Destroy it on its loop's thread or after the loop stopped:
// the destructor closes the socket and no event is reported after it.
class ws_socket {
 public:
  virtual ~ws_socket() = default;
  // Queues a text frame; frames go out in call order, one write in flight.
  virtual void send(std::string frame) = 0;
  virtual std::size_t queued_frames() const = 0;
};

class timer {
 public:
  virtual ~timer() = default;
  // Calls fn on the loop thread at t (at once if t has passed); replaces a pending wait.
  virtual void wait_until(clock::time_point t, std::function<void()> fn) = 0;
  virtual void cancel() = 0;
};

// One io_context run by one thread of its own.
class event_loop {
 public:
  virtual ~event_loop() = default;
  static std::unique_ptr<event_loop> create();

  // Thread-safe: runs fn on the loop thread.
  virtual void post(std::function<void()> fn) = 0;
  virtual std::unique_ptr<timer> make_timer() = 0;
  // Starts connecting (TCP, then the upgrade of `target`); `source`, when not empty, is the
  // local address the socket is bound to (its port is picked at connect time, so every source
  // address gets its own ephemeral port range). Call on the loop thread.
  virtual std::unique_ptr<ws_socket> connect(const endpoint& ep, const std::string& source,
                                             const std::string& target, ws_events& events) = 0;

  virtual void start() = 0;  // starts the thread
  virtual void stop() = 0;   // stops the loop and joins the thread; pending handlers never run
};

}  // namespace fun_notes::load

// What a room hub and the dashboard need from a client connection.
#pragma once

#include <memory>
#include <string>

namespace fun_notes::server::rooms {

using frame_ptr = std::shared_ptr<const std::string>;

class session_sink {
 public:
  virtual ~session_sink() = default;
  // Queues a frame for the client. Thread-safe; frames from one caller keep their order.
  virtual void deliver(frame_ptr frame) = 0;
  // The hub could not load the room; the session forgets it (an error frame was delivered).
  virtual void join_failed(const std::string& room_id) = 0;
};

}  // namespace fun_notes::server::rooms

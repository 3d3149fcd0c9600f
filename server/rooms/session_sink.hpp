// What a room hub and the dashboard need from a client connection.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "store/cold_store.hpp"

namespace fun_notes::server::rooms {

using frame_ptr = std::shared_ptr<const std::string>;

class session_sink {
 public:
  virtual ~session_sink() = default;
  // Queues a frame for the client. Thread-safe; frames from one caller keep their order.
  virtual void deliver(frame_ptr frame) = 0;
  // Queues a join's snapshot. It does not count towards the slow-consumer limit: its size is
  // bounded by the room's limits, and a client must be able to receive it however big it is.
  virtual void deliver_snapshot(frame_ptr frame) = 0;
  // How many bytes of missed ops a resume may queue for this client; a longer backlog is
  // answered with a snapshot instead of being cut by the slow-consumer limit.
  virtual std::size_t resume_budget() const = 0;
  // The hub could not load the room; the session forgets it (an error frame was delivered).
  virtual void join_failed(const std::string& room_id) = 0;
  // The user's role in a joined room changed and still gives access.
  virtual void role_changed(const std::string& room_id, store::role r) = 0;
  // The user lost access to a joined room (removed, or the room stopped being public), or the
  // room was deleted: the hub has dropped the socket, which forgets the room and tells its
  // client.
  virtual void access_lost(const std::string& room_id, bool room_deleted) = 0;
};

}  // namespace fun_notes::server::rooms

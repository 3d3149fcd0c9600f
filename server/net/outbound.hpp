// A session's outbound queue: frames wait here for the connection's single write in flight, and
// leave it several at a time when the client takes batches (docs/protocol.md "Batches").
#pragma once

#include <boost/asio/buffer.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace fun_notes::server::net {

using frame_ptr = std::shared_ptr<const std::string>;

class outbound_queue {
 public:
  using clock = std::chrono::steady_clock;

  // Frames in one batch at most: each takes two iovecs (the frame and a separator), and Asio
  // hands at most 64 to one sendmsg, one of them the WebSocket header.
  static constexpr std::size_t max_batch_frames = 30;
  static constexpr std::size_t max_batch_bytes = 256 * 1024;

  // `counted` frames count towards bytes(), the slow-consumer measure; a join's snapshot does
  // not.
  // `queued`: when the frame was handed to the session.
  void push(frame_ptr frame, bool counted, clock::time_point queued);
  bool empty() const { return head_ == queue_.size(); }
  std::size_t size() const { return queue_.size() - head_; }
  std::size_t bytes() const { return bytes_; }
  void clear();

  // The next message to write, taken off the queue: the front frame alone, or with `batch`
  // every frame from the front that fits the limits above (one at least), wrapped as
  // {"type":"batch","frames":[...]} when there are several. The frames are shared, not copied:
  // the buffers point into them, and they stay alive until written().
  std::span<const boost::asio::const_buffer> next_write(bool batch);
  // Frames in the message next_write() last returned.
  std::size_t frames_in_write() const { return in_flight_.size(); }
  // When the oldest of them was queued.
  clock::time_point oldest_in_write() const { return oldest_in_write_; }
  // That message has been written (or failed): its frames are let go.
  void written();

 private:
  struct entry {
    frame_ptr frame;
    bool counted = false;
    clock::time_point queued{};
  };
  void take_front();

  // queue_[head_..] wait; a vector rather than a deque, which allocates 512 bytes even empty.
  std::vector<entry> queue_;
  std::size_t head_ = 0;
  std::size_t bytes_ = 0;
  std::vector<frame_ptr> in_flight_;
  std::vector<boost::asio::const_buffer> buffers_;
  clock::time_point oldest_in_write_{};
};

}  // namespace fun_notes::server::net

#include "net/outbound.hpp"

#include <string_view>

namespace fun_notes::server::net {
namespace asio = boost::asio;

namespace {
constexpr std::string_view batch_open = R"({"type":"batch","frames":[)";
constexpr std::string_view batch_separator = ",";
constexpr std::string_view batch_close = "]}";

asio::const_buffer buffer_of(std::string_view s) {
  return {s.data(), s.size()};
}
}  // namespace

void outbound_queue::push(frame_ptr frame, bool counted, clock::time_point queued) {
  if (counted) {
    bytes_ += frame->size();
  }
  queue_.push_back(entry{std::move(frame), counted, queued});
}

void outbound_queue::clear() {
  queue_.clear();
  head_ = 0;
  bytes_ = 0;
}

void outbound_queue::take_front() {
  entry& e = queue_[head_++];
  if (e.counted) {
    bytes_ -= e.frame->size();
  }
  in_flight_.push_back(std::move(e.frame));
  if (head_ == queue_.size()) {
    queue_.clear();
    head_ = 0;
  } else if (head_ >= 64 && head_ * 2 >= queue_.size()) {
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

std::span<const asio::const_buffer> outbound_queue::next_write(bool batch) {
  in_flight_.clear();
  buffers_.clear();
  if (empty()) {
    return {};
  }
  oldest_in_write_ = queue_[head_].queued;
  if (!batch || size() == 1) {
    take_front();
    buffers_.push_back(asio::buffer(*in_flight_.back()));
    return buffers_;
  }
  std::size_t total = 0;
  while (!empty() && in_flight_.size() < max_batch_frames &&
         (in_flight_.empty() || total + queue_[head_].frame->size() <= max_batch_bytes)) {
    total += queue_[head_].frame->size();
    take_front();
  }
  if (in_flight_.size() == 1) {
    buffers_.push_back(asio::buffer(*in_flight_.back()));
    return buffers_;
  }
  buffers_.push_back(buffer_of(batch_open));
  for (std::size_t i = 0; i < in_flight_.size(); ++i) {
    if (i > 0) {
      buffers_.push_back(buffer_of(batch_separator));
    }
    buffers_.push_back(asio::buffer(*in_flight_[i]));
  }
  buffers_.push_back(buffer_of(batch_close));
  return buffers_;
}

void outbound_queue::written() {
  in_flight_.clear();
  buffers_.clear();
}

}  // namespace fun_notes::server::net

// The outbound queue: frames leave one at a time, or gathered into batches for clients that
// take them, in order, shared rather than copied, within the batch limits.
#include "net/outbound.hpp"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/json.hpp>
#include <string>

namespace fun_notes::server::net {
namespace {

frame_ptr frame(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

std::string joined(std::span<const boost::asio::const_buffer> buffers) {
  std::string out;
  for (const auto& b : buffers) {
    out.append(static_cast<const char*>(b.data()), b.size());
  }
  return out;
}

std::string pong(int i) {
  return R"({"type":"pong","t":)" + std::to_string(i) + "}";
}

TEST(OutboundQueue, WithoutBatchesFramesLeaveOneByOne) {
  outbound_queue q;
  const auto now = outbound_queue::clock::now();
  q.push(frame(pong(1)), true, now);
  q.push(frame(pong(2)), true, now);
  EXPECT_EQ(q.bytes(), pong(1).size() + pong(2).size());
  EXPECT_EQ(joined(q.next_write(false)), pong(1));
  EXPECT_EQ(q.frames_in_write(), 1U);
  q.written();
  EXPECT_EQ(joined(q.next_write(false)), pong(2));
  q.written();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0U);
}

TEST(OutboundQueue, ALoneFrameIsNeverWrapped) {
  outbound_queue q;
  q.push(frame(pong(1)), true, outbound_queue::clock::now());
  EXPECT_EQ(joined(q.next_write(true)), pong(1));
}

TEST(OutboundQueue, WaitingFramesGoOutAsOneBatchInOrderWithoutCopies) {
  outbound_queue q;
  const auto first = outbound_queue::clock::now();
  std::vector<frame_ptr> frames;
  for (int i = 0; i < 5; ++i) {
    frames.push_back(frame(pong(i)));
    q.push(frames.back(), i != 2, first + std::chrono::milliseconds(i));
  }
  const auto buffers = q.next_write(true);
  EXPECT_EQ(q.frames_in_write(), 5U);
  EXPECT_EQ(q.oldest_in_write(), first);
  EXPECT_EQ(q.bytes(), 0U);
  const auto v = boost::json::parse(joined(buffers));
  ASSERT_EQ(v.at("type"), "batch");
  const auto& inner = v.at("frames").as_array();
  ASSERT_EQ(inner.size(), 5U);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(inner[static_cast<std::size_t>(i)], boost::json::parse(pong(i)));
  }
  // The buffers point into the frames themselves.
  bool shared = false;
  for (const auto& b : buffers) {
    shared = shared || b.data() == frames[3]->data();
  }
  EXPECT_TRUE(shared);
  q.written();
  EXPECT_TRUE(q.empty());
}

TEST(OutboundQueue, ABatchStopsAtItsFrameAndByteLimits) {
  outbound_queue q;
  const auto now = outbound_queue::clock::now();
  for (std::size_t i = 0; i < outbound_queue::max_batch_frames + 5; ++i) {
    q.push(frame(pong(static_cast<int>(i))), true, now);
  }
  const auto buffers = q.next_write(true);
  EXPECT_EQ(q.frames_in_write(), outbound_queue::max_batch_frames);
  // Two iovecs a frame (with the opening and closing), and Asio's 64 with the header.
  EXPECT_LE(buffers.size() + 1, 64U);
  q.written();
  EXPECT_EQ(q.size(), 5U);
  EXPECT_EQ(boost::json::parse(joined(q.next_write(true))).at("frames").as_array().size(), 5U);
  q.written();

  // A frame as large as the byte limit goes alone, and the next one waits for the next write.
  const std::string big(outbound_queue::max_batch_bytes, 'x');
  q.push(frame(pong(1)), true, now);
  q.push(frame(big), true, now);
  q.push(frame(pong(2)), true, now);
  EXPECT_EQ(joined(q.next_write(true)), pong(1));
  q.written();
  EXPECT_EQ(joined(q.next_write(true)).size(), big.size());
  q.written();
  EXPECT_EQ(joined(q.next_write(true)), pong(2));
}

}  // namespace
}  // namespace fun_notes::server::net

// One TCP connection to one Redis node: pipelined writes, RESP reads, backoff between attempts.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "store/redis/redis_client.hpp"
#include "store/redis/resp.hpp"

namespace fun_notes::store::redis::detail {

using reply_handler = std::function<void(reply)>;

// Lives on the client's I/O thread only. Two modes: a command connection matches replies to
// requests in FIFO order; a subscriber connection (hooks.on_push set) hands every reply to
// on_push, because Pub/Sub messages arrive unrequested.
class connection {
 public:
  struct hooks {
    std::function<void()> on_connected;
    // After the connection dropped or an attempt failed, once pending requests were failed.
    std::function<void(const std::string& reason)> on_lost;
    std::function<void(reply)> on_push;
  };

  // A command without a reply after `timeout` (or a connect that takes longer) fails the
  // connection: Redis answers in order, so one stuck reply holds up every later one.
  connection(boost::asio::io_context& io, endpoint where, hooks callbacks,
             std::chrono::steady_clock::duration timeout);
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Queues `wire` (one or more formatted commands) and connects if needed. In command mode
  // `done` (which may be empty) gets the reply, or an "unavailable: …" error if the connection
  // is lost first.
  void send(std::string wire, reply_handler done);
  // Starts connecting if idle, once the backoff delay has passed.
  void ensure_connected();
  bool connected() const { return state_ == state::connected; }
  // Fails everything pending and never connects again.
  void close();

 private:
  enum class state { idle, waiting, connecting, connected };

  void start_connect();
  void read();
  void flush();
  void deliver(reply r);
  void fail(const std::string& reason);
  void arm_deadline();
  void watch_subscriber(std::uint64_t generation);
  std::string no_reply_reason() const;

  endpoint where_;
  std::string name_;
  hooks hooks_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer deadline_;
  // Subscriber mode: a PING when the connection has been quiet, and a failure when even that
  // goes unanswered, so a hung node cannot leave subscriptions silently dead.
  boost::asio::steady_timer keepalive_;
  std::chrono::steady_clock::time_point last_read_{};
  std::chrono::steady_clock::duration timeout_;
  state state_ = state::idle;
  bool closed_ = false;
  // Bumped whenever the socket is reset, so completions of a previous socket are ignored.
  std::uint64_t generation_ = 0;
  std::string out_;      // formatted commands not yet handed to the socket
  std::string writing_;  // the bytes of the one write in flight
  bool write_in_flight_ = false;
  std::deque<reply_handler> pending_;  // command mode: one entry per command sent or queued
  std::deque<std::chrono::steady_clock::time_point> pending_since_;  // when each was queued
  std::unique_ptr<resp_reader> reader_;
  std::array<char, 16384> read_buffer_{};
  std::chrono::steady_clock::duration backoff_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::minstd_rand random_;
};

}  // namespace fun_notes::store::redis::detail

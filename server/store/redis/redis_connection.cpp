// One TCP connection to one Redis node: pipelined writes, RESP reads, backoff between attempts.
#include "store/redis/redis_connection.hpp"
#include "store/histogram.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>

namespace fun_notes::store::redis::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {
constexpr std::chrono::steady_clock::duration min_backoff = 100ms;
constexpr std::chrono::steady_clock::duration max_backoff = 2s;
}  // namespace

connection::connection(asio::io_context& io, endpoint where, hooks callbacks,
                       std::chrono::steady_clock::duration timeout)
    : where_(std::move(where)),
      name_(where_.host + ":" + std::to_string(where_.port)),
      hooks_(std::move(callbacks)),
      resolver_(io),
      socket_(io),
      timer_(io),
      deadline_(io),
      keepalive_(io),
      timeout_(timeout),
      backoff_(min_backoff),
      random_(std::random_device{}()) {}

void connection::send(std::string wire, reply_handler done) {
  if (closed_) {
    if (done) {
      done(reply::make_error("unavailable: client shut down"));
    }
    return;
  }
  out_ += wire;
  if (!hooks_.on_push) {
    pending_.push_back(std::move(done));
    pending_since_.push_back(std::chrono::steady_clock::now());
    if (pending_.size() == 1) {
      arm_deadline();
    }
  }
  if (state_ == state::connected) {
    flush();
  } else {
    ensure_connected();
  }
}

void connection::ensure_connected() {
  if (closed_ || state_ != state::idle) {
    return;
  }
  if (std::chrono::steady_clock::now() >= next_attempt_) {
    start_connect();
    return;
  }
  state_ = state::waiting;
  timer_.expires_at(next_attempt_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || closed_ || state_ != state::waiting) {
      return;
    }
    start_connect();
  });
}

void connection::start_connect() {
  state_ = state::connecting;
  const auto generation = ++generation_;
  // A host that drops packets would otherwise hold the attempt for minutes.
  timer_.expires_after(timeout_);
  timer_.async_wait([this, generation](const boost::system::error_code& ec) {
    if (ec || generation != generation_ || state_ != state::connecting) {
      return;
    }
    fail("cannot connect to " + name_ + ": no answer within the timeout");
  });
  resolver_.async_resolve(
      where_.host, std::to_string(where_.port),
      [this, generation](const boost::system::error_code& ec, tcp::resolver::results_type found) {
        if (generation != generation_) {
          return;
        }
        if (ec) {
          fail("cannot resolve " + name_ + ": " + ec.message());
          return;
        }
        asio::async_connect(
            socket_, found,
            [this, generation](const boost::system::error_code& ec, const tcp::endpoint&) {
              if (generation != generation_) {
                return;
              }
              if (ec) {
                fail("cannot connect to " + name_ + ": " + ec.message());
                return;
              }
              boost::system::error_code ignored;
              socket_.set_option(tcp::no_delay(true), ignored);
              // A peer that vanished without a FIN or RST is noticed eventually, not never.
              socket_.set_option(asio::socket_base::keep_alive(true), ignored);
              timer_.cancel();
              state_ = state::connected;
              backoff_ = min_backoff;
              reader_ = std::make_unique<resp_reader>();
              last_read_ = std::chrono::steady_clock::now();
              read();
              if (hooks_.on_push) {
                watch_subscriber(generation);
              }
              if (hooks_.on_connected) {
                hooks_.on_connected();
              }
              if (generation == generation_) {
                flush();
              }
            });
      });
}

void connection::read() {
  const auto generation = generation_;
  socket_.async_read_some(
      asio::buffer(read_buffer_),
      [this, generation](const boost::system::error_code& ec, std::size_t size) {
        if (generation != generation_) {
          return;
        }
        if (ec) {
          fail(ec == asio::error::eof ? "connection to " + name_ + " closed by the server"
                                      : "connection to " + name_ + " lost: " + ec.message());
          return;
        }
        last_read_ = std::chrono::steady_clock::now();
        if (!reader_->feed(read_buffer_.data(), size)) {
          fail("protocol error from " + name_ + ": " + reader_->error());
          return;
        }
        for (;;) {
          auto next = reader_->next();
          if (!next) {
            if (reader_->failed()) {
              fail("protocol error from " + name_ + ": " + reader_->error());
              return;
            }
            break;
          }
          deliver(std::move(*next));
          // A callback may have closed or reset this connection.
          if (generation != generation_) {
            return;
          }
        }
        read();
      });
}

void connection::deliver(reply r) {
  if (hooks_.on_push) {
    hooks_.on_push(std::move(r));
    return;
  }
  if (pending_.empty()) {
    // Replies and requests no longer line up: nothing read from here can be trusted.
    fail("unexpected reply from " + name_);
    return;
  }
  reply_handler done = std::move(pending_.front());
  pending_.pop_front();
  timings().redis.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - pending_since_.front())
          .count());
  pending_since_.pop_front();
  arm_deadline();
  if (done) {
    done(std::move(r));
  }
}

void connection::flush() {
  if (state_ != state::connected || write_in_flight_ || out_.empty()) {
    return;
  }
  // Everything queued goes out in one write: that is the pipelining.
  writing_.swap(out_);
  out_.clear();
  write_in_flight_ = true;
  const auto generation = generation_;
  asio::async_write(socket_, asio::buffer(writing_),
                    [this, generation](const boost::system::error_code& ec, std::size_t) {
                      if (generation != generation_) {
                        return;
                      }
                      write_in_flight_ = false;
                      writing_.clear();
                      if (ec) {
                        fail("cannot write to " + name_ + ": " + ec.message());
                        return;
                      }
                      flush();
                    });
}

void connection::fail(const std::string& reason) {
  ++generation_;
  boost::system::error_code ignored;
  socket_.close(ignored);
  state_ = state::idle;
  write_in_flight_ = false;
  out_.clear();
  writing_.clear();
  reader_.reset();
  // Jitter spreads the reconnects of many servers after a Redis restart.
  const auto half = backoff_ / 2;
  std::uniform_int_distribution<std::int64_t> spread(0, half.count());
  next_attempt_ = std::chrono::steady_clock::now() + half +
                  std::chrono::steady_clock::duration(spread(random_));
  backoff_ = std::min(backoff_ * 2, max_backoff);

  // Not retried here: the command may have run before the connection dropped.
  auto failed = std::move(pending_);
  pending_.clear();
  pending_since_.clear();
  deadline_.cancel();
  const reply error = reply::make_error("unavailable: " + reason);
  for (auto& done : failed) {
    if (done) {
      done(error);
    }
  }
  if (hooks_.on_lost && !closed_) {
    hooks_.on_lost(reason);
  }
}

std::string connection::no_reply_reason() const {
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(timeout_);
  return "no reply from " + name_ + " within " + std::to_string(waited.count()) + " ms";
}

void connection::watch_subscriber(std::uint64_t generation) {
  keepalive_.expires_after(timeout_ / 3);
  keepalive_.async_wait([this, generation](const boost::system::error_code& ec) {
    if (ec || closed_ || generation != generation_ || state_ != state::connected) {
      return;
    }
    const auto quiet = std::chrono::steady_clock::now() - last_read_;
    if (quiet >= timeout_) {
      fail(no_reply_reason());
      return;
    }
    if (quiet >= timeout_ / 3) {
      // Allowed while subscribed; the answer (a "pong" push) only refreshes last_read_.
      out_ += format_command({"PING"});
      flush();
    }
    watch_subscriber(generation);
  });
}

// One timer for the oldest command in flight: replies come in order, so it is the one late.
void connection::arm_deadline() {
  if (pending_since_.empty()) {
    deadline_.cancel();
    return;
  }
  const auto oldest = pending_since_.front();
  deadline_.expires_at(oldest + timeout_);
  deadline_.async_wait([this, oldest](const boost::system::error_code& ec) {
    if (ec || closed_ || pending_since_.empty() || pending_since_.front() != oldest) {
      return;
    }
    fail(no_reply_reason());
  });
}

void connection::close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  timer_.cancel();
  deadline_.cancel();
  keepalive_.cancel();
  resolver_.cancel();
  ++generation_;
  boost::system::error_code ignored;
  socket_.close(ignored);
  state_ = state::idle;
  auto failed = std::move(pending_);
  pending_.clear();
  pending_since_.clear();
  const reply error = reply::make_error("unavailable: client shut down");
  for (auto& done : failed) {
    if (done) {
      done(error);
    }
  }
}

}  // namespace fun_notes::store::redis::detail

// A pipelined, reconnecting Redis / Redis Cluster client (commands and sharded Pub/Sub) for the
// Redis HotLog and Bus adapters; hiredis parses and formats RESP, Asio moves the bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/redis/resp.hpp"

namespace fun_notes::store::redis {

// A `redis://host:port` seed: host is a name, an IPv4 address or a bracketed IPv6 address;
// the port defaults to 6379. Throws std::invalid_argument naming the bad URL.
struct endpoint {
  std::string host;
  std::uint16_t port = 6379;
};
endpoint parse_url(std::string_view url);
// Splits a comma-separated list of seed URLs (the `--redis` flag) and parses each one.
std::vector<endpoint> parse_urls(std::string_view urls);

struct client_options {
  // A command with no reply after this long (a node that hangs, a network that drops packets)
  // fails with "unavailable:" along with the commands pipelined behind it, and the connection
  // is made anew. Also bounds each connect attempt. Blocking commands (BLPOP, WAIT) must
  // therefore block for less than this.
  std::chrono::milliseconds command_timeout{5000};
};

// Owns one I/O thread; every public member is thread-safe. Callbacks (`done`, `on_message`,
// `on_confirmed`) run on that thread and must not block it.
//
// The client works the same with a standalone Redis and a Redis Cluster: it asks a seed for
// CLUSTER SLOTS, and "cluster support disabled" means one node takes everything. Commands for
// one node share one connection and are pipelined (replies match requests in order); MOVED and
// ASK redirections are followed. A lost connection completes its in-flight commands with an
// error reply starting "unavailable:" (they are not retried: INCR and friends are not
// idempotent) and reconnects with exponential backoff (100 ms to 2 s, with jitter) when next
// used.
class client {
 public:
  // Each entry is one URL or a comma-separated list of them. Does not block: the topology is
  // discovered on the I/O thread, and commands issued meanwhile wait for it.
  explicit client(const std::vector<std::string>& seed_urls, client_options options = {});
  // Completes every pending command with an "unavailable: client shut down" error, then joins
  // the I/O thread; so it must not run on that thread (from a callback).
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Sends `args` to the node owning key_slot(routing_key). Commands issued from one thread for
  // one slot are sent in issue order.
  void async_command(std::string routing_key, std::vector<std::string> args,
                     std::function<void(reply)> done);

  // Blocks until the reply arrives. For worker threads: on the client's own I/O thread (in a
  // callback) it would deadlock, so it throws std::logic_error there instead.
  reply command(std::string routing_key, std::vector<std::string> args);

  // Sharded Pub/Sub: SSUBSCRIBE on the node owning the channel's slot, over a connection kept
  // for subscriptions. `on_confirmed` runs once Redis confirmed the subscription, and again
  // after every re-subscription (reconnect, slot moved): messages published in between may have
  // been missed. Messages of one channel arrive in publication order.
  std::uint64_t ssubscribe(std::string channel,
                           std::function<void(std::string_view payload)> on_message,
                           std::function<void()> on_confirmed);
  void sunsubscribe(std::uint64_t id);

  // Whether the last topology discovery found a Redis Cluster (false until one succeeded).
  bool is_cluster() const;

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace fun_notes::store::redis

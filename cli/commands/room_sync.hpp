// One room synced from a command: load it from the cache, connect, join, carry out the replica's
// effects (send, persist, collect notices) until a condition holds or a deadline passes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/connection.hpp"
#include "sync/cache.hpp"
#include "sync/replica.hpp"

namespace fun_notes::cli {

class room_sync {
 public:
  room_sync(sync::cache& cache, std::string server, std::string token, std::string room_id);
  ~room_sync();

  sync::replica& room() { return *room_; }
  bool known_locally() const { return known_locally_; }
  bool online() const { return online_; }
  // Why the last attempt ended offline or failed ("" when it did not).
  const std::string& offline_reason() const { return offline_reason_; }
  bool auth_refused() const { return auth_refused_; }
  const std::vector<sync::notice>& notices() const { return notices_; }

  // Connects and joins; true once the join's answer is complete (the room is live). False when
  // the server cannot be reached in time, refuses the token, or refuses the room.
  bool join(std::chrono::milliseconds deadline);
  // Carries out a local edit's effects (sent at once when live, persisted either way).
  void apply(sync::effects fx);
  // Waits until every change in the outbox is acknowledged; false on a deadline or a drop.
  bool settle(std::chrono::milliseconds deadline);
  void close();

 private:
  bool pump(std::chrono::steady_clock::time_point until, const std::function<bool()>& done);
  void handle(net::net_event&& e);

  sync::cache& cache_;
  std::string server_;
  std::string token_;
  std::unique_ptr<sync::replica> room_;
  std::unique_ptr<net::connection> conn_;
  bool known_locally_ = false;
  bool online_ = false;
  bool ended_ = false;
  bool auth_refused_ = false;
  std::string offline_reason_;
  std::vector<sync::notice> notices_;
};

}  // namespace fun_notes::cli

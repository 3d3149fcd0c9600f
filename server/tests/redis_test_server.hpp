// Throwaway redis-server processes (a standalone server or a small Redis Cluster) for tests.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "store/redis/resp.hpp"

namespace fun_notes::store::redis::testing {

// One redis-server on a free loopback port with its own temp dir (AOF on, RDB off). Stopping
// or killing it and starting again keeps the port and the dir, so the AOF survives.
class redis_node {
 public:
  // `cluster_bus_port` 0: a standalone server.
  redis_node(std::filesystem::path dir, std::uint16_t port, std::uint16_t cluster_bus_port);
  ~redis_node();
  redis_node(const redis_node&) = delete;
  redis_node& operator=(const redis_node&) = delete;

  // Starts the server and waits until it answers PING; throws std::runtime_error (with the
  // log's tail) if it exits or does not answer within the deadline.
  void start();
  // SIGTERM and wait: Redis flushes its AOF on the way out.
  void stop();
  // SIGKILL and wait: a crash.
  void kill();
  // SIGSTOP / SIGCONT: a server that hangs (connections stay open, nothing is answered).
  void pause();
  void resume();
  bool running() const { return pid_ > 0; }

  std::uint16_t port() const { return port_; }
  std::string url() const;
  const std::filesystem::path& dir() const { return dir_; }
  std::string log_tail() const;

  // One command over a fresh blocking connection (for test set-up and checks, not speed).
  // Throws std::runtime_error if the server cannot be reached.
  reply command(const std::vector<std::string>& args) const;

 private:
  void signal_and_wait(int signal);

  std::filesystem::path dir_;
  std::uint16_t port_;
  std::uint16_t cluster_bus_port_;
  pid_t pid_ = -1;
};

// A standalone server or a cluster of masters, each with `replicas_per_master` replicas; stops every server and removes
// their dirs when destroyed. If redis-server is not installed, the factories throw
// std::runtime_error saying to run scripts/setup.sh: tests then fail rather than skip.
class redis_deployment {
 public:
  static std::unique_ptr<redis_deployment> standalone();
  static std::unique_ptr<redis_deployment> cluster(std::size_t masters,
                                                   std::size_t replicas_per_master = 0);
  ~redis_deployment();
  redis_deployment(const redis_deployment&) = delete;
  redis_deployment& operator=(const redis_deployment&) = delete;

  std::size_t size() const { return nodes_.size(); }
  redis_node& node(std::size_t i) { return *nodes_.at(i); }
  std::vector<std::string> urls() const;
  // Waits (with a deadline) until every running node reports cluster_state:ok.
  void wait_cluster_ok() const;
  // Waits (with a deadline) until every running replica has finished its first sync: before
  // that a WAIT confirms nothing, and a replica cannot be promoted.
  void wait_replicas_synced() const;

 private:
  redis_deployment() = default;
  redis_node& add_node(bool clustered);

  std::filesystem::path root_;
  std::vector<std::unique_ptr<redis_node>> nodes_;
};

}  // namespace fun_notes::store::redis::testing

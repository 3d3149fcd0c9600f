// Throwaway redis-server processes (a standalone server or a small Redis Cluster) for tests.
#include "redis_test_server.hpp"

#include "child_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace fun_notes::store::redis::testing {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using fun_notes::testing::spawn;
using fun_notes::testing::tail_of;
using fun_notes::testing::wait_for_exit;

constexpr auto start_deadline = 20s;
constexpr auto cluster_deadline = 30s;
constexpr const char* server_binary = "/usr/bin/redis-server";
constexpr const char* cli_binary = "/usr/bin/redis-cli";

void require_binaries() {
  for (const char* binary : {server_binary, cli_binary}) {
    if (::access(binary, X_OK) != 0) {
      throw std::runtime_error(std::string(binary) +
                               " not found: run scripts/setup.sh, which installs redis-server "
                               "and redis-tools");
    }
  }
}

// A port nothing listens on right now. Another process may still take it before redis-server
// binds it; start() notices that and the caller picks again.
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error("cannot create a socket to find a free port");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string text_of(const reply& r) {
  return r.is_error() ? "error: " + r.str : r.str;
}

}  // namespace

redis_node::redis_node(fs::path dir, std::uint16_t port, std::uint16_t cluster_bus_port)
    : dir_(std::move(dir)), port_(port), cluster_bus_port_(cluster_bus_port) {}

redis_node::~redis_node() {
  if (pid_ > 0) {
    signal_and_wait(SIGKILL);
  }
}

std::string redis_node::url() const {
  return "redis://127.0.0.1:" + std::to_string(port_);
}

std::string redis_node::log_tail() const {
  return tail_of(dir_ / "redis.log");
}

void redis_node::start() {
  if (pid_ > 0) {
    return;
  }
  std::vector<std::string> argv = {server_binary,      "--port",      std::to_string(port_),
                                   "--bind",           "127.0.0.1",   "--dir",
                                   dir_.string(),      "--save",      "",
                                   "--appendonly",     "yes",         "--appendfsync",
                                   "everysec",         "--daemonize", "no",
                                   "--protected-mode", "no",
                                   // As deploy/redis.conf: never evict an op log.
                                   "--maxmemory-policy", "noeviction"};
  if (cluster_bus_port_ != 0) {
    for (std::string arg : {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                            "--cluster-node-timeout", "5000", "--cluster-port"}) {
      argv.push_back(std::move(arg));
    }
    argv.push_back(std::to_string(cluster_bus_port_));
  }
  pid_ = spawn(argv, dir_ / "redis.log");
  const auto give_up = std::chrono::steady_clock::now() + start_deadline;
  for (;;) {
    try {
      const reply pong = command({"PING"});
      if (pong.is_status() && pong.str == "PONG") {
        return;
      }
    } catch (const std::runtime_error&) {
      // Not listening yet.
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("redis-server on port " + std::to_string(port_) +
                               " exited during start-up; log:\n" + log_tail());
    }
    if (std::chrono::steady_clock::now() > give_up) {
      signal_and_wait(SIGKILL);
      throw std::runtime_error("redis-server on port " + std::to_string(port_) +
                               " did not answer PING in time; log:\n" + log_tail());
    }
    // Polling a condition with a deadline: the server offers nothing to wait on.
    std::this_thread::sleep_for(10ms);
  }
}

void redis_node::stop() {
  signal_and_wait(SIGTERM);
}

void redis_node::kill() {
  signal_and_wait(SIGKILL);
}

void redis_node::pause() {
  if (pid_ > 0) {
    ::kill(pid_, SIGSTOP);
  }
}

void redis_node::resume() {
  if (pid_ > 0) {
    ::kill(pid_, SIGCONT);
  }
}

void redis_node::signal_and_wait(int signal) {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, signal);
  ::kill(pid_, SIGCONT);  // a paused server acts on SIGTERM only once it runs again
  wait_for_exit(pid_);
  pid_ = -1;
}

reply redis_node::command(const std::vector<std::string>& args) const {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error("cannot create a socket");
  }
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{fd};
  timeval timeout{};
  timeout.tv_sec = 10;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port_);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    throw std::runtime_error("cannot connect to redis on port " + std::to_string(port_));
  }
  const std::string wire = format_command(args);
  std::size_t sent = 0;
  while (sent < wire.size()) {
    const auto n = ::send(fd, wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      throw std::runtime_error("cannot send to redis on port " + std::to_string(port_));
    }
    sent += static_cast<std::size_t>(n);
  }
  resp_reader reader;
  char buffer[16384];
  for (;;) {
    const auto n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      throw std::runtime_error("no reply from redis on port " + std::to_string(port_));
    }
    reader.feed(buffer, static_cast<std::size_t>(n));
    if (auto r = reader.next()) {
      return std::move(*r);
    }
    if (reader.failed()) {
      throw std::runtime_error("bad reply from redis: " + reader.error());
    }
  }
}

redis_deployment::~redis_deployment() {
  nodes_.clear();
  std::error_code ignored;
  fs::remove_all(root_, ignored);
}

redis_node& redis_deployment::add_node(bool clustered) {
  const fs::path dir = root_ / ("node" + std::to_string(nodes_.size()));
  fs::create_directories(dir);
  std::string last_failure;
  // A port found free may be taken before redis-server binds it: pick again a few times.
  for (int attempt = 0; attempt < 5; ++attempt) {
    const std::uint16_t port = free_port();
    std::uint16_t bus_port = clustered ? free_port() : 0;
    if (bus_port == port) {
      continue;
    }
    auto node = std::make_unique<redis_node>(dir, port, bus_port);
    try {
      node->start();
    } catch (const std::runtime_error& e) {
      last_failure = e.what();
      if (last_failure.find("Address already in use") == std::string::npos) {
        throw;
      }
      continue;
    }
    nodes_.push_back(std::move(node));
    return *nodes_.back();
  }
  throw std::runtime_error("cannot start redis-server on a free port: " + last_failure);
}

std::unique_ptr<redis_deployment> redis_deployment::standalone() {
  require_binaries();
  std::unique_ptr<redis_deployment> deployment(new redis_deployment);
  std::string pattern = (fs::temp_directory_path() / "fun_notes_redis_XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a temp dir for Redis");
  }
  deployment->root_ = pattern;
  deployment->add_node(false);
  return deployment;
}

std::unique_ptr<redis_deployment> redis_deployment::cluster(std::size_t masters,
                                                            std::size_t replicas_per_master) {
  require_binaries();
  if (masters < 3) {
    throw std::invalid_argument("a Redis Cluster needs at least 3 masters");
  }
  std::unique_ptr<redis_deployment> deployment(new redis_deployment);
  std::string pattern = (fs::temp_directory_path() / "fun_notes_redis_XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a temp dir for Redis");
  }
  deployment->root_ = pattern;
  std::vector<std::string> argv = {cli_binary, "--cluster", "create"};
  for (std::size_t i = 0; i < masters * (1 + replicas_per_master); ++i) {
    argv.push_back("127.0.0.1:" + std::to_string(deployment->add_node(true).port()));
  }
  argv.push_back("--cluster-replicas");
  argv.push_back(std::to_string(replicas_per_master));
  argv.push_back("--cluster-yes");
  const fs::path log = deployment->root_ / "cluster-create.log";
  const int status = wait_for_exit(spawn(argv, log));
  if (status != 0) {
    throw std::runtime_error("redis-cli --cluster create exited with " + std::to_string(status) +
                             "; output:\n" + tail_of(log));
  }
  deployment->wait_cluster_ok();
  return deployment;
}

std::vector<std::string> redis_deployment::urls() const {
  std::vector<std::string> out;
  for (const auto& node : nodes_) {
    out.push_back(node->url());
  }
  return out;
}

void redis_deployment::wait_replicas_synced() const {
  const auto give_up = std::chrono::steady_clock::now() + cluster_deadline;
  for (const auto& node : nodes_) {
    if (!node->running()) {
      continue;
    }
    for (;;) {
      const std::string info = text_of(node->command({"INFO", "replication"}));
      if (info.find("role:slave") == std::string::npos ||
          (info.find("master_link_status:up") != std::string::npos &&
           info.find("master_sync_in_progress:0") != std::string::npos)) {
        break;
      }
      if (std::chrono::steady_clock::now() > give_up) {
        throw std::runtime_error("Redis replica on port " + std::to_string(node->port()) +
                                 " did not finish its first sync in time:\n" + info);
      }
      std::this_thread::sleep_for(20ms);  // polling with a deadline
    }
  }
}

void redis_deployment::wait_cluster_ok() const {
  const auto give_up = std::chrono::steady_clock::now() + cluster_deadline;
  for (const auto& node : nodes_) {
    if (!node->running()) {
      continue;
    }
    for (;;) {
      std::string info;
      try {
        info = text_of(node->command({"CLUSTER", "INFO"}));
      } catch (const std::runtime_error& e) {
        info = e.what();
      }
      if (info.find("cluster_state:ok") != std::string::npos) {
        break;
      }
      if (std::chrono::steady_clock::now() > give_up) {
        throw std::runtime_error("Redis Cluster node on port " + std::to_string(node->port()) +
                                 " did not reach cluster_state:ok in time:\n" + info);
      }
      // Polling with a deadline: gossip converges on its own schedule.
      std::this_thread::sleep_for(20ms);
    }
  }
}

}  // namespace fun_notes::store::redis::testing

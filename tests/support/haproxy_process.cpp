// A real HAProxy in front of test servers, configured from the deploy/haproxy.cfg template.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "fun_notes_test.hpp"

namespace fun_notes::test {

namespace fs = std::filesystem;

namespace {

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

}  // namespace

std::string haproxy_process::binary() {
  if (const char* env = std::getenv("HAPROXY_BIN"); env != nullptr && *env != '\0') {
    return ::access(env, X_OK) == 0 ? env : "";
  }
  for (const char* p : {"/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy",
                        "/usr/local/bin/haproxy"}) {
    if (::access(p, X_OK) == 0) {
      return p;
    }
  }
  return {};
}

haproxy_process::haproxy_process(const fs::path& config_template,
                                 const std::vector<std::uint16_t>& server_ports) {
  const std::string bin = binary();
  if (bin.empty()) {
    throw protocol_failure(
        "haproxy is not installed: run scripts/setup.sh (or point HAPROXY_BIN at it)");
  }
  std::string cfg = read_file(config_template);
  if (cfg.find("\n@SERVERS@\n") == std::string::npos ||
      cfg.find("@FRONTEND_PORT@") == std::string::npos) {
    throw protocol_failure("no @SERVERS@/@FRONTEND_PORT@ placeholders in " +
                           config_template.string());
  }
  std::string servers;
  for (std::size_t i = 0; i < server_ports.size(); ++i) {
    servers += "    server s" + std::to_string(i + 1) +
               " 127.0.0.1:" + std::to_string(server_ports[i]) + "\n";
  }
  port_ = free_loopback_port();
  cfg = replace_all(std::move(cfg), "\n@SERVERS@\n", "\n" + servers);
  cfg = replace_all(std::move(cfg), "@FRONTEND_PORT@", std::to_string(port_));

  std::string pattern = "/tmp/fun-notes-haproxy-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw protocol_failure("mkdtemp: " + std::string(std::strerror(errno)));
  }
  dir_ = pattern;
  const fs::path cfg_file = dir_ / "haproxy.cfg";
  log_file_ = dir_ / "haproxy.log";
  std::ofstream(cfg_file) << cfg;

  const std::string cfg_path = cfg_file.string();
  const std::string log_path = log_file_.string();
  pid_ = ::fork();
  if (pid_ < 0) {
    throw protocol_failure("fork: " + std::string(std::strerror(errno)));
  }
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // no leftover if the test process dies
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    const char* argv[] = {bin.c_str(), "-db", "-f", cfg_path.c_str(), nullptr};
    ::execv(bin.c_str(), const_cast<char* const*>(argv));
    ::_exit(127);
  }
}

haproxy_process::~haproxy_process() {
  stop();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string haproxy_process::log() const {
  return read_file(log_file_);
}

bool haproxy_process::running() {
  if (pid_ <= 0) {
    return false;
  }
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void haproxy_process::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
}

void haproxy_process::wait_ready(milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) {
      throw protocol_failure("haproxy exited:\n" + log());
    }
    try {
      const auto r = http_request(port_, "GET", "/readyz", std::nullopt, {}, 1000ms);
      if (r.status == 200) {
        return;
      }
      last = "status " + std::to_string(r.status);
    } catch (const protocol_failure& e) {
      last = e.what();
    }
    std::this_thread::sleep_for(20ms);  // polling interval, not a synchronisation
  }
  throw protocol_failure("haproxy not ready (" + last + "):\n" + log());
}

}  // namespace fun_notes::test

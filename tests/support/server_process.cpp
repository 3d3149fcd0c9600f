// Starts fun-notes-server as a child process on port 0 with throwaway directories, and stops it.
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
#include <iostream>
#include <sstream>
#include <thread>

#include "fun_notes_test.hpp"

extern char** environ;

namespace fun_notes::test {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    throw protocol_failure("socket: " + std::string(std::strerror(errno)));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw protocol_failure("bind: " + std::string(std::strerror(errno)));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

namespace {

fs::path make_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/fun-notes-it-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw protocol_failure("mkdtemp failed: " + std::string(std::strerror(errno)));
  }
  return pattern;
}

// Polling interval for conditions the OS gives no event for (a child exiting, a file
// appearing): each wait still ends on the condition or on its deadline.
constexpr auto poll_interval = 5ms;

std::string describe_status(int status) {
  if (WIFEXITED(status)) {
    return "exited with code " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
  }
  return "status " + std::to_string(status);
}

}  // namespace

std::string server_process::binary() {
  if (const char* env = std::getenv("FUN_NOTES_SERVER_BIN"); env != nullptr && *env != '\0') {
    return env;
  }
  return FUN_NOTES_SERVER_BIN;
}

server_process::server_process() : server_process(options{}) {}

server_process::server_process(options opts) : opts_(std::move(opts)) {
  dir_ = make_temp_dir();
  data_dir_ = dir_ / "data";
  port_file_ = dir_ / "port";
  log_file_ = dir_ / "server.log";
  fs::create_directories(data_dir_);
  try {
    start();
  } catch (...) {
    // No destructor runs for a constructor that throws.
    kill();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

server_process::~server_process() {
  if (pid_ > 0) {
    kill();
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void server_process::start() {
  const std::string bin = binary();
  if (::access(bin.c_str(), X_OK) != 0) {
    throw protocol_failure("server binary " + bin + " is missing or not executable");
  }
  std::error_code ec;
  fs::remove(port_file_, ec);
  ++starts_;

  std::vector<std::string> args = {bin,
                                   "--host",
                                   "127.0.0.1",
                                   "--port",
                                   opts_.keep_port && port_ != 0 ? std::to_string(port_) : "0",
                                   "--port-file",
                                   port_file_.string(),
                                   "--data",
                                   data_dir_.string(),
                                   "--log-level",
                                   opts_.log_level};
  args.insert(args.end(), opts_.extra_args.begin(), opts_.extra_args.end());
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "FUN_NOTES_JWT_SECRET=", 21) != 0) {
      env.emplace_back(*e);
    }
  }
  if (!opts_.jwt_secret.empty()) {
    env.push_back("FUN_NOTES_JWT_SECRET=" + opts_.jwt_secret);
  }
  // Everything the child needs is prepared before fork: after it only async-signal-safe calls
  // are allowed (the test process has threads).
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);

  {
    std::ofstream log(log_file_, std::ios::app);
    log << "==== start #" << starts_ << ":";
    for (const auto& a : args) {
      log << ' ' << a;
    }
    log << '\n';
  }
  const int log_fd = ::open(log_file_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (log_fd < 0) {
    throw protocol_failure("cannot open " + log_file_.string());
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    throw protocol_failure("fork failed: " + std::string(std::strerror(errno)));
  }
  if (pid == 0) {
    // The server must not outlive a crashed test binary.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(126);
    }
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      ::dup2(devnull, STDIN_FILENO);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = pid;

  // Wait for the port file (written with a rename, so it is complete once it exists) or for
  // the child to die.
  const auto deadline = std::chrono::steady_clock::now() + opts_.start_timeout;
  for (;;) {
    if (fs::exists(port_file_)) {
      const std::string text = read_file(port_file_);
      if (!text.empty() && text.back() == '\n') {
        const long port = std::strtol(text.c_str(), nullptr, 10);
        if (port <= 0 || port > 65535) {
          throw protocol_failure("port file holds \"" + text + "\"\n" + log());
        }
        port_ = static_cast<std::uint16_t>(port);
        return;
      }
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw protocol_failure("fun-notes-server " + describe_status(status) +
                             " during start-up. Log:\n" + log());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill();
      throw protocol_failure("fun-notes-server did not write its port file in time. Log:\n" +
                             log());
    }
    std::this_thread::sleep_for(poll_interval);
  }
}

bool server_process::running() {
  if (pid_ <= 0) {
    return false;
  }
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    unexpected_exit_ = describe_status(status);
    std::ofstream(log_file_, std::ios::app)
        << "==== the server " << unexpected_exit_ << " on its own\n";
    return false;
  }
  return true;
}

std::optional<int> server_process::wait_exit(milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      std::ofstream(log_file_, std::ios::app)
          << "==== the server " << describe_status(status) << '\n';
      if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
      }
      if (WIFSIGNALED(status)) {
        return -WTERMSIG(status);
      }
      return -1000;
    }
    if (r < 0 && errno != EINTR) {
      pid_ = -1;
      return -1001;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(poll_interval);
  }
}

void server_process::kill() {
  if (pid_ <= 0) {
    return;
  }
  const bool was_running = running();
  if (!was_running) {
    return;  // it had died on its own; running() logged how
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  std::ofstream(log_file_, std::ios::app) << "==== killed with SIGKILL by the test\n";
}

std::optional<int> server_process::terminate(milliseconds timeout) {
  if (pid_ <= 0) {
    return std::nullopt;
  }
  ::kill(pid_, SIGTERM);
  auto code = wait_exit(timeout);
  std::ofstream(log_file_, std::ios::app)
      << "==== SIGTERM: " << (code ? "exit " + std::to_string(*code) : "still running") << '\n';
  return code;
}

void server_process::restart() {
  kill();
  start();
}

std::string server_process::log() const {
  return read_file(log_file_);
}

void server_process::print_log(std::ostream& out) const {
  out << "---- fun-notes-server log (" << log_file_.string() << ") ----\n"
      << log() << "---- end of server log ----\n";
}

}  // namespace fun_notes::test

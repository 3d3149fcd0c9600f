// A real nginx in front of test servers, configured from the deploy/nginx.conf template.
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
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

// The template with @FRONTEND_PORT@ replaced, and the line holding @SERVER@ once per server
// (comments as they are).
std::string render(const std::string& config_template, const std::vector<std::uint16_t>& ports,
                   std::uint16_t frontend_port) {
  std::istringstream in(config_template);
  std::string out;
  std::string line;
  int server_lines = 0;
  bool has_frontend = false;
  while (std::getline(in, line)) {
    // Comments may name the placeholders; the configuration's own lines hold them.
    if (const auto first = line.find_first_not_of(" \t");
        first != std::string::npos && line[first] == '#') {
      out += line + "\n";
      continue;
    }
    if (const auto at = line.find("@SERVER@"); at != std::string::npos) {
      ++server_lines;
      for (const auto port : ports) {
        std::string s = line;
        s.replace(at, std::string_view("@SERVER@").size(), "127.0.0.1:" + std::to_string(port));
        out += s + "\n";
      }
      continue;
    }
    for (auto at = line.find("@FRONTEND_PORT@"); at != std::string::npos;
         at = line.find("@FRONTEND_PORT@")) {
      has_frontend = true;
      line.replace(at, std::string_view("@FRONTEND_PORT@").size(), std::to_string(frontend_port));
    }
    out += line + "\n";
  }
  if (server_lines != 1 || !has_frontend) {
    throw protocol_failure("the nginx template needs @FRONTEND_PORT@ and one line with @SERVER@");
  }
  return out;
}

}  // namespace

std::string nginx_process::binary() {
  if (const char* env = std::getenv("NGINX_BIN"); env != nullptr && *env != '\0') {
    return ::access(env, X_OK) == 0 ? env : "";
  }
  for (const char* p :
       {"/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx", "/usr/local/bin/nginx"}) {
    if (::access(p, X_OK) == 0) {
      return p;
    }
  }
  return {};
}

nginx_process::nginx_process(const fs::path& config_template,
                             const std::vector<std::uint16_t>& server_ports)
    : template_(read_file(config_template)), server_ports_(server_ports) {
  if (binary().empty()) {
    throw protocol_failure(
        "nginx is not installed: run scripts/setup.sh (or point NGINX_BIN at it)");
  }
  render(template_, server_ports_, 1);  // throws now for a template without placeholders
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/fun-notes-nginx-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw protocol_failure("mkdtemp: " + std::string(std::strerror(errno)));
  }
  dir_ = pattern;
  log_file_ = dir_ / "nginx.log";
  start();
}

void nginx_process::start() {
  const std::string bin = binary();
  port_ = free_loopback_port();
  const fs::path cfg_file = dir_ / "nginx.conf";
  log_start_ = log().size();
  std::ofstream(cfg_file) << render(template_, server_ports_, port_);

  // As root, nginx runs as nobody, owning its prefix: no privilege is needed by the config.
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  if (::geteuid() == 0) {
    if (const passwd* pw = ::getpwnam("nobody"); pw != nullptr) {
      switch_user = true;
      uid = pw->pw_uid;
      gid = pw->pw_gid;
      if (::chown(dir_.c_str(), uid, gid) != 0) {
        throw protocol_failure("chown " + dir_.string() + ": " + std::strerror(errno));
      }
    }
  }

  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  const std::string prefix = dir_.string() + "/";
  const std::string cfg_path = cfg_file.string();
  const std::string log_path = log_file_.string();
  const char* argv[] = {bin.c_str(), "-p",     prefix.c_str(), "-c",          cfg_path.c_str(),
                        "-e",        "stderr", "-g",           "daemon off;", nullptr};
  pid_ = ::fork();
  if (pid_ < 0) {
    throw protocol_failure("fork: " + std::string(std::strerror(errno)));
  }
  if (pid_ == 0) {
    // Its own process group, so stop() reaches the workers too.
    ::setpgid(0, 0);
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    if (switch_user && (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) {
      ::_exit(126);
    }
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // after setuid, which clears it
    ::execv(bin.c_str(), const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);  // also here, so stop() never races the child's own call
}

nginx_process::~nginx_process() {
  stop();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string nginx_process::log() const {
  return read_file(log_file_);
}

bool nginx_process::running() {
  if (pid_ <= 0) {
    return false;
  }
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    ::kill(-pid_, SIGKILL);  // workers a dead master left behind
    pid_ = -1;
    return false;
  }
  return true;
}

void nginx_process::stop() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);  // the master and its workers
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
}

void nginx_process::wait_ready(milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer";
  int starts = 1;
  while (std::chrono::steady_clock::now() < deadline) {
    // A port found free may be taken before nginx binds it; nginx would go on retrying it.
    if (log().find("Address already in use", log_start_) != std::string::npos && starts < 3) {
      stop();
      std::ofstream(log_file_, std::ios::app) << "--- port " << port_ << " taken, again ---\n";
      ++starts;
      start();
      continue;
    }
    if (!running()) {
      throw protocol_failure("nginx exited:\n" + log());
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
  throw protocol_failure("nginx not ready (" + last + "):\n" + log());
}

}  // namespace fun_notes::test

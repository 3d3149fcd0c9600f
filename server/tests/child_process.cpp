// Starting and reaping helper processes (PostgreSQL, Redis, redis-cli) from the test harnesses.
#include "child_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fun_notes::testing {

pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log,
            const spawn_options& options) {
  std::vector<char*> args;
  for (const auto& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) {
    throw std::runtime_error("cannot open " + log.string());
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls until exec: the test binary may already have threads.
    const int in = ::open("/dev/null", O_RDONLY);
    if (in < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) {
      ::_exit(126);
    }
    if (options.switch_user && (::setgroups(0, nullptr) != 0 || ::setgid(options.gid) != 0 ||
                                ::setuid(options.uid) != 0)) {
      ::_exit(126);
    }
    // After setuid, which clears the parent-death signal.
    if (options.parent_death_signal != 0 &&
        ::prctl(PR_SET_PDEATHSIG, options.parent_death_signal) != 0) {
      ::_exit(126);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out);
  if (pid < 0) {
    throw std::runtime_error("cannot fork to start " + argv[0]);
  }
  return pid;
}

int wait_for_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return -1;
    }
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string tail_of(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  constexpr std::size_t keep = 2000;
  return all.size() > keep ? all.substr(all.size() - keep) : all;
}

}  // namespace fun_notes::testing

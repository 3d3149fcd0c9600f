// Starting and reaping helper processes (PostgreSQL, Redis, redis-cli) from the test harnesses.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

namespace fun_notes::testing {

struct spawn_options {
  // Run as this user and group instead of the caller (PostgreSQL refuses to run as root).
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  // Sent to the child if the test binary dies first, so a crashed run leaves no server behind;
  // 0 for none.
  int parent_death_signal = SIGKILL;
};

// Starts argv (argv[0] an absolute path) with stdin from /dev/null and stdout and stderr
// appended to `log`. Throws std::runtime_error if the log cannot be opened or fork fails.
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log,
            const spawn_options& options = {});

// Waits for the child to end: its exit status, or 128 + the signal that ended it.
int wait_for_exit(pid_t pid);

// The last ~2,000 characters of a log, for error messages.
std::string tail_of(const std::filesystem::path& log);

}  // namespace fun_notes::testing

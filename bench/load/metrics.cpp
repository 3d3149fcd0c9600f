#include "metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace fun_notes::load {
namespace {

struct proc_stat {
  pid_t ppid = 0;
  std::int64_t ticks = 0;
};

bool read_stat(pid_t pid, proc_stat& out) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) {
    return false;
  }
  // The command name is in parentheses and may hold spaces or parentheses itself.
  const auto close = line.rfind(')');
  if (close == std::string::npos) {
    return false;
  }
  std::istringstream fields(line.substr(close + 2));
  std::string f;
  // Fields from 3 (state) on: ppid is 4; utime, stime, cutime, cstime are 14..17.
  std::int64_t ticks = 0;
  for (int field = 3; field <= 17 && (fields >> f); ++field) {
    if (field == 4) {
      out.ppid = static_cast<pid_t>(std::atol(f.c_str()));
    } else if (field >= 14) {
      ticks += std::atoll(f.c_str());
    }
  }
  out.ticks = ticks;
  return true;
}

}  // namespace

cpu_sample process_tree_cpu(const std::vector<pid_t>& pids) {
  cpu_sample s;
  if (pids.empty()) {
    return s;
  }
  std::unordered_map<pid_t, proc_stat> all;
  std::unordered_map<pid_t, std::vector<pid_t>> children;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    const auto pid = static_cast<pid_t>(std::atol(name.c_str()));
    proc_stat st;
    if (read_stat(pid, st)) {
      all[pid] = st;
      children[st.ppid].push_back(pid);
    }
  }
  std::unordered_set<pid_t> seen;
  std::vector<pid_t> todo(pids.begin(), pids.end());
  std::int64_t ticks = 0;
  while (!todo.empty()) {
    const pid_t p = todo.back();
    todo.pop_back();
    if (!seen.insert(p).second) {
      continue;
    }
    const auto it = all.find(p);
    if (it == all.end()) {
      continue;
    }
    ticks += it->second.ticks;
    ++s.processes;
    if (const auto c = children.find(p); c != children.end()) {
      todo.insert(todo.end(), c->second.begin(), c->second.end());
    }
  }
  s.seconds = static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  return s;
}

double own_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

std::int64_t rss_kib(const std::vector<pid_t>& pids) {
  std::int64_t total = 0;
  for (const pid_t p : pids) {
    std::ifstream in("/proc/" + std::to_string(p) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) {
        total += std::atoll(line.c_str() + 6);
        break;
      }
    }
  }
  return total;
}

std::int64_t raise_open_file_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return -1;
  }
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  return static_cast<std::int64_t>(lim.rlim_cur);
}

}  // namespace fun_notes::load

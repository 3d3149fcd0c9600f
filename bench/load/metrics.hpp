// What the run costs: CPU of server process trees and of the driver, resident memory, and the
// open-file limit that bounds how many sockets fit.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace fun_notes::load {

struct cpu_sample {
  double seconds = 0;  // user + system of every process counted
  std::size_t processes = 0;
};

// utime + stime (+ the times of reaped children, so a backend that exits during the window
// keeps its share) of each pid and of all its descendants, found by walking /proc/*/stat.
cpu_sample process_tree_cpu(const std::vector<pid_t>& pids);

// The driver's own user + system CPU (getrusage).
double own_cpu_seconds();

// Sum of VmRSS of the pids (not their descendants), in KiB; missing pids count 0.
std::int64_t rss_kib(const std::vector<pid_t>& pids);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the limit in force.
std::int64_t raise_open_file_limit();

}  // namespace fun_notes::load

#include "store/histogram.hpp"

#include <algorithm>
#include <cstdio>

namespace fun_notes::store {

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void histogram::observe(double value, std::uint64_t times) {
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  counts_[bucket].fetch_add(times, std::memory_order_relaxed);
  sum_.fetch_add(value * static_cast<double>(times), std::memory_order_relaxed);
}

std::uint64_t histogram::count() const {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    n += counts_[i].load(std::memory_order_relaxed);
  }
  return n;
}

std::string histogram::text(std::string_view name, std::string_view help) const {
  std::string out;
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" histogram\n");
  std::uint64_t cumulative = 0;
  char line[64];
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    out.append(name).append("_bucket{le=\"");
    if (i < bounds_.size()) {
      std::snprintf(line, sizeof line, "%g", bounds_[i]);
      out.append(line);
    } else {
      out.append("+Inf");
    }
    std::snprintf(line, sizeof line, "\"} %llu\n", static_cast<unsigned long long>(cumulative));
    out.append(line);
  }
  std::snprintf(line, sizeof line, "%.9g", sum_.load(std::memory_order_relaxed));
  out.append(name).append("_sum ").append(line).append("\n");
  out.append(name).append("_count ").append(std::to_string(cumulative)).append("\n");
  return out;
}

std::vector<double> histogram::latency_bounds() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

std::vector<double> histogram::size_bounds() {
  return {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
}

call_timings& timings() {
  static call_timings t;
  return t;
}

}  // namespace fun_notes::store

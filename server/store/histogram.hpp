// Histograms for /metrics: fixed bucket bounds, counted with relaxed atomics from any thread,
// written in Prometheus's text format.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fun_notes::store {

class histogram {
 public:
  // `bounds`: the buckets' upper bounds, ascending (an implicit +Inf bucket follows).
  explicit histogram(std::vector<double> bounds);

  void observe(double value, std::uint64_t times = 1);
  // name_bucket{le="…"} (cumulative), name_sum and name_count, with HELP and TYPE.
  std::string text(std::string_view name, std::string_view help) const;
  std::uint64_t count() const;

  // Seconds from 50 µs to 10 s; sizes from 1 to 10,000.
  static std::vector<double> latency_bounds();
  static std::vector<double> size_bounds();

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Round trips to the distributed stores, timed where each adapter sends and receives.
struct call_timings {
  histogram redis{histogram::latency_bounds()};
  histogram postgres{histogram::latency_bounds()};
};
call_timings& timings();

}  // namespace fun_notes::store

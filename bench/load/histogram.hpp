// A log-bucket latency histogram (HdrHistogram's layout with 128 sub-buckets per power of
// two, under 1% error): constant memory whatever the sample count, merged across threads.
#pragma once

#include <cstdint>
#include <vector>

namespace fun_notes::load {

class histogram {
 public:
  histogram();

  void record_ns(std::int64_t ns);
  void merge(const histogram& other);

  std::int64_t count() const { return count_; }
  // The value at quantile q (0..1) in milliseconds: the middle of its bucket, never above the
  // largest sample. 0 when empty.
  double quantile_ms(double q) const;
  double max_ms() const;

 private:
  std::vector<std::int64_t> buckets_;
  std::int64_t count_ = 0;
  std::int64_t max_us_ = 0;
};

}  // namespace fun_notes::load

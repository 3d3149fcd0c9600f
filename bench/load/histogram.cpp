#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace fun_notes::load {
namespace {

// Samples are kept in microseconds: values below 2^sub_bits are exact, each later power of two
// is split in 2^(sub_bits-1) buckets.
constexpr int sub_bits = 7;
constexpr std::int64_t sub_count = std::int64_t{1} << sub_bits;  // 128
constexpr std::int64_t half = sub_count / 2;                     // 64
constexpr int max_shift = 63 - sub_bits;
constexpr std::size_t bucket_count = sub_count + max_shift * half;

std::size_t index_of(std::int64_t us) {
  if (us < sub_count) {
    return static_cast<std::size_t>(us);
  }
  const int msb = 63 - std::countl_zero(static_cast<std::uint64_t>(us));
  const int shift = msb - (sub_bits - 1);
  const std::int64_t top = us >> shift;  // in [half, sub_count)
  return static_cast<std::size_t>(sub_count + (shift - 1) * half + (top - half));
}

double middle_of(std::size_t index) {
  const auto i = static_cast<std::int64_t>(index);
  if (i < sub_count) {
    return static_cast<double>(i);
  }
  const std::int64_t k = i - sub_count;
  const int shift = static_cast<int>(k / half) + 1;
  const std::int64_t low = (k % half + half) << shift;
  return static_cast<double>(low) + static_cast<double>((std::int64_t{1} << shift) - 1) / 2.0;
}

}  // namespace

histogram::histogram() : buckets_(bucket_count, 0) {}

void histogram::record_ns(std::int64_t ns) {
  const std::int64_t us = std::max<std::int64_t>(0, (ns + 500) / 1000);
  ++buckets_[std::min(index_of(us), bucket_count - 1)];
  ++count_;
  max_us_ = std::max(max_us_, us);
}

void histogram::merge(const histogram& other) {
  for (std::size_t i = 0; i < bucket_count; ++i) {
    buckets_[i] += other.buckets_[i];
  }
  count_ += other.count_;
  max_us_ = std::max(max_us_, other.max_us_);
}

double histogram::quantile_ms(double q) const {
  if (count_ == 0) {
    return 0;
  }
  const auto rank = std::max<std::int64_t>(
      1,
      static_cast<std::int64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_))));
  std::int64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      return std::min(middle_of(i), static_cast<double>(max_us_)) / 1000.0;
    }
  }
  return max_ms();
}

double histogram::max_ms() const {
  return static_cast<double>(max_us_) / 1000.0;
}

}  // namespace fun_notes::load

// Fractional ordering: indexes between neighbours, and detecting when floats run out.
#include "fun_notes/core/order.hpp"

#include <cmath>

namespace fun_notes::core {

std::optional<double> between(std::optional<double> before, std::optional<double> after) {
  if ((before && !std::isfinite(*before)) || (after && !std::isfinite(*after))) {
    return std::nullopt;
  }
  if (!before && !after) {
    return index_step;
  }
  // At the ends of the list a step that cannot move the value (|x| so large that 1024 is below
  // one ulp) or overflows is reported as exhaustion rather than returning a duplicate index.
  if (!before) {
    const double candidate = *after - index_step;
    if (std::isfinite(candidate) && candidate < *after) {
      return candidate;
    }
    return std::nullopt;
  }
  if (!after) {
    const double candidate = *before + index_step;
    if (std::isfinite(candidate) && candidate > *before) {
      return candidate;
    }
    return std::nullopt;
  }
  const double lo = *before;
  const double hi = *after;
  if (!(lo < hi)) {
    return std::nullopt;
  }
  const double gap = hi - lo;
  if (gap < min_index_gap) {
    return std::nullopt;
  }
  // hi - lo overflows only for neighbours near ±DBL_MAX; halving first keeps that case finite.
  const double mid = std::isfinite(gap) ? lo + gap / 2.0 : lo / 2.0 + hi / 2.0;
  if (!std::isfinite(mid) || !(lo < mid && mid < hi)) {
    return std::nullopt;
  }
  return mid;
}

bool precision_exhausted(double a, double b) {
  // Defined through `between` so a client never sees "not exhausted" and then gets nullopt.
  return !between(a, b).has_value();
}

std::vector<double> spread_indexes(std::size_t count) {
  std::vector<double> indexes;
  indexes.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    indexes.push_back(index_step * static_cast<double>(i + 1));
  }
  return indexes;
}

}  // namespace fun_notes::core

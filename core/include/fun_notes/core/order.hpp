// Fractional ordering: indexes between neighbours, and detecting when floats run out.
#pragma once

#include <optional>
#include <vector>

namespace fun_notes::core {

// Smallest gap between two neighbours that `between` still splits. Below it (or when the
// midpoint is not strictly between the two doubles) the client must send a rebalance.
inline constexpr double min_index_gap = 1e-9;

// Spacing of fresh indexes (first note, end of list, rebalance).
inline constexpr double index_step = 1024.0;

// An index strictly between `before` and `after` (either may be absent: start / end of the
// list). nullopt when precision is exhausted, i.e. a rebalance is needed. `before < after`
// is required when both are given; otherwise nullopt.
std::optional<double> between(std::optional<double> before, std::optional<double> after);

// True when no usable index exists strictly between a and b (a < b).
bool precision_exhausted(double a, double b);

// `count` evenly spaced indexes (index_step, 2*index_step, ...) for a rebalance.
std::vector<double> spread_indexes(std::size_t count);

}  // namespace fun_notes::core

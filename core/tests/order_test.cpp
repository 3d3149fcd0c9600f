// Fractional indexes: between() must never return a value outside its neighbours, and must
// report exhaustion (so the client rebalances) instead of looping forever.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>

#include "fun_notes/core/order.hpp"

namespace fun_notes::core {
namespace {

TEST(Between, EmptyListStartsAtStep) {
  EXPECT_EQ(between(std::nullopt, std::nullopt), index_step);
}

TEST(Between, EndsOfListStepAway) {
  EXPECT_EQ(between(std::nullopt, 1024.0), 0.0);
  EXPECT_EQ(between(std::nullopt, -5.0), -5.0 - index_step);
  EXPECT_EQ(between(2048.0, std::nullopt), 3072.0);
}

TEST(Between, MidpointOfNeighbours) {
  EXPECT_EQ(between(1024.0, 2048.0), 1536.0);
  EXPECT_EQ(between(-1.0, 1.0), 0.0);
  EXPECT_EQ(between(0.0, 1e-8), 5e-9);
}

TEST(Between, RejectsUnorderedOrEqualNeighbours) {
  EXPECT_EQ(between(2048.0, 1024.0), std::nullopt);
  EXPECT_EQ(between(1024.0, 1024.0), std::nullopt);
}

TEST(Between, RejectsGapBelowMinimum) {
  EXPECT_EQ(between(1.0, 1.0 + min_index_gap / 2), std::nullopt);
  EXPECT_TRUE(between(0.0, min_index_gap).has_value());
}

TEST(Between, RejectsNonFiniteNeighbours) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(between(0.0, inf), std::nullopt);
  EXPECT_EQ(between(-inf, 0.0), std::nullopt);
  EXPECT_EQ(between(nan, std::nullopt), std::nullopt);
  EXPECT_EQ(between(std::nullopt, nan), std::nullopt);
}

TEST(Between, HugeNeighboursDoNotOverflow) {
  const double max = std::numeric_limits<double>::max();
  const auto mid = between(-max, max);
  ASSERT_TRUE(mid.has_value());
  EXPECT_EQ(*mid, 0.0);
  // One step past DBL_MAX is not representable: exhausted, not infinity.
  EXPECT_EQ(between(max, std::nullopt), std::nullopt);
  EXPECT_EQ(between(std::nullopt, -max), std::nullopt);
}

// A user who keeps dropping a note right after the same neighbour halves the gap every time.
void bisect_until_exhausted(double lo, double hi, bool toward_lo) {
  int steps = 0;
  while (true) {
    const auto mid = between(lo, hi);
    if (!mid) {
      EXPECT_TRUE(precision_exhausted(lo, hi));
      break;
    }
    ASSERT_LT(lo, *mid);
    ASSERT_LT(*mid, hi);
    EXPECT_FALSE(precision_exhausted(lo, hi));
    (toward_lo ? hi : lo) = *mid;
    ASSERT_LT(++steps, 60) << "between() did not report exhaustion";
  }
  EXPECT_GT(steps, 30);  // 1024 / 2^40 is still above 1e-9: a rebalance is rare
}

TEST(Between, RepeatedBisectionTowardEitherNeighbourTerminates) {
  bisect_until_exhausted(1024.0, 2048.0, true);
  bisect_until_exhausted(1024.0, 2048.0, false);
  bisect_until_exhausted(-2048.0, -1024.0, true);
  bisect_until_exhausted(0.0, index_step, false);
}

TEST(Between, LargeIndexesExhaustOnFloatSpacingNotGap) {
  // Around 2^60 adjacent doubles are 256 apart: far above min_index_gap, yet nothing fits.
  const double a = std::ldexp(1.0, 60);
  const double b = std::nextafter(a, std::numeric_limits<double>::infinity());
  EXPECT_GT(b - a, min_index_gap);
  EXPECT_EQ(between(a, b), std::nullopt);
  EXPECT_TRUE(precision_exhausted(a, b));
}

TEST(PrecisionExhausted, MatchesBetween) {
  EXPECT_FALSE(precision_exhausted(1024.0, 2048.0));
  EXPECT_TRUE(precision_exhausted(1.0, 1.0));
  EXPECT_TRUE(precision_exhausted(2.0, 1.0));
  EXPECT_TRUE(precision_exhausted(1.0, 1.0 + 1e-12));
}

TEST(SpreadIndexes, EvenlySpacedFromStep) {
  EXPECT_TRUE(spread_indexes(0).empty());
  EXPECT_EQ(spread_indexes(3), (std::vector<double>{1024.0, 2048.0, 3072.0}));
  const auto many = spread_indexes(10000);
  ASSERT_EQ(many.size(), 10000U);
  EXPECT_EQ(many.back(), 10000.0 * index_step);
  for (std::size_t i = 1; i < many.size(); ++i) {
    ASSERT_FALSE(precision_exhausted(many[i - 1], many[i]));
  }
}

}  // namespace
}  // namespace fun_notes::core

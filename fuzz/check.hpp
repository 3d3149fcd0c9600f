// How a fuzz target reports a broken invariant: it names the invariant and the text involved,
// then aborts, so libFuzzer saves the input as a crash like any sanitizer finding.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace fun_notes::fuzz {

[[noreturn]] inline void fail(std::string_view invariant, std::string_view detail = {}) {
  std::fprintf(stderr, "invariant broken: %.*s\n%.*s\n", static_cast<int>(invariant.size()),
               invariant.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

inline void require(bool holds, std::string_view invariant, std::string_view detail = {}) {
  if (!holds) {
    fail(invariant, detail);
  }
}

}  // namespace fun_notes::fuzz

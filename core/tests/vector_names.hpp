// GoogleTest names for the cases of the shared vector files, which the C++ suites that read
// core/testdata name alike.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fun_notes::core {

// "<file stem>_<position in its file>_<case name>" with every run of characters outside
// [A-Za-z0-9] turned into one '_' (GoogleTest allows nothing else). The position keeps names
// put when other files grow.
inline std::string vector_test_name(std::string_view file_stem, std::size_t index,
                                    std::string_view name) {
  std::string out = std::string{file_stem} + "_" + std::to_string(index) + "_";
  for (const char ch : name) {
    const bool word =
        (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (word) {
      out += ch;
    } else if (out.back() != '_') {
      out += '_';
    }
  }
  while (out.back() == '_') {
    out.pop_back();
  }
  return out;
}

}  // namespace fun_notes::core

// Reading the shared vector files of core/testdata, and GoogleTest names for their cases, alike
// in every C++ suite that runs them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fun_notes::core {

// The .json files directly in `dir`, by file name, each with its text.
inline std::vector<std::pair<std::string, std::string>> vector_files(
    const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator{dir}) {
    if (entry.path().extension() == ".json") {
      paths.push_back(entry.path());
    }
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& path : paths) {
    std::ifstream in{path, std::ios::binary};
    std::stringstream text;
    text << in.rdbuf();
    files.emplace_back(path.filename().string(), text.str());
  }
  return files;
}

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

#include "sync/text_edit.hpp"

#include <vector>

namespace fun_notes::cli::sync {

namespace {

// Byte offsets of each code point's start in valid UTF-8, plus the end.
std::vector<std::size_t> starts_of(std::string_view s) {
  std::vector<std::size_t> out;
  out.reserve(s.size() + 1);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      out.push_back(i);
    }
  }
  out.push_back(s.size());
  return out;
}

std::string_view point(std::string_view s, const std::vector<std::size_t>& at, std::size_t i) {
  return s.substr(at[i], at[i + 1] - at[i]);
}

}  // namespace

const std::string& field_text(const core::note& n, core::text_field f) {
  return f == core::text_field::title ? n.title : n.body;
}

std::string& field_text(core::note& n, core::text_field f) {
  return f == core::text_field::title ? n.title : n.body;
}

core::text_op text_diff(std::string_view before, std::string_view after,
                        std::optional<std::size_t> caret) {
  const std::vector<std::size_t> a = starts_of(before);
  const std::vector<std::size_t> b = starts_of(after);
  const std::size_t na = a.size() - 1;
  const std::size_t nb = b.size() - 1;
  const auto same_from_end = [&](std::size_t k) {
    return point(before, a, na - 1 - k) == point(after, b, nb - 1 - k);
  };
  // With a caret, the common suffix stops at it and the prefix gives way to the suffix.
  const std::size_t max_suffix = caret ? (nb > *caret ? nb - *caret : 0) : nb;
  std::size_t suffix = 0;
  if (caret) {
    while (suffix < max_suffix && suffix < na && suffix < nb && same_from_end(suffix)) {
      ++suffix;
    }
  }
  std::size_t prefix = 0;
  while (prefix < na - suffix && prefix < nb - suffix &&
         point(before, a, prefix) == point(after, b, prefix)) {
    ++prefix;
  }
  while (suffix < na - prefix && suffix < nb - prefix && suffix < max_suffix &&
         same_from_end(suffix)) {
    ++suffix;
  }
  core::text_op op;
  op.retain(prefix);
  op.insert(after.substr(b[prefix], b[nb - suffix] - b[prefix]));
  op.remove(na - suffix - prefix);
  op.retain(suffix);
  return op;
}

std::size_t change_size(const core::text_op& op) {
  std::size_t n = 0;
  for (const core::text_component& c : op.components()) {
    if (c.type != core::text_component::kind::retain) {
      n += c.count;
    }
  }
  return n;
}

}  // namespace fun_notes::cli::sync

#include "sync/text_edit.hpp"

#include <algorithm>
#include <optional>
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

// Beyond this many edits the middle of a diff is taken as one replaced run (the exact diff's
// cost grows with its square).
constexpr std::size_t max_exact_edits = 1000;

struct step {
  enum class kind { keep, remove, insert } type = kind::keep;
  std::size_t count = 0;
  std::size_t from = 0;  // insert: the first inserted code point, counted from the middle of b
};

// Myers' shortest edit script between the middles a[off, off + n) and b[off, off + m), or
// nullopt when it needs more than max_exact_edits edits.
std::optional<std::vector<step>> edit_script(std::string_view sa, const std::vector<std::size_t>& a,
                                             std::string_view sb, const std::vector<std::size_t>& b,
                                             std::size_t off, std::size_t n, std::size_t m) {
  const auto same = [&](std::size_t x, std::size_t y) {
    return point(sa, a, off + x) == point(sb, b, off + y);
  };
  const auto max = static_cast<std::ptrdiff_t>(std::min(n + m, max_exact_edits));
  const std::ptrdiff_t offset = max + 1;
  std::vector<std::ptrdiff_t> v(static_cast<std::size_t>(2 * max + 3), 0);
  std::vector<std::vector<std::ptrdiff_t>> trace;
  const auto N = static_cast<std::ptrdiff_t>(n);
  const auto M = static_cast<std::ptrdiff_t>(m);
  const auto at = [&](const std::vector<std::ptrdiff_t>& vv, std::ptrdiff_t k) {
    return vv[static_cast<std::size_t>(offset + k)];
  };
  std::ptrdiff_t found = -1;
  for (std::ptrdiff_t d = 0; d <= max && found < 0; ++d) {
    trace.push_back(v);
    for (std::ptrdiff_t k = -d; k <= d; k += 2) {
      std::ptrdiff_t x =
          (k == -d || (k != d && at(v, k - 1) < at(v, k + 1))) ? at(v, k + 1) : at(v, k - 1) + 1;
      std::ptrdiff_t y = x - k;
      while (x < N && y < M && same(static_cast<std::size_t>(x), static_cast<std::size_t>(y))) {
        ++x;
        ++y;
      }
      v[static_cast<std::size_t>(offset + k)] = x;
      if (x >= N && y >= M) {
        found = d;
        break;
      }
    }
  }
  if (found < 0) {
    return std::nullopt;
  }
  // Walk back from the end, one edit per d.
  std::vector<step> steps;
  std::ptrdiff_t x = N;
  std::ptrdiff_t y = M;
  for (std::ptrdiff_t d = found; d > 0; --d) {
    const std::vector<std::ptrdiff_t>& prev = trace[static_cast<std::size_t>(d)];
    const std::ptrdiff_t k = x - y;
    const bool down = k == -d || (k != d && at(prev, k - 1) < at(prev, k + 1));
    const std::ptrdiff_t prev_k = down ? k + 1 : k - 1;
    const std::ptrdiff_t prev_x = at(prev, prev_k);
    const std::ptrdiff_t prev_y = prev_x - prev_k;
    const std::ptrdiff_t start_x = down ? prev_x : prev_x + 1;
    if (x > start_x) {
      steps.push_back({step::kind::keep, static_cast<std::size_t>(x - start_x), 0});
    }
    if (down) {
      steps.push_back({step::kind::insert, 1, static_cast<std::size_t>(prev_y)});
    } else {
      steps.push_back({step::kind::remove, 1, 0});
    }
    x = prev_x;
    y = prev_y;
  }
  if (x > 0) {
    steps.push_back({step::kind::keep, static_cast<std::size_t>(x), 0});
  }
  std::reverse(steps.begin(), steps.end());
  return steps;
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
  const std::size_t mid_a = na - suffix - prefix;
  const std::size_t mid_b = nb - suffix - prefix;
  const auto script = caret ? std::nullopt : edit_script(before, a, after, b, prefix, mid_a, mid_b);
  if (script) {
    for (const step& st : *script) {
      switch (st.type) {
        case step::kind::keep:
          op.retain(st.count);
          break;
        case step::kind::remove:
          op.remove(st.count);
          break;
        case step::kind::insert:
          op.insert(after.substr(b[prefix + st.from],
                                 b[prefix + st.from + st.count] - b[prefix + st.from]));
          break;
      }
    }
  } else {
    op.insert(after.substr(b[prefix], b[nb - suffix] - b[prefix]));
    op.remove(mid_a);
  }
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

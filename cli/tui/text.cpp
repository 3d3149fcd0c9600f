#include "tui/text.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace fun_notes::cli::tui {

namespace {

constexpr char32_t replacement = 0xFFFD;

struct range {
  char32_t first;
  char32_t last;
};

// Zero-width: combining marks, zero-width spaces and joiners, variation selectors.
constexpr std::array<range, 16> zero_width{{
    {0x0300, 0x036F},
    {0x0483, 0x0489},
    {0x0591, 0x05BD},
    {0x0610, 0x061A},
    {0x064B, 0x065F},
    {0x0E31, 0x0E31},
    {0x0E34, 0x0E3A},
    {0x1AB0, 0x1AFF},
    {0x1DC0, 0x1DFF},
    {0x200B, 0x200F},
    {0x202A, 0x202E},
    {0x2060, 0x2064},
    {0x20D0, 0x20FF},
    {0xFE00, 0xFE0F},
    {0xFE20, 0xFE2F},
    {0xE0100, 0xE01EF},
}};

// Wide: East Asian Wide/Fullwidth blocks and the emoji blocks terminals draw two cells wide.
constexpr std::array<range, 20> wide{{
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
    {0x25FD, 0x25FE},   {0x2614, 0x2615},   {0x2E80, 0x303E},   {0x3041, 0x33FF},
    {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},   {0xAC00, 0xD7A3},
    {0xF900, 0xFAFF},   {0xFE30, 0xFE4F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},
    {0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF}, {0x1F900, 0x1F9FF}, {0x20000, 0x3FFFD},
}};

template <std::size_t N>
bool in(const std::array<range, N>& table, char32_t cp) {
  // The tables are sorted and disjoint, so a binary search on the last code point finds the
  // only range that can hold cp.
  auto it = std::lower_bound(table.begin(), table.end(), cp,
                             [](const range& r, char32_t c) { return r.last < c; });
  return it != table.end() && it->first <= cp;
}

}  // namespace

void utf8_append(std::string& out, char32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    cp = replacement;
  }
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::u32string utf8_decode(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    std::size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    }
    if ((b0 & 0xE0) == 0xC0) {
      len = 2;
      cp = b0 & 0x1F;
      min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3;
      cp = b0 & 0x0F;
      min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4;
      cp = b0 & 0x07;
      min = 0x10000;
    }
    bool ok = len != 0 && i + len <= text.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xC0) != 0x80) {
        ok = false;
      } else {
        cp = (cp << 6) | (b & 0x3F);
      }
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid UTF-8.
    if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) {
      ok = false;
    }
    if (ok) {
      out.push_back(cp);
      i += len;
    } else {
      out.push_back(replacement);
      ++i;
    }
  }
  return out;
}

std::string utf8_encode(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) {
    utf8_append(out, cp);
  }
  return out;
}

int display_width(char32_t cp) {
  if (cp < 0x300) {
    return 1;
  }
  if (in(zero_width, cp)) {
    return 0;
  }
  if (in(wide, cp)) {
    return 2;
  }
  return 1;
}

int display_width(std::u32string_view text) {
  int w = 0;
  for (char32_t cp : text) {
    w += display_width(cp);
  }
  return w;
}

int display_width(std::string_view utf8) {
  return display_width(utf8_decode(utf8));
}

std::string fit(std::string_view utf8, int columns) {
  if (columns <= 0) {
    return {};
  }
  const std::u32string cps = utf8_decode(utf8);
  if (display_width(cps) <= columns) {
    return std::string(utf8);
  }
  // Leave one column for the ellipsis.
  std::string out;
  int used = 0;
  for (char32_t cp : cps) {
    const int w = display_width(cp);
    if (used + w > columns - 1) {
      break;
    }
    utf8_append(out, cp);
    used += w;
  }
  out += "…";
  return out;
}

char32_t fold_case(char32_t cp) {
  if (cp >= U'A' && cp <= U'Z') {
    return cp + 32;
  }
  // Latin-1 capitals (except the multiplication sign) are 32 below their small letters.
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) {
    return cp + 32;
  }
  // The first part of Latin Extended-A pairs capitals on even code points with the small letter
  // after them (later in the block the parity flips, so it is left alone).
  if (cp >= 0x100 && cp <= 0x137 && cp % 2 == 0 && cp != 0x130) {
    return cp + 1;
  }
  // Greek and Cyrillic capitals.
  if (cp >= 0x391 && cp <= 0x3A9) {
    return cp + 32;
  }
  if (cp >= 0x410 && cp <= 0x42F) {
    return cp + 32;
  }
  return cp;
}

bool contains_folded(std::string_view haystack, std::u32string_view needle) {
  if (needle.empty()) {
    return true;
  }
  std::u32string folded = utf8_decode(haystack);
  for (char32_t& cp : folded) {
    cp = fold_case(cp);
  }
  return folded.find(needle) != std::u32string::npos;
}

}  // namespace fun_notes::cli::tui

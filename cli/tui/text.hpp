// UTF-8 and terminal display width for the TUI, independent of the process locale so that the
// view (and its golden screens) is the same on every machine.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fun_notes::cli::tui {

// Decodes UTF-8; an invalid or truncated sequence yields U+FFFD for its first byte, so any byte
// string from the wire can be shown and edited without throwing.
std::u32string utf8_decode(std::string_view text);
std::string utf8_encode(std::u32string_view text);
void utf8_append(std::string& out, char32_t cp);

// Columns a code point takes: 0 for combining marks and zero-width characters, 2 for East Asian
// wide and emoji, 1 otherwise; control characters count 1 (the view shows them as a placeholder).
// A small table instead of wcwidth(3): wcwidth depends on the locale, which would make the pure
// view impure and the goldens machine-dependent.
int display_width(char32_t cp);
int display_width(std::u32string_view text);
int display_width(std::string_view utf8);

// The longest prefix of `utf8` that fits in `columns`, ending with "…" when cut.
std::string fit(std::string_view utf8, int columns);

// Lower-cases ASCII and the Latin-1/Latin Extended-A letters, enough for a case-insensitive
// filter without a locale.
char32_t fold_case(char32_t cp);
// True when `needle` (already folded) occurs in `haystack`, comparing folded code points.
bool contains_folded(std::string_view haystack, std::u32string_view needle);

}  // namespace fun_notes::cli::tui

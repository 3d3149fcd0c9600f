// Text ops between two versions of a note field: the edit a keystroke made, and the closest
// account of a change that arrived whole (a snapshot, someone's plain update).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "fun_notes/core/note.hpp"
#include "fun_notes/core/text_op.hpp"

namespace fun_notes::cli::sync {

// The field's text in a note.
const std::string& field_text(const core::note& n, core::text_field f);
std::string& field_text(core::note& n, core::text_field f);

// An op turning `before` into `after` (both valid UTF-8) with the fewest inserted and removed
// code points (Myers' diff after the common prefix and suffix; texts more than 1,000 edits apart
// are taken as one replaced run), so rebasing local edits over a change that arrived whole
// keeps both sides' characters. With `caret` (a code point offset in `after`, where the caret
// is after a keystroke) the changed run ends at the caret when the texts allow it, so typing
// " " before a " " reads as an insert at the caret, not one place later.
core::text_op text_diff(std::string_view before, std::string_view after,
                        std::optional<std::size_t> caret = std::nullopt);

// Code points an op inserts plus those it removes.
std::size_t change_size(const core::text_op& op);

}  // namespace fun_notes::cli::sync

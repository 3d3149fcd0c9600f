// Character-level edits of a note's title or body (operational transformation), counted in
// Unicode code points so that every replica, whatever its string encoding, agrees on positions.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fun_notes/core/limits.hpp"
#include "fun_notes/core/result.hpp"

namespace fun_notes::core {

// The largest count a component may carry, and the longest text an op may span: JavaScript's
// Number.MAX_SAFE_INTEGER, so that a JavaScript replica reads every accepted count exactly.
inline constexpr std::uint64_t max_text_op_count = (std::uint64_t{1} << 53) - 1;

struct text_component {
  enum class kind : std::uint8_t { retain, insert, remove };

  kind type = kind::retain;
  // Code points retained, inserted or removed; for an insert, the code points of `text`.
  std::size_t count = 0;
  std::string text;  // the inserted UTF-8 text; empty unless type == insert

  bool operator==(const text_component&) const = default;
};

// One edit spanning a whole text: components walk it from the start, retaining, inserting and
// removing code points. The wire form (PROTOCOL.md) is a JSON array: n > 0 retains n, a string
// inserts it, n < 0 removes -n.
//
// Normal form, kept by every way of building one (so an edit has one spelling, and replicas in
// any language produce byte-identical JSON for it):
// - no component is empty (no zero counts, no empty inserts);
// - no two neighbours have the same kind (they are merged);
// - where an insert and a remove meet at one position, the insert comes first; so between two
//   retains there is at most one insert followed by at most one remove.
// A trailing retain is kept: the components always span the whole base text, and the identity
// op on a text of n code points is [n] (on the empty text, []).
class text_op {
 public:
  text_op() = default;

  // Appenders that keep the normal form; a zero count or an empty text appends nothing.
  // `utf8` must be valid UTF-8 (parse_text_op checks that for untrusted input).
  text_op& retain(std::size_t count);
  text_op& insert(std::string_view utf8);
  text_op& remove(std::size_t count);

  const std::vector<text_component>& components() const { return components_; }
  // Code points of the text the op applies to (retains + removes) and of the text it produces
  // (retains + inserts).
  std::size_t base_length() const { return base_length_; }
  std::size_t target_length() const { return target_length_; }
  // True when the op changes nothing (only retains, or no components at all).
  bool is_noop() const;

  bool operator==(const text_op&) const = default;

 private:
  std::vector<text_component> components_;
  std::size_t base_length_ = 0;
  std::size_t target_length_ = 0;
};

// Reads the wire form `[3, "abc", -2, ...]` into its normal form (so [1, 2] reads as [3] and
// [-1, "x"] as ["x", -1]). Counts are integers (2.0 reads as 2, since a JavaScript client
// cannot tell them apart) from 1 to max_text_op_count in magnitude. Errors: "invalid" for a
// non-array, more than lim.max_text_op_components components, a component that is 0, not an
// integer, neither number nor string, an empty string or invalid UTF-8, or a span over
// max_text_op_count; "too_large" when the inserts add up to more than lim.max_body_bytes bytes
// (more than the largest field may hold).
result<text_op> parse_text_op(const boost::json::value& v, const limits& lim = {});

// The normal form as a JSON array.
boost::json::array to_json(const text_op& op);

// The text `op` makes of `utf8`. Error "invalid" when the text is not valid UTF-8 or the op
// does not span exactly its code points. (Not named `apply`: called with a std::string,
// argument-dependent lookup would pick std::apply.)
result<std::string> apply_text_op(const text_op& op, std::string_view utf8);

// One op with the effect of `a` then `b`. Error "invalid" unless a.target_length() ==
// b.base_length().
result<text_op> compose(const text_op& a, const text_op& b);

// For two ops `a` and `b` made on the same text s, {a', b'} such that applying a then b' to s
// gives the same text as applying b then a' (a' is `a` moved past `b`, b' is `b` moved past
// `a`). When both insert at one position, the inserts of `a` go first if `a_first_on_tie`,
// else those of `b`. Every replica must break ties the same way: the op already numbered (the
// smaller seq) goes first, so the server transforming an incoming op `a` against a committed
// op `b`, and a client transforming its unacknowledged op `a` against an op `b` from the
// server, both pass false. Error "invalid" unless a.base_length() == b.base_length().
result<std::pair<text_op, text_op>> transform(const text_op& a, const text_op& b,
                                              bool a_first_on_tie);

// The op that undoes `op` on the text it produced: applying `op` then the inverse to
// `base_utf8` (the text `op` applies to, which supplies the removed characters) gives it back.
// Error "invalid" when that text is not valid UTF-8 or does not have op.base_length() code points.
result<text_op> invert(const text_op& op, std::string_view base_utf8);

// Where a caret at code point `index` of the base text is after `op`. A caret inside a removed
// range lands at its start. An insert exactly at the caret pushes it forward when `is_own`
// (the user's own typing: the caret follows what was typed) and leaves it before the insert
// otherwise (someone else typed there). An index past the base text counts as its end, so the
// result is always within [0, op.target_length()]; order is kept: i <= j gives
// transform_index(op, i, o) <= transform_index(op, j, o).
std::size_t transform_index(const text_op& op, std::size_t index, bool is_own);

// The code points of `utf8`, or nullopt when it is not valid UTF-8 (overlong forms,
// surrogates, values over U+10FFFF and truncated sequences are all invalid).
std::optional<std::size_t> utf8_code_points(std::string_view utf8);

}  // namespace fun_notes::core

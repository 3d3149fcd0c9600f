// Strict JSON codec for notes and ops on Boost.JSON. Untrusted input yields an error, never
// an exception escaping to the caller.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fun_notes/core/limits.hpp"
#include "fun_notes/core/note.hpp"
#include "fun_notes/core/result.hpp"

namespace fun_notes::core {

// 1-64 chars of [A-Za-z0-9_-].
bool valid_id(std::string_view id);

// Parses JSON text (one document, nothing after it) like boost::json::parse, but with every
// non-integer number correctly rounded. Boost.JSON 1.81's parser is off by one ulp for many
// 17-digit numbers (about 1 in 20 indexes that bisection produces), so its own serialize/parse
// does not round-trip and a C++ replica would disagree with a JavaScript one. Parse every frame,
// request body and stored state that holds an index with this. Error code "invalid".
result<boost::json::value> parse_json(std::string_view text);

// `v` with every non-finite number replaced by null, as JSON.stringify does. parse_json reads an
// out-of-range literal such as 1e999 as infinity, which Boost.JSON would write as `Infinity`
// (not JSON): echo a client's value through this before serializing it.
boost::json::value json_compatible(const boost::json::value& v);

// Parses the "op" object of a client `op` message. Errors: code "invalid" (shape, types,
// missing fields, bad ids, non-finite numbers, unknown kind, duplicate rebalance ids) or
// "too_large" (title/body over the limits). Unknown fields are ignored.
result<op> parse_op(const boost::json::value& v, const limits& lim = {});

boost::json::object to_json(const op& o);
boost::json::object to_json(const note& n);
result<note> parse_note(const boost::json::value& v);  // a stored/serialized Note (with seq)

// Deterministic serialization of a whole room state: {"seq":S,"notes":[...sorted...]}.
// Two replicas that applied the same ops produce byte-identical strings.
std::string serialize_state(const room_state& state);

// RFC 3339 UTC with millisecond precision, e.g. "2026-11-25T09:13:36.123Z".
std::string format_time(std::int64_t unix_millis);
std::int64_t now_millis();

}  // namespace fun_notes::core

// Text ops: the normal-form builder, the wire codec, and apply / compose / transform / invert,
// all counting Unicode code points over UTF-8 text.
#include "fun_notes/core/text_op.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cassert>
#include <cmath>

namespace fun_notes::core {

namespace json = boost::json;

namespace {

using kind = text_component::kind;

bool is_continuation(unsigned char byte) {
  return (byte & 0xC0U) == 0x80U;
}

// Code points of text already known to be valid UTF-8: every byte but a continuation byte
// starts one.
std::size_t count_valid(std::string_view utf8) {
  return static_cast<std::size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
    return !is_continuation(static_cast<unsigned char>(c));
  }));
}

// The byte offset `count` code points after byte offset `from` in valid UTF-8 text.
std::size_t advance(std::string_view utf8, std::size_t from, std::size_t count) {
  std::size_t at = from;
  for (; count > 0; --count) {
    ++at;
    while (at < utf8.size() && is_continuation(static_cast<unsigned char>(utf8[at]))) {
      ++at;
    }
  }
  return at;
}

std::string invalid_span(std::string_view what, std::size_t op_length, std::size_t text_length) {
  return std::string{what} + ": the op spans " + std::to_string(op_length) +
         " code points but the text has " + std::to_string(text_length);
}

// Walks the components of an op a piece at a time, so that compose and transform can consume
// two ops in step, splitting a component where the other op's component ends.
class component_reader {
 public:
  explicit component_reader(const text_op& op) : list_(op.components()) {}

  bool done() const { return index_ == list_.size(); }
  kind type() const { return list_[index_].type; }
  std::size_t remaining() const { return list_[index_].count - used_; }

  // Consumes `count` code points (at most remaining()) of the current component; for an
  // insert, returns the text consumed.
  std::string_view take(std::size_t count) {
    const text_component& c = list_[index_];
    std::string_view taken;
    if (c.type == kind::insert) {
      const std::size_t end = advance(c.text, byte_, count);
      taken = std::string_view{c.text}.substr(byte_, end - byte_);
      byte_ = end;
    }
    used_ += count;
    if (used_ == c.count) {
      ++index_;
      used_ = 0;
      byte_ = 0;
    }
    return taken;
  }

  std::string_view take_all() { return take(remaining()); }

 private:
  const std::vector<text_component>& list_;
  std::size_t index_ = 0;
  std::size_t used_ = 0;  // code points of list_[index_] already consumed
  std::size_t byte_ = 0;  // the same, in bytes of an insert's text
};

// A JSON number as a component count, or the error naming `where`.
result<std::int64_t> component_count(const json::value& v, const std::string& where) {
  constexpr auto max = static_cast<std::int64_t>(max_text_op_count);
  const std::string beyond = where + " must be at most " + std::to_string(max) + " in magnitude";
  std::int64_t n = 0;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64()) {
    // Boost.JSON uses uint64 only above INT64_MAX.
    return invalid(beyond);
  } else {
    const double d = v.get_double();
    if (!std::isfinite(d) || std::floor(d) != d) {
      return invalid(where + " must be an integer");
    }
    // JavaScript reads 2.0 as 2, so a count written as an integral double is that integer.
    if (std::fabs(d) > static_cast<double>(max)) {
      return invalid(beyond);
    }
    n = static_cast<std::int64_t>(d);
  }
  if (n == 0) {
    return invalid(where + " must not be 0");
  }
  if (n > max || n < -max) {
    return invalid(beyond);
  }
  return n;
}

}  // namespace

std::optional<std::size_t> utf8_code_points(std::string_view utf8) {
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < utf8.size()) {
    const auto lead = static_cast<unsigned char>(utf8[i]);
    std::size_t length = 0;
    // The allowed range of the second byte, which is where overlong forms, surrogates and
    // values over U+10FFFF show (RFC 3629, section 4).
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead < 0x80) {
      length = 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      low = lead == 0xE0 ? 0xA0 : 0x80;
      high = lead == 0xED ? 0x9F : 0xBF;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      low = lead == 0xF0 ? 0x90 : 0x80;
      high = lead == 0xF4 ? 0x8F : 0xBF;
    } else {
      return std::nullopt;
    }
    if (utf8.size() - i < length) {
      return std::nullopt;
    }
    for (std::size_t k = 1; k < length; ++k) {
      const auto byte = static_cast<unsigned char>(utf8[i + k]);
      const bool fits = k == 1 ? (byte >= low && byte <= high) : is_continuation(byte);
      if (!fits) {
        return std::nullopt;
      }
    }
    i += length;
    ++count;
  }
  return count;
}

text_op& text_op::retain(std::size_t count) {
  if (count == 0) {
    return *this;
  }
  base_length_ += count;
  target_length_ += count;
  if (!components_.empty() && components_.back().type == kind::retain) {
    components_.back().count += count;
  } else {
    components_.push_back({kind::retain, count, {}});
  }
  return *this;
}

text_op& text_op::insert(std::string_view utf8) {
  if (utf8.empty()) {
    return *this;
  }
  const std::size_t count = count_valid(utf8);
  target_length_ += count;
  // In normal form a remove is preceded by a retain, an insert or nothing, so an insert that
  // meets a remove joins the insert before it or goes in front of it.
  text_component* last = components_.empty() ? nullptr : &components_.back();
  if (last != nullptr && last->type == kind::remove) {
    if (components_.size() >= 2 && components_[components_.size() - 2].type == kind::insert) {
      last = &components_[components_.size() - 2];
    } else {
      components_.insert(components_.end() - 1, {kind::insert, count, std::string{utf8}});
      return *this;
    }
  }
  if (last != nullptr && last->type == kind::insert) {
    last->count += count;
    last->text += utf8;
  } else {
    components_.push_back({kind::insert, count, std::string{utf8}});
  }
  return *this;
}

text_op& text_op::remove(std::size_t count) {
  if (count == 0) {
    return *this;
  }
  base_length_ += count;
  if (!components_.empty() && components_.back().type == kind::remove) {
    components_.back().count += count;
  } else {
    components_.push_back({kind::remove, count, {}});
  }
  return *this;
}

bool text_op::is_noop() const {
  return std::all_of(components_.begin(), components_.end(),
                     [](const text_component& c) { return c.type == kind::retain; });
}

result<text_op> parse_text_op(const json::value& v, const limits& lim) {
  const json::array* list = v.if_array();
  if (list == nullptr) {
    return invalid("op.ops must be an array");
  }
  if (list->size() > lim.max_text_op_components) {
    return invalid("op.ops has more than " + std::to_string(lim.max_text_op_components) +
                   " components");
  }
  text_op out;
  std::uint64_t base = 0;
  std::uint64_t target = 0;
  std::size_t inserted_bytes = 0;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json::value& c = (*list)[i];
    const std::string where = "op.ops[" + std::to_string(i) + "]";
    if (const json::string* s = c.if_string()) {
      if (s->empty()) {
        return invalid(where + " must not be an empty string");
      }
      const std::optional<std::size_t> count = utf8_code_points(*s);
      if (!count) {
        return invalid(where + " is not valid UTF-8");
      }
      inserted_bytes += s->size();
      if (inserted_bytes > lim.max_body_bytes) {
        return too_large("op.ops inserts more than " + std::to_string(lim.max_body_bytes) +
                         " bytes");
      }
      target += *count;
      out.insert(*s);
    } else if (c.is_number()) {
      auto count = component_count(c, where);
      if (!count) {
        return count.err();
      }
      // Both stay below 2^54 here (each step adds at most max_text_op_count to a value that
      // was at most max_text_op_count), so they cannot wrap.
      if (*count > 0) {
        base += static_cast<std::uint64_t>(*count);
        target += static_cast<std::uint64_t>(*count);
        out.retain(static_cast<std::size_t>(*count));
      } else {
        base += static_cast<std::uint64_t>(-*count);
        out.remove(static_cast<std::size_t>(-*count));
      }
    } else {
      return invalid(where + " must be an integer or a string");
    }
    if (base > max_text_op_count) {
      return invalid("op.ops spans more than " + std::to_string(max_text_op_count) +
                     " code points");
    }
    if (target > max_text_op_count) {
      return invalid("op.ops produces more than " + std::to_string(max_text_op_count) +
                     " code points");
    }
  }
  return out;
}

json::array to_json(const text_op& op) {
  json::array out;
  out.reserve(op.components().size());
  for (const text_component& c : op.components()) {
    switch (c.type) {
      case kind::retain:
        out.emplace_back(static_cast<std::int64_t>(c.count));
        break;
      case kind::insert:
        out.emplace_back(c.text);
        break;
      case kind::remove:
        out.emplace_back(-static_cast<std::int64_t>(c.count));
        break;
    }
  }
  return out;
}

result<std::string> apply_text_op(const text_op& op, std::string_view utf8) {
  const std::optional<std::size_t> length = utf8_code_points(utf8);
  if (!length) {
    return invalid("cannot apply: the text is not valid UTF-8");
  }
  if (*length != op.base_length()) {
    return invalid(invalid_span("cannot apply", op.base_length(), *length));
  }
  std::string out;
  out.reserve(utf8.size());
  std::size_t at = 0;
  for (const text_component& c : op.components()) {
    switch (c.type) {
      case kind::retain: {
        const std::size_t end = advance(utf8, at, c.count);
        out.append(utf8.substr(at, end - at));
        at = end;
        break;
      }
      case kind::insert:
        out += c.text;
        break;
      case kind::remove:
        at = advance(utf8, at, c.count);
        break;
    }
  }
  return out;
}

result<text_op> compose(const text_op& a, const text_op& b) {
  if (a.target_length() != b.base_length()) {
    return invalid("cannot compose: the first op produces " + std::to_string(a.target_length()) +
                   " code points but the second spans " + std::to_string(b.base_length()));
  }
  text_op out;
  component_reader ra{a};
  component_reader rb{b};
  while (!ra.done() || !rb.done()) {
    // What a removed never reaches b, and what b inserts never came from a.
    if (!ra.done() && ra.type() == kind::remove) {
      out.remove(ra.remaining());
      ra.take_all();
      continue;
    }
    if (!rb.done() && rb.type() == kind::insert) {
      out.insert(rb.take_all());
      continue;
    }
    // The rest of a produces exactly the code points the rest of b spans (the lengths were
    // checked), so neither runs out before the other.
    assert(!ra.done() && !rb.done());
    const std::size_t n = std::min(ra.remaining(), rb.remaining());
    const kind ka = ra.type();
    const kind kb = rb.type();
    const std::string_view inserted = ra.take(n);
    rb.take(n);
    if (ka == kind::retain && kb == kind::retain) {
      out.retain(n);
    } else if (ka == kind::retain && kb == kind::remove) {
      out.remove(n);
    } else if (ka == kind::insert && kb == kind::retain) {
      out.insert(inserted);
    }
    // An insert of a that b removes leaves nothing.
  }
  return out;
}

result<std::pair<text_op, text_op>> transform(const text_op& a, const text_op& b,
                                              bool a_first_on_tie) {
  if (a.base_length() != b.base_length()) {
    return invalid("cannot transform: the ops span " + std::to_string(a.base_length()) + " and " +
                   std::to_string(b.base_length()) +
                   " code points (they must be made on the same text)");
  }
  text_op a_prime;
  text_op b_prime;
  component_reader ra{a};
  component_reader rb{b};
  while (!ra.done() || !rb.done()) {
    const bool a_inserts = !ra.done() && ra.type() == kind::insert;
    const bool b_inserts = !rb.done() && rb.type() == kind::insert;
    if (a_inserts && (a_first_on_tie || !b_inserts)) {
      const std::size_t n = ra.remaining();
      a_prime.insert(ra.take(n));
      b_prime.retain(n);
      continue;
    }
    if (b_inserts) {
      const std::size_t n = rb.remaining();
      b_prime.insert(rb.take(n));
      a_prime.retain(n);
      continue;
    }
    // Both span the same base text, so their retains and removes run out together.
    assert(!ra.done() && !rb.done());
    const std::size_t n = std::min(ra.remaining(), rb.remaining());
    const kind ka = ra.type();
    const kind kb = rb.type();
    ra.take(n);
    rb.take(n);
    if (ka == kind::retain && kb == kind::retain) {
      a_prime.retain(n);
      b_prime.retain(n);
    } else if (ka == kind::remove && kb == kind::retain) {
      a_prime.remove(n);
    } else if (ka == kind::retain && kb == kind::remove) {
      b_prime.remove(n);
    }
    // Removed by both: already gone for either.
  }
  return std::pair{std::move(a_prime), std::move(b_prime)};
}

result<text_op> invert(const text_op& op, std::string_view base_utf8) {
  const std::optional<std::size_t> length = utf8_code_points(base_utf8);
  if (!length) {
    return invalid("cannot invert: the text is not valid UTF-8");
  }
  if (*length != op.base_length()) {
    return invalid(invalid_span("cannot invert", op.base_length(), *length));
  }
  text_op out;
  std::size_t at = 0;
  for (const text_component& c : op.components()) {
    switch (c.type) {
      case kind::retain:
        out.retain(c.count);
        at = advance(base_utf8, at, c.count);
        break;
      case kind::insert:
        out.remove(c.count);
        break;
      case kind::remove: {
        const std::size_t end = advance(base_utf8, at, c.count);
        out.insert(base_utf8.substr(at, end - at));
        at = end;
        break;
      }
    }
  }
  return out;
}

std::size_t transform_index(const text_op& op, std::size_t index, bool is_own) {
  const std::size_t caret = std::min(index, op.base_length());
  std::size_t out = caret;
  std::size_t at = 0;  // position in the base text
  for (const text_component& c : op.components()) {
    if (at > caret) {
      break;
    }
    switch (c.type) {
      case kind::retain:
        at += c.count;
        break;
      case kind::insert:
        if (at < caret || (at == caret && is_own)) {
          out += c.count;
        }
        break;
      case kind::remove:
        if (caret > at) {
          out -= std::min(c.count, caret - at);
        }
        at += c.count;
        break;
    }
  }
  return out;
}

}  // namespace fun_notes::core

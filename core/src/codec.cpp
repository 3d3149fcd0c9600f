// Strict JSON codec for notes and ops. Every check returns an error value naming the offending
// field; nothing here throws on untrusted input.
#include "fun_notes/core/codec.hpp"

#include "fun_notes/core/text_op.hpp"

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>

namespace fun_notes::core {

namespace json = boost::json;

namespace {

constexpr std::string_view id_rule = "1-64 chars of [A-Za-z0-9_-]";

// Boost.JSON keeps integers as int64/uint64 and the rest as double; a client (JavaScript in
// particular) may send 1024 or 1024.0 for the same index, so all three count as numbers.
std::optional<double> as_number(const json::value& v) {
  if (v.is_double()) {
    return v.get_double();
  }
  if (v.is_int64()) {
    return static_cast<double>(v.get_int64());
  }
  if (v.is_uint64()) {
    return static_cast<double>(v.get_uint64());
  }
  return std::nullopt;
}

// Messages name a field by its dotted path ("op.note.title"), the way PROTOCOL.md spells it, so a
// client developer can find the offending field without reading server code.
std::string path(std::string_view parent, std::string_view field) {
  std::string p{parent};
  p += '.';
  p += field;
  return p;
}

result<std::string> get_string(const json::object& o, std::string_view parent,
                               std::string_view field) {
  const json::value* v = o.if_contains(field);
  if (v == nullptr) {
    return invalid(path(parent, field) + " is required");
  }
  if (!v->is_string()) {
    return invalid(path(parent, field) + " must be a string");
  }
  return std::string{v->get_string()};
}

result<bool> get_bool(const json::object& o, std::string_view parent, std::string_view field) {
  const json::value* v = o.if_contains(field);
  if (v == nullptr) {
    return invalid(path(parent, field) + " is required");
  }
  if (!v->is_bool()) {
    return invalid(path(parent, field) + " must be a boolean");
  }
  return v->get_bool();
}

result<double> to_index(const json::value& v, const std::string& where) {
  const std::optional<double> d = as_number(v);
  if (!d) {
    return invalid(where + " must be a number");
  }
  // Boost.JSON turns out-of-range literals such as 1e309 into infinity instead of failing.
  if (!std::isfinite(*d)) {
    return invalid(where + " must be a finite number");
  }
  // -0.0 and 0.0 sort the same but serialize differently ("-0E0" vs "0E0", and JavaScript
  // prints both as 0); folding them keeps replicas in different languages byte-identical.
  return *d + 0.0;
}

result<double> get_index(const json::object& o, std::string_view parent, std::string_view field) {
  const json::value* v = o.if_contains(field);
  if (v == nullptr) {
    return invalid(path(parent, field) + " is required");
  }
  return to_index(*v, path(parent, field));
}

result<std::string> get_id(const json::object& o, std::string_view parent, std::string_view field) {
  auto id = get_string(o, parent, field);
  if (!id) {
    return id;
  }
  if (!valid_id(*id)) {
    return invalid(path(parent, field) + " must be " + std::string{id_rule});
  }
  return id;
}

std::optional<error> check_size(const std::string& s, std::size_t max, std::string_view where) {
  if (s.size() > max) {
    return too_large(std::string{where} + " is over " + std::to_string(max) + " bytes");
  }
  return std::nullopt;
}

result<const json::object*> get_object(const json::object& o, std::string_view parent,
                                       std::string_view field) {
  const json::value* v = o.if_contains(field);
  if (v == nullptr) {
    return invalid(path(parent, field) + " is required");
  }
  if (!v->is_object()) {
    return invalid(path(parent, field) + " must be an object");
  }
  return &v->get_object();
}

result<op> parse_create(const json::object& o, const limits& lim) {
  auto note_obj = get_object(o, "op", "note");
  if (!note_obj) {
    return note_obj.err();
  }
  const json::object& n = **note_obj;
  constexpr std::string_view p = "op.note";
  auto id = get_id(n, p, "id");
  if (!id) {
    return id.err();
  }
  auto title = get_string(n, p, "title");
  if (!title) {
    return title.err();
  }
  if (auto e = check_size(*title, lim.max_title_bytes, "op.note.title")) {
    return *e;
  }
  auto body = get_string(n, p, "body");
  if (!body) {
    return body.err();
  }
  if (auto e = check_size(*body, lim.max_body_bytes, "op.note.body")) {
    return *e;
  }
  auto is_important = get_bool(n, p, "is_important");
  if (!is_important) {
    return is_important.err();
  }
  auto is_completed = get_bool(n, p, "is_completed");
  if (!is_completed) {
    return is_completed.err();
  }
  auto index = get_index(n, p, "current_index");
  if (!index) {
    return index.err();
  }
  return op{create_op{.id = std::move(*id),
                      .title = std::move(*title),
                      .body = std::move(*body),
                      .is_important = *is_important,
                      .is_completed = *is_completed,
                      .current_index = *index}};
}

result<op> parse_update(const json::object& o, const limits& lim) {
  auto id = get_id(o, "op", "id");
  if (!id) {
    return id.err();
  }
  auto set_obj = get_object(o, "op", "set");
  if (!set_obj) {
    return set_obj.err();
  }
  const json::object& set = **set_obj;
  constexpr std::string_view p = "op.set";
  // Members are assigned one by one: a partial designated initializer trips
  // -Wmissing-field-initializers on g++ 12.
  update_op u;
  u.id = std::move(*id);
  if (set.contains("title")) {
    auto title = get_string(set, p, "title");
    if (!title) {
      return title.err();
    }
    if (auto e = check_size(*title, lim.max_title_bytes, "op.set.title")) {
      return *e;
    }
    u.title = std::move(*title);
  }
  if (set.contains("body")) {
    auto body = get_string(set, p, "body");
    if (!body) {
      return body.err();
    }
    if (auto e = check_size(*body, lim.max_body_bytes, "op.set.body")) {
      return *e;
    }
    u.body = std::move(*body);
  }
  if (set.contains("is_important")) {
    auto b = get_bool(set, p, "is_important");
    if (!b) {
      return b.err();
    }
    u.is_important = *b;
  }
  if (set.contains("is_completed")) {
    auto b = get_bool(set, p, "is_completed");
    if (!b) {
      return b.err();
    }
    u.is_completed = *b;
  }
  if (!u.title && !u.body && !u.is_important && !u.is_completed) {
    return invalid("op.set must contain at least one of title, body, is_important, is_completed");
  }
  return op{std::move(u)};
}

result<op> parse_move(const json::object& o) {
  auto id = get_id(o, "op", "id");
  if (!id) {
    return id.err();
  }
  auto index = get_index(o, "op", "current_index");
  if (!index) {
    return index.err();
  }
  return op{move_op{.id = std::move(*id), .current_index = *index}};
}

result<op> parse_rebalance(const json::object& o, const limits& lim) {
  auto indexes_obj = get_object(o, "op", "indexes");
  if (!indexes_obj) {
    return indexes_obj.err();
  }
  const json::object& indexes = **indexes_obj;
  if (indexes.empty()) {
    return invalid("op.indexes must not be empty");
  }
  if (indexes.size() > lim.max_rebalance_entries) {
    return invalid("op.indexes has more than " + std::to_string(lim.max_rebalance_entries) +
                   " entries");
  }
  // json::object keeps one value per key (the parser lets the last duplicate win), so the ids
  // collected here are already unique.
  rebalance_op r;
  r.indexes.reserve(indexes.size());
  for (const auto& entry : indexes) {
    const std::string_view id{entry.key()};
    if (!valid_id(id)) {
      return invalid("op.indexes keys must be " + std::string{id_rule});
    }
    auto index = to_index(entry.value(), "op.indexes." + std::string{id});
    if (!index) {
      return index.err();
    }
    r.indexes.emplace_back(std::string{id}, *index);
  }
  return op{std::move(r)};
}

result<op> parse_delete(const json::object& o) {
  auto id = get_id(o, "op", "id");
  if (!id) {
    return id.err();
  }
  return op{delete_op{.id = std::move(*id)}};
}

result<op> parse_text(const json::object& o, const limits& lim) {
  auto id = get_id(o, "op", "id");
  if (!id) {
    return id.err();
  }
  auto field = get_string(o, "op", "field");
  if (!field) {
    return field.err();
  }
  text_edit_op t;
  t.id = std::move(*id);
  if (*field == "title") {
    t.field = text_field::title;
  } else if (*field == "body") {
    t.field = text_field::body;
  } else {
    return invalid("op.field must be \"title\" or \"body\"");
  }
  const json::value* base = o.if_contains("base");
  if (base == nullptr) {
    return invalid("op.base is required");
  }
  // A seq is an integer; 3.0 counts as 3, since a JavaScript client cannot tell them apart.
  const std::optional<double> b = as_number(*base);
  constexpr double max_base = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER
  if (!b || !std::isfinite(*b) || *b < 0 || *b > max_base || std::floor(*b) != *b) {
    return invalid("op.base must be an integer >= 0");
  }
  t.base = base->is_int64()    ? base->get_int64()
           : base->is_uint64() ? static_cast<std::int64_t>(base->get_uint64())
                               : static_cast<std::int64_t>(*b);
  const json::value* ops = o.if_contains("ops");
  if (ops == nullptr) {
    return invalid("op.ops is required");
  }
  auto parsed = parse_text_op(*ops, lim);
  if (!parsed) {
    return parsed.err();
  }
  // A title is smaller than a body: an op that would insert more than the title may hold can
  // never produce a valid title.
  if (t.field == text_field::title) {
    std::size_t inserted = 0;
    for (const text_component& c : parsed->components()) {
      inserted += c.text.size();
    }
    if (inserted > lim.max_title_bytes) {
      return too_large("op.ops inserts more than " + std::to_string(lim.max_title_bytes) +
                       " bytes into the title");
    }
  }
  t.ops = std::move(*parsed);
  return op{std::move(t)};
}

// The stock value-building handler of boost::json::parser, except that doubles are re-read from
// their text with std::from_chars, which is correctly rounded (Boost.JSON 1.81's is not).
class precise_handler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack stack;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    stack.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    stack.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    stack.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    stack.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number_text_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    number_text_.clear();
    stack.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    number_text_.clear();
    stack.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view s, json::error_code&) {
    number_text_.append(s.data(), s.size());
    double exact = 0.0;
    const char* first = number_text_.data();
    const char* last = first + number_text_.size();
    const auto [end, ec] = std::from_chars(first, last, exact);
    // Out of range (1e309, 1e-400): keep Boost's ±inf / 0 so callers see the same values and
    // reject non-finite ones with their usual message.
    if (ec == std::errc{} && end == last) {
      d = exact;
    }
    number_text_.clear();
    stack.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    stack.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    stack.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  std::string number_text_;
};

json::object op_json(const create_op& c) {
  return json::object{{"kind", "create"},
                      {"note", json::object{{"id", c.id},
                                            {"title", c.title},
                                            {"body", c.body},
                                            {"is_important", c.is_important},
                                            {"is_completed", c.is_completed},
                                            {"current_index", c.current_index}}}};
}

json::object op_json(const update_op& u) {
  // Only the fields the op sets: an absent field means "leave it", not "clear it".
  json::object set;
  if (u.title) {
    set.emplace("title", *u.title);
  }
  if (u.body) {
    set.emplace("body", *u.body);
  }
  if (u.is_important) {
    set.emplace("is_important", *u.is_important);
  }
  if (u.is_completed) {
    set.emplace("is_completed", *u.is_completed);
  }
  return json::object{{"kind", "update"}, {"id", u.id}, {"set", std::move(set)}};
}

json::object op_json(const move_op& m) {
  return json::object{{"kind", "move"}, {"id", m.id}, {"current_index", m.current_index}};
}

json::object op_json(const rebalance_op& r) {
  json::object indexes;
  indexes.reserve(r.indexes.size());
  for (const auto& [id, index] : r.indexes) {
    indexes.emplace(id, index);
  }
  return json::object{{"kind", "rebalance"}, {"indexes", std::move(indexes)}};
}

json::object op_json(const delete_op& d) {
  return json::object{{"kind", "delete"}, {"id", d.id}};
}

json::object op_json(const text_edit_op& t) {
  return json::object{{"kind", "text"},
                      {"id", t.id},
                      {"field", field_name(t.field)},
                      {"base", t.base},
                      {"ops", to_json(t.ops)}};
}

}  // namespace

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) {
    return false;
  }
  for (const char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

result<json::value> parse_json(std::string_view text) {
  json::basic_parser<precise_handler> parser{json::parse_options{}};
  parser.handler().stack.reset();
  json::error_code ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && used < text.size()) {
    ec = json::error::extra_data;
  }
  if (ec) {
    return invalid("not valid JSON: " + ec.message());
  }
  return parser.handler().stack.release();
}

json::value json_compatible(const json::value& v) {
  if (v.is_double()) {
    return std::isfinite(v.get_double()) ? v : json::value(nullptr);
  }
  if (const json::object* o = v.if_object()) {
    json::object out;
    out.reserve(o->size());
    for (const auto& [key, member] : *o) {
      out.emplace(key, json_compatible(member));
    }
    return out;
  }
  if (const json::array* a = v.if_array()) {
    json::array out;
    out.reserve(a->size());
    for (const json::value& element : *a) {
      out.push_back(json_compatible(element));
    }
    return out;
  }
  return v;
}

result<op> parse_op(const json::value& v, const limits& lim) {
  if (!v.is_object()) {
    return invalid("op must be an object");
  }
  const json::object& o = v.get_object();
  const json::value* kind_v = o.if_contains("kind");
  if (kind_v == nullptr) {
    return invalid("op.kind is required");
  }
  if (!kind_v->is_string()) {
    return invalid("op.kind must be a string");
  }
  const std::string_view kind{kind_v->get_string()};
  if (kind == "create") {
    return parse_create(o, lim);
  }
  if (kind == "update") {
    return parse_update(o, lim);
  }
  if (kind == "move") {
    return parse_move(o);
  }
  if (kind == "rebalance") {
    return parse_rebalance(o, lim);
  }
  if (kind == "delete") {
    return parse_delete(o);
  }
  if (kind == "text") {
    return parse_text(o, lim);
  }
  return invalid("op.kind \"" + std::string{kind} +
                 "\" is not one of create, update, move, rebalance, delete, text");
}

json::object to_json(const op& o) {
  return std::visit([](const auto& x) { return op_json(x); }, o);
}

json::object to_json(const note& n) {
  return json::object{{"id", n.id},
                      {"title", n.title},
                      {"body", n.body},
                      {"is_important", n.is_important},
                      {"is_completed", n.is_completed},
                      {"current_index", n.current_index},
                      {"seq", n.seq},
                      {"updated_at", n.updated_at}};
}

result<note> parse_note(const json::value& v) {
  if (!v.is_object()) {
    return invalid("note must be an object");
  }
  const json::object& o = v.get_object();
  constexpr std::string_view p = "note";
  auto id = get_id(o, p, "id");
  if (!id) {
    return id.err();
  }
  auto title = get_string(o, p, "title");
  if (!title) {
    return title.err();
  }
  auto body = get_string(o, p, "body");
  if (!body) {
    return body.err();
  }
  auto is_important = get_bool(o, p, "is_important");
  if (!is_important) {
    return is_important.err();
  }
  auto is_completed = get_bool(o, p, "is_completed");
  if (!is_completed) {
    return is_completed.err();
  }
  auto index = get_index(o, p, "current_index");
  if (!index) {
    return index.err();
  }
  const json::value* seq_v = o.if_contains("seq");
  if (seq_v == nullptr) {
    return invalid("note.seq is required");
  }
  std::int64_t seq = -1;
  if (seq_v->is_int64()) {
    seq = seq_v->get_int64();
  } else if (seq_v->is_uint64() &&
             seq_v->get_uint64() <=
                 static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    seq = static_cast<std::int64_t>(seq_v->get_uint64());
  }
  if (seq < 0) {
    return invalid("note.seq must be a non-negative integer");
  }
  auto updated_at = get_string(o, p, "updated_at");
  if (!updated_at) {
    return updated_at.err();
  }
  return note{.id = std::move(*id),
              .title = std::move(*title),
              .body = std::move(*body),
              .is_important = *is_important,
              .is_completed = *is_completed,
              .current_index = *index,
              .seq = seq,
              .updated_at = std::move(*updated_at)};
}

std::string serialize_state(const room_state& state) {
  json::array notes;
  const std::vector<note> sorted = state.sorted_notes();
  notes.reserve(sorted.size());
  for (const note& n : sorted) {
    notes.emplace_back(to_json(n));
  }
  // Boost.JSON keeps object members in insertion order and prints doubles in a shortest
  // round-trip form, so equal states give equal bytes.
  return json::serialize(json::object{{"seq", state.seq()}, {"notes", std::move(notes)}});
}

std::string format_time(std::int64_t unix_millis) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds{unix_millis}};
  // floor, not a cast: times before 1970 must still land on the right day and second.
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<milliseconds> hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

std::int64_t now_millis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace fun_notes::core

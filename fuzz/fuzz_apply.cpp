// libFuzzer target: core::room_state::apply on a sequence of ops decoded from the fuzzer's
// bytes, taken through the codec as the server takes them (client frame -> parse_op -> seq ->
// broadcast -> parse_op on every replica). Replicas that join from a snapshot midway must end
// byte-identical to the server's state; each op must do exactly what PROTOCOL.md's apply rules
// say to the note it names; seq goes up by one per op; the display order is (current_index, id).
//
// The bytes are a small op language, so that every input means something and seeds read as text:
//   c <id> <title>; <body>; <flags> <index>     create
//   u <id> <mask> [<title>;] [<body>;] [<flags>] update: mask bits 1 title, 2 body, 4 is_important,
//                                               8 is_completed (none: title)
//   m <id> <index>                              move
//   p <id> <position>                           move between the notes around a position, as a
//                                               client does (core::between; a rebalance first
//                                               when precision has run out)
//   n <id> <title>; <position>                  create at a position the same way
//   r <count> (<id> <index>){count}             rebalance
//   d <id>                                      delete
//   s <order>                                   a replica joins from a snapshot of the state
// Whitespace before an opcode is skipped; any other byte is an opcode by its value mod 8.
// <id>: a byte of [A-Za-z0-9_-] is that one-character id, any other byte picks a longer one.
// <title>, <body>: up to ';' (at most 24 bytes); a byte >= 0x80 stands for a multi-byte character.
// <flags>: bit 1 is_important, bit 2 is_completed ('0'-'3'). <index>: '0'-'9' that many times
// 1024, 'a'-'z' an edge value (tiny, huge, one ulp apart, -0.0), '=' then a byte: the index of
// an existing note, '#' then 8 bytes: any double (a non-finite one reads as +-DBL_MAX).
// Every decoded op is valid, so the codec must accept it: ids and lengths are within the rules.
// <position> (modulo the notes + 1), <count> (1-8) and <order>: one byte, a digit is its value.
#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "check.hpp"
#include "fun_notes/core/codec.hpp"
#include "fun_notes/core/note.hpp"
#include "fun_notes/core/order.hpp"

namespace {

namespace core = fun_notes::core;
namespace json = boost::json;
using fun_notes::fuzz::require;

constexpr double max_double = std::numeric_limits<double>::max();
constexpr double min_subnormal = std::numeric_limits<double>::denorm_min();

// 'a'-'z': values where ordering, the codec's number handling or core::between have edges.
const std::array<double, 26> edge_indexes = {
    0.5,
    -1.0,
    -1024.0,
    core::min_index_gap,
    min_subnormal,
    -min_subnormal,
    max_double,
    -max_double,
    9007199254740992.0,  // 2^53: above it not every integer is a double
    9007199254740994.0,
    0.1,
    1.0 / 3.0,
    1e308,
    -1e308,
    1e-300,
    0.30000000000000004,
    22463.674438476562,  // a 17-digit index as repeated bisection produces
    std::nextafter(1024.0, 2048.0),
    std::nextafter(1024.0, 0.0),
    -0.0,
    1024.0 + core::min_index_gap,
    4.5e15,
    -0.5,
    std::numeric_limits<double>::min(),  // smallest normal
    1e300,
    3 * min_subnormal,
};

// Ids that a single character cannot spell: longer ones, prefixes of each other, the longest.
const std::array<std::string_view, 8> long_ids = {
    "a0",
    "aa",
    "a-",
    "n1",
    "n10",
    "n2",
    "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
    "0000000000000000000000000000000000000000000000000000000000000000"};

// A byte >= 0x80 in a string: characters of one to four UTF-8 bytes, and the ones JSON escapes.
const std::array<std::string_view, 8> wide_chars = {
    "\xc3\xa9",     "\xe2\x98\x95", "\xf0\x9f\x98\x80", "\xe2\x80\xa8",
    "\xef\xbb\xbf", "\xe6\x97\xa5", "\xc2\x80",         "\xf4\x8f\xbf\xbf"};

constexpr std::size_t max_text_bytes = 24;

class op_reader {
 public:
  op_reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  bool at_end() const { return pos_ >= size_; }

  // 0 once the input is used up: an op cut short still decodes.
  std::uint8_t byte() { return at_end() ? 0 : data_[pos_++]; }

  // The next opcode, or 0 at the end.
  char opcode() {
    while (!at_end() && (data_[pos_] == ' ' || data_[pos_] == '\n' || data_[pos_] == '\t')) {
      ++pos_;
    }
    if (at_end()) {
      return 0;
    }
    static constexpr std::string_view codes = "cumpnrds";
    const std::uint8_t b = byte();
    return codes.find(static_cast<char>(b)) != std::string_view::npos ? static_cast<char>(b)
                                                                      : codes[b % codes.size()];
  }

  std::string id() {
    const char c = static_cast<char>(byte());
    if (core::valid_id(std::string_view(&c, 1))) {
      return std::string(1, c);
    }
    return std::string(long_ids[static_cast<std::uint8_t>(c) % long_ids.size()]);
  }

  std::string text() {
    std::string s;
    for (std::size_t i = 0; i < max_text_bytes && !at_end(); ++i) {
      const std::uint8_t b = byte();
      if (b == ';') {
        break;
      }
      if (b >= 0x80) {
        s += wide_chars[b % wide_chars.size()];
      } else {
        s += static_cast<char>(b);
      }
    }
    return s;
  }

  // Any double, -0.0 and non-finite ones included: the codec decides what an op may carry.
  double index(const core::room_state& state) {
    const std::uint8_t b = byte();
    if (b >= '0' && b <= '9') {
      return (b - '0') * core::index_step;
    }
    if (b == '=' && state.size() > 0) {
      return state.sorted_notes()[byte() % state.size()].current_index;
    }
    if (b == '#') {
      std::uint64_t bits = 0;
      for (int i = 0; i < 8; ++i) {
        bits = bits << 8 | byte();
      }
      double d = 0.0;
      std::memcpy(&d, &bits, sizeof d);
      // JSON cannot spell NaN or infinity (a client's 1e999 is fuzz_codec's business).
      return std::isfinite(d) ? d : std::copysign(max_double, d);
    }
    return edge_indexes[(b >= 'a' && b <= 'z' ? b - 'a' : b) % edge_indexes.size()];
  }

  // A digit is its value, any other byte the byte's.
  std::size_t number() {
    const std::uint8_t b = byte();
    return b >= '0' && b <= '9' ? b - '0' : b;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

std::string wire_text(const core::op& o) {
  return json::serialize(core::to_json(o));
}

// What a peer makes of an op's JSON text: parse_op with the server's limits.
core::op parse_wire(const std::string& text) {
  auto doc = core::parse_json(text);
  require(doc.ok(), "an op's JSON parses", text);
  auto o = core::parse_op(*doc, core::limits{});
  require(o.ok(), "a valid op's JSON is accepted", text);
  return std::move(*o);
}

std::string time_of(std::int64_t seq) {
  return core::format_time(1'800'000'000'000 + seq * 1000);
}

void check_display_order(const core::room_state& state) {
  const std::vector<core::note> sorted = state.sorted_notes();
  require(sorted.size() == state.size(), "sorted_notes lists every note");
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    const core::note& a = sorted[i - 1];
    const core::note& b = sorted[i];
    require(
        a.current_index < b.current_index || (a.current_index == b.current_index && a.id < b.id),
        "notes are sorted by (current_index, id) without ties", b.id);
  }
  for (const core::note& n : sorted) {
    require(n.seq >= 1 && n.seq <= state.seq(), "a note's seq is one the room has had", n.id);
    require(n.updated_at == time_of(n.seq), "a note's updated_at is the time of its seq", n.id);
  }
}

// The server's state and the replicas of clients that joined it; ops go through submit().
class room_run {
 public:
  room_run() { replicas_.emplace_back(); }

  const core::room_state& server() const { return server_; }

  // A client sends `candidate`: the server parses, numbers, applies and broadcasts it.
  void submit(const core::op& candidate) {
    const core::op o = parse_wire(wire_text(candidate));
    const std::string broadcast = wire_text(o);
    core::op received = parse_wire(broadcast);
    require(received == o, "a replica receives the op the server applied", broadcast);

    const std::int64_t seq = server_.seq() + 1;
    const core::applied_op applied{seq, time_of(seq), o};
    const expectation expected = expect(o, applied);
    const bool changed = server_.apply(applied);
    require(server_.seq() == seq, "seq goes up by one per op");
    require(changed == expected.changed, "apply says whether the op changed a note",
            core::kind_of(o));
    check(expected);
    creates_ += std::holds_alternative<core::create_op>(o) && changed ? 1 : 0;
    deletes_ += std::holds_alternative<core::delete_op>(o) && changed ? 1 : 0;
    require(server_.size() == creates_ - deletes_, "notes are the ones created and not deleted");

    const core::applied_op copy{seq, applied.at, std::move(received)};
    for (core::room_state& r : replicas_) {
      require(r.apply(copy) == changed, "every replica changes what the server changes");
    }
  }

  // A client joins from a snapshot: the serialized state, parsed into a new replica. `order`
  // varies the order the notes are inserted in, which must not matter.
  void join(std::uint8_t order) {
    const std::string text = core::serialize_state(server_);
    auto doc = core::parse_json(text);
    require(doc.ok(), "a snapshot parses", text);
    std::vector<core::note> notes;
    for (const json::value& v : doc->at("notes").as_array()) {
      auto n = core::parse_note(v);
      require(n.ok(), "a snapshot's notes parse", text);
      notes.push_back(std::move(*n));
    }
    if ((order & 1) != 0) {
      std::reverse(notes.begin(), notes.end());
    }
    if ((order & 2) != 0) {
      std::rotate(notes.begin(), notes.begin() + static_cast<std::ptrdiff_t>(notes.size() / 2),
                  notes.end());
    }
    core::room_state joined(doc->at("seq").as_int64(), std::move(notes));
    require(core::serialize_state(joined) == text, "a replica from a snapshot equals the state",
            text);
    constexpr std::size_t max_replicas = 4;
    if (replicas_.size() == max_replicas) {
      replicas_.erase(replicas_.begin() + 1);  // the first one has seen every op
    }
    replicas_.push_back(std::move(joined));
  }

  void finish() const {
    check_display_order(server_);
    const std::string state = core::serialize_state(server_);
    for (const core::room_state& r : replicas_) {
      require(core::serialize_state(r) == state, "replicas converge on the server's state", state);
    }
  }

 private:
  // The notes an op aims at, as they must be after it, and whether it changes anything.
  struct expectation {
    bool changed = false;
    std::vector<std::pair<std::string, std::optional<core::note>>> notes;
  };

  expectation expect(const core::op& o, const core::applied_op& applied) const {
    expectation e;
    const auto stamped = [&](core::note n) {
      n.seq = applied.seq;
      n.updated_at = applied.at;
      return n;
    };
    const auto current = [&](const std::string& id) -> std::optional<core::note> {
      const core::note* n = server_.find(id);
      return n != nullptr ? std::optional<core::note>(*n) : std::nullopt;
    };
    if (const auto* c = std::get_if<core::create_op>(&o)) {
      const auto before = current(c->id);
      e.changed = !before;
      e.notes.emplace_back(
          c->id, before ? before
                        : core::note{c->id, c->title, c->body, c->is_important, c->is_completed,
                                     c->current_index, applied.seq, applied.at});
    } else if (const auto* u = std::get_if<core::update_op>(&o)) {
      auto n = current(u->id);
      e.changed = n.has_value();
      if (n) {
        n->title = u->title.value_or(n->title);
        n->body = u->body.value_or(n->body);
        n->is_important = u->is_important.value_or(n->is_important);
        n->is_completed = u->is_completed.value_or(n->is_completed);
        n = stamped(*n);
      }
      e.notes.emplace_back(u->id, n);
    } else if (const auto* m = std::get_if<core::move_op>(&o)) {
      auto n = current(m->id);
      e.changed = n.has_value();
      if (n) {
        n->current_index = m->current_index;
        n = stamped(*n);
      }
      e.notes.emplace_back(m->id, n);
    } else if (const auto* r = std::get_if<core::rebalance_op>(&o)) {
      for (const auto& [id, index] : r->indexes) {
        auto n = current(id);
        if (n) {
          e.changed = true;
          n->current_index = index;
          n = stamped(*n);
        }
        e.notes.emplace_back(id, n);
      }
    } else {
      const auto& d = std::get<core::delete_op>(o);
      e.changed = server_.contains(d.id);
      e.notes.emplace_back(d.id, std::nullopt);
    }
    return e;
  }

  void check(const expectation& e) const {
    for (const auto& [id, expected] : e.notes) {
      const core::note* n = server_.find(id);
      require(expected ? n != nullptr && *n == *expected : n == nullptr,
              "an op does to its note what the apply rules say", id);
    }
  }

  core::room_state server_;
  std::vector<core::room_state> replicas_;  // the first one from seq 1, the others joined later
  std::size_t creates_ = 0;
  std::size_t deletes_ = 0;
};

// The sorted notes without `id`: the neighbours a note being moved goes between.
std::vector<core::note> others(const core::room_state& state, const std::string& id) {
  std::vector<core::note> sorted = state.sorted_notes();
  std::erase_if(sorted, [&](const core::note& n) { return n.id == id; });
  return sorted;
}

std::optional<double> index_between(const std::vector<core::note>& sorted, std::size_t position) {
  const std::optional<double> before =
      position > 0 ? std::optional<double>(sorted[position - 1].current_index) : std::nullopt;
  const std::optional<double> after = position < sorted.size()
                                          ? std::optional<double>(sorted[position].current_index)
                                          : std::nullopt;
  const std::optional<double> index = core::between(before, after);
  if (index) {
    require((!before || *before < *index) && (!after || *index < *after),
            "between gives an index strictly between its neighbours");
  }
  return index;
}

// What a client does to place a note at `position` among `sorted` (the notes other than it):
// an index between the neighbours, after a rebalance of them when there is none.
double place(room_run& run, const std::string& id, std::size_t position) {
  std::vector<core::note> sorted = others(run.server(), id);
  position %= sorted.size() + 1;
  if (const auto index = index_between(sorted, position)) {
    return *index;
  }
  core::rebalance_op r;
  const std::vector<double> spread = core::spread_indexes(sorted.size());
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    r.indexes.emplace_back(sorted[i].id, spread[i]);
  }
  run.submit(core::op{std::move(r)});
  sorted = others(run.server(), id);
  const auto index = index_between(sorted, position);
  require(index.has_value(), "after a rebalance there is room between any two neighbours");
  return *index;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  op_reader in(data, size);
  room_run run;
  while (const char code = in.opcode()) {
    switch (code) {
      case 'c': {
        core::create_op c;
        c.id = in.id();
        c.title = in.text();
        c.body = in.text();
        const std::uint8_t flags = in.byte();
        c.is_important = (flags & 1) != 0;
        c.is_completed = (flags & 2) != 0;
        c.current_index = in.index(run.server());
        run.submit(core::op{std::move(c)});
        break;
      }
      case 'u': {
        core::update_op u;
        u.id = in.id();
        const std::uint8_t mask = in.byte() & 0xF;
        if ((mask & 1) != 0 || mask == 0) {
          u.title = in.text();
        }
        if ((mask & 2) != 0) {
          u.body = in.text();
        }
        const std::uint8_t flags = (mask & 12) != 0 ? in.byte() : 0;
        if ((mask & 4) != 0) {
          u.is_important = (flags & 1) != 0;
        }
        if ((mask & 8) != 0) {
          u.is_completed = (flags & 2) != 0;
        }
        run.submit(core::op{std::move(u)});
        break;
      }
      case 'm':
      case 'p': {
        core::move_op m;
        m.id = in.id();
        m.current_index = code == 'm' ? in.index(run.server()) : place(run, m.id, in.number());
        run.submit(core::op{std::move(m)});
        break;
      }
      case 'n': {
        core::create_op c;
        c.id = in.id();
        c.title = in.text();
        c.current_index = place(run, c.id, in.number());
        run.submit(core::op{std::move(c)});
        break;
      }
      case 'r': {
        core::rebalance_op r;
        const std::size_t n = std::max<std::size_t>(in.number() % 9, 1);
        for (std::size_t i = 0; i < n; ++i) {
          std::string id = in.id();
          r.indexes.emplace_back(std::move(id), in.index(run.server()));
        }
        run.submit(core::op{std::move(r)});
        break;
      }
      case 'd': {
        run.submit(core::op{core::delete_op{in.id()}});
        break;
      }
      default: {
        run.join(in.byte());
        break;
      }
    }
  }
  run.finish();
  return 0;
}

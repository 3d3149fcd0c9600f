// libFuzzer target: the JSON codec on arbitrary bytes, as a WebSocket frame, an HTTP body or a
// stored room state reaches it. Nothing may crash or throw, and whatever parses as an op, a
// note or a room state must come back equal from its own serialization.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "check.hpp"
#include "fun_notes/core/codec.hpp"

namespace {

namespace core = fun_notes::core;
namespace json = boost::json;
using fun_notes::fuzz::require;

// The server's own limits: server_config::op_limits is core::limits{} unless flags change it.
const core::limits server_limits{};

// What a peer receives: the text `v` serializes to, parsed again.
json::value reparse(const json::value& v) {
  const std::string text = json::serialize(v);
  auto again = core::parse_json(text);
  require(again.ok(), "serialized JSON parses", text);
  return std::move(*again);
}

void check_refusal(const core::error& e) {
  require(e.code == "invalid" || e.code == "too_large", "a refusal is invalid or too_large",
          e.code);
  require(!e.message.empty(), "a refusal says why", e.code);
}

void check_op(const json::value& v) {
  auto parsed = core::parse_op(v, server_limits);
  if (!parsed) {
    check_refusal(parsed.err());
    return;
  }
  const json::value wire = core::to_json(*parsed);
  const std::string text = json::serialize(wire);
  require(wire.at("kind").as_string() == core::kind_of(*parsed), "to_json writes the op's kind",
          text);
  auto again = core::parse_op(reparse(wire), server_limits);
  require(again.ok(), "an op's own JSON is accepted", text);
  require(*again == *parsed, "an op survives to_json and parse", text);
  require(json::serialize(core::to_json(*again)) == text, "an op serializes stably", text);
}

// Returns the note when `v` is one, after checking its round trip.
std::optional<core::note> check_note(const json::value& v) {
  auto parsed = core::parse_note(v);
  if (!parsed) {
    require(parsed.err().code == "invalid", "a refused note is invalid", parsed.err().code);
    return std::nullopt;
  }
  const json::value wire = core::to_json(*parsed);
  auto again = core::parse_note(reparse(wire));
  require(again.ok(), "a note's own JSON is accepted", json::serialize(wire));
  require(*again == *parsed, "a note survives to_json and parse", json::serialize(wire));
  return std::move(*parsed);
}

// A room state (a snapshot's notes) built from `notes` serializes to text that gives it back.
void check_state(std::int64_t seq, std::vector<core::note> notes) {
  const core::room_state state(seq, std::move(notes));
  const std::string text = core::serialize_state(state);
  auto doc = core::parse_json(text);
  require(doc.ok() && doc->is_object(), "a serialized state parses", text);
  const json::object& o = doc->get_object();
  require(o.contains("seq") && o.at("seq") == json::value(seq), "a state keeps its seq", text);
  std::vector<core::note> back;
  for (const json::value& n : o.at("notes").as_array()) {
    auto parsed = core::parse_note(n);
    require(parsed.ok(), "every note of a serialized state parses", text);
    back.push_back(std::move(*parsed));
  }
  const std::vector<core::note> sorted = state.sorted_notes();
  require(back == sorted, "a state's notes come back in display order", text);
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    const core::note& a = sorted[i - 1];
    const core::note& b = sorted[i];
    require(
        a.current_index < b.current_index || (a.current_index == b.current_index && a.id < b.id),
        "notes are sorted by (current_index, id) without ties", text);
  }
  require(core::serialize_state(core::room_state(seq, std::move(back))) == text,
          "a state serializes the same after a round trip", text);
}

// The members that carry ops and notes in the protocol's messages: a client `op` frame
// ({"type":"op","op":...}), a snapshot ({"notes":[...]}) or an op log entry.
void check_members(const json::object& o) {
  if (const json::value* op = o.if_contains("op")) {
    check_op(*op);
  }
  if (const json::value* n = o.if_contains("note")) {
    check_note(*n);
  }
  if (const json::value* notes = o.if_contains("notes"); notes != nullptr && notes->is_array()) {
    std::vector<core::note> parsed;
    for (const json::value& n : notes->get_array()) {
      if (auto note = check_note(n)) {
        parsed.push_back(std::move(*note));
      }
    }
    const json::value* seq = o.if_contains("seq");
    check_state(seq != nullptr && seq->is_int64() ? seq->get_int64() : 0, std::move(parsed));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = core::parse_json(text);
  if (!doc) {
    check_refusal(doc.err());
    return 0;
  }
  const json::value echoed = core::json_compatible(*doc);
  require(reparse(echoed) == echoed, "a JSON value survives serialize and parse_json", text);
  check_op(*doc);
  check_note(*doc);
  if (const json::object* o = doc->if_object()) {
    check_members(*o);
  } else if (const json::array* a = doc->if_array()) {
    for (const json::value& v : *a) {
      check_op(v);
      check_note(v);
    }
  }
  return 0;
}

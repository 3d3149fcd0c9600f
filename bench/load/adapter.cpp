#include "adapter.hpp"

#include <charconv>

namespace fun_notes::load {

std::string encode_op_key(const op_ref& op) {
  std::string k = "L";
  k += std::to_string(op.sender);
  k += '.';
  k += std::to_string(op.n);
  k += '.';
  k += std::to_string(op.sent_ns);
  return k;
}

bool decode_op_key(std::string_view key, op_ref& out) {
  if (key.size() < 6 || key[0] != 'L') {
    return false;
  }
  const char* p = key.data() + 1;
  const char* end = key.data() + key.size();
  auto r = std::from_chars(p, end, out.sender);
  if (r.ec != std::errc{} || r.ptr == end || *r.ptr != '.') {
    return false;
  }
  r = std::from_chars(r.ptr + 1, end, out.n);
  if (r.ec != std::errc{} || r.ptr == end || *r.ptr != '.') {
    return false;
  }
  r = std::from_chars(r.ptr + 1, end, out.sent_ns);
  return r.ec == std::errc{} && r.ptr == end;
}

namespace {
std::size_t value_start(std::string_view json, std::string_view key) {
  std::string pattern;
  pattern.reserve(key.size() + 3);
  pattern += '"';
  pattern += key;
  pattern += "\":";
  const auto at = json.find(pattern);
  return at == std::string_view::npos ? at : at + pattern.size();
}
}  // namespace

std::optional<std::string_view> scan_string(std::string_view json, std::string_view key) {
  auto at = value_start(json, key);
  if (at == std::string_view::npos || at >= json.size() || json[at] != '"') {
    return std::nullopt;
  }
  ++at;
  const auto close = json.find('"', at);
  if (close == std::string_view::npos) {
    return std::nullopt;
  }
  return json.substr(at, close - at);
}

std::optional<std::int64_t> scan_int(std::string_view json, std::string_view key) {
  const auto at = value_start(json, key);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  std::int64_t v = 0;
  const auto r = std::from_chars(json.data() + at, json.data() + json.size(), v);
  if (r.ec != std::errc{}) {
    return std::nullopt;
  }
  return v;
}

std::string peer_room_name(int room) {
  return "r" + std::to_string(room);
}

std::unique_ptr<adapter> make_adapter(target_kind t) {
  switch (t) {
    case target_kind::fun_notes:
      return make_fun_notes_adapter();
    case target_kind::socketio:
      return make_socketio_adapter();
    case target_kind::sharedb:
      return make_sharedb_adapter();
    case target_kind::broadcast:
      return make_broadcast_adapter();
  }
  return nullptr;
}

}  // namespace fun_notes::load

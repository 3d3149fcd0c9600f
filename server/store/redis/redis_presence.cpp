// Presence entries carry their own expiry: a hash field cannot expire by itself in Redis 7.0.
#include "store/redis/redis_presence.hpp"

#include <charconv>

#include "store/cold_store.hpp"

namespace fun_notes::store {
namespace {

std::string presence_key(std::string_view room_id) {
  return "room:presence:{" + std::string(room_id) + "}";
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Parses one server's entry into `out` unless it has expired; false when expired or malformed.
bool read_entry(std::string_view value, std::int64_t now, user_set& out) {
  const auto nl = value.find('\n');
  std::int64_t expiry = 0;
  const auto head = value.substr(0, nl);
  if (std::from_chars(head.data(), head.data() + head.size(), expiry).ec != std::errc{} ||
      expiry < now) {
    return false;
  }
  std::string_view rest = nl == std::string_view::npos ? "" : value.substr(nl + 1);
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    const auto line = rest.substr(0, end);
    const auto tab = line.find('\t');
    if (tab != std::string_view::npos) {
      out.emplace(std::string(line.substr(0, tab)), std::string(line.substr(tab + 1)));
    }
    rest = end == std::string_view::npos ? "" : rest.substr(end + 1);
  }
  return true;
}

void check(const redis::reply& r, std::string_view what) {
  if (r.is_error()) {
    throw store_error("redis " + std::string(what) + ": " + r.str);
  }
}

}  // namespace

void redis_presence::set_local(std::string_view room_id, std::string_view server_id,
                               const user_set& users, std::chrono::milliseconds ttl) {
  const auto key = presence_key(room_id);
  const auto now = unix_ms();
  if (users.empty()) {
    check(client_.command(key, {"HDEL", key, std::string(server_id)}), "HDEL");
  } else {
    std::string value = std::to_string(now + ttl.count());
    for (const auto& [id, name] : users) {
      // Names and ids cannot hold tabs or newlines (usernames are [A-Za-z0-9_.-]).
      value += "\n" + id + "\t" + name;
    }
    check(client_.command(key, {"HSET", key, std::string(server_id), value}), "HSET");
    // The hash outlives its longest entry a little, so an abandoned room cleans itself up.
    check(client_.command(key, {"PEXPIRE", key, std::to_string(ttl.count() * 2)}), "PEXPIRE");
  }
  // Drop the entries of servers that stopped renewing them.
  auto all = client_.command(key, {"HGETALL", key});
  check(all, "HGETALL");
  for (std::size_t i = 0; i + 1 < all.elements.size(); i += 2) {
    user_set ignored;
    if (!read_entry(all.elements[i + 1].str, now, ignored)) {
      client_.command(key, {"HDEL", key, all.elements[i].str});
    }
  }
}

user_set redis_presence::room_users(std::string_view room_id) {
  const auto key = presence_key(room_id);
  auto all = client_.command(key, {"HGETALL", key});
  check(all, "HGETALL");
  user_set out;
  const auto now = unix_ms();
  for (std::size_t i = 0; i + 1 < all.elements.size(); i += 2) {
    read_entry(all.elements[i + 1].str, now, out);
  }
  return out;
}

}  // namespace fun_notes::store

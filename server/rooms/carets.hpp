// The carets of one room: where each socket's user is in a note field, as its client last said.
// Lives on the room hub's strand. A socket's caret goes out coalesced (the hub flushes the
// board at most every `caret_interval`) through the room's bus channel, so every server of a
// fleet, this one included, relays it to its own sockets from the same place.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rooms/session_sink.hpp"

namespace fun_notes::server::rooms {

inline constexpr std::chrono::milliseconds caret_interval{50};
// A caret not refreshed for this long is forgotten (its server may have died without a word).
inline constexpr std::chrono::seconds caret_lifetime{45};
// Cursor frames on a room's channel start with this (seq 0, like presence and access markers).
inline constexpr std::string_view caret_frame_prefix = R"({"type":"cursor",)";

struct caret {
  std::string note;
  std::string field;
  std::int64_t anchor = 0;
  std::int64_t head = 0;
  std::int64_t seq = 0;
  bool operator==(const caret&) const = default;
};

class caret_board {
 public:
  using clock = std::chrono::steady_clock;

  caret_board(std::string room_id, std::string instance_id);

  // A socket of this server says where its user is (nullopt: nowhere, e.g. the field lost
  // focus). True when something changed and the board needs a flush.
  bool set_local(session_sink* sink, const std::string& user_id, const std::string& user_name,
                 std::optional<caret> c);
  // The socket left the room: a caret it had is cleared. True when the board needs a flush.
  bool drop_local(session_sink* sink);
  // The frames to publish for the local carets that changed since the last flush.
  std::vector<frame_ptr> flush();
  // A cursor frame from the room's channel (any server's, this one's included). Returns the
  // local socket it came from, which does not get it back, or nullptr; `known` is updated.
  session_sink* on_frame(const frame_ptr& frame, clock::time_point now);
  // The carets a joining socket gets: every one still fresh, of every server, but its own.
  std::vector<frame_ptr> known(clock::time_point now, session_sink* joining);

 private:
  struct local_entry {
    std::string session;  // the caret's id on the wire: this server's instance id and a number
    std::string user_id;
    std::string user_name;
    std::optional<caret> current;
    bool dirty = false;
    bool gone = false;  // the socket left; the entry goes once its clear is out
  };
  struct known_entry {
    frame_ptr frame;
    clock::time_point seen;
  };

  std::string frame_of(const local_entry& e) const;

  std::string room_id_;
  std::string instance_id_;
  std::uint64_t next_session_ = 0;
  std::map<session_sink*, local_entry> local_;
  std::map<std::string, session_sink*> local_by_session_;
  std::map<std::string, known_entry> known_;  // session -> last frame with a caret
};

}  // namespace fun_notes::server::rooms

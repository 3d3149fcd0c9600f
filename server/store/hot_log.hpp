// HotLog port: per-room gapless seq, the recent op log and write-behind bookkeeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fun_notes/core/result.hpp"

namespace fun_notes::store {

struct log_entry {
  std::int64_t seq = 0;
  std::shared_ptr<const std::string> frame;  // the S->C `op` frame exactly as broadcast
};

// A precondition on one note field for a text op: the server transformed the op against the
// room as it saw it at `seen_seq`, so the append may only commit while no op that touches the
// field (create, delete, an update setting it, a text op on it) has a seq above `seen_seq`.
struct field_guard {
  std::string field_key;  // field_key(note id, "title" | "body")
  std::int64_t seen_seq = 0;
};

// "<note id>/<field>": note ids never contain '/'.
inline std::string field_key(std::string_view note_id, std::string_view field) {
  std::string key{note_id};
  key += '/';
  key += field;
  return key;
}

// The error of an append whose guard failed: code "stale", and a message ending in the seq of
// the last op that touched the field, which stale_field_seq reads back (0 when absent).
inline constexpr std::string_view stale_code = "stale";
inline core::error stale_error(std::string_view key, std::int64_t field_seq) {
  return core::error{std::string{stale_code},
                     "field " + std::string{key} + " changed at seq " + std::to_string(field_seq)};
}
inline std::int64_t stale_field_seq(const core::error& e) {
  const std::size_t space = e.message.rfind(' ');
  if (space == std::string::npos) {
    return 0;
  }
  try {
    return std::stoll(e.message.substr(space + 1));
  } catch (const std::exception&) {
    return 0;
  }
}

// The frame of an op is `frame_prefix + <seq in decimal> + frame_suffix`: the seq is only
// known inside the log's atomic append.
struct append_request {
  std::string room_id;
  std::string frame_prefix;
  std::string frame_suffix;
  // The highest seq the caller has seen in the room. A log whose copy of the room expired
  // (Redis TTL) restarts numbering above it rather than from 0; logs that never drop a room
  // ignore it.
  std::int64_t known_seq = 0;
  // When set, the append commits only if the guarded field is unchanged since `seen_seq`;
  // otherwise it fails with stale_error and nothing is numbered or published.
  std::optional<field_guard> guard{};
  // The field keys this op touches: the log records the op's seq as their last change.
  std::vector<std::string> touched_fields{};
};

struct append_result {
  log_entry entry;
  std::int64_t persisted_seq = 0;  // the room's persisted seq at append time
};

struct log_range {
  std::int64_t head_seq = 0;       // last seq assigned in the room
  std::int64_t persisted_seq = 0;  // last seq folded into the ColdStore
  bool complete = false;           // true when every op with seq > after_seq is in `entries`
  std::vector<log_entry> entries;  // seq > after_seq, ascending
};

// Trim rule: keep at least the last `keep_recent` ops and never drop an op whose
// seq > persisted_seq.
struct hot_log_options {
  std::int64_t keep_recent = 100;
};

class hot_log {
 public:
  using append_handler = std::function<void(core::result<append_result>)>;
  virtual ~hot_log() = default;

  // Told of every op appended (room, seq, persisted seq), on the thread that runs `done`, just
  // before it.
  using append_observer =
      std::function<void(const std::string& room_id, std::int64_t seq, std::int64_t persisted)>;

  // Assigns the next seq, makes the op durable, then publishes it on the room's bus channel.
  // Publication and `done` happen in seq order within a room. `done` runs on an internal
  // thread; on failure (code "unavailable", or "stale" when the request's guard does not
  // hold) nothing was numbered or published.
  void append(append_request request, append_handler done);
  // The write-behind learns of its work this way, whoever appends. Set before appends start.
  void observe_appends(append_observer observer) { observer_ = std::move(observer); }

  // Before the first append to a room this process has not seen: a room cold in the log
  // resumes numbering (and its persisted seq) from the ColdStore's last_seq, never from 0.
  virtual void ensure_room(std::string_view room_id, std::int64_t cold_last_seq) = 0;
  // The room is in use (people joined or are present): a log that expires after a quiet
  // period (Redis) starts that period again. The expiry rule stays: a log holding ops the
  // cold store lacks never expires. No-op where logs do not expire.
  virtual void touch_room(std::string_view room_id) = 0;

  // Blocking reads and bookkeeping (run on the worker pool). May throw store_error.
  virtual log_range read_after(std::string_view room_id, std::int64_t after_seq) = 0;
  // Records that ops up to `seq` are in the ColdStore and trims by the rule above.
  virtual void set_persisted(std::string_view room_id, std::int64_t seq) = 0;
  // Rooms whose head seq is above their persisted seq (what a crash may have left unflushed).
  virtual std::vector<std::string> dirty_rooms() = 0;
  // Repair of a room whose log lost ops the cold store never got: when the head is still
  // `expected_head`, drops every logged op and makes `new_seq` (> expected_head) both the head
  // and the persisted seq, so numbering goes on after it and nobody resumes across the gap.
  // False (and nothing changed) when ops were appended since.
  virtual bool reset_room(std::string_view room_id, std::int64_t expected_head,
                          std::int64_t new_seq) = 0;

  // The flush lease: one worker of the whole fleet folds a room at a time. try_lease is true
  // when `owner` now holds the room's lease (taken, or already its own; the expiry restarts);
  // a lease whose holder died frees itself after `ttl`. release_lease frees it only for its
  // owner.
  virtual bool try_lease(std::string_view room_id, std::string_view owner,
                         std::chrono::milliseconds ttl) = 0;
  virtual void release_lease(std::string_view room_id, std::string_view owner) = 0;

 protected:
  virtual void do_append(append_request request, append_handler done) = 0;

 private:
  append_observer observer_;
};

}  // namespace fun_notes::store

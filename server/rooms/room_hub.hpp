// One room on this server: its live state, the sessions in it, presence and room stats.
#pragma once

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fun_notes/core/note.hpp"
#include "rooms/carets.hpp"
#include "rooms/hub_context.hpp"
#include "rooms/room_loader.hpp"
#include "rooms/session_sink.hpp"
#include "store/bus.hpp"
#include "store/cold_store.hpp"
#include "store/hot_log.hpp"
#include "store/presence.hpp"

namespace fun_notes::server::rooms {

struct snapshot_doubts;

class hub_registry;

// What names a text op across resends: its user id and cid.
std::string text_origin(std::string_view user_id, std::string_view cid);

struct member_info {
  std::string user_id;
  std::string user_name;
  store::role role = store::role::none;         // effective (what the socket may do)
  store::role member_role = store::role::none;  // none: a visitor of a public room
};

// What the hub made of an incoming text op (prepare_text). `code` is empty when `op` is ready to
// append: transformed past every text op on its field up to `seen_seq`, with `base` = seen_seq;
// else the reject code ("conflict", "invalid", "too_large") and `message`, or "duplicate" when
// the same op (user and cid) is already numbered, at `seen_seq`: a client resending an op in
// doubt after a reconnect, whose first copy reached the log after all. A text op is not
// idempotent, so the copy is dropped; the client sees the first in its stream.
struct text_prepared {
  std::string code;
  std::string message;
  core::text_edit_op op;
  std::int64_t seen_seq = 0;
};

struct room_stats {
  std::int64_t active_user_count = 0;
  std::int64_t total_notes = 0;
};

// All state lives on the hub's strand. The hub subscribes to the room's bus channel once,
// builds the state from snapshot + log, and then applies every op in seq order, so a join is
// answered from memory with no gap: the snapshot (or resume) and the live ops after it are
// queued to the session from the same strand, in order.
class room_hub : public std::enable_shared_from_this<room_hub> {
 public:
  // `registry` holds the context and is told when the hub goes; it must outlive every handler
  // of the hub that still runs.
  room_hub(hub_registry& registry, std::string room_id);
  ~room_hub();

  void start();
  // `in_doubt`: cids of the user's ops the client sent before its connection died and saw no
  // echo of; a snapshot answer says which of them were numbered (see snapshot_frame).
  void join(std::shared_ptr<session_sink> sink, member_info who, std::optional<std::int64_t> since,
            std::vector<std::string> in_doubt = {});
  void leave(const std::shared_ptr<session_sink>& sink);
  // A joined socket's caret moved (nullopt: cleared). Relayed coalesced to the room's other
  // sockets on every server; ignored for a socket that is not in the room.
  void cursor(const std::shared_ptr<session_sink>& sink, std::optional<caret> c);

  const std::string& room_id() const { return room_id_; }
  // Readable from any thread (used for limits and listings).
  std::size_t note_count() const { return note_count_.load(); }
  std::int64_t seq() const { return seq_.load(); }
  room_stats stats() const;
  bool loaded() const { return loaded_flag_.load(); }
  void schedule_idle_check();
  // At shutdown, with the I/O threads stopped: stop listening to the bus.
  void unsubscribe() { subscription_.reset(); }
  // Transforms a client's text op against the text ops on its note field that the client had
  // not seen (seq > base), on the hub's strand, once the hub's state has reached `min_seq`
  // (the seq of a change a failed guard reported). `done` runs on the strand.
  // `origin` names the op: its user id and cid (text_origin).
  void prepare_text(core::text_edit_op op, std::string origin, std::int64_t min_seq,
                    const core::limits& lim, std::function<void(text_prepared)> done);

  // A copy of the room's full state, or nullopt while it is not loaded. Blocks until the
  // hub's strand answers: never call it from a strand.
  std::optional<core::room_state> copy_state();

 private:
  struct pending_join {
    std::shared_ptr<session_sink> sink;
    member_info who;
    std::optional<std::int64_t> since;
    std::vector<std::string> in_doubt;
    // A join whose `since` is ahead of this hub (another server numbered ops the bus has not
    // brought here yet) waits until then for them, so it can still be a resume.
    std::chrono::steady_clock::time_point wait_until{};
    std::chrono::steady_clock::time_point asked = std::chrono::steady_clock::now();
  };
  struct live_session {
    std::shared_ptr<session_sink> sink;
    member_info who;
  };

  // At most one presence / room_stat per interval (PROTOCOL.md: <= 4 a second).
  struct rate_gate {
    boost::asio::steady_timer timer;
    std::chrono::milliseconds interval;
    bool pending = false;
    std::chrono::steady_clock::time_point sent{};
  };

  void on_bus(const store::bus_message& m);
  // seq 0 on the room's channel: presence changed, or a repair needs this hub.
  void on_marker(const std::string& marker);
  // {"type":"access",...} on the room's channel: roles, settings or the room itself changed.
  void on_access(const std::string& frame);
  // Gives a socket the role its user has now; drops it when that is none.
  void apply_access(session_sink* sink, member_info& who, bool room_deleted);
  // The recent history of one note field, for transforming text ops.
  struct field_history {
    std::int64_t floor = 0;    // every text op on the field with seq > floor is in `texts`
    std::int64_t barrier = 0;  // seq of the last create, update or delete that set the field
    struct committed_text {
      std::int64_t seq = 0;
      core::text_op ops;
      std::string origin;  // text_origin of its user and cid
    };
    std::deque<committed_text> texts;  // ascending seq
  };
  struct waiting_text {
    core::text_edit_op op;
    std::string origin;
    std::int64_t min_seq = 0;
    core::limits lim;
    std::function<void(text_prepared)> done;
  };
  // After `o` changed the state: what it did to the fields it touched.
  void record_fields(const core::applied_op& o, const std::string& frame);
  void reset_fields(const std::vector<store::log_entry>& recent);
  text_prepared transform_text(core::text_edit_op op, const std::string& origin,
                               const core::limits& lim);
  void run_waiting_texts();
  void load();
  void on_loaded(std::shared_ptr<loaded_room> loaded, std::string error);
  void apply_live(const store::bus_message& m);
  void answer_join(pending_join j);
  // A snapshot of the room for a socket of role `r`, its notes serialized once per seq.
  std::string snapshot_for(store::role r, const snapshot_doubts* doubts = nullptr);
  // Answers the joins that waited for ops ahead of this hub: those whose ops came, and, with
  // `expired`, those whose wait is over (a snapshot then).
  void run_ahead_joins(bool expired);
  void arm_ahead_timer();
  void drop_session(session_sink* sink);
  void fail_pending(const std::string& message);
  void schedule(rate_gate& gate, void (room_hub::*send)());
  void schedule_presence();
  void send_presence();
  void flush_carets();
  // A cursor frame on the room's channel: to every socket here but the one it came from.
  void on_cursor(const store::bus_message& m);
  void broadcast_presence();
  void schedule_stats();
  void send_stats();
  std::string presence_frame() const;
  // Who is here: the fleet's users (from the presence store) merged with this server's.
  store::user_set present_users() const;
  void refresh_active_users();
  // note_rooms.active_user_count follows presence, at most one write a second per room.
  void schedule_count_write();
  // Distributed mode: write this server's users (when `write`), read the fleet's, and when
  // `announce`, tell the other servers to read again.
  void sync_presence(bool write, bool announce);
  void schedule_heartbeat();
  void touch_log();

  hub_registry& registry_;
  const hub_context& ctx_;
  std::string room_id_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  std::unique_ptr<store::subscription> subscription_;

  bool loaded_ = false;
  bool loading_ = false;
  // The room was repaired from the cold store: the next load replaces the state and every
  // session gets a snapshot.
  bool reset_pending_ = false;
  bool reload_queued_ = false;
  std::atomic<bool> loaded_flag_{false};
  store::room_meta meta_;
  core::room_state state_;
  // state_'s notes serialized for snapshots, as of snapshot_seq_ (-1: none yet).
  std::string snapshot_notes_;
  std::int64_t snapshot_seq_ = -1;
  std::deque<store::log_entry> recent_;
  std::map<std::string, field_history> fields_;  // store::field_key -> history
  std::int64_t fields_floor_ = 0;                // fields_ holds every field change with seq > this
  std::vector<waiting_text> waiting_texts_;
  std::vector<store::bus_message> buffered_;
  std::vector<pending_join> pending_;
  std::vector<pending_join> ahead_joins_;
  std::map<session_sink*, live_session> sessions_;
  std::map<std::string, std::pair<std::string, int>> users_;  // user id -> (name, sockets)
  store::user_set fleet_users_;  // every server's users, as last read from the presence store
  bool presence_sync_running_ = false;
  bool presence_sync_queued_ = false;
  bool presence_sync_queued_write_ = false;
  bool presence_sync_queued_announce_ = false;

  caret_board carets_;
  rate_gate presence_gate_;
  rate_gate stats_gate_;
  rate_gate caret_gate_;
  boost::asio::steady_timer idle_timer_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer count_timer_;
  boost::asio::steady_timer reload_timer_;
  boost::asio::steady_timer ahead_timer_;
  int reload_failures_ = 0;  // reloads in a row that met a failing store
  bool count_write_scheduled_ = false;
  // When the hot log's expiry was last started again (joins and presence keep a room alive).
  std::chrono::steady_clock::time_point last_touch_{};
  std::int64_t written_count_ = -1;  // what the cold store was last told
  room_stats last_published_{-1, -1};

  std::atomic<std::size_t> note_count_{0};
  std::atomic<std::int64_t> seq_{0};
  std::atomic<std::int64_t> active_users_{0};
};

// Loaded hubs by room id, with a pin count: a hub with no pins unloads after the idle delay.
class hub_registry {
 public:
  explicit hub_registry(hub_context ctx) : ctx_(std::move(ctx)) {}

  const hub_context& context() const { return ctx_; }

  std::shared_ptr<room_hub> acquire(const std::string& room_id);
  void release(const std::shared_ptr<room_hub>& hub);
  std::shared_ptr<room_hub> find(const std::string& room_id);
  // Called from the hub's idle timer: forget it when still unpinned.
  void maybe_unload(const std::shared_ptr<room_hub>& hub);
  void forget(const std::shared_ptr<room_hub>& hub);
  // At shutdown, with the I/O threads stopped: every hub stops listening to the bus.
  void unsubscribe_all();
  std::size_t size();

 private:
  struct entry {
    std::shared_ptr<room_hub> hub;
    int pins = 0;
  };
  const hub_context ctx_;
  std::mutex mutex_;
  std::unordered_map<std::string, entry> hubs_;
};

}  // namespace fun_notes::server::rooms

// One room as the terminal client holds it: the base (the last state the server confirmed, at
// its seq), the outbox (local changes the server has not confirmed yet, in order) and the view
// (base + outbox). It speaks the protocol's join/op state machine and the offline merge rules
// (docs/cli.md, "Merge rules"). Pure: frames to send, notices and cache writes come back as
// `effects` for the caller to carry out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fun_notes/core/codec.hpp"
#include "fun_notes/core/note.hpp"
#include "sync/messages.hpp"

namespace fun_notes::cli::sync {

struct local_op {
  std::string cid;
  core::op op;
  std::string at;     // local time of the edit (RFC 3339), shown until the server's echo
  bool sent = false;  // written to a socket: in doubt until echoed or rejected
  // Ever written to a socket (or restored from the cache, where that is unknown): a text op
  // that may be numbered already is never composed with later typing, and a join names it in
  // doubt.
  bool was_sent = false;
  bool operator==(const local_op&) const = default;
};

// Something the user must be told: a merge decision or an op the server refused.
struct notice {
  std::string note_id;  // empty when not about one note
  std::string message;  // one line, in words
};

// How a note field the view shows changed by something other than the user's own typing here:
// `op` turns the field's text as the view showed it before into the text it shows now (an
// editor applies it to keep its caret), or is empty when the note appeared or went (resync).
struct text_change {
  std::string note_id;
  core::text_field field = core::text_field::body;
  std::optional<core::text_op> op;
};

// What one call produced.
struct effects {
  std::vector<std::string> frames;  // to send now, in order
  std::vector<notice> notices;
  std::vector<text_change> text_changes{};
  bool view_changed = false;
  bool persist = false;  // base, info or outbox changed: write the room to the cache
  bool gap = false;      // the stream had a gap: a join frame is in `frames`
  void append(effects&& other);
};

enum class link_state {
  offline,  // no socket, or not joined: edits queue in the outbox
  joining,  // join sent, its answer (snapshot/resume, replay, presence) not complete
  live,     // joined: edits go out at once
};

// Where a `move` puts a note, in the view's order.
struct move_target {
  enum class kind { up, down, top, bottom, position } where = kind::position;
  std::size_t position = 0;  // 0-based index in the view, for kind::position
};

// What changed since the last `take_dirty`, for an incremental cache write.
struct dirty_set {
  bool everything = false;      // the base was replaced (snapshot): rewrite the room
  std::set<std::string> notes;  // base notes written or removed
  bool outbox = false;
  // Outbox ops that left since the last take_dirty (acknowledged, refused, merged away). The
  // cache deletes exactly these, so ops another process queued in the same cache survive.
  std::set<std::string> outbox_removed;
  bool info = false;
  bool empty() const { return !everything && notes.empty() && !outbox && !info; }
};

class replica {
 public:
  explicit replica(std::string room_id);
  replica(room_info info, core::room_state base, std::vector<local_op> outbox);

  const std::string& room_id() const { return room_id_; }
  const room_info& info() const { return info_; }
  const core::room_state& base() const { return base_; }
  const std::vector<local_op>& outbox() const { return outbox_; }
  link_state state() const { return state_; }
  // True once a snapshot has been received or a cached base was restored.
  bool loaded() const { return loaded_; }
  const std::vector<user_ref>& users() const { return users_; }
  std::int64_t active_user_count() const { return active_user_count_; }
  bool read_only() const { return info_.role == "viewer"; }

  // The notes as the user sees them: base with the outbox applied, sorted by
  // (current_index, id). Recomputed lazily after a change.
  const std::vector<core::note>& view() const;
  const core::note* find(std::string_view note_id) const;  // in the view

  // Local edits: shown at once, sent at once when live, queued otherwise. `cid` must be unique
  // per client; `at` is the local time. An edit of a note the view does not hold, or an op the
  // core codec would refuse, changes nothing and yields a notice.
  effects create(core::create_op note, std::string cid, std::string at);
  effects update(core::update_op change, std::string cid, std::string at);
  effects move(std::string_view note_id, move_target target, std::string cid, std::string at);
  effects remove(std::string_view note_id, std::string cid, std::string at);
  // Typing: `op` applies to the field's text as the view shows it. The classic OT client: one
  // text op per field in flight, later edits composed into one waiting op, sent when the one
  // in flight is acknowledged; others' ops move both (docs/cli.md, "Live text").
  effects edit_text(std::string_view note_id, core::text_field field, core::text_op op,
                    std::string cid, std::string at);

  // Takes in ops that another process of this user queued for the room in the same cache
  // (a `fun-notes add` beside the full-screen client): those whose cid this replica has not
  // seen are appended, to go out with the rest. Call it before a join.
  effects adopt(const std::vector<local_op>& queued);

  // Sends the outbox ops not written yet (after a reject asked to retry), when live.
  effects flush();
  bool has_unsent() const;
  // The sizes the server enforces (welcome.limits); edits over them are refused locally.
  void set_limits(const core::limits& limits) { limits_ = limits; }

  // The connection. `on_connected` is called once `welcome` arrived: it answers with the join
  // frame (since = the base seq when the base is loaded). `on_disconnected` makes every sent op
  // in doubt. `on_message` takes the frames about this room.
  effects on_connected();
  void on_disconnected();
  effects on_message(const server_msg& msg);

  // The room left the user's reach (join answered forbidden / not_found): kept offline.
  const std::optional<error_msg>& join_error() const { return join_error_; }

  dirty_set take_dirty();

 private:
  effects on_snapshot(const snapshot_msg& m);
  effects on_resume(const resume_msg& m);
  effects on_op(const op_msg& m);
  effects on_reject(const reject_msg& m);
  effects on_presence(const presence_msg& m);
  effects reconcile();  // the join's answer is complete: merge, then send the outbox
  effects settle_deleted(std::string_view note_id, const core::note& tombstone, bool unsent_only);
  effects enqueue(local_op op);  // validate, append, send when live
  effects outbox_changed();      // after an edit of the outbox: mark, show, send when live
  // Moves the outbox's text ops on one field over `change`, a change of that field's text in
  // the base that is already numbered. Returns the change as it applies to the view, or
  // nullopt when the view's field does not follow the base's (a local replace comes first).
  std::optional<core::text_op> rebase_outbox(std::string_view note_id, core::text_field field,
                                             core::text_op change);
  // After a snapshot replaced the base: text ops the snapshot holds are dropped, the others
  // rebased onto its text.
  void rebase_onto_snapshot(const core::room_state& old_base, const snapshot_msg& m);
  std::vector<std::string> in_doubt() const;
  effects send_unsent();
  void mark_view_dirty() { view_valid_ = false; }
  void apply_to_base(const core::applied_op& o);

  std::string room_id_;
  room_info info_;
  core::room_state base_;
  std::vector<local_op> outbox_;
  link_state state_ = link_state::offline;
  bool loaded_ = false;
  bool answer_started_ = false;                // snapshot or resume received for the current join
  std::optional<core::room_state> join_base_;  // base when the join went out (merge's "old")
  std::vector<user_ref> users_;
  std::int64_t active_user_count_ = 0;
  std::optional<error_msg> join_error_;
  dirty_set dirty_;
  core::limits limits_;
  // Notes deleted by others while own ops on them were in flight: what an edit brings back.
  std::map<std::string, core::note, std::less<>> tombstones_;
  // The outbox's cids as of the last take_dirty (what the cache holds from this replica).
  std::set<std::string> saved_cids_;
  // Every cid this replica has held: an acknowledged op's stale cache row must not come back.
  std::set<std::string> known_cids_;

  mutable bool view_valid_ = false;
  mutable std::vector<core::note> view_;
};

// Deterministic, pure id source (note ids and cids), seeded once by the caller.
class id_source {
 public:
  explicit id_source(std::uint64_t seed) : state_(seed) {}
  std::string next(std::size_t length = 12);  // [A-Za-z0-9]
 private:
  std::uint64_t state_;
};

}  // namespace fun_notes::cli::sync

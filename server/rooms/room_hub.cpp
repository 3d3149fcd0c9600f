// Room hubs: ordered fan-out, gapless joins, presence and stats for the rooms loaded here.
#include "rooms/room_hub.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <functional>
#include <future>
#include <optional>
#include <utility>

#include "access/room_access.hpp"
#include "fun_notes/core/codec.hpp"
#include "rooms/frames.hpp"

namespace fun_notes::server::rooms {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
constexpr std::size_t max_recent = 1024;
// How long a join ahead of this hub waits for the bus to bring the ops it has seen elsewhere.
constexpr std::chrono::milliseconds ahead_join_wait{1500};
// Text ops kept per note field: a client whose base is older than these rebases (conflict).
constexpr std::size_t max_field_texts = 256;
constexpr auto presence_interval = 250ms;  // at most 4 presence / stats updates a second
}  // namespace

room_hub::room_hub(hub_registry& registry, std::string room_id)
    : registry_(registry),
      ctx_(registry.context()),
      room_id_(std::move(room_id)),
      strand_(asio::make_strand(ctx_.io)),
      carets_(room_id_, ctx_.instance_id),
      presence_gate_{boost::asio::steady_timer(strand_), presence_interval},
      stats_gate_{boost::asio::steady_timer(strand_), presence_interval},
      caret_gate_{boost::asio::steady_timer(strand_), caret_interval},
      idle_timer_(strand_),
      heartbeat_timer_(strand_),
      count_timer_(strand_),
      reload_timer_(strand_),
      ahead_timer_(strand_) {}

room_hub::~room_hub() = default;

void room_hub::start() {
  asio::post(strand_, [self = shared_from_this()] {
    std::weak_ptr<room_hub> weak = self;
    self->loading_ = true;
    self->subscription_ = self->ctx_.bus.subscribe(
        store::room_channel(self->room_id_),
        [weak](const store::bus_message& m) {
          if (auto hub = weak.lock()) {
            asio::post(hub->strand_, [hub, m] { hub->on_bus(m); });
          }
        },
        [weak] {
          if (auto hub = weak.lock()) {
            asio::post(hub->strand_, [hub] { hub->load(); });
          }
        });
  });
}

void room_hub::load() {
  loading_ = true;
  auto self = shared_from_this();
  asio::post(ctx_.pool, [self] {
    std::shared_ptr<loaded_room> loaded;
    std::string error;
    try {
      const auto& ctx = self->ctx_;
      std::function<bool()> repair;
      if (ctx.repair_room) {
        repair = [self] { return self->ctx_.repair_room(self->room_id_); };
      }
      auto room = load_room(ctx.cold, ctx.hot, self->room_id_, repair);
      if (room) {
        loaded = std::make_shared<loaded_room>(std::move(*room));
      } else {
        error = "room not found";
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
    asio::post(self->strand_, [self, loaded, error] { self->on_loaded(loaded, error); });
  });
}

void room_hub::on_loaded(std::shared_ptr<loaded_room> loaded, std::string error) {
  loading_ = false;
  if (reload_queued_) {
    reload_queued_ = false;
    load();
    return;
  }
  if (!loaded && loaded_flag_ && !sessions_.empty() && error != "room not found" &&
      reload_failures_ < 20) {
    // A reload (after a gap or a repair) met a store that is briefly away, e.g. a Redis
    // Cluster that is down for a moment while a master restarts: keep the sessions (the bus
    // buffers what arrives) and try again, rather than dropping them without a word.
    ++reload_failures_;
    spdlog::warn("room {}: reload failed ({}), retrying", room_id_, error);
    reload_timer_.expires_after(std::chrono::milliseconds(250) * reload_failures_);
    reload_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec && !self->loaded_ && !self->loading_) {
        self->load();
      }
    });
    return;
  }
  if (!loaded) {
    spdlog::warn("room {}: load failed: {}", room_id_, error);
    fail_pending("the room could not be loaded: " + error);
    buffered_.clear();
    // Live sessions (a reload that kept failing) are dropped too, and told so: they re-join.
    const auto gone = make_frame(
        error_frame("unavailable", "the room could not be reloaded: " + error, room_id_));
    for (auto& [_, s] : sessions_) {
      s.sink->deliver(gone);
      s.sink->join_failed(room_id_);
    }
    sessions_.clear();
    users_.clear();
    active_users_ = 0;
    registry_.forget(shared_from_this());
    return;
  }
  reload_failures_ = 0;
  const bool first_load = !loaded_ && !loaded_flag_;
  if (reset_pending_) {
    // After a repair from the cold store: the loaded state replaces what this hub had, and
    // every session starts over from a snapshot (never a silent fork).
    reset_pending_ = false;
    meta_ = loaded->meta;
    state_ = std::move(loaded->state);
    snapshot_seq_ = -1;
    recent_.assign(loaded->recent.begin(), loaded->recent.end());
    reset_fields(loaded->recent);
    std::erase_if(buffered_, [&](const store::bus_message& m) { return m.seq <= state_.seq(); });
    for (auto& [_, s] : sessions_) {
      s.sink->deliver_snapshot(make_frame(snapshot_for(s.who.role)));
    }
  } else if (first_load) {
    meta_ = loaded->meta;
    state_ = std::move(loaded->state);
    snapshot_seq_ = -1;
    recent_.assign(loaded->recent.begin(), loaded->recent.end());
    reset_fields(loaded->recent);
  } else {
    // Reload after a gap: forward what the live sessions missed, in order.
    for (const auto& entry : loaded->recent) {
      if (entry.seq > state_.seq()) {
        apply_live(store::bus_message{entry.seq, entry.frame});
      }
    }
  }
  while (recent_.size() > max_recent) {
    recent_.pop_front();
  }
  loaded_ = true;
  loaded_flag_ = true;
  note_count_ = state_.size();
  seq_ = state_.seq();
  auto buffered = std::move(buffered_);
  buffered_.clear();
  for (const auto& m : buffered) {
    apply_live(m);
    if (!loaded_) {
      return;  // a gap started another reload
    }
  }
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& j : pending) {
    answer_join(std::move(j));
  }
  run_waiting_texts();
  run_ahead_joins(false);
  schedule_stats();
  schedule_idle_check();
  if (first_load && ctx_.presence != nullptr) {
    sync_presence(false, false);
    schedule_heartbeat();
  }
}

void room_hub::on_bus(const store::bus_message& m) {
  if (m.seq == 0 && *m.frame == room_reset_marker) {
    on_marker(*m.frame);  // also while loading: the load may have read the old stores
    return;
  }
  if (m.seq == 0 && m.frame->starts_with(access_marker_prefix)) {
    on_access(*m.frame);  // also while loading: pending joins must not enter with old roles
    return;
  }
  if (m.seq == 0 && m.frame->starts_with(caret_frame_prefix)) {
    on_cursor(m);
    return;
  }
  if (!loaded_) {
    buffered_.push_back(m);
    return;
  }
  apply_live(m);
}

void room_hub::on_marker(const std::string& marker) {
  if (marker == repair_needed_marker) {
    // A server found the room's log short of the cold store: this hub's state is whole.
    if (ctx_.flush_urgently) {
      ctx_.flush_urgently(room_id_);
    }
    return;
  }
  if (marker == room_reset_marker) {
    // The room went on from the cold store: what this hub holds is no longer the room.
    spdlog::warn("room {}: repaired from the cold store, reloading; sessions get a snapshot",
                 room_id_);
    reset_pending_ = true;
    loaded_ = false;
    if (loading_) {
      reload_queued_ = true;  // the load under way may have read the stores before the repair
    } else {
      load();
    }
    return;
  }
  // Another server's users changed here.
  if (ctx_.presence != nullptr) {
    sync_presence(false, false);
  }
}

void room_hub::on_access(const std::string& frame) {
  auto v = core::parse_json(frame);
  if (!v || !v->is_object()) {
    return;
  }
  const auto& o = v->get_object();
  const bool deleted = o.contains("deleted");
  std::optional<std::string> user;
  store::role member_role = store::role::none;
  if (const auto* u = o.if_contains("user"); u != nullptr && u->is_string()) {
    user = std::string(u->get_string());
    const auto* r = o.if_contains("role");
    member_role = r != nullptr && r->is_string()
                      ? store::parse_role(r->get_string()).value_or(store::role::none)
                      : store::role::none;
  }
  if (const auto* room = o.if_contains("room"); room != nullptr && room->is_object()) {
    const auto& r = room->get_object();
    if (const auto* n = r.if_contains("name"); n != nullptr && n->is_string()) {
      meta_.name = std::string(n->get_string());
    }
    if (const auto* vis = r.if_contains("visibility"); vis != nullptr && vis->is_string()) {
      meta_.visibility = std::string(vis->get_string());
    }
    if (const auto* pr = r.if_contains("public_role"); pr != nullptr && pr->is_string()) {
      meta_.public_role = store::parse_role(pr->get_string()).value_or(store::role::viewer);
    }
    last_published_ = room_stats{-1, -1};  // the next room_stat carries the new name
  }
  if (deleted) {
    spdlog::info("room {}: deleted, {} sockets leave it", room_id_, sessions_.size());
  }
  // Joins not answered yet (the room is loading) take the change too.
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto& who = it->who;
    if (user && who.user_id == *user) {
      who.member_role = member_role;
    }
    const bool concerned = deleted || (user ? who.user_id == *user : loaded_);
    const auto role = access::effective_role(meta_, who.member_role);
    if (concerned && (deleted || role == store::role::none)) {
      it->sink->access_lost(room_id_, deleted);
      it = pending_.erase(it);
      continue;
    }
    if (concerned) {
      who.role = role;
    }
    ++it;
  }
  std::vector<session_sink*> affected;
  for (auto& [sink, s] : sessions_) {
    if (!user || s.who.user_id == *user) {
      affected.push_back(sink);
    }
  }
  for (auto* sink : affected) {
    auto& s = sessions_.at(sink);
    if (user) {
      s.who.member_role = member_role;
    }
    apply_access(sink, s.who, deleted);
  }
}

void room_hub::apply_access(session_sink* sink, member_info& who, bool room_deleted) {
  const auto role =
      room_deleted ? store::role::none : access::effective_role(meta_, who.member_role);
  if (role == who.role) {
    return;
  }
  who.role = role;
  auto it = sessions_.find(sink);
  auto keep = it->second.sink;
  if (role == store::role::none) {
    drop_session(sink);
    keep->access_lost(room_id_, room_deleted);
  } else {
    keep->role_changed(room_id_, role);
  }
}

void room_hub::apply_live(const store::bus_message& m) {
  if (m.seq == 0) {
    on_marker(*m.frame);
    return;
  }
  if (m.seq <= state_.seq()) {
    return;  // already in the snapshot this hub was built from
  }
  if (m.seq != state_.seq() + 1) {
    // Ops reach the bus in seq order, so this means a lost message: rebuild from the stores
    // rather than ever forwarding a gap.
    spdlog::warn("room {}: gap on the bus (have {}, got {}), reloading", room_id_, state_.seq(),
                 m.seq);
    loaded_ = false;
    buffered_.push_back(m);
    if (!loading_) {
      load();
    }
    return;
  }
  auto op = parse_op_frame(*m.frame);
  if (!op) {
    spdlog::error("room {}: undecodable op {}: {}", room_id_, m.seq, op.err().message);
    return;
  }
  const bool changed = state_.apply(*op);
  seq_ = state_.seq();
  if (changed) {
    record_fields(*op, *m.frame);
  }
  recent_.push_back(store::log_entry{m.seq, m.frame});
  if (recent_.size() > max_recent) {
    recent_.pop_front();
  }
  for (auto& [_, s] : sessions_) {
    s.sink->deliver(m.frame);
  }
  if (note_count_.exchange(state_.size()) != state_.size()) {
    schedule_stats();
  }
  run_waiting_texts();
  run_ahead_joins(false);
}

void room_hub::record_fields(const core::applied_op& o, const std::string& frame) {
  const auto set_barrier = [&](const std::string& id, core::text_field f) {
    auto [it, added] = fields_.try_emplace(store::field_key(id, core::field_name(f)));
    if (added) {
      it->second.floor = fields_floor_;
    }
    it->second.barrier = o.seq;
    it->second.texts.clear();  // no text op can be transformed across the barrier
    it->second.floor = o.seq;
  };
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, core::create_op> || std::is_same_v<T, core::delete_op>) {
          set_barrier(x.id, core::text_field::title);
          set_barrier(x.id, core::text_field::body);
        } else if constexpr (std::is_same_v<T, core::update_op>) {
          if (x.title) {
            set_barrier(x.id, core::text_field::title);
          }
          if (x.body) {
            set_barrier(x.id, core::text_field::body);
          }
        } else if constexpr (std::is_same_v<T, core::text_edit_op>) {
          auto [it, added] = fields_.try_emplace(store::field_key(x.id, core::field_name(x.field)));
          if (added) {
            it->second.floor = fields_floor_;
          }
          auto& h = it->second;
          std::string origin;
          if (auto v = core::parse_json(frame); v && v->is_object()) {
            const auto* user = v->get_object().if_contains("user");
            const auto* cid = v->get_object().if_contains("cid");
            if (user != nullptr && user->is_string() && cid != nullptr && cid->is_string()) {
              origin = text_origin(user->get_string(), cid->get_string());
            }
          }
          h.texts.push_back({o.seq, x.ops, std::move(origin)});
          if (h.texts.size() > max_field_texts) {
            h.floor = h.texts.front().seq;
            h.texts.pop_front();
          }
        }
      },
      o.operation);
}

void room_hub::reset_fields(const std::vector<store::log_entry>& recent) {
  fields_.clear();
  // The state is at its seq; the log ops the loader read end there. Replaying what they did to
  // the fields (on a scratch state that starts before them) gives the history from the first.
  fields_floor_ = state_.seq();
  if (recent.empty() || recent.back().seq != state_.seq()) {
    return;
  }
  fields_floor_ = recent.front().seq - 1;
  // Whether an op changed its note depends on the state before it, which only the replay of
  // the whole log from its start would give; record every op as if it did: a text op that was
  // a no-op is one on a missing note (never transformed against), and a barrier too many only
  // turns a text op into a conflict the client rebases.
  for (const auto& entry : recent) {
    auto op = parse_op_frame(*entry.frame);
    if (op) {
      record_fields(*op, *entry.frame);
    }
  }
}

std::string text_origin(std::string_view user_id, std::string_view cid) {
  std::string origin(user_id);
  origin += '\n';  // in neither: user ids and cids are [A-Za-z0-9_-]
  origin += cid;
  return origin;
}

text_prepared room_hub::transform_text(core::text_edit_op op, const std::string& origin,
                                       const core::limits& lim) {
  text_prepared out;
  out.seen_seq = state_.seq();
  const auto fail = [&](std::string code, std::string message) {
    out.code = std::move(code);
    out.message = std::move(message);
    return out;
  };
  const std::string key = store::field_key(op.id, core::field_name(op.field));
  if (op.base > state_.seq()) {
    return fail("conflict", "op.base is ahead of the room (" + std::to_string(state_.seq()) +
                                "): rebase and retry");
  }
  const auto it = fields_.find(key);
  const std::int64_t floor = it == fields_.end() ? fields_floor_ : it->second.floor;
  const std::int64_t barrier = it == fields_.end() ? 0 : it->second.barrier;
  if (barrier > op.base) {
    return fail("conflict", "the " + std::string(core::field_name(op.field)) +
                                " was replaced at seq " + std::to_string(barrier) +
                                ", after op.base: rebase and retry");
  }
  if (op.base < floor) {
    return fail("conflict", "op.base " + std::to_string(op.base) +
                                " is older than the history the server keeps: rebase and retry");
  }
  if (it != fields_.end()) {
    for (const auto& committed : it->second.texts) {
      if (committed.origin == origin) {
        out.seen_seq = committed.seq;
        return fail("duplicate", "already numbered at seq " + std::to_string(committed.seq));
      }
    }
  }
  if (it != fields_.end()) {
    for (const auto& [seq, committed, _] : it->second.texts) {
      if (seq <= op.base) {
        continue;
      }
      // The committed op was numbered first, so its inserts go first on a tie.
      auto moved = core::transform(op.ops, committed, false);
      if (!moved) {
        return fail("invalid", "op.ops does not span the " +
                                   std::string(core::field_name(op.field)) + " at op.base");
      }
      op.ops = std::move(moved->first);
    }
  }
  if (const core::note* n = state_.find(op.id)) {
    const std::string& text = op.field == core::text_field::title ? n->title : n->body;
    auto edited = core::apply_text_op(op.ops, text);
    if (!edited) {
      return fail("invalid", "op.ops does not span the " + std::string(core::field_name(op.field)) +
                                 " at op.base");
    }
    const std::size_t max =
        op.field == core::text_field::title ? lim.max_title_bytes : lim.max_body_bytes;
    if (edited->size() > max) {
      return fail("too_large", "the " + std::string(core::field_name(op.field)) +
                                   " would be over " + std::to_string(max) + " bytes");
    }
  }
  // A note that does not exist (and was not deleted after base): the op is numbered and is a
  // no-op everywhere, as an update of a missing note is.
  op.base = state_.seq();
  out.op = std::move(op);
  return out;
}

void room_hub::run_waiting_texts() {
  if (!loaded_ || waiting_texts_.empty()) {
    return;
  }
  auto waiting = std::move(waiting_texts_);
  waiting_texts_.clear();
  for (auto& w : waiting) {
    if (w.min_seq > state_.seq()) {
      waiting_texts_.push_back(std::move(w));
      continue;
    }
    w.done(transform_text(std::move(w.op), w.origin, w.lim));
  }
}

void room_hub::prepare_text(core::text_edit_op op, std::string origin, std::int64_t min_seq,
                            const core::limits& lim, std::function<void(text_prepared)> done) {
  asio::post(strand_, [self = shared_from_this(), op = std::move(op), origin = std::move(origin),
                       min_seq, lim, done = std::move(done)]() mutable {
    self->waiting_texts_.push_back(
        waiting_text{std::move(op), std::move(origin), min_seq, lim, std::move(done)});
    self->run_waiting_texts();
  });
}

void room_hub::join(std::shared_ptr<session_sink> sink, member_info who,
                    std::optional<std::int64_t> since, std::vector<std::string> in_doubt) {
  asio::post(strand_, [self = shared_from_this(), sink = std::move(sink), who = std::move(who),
                       since, in_doubt = std::move(in_doubt)]() mutable {
    pending_join j{std::move(sink), std::move(who), since, std::move(in_doubt), {}};
    // A socket that joins again (after it saw a gap) replaces its earlier membership.
    self->drop_session(j.sink.get());
    if (!self->loaded_) {
      self->pending_.push_back(std::move(j));
      return;
    }
    self->answer_join(std::move(j));
  });
}

void room_hub::run_ahead_joins(bool expired) {
  if (!loaded_ || ahead_joins_.empty()) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  auto parked = std::move(ahead_joins_);
  ahead_joins_.clear();
  for (auto& j : parked) {
    if (*j.since <= state_.seq() || (expired && now >= j.wait_until)) {
      answer_join(std::move(j));
    } else {
      ahead_joins_.push_back(std::move(j));
    }
  }
  if (ahead_joins_.empty()) {
    ahead_timer_.cancel();
  }
}

void room_hub::arm_ahead_timer() {
  if (ahead_joins_.empty()) {
    return;
  }
  // The oldest parked join has the earliest deadline.
  ahead_timer_.expires_at(ahead_joins_.front().wait_until);
  ahead_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) {
      return;  // cancelled, or armed again
    }
    if (auto self = weak.lock()) {
      self->run_ahead_joins(true);
      self->arm_ahead_timer();
    }
  });
}

std::string room_hub::snapshot_for(store::role r, const snapshot_doubts* doubts) {
  if (snapshot_seq_ != state_.seq()) {
    snapshot_notes_ = snapshot_notes(state_);
    snapshot_seq_ = state_.seq();
  }
  return snapshot_frame(meta_, r, stats(), state_.seq(), snapshot_notes_, doubts);
}

void room_hub::answer_join(pending_join j) {
  if (j.since && *j.since > state_.seq() &&
      j.wait_until == std::chrono::steady_clock::time_point{}) {
    // The client has seen ops this hub has not: they are on their way over the bus.
    j.wait_until = std::chrono::steady_clock::now() + ahead_join_wait;
    const bool arm = ahead_joins_.empty();
    ahead_joins_.push_back(std::move(j));
    if (arm) {
      arm_ahead_timer();
    }
    return;
  }
  // Resume only when the held ops run from since + 1 up to the room's seq: a seq reached
  // without an op (a room replaced by import, or renumbered by a repair) needs a snapshot.
  // A backlog longer than the client's resume budget is answered with a snapshot: resuming it
  // would only be cut by the slow-consumer limit, and the client would come back again.
  bool can_resume =
      j.since && *j.since <= state_.seq() &&
      (*j.since == state_.seq() || (!recent_.empty() && recent_.front().seq <= *j.since + 1 &&
                                    recent_.back().seq == state_.seq()));
  if (can_resume && *j.since < state_.seq()) {
    const std::size_t budget = j.sink->resume_budget();
    std::size_t backlog = 0;
    for (auto it = recent_.rbegin(); it != recent_.rend() && it->seq > *j.since; ++it) {
      backlog += it->frame->size();
      if (backlog > budget) {
        can_resume = false;
        break;
      }
    }
  }
  if (can_resume) {
    j.sink->deliver(make_frame(resume_frame(room_id_, *j.since)));
    for (const auto& entry : recent_) {
      if (entry.seq > *j.since) {
        j.sink->deliver(entry.frame);
      }
    }
  }
  auto& user = users_[j.who.user_id];
  const bool new_user = user.second == 0;
  user.first = j.who.user_name;
  ++user.second;
  refresh_active_users();
  if (!can_resume) {
    std::optional<snapshot_doubts> doubts;
    if (!j.in_doubt.empty()) {
      // Which of the client's ops in doubt the log numbered, among the ops this hub holds
      // (every op from `checked_from` on). Ids are [A-Za-z0-9_-], so the frame spells them as is.
      doubts.emplace();
      doubts->checked_from = recent_.empty() ? state_.seq() + 1 : recent_.front().seq;
      const std::string user = R"("user":")" + j.who.user_id + '"';
      for (const auto& entry : recent_) {
        if (entry.frame->find(user) == std::string::npos) {
          continue;
        }
        for (const auto& cid : j.in_doubt) {
          if (entry.frame->find(R"("cid":")" + cid + '"') != std::string::npos) {
            doubts->numbered[cid] = entry.seq;
          }
        }
      }
    }
    j.sink->deliver_snapshot(make_frame(snapshot_for(j.who.role, doubts ? &*doubts : nullptr)));
  }
  // The joining socket always learns who is here, even when its user was already present.
  j.sink->deliver(make_frame(presence_frame()));
  for (auto& frame : carets_.known(std::chrono::steady_clock::now(), j.sink.get())) {
    j.sink->deliver(std::move(frame));  // the carets already shown (this socket has none yet)
  }
  sessions_[j.sink.get()] = live_session{j.sink, std::move(j.who)};
  if (ctx_.join_latency != nullptr) {
    ctx_.join_latency->observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - j.asked).count());
  }
  touch_log();
  if (new_user) {
    schedule_presence();
    schedule_stats();
  }
}

void room_hub::leave(const std::shared_ptr<session_sink>& sink) {
  asio::post(strand_, [self = shared_from_this(), sink] {
    auto& pending = self->pending_;
    pending.erase(std::remove_if(pending.begin(), pending.end(),
                                 [&](const pending_join& j) { return j.sink == sink; }),
                  pending.end());
    self->drop_session(sink.get());
  });
}

void room_hub::cursor(const std::shared_ptr<session_sink>& sink, std::optional<caret> c) {
  asio::post(strand_, [self = shared_from_this(), sink, c = std::move(c)]() mutable {
    const auto it = self->sessions_.find(sink.get());
    if (it == self->sessions_.end()) {
      return;  // not (or no longer, or not yet) in the room
    }
    if (self->carets_.set_local(sink.get(), it->second.who.user_id, it->second.who.user_name,
                                std::move(c))) {
      self->schedule(self->caret_gate_, &room_hub::flush_carets);
    }
  });
}

void room_hub::flush_carets() {
  caret_gate_.sent = std::chrono::steady_clock::now();
  for (auto& frame : carets_.flush()) {
    ctx_.bus.publish(store::room_channel(room_id_), store::bus_message{0, std::move(frame)});
  }
}

void room_hub::on_cursor(const store::bus_message& m) {
  session_sink* from = carets_.on_frame(m.frame, std::chrono::steady_clock::now());
  for (const auto& [sink, s] : sessions_) {
    if (sink != from) {
      s.sink->deliver(m.frame);
    }
  }
}

void room_hub::drop_session(session_sink* sink) {
  // A join still waiting for ops ahead of this hub is answered no more.
  std::erase_if(ahead_joins_,
                [&](const pending_join& parked) { return parked.sink.get() == sink; });
  if (carets_.drop_local(sink)) {
    schedule(caret_gate_, &room_hub::flush_carets);
  }
  auto it = sessions_.find(sink);
  if (it == sessions_.end()) {
    return;
  }
  auto user = users_.find(it->second.who.user_id);
  sessions_.erase(it);
  if (user != users_.end() && --user->second.second <= 0) {
    users_.erase(user);
    refresh_active_users();
    schedule_presence();
    schedule_stats();
  }
}

std::optional<core::room_state> room_hub::copy_state() {
  auto answer = std::make_shared<std::promise<std::optional<core::room_state>>>();
  auto future = answer->get_future();
  asio::post(strand_, [self = shared_from_this(), answer] {
    answer->set_value(self->loaded_ ? std::optional<core::room_state>(self->state_) : std::nullopt);
  });
  if (future.wait_for(5s) != std::future_status::ready) {
    return std::nullopt;  // the strand is busy for that long: treat the state as unknown
  }
  return future.get();
}

room_stats room_hub::stats() const {
  return room_stats{active_users_.load(), static_cast<std::int64_t>(note_count_.load())};
}

void room_hub::fail_pending(const std::string& message) {
  auto frame = make_frame(error_frame("unavailable", message, room_id_));
  for (auto& j : pending_) {
    j.sink->deliver(frame);
    j.sink->join_failed(room_id_);
  }
  pending_.clear();
}

store::user_set room_hub::present_users() const {
  store::user_set users = fleet_users_;
  for (const auto& [id, entry] : users_) {
    users.insert_or_assign(id, entry.first);
  }
  return users;
}

void room_hub::refresh_active_users() {
  active_users_ = static_cast<std::int64_t>(present_users().size());
  if (active_users_ != written_count_) {
    schedule_count_write();
  }
}

void room_hub::schedule_count_write() {
  if (count_write_scheduled_) {
    return;
  }
  count_write_scheduled_ = true;
  count_timer_.expires_after(1s);
  count_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    self->count_write_scheduled_ = false;
    const std::int64_t count = self->active_users_.load();
    if (ec || count == self->written_count_ || self->ctx_.shutting_down) {
      return;
    }
    self->written_count_ = count;
    asio::post(self->ctx_.pool, [self, count] {
      try {
        self->ctx_.cold.set_active_user_count(self->room_id_, count);
      } catch (const std::exception& e) {
        spdlog::warn("room {}: active user count not stored: {}", self->room_id_, e.what());
        asio::post(self->strand_, [self] {
          self->written_count_ = -1;  // try again with the next change
        });
      }
    });
  });
}

std::string room_hub::presence_frame() const {
  const auto present = present_users();
  std::vector<std::pair<std::string, std::string>> users;  // (name, id) for a stable order
  users.reserve(present.size());
  for (const auto& [id, name] : present) {
    users.emplace_back(name, id);
  }
  std::sort(users.begin(), users.end());
  boost::json::array list;
  for (const auto& [name, id] : users) {
    list.emplace_back(boost::json::object{{"id", id}, {"name", name}});
  }
  boost::json::object o;
  o["type"] = "presence";
  o["room"] = room_id_;
  o["active_user_count"] = static_cast<std::int64_t>(users.size());
  o["users"] = std::move(list);
  return boost::json::serialize(o);
}

void room_hub::schedule_presence() {
  schedule(presence_gate_, &room_hub::send_presence);
}

void room_hub::schedule_stats() {
  schedule(stats_gate_, &room_hub::send_stats);
}

// Sends at once when the last send is older than the interval, else once when it has passed;
// changes in between fold into that one send.
void room_hub::schedule(rate_gate& gate, void (room_hub::*send)()) {
  if (gate.pending) {
    return;
  }
  const auto due = gate.sent + gate.interval;
  if (std::chrono::steady_clock::now() >= due) {
    (this->*send)();
    return;
  }
  gate.pending = true;
  gate.timer.expires_at(due);
  gate.timer.async_wait([self = shared_from_this(), &gate, send](boost::system::error_code) {
    gate.pending = false;
    ((*self).*send)();
  });
}

void room_hub::sync_presence(bool write, bool announce) {
  if (presence_sync_running_) {
    presence_sync_queued_ = true;
    presence_sync_queued_write_ = presence_sync_queued_write_ || write;
    presence_sync_queued_announce_ = presence_sync_queued_announce_ || announce;
    return;
  }
  presence_sync_running_ = true;
  store::user_set local;
  for (const auto& [id, entry] : users_) {
    local.emplace(id, entry.first);
  }
  auto self = shared_from_this();
  asio::post(ctx_.pool, [self, local = std::move(local), write, announce] {
    std::optional<store::user_set> fleet;
    try {
      const auto& ctx = self->ctx_;
      auto& presence = *ctx.presence;
      if (write) {
        presence.set_local(self->room_id_, ctx.instance_id, local, ctx.settings.presence_ttl);
      }
      fleet = presence.room_users(self->room_id_);
      if (announce) {
        ctx.bus.publish(store::room_channel(self->room_id_),
                        store::bus_message{0, make_frame(std::string(presence_changed_marker))});
      }
    } catch (const std::exception& e) {
      spdlog::warn("room {}: presence store: {}", self->room_id_, e.what());
    }
    asio::post(self->strand_, [self, fleet = std::move(fleet)] {
      self->presence_sync_running_ = false;
      if (fleet && *fleet != self->fleet_users_) {
        self->fleet_users_ = std::move(*fleet);
        self->refresh_active_users();
        self->broadcast_presence();
        self->schedule_stats();
      }
      if (self->presence_sync_queued_) {
        self->presence_sync_queued_ = false;
        const bool w = std::exchange(self->presence_sync_queued_write_, false);
        const bool a = std::exchange(self->presence_sync_queued_announce_, false);
        self->sync_presence(w, a);
      }
    });
  });
}

// Renews this server's presence entry well inside its expiry and notices servers that died.
void room_hub::schedule_heartbeat() {
  heartbeat_timer_.expires_after(ctx_.settings.presence_ttl / 3);
  heartbeat_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) {
      return;
    }
    self->sync_presence(!self->users_.empty(), false);
    if (!self->users_.empty()) {
      self->touch_log();
    }
    self->schedule_heartbeat();
  });
}

// A join or a present user starts the hot log's expiry period again, at most a few times per
// period (one small script call per room, not one per heartbeat).
void room_hub::touch_log() {
  const auto period = ctx_.settings.hot_log_ttl;
  const auto every = std::clamp<std::chrono::steady_clock::duration>(
      period / 4, std::chrono::milliseconds(250), std::chrono::minutes(10));
  const auto now = std::chrono::steady_clock::now();
  if (now - last_touch_ < every) {
    return;
  }
  last_touch_ = now;
  asio::post(ctx_.pool, [self = shared_from_this()] {
    try {
      self->ctx_.hot.touch_room(self->room_id_);
    } catch (const std::exception& e) {
      spdlog::warn("room {}: hot log expiry not renewed: {}", self->room_id_, e.what());
    }
  });
}

void room_hub::send_presence() {
  presence_gate_.sent = std::chrono::steady_clock::now();
  if (ctx_.presence != nullptr) {
    // The frame goes out when the fleet's view comes back (and to the other servers' users
    // through their hubs).
    sync_presence(true, true);
  }
  broadcast_presence();
}

void room_hub::broadcast_presence() {
  auto frame = make_frame(presence_frame());
  for (auto& [_, s] : sessions_) {
    s.sink->deliver(frame);
  }
}

void room_hub::send_stats() {
  const auto now = stats();
  if (now.active_user_count == last_published_.active_user_count &&
      now.total_notes == last_published_.total_notes) {
    return;
  }
  last_published_ = now;
  stats_gate_.sent = std::chrono::steady_clock::now();
  ctx_.bus.publish(store::stats_channel,
                   store::bus_message{0, make_frame(room_stat_frame(meta_, now))});
}

void room_hub::schedule_idle_check() {
  asio::post(strand_, [self = shared_from_this()] {
    self->idle_timer_.expires_after(self->ctx_.settings.room_idle);
    self->idle_timer_.async_wait([self](boost::system::error_code ec) {
      if (!ec) {
        self->registry_.maybe_unload(self);
      }
    });
  });
}

// ---- registry ----

std::shared_ptr<room_hub> hub_registry::acquire(const std::string& room_id) {
  std::lock_guard lock(mutex_);
  auto& e = hubs_[room_id];
  if (!e.hub) {
    e.hub = std::make_shared<room_hub>(*this, room_id);
    e.hub->start();
  }
  ++e.pins;
  return e.hub;
}

void hub_registry::release(const std::shared_ptr<room_hub>& hub) {
  bool idle = false;
  {
    std::lock_guard lock(mutex_);
    auto it = hubs_.find(hub->room_id());
    if (it != hubs_.end() && it->second.hub == hub && --it->second.pins <= 0) {
      it->second.pins = 0;
      idle = true;
    }
  }
  if (idle) {
    hub->schedule_idle_check();
  }
}

std::shared_ptr<room_hub> hub_registry::find(const std::string& room_id) {
  std::lock_guard lock(mutex_);
  auto it = hubs_.find(room_id);
  return it == hubs_.end() ? nullptr : it->second.hub;
}

void hub_registry::maybe_unload(const std::shared_ptr<room_hub>& hub) {
  std::lock_guard lock(mutex_);
  auto it = hubs_.find(hub->room_id());
  if (it != hubs_.end() && it->second.hub == hub && it->second.pins == 0) {
    hubs_.erase(it);
  }
}

void hub_registry::forget(const std::shared_ptr<room_hub>& hub) {
  std::lock_guard lock(mutex_);
  auto it = hubs_.find(hub->room_id());
  if (it != hubs_.end() && it->second.hub == hub) {
    hubs_.erase(it);
  }
}

void hub_registry::unsubscribe_all() {
  std::lock_guard lock(mutex_);
  for (auto& [_, e] : hubs_) {
    e.hub->unsubscribe();
  }
}

std::size_t hub_registry::size() {
  std::lock_guard lock(mutex_);
  return hubs_.size();
}

}  // namespace fun_notes::server::rooms

// The room replica: base + outbox, the join state machine and the offline merge rules.
#include "sync/replica.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "fun_notes/core/order.hpp"
#include "sync/overloaded.hpp"
#include "sync/text_edit.hpp"

namespace fun_notes::cli::sync {

namespace {

// A rebalance frame stays well under the server's 64 KiB frame limit.
constexpr std::size_t rebalance_chunk = 500;
// The smallest spacing a window rebalance leaves between neighbours.
constexpr double min_spacing = 1e-6;

// The note an op is aimed at (empty for a rebalance, which names many).
std::string target_of(const core::op& o) {
  return std::visit(overloaded{[](const core::create_op& c) { return c.id; },
                               [](const core::update_op& u) { return u.id; },
                               [](const core::move_op& m) { return m.id; },
                               [](const core::rebalance_op&) { return std::string(); },
                               [](const core::delete_op& d) { return d.id; },
                               [](const core::text_edit_op& t) { return t.id; }},
                    o);
}

bool aims_at(const core::op& o, std::string_view id) {
  if (const auto* r = std::get_if<core::rebalance_op>(&o)) {
    return std::any_of(r->indexes.begin(), r->indexes.end(),
                       [&](const auto& entry) { return entry.first == id; });
  }
  return target_of(o) == id;
}

bool sets_text(const core::op& o) {
  const auto* u = std::get_if<core::update_op>(&o);
  return u != nullptr && (u->title || u->body);
}

// "“Shopping list”", or "a note" for an untitled one; long titles are cut.
std::string quoted(const core::note& n) {
  if (n.title.empty()) {
    return "an untitled note";
  }
  std::string t = n.title;
  if (t.size() > 40) {
    std::size_t cut = 40;
    while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) {
      --cut;  // never split a UTF-8 sequence
    }
    t = t.substr(0, cut) + "…";
  }
  return "“" + t + "”";
}

std::string excerpt(const std::string& text) {
  std::string t = text;
  if (t.size() > 60) {
    std::size_t cut = 60;
    while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    t = t.substr(0, cut) + "…";
  }
  std::replace(t.begin(), t.end(), '\n', ' ');
  return "“" + t + "”";
}

// How an op bears on one note field: `text` edits it character by character, `replace` sets it
// whole (an update of the field, a create or a delete of the note: a text op made before it no
// longer applies after it).
enum class bearing { none, text, replace };

bearing bearing_on(const core::op& o, std::string_view id, core::text_field f) {
  return std::visit(
      overloaded{
          [&](const core::text_edit_op& t) {
            return t.id == id && t.field == f ? bearing::text : bearing::none;
          },
          [&](const core::update_op& u) {
            const bool sets =
                f == core::text_field::title ? u.title.has_value() : u.body.has_value();
            return u.id == id && sets ? bearing::replace : bearing::none;
          },
          [&](const core::create_op& c) { return c.id == id ? bearing::replace : bearing::none; },
          [&](const core::delete_op& d) { return d.id == id ? bearing::replace : bearing::none; },
          [](const auto&) { return bearing::none; }},
      o);
}

constexpr core::text_field both_fields[] = {core::text_field::title, core::text_field::body};

// Ops in doubt a join names at most (the server refuses more).
constexpr std::size_t max_in_doubt = 256;

void touched_ids(const core::op& o, std::set<std::string>& into) {
  if (const auto* r = std::get_if<core::rebalance_op>(&o)) {
    for (const auto& entry : r->indexes) {
      into.insert(entry.first);
    }
    return;
  }
  into.insert(target_of(o));
}

}  // namespace

void effects::append(effects&& other) {
  for (auto& f : other.frames) {
    frames.push_back(std::move(f));
  }
  for (auto& n : other.notices) {
    notices.push_back(std::move(n));
  }
  for (auto& c : other.text_changes) {
    text_changes.push_back(std::move(c));
  }
  view_changed = view_changed || other.view_changed;
  persist = persist || other.persist;
  gap = gap || other.gap;
}

replica::replica(std::string room_id) : room_id_(std::move(room_id)) {
  info_.id = room_id_;
}

replica::replica(room_info info, core::room_state base, std::vector<local_op> outbox)
    : room_id_(info.id),
      info_(std::move(info)),
      base_(std::move(base)),
      outbox_(std::move(outbox)),
      loaded_(true) {
  // Whatever was written to a socket before is in doubt now: the next join settles it.
  for (auto& o : outbox_) {
    o.sent = false;
    o.was_sent = std::holds_alternative<core::text_edit_op>(o.op);
    saved_cids_.insert(o.cid);
    known_cids_.insert(o.cid);
  }
}

const std::vector<core::note>& replica::view() const {
  if (!view_valid_) {
    if (outbox_.empty()) {
      view_ = base_.sorted_notes();
    } else {
      core::room_state local = base_;
      for (const local_op& o : outbox_) {
        // Local ops keep the base seq: the notes they touch are not newer than the server's.
        local.apply(core::applied_op{base_.seq(), o.at, o.op});
      }
      view_ = local.sorted_notes();
    }
    view_valid_ = true;
  }
  return view_;
}

const core::note* replica::find(std::string_view note_id) const {
  const auto& notes = view();
  const auto it = std::find_if(notes.begin(), notes.end(),
                               [&](const core::note& n) { return n.id == note_id; });
  return it == notes.end() ? nullptr : &*it;
}

bool replica::has_unsent() const {
  return std::any_of(outbox_.begin(), outbox_.end(), [](const local_op& o) { return !o.sent; });
}

effects replica::enqueue(local_op op) {
  effects fx;
  if (read_only()) {
    fx.notices.push_back({target_of(op.op), "this room is read-only for you (viewer)"});
    return fx;
  }
  auto checked = core::parse_op(boost::json::value(core::to_json(op.op)), limits_);
  if (!checked) {
    std::string message = checked.err().message;
    if (checked.err().code == "too_large") {
      message = "too long to send: a title holds at most " +
                std::to_string(limits_.max_title_bytes) + " bytes and a body " +
                std::to_string(limits_.max_body_bytes) + " bytes";
    }
    fx.notices.push_back({target_of(op.op), message});
    return fx;
  }
  known_cids_.insert(op.cid);
  outbox_.push_back(std::move(op));
  return outbox_changed();
}

effects replica::outbox_changed() {
  effects fx;
  dirty_.outbox = true;
  mark_view_dirty();
  fx.view_changed = true;
  fx.persist = true;
  fx.append(send_unsent());
  return fx;
}

effects replica::send_unsent() {
  effects fx;
  if (state_ != link_state::live) {
    return fx;
  }
  std::set<std::string> held;  // notes with a text op waiting: their later ops wait too
  for (std::size_t i = 0; i < outbox_.size(); ++i) {
    local_op& o = outbox_[i];
    if (o.sent) {
      continue;
    }
    const std::string target = target_of(o.op);
    if (!target.empty() && held.contains(target)) {
      continue;
    }
    if (auto* t = std::get_if<core::text_edit_op>(&o.op)) {
      // One op per field in flight: a text op waits for every earlier op on its field (its
      // text is the one they make), and the note's later ops wait with it, to keep their order.
      const auto earlier = outbox_.begin() + static_cast<std::ptrdiff_t>(i);
      if (std::any_of(outbox_.begin(), earlier, [&](const local_op& e) {
            return bearing_on(e.op, t->id, t->field) != bearing::none;
          })) {
        held.insert(target);
        continue;
      }
      // No earlier op touches the field, so its text in the view is the base's.
      t->base = base_.seq();
    }
    fx.frames.push_back(op_frame(room_id_, o.cid, o.op));
    o.sent = true;
    o.was_sent = true;
  }
  return fx;
}

std::vector<std::string> replica::in_doubt() const {
  std::vector<std::string> out;
  for (const local_op& o : outbox_) {
    if (o.was_sent && std::holds_alternative<core::text_edit_op>(o.op) &&
        out.size() < max_in_doubt) {
      out.push_back(o.cid);
    }
  }
  return out;
}

std::optional<core::text_op> replica::rebase_outbox(std::string_view note_id,
                                                    core::text_field field, core::text_op change) {
  for (local_op& o : outbox_) {
    const bearing b = bearing_on(o.op, note_id, field);
    if (b == bearing::replace) {
      return std::nullopt;  // what follows applies to the text this op sets
    }
    if (b != bearing::text) {
      continue;
    }
    auto& t = std::get<core::text_edit_op>(o.op);
    // The change is numbered already: its inserts go first on a tie, as on the server.
    auto moved = core::transform(t.ops, change, false);
    if (!moved) {
      return std::nullopt;  // a well-kept outbox never gets here
    }
    t.ops = std::move(moved->first);
    change = std::move(moved->second);
    dirty_.outbox = true;
  }
  return change;
}

void replica::rebase_onto_snapshot(const core::room_state& old_base, const snapshot_msg& m) {
  const core::room_state fresh(m.seq, m.notes);
  const bool exact = m.checked_from && *m.checked_from <= old_base.seq() + 1;
  std::set<std::string> drop;
  std::set<std::pair<std::string, core::text_field>> done;
  for (const local_op& first : outbox_) {
    const auto* t = std::get_if<core::text_edit_op>(&first.op);
    if (t == nullptr || !done.emplace(t->id, t->field).second) {
      continue;
    }
    const core::note* was = old_base.find(t->id);
    const core::note* now = fresh.find(t->id);
    if (was == nullptr || now == nullptr) {
      continue;  // created here, or deleted there: reconcile settles it
    }
    // The field's chain of text ops, when no local replace comes before it.
    std::vector<local_op*> chain;
    for (local_op& o : outbox_) {
      const bearing b = bearing_on(o.op, t->id, t->field);
      if (b == bearing::replace) {
        break;
      }
      if (b == bearing::text) {
        chain.push_back(&o);
      }
    }
    if (chain.empty() || chain.front() != &first) {
      continue;
    }
    std::string text = field_text(*was, t->field);
    const std::string& theirs = field_text(*now, t->field);
    std::size_t k = 0;
    for (; k < chain.size() && chain[k]->was_sent; ++k) {
      const auto& op = std::get<core::text_edit_op>(chain[k]->op).ops;
      auto with = core::apply_text_op(op, text);
      if (!with) {
        break;
      }
      // The server's answer is exact; without it, the op counts as numbered when the
      // snapshot's text is nearer the text with it than without it.
      const bool numbered =
          exact ? m.numbered.contains(chain[k]->cid)
                : change_size(text_diff(*with, theirs)) < change_size(text_diff(text, theirs));
      if (!numbered) {
        break;
      }
      text = std::move(*with);
      drop.insert(chain[k]->cid);
    }
    core::text_op change = text_diff(text, theirs);
    for (; k < chain.size(); ++k) {
      auto& op = std::get<core::text_edit_op>(chain[k]->op).ops;
      auto moved = core::transform(op, change, false);
      if (!moved) {
        break;
      }
      op = std::move(moved->first);
      change = std::move(moved->second);
    }
  }
  if (!drop.empty()) {
    std::erase_if(outbox_, [&](const local_op& o) { return drop.contains(o.cid); });
  }
  dirty_.outbox = true;
}

effects replica::adopt(const std::vector<local_op>& queued) {
  effects fx;
  for (const local_op& o : queued) {
    if (!known_cids_.insert(o.cid).second) {
      continue;
    }
    outbox_.push_back(local_op{o.cid, o.op, o.at, false});
    saved_cids_.insert(o.cid);  // the cache holds it already
    fx.view_changed = true;
  }
  if (fx.view_changed) {
    mark_view_dirty();
    fx.append(send_unsent());
  }
  return fx;
}

effects replica::flush() {
  return send_unsent();
}

effects replica::create(core::create_op note, std::string cid, std::string at) {
  if (find(note.id) != nullptr) {
    return effects{{}, {{note.id, "a note with that id exists already"}}};
  }
  return enqueue(local_op{std::move(cid), core::op{std::move(note)}, std::move(at), false});
}

effects replica::update(core::update_op change, std::string cid, std::string at) {
  const core::note* current = find(change.id);
  if (current == nullptr) {
    return effects{{}, {{change.id, "that note no longer exists"}}};
  }
  // Consecutive edits of one note that have not gone out yet travel as one op.
  if (!outbox_.empty() && !outbox_.back().sent) {
    if (auto* last = std::get_if<core::update_op>(&outbox_.back().op);
        last && last->id == change.id) {
      const local_op previous = outbox_.back();
      core::update_op merged = *last;
      if (change.title) {
        merged.title = change.title;
      }
      if (change.body) {
        merged.body = change.body;
      }
      if (change.is_important) {
        merged.is_important = change.is_important;
      }
      if (change.is_completed) {
        merged.is_completed = change.is_completed;
      }
      local_op candidate{outbox_.back().cid, core::op{merged}, std::move(at), false};
      outbox_.pop_back();
      effects fx = enqueue(std::move(candidate));
      if (!fx.notices.empty() && !fx.view_changed) {
        // Refused: put the earlier edit back as it was.
        outbox_.push_back(previous);
      }
      return fx;
    }
  }
  return enqueue(local_op{std::move(cid), core::op{std::move(change)}, std::move(at), false});
}

effects replica::edit_text(std::string_view note_id, core::text_field field, core::text_op op,
                           std::string cid, std::string at) {
  const core::note* current = find(note_id);
  if (current == nullptr) {
    return effects{{}, {{std::string(note_id), "that note no longer exists"}}};
  }
  if (op.is_noop()) {
    return {};
  }
  auto after = core::apply_text_op(op, field_text(*current, field));
  if (!after) {
    return effects{{}, {{std::string(note_id), after.err().message}}};
  }
  const std::size_t limit =
      field == core::text_field::title ? limits_.max_title_bytes : limits_.max_body_bytes;
  if (after->size() > limit) {
    return effects{{},
                   {{std::string(note_id),
                     std::string(field == core::text_field::title ? "a title" : "a body") +
                         " holds at most " + std::to_string(limit) + " bytes"}}};
  }
  if (read_only()) {
    return effects{{}, {{std::string(note_id), "this room is read-only for you (viewer)"}}};
  }
  // Typing into a note whose create has not gone out yet: the create carries the text.
  const auto last_on_note = std::find_if(outbox_.rbegin(), outbox_.rend(),
                                         [&](const local_op& o) { return aims_at(o.op, note_id); });
  if (last_on_note != outbox_.rend() && !last_on_note->sent && !last_on_note->was_sent) {
    if (auto* c = std::get_if<core::create_op>(&last_on_note->op)) {
      (field == core::text_field::title ? c->title : c->body) = std::move(*after);
      last_on_note->at = std::move(at);
      return outbox_changed();
    }
  }
  // Typing on while the op before it waits: one op, composed.
  if (!outbox_.empty() && !outbox_.back().sent && !outbox_.back().was_sent) {
    if (auto* last = std::get_if<core::text_edit_op>(&outbox_.back().op);
        last != nullptr && last->id == note_id && last->field == field) {
      if (auto composed = core::compose(last->ops, op)) {
        if (composed->is_noop()) {
          outbox_.pop_back();  // typed and erased again: nothing to send
        } else {
          last->ops = std::move(*composed);
          outbox_.back().at = std::move(at);
        }
        return outbox_changed();
      }
    }
  }
  return enqueue(local_op{
      std::move(cid),
      core::op{core::text_edit_op{std::string(note_id), field, base_.seq(), std::move(op)}},
      std::move(at)});
}

effects replica::remove(std::string_view note_id, std::string cid, std::string at) {
  if (find(note_id) == nullptr) {
    return effects{{}, {{std::string(note_id), "that note no longer exists"}}};
  }
  return enqueue(
      local_op{std::move(cid), core::op{core::delete_op{std::string(note_id)}}, std::move(at)});
}

effects replica::move(std::string_view note_id, move_target target, std::string cid,
                      std::string at) {
  const auto& notes = view();
  const auto it = std::find_if(notes.begin(), notes.end(),
                               [&](const core::note& n) { return n.id == note_id; });
  if (it == notes.end()) {
    return effects{{}, {{std::string(note_id), "that note no longer exists"}}};
  }
  const std::size_t from = static_cast<std::size_t>(it - notes.begin());
  const std::size_t last = notes.size() - 1;
  std::size_t to = from;
  switch (target.where) {
    case move_target::kind::up:
      to = from == 0 ? 0 : from - 1;
      break;
    case move_target::kind::down:
      to = std::min(from + 1, last);
      break;
    case move_target::kind::top:
      to = 0;
      break;
    case move_target::kind::bottom:
      to = last;
      break;
    case move_target::kind::position:
      to = std::min(target.position, last);
      break;
  }
  if (to == from) {
    return {};
  }
  // The order after the move: the others as they are, the note at `to`.
  std::vector<const core::note*> order;
  order.reserve(notes.size());
  for (const core::note& n : notes) {
    if (n.id != note_id) {
      order.push_back(&n);
    }
  }
  order.insert(order.begin() + static_cast<std::ptrdiff_t>(to), &*it);

  const auto index_at = [&](std::size_t i) { return order[i]->current_index; };
  std::optional<double> before = to > 0 ? std::optional(index_at(to - 1)) : std::nullopt;
  std::optional<double> after =
      to + 1 < order.size() ? std::optional(index_at(to + 1)) : std::nullopt;
  if (auto index = core::between(before, after)) {
    return enqueue(local_op{std::move(cid), core::op{core::move_op{std::string(note_id), *index}},
                            std::move(at)});
  }
  // Out of room between the neighbours: renumber the smallest window around the note whose
  // outer neighbours leave enough space, the note included.
  std::size_t lo = to;
  std::size_t hi = to + 1;  // window [lo, hi)
  std::vector<double> fresh;
  for (std::size_t width = 2;; width *= 2) {
    lo = to >= width ? to - width : 0;
    hi = std::min(order.size(), to + width + 1);
    const std::optional<double> left = lo > 0 ? std::optional(index_at(lo - 1)) : std::nullopt;
    const std::optional<double> right =
        hi < order.size() ? std::optional(index_at(hi)) : std::nullopt;
    const std::size_t count = hi - lo;
    fresh.clear();
    if (!left && !right) {
      fresh = core::spread_indexes(count);
    } else if (left && right) {
      const double spacing = (*right - *left) / static_cast<double>(count + 1);
      if (spacing < min_spacing) {
        continue;
      }
      for (std::size_t k = 0; k < count; ++k) {
        fresh.push_back(*left + spacing * static_cast<double>(k + 1));
      }
    } else if (left) {
      for (std::size_t k = 0; k < count; ++k) {
        fresh.push_back(*left + core::index_step * static_cast<double>(k + 1));
      }
    } else {
      for (std::size_t k = 0; k < count; ++k) {
        fresh.push_back(*right - core::index_step * static_cast<double>(count - k));
      }
    }
    const bool increasing =
        std::adjacent_find(fresh.begin(), fresh.end(), std::greater_equal<>()) == fresh.end() &&
        (!left || fresh.front() > *left) && (!right || fresh.back() < *right);
    if (increasing) {
      break;
    }
  }
  effects fx;
  for (std::size_t start = lo; start < hi; start += rebalance_chunk) {
    core::rebalance_op r;
    for (std::size_t i = start; i < std::min(hi, start + rebalance_chunk); ++i) {
      r.indexes.emplace_back(order[i]->id, fresh[i - lo]);
    }
    fx.append(enqueue(local_op{start == lo ? cid : cid + "-" + std::to_string(start - lo),
                               core::op{std::move(r)}, at}));
  }
  return fx;
}

effects replica::on_connected() {
  effects fx;
  state_ = link_state::joining;
  answer_started_ = false;
  join_error_.reset();
  if (!join_base_) {
    join_base_ = base_;
  }
  fx.frames.push_back(
      join_frame(room_id_, loaded_ ? std::optional(base_.seq()) : std::nullopt, in_doubt()));
  return fx;
}

void replica::on_disconnected() {
  state_ = link_state::offline;
  answer_started_ = false;
  users_.clear();
  active_user_count_ = 0;
}

effects replica::on_message(const server_msg& msg) {
  return std::visit(
      overloaded{
          [&](const snapshot_msg& m) { return on_snapshot(m); },
          [&](const resume_msg& m) { return on_resume(m); },
          [&](const op_msg& m) { return on_op(m); },
          [&](const reject_msg& m) { return on_reject(m); },
          [&](const presence_msg& m) { return on_presence(m); },
          [&](const error_msg& m) {
            effects fx;
            const bool refused = m.code == "forbidden" || m.code == "not_found";
            if (refused && state_ == link_state::joining) {
              join_error_ = m;
              state_ = link_state::offline;
              fx.notices.push_back({{},
                                    m.code == "forbidden" ? "you may not open this room"
                                                          : "no such room on the server"});
            } else if (refused && state_ == link_state::live && m.room == room_id_) {
              // Access lost while in the room: removed, no longer public, or deleted.
              join_error_ = m;
              state_ = link_state::offline;
              fx.notices.push_back({{},
                                    m.code == "forbidden" ? "you no longer have access to this room"
                                                          : "this room was deleted"});
              fx.view_changed = true;
            }
            return fx;
          },
          [&](const role_msg& m) {
            effects fx;
            if (m.room == room_id_ && !m.role.empty() && m.role != info_.role) {
              info_.role = m.role;
              fx.notices.push_back({{},
                                    m.role == "viewer" ? "you can now only read this room"
                                                       : "you are now " + m.role + " here"});
              mark_view_dirty();
              fx.view_changed = true;
              fx.persist = true;
            }
            return fx;
          },
          [](const auto&) { return effects{}; },
      },
      msg);
}

effects replica::on_snapshot(const snapshot_msg& m) {
  effects fx;
  if (loaded_) {
    rebase_onto_snapshot(base_, m);
  }
  base_ = core::room_state(m.seq, m.notes);
  if (!m.info.id.empty()) {
    info_ = m.info;
  }
  loaded_ = true;
  answer_started_ = true;
  dirty_.everything = true;
  mark_view_dirty();
  fx.view_changed = true;
  fx.persist = true;
  return fx;
}

effects replica::on_resume(const resume_msg&) {
  answer_started_ = true;
  return {};
}

void replica::apply_to_base(const core::applied_op& o) {
  touched_ids(o.operation, dirty_.notes);
  base_.apply(o);
  info_.total_notes = static_cast<std::int64_t>(base_.size());
  mark_view_dirty();
}

effects replica::on_op(const op_msg& m) {
  effects fx;
  if (m.applied.seq <= base_.seq()) {
    return fx;  // already applied (a replay overlapping what the cache held)
  }
  if (m.applied.seq != base_.seq() + 1 && loaded_) {
    // A gap: ask again from what we hold; the answer brings every op since.
    if (state_ == link_state::joining && !answer_started_) {
      return fx;  // the old stream still drains; the join's answer follows
    }
    state_ = link_state::joining;
    answer_started_ = false;
    if (!join_base_) {
      join_base_ = base_;
    }
    fx.frames.push_back(join_frame(room_id_, base_.seq(), in_doubt()));
    fx.gap = true;
    return fx;
  }
  const auto own = std::find_if(outbox_.begin(), outbox_.end(), [&](const local_op& o) {
    return !m.cid.empty() && o.cid == m.cid;
  });
  const bool is_own = own != outbox_.end();
  const core::note* before = nullptr;
  core::note deleted;
  std::optional<core::note> typed_into;  // a note deleted while the user types into it
  if (const auto* d = std::get_if<core::delete_op>(&m.applied.operation); d && !is_own) {
    if (const core::note* n = base_.find(d->id)) {
      deleted = *n;
      before = &deleted;
    }
    const bool typing = std::any_of(outbox_.begin(), outbox_.end(), [&](const local_op& o) {
      const auto* t = std::get_if<core::text_edit_op>(&o.op);
      return t != nullptr && t->id == d->id;
    });
    if (const core::note* shown = find(d->id); typing && shown != nullptr) {
      typed_into = *shown;
    }
  }
  // The text of the fields a remote op changes, as the base held them.
  const std::string target = target_of(m.applied.operation);
  std::vector<std::pair<core::text_field, std::optional<std::string>>> fields_before;
  if (!is_own && !target.empty()) {
    const core::note* n = base_.find(target);
    for (const core::text_field f : both_fields) {
      if (bearing_on(m.applied.operation, target, f) != bearing::none) {
        fields_before.emplace_back(f,
                                   n != nullptr ? std::optional(field_text(*n, f)) : std::nullopt);
      }
    }
  }
  apply_to_base(m.applied);
  fx.persist = true;
  fx.view_changed = true;
  if (typed_into) {
    // An edit beats a concurrent delete: the note comes back as the user sees it, typing and
    // all, and every op on it the outbox held is in the create.
    const std::string& id = typed_into->id;
    std::vector<local_op> kept;
    for (local_op& o : outbox_) {
      if (auto* r = std::get_if<core::rebalance_op>(&o.op)) {
        std::erase_if(r->indexes, [&](const auto& e) { return e.first == id; });
        if (!r->indexes.empty()) {
          kept.push_back(std::move(o));
        }
      } else if (target_of(o.op) != id) {
        kept.push_back(std::move(o));
      }
    }
    outbox_ = std::move(kept);
    dirty_.outbox = true;
    mark_view_dirty();
    const core::note& n = *typed_into;
    fx.append(enqueue(local_op{"restore-" + id + "-" + std::to_string(m.applied.seq),
                               core::op{core::create_op{n.id, n.title, n.body, n.is_important,
                                                        n.is_completed, n.current_index}},
                               m.applied.at}));
    fx.notices.push_back({id, quoted(n) +
                                  " was deleted by someone else while you typed in it; your text "
                                  "brought it back"});
    return fx;
  }
  for (auto& [f, was] : fields_before) {
    const core::note* n = base_.find(target);
    std::optional<core::text_op> change;
    if (const auto* t = std::get_if<core::text_edit_op>(&m.applied.operation)) {
      if (was && core::apply_text_op(t->ops, *was)) {
        change = t->ops;
      }
    } else if (was && n != nullptr) {
      change = text_diff(*was, field_text(*n, f));
    }
    if (!change) {
      fx.text_changes.push_back({target, f, std::nullopt});
      continue;
    }
    if (auto seen = rebase_outbox(target, f, std::move(*change))) {
      fx.text_changes.push_back({target, f, std::move(seen)});
    }
  }
  if (is_own) {
    const bool lost_edit = sets_text(own->op) && !base_.contains(target_of(own->op));
    const std::string id = target_of(own->op);
    core::op acked = own->op;
    outbox_.erase(own);
    dirty_.outbox = true;
    if (std::holds_alternative<core::text_edit_op>(acked)) {
      fx.append(send_unsent());  // the field's next text op may go now
    }
    if (lost_edit) {
      // The server numbered our edit after someone's delete, so it changed nothing: bring the
      // note back with the edit in it (an edit beats a concurrent delete).
      if (const auto t = tombstones_.find(id); t != tombstones_.end()) {
        core::note restored = t->second;
        const auto& u = std::get<core::update_op>(acked);
        restored.title = u.title.value_or(restored.title);
        restored.body = u.body.value_or(restored.body);
        restored.is_important = u.is_important.value_or(restored.is_important);
        restored.is_completed = u.is_completed.value_or(restored.is_completed);
        tombstones_.erase(t);
        const bool queued = std::any_of(outbox_.begin(), outbox_.end(), [&](const local_op& o) {
          return std::holds_alternative<core::create_op>(o.op) && target_of(o.op) == id;
        });
        if (!queued) {
          fx.append(enqueue(
              local_op{m.cid + "-restore",
                       core::op{core::create_op{restored.id, restored.title, restored.body,
                                                restored.is_important, restored.is_completed,
                                                restored.current_index}},
                       m.applied.at}));
          fx.notices.push_back({id, quoted(restored) +
                                        " was deleted by someone else while you edited it; "
                                        "your edit brought it back"});
        }
      }
    }
  } else if (before != nullptr) {
    fx.append(settle_deleted(before->id, *before, state_ == link_state::live));
  }
  return fx;
}

// Someone else deleted `note_id` while the outbox holds ops on it. An edit of its text beats the
// delete: the note comes back as a create carrying the edit. Other changes (a move, a toggle)
// are dropped, and the user is told either way. Ops already written to a socket are left alone
// while live (their echo decides, see on_op) and settled here when `unsent_only` is false.
effects replica::settle_deleted(std::string_view note_id, const core::note& tombstone,
                                bool unsent_only) {
  effects fx;
  bool any_sent = false;
  bool any = false;
  bool text_edit = false;
  core::note restored = tombstone;
  std::vector<local_op> kept;
  for (local_op& o : outbox_) {
    const bool on_note = aims_at(o.op, note_id);
    if (!on_note || (unsent_only && o.sent)) {
      any_sent = any_sent || (on_note && o.sent);
      kept.push_back(std::move(o));
      continue;
    }
    if (std::holds_alternative<core::create_op>(o.op) ||
        std::holds_alternative<core::delete_op>(o.op)) {
      // Our own create (a restore already queued) or our own delete: nothing to settle.
      kept.push_back(std::move(o));
      continue;
    }
    any = true;
    if (const auto* u = std::get_if<core::update_op>(&o.op)) {
      text_edit = text_edit || u->title || u->body;
      restored.title = u->title.value_or(restored.title);
      restored.body = u->body.value_or(restored.body);
      restored.is_important = u->is_important.value_or(restored.is_important);
      restored.is_completed = u->is_completed.value_or(restored.is_completed);
      continue;
    }
    if (const auto* mv = std::get_if<core::move_op>(&o.op)) {
      restored.current_index = mv->current_index;
      continue;
    }
    if (const auto* t = std::get_if<core::text_edit_op>(&o.op)) {
      // The outbox's text ops follow one another from the tombstone's text.
      text_edit = true;
      if (auto typed = core::apply_text_op(t->ops, field_text(restored, t->field))) {
        field_text(restored, t->field) = std::move(*typed);
      }
      continue;
    }
    if (auto* r = std::get_if<core::rebalance_op>(&o.op)) {
      // Keep the rebalance for the other notes; remember the index for a restore.
      for (auto e = r->indexes.begin(); e != r->indexes.end(); ++e) {
        if (e->first == note_id) {
          restored.current_index = e->second;
          r->indexes.erase(e);
          break;
        }
      }
      if (!r->indexes.empty()) {
        kept.push_back(std::move(o));
      }
    }
  }
  outbox_ = std::move(kept);
  if (any_sent) {
    tombstones_.insert_or_assign(std::string(note_id), tombstone);
  }
  if (!any) {
    return fx;
  }
  dirty_.outbox = true;
  mark_view_dirty();
  fx.view_changed = true;
  fx.persist = true;
  if (text_edit) {
    fx.append(enqueue(local_op{
        "restore-" + restored.id + "-" + std::to_string(base_.seq()),
        core::op{core::create_op{restored.id, restored.title, restored.body, restored.is_important,
                                 restored.is_completed, restored.current_index}},
        tombstone.updated_at}));
    fx.notices.push_back(
        {std::string(note_id),
         quoted(restored) + " was deleted by someone else; your edit brought it back"});
  } else {
    fx.notices.push_back(
        {std::string(note_id),
         quoted(tombstone) + " was deleted by someone else; your change to it was dropped"});
  }
  return fx;
}

effects replica::on_reject(const reject_msg& m) {
  effects fx;
  const auto it = std::find_if(outbox_.begin(), outbox_.end(),
                               [&](const local_op& o) { return o.cid == m.cid; });
  if (it == outbox_.end()) {
    return fx;
  }
  const bool text = std::holds_alternative<core::text_edit_op>(it->op);
  const bool gone = text && find(target_of(it->op)) == nullptr;
  // The base holds this text op already (resent in doubt), or its note went: drop it quietly.
  const bool settled = m.code == "duplicate" || (m.code == "conflict" && gone);
  if (!settled && (m.code == "rate_limited" || m.code == "unavailable" || m.code == "conflict")) {
    it->sent = false;  // the caller flushes again after a pause (a text op with a new base)
    return fx;
  }
  if (!settled) {
    fx.notices.push_back(
        {target_of(it->op), "the server refused a change (" + m.code + "): " + m.message});
  }
  outbox_.erase(it);
  dirty_.outbox = true;
  mark_view_dirty();
  fx.view_changed = true;
  fx.persist = true;
  return fx;
}

effects replica::on_presence(const presence_msg& m) {
  effects fx;
  users_ = m.users;
  active_user_count_ = m.active_user_count;
  info_.active_user_count = m.active_user_count;
  fx.view_changed = true;
  if (state_ == link_state::joining && answer_started_) {
    // Presence ends the join's answer: the replay is complete.
    fx.append(reconcile());
  }
  return fx;
}

// The merge of what happened while this client was away. `join_base_` is the base before the
// join, `base_` the server's state now; the outbox holds what was done locally meanwhile, ops in
// doubt included (those the server had numbered were acknowledged by the replay).
effects replica::reconcile() {
  effects fx;
  state_ = link_state::live;
  for (local_op& o : outbox_) {
    o.sent = false;  // whatever is still here was never numbered: send it (same cid)
  }
  if (join_base_) {
    const core::room_state& old_base = *join_base_;
    // Edits of notes someone else deleted meanwhile.
    std::vector<std::pair<std::string, core::note>> deleted;
    for (const local_op& o : outbox_) {
      const std::string id = target_of(o.op);
      if (id.empty() || std::holds_alternative<core::create_op>(o.op) || base_.contains(id)) {
        continue;
      }
      const core::note* gone = old_base.find(id);
      if (const auto t = tombstones_.find(id); gone == nullptr && t != tombstones_.end()) {
        gone = &t->second;
      }
      if (gone != nullptr && std::none_of(deleted.begin(), deleted.end(),
                                          [&](const auto& d) { return d.first == id; })) {
        deleted.emplace_back(id, *gone);
      }
    }
    for (const auto& [id, tombstone] : deleted) {
      fx.append(settle_deleted(id, tombstone, false));
    }
    // Fields changed on both sides, and deletes of notes someone edited meanwhile.
    std::vector<local_op> kept;
    for (local_op& o : outbox_) {
      const std::string id = target_of(o.op);
      const core::note* was = old_base.find(id);
      const core::note* now = base_.find(id);
      if (was == nullptr || now == nullptr) {
        kept.push_back(std::move(o));
        continue;
      }
      if (std::holds_alternative<core::delete_op>(o.op) &&
          (was->title != now->title || was->body != now->body)) {
        fx.notices.push_back({id, quoted(*now) + " was edited by someone else while you were away; "
                                                 "it was not deleted"});
        dirty_.outbox = true;
        continue;
      }
      if (const auto* u = std::get_if<core::update_op>(&o.op)) {
        if (u->title && was->title != now->title && now->title != *u->title) {
          fx.notices.push_back({id, "the title of " + quoted(*now) +
                                        " was also changed by someone else; yours is kept "
                                        "(theirs was " +
                                        excerpt(now->title) + ")"});
        }
        if (u->body && was->body != now->body && now->body != *u->body) {
          fx.notices.push_back({id, "the text of " + quoted(*now) +
                                        " was also changed by someone else; yours is kept "
                                        "(theirs began " +
                                        excerpt(now->body) + ")"});
        }
      }
      kept.push_back(std::move(o));
    }
    const bool dropped = kept.size() != outbox_.size();
    outbox_ = std::move(kept);
    if (dropped) {
      mark_view_dirty();
      fx.view_changed = true;
      fx.persist = true;
    }
  }
  join_base_.reset();
  tombstones_.clear();
  fx.append(send_unsent());
  return fx;
}

dirty_set replica::take_dirty() {
  dirty_set out = std::move(dirty_);
  dirty_ = {};
  std::set<std::string> now;
  for (const local_op& o : outbox_) {
    now.insert(o.cid);
  }
  for (const std::string& cid : saved_cids_) {
    if (!now.contains(cid)) {
      out.outbox_removed.insert(cid);
      out.outbox = true;
    }
  }
  saved_cids_ = std::move(now);
  return out;
}

std::string id_source::next(std::size_t length) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  out.reserve(length);
  while (out.size() < length) {
    // splitmix64
    state_ += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    for (int i = 0; i < 8 && out.size() < length; ++i) {
      out.push_back(alphabet[(z & 0xFF) % alphabet.size()]);
      z >>= 8;
    }
  }
  return out;
}

}  // namespace fun_notes::cli::sync

#include "tui/update.hpp"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "fun_notes/core/codec.hpp"
#include "fun_notes/core/order.hpp"
#include "sync/overloaded.hpp"
#include "sync/text_edit.hpp"
#include "tui/text.hpp"

namespace fun_notes::cli::tui {

namespace {

using commands = std::vector<command>;

constexpr std::int64_t status_ttl_ms = 6000;
constexpr std::size_t max_notices = 50;
// Carets: sent again this often while the editor is open; others' dropped after this long
// without a refresh (docs/protocol.md, "Carets").
constexpr std::int64_t caret_refresh_ms = 20'000;
constexpr std::int64_t caret_lifetime_ms = 45'000;
// Ops the server asked to retry (rate_limited, unavailable, conflict) go again after this.
constexpr std::int64_t retry_flush_ms = 300;

// --- status and notices ---------------------------------------------------------------------

void set_status(model& m, std::string text, bool error = false) {
  m.status = std::move(text);
  m.status_is_error = error;
  m.status_until_ms = m.now_ms + status_ttl_ms;
}

void add_notice(model& m, const std::string& text) {
  m.notices.push_front(text);
  while (m.notices.size() > max_notices) {
    m.notices.pop_back();
  }
  set_status(m, text);
}

std::string label_of(const core::note& n) {
  // The web page's label: the title, or "Untitled" when it is blank.
  const bool blank = std::all_of(n.title.begin(), n.title.end(),
                                 [](char c) { return c == ' ' || c == '\t' || c == '\n'; });
  return blank ? std::string("Untitled") : n.title;
}

bool has_persist(const commands& out) {
  return std::any_of(out.begin(), out.end(),
                     [](const command& c) { return std::holds_alternative<cmd::persist_room>(c); });
}

void persist(commands& out) {
  if (!has_persist(out)) {
    out.emplace_back(cmd::persist_room{});
  }
}

// --- the room's shown rows ------------------------------------------------------------------

sync::replica& replica_of(model& m) {
  return *m.room.replica;
}

std::optional<std::size_t> view_position(const model& m, std::string_view id);

void ensure_visible(std::size_t& scroll, std::size_t selected, std::size_t count, int rows) {
  const auto n = static_cast<std::size_t>(std::max(rows, 1));
  if (selected < scroll) {
    scroll = selected;
  } else if (selected >= scroll + n) {
    scroll = selected - n + 1;
  }
  // No blank rows below the last note while earlier ones are scrolled away.
  if (count <= n) {
    scroll = 0;
  } else if (scroll > count - n) {
    scroll = count - n;
  }
}

void select_row(model& m, std::size_t row) {
  const std::size_t n = shown_count(m);
  room_screen_state& r = m.room;
  if (n == 0) {
    r.selected = 0;
    r.selected_id.clear();
    r.scroll = 0;
    return;
  }
  r.selected = std::min(row, n - 1);
  r.selected_id = shown_note(m, r.selected).id;
  ensure_visible(r.scroll, r.selected, n, list_rows(m));
}

// After the view changed: find the selected note again. It is almost always at its old row or
// next to it (one note inserted, moved or removed), so those are tried before a scan.
void relocate_selection(model& m) {
  room_screen_state& r = m.room;
  const std::size_t n = shown_count(m);
  if (n == 0 || r.selected_id.empty()) {
    select_row(m, r.selected);
    return;
  }
  const std::size_t old = std::min(r.selected, n - 1);
  for (std::size_t row : {old, old > 0 ? old - 1 : old, old + 1 < n ? old + 1 : old}) {
    if (shown_note(m, row).id == r.selected_id) {
      r.selected = row;
      ensure_visible(r.scroll, r.selected, n, list_rows(m));
      return;
    }
  }
  for (std::size_t row = 0; row < n; ++row) {
    if (shown_note(m, row).id == r.selected_id) {
      r.selected = row;
      ensure_visible(r.scroll, r.selected, n, list_rows(m));
      return;
    }
  }
  // The note is gone (deleted, or filtered out): stay at the same row, on its neighbour.
  select_row(m, old);
}

void recompute_matches(model& m) {
  room_screen_state& r = m.room;
  r.matches.clear();
  if (r.filter.empty() || !r.replica) {
    return;
  }
  std::u32string needle = utf8_decode(r.filter);
  for (char32_t& cp : needle) {
    cp = fold_case(cp);
  }
  const auto& notes = r.replica->view();
  for (std::size_t i = 0; i < notes.size(); ++i) {
    if (contains_folded(notes[i].title, needle) || contains_folded(notes[i].body, needle)) {
      r.matches.push_back(i);
    }
  }
}

void after_view_change(model& m) {
  if (!m.room.filter.empty()) {
    recompute_matches(m);
  }
  relocate_selection(m);
}

// Carries out what a replica call produced: frames to send (only over a live session; offline
// the replica keeps them in its outbox), notices to show and store, the cache write.
void follow_text_changes(model& m, const std::vector<sync::text_change>& changes);
void move_carets(model& m, std::string_view note_id, core::text_field field,
                 const core::text_op& change);

void absorb(model& m, sync::effects&& fx, commands& out, bool local) {
  // A local change is written to the cache before it is sent: a crash after the send cannot
  // lose it. Remote changes are written in batches (the server holds them anyway).
  if (fx.persist) {
    if (local) {
      persist(out);
    } else {
      m.room.persist_pending = true;
    }
  }
  if (m.socket == socket_state::welcomed) {
    for (std::string& frame : fx.frames) {
      out.emplace_back(cmd::send_frame{std::move(frame)});
    }
  }
  if (!fx.notices.empty()) {
    cmd::store_notices stored{m.room.replica ? m.room.replica->room_id() : std::string{}, {}, {}};
    for (const sync::notice& n : fx.notices) {
      add_notice(m, n.message);
      stored.messages.push_back(n.message);
      stored.note_ids.push_back(n.note_id);
    }
    out.emplace_back(std::move(stored));
  }
  if (fx.view_changed || !fx.text_changes.empty()) {
    follow_text_changes(m, fx.text_changes);
  }
  if (fx.view_changed) {
    after_view_change(m);
  } else if (!m.room.matches.empty() && m.room.replica &&
             m.room.matches.back() >= m.room.replica->view().size()) {
    // The view shrank without saying so: never index past it.
    after_view_change(m);
  }
}

core::limits limits_of(const model& m) {
  core::limits l;
  l.max_title_bytes = m.title_bytes;
  l.max_body_bytes = m.body_bytes;
  return l;
}

std::string next_cid(model& m) {
  return "c" + m.ids.next(11);
}

// --- screens --------------------------------------------------------------------------------

void push(model& m, screen_kind s) {
  if (m.top() != s) {
    m.stack.push_back(s);
  }
}

void pop(model& m) {
  if (m.stack.size() > 1) {
    m.stack.pop_back();
  }
}

// --- dashboard ------------------------------------------------------------------------------

bool room_less(const sync::room_info& a, const sync::room_info& b) {
  const std::u32string x = utf8_decode(a.name);
  const std::u32string y = utf8_decode(b.name);
  const bool less = std::lexicographical_compare(
      x.begin(), x.end(), y.begin(), y.end(),
      [](char32_t p, char32_t q) { return fold_case(p) < fold_case(q); });
  const bool greater = std::lexicographical_compare(
      y.begin(), y.end(), x.begin(), x.end(),
      [](char32_t p, char32_t q) { return fold_case(p) < fold_case(q); });
  if (less != greater) {
    return less;
  }
  return a.id < b.id;
}

// Replaces the dashboard's rows, keeping the selection on the same room.
void set_rooms(model& m, std::vector<sync::room_info> rooms) {
  dashboard_state& d = m.dash;
  const std::string selected_id = d.selected < d.rooms.size() ? d.rooms[d.selected].id : "";
  std::sort(rooms.begin(), rooms.end(), room_less);
  d.rooms = std::move(rooms);
  d.selected = 0;
  for (std::size_t i = 0; i < d.rooms.size(); ++i) {
    if (d.rooms[i].id == selected_id) {
      d.selected = i;
    }
  }
  ensure_visible(d.scroll, d.selected, d.rooms.size(), dashboard_rows(m));
}

const sync::room_info* known_room(const model& m, const std::string& id) {
  for (const sync::room_info& r : m.dash.rooms) {
    if (r.id == id) {
      return &r;
    }
  }
  return nullptr;
}

void on_rooms(model& m, const std::vector<sync::room_stat>& stats, commands& out) {
  std::vector<sync::room_info> rooms;
  rooms.reserve(stats.size());
  for (const sync::room_stat& s : stats) {
    // The watch stream has no visibility or role; keep what the HTTP list said.
    sync::room_info info;
    if (const sync::room_info* old = known_room(m, s.id)) {
      info = *old;
    }
    info.id = s.id;
    info.name = s.name;
    info.active_user_count = s.active_user_count;
    info.total_notes = s.total_notes;
    rooms.push_back(std::move(info));
  }
  set_rooms(m, std::move(rooms));
  m.dash.listed = true;
  out.emplace_back(cmd::save_rooms{m.dash.rooms});
}

void on_room_stat(model& m, const sync::room_stat& s, commands& out) {
  std::vector<sync::room_info> rooms = m.dash.rooms;
  auto it = std::find_if(rooms.begin(), rooms.end(),
                         [&](const sync::room_info& r) { return r.id == s.id; });
  if (it == rooms.end()) {
    rooms.push_back(sync::room_info{s.id, s.name, "", "", 0, 0});
    it = rooms.end() - 1;
  }
  it->name = s.name;
  it->active_user_count = s.active_user_count;
  it->total_notes = s.total_notes;
  set_rooms(m, std::move(rooms));
  out.emplace_back(cmd::save_room_stat{s});
}

// --- opening and leaving a room -------------------------------------------------------------

void close_room(model& m, commands& out) {
  room_screen_state& r = m.room;
  if (r.replica) {
    if (m.socket == socket_state::welcomed && r.replica->state() != sync::link_state::offline) {
      out.emplace_back(cmd::send_frame{sync::leave_frame(r.replica->room_id())});
    }
    out.emplace_back(cmd::save_closed_room{std::move(*r.replica)});
  }
  r = room_screen_state{};
  m.editor.reset();
  m.stack = {screen_kind::dashboard};
}

void open_room(model& m, const std::string& room_id, commands& out) {
  if (m.room.replica && m.room.replica->room_id() == room_id) {
    m.stack = {screen_kind::dashboard, screen_kind::room};
    return;
  }
  close_room(m, out);
  m.room.replica.emplace(room_id);
  m.room.loading = true;
  m.stack = {screen_kind::dashboard, screen_kind::room};
  out.emplace_back(cmd::load_room{room_id});
}

void on_room_loaded(model& m, const room_loaded_msg& loaded, commands& out) {
  room_screen_state& r = m.room;
  if (!r.replica || r.replica->room_id() != loaded.room_id || !r.loading) {
    return;  // the user left, or opened another room, before the cache answered
  }
  r.loading = false;
  if (loaded.replica) {
    r.replica = *loaded.replica;
  }
  if (m.socket == socket_state::welcomed) {
    r.replica->set_limits(limits_of(m));
    absorb(m, r.replica->on_connected(), out, false);
  }
  after_view_change(m);
}

// --- local edits ----------------------------------------------------------------------------

bool can_edit(model& m) {
  if (!m.room.replica || m.room.loading) {
    return false;
  }
  if (m.room.replica->read_only()) {
    set_status(m, "You can only read this room.", true);
    return false;
  }
  return true;
}

const core::note* selected_note(const model& m) {
  if (shown_count(m) == 0) {
    return nullptr;
  }
  return &shown_note(m, std::min(m.room.selected, shown_count(m) - 1));
}

double top_index(const model& m) {
  const auto& notes = m.room.replica->view();
  if (notes.empty()) {
    return core::index_step;
  }
  // Before the first note: a new note shows at the top, as on the web page.
  return core::between(std::nullopt, notes.front().current_index)
      .value_or(notes.front().current_index - core::index_step);
}

void create_note(model& m, core::create_op note, commands& out) {
  const std::string id = note.id;
  auto fx = replica_of(m).create(std::move(note), next_cid(m), m.now);
  m.room.selected_id = id;
  absorb(m, std::move(fx), out, true);
  relocate_selection(m);
}

void toggle(model& m, bool important, commands& out) {
  if (!can_edit(m)) {
    return;
  }
  const core::note* n = selected_note(m);
  if (n == nullptr) {
    return;
  }
  core::update_op change;
  change.id = n->id;
  sync::undo_step back;
  back.type = sync::undo_step::kind::flags;
  back.note_id = n->id;
  if (important) {
    change.is_important = !n->is_important;
    back.is_important = n->is_important;
  } else {
    change.is_completed = !n->is_completed;
    back.is_completed = n->is_completed;
  }
  auto fx = replica_of(m).update(std::move(change), next_cid(m), m.now);
  if (fx.view_changed) {
    m.room.history.record(std::move(back));
  }
  absorb(m, std::move(fx), out, true);
}

void move_selected(model& m, bool up, commands& out) {
  if (!can_edit(m)) {
    return;
  }
  const std::size_t n = shown_count(m);
  const room_screen_state& r = m.room;
  if (n == 0 || (up && r.selected == 0) || (!up && r.selected + 1 >= n)) {
    return;
  }
  const std::string id = shown_note(m, r.selected).id;
  sync::move_target target;
  if (r.filter.empty()) {
    target.where = up ? sync::move_target::kind::up : sync::move_target::kind::down;
  } else {
    // Filtered, "up" means past the shown note above, however many hidden notes lie between.
    // Taken out of its place, the note lands at the neighbour's view position when moving up
    // and just after the neighbour (whose position drops by one) when moving down.
    target.where = sync::move_target::kind::position;
    target.position = up ? r.matches[r.selected - 1] : r.matches[r.selected + 1];
  }
  m.room.selected_id = id;
  const auto from = view_position(m, id);
  auto fx = replica_of(m).move(id, target, next_cid(m), m.now);
  if (fx.view_changed && from) {
    sync::undo_step back;
    back.type = sync::undo_step::kind::move;
    back.note_id = id;
    back.to = *from;
    m.room.history.record(std::move(back));
  }
  absorb(m, std::move(fx), out, true);
}

void delete_confirmed(model& m, commands& out) {
  const std::string id = m.room.confirm_id;
  m.room.confirm_id.clear();
  pop(m);
  if (!can_edit(m)) {
    return;
  }
  const core::note* n = replica_of(m).find(id);
  if (n == nullptr) {
    set_status(m, "That note is already gone.");
    return;
  }
  sync::undo_step back;
  back.type = sync::undo_step::kind::restore;
  back.note_id = id;
  back.note = *n;
  absorb(m, replica_of(m).remove(id, next_cid(m), m.now), out, true);
  set_status(m, "Deleted “" + label_of(back.note) + "”. Press u to undo.");
  m.room.history.record(std::move(back));
}

std::optional<std::size_t> view_position(const model& m, std::string_view id) {
  const auto& notes = m.room.replica->view();
  for (std::size_t i = 0; i < notes.size(); ++i) {
    if (notes[i].id == id) {
      return i;
    }
  }
  return std::nullopt;
}

editor_field editor_field_of(core::text_field f) {
  return f == core::text_field::title ? editor_field::title : editor_field::body;
}

core::text_field text_field_of(editor_field f) {
  return f == editor_field::title ? core::text_field::title : core::text_field::body;
}

// Applies one undo or redo step through the replica; returns its opposite, or nullopt when the
// step no longer changes anything (its note went, it was undone already elsewhere).
std::optional<sync::undo_step> apply_step(model& m, const sync::undo_step& step, commands& out) {
  using kind = sync::undo_step::kind;
  sync::replica& r = replica_of(m);
  const core::note* n = r.find(step.note_id);
  sync::undo_step back;
  back.note_id = step.note_id;
  switch (step.type) {
    case kind::text: {
      if (n == nullptr || step.op.is_noop()) {
        return std::nullopt;
      }
      const std::string before = sync::field_text(*n, step.field);
      if (core::utf8_code_points(before) != step.op.base_length()) {
        return std::nullopt;
      }
      auto inverse = core::invert(step.op, before);
      if (!inverse) {
        return std::nullopt;
      }
      auto fx = r.edit_text(step.note_id, step.field, step.op, next_cid(m), m.now);
      if (!fx.view_changed) {
        absorb(m, std::move(fx), out, true);
        return std::nullopt;
      }
      // The other steps of the field move over it; an open editor follows, its caret with the
      // change.
      m.room.history.transform(step.note_id, step.field, step.op);
      move_carets(m, step.note_id, step.field, step.op);
      if (m.editor && !m.editor->is_new() && m.editor->note_id() == step.note_id) {
        text_field& f = m.editor->field(editor_field_of(step.field));
        if (auto shown = core::apply_text_op(step.op, f.text())) {
          f.reset(*shown, core::transform_index(step.op, f.cursor(), true));
        }
      }
      absorb(m, std::move(fx), out, true);
      back.type = kind::text;
      back.field = step.field;
      back.op = std::move(*inverse);
      back.start = back.end = core::transform_index(step.op, step.start, true);
      back.at = std::numeric_limits<std::int64_t>::min();
      break;
    }
    case kind::flags: {
      if (n == nullptr) {
        return std::nullopt;
      }
      core::update_op change;
      change.id = step.note_id;
      change.is_important = step.is_important;
      change.is_completed = step.is_completed;
      back.type = kind::flags;
      if (step.is_important) {
        back.is_important = n->is_important;
      }
      if (step.is_completed) {
        back.is_completed = n->is_completed;
      }
      absorb(m, r.update(std::move(change), next_cid(m), m.now), out, true);
      break;
    }
    case kind::move: {
      const auto from = view_position(m, step.note_id);
      if (!from) {
        return std::nullopt;
      }
      sync::move_target target;
      target.where = sync::move_target::kind::position;
      target.position = std::min(step.to, r.view().size() - 1);
      back.type = kind::move;
      back.to = *from;
      absorb(m, r.move(step.note_id, target, next_cid(m), m.now), out, true);
      break;
    }
    case kind::restore: {
      if (n != nullptr) {
        return std::nullopt;
      }
      // The same id and index: the note comes back where it was, and other clients that still
      // show it (their delete not yet applied) converge on one note.
      const core::note& gone = step.note;
      create_note(m,
                  core::create_op{gone.id, gone.title, gone.body, gone.is_important,
                                  gone.is_completed, gone.current_index},
                  out);
      back.type = kind::remove;
      break;
    }
    case kind::remove: {
      if (n == nullptr) {
        return std::nullopt;
      }
      back.type = kind::restore;
      back.note = *n;
      absorb(m, r.remove(step.note_id, next_cid(m), m.now), out, true);
      break;
    }
  }
  if (r.find(step.note_id) != nullptr) {
    m.room.selected_id = step.note_id;
    relocate_selection(m);
  }
  return back;
}

// u / Ctrl+R (Ctrl+Z / Ctrl+R in the editor): the latest own change that still changes
// something is undone (redone); its opposite goes on the other stack.
void step_history(model& m, bool undo, commands& out) {
  if (!can_edit(m)) {
    return;
  }
  sync::undo_history& h = m.room.history;
  while (auto step = undo ? h.pop_undo() : h.pop_redo()) {
    if (auto back = apply_step(m, *step, out)) {
      if (undo) {
        h.push_redo(std::move(*back));
      } else {
        h.push_undo(std::move(*back));
      }
      set_status(m, undo ? "Undone (Ctrl+R redoes)." : "Redone.");
      return;
    }
  }
  set_status(m, undo ? "Nothing to undo." : "Nothing to redo.");
}

// --- the editor -----------------------------------------------------------------------------

bool blank(const std::u32string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char32_t c) { return c == U' ' || c == U'\n' || c == U'\t'; });
}

// The text an editor field shows for a note's text (a title is one line).
std::string as_shown(std::string text, editor_field f) {
  if (f == editor_field::title) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    std::replace(text.begin(), text.end(), '\r', ' ');
  }
  return text;
}

// The editor shows its note's text as the view has it. Others' edits arrive as ops (applied
// by follow_text_changes, the caret kept in place); anything else (a snapshot, a refused edit)
// is put right here with the smallest change around the caret. A note deleted by someone else
// while nothing typed here was in flight closes the editor.
void sync_editor(model& m) {
  if (!m.editor || m.editor->is_new() || !m.room.replica) {
    return;
  }
  const core::note* n = m.room.replica->find(m.editor->note_id());
  if (n == nullptr) {
    add_notice(m, "The note you were editing was deleted by someone else.");
    m.editor.reset();
    m.room.my_caret.reset();
    std::erase(m.stack, screen_kind::editor);
    return;
  }
  for (const editor_field ef : {editor_field::title, editor_field::body}) {
    text_field& f = m.editor->field(ef);
    const std::string shown = as_shown(sync::field_text(*n, text_field_of(ef)), ef);
    const std::string mine = f.text();
    if (mine != shown) {
      const core::text_op op = sync::text_diff(mine, shown);
      f.reset(shown, core::transform_index(op, f.cursor(), false));
    }
  }
}

// Others' carets in a field move along with a change of its text.
void move_carets(model& m, std::string_view note_id, core::text_field field,
                 const core::text_op& change) {
  for (auto& [session, caret] : m.room.carets) {
    if (caret.note_id == note_id && caret.field == field) {
      caret.pos = core::transform_index(change, caret.pos, false);
    }
  }
}

void follow_text_changes(model& m, const std::vector<sync::text_change>& changes) {
  for (const sync::text_change& c : changes) {
    if (!c.op) {
      continue;
    }
    m.room.history.transform(c.note_id, c.field, *c.op);
    move_carets(m, c.note_id, c.field, *c.op);
    if (m.editor && !m.editor->is_new() && m.editor->note_id() == c.note_id) {
      text_field& f = m.editor->field(editor_field_of(c.field));
      if (auto shown = core::apply_text_op(*c.op, f.text())) {
        f.reset(as_shown(std::move(*shown), editor_field_of(c.field)),
                core::transform_index(*c.op, f.cursor(), false));
      }
    }
  }
  sync_editor(m);
}

// Sends this socket's caret when it moved (or, with `force`, again to refresh it).
void send_caret(model& m, commands& out, bool force = false) {
  if (!m.editor || m.editor->is_new() || !m.room.replica || m.socket != socket_state::welcomed ||
      m.room.replica->state() != sync::link_state::live) {
    return;
  }
  const note_editor& e = *m.editor;
  const core::text_field field = text_field_of(e.focus());
  const std::size_t pos = e.field(e.focus()).cursor();
  const auto& last = m.room.my_caret;
  if (!force && last && last->note_id == e.note_id() && last->field == field && last->pos == pos) {
    return;
  }
  out.emplace_back(cmd::send_frame{sync::cursor_frame(m.room.replica->room_id(), e.note_id(), field,
                                                      pos, pos, m.room.replica->base().seq())});
  m.room.my_caret = sent_caret{e.note_id(), field, pos, m.now_ms};
}

void clear_caret(model& m, commands& out) {
  if (m.room.my_caret && m.room.replica && m.socket == socket_state::welcomed) {
    out.emplace_back(cmd::send_frame{sync::cursor_clear_frame(m.room.replica->room_id())});
  }
  m.room.my_caret.reset();
}

// Sends what a key changed in the editor, as it is typed: a new note is created once it has
// content; after that each change of a field is one text op.
void live_edit(model& m, const std::string& title_before, const std::string& body_before,
               commands& out) {
  note_editor& e = *m.editor;
  const std::string title = e.title().text();
  const std::string body = e.body().text();
  if (title == title_before && body == body_before) {
    return;
  }
  if (e.is_new()) {
    if (blank(e.title().code_points()) && blank(e.body().code_points())) {
      return;
    }
    const std::string id = e.note_id();
    create_note(m, core::create_op{id, title, body, false, false, top_index(m)}, out);
    if (replica_of(m).find(id) != nullptr) {
      e.mark_saved();
      sync::undo_step back;
      back.type = sync::undo_step::kind::remove;
      back.note_id = id;
      m.room.history.record(std::move(back));
    }
    return;
  }
  const std::string id = e.note_id();
  for (const editor_field ef : {editor_field::title, editor_field::body}) {
    const std::string& before = ef == editor_field::title ? title_before : body_before;
    const std::string& after = ef == editor_field::title ? title : body;
    if (before == after) {
      continue;
    }
    const core::text_op op = sync::text_diff(before, after, e.field(ef).cursor());
    auto fx = replica_of(m).edit_text(id, text_field_of(ef), op, next_cid(m), m.now);
    if (fx.view_changed) {
      m.room.history.record_text(id, text_field_of(ef), op, before, m.now_ms);
      move_carets(m, id, text_field_of(ef), op);
    }
    const bool refused = !fx.view_changed;
    absorb(m, std::move(fx), out, true);
    if (refused) {
      sync_editor(m);  // a refused edit (too long, read-only) is taken back; its notice says why
    }
    if (!m.editor) {
      return;
    }
  }
}

void open_editor(model& m, bool new_note) {
  if (!m.room.replica || m.room.loading) {
    return;
  }
  if (m.room.replica->read_only()) {
    set_status(m, "You can only read this room.", true);
    return;
  }
  if (new_note) {
    m.editor.emplace(m.ids.next(), true, "", "");
  } else {
    const core::note* n = selected_note(m);
    if (n == nullptr) {
      return;
    }
    m.editor.emplace(n->id, false, n->title, n->body);
  }
  m.room.history.seal();
  push(m, screen_kind::editor);
}

void close_editor(model& m, commands& out) {
  if (m.editor && m.editor->is_new()) {
    set_status(m, "Empty note dropped.");
  }
  m.room.history.seal();
  clear_caret(m, out);
  m.editor.reset();
  pop(m);
}

void editor_key(model& m, const key& k, commands& out) {
  note_editor& e = *m.editor;
  const std::string title_before = e.title().text();
  const std::string body_before = e.body().text();
  switch (e.handle(k, editor_body_width(m))) {
    case editor_action::none:
      live_edit(m, title_before, body_before, out);
      send_caret(m, out);
      return;
    case editor_action::save:
      set_status(m, "Every change is sent as you type.");
      return;
    case editor_action::undo:
    case editor_action::redo:
      if (!e.is_new()) {
        step_history(m, k.ch == U'z', out);
        send_caret(m, out);
      }
      return;
    case editor_action::close:
      close_editor(m, out);
      return;
  }
}

// --- keys per screen ------------------------------------------------------------------------

void prompt_key(model& m, const key& k, commands& out) {
  prompt& p = *m.input;
  switch (k.code) {
    case key_code::escape:
      m.input.reset();
      return;
    case key_code::enter: {
      std::string text = p.input.text();
      const auto first = text.find_first_not_of(' ');
      const auto last = text.find_last_not_of(' ');
      text = first == std::string::npos ? "" : text.substr(first, last - first + 1);
      const prompt_kind kind = p.kind;
      m.input.reset();
      if (text.empty()) {
        return;
      }
      if (kind == prompt_kind::create_room) {
        out.emplace_back(cmd::create_room{text, "private"});
        set_status(m, "Creating “" + text + "”…");
      } else if (!core::valid_id(text)) {
        set_status(m, "A room id is 1–64 letters, digits, _ or -.", true);
      } else {
        open_room(m, text, out);
      }
      return;
    }
    case key_code::backspace:
      p.input.backspace();
      return;
    case key_code::del:
      p.input.erase_forward();
      return;
    case key_code::left:
      p.input.left();
      return;
    case key_code::right:
      p.input.right();
      return;
    case key_code::home:
      p.input.home();
      return;
    case key_code::end:
      p.input.end();
      return;
    case key_code::character:
      p.input.insert(k.ch);
      return;
    default:
      return;
  }
}

void dashboard_key(model& m, const key& k, commands& out) {
  dashboard_state& d = m.dash;
  const std::size_t n = d.rooms.size();
  const auto page = static_cast<std::size_t>(std::max(dashboard_rows(m) - 1, 1));
  auto select = [&](std::size_t row) {
    d.selected = n == 0 ? 0 : std::min(row, n - 1);
    ensure_visible(d.scroll, d.selected, n, dashboard_rows(m));
  };
  switch (k.code) {
    case key_code::up:
      select(d.selected > 0 ? d.selected - 1 : 0);
      return;
    case key_code::down:
      select(d.selected + 1);
      return;
    case key_code::page_up:
      select(d.selected > page ? d.selected - page : 0);
      return;
    case key_code::page_down:
      select(d.selected + page);
      return;
    case key_code::home:
      select(0);
      return;
    case key_code::end:
      select(n);
      return;
    case key_code::enter:
      if (d.selected < n) {
        open_room(m, d.rooms[d.selected].id, out);
      }
      return;
    case key_code::character:
      switch (k.ch) {
        case U'n':
          m.input = prompt{prompt_kind::create_room, text_field{}};
          return;
        case U'j':
        case U'o':
          m.input = prompt{prompt_kind::join_room, text_field{}};
          return;
        case U'r':
          out.emplace_back(cmd::list_rooms{});
          if (m.socket == socket_state::offline && !m.signed_out) {
            out.emplace_back(cmd::reconnect_now{});
          }
          set_status(m, "Refreshing…");
          return;
        case U'?':
          push(m, screen_kind::help);
          return;
        case U'q':
          persist(out);
          out.emplace_back(cmd::quit{});
          m.quitting = true;
          return;
        default:
          return;
      }
    default:
      return;
  }
}

void filter_key(model& m, const key& k) {
  room_screen_state& r = m.room;
  std::u32string f = utf8_decode(r.filter);
  switch (k.code) {
    case key_code::escape:
      r.filter.clear();
      r.filtering = false;
      after_view_change(m);
      return;
    case key_code::enter:
      r.filtering = false;
      return;
    case key_code::backspace:
      if (!f.empty()) {
        f.pop_back();
      }
      break;
    case key_code::character:
      f.push_back(k.ch);
      break;
    default:
      return;
  }
  r.filter = utf8_encode(f);
  after_view_change(m);
}

void room_key(model& m, const key& k, commands& out) {
  room_screen_state& r = m.room;
  if (r.filtering) {
    // While the filter line has the keyboard, arrows still move through the matches.
    if (k.code != key_code::up && k.code != key_code::down && k.code != key_code::page_up &&
        k.code != key_code::page_down) {
      filter_key(m, k);
      return;
    }
  }
  const std::size_t n = shown_count(m);
  const auto page = static_cast<std::size_t>(std::max(list_rows(m) - 1, 1));
  const bool ch = k.code == key_code::character;
  if (k.code == key_code::up || (ch && k.ch == U'k')) {
    select_row(m, r.selected > 0 ? r.selected - 1 : 0);
  } else if (k.code == key_code::down || (ch && k.ch == U'j')) {
    select_row(m, r.selected + 1);
  } else if (k.code == key_code::page_up) {
    select_row(m, r.selected > page ? r.selected - page : 0);
  } else if (k.code == key_code::page_down) {
    select_row(m, r.selected + page);
  } else if (k.code == key_code::home || (ch && k.ch == U'g')) {
    select_row(m, 0);
  } else if (k.code == key_code::end || (ch && k.ch == U'G')) {
    select_row(m, n);
  } else if (k.code == key_code::shift_up || (ch && k.ch == U'K')) {
    move_selected(m, true, out);
  } else if (k.code == key_code::shift_down || (ch && k.ch == U'J')) {
    move_selected(m, false, out);
  } else if (k.code == key_code::enter || (ch && k.ch == U'e')) {
    open_editor(m, false);
  } else if (k.code == key_code::escape || (ch && k.ch == U'q')) {
    if (!r.filter.empty()) {
      r.filter.clear();
      after_view_change(m);
    } else {
      close_room(m, out);
    }
  } else if (k.code == key_code::ctrl && k.ch == U'r') {
    step_history(m, false, out);
  } else if (ch) {
    switch (k.ch) {
      case U'/':
        r.filtering = true;
        break;
      case U'?':
        push(m, screen_kind::help);
        break;
      case U'n':
        open_editor(m, true);
        break;
      case U' ':
        toggle(m, false, out);
        break;
      case U'!':
        toggle(m, true, out);
        break;
      case U'd':
        if (const core::note* note = selected_note(m); note != nullptr && can_edit(m)) {
          r.confirm_id = note->id;
          push(m, screen_kind::confirm_delete);
        }
        break;
      case U'u':
        step_history(m, true, out);
        break;
      case U'r':
        out.emplace_back(cmd::reconnect_now{});
        set_status(m, "Reconnecting…");
        break;
      default:
        break;
    }
  }
}

void on_key(model& m, const key& k, commands& out) {
  if (k.code == key_code::ctrl && k.ch == U'c') {
    persist(out);
    out.emplace_back(cmd::quit{});
    m.quitting = true;
    return;
  }
  switch (m.top()) {
    case screen_kind::dashboard:
      if (m.input) {
        prompt_key(m, k, out);
      } else {
        dashboard_key(m, k, out);
      }
      return;
    case screen_kind::room:
      room_key(m, k, out);
      return;
    case screen_kind::editor:
      if (m.editor) {
        editor_key(m, k, out);
      } else {
        pop(m);
      }
      return;
    case screen_kind::help:
      pop(m);
      return;
    case screen_kind::confirm_delete:
      if (k.is_char(U'y') || k.is_char(U'Y')) {
        delete_confirmed(m, out);
      } else if (k.is_char(U'n') || k.is_char(U'N') || k.code == key_code::escape) {
        m.room.confirm_id.clear();
        pop(m);
      }
      return;
  }
}

// --- the socket -----------------------------------------------------------------------------

bool about_open_room(const model& m, const std::string& room) {
  return m.room.replica && !m.room.loading && m.room.replica->room_id() == room;
}

void on_server(model& m, const sync::server_msg& message, commands& out) {
  std::visit(
      overloaded{
          [&](const sync::welcome_msg& w) {
            m.socket = socket_state::welcomed;
            m.user = w.user;
            m.title_bytes = w.title_bytes;
            m.body_bytes = w.body_bytes;
            m.retry_at_ms = 0;
            out.emplace_back(cmd::send_frame{sync::watch_rooms_frame()});
            if (m.room.replica && !m.room.loading) {
              m.room.replica->set_limits(limits_of(m));
              absorb(m, m.room.replica->on_connected(), out, false);
            }
          },
          [&](const sync::rooms_msg& r) { on_rooms(m, r.rooms, out); },
          [&](const sync::room_stat_msg& r) { on_room_stat(m, r.room, out); },
          [&](const sync::pong_msg&) {},
          [&](const sync::error_msg& e) {
            if (!e.room.empty() && about_open_room(m, e.room)) {
              absorb(m, m.room.replica->on_message(message), out, false);
              const std::string text =
                  e.code == "forbidden"   ? "This room is private and you are not a member. "
                                            "Ask its owner to invite you."
                  : e.code == "not_found" ? "There is no room with the id “" + e.room + "”."
                                          : (e.message.empty() ? e.code : e.message);
              set_status(m, text, true);
            } else if (e.room.empty()) {
              set_status(m, "The server said: " + (e.message.empty() ? e.code : e.message), true);
            }
          },
          [&](const sync::cursor_msg& c) {
            if (!about_open_room(m, c.room) || c.session.empty()) {
              return;
            }
            if (c.note.empty()) {
              m.room.carets.erase(c.session);
            } else {
              m.room.carets[c.session] = remote_caret{c.user, c.note, c.field, c.head, m.now_ms};
            }
          },
          [&](const auto& room_msg) {
            // snapshot, resume, op, reject, presence: all carry `room`.
            if (about_open_room(m, room_msg.room)) {
              absorb(m, m.room.replica->on_message(message), out, false);
            }
          },
      },
      message);
}

void on_net(model& m, const net::net_event& event, commands& out) {
  std::visit(overloaded{
                 [&](const net::connecting_event&) {
                   m.socket = socket_state::connecting;
                   m.retry_at_ms = 0;
                 },
                 [&](const net::connected_event&) { m.socket = socket_state::connecting; },
                 [&](const net::message_event& e) { on_server(m, e.msg, out); },
                 [&](const net::disconnected_event& e) {
                   m.socket = socket_state::offline;
                   m.socket_reason = e.reason;
                   m.retry_at_ms = e.fatal ? 0 : m.now_ms + e.retry_in.count();
                   if (m.room.replica) {
                     m.room.replica->on_disconnected();
                   }
                   // Others' carets go stale; ours is sent again once live.
                   m.room.carets.clear();
                   m.room.my_caret.reset();
                   if (e.fatal && e.close_code == 4001) {
                     m.signed_out = true;
                     set_status(m, "The server refused the sign-in. Run `fun-notes login` again.",
                                true);
                   }
                 },
             },
             event);
}

}  // namespace

// --- public ---------------------------------------------------------------------------------

std::size_t shown_count(const model& m) {
  if (!m.room.replica) {
    return 0;
  }
  return m.room.filter.empty() ? m.room.replica->view().size() : m.room.matches.size();
}

const core::note& shown_note(const model& m, std::size_t row) {
  const auto& notes = m.room.replica->view();
  return m.room.filter.empty() ? notes[row] : notes[m.room.matches[row]];
}

int list_rows(const model& m) {
  // Header, presence line, key hints and status line; the filter line when a filter is set.
  const bool filter_line = m.room.filtering || !m.room.filter.empty();
  return std::max(m.height - 4 - (filter_line ? 1 : 0), 1);
}

int editor_body_width(const model& m) {
  // A column of margin each side.
  return std::max(m.width - 2, 1);
}

int dashboard_rows(const model& m) {
  // Header, column titles, key hints (or the prompt) and status line.
  return std::max(m.height - 4, 1);
}

model initial_model(sync::user_ref user, bool color, int width, int height, std::uint64_t seed,
                    std::int64_t now_ms, std::string now) {
  model m;
  m.user = std::move(user);
  m.color = color;
  m.width = width;
  m.height = height;
  m.ids = sync::id_source(seed);
  m.now_ms = now_ms;
  m.now = std::move(now);
  return m;
}

std::pair<model, std::vector<command>> update(model&& in, const msg& message) {
  model m = std::move(in);
  commands out;
  std::visit(
      overloaded{
          [&](const key_msg& k) { on_key(m, k.k, out); },
          [&](const resize_msg& r) {
            m.width = std::max(r.width, 1);
            m.height = std::max(r.height, 1);
            ensure_visible(m.room.scroll, m.room.selected, shown_count(m), list_rows(m));
            ensure_visible(m.dash.scroll, m.dash.selected, m.dash.rooms.size(), dashboard_rows(m));
          },
          [&](const tick_msg& t) {
            m.now_ms = t.unix_millis;
            m.now = t.now;
            m.clock = t.clock;
            if (m.status_until_ms != 0 && m.now_ms >= m.status_until_ms) {
              m.status.clear();
              m.status_is_error = false;
              m.status_until_ms = 0;
            }
            if (m.room.persist_pending) {
              m.room.persist_pending = false;
              persist(out);
            }
            room_screen_state& r = m.room;
            if (r.replica && !r.loading && m.socket == socket_state::welcomed &&
                r.replica->state() == sync::link_state::live && r.replica->has_unsent() &&
                m.now_ms - r.last_flush_ms >= retry_flush_ms) {
              r.last_flush_ms = m.now_ms;
              absorb(m, r.replica->flush(), out, false);
            }
            if (m.editor && (!r.my_caret || m.now_ms - r.my_caret->at_ms >= caret_refresh_ms)) {
              send_caret(m, out, true);
            }
            std::erase_if(r.carets, [&](const auto& entry) {
              return m.now_ms - entry.second.seen_ms > caret_lifetime_ms;
            });
          },
          [&](const net_msg& n) { on_net(m, n.event, out); },
          [&](const cached_rooms_msg& c) {
            if (!m.dash.listed) {
              set_rooms(m, c.rooms);
            }
          },
          [&](const open_room_msg& o) { open_room(m, o.room_id, out); },
          [&](const status_msg& st) { set_status(m, st.text, st.error); },
          [&](const room_loaded_msg& l) { on_room_loaded(m, l, out); },
          [&](const queued_elsewhere_msg& q) {
            if (m.room.replica && m.room.replica->room_id() == q.room_id) {
              absorb(m, m.room.replica->adopt(q.ops), out, false);
            }
          },
          [&](const rooms_listed_msg& l) {
            if (l.result.ok()) {
              set_rooms(m, l.result.value());
              m.dash.listed = true;
              out.emplace_back(cmd::save_rooms{m.dash.rooms});
            } else if (l.result.err().code == "offline") {
              set_status(m, "Offline: showing the rooms from the last session.");
            } else {
              set_status(m, "Could not list the rooms: " + l.result.err().message, true);
            }
          },
          [&](const room_created_msg& c) {
            if (!c.result.ok()) {
              set_status(m,
                         c.result.err().code == "offline"
                             ? std::string("Cannot create a room while offline.")
                             : "Could not create the room: " + c.result.err().message,
                         true);
              return;
            }
            std::vector<sync::room_info> rooms = m.dash.rooms;
            rooms.push_back(c.result.value());
            set_rooms(m, std::move(rooms));
            out.emplace_back(cmd::save_rooms{m.dash.rooms});
            set_status(m, "Created “" + c.result.value().name + "”.");
            open_room(m, c.result.value().id, out);
          },
      },
      message);
  return {std::move(m), std::move(out)};
}

}  // namespace fun_notes::cli::tui

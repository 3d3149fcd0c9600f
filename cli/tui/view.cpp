#include "tui/view.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tui/text.hpp"
#include "tui/update.hpp"

namespace fun_notes::cli::tui {

namespace {

// Styles by role. Without colour every role still reads: bold, reverse and dim carry it.
struct palette {
  bool use_color;

  style make(std::uint8_t attrs, color c) const {
    return style{attrs, use_color ? c : color::none};
  }
  style plain() const { return {}; }
  style header() const { return make(attr_reverse | attr_bold, color::accent); }
  style selected() const { return make(attr_reverse, color::selection); }
  style important() const { return make(attr_bold, color::important); }
  style done_mark() const { return make(attr_none, color::completed); }
  style title() const { return make(attr_bold, color::none); }
  style done_title() const { return make(attr_dim, color::completed); }
  style muted() const { return make(attr_dim, color::muted); }
  style key() const { return make(attr_bold, color::accent); }
  style heading() const { return make(attr_bold | attr_underline, color::none); }
  style error() const { return make(attr_bold, color::error); }
  style caret() const { return make(attr_reverse, color::important); }
  style state(socket_state s, bool room_live) const {
    if (s == socket_state::welcomed && room_live) {
      return make(attr_bold, color::live);
    }
    if (s == socket_state::offline) {
      return make(attr_bold, color::offline);
    }
    return make(attr_none, color::connecting);
  }
};

int put_right(screen& s, int row, std::string_view text, style st, int right_margin = 1) {
  const int col = std::max(s.width() - right_margin - display_width(text), 0);
  s.put(row, col, text, st);
  return col;
}

std::string one_line(std::string_view text) {
  std::string out(text);
  std::replace(out.begin(), out.end(), '\n', ' ');
  std::replace(out.begin(), out.end(), '\r', ' ');
  return out;
}

std::string clock_of(const model& m) {
  // The runtime gives local time; without it, "2026-12-02T09:13:36.123Z" -> "09:13" (UTC).
  if (!m.clock.empty()) {
    return m.clock;
  }
  return m.now.size() >= 16 ? m.now.substr(11, 5) : std::string{};
}

std::string room_name(const model& m) {
  if (!m.room.replica) {
    return {};
  }
  const sync::replica& r = *m.room.replica;
  if (!r.info().name.empty()) {
    return r.info().name;
  }
  for (const sync::room_info& info : m.dash.rooms) {
    if (info.id == r.room_id()) {
      return info.name;
    }
  }
  return r.room_id();
}

void draw_header(screen& s, const model& m, const palette& p, const std::string& where) {
  const style st = p.header();
  s.fill(0, 0, s.width(), st);
  std::string right = m.user.name;
  const std::string clock = clock_of(m);
  if (!clock.empty()) {
    right += right.empty() ? clock : "  " + clock;
  }
  const int right_col = s.width() - 1 - display_width(right);
  const int left_end = s.put(0, 1, "fun-notes", st);
  if (!where.empty()) {
    s.put(0, left_end, " › " + fit(where, std::max(right_col - left_end - 4, 0)), st,
          std::max(right_col - 1, left_end));
  }
  if (right_col > left_end + 8) {
    s.put(0, right_col, right, st);
  }
}

struct hint {
  std::string_view keys;
  std::string_view label;
};

// Key hints in order of importance: as many as fit.
void draw_hints(screen& s, int row, const palette& p, const std::vector<hint>& hints) {
  int col = 1;
  for (const hint& h : hints) {
    const int need = display_width(h.keys) + 1 + display_width(h.label);
    if (col + need > s.width() - 1) {
      break;
    }
    col = s.put(row, col, h.keys, p.key());
    col = s.put(row, col + 1, h.label, p.plain());
    col += 2;
  }
}

bool room_live(const model& m) {
  return !m.room.replica || m.room.replica->state() == sync::link_state::live;
}

void draw_status(screen& s, const model& m, const palette& p) {
  const int row = s.height() - 1;
  int col = 1;
  std::string state;
  if (m.signed_out) {
    state = "○ signed out";
  } else if (m.socket == socket_state::offline) {
    state = "○ offline";
    if (m.retry_at_ms > m.now_ms) {
      const std::int64_t secs = (m.retry_at_ms - m.now_ms + 999) / 1000;
      state += " (retry in " + std::to_string(secs) + " s)";
    }
  } else if (m.socket == socket_state::connecting || !room_live(m)) {
    state = "◌ connecting";
  } else {
    state = "● live";
  }
  col = s.put(row, col, state, p.state(m.socket, room_live(m)));
  const style sep = p.muted();
  if (m.room.replica) {
    const std::size_t unsent = m.room.replica->outbox().size();
    col = s.put(row, col, " · ", sep);
    col = s.put(row, col, unsent == 0 ? "all saved" : std::to_string(unsent) + " unsent",
                unsent == 0 ? p.plain() : p.important());
    if (m.socket == socket_state::welcomed && room_live(m)) {
      const std::int64_t here = m.room.replica->active_user_count();
      col = s.put(row, col, " · ", sep);
      col = s.put(row, col, std::to_string(here) + " here", p.plain());
    }
  }
  std::string message = m.status;
  if (message.empty() && m.socket == socket_state::offline && !m.socket_reason.empty() &&
      !m.signed_out) {
    message = m.socket_reason;
  }
  if (!message.empty() && col < s.width() - 6) {
    col = s.put(row, col, " · ", sep);
    s.put(row, col, fit(message, s.width() - 1 - col), m.status_is_error ? p.error() : p.plain());
  }
}

// --- dashboard ------------------------------------------------------------------------------

void draw_dashboard(screen& s, const model& m, const palette& p) {
  draw_header(s, m, p, "Rooms");
  const int users_w = 6;
  const int notes_w = 7;
  const int name_w = std::max(s.width() - 2 - users_w - notes_w - 1, 4);
  s.fill(1, 0, s.width(), p.plain());
  s.put(1, 1, fit("Room", name_w), p.heading());
  put_right(s, 1, "Users", p.heading(), 1 + notes_w + 1);
  put_right(s, 1, "Notes", p.heading(), 1);

  const dashboard_state& d = m.dash;
  const int rows = dashboard_rows(m);
  if (d.rooms.empty()) {
    std::string text;
    if (!d.listed && m.socket != socket_state::offline) {
      text = "Waiting for the room list…";
    } else {
      text = "No rooms yet. Press n to create one, or j to join one by its id.";
    }
    s.put(3, 2, fit(text, s.width() - 3), p.muted());
  }
  for (int i = 0; i < rows; ++i) {
    const std::size_t at = d.scroll + static_cast<std::size_t>(i);
    if (at >= d.rooms.size()) {
      break;
    }
    const sync::room_info& room = d.rooms[at];
    const int row = 2 + i;
    const bool sel = at == d.selected;
    s.put(row, 1, fit(one_line(room.name.empty() ? room.id : room.name), name_w), p.plain());
    put_right(s, row, std::to_string(room.active_user_count), p.plain(), 1 + notes_w + 1);
    put_right(s, row, std::to_string(room.total_notes), p.plain(), 1);
    if (sel) {
      s.restyle(row, 0, s.width(), p.selected());
    }
  }
  if (d.rooms.size() > static_cast<std::size_t>(rows)) {
    const std::string where = std::to_string(d.scroll + 1) + "–" +
                              std::to_string(std::min(d.scroll + rows, d.rooms.size())) + " of " +
                              std::to_string(d.rooms.size());
    put_right(s, s.height() - 2, where, p.muted());
  }

  const int hint_row = s.height() - 2;
  if (m.input) {
    s.fill(hint_row, 0, s.width(), p.plain());
    const std::string label =
        m.input->kind == prompt_kind::create_room ? "New room name: " : "Room id to join: ";
    const int start = s.put(hint_row, 1, label, p.key());
    const text_field& f = m.input->input;
    // Keep the caret on screen when the text is longer than the line.
    const int avail = std::max(s.width() - 1 - start, 1);
    const std::u32string& cps = f.code_points();
    const int caret = display_width(std::u32string_view(cps).substr(0, f.cursor()));
    const int skip = std::max(caret - avail + 1, 0);
    std::size_t from = 0;
    for (int w = 0; from < cps.size() && w < skip; ++from) {
      w += display_width(cps[from]);
    }
    s.put(hint_row, start, utf8_encode(std::u32string_view(cps).substr(from)), p.plain(),
          s.width() - 1);
    const int before = display_width(std::u32string_view(cps).substr(from, f.cursor() - from));
    s.cursor = std::make_pair(hint_row, std::min(start + before, s.width() - 1));
  } else {
    draw_hints(s, hint_row, p,
               {{"⏎", "open"},
                {"n", "new room"},
                {"j", "join by id"},
                {"r", "refresh"},
                {"?", "help"},
                {"q", "quit"}});
  }
}

// --- room -----------------------------------------------------------------------------------

std::set<std::string> unsent_note_ids(const sync::replica& r) {
  std::set<std::string> ids;
  for (const sync::local_op& op : r.outbox()) {
    std::visit(
        [&](const auto& o) {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, core::rebalance_op>) {
            for (const auto& entry : o.indexes) {
              ids.insert(entry.first);
            }
          } else {
            ids.insert(o.id);
          }
        },
        op.op);
  }
  return ids;
}

void draw_note_row(screen& s, int row, const core::note& n, bool selected, bool unsent,
                   const palette& p) {
  const int right = s.width() - (unsent ? 3 : 1);
  if (n.is_important) {
    s.put(row, 1, "!", p.important());
  }
  if (n.is_completed) {
    s.put(row, 2, "✓", p.done_mark());
  }
  const std::string title = one_line(n.title);
  const bool untitled = title.find_first_not_of(' ') == std::string::npos;
  const int avail = right - 4;
  // A long title leaves at least a little room for the body preview.
  const int title_max = n.body.empty() ? avail : std::max(avail - 12, avail * 2 / 3);
  int col = s.put(row, 4, fit(untitled ? "Untitled" : title, title_max),
                  untitled         ? p.muted()
                  : n.is_completed ? p.done_title()
                                   : p.title(),
                  right);
  if (!n.body.empty() && col + 4 < right) {
    std::string preview = one_line(n.body);
    preview.erase(0, preview.find_first_not_of(' '));
    s.put(row, col + 2, fit(preview, right - col - 2), p.muted(), right);
  }
  if (unsent) {
    // Written here but not yet confirmed by the server.
    s.put(row, s.width() - 2, "↑", p.important());
  }
  if (selected) {
    s.restyle(row, 0, s.width(), p.selected());
  }
}

void draw_room(screen& s, const model& m, const palette& p) {
  const room_screen_state& r = m.room;
  std::string where = room_name(m);
  if (r.replica && where != r.replica->room_id()) {
    // The id is what others need to join (j on their dashboard).
    where += " · id " + r.replica->room_id();
  }
  if (r.replica && r.replica->read_only()) {
    where += " · read only";
  }
  draw_header(s, m, p, where);
  if (!r.replica) {
    return;
  }
  const sync::replica& rep = *r.replica;

  // Who is here: only a live session knows; offline, stale names would mislead.
  std::string presence;
  if (m.socket == socket_state::welcomed && rep.state() == sync::link_state::live) {
    presence = "Here now: ";
    const auto& users = rep.users();
    for (std::size_t i = 0; i < users.size(); ++i) {
      presence += (i > 0 ? ", " : "") + users[i].name;
    }
    if (users.empty()) {
      presence += std::to_string(rep.active_user_count());
    }
  } else if (m.socket == socket_state::welcomed) {
    presence = "Joining…";
  } else {
    presence = "Here now: unknown while offline";
  }
  const std::size_t total = rep.view().size();
  const int rows = list_rows(m);
  const std::size_t n = shown_count(m);
  std::string count = std::to_string(total) + (total == 1 ? " note" : " notes");
  if (r.filter.empty() && !r.filtering && n > static_cast<std::size_t>(rows)) {
    // Where the window is in a long list.
    count = std::to_string(r.scroll + 1) + "–" +
            std::to_string(std::min(r.scroll + static_cast<std::size_t>(rows), n)) + " of " + count;
  }
  const int count_col = s.width() - 1 - display_width(count);
  if (count_col > 12) {
    s.put(1, count_col, count, p.muted());
  }
  s.put(1, 1, fit(presence, count_col > 12 ? count_col - 2 : s.width() - 2), p.muted());

  const int top = 2;
  if (rep.join_error() && total == 0) {
    const auto& e = *rep.join_error();
    const std::string text =
        e.code == "forbidden"
            ? "This room is private and you are not a member. Ask its owner to invite you."
        : e.code == "not_found" ? "There is no room with the id “" + rep.room_id() + "”."
                                : "The room could not be opened: " + e.message;
    s.put(top + 1, 2, fit(text, s.width() - 3), p.error());
  } else if (n == 0) {
    std::string text;
    if (r.loading || (!rep.loaded() && m.socket != socket_state::offline)) {
      text = "Loading…";
    } else if (!rep.loaded()) {
      text = "Not on this machine yet: it loads when the connection is back.";
    } else if (!r.filter.empty()) {
      text = "No note matches “" + r.filter + "”.";
    } else {
      text = "No notes yet. Press n to add the first one.";
    }
    s.put(top + 1, 2, fit(text, s.width() - 3), p.muted());
  }
  const std::set<std::string> unsent = unsent_note_ids(rep);
  for (int i = 0; i < rows; ++i) {
    const std::size_t at = r.scroll + static_cast<std::size_t>(i);
    if (at >= n) {
      break;
    }
    const core::note& note = shown_note(m, at);
    draw_note_row(s, top + i, note, at == r.selected, unsent.count(note.id) > 0, p);
  }

  int hint_row = s.height() - 2;
  if (r.filtering || !r.filter.empty()) {
    const int row = s.height() - 3;
    const int start = s.put(row, 1, "/", p.key());
    const int end = s.put(row, start, fit(r.filter, s.width() - 20), p.plain());
    if (r.filtering) {
      s.cursor = std::make_pair(row, end);
    }
    put_right(s, row, std::to_string(n) + " of " + std::to_string(total), p.muted());
  }
  if (r.filtering) {
    draw_hints(s, hint_row, p, {{"⏎", "keep filter"}, {"esc", "clear"}, {"↑↓", "select"}});
  } else {
    draw_hints(s, hint_row, p,
               {{"⏎", "open"},
                {"n", "new"},
                {"␣", "done"},
                {"?", "help"},
                {"!", "important"},
                {"d", "delete"},
                {"⇧↑↓", "move"},
                {"/", "filter"},
                {"u", "undo"},
                {"esc", "back"}});
  }
}

// --- editor ---------------------------------------------------------------------------------

void draw_editor(screen& s, const model& m, const palette& p) {
  const note_editor& e = *m.editor;
  draw_header(s, m, p, room_name(m) + " › " + (e.is_new() ? "New note" : "Edit note"));
  const bool on_title = e.focus() == editor_field::title;

  // Title: one line, scrolled sideways to keep the caret in view.
  const int label_end = s.put(1, 1, "Title ", on_title ? p.key() : p.muted());
  const int avail = std::max(s.width() - 1 - label_end, 1);
  const std::u32string& t = e.title().code_points();
  const int caret = display_width(std::u32string_view(t).substr(0, e.title().cursor()));
  const int skip = std::max(caret - avail + 1, 0);
  std::size_t from = 0;
  for (int w = 0; from < t.size() && w < skip; ++from) {
    w += display_width(t[from]);
  }
  if (t.empty() && !on_title) {
    s.put(1, label_end, "Untitled", p.muted());
  } else {
    s.put(1, label_end, utf8_encode(std::u32string_view(t).substr(from)), p.title(), s.width() - 1);
  }
  if (on_title) {
    const int before =
        display_width(std::u32string_view(t).substr(from, e.title().cursor() - from));
    s.cursor = std::make_pair(1, std::min(label_end + before, s.width() - 1));
  }
  // Others' carets in this note: a marked cell where each one is, their names on the rule.
  std::vector<const remote_caret*> here;
  std::vector<std::string> names;
  for (const auto& [session, c] : m.room.carets) {
    if (!e.is_new() && c.note_id == e.note_id()) {
      here.push_back(&c);
      if (std::find(names.begin(), names.end(), c.user.name) == names.end()) {
        names.push_back(c.user.name);
      }
    }
  }
  for (const remote_caret* c : here) {
    if (c->field != core::text_field::title || c->pos < from) {
      continue;
    }
    const std::size_t pos = std::min(c->pos, t.size());
    const int col = label_end + display_width(std::u32string_view(t).substr(from, pos - from));
    if (col < s.width() - 1) {
      s.restyle(1, col, 1, p.caret());
    }
  }

  // Separator with the body's label.
  std::string rule = "── Body ";
  if (!names.empty()) {
    std::string who;
    for (const std::string& n : names) {
      who += (who.empty() ? "" : ", ") + n;
    }
    rule += "── ✎ " + fit(who, std::max(s.width() - 20, 4)) + " ";
  }
  while (display_width(rule) < s.width()) {
    rule += "─";
  }
  s.put(2, 0, rule, on_title ? p.muted() : p.key());

  const int top = 3;
  const int rows = std::max(s.height() - 5, 1);
  const int width = editor_body_width(m);
  const std::u32string& b = e.body().code_points();
  const std::vector<visual_line> lines = wrap_lines(b, width);
  const std::size_t cur = e.body().cursor();
  const std::size_t caret_row = caret_line(lines, cur);
  const std::size_t scroll = caret_row >= static_cast<std::size_t>(rows)
                                 ? caret_row - static_cast<std::size_t>(rows) + 1
                                 : 0;
  if (b.empty() && on_title) {
    s.put(top, 1, "Write something…", p.muted());
  }
  for (int i = 0; i < rows; ++i) {
    const std::size_t at = scroll + static_cast<std::size_t>(i);
    if (at >= lines.size()) {
      break;
    }
    const visual_line& l = lines[at];
    s.put(top + i, 1, utf8_encode(std::u32string_view(b).substr(l.start, l.end - l.start)),
          p.plain(), s.width() - 1);
  }
  for (const remote_caret* c : here) {
    if (c->field != core::text_field::body) {
      continue;
    }
    const std::size_t pos = std::min(c->pos, b.size());
    const std::size_t row = caret_line(lines, pos);
    if (row < scroll || row >= scroll + static_cast<std::size_t>(rows)) {
      continue;
    }
    const visual_line& l = lines[row];
    const int col = 1 + display_width(std::u32string_view(b).substr(l.start, pos - l.start));
    if (col < s.width() - 1) {
      s.restyle(top + static_cast<int>(row - scroll), col, 1, p.caret());
    }
  }
  if (!on_title) {
    const visual_line& l = lines[caret_row];
    const int col = display_width(std::u32string_view(b).substr(l.start, cur - l.start));
    s.cursor = std::make_pair(top + static_cast<int>(caret_row - scroll),
                              std::min(1 + col, s.width() - 1));
  }
  draw_hints(s, s.height() - 2, p,
             {{"esc", "close"}, {"tab", "title/body"}, {"^Z", "undo"}, {"^R", "redo"}});
}

// --- help and confirm -----------------------------------------------------------------------

void draw_help(screen& s, const model& m, const palette& p) {
  draw_header(s, m, p, "Help");
  struct line {
    std::string_view keys;
    std::string_view what;
  };
  const std::vector<std::pair<std::string_view, std::vector<line>>> groups = {
      {"Rooms",
       {{"↑ ↓  ⏎", "select, open a room"},
        {"n / j", "create a room / join one by id"},
        {"r", "refresh the list"},
        {"q  ^C", "quit"}}},
      {"Notes",
       {{"↑ ↓  k j", "select; PgUp PgDn g G jump"},
        {"⏎  e", "edit title and body"},
        {"n", "new note (dropped if left empty)"},
        {"␣  !", "toggle done / important"},
        {"⇧↑ ⇧↓  K J", "move the note up / down"},
        {"d", "delete (asks first)"},
        {"u  ^R", "undo / redo your own changes"},
        {"/", "filter by title or body; esc clears"},
        {"r", "reconnect now"},
        {"esc", "back to the rooms"}}},
      {"Editor",
       {{"", "every change is sent as you type"},
        {"esc  ^X", "close"},
        {"tab", "switch between title and body"},
        {"^Z  ^R", "undo / redo your own changes"}}},
  };
  int row = 1;
  const int last = s.height() - 3;
  for (const auto& [name, lines] : groups) {
    if (row > last) {
      break;
    }
    s.put(row++, 1, name, p.heading());
    for (const line& l : lines) {
      if (row > last) {
        break;
      }
      s.put(row, 3, l.keys, p.key());
      s.put(row, std::min(16, s.width() - 1), fit(l.what, s.width() - 17), p.plain());
      ++row;
    }
    ++row;
  }
  if (!m.notices.empty() && row < last) {
    s.put(row++, 1, "Recent notices", p.heading());
    for (const std::string& n : m.notices) {
      if (row > last) {
        break;
      }
      s.put(row++, 3, fit(n, s.width() - 4), p.plain());
    }
  }
  s.put(s.height() - 2, 1, "Press any key to go back.", p.muted());
}

void draw_confirm(screen& s, const model& m, const palette& p) {
  draw_room(s, m, p);
  const core::note* n = m.room.replica ? m.room.replica->find(m.room.confirm_id) : nullptr;
  std::string label = n == nullptr ? "this note" : one_line(n->title);
  if (label.find_first_not_of(' ') == std::string::npos) {
    label = "Untitled";
  }
  const int w = std::min(s.width() - 2, 50);
  const int left = (s.width() - w) / 2;
  const int top = std::max((s.height() - 5) / 2, 0);
  const style box = p.make(attr_bold, color::error);
  std::string border = "┌─ Delete note ";
  while (display_width(border) < w - 1) {
    border += "─";
  }
  s.fill(top, left, w, p.plain());
  s.put(top, left, border + "┐", box);
  for (int i = 1; i <= 3; ++i) {
    s.fill(top + i, left, w, p.plain());
    s.put(top + i, left, "│", box);
    s.put(top + i, left + w - 1, "│", box);
  }
  std::string bottom = "└";
  while (display_width(bottom) < w - 1) {
    bottom += "─";
  }
  s.fill(top + 4, left, w, p.plain());
  s.put(top + 4, left, bottom + "┘", box);
  s.put(top + 1, left + 2, fit("Delete “" + fit(label, w - 16) + "”?", w - 4), p.plain());
  int col = s.put(top + 3, left + 2, "y", p.key());
  col = s.put(top + 3, col + 1, "delete", p.plain());
  col = s.put(top + 3, col + 3, "n", p.key());
  s.put(top + 3, col + 1, "keep it", p.plain());
}

}  // namespace

screen view(const model& m) {
  screen s(m.width, m.height);
  const palette p{m.color};
  switch (m.top()) {
    case screen_kind::dashboard:
      draw_dashboard(s, m, p);
      break;
    case screen_kind::room:
      draw_room(s, m, p);
      break;
    case screen_kind::editor:
      if (m.editor) {
        draw_editor(s, m, p);
      }
      break;
    case screen_kind::help:
      draw_help(s, m, p);
      break;
    case screen_kind::confirm_delete:
      draw_confirm(s, m, p);
      break;
  }
  draw_status(s, m, p);
  return s;
}

}  // namespace fun_notes::cli::tui

// Shared helpers of the TUI tests: a model driven by messages, and server frames to feed it.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fun_notes/core/note.hpp"
#include "tui/update.hpp"

namespace fun_notes::cli::tui::testing {

inline core::note make_note(std::string id, std::string title, double index, std::string body = "",
                            bool important = false, bool completed = false) {
  core::note n;
  n.id = std::move(id);
  n.title = std::move(title);
  n.body = std::move(body);
  n.is_important = important;
  n.is_completed = completed;
  n.current_index = index;
  n.seq = 1;
  n.updated_at = "2026-12-02T09:00:00.000Z";
  return n;
}

inline sync::room_info make_room(std::string id, std::string name, std::int64_t users = 0,
                                 std::int64_t notes = 0, std::string role = "owner") {
  return sync::room_info{std::move(id), std::move(name), "private", std::move(role), users, notes};
}

// A model and everything update asked for, message by message.
struct driver {
  model m;
  std::vector<command> last;  // the commands of the last message
  std::vector<command> all;   // every command so far

  explicit driver(int width = 80, int height = 24, bool color = true)
      : m(initial_model(sync::user_ref{"u1", "ann"}, color, width, height, 7, 1'764'666'000'000,
                        "2026-12-02T09:00:00.000Z")) {}

  driver& send(const msg& message) {
    auto [next, commands] = update(std::move(m), message);
    m = std::move(next);
    last = commands;
    all.insert(all.end(), commands.begin(), commands.end());
    return *this;
  }
  driver& press(key k) { return send(key_msg{k}); }
  driver& press(key_code c) { return press(key::of(c)); }
  driver& press(char32_t c) { return press(key::chr(c)); }
  driver& type(std::u32string_view text) {
    for (char32_t c : text) {
      press(c);
    }
    return *this;
  }
  driver& server(sync::server_msg message) {
    return send(net_msg{net::message_event{std::move(message)}});
  }

  // The socket comes up and the session starts.
  driver& connect() {
    send(net_msg{net::connecting_event{}});
    send(net_msg{net::connected_event{}});
    sync::welcome_msg w;
    w.server = "s1";
    w.user = {"u1", "ann"};
    return server(w);
  }
  driver& disconnect() {
    return send(net_msg{
        net::disconnected_event{1006, "connection lost", std::chrono::milliseconds(2000), false}});
  }

  // Opens room r1, found in the cache holding `notes`, and joins it live.
  driver& open_live(std::vector<core::note> notes, std::string role = "owner") {
    open_cached(notes, role);
    connect();
    join_answer(std::move(notes), role);
    return *this;
  }
  // Opens room r1 from the cache, offline.
  driver& open_cached(const std::vector<core::note>& notes, std::string role = "owner") {
    send(open_room_msg{"r1"});
    sync::replica cached(
        make_room("r1", "Groceries", 0, static_cast<std::int64_t>(notes.size()), role),
        core::room_state(1, notes), {});
    return send(room_loaded_msg{"r1", std::move(cached)});
  }
  // The server's answer to a join: the snapshot, then presence (which completes it).
  driver& join_answer(std::vector<core::note> notes, std::string role = "owner",
                      std::int64_t seq = 1) {
    sync::snapshot_msg snap;
    snap.room = "r1";
    snap.seq = seq;
    snap.info = make_room("r1", "Groceries", 2, static_cast<std::int64_t>(notes.size()), role);
    snap.notes = std::move(notes);
    server(snap);
    sync::presence_msg p;
    p.room = "r1";
    p.active_user_count = 2;
    p.users = {{"u1", "ann"}, {"u2", "bob"}};
    return server(p);
  }

  // A create / move / delete by someone else, numbered by the server.
  driver& remote(core::op o, std::int64_t seq, std::string cid = "their-cid") {
    sync::op_msg msg;
    msg.room = "r1";
    msg.cid = std::move(cid);
    msg.user = "u2";
    msg.applied = core::applied_op{seq, "2026-12-02T09:01:00.000Z", std::move(o)};
    return server(msg);
  }

  template <class T>
  std::vector<T> commands_of(const std::vector<command>& list) const {
    std::vector<T> out;
    for (const command& c : list) {
      if (const T* t = std::get_if<T>(&c)) {
        out.push_back(*t);
      }
    }
    return out;
  }
  // Frames update asked to send in the last message.
  std::vector<std::string> frames() const {
    std::vector<std::string> out;
    for (const auto& f : commands_of<cmd::send_frame>(last)) {
      out.push_back(f.frame);
    }
    return out;
  }

  // The titles the room screen lists, in order.
  std::vector<std::string> shown_titles() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < shown_count(m); ++i) {
      out.push_back(shown_note(m, i).title);
    }
    return out;
  }
  std::string selected_title() const {
    return shown_count(m) == 0 ? "" : shown_note(m, m.room.selected).title;
  }
};

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace fun_notes::cli::tui::testing

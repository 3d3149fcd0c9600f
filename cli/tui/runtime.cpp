// The TUI's runtime: the only place with I/O. It owns the terminal (ncurses), the socket, the
// cache and the HTTP calls; it turns their events into messages, runs update, carries out the
// commands and draws the view.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <clocale>
#include <cstdio>
#include <ctime>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "fun_notes/core/codec.hpp"
#include "net/connection.hpp"
#include "net/http.hpp"
#include "sync/cache.hpp"
#include "tui/curses_keys.hpp"
#include "tui/text.hpp"
#include "tui/tui.hpp"
#include "tui/update.hpp"
#include "tui/view.hpp"

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <ncursesw/curses.h>
#include "sync/overloaded.hpp"

namespace fun_notes::cli::tui {

namespace {

constexpr int tick_ms = 1000;

// Key codes of our own for escape sequences the terminfo entry does not name (shifted arrows
// in tmux or rxvt): well above ncurses' KEY_MAX.
constexpr int key_shift_up = 0x2000;
constexpr int key_shift_down = 0x2001;

// HTTP calls block for up to their timeout, so they run on threads of their own and post
// their answer here; the pipe wakes the loop. Shared, so a call still running at exit finds
// its inbox alive.
struct http_inbox {
  std::mutex mutex;
  std::vector<msg> messages;
  int pipe_fds[2] = {-1, -1};

  http_inbox() {
    if (::pipe(pipe_fds) != 0) {
      pipe_fds[0] = pipe_fds[1] = -1;
    }
  }
  ~http_inbox() {
    for (int fd : pipe_fds) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }
  void post(msg m) {
    {
      std::lock_guard lock(mutex);
      messages.push_back(std::move(m));
    }
    const char byte = 1;
    [[maybe_unused]] auto n = ::write(pipe_fds[1], &byte, 1);
  }
  std::vector<msg> drain() {
    char buf[64];
    while (::read(pipe_fds[0], buf, sizeof buf) == static_cast<ssize_t>(sizeof buf)) {
    }
    std::lock_guard lock(mutex);
    return std::exchange(messages, {});
  }
};

// Shifted arrows have no fixed curses code: xterm's terminfo names them kUP / kDN (extended
// capabilities), other terminals send the xterm sequence without naming it.
shifted_arrows discover_keys() {
  shifted_arrows codes;
  auto code_for = [](const char* cap, const char* fallback_seq, int own) {
    char* seq = tigetstr(cap);
    if (seq != nullptr && seq != reinterpret_cast<char*>(-1)) {
      const int code = key_defined(seq);
      if (code > 0) {
        return code;
      }
    }
    const int code = key_defined(fallback_seq);
    if (code > 0) {
      return code;
    }
    define_key(fallback_seq, own);
    return own;
  };
  codes.shift_up = code_for("kUP", "\033[1;2A", key_shift_up);
  codes.shift_down = code_for("kDN", "\033[1;2B", key_shift_down);
  return codes;
}

std::string local_clock(std::int64_t unix_millis) {
  const std::time_t t = static_cast<std::time_t>(unix_millis / 1000);
  std::tm local{};
  if (localtime_r(&t, &local) == nullptr) {
    return {};
  }
  char buf[8];
  return std::strftime(buf, sizeof buf, "%H:%M", &local) > 0 ? std::string(buf) : std::string{};
}

short pair_of(color c) {
  return static_cast<short>(c);  // pair n is set up for role n in init_colors
}

void init_colors() {
  start_color();
  use_default_colors();
  const short grey = COLORS >= 16 ? 8 : COLOR_WHITE;
  init_pair(pair_of(color::accent), COLOR_CYAN, -1);
  init_pair(pair_of(color::selection), COLOR_BLUE, -1);
  init_pair(pair_of(color::important), COLOR_YELLOW, -1);
  init_pair(pair_of(color::completed), COLOR_GREEN, -1);
  init_pair(pair_of(color::muted), grey, -1);
  init_pair(pair_of(color::live), COLOR_GREEN, -1);
  init_pair(pair_of(color::connecting), COLOR_YELLOW, -1);
  init_pair(pair_of(color::offline), COLOR_RED, -1);
  init_pair(pair_of(color::error), COLOR_RED, -1);
}

attr_t attrs_of(const style& st) {
  attr_t a = A_NORMAL;
  if (st.attrs & attr_bold) {
    a |= A_BOLD;
  }
  if (st.attrs & attr_reverse) {
    a |= A_REVERSE;
  }
  if (st.attrs & attr_dim) {
    a |= A_DIM;
  }
  if (st.attrs & attr_underline) {
    a |= A_UNDERLINE;
  }
  return a;
}

void draw(const screen& s, bool color) {
  const int rows = std::min(s.height(), LINES);
  const int cols = std::min(s.width(), COLS);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const cell& x = s.at(r, c);
      if (x.continuation) {
        continue;
      }
      const std::u32string cps = utf8_decode(x.text);
      wchar_t wide[CCHARW_MAX + 1] = {};
      std::size_t n = 0;
      for (char32_t cp : cps) {
        if (n >= CCHARW_MAX) {
          break;
        }
        wide[n++] = static_cast<wchar_t>(cp);
      }
      if (n == 0) {
        wide[n++] = L' ';
      }
      cchar_t cc;
      const short pair = color ? pair_of(x.st.fg) : 0;
      setcchar(&cc, wide, attrs_of(x.st), pair, nullptr);
      // The bottom-right cell makes curses report an error (the cursor cannot advance past
      // it); the cell is drawn all the same.
      mvadd_wch(r, c, &cc);
    }
  }
  if (s.cursor && s.cursor->first < rows && s.cursor->second < cols) {
    curs_set(1);
    move(s.cursor->first, s.cursor->second);
  } else {
    curs_set(0);
  }
  wnoutrefresh(stdscr);
  doupdate();
}

class runtime {
 public:
  runtime(const tui_options& options, std::unique_ptr<sync::cache> cache)
      : options_(options),
        cache_(std::move(cache)),
        http_(std::make_shared<http_inbox>()),
        model_(make_model(options)) {}

  int run();

 private:
  static model make_model(const tui_options& options) {
    std::random_device rd;
    const std::uint64_t seed = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    const std::int64_t now = core::now_millis();
    model m = initial_model(options.user, options.color, 80, 24, seed, now, core::format_time(now));
    m.clock = local_clock(now);
    return m;
  }

  void dispatch(msg first);
  void adopt_queued_elsewhere(const net::net_event& e);
  void execute(command&& c, std::deque<msg>& follow_ups);
  void spawn_http(std::function<msg(const net::api&)> call);
  void cache_write(const std::function<void()>& write, std::deque<msg>& follow_ups);

  const tui_options& options_;
  std::unique_ptr<sync::cache> cache_;
  std::shared_ptr<http_inbox> http_;
  std::unique_ptr<net::connection> connection_;
  model model_;
  bool running_ = true;
  bool dirty_ = true;
};

void runtime::dispatch(msg first) {
  std::deque<msg> queue;
  queue.push_back(std::move(first));
  while (!queue.empty()) {
    msg next = std::move(queue.front());
    queue.pop_front();
    auto [m, commands] = update(std::move(model_), next);
    model_ = std::move(m);
    for (command& c : commands) {
      execute(std::move(c), queue);
    }
  }
  dirty_ = true;
}

// When the socket is welcomed (the join comes next), the open room takes in what a command
// queued for it in the same cache meanwhile, so it goes out with this client's own changes.
void runtime::adopt_queued_elsewhere(const net::net_event& e) {
  const auto* m = std::get_if<net::message_event>(&e);
  if (m == nullptr || !std::holds_alternative<sync::welcome_msg>(m->msg) || !model_.room.replica) {
    return;
  }
  try {
    if (auto stored = cache_->load_room(model_.room.replica->room_id())) {
      dispatch(queued_elsewhere_msg{stored->room_id(), stored->outbox()});
    }
  } catch (const std::exception& ex) {
    dispatch(status_msg{std::string("Could not read the cache: ") + ex.what(), true});
  }
}

void runtime::cache_write(const std::function<void()>& write, std::deque<msg>& follow_ups) {
  try {
    write();
  } catch (const std::exception& e) {
    follow_ups.push_back(status_msg{std::string("Could not write the cache: ") + e.what(), true});
  }
}

void runtime::spawn_http(std::function<msg(const net::api&)> call) {
  net::api api{options_.server_url, options_.token};
  std::thread([inbox = http_, api = std::move(api), call = std::move(call)] {
    inbox->post(call(api));
  }).detach();
}

void runtime::execute(command&& c, std::deque<msg>& follow_ups) {
  std::visit(
      overloaded{
          [&](cmd::send_frame& f) {
            if (connection_) {
              connection_->send(std::move(f.frame));
            }
          },
          [&](cmd::persist_room&) {
            if (model_.room.replica) {
              cache_write([&] { cache_->save(*model_.room.replica); }, follow_ups);
            }
          },
          [&](cmd::save_closed_room& r) { cache_write([&] { cache_->save(r.room); }, follow_ups); },
          [&](cmd::save_rooms& r) {
            cache_write([&] { cache_->save_rooms(r.rooms); }, follow_ups);
          },
          [&](cmd::save_room_stat& r) {
            cache_write([&] { cache_->update_room_stat(r.stat); }, follow_ups);
          },
          [&](cmd::store_notices& n) {
            std::vector<sync::notice> notices;
            for (std::size_t i = 0; i < n.messages.size(); ++i) {
              notices.push_back(sync::notice{n.note_ids[i], n.messages[i]});
            }
            cache_write([&] { cache_->add_notices(n.room, notices, model_.now); }, follow_ups);
          },
          [&](cmd::load_room& l) {
            std::optional<sync::replica> loaded;
            try {
              loaded = cache_->load_room(l.room_id);
            } catch (const std::exception& e) {
              follow_ups.push_back(
                  status_msg{std::string("Could not read the cache: ") + e.what(), true});
            }
            follow_ups.push_back(room_loaded_msg{l.room_id, std::move(loaded)});
          },
          [&](cmd::create_room& r) {
            spawn_http([name = r.name, visibility = r.visibility](const net::api& api) -> msg {
              return room_created_msg{api.create_room(name, visibility)};
            });
          },
          [&](cmd::list_rooms&) {
            spawn_http(
                [](const net::api& api) -> msg { return rooms_listed_msg{api.list_rooms()}; });
          },
          [&](cmd::reconnect_now&) {
            if (connection_) {
              connection_->reconnect_now();
            }
          },
          [&](cmd::quit&) { running_ = false; },
      },
      c);
}

int runtime::run() {
  // Offline first: the rooms and the room come from the cache before the terminal or the
  // network start, so the first frame shows the last known state at once.
  try {
    dispatch(cached_rooms_msg{cache_->rooms()});
  } catch (const std::exception& e) {
    dispatch(status_msg{std::string("Could not read the cache: ") + e.what(), true});
  }
  if (options_.room) {
    dispatch(open_room_msg{*options_.room});
  }

  initscr();
  raw();  // ^C, ^S and ^Z reach the TUI as keys
  noecho();
  nonl();
  keypad(stdscr, TRUE);
  set_escdelay(25);
  if (options_.color && has_colors()) {
    init_colors();
  }
  const bool color = options_.color && has_colors();
  const shifted_arrows codes = discover_keys();
  dispatch(resize_msg{COLS, LINES});
  draw(view(model_), color);
  dirty_ = false;

  net::connection_options copts;
  copts.server_url = options_.server_url;
  copts.token = options_.token;
  connection_ = std::make_unique<net::connection>(std::move(copts));
  connection_->start();
  {
    std::deque<msg> follow_ups;
    execute(cmd::list_rooms{}, follow_ups);
  }

  std::int64_t next_tick = core::now_millis() + tick_ms;
  while (running_) {
    const std::int64_t now = core::now_millis();
    if (now >= next_tick) {
      dispatch(tick_msg{now, core::format_time(now), local_clock(now)});
      next_tick = now + tick_ms;
    }
    if (dirty_) {
      draw(view(model_), color);
      dirty_ = false;
    }
    pollfd fds[3] = {{STDIN_FILENO, POLLIN, 0},
                     {connection_->wakeup_fd(), POLLIN, 0},
                     {http_->pipe_fds[0], POLLIN, 0}};
    const int timeout = static_cast<int>(std::max<std::int64_t>(next_tick - now, 0));
    const int ready = ::poll(fds, 3, timeout);
    if (ready < 0 && errno != EINTR) {
      break;
    }
    // A resize interrupts poll (SIGWINCH); curses then has KEY_RESIZE waiting, so stdin is
    // read after every wake-up, not only when poll said so.
    nodelay(stdscr, TRUE);
    for (int i = 0; i < 512 && running_; ++i) {
      wint_t ch = 0;
      const int status = wget_wch(stdscr, &ch);
      if (status == ERR) {
        break;
      }
      if (status == KEY_CODE_YES && ch == KEY_RESIZE) {
        dispatch(resize_msg{COLS, LINES});
        continue;
      }
      if (auto k = decode_curses_key(status, static_cast<std::uint32_t>(ch), codes)) {
        dispatch(key_msg{*k});
      }
    }
    if (ready > 0 && (fds[1].revents & POLLIN) != 0) {
      for (net::net_event& e : connection_->drain()) {
        adopt_queued_elsewhere(e);
        dispatch(net_msg{std::move(e)});
      }
    }
    if (ready > 0 && (fds[2].revents & POLLIN) != 0) {
      for (msg& m : http_->drain()) {
        dispatch(std::move(m));
      }
    }
  }

  // Whatever is still unwritten goes to the cache before the terminal is given back.
  if (model_.room.replica) {
    try {
      cache_->save(*model_.room.replica);
    } catch (const std::exception&) {
      // Nothing to tell: the screen is gone. The outbox written with each edit is intact.
    }
  }
  connection_->stop();
  endwin();
  return 0;
}

}  // namespace

int run_tui(const tui_options& options) {
  std::setlocale(LC_ALL, "");
  std::unique_ptr<sync::cache> cache;
  try {
    cache = std::make_unique<sync::cache>(options.cache_file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fun-notes: %s\n", e.what());
    return 1;
  }
  runtime rt(options, std::move(cache));
  return rt.run();
}

}  // namespace fun_notes::cli::tui

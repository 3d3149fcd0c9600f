// The `fun-notes` subcommands. Each one reads the cache, talks to the server when it can, and
// falls back to the cache (queueing changes) when it cannot.
#include "commands/commands.hpp"

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <iostream>
#include <random>

#include "commands/config.hpp"
#include "commands/room_sync.hpp"
#include "fun_notes/core/codec.hpp"
#include "fun_notes/core/order.hpp"
#include "net/http.hpp"
#include "sync/cache.hpp"
#ifdef FUN_NOTES_HAVE_TUI
#include "tui/tui.hpp"
#endif

namespace fun_notes::cli {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// A command's failure: printed as one line on stderr, with the exit code.
struct failure {
  int code;
  std::string message;
};

struct context {
  std::string server_flag;
  std::optional<credentials> creds;
  std::chrono::milliseconds timeout{3000};

  std::string server() const { return resolve_server(server_flag, creds); }

  const credentials& signed_in() const {
    if (!creds) {
      throw failure{exit_auth, "not signed in: run `fun-notes login` (or `fun-notes register`)"};
    }
    return *creds;
  }

  net::api api() const {
    net::api a;
    a.server_url = server();
    a.token = creds ? creds->token : std::string();
    a.timeout = timeout;
    return a;
  }

  std::unique_ptr<sync::cache> open_cache() const {
    const credentials& c = signed_in();
    try {
      // The notes are the user's own: nobody else on the machine reads them.
      std::filesystem::create_directories(data_dir());
      std::filesystem::permissions(data_dir(), std::filesystem::perms::owner_all);
      return std::make_unique<sync::cache>(cache_file(server(), c.user.id));
    } catch (const std::exception& e) {
      throw failure{exit_error, e.what()};
    }
  }
};

int code_for(const core::error& e) {
  if (e.code == "offline") {
    return exit_unreachable;
  }
  if (e.code == "unauthorized") {
    return exit_auth;
  }
  if (e.code == "not_found") {
    return exit_not_found;
  }
  return exit_error;
}

template <class T>
T value_or_fail(core::result<T> r) {
  if (!r) {
    throw failure{code_for(r.err()), r.err().message};
  }
  return std::move(*r);
}

std::string random_id(std::size_t length = 12) {
  static sync::id_source ids(std::random_device{}() ^
                             (static_cast<std::uint64_t>(std::random_device{}()) << 32));
  return ids.next(length);
}

std::string now() {
  return core::format_time(core::now_millis());
}

// ---- output -------------------------------------------------------------------------------

void print_notices(const std::vector<sync::notice>& notices) {
  for (const auto& n : notices) {
    std::cerr << "fun-notes: " << n.message << "\n";
  }
}

// The first line of `text`, cut to `width` code points.
std::string preview(const std::string& text, std::size_t width) {
  std::string line = text.substr(0, text.find('\n'));
  std::size_t points = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) {
      if (points == width) {
        return line.substr(0, i) + "…";
      }
      ++points;
    }
  }
  return line;
}

json::object note_json(const core::note& n, std::size_t position) {
  json::object o = core::to_json(n);
  o["position"] = position;
  return o;
}

json::object room_json(const sync::room_info& r) {
  return json::object{{"id", r.id},
                      {"name", r.name},
                      {"visibility", r.visibility},
                      {"role", r.role},
                      {"active_user_count", r.active_user_count},
                      {"total_notes", r.total_notes}};
}

void print_notes(sync::replica& room, bool online, bool as_json) {
  const auto& notes = room.view();
  if (as_json) {
    json::array list;
    for (std::size_t i = 0; i < notes.size(); ++i) {
      list.push_back(note_json(notes[i], i + 1));
    }
    std::cout << json::serialize(json::object{{"room", room_json(room.info())},
                                              {"seq", room.base().seq()},
                                              {"offline", !online},
                                              {"unsent", room.outbox().size()},
                                              {"notes", std::move(list)}})
              << "\n";
    return;
  }
  std::cout << (room.info().name.empty() ? room.room_id() : room.info().name) << "  ("
            << room.room_id() << ", " << notes.size() << (notes.size() == 1 ? " note" : " notes");
  if (online) {
    std::cout << ", " << room.active_user_count() << " here";
  } else {
    std::cout << ", offline: from this device's copy";
  }
  if (!room.outbox().empty()) {
    std::cout << ", " << room.outbox().size() << " unsent";
  }
  std::cout << ")\n";
  for (std::size_t i = 0; i < notes.size(); ++i) {
    const core::note& n = notes[i];
    std::cout << (i + 1 < 10    ? "  "
                  : i + 1 < 100 ? " "
                                : "")
              << i + 1 << "  " << n.id.substr(0, 6) << "  " << (n.is_completed ? "[x]" : "[ ]")
              << " " << (n.is_important ? "!" : " ") << " "
              << preview(n.title.empty() ? "(untitled)" : n.title, 36);
    if (!n.body.empty()) {
      std::cout << "  — " << preview(n.body, 30);
    }
    std::cout << "\n";
  }
}

// ---- resolving what the user named ----------------------------------------------------------

// A room by id, or by name (exact, then case-insensitive) among the rooms this device knows;
// the list is refreshed from the server when the name is not found.
std::string resolve_room(const context& ctx, sync::cache& cache, const std::string& ref) {
  const auto match = [&](const std::vector<sync::room_info>& rooms) -> std::optional<std::string> {
    for (const auto& r : rooms) {
      if (r.id == ref) {
        return r.id;
      }
    }
    std::vector<std::string> named;
    const auto lower = [](std::string s) {
      std::transform(s.begin(), s.end(), s.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      return s;
    };
    for (const auto& r : rooms) {
      if (lower(r.name) == lower(ref)) {
        named.push_back(r.id);
      }
    }
    if (named.size() > 1) {
      throw failure{exit_not_found, "several rooms are named \"" + ref + "\": give its id"};
    }
    return named.empty() ? std::nullopt : std::optional(named.front());
  };
  if (auto id = match(cache.rooms())) {
    return *id;
  }
  if (auto rooms = ctx.api().list_rooms(); rooms.ok()) {
    cache.save_rooms(*rooms);
    if (auto id = match(*rooms)) {
      return *id;
    }
  }
  if (core::valid_id(ref)) {
    return ref;  // an id this device has not seen: the server decides
  }
  throw failure{exit_not_found, "no room \"" + ref + "\" (see `fun-notes rooms`)"};
}

// A note by its position in `notes` (1-based) or by a unique prefix of its id.
const core::note& resolve_note(sync::replica& room, const std::string& ref) {
  const auto& notes = room.view();
  // A short number is a position, never an id prefix: "9" in a room of two notes is an error,
  // not whichever note's id happens to start with 9.
  if (!ref.empty() && std::all_of(ref.begin(), ref.end(), ::isdigit) && ref.size() <= 5) {
    const std::size_t position = std::stoul(ref);
    if (position >= 1 && position <= notes.size()) {
      return notes[position - 1];
    }
    throw failure{exit_not_found, "no note at position " + ref + " (the room has " +
                                      std::to_string(notes.size()) + "; see `fun-notes notes`)"};
  }
  const core::note* found = nullptr;
  for (const auto& n : notes) {
    if (n.id == ref) {
      return n;
    }
    if (n.id.starts_with(ref)) {
      if (found != nullptr) {
        throw failure{exit_not_found, "\"" + ref + "\" names several notes: give more of its id"};
      }
      found = &n;
    }
  }
  if (found == nullptr) {
    throw failure{exit_not_found, "no note \"" + ref + "\" in this room (see `fun-notes notes`)"};
  }
  return *found;
}

// ---- the shape of every room command ----------------------------------------------------------

// Opens the room: joined when the server answers, else from the cache. Throws when neither.
std::unique_ptr<room_sync> open_room(const context& ctx, sync::cache& cache,
                                     const std::string& ref) {
  const credentials& c = ctx.signed_in();
  const std::string id = resolve_room(ctx, cache, ref);
  auto rs = std::make_unique<room_sync>(cache, ctx.server(), c.token, id);
  if (!rs->join(ctx.timeout)) {
    if (rs->room().join_error()) {
      throw failure{exit_not_found, rs->offline_reason() + " (" + id + ")"};
    }
    if (!rs->known_locally()) {
      if (rs->auth_refused()) {
        throw failure{exit_auth, "the server refused the sign-in: run `fun-notes login`"};
      }
      throw failure{exit_unreachable, "cannot reach " + ctx.server() + " (" + rs->offline_reason() +
                                          ") and this device has no copy of the room yet"};
    }
  }
  return rs;
}

// Applies one local change, sends it when online, and says what happened.
int change(const context& ctx, const std::string& room_ref,
           const std::function<sync::effects(sync::replica&)>& make,
           const std::function<std::string(sync::replica&)>& describe) {
  auto cache = ctx.open_cache();
  auto rs = open_room(ctx, *cache, room_ref);
  sync::replica& room = rs->room();
  sync::effects fx = make(room);
  const bool refused = !fx.view_changed && !fx.notices.empty();
  const auto local_notices = fx.notices;
  rs->apply(std::move(fx));
  if (refused) {
    print_notices(local_notices);
    return exit_error;
  }
  const bool sent = rs->online() && rs->settle(ctx.timeout);
  const std::string what = describe(room);
  if (sent) {
    std::cout << what << "\n";
  } else {
    std::cout << what << " (offline: queued on this device, " << room.outbox().size()
              << " unsent; it goes out with the next `fun-notes sync`"
              << " or when the app reconnects)\n";
    if (rs->auth_refused()) {
      std::cerr << "fun-notes: the server refused the sign-in: run `fun-notes login`\n";
    }
  }
  print_notices(rs->notices());
  rs->close();
  return exit_ok;
}

// ---- sign-in ---------------------------------------------------------------------------------

std::string prompt(const std::string& question, bool secret) {
  std::cerr << question << std::flush;
  termios old{};
  const bool tty = ::isatty(STDIN_FILENO) != 0 && ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (secret && tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (secret && tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  }
  return line;
}

struct sign_in_options {
  std::string username;
  std::string password;
  bool password_stdin = false;
};

void add_sign_in_options(CLI::App* cmd, sign_in_options& o) {
  cmd->add_option("-u,--username", o.username, "Your user name (asked when not given)");
  cmd->add_option("--password", o.password,
                  "Your password (visible to other local users: prefer --password-stdin)");
  cmd->add_flag("--password-stdin", o.password_stdin, "Read the password from standard input");
}

int sign_in(context& ctx, sign_in_options o, bool create) {
  if (o.username.empty()) {
    o.username = prompt("User name: ", false);
  }
  if (o.password_stdin) {
    std::getline(std::cin, o.password);
  } else if (o.password.empty()) {
    o.password = prompt("Password: ", true);
  }
  net::api a = ctx.api();
  a.token.clear();
  net::session s = value_or_fail(create ? a.register_user(o.username, o.password)
                                        : a.login(o.username, o.password));
  save_credentials(credentials{a.server_url, s.token, s.user});
  std::cout << (create ? "Registered and signed in as " : "Signed in as ") << s.user.name << " on "
            << a.server_url << "\n";
  return exit_ok;
}

// ---- sharing ------------------------------------------------------------------------------

std::string path_part(const std::string& s) {
  if (!core::valid_id(s)) {
    throw failure{exit_usage, "\"" + s + "\" is not an id"};
  }
  return s;
}

// "1h", "2d", "30m", "never" or seconds; nullopt for never.
std::optional<std::int64_t> expiry_seconds(const std::string& text) {
  if (text == "never") {
    return std::nullopt;
  }
  std::size_t used = 0;
  std::int64_t n = 0;
  try {
    n = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = used == 0 ? "?" : text.substr(used);
  const std::int64_t scale = unit.empty() || unit == "s" ? 1
                             : unit == "m"               ? 60
                             : unit == "h"               ? 3600
                             : unit == "d"               ? 86400
                                                         : 0;
  if (used == 0 || scale == 0 || n <= 0) {
    throw failure{exit_usage, "--expires: say 1h, 1d, 7d, never or a number of seconds"};
  }
  return n * scale;
}

int make_invite(const context& ctx, const std::string& room_ref, const std::string& role,
                const std::string& expires, std::optional<std::int64_t> max_uses, bool as_json) {
  ctx.signed_in();
  auto cache = ctx.open_cache();
  const std::string room = resolve_room(ctx, *cache, room_ref);
  json::object body{{"role", role}};
  const auto seconds = expiry_seconds(expires);
  body["expires_in"] = seconds ? json::value(*seconds) : json::value(nullptr);
  if (max_uses) {
    body["max_uses"] = *max_uses;
  }
  auto answer = value_or_fail(ctx.api().call("POST", "/api/rooms/" + room + "/invites", body));
  const std::string link = ctx.server() + std::string(answer["url"].as_string());
  if (as_json) {
    answer["link"] = link;
    std::cout << json::serialize(answer) << "\n";
    return exit_ok;
  }
  const auto& inv = answer["invite"].as_object();
  std::cout << link << "\n";
  std::cout << "Anyone signed in who opens it joins as " << role;
  if (const auto& at = inv.at("expires_at"); at.is_string()) {
    std::cout << ", until " << at.as_string().c_str();
  }
  if (const auto& uses = inv.at("max_uses"); uses.is_int64()) {
    std::cout << ", " << uses.as_int64() << " time" << (uses.as_int64() == 1 ? "" : "s");
  }
  std::cout << ". Accept it with: fun-notes accept " << answer["token"].as_string().c_str() << "\n";
  return exit_ok;
}

int accept_invite(const context& ctx, const std::string& ref, bool as_json) {
  ctx.signed_in();
  // A link (…/invite/<token>) or the token alone.
  std::string token = ref;
  if (const auto at = ref.rfind("/invite/"); at != std::string::npos) {
    token = ref.substr(at + 8);
    token = token.substr(0, token.find_first_of("?#/"));
  }
  auto answer = value_or_fail(
      ctx.api().call("POST", "/api/invites/" + path_part(token) + "/accept", std::nullopt));
  const auto& room = answer["room"].as_object();
  if (as_json) {
    std::cout << json::serialize(room) << "\n";
  } else {
    std::cout << "You are in " << room.at("name").as_string().c_str() << " ("
              << room.at("id").as_string().c_str() << ") as " << room.at("role").as_string().c_str()
              << "\n";
  }
  auto cache = ctx.open_cache();
  if (auto rooms = ctx.api().list_rooms(); rooms.ok()) {
    cache->save_rooms(*rooms);
  }
  return exit_ok;
}

json::array room_members(const context& ctx, const std::string& room) {
  auto answer = value_or_fail(ctx.api().call("GET", "/api/rooms/" + room, std::nullopt));
  return answer["members"].as_array();
}

int list_members(const context& ctx, const std::string& room_ref, bool as_json) {
  ctx.signed_in();
  auto cache = ctx.open_cache();
  const auto list = room_members(ctx, resolve_room(ctx, *cache, room_ref));
  if (as_json) {
    std::cout << json::serialize(json::object{{"members", list}}) << "\n";
    return exit_ok;
  }
  for (const auto& m : list) {
    const auto& o = m.as_object();
    std::cout << o.at("name").as_string().c_str() << "  " << o.at("role").as_string().c_str()
              << "  " << o.at("id").as_string().c_str() << "\n";
  }
  return exit_ok;
}

// role_name empty: remove the member.
int change_member(const context& ctx, const std::string& room_ref, const std::string& user_ref,
                  const std::string& role_name) {
  ctx.signed_in();
  auto cache = ctx.open_cache();
  const std::string room = resolve_room(ctx, *cache, room_ref);
  std::string id;
  std::string name;
  for (const auto& m : room_members(ctx, room)) {
    const auto& o = m.as_object();
    const std::string member_name(o.at("name").as_string());
    const std::string member_id(o.at("id").as_string());
    if (member_id == user_ref || member_name == user_ref) {
      id = member_id;
      name = member_name;
    }
  }
  if (id.empty()) {
    throw failure{exit_not_found,
                  "no member \"" + user_ref + "\" in this room (see `fun-notes members`)"};
  }
  const std::string path = "/api/rooms/" + room + "/members/" + path_part(id);
  if (role_name.empty()) {
    value_or_fail(ctx.api().call("DELETE", path, std::nullopt));
    std::cout << "Removed " << name << "\n";
  } else {
    value_or_fail(ctx.api().call("PUT", path, json::object{{"role", role_name}}));
    std::cout << name << " is now " << (role_name == "owner" ? "the owner" : role_name)
              << (role_name == "owner" ? "; you are an editor" : "") << "\n";
  }
  return exit_ok;
}

}  // namespace

int run(int argc, char** argv) {
  context ctx;
  ctx.creds = load_credentials();

  CLI::App app{
      "fun-notes: shared notes in the terminal, live and offline.\n"
      "Without a command (or with `tui`) it opens the full-screen client.\n\n"
      "ROOM is a room's id or name; NOTE is a note's position in `fun-notes notes` (a number of up\n"
      "to five digits is always a position) or a unique prefix of its id. Changes made while\n"
      "the server cannot be reached are kept on this device and sent later (`fun-notes sync`,\n"
      "or any command that reaches the server).\n\n"
      "Exit codes: 0 done (a change queued offline counts as done), 1 refused or failed,\n"
      "2 bad arguments, 3 not signed in or sign-in refused, 4 server unreachable (and the\n"
      "command needs it), 5 no such room or note (or an ambiguous note reference).",
      "fun-notes"};
  app.set_version_flag("--version", "fun-notes 0.1.0");
  app.add_option("--server", ctx.server_flag,
                 "Server URL (default: $FUN_NOTES_SERVER, else the one you signed in to, else " +
                     std::string(default_server) + ")");
  int timeout_ms = 3000;
  app.add_option("--timeout", timeout_ms, "Milliseconds to wait for the server (default 3000)")
      ->check(CLI::Range(100, 600000));
  app.require_subcommand(0, 1);
  app.fallthrough();

  sign_in_options login_opts;
  auto* login = app.add_subcommand("login", "Sign in and keep the token in " +
                                                (config_dir() / "credentials.json").string() +
                                                " (mode 0600)");
  add_sign_in_options(login, login_opts);
  sign_in_options register_opts;
  auto* reg = app.add_subcommand("register", "Create an account and sign in");
  add_sign_in_options(reg, register_opts);
  auto* logout = app.add_subcommand("logout", "Forget the token (unsent changes stay here)");
  bool everywhere = false;
  logout->add_flag("--everywhere", everywhere,
                   "Also end every other sign-in of this account (all devices, all browsers)");

  bool as_json = false;
  auto* rooms = app.add_subcommand("rooms", "List your rooms with user counts and note totals");
  rooms->add_flag("--json", as_json, "Print JSON");

  std::string room_ref;
  std::string note_ref;
  std::string room_name;
  bool link = false;
  auto* create_room = app.add_subcommand("create-room", "Create a room (you own it)");
  create_room->add_option("NAME", room_name, "The room's name")->required();
  bool make_public = false;
  auto* link_flag = create_room->add_flag(
      "--link", link, "Anyone signed in who has the id may join as an editor (else private)");
  create_room
      ->add_flag("--public", make_public, "Listed for everyone signed in, who may join as viewers")
      ->excludes(link_flag);
  create_room->add_flag("--json", as_json, "Print JSON");

  auto* notes = app.add_subcommand("notes", "List a room's notes in order");
  notes->add_option("ROOM", room_ref, "Room id or name")->required();
  notes->add_flag("--json", as_json, "Print JSON");

  std::optional<std::string> title;
  std::optional<std::string> body;
  bool important = false;
  bool at_top = false;
  auto* add = app.add_subcommand("add", "Add a note (at the end, or --top)");
  add->add_option("ROOM", room_ref, "Room id or name")->required();
  add->add_option("-t,--title", title, "Title")->required();
  add->add_option("-b,--body", body, "Body text");
  add->add_flag("--important", important, "Mark it important");
  add->add_flag("--top", at_top, "Put it first instead of last");
  add->add_flag("--json", as_json, "Print the note as JSON");

  auto* edit = app.add_subcommand("edit", "Change a note's title and/or body");
  edit->add_option("ROOM", room_ref, "Room id or name")->required();
  edit->add_option("NOTE", note_ref, "Position or id prefix")->required();
  edit->add_option("-t,--title", title, "New title");
  edit->add_option("-b,--body", body, "New body");

  bool undo = false;
  auto* done = app.add_subcommand("done", "Mark a note completed (--undo: not completed)");
  done->add_option("ROOM", room_ref, "Room id or name")->required();
  done->add_option("NOTE", note_ref, "Position or id prefix")->required();
  done->add_flag("--undo", undo, "Mark it not completed");

  bool flag_on = false;
  bool flag_off = false;
  auto* flag = app.add_subcommand("flag", "Toggle a note's important mark (or --on / --off)");
  flag->add_option("ROOM", room_ref, "Room id or name")->required();
  flag->add_option("NOTE", note_ref, "Position or id prefix")->required();
  auto* on_opt = flag->add_flag("--on", flag_on, "Mark it important");
  flag->add_flag("--off", flag_off, "Clear the mark")->excludes(on_opt);

  std::string direction;
  std::size_t to_position = 0;
  auto* move = app.add_subcommand("move", "Move a note: up, down, top, bottom, or --to N");
  move->add_option("ROOM", room_ref, "Room id or name")->required();
  move->add_option("NOTE", note_ref, "Position or id prefix")->required();
  auto* dir_opt = move->add_option("WHERE", direction, "up | down | top | bottom")
                      ->check(CLI::IsMember({"up", "down", "top", "bottom"}));
  move->add_option("--to", to_position, "Move to this position (1 = first)")
      ->check(CLI::PositiveNumber)
      ->excludes(dir_opt);

  auto* rm = app.add_subcommand("rm", "Delete a note");
  rm->add_option("ROOM", room_ref, "Room id or name")->required();
  rm->add_option("NOTE", note_ref, "Position or id prefix")->required();

  auto* sync_cmd = app.add_subcommand(
      "sync", "Send this device's unsent changes and fetch the latest (one room, or all here)");
  sync_cmd->add_option("ROOM", room_ref, "Room id or name (default: every room on this device)");
  sync_cmd->add_flag("--json", as_json, "Print JSON");

  auto* status = app.add_subcommand("status", "Sign-in, server, unsent changes, recent merges");
  status->add_flag("--json", as_json, "Print JSON");

  std::string role_name = "viewer";
  std::string expires = "7d";
  std::optional<std::int64_t> max_uses;
  auto* invite = app.add_subcommand("invite", "Create an invite link to a room you own");
  invite->add_option("ROOM", room_ref, "Room id or name")->required();
  invite->add_option("--role", role_name, "What it makes people: viewer (default) or editor")
      ->check(CLI::IsMember({"viewer", "editor"}));
  invite->add_option("--expires", expires, "1h, 1d, 7d (default), 30d, never, or seconds");
  invite->add_option("--max-uses", max_uses, "How many people may accept it (default: any)")
      ->check(CLI::Range(1, 100000));
  invite->add_flag("--json", as_json, "Print JSON");

  std::string invite_ref;
  auto* accept =
      app.add_subcommand("accept", "Accept an invite (its link or token): join the room");
  accept->add_option("INVITE", invite_ref, "The invite link or its token")->required();
  accept->add_flag("--json", as_json, "Print JSON");

  auto* members = app.add_subcommand("members", "Who belongs to a room, with their roles");
  members->add_option("ROOM", room_ref, "Room id or name")->required();
  members->add_flag("--json", as_json, "Print JSON");

  std::string user_ref;
  auto* role = app.add_subcommand("role", "Set a member's role (owner: hand the room over)");
  role->add_option("ROOM", room_ref, "Room id or name")->required();
  role->add_option("USER", user_ref, "A member's name or id")->required();
  role->add_option("ROLE", role_name, "viewer, editor or owner")
      ->required()
      ->check(CLI::IsMember({"viewer", "editor", "owner"}));

  auto* kick = app.add_subcommand("kick", "Remove a member from a room you own");
  kick->add_option("ROOM", room_ref, "Room id or name")->required();
  kick->add_option("USER", user_ref, "A member's name or id")->required();

  auto* tui = app.add_subcommand("tui", "The full-screen client (the default)");
  tui->add_option("ROOM", room_ref, "Open this room at once");

  tui->footer(
      "Keys: arrows or j/k select, Enter open, Esc back, n new, e edit, Space done, ! important,\n"
      "Shift+Up/Down or K/J move, d delete (u undo), / filter, Ctrl+R reconnect, ? help, q quit.\n"
      "NO_COLOR=1 gives a monochrome screen.");
  for (CLI::App* sub : app.get_subcommands({})) {
    const std::string own = sub->get_footer();
    sub->footer((own.empty() ? "" : own + "\n\n") +
                "Also: --server URL and --timeout MS (before or after the command), "
                "FUN_NOTES_SERVER.\nExit codes: 0 done (queued offline counts), 1 refused or "
                "failed, 2 bad arguments,\n3 not signed in, 4 server unreachable, 5 no such room "
                "or note.");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_ok : exit_usage;
  }
  ctx.timeout = std::chrono::milliseconds(timeout_ms);

  try {
    if (login->parsed()) {
      return sign_in(ctx, login_opts, false);
    }
    if (reg->parsed()) {
      return sign_in(ctx, register_opts, true);
    }
    if (logout->parsed()) {
      if (!ctx.creds) {
        std::cout << "Not signed in.\n";
        return exit_ok;
      }
      std::size_t unsent = 0;
      for (const auto& [room, count] : ctx.open_cache()->unsent()) {
        unsent += count;
      }
      if (everywhere) {
        value_or_fail(ctx.api().call("POST", "/api/logout", json::object{{"everywhere", true}}));
        std::cout << "Every sign-in of " << ctx.creds->user.name << " has ended.\n";
      }
      remove_credentials();
      std::cout << "Signed out of " << ctx.server() << ".\n";
      if (unsent > 0) {
        std::cout << unsent << " unsent change" << (unsent == 1 ? " stays" : "s stay")
                  << " on this device; they go out when you sign in again as "
                  << ctx.creds->user.name << ".\n";
      }
      return exit_ok;
    }
    if (rooms->parsed()) {
      ctx.signed_in();
      auto cache = ctx.open_cache();
      auto listed = ctx.api().list_rooms();
      const bool online = listed.ok();
      if (!online && listed.err().code != "offline") {
        throw failure{code_for(listed.err()), listed.err().message};
      }
      if (online) {
        cache->save_rooms(*listed);
      }
      const auto list = online ? *listed : cache->rooms();
      if (as_json) {
        json::array out;
        for (const auto& r : list) {
          out.push_back(room_json(r));
        }
        std::cout << json::serialize(json::object{{"offline", !online}, {"rooms", out}}) << "\n";
        return exit_ok;
      }
      if (!online) {
        std::cout << "(offline: the rooms as this device last saw them)\n";
      }
      if (list.empty()) {
        std::cout << "No rooms yet: create one with `fun-notes create-room NAME`.\n";
      }
      for (const auto& r : list) {
        std::cout << r.id << "  " << r.name << "  (" << r.visibility << ", " << r.role << ", "
                  << r.total_notes << " notes, " << r.active_user_count << " here)\n";
      }
      return exit_ok;
    }
    if (create_room->parsed()) {
      ctx.signed_in();
      auto cache = ctx.open_cache();
      const auto room = value_or_fail(ctx.api().create_room(room_name, link          ? "link"
                                                                       : make_public ? "public"
                                                                                     : "private"));
      cache->save_room_info(room);
      if (as_json) {
        std::cout << json::serialize(room_json(room)) << "\n";
      } else {
        std::cout << "Created room " << room.name << ": " << room.id << "\n";
      }
      return exit_ok;
    }
    if (notes->parsed()) {
      auto cache = ctx.open_cache();
      auto rs = open_room(ctx, *cache, room_ref);
      print_notes(rs->room(), rs->online(), as_json);
      print_notices(rs->notices());
      rs->close();
      return exit_ok;
    }
    if (add->parsed()) {
      std::string created_id;
      return change(
          ctx, room_ref,
          [&](sync::replica& room) {
            const auto& view = room.view();
            std::optional<double> index;
            if (view.empty()) {
              index = core::index_step;
            } else if (at_top) {
              index = core::between(std::nullopt, view.front().current_index);
            } else {
              index = core::between(view.back().current_index, std::nullopt);
            }
            created_id = random_id();
            return room.create(core::create_op{created_id, *title, body.value_or(""), important,
                                               false, index.value_or(0.0)},
                               random_id(16), now());
          },
          [&](sync::replica& room) {
            const auto& view = room.view();
            const auto it = std::find_if(view.begin(), view.end(),
                                         [&](const core::note& n) { return n.id == created_id; });
            const std::size_t position = static_cast<std::size_t>(it - view.begin()) + 1;
            if (as_json && it != view.end()) {
              return json::serialize(note_json(*it, position));
            }
            return "Added note " + std::to_string(position) + " (" + created_id + ")";
          });
    }
    if (edit->parsed()) {
      if (!title && !body) {
        throw failure{exit_usage, "edit: give --title and/or --body"};
      }
      std::string id;
      return change(
          ctx, room_ref,
          [&](sync::replica& room) {
            core::update_op u;
            u.id = id = resolve_note(room, note_ref).id;
            u.title = title;
            u.body = body;
            return room.update(u, random_id(16), now());
          },
          [&](sync::replica&) { return "Edited " + id; });
    }
    if (done->parsed() || flag->parsed()) {
      std::string id;
      bool value = false;
      const bool completing = done->parsed();
      return change(
          ctx, room_ref,
          [&](sync::replica& room) {
            const core::note& n = resolve_note(room, note_ref);
            core::update_op u;
            u.id = id = n.id;
            if (completing) {
              u.is_completed = value = !undo;
            } else {
              value = flag_on ? true : flag_off ? false : !n.is_important;
              u.is_important = value;
            }
            return room.update(u, random_id(16), now());
          },
          [&](sync::replica&) {
            return completing ? (value ? "Completed " : "Not completed: ") + id
                              : (value ? "Marked important: " : "Not important: ") + id;
          });
    }
    if (move->parsed()) {
      if (direction.empty() && to_position == 0) {
        throw failure{exit_usage, "move: say where (up, down, top, bottom or --to N)"};
      }
      std::string id;
      return change(
          ctx, room_ref,
          [&](sync::replica& room) {
            id = resolve_note(room, note_ref).id;
            sync::move_target t;
            using k = sync::move_target::kind;
            t.where = direction == "up"       ? k::up
                      : direction == "down"   ? k::down
                      : direction == "top"    ? k::top
                      : direction == "bottom" ? k::bottom
                                              : k::position;
            t.position = to_position > 0 ? to_position - 1 : 0;
            sync::effects fx = room.move(id, t, random_id(16), now());
            if (fx.frames.empty() && !fx.view_changed && fx.notices.empty()) {
              fx.view_changed = true;  // already there: nothing to send, not a failure
            }
            return fx;
          },
          [&](sync::replica& room) {
            const auto& view = room.view();
            const auto it = std::find_if(view.begin(), view.end(),
                                         [&](const core::note& n) { return n.id == id; });
            return "Moved " + id + " to position " +
                   std::to_string(static_cast<std::size_t>(it - view.begin()) + 1);
          });
    }
    if (rm->parsed()) {
      std::string id;
      return change(
          ctx, room_ref,
          [&](sync::replica& room) {
            id = resolve_note(room, note_ref).id;
            return room.remove(id, random_id(16), now());
          },
          [&](sync::replica&) { return "Deleted " + id; });
    }
    if (sync_cmd->parsed()) {
      auto cache = ctx.open_cache();
      std::vector<std::string> ids;
      if (!room_ref.empty()) {
        ids.push_back(resolve_room(ctx, *cache, room_ref));
      } else {
        for (const auto& r : cache->rooms()) {
          if (cache->load_room(r.id)) {
            ids.push_back(r.id);
          }
        }
        for (const auto& [id, count] : cache->unsent()) {
          if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
            ids.push_back(id);
          }
        }
      }
      json::array report;
      int result = exit_ok;
      for (const std::string& id : ids) {
        room_sync rs(*cache, ctx.server(), ctx.signed_in().token, id);
        const std::size_t before = rs.room().outbox().size();
        const bool ok = rs.join(ctx.timeout) && rs.settle(ctx.timeout);
        const std::size_t left = rs.room().outbox().size();
        if (as_json) {
          json::array notices;
          for (const auto& n : rs.notices()) {
            notices.push_back(json::object{{"note", n.note_id}, {"message", n.message}});
          }
          report.push_back(json::object{{"room", id},
                                        {"synced", ok},
                                        {"seq", rs.room().base().seq()},
                                        {"sent", before - std::min(before, left)},
                                        {"unsent", left},
                                        {"notices", notices}});
        } else {
          const std::string name = rs.room().info().name.empty() ? id : rs.room().info().name;
          if (ok) {
            std::cout << name << ": up to date at seq " << rs.room().base().seq();
            if (before > 0) {
              std::cout << ", sent " << before - std::min(before, left) << " change"
                        << (before == 1 ? "" : "s");
            }
            std::cout << "\n";
          } else {
            std::cout << name << ": not synced (" << rs.offline_reason() << ")"
                      << (left > 0 ? ", " + std::to_string(left) + " unsent" : "") << "\n";
          }
          print_notices(rs.notices());
        }
        if (!ok) {
          result = rs.auth_refused()        ? exit_auth
                   : rs.room().join_error() ? exit_not_found
                                            : exit_unreachable;
        }
        rs.close();
      }
      if (as_json) {
        std::cout << json::serialize(json::object{{"rooms", report}}) << "\n";
      } else if (ids.empty()) {
        std::cout << "Nothing to sync: no room has been opened on this device yet.\n";
      }
      return result;
    }
    if (status->parsed()) {
      const std::string server = ctx.server();
      json::object out{{"server", server}, {"signed_in", ctx.creds.has_value()}};
      if (ctx.creds) {
        out["user"] = json::object{{"id", ctx.creds->user.id}, {"name", ctx.creds->user.name}};
        auto cache = ctx.open_cache();
        const auto listed = ctx.api().list_rooms();
        out["reachable"] = listed.ok() || listed.err().code != "offline";
        out["token_accepted"] = listed.ok();
        json::array unsent;
        std::size_t total = 0;
        for (const auto& [room, count] : cache->unsent()) {
          unsent.push_back(json::object{{"room", room}, {"unsent", count}});
          total += count;
        }
        out["unsent"] = unsent;
        json::array notices;
        for (const auto& n : cache->recent_notices(5)) {
          notices.push_back(json::object{
              {"room", n.room}, {"note", n.note_id}, {"message", n.message}, {"at", n.at}});
        }
        out["recent_notices"] = notices;
        if (!as_json) {
          std::cout << "Signed in as " << ctx.creds->user.name << " on " << server << "\n";
          std::cout << "Server: "
                    << (listed.ok() ? "reachable"
                        : listed.err().code == "offline"
                            ? "not reachable (" + listed.err().message + ")"
                            : "refuses the sign-in: run `fun-notes login`")
                    << "\n";
          std::cout << "Unsent changes: " << total;
          for (const auto& [room, count] : cache->unsent()) {
            std::cout << (room == cache->unsent().front().first ? " (" : ", ") << room << ": "
                      << count;
          }
          std::cout << (total > 0 ? ")\n" : "\n");
          for (const auto& n : cache->recent_notices(5)) {
            std::cout << n.at << "  " << n.message << "\n";
          }
        }
      } else if (!as_json) {
        std::cout << "Not signed in (server " << server << "): run `fun-notes login`\n";
      }
      if (as_json) {
        std::cout << json::serialize(out) << "\n";
      }
      return exit_ok;
    }
    if (invite->parsed()) {
      return make_invite(ctx, room_ref, role_name, expires, max_uses, as_json);
    }
    if (accept->parsed()) {
      return accept_invite(ctx, invite_ref, as_json);
    }
    if (members->parsed()) {
      return list_members(ctx, room_ref, as_json);
    }
    if (role->parsed() || kick->parsed()) {
      return change_member(ctx, room_ref, user_ref, kick->parsed() ? "" : role_name);
    }
    // No command, or `tui`.
#ifdef FUN_NOTES_HAVE_TUI
    const credentials& c = ctx.signed_in();
    tui::tui_options options;
    options.server_url = ctx.server();
    options.token = c.token;
    options.user = c.user;
    options.cache_file = cache_file(ctx.server(), c.user.id);
    if (!room_ref.empty()) {
      auto cache = ctx.open_cache();
      options.room = resolve_room(ctx, *cache, room_ref);
    }
    const char* no_color = std::getenv("NO_COLOR");
    options.color = no_color == nullptr || *no_color == '\0';
    return tui::run_tui(options);
#else
    std::cout << app.help();
    return exit_ok;
#endif
  } catch (const failure& f) {
    std::cerr << "fun-notes: " << f.message << "\n";
    return f.code;
  } catch (const std::exception& e) {
    std::cerr << "fun-notes: " << e.what() << "\n";
    return exit_error;
  }
}

}  // namespace fun_notes::cli

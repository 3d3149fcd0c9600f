// The full-screen terminal client (ncurses): the entry point the `fun-notes` binary calls.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "sync/messages.hpp"

namespace fun_notes::cli::tui {

struct tui_options {
  std::string server_url;
  std::string token;
  sync::user_ref user;
  std::filesystem::path cache_file;  // the SQLite cache of this server and user
  std::optional<std::string> room;   // open this room at once
  bool color = true;                 // false with NO_COLOR set
};

// Runs until the user quits; returns the process exit code.
int run_tui(const tui_options& options);

}  // namespace fun_notes::cli::tui

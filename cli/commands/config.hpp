// Where the terminal client keeps its sign-in (config dir, mode 0600) and its caches (data dir),
// and which server it talks to.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "sync/messages.hpp"

namespace fun_notes::cli {

inline constexpr const char* default_server = "http://localhost:8080";

struct credentials {
  std::string server;
  std::string token;
  sync::user_ref user;
};

// $XDG_CONFIG_HOME/fun-notes (default ~/.config/fun-notes).
std::filesystem::path config_dir();
// $XDG_DATA_HOME/fun-notes (default ~/.local/share/fun-notes): the caches hold unsent changes,
// so they live with the user's data, not in a cache dir that may be wiped.
std::filesystem::path data_dir();

std::optional<credentials> load_credentials();
// Writes credentials.json with mode 0600 (created so, never widened); throws on failure.
void save_credentials(const credentials& c);
bool remove_credentials();

// The cache file of one server and user.
std::filesystem::path cache_file(const std::string& server, const std::string& user_id);

// --server, else FUN_NOTES_SERVER, else the signed-in server, else localhost:8080.
std::string resolve_server(const std::string& flag, const std::optional<credentials>& c);

}  // namespace fun_notes::cli

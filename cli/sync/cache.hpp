// The local SQLite database of one server and user: the room list, each room's base (notes and
// seq) and outbox, and the merge notices. Everything the client shows offline comes from here.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fun_notes/core/result.hpp"
#include "sync/replica.hpp"

namespace fun_notes::cli::sync {

struct stored_notice {
  std::int64_t id = 0;
  std::string room;
  std::string note_id;
  std::string message;
  std::string at;
};

class cache {
 public:
  // Opens (creating) the database; throws std::runtime_error with a one-line reason.
  explicit cache(const std::filesystem::path& file);
  ~cache();
  cache(const cache&) = delete;
  cache& operator=(const cache&) = delete;

  // The user's rooms as last listed (HTTP or the dashboard), sorted by name.
  std::vector<room_info> rooms() const;
  void save_rooms(const std::vector<room_info>& rooms);  // replaces the list
  void save_room_info(const room_info& info);            // one row, keeps the others
  void update_room_stat(const room_stat& stat);

  // A room's replica as stored (base, info, outbox), or nullopt when never opened here.
  std::optional<replica> load_room(const std::string& room_id) const;
  // Writes what changed (replica::take_dirty) in one transaction.
  void save(replica& room);
  // Rooms whose outbox is not empty, and the count of their ops.
  std::vector<std::pair<std::string, std::size_t>> unsent() const;

  void add_notices(const std::string& room, const std::vector<notice>& notices,
                   const std::string& at);
  std::vector<stored_notice> recent_notices(std::size_t limit) const;

  // Key-value settings (the user id and name this cache belongs to, ...).
  std::optional<std::string> get(const std::string& key) const;
  void set(const std::string& key, const std::string& value);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace fun_notes::cli::sync

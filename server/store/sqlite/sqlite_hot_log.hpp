// The embedded-mode HotLog: a SQLite op log in its own file, group-committed and fsynced.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/bus.hpp"
#include "store/hot_log.hpp"
#include "store/local_leases.hpp"
#include "store/sqlite/sqlite_db.hpp"

namespace fun_notes::store {

// One appender thread numbers, writes and commits every queued append in ONE transaction (one
// fsync for the whole group), then publishes and completes them in seq order. Reads use a
// second connection so they never wait behind a commit.
class sqlite_hot_log final : public hot_log {
 public:
  // `path` must not be the ColdStore's file: the op log commits with synchronous=FULL.
  sqlite_hot_log(const std::filesystem::path& path, bus& bus, hot_log_options options = {});
  // Completes every queued append, then stops the appender.
  ~sqlite_hot_log() override;

  void do_append(append_request request, append_handler done) override;
  void ensure_room(std::string_view room_id, std::int64_t cold_last_seq) override;
  void touch_room(std::string_view room_id) override;
  log_range read_after(std::string_view room_id, std::int64_t after_seq) override;
  void set_persisted(std::string_view room_id, std::int64_t seq) override;
  std::vector<std::string> dirty_rooms() override;
  bool reset_room(std::string_view room_id, std::int64_t expected_head,
                  std::int64_t new_seq) override;
  bool try_lease(std::string_view room_id, std::string_view owner,
                 std::chrono::milliseconds ttl) override {
    return leases_.try_lease(room_id, owner, ttl);
  }
  void release_lease(std::string_view room_id, std::string_view owner) override {
    leases_.release(room_id, owner);
  }

 private:
  struct pending_append {
    append_request request;
    append_handler done;
  };

  struct room_position {
    std::int64_t head_seq = 0;
    std::int64_t persisted_seq = 0;
    bool operator==(const room_position&) const = default;
  };

  void run_appender();
  void append_batch(std::vector<pending_append>& batch);
  // write_mutex_ held: the room's cached position, loaded from room_log on first use.
  room_position& position_locked(std::string_view room_id);
  void store_position_locked(std::string_view room_id, const room_position& position);

  bus& bus_;
  const hot_log_options options_;

  // Guards writer_ and positions_. Seqs are assigned only on the appender thread, so a failed
  // commit can restore the positions and leave no gap.
  std::mutex write_mutex_;
  sqlite::database writer_;
  std::map<std::string, room_position, std::less<>> positions_;

  std::mutex read_mutex_;
  sqlite::database reader_;

  std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::vector<pending_append> queue_;
  bool stopping_ = false;
  bool stopped_ = false;  // the appender has exited; appends fail from now on
  std::thread appender_;
  local_leases leases_;  // one process: the fleet is this process
};

}  // namespace fun_notes::store

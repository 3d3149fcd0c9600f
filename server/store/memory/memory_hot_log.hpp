// An in-memory HotLog with the SQLite adapter's semantics, for tests of code above the port.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "store/bus.hpp"
#include "store/hot_log.hpp"
#include "store/local_leases.hpp"

namespace fun_notes::store {

// Appends complete on the caller's thread, unless another thread is already delivering: then
// that thread delivers this one too, which keeps publication and `done` in seq order.
class memory_hot_log final : public hot_log {
 public:
  explicit memory_hot_log(bus& bus, hot_log_options options = {});

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

  // For tests of the `unavailable` path: while set, appends fail and number nothing.
  void set_failing(bool failing);

 private:
  struct room_log {
    std::int64_t head_seq = 0;
    std::int64_t persisted_seq = 0;
    std::deque<log_entry> entries;                                // consecutive seqs, ascending
    std::map<std::string, std::int64_t, std::less<>> field_seqs;  // field key -> last seq
  };

  struct delivery {
    std::string channel;
    append_result result;
    append_handler done;
  };

  void deliver_pending(std::unique_lock<std::mutex>& lock);

  bus& bus_;
  const hot_log_options options_;
  std::mutex mutex_;
  std::map<std::string, room_log, std::less<>> rooms_;
  bool failing_ = false;
  std::deque<delivery> deliveries_;
  bool delivering_ = false;  // a thread is draining `deliveries_`
  local_leases leases_;      // one process: the fleet is this process
};

}  // namespace fun_notes::store

// Write-behind: folds each room's logged ops into the ColdStore after a quiet period.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "persist/repair.hpp"
#include "store/cold_store.hpp"
#include "store/hot_log.hpp"

namespace fun_notes::server::persist {

struct write_behind_options {
  std::chrono::milliseconds quiet{2000};
  std::chrono::milliseconds max_delay{30000};
  std::int64_t hard_cap = 10000;  // unpersisted ops that force a flush at once
  unsigned workers = 1;
  std::string owner = "local";  // this server in the fleet's flush leases
  std::chrono::milliseconds lease_ttl{30000};
  // How often the HotLog is asked for rooms left unflushed (by a crashed server, say).
  std::chrono::milliseconds sweep_interval{30000};
  // How long a room whose log lost ops waits for a server holding its full state to write it,
  // before it goes on from the cold store's state.
  std::chrono::milliseconds repair_grace{3000};
};

struct flush_report {
  std::int64_t ops = 0;            // ops folded
  std::int64_t notes_written = 0;  // rows upserted + deleted
  bool stale = false;              // someone else had already persisted the range
  bool leased_elsewhere = false;   // another worker of the fleet is flushing the room
  double seconds = 0;              // how long the flush took
};

// Folding one range: the notes it touches are read from the ColdStore, the ops applied with
// the shared apply function, and the final values written in ONE guarded transaction; then the
// HotLog learns the persisted seq (and trims). Safe to repeat after a crash at any point.
// Runs under the room's flush lease; without it, nothing is done (leased_elsewhere).
flush_report flush_room(store::cold_store& cold, store::hot_log& hot, const std::string& room_id,
                        const std::string& owner = "local",
                        std::chrono::milliseconds lease_ttl = std::chrono::milliseconds(30000));

class write_behind {
 public:
  using clock = std::chrono::steady_clock;
  write_behind(store::cold_store& cold, store::hot_log& hot, write_behind_options options,
               std::function<void(const flush_report&)> on_flush = {});
  ~write_behind();

  // Rooms the HotLog reports unflushed (left by a crash) are scheduled at start; from then on
  // every append to the HotLog is observed.
  void start();
  // An op was appended: debounce the room's flush. Thread-safe. (start() has the HotLog call
  // this for every append.)
  void note_append(const std::string& room_id, std::int64_t seq, std::int64_t persisted_seq);
  // Flushes every dirty room now and waits for it (shutdown). Returns false if any failed.
  bool drain();
  // Stops the workers (after drain, at shutdown).
  void stop();

  // Before start(): how repairs reach the hubs and the fleet, and who counts failures.
  void set_repair_hooks(repair_hooks hooks) { repair_hooks_ = std::move(hooks); }
  void set_failure_hook(std::function<void()> failed) { on_failure_ = std::move(failed); }
  // Repairs a room whose log does not continue the cold store: blocks (up to the repair
  // grace) until it is consistent again. Any thread but a hub's strand. False if it could not.
  bool repair(const std::string& room_id);
  // The room should be flushed (and repaired if need be) now, e.g. another server asked.
  void schedule_urgent(const std::string& room_id);

 private:
  struct room_state {
    clock::time_point first_unflushed;
    clock::time_point last_op;
    bool urgent = false;
    // After failed attempts (the cold store is down): no retry before this, however urgent.
    int failures = 0;
    clock::time_point not_before{};
  };
  void run();
  void sweep();
  bool flush_one(const std::string& room_id);
  // How long a room waits before its next attempt after `failures` failed ones in a row.
  clock::duration retry_delay(int failures) const;

  store::cold_store& cold_;
  store::hot_log& hot_;
  write_behind_options options_;
  std::function<void(const flush_report&)> on_flush_;
  std::function<void()> on_failure_;
  repair_hooks repair_hooks_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, room_state> dirty_;
  std::set<std::string> in_flight_;  // a room is flushed by one worker at a time
  bool stopping_ = false;
  clock::time_point next_sweep_{};
  std::vector<std::thread> threads_;
};

}  // namespace fun_notes::server::persist

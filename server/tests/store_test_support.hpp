// Helpers shared by the store tests: temp directories and waiting on callbacks with a deadline.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "store/hot_log.hpp"

namespace fun_notes::store::testing {

using namespace std::chrono_literals;

// Long enough for a loaded CI machine, short enough that a lost callback fails the test.
inline constexpr std::chrono::seconds deadline = 20s;

// A fresh directory under the system temp dir, removed with everything in it.
class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> counter = 0;
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("fun_notes_store_" + std::to_string(::getpid()) + "_" +
             std::to_string(counter.fetch_add(1)) + "_" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Collects values that callbacks report from any thread, in arrival order.
template <class T>
class collector {
 public:
  void add(T value) {
    // Notify under the lock: a waiter that sees the count may destroy the collector at once.
    std::lock_guard lock(mutex_);
    items_.push_back(std::move(value));
    changed_.notify_all();
  }

  // True once at least `count` values arrived; false when the deadline passed first.
  bool wait_for(std::size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, deadline, [&] { return items_.size() >= count; });
  }

  std::vector<T> items() const {
    std::lock_guard lock(mutex_);
    return items_;
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<T> items_;
};

inline std::string frame_prefix(std::string_view room_id) {
  return R"({"type":"op","room":")" + std::string(room_id) + R"(","seq":)";
}

inline std::string frame_suffix(std::string_view cid) {
  return R"(,"cid":")" + std::string(cid) + R"(","op":{"kind":"delete","id":"n"}})";
}

inline std::string expected_frame(std::string_view room_id, std::int64_t seq,
                                  std::string_view cid) {
  return frame_prefix(room_id) + std::to_string(seq) + frame_suffix(cid);
}

// Appends one op and waits for its `done`; a `done` that never comes yields code "timeout".
inline core::result<append_result> append_and_wait(hot_log& log, std::string_view room_id,
                                                   std::string_view cid = "c") {
  auto promise = std::make_shared<std::promise<core::result<append_result>>>();
  auto future = promise->get_future();
  log.append(append_request{std::string(room_id), frame_prefix(room_id), frame_suffix(cid)},
             [promise](core::result<append_result> r) { promise->set_value(std::move(r)); });
  if (future.wait_for(deadline) != std::future_status::ready) {
    return core::error{"timeout", "append did not complete before the deadline"};
  }
  return future.get();
}

// Appends `request` and waits for its `done`, as append_and_wait.
inline core::result<append_result> append_request_and_wait(hot_log& log, append_request request) {
  auto promise = std::make_shared<std::promise<core::result<append_result>>>();
  auto future = promise->get_future();
  log.append(std::move(request),
             [promise](core::result<append_result> r) { promise->set_value(std::move(r)); });
  if (future.wait_for(deadline) != std::future_status::ready) {
    return core::error{"timeout", "append did not complete before the deadline"};
  }
  return future.get();
}

}  // namespace fun_notes::store::testing

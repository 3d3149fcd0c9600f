// Write-behind against the in-memory adapters: coalescing, idempotence, trim, debounce.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "fun_notes/core/codec.hpp"
#include "persist/trash.hpp"
#include "persist/write_behind.hpp"
#include "rooms/frames.hpp"
#include "rooms/room_loader.hpp"
#include "store/memory/memory_bus.hpp"
#include "store/memory/memory_cold_store.hpp"
#include "store/memory/memory_hot_log.hpp"

namespace fun_notes::server::persist {
namespace {

using namespace std::chrono_literals;

class WriteBehind : public ::testing::Test {
 protected:
  void SetUp() override {
    store::room_meta meta;
    meta.id = "r1";
    meta.name = "room";
    meta.owner_id = "u1";
    store::user u{"u1", "alice", "x", "2026-01-01T00:00:00.000Z"};
    ASSERT_TRUE(cold.create_user(u));
    cold.create_room(meta);
    hot.ensure_room("r1", 0);
  }

  std::int64_t append(const core::op& o, const std::string& user = "u1",
                      const std::string& at = "2026-01-01T00:00:00.000Z") {
    auto parts = rooms::op_frame("r1", "c", user, at, o);
    std::int64_t seq = -1;
    hot.append(store::append_request{"r1", parts.prefix, parts.suffix},
               [&](core::result<store::append_result> r) {
                 ASSERT_TRUE(r.ok());
                 seq = r->entry.seq;
               });
    return seq;  // the memory log completes on this thread
  }

  static core::op create(const std::string& id, const std::string& title, double index) {
    return core::create_op{id, title, "", false, false, index};
  }
  static core::op set_title(const std::string& id, const std::string& title) {
    core::update_op u;
    u.id = id;
    u.title = title;
    return u;
  }

  store::memory_bus bus;
  store::memory_cold_store cold;
  store::memory_hot_log hot{bus, store::hot_log_options{100}};
};

// A cold store whose flush transaction is slow enough for more ops to arrive during it.
class cold_store_with_ops_during_flush : public store::memory_cold_store {
 public:
  std::function<void()> during_flush;
  store::flush_outcome apply_flush(const store::flush_batch& batch) override {
    if (during_flush) {
      during_flush();
    }
    return memory_cold_store::apply_flush(batch);
  }
};

TEST_F(WriteBehind, OpsArrivingDuringAFlushStayUnpersistedAndAreFlushedNext) {
  cold_store_with_ops_during_flush slow;
  store::room_meta meta;
  meta.id = "r1";
  meta.name = "room";
  meta.owner_id = "u1";
  ASSERT_TRUE(slow.create_user(store::user{"u1", "alice", "x", "2026-01-01T00:00:00.000Z"}));
  slow.create_room(meta);
  for (int i = 0; i < 10; ++i) {
    append(create("n" + std::to_string(i), "first", i));
  }
  slow.during_flush = [&] {
    slow.during_flush = nullptr;
    append(set_title("n1", "typed during the flush"));
    append(core::delete_op{"n2"});
  };
  const auto report = flush_room(slow, hot, "r1");
  EXPECT_EQ(report.ops, 10);
  // Only what the flush folded counts as persisted: the two ops that came in meanwhile are
  // still owed to the cold store, and the room is still dirty.
  const auto range = hot.read_after("r1", 0);
  EXPECT_EQ(range.head_seq, 12);
  EXPECT_EQ(range.persisted_seq, 10);
  EXPECT_EQ(hot.dirty_rooms(), (std::vector<std::string>{"r1"}));

  EXPECT_EQ(flush_room(slow, hot, "r1").ops, 2);
  auto expected = rooms::load_room(slow, hot, "r1");
  ASSERT_TRUE(expected.has_value());
  auto snap = slow.load_snapshot("r1");
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(snap->meta.last_seq, 12);
  EXPECT_EQ(core::serialize_state(core::room_state(snap->meta.last_seq, snap->notes)),
            core::serialize_state(expected->state));
  EXPECT_TRUE(hot.dirty_rooms().empty());
}

TEST_F(WriteBehind, ThousandKeystrokesOnOneNoteWriteOneRow) {
  append(create("n1", "", 1.0));
  std::string title;
  for (int i = 0; i < 1000; ++i) {
    title += static_cast<char>('a' + i % 26);
    append(set_title("n1", title));
  }
  auto report = flush_room(cold, hot, "r1");
  EXPECT_EQ(report.ops, 1001);
  EXPECT_EQ(report.notes_written, 1);
  auto snap = cold.load_snapshot("r1");
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(snap->meta.last_seq, 1001);
  ASSERT_EQ(snap->notes.size(), 1U);
  EXPECT_EQ(snap->notes[0].title, title);
  EXPECT_EQ(snap->notes[0].seq, 1001);
}

std::string time_ago(std::chrono::hours ago) {
  const auto t = std::chrono::system_clock::now() - ago;
  return core::format_time(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

TEST_F(WriteBehind, ADeletedNoteGoesToTheTrashAsItWasWithWhoAndWhen) {
  const std::string when = time_ago(1h);
  append(create("n1", "Milk", 1.0));
  append(set_title("n1", "Milk 2%"));
  append(create("n2", "Eggs", 2.0));
  append(core::delete_op{"n1"}, "u2", when);
  // Listed before the flush (folded from the log) and after it (from the cold store) alike.
  const auto before = read_trash(cold, hot, "r1", 10);
  ASSERT_EQ(before.size(), 1U);
  EXPECT_EQ(before[0].note.id, "n1");
  EXPECT_EQ(before[0].note.title, "Milk 2%");
  EXPECT_EQ(before[0].note.current_index, 1.0);
  EXPECT_EQ(before[0].deleted_by, "u2");
  EXPECT_EQ(before[0].deleted_at, when);
  EXPECT_EQ(before[0].deleted_seq, 4);
  flush_room(cold, hot, "r1");
  EXPECT_EQ(cold.trash("r1", "", 10), before);
  EXPECT_EQ(read_trash(cold, hot, "r1", 10), before);

  // A second delete (n2) lists newest first; the limit keeps the newest.
  append(core::delete_op{"n2"}, "u1", time_ago(0h));
  const auto both = read_trash(cold, hot, "r1", 10);
  ASSERT_EQ(both.size(), 2U);
  EXPECT_EQ(both[0].note.id, "n2");
  EXPECT_EQ(read_trash(cold, hot, "r1", 1).size(), 1U);

  // A restore is a create of the same id: out of the trash before and after the flush.
  append(create("n1", "Milk 2%", 1.0));
  auto after_restore = read_trash(cold, hot, "r1", 10);
  ASSERT_EQ(after_restore.size(), 1U);
  EXPECT_EQ(after_restore[0].note.id, "n2");
  flush_room(cold, hot, "r1");
  EXPECT_EQ(cold.trash("r1", "", 10), after_restore);
  ASSERT_NE(cold.load_snapshot("r1")->notes.size(), 0U);
}

TEST_F(WriteBehind, TheTrashFollowsDeletesAndRestoresWithinOneFlush) {
  const std::string now = time_ago(0h);
  append(create("gone", "A", 1.0));
  append(core::delete_op{"gone"}, "u1", now);  // created and deleted before any flush: kept
  append(create("back", "B", 2.0));
  append(core::delete_op{"back"}, "u1", now);
  append(create("back", "B", 2.0));               // deleted and restored before any flush
  append(core::delete_op{"missing"}, "u1", now);  // a delete of nothing trashes nothing
  append(create("old", "C", 3.0));
  append(core::delete_op{"old"}, "u1", time_ago(trash_retention + 1h));  // past the retention
  flush_room(cold, hot, "r1");
  const auto listed = read_trash(cold, hot, "r1", 10);
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0].note.id, "gone");
  EXPECT_EQ(listed[0].note.title, "A");
  // The purge ran with the flush: the entry past the retention is gone from the store too.
  EXPECT_EQ(cold.trash("r1", "", 10).size(), 1U);
}

TEST_F(WriteBehind, TextOpsFoldIntoTheFinalTextOfTheirField) {
  append(create("n1", "", 1.0));
  // Typing "hello", a correction and a title edit, as the server numbers them (transformed).
  std::string body;
  for (const char c : std::string("hellp")) {
    core::text_op typed;
    typed.retain(body.size()).insert(std::string(1, c));
    append(core::text_edit_op{"n1", core::text_field::body, 0, typed});
    body += c;
  }
  core::text_op fix;
  fix.retain(4).remove(1).insert("o").insert(" world");
  append(core::text_edit_op{"n1", core::text_field::body, 0, fix});
  core::text_op title;
  title.insert("Greeting");
  const std::int64_t last = append(core::text_edit_op{"n1", core::text_field::title, 0, title});
  auto report = flush_room(cold, hot, "r1");
  EXPECT_EQ(report.ops, last);
  EXPECT_EQ(report.notes_written, 1);
  auto snap = cold.load_snapshot("r1");
  ASSERT_TRUE(snap.has_value());
  ASSERT_EQ(snap->notes.size(), 1U);
  EXPECT_EQ(snap->notes[0].body, "hello world");
  EXPECT_EQ(snap->notes[0].title, "Greeting");
  EXPECT_EQ(snap->notes[0].seq, last);
}

TEST_F(WriteBehind, FlushIsIdempotentAndTrimsToTheRecentOps) {
  for (int i = 0; i < 300; ++i) {
    append(create("n" + std::to_string(i), "t", i));
  }
  EXPECT_EQ(flush_room(cold, hot, "r1").ops, 300);
  EXPECT_EQ(flush_room(cold, hot, "r1").ops, 0);
  auto range = hot.read_after("r1", 0);
  EXPECT_EQ(range.persisted_seq, 300);
  ASSERT_EQ(range.entries.size(), 100U);  // keeps the last 100 for resumes
  EXPECT_EQ(range.entries.front().seq, 201);
  EXPECT_TRUE(hot.dirty_rooms().empty());
}

TEST_F(WriteBehind, StoredStateEqualsTheReplayedLog) {
  append(create("a", "A", 1.0));
  append(create("b", "B", 2.0));
  append(create("a", "ignored: a exists", 9.0));
  append(core::move_op{"b", 0.5});
  append(core::delete_op{"a"});
  append(create("a", "A again", 3.0));
  append(set_title("missing", "no-op"));
  append(core::rebalance_op{{{"a", 10.0}, {"missing", 1.0}, {"b", 20.0}}});
  append(core::delete_op{"b"});
  auto expected = rooms::load_room(cold, hot, "r1");
  ASSERT_TRUE(expected.has_value());
  flush_room(cold, hot, "r1");
  auto snap = cold.load_snapshot("r1");
  ASSERT_TRUE(snap.has_value());
  core::room_state stored(snap->meta.last_seq, snap->notes);
  EXPECT_EQ(core::serialize_state(stored), core::serialize_state(expected->state));
  ASSERT_EQ(stored.size(), 1U);
  EXPECT_EQ(stored.find("a")->title, "A again");
  EXPECT_EQ(stored.find("a")->current_index, 10.0);
}

TEST_F(WriteBehind, OnlyTheLeaseHolderFlushes) {
  append(create("n1", "t", 1.0));
  ASSERT_TRUE(hot.try_lease("r1", "other-server", 1h));
  auto blocked = flush_room(cold, hot, "r1", "this-server");
  EXPECT_TRUE(blocked.leased_elsewhere);
  EXPECT_EQ(cold.load_snapshot("r1")->meta.last_seq, 0);
  EXPECT_EQ(hot.dirty_rooms(), std::vector<std::string>{"r1"});

  hot.release_lease("r1", "this-server");  // not its lease: no effect
  EXPECT_TRUE(flush_room(cold, hot, "r1", "this-server").leased_elsewhere);
  hot.release_lease("r1", "other-server");
  auto done = flush_room(cold, hot, "r1", "this-server");
  EXPECT_FALSE(done.leased_elsewhere);
  EXPECT_EQ(done.ops, 1);
  // The flush gave its lease back.
  EXPECT_TRUE(hot.try_lease("r1", "other-server", 1h));
}

TEST_F(WriteBehind, UnflushedLogIsNeverTrimmed) {
  for (int i = 0; i < 500; ++i) {
    append(create("n" + std::to_string(i), "t", i));
  }
  auto range = hot.read_after("r1", 0);
  EXPECT_EQ(range.entries.size(), 500U);
  EXPECT_TRUE(range.complete);
  EXPECT_EQ(hot.dirty_rooms(), std::vector<std::string>{"r1"});
}

TEST_F(WriteBehind, DebouncedWorkerFlushesAfterTheQuietPeriod) {
  std::mutex m;
  std::condition_variable cv;
  std::int64_t flushed_ops = 0;
  write_behind_options options;
  options.quiet = 20ms;
  options.max_delay = 1000ms;
  write_behind wb(cold, hot, options, [&](const flush_report& r) {
    std::lock_guard lock(m);
    flushed_ops += r.ops;
    cv.notify_all();
  });
  wb.start();
  for (int i = 0; i < 50; ++i) {
    const auto seq = append(create("n" + std::to_string(i), "t", i));
    wb.note_append("r1", seq, 0);
  }
  std::unique_lock lock(m);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return flushed_ops == 50; }));
  lock.unlock();
  EXPECT_EQ(cold.load_snapshot("r1")->meta.last_seq, 50);
  wb.stop();
}

TEST_F(WriteBehind, DrainFlushesEverythingAtShutdown) {
  write_behind_options options;
  options.quiet = 1h;  // only drain() may flush here
  options.max_delay = 1h;
  write_behind wb(cold, hot, options);
  wb.start();
  for (int i = 0; i < 20; ++i) {
    wb.note_append("r1", append(create("n" + std::to_string(i), "t", i)), 0);
  }
  EXPECT_TRUE(wb.drain());
  EXPECT_EQ(cold.load_snapshot("r1")->meta.last_seq, 20);
  EXPECT_TRUE(hot.dirty_rooms().empty());
}

// A cold store whose flushes fail while `down` is set, counting the attempts.
class flaky_cold_store : public store::memory_cold_store {
 public:
  store::flush_outcome apply_flush(const store::flush_batch& batch) override {
    ++attempts;
    if (down) {
      throw store::store_error("database is down");
    }
    return memory_cold_store::apply_flush(batch);
  }
  std::atomic<bool> down{true};
  std::atomic<int> attempts{0};
};

TEST(WriteBehindOutage, FailedFlushesBackOffInsteadOfSpinningThenCatchUp) {
  store::memory_bus bus;
  flaky_cold_store cold;
  store::memory_hot_log hot{bus, store::hot_log_options{100}};
  store::room_meta meta;
  meta.id = "r1";
  meta.name = "room";
  meta.owner_id = "u1";
  ASSERT_TRUE(cold.create_user(store::user{"u1", "alice", "x", "2026-01-01T00:00:00.000Z"}));
  cold.create_room(meta);
  hot.ensure_room("r1", 0);

  write_behind_options options;
  options.quiet = 1ms;
  options.hard_cap = 0;  // every append makes the room urgent: the case that used to spin
  write_behind wb(cold, hot, options);
  wb.start();
  std::int64_t last = 0;
  for (int i = 0; i < 5; ++i) {
    auto parts = rooms::op_frame(
        "r1", "c", "u1", "2026-01-01T00:00:00.000Z",
        core::create_op{"n" + std::to_string(i), "t", "", false, false, static_cast<double>(i)});
    hot.append(store::append_request{"r1", parts.prefix, parts.suffix},
               [&](core::result<store::append_result> r) { last = r->entry.seq; });
    wb.note_append("r1", last, 0);
  }
  // For one second the database is down: retries double from 50 ms (50, 100, 200, 400 ms …),
  // so a handful of attempts, where retrying at once makes hundreds.
  std::this_thread::sleep_for(1s);  // the length of the outage is the subject of the test
  const int attempts_while_down = cold.attempts.load();
  EXPECT_GE(attempts_while_down, 2);
  EXPECT_LE(attempts_while_down, 10);
  // Nothing was trimmed that the database does not have.
  EXPECT_EQ(hot.read_after("r1", 0).entries.size(), 5U);

  cold.down = false;
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (cold.load_snapshot("r1")->meta.last_seq != last) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "never caught up";
    std::this_thread::sleep_for(10ms);  // polling a condition
  }
  wb.stop();
}

}  // namespace
}  // namespace fun_notes::server::persist

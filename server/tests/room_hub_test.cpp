// Room hubs and the dashboard on the in-memory adapters, wired through their explicit context.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "access/room_access.hpp"
#include "rooms/access_fanout.hpp"
#include "rooms/dashboard.hpp"
#include "rooms/frames.hpp"
#include "rooms/hub_context.hpp"
#include "rooms/room_hub.hpp"
#include "store/memory/memory_bus.hpp"
#include "store/memory/memory_cold_store.hpp"
#include "store/memory/memory_hot_log.hpp"

namespace fun_notes::server::rooms {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

// Long enough for a loaded machine, short enough that a lost frame fails the test.
constexpr auto deadline = 20s;
constexpr auto at = "2026-01-01T00:00:00.000Z";

// A client connection as the hub sees it: keeps every frame, parsed, in arrival order.
class recording_sink : public session_sink {
 public:
  void deliver(frame_ptr frame) override { record(*frame); }
  void deliver_snapshot(frame_ptr frame) override { record(*frame); }
  std::size_t resume_budget() const override { return 1 << 20; }
  void join_failed(const std::string& room_id) override {
    std::lock_guard lock(mutex_);
    failed_.push_back(room_id);
  }
  void role_changed(const std::string&, store::role) override {}
  void access_lost(const std::string&, bool) override {}

  // The frames of one type, oldest first.
  std::vector<json::object> frames(std::string_view type) const {
    std::lock_guard lock(mutex_);
    std::vector<json::object> out;
    for (const auto& f : frames_) {
      if (f.at("type").as_string() == type) {
        out.push_back(f);
      }
    }
    return out;
  }
  std::vector<std::string> failed() const {
    std::lock_guard lock(mutex_);
    return failed_;
  }

 private:
  void record(const std::string& frame) {
    std::lock_guard lock(mutex_);
    frames_.push_back(json::parse(frame).as_object());
  }

  mutable std::mutex mutex_;
  std::vector<json::object> frames_;
  std::vector<std::string> failed_;
};

// The other servers of a fleet: zoe is in r1 on srv-other. Records what this server writes.
class fleet_presence : public store::presence_store {
 public:
  struct write {
    std::string room_id;
    std::string server_id;
    store::user_set users;
    std::chrono::milliseconds ttl;
  };

  void set_local(std::string_view room_id, std::string_view server_id, const store::user_set& users,
                 std::chrono::milliseconds ttl) override {
    std::lock_guard lock(mutex_);
    writes_.push_back(write{std::string(room_id), std::string(server_id), users, ttl});
    local_ = users;
  }
  store::user_set room_users(std::string_view room_id) override {
    std::lock_guard lock(mutex_);
    store::user_set users = local_;
    if (room_id == "r1") {
      users.emplace("u9", "zoe");
    }
    return users;
  }
  std::vector<write> writes() const {
    std::lock_guard lock(mutex_);
    return writes_;
  }

 private:
  mutable std::mutex mutex_;
  store::user_set local_;
  std::vector<write> writes_;
};

std::vector<std::string> titles(const json::object& snapshot) {
  std::vector<std::string> out;
  for (const auto& n : snapshot.at("notes").as_array()) {
    out.emplace_back(n.at("title").as_string());
  }
  return out;
}

std::vector<std::string> user_names(const json::object& presence) {
  std::vector<std::string> out;
  for (const auto& u : presence.at("users").as_array()) {
    out.emplace_back(u.at("name").as_string());
  }
  return out;
}

core::note stored_note(const std::string& id, const std::string& title, double index) {
  return core::note{id, title, "", false, false, index, 0, at};
}

class RoomHub : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cold.create_user(store::user{"u1", "alice", "x", at}));
    ASSERT_TRUE(cold.create_user(store::user{"u2", "bob", "x", at}));
    store::room_import room;
    room.meta.id = "r1";
    room.meta.name = "Plans";
    room.meta.owner_id = "u1";
    room.meta.created_at = at;
    room.members.push_back(store::member{"u2", "", store::role::editor});
    room.notes = {stored_note("n1", "buy milk", 1.0), stored_note("n2", "call bob", 2.0)};
    ASSERT_TRUE(cold.import_room(room, false, {}));

    hubs = std::make_unique<hub_registry>(
        hub_context{.io = io,
                    .pool = pool,
                    .bus = bus,
                    .cold = cold,
                    .hot = hot,
                    .presence = presence(),
                    .instance_id = "srv-test",
                    .shutting_down = shutting_down,
                    .settings = {.room_idle = 100ms, .presence_ttl = 30s, .hot_log_ttl = 6h},
                    .repair_room =
                        [this](const std::string& room_id) {
                          std::lock_guard lock(mutex);
                          repairs.push_back(room_id);
                          return repair ? repair() : false;
                        },
                    .flush_urgently =
                        [this](const std::string& room_id) {
                          std::lock_guard lock(mutex);
                          urgent_flushes.push_back(room_id);
                        }});
    board = std::make_unique<dashboard>(bus, *hubs,
                                        [this](const std::string& user_id, std::int64_t version) {
                                          std::lock_guard lock(mutex);
                                          revoked.emplace_back(user_id, version);
                                        });
    board->start();
  }

  // As the server stops: the workers finish, then nothing listens to the bus any more.
  void TearDown() override {
    pool.join();
    if (hubs) {
      hubs->unsubscribe_all();
    }
    if (board) {
      board->stop();
    }
  }

  virtual store::presence_store* presence() { return nullptr; }

  // Runs the hubs' handlers on this thread until `done` holds; false when the deadline passed.
  bool run_until(const std::function<bool()>& done) {
    const auto give_up = std::chrono::steady_clock::now() + deadline;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= give_up) {
        return false;
      }
      io.run_one_for(20ms);
    }
    return true;
  }

  static member_info person(const std::string& id, const std::string& name, store::role r) {
    return member_info{id, name, r, r};
  }

  // Joins `sink` to r1 and waits for its snapshot.
  std::shared_ptr<room_hub> join_r1(const std::shared_ptr<recording_sink>& sink,
                                    const member_info& who) {
    auto hub = hubs->acquire("r1");
    hub->join(sink, who, std::nullopt);
    EXPECT_TRUE(run_until([&] { return !sink->frames("snapshot").empty(); }));
    return hub;
  }

  // Appends an op to the room's log as a WebSocket session does: the log numbers it and
  // publishes it on the room's channel, where the hub picks it up.
  void append(const std::shared_ptr<room_hub>& hub, const std::string& user_id, const core::op& o) {
    auto parts = op_frame(hub->room_id(), "c1", user_id, at, o);
    std::optional<bool> ok;
    hot.append(store::append_request{hub->room_id(), parts.prefix, parts.suffix, hub->seq()},
               [&](core::result<store::append_result> r) { ok = r.ok(); });
    ASSERT_TRUE(ok.has_value() && *ok);  // the memory log completes on this thread
  }

  static core::op create(const std::string& id, const std::string& title, double index) {
    return core::create_op{id, title, "", false, false, index};
  }

  store::memory_bus bus;
  store::memory_cold_store cold;
  store::memory_hot_log hot{bus};
  asio::thread_pool pool{1};
  std::atomic<bool> shutting_down{false};
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};

  std::mutex mutex;  // the callbacks below run on the worker or the bus thread
  std::function<bool()> repair;
  std::vector<std::string> repairs;
  std::vector<std::string> urgent_flushes;
  std::vector<std::pair<std::string, std::int64_t>> revoked;

  std::unique_ptr<hub_registry> hubs;
  std::unique_ptr<dashboard> board;
};

TEST_F(RoomHub, AJoinGetsTheStoredNotesInItsSnapshotAndSeesWhoIsHere) {
  auto alice = std::make_shared<recording_sink>();
  auto hub = join_r1(alice, person("u1", "alice", store::role::owner));

  const auto snapshots = alice->frames("snapshot");
  ASSERT_EQ(snapshots.size(), 1U);
  const auto& snapshot = snapshots.front();
  EXPECT_EQ(snapshot.at("room").as_string(), "r1");
  EXPECT_EQ(snapshot.at("seq").as_int64(), 0);
  EXPECT_EQ(snapshot.at("room_info").at("name").as_string(), "Plans");
  EXPECT_EQ(snapshot.at("room_info").at("role").as_string(), "owner");
  EXPECT_EQ(titles(snapshot), (std::vector<std::string>{"buy milk", "call bob"}));
  const auto presence = alice->frames("presence");
  ASSERT_FALSE(presence.empty());
  EXPECT_EQ(user_names(presence.back()), std::vector<std::string>{"alice"});
  EXPECT_TRUE(hub->loaded());
  EXPECT_EQ(hub->note_count(), 2U);
}

TEST_F(RoomHub, AnOpAppendedToTheLogReachesEveryJoinedSessionInOrder) {
  auto alice = std::make_shared<recording_sink>();
  auto bob = std::make_shared<recording_sink>();
  auto hub = join_r1(alice, person("u1", "alice", store::role::owner));
  join_r1(bob, person("u2", "bob", store::role::editor));

  append(hub, "u1", create("n3", "water plants", 3.0));
  append(hub, "u1", create("n4", "pay rent", 4.0));

  ASSERT_TRUE(run_until([&] { return bob->frames("op").size() == 2; }));
  const auto ops = bob->frames("op");
  EXPECT_EQ(ops[0].at("seq").as_int64(), 1);
  EXPECT_EQ(ops[0].at("user").as_string(), "u1");
  EXPECT_EQ(ops[0].at("op").at("note").at("title").as_string(), "water plants");
  EXPECT_EQ(ops[1].at("seq").as_int64(), 2);
  EXPECT_EQ(ops[1].at("op").at("note").at("title").as_string(), "pay rent");
  ASSERT_TRUE(run_until([&] { return alice->frames("op").size() == 2; }));
  EXPECT_EQ(hub->seq(), 2);
  EXPECT_EQ(hub->note_count(), 4U);

  // A later join is answered from the hub's state, which has the ops applied.
  auto carol = std::make_shared<recording_sink>();
  join_r1(carol, person("u2", "bob", store::role::editor));
  const auto snapshot = carol->frames("snapshot").at(0);
  EXPECT_EQ(snapshot.at("seq").as_int64(), 2);
  EXPECT_EQ(titles(snapshot),
            (std::vector<std::string>{"buy milk", "call bob", "water plants", "pay rent"}));
}

TEST_F(RoomHub, AJoinAheadOfTheHubWaitsForTheOpsAndIsAResume) {
  auto alice = std::make_shared<recording_sink>();
  auto hub = join_r1(alice, person("u1", "alice", store::role::owner));
  // Bob saw seq 1 on another server; here the bus has not brought it yet.
  auto bob = std::make_shared<recording_sink>();
  hub->join(bob, person("u2", "bob", store::role::editor), 1);
  io.run_for(300ms);  // nothing comes over the bus: the join waits
  EXPECT_TRUE(bob->frames("snapshot").empty());
  EXPECT_TRUE(bob->frames("resume").empty());
  append(hub, "u1", create("n3", "water plants", 3.0));
  ASSERT_TRUE(run_until([&] { return !bob->frames("resume").empty(); }));
  EXPECT_TRUE(bob->frames("snapshot").empty());
  EXPECT_EQ(bob->frames("resume").at(0).at("since").as_int64(), 1);

  // A join far ahead (a client from before the room was replaced) gets a snapshot in the end.
  auto carol = std::make_shared<recording_sink>();
  hub->join(carol, person("u3", "carol", store::role::editor), 50);
  ASSERT_TRUE(run_until([&] { return !carol->frames("snapshot").empty(); }));
  EXPECT_EQ(carol->frames("snapshot").at(0).at("seq").as_int64(), 1);
}

TEST_F(RoomHub, TheDashboardListsRoomsWithTheLoadedHubsStatsAndForwardsTheirChanges) {
  auto alice = std::make_shared<recording_sink>();
  auto hub = join_r1(alice, person("u1", "alice", store::role::owner));
  append(hub, "u1", create("n3", "water plants", 3.0));
  ASSERT_TRUE(run_until([&] { return hub->note_count() == 3; }));

  // The cold store still says two notes (no write-behind here): three comes from the hub.
  access_fanout events(bus, *board);
  access::room_access access(cold, events);
  auto watcher = std::make_shared<recording_sink>();
  board->watch(watcher, "u2", access.dashboard_rooms("u2"));
  const auto lists = watcher->frames("rooms");
  ASSERT_EQ(lists.size(), 1U);
  const auto& rooms = lists.front().at("rooms").as_array();
  ASSERT_EQ(rooms.size(), 1U);
  EXPECT_EQ(rooms[0].at("id").as_string(), "r1");
  EXPECT_EQ(rooms[0].at("name").as_string(), "Plans");
  EXPECT_EQ(rooms[0].at("role").as_string(), "editor");
  EXPECT_EQ(rooms[0].at("total_notes").as_int64(), 3);
  EXPECT_EQ(rooms[0].at("active_user_count").as_int64(), 1);

  // The hub publishes its new count on the stats channel; the dashboard passes it on.
  append(hub, "u1", create("n4", "pay rent", 4.0));
  ASSERT_TRUE(run_until([&] {
    for (const auto& stat : watcher->frames("room_stat")) {
      if (stat.at("room").at("total_notes").as_int64() == 4) {
        return true;
      }
    }
    return false;
  }));
}

TEST_F(RoomHub, ARevocationFromAnotherServerReachesTheRevokeHandler) {
  access_fanout events(bus, *board);
  events.user_revoked("u2", 7);  // the memory bus delivers on this thread
  std::lock_guard lock(mutex);
  EXPECT_EQ(revoked, (std::vector<std::pair<std::string, std::int64_t>>{{"u2", 7}}));
}

TEST_F(RoomHub, ARoomThatDoesNotExistFailsTheJoinAndLeavesTheRegistry) {
  auto sink = std::make_shared<recording_sink>();
  auto hub = hubs->acquire("nope");
  hub->join(sink, person("u1", "alice", store::role::owner), std::nullopt);
  ASSERT_TRUE(run_until([&] { return !sink->failed().empty(); }));
  EXPECT_EQ(sink->failed(), std::vector<std::string>{"nope"});
  const auto errors = sink->frames("error");
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(errors[0].at("code").as_string(), "unavailable");
  EXPECT_EQ(hubs->find("nope"), nullptr);
}

TEST_F(RoomHub, AnEmptyRoomUnloadsAfterTheIdleDelay) {
  auto alice = std::make_shared<recording_sink>();
  auto hub = join_r1(alice, person("u1", "alice", store::role::owner));
  ASSERT_EQ(hubs->size(), 1U);
  hub->leave(alice);
  hubs->release(hub);
  EXPECT_TRUE(run_until([&] { return hubs->size() == 0; }));
}

TEST_F(RoomHub, PresentUsersAreCountedInTheColdStore) {
  auto alice = std::make_shared<recording_sink>();
  auto bob = std::make_shared<recording_sink>();
  join_r1(alice, person("u1", "alice", store::role::owner));
  join_r1(bob, person("u2", "bob", store::role::editor));
  EXPECT_TRUE(run_until([&] { return cold.find_room("r1")->active_user_count == 2; }));
}

TEST_F(RoomHub, ARepairRequestOnTheRoomsChannelAsksForAnUrgentFlush) {
  auto alice = std::make_shared<recording_sink>();
  join_r1(alice, person("u1", "alice", store::role::owner));
  bus.publish(store::room_channel("r1"),
              store::bus_message{0, make_frame(std::string(repair_needed_marker))});
  EXPECT_TRUE(run_until([&] {
    std::lock_guard lock(mutex);
    return urgent_flushes == std::vector<std::string>{"r1"};
  }));
  EXPECT_TRUE(alice->frames("error").empty());
}

TEST_F(RoomHub, ALogThatLostOpsIsRepairedBeforeTheRoomLoads) {
  // The log says ops up to 3 were persisted, but the cold store stops at 0: ops 1..3 are in
  // neither. The repair (the write-behind's, here a stand-in) brings the cold store to 3.
  hot.set_persisted("r1", 3);
  repair = [this] {
    store::flush_batch batch{"r1", 0, 3, {stored_note("n5", "restored", 5.0)}, {}};
    return cold.apply_flush(batch) == store::flush_outcome::applied;
  };
  auto alice = std::make_shared<recording_sink>();
  join_r1(alice, person("u1", "alice", store::role::owner));
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(repairs, std::vector<std::string>{"r1"});
  }
  const auto snapshots = alice->frames("snapshot");
  ASSERT_EQ(snapshots.size(), 1U);
  EXPECT_EQ(snapshots[0].at("seq").as_int64(), 3);
  EXPECT_EQ(titles(snapshots[0]), (std::vector<std::string>{"buy milk", "call bob", "restored"}));
}

class RoomHubInAFleet : public RoomHub {
 protected:
  store::presence_store* presence() override { return &fleet; }
  fleet_presence fleet;
};

TEST_F(RoomHubInAFleet, PresenceMergesTheFleetsUsersAndPublishesThisServersOwn) {
  auto alice = std::make_shared<recording_sink>();
  join_r1(alice, person("u1", "alice", store::role::owner));
  EXPECT_TRUE(run_until([&] {
    const auto presence = alice->frames("presence");
    return !presence.empty() &&
           user_names(presence.back()) == std::vector<std::string>{"alice", "zoe"};
  }));
  EXPECT_TRUE(run_until([&] {
    for (const auto& w : fleet.writes()) {
      if (w.room_id == "r1" && w.server_id == "srv-test" && w.ttl == 30s &&
          w.users == store::user_set{{"u1", "alice"}}) {
        return true;
      }
    }
    return false;
  }));
}

TEST_F(RoomHub, ACaretReachesTheOtherSocketsCoalescedAndIsClearedWhenItsSocketLeaves) {
  auto alice = std::make_shared<recording_sink>();
  auto bob = std::make_shared<recording_sink>();
  auto hub = join_r1(alice, person("u1", "alice", store::role::owner));
  join_r1(bob, person("u2", "bob", store::role::viewer));

  // Three moves within the coalescing interval: bob sees the first at once and then the last.
  hub->cursor(alice, caret{"n1", "body", 1, 1, 2});
  hub->cursor(alice, caret{"n1", "body", 2, 2, 2});
  hub->cursor(alice, caret{"n1", "body", 0, 3, 2});
  ASSERT_TRUE(run_until([&] {
    const auto c = bob->frames("cursor");
    return !c.empty() && c.back().at("head").as_int64() == 3;
  }));
  const auto seen = bob->frames("cursor");
  EXPECT_LE(seen.size(), 2U);
  const auto& last = seen.back();
  EXPECT_EQ(last.at("room").as_string(), "r1");
  EXPECT_EQ(last.at("user").at("id").as_string(), "u1");
  EXPECT_EQ(last.at("user").at("name").as_string(), "alice");
  EXPECT_EQ(last.at("note").as_string(), "n1");
  EXPECT_EQ(last.at("field").as_string(), "body");
  EXPECT_EQ(last.at("anchor").as_int64(), 0);
  EXPECT_EQ(last.at("seq").as_int64(), 2);
  const std::string session(last.at("session").as_string());
  EXPECT_TRUE(alice->frames("cursor").empty()) << "a socket does not get its own caret back";

  // A socket joining later gets the carets already shown; a socket not in the room is ignored.
  auto carol = std::make_shared<recording_sink>();
  join_r1(carol, person("u3", "carol", store::role::editor));
  ASSERT_TRUE(run_until([&] { return !carol->frames("cursor").empty(); }));
  EXPECT_EQ(carol->frames("cursor").front().at("session").as_string(), session);
  hub->cursor(std::make_shared<recording_sink>(), caret{"n1", "title", 0, 0, 0});

  // Alice leaves: the others see her caret cleared (no note), and a new joiner no longer gets it.
  hub->leave(alice);
  ASSERT_TRUE(run_until([&] {
    const auto c = bob->frames("cursor");
    return !c.empty() && !c.back().contains("note");
  }));
  EXPECT_EQ(bob->frames("cursor").back().at("session").as_string(), session);
  EXPECT_EQ(carol->frames("cursor").size(), 2U);
  auto dave = std::make_shared<recording_sink>();
  join_r1(dave, person("u4", "dave", store::role::editor));
  io.run_for(100ms);
  EXPECT_TRUE(dave->frames("cursor").empty());
}

}  // namespace
}  // namespace fun_notes::server::rooms

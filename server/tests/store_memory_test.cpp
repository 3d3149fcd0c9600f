// Behaviour of the memory adapters beyond the conformance suite: test switches and reentrancy.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/memory/memory_bus.hpp"
#include "store/memory/memory_hot_log.hpp"
#include "store_test_support.hpp"

namespace fun_notes::store {
namespace {

using testing::append_and_wait;
using testing::collector;
using testing::frame_prefix;
using testing::frame_suffix;

TEST(memory_hot_log, a_failing_append_numbers_and_publishes_nothing) {
  memory_bus bus;
  memory_hot_log log(bus);
  log.ensure_room("r", 0);
  collector<bus_message> published;
  auto sub = bus.subscribe(
      room_channel("r"), [&](const bus_message& m) { published.add(m); }, nullptr);
  ASSERT_EQ(append_and_wait(log, "r")->entry.seq, 1);

  log.set_failing(true);
  auto failed = append_and_wait(log, "r");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.err().code, "unavailable");
  EXPECT_EQ(published.size(), 1u);
  EXPECT_EQ(log.read_after("r", 0).head_seq, 1);

  log.set_failing(false);
  EXPECT_EQ(append_and_wait(log, "r")->entry.seq, 2);
}

TEST(memory_hot_log, an_append_from_inside_done_keeps_seq_order) {
  memory_bus bus;
  memory_hot_log log(bus);
  log.ensure_room("r", 0);
  collector<std::int64_t> published;
  auto sub = bus.subscribe(
      room_channel("r"), [&](const bus_message& m) { published.add(m.seq); }, nullptr);

  collector<std::int64_t> done;
  log.append(append_request{"r", frame_prefix("r"), frame_suffix("first")},
             [&](core::result<append_result> first) {
               ASSERT_TRUE(first.ok());
               log.append(append_request{"r", frame_prefix("r"), frame_suffix("second")},
                          [&](core::result<append_result> second) {
                            ASSERT_TRUE(second.ok());
                            done.add(second->entry.seq);
                          });
               done.add(first->entry.seq);
             });
  ASSERT_TRUE(done.wait_for(2));
  EXPECT_EQ(done.items(), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(published.items(), (std::vector<std::int64_t>{1, 2}));
}

TEST(memory_bus, a_handler_may_drop_its_own_subscription) {
  memory_bus bus;
  std::unique_ptr<subscription> sub;
  int calls = 0;
  sub = bus.subscribe(
      "c",
      [&](const bus_message&) {
        ++calls;
        sub.reset();
      },
      nullptr);
  bus.publish("c", bus_message{1, std::make_shared<const std::string>("a")});
  bus.publish("c", bus_message{2, std::make_shared<const std::string>("b")});
  EXPECT_EQ(calls, 1);
}

TEST(memory_bus, confirms_inside_subscribe) {
  memory_bus bus;
  bool confirmed = false;
  auto sub = bus.subscribe(
      "c", [](const bus_message&) {}, [&] { confirmed = true; });
  EXPECT_TRUE(confirmed);
}

TEST(memory_bus, a_subscription_may_outlive_the_bus) {
  auto bus = std::make_unique<memory_bus>();
  int calls = 0;
  auto sub = bus->subscribe(
      "c", [&](const bus_message&) { ++calls; }, nullptr);
  bus->publish("c", bus_message{1, std::make_shared<const std::string>("a")});
  bus.reset();
  sub.reset();  // must not touch the destroyed bus
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace fun_notes::store

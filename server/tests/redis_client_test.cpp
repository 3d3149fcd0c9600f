// The Redis client against real throwaway redis-server processes: routing, pipelining,
// redirections, sharded Pub/Sub and reconnection, on a standalone server and a 3-master cluster.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "redis_test_server.hpp"
#include "store/redis/redis_client.hpp"

namespace fun_notes::store::redis {
namespace {

using namespace std::chrono_literals;
using testing::redis_deployment;

constexpr auto deadline = 20s;

// State shared with callbacks on the client's I/O thread; tests wait for a condition on it.
template <typename State>
class shared {
 public:
  template <typename F>
  void update(F&& f) {
    {
      std::lock_guard lock(mutex_);
      f(state_);
    }
    changed_.notify_all();
  }
  template <typename Pred>
  bool wait(Pred&& pred, std::chrono::steady_clock::duration limit = deadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return pred(state_); });
  }
  template <typename F>
  auto read(F&& f) {
    std::lock_guard lock(mutex_);
    return f(state_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  State state_{};
};

struct channel_log {
  std::vector<std::string> messages;
  int confirmations = 0;
};

// Subscribes and waits for the confirmation.
std::uint64_t subscribe(client& c, const std::string& channel, shared<channel_log>& log) {
  const auto id = c.ssubscribe(
      channel,
      [&log](std::string_view payload) {
        log.update([&](channel_log& s) { s.messages.emplace_back(payload); });
      },
      [&log] { log.update([](channel_log& s) { ++s.confirmations; }); });
  EXPECT_TRUE(log.wait([](const channel_log& s) { return s.confirmations >= 1; }))
      << "no confirmation for " << channel;
  return id;
}

// Retries until a command succeeds (after a restart), with a deadline.
reply command_until_ok(client& c, const std::string& key, const std::vector<std::string>& args) {
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    reply r = c.command(key, args);
    if (!r.is_error() || std::chrono::steady_clock::now() > give_up) {
      return r;
    }
    // Polling with a deadline: a restarted cluster node answers CLUSTERDOWN for a while.
    std::this_thread::sleep_for(10ms);
  }
}

// --- pure functions ---

TEST(RedisKeySlot, MatchesKnownValues) {
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("123456789"), 0x31C3 % 16384);  // the CRC16/XMODEM check value
  EXPECT_EQ(key_slot(""), 0);
}

TEST(RedisKeySlot, HashTagsKeepKeysTogether) {
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("room:updates:{r1}"), key_slot("room:seq:{r1}"));
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));  // the first tag only
  EXPECT_EQ(key_slot("foo{}{bar}"), key_slot(std::string_view("foo{}{bar}")));
  EXPECT_NE(key_slot("foo{}{bar}"), key_slot("bar"));      // an empty tag means no tag
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));  // up to the first '}'
  EXPECT_EQ(key_slot("foo{bar"), key_slot(std::string_view("foo{bar")));
  EXPECT_NE(key_slot("foo{bar"), key_slot("bar"));  // unterminated: no tag
}

TEST(RedisUrl, ParsesHostsAndPorts) {
  auto e = parse_url("redis://127.0.0.1:7000");
  EXPECT_EQ(e.host, "127.0.0.1");
  EXPECT_EQ(e.port, 7000);
  e = parse_url("redis://cache.internal");
  EXPECT_EQ(e.host, "cache.internal");
  EXPECT_EQ(e.port, 6379);
  e = parse_url("redis://[::1]:6380/");
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, 6380);
  const auto list = parse_urls("redis://a:1,redis://b:2");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].host, "b");
  EXPECT_EQ(list[1].port, 2);
}

TEST(RedisUrl, RejectsBadUrlsClearly) {
  for (const char* bad : {"", "127.0.0.1:6379", "http://h:1", "redis://", "redis://:6379",
                          "redis://h:", "redis://h:0", "redis://h:65536", "redis://h:12x",
                          "redis://u:p@h:1", "redis://h:1/2", "redis://[::1", "redis://a:1,"}) {
    try {
      parse_urls(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("Redis URL"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(client(std::vector<std::string>{"redis://h:99999"}), std::invalid_argument);
  EXPECT_THROW(client(std::vector<std::string>{}), std::invalid_argument);
}

// --- standalone ---

class RedisStandalone : public ::testing::Test {
 protected:
  void SetUp() override { redis_ = redis_deployment::standalone(); }
  std::vector<std::string> urls() const { return redis_->urls(); }
  std::unique_ptr<redis_deployment> redis_;
};

TEST_F(RedisStandalone, SetGetIncr) {
  client c(urls());
  EXPECT_EQ(c.command("k", {"SET", "k", "v"}).str, "OK");
  const reply got = c.command("k", {"GET", "k"});
  EXPECT_TRUE(got.is_string());
  EXPECT_EQ(got.str, "v");
  EXPECT_TRUE(c.command("missing", {"GET", "missing"}).is_nil());
  EXPECT_EQ(c.command("n", {"INCR", "n"}).integer, 1);
  EXPECT_EQ(c.command("n", {"INCR", "n"}).integer, 2);
  const reply wrong = c.command("k", {"INCR", "k"});
  EXPECT_TRUE(wrong.is_error());
  EXPECT_NE(wrong.str.find("not an integer"), std::string::npos) << wrong.str;
  // Binary-safe values, and the connection is still usable after an error reply.
  const std::string binary("a\0b\r\n", 5);
  EXPECT_EQ(c.command("b", {"SET", "b", binary}).str, "OK");
  EXPECT_EQ(c.command("b", {"GET", "b"}).str, binary);
  EXPECT_FALSE(c.is_cluster());
}

TEST_F(RedisStandalone, PipelinedIncrsFromSeveralThreadsKeepPerThreadOrder) {
  client c(urls());
  constexpr int threads = 4;
  constexpr int per_thread = 2500;
  struct progress {
    std::vector<std::vector<long long>> values = std::vector<std::vector<long long>>(threads);
    std::vector<int> out_of_order = std::vector<int>(threads, 0);
    int errors = 0;
    int done = 0;
  };
  shared<progress> p;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&c, &p, t] {
      for (int i = 0; i < per_thread; ++i) {
        c.async_command("counter", {"INCR", "counter"}, [&p, t, i](reply r) {
          p.update([&](progress& s) {
            auto& mine = s.values[t];
            // Callbacks of one thread's commands must come back in issue order...
            if (static_cast<int>(mine.size()) != i) {
              ++s.out_of_order[t];
            }
            // ...with increasing counter values, since they were sent in that order.
            if (!mine.empty() && r.integer <= mine.back()) {
              ++s.out_of_order[t];
            }
            s.errors += r.is_error() ? 1 : 0;
            mine.push_back(r.integer);
            ++s.done;
          });
        });
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  ASSERT_TRUE(p.wait([](const progress& s) { return s.done == threads * per_thread; }));
  p.read([](const progress& s) {
    EXPECT_EQ(s.errors, 0);
    for (int t = 0; t < threads; ++t) {
      EXPECT_EQ(s.out_of_order[t], 0) << "thread " << t;
    }
  });
  EXPECT_EQ(c.command("counter", {"GET", "counter"}).str, std::to_string(threads * per_thread));
}

TEST_F(RedisStandalone, BlockingCommandInsideACallbackThrowsInsteadOfDeadlocking) {
  client c(urls());
  shared<std::optional<std::string>> outcome;
  c.async_command("k", {"PING"}, [&c, &outcome](reply) {
    std::string what = "no exception";
    try {
      c.command("k", {"PING"});
    } catch (const std::logic_error& e) {
      what = e.what();
    }
    outcome.update([&](auto& s) { s = what; });
  });
  ASSERT_TRUE(outcome.wait([](const auto& s) { return s.has_value(); }));
  outcome.read([](const auto& s) { EXPECT_NE(s->find("I/O thread"), std::string::npos) << *s; });
}

TEST_F(RedisStandalone, LuaScripts) {
  client c(urls());
  const std::string script = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
  EXPECT_EQ(c.command("{r}n", {"EVAL", script, "1", "{r}n", "5"}).integer, 5);
  const reply sha = c.command("{r}n", {"SCRIPT", "LOAD", script});
  ASSERT_TRUE(sha.is_string()) << sha.str;
  EXPECT_EQ(c.command("{r}n", {"EVALSHA", sha.str, "1", "{r}n", "2"}).integer, 7);
  const reply multi = c.command("{r}n", {"EVAL", "return {1, 'two', {3}}", "0"});
  ASSERT_TRUE(multi.is_array());
  ASSERT_EQ(multi.elements.size(), 3u);
  EXPECT_EQ(multi.elements[0].integer, 1);
  EXPECT_EQ(multi.elements[1].str, "two");
  EXPECT_EQ(multi.elements[2].elements.at(0).integer, 3);
  EXPECT_TRUE(c.command("{r}n", {"EVALSHA", std::string(40, '0'), "0"}).is_error());
}

TEST_F(RedisStandalone, ShardedPubSubDeliversInOrder) {
  client c(urls());
  shared<channel_log> log;
  const auto id = subscribe(c, "room:{a}", log);
  constexpr int count = 200;
  for (int i = 0; i < count; ++i) {
    c.async_command("room:{a}", {"SPUBLISH", "room:{a}", "m" + std::to_string(i)}, nullptr);
  }
  ASSERT_TRUE(log.wait([](const channel_log& s) { return s.messages.size() >= count; }));
  log.read([](const channel_log& s) {
    ASSERT_EQ(s.messages.size(), static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
      EXPECT_EQ(s.messages[i], "m" + std::to_string(i));
    }
  });
  // A second subscriber to the same channel is confirmed at once and gets messages too.
  shared<channel_log> second;
  const auto id2 = subscribe(c, "room:{a}", second);
  EXPECT_EQ(c.command("room:{a}", {"SPUBLISH", "room:{a}", "both"}).integer, 1);
  ASSERT_TRUE(second.wait([](const channel_log& s) { return s.messages.size() == 1; }));
  c.sunsubscribe(id);
  c.sunsubscribe(id2);
  // Once unsubscribed Redis has no receiver for the channel any more.
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  while (c.command("room:{a}", {"SPUBLISH", "room:{a}", "late"}).integer != 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "SSUNSUBSCRIBE never took effect";
  }
  log.read([](const channel_log& s) { EXPECT_EQ(s.messages.back(), "both"); });
}

TEST_F(RedisStandalone, RestartFailsInFlightCommandsThenReconnectsAndResubscribes) {
  client c(urls());
  shared<channel_log> log;
  subscribe(c, "room:{x}", log);
  ASSERT_EQ(c.command("k", {"SET", "k", "1"}).str, "OK");

  // A command that is surely in flight when the server dies: BLPOP on an empty list blocks.
  shared<std::optional<reply>> blocked;
  c.async_command("queue", {"BLPOP", "queue", "0"},
                  [&blocked](reply r) { blocked.update([&](auto& s) { s = std::move(r); }); });
  auto& node = redis_->node(0);
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  while (node.command({"INFO", "clients"}).str.find("blocked_clients:1") == std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "BLPOP never reached Redis";
    std::this_thread::sleep_for(5ms);  // polling the server with a deadline
  }

  node.kill();
  ASSERT_TRUE(blocked.wait([](const auto& s) { return s.has_value(); }));
  blocked.read([](const auto& s) {
    EXPECT_TRUE(s->is_error());
    EXPECT_TRUE(s->str.starts_with("unavailable:")) << s->str;
  });
  // While Redis is down, commands fail fast with "unavailable" rather than hang.
  const reply down = c.command("k", {"GET", "k"});
  EXPECT_TRUE(down.is_error());
  EXPECT_TRUE(down.str.starts_with("unavailable:")) << down.str;

  node.start();
  const reply up = command_until_ok(c, "k", {"INCR", "counter"});
  EXPECT_FALSE(up.is_error()) << up.str;
  // The subscription comes back by itself, and says so.
  ASSERT_TRUE(log.wait([](const channel_log& s) { return s.confirmations >= 2; }));
  EXPECT_EQ(c.command("room:{x}", {"SPUBLISH", "room:{x}", "after"}).integer, 1);
  ASSERT_TRUE(log.wait([](const channel_log& s) { return !s.messages.empty(); }));
  log.read([](const channel_log& s) { EXPECT_EQ(s.messages.back(), "after"); });
}

TEST(RedisUnreachable, CommandsFailWithUnavailableInsteadOfHanging) {
  // A server that is down when the client starts: nothing listens on its port.
  auto redis = redis_deployment::standalone();
  const std::string url = redis->node(0).url();
  redis->node(0).kill();
  client c(std::vector<std::string>{url});
  const reply r = c.command("k", {"GET", "k"});
  EXPECT_TRUE(r.is_error());
  EXPECT_TRUE(r.str.starts_with("unavailable:")) << r.str;
  EXPECT_FALSE(c.is_cluster());
  // The server comes up later: the same client starts working.
  redis->node(0).start();
  EXPECT_EQ(command_until_ok(c, "k", {"SET", "k", "v"}).str, "OK");
}

TEST(RedisHung, ACommandWithoutAReplyFailsAfterTheTimeoutAndTheClientRecovers) {
  auto redis = redis_deployment::standalone();
  auto& node = redis->node(0);
  client c(redis->urls(), client_options{std::chrono::milliseconds(300)});
  ASSERT_EQ(c.command("k", {"SET", "k", "before"}).str, "OK");

  // A hung server keeps its connections open and answers nothing.
  node.pause();
  const reply r = c.command("k", {"GET", "k"});
  EXPECT_TRUE(r.is_error());
  EXPECT_TRUE(r.str.starts_with("unavailable:")) << r.str;
  EXPECT_NE(r.str.find("no reply"), std::string::npos) << r.str;

  node.resume();
  const reply after = command_until_ok(c, "k", {"GET", "k"});
  EXPECT_EQ(after.str, "before") << after.str;
  EXPECT_EQ(c.command("k", {"SET", "k", "after"}).str, "OK");
}

TEST(RedisHung, ASubscriptionOnAHungServerIsRenewedOnceItAnswersAgain) {
  auto redis = redis_deployment::standalone();
  auto& node = redis->node(0);
  client c(redis->urls(), client_options{std::chrono::milliseconds(300)});
  shared<channel_log> log;
  subscribe(c, "room:{hung}", log);

  // A hung server keeps the subscriber's socket open: only the keepalive PING going
  // unanswered reveals it, and the client starts over on a new connection.
  node.pause();
  std::this_thread::sleep_for(std::chrono::milliseconds(900));  // the hang is the subject
  node.resume();
  ASSERT_TRUE(log.wait([](const channel_log& s) { return s.confirmations >= 2; }))
      << "the subscription was never renewed after the hang";
  EXPECT_EQ(command_until_ok(c, "room:{hung}", {"SPUBLISH", "room:{hung}", "after"}).integer, 1);
  ASSERT_TRUE(log.wait([](const channel_log& s) { return !s.messages.empty(); }));
  log.read([](const channel_log& s) { EXPECT_EQ(s.messages.back(), "after"); });
}

TEST_F(RedisStandalone, DestroyingTheClientCompletesPendingCommands) {
  shared<std::optional<reply>> blocked;
  {
    client c(urls());
    ASSERT_EQ(c.command("k", {"SET", "k", "v"}).str, "OK");
    c.async_command("queue", {"BLPOP", "queue", "0"},
                    [&blocked](reply r) { blocked.update([&](auto& s) { s = std::move(r); }); });
  }
  // The destructor returned, so the callback already ran: no wait needed.
  blocked.read([](const auto& s) {
    ASSERT_TRUE(s.has_value());
    EXPECT_TRUE(s->str.starts_with("unavailable:")) << s->str;
  });
}

// --- cluster ---

class RedisCluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      cluster_ = redis_deployment::cluster(3).release();
    } catch (const std::exception& e) {
      start_failure_ = new std::string(e.what());
    }
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    delete start_failure_;
    start_failure_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(start_failure_, nullptr) << *start_failure_; }

  // The index of the node that owns `key` now (the others answer MOVED).
  static std::size_t owner_of(const std::string& key) {
    for (std::size_t i = 0; i < cluster_->size(); ++i) {
      const reply r = cluster_->node(i).command({"EXISTS", key});
      if (!r.is_error()) {
        return i;
      }
    }
    throw std::runtime_error("no node owns " + key);
  }

  static redis_deployment* cluster_;
  static std::string* start_failure_;
};

redis_deployment* RedisCluster::cluster_ = nullptr;
std::string* RedisCluster::start_failure_ = nullptr;

TEST_F(RedisCluster, KeySlotAgreesWithRedis) {
  for (const char* key : {"foo", "bar", "{user1000}.following", "foo{}{bar}", "foo{{bar}}zap",
                          "room:updates:{0190a1b2-c3d4}", "", "\xff\xfe"}) {
    const reply r = cluster_->node(0).command({"CLUSTER", "KEYSLOT", key});
    ASSERT_TRUE(r.is_integer()) << r.str;
    EXPECT_EQ(key_slot(key), r.integer) << key;
  }
}

TEST_F(RedisCluster, KeysSpreadOverAllMastersAreAllReadable) {
  client c(cluster_->urls());
  constexpr int keys = 300;
  for (int i = 0; i < keys; ++i) {
    const std::string key = "spread:" + std::to_string(i);
    c.async_command(key, {"SET", key, std::to_string(i)}, nullptr);
  }
  for (int i = 0; i < keys; ++i) {
    const std::string key = "spread:" + std::to_string(i);
    const reply r = c.command(key, {"GET", key});
    ASSERT_FALSE(r.is_error()) << r.str;  // no MOVED reaches the caller
    EXPECT_EQ(r.str, std::to_string(i));
  }
  EXPECT_TRUE(c.is_cluster());
  std::set<std::size_t> owners;
  for (int i = 0; i < keys; ++i) {
    owners.insert(owner_of("spread:" + std::to_string(i)));
  }
  EXPECT_EQ(owners.size(), cluster_->size());
  // Each key really lives on its owner (written there, not only readable through the client).
  for (std::size_t n = 0; n < cluster_->size(); ++n) {
    EXPECT_GT(cluster_->node(n).command({"DBSIZE"}).integer, 0) << "node " << n;
  }
}

TEST_F(RedisCluster, OneSeedIsEnough) {
  client c(std::vector<std::string>{cluster_->node(2).url()});
  for (int i = 0; i < 100; ++i) {
    const std::string key = "seed:" + std::to_string(i);
    ASSERT_EQ(c.command(key, {"SET", key, "x"}).str, "OK");
    EXPECT_EQ(c.command(key, {"GET", key}).str, "x");
  }
}

TEST_F(RedisCluster, FollowsAskDuringMigrationAndMovedAfterIt) {
  client c(std::vector<std::string>{cluster_->node(0).url()});
  const std::string key = "{migrating}k";
  ASSERT_EQ(c.command(key, {"SET", key, "before"}).str, "OK");
  const std::string slot = std::to_string(key_slot(key));
  auto& from = cluster_->node(owner_of(key));
  auto& to = cluster_->node((owner_of(key) + 1) % cluster_->size());
  const std::string from_id = from.command({"CLUSTER", "MYID"}).str;
  const std::string to_id = to.command({"CLUSTER", "MYID"}).str;

  // Half-way through a migration the key is on the target: the old owner answers ASK.
  ASSERT_EQ(to.command({"CLUSTER", "SETSLOT", slot, "IMPORTING", from_id}).str, "OK");
  ASSERT_EQ(from.command({"CLUSTER", "SETSLOT", slot, "MIGRATING", to_id}).str, "OK");
  const reply migrated = from.command(
      {"MIGRATE", "127.0.0.1", std::to_string(to.port()), "", "0", "5000", "KEYS", key});
  ASSERT_EQ(migrated.str, "OK") << migrated.str;
  ASSERT_TRUE(from.command({"GET", key}).str.starts_with("ASK ")) << "the set-up is wrong";
  EXPECT_EQ(c.command(key, {"GET", key}).str, "before");

  // Migration done: the old owner answers MOVED; the client follows and re-maps.
  for (std::size_t i = 0; i < cluster_->size(); ++i) {
    ASSERT_EQ(cluster_->node(i).command({"CLUSTER", "SETSLOT", slot, "NODE", to_id}).str, "OK");
  }
  ASSERT_TRUE(from.command({"GET", key}).str.starts_with("MOVED ")) << "the set-up is wrong";
  EXPECT_EQ(c.command(key, {"GET", key}).str, "before");
  EXPECT_EQ(c.command(key, {"SET", key, "after"}).str, "OK");
  EXPECT_EQ(to.command({"GET", key}).str, "after");
}

TEST_F(RedisCluster, ShardedPubSubOnEveryNodeDeliversInOrder) {
  client c(cluster_->urls());
  // Channels whose slots cover every master.
  std::vector<std::string> channels;
  std::set<std::size_t> owners;
  for (int i = 0; owners.size() < cluster_->size() && i < 1000; ++i) {
    const std::string channel = "room:{" + std::to_string(i) + "}";
    if (owners.insert(owner_of(channel)).second) {
      channels.push_back(channel);
    }
  }
  ASSERT_EQ(owners.size(), cluster_->size());
  std::vector<std::unique_ptr<shared<channel_log>>> logs;
  for (const auto& channel : channels) {
    logs.push_back(std::make_unique<shared<channel_log>>());
    subscribe(c, channel, *logs.back());
  }
  constexpr int count = 100;
  for (int i = 0; i < count; ++i) {
    for (const auto& channel : channels) {
      c.async_command(channel, {"SPUBLISH", channel, channel + "#" + std::to_string(i)}, nullptr);
    }
  }
  for (std::size_t k = 0; k < channels.size(); ++k) {
    ASSERT_TRUE(logs[k]->wait([](const channel_log& s) { return s.messages.size() >= count; }))
        << channels[k];
    logs[k]->read([&](const channel_log& s) {
      ASSERT_EQ(s.messages.size(), static_cast<std::size_t>(count));
      for (int i = 0; i < count; ++i) {
        EXPECT_EQ(s.messages[i], channels[k] + "#" + std::to_string(i));
      }
    });
  }
}

TEST_F(RedisCluster, SubscriptionFollowsItsSlotToAnotherNode) {
  client c(cluster_->urls());
  const std::string channel = "room:{moving-channel}";
  shared<channel_log> log;
  subscribe(c, channel, log);
  const std::string slot = std::to_string(key_slot(channel));
  auto& from = cluster_->node(owner_of(channel));
  auto& to = cluster_->node((owner_of(channel) + 1) % cluster_->size());
  const std::string to_id = to.command({"CLUSTER", "MYID"}).str;
  for (std::size_t i = 0; i < cluster_->size(); ++i) {
    ASSERT_EQ(cluster_->node(i).command({"CLUSTER", "SETSLOT", slot, "NODE", to_id}).str, "OK");
  }
  ASSERT_TRUE(from.command({"EXISTS", channel}).str.starts_with("MOVED ")) << "set-up is wrong";
  // Publishing through the client also teaches it the new owner (MOVED) if Redis did not
  // already drop the old subscription itself.
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  int n = 0;
  for (;;) {
    c.command(channel, {"SPUBLISH", channel, "probe" + std::to_string(n++)});
    if (log.wait([](const channel_log& s) { return s.confirmations >= 2; }, 50ms)) {
      break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "never resubscribed on the new owner";
  }
  EXPECT_EQ(c.command(channel, {"SPUBLISH", channel, "moved"}).integer, 1);
  ASSERT_TRUE(log.wait(
      [](const channel_log& s) { return !s.messages.empty() && s.messages.back() == "moved"; }));
}

TEST_F(RedisCluster, SubscribeWithAStaleSlotMapFollowsMoved) {
  client c(cluster_->urls());
  const std::string channel = "room:{stale-map}";
  ASSERT_FALSE(c.command(channel, {"EXISTS", channel}).is_error());  // the client has a map now
  // The slot moves behind the client's back: its SSUBSCRIBE goes to the old owner first.
  const std::string slot = std::to_string(key_slot(channel));
  auto& to = cluster_->node((owner_of(channel) + 1) % cluster_->size());
  const std::string to_id = to.command({"CLUSTER", "MYID"}).str;
  for (std::size_t i = 0; i < cluster_->size(); ++i) {
    ASSERT_EQ(cluster_->node(i).command({"CLUSTER", "SETSLOT", slot, "NODE", to_id}).str, "OK");
  }
  shared<channel_log> log;
  subscribe(c, channel, log);
  EXPECT_EQ(to.command({"SPUBLISH", channel, "on the new owner"}).integer, 1);
  ASSERT_TRUE(log.wait([](const channel_log& s) { return !s.messages.empty(); }));
  log.read([](const channel_log& s) { EXPECT_EQ(s.messages.front(), "on the new owner"); });
}

TEST_F(RedisCluster, NodeRestartFailsInFlightThenRecoversAndResubscribes) {
  client c(cluster_->urls());
  const std::string channel = "room:{restart}";
  shared<channel_log> log;
  subscribe(c, channel, log);
  const std::size_t victim = owner_of(channel);
  auto& node = cluster_->node(victim);

  shared<std::optional<reply>> blocked;
  const std::string queue = "{restart}queue";
  c.async_command(queue, {"BLPOP", queue, "0"},
                  [&blocked](reply r) { blocked.update([&](auto& s) { s = std::move(r); }); });
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  while (node.command({"INFO", "clients"}).str.find("blocked_clients:1") == std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "BLPOP never reached Redis";
    std::this_thread::sleep_for(5ms);  // polling the server with a deadline
  }
  node.kill();
  ASSERT_TRUE(blocked.wait([](const auto& s) { return s.has_value(); }));
  blocked.read([](const auto& s) { EXPECT_TRUE(s->str.starts_with("unavailable:")) << s->str; });

  node.start();
  cluster_->wait_cluster_ok();
  EXPECT_EQ(command_until_ok(c, queue, {"SET", "{restart}k", "v"}).str, "OK");
  ASSERT_TRUE(log.wait([](const channel_log& s) { return s.confirmations >= 2; }));
  EXPECT_EQ(command_until_ok(c, channel, {"SPUBLISH", channel, "after"}).integer, 1);
  ASSERT_TRUE(log.wait([](const channel_log& s) { return !s.messages.empty(); }));
  log.read([](const channel_log& s) { EXPECT_EQ(s.messages.back(), "after"); });
}

// A cluster with a replica per master: a master dies, its replica is promoted, and the client
// finds the new owner by itself, with the data and the subscription.
TEST(RedisClusterFailover, ReplicaTakesOverAndTheClientRemapsAndResubscribes) {
  auto cluster = redis_deployment::cluster(3, 1);
  client c(cluster->urls());
  const std::string channel = "room:{failover}";
  const std::string key = "room:seq:{failover}";
  shared<channel_log> log;
  subscribe(c, channel, log);
  ASSERT_EQ(c.command(key, {"SET", key, "41"}).str, "OK");
  // Replication is asynchronous: wait until the replica has the write (over the same
  // connection as the write, as WAIT requires). A replica may still be in its first full sync,
  // so WAIT in rounds shorter than the client's command timeout.
  const auto synced_by = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    const reply replicated = c.command(key, {"WAIT", "1", "1000"});
    ASSERT_TRUE(replicated.is_integer()) << replicated.str;
    if (replicated.integer >= 1) {
      break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), synced_by)
        << "the replica never acknowledged the write";
  }

  std::size_t victim = cluster->size();
  for (std::size_t i = 0; i < cluster->size(); ++i) {
    const reply r = cluster->node(i).command({"EXISTS", key});
    if (!r.is_error() && cluster->node(i).command({"ROLE"}).elements.at(0).str == "master") {
      victim = i;
    }
  }
  ASSERT_LT(victim, cluster->size()) << "no master owns " << key;
  const std::string victim_id = cluster->node(victim).command({"CLUSTER", "MYID"}).str;
  cluster->node(victim).kill();

  // Until the replica is promoted (node timeout 5 s + election) commands fail; then the same
  // client reaches the promoted replica with the data it held.
  const reply incremented = command_until_ok(c, key, {"INCR", key});
  ASSERT_TRUE(incremented.is_integer()) << incremented.str;
  EXPECT_EQ(incremented.integer, 42);
  cluster->wait_cluster_ok();
  std::size_t owner = cluster->size();
  for (std::size_t i = 0; i < cluster->size(); ++i) {
    if (cluster->node(i).running() && !cluster->node(i).command({"EXISTS", key}).is_error()) {
      owner = i;
    }
  }
  ASSERT_LT(owner, cluster->size());
  EXPECT_NE(owner, victim);
  EXPECT_NE(cluster->node(owner).command({"CLUSTER", "MYID"}).str, victim_id);

  // The subscription moved to the new owner by itself.
  ASSERT_TRUE(log.wait([](const channel_log& s) { return s.confirmations >= 2; }))
      << "never resubscribed after the failover";
  EXPECT_EQ(command_until_ok(c, channel, {"SPUBLISH", channel, "after failover"}).integer, 1);
  ASSERT_TRUE(log.wait([](const channel_log& s) { return !s.messages.empty(); }));
  log.read([](const channel_log& s) { EXPECT_EQ(s.messages.back(), "after failover"); });
}

}  // namespace
}  // namespace fun_notes::store::redis

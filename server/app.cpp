// Wiring of both modes: embedded (SQLite, in-process bus) and distributed (PostgreSQL, Redis).
#include "app.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "access/accounts.hpp"
#include "access/room_access.hpp"
#include "persist/write_behind.hpp"
#include "rooms/access_fanout.hpp"
#include "rooms/dashboard.hpp"
#include "rooms/frames.hpp"
#include "rooms/room_hub.hpp"
#include "store/memory/memory_bus.hpp"
#include "store/memory/memory_throttle_store.hpp"
#include "store/postgres/postgres_cold_store.hpp"
#include "store/redis/redis_client.hpp"
#include "store/redis/redis_hot_log.hpp"
#include "store/redis/redis_presence.hpp"
#include "store/redis/redis_throttle_store.hpp"
#include "store/sqlite/sqlite_cold_store.hpp"
#include "store/sqlite/sqlite_hot_log.hpp"

namespace fun_notes::server {
namespace fs = std::filesystem;

namespace {

// One secret per line; the first signs, all verify (rotation: put the new one first).
std::vector<std::string> read_secret_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("cannot read --jwt-secret-file " + path);
  }
  std::vector<std::string> secrets;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
      line.pop_back();
    }
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (line.size() < 16) {
      throw std::runtime_error("a JWT secret in " + path + " is shorter than 16 characters");
    }
    secrets.push_back(line);
  }
  if (secrets.empty()) {
    throw std::runtime_error("--jwt-secret-file " + path + " holds no secret");
  }
  return secrets;
}

}  // namespace

app::app(server_config cfg)
    : config(std::move(cfg)),
      instance_id("srv-" + auth::random_id(8)),
      pool(std::max(1U, config.workers)) {
  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  if (ec) {
    throw std::runtime_error("cannot create the data directory " + config.data_dir + ": " +
                             ec.message());
  }
  const fs::path dir(config.data_dir);
  if (!config.redis_urls.empty()) {
    redis = std::make_unique<store::redis::client>(
        std::vector<std::string>{config.redis_urls},
        store::redis::client_options{std::chrono::milliseconds(config.redis_timeout_ms)});
    bus = std::make_unique<store::redis_bus>(*redis);
  } else {
    bus = std::make_unique<store::memory_bus>();
  }
  if (config.postgres_url.empty()) {
    cold = std::make_unique<store::sqlite_cold_store>(dir / "fun-notes.db");
  } else {
    cold = std::make_unique<store::postgres_cold_store>(config.postgres_url, config.workers);
  }
  store::hot_log_options hot_options;
  hot_options.keep_recent = config.hot_log_keep;
  if (redis) {
    store::redis_hot_log_options redis_options;
    redis_options.keep_recent = config.hot_log_keep;
    redis_options.ttl_seconds = config.redis_ttl_seconds;
    redis_options.wait_replicas = config.redis_wait_replicas;
    // Answered before the client's own command timeout would fail the connection.
    redis_options.wait_timeout_ms = std::max<std::int64_t>(10, config.redis_timeout_ms / 2);
    hot = std::make_unique<store::redis_hot_log>(*redis, redis_options);
    presence = std::make_unique<store::redis_presence>(*redis);
    throttle = std::make_unique<store::redis_throttle_store>(*redis);
    local_throttle = std::make_unique<store::memory_throttle_store>();
  } else {
    hot = std::make_unique<store::sqlite_hot_log>(dir / "oplog.db", *bus, hot_options);
    throttle = std::make_unique<store::memory_throttle_store>();
  }
  login_throttle = std::make_unique<auth::login_throttle>(*throttle, local_throttle.get());

  std::vector<std::string> secrets;
  if (!config.jwt_secret.empty()) {
    secrets.push_back(config.jwt_secret);
  } else if (!config.jwt_secret_file.empty()) {
    secrets = read_secret_file(config.jwt_secret_file);
  } else {
    // Created once and kept in the data dir, so tokens survive restarts.
    secrets.push_back(cold->get_or_create_secret("jwt_secret", [] { return auth::random_id(48); }));
  }
  tokens = std::make_unique<auth::token_service>(std::move(secrets), config.token_ttl_seconds);

  // The write-behind is made below: the hubs reach it only while they load or hold a room,
  // which is after start-up.
  hubs = std::make_unique<rooms::hub_registry>(rooms::hub_context{
      .io = io,
      .pool = pool,
      .bus = *bus,
      .cold = *cold,
      .hot = *hot,
      .presence = presence.get(),
      .instance_id = instance_id,
      .shutting_down = shutting_down,
      .settings = {.room_idle = config.room_idle,
                   .presence_ttl = config.presence_ttl,
                   .hot_log_ttl = std::chrono::seconds(config.redis_ttl_seconds)},
      .repair_room = [this](const std::string& room_id) { return write_behind->repair(room_id); },
      .flush_urgently =
          [this](const std::string& room_id) { write_behind->schedule_urgent(room_id); },
      .join_latency = &stats.join_latency});
  dashboard = std::make_unique<rooms::dashboard>(
      *bus, *hubs, [this](const std::string& user_id, std::int64_t version) {
        revoke_sessions(user_id, version);
      });
  access_events = std::make_unique<rooms::access_fanout>(*bus, *dashboard);
  access = std::make_unique<access::room_access>(*cold, *access_events);
  accounts = std::make_unique<access::accounts>(*cold, *tokens, *login_throttle, *access_events);
  persist::write_behind_options wb;
  wb.quiet = config.flush_quiet;
  wb.max_delay = config.flush_max;
  wb.hard_cap = config.unpersisted_hard_cap;
  wb.owner = instance_id;
  write_behind = std::make_unique<persist::write_behind>(
      *cold, *hot, wb, [this](const persist::flush_report& r) {
        if (r.ops > 0 && !r.stale) {
          ++stats.flushes;
          stats.notes_written += r.notes_written;
          stats.flush_ops.observe(static_cast<double>(r.ops));
          stats.flush_duration.observe(r.seconds);
        }
      });
  write_behind->set_failure_hook([this] { ++stats.flush_failures; });
  persist::repair_hooks repair;
  repair.local_state = [this](const std::string& room_id) -> std::optional<core::room_state> {
    auto hub = hubs->find(room_id);
    return hub ? hub->copy_state() : std::nullopt;
  };
  repair.signal = [this](const std::string& room_id, persist::repair_signal s) {
    const auto marker = s == persist::repair_signal::needed ? rooms::repair_needed_marker
                                                            : rooms::room_reset_marker;
    bus->publish(store::room_channel(room_id),
                 store::bus_message{0, rooms::make_frame(std::string(marker))});
  };
  repair.repaired = [this](persist::repair_outcome o) {
    ++(o == persist::repair_outcome::from_server_state ? stats.repairs_from_server_state
                                                       : stats.repairs_from_cold_store);
  };
  write_behind->set_repair_hooks(std::move(repair));
}

app::~app() {
  if (write_behind) {
    write_behind->stop();
  }
  pool.join();
  // The I/O threads have stopped. Subscriptions end while the bus still works; then the Redis
  // client stops its thread (its last callbacks may still use the op log, which is alive);
  // what remains is destroyed in reverse order of declaration.
  if (hubs) {
    hubs->unsubscribe_all();
  }
  if (dashboard) {
    dashboard->stop();
  }
  redis.reset();
}

void app::add_session(const std::shared_ptr<closable>& s) {
  std::lock_guard lock(sessions_mutex_);
  sessions_[s.get()] = s;
}

void app::remove_session(const closable* s) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.erase(s);
}

std::vector<std::shared_ptr<closable>> app::live_sessions() {
  std::vector<std::shared_ptr<closable>> live;
  std::lock_guard lock(sessions_mutex_);
  for (auto& [_, weak] : sessions_) {
    if (auto s = weak.lock()) {
      live.push_back(std::move(s));
    }
  }
  return live;
}

void app::close_all_sessions() {
  for (auto& s : live_sessions()) {
    s->close_going_away();
  }
}

void app::revoke_sessions(const std::string& user_id, std::int64_t version) {
  for (auto& s : live_sessions()) {
    s->revoke(user_id, version);
  }
}

bool app::admit_socket(const std::string& key, std::size_t cap) {
  std::lock_guard lock(sockets_mutex_);
  auto& n = sockets_[key];
  if (cap != 0 && n >= cap) {
    if (n == 0) {
      sockets_.erase(key);
    }
    return false;
  }
  ++n;
  return true;
}

void app::release_socket(const std::string& key) {
  std::lock_guard lock(sockets_mutex_);
  auto it = sockets_.find(key);
  if (it != sockets_.end() && --it->second == 0) {
    sockets_.erase(it);
  }
}

std::size_t app::session_count() {
  std::lock_guard lock(sessions_mutex_);
  return sessions_.size();
}

}  // namespace fun_notes::server

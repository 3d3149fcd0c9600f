// fun-notes-server: flags, start-up, and the phased shutdown on SIGTERM.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "admin/admin_cli.hpp"
#include "app.hpp"
#include "net/listener.hpp"
#include "persist/write_behind.hpp"
#include "rooms/dashboard.hpp"

namespace {

using fun_notes::server::server_config;

void write_port_file(const std::string& path, std::uint16_t port) {
  // Written under a temporary name and renamed, so a reader never sees half a file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << port << '\n';
  }
  std::filesystem::rename(tmp, path);
}

const char* env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  // A file that cannot grow (a disk quota, RLIMIT_FSIZE) must fail the write with EFBIG, which
  // the stores report as an error (ops rejected `unavailable`), not kill the whole server.
  std::signal(SIGXFSZ, SIG_IGN);
  server_config cfg;
  CLI::App cli{
      "fun-notes-server: real-time collaborative notes (embedded mode: one process, "
      "SQLite in --data)"};
  cli.option_defaults()->always_capture_default();
  cli.add_option("--host", cfg.host, "Address to listen on");
  cli.add_option("--port", cfg.port, "TCP port (0 = any free port)")->envname("FUN_NOTES_PORT");
  cli.add_option("--port-file", cfg.port_file, "Write the bound port to this file once listening");
  cli.add_option("--data", cfg.data_dir, "Data directory (SQLite databases, generated secret)")
      ->envname("FUN_NOTES_DATA");
  cli.add_option("--postgres", cfg.postgres_url,
                 "PostgreSQL URL for the cold store (default: SQLite in --data)")
      ->envname("FUN_NOTES_POSTGRES_URL");
  cli.add_option("--redis", cfg.redis_urls,
                 "Redis seed URLs, comma-separated (redis://host:port[,...]): op log and bus in "
                 "Redis / Redis Cluster (default: SQLite op log in --data, in-process bus)")
      ->envname("FUN_NOTES_REDIS_URL");
  cli.add_option("--redis-ttl", cfg.redis_ttl_seconds,
                 "Sliding expiry of a room's Redis keys, in seconds");
  cli.add_option("--redis-timeout-ms", cfg.redis_timeout_ms,
                 "A Redis command (or connect) without an answer after this long fails as "
                 "unavailable")
      ->check(CLI::Range(std::int64_t{50}, std::int64_t{600000}));
  cli.add_option("--redis-wait-replicas", cfg.redis_wait_replicas,
                 "Strict mode: publish and acknowledge an op only once this many replicas of "
                 "its Redis node hold it (WAIT), so a failover loses nothing acknowledged; an "
                 "op not replicated within half of --redis-timeout-ms is rejected unavailable")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{16}));
  cli.add_option("--web-dir", cfg.web_dir, "Directory of the web build (default: web/dist)");
  cli.add_option("--log-level", cfg.log_level, "trace|debug|info|warn|error|off")
      ->envname("FUN_NOTES_LOG_LEVEL");
  cli.add_option("--threads", cfg.threads, "I/O threads (0 = one per core)");
  cli.add_option("--workers", cfg.workers, "Worker threads for storage and password hashing");
  cli.add_option("--jwt-secret-file", cfg.jwt_secret_file,
                 "File holding the HS256 secret (else FUN_NOTES_JWT_SECRET, else generated)");
  cli.add_option("--token-ttl", cfg.token_ttl_seconds, "Token lifetime in seconds");
  cli.add_option("--allowed-origins", cfg.allowed_origins,
                 "Extra browser origins allowed to open /ws (same origin is always allowed)")
      ->delimiter(',');
  cli.add_option("--allowed-hosts", cfg.allowed_hosts,
                 "Host names this server answers to besides IP addresses, localhost and the "
                 "machine's name (* for any); set it to the public name behind a domain")
      ->delimiter(',');
  cli.add_option("--trusted-proxies", cfg.trusted_proxies,
                 "Addresses of proxies whose X-Forwarded-For/-Proto headers are believed")
      ->delimiter(',');
  cli.add_option("--tls-cert", cfg.tls_cert,
                 "PEM certificate chain: the port then speaks only TLS (https://, wss://)")
      ->check(CLI::ExistingFile);
  cli.add_option("--tls-key", cfg.tls_key, "PEM private key of --tls-cert")
      ->check(CLI::ExistingFile);
  cli.add_option("--max-join-rate", cfg.max_join_rate, "Joins per second per connection");
  cli.add_option("--max-join-burst", cfg.max_join_burst, "Join burst per connection");
  cli.add_option("--max-sockets-per-user", cfg.max_sockets_per_user,
                 "Open WebSockets per user on this server (0: no cap)");
  cli.add_option("--max-sockets-per-address", cfg.max_sockets_per_address,
                 "Open WebSockets per client address on this server (0: no cap)");
  cli.add_option("--max-frame-bytes", cfg.max_frame_bytes, "Largest WebSocket frame (else 1009)");
  cli.add_option("--max-title-bytes", cfg.op_limits.max_title_bytes, "Largest note title");
  cli.add_option("--max-body-bytes", cfg.op_limits.max_body_bytes, "Largest note body");
  cli.add_option("--max-notes", cfg.max_notes_per_room, "Notes per room");
  cli.add_option("--max-op-rate", cfg.max_op_rate, "Ops per second per connection");
  cli.add_option("--max-op-burst", cfg.max_op_burst, "Op burst per connection");
  cli.add_option("--max-outbound-bytes", cfg.max_outbound_bytes,
                 "Queued bytes per connection before close 4008");
  std::int64_t hello_ms = cfg.hello_timeout.count();
  std::int64_t quiet_ms = cfg.flush_quiet.count();
  std::int64_t max_ms = cfg.flush_max.count();
  std::int64_t idle_ms = cfg.room_idle.count();
  std::int64_t presence_ttl_ms = cfg.presence_ttl.count();
  std::int64_t rate_close_ms = cfg.rate_limit_close_after.count();
  cli.add_option("--rate-limit-close-ms", rate_close_ms,
                 "A connection refused ops for the rate limit this long without a pause of a "
                 "second is closed with 4029");
  cli.add_option("--presence-ttl-ms", presence_ttl_ms,
                 "Distributed mode: a crashed server's users leave presence after this");
  cli.add_option("--hello-timeout-ms", hello_ms, "Time allowed for the hello frame");
  cli.add_option("--flush-quiet-ms", quiet_ms, "Write-behind: flush after this quiet period");
  cli.add_option("--flush-max-ms", max_ms, "Write-behind: flush at most this long after an op");
  cli.add_option("--unpersisted-cap", cfg.unpersisted_hard_cap,
                 "Unpersisted ops in a room that force a flush at once");
  cli.add_option("--hot-log-keep", cfg.hot_log_keep, "Ops the log keeps after persisting");
  cli.add_option("--room-idle-ms", idle_ms, "How long an empty room stays loaded");
  fun_notes::server::admin::commands admin(cli);  // export, import, migrate
  CLI11_PARSE(cli, argc, argv);
  cfg.hello_timeout = std::chrono::milliseconds(hello_ms);
  cfg.flush_quiet = std::chrono::milliseconds(quiet_ms);
  cfg.flush_max = std::chrono::milliseconds(max_ms);
  cfg.room_idle = std::chrono::milliseconds(idle_ms);
  cfg.presence_ttl = std::chrono::milliseconds(presence_ttl_ms);
  cfg.rate_limit_close_after = std::chrono::milliseconds(rate_close_ms);
  cfg.jwt_secret = env_or("FUN_NOTES_JWT_SECRET", "");
  if (admin.chosen()) {
    return admin.run(cfg);
  }

  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  const unsigned threads =
      cfg.threads != 0 ? cfg.threads : std::max(1U, std::thread::hardware_concurrency());
  cfg.threads = threads;

  std::unique_ptr<fun_notes::server::app> app;
  std::unique_ptr<fun_notes::server::net::listener> listener;
  try {
    app = std::make_unique<fun_notes::server::app>(cfg);
    app->write_behind->start();
    app->dashboard->start();
    listener = fun_notes::server::net::start_listener(*app);
  } catch (const std::exception& e) {
    std::cerr << "fun-notes-server: " << e.what() << '\n';
    return 1;
  }
  if (!cfg.port_file.empty()) {
    write_port_file(cfg.port_file, listener->port());
  }
  spdlog::info("fun-notes-server {} listening on {}://{}:{} (cold store: {}; op log: {})",
               app->instance_id, cfg.tls_cert.empty() ? "http" : "https", cfg.host,
               listener->port(), cfg.postgres_url.empty() ? "SQLite" : "PostgreSQL",
               cfg.redis_urls.empty() ? "SQLite in " + cfg.data_dir : std::string("Redis"));

  auto& a = *app;
  auto work = boost::asio::make_work_guard(a.io);
  boost::asio::signal_set signals(a.io, SIGTERM, SIGINT);
  boost::asio::steady_timer drain_timer(a.io);
  std::function<void(int)> wait_for_sessions;
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) {
      return;
    }
    spdlog::info("signal {}: closing connections and flushing", sig);
    // Phase 1: stop accepting; phase 2: close every session with 1001.
    a.shutting_down = true;
    listener->stop();
    a.close_all_sessions();
    wait_for_sessions = [&](int rounds_left) {
      if (a.session_count() == 0 || rounds_left == 0) {
        work.reset();
        a.io.stop();
        return;
      }
      drain_timer.expires_after(std::chrono::milliseconds(50));
      drain_timer.async_wait(
          [&, rounds_left](boost::system::error_code) { wait_for_sessions(rounds_left - 1); });
    };
    wait_for_sessions(100);
  });

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) {
    pool.emplace_back([&a] { a.io.run(); });
  }
  a.io.run();
  for (auto& t : pool) {
    t.join();
  }
  // Phase 3: fold everything acknowledged into the ColdStore before exiting.
  const bool flushed = a.write_behind->drain();
  a.write_behind->stop();
  spdlog::info("shutdown complete{}", flushed ? "" : " (some rooms stay in the op log)");
  return 0;
}

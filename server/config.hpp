// Server configuration: every flag of fun-notes-server with its default.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fun_notes/core/codec.hpp"

namespace fun_notes::server {

struct server_config {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;
  std::string port_file;  // written with the bound port once listening (tests use --port 0)
  std::string data_dir = "./data";
  // PostgreSQL as the cold store (FUN_NOTES_POSTGRES_URL); empty = SQLite in data_dir.
  std::string postgres_url;
  // Redis / Redis Cluster seed URLs for the op log and bus (FUN_NOTES_REDIS_URL); empty =
  // SQLite op log in data_dir and an in-process bus.
  std::string redis_urls;
  std::int64_t redis_ttl_seconds = 6 * 3600;
  std::int64_t redis_timeout_ms = 5000;
  std::int64_t redis_wait_replicas = 0;
  // Distributed presence: each server renews its users' entry every third of this; a crashed
  // server's users drop out after it.
  std::chrono::milliseconds presence_ttl{30000};
  std::string web_dir;  // static web build; empty = look for web/dist next to the binary
  std::string log_level = "info";
  unsigned threads = 0;  // io threads; 0 = one per core (main resolves it before the app starts)
  unsigned workers = 4;  // blocking store calls and password hashing

  std::string jwt_secret;       // FUN_NOTES_JWT_SECRET
  std::string jwt_secret_file;  // --jwt-secret-file
  std::int64_t token_ttl_seconds = 7 * 24 * 3600;
  std::vector<std::string> allowed_origins;  // plus same-origin, always allowed
  // Host header values accepted besides IP literals, localhost and this machine's name
  // (against DNS rebinding); "*" accepts any.
  std::vector<std::string> allowed_hosts;
  // Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (HAProxy in front).
  std::vector<std::string> trusted_proxies;
  // PEM certificate chain and private key: set, the port speaks only TLS (https, wss).
  std::string tls_cert;
  std::string tls_key;

  // Limits (ARCHITECTURE.md "Limits").
  std::size_t max_frame_bytes = 64 * 1024;
  core::limits op_limits;
  std::size_t max_notes_per_room = 10000;
  double max_op_rate = 50.0;
  double max_op_burst = 100.0;
  std::chrono::milliseconds rate_limit_close_after{10000};
  std::size_t max_outbound_bytes = 4 * 1024 * 1024;
  std::chrono::milliseconds hello_timeout{10000};
  // An HTTP request (headers and body) must be read within this, and a kept-alive connection
  // that sends nothing is closed after it.
  std::chrono::milliseconds http_request_timeout{12000};
  std::size_t max_rooms_per_connection = 100;
  // Joins per connection: a token bucket (over it: error rate_limited).
  double max_join_rate = 10.0;
  double max_join_burst = 30.0;
  // Open WebSockets on this server per signed-in user and per client address (0: no cap).
  std::size_t max_sockets_per_user = 64;
  std::size_t max_sockets_per_address = 1024;
  int max_invalid_in_row = 20;

  // Write-behind.
  std::chrono::milliseconds flush_quiet{2000};
  std::chrono::milliseconds flush_max{30000};
  std::int64_t unpersisted_hard_cap = 10000;  // flush at once past this many unpersisted ops
  std::int64_t hot_log_keep = 100;

  // How long a room with no sessions stays loaded on this server.
  std::chrono::milliseconds room_idle{30000};
};

}  // namespace fun_notes::server

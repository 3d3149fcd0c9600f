// Black-box test support for fun-notes: a WebSocket and an HTTP client, a server launcher and
// protocol helpers. Beast stays inside the support library; tests include only this header.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <sys/types.h>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fun_notes/core/note.hpp"

namespace fun_notes::test {

namespace json = boost::json;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

// How long a test waits for something the server must do "soon". A deadline to fail on, never
// a performance assertion: the machine may be loaded (sanitizers, two cores, parallel ctest).
inline constexpr milliseconds default_wait{15000};

// Thrown by helpers when the server does not do what the protocol says; GoogleTest reports the
// message as the test's failure.
class protocol_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---------------------------------------------------------------------------------------------
// WebSocket client

struct close_info {
  int code = 0;  // 1006 when the connection ended without a close frame
  std::string reason;
};

class ws_client {
 public:
  struct options {
    std::string origin;         // empty: no Origin header (unless empty_origin)
    bool empty_origin = false;  // send "Origin:" with no value
    std::string target = "/ws";
    milliseconds connect_timeout{10000};
    // SO_RCVBUF set before connecting (0: the system's); a small one makes a client that stops
    // reading back up the server's outbound queue quickly.
    int receive_buffer_bytes = 0;
  };

  // Connects to 127.0.0.1:port and upgrades; throws protocol_failure if that fails.
  static std::unique_ptr<ws_client> connect(std::uint16_t port, const options& opts);
  static std::unique_ptr<ws_client> connect(std::uint16_t port) { return connect(port, {}); }

  // Attempts an upgrade and returns the HTTP status of the answer (101 when accepted), then
  // drops the connection. Throws protocol_failure when no HTTP answer comes.
  static int upgrade_status(std::uint16_t port, const options& opts);

  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  // Queue a frame; frames go out in call order. Never blocks and never throws: a frame that
  // cannot be written shows up in write_error() and in the connection closing.
  void send(const json::value& message);
  void send_text(std::string text);
  void send_binary(std::string bytes);
  // Waits until every queued frame has been handed to the socket (or failed).
  bool wait_sent(milliseconds timeout = default_wait);
  std::string write_error() const;

  // The next frame (text or binary, parsed as a JSON object). nullopt on timeout, or at once
  // when the connection is closed and nothing is left to read. A frame that is not a JSON
  // object throws protocol_failure.
  std::optional<json::object> next(milliseconds timeout = default_wait);
  // Like next() but drops frames whose "type" is in `skip` (asynchronous noise such as
  // presence and dashboard updates that a test is not about).
  std::optional<json::object> next_skipping(std::initializer_list<std::string_view> skip,
                                            milliseconds timeout = default_wait);
  // The next frame whose "type" is `type`; every other frame is dropped (and appended to
  // `dropped` if given).
  std::optional<json::object> next_of_type(std::string_view type,
                                           milliseconds timeout = default_wait,
                                           std::vector<json::object>* dropped = nullptr);

  // Reads (and drops, or appends to `dropped`) frames until the server closes the
  // connection. nullopt if it is still open at the deadline.
  std::optional<close_info> wait_closed(milliseconds timeout = default_wait,
                                        std::vector<json::object>* dropped = nullptr);

  // Stops taking frames off the socket (a consumer that stalls): the kernel buffers fill and
  // the server's outbound queue grows. resume_reading() goes on where it stopped.
  void pause_reading();
  void resume_reading();

  bool is_closed() const;
  std::optional<close_info> closed() const;

  // Sends a close frame (1000) and waits for the server's close.
  void close(milliseconds timeout = 5000ms);
  // Drops the TCP connection without a close frame (a client that vanishes).
  void abort();

  struct impl;

 private:
  explicit ws_client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// HTTP client

struct http_response {
  int status = 0;
  std::string body;
  json::value json;                            // null when the body is not JSON
  std::map<std::string, std::string> headers;  // lower-case names

  // For error bodies {"error":{"code","message"}}; empty when absent.
  std::string error_code() const;
};

// One request on a fresh connection to 127.0.0.1:port. Throws protocol_failure on a transport
// error or when nothing comes back before the deadline.
http_response http_request(std::uint16_t port, std::string_view method, std::string_view target,
                           std::optional<std::string> body = std::nullopt,
                           std::string_view bearer_token = {}, milliseconds timeout = default_wait);
// The same with extra request headers (set after the defaults, so Host can be replaced).
using header_list = std::vector<std::pair<std::string, std::string>>;
http_response http_request_with(std::uint16_t port, std::string_view method,
                                std::string_view target, std::optional<std::string> body,
                                std::string_view bearer_token, const header_list& headers,
                                milliseconds timeout = default_wait);
inline http_response http_request(std::uint16_t port, std::string_view method,
                                  std::string_view target, const json::value& body,
                                  std::string_view bearer_token = {}) {
  return http_request(port, method, target, std::optional<std::string>{serialize(body)},
                      bearer_token);
}

// ---------------------------------------------------------------------------------------------
// Server process

class server_process {
 public:
  struct options {
    std::vector<std::string> extra_args;  // after --port/--port-file/--data/--host/--log-level
    // FUN_NOTES_JWT_SECRET for the child; empty: not set (the server makes its own).
    std::string jwt_secret = "integration-test-secret-0123456789abcdef";
    std::string log_level = "warn";
    milliseconds start_timeout{30000};
    // restart() binds the port of the first start again (clients that keep a server URL, such
    // as the terminal client, find it where it was).
    bool keep_port = false;
  };

  // Starts the server (see start()). Throws protocol_failure with the log if it does not start.
  server_process();
  explicit server_process(options opts);
  ~server_process();  // SIGKILL if still running; removes the temp dir
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& jwt_secret() const { return opts_.jwt_secret; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  // The running child's pid (-1 when stopped), for /proc (its memory) and prlimit (a full
  // disk).
  pid_t pid() const { return pid_; }
  // Whether the process is alive (reaps it if not).
  bool running();
  // Non-empty once the server was found to have exited without the test stopping it
  // (e.g. "killed by signal 13 (Broken pipe)").
  const std::string& unexpected_exit() const { return unexpected_exit_; }

  // SIGKILL, then reap.
  void kill();
  // SIGTERM, then wait for the exit. Returns the exit code, or -signal if it died of a signal;
  // nullopt if it has not exited by the deadline (it is then still running).
  std::optional<int> terminate(milliseconds timeout = 60000ms);
  // Starts a fresh process on the same data dir (the port may change). Stops a running one
  // with SIGKILL first.
  void restart();

  std::string log() const;
  void print_log(std::ostream& out) const;

  // Path of the binary under test (compile definition, overridable by FUN_NOTES_SERVER_BIN).
  static std::string binary();

 private:
  void start();
  std::optional<int> wait_exit(milliseconds timeout);

  options opts_;
  std::filesystem::path dir_;
  std::filesystem::path data_dir_;
  std::filesystem::path port_file_;
  std::filesystem::path log_file_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  int starts_ = 0;
  std::string unexpected_exit_;
};

// ---------------------------------------------------------------------------------------------
// HAProxy

// The whole of a file ("" when it cannot be read).
std::string read_file(const std::filesystem::path& p);
// A loopback port nobody listens on right now, for children that cannot report a port-0 bind
// (HAProxy, nginx); something may still take it before they bind it.
std::uint16_t free_loopback_port();

// A haproxy child in the foreground (-db) with a config generated from a template such as
// deploy/haproxy.cfg (`@FRONTEND_PORT@`, and `@SERVERS@` on a line of its own); SIGKILLed and
// reaped by stop() or the destructor, its temp dir removed.
class haproxy_process {
 public:
  // Throws protocol_failure if haproxy is missing or the template has no placeholders.
  haproxy_process(const std::filesystem::path& config_template,
                  const std::vector<std::uint16_t>& server_ports);
  ~haproxy_process();
  haproxy_process(const haproxy_process&) = delete;
  haproxy_process& operator=(const haproxy_process&) = delete;

  std::uint16_t port() const { return port_; }
  std::string log() const;
  bool running();
  void stop();
  // Waits until GET /readyz through HAProxy answers 200 (a server is up behind it).
  void wait_ready(milliseconds timeout = default_wait);

  // $HAPROXY_BIN, else the first of the usual places; empty when there is none.
  static std::string binary();

 private:
  std::filesystem::path dir_;
  std::filesystem::path log_file_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// ---------------------------------------------------------------------------------------------
// nginx

// An nginx child in the foreground (`-g 'daemon off;'`) with a config generated from a template
// such as deploy/nginx.conf (`@FRONTEND_PORT@`, and one line holding `@SERVER@`, repeated for
// each server with its address). Its prefix, pid file and temp paths are in a temp dir; run
// as `nobody` when the tests run as root, so the config is shown to need no privilege.
// SIGKILLed and reaped by stop() or the destructor, its temp dir removed.
class nginx_process {
 public:
  // Throws protocol_failure if nginx is missing or the template has no placeholders.
  nginx_process(const std::filesystem::path& config_template,
                const std::vector<std::uint16_t>& server_ports);
  ~nginx_process();
  nginx_process(const nginx_process&) = delete;
  nginx_process& operator=(const nginx_process&) = delete;

  std::uint16_t port() const { return port_; }
  std::string log() const;
  bool running();
  void stop();
  // Waits until GET /readyz through nginx answers 200 (a server is up behind it). Should the
  // port have been taken before nginx bound it, starts again on another.
  void wait_ready(milliseconds timeout = default_wait);

  // $NGINX_BIN, else the first of the usual places; empty when there is none.
  static std::string binary();

 private:
  void start();

  std::string template_;
  std::vector<std::uint16_t> server_ports_;
  std::filesystem::path dir_;
  std::filesystem::path log_file_;
  std::size_t log_start_ = 0;  // where this start's part of the log begins
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Protocol helpers

struct user {
  std::string id;
  std::string name;
  std::string password;
  std::string token;
};

// A username no other test in this process uses: `prefix` (≤ 12 chars) + counter + random.
std::string unique_username(std::string_view prefix = "user");
// POST /api/register; throws unless 201 with {token,user:{id,name}}.
user register_user(std::uint16_t port, std::string_view prefix = "user");
// POST /api/rooms; throws unless 201. Returns the room id.
std::string create_room(std::uint16_t port, const user& owner, std::string_view name,
                        std::string_view visibility = "private");
// GET /api/rooms/{id}/notes; throws unless 200 with {seq, notes}.
json::object get_notes(std::uint16_t port, const user& member, std::string_view room_id);

// Connect, send hello and wait for welcome; throws on anything else.
std::unique_ptr<ws_client> connect_hello(std::uint16_t port, const user& u,
                                         const ws_client::options& opts = {});
// Sends join and waits for the answer (snapshot, resume or error), skipping presence frames.
json::object join(ws_client& ws, std::string_view room_id,
                  std::optional<std::int64_t> since = std::nullopt);
// join() that throws unless the answer is a snapshot.
json::object join_snapshot(ws_client& ws, std::string_view room_id);

// Op frames: {"type":"op","room":R,"cid":C,"op":OP}.
json::object op_frame(std::string_view room_id, std::string_view cid, json::object op);
json::object create_op(std::string_view note_id, std::string_view title, double index,
                       std::string_view body = "", bool important = false, bool completed = false);
json::object update_op(std::string_view note_id, json::object set);
json::object move_op(std::string_view note_id, double index);
json::object delete_op(std::string_view note_id);
json::object rebalance_op(const std::vector<std::pair<std::string, double>>& indexes);

// Sends an op and waits for this client's echo (ack) or reject, skipping presence, room_stat
// and other clients' ops. Returns the ack/reject frame.
json::object send_op_and_wait(ws_client& ws, std::string_view room_id, std::string_view cid,
                              json::object op);

// HS256 token signed with `secret`, iss "fun-notes", for user `sub`.
std::string forge_token(std::string_view secret, std::string_view sub, std::string_view name,
                        std::int64_t expires_at_unix, std::string_view issuer = "fun-notes");
std::int64_t unix_now();
// A token built by hand: base64url(header).base64url(payload).signature, signed with HMAC
// `hmac` ("sha256", "sha384", "sha512") or with an empty signature for "none".
std::string forge_raw_token(std::string_view header_json, std::string_view payload_json,
                            std::string_view secret, std::string_view hmac);

// Field access that throws protocol_failure naming the frame when the field is missing or of
// another type.
std::string str(const json::object& o, std::string_view field);
std::int64_t int64(const json::object& o, std::string_view field);
const json::object& obj(const json::object& o, std::string_view field);
const json::array& arr(const json::object& o, std::string_view field);
std::string type_of(const json::object& frame);  // "" if none
// The value of a counter or gauge on GET /metrics (-1 when absent).
std::int64_t metric(std::uint16_t port, std::string_view name);

// ---------------------------------------------------------------------------------------------
// A replica: applies what one client received with the shared core apply function.

class replica {
 public:
  // Starts from a snapshot frame or a GET /api/rooms/{id}/notes body ({seq, notes}).
  void load(const json::object& snapshot_or_notes);
  // After a resume {since:N}: the replica must be at N.
  void expect_resume(std::int64_t since);
  // Applies an op frame. Throws protocol_failure on a gap, a repeat or an op the core cannot
  // parse.
  void apply(const json::object& op_frame);

  std::int64_t seq() const { return state_.seq(); }
  const core::room_state& state() const { return state_; }
  std::string serialized() const;
  // Every seq applied since the last load(), in arrival order.
  const std::vector<std::int64_t>& applied_seqs() const { return applied_; }

 private:
  core::room_state state_;
  std::vector<std::int64_t> applied_;
  bool loaded_ = false;
};

// Applies op frames to `view` until it reaches `seq`, skipping presence and room_stat; throws
// protocol_failure on a timeout, another frame type, or (via replica) a gap or a repeat.
void read_ops_to(ws_client& ws, replica& view, std::int64_t seq);

// serialize_state of a GET /api/rooms/{id}/notes body or snapshot.
std::string serialized_state(const json::object& snapshot_or_notes);

std::string to_string(const json::value& v);

}  // namespace fun_notes::test

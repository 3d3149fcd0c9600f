// One persistent WebSocket to the server on its own thread (Beast; ws:// and wss://): connect,
// hello, pings, reconnect with jittered backoff. Every event is posted to an inbox that the
// caller drains; `wakeup_fd()` turns readable when there is something to drain, so a terminal
// loop can poll() it beside stdin.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "sync/messages.hpp"

namespace fun_notes::cli::net {

struct connecting_event {};  // a connection attempt started
struct connected_event {};   // socket open, hello sent (welcome comes as a message)
struct message_event {
  sync::server_msg msg;
};
struct disconnected_event {
  int close_code = 0;  // 0: no close frame (refused, reset, timeout)
  std::string reason;  // one line, in words
  std::chrono::milliseconds retry_in{0};
  bool fatal = false;  // 4001: the token is refused; no retry
};
using net_event =
    std::variant<connecting_event, connected_event, message_event, disconnected_event>;

struct connection_options {
  std::string server_url;  // http(s)://host[:port][/prefix]; the socket is <url>/ws
  std::string token;
  std::string client_name = "fun-notes-cli/0.1";
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds backoff_min{250};
  std::chrono::milliseconds backoff_max{10000};
  bool reconnect = true;  // false: one attempt, then disconnected_event{fatal=true}
};

class connection {
 public:
  explicit connection(connection_options options);
  ~connection();  // stops the thread
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  void start();
  void stop();
  // Thread-safe. A frame sent while the socket is down is dropped: the replica sends its
  // outbox again after the next join.
  void send(std::string frame);
  // Try now instead of waiting out the backoff.
  void reconnect_now();

  std::vector<net_event> drain();
  int wakeup_fd() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace fun_notes::cli::net

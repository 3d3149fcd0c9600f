// libFuzzer target: the server's transport, net/listener.cpp (HTTP requests and upgrades) and
// net/ws_session.cpp (WebSocket frames and messages), over real loopback connections to one
// embedded-mode app (SQLite in a temporary directory) that lives for the whole run.
//
// Two kinds of input:
//   raw      any bytes, sent as they are on a new connection: an HTTP request, an upgrade and
//            frames after it, or garbage;
//   message  "M\n" then one line per frame, sent after a valid upgrade by a client that masks
//            its frames: a line is a text frame, except the directives
//              !b <p>  binary frame      !p <p>  ping          !o <p>  pong
//              !c <code> <reason>  close (no code when empty)  !u <p>  unmasked text frame
//              !x <p>  text frame with RSV1 set (no extension was agreed)
//              !f <n> <p>  text message in n fragments (1-9)   !z <k>  text frame of k KiB
//              !h <n>  only a frame header claiming 2^n bytes   !r <hex>  raw bytes
//              !w      wait until the server has been quiet for 30 ms
//            and the client ends with a close frame.
// In both, @TOKEN@ / @TOKEN2@ (tokens of two users), @USER@ / @USER2@ (their ids), @ROOM@ (a
// private room of the first user, with notes), @LINK@ (a link room of the first user) and
// @HOST@ (the server's host:port) are replaced; the rooms are made again when an input (raw
// HTTP can) deleted them or gave them away.
//
// Invariants, for every input: the server ends the connection within 8 s of the client's end;
// what it sent is well-formed HTTP (never a 500) and, after a 101, well-formed server frames
// (unmasked, no reserved bits, no binary, control frames short and whole, a close frame last
// with a code PROTOCOL.md lists); every message is a JSON object with a known `type`, errors
// and rejects carry a known code and a message; a snapshot's notes are sorted by
// (current_index, id) and every note and op parses as a client would parse it; after a
// snapshot S or a resume N the room's ops come numbered S+1 (N+1), S+2, ... without a gap or
// a repeat; once the connection is closed its session ends (none is left open), and then a new
// client still signs in and gets its pong.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "app.hpp"
#include "check.hpp"
#include "fun_notes/core/codec.hpp"
#include "net/http_api.hpp"
#include "net/listener.hpp"

namespace {

namespace core = fun_notes::core;
namespace json = boost::json;
namespace net = fun_notes::server::net;
using fun_notes::fuzz::fail;
using fun_notes::fuzz::require;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto end_limit = 8s;  // the server's close handshake limit (5 s) and its watchdog (1 s)
constexpr std::size_t max_output = 64 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Frames a client sends.

constexpr std::array<std::uint8_t, 4> mask_key = {0x37, 0xfa, 0x21, 0x3d};

std::string frame(std::uint8_t opcode, std::string_view payload, bool fin = true,
                  bool masked = true, std::uint8_t rsv = 0) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f));
  const std::uint8_t mask_bit = masked ? 0x80 : 0;
  if (payload.size() < 126) {
    f += static_cast<char>(mask_bit | payload.size());
  } else if (payload.size() <= 0xffff) {
    f += static_cast<char>(mask_bit | 126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xff);
  } else {
    f += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      f += static_cast<char>((static_cast<std::uint64_t>(payload.size()) >> shift) & 0xff);
    }
  }
  if (!masked) {
    f += payload;
    return f;
  }
  f.append(reinterpret_cast<const char*>(mask_key.data()), mask_key.size());
  for (std::size_t i = 0; i < payload.size(); ++i) {
    f += static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ mask_key[i % 4]);
  }
  return f;
}

std::string close_frame(std::optional<std::uint16_t> code, std::string_view reason) {
  std::string payload;
  if (code) {
    payload += static_cast<char>(*code >> 8);
    payload += static_cast<char>(*code & 0xff);
    payload += reason;
  }
  return frame(8, payload);
}

std::string from_hex(std::string_view hex) {
  std::string out;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    const int hi = digit(hex[i]);
    const int lo = digit(hex[i + 1]);
    if (hi >= 0 && lo >= 0) {
      out += static_cast<char>(hi * 16 + lo);
    }
  }
  return out;
}

std::size_t small_number(std::string_view s, std::size_t max) {
  std::size_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      break;
    }
    n = std::min(max, n * 10 + static_cast<std::size_t>(c - '0'));
  }
  return n;
}

// One step of a message-mode script: bytes to send, or a pause until the server is quiet.
struct step {
  std::string bytes;
  bool wait_quiet = false;
};

std::vector<step> script_steps(std::string_view text) {
  std::vector<step> steps;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (line.size() < 2 || line[0] != '!') {
      steps.push_back({frame(1, line)});
      continue;
    }
    const std::string_view arg = line.size() > 3 ? line.substr(3) : std::string_view{};
    switch (line[1]) {
      case 'b':
        steps.push_back({frame(2, arg)});
        break;
      case 'p':
        steps.push_back({frame(9, arg)});
        break;
      case 'o':
        steps.push_back({frame(10, arg)});
        break;
      case 'u':
        steps.push_back({frame(1, arg, true, false)});
        break;
      case 'x':
        steps.push_back({frame(1, arg, true, true, 4)});
        break;
      case 'c': {
        const std::size_t space = arg.find(' ');
        const std::string_view code = arg.substr(0, space);
        const std::string_view reason =
            space == std::string_view::npos ? std::string_view{} : arg.substr(space + 1);
        steps.push_back(
            {close_frame(code.empty() ? std::nullopt
                                      : std::optional<std::uint16_t>(
                                            static_cast<std::uint16_t>(small_number(code, 65535))),
                         reason)});
        break;
      }
      case 'f': {
        const std::size_t n = std::max<std::size_t>(1, small_number(arg, 9));
        const std::string_view p = arg.size() > 2 ? arg.substr(2) : std::string_view{};
        const std::size_t piece = (p.size() + n - 1) / n;
        std::string bytes;
        for (std::size_t i = 0; i < n; ++i) {
          const std::size_t from = std::min(p.size(), i * piece);
          bytes += frame(i == 0 ? 1 : 0, p.substr(from, piece), i + 1 == n);
        }
        steps.push_back({std::move(bytes)});
        break;
      }
      case 'z':
        steps.push_back({frame(1, std::string(small_number(arg, 3000) * 1024, 'x'))});
        break;
      case 'h': {
        const std::size_t n = small_number(arg, 63);
        std::string header = "\x81\xff";
        for (int shift = 56; shift >= 0; shift -= 8) {
          header += static_cast<char>(((std::uint64_t{1} << n) >> shift) & 0xff);
        }
        header.append(reinterpret_cast<const char*>(mask_key.data()), mask_key.size());
        steps.push_back({std::move(header)});
        break;
      }
      case 'r':
        steps.push_back({from_hex(arg)});
        break;
      case 'w':
        steps.push_back({{}, true});
        break;
      default:
        steps.push_back({frame(1, line)});
        break;
    }
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------
// One connection: send the steps while reading everything the server sends, until it ends the
// connection.

struct exchange_result {
  std::string output;
  bool reset = false;  // the server reset the connection: the end of its output may be lost
};

class connection {
 public:
  explicit connection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    require(fd_ >= 0, "a client socket can be made", std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    require(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0,
            "the server accepts connections", std::strerror(errno));
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() { ::close(fd_); }

  // Sends `bytes` (reading meanwhile); false once the server no longer takes them.
  bool send(std::string_view bytes, const std::string& context) {
    const auto deadline = clock_type::now() + end_limit;
    while (!bytes.empty() && !peer_gone_) {
      if (!pump(POLLOUT, 100ms)) {
        if (clock_type::now() >= deadline) {
          fail("the server reads what a client sends, or ends the connection, within 8 s", context);
        }
        continue;
      }
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        peer_gone_ = true;  // EPIPE, ECONNRESET: the server closed first, which it may
      }
    }
    return !peer_gone_;
  }

  // Reads until the output holds `marker` (true) or the server ends the connection (false).
  bool read_until(std::string_view marker, std::string_view invariant, const std::string& context) {
    const auto deadline = clock_type::now() + end_limit;
    while (result_.output.find(marker) == std::string::npos) {
      if (eof_) {
        return false;
      }
      require(clock_type::now() < deadline, invariant, context);
      pump(0, 100ms);
    }
    return true;
  }

  // Reads until the server has sent nothing for `quiet` (or ended the connection).
  void wait_quiet(std::chrono::milliseconds quiet) {
    const auto deadline = clock_type::now() + end_limit;
    while (!eof_ && clock_type::now() < deadline) {
      const std::size_t before = result_.output.size();
      pump(0, quiet);
      if (result_.output.size() == before) {
        return;
      }
    }
  }

  // Ends the client's side and reads until the server ends the connection.
  exchange_result finish(const std::string& context) {
    ::shutdown(fd_, SHUT_WR);
    const auto deadline = clock_type::now() + end_limit;
    while (!eof_) {
      if (clock_type::now() >= deadline) {
        fail("the server ends a connection within 8 s of the client's end", context);
      }
      pump(0, 100ms);
    }
    return std::move(result_);
  }

 private:
  // Waits up to `wait` for the socket; reads what arrived. True when `events` is ready.
  bool pump(short events, std::chrono::milliseconds wait) {
    pollfd p{fd_, static_cast<short>(POLLIN | events), 0};
    const int ready = ::poll(&p, 1, static_cast<int>(wait.count()));
    if (ready <= 0) {
      return false;
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !eof_) {
      std::array<char, 65536> buf{};
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n > 0) {
        if (result_.output.size() < max_output) {
          result_.output.append(buf.data(), static_cast<std::size_t>(n));
        }
      } else if (n == 0) {
        eof_ = true;
        peer_gone_ = true;
      } else if (errno != EAGAIN && errno != EINTR) {
        eof_ = true;
        peer_gone_ = true;
        result_.reset = true;
      }
    }
    return (p.revents & events) != 0;
  }

  int fd_;
  bool eof_ = false;
  bool peer_gone_ = false;
  exchange_result result_;
};

// ---------------------------------------------------------------------------------------------
// Checks of what the server sent.

const std::set<std::string, std::less<>> message_types = {
    "welcome", "snapshot",  "resume",    "op",   "reject", "error", "presence",
    "rooms",   "room_stat", "room_gone", "role", "pong",   "cursor"};
const std::set<std::string, std::less<>> error_codes = {
    "invalid",      "forbidden",   "not_found",   "too_large",
    "rate_limited", "unavailable", "unauthorized"};
const std::set<std::string, std::less<>> reject_codes = {
    "forbidden", "invalid", "too_large", "rate_limited", "conflict", "unavailable", "duplicate"};
const std::set<std::uint16_t> close_codes = {1000, 1001, 1002, 1003, 1007, 1008,
                                             1009, 1010, 1011, 4001, 4008, 4029};

class output_checker {
 public:
  explicit output_checker(std::string context) : context_(std::move(context)) {}

  void check(const exchange_result& r) {
    std::string_view out = r.output;
    reset_ = r.reset || r.output.size() >= max_output;
    while (!out.empty()) {
      if (!check_http(out)) {
        return;
      }
    }
  }

 private:
  [[noreturn]] void broken(std::string_view invariant, std::string_view what) const {
    fail(invariant, std::string(what) + "\n--- input ---\n" + context_);
  }

  // One HTTP response off the front of `out`; false when frames or the end follow.
  bool check_http(std::string_view& out) {
    const std::size_t head_end = out.find("\r\n\r\n");
    if (head_end == std::string_view::npos) {
      if (reset_) {
        return false;
      }
      broken("the server sends whole HTTP heads", out.substr(0, 512));
    }
    const std::string_view head = out.substr(0, head_end + 4);
    if (head.size() < 12 ||
        (head.substr(0, 9) != "HTTP/1.1 " && head.substr(0, 9) != "HTTP/1.0 ")) {
      broken("an answer starts with an HTTP/1.x status line", head.substr(0, 512));
    }
    const int status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
    if (status < 101 || status > 599 || status == 500) {
      broken("a status is in [101, 599] and never 500", head.substr(0, 512));
    }
    out.remove_prefix(head.size());
    if (status == 101) {
      check_frames(out);
      out = {};
      return false;
    }
    std::string lower(head);
    for (char& c : lower) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    const std::size_t cl = lower.find("\r\ncontent-length:");
    if (cl == std::string::npos) {
      if (lower.find("\r\ntransfer-encoding:") != std::string::npos) {
        out = {};  // chunked (not used by the server today): the rest is its body
      }
      return true;
    }
    const std::size_t length = small_number(
        std::string_view(lower).substr(lower.find_first_not_of(' ', cl + 17)), max_output);
    if (length > out.size()) {
      if (!reset_) {
        broken("a body is as long as its Content-Length", head);
      }
      out = {};
      return false;
    }
    out.remove_prefix(length);
    return true;
  }

  void check_frames(std::string_view out) {
    std::string message;
    bool in_message = false;
    while (!out.empty()) {
      if (closed_) {
        broken("nothing follows the server's close frame", out.substr(0, 64));
      }
      if (out.size() < 2) {
        return truncated(out);
      }
      const auto b0 = static_cast<std::uint8_t>(out[0]);
      const auto b1 = static_cast<std::uint8_t>(out[1]);
      const bool fin = (b0 & 0x80) != 0;
      const std::uint8_t opcode = b0 & 0x0f;
      if ((b0 & 0x70) != 0) {
        broken("server frames set no reserved bit", out.substr(0, 16));
      }
      if ((b1 & 0x80) != 0) {
        broken("server frames are not masked", out.substr(0, 16));
      }
      std::uint64_t length = b1 & 0x7f;
      std::size_t header = 2;
      if (length == 126 || length == 127) {
        const std::size_t bytes = length == 126 ? 2 : 8;
        if (out.size() < 2 + bytes) {
          return truncated(out);
        }
        length = 0;
        for (std::size_t i = 0; i < bytes; ++i) {
          length = (length << 8) | static_cast<std::uint8_t>(out[2 + i]);
        }
        header += bytes;
      }
      if (out.size() - header < length) {
        return truncated(out);
      }
      const std::string_view payload = out.substr(header, static_cast<std::size_t>(length));
      out.remove_prefix(header + static_cast<std::size_t>(length));
      switch (opcode) {
        case 0:
          if (!in_message) {
            broken("a continuation frame continues a message", payload.substr(0, 64));
          }
          message += payload;
          break;
        case 1:
          if (in_message) {
            broken("a new message starts after the last one ended", payload.substr(0, 64));
          }
          message.assign(payload);
          in_message = true;
          break;
        case 8:
        case 9:
        case 10:
          if (!fin || length > 125) {
            broken("control frames are whole and at most 125 bytes", payload.substr(0, 64));
          }
          if (opcode == 8) {
            check_close(payload);
          }
          continue;
        default:
          broken("the server sends text, close, ping and pong frames only",
                 std::string("opcode ") + std::to_string(opcode));
      }
      if (fin) {
        check_message(message);
        message.clear();
        in_message = false;
      }
    }
  }

  void truncated(std::string_view rest) const {
    if (!reset_) {
      broken("the server's last frame is whole", rest.substr(0, 64));
    }
  }

  void check_close(std::string_view payload) {
    closed_ = true;
    if (payload.empty()) {
      return;
    }
    if (payload.size() < 2) {
      broken("a close frame's payload is empty or starts with a code", payload);
    }
    const auto code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                                 static_cast<std::uint8_t>(payload[1]));
    // The server's own codes are those PROTOCOL.md lists; a reply to the client's close
    // echoes the client's code, which may be any code from 3000 up (RFC 6455 leaves 5000 and
    // above undefined rather than forbidden, and the transport echoes them as it does 3000-4999).
    if (!close_codes.contains(code) && code < 3000) {
      broken("a close code is one PROTOCOL.md lists or the client's, echoed", std::to_string(code));
    }
  }

  static const json::string* string_member(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr ? v->if_string() : nullptr;
  }

  static std::optional<std::int64_t> int_member(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_int64()) {
      return std::nullopt;
    }
    return v->get_int64();
  }

  void check_message(const std::string& text) {
    auto parsed = core::parse_json(text);
    if (!parsed || !parsed->is_object()) {
      broken("every message is a JSON object", text.substr(0, 512));
    }
    const json::object& m = parsed->get_object();
    const json::string* type = string_member(m, "type");
    if (type == nullptr || !message_types.contains(std::string_view(*type))) {
      broken("every message has a known type", text.substr(0, 512));
    }
    const std::string_view t = *type;
    if (t == "error" || t == "reject") {
      const json::string* code = string_member(m, "code");
      const auto& codes = t == "error" ? error_codes : reject_codes;
      if (code == nullptr || !codes.contains(std::string_view(*code)) ||
          string_member(m, "message") == nullptr) {
        broken("an error or reject carries a known code and a message", text.substr(0, 512));
      }
      if (t == "reject" &&
          (string_member(m, "room") == nullptr || string_member(m, "cid") == nullptr)) {
        broken("a reject names its room and cid", text.substr(0, 512));
      }
      return;
    }
    if (t == "snapshot") {
      check_snapshot(m, text);
    } else if (t == "resume") {
      const json::string* room = string_member(m, "room");
      const auto since = int_member(m, "since");
      if (room == nullptr || !since || *since < 0) {
        broken("a resume names its room and a seq", text.substr(0, 512));
      }
      next_seq_[std::string(*room)] = *since + 1;
    } else if (t == "op") {
      check_op(m, text);
    }
  }

  void check_snapshot(const json::object& m, const std::string& text) {
    const json::string* room = string_member(m, "room");
    const auto seq = int_member(m, "seq");
    const json::value* notes = m.if_contains("notes");
    if (room == nullptr || !seq || *seq < 0 || notes == nullptr || !notes->is_array()) {
      broken("a snapshot names its room, its seq and its notes", text.substr(0, 512));
    }
    std::optional<std::pair<double, std::string>> previous;
    for (const json::value& v : notes->get_array()) {
      auto n = core::parse_note(v);
      if (!n) {
        broken("every note of a snapshot parses", json::serialize(v) + ": " + n.err().message);
      }
      std::pair<double, std::string> key{n->current_index, n->id};
      if (previous && !(*previous < key)) {
        broken("a snapshot's notes are sorted by (current_index, id)", json::serialize(v));
      }
      if (n->seq > *seq) {
        broken("no note of a snapshot is newer than the snapshot", json::serialize(v));
      }
      previous = std::move(key);
    }
    next_seq_[std::string(*room)] = *seq + 1;
  }

  void check_op(const json::object& m, const std::string& text) {
    const json::string* room = string_member(m, "room");
    const auto seq = int_member(m, "seq");
    const json::value* o = m.if_contains("op");
    if (room == nullptr || !seq || o == nullptr || string_member(m, "cid") == nullptr ||
        string_member(m, "user") == nullptr) {
      broken("an op names its room, seq, cid, user and op", text.substr(0, 512));
    }
    auto parsed = core::parse_op(*o);
    if (!parsed) {
      broken("an op the server sends parses as clients parse it",
             text.substr(0, 512) + ": " + parsed.err().message);
    }
    const auto it = next_seq_.find(std::string_view(*room));
    if (it == next_seq_.end()) {
      broken("ops come only after the room's snapshot or resume", text.substr(0, 512));
    }
    if (*seq != it->second) {
      broken("after a snapshot or resume, ops come numbered one by one without a gap or a repeat",
             "expected seq " + std::to_string(it->second) + ": " + text.substr(0, 512));
    }
    ++it->second;
  }

  std::string context_;
  bool reset_ = false;
  bool closed_ = false;
  std::map<std::string, std::int64_t, std::less<>> next_seq_;
};

// ---------------------------------------------------------------------------------------------
// The app and its users and rooms.

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

class fixture {
 public:
  fixture() : dir_(make_dir()) {
    fun_notes::server::server_config cfg;
    cfg.data_dir = dir_.string();
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.workers = 1;
    // Short waits for a client that says nothing, so that an input stays well under a second.
    cfg.hello_timeout = 2s;
    cfg.http_request_timeout = 2s;
    app_ = std::make_unique<fun_notes::server::app>(cfg);
    listener_ = net::start_listener(*app_);
    port_ = listener_->port();
    host_ = "127.0.0.1:" + std::to_string(port_);
    io_thread_ = std::thread([this] { app_->io.run(); });
    std::tie(token_, user_) = sign_up("fuzz_ws_owner");
    std::tie(token2_, user2_) = sign_up("fuzz_ws_other");
  }

  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;

  ~fixture() {
    listener_->stop();
    app_->close_all_sessions();
    app_->io.stop();
    io_thread_.join();
    listener_.reset();
    app_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void run(std::string_view input) {
    const bool message_mode = input.substr(0, 2) == "M\n";
    std::string text(message_mode ? input.substr(2) : input);
    fill(text);
    const std::string context = (message_mode ? "M\n" : "") + text.substr(0, 4096);
    connection c(port_);
    if (message_mode) {
      c.send(upgrade_request(), context);
      if (c.read_until("\r\n\r\n", "the server answers an upgrade within 8 s", context)) {
        for (const step& s : script_steps(text)) {
          if (s.wait_quiet) {
            c.wait_quiet(30ms);
          } else if (!c.send(s.bytes, context)) {
            break;
          }
        }
        c.send(close_frame(1000, ""), context);
      }
    } else {
      c.send(text, context);
    }
    output_checker(context).check(c.finish(context));
    sessions_end(context);
    still_serves(context);
  }

 private:
  static std::filesystem::path make_dir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/fun-notes-fuzz-ws-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      fail("a temporary data directory can be made", pattern);
    }
    return pattern;
  }

  std::string upgrade_request() const {
    return "GET /ws HTTP/1.1\r\nHost: " + host_ +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  }

  void fill(std::string& text) {
    if (text.find("@ROOM@") != std::string::npos && !owned(room_)) {
      room_ = make_room("private", true);
    }
    if (text.find("@LINK@") != std::string::npos && !owned(link_)) {
      link_ = make_room("link", false);
    }
    replace_all(text, "@TOKEN@", token_);
    replace_all(text, "@TOKEN2@", token2_);
    replace_all(text, "@USER@", user_);
    replace_all(text, "@USER2@", user2_);
    replace_all(text, "@ROOM@", room_);
    replace_all(text, "@LINK@", link_);
    replace_all(text, "@HOST@", host_);
  }

  // After the connection closed, its session ends: none stays open.
  void sessions_end(const std::string& context) {
    const auto deadline = clock_type::now() + end_limit;
    while (app_->stats.connections.load() != 0) {
      if (clock_type::now() >= deadline) {
        fail("every session ends once its connection is closed", context);
      }
      std::this_thread::sleep_for(1ms);
    }
  }

  // A new client still signs in and gets its pong.
  void still_serves(const std::string& context) {
    connection c(port_);
    c.send(upgrade_request(), context);
    std::string out;
    if (c.read_until("\r\n\r\n", "the server answers an upgrade within 8 s", context)) {
      c.send(frame(1, R"({"type":"hello","token":")" + token2_ + R"(","client":"fuzz"})"), context);
      c.send(frame(1, R"({"type":"ping","t":7})"), context);
      c.read_until(R"("type":"pong")", "a ping gets its pong within 8 s", context);
      c.send(close_frame(1000, ""), context);
    }
    const exchange_result r = c.finish(context);
    if (r.output.find(R"("type":"welcome")") == std::string::npos ||
        r.output.find(R"("type":"pong","t":7)") == std::string::npos) {
      fail("after an input, a new client still signs in and gets its pong",
           r.output.substr(0, 1024) + "\n--- after the input ---\n" + context);
    }
    sessions_end(context);
  }

  net::http_response call(std::string method, std::string path, const std::string& token,
                          std::string body = {}) {
    net::http_request req;
    req.method = std::move(method);
    req.path = std::move(path);
    req.authorization = token.empty() ? "" : "Bearer " + token;
    req.body = std::move(body);
    req.client_address = "192.0.2.1";
    return net::handle_api(*app_, req);
  }

  json::value expect(const net::http_response& res, int status, std::string_view what) {
    auto body = core::parse_json(res.body);
    if (res.status != status || !body) {
      fail(what, std::to_string(res.status) + " " + res.body);
    }
    return std::move(*body);
  }

  std::pair<std::string, std::string> sign_up(const std::string& name) {
    const json::value v = expect(
        call("POST", "/api/register", "",
             json::serialize(json::object{{"username", name}, {"password", "fuzz-password"}})),
        201, "the fixture's users register");
    return {std::string(v.at("token").as_string()), std::string(v.at("user").at("id").as_string())};
  }

  bool owned(const std::string& room) {
    if (room.empty()) {
      return false;
    }
    const auto res = call("GET", "/api/rooms/" + room, token_);
    const auto body = core::parse_json(res.body);
    return res.status == 200 && body && body->at("room").at("role") == "owner";
  }

  // A room of the first user; with notes, written the way a client writes them.
  std::string make_room(std::string_view visibility, bool with_notes) {
    const json::value v = expect(
        call("POST", "/api/rooms", token_,
             json::serialize(json::object{{"name", "Fuzzed \u2615"}, {"visibility", visibility}})),
        201, "the fixture's room is created");
    std::string id(v.at("room").at("id").as_string());
    if (with_notes) {
      connection c(port_);
      const std::string context = "(the fixture writes the notes of room " + id + ")";
      c.send(upgrade_request(), context);
      require(c.read_until("\r\n\r\n", "the server answers an upgrade within 8 s", context),
              "the fixture's client is upgraded");
      std::string script = R"({"type":"hello","token":")" + token_ +
                           R"("})"
                           "\n" +
                           R"({"type":"join","room":")" + id +
                           R"("})"
                           "\n";
      const std::string ops[] = {
          R"({"kind":"create","note":{"id":"a","title":"Caf\u00e9 \u2615","body":"line1\nline2","is_important":false,"is_completed":false,"current_index":1024}})",
          R"({"kind":"create","note":{"id":"b","title":"","body":"\ud83d\ude00","is_important":true,"is_completed":false,"current_index":2048}})",
          R"({"kind":"create","note":{"id":"c","title":"third","body":"","is_important":false,"is_completed":true,"current_index":1536.25}})",
          R"({"kind":"move","id":"b","current_index":0.1})",
          R"({"kind":"text","id":"a","field":"body","base":4,"ops":[5,"!",6]})",
      };
      int cid = 0;
      for (const std::string& o : ops) {
        script += R"({"type":"op","room":")" + id + R"(","cid":"f)" + std::to_string(cid++) +
                  R"(","op":)" + o + "}\n";
      }
      for (const step& s : script_steps(script)) {
        c.send(s.bytes, context);
      }
      require(c.read_until(R"("cid":"f4")", "the fixture's ops are acknowledged", context),
              "the fixture's ops are acknowledged");
      c.send(close_frame(1000, ""), context);
      c.finish(context);
      sessions_end(context);
    }
    return id;
  }

  std::filesystem::path dir_;
  std::unique_ptr<fun_notes::server::app> app_;
  std::unique_ptr<net::listener> listener_;
  std::uint16_t port_ = 0;
  std::string host_;
  std::thread io_thread_;
  std::string token_;
  std::string user_;
  std::string token2_;
  std::string user2_;
  std::string room_;
  std::string link_;
};

fixture* the_fixture = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  the_fixture = new fixture();
  std::atexit([] { delete the_fixture; });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  the_fixture->run(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

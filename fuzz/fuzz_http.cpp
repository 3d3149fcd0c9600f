// libFuzzer target: net::handle_api, the HTTP API without its transport, over one embedded-mode
// app (SQLite in a temporary directory) made in LLVMFuzzerInitialize. The bytes are a request:
//   <method> \n <path> \n <authorization> \n <body: the rest>
// in which @TOKEN@ and @TOKEN2@ (the bearer tokens of two registered users), @USER@ and @USER2@
// (their ids), @ROOM@ (a room of the first user, with notes) and @INVITE@ (an invite to it) are
// replaced, so that inputs reach what only a signed-in user can. The room and the invite are
// made again when an earlier input deleted, gave away or used them up.
// Invariants: every request gets a response (no crash, no exception escapes), with a status in
// [200, 599] and never 500 (the answer to an exception the API did not expect); every answer
// but /metrics' is a JSON object, {"error":{"code","message"}} for a 4xx or 5xx, empty only
// for 204.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "app.hpp"
#include "check.hpp"
#include "fun_notes/core/codec.hpp"
#include "net/http_api.hpp"
#include "rooms/frames.hpp"

namespace {

namespace core = fun_notes::core;
namespace json = boost::json;
namespace net = fun_notes::server::net;
using fun_notes::fuzz::fail;
using fun_notes::fuzz::require;

std::string describe(const net::http_request& req, const net::http_response& res) {
  return req.method + " " + req.path + "\nAuthorization: " + req.authorization + "\n\n" + req.body +
         "\n=> " + std::to_string(res.status) + " " + res.content_type + "\n" + res.body;
}

void check_response(const net::http_request& req, const net::http_response& res) {
  if (res.status < 200 || res.status > 599) {
    fail("the status is in [200, 599]", describe(req, res));
  }
  if (res.status == 500) {
    fail("no request meets an exception the API did not expect (500)", describe(req, res));
  }
  if (req.path == "/metrics" && res.status == 200) {
    return;  // Prometheus text
  }
  if (res.content_type != "application/json") {
    fail("answers are JSON", describe(req, res));
  }
  if (res.status == 204) {
    require(res.body.empty(), "a 204 has no body", describe(req, res));
    return;
  }
  auto body = core::parse_json(res.body);
  if (!body || !body->is_object()) {
    fail("a JSON answer is one object", describe(req, res));
  }
  if (res.status >= 400) {
    const json::value* e = body->get_object().if_contains("error");
    const json::object* err = e != nullptr ? e->if_object() : nullptr;
    if (err == nullptr || !err->contains("code") || !err->at("code").is_string() ||
        !err->contains("message") || !err->at("message").is_string()) {
      fail("an error answer is {\"error\":{\"code\",\"message\"}}", describe(req, res));
    }
  }
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

// The app, two users, and the first user's room with notes and an invite.
class fixture {
 public:
  fixture() : dir_(make_dir()) {
    fun_notes::server::server_config cfg;
    cfg.data_dir = dir_.string();
    cfg.workers = 1;
    app_ = std::make_unique<fun_notes::server::app>(cfg);
    std::tie(token_, user_) = sign_up("fuzz_owner");
    std::tie(token2_, user2_) = sign_up("fuzz_other");
    make_room();
  }

  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;

  ~fixture() {
    app_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  net::http_response handle(const net::http_request& req) { return net::handle_api(*app_, req); }

  // The request with the placeholders filled in, the room and invite made again if needed.
  net::http_request fill(net::http_request req) {
    const bool room = uses(req, "@ROOM@");
    const bool invite = uses(req, "@INVITE@");
    if ((room || invite) && !room_is_owned()) {
      make_room();
    } else if (invite && call("GET", "/api/invites/" + invite_, token_).status != 200) {
      make_invite();
    }
    for (std::string* field : {&req.method, &req.path, &req.authorization, &req.body}) {
      replace_all(*field, "@TOKEN@", token_);
      replace_all(*field, "@TOKEN2@", token2_);
      replace_all(*field, "@USER@", user_);
      replace_all(*field, "@USER2@", user2_);
      replace_all(*field, "@ROOM@", room_);
      replace_all(*field, "@INVITE@", invite_);
    }
    return req;
  }

 private:
  static std::filesystem::path make_dir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/fun-notes-fuzz-http-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      fail("a temporary data directory can be made", pattern);
    }
    return pattern;
  }

  static bool uses(const net::http_request& req, std::string_view placeholder) {
    for (const std::string* field : {&req.method, &req.path, &req.authorization, &req.body}) {
      if (field->find(placeholder) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  net::http_response call(std::string method, std::string path, const std::string& token,
                          std::string body = {}) {
    net::http_request req;
    req.method = std::move(method);
    req.path = std::move(path);
    req.authorization = token.empty() ? "" : "Bearer " + token;
    req.body = std::move(body);
    req.client_address = "192.0.2.1";
    return handle(req);
  }

  // The answer's JSON, which a set-up call must get with `status`.
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

  bool room_is_owned() {
    const auto res = call("GET", "/api/rooms/" + room_, token_);
    if (res.status != 200) {
      return false;
    }
    const auto body = core::parse_json(res.body);
    return body && body->at("room").at("role") == "owner";
  }

  void make_room() {
    const json::value v = expect(
        call("POST", "/api/rooms", token_, R"({"name":"Fuzzed \u2615","visibility":"private"})"),
        201, "the fixture's room is created");
    room_ = std::string(v.at("room").at("id").as_string());
    add_notes();
    make_invite();
  }

  void make_invite() {
    const json::value v =
        expect(call("POST", "/api/rooms/" + room_ + "/invites", token_, R"({"role":"editor"})"),
               201, "the fixture's invite is created");
    invite_ = std::string(v.at("token").as_string());
  }

  // Ops in the room's op log, as a WebSocket session appends them, for GET .../notes to load.
  void add_notes() {
    expect(call("GET", "/api/rooms/" + room_ + "/notes", token_), 200,
           "the fixture's room loads");  // registers the room with the op log
    const std::vector<core::op> ops = {
        core::create_op{"a", "Caf\xc3\xa9 \xe2\x98\x95", "line1\nline2", false, false, 1024.0},
        core::create_op{"b", "", "\xf0\x9f\x98\x80", true, false, 2048.0},
        core::create_op{"c", "third", "", false, true, 1536.25},
        core::move_op{"b", 0.1},
        core::delete_op{"c"},
    };
    std::int64_t seq = 0;
    for (const core::op& o : ops) {
      auto frame = fun_notes::server::rooms::op_frame(room_, "fuzz-" + std::to_string(seq), user_,
                                                      core::format_time(core::now_millis()), o);
      fun_notes::store::append_request request;
      request.room_id = room_;
      request.frame_prefix = std::move(frame.prefix);
      request.frame_suffix = std::move(frame.suffix);
      request.known_seq = seq;
      std::promise<bool> appended;
      app_->hot->append(std::move(request),
                        [&appended](core::result<fun_notes::store::append_result> r) {
                          appended.set_value(r.ok());
                        });
      require(appended.get_future().get(), "the fixture's ops are appended");
      ++seq;
    }
  }

  std::filesystem::path dir_;
  std::unique_ptr<fun_notes::server::app> app_;
  std::string token_;
  std::string user_;
  std::string token2_;
  std::string user2_;
  std::string room_;
  std::string invite_;
};

fixture* the_fixture = nullptr;

// The next field up to '\n' (consumed), or the rest of the input.
std::string take_line(std::string_view& rest) {
  const std::size_t end = rest.find('\n');
  std::string line(rest.substr(0, end));
  rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Audit and failure lines on every request would bury libFuzzer's own output.
  spdlog::set_level(spdlog::level::off);
  the_fixture = new fixture();
  std::atexit([] { delete the_fixture; });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  net::http_request req;
  req.method = take_line(rest);
  req.path = take_line(rest);
  req.authorization = take_line(rest);
  req.body = std::string(rest);
  req.client_address = "192.0.2.7";
  req = the_fixture->fill(std::move(req));
  check_response(req, the_fixture->handle(req));
  return 0;
}

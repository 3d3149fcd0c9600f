// Protocol helpers for tests: accounts, rooms, sessions, op frames, forged tokens, replicas.
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <random>

#include "fun_notes/core/codec.hpp"
#include "fun_notes_test.hpp"

namespace fun_notes::test {

std::string to_string(const json::value& v) {
  return json::serialize(v);
}

std::string type_of(const json::object& frame) {
  const auto* t = frame.if_contains("type");
  if (t == nullptr || !t->is_string()) {
    return {};
  }
  return std::string{t->get_string()};
}

namespace {

const json::value& field(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (v == nullptr) {
    throw protocol_failure("field \"" + std::string{name} + "\" missing in " + to_string(o));
  }
  return *v;
}

std::string describe(const http_response& r) {
  return "HTTP " + std::to_string(r.status) + " " + r.body;
}

}  // namespace

std::string str(const json::object& o, std::string_view name) {
  const auto& v = field(o, name);
  if (!v.is_string()) {
    throw protocol_failure("field \"" + std::string{name} + "\" is not a string in " +
                           to_string(o));
  }
  return std::string{v.get_string()};
}

std::int64_t int64(const json::object& o, std::string_view name) {
  const auto& v = field(o, name);
  if (v.is_int64()) {
    return v.get_int64();
  }
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v.get_uint64());
  }
  throw protocol_failure("field \"" + std::string{name} + "\" is not an integer in " +
                         to_string(o));
}

const json::object& obj(const json::object& o, std::string_view name) {
  const auto& v = field(o, name);
  if (!v.is_object()) {
    throw protocol_failure("field \"" + std::string{name} + "\" is not an object in " +
                           to_string(o));
  }
  return v.get_object();
}

const json::array& arr(const json::object& o, std::string_view name) {
  const auto& v = field(o, name);
  if (!v.is_array()) {
    throw protocol_failure("field \"" + std::string{name} + "\" is not an array in " +
                           to_string(o));
  }
  return v.get_array();
}

namespace {
// OpenSSL's base64, made URL-safe and unpadded as JWTs want it.
std::string base64url(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') {
    out.pop_back();
  }
  for (auto& c : out) {
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return out;
}
}  // namespace

std::string forge_raw_token(std::string_view header_json, std::string_view payload_json,
                            std::string_view secret, std::string_view hmac) {
  const std::string signing = base64url(header_json) + "." + base64url(payload_json);
  if (hmac == "none") {
    return signing + ".";
  }
  const EVP_MD* md = hmac == "sha256"   ? EVP_sha256()
                     : hmac == "sha384" ? EVP_sha384()
                     : hmac == "sha512" ? EVP_sha512()
                                        : nullptr;
  if (md == nullptr) {
    throw protocol_failure("forge_raw_token: unknown hmac " + std::string(hmac));
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing.data()), signing.size(), mac, &len);
  return signing + "." + base64url(std::string_view(reinterpret_cast<const char*>(mac), len));
}

// ---------------------------------------------------------------------------------------------

std::string unique_username(std::string_view prefix) {
  static std::atomic<int> counter{0};
  static const std::uint32_t salt = std::random_device{}() % 1000000;
  std::string name{prefix.substr(0, 12)};
  name += '_';
  name += std::to_string(counter.fetch_add(1));
  name += '_';
  name += std::to_string(salt);
  return name;
}

user register_user(std::uint16_t port, std::string_view prefix) {
  user u;
  u.name = unique_username(prefix);
  u.password = "password-" + u.name;
  const auto r = http_request(port, "POST", "/api/register",
                              json::value{{"username", u.name}, {"password", u.password}});
  if (r.status != 201 || !r.json.is_object()) {
    throw protocol_failure("POST /api/register " + u.name + ": expected 201, got " + describe(r));
  }
  const auto& body = r.json.get_object();
  u.token = str(body, "token");
  const auto& user_obj = obj(body, "user");
  u.id = str(user_obj, "id");
  if (str(user_obj, "name") != u.name) {
    throw protocol_failure("register returned another name: " + r.body);
  }
  return u;
}

std::string create_room(std::uint16_t port, const user& owner, std::string_view name,
                        std::string_view visibility) {
  const auto r = http_request(port, "POST", "/api/rooms",
                              json::value{{"name", name}, {"visibility", visibility}}, owner.token);
  if (r.status != 201 || !r.json.is_object()) {
    throw protocol_failure("POST /api/rooms: expected 201, got " + describe(r));
  }
  return str(obj(r.json.get_object(), "room"), "id");
}

json::object get_notes(std::uint16_t port, const user& member, std::string_view room_id) {
  const std::string target = "/api/rooms/" + std::string{room_id} + "/notes";
  const auto r = http_request(port, "GET", target, std::nullopt, member.token);
  if (r.status != 200 || !r.json.is_object()) {
    throw protocol_failure("GET " + target + ": expected 200, got " + describe(r));
  }
  return r.json.get_object();
}

std::unique_ptr<ws_client> connect_hello(std::uint16_t port, const user& u,
                                         const ws_client::options& opts) {
  auto ws = ws_client::connect(port, opts);
  ws->send(json::value{{"type", "hello"}, {"token", u.token}, {"client", "integration-tests"}});
  auto f = ws->next();
  if (!f) {
    auto c = ws->closed();
    throw protocol_failure("no welcome after hello" +
                           (c ? " (closed " + std::to_string(c->code) + " " + c->reason + ")"
                              : std::string{" before the deadline"}));
  }
  if (type_of(*f) != "welcome") {
    throw protocol_failure("expected welcome after hello, got " + to_string(*f));
  }
  if (int64(*f, "protocol") != 1 || str(obj(*f, "user"), "id") != u.id) {
    throw protocol_failure("welcome does not match the protocol/user: " + to_string(*f));
  }
  return ws;
}

std::int64_t metric(std::uint16_t port, std::string_view name) {
  const auto r = http_request(port, "GET", "/metrics");
  const auto at = r.body.find("\n" + std::string(name) + " ");
  if (r.status != 200 || at == std::string::npos) {
    return -1;
  }
  return std::stoll(r.body.substr(at + name.size() + 2));
}

json::object join(ws_client& ws, std::string_view room_id, std::optional<std::int64_t> since) {
  json::object j{{"type", "join"}, {"room", room_id}};
  if (since) {
    j["since"] = *since;
  }
  ws.send(j);
  auto f = ws.next_skipping({"presence", "room_stat", "rooms"});
  if (!f) {
    throw protocol_failure("no answer to " + to_string(j));
  }
  return std::move(*f);
}

json::object join_snapshot(ws_client& ws, std::string_view room_id) {
  auto f = join(ws, room_id);
  if (type_of(f) != "snapshot" || str(f, "room") != room_id) {
    throw protocol_failure("expected a snapshot of " + std::string{room_id} + ", got " +
                           to_string(f));
  }
  return f;
}

json::object op_frame(std::string_view room_id, std::string_view cid, json::object op) {
  return json::object{{"type", "op"}, {"room", room_id}, {"cid", cid}, {"op", std::move(op)}};
}

json::object create_op(std::string_view note_id, std::string_view title, double index,
                       std::string_view body, bool important, bool completed) {
  return json::object{{"kind", "create"},
                      {"note", json::object{{"id", note_id},
                                            {"title", title},
                                            {"body", body},
                                            {"is_important", important},
                                            {"is_completed", completed},
                                            {"current_index", index}}}};
}

json::object update_op(std::string_view note_id, json::object set) {
  return json::object{{"kind", "update"}, {"id", note_id}, {"set", std::move(set)}};
}

json::object move_op(std::string_view note_id, double index) {
  return json::object{{"kind", "move"}, {"id", note_id}, {"current_index", index}};
}

json::object delete_op(std::string_view note_id) {
  return json::object{{"kind", "delete"}, {"id", note_id}};
}

json::object rebalance_op(const std::vector<std::pair<std::string, double>>& indexes) {
  json::object idx;
  for (const auto& [id, index] : indexes) {
    idx[id] = index;
  }
  return json::object{{"kind", "rebalance"}, {"indexes", std::move(idx)}};
}

json::object send_op_and_wait(ws_client& ws, std::string_view room_id, std::string_view cid,
                              json::object op) {
  ws.send(op_frame(room_id, cid, std::move(op)));
  for (;;) {
    auto f = ws.next();
    if (!f) {
      auto c = ws.closed();
      throw protocol_failure(
          "no ack or reject for cid " + std::string{cid} +
          (c ? " (closed " + std::to_string(c->code) + " " + c->reason + ")" : std::string{}));
    }
    const std::string t = type_of(*f);
    if (t == "error") {
      throw protocol_failure("error instead of ack/reject for cid " + std::string{cid} + ": " +
                             to_string(*f));
    }
    if ((t == "op" || t == "reject") && f->if_contains("cid") != nullptr &&
        f->at("cid").is_string() && f->at("cid").get_string() == cid) {
      return std::move(*f);
    }
  }
}

// ---------------------------------------------------------------------------------------------

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string forge_token(std::string_view secret, std::string_view sub, std::string_view name,
                        std::int64_t expires_at_unix, std::string_view issuer) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) {
    throw protocol_failure("jwt_new failed");
  }
  std::unique_ptr<jwt_t, decltype(&jwt_free)> j(raw, &jwt_free);
  const std::string sub_s{sub};
  const std::string name_s{name};
  const std::string iss_s{issuer};
  jwt_add_grant(j.get(), "sub", sub_s.c_str());
  jwt_add_grant(j.get(), "name", name_s.c_str());
  jwt_add_grant(j.get(), "iss", iss_s.c_str());
  jwt_add_grant_int(j.get(), "iat", unix_now() - 60);
  jwt_add_grant_int(j.get(), "exp", expires_at_unix);
  const std::string key{secret};
  if (jwt_set_alg(j.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(key.data()),
                  static_cast<int>(key.size())) != 0) {
    throw protocol_failure("jwt_set_alg failed");
  }
  char* encoded = jwt_encode_str(j.get());
  if (encoded == nullptr) {
    throw protocol_failure("jwt_encode_str failed");
  }
  std::string token{encoded};
  std::free(encoded);  // libjwt 1.10 allocates with malloc
  return token;
}

// ---------------------------------------------------------------------------------------------

namespace {

core::room_state state_of(const json::object& snapshot_or_notes) {
  std::vector<core::note> notes;
  for (const auto& v : arr(snapshot_or_notes, "notes")) {
    auto n = core::parse_note(v);
    if (!n) {
      throw protocol_failure("note the core cannot parse (" + n.err().message +
                             "): " + to_string(v));
    }
    notes.push_back(std::move(*n));
  }
  return core::room_state(int64(snapshot_or_notes, "seq"), std::move(notes));
}

}  // namespace

void replica::load(const json::object& snapshot_or_notes) {
  state_ = state_of(snapshot_or_notes);
  applied_.clear();
  loaded_ = true;
}

void replica::expect_resume(std::int64_t since) {
  if (!loaded_ || since != state_.seq()) {
    throw protocol_failure("resume since " + std::to_string(since) + " but the replica is at " +
                           std::to_string(state_.seq()));
  }
  applied_.clear();
}

void replica::apply(const json::object& frame) {
  if (!loaded_) {
    throw protocol_failure("op before snapshot: " + to_string(frame));
  }
  const std::int64_t seq = int64(frame, "seq");
  if (seq != state_.seq() + 1) {
    throw protocol_failure("expected seq " + std::to_string(state_.seq() + 1) + " (gapless), got " +
                           std::to_string(seq) + ": " + to_string(frame));
  }
  auto op = core::parse_op(field(frame, "op"));
  if (!op) {
    throw protocol_failure("broadcast op the core cannot parse (" + op.err().message +
                           "): " + to_string(frame));
  }
  state_.apply(core::applied_op{.seq = seq, .at = str(frame, "at"), .operation = std::move(*op)});
  applied_.push_back(seq);
}

std::string replica::serialized() const {
  return core::serialize_state(state_);
}

void read_ops_to(ws_client& ws, replica& view, std::int64_t seq) {
  while (view.seq() < seq) {
    auto f = ws.next_skipping({"presence", "room_stat"});
    if (!f) {
      throw protocol_failure("stopped at seq " + std::to_string(view.seq()) + " of " +
                             std::to_string(seq));
    }
    if (type_of(*f) != "op") {
      throw protocol_failure("unexpected frame " + to_string(*f));
    }
    view.apply(*f);
  }
}

std::string serialized_state(const json::object& snapshot_or_notes) {
  return core::serialize_state(state_of(snapshot_or_notes));
}

}  // namespace fun_notes::test

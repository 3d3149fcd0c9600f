// One interface over the servers under test: a client connects and joins its room, sends an op,
// and reports ops of others, acknowledgements of its own and failures to the workload.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "options.hpp"
#include "transport.hpp"

namespace fun_notes::load {

// Who sent an op and when. Every op carries it (in a field its protocol lets the client choose,
// e.g. the cid), so any receiver on any thread computes delivery latency on the one clock.
struct op_ref {
  std::uint32_t sender = 0;  // the sending client's id
  std::uint32_t n = 0;       // the sender's op number, from 1
  std::int64_t sent_ns = 0;  // to_ns() of the send
};

// "L<sender>.<n>.<sent_ns>": short, URL- and id-safe ([A-Za-z0-9._-]).
std::string encode_op_key(const op_ref& op);
bool decode_op_key(std::string_view key, op_ref& out);

// The string value of the first `"key":"` in a JSON text whose writer is known (no escapes in
// that value, fields in a known order): a fast path for frames read at every delivery.
std::optional<std::string_view> scan_string(std::string_view json, std::string_view key);
std::optional<std::int64_t> scan_int(std::string_view json, std::string_view key);

class client;

// The workload's side; every call comes on the client's loop thread.
class client_events {
 public:
  virtual ~client_events() = default;
  // Joined (for a join workload: the room's state fully received; for a typist: ready to type).
  virtual void on_ready(client& c, clock::time_point at) = 0;
  virtual void on_delivery(client& c, const op_ref& op, clock::time_point at) = 0;
  virtual void on_ack(client& c, const op_ref& op, clock::time_point at) = 0;
  // A refused op or an unexpected frame; the connection goes on.
  virtual void on_error(client& c, const std::string& what) = 0;
  // A room seq that skipped (fun-notes' stream guarantees none).
  virtual void on_gap(client& c) = 0;
  // The connection could not be set up, or ended; nothing more comes from this client.
  virtual void on_failed(client& c, const std::string& why) = 0;
};

enum class client_role { member, typist, seeder };

struct client_spec {
  std::uint32_t id = 0;
  int room = 0;    // room index, 0..rooms-1
  int member = 0;  // index within the room
  client_role role = client_role::member;
  bool wants_state = false;  // join workload: ready once the room's state has arrived
  endpoint ep;
  std::string source;
  event_loop* loop = nullptr;
  client_events* events = nullptr;
};

class client {
 public:
  explicit client(client_spec spec) : spec_(std::move(spec)) {}
  virtual ~client() = default;
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  virtual void start() = 0;  // on the loop thread
  // Sends an op now; false when the protocol does not allow another one yet (its window of
  // unacknowledged ops is full) or the client is not ready.
  virtual bool send_op(const op_ref& op) = 0;

  const client_spec& spec() const { return spec_; }

  // The workload's bookkeeping.
  clock::time_point started_at{};
  bool ready = false;
  bool failed = false;
  void* workload_data = nullptr;

 protected:
  client_spec spec_;
};

class adapter {
 public:
  virtual ~adapter() = default;
  // Blocking set-up before any client starts: accounts, rooms.
  virtual void prepare(const options& o) = 0;
  // Gives every room `notes` notes and then `ops` ops the server has not flushed yet.
  virtual void seed(const options& o, const std::vector<event_loop*>& loops, int notes,
                    int ops) = 0;
  virtual std::unique_ptr<client> make_client(const client_spec& spec) = 0;
  // Whether the sender learns that its op was taken (no: the broadcast ceiling).
  virtual bool has_acks() const { return true; }
};

std::unique_ptr<adapter> make_fun_notes_adapter();
std::unique_ptr<adapter> make_socketio_adapter();
std::unique_ptr<adapter> make_sharedb_adapter();
std::unique_ptr<adapter> make_broadcast_adapter();
std::unique_ptr<adapter> make_adapter(target_kind t);

// The room name the peers use for room index i.
std::string peer_room_name(int room);

}  // namespace fun_notes::load

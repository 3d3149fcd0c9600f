// A randomized convergence test against the real server, embedded and as a fleet of two servers
// on PostgreSQL and Redis: simulated clients type into shared note fields with text ops (the
// classic OT client: one op in flight per field, later edits composed into a buffer, both moved
// past every op from others), create, move, toggle and delete notes, read what the server sends
// at random moments (so deliveries are delayed at random), drop their connection and resume on
// any server. At the end every client's replica, every server's state and the cold store hold
// the same bytes, and every character inserted and not deleted by someone is present, once.
//
// Each inserted character is unique (a code point of its own outside the BMP), so what a text
// should hold is known exactly: the characters inserted into it minus the ones someone
// deleted, in notes nobody deleted.
//
//   FUN_NOTES_CONVERGENCE_SEED   the first run's seed (default 1); run i uses seed + i
//   FUN_NOTES_CONVERGENCE_RUNS   runs per mode (default 300 embedded, 150 fleet)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fixture.hpp"
#include "fleet.hpp"
#include "fun_notes/core/codec.hpp"
#include "fun_notes/core/text_op.hpp"

namespace fun_notes::test {
namespace {

using core::text_op;

std::int64_t env_int(const char* name, std::int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoll(v, nullptr, 10) : fallback;
}

std::string utf8(char32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xc0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xe0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    s += static_cast<char>(0xf0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  }
  return s;
}

// The code points of valid UTF-8 text.
std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t n = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
    char32_t cp = n == 1 ? b : n == 2 ? (b & 0x1f) : n == 3 ? (b & 0x0f) : (b & 0x07);
    for (std::size_t k = 1; k < n; ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    }
    out.push_back(cp);
    i += n;
  }
  return out;
}

json::object text_edit_json(const std::string& note, const std::string& field, std::int64_t base,
                            const text_op& op) {
  return json::object{
      {"kind", "text"}, {"id", note}, {"field", field}, {"base", base}, {"ops", core::to_json(op)}};
}

// The value of a text op function, or a protocol_failure naming what failed and why.
template <class T>
T must(core::result<T> r, std::string_view what) {
  if (!r) {
    throw protocol_failure(std::string(what) + ": " + r.err().message);
  }
  return std::move(r).value();
}

using field_key = std::pair<std::string, std::string>;  // note id, "title" or "body"

// What every run's clients did, to check the end state against.
struct ledger {
  std::map<field_key, std::set<char32_t>> inserted;
  std::map<field_key, std::set<char32_t>> deleted;
  std::set<std::string> deleted_notes;
};

// One simulated client: a replica of what the server confirmed, plus its own changes not yet
// acknowledged.
class sim_client {
 public:
  sim_client(int number, user u, std::vector<std::uint16_t> ports, std::string room, ledger& book,
             std::mt19937_64& rng)
      : number_(number),
        user_(std::move(u)),
        ports_(std::move(ports)),
        room_(std::move(room)),
        book_(book),
        rng_(rng) {}

  void connect_and_join() {
    ws_ = connect_hello(pick_port(), user_);
    auto first =
        join(*ws_, room_,
             confirmed_seq_known_ ? std::optional<std::int64_t>(view_.seq()) : std::nullopt);
    if (type_of(first) == "snapshot") {
      if (confirmed_seq_known_) {
        throw protocol_failure("client " + std::to_string(number_) +
                               " expected a resume after reconnecting, got a snapshot");
      }
      view_.load(first);
      confirmed_seq_known_ = true;
    } else if (type_of(first) == "resume") {
      view_.expect_resume(int64(first, "since"));
    } else {
      throw protocol_failure("join answered with " + to_string(first));
    }
    awaiting_presence_ = true;  // the replay of a resume ends with presence; then send
  }

  // Drops the connection without a word and comes back, on any server.
  void reconnect() {
    ws_->abort();
    ws_.reset();
    connect_and_join();
  }

  // Takes what the server has sent so far (or waits up to `wait` for the first frame).
  void pump(milliseconds wait = 0ms) {
    while (auto f = ws_->next(wait)) {
      wait = 0ms;
      handle(*f);
    }
    retry_conflicts(false);
  }

  // A text op refused with `conflict` goes again, rebased, once an op it had not seen has
  // arrived (the one that made it a conflict), or when `now` says it is time anyway (that op
  // was already here).
  void retry_conflicts(bool now) {
    if (awaiting_presence_) {
      return;
    }
    for (auto& [k, f] : fields_) {
      if (f.conflict_at && (now || view_.seq() > *f.conflict_at)) {
        f.conflict_at.reset();
        send_inflight(k);
      }
    }
  }

  void retry_stalled() { retry_conflicts(true); }

  bool settled() const {
    if (awaiting_presence_ || !unacked_.empty()) {
      return false;
    }
    return std::all_of(fields_.begin(), fields_.end(),
                       [](const auto& f) { return !f.second.inflight && !f.second.buffer; });
  }

  const replica& view() const { return view_; }

  struct counts {
    int text_edits = 0;
    int undos = 0;
    int reconnects = 0;
    int conflicts = 0;
  };
  const counts& stats() const { return stats_; }

  // One random action.
  void act() {
    std::uniform_int_distribution<int> pick(0, 99);
    const int roll = pick(rng_);
    const auto notes = live_notes();
    if (notes.empty() || roll < 8) {
      create();
    } else if (roll < 75) {
      edit(notes[std::uniform_int_distribution<std::size_t>(0, notes.size() - 1)(rng_)]);
    } else if (roll < 85) {
      send_plain(json_move(notes));
    } else if (roll < 91) {
      const auto& id = notes[std::uniform_int_distribution<std::size_t>(0, notes.size() - 1)(rng_)];
      send_plain(update_op(id, json::object{{"is_important", pick(rng_) % 2 == 0}}));
    } else if (roll < 96) {
      undo(notes);
    } else if (roll < 98) {
      const auto& id = notes[std::uniform_int_distribution<std::size_t>(0, notes.size() - 1)(rng_)];
      book_.deleted_notes.insert(id);
      deleting_.insert(id);
      send_plain(delete_op(id));
    } else {
      reconnect();
      ++stats_.reconnects;
    }
  }

 private:
  struct field_state {
    std::optional<text_op> inflight;
    std::string inflight_cid;
    std::optional<text_op> buffer;
    std::optional<std::int64_t> conflict_at;  // refused as a conflict when the view was here
    std::vector<text_op> undo;  // inverses of this client's inserts, spanning the shown text
  };

  std::uint16_t pick_port() {
    return ports_[std::uniform_int_distribution<std::size_t>(0, ports_.size() - 1)(rng_)];
  }

  std::string next_cid() { return "c" + std::to_string(number_) + "-" + std::to_string(++cids_); }

  // Notes in the confirmed state that this client has not deleted.
  std::vector<std::string> live_notes() const {
    std::vector<std::string> ids;
    for (const auto& n : view_.state().sorted_notes()) {
      if (!deleting_.contains(n.id)) {
        ids.push_back(n.id);
      }
    }
    return ids;
  }

  json::object json_move(const std::vector<std::string>& notes) {
    const auto& id = notes[std::uniform_int_distribution<std::size_t>(0, notes.size() - 1)(rng_)];
    return move_op(id, std::uniform_real_distribution<double>(0, 100000)(rng_));
  }

  void create() {
    const std::string id = "k" + std::to_string(number_) + "n" + std::to_string(++notes_made_);
    send_plain(create_op(id, "", std::uniform_real_distribution<double>(0, 100000)(rng_)));
  }

  void send_plain(json::object op) {
    const std::string cid = next_cid();
    unacked_.emplace_back(cid, op);
    if (!awaiting_presence_) {
      ws_->send(op_frame(room_, cid, std::move(op)));
    }
  }

  std::string confirmed_text(const field_key& k) const {
    const core::note* n = view_.state().find(k.first);
    if (n == nullptr) {
      return {};
    }
    return k.second == "title" ? n->title : n->body;
  }

  // The text as this client shows it: confirmed, then its op in flight, then its buffer.
  std::string shown_text(const field_key& k) {
    std::string text = confirmed_text(k);
    const field_state& f = fields_[k];
    for (const auto* op : {f.inflight ? &*f.inflight : nullptr, f.buffer ? &*f.buffer : nullptr}) {
      if (op != nullptr) {
        text = must(core::apply_text_op(*op, text), "the shown text");
      }
    }
    return text;
  }

  void edit(const std::string& note) {
    // Titles are short: most typing goes to bodies.
    const field_key k{note, std::uniform_int_distribution<int>(0, 9)(rng_) == 0 ? "title" : "body"};
    const std::string before = shown_text(k);
    const auto shown = code_points(before);
    const std::size_t n = shown.size();
    text_op op;
    bool undoable = false;
    const bool insert =
        n == 0 || std::uniform_int_distribution<int>(0, 99)(rng_) < (k.second == "title" ? 40 : 65);
    if (insert && (k.second == "body" || n < 40)) {
      const std::size_t at = std::uniform_int_distribution<std::size_t>(0, n)(rng_);
      std::string typed;
      const int count = std::uniform_int_distribution<int>(1, 4)(rng_);
      for (int i = 0; i < count; ++i) {
        const char32_t c = 0x10000 + static_cast<char32_t>(number_) * 0x8000 + ++chars_typed_;
        book_.inserted[k].insert(c);
        typed += utf8(c);
      }
      op.retain(at).insert(typed).retain(n - at);
      undoable = true;
    } else if (n > 0) {
      const std::size_t at = std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
      const std::size_t len =
          std::min(n - at, std::uniform_int_distribution<std::size_t>(1, 3)(rng_));
      for (std::size_t i = at; i < at + len; ++i) {
        book_.deleted[k].insert(shown[i]);
      }
      op.retain(at).remove(len).retain(n - at - len);
    } else {
      return;
    }
    std::optional<text_op> inverse;
    if (undoable) {
      inverse = must(core::invert(op, before), "an undo step");
    }
    apply_local(k, std::move(op));
    if (inverse) {
      fields_[k].undo.push_back(std::move(*inverse));
    }
    ++stats_.text_edits;
  }

  // Undoes this client's last typing still undoable in a field (an insert: undoing it removes
  // the characters it typed that are still there, and never anyone else's).
  void undo(const std::vector<std::string>& notes) {
    for (const auto& id : notes) {
      for (const char* field : {"body", "title"}) {
        auto it = fields_.find({id, field});
        if (it == fields_.end() || it->second.undo.empty()) {
          continue;
        }
        text_op inverse = std::move(it->second.undo.back());
        it->second.undo.pop_back();
        const auto shown = code_points(shown_text(it->first));
        std::size_t at = 0;
        for (const auto& c : inverse.components()) {
          if (c.type == core::text_component::kind::remove) {
            for (std::size_t i = at; i < at + c.count; ++i) {
              book_.deleted[it->first].insert(shown[i]);
            }
          }
          if (c.type != core::text_component::kind::insert) {
            at += c.count;
          }
        }
        apply_local(it->first, std::move(inverse));
        ++stats_.undos;
        return;
      }
    }
  }

  // A local edit of the shown text: the undo steps of the field move past it, and it joins the
  // buffer, which goes out when nothing of the field is in flight.
  void apply_local(const field_key& k, text_op op) {
    field_state& f = fields_[k];
    for (auto& step : f.undo) {
      step = must(core::transform(step, op, false), "an undo step past an own edit").first;
    }
    if (f.buffer) {
      f.buffer = must(core::compose(*f.buffer, op), "the buffer and an edit");
    } else {
      f.buffer = std::move(op);
    }
    send_buffer(k);
  }

  // The buffer goes out when nothing of the field is in flight.
  void send_buffer(const field_key& k) {
    field_state& f = fields_[k];
    if (f.inflight || !f.buffer || awaiting_presence_) {
      return;
    }
    f.inflight = std::move(f.buffer);
    f.buffer.reset();
    f.inflight_cid = next_cid();
    send_inflight(k);
  }

  // The op in flight spans the confirmed text (it has been moved past everything applied
  // since it was made), so its base is the confirmed seq, also when it is sent again.
  void send_inflight(const field_key& k) {
    const field_state& f = fields_[k];
    ws_->send(op_frame(room_, f.inflight_cid,
                       text_edit_json(k.first, k.second, view_.seq(), *f.inflight)));
  }

  void handle(const json::object& f) {
    const std::string type = type_of(f);
    if (type == "op") {
      on_op(f);
    } else if (type == "presence") {
      if (awaiting_presence_) {
        awaiting_presence_ = false;
        resend();
      }
    } else if (type == "reject" && str(f, "code") == "conflict") {
      // A delete (or another change of the whole field) came after the op's base: rebase.
      for (auto& [k, field] : fields_) {
        if (field.inflight && field.inflight_cid == str(f, "cid")) {
          field.conflict_at = view_.seq();
          ++stats_.conflicts;
          return;
        }
      }
      // Its note was deleted meanwhile and the op dropped with it.
    } else if (type == "reject" || type == "error") {
      throw protocol_failure("client " + std::to_string(number_) + " got " + to_string(f));
    }
  }

  // After a resume's replay: what the server did not number goes out again.
  void resend() {
    for (const auto& [cid, op] : unacked_) {
      ws_->send(op_frame(room_, cid, op));
    }
    for (auto& [k, f] : fields_) {
      f.conflict_at.reset();
      if (f.inflight) {
        send_inflight(k);
      } else {
        send_buffer(k);
      }
    }
  }

  void on_op(const json::object& frame) {
    view_.apply(frame);  // throws on a gap or a repeat
    const std::string cid = str(frame, "cid");
    const json::object& op = obj(frame, "op");
    const std::string kind = str(op, "kind");
    const auto own = std::find_if(unacked_.begin(), unacked_.end(),
                                  [&](const auto& u) { return u.first == cid; });
    const bool own_plain = own != unacked_.end();
    if (own_plain) {
      unacked_.erase(own);
    }
    if (kind == "delete") {
      const std::string id = str(op, "id");
      for (auto it = fields_.begin(); it != fields_.end();) {
        it = it->first.first == id ? fields_.erase(it) : std::next(it);  // no-ops from now on
      }
      return;
    }
    if (kind != "text" || own_plain) {
      return;
    }
    const field_key k{str(op, "id"), str(op, "field")};
    auto it = fields_.find(k);
    if (it == fields_.end()) {
      return;
    }
    field_state& f = it->second;
    if (f.inflight && f.inflight_cid == cid) {
      f.inflight.reset();  // acknowledged: the server's version is in the confirmed state
      send_buffer(k);
      return;
    }
    // Someone else's edit, numbered before anything of ours still pending: ours moves past it.
    text_op theirs = must(core::parse_text_op(op.at("ops")), "a text op from the server");
    for (auto* mine : {f.inflight ? &*f.inflight : nullptr, f.buffer ? &*f.buffer : nullptr}) {
      if (mine == nullptr) {
        continue;
      }
      auto [mine_after, theirs_after] =
          must(core::transform(*mine, theirs, false), "a pending op past another's");
      *mine = std::move(mine_after);
      theirs = std::move(theirs_after);
    }
    // `theirs` now applies to the shown text, which the undo steps span.
    for (auto& step : f.undo) {
      step = must(core::transform(step, theirs, false), "an undo step past another's edit").first;
    }
  }

  int number_;
  user user_;
  std::vector<std::uint16_t> ports_;
  std::string room_;
  ledger& book_;
  std::mt19937_64& rng_;
  std::unique_ptr<ws_client> ws_;
  replica view_;
  bool confirmed_seq_known_ = false;
  bool awaiting_presence_ = false;
  std::vector<std::pair<std::string, json::object>> unacked_;  // plain ops, in send order
  std::map<field_key, field_state> fields_;
  std::set<std::string> deleting_;
  int cids_ = 0;
  int notes_made_ = 0;
  char32_t chars_typed_ = 0;
  counts stats_;
};

// Every text holds exactly the characters inserted into it and not deleted, each once.
void expect_every_character_kept(const replica& r, const ledger& book, const std::string& what) {
  for (const auto& n : r.state().sorted_notes()) {
    for (const std::string field : {"title", "body"}) {
      const field_key k{n.id, field};
      const auto present = code_points(field == "title" ? n.title : n.body);
      std::multiset<char32_t> have(present.begin(), present.end());
      std::set<char32_t> want;
      if (const auto ins = book.inserted.find(k); ins != book.inserted.end()) {
        want = ins->second;
      }
      if (const auto del = book.deleted.find(k); del != book.deleted.end()) {
        for (char32_t c : del->second) {
          want.erase(c);
        }
      }
      EXPECT_EQ(have.size(), std::set<char32_t>(have.begin(), have.end()).size())
          << what << ": a character appears twice in " << n.id << "." << field;
      EXPECT_EQ(std::set<char32_t>(have.begin(), have.end()), want)
          << what << ": " << n.id << "." << field << " lost or kept the wrong characters";
    }
  }
}

struct run_result {
  std::string room;
  std::string state;  // the converged state, serialized
  std::int64_t seq = 0;
  sim_client::counts counts;
};

// One seeded run: `clients` users in a new room, `steps` random actions, then everyone settles
// and reads up to the room's last seq.
run_result run_once(std::uint64_t seed, const std::vector<user>& users,
                    const std::vector<std::uint16_t>& ports, int steps) {
  std::mt19937_64 rng(seed);
  const std::string room = create_room(ports[0], users[0], "Convergence", "link");
  ledger book;
  std::vector<std::unique_ptr<sim_client>> clients;
  for (std::size_t i = 0; i < users.size(); ++i) {
    clients.push_back(
        std::make_unique<sim_client>(static_cast<int>(i), users[i], ports, room, book, rng));
    clients.back()->connect_and_join();
  }
  std::uniform_int_distribution<std::size_t> any(0, clients.size() - 1);
  for (int step = 0; step < steps; ++step) {
    auto& c = *clients[any(rng)];
    c.pump();
    c.act();
    // Others read at random moments: their deliveries are late by a random number of steps.
    if (std::uniform_int_distribution<int>(0, 2)(rng) == 0) {
      clients[any(rng)]->pump(1ms);
    }
  }
  for (auto& c : clients) {
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    for (int round = 1; !c->settled(); ++round) {
      if (std::chrono::steady_clock::now() > give_up) {
        throw protocol_failure("a client's changes were never all acknowledged");
      }
      c->pump(20ms);
      if (round % 10 == 0) {
        c->retry_stalled();
      }
    }
  }
  const json::object notes = get_notes(ports.back(), users[0], room);
  run_result result{room, serialized_state(notes), int64(notes, "seq"), {}};
  for (const auto& c : clients) {
    result.counts.text_edits += c->stats().text_edits;
    result.counts.undos += c->stats().undos;
    result.counts.reconnects += c->stats().reconnects;
    result.counts.conflicts += c->stats().conflicts;
  }
  for (std::size_t i = 0; i < clients.size(); ++i) {
    auto& c = *clients[i];
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    while (c.view().seq() < result.seq) {
      if (std::chrono::steady_clock::now() > give_up) {
        throw protocol_failure("a client never reached the room's last seq");
      }
      c.pump(20ms);
    }
    EXPECT_EQ(c.view().serialized(), result.state) << "client " << i << " differs from the server";
  }
  replica server_view;
  server_view.load(notes);
  expect_every_character_kept(server_view, book, "seed " + std::to_string(seed));
  for (const auto port : ports) {
    EXPECT_EQ(serialized_state(get_notes(port, users[0], room)), result.state)
        << "the server on port " << port << " differs";
  }
  return result;
}

constexpr int steps_per_run = 120;

// What the runs did, so that a run that exercised nothing shows.
void report(const std::vector<run_result>& results) {
  sim_client::counts total;
  std::int64_t ops = 0;
  for (const auto& r : results) {
    ops += r.seq;
    total.text_edits += r.counts.text_edits;
    total.undos += r.counts.undos;
    total.reconnects += r.counts.reconnects;
    total.conflicts += r.counts.conflicts;
  }
  std::printf(
      "convergence: %zu runs, %lld ops numbered, %d text edits, %d undos, %d reconnects, "
      "%d conflicts rebased\n",
      results.size(), static_cast<long long>(ops), total.text_edits, total.undos, total.reconnects,
      total.conflicts);
  EXPECT_GT(total.undos, 0);
  EXPECT_GT(total.reconnects, 0);
}

class convergence : public server_test {};
class convergence_fleet : public fleet_test {};

TEST_F(convergence, random_edits_moves_deletes_and_resumes_converge_with_every_character_kept) {
  auto& server = start_server(with_args({"--max-op-rate", "100000", "--max-op-burst", "100000"}));
  const std::vector<user> users = {register_user(server.port(), "conv_a"),
                                   register_user(server.port(), "conv_b"),
                                   register_user(server.port(), "conv_c")};
  const auto seed = static_cast<std::uint64_t>(env_int("FUN_NOTES_CONVERGENCE_SEED", 1));
  const auto runs = env_int("FUN_NOTES_CONVERGENCE_RUNS", 300);
  std::vector<run_result> results;
  for (std::int64_t i = 0; i < runs && !HasFailure(); ++i) {
    SCOPED_TRACE("FUN_NOTES_CONVERGENCE_SEED=" + std::to_string(seed + i) +
                 " FUN_NOTES_CONVERGENCE_RUNS=1 reproduces this run");
    try {
      results.push_back(
          run_once(seed + static_cast<std::uint64_t>(i), users, {server.port()}, steps_per_run));
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
  report(results);
  // The cold store: after a restart the server serves what was converged (write-behind and log).
  server.restart();
  for (const auto& r : results) {
    EXPECT_EQ(serialized_state(get_notes(server.port(), users[0], r.room)), r.state) << r.room;
  }
}

TEST_F(convergence_fleet, two_servers_on_postgres_and_redis_converge_and_the_cold_store_agrees) {
  auto args = fleet_args();
  auto& a = start_server(with_args(args));
  auto& b = start_server(with_args(args));
  const std::vector<user> users = {register_user(a.port(), "convf_a"),
                                   register_user(b.port(), "convf_b"),
                                   register_user(a.port(), "convf_c")};
  const auto seed = static_cast<std::uint64_t>(env_int("FUN_NOTES_CONVERGENCE_SEED", 1));
  const auto runs = env_int("FUN_NOTES_CONVERGENCE_RUNS", 150);
  std::vector<run_result> results;
  for (std::int64_t i = 0; i < runs && !HasFailure(); ++i) {
    SCOPED_TRACE("FUN_NOTES_CONVERGENCE_SEED=" + std::to_string(seed + i) +
                 " FUN_NOTES_CONVERGENCE_RUNS=1 reproduces this run");
    try {
      results.push_back(run_once(seed + static_cast<std::uint64_t>(i), users, {a.port(), b.port()},
                                 steps_per_run));
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
  report(results);
  // The cold store, read directly: once the write-behind has caught up, PostgreSQL's rows are
  // the converged notes.
  store::pg::connection pg(postgres_url_);
  for (const auto& r : results) {
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (persisted_seq(postgres_url_, r.room) < r.seq &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_EQ(persisted_seq(postgres_url_, r.room), r.seq) << r.room;
    const auto rows = pg.exec(
        "SELECT id, title, body, is_important, is_completed, current_index, sequence_id "
        "FROM notes WHERE note_room_id = $1 ORDER BY current_index, id",
        {r.room});
    json::array stored;
    for (int i = 0; i < rows.rows(); ++i) {
      stored.push_back(json::object{{"id", rows.text(i, 0)},
                                    {"title", rows.text(i, 1)},
                                    {"body", rows.text(i, 2)},
                                    {"is_important", rows.text(i, 3) == "t"},
                                    {"is_completed", rows.text(i, 4) == "t"},
                                    {"current_index", std::stod(rows.text(i, 5))},
                                    {"seq", rows.int64(i, 6)}});
    }
    const json::object expected = core::parse_json(r.state).value().as_object();
    EXPECT_EQ(stored.size(), arr(expected, "notes").size()) << r.room;
    for (std::size_t i = 0; i < std::min(stored.size(), arr(expected, "notes").size()); ++i) {
      const auto& want = arr(expected, "notes")[i].as_object();
      const auto& have = stored[i].as_object();
      for (const char* key : {"id", "title", "body", "is_important", "is_completed"}) {
        EXPECT_EQ(to_string(have.at(key)), to_string(want.at(key))) << r.room << " " << key;
      }
    }
  }
}

}  // namespace
}  // namespace fun_notes::test

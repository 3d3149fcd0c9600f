// fun-notes-text-bytes: what one keystroke costs the hot log. Starts a throwaway embedded
// server and types the same body into a note three ways:
//   text, per key     one text op per keystroke, each acknowledged before the next key;
//   text, composed    keys at --burst-rate a second, one op in flight and the keys typed
//                     meanwhile composed into the next (the classic OT client);
//   update, per key   the whole body in an `update` per keystroke (what a client without text
//                     ops sends).
// The op log stores each op as its broadcast frame, so the bytes of the frames the socket
// receives are the bytes the log stores (SQLite row or Redis stream entry, before their own
// per-entry overhead). Prints ops and bytes per keystroke for each, and the ratios.
//   fun-notes-text-bytes [--chars N (2000)] [--burst-rate K (1000)]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "fun_notes/core/text_op.hpp"
#include "fun_notes_test.hpp"

namespace {

namespace json = boost::json;
using namespace fun_notes::test;
using fun_notes::core::text_op;
using steady = std::chrono::steady_clock;

struct result {
  const char* name;
  long long ops = 0;
  long long bytes = 0;
};

// The text typed: sentences of ASCII letters, so that a code point is a byte.
char key(int i) {
  static const char text[] = "The quick brown fox jumps over the lazy dog. ";
  return text[i % (sizeof text - 1)];
}

json::object text_edit(const std::string& note, std::int64_t base, const text_op& op) {
  return json::object{{"kind", "text"},
                      {"id", note},
                      {"field", "body"},
                      {"base", base},
                      {"ops", fun_notes::core::to_json(op)}};
}

struct note_in_room {
  std::unique_ptr<ws_client> ws;
  std::string room;
  std::string note;
  std::int64_t seq = 0;
};

note_in_room fresh_note(std::uint16_t port, const user& u, const std::string& note) {
  note_in_room n;
  n.room = create_room(port, u, "Keystrokes", "private");
  n.ws = connect_hello(port, u);
  join_snapshot(*n.ws, n.room);
  n.note = note;
  const auto ack = send_op_and_wait(*n.ws, n.room, "create", create_op(note, "typing", 1.0));
  n.seq = int64(ack, "seq");
  return n;
}

result text_per_key(std::uint16_t port, const user& u, int chars) {
  auto n = fresh_note(port, u, "per-key");
  result r{"text, per key"};
  for (int i = 0; i < chars; ++i) {
    text_op op;
    op.retain(static_cast<std::size_t>(i)).insert(std::string(1, key(i)));
    const auto ack =
        send_op_and_wait(*n.ws, n.room, "k" + std::to_string(i), text_edit(n.note, n.seq, op));
    n.seq = int64(ack, "seq");
    ++r.ops;
    r.bytes += static_cast<long long>(to_string(ack).size());
  }
  return r;
}

result text_composed(std::uint16_t port, const user& u, int chars, double rate) {
  auto n = fresh_note(port, u, "composed");
  result r{"text, composed"};
  const auto start = steady::now();
  int typed = 0;   // keys that have come
  int sent = 0;    // keys in ops sent
  int length = 0;  // code points of the body the server has
  bool in_flight = false;
  int cid = 0;
  while (length < chars) {
    const auto due =
        static_cast<int>(std::chrono::duration<double>(steady::now() - start).count() * rate);
    typed = std::min(chars, std::max(typed, due));
    if (!in_flight && typed > sent) {
      std::string keys;
      for (int i = sent; i < typed; ++i) {
        keys += key(i);
      }
      text_op op;
      op.retain(static_cast<std::size_t>(length)).insert(keys);
      n.ws->send(op_frame(n.room, "c" + std::to_string(++cid), text_edit(n.note, n.seq, op)));
      sent = typed;
      in_flight = true;
    }
    if (in_flight) {
      if (auto f = n.ws->next(std::chrono::milliseconds(1))) {
        if (type_of(*f) == "op") {
          n.seq = int64(*f, "seq");
          length = sent;
          in_flight = false;
          ++r.ops;
          r.bytes += static_cast<long long>(to_string(*f).size());
        } else if (type_of(*f) == "reject") {
          throw protocol_failure("rejected: " + to_string(*f));
        }
      }
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  return r;
}

result update_per_key(std::uint16_t port, const user& u, int chars) {
  auto n = fresh_note(port, u, "update");
  result r{"update, per key"};
  std::string body;
  for (int i = 0; i < chars; ++i) {
    body += key(i);
    const auto ack = send_op_and_wait(*n.ws, n.room, "u" + std::to_string(i),
                                      update_op(n.note, json::object{{"body", body}}));
    ++r.ops;
    r.bytes += static_cast<long long>(to_string(ack).size());
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int chars = 2000;
  double rate = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--chars") == 0) {
      chars = std::max(1, std::min(20000, std::atoi(argv[i + 1])));
    } else if (std::strcmp(argv[i], "--burst-rate") == 0) {
      rate = std::max(1.0, std::atof(argv[i + 1]));
    } else {
      std::fprintf(stderr, "usage: fun-notes-text-bytes [--chars N] [--burst-rate K]\n");
      return 2;
    }
  }
  try {
    server_process::options opts;
    opts.extra_args = {"--max-op-rate", "100000", "--max-op-burst", "100000"};
    server_process server(opts);
    const user u = register_user(server.port(), "typist");
    const result results[] = {text_per_key(server.port(), u, chars),
                              text_composed(server.port(), u, chars, rate),
                              update_per_key(server.port(), u, chars)};
    std::printf("%d characters typed into one body (composed: keys at %.0f/s)\n", chars, rate);
    std::printf("%-18s %10s %12s %14s %16s\n", "", "ops", "ops/key", "log bytes", "log bytes/key");
    for (const auto& r : results) {
      std::printf("%-18s %10lld %12.3f %14lld %16.1f\n", r.name, r.ops,
                  static_cast<double>(r.ops) / chars, r.bytes,
                  static_cast<double>(r.bytes) / chars);
    }
    std::printf("update per key / text per key: %.1fx the log bytes\n",
                static_cast<double>(results[2].bytes) / static_cast<double>(results[0].bytes));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fun-notes-text-bytes: %s\n", e.what());
    return 1;
  }
  return 0;
}

// The driver's command line.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "transport.hpp"

namespace fun_notes::load {

enum class target_kind { fun_notes, socketio, sharedb, broadcast };
enum class workload_kind { typing, join, idle };

struct options {
  target_kind target = target_kind::fun_notes;
  std::string target_name = "fun-notes";
  std::vector<endpoint> endpoints;
  workload_kind workload = workload_kind::typing;
  std::string workload_name = "typing";
  int rooms = 10;
  int members = 10;
  int typists = 2;
  double rate = 5;  // ops/s per typist
  double duration_s = 10;
  double warmup_s = 2;
  int notes = 100;        // join: notes per seeded room
  int ops = 1000;         // join: unflushed ops per seeded room
  int connections = 100;  // join and idle
  std::vector<std::string> sources;
  std::vector<pid_t> cpu_pids;
  std::vector<pid_t> rss_pids;
  int threads = 1;
  std::string label;
  std::string json_path;
  // All members of a room on one endpoint (room index mod endpoints) instead of spreading them.
  bool room_affinity = false;

  // The endpoint of member `member` of room `room`.
  const endpoint& endpoint_of(int room, int member) const;
};

// Parses argv; prints help or a one-line reason and exits on bad input.
options parse_options(int argc, char** argv);

}  // namespace fun_notes::load

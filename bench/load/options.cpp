#include "options.hpp"

#include <arpa/inet.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <thread>

namespace fun_notes::load {
namespace {

[[noreturn]] void bad(const std::string& why) {
  std::fprintf(stderr, "fun-notes-load: %s\n", why.c_str());
  std::exit(2);
}

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto comma = s.find(',', start);
    const auto end = comma == std::string::npos ? s.size() : comma;
    if (end > start) {
      out.push_back(s.substr(start, end - start));
    }
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

endpoint parse_endpoint(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) {
    bad("endpoint \"" + s + "\" is not HOST:PORT");
  }
  endpoint ep;
  ep.host = s.substr(0, colon);
  if (ep.host == "localhost") {
    ep.host = "127.0.0.1";
  }
  const long port = std::strtol(s.c_str() + colon + 1, nullptr, 10);
  if (!is_ipv4(ep.host) || port <= 0 || port > 65535) {
    bad("endpoint \"" + s + "\" is not IPv4:PORT");
  }
  ep.port = static_cast<std::uint16_t>(port);
  return ep;
}

std::vector<pid_t> parse_pids(const std::string& s, const char* flag) {
  std::vector<pid_t> out;
  for (const auto& p : split(s)) {
    char* end = nullptr;
    const long v = std::strtol(p.c_str(), &end, 10);
    if (end == p.c_str() || *end != '\0' || v <= 0) {
      bad(std::string("bad pid \"") + p + "\" in " + flag);
    }
    out.push_back(static_cast<pid_t>(v));
  }
  return out;
}

}  // namespace

const endpoint& options::endpoint_of(int room, int member) const {
  const auto n = endpoints.size();
  if (room_affinity) {
    return endpoints[static_cast<std::size_t>(room) % n];
  }
  return endpoints[static_cast<std::size_t>(room + member) % n];
}

options parse_options(int argc, char** argv) {
  options o;
  o.threads = std::thread::hardware_concurrency() >= 4 ? 2 : 1;
  std::string endpoints;
  std::string sources;
  std::string cpu_pids;
  std::string rss_pids;
  const std::map<std::string, target_kind> targets{{"fun-notes", target_kind::fun_notes},
                                                   {"socketio", target_kind::socketio},
                                                   {"sharedb", target_kind::sharedb},
                                                   {"broadcast", target_kind::broadcast}};
  const std::map<std::string, workload_kind> workloads{{"typing", workload_kind::typing},
                                                       {"join", workload_kind::join},
                                                       {"idle", workload_kind::idle}};

  CLI::App cli{
      "fun-notes-load: a multi-threaded load generator for fun-notes-server and the peers of "
      "bench/compare.sh (Socket.IO, ShareDB, the fun-notes-broadcast ceiling). Start "
      "fun-notes-server with --max-op-rate 100000 --max-op-burst 100000 "
      "--max-sockets-per-user 0 --max-sockets-per-address 0."};
  cli.add_option("--target", o.target_name, "fun-notes | socketio | sharedb | broadcast")
      ->check(CLI::IsMember({"fun-notes", "socketio", "sharedb", "broadcast"}));
  cli.add_option("--endpoints", endpoints, "IP:PORT,IP:PORT,... (a room's members go round-robin)")
      ->required();
  cli.add_option("--workload", o.workload_name, "typing | join | idle")
      ->check(CLI::IsMember({"typing", "join", "idle"}));
  cli.add_option("--rooms", o.rooms, "Rooms")->check(CLI::Range(1, 1000000));
  cli.add_option("--members", o.members, "typing: members per room")->check(CLI::Range(0, 100000));
  cli.add_option("--typists", o.typists, "typing: members of each room who type")
      ->check(CLI::Range(0, 100000));
  cli.add_option("--rate", o.rate, "typing: ops/s per typist")->check(CLI::Range(0.001, 100000.0));
  cli.add_option("--duration", o.duration_s, "typing: measured seconds; idle: seconds to hold")
      ->check(CLI::Range(0.1, 3600.0));
  cli.add_option("--warmup", o.warmup_s, "typing: seconds of typing before the measured window")
      ->check(CLI::Range(0.0, 3600.0));
  cli.add_option("--notes", o.notes, "Notes per room, made before the typing or the join storm")
      ->check(CLI::Range(0, 10000));
  cli.add_option("--ops", o.ops,
                 "join: ops per room after its notes, sent just before the storm (not flushed yet)")
      ->check(CLI::Range(0, 1000000));
  cli.add_option("--connections", o.connections, "join and idle: client connections")
      ->check(CLI::Range(1, 1000000));
  cli.add_option("--sources", sources,
                 "Local addresses to bind client sockets to, round-robin (127.0.0.x), for more "
                 "connections than one address has ports");
  cli.add_option("--cpu-pids", cpu_pids, "Server pids whose CPU (with all descendants) is counted");
  cli.add_option("--rss-pids", rss_pids, "Server pids whose resident memory is reported");
  cli.add_option("--threads", o.threads, "Driver threads, one event loop each")
      ->check(CLI::Range(1, 256));
  cli.add_option("--label", o.label, "Name of this run in the table and the JSON");
  cli.add_option("--json", o.json_path, "Write the result as JSON to this file");
  cli.add_flag("--room-affinity", o.room_affinity,
               "Put all members of a room on one endpoint (room index mod endpoints); always on "
               "for --target broadcast, whose processes do not share rooms");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(cli.exit(e));
  }

  o.target = targets.at(o.target_name);
  o.workload = workloads.at(o.workload_name);
  for (const auto& e : split(endpoints)) {
    o.endpoints.push_back(parse_endpoint(e));
  }
  if (o.endpoints.empty()) {
    bad("--endpoints names no endpoint");
  }
  for (const auto& s : split(sources)) {
    if (!is_ipv4(s)) {
      bad("--sources: \"" + s + "\" is not an IPv4 address");
    }
    o.sources.push_back(s);
  }
  o.cpu_pids = parse_pids(cpu_pids, "--cpu-pids");
  o.rss_pids = parse_pids(rss_pids, "--rss-pids");
  if (o.workload == workload_kind::typing && o.members < 1) {
    bad("--members must be at least 1");
  }
  if (o.workload == workload_kind::typing && o.typists > o.members) {
    bad("--typists must not exceed --members");
  }
  if (o.workload == workload_kind::typing &&
      static_cast<long long>(o.rooms) * o.members > 1000000) {
    bad("more than 1,000,000 connections");
  }
  if (o.target == target_kind::broadcast) {
    o.room_affinity = true;
  }
  if (o.label.empty()) {
    o.label = o.target_name + "-" + o.workload_name;
  }
  return o;
}

}  // namespace fun_notes::load

// fun-notes-load: a multi-threaded load generator for fun-notes-server and the servers it is
// compared with (bench/compare.sh). Typing measures fan-out latency and throughput, join the
// cost of a join storm, idle the memory per connection. One table row on stdout, JSON on
// --json.
#include <cstdio>
#include <exception>

#include "adapter.hpp"
#include "metrics.hpp"
#include "options.hpp"
#include "workloads.hpp"

int main(int argc, char** argv) {
  using namespace fun_notes::load;
  const options o = parse_options(argc, argv);
  const auto files = raise_open_file_limit();
  const long long clients = o.workload == workload_kind::typing
                                ? static_cast<long long>(o.rooms) * o.members
                                : o.connections;
  if (files > 0 && clients + 64 > files) {
    std::fprintf(stderr, "fun-notes-load: %lld clients but only %lld open files allowed\n", clients,
                 static_cast<long long>(files));
    return 2;
  }
  try {
    auto a = make_adapter(o.target);
    const report rep = run_workload(o, *a);
    std::fputs(rep.table(table_columns(o.workload)).c_str(), stdout);
    std::fflush(stdout);
    if (!o.json_path.empty() && !rep.write_json(o.json_path)) {
      std::fprintf(stderr, "fun-notes-load: cannot write %s\n", o.json_path.c_str());
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fun-notes-load: %s\n", e.what());
    return 1;
  }
}

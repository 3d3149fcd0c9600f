// The three workloads (typing, join, idle): they build the clients, drive them on the event
// loops, sample the servers' CPU and memory, and fill the report.
#pragma once

#include "adapter.hpp"
#include "options.hpp"
#include "report.hpp"

namespace fun_notes::load {

// Runs o.workload against the adapter's target; throws on a set-up failure.
report run_workload(const options& o, adapter& a);

// The table columns of a workload.
std::vector<std::string> table_columns(workload_kind w);

}  // namespace fun_notes::load

// A throwaway PostgreSQL server for the store tests: started on first use, stopped at the end.
#pragma once

#include <string>

namespace fun_notes::store::testing {

// A libpq URL of a new, empty database on this test binary's own PostgreSQL server (unix
// socket in a temp dir, run as the unprivileged `postgres` user when the tests run as root),
// starting the server on the first call. Throws std::runtime_error saying why when PostgreSQL
// cannot be started, e.g. its binaries are missing: a test that needs it then fails, never
// skips, because scripts/setup.sh installs them.
std::string fresh_postgres_database();

// An outage: stops this test binary's PostgreSQL at once (every connection drops), and starts
// it again on the same data, so the databases handed out before come back. Only after
// fresh_postgres_database().
void stop_postgres();
void start_postgres();

}  // namespace fun_notes::store::testing

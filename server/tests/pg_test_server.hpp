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

}  // namespace fun_notes::store::testing

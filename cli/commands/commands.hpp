// The `fun-notes` command line (CLI11): sign-in, rooms, notes, sync, status and the TUI.
#pragma once

namespace fun_notes::cli {

// Exit codes a script can rely on (also in `fun-notes --help`).
enum exit_code : int {
  exit_ok = 0,           // done (a change made offline is queued and counts as done)
  exit_error = 1,        // the server refused the request, or something else failed
  exit_usage = 2,        // bad arguments
  exit_auth = 3,         // not signed in, or the sign-in was refused or has expired
  exit_unreachable = 4,  // the server cannot be reached and the command needs it
  exit_not_found = 5,    // no such room or note, or a note reference that is ambiguous
};

int run(int argc, char** argv);

}  // namespace fun_notes::cli

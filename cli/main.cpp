// fun-notes: the terminal client (commands and the full-screen TUI).
#include "commands/commands.hpp"

int main(int argc, char** argv) {
  return fun_notes::cli::run(argc, argv);
}

// The operator subcommands of fun-notes-server: export, import and migrate.
#pragma once

#include <memory>
#include <string>

#include "config.hpp"

namespace CLI {
class App;
}

namespace fun_notes::server::admin {

// Registers the subcommands on the server's own command line, so the instance they work on is
// chosen by the server's flags (--data, --postgres, --redis).
class commands {
 public:
  explicit commands(CLI::App& cli);

  // Whether the command line named a subcommand (then the server does not start).
  bool chosen() const;
  // Runs it: 0 on success, 1 with a one-line reason on stderr otherwise.
  int run(const server_config& cfg);

 private:
  int run_export(const server_config& cfg);
  int run_import(const server_config& cfg);
  int run_migrate(const server_config& cfg);

  CLI::App* export_ = nullptr;
  CLI::App* import_ = nullptr;
  CLI::App* migrate_ = nullptr;
  std::string room_id_;
  std::string out_file_;
  std::string in_file_;
  std::string to_postgres_;
  bool replace_ = false;
  bool migrate_replace_ = false;
};

}  // namespace fun_notes::server::admin

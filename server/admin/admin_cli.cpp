// export / import / migrate: opening the instance the server flags name, and talking to the
// operator (results on stdout or in --out, progress and reasons on stderr).
#include "admin/admin_cli.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "admin/migrate.hpp"
#include "admin/room_archive.hpp"
#include "store/memory/memory_bus.hpp"
#include "store/postgres/postgres_cold_store.hpp"
#include "store/redis/redis_client.hpp"
#include "store/redis/redis_hot_log.hpp"
#include "store/sqlite/sqlite_cold_store.hpp"
#include "store/sqlite/sqlite_hot_log.hpp"

namespace fun_notes::server::admin {

namespace fs = std::filesystem;

namespace {

// A failure to report as one line and exit 1.
class command_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The stores of one instance, wired as app.cpp wires them, without the network side.
struct instance {
  store::memory_bus bus;  // the SQLite op log publishes on it; nobody listens here
  std::unique_ptr<store::redis::client> redis;
  std::unique_ptr<store::hot_log> hot;
  std::unique_ptr<store::cold_store> cold;

  instance() = default;
  instance(const instance&) = delete;
  instance& operator=(const instance&) = delete;
  ~instance() {
    // The client's thread stops first: its last callbacks may still use the log.
    redis.reset();
  }
};

// `create`: a missing embedded instance is created (import); else it is an error, so a typo in
// --data is not read as an empty instance.
std::unique_ptr<instance> open_instance(const server_config& cfg, bool create) {
  auto out = std::make_unique<instance>();
  const fs::path dir(cfg.data_dir);
  if (cfg.postgres_url.empty() && !create && !fs::exists(dir / "fun-notes.db")) {
    throw command_error("no fun-notes instance in " + cfg.data_dir +
                        " (fun-notes.db is missing): pass --data DIR, or --postgres/--redis");
  }
  if (cfg.postgres_url.empty() || cfg.redis_urls.empty()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      throw command_error("cannot create the data directory " + cfg.data_dir + ": " + ec.message());
    }
  }
  if (cfg.postgres_url.empty()) {
    out->cold = std::make_unique<store::sqlite_cold_store>(dir / "fun-notes.db");
  } else {
    out->cold = std::make_unique<store::postgres_cold_store>(cfg.postgres_url, 2);
  }
  if (cfg.redis_urls.empty()) {
    store::hot_log_options options;
    options.keep_recent = cfg.hot_log_keep;
    out->hot = std::make_unique<store::sqlite_hot_log>(dir / "oplog.db", out->bus, options);
  } else {
    out->redis = std::make_unique<store::redis::client>(
        std::vector<std::string>{cfg.redis_urls},
        store::redis::client_options{std::chrono::milliseconds(cfg.redis_timeout_ms)});
    store::redis_hot_log_options options;
    options.keep_recent = cfg.hot_log_keep;
    options.ttl_seconds = cfg.redis_ttl_seconds;
    out->hot = std::make_unique<store::redis_hot_log>(*out->redis, options);
  }
  return out;
}

// Written under a temporary name and renamed, so a crash never leaves half a backup that
// looks whole.
void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      throw command_error("cannot write " + tmp);
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    throw command_error("cannot rename " + tmp + " to " + path + ": " + ec.message());
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw command_error("cannot read " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Progress lines only for rooms big enough to take a while.
progress_fn note_progress(std::string verb) {
  return [verb = std::move(verb)](std::size_t done, std::size_t total) {
    if (total >= 5000) {
      std::cerr << verb << ' ' << with_commas(done) << '/' << with_commas(total) << " notes\n";
    }
  };
}

}  // namespace

commands::commands(CLI::App& cli) {
  cli.require_subcommand(0, 1);
  export_ = cli.add_subcommand(
      "export",
      "Write one room as JSON (room, members, notes, last_seq) at its latest seq, including "
      "ops the op log holds that are not yet flushed. Reads the instance that --data, "
      "--postgres and --redis select; safe while servers run.");
  export_->add_option("--room", room_id_, "Id of the room to export")->required();
  export_->add_option("--out", out_file_, "File to write (default: standard output)");

  import_ = cli.add_subcommand(
      "import",
      "Create a room from a file written by export, in the instance that --data, --postgres and "
      "--redis select. Members are matched to accounts by user id, else by username; those "
      "without an account are listed and left out. Stop an embedded server first.");
  import_->add_option("file", in_file_, "The exported room (JSON)")->required();
  import_->add_flag("--replace", replace_,
                    "Overwrite a room with the same id (its notes, members and invites go)");

  migrate_ = cli.add_subcommand(
      "migrate",
      "Copy a whole embedded instance (--data) into PostgreSQL: users with their password "
      "hashes and token versions, rooms at their latest seq (unflushed op-log ops folded in), "
      "members, invites and the JWT secret. Running it again changes nothing. Stop the "
      "embedded server first.");
  migrate_->add_option("--to-postgres", to_postgres_, "PostgreSQL URL of the target")->required();
  migrate_->add_flag("--replace", migrate_replace_,
                     "Overwrite rooms PostgreSQL holds in another state (default: report them)");
  // The server's flags (--data, --postgres, --redis, ...) may also follow the subcommand.
  for (CLI::App* sub : {export_, import_, migrate_}) {
    sub->fallthrough();
    sub->footer(
        "The instance is chosen by the server's own flags, before or after the subcommand: "
        "--data DIR (embedded, default ./data), --postgres URL, --redis URL (see "
        "fun-notes-server --help).");
  }
}

bool commands::chosen() const {
  return export_->parsed() || import_->parsed() || migrate_->parsed();
}

int commands::run(const server_config& cfg) {
  // Logs go to stderr: an export to standard output must hold nothing but the room.
  auto logger = spdlog::stderr_color_mt("admin");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  try {
    if (export_->parsed()) {
      return run_export(cfg);
    }
    if (import_->parsed()) {
      return run_import(cfg);
    }
    return run_migrate(cfg);
  } catch (const std::exception& e) {
    std::cerr << "fun-notes-server: " << e.what() << '\n';
    return 1;
  }
}

int commands::run_export(const server_config& cfg) {
  auto db = open_instance(cfg, false);
  auto archive = read_room(*db->cold, *db->hot, room_id_);
  if (!archive) {
    throw command_error("export: no room " + room_id_);
  }
  const std::string text = serialize_archive(*archive, note_progress("exported"));
  if (out_file_.empty()) {
    std::cout << text << std::flush;
  } else {
    write_file(out_file_, text);
  }
  std::cerr << "export: room " << archive->room.id << " at seq " << archive->room.last_seq << ", "
            << with_commas(archive->notes.size()) << " notes, " << archive->members.size()
            << " members" << (out_file_.empty() ? "" : " -> " + out_file_) << '\n';
  return 0;
}

int commands::run_import(const server_config& cfg) {
  auto archive = parse_archive(read_file(in_file_));
  if (!archive) {
    throw command_error("import: " + in_file_ + ": " + archive.err().message);
  }
  auto db = open_instance(cfg, true);
  auto report = import_room(*db->cold, *db->hot, *archive, import_options{replace_},
                            note_progress("imported"));
  if (!report) {
    throw command_error("import: " + report.err().message);
  }
  for (const auto& who : report->missing_users) {
    std::cerr << "import: member " << who << " has no account here; left out\n";
  }
  std::cerr << "import: room " << archive->room.id << (report->replaced ? " replaced" : " created")
            << ", " << with_commas(archive->notes.size()) << " notes, " << report->members
            << " members, numbering continues after seq " << report->last_seq << '\n';
  return 0;
}

int commands::run_migrate(const server_config& cfg) {
  if (!cfg.postgres_url.empty() || !cfg.redis_urls.empty()) {
    throw command_error(
        "migrate reads an embedded instance (--data): leave out --postgres and --redis (and "
        "FUN_NOTES_POSTGRES_URL / FUN_NOTES_REDIS_URL)");
  }
  auto source = open_instance(cfg, false);
  store::postgres_cold_store target(to_postgres_, 2);
  const auto report =
      migrate(*source->cold, *source->hot, target, migrate_options{migrate_replace_}, std::cerr);
  for (const auto& p : report.problems) {
    std::cerr << "migrate: " << p << '\n';
  }
  if (!report.changed_anything()) {
    std::cerr << "migrate: nothing to do: PostgreSQL already holds all " << report.users_present
              << " users and " << report.rooms_unchanged << " rooms as they are here\n";
  } else {
    std::cerr << "migrate: done: " << report.users_created << " users copied ("
              << report.users_present << " already there), " << report.rooms_created
              << " rooms copied, " << report.rooms_replaced << " replaced, "
              << report.rooms_unchanged << " already there"
              << (report.secret_copied ? ", JWT secret copied" : "") << '\n';
  }
  return report.problems.empty() ? 0 : 1;
}

}  // namespace fun_notes::server::admin

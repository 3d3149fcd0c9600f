// A throwaway PostgreSQL server for the store tests: started on first use, stopped at the end.
#include "pg_test_server.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "store/postgres/pg_connection.hpp"

namespace fun_notes::store::testing {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using fun_notes::testing::spawn;
using fun_notes::testing::tail_of;
using fun_notes::testing::wait_for_exit;

// Generous: initdb plus start-up on a loaded 2-core CI machine.
constexpr auto start_deadline = 60s;
// Inside a private directory nothing else listens on, so the default port cannot collide.
constexpr std::string_view port = "5432";
constexpr std::string_view superuser = "postgres";

// The newest installed server's bin directory (Debian keeps each major version apart).
fs::path find_bin_dir() {
  const fs::path root = "/usr/lib/postgresql";
  fs::path best;
  int best_version = -1;
  std::error_code ec;
  if (fs::is_directory(root, ec)) {
    for (const auto& entry : fs::directory_iterator(root, ec)) {
      const fs::path bin = entry.path() / "bin";
      if (!fs::exists(bin / "initdb", ec) || !fs::exists(bin / "postgres", ec)) {
        continue;
      }
      const std::string name = entry.path().filename().string();
      int version = 0;
      std::from_chars(name.data(), name.data() + name.size(), version);
      if (version > best_version) {
        best_version = version;
        best = bin;
      }
    }
  }
  if (best.empty()) {
    throw std::runtime_error(
        "PostgreSQL server binaries (initdb, postgres) not found under "
        "/usr/lib/postgresql/*/bin: run scripts/setup.sh, which installs postgresql");
  }
  return best;
}

// Who runs initdb and postgres: PostgreSQL refuses to run as root, and tests run as root in CI.
fun_notes::testing::spawn_options server_identity() {
  fun_notes::testing::spawn_options who;
  // Immediate shutdown if the test binary dies first.
  who.parent_death_signal = SIGQUIT;
  if (::geteuid() != 0) {
    return who;
  }
  const passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr) {
    throw std::runtime_error(
        "tests run as root but there is no 'postgres' system user to run PostgreSQL as; the "
        "postgresql package creates it (scripts/setup.sh)");
  }
  who.switch_user = true;
  who.uid = pw->pw_uid;
  who.gid = pw->pw_gid;
  return who;
}

class postgres_server {
 public:
  postgres_server() {
    bin_ = find_bin_dir();
    who_ = server_identity();

    std::string pattern = (fs::temp_directory_path() / "fun_notes_pg_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("cannot create a temp dir for PostgreSQL");
    }
    dir_ = pattern;
    try {
      if (who_.switch_user && ::chown(dir_.c_str(), who_.uid, who_.gid) != 0) {
        throw std::runtime_error("cannot hand " + dir_.string() + " to the postgres user");
      }
      log_ = dir_ / "postgres.log";

      // --no-sync and fsync=off: a throwaway cluster needs no durability against power loss.
      // An ICU default collation, as production databases often have, where "apple" sorts
      // before "Zebra": an order that must be byte order but leans on the locale shows up.
      fun_notes::testing::spawn_options once = who_;
      once.parent_death_signal = 0;
      const int initdb_status = wait_for_exit(
          spawn({(bin_ / "initdb").string(), "-D", data_dir().string(), "-U",
                 std::string(superuser), "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8",
                 "--locale-provider=icu", "--icu-locale=en-US", "--no-sync"},
                log_, once));
      if (initdb_status != 0) {
        fail("initdb exited with " + std::to_string(initdb_status));
      }

      start();
      admin_ = std::make_unique<pg::connection>(url("postgres"));
    } catch (...) {
      // Leave no server or directory behind, whichever step failed.
      stop();
      std::error_code ignored;
      fs::remove_all(dir_, ignored);
      throw;
    }
  }

  postgres_server(const postgres_server&) = delete;
  postgres_server& operator=(const postgres_server&) = delete;

  ~postgres_server() {
    admin_.reset();
    stop();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Starts the postmaster on the data directory and waits until it accepts connections.
  void start() {
    if (pid_ > 0) {
      return;
    }
    pid_ = spawn({(bin_ / "postgres").string(), "-D", data_dir().string(), "-k", dir_.string(),
                  "-p", std::string(port), "-c", "listen_addresses=", "-c", "fsync=off", "-c",
                  "synchronous_commit=off", "-c", "full_page_writes=off"},
                 log_, who_);
    wait_until_ready();
  }

  // Fast shutdown: every connection drops at once. The data directory stays, so start() brings
  // the same databases back with every committed transaction (an immediate shutdown would
  // lose the last ones, since this throwaway server commits asynchronously).
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGINT);
      wait_for_exit(pid_);
      pid_ = -1;
    }
  }

  std::string create_database() {
    // A name made from a counter, not from input: DDL takes no parameters.
    const std::string name = "t_" + std::to_string(++databases_);
    try {
      admin_->exec("CREATE DATABASE " + name);
    } catch (const std::exception&) {
      // The server was stopped and started since (an outage test): connect again.
      admin_ = std::make_unique<pg::connection>(url("postgres"));
      admin_->exec("CREATE DATABASE " + name);
    }
    return url(name);
  }

 private:
  std::string url(std::string_view database) const {
    return "postgresql:///" + std::string(database) + "?host=" + dir_.string() +
           "&port=" + std::string(port) + "&user=" + std::string(superuser);
  }

  // Waits for the server to accept connections; fails early if it exits instead.
  void wait_until_ready() {
    const std::string probe = url("postgres");
    const auto give_up = std::chrono::steady_clock::now() + start_deadline;
    while (PQping(probe.c_str()) != PQPING_OK) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        fail("postgres exited during start-up");
      }
      if (std::chrono::steady_clock::now() > give_up) {
        fail("postgres did not accept connections within the deadline");
      }
      // Polling a condition with a deadline: the server offers nothing to wait on.
      std::this_thread::sleep_for(20ms);
    }
  }

  [[noreturn]] void fail(const std::string& what) {
    const std::string log = tail_of(log_);
    stop();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    throw std::runtime_error("throwaway PostgreSQL: " + what + "; log:\n" + log);
  }

  fs::path data_dir() const { return dir_ / "data"; }

  fs::path bin_;
  fun_notes::testing::spawn_options who_;
  fs::path dir_;
  fs::path log_;
  pid_t pid_ = -1;
  int databases_ = 0;
  std::unique_ptr<pg::connection> admin_;
};

std::mutex server_mutex;
std::unique_ptr<postgres_server> server;
std::optional<std::string> start_failure;  // reported by every test, not retried each time

void stop_server() {
  std::lock_guard lock(server_mutex);
  server.reset();
}

// Stops the server once all tests have run (it is started lazily, so a run that filters the
// PostgreSQL tests out never starts one).
class postgres_environment final : public ::testing::Environment {
 public:
  void TearDown() override { stop_server(); }
};

[[maybe_unused]] ::testing::Environment* const environment =
    ::testing::AddGlobalTestEnvironment(new postgres_environment);

}  // namespace

std::string fresh_postgres_database() {
  std::lock_guard lock(server_mutex);
  if (start_failure) {
    throw std::runtime_error(*start_failure);
  }
  if (!server) {
    try {
      server = std::make_unique<postgres_server>();
    } catch (const std::exception& e) {
      start_failure = e.what();
      throw;
    }
  }
  return server->create_database();
}

void stop_postgres() {
  std::lock_guard lock(server_mutex);
  if (!server) {
    throw std::logic_error("stop_postgres() before fresh_postgres_database()");
  }
  server->stop();
}

void start_postgres() {
  std::lock_guard lock(server_mutex);
  if (!server) {
    throw std::logic_error("start_postgres() before fresh_postgres_database()");
  }
  server->start();
}

}  // namespace fun_notes::store::testing

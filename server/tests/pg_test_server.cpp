// A throwaway PostgreSQL server for the store tests: started on first use, stopped at the end.
#include "pg_test_server.hpp"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres/pg_connection.hpp"

namespace fun_notes::store::testing {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

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
struct identity {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

identity server_identity() {
  identity who;
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

std::string tail_of(const fs::path& log) {
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  constexpr std::size_t keep = 2000;
  return all.size() > keep ? all.substr(all.size() - keep) : all;
}

// Starts argv[0] with stdout and stderr appended to `log`, as `who`. With `tie_to_parent` the
// child gets SIGQUIT (PostgreSQL's immediate shutdown) if the test binary dies first, so a
// crashed run leaves no server behind.
pid_t spawn(const std::vector<std::string>& argv, const fs::path& log, const identity& who,
            bool tie_to_parent) {
  std::vector<char*> args;
  for (const auto& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) {
    throw std::runtime_error("cannot open " + log.string());
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls until exec: the test binary may already have threads.
    const int in = ::open("/dev/null", O_RDONLY);
    if (in < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) {
      ::_exit(126);
    }
    if (who.switch_user &&
        (::setgroups(0, nullptr) != 0 || ::setgid(who.gid) != 0 || ::setuid(who.uid) != 0)) {
      ::_exit(126);
    }
    // After setuid, which clears the parent-death signal.
    if (tie_to_parent && ::prctl(PR_SET_PDEATHSIG, SIGQUIT) != 0) {
      ::_exit(126);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out);
  if (pid < 0) {
    throw std::runtime_error("cannot fork to start " + argv[0]);
  }
  return pid;
}

// The exit status, or 128 + the signal that ended it.
int wait_for_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return -1;
    }
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class postgres_server {
 public:
  postgres_server() {
    const fs::path bin = find_bin_dir();
    const identity who = server_identity();

    std::string pattern = (fs::temp_directory_path() / "fun_notes_pg_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("cannot create a temp dir for PostgreSQL");
    }
    dir_ = pattern;
    try {
      if (who.switch_user && ::chown(dir_.c_str(), who.uid, who.gid) != 0) {
        throw std::runtime_error("cannot hand " + dir_.string() + " to the postgres user");
      }
      log_ = dir_ / "postgres.log";
      const fs::path data = dir_ / "data";

      // --no-sync and fsync=off: a throwaway cluster needs no durability against power loss.
      // An ICU default collation, as production databases often have, where "apple" sorts
      // before "Zebra": an order that must be byte order but leans on the locale shows up.
      const int initdb_status = wait_for_exit(
          spawn({(bin / "initdb").string(), "-D", data.string(), "-U", std::string(superuser),
                 "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--locale-provider=icu",
                 "--icu-locale=en-US", "--no-sync"},
                log_, who, false));
      if (initdb_status != 0) {
        fail("initdb exited with " + std::to_string(initdb_status));
      }

      pid_ = spawn({(bin / "postgres").string(), "-D", data.string(), "-k", dir_.string(), "-p",
                    std::string(port), "-c", "listen_addresses=", "-c", "fsync=off", "-c",
                    "synchronous_commit=off", "-c", "full_page_writes=off"},
                   log_, who, true);
      wait_until_ready();
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

  std::string create_database() {
    // A name made from a counter, not from input: DDL takes no parameters.
    const std::string name = "t_" + std::to_string(++databases_);
    admin_->exec("CREATE DATABASE " + name);
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

  void stop() {
    if (pid_ > 0) {
      // Immediate shutdown: the data is thrown away anyway.
      ::kill(pid_, SIGQUIT);
      wait_for_exit(pid_);
      pid_ = -1;
    }
  }

  [[noreturn]] void fail(const std::string& what) {
    const std::string log = tail_of(log_);
    stop();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    throw std::runtime_error("throwaway PostgreSQL: " + what + "; log:\n" + log);
  }

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

}  // namespace fun_notes::store::testing

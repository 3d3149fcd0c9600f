// Running the terminal client `fun-notes` from the integration tests: each `cli_user` has its
// own config and data dirs, so several users (or devices) share one test.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "fun_notes_test.hpp"

namespace fun_notes::test {

struct cli_result {
  int code = -1;
  std::string out;
  std::string err;
};

class cli_user {
 public:
  explicit cli_user(std::uint16_t port);
  ~cli_user();
  cli_user(const cli_user&) = delete;
  cli_user& operator=(const cli_user&) = delete;

  // Runs `fun-notes ARGS...` with this user's dirs and FUN_NOTES_SERVER set; stdin is empty.
  cli_result run(const std::vector<std::string>& args) const;
  // run() that fails the test (with the output) unless the exit code is 0.
  std::string ok(const std::vector<std::string>& args) const;
  json::object json_of(const std::vector<std::string>& args) const;
  // `notes ROOM --json` as the {seq, notes} state a snapshot gives, serialized.
  std::string state(const std::string& room) const;

  void set_port(std::uint16_t port) { port_ = port; }
  // More NAME=value words for the command's environment (e.g. SSL_CERT_FILE=...).
  void set_extra_env(std::string words) { extra_env_ = std::move(words); }
  const std::filesystem::path& home() const { return home_; }
  std::string env() const;  // "XDG_CONFIG_HOME=... XDG_DATA_HOME=... FUN_NOTES_SERVER=..."

  static std::string binary();

 private:
  std::uint16_t port_;
  std::filesystem::path home_;
  std::string extra_env_;
};

std::string shell_quote(const std::string& s);

// A self-signed certificate for localhost and 127.0.0.1 made with the openssl command in `dir`:
// key.pem, cert.pem, and both in one file (HAProxy's `crt`). Throws protocol_failure when
// openssl fails.
struct test_certificate {
  std::filesystem::path key;
  std::filesystem::path cert;
  std::filesystem::path combined;
};
test_certificate make_test_certificate(const std::filesystem::path& dir);

}  // namespace fun_notes::test

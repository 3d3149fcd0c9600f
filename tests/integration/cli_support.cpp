// The terminal client driven as a child process.
#include "cli_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

namespace fun_notes::test {

namespace fs = std::filesystem;

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

cli_user::cli_user(std::uint16_t port) : port_(port) {
  std::string pattern = (fs::temp_directory_path() / "fun_notes_cli_XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a temp dir for the terminal client");
  }
  home_ = pattern;
}

cli_user::~cli_user() {
  std::error_code ec;
  fs::remove_all(home_, ec);
}

std::string cli_user::binary() {
  if (const char* b = std::getenv("FUN_NOTES_CLI_BIN"); b != nullptr && *b != '\0') {
    return b;
  }
  return FUN_NOTES_CLI_BIN;
}

std::string cli_user::env() const {
  return "HOME=" + shell_quote(home_.string()) +
         " XDG_CONFIG_HOME=" + shell_quote((home_ / "config").string()) +
         " XDG_DATA_HOME=" + shell_quote((home_ / "data").string()) +
         " FUN_NOTES_SERVER=http://127.0.0.1:" + std::to_string(port_) +
         (extra_env_.empty() ? "" : " " + extra_env_);
}

cli_result cli_user::run(const std::vector<std::string>& args) const {
  const fs::path err_file = home_ / "stderr.txt";
  std::string cmd = env() + " " + shell_quote(binary());
  for (const auto& a : args) {
    cmd += " " + shell_quote(a);
  }
  cmd += " </dev/null 2>" + shell_quote(err_file.string());
  cli_result r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    throw std::runtime_error("cannot run " + cmd);
  }
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) {
    r.out.append(buf.data(), n);
  }
  const int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(err_file);
  std::stringstream err;
  err << in.rdbuf();
  r.err = err.str();
  return r;
}

std::string cli_user::ok(const std::vector<std::string>& args) const {
  cli_result r = run(args);
  std::string line;
  for (const auto& a : args) {
    line += a + " ";
  }
  EXPECT_EQ(r.code, 0) << "fun-notes " << line << "\nstdout: " << r.out << "\nstderr: " << r.err;
  return r.out;
}

json::object cli_user::json_of(const std::vector<std::string>& args) const {
  const std::string out = ok(args);
  boost::system::error_code ec;
  json::value v = json::parse(out, ec);
  if (ec || !v.is_object()) {
    throw protocol_failure("fun-notes did not print a JSON object: " + out);
  }
  return v.get_object();
}

std::string cli_user::state(const std::string& room) const {
  json::object out = json_of({"notes", room, "--json"});
  return serialized_state(json::object{{"seq", out.at("seq")}, {"notes", out.at("notes")}});
}

test_certificate make_test_certificate(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  test_certificate c{dir / "key.pem", dir / "cert.pem", dir / "combined.pem"};
  const std::string gen =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost"
      " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
      shell_quote(c.key.string()) + " -out " + shell_quote(c.cert.string()) + " >/dev/null 2>&1";
  if (std::system(gen.c_str()) != 0) {
    throw protocol_failure("openssl could not make a certificate: run scripts/setup.sh");
  }
  std::ifstream key(c.key);
  std::ifstream cert(c.cert);
  std::ofstream both(c.combined);
  both << cert.rdbuf() << key.rdbuf();
  return c;
}

}  // namespace fun_notes::test

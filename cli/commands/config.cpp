// The sign-in file and the cache locations.
#include "commands/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fun_notes::cli {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

fs::path home() {
  const char* h = std::getenv("HOME");
  return h != nullptr && *h != '\0' ? fs::path(h) : fs::current_path();
}

fs::path xdg(const char* variable, const char* fallback) {
  const char* v = std::getenv(variable);
  // The XDG spec says a relative value is to be ignored.
  if (v != nullptr && *v == '/') {
    return fs::path(v) / "fun-notes";
  }
  return home() / fallback / "fun-notes";
}

fs::path credentials_file() {
  return config_dir() / "credentials.json";
}

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

fs::path config_dir() {
  return xdg("XDG_CONFIG_HOME", ".config");
}

fs::path data_dir() {
  return xdg("XDG_DATA_HOME", ".local/share");
}

std::optional<credentials> load_credentials() {
  std::ifstream in(credentials_file());
  if (!in) {
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  const json::value v = json::parse(text.str(), ec);
  if (ec || !v.is_object()) {
    return std::nullopt;
  }
  const auto& o = v.get_object();
  credentials c{str(o, "server"), str(o, "token"), {}};
  if (const auto* u = o.if_contains("user"); u != nullptr && u->is_object()) {
    c.user = {str(u->get_object(), "id"), str(u->get_object(), "name")};
  }
  if (c.token.empty()) {
    return std::nullopt;
  }
  return c;
}

void save_credentials(const credentials& c) {
  fs::create_directories(config_dir());
  ::chmod(config_dir().c_str(), 0700);
  const fs::path file = credentials_file();
  const fs::path tmp = file.string() + ".tmp";
  const std::string text = json::serialize(
      json::object{{"server", c.server},
                   {"token", c.token},
                   {"user", json::object{{"id", c.user.id}, {"name", c.user.name}}}});
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw std::runtime_error("cannot write " + tmp.string());
  }
  ::fchmod(fd, 0600);  // an older file of the same name may have had a wider mode
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + file.string());
  }
}

bool remove_credentials() {
  std::error_code ec;
  return fs::remove(credentials_file(), ec);
}

fs::path cache_file(const std::string& server, const std::string& user_id) {
  // One readable file name per server and user: the URL with anything but [A-Za-z0-9.-] as '_'.
  std::string name;
  std::string_view s = server;
  for (std::string_view scheme : {"https://", "http://", "wss://", "ws://"}) {
    if (s.starts_with(scheme)) {
      s.remove_prefix(scheme.size());
      break;
    }
  }
  for (char ch : s) {
    const bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-';
    name.push_back(keep ? ch : '_');
  }
  while (!name.empty() && name.back() == '_') {
    name.pop_back();
  }
  return data_dir() / (name + "-" + user_id + ".sqlite");
}

std::string resolve_server(const std::string& flag, const std::optional<credentials>& c) {
  if (!flag.empty()) {
    return flag;
  }
  if (const char* env = std::getenv("FUN_NOTES_SERVER"); env != nullptr && *env != '\0') {
    return env;
  }
  if (c && !c->server.empty()) {
    return c->server;
  }
  return default_server;
}

}  // namespace fun_notes::cli

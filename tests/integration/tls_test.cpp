// The server terminating TLS itself (--tls-cert, --tls-key): https and wss on one port, with the
// terminal client, curl and openssl as the peers.
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli_support.hpp"
#include "fixture.hpp"

namespace fun_notes::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// What a shell command prints on stdout (stderr dropped).
std::string capture(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) {
    return out;
  }
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) {
    out.append(buf.data(), n);
  }
  ::pclose(pipe);
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

class tls : public server_test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("fun-notes-tls-" + unique_username("t"));
    cert_ = make_test_certificate(dir_);
  }
  void TearDown() override {
    server_test::TearDown();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  server_process& start_tls_server(std::vector<std::string> more = {}) {
    std::vector<std::string> args{"--tls-cert", cert_.cert.string(), "--tls-key",
                                  cert_.key.string()};
    args.insert(args.end(), more.begin(), more.end());
    return start_server(with_args(std::move(args)));
  }

  // curl trusting the test certificate.
  std::string curl(std::uint16_t port, const std::string& path, const std::string& flags) const {
    return capture("curl -sS --max-time 10 --cacert " + shell_quote(cert_.cert.string()) + " " +
                   flags + " https://localhost:" + std::to_string(port) + path);
  }

  // The status line the server answers a WebSocket upgrade with, sent over TLS by openssl.
  std::string upgrade_status_line(std::uint16_t port, const std::string& origin) const {
    const std::string request = "GET /ws HTTP/1.1\\r\\nHost: localhost:" + std::to_string(port) +
                                "\\r\\nOrigin: " + origin +
                                "\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
                                "Sec-WebSocket-Version: 13\\r\\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n\\r\\n";
    const std::string line = capture(
        "printf '" + request + "' | timeout 10 openssl s_client -quiet -connect 127.0.0.1:" +
        std::to_string(port) + " -CAfile " + shell_quote(cert_.cert.string()) + " | head -n 1");
    return line.substr(0, line.find_first_of("\r\n"));
  }

  fs::path dir_;
  test_certificate cert_;
};

TEST_F(tls, the_server_serves_https_and_wss_on_its_port) {
  auto& server = start_tls_server();
  // HTTP over TLS, with the header that keeps browsers on https.
  const std::string head = lower(curl(server.port(), "/healthz", "-D - -o /dev/null"));
  EXPECT_NE(head.find("http/1.1 200"), std::string::npos) << head;
  EXPECT_NE(head.find("strict-transport-security: max-age="), std::string::npos) << head;
  // Plain HTTP on the TLS port is not served.
  EXPECT_THROW(http_request(server.port(), "GET", "/healthz", std::nullopt, {}, 5000ms),
               protocol_failure);
  // The page's own origin is https://host:port: its socket is accepted, the http one is not.
  const std::string own = "https://localhost:" + std::to_string(server.port());
  EXPECT_EQ(upgrade_status_line(server.port(), own), "HTTP/1.1 101 Switching Protocols");
  EXPECT_EQ(upgrade_status_line(server.port(), "http://localhost:" + std::to_string(server.port())),
            "HTTP/1.1 403 Forbidden");

  // The terminal client signs up, writes live over wss, and a second device reads it back.
  cli_user laptop(server.port());
  cli_user phone(server.port());
  for (auto* device : {&laptop, &phone}) {
    device->set_extra_env("SSL_CERT_FILE=" + shell_quote(cert_.cert.string()));
  }
  const std::string name = unique_username("tls");
  const std::string password = "password-" + name;
  laptop.ok({"--server", own, "register", "-u", name, "--password", password});
  const std::string room =
      str(laptop.json_of({"--server", own, "create-room", "Over TLS", "--json"}), "id");
  const std::string added = laptop.ok({"--server", own, "add", room, "-t", "sent over wss"});
  EXPECT_EQ(added.find("queued"), std::string::npos) << added;
  phone.ok({"--server", own, "login", "-u", name, "--password", password});
  const json::object notes = phone.json_of({"--server", own, "notes", room, "--json"});
  EXPECT_FALSE(notes.at("offline").as_bool());
  ASSERT_EQ(arr(notes, "notes").size(), 1U);
  EXPECT_EQ(str(arr(notes, "notes")[0].as_object(), "title"), "sent over wss");
}

TEST_F(tls, a_peer_that_stalls_or_fails_the_handshake_does_not_hold_the_server) {
  auto& server = start_tls_server();
  // A connection that never sends its ClientHello is closed within the request deadline.
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket silent(io);
  silent.connect({boost::asio::ip::make_address("127.0.0.1"), server.port()});
  const auto start = std::chrono::steady_clock::now();
  // A client that trusts nothing (no CA file) gives up on the handshake.
  EXPECT_EQ(capture("curl -sS --max-time 10 -o /dev/null -w '%{http_code}' https://localhost:" +
                    std::to_string(server.port()) + "/healthz"),
            "000");
  // Meanwhile everyone else is served.
  EXPECT_EQ(curl(server.port(), "/healthz", "-o /dev/null -w '%{http_code}'"), "200");
  char byte = 0;
  boost::system::error_code ec;
  silent.read_some(boost::asio::buffer(&byte, 1), ec);  // returns when the server closes
  EXPECT_TRUE(ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset)
      << ec.message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

TEST_F(tls, a_certificate_and_key_that_do_not_fit_stop_the_start_with_the_reason) {
  const test_certificate other = make_test_certificate(dir_ / "other");
  server_process::options opts;
  opts.extra_args = {"--tls-cert", cert_.cert.string(), "--tls-key", other.key.string()};
  try {
    server_process server(opts);
    ADD_FAILURE() << "the server started with a key that is not its certificate's";
  } catch (const protocol_failure& e) {
    EXPECT_NE(std::string(e.what()).find("does not belong to the certificate"), std::string::npos)
        << e.what();
  }
  opts.extra_args = {"--tls-cert", cert_.cert.string()};
  try {
    server_process server(opts);
    ADD_FAILURE() << "the server started with a certificate and no key";
  } catch (const protocol_failure& e) {
    EXPECT_NE(std::string(e.what()).find("--tls-cert and --tls-key go together"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace fun_notes::test

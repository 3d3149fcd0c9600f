// RESP values, key slots and the hiredis-backed wire codec shared by the Redis client and tests.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fun_notes::store::redis {

enum class reply_type { string, status, error, integer, nil, array };

// One RESP2 value as a tree. Errors the client makes up itself (a lost connection) are error
// replies too, so a caller checks one thing: is_error().
struct reply {
  reply_type type = reply_type::nil;
  std::string str;  // string, status and error text
  long long integer = 0;
  std::vector<reply> elements;

  bool is_error() const { return type == reply_type::error; }
  bool is_nil() const { return type == reply_type::nil; }
  bool is_string() const { return type == reply_type::string; }
  bool is_status() const { return type == reply_type::status; }
  bool is_integer() const { return type == reply_type::integer; }
  bool is_array() const { return type == reply_type::array; }

  static reply make_error(std::string message);
  static reply make_string(std::string text);
};

// The Redis Cluster slot of `key`: CRC16 (XMODEM) mod 16384 of the key, or of the text between
// the first '{' and the next '}' when that text is not empty (the hash tag that keeps a room's
// keys in one slot).
std::uint16_t key_slot(std::string_view key);

// The RESP encoding of one command (an array of bulk strings).
std::string format_command(const std::vector<std::string>& args);

// Incremental RESP parser over hiredis' redisReader.
class resp_reader {
 public:
  resp_reader();
  ~resp_reader();
  resp_reader(const resp_reader&) = delete;
  resp_reader& operator=(const resp_reader&) = delete;

  // Returns false if the bytes are not RESP (a protocol error: drop the connection).
  bool feed(const char* data, std::size_t size);
  // The next complete reply, std::nullopt when more bytes are needed; sets failed() on a
  // protocol error.
  std::optional<reply> next();
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }

 private:
  struct reader_deleter {
    void operator()(void* reader) const;
  };
  std::unique_ptr<void, reader_deleter> reader_;
  bool failed_ = false;
  std::string error_;
};

}  // namespace fun_notes::store::redis

// RESP values, key slots and the hiredis-backed wire codec shared by the Redis client and tests.
#include "store/redis/resp.hpp"

#include <hiredis/hiredis.h>

#include <cstdlib>
#include <stdexcept>

namespace fun_notes::store::redis {

namespace {

reply convert(const redisReply& r) {
  reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = reply_type::string;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = reply_type::status;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = reply_type::error;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = reply_type::integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = reply_type::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) {
        out.elements.push_back(convert(*r.element[i]));
      }
      break;
    default:
      out.type = reply_type::nil;
      break;
  }
  return out;
}

}  // namespace

reply reply::make_error(std::string message) {
  reply r;
  r.type = reply_type::error;
  r.str = std::move(message);
  return r;
}

reply reply::make_string(std::string text) {
  reply r;
  r.type = reply_type::string;
  r.str = std::move(text);
  return r;
}

std::uint16_t key_slot(std::string_view key) {
  const auto open = key.find('{');
  if (open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  std::uint16_t crc = 0;
  for (const char c : key) {
    crc ^= static_cast<std::uint16_t>(static_cast<unsigned char>(c) << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return static_cast<std::uint16_t>(crc & 16383);
}

std::string format_command(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* target = nullptr;
  const int size =
      redisFormatCommandArgv(&target, static_cast<int>(args.size()), argv.data(), lengths.data());
  if (size < 0 || target == nullptr) {
    throw std::bad_alloc();
  }
  std::string wire(target, static_cast<std::size_t>(size));
  redisFreeCommand(target);
  return wire;
}

void resp_reader::reader_deleter::operator()(void* reader) const {
  redisReaderFree(static_cast<redisReader*>(reader));
}

resp_reader::resp_reader() : reader_(redisReaderCreate()) {
  if (!reader_) {
    throw std::bad_alloc();
  }
}

resp_reader::~resp_reader() = default;

bool resp_reader::feed(const char* data, std::size_t size) {
  auto* reader = static_cast<redisReader*>(reader_.get());
  if (redisReaderFeed(reader, data, size) != REDIS_OK) {
    failed_ = true;
    error_ = reader->errstr;
    return false;
  }
  return true;
}

std::optional<reply> resp_reader::next() {
  auto* reader = static_cast<redisReader*>(reader_.get());
  void* raw = nullptr;
  if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
    failed_ = true;
    error_ = reader->errstr;
    return std::nullopt;
  }
  if (raw == nullptr) {
    return std::nullopt;
  }
  std::unique_ptr<redisReply, void (*)(void*)> owned(static_cast<redisReply*>(raw),
                                                     freeReplyObject);
  return convert(*owned);
}

}  // namespace fun_notes::store::redis

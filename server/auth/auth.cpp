// Argon2id password hashing and HS256 JWTs with the algorithm pinned.
#include "auth/auth.hpp"

#include <jwt.h>
#include <sodium.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace fun_notes::server::auth {
namespace {

void ensure_sodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) {
    throw std::runtime_error("libsodium failed to initialise");
  }
}

struct jwt_deleter {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using jwt_ptr = std::unique_ptr<jwt_t, jwt_deleter>;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string hash_password(std::string_view password) {
  ensure_sodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("password hashing ran out of memory");
  }
  return out;
}

bool verify_password(std::string_view hash, std::string_view password) {
  ensure_sodium();
  const std::string h(hash);
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

std::string random_id(std::size_t length) {
  ensure_sodium();
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string id(length, 'a');
  for (auto& c : id) {
    c = alphabet[randombytes_uniform(static_cast<std::uint32_t>(alphabet.size()))];
  }
  return id;
}

token_service::token_service(std::string secret, std::int64_t ttl_seconds)
    : secret_(std::move(secret)), ttl_seconds_(ttl_seconds) {}

std::string token_service::issue(std::string_view user_id, std::string_view user_name) const {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) {
    throw std::runtime_error("jwt_new failed");
  }
  jwt_ptr j(raw);
  const auto now = unix_now();
  const std::string sub(user_id);
  const std::string name(user_name);
  const std::string iss(token_issuer);
  jwt_add_grant(j.get(), "sub", sub.c_str());
  jwt_add_grant(j.get(), "name", name.c_str());
  jwt_add_grant(j.get(), "iss", iss.c_str());
  jwt_add_grant_int(j.get(), "iat", now);
  jwt_add_grant_int(j.get(), "exp", now + ttl_seconds_);
  if (jwt_set_alg(j.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret_.data()),
                  static_cast<int>(secret_.size())) != 0) {
    throw std::runtime_error("jwt_set_alg failed");
  }
  char* encoded = jwt_encode_str(j.get());
  if (encoded == nullptr) {
    throw std::runtime_error("jwt_encode_str failed");
  }
  std::string token(encoded);
  std::free(encoded);  // libjwt 1.10 allocates with malloc and has no jwt_free_str
  return token;
}

std::optional<claims> token_service::verify(std::string_view token) const {
  if (token.empty() || token.size() > 4096) {
    return std::nullopt;
  }
  // Pin the algorithm: libjwt would accept "none" for a token without a signature when no key
  // is given, so the header is checked before trusting anything.
  const std::string t(token);
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, t.c_str(), reinterpret_cast<const unsigned char*>(secret_.data()),
                 static_cast<int>(secret_.size())) != 0 ||
      raw == nullptr) {
    return std::nullopt;
  }
  jwt_ptr j(raw);
  if (jwt_get_alg(j.get()) != JWT_ALG_HS256) {
    return std::nullopt;
  }
  const char* iss = jwt_get_grant(j.get(), "iss");
  const char* sub = jwt_get_grant(j.get(), "sub");
  if (iss == nullptr || token_issuer != iss || sub == nullptr || *sub == '\0') {
    return std::nullopt;
  }
  errno = 0;
  const long exp = jwt_get_grant_int(j.get(), "exp");
  if (errno != 0 || exp <= unix_now()) {
    return std::nullopt;
  }
  claims c;
  c.user_id = sub;
  const char* name = jwt_get_grant(j.get(), "name");
  c.user_name = name != nullptr ? name : "";
  c.expires_at = exp;
  return c;
}

}  // namespace fun_notes::server::auth

// Passwords (Argon2id via libsodium) and session tokens (HS256 JWT via libjwt).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fun_notes::server::auth {

// Throws std::runtime_error only when libsodium cannot initialise or allocate.
std::string hash_password(std::string_view password);
bool verify_password(std::string_view hash, std::string_view password);

// Random URL-safe identifier of `length` chars from [A-Za-z0-9].
std::string random_id(std::size_t length);
// A random id people read and type: [2-9a-z] without 0, 1, i, l and o (31 symbols, ~5 bits
// each). Room ids are these, 14 long (69 bits).
std::string readable_id(std::size_t length);

struct claims {
  std::string user_id;
  std::string user_name;
  std::int64_t expires_at = 0;  // unix seconds
  std::int64_t token_version = 0;  // "ver"; 0 when absent
};

// HS256 tokens under a key set: the first secret signs, every secret verifies, so a secret
// can be rotated without signing everyone out (put the new one first, drop the old one once
// its tokens have expired). A token names its key by `kid`, a fingerprint of the secret that
// does not reveal it; a token without `kid` is checked against the first secret.
class token_service {
 public:
  token_service(std::string secret, std::int64_t ttl_seconds)
      : token_service(std::vector<std::string>{std::move(secret)}, ttl_seconds) {}
  token_service(std::vector<std::string> secrets, std::int64_t ttl_seconds);

  std::string issue(std::string_view user_id, std::string_view user_name,
                    std::int64_t token_version = 0) const;
  // nullopt unless the header is exactly alg "HS256" (typ, if any, "JWT"; kid, if any, one of
  // the key set), the signature matches, iss is fun-notes, sub is set, iat is not in the
  // future and exp has not passed.
  std::optional<claims> verify(std::string_view token) const;

  // The kid of a secret: 16 hex digits of its BLAKE2b hash.
  static std::string key_id(std::string_view secret);

 private:
  struct key {
    std::string id;
    std::string secret;
  };
  std::vector<key> keys_;
  std::int64_t ttl_seconds_;
};

inline constexpr std::string_view token_issuer = "fun-notes";

}  // namespace fun_notes::server::auth

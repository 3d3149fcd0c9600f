// Passwords (Argon2id via libsodium) and session tokens (HS256 JWT via libjwt).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fun_notes::server::auth {

// Throws std::runtime_error only when libsodium cannot initialise or allocate.
std::string hash_password(std::string_view password);
bool verify_password(std::string_view hash, std::string_view password);

// Random URL-safe identifier of `length` chars from [A-Za-z0-9].
std::string random_id(std::size_t length);

struct claims {
  std::string user_id;
  std::string user_name;
  std::int64_t expires_at = 0;  // unix seconds
};

class token_service {
 public:
  token_service(std::string secret, std::int64_t ttl_seconds);

  std::string issue(std::string_view user_id, std::string_view user_name) const;
  // nullopt for a malformed, wrongly signed, non-HS256, wrong-issuer or expired token.
  std::optional<claims> verify(std::string_view token) const;

 private:
  std::string secret_;
  std::int64_t ttl_seconds_;
};

inline constexpr std::string_view token_issuer = "fun-notes";

}  // namespace fun_notes::server::auth

// Argon2id password hashing and HS256 JWTs with the algorithm pinned.
#include "auth/auth.hpp"

#include <jwt.h>
#include <sodium.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "fun_notes/core/codec.hpp"

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

std::string readable_id(std::size_t length) {
  ensure_sodium();
  // Lower case and digits without the look-alikes 0/o, 1/l and i: an id read aloud or copied
  // by hand is typed right.
  static constexpr std::string_view alphabet = "23456789abcdefghjkmnpqrstuvwxyz";
  std::string id(length, 'a');
  for (auto& c : id) {
    c = alphabet[randombytes_uniform(static_cast<std::uint32_t>(alphabet.size()))];
  }
  return id;
}

token_service::token_service(std::vector<std::string> secrets, std::int64_t ttl_seconds)
    : ttl_seconds_(ttl_seconds) {
  for (auto& secret : secrets) {
    keys_.push_back(key{key_id(secret), std::move(secret)});
  }
  if (keys_.empty()) {
    throw std::invalid_argument("a token service needs at least one secret");
  }
}

std::string token_service::key_id(std::string_view secret) {
  ensure_sodium();
  unsigned char hash[8];
  crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), nullptr, 0);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : hash) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

std::string token_service::issue(std::string_view user_id, std::string_view user_name,
                                 std::int64_t token_version) const {
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
  jwt_add_grant_int(j.get(), "ver", token_version);
  const key& signer = keys_.front();
  jwt_add_header(j.get(), "kid", signer.id.c_str());
  if (jwt_set_alg(j.get(), JWT_ALG_HS256,
                  reinterpret_cast<const unsigned char*>(signer.secret.data()),
                  static_cast<int>(signer.secret.size())) != 0) {
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
  // The header is read here, strictly, before libjwt sees the token: libjwt matches algorithm
  // names without case and accepts "none" when no key is given.
  const auto dot = token.find('.');
  if (dot == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string header_b64(token.substr(0, dot));
  std::string header(header_b64.size(), '\0');
  std::size_t header_len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(header.data()), header.size(),
                        header_b64.data(), header_b64.size(), nullptr, &header_len, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return std::nullopt;
  }
  header.resize(header_len);
  const auto h = core::parse_json(header);
  if (!h || !h->is_object()) {
    return std::nullopt;
  }
  const auto& ho = h->get_object();
  const auto* alg = ho.if_contains("alg");
  const auto* typ = ho.if_contains("typ");
  const auto* kid = ho.if_contains("kid");
  if (alg == nullptr || !alg->is_string() || alg->get_string() != "HS256" ||
      (typ != nullptr && (!typ->is_string() || typ->get_string() != "JWT")) ||
      (kid != nullptr && !kid->is_string())) {
    return std::nullopt;
  }
  const key* k = &keys_.front();
  if (kid != nullptr) {
    k = nullptr;
    for (const auto& candidate : keys_) {
      if (candidate.id == kid->get_string()) {
        k = &candidate;
      }
    }
    if (k == nullptr) {
      return std::nullopt;  // a key this server does not have (or no longer has)
    }
  }
  const std::string t(token);
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, t.c_str(), reinterpret_cast<const unsigned char*>(k->secret.data()),
                 static_cast<int>(k->secret.size())) != 0 ||
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
  const auto now = unix_now();
  errno = 0;
  const long exp = jwt_get_grant_int(j.get(), "exp");
  if (errno != 0 || exp <= now) {
    return std::nullopt;
  }
  errno = 0;
  const long iat = jwt_get_grant_int(j.get(), "iat");
  if (errno != 0 || iat > now + 60) {
    return std::nullopt;  // no issue time, or one in the future beyond clock skew
  }
  claims c;
  c.user_id = sub;
  const char* name = jwt_get_grant(j.get(), "name");
  c.user_name = name != nullptr ? name : "";
  c.expires_at = exp;
  errno = 0;
  const long ver = jwt_get_grant_int(j.get(), "ver");
  c.token_version = errno == 0 ? ver : 0;
  return c;
}

}  // namespace fun_notes::server::auth

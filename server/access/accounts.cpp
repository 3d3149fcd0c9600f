// Accounts and the audit log of their events.
#include "access/accounts.hpp"

#include <spdlog/spdlog.h>

#include <regex>

#include "fun_notes/core/codec.hpp"

namespace fun_notes::server::access {

namespace {

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    n += (c & 0xC0) != 0x80 ? 1 : 0;
  }
  return n;
}

void check_password(std::string_view password, const char* field) {
  const auto n = code_points(password);
  if (n < 8 || n > 256) {
    throw denied{400, "invalid", std::string(field) + " must be 8-256 characters"};
  }
}

// A hash no password matches, checked for names without an account so that a wrong name
// takes as long as a wrong password.
const std::string& stand_in_hash() {
  static const std::string hash = auth::hash_password(auth::random_id(32));
  return hash;
}

denied wrong_password() {
  return denied{401, "unauthorized", "wrong username or password"};
}

}  // namespace

std::string accounts::issue(const store::user& u) const {
  return tokens_.issue(u.id, u.name, u.token_version);
}

signed_in accounts::register_user(std::string_view name, std::string_view password,
                                  std::string_view address) {
  static const std::regex name_re("^[A-Za-z0-9_.-]{3,32}$");
  if (!std::regex_match(name.begin(), name.end(), name_re)) {
    throw denied{400, "invalid", "username must be 3-32 characters of A-Z a-z 0-9 _ . -"};
  }
  check_password(password, "password");
  store::user u;
  u.id = "u_" + auth::random_id(16);
  u.name = name;
  u.password_hash = auth::hash_password(password);
  u.created_at = core::format_time(core::now_millis());
  if (!cold_.create_user(u)) {
    throw denied{409, "conflict", "that username is taken"};
  }
  spdlog::info("audit: registered {} ({}) from {}", u.name, u.id, address);
  return signed_in{u, issue(u)};
}

signed_in accounts::sign_in(std::string_view name, std::string_view password,
                            std::string_view address) {
  const auto now = auth::login_throttle::clock::now();
  if (const auto wait = throttle_.retry_after(name, address, now); wait.count() > 0) {
    spdlog::info("audit: sign-in throttled for {:?} from {} ({} s)", name, address, wait.count());
    throw denied{429, "rate_limited",
                 "too many failed sign-ins: try again in " + std::to_string(wait.count()) + " s",
                 wait.count()};
  }
  auto u = cold_.find_user_by_name(name);
  const bool good = u ? auth::verify_password(u->password_hash, password)
                      : (auth::verify_password(stand_in_hash(), password), false);
  if (!good) {
    throttle_.failed(name, address, now);
    spdlog::info("audit: sign-in failed for {:?} from {}", name, address);
    throw wrong_password();
  }
  throttle_.succeeded(name);
  spdlog::info("audit: signed in {} ({}) from {}", u->name, u->id, address);
  return signed_in{*u, issue(*u)};
}

standing accounts::check(const auth::claims& c) {
  try {
    const auto u = cold_.find_user(c.user_id);
    return u && u->token_version == c.token_version ? standing::current : standing::revoked;
  } catch (const std::exception& e) {
    spdlog::warn("the account of user {} could not be checked: {}", c.user_id, e.what());
    return standing::unverified;
  }
}

store::user accounts::verified_user(const auth::claims& c, std::string_view password) {
  auto u = cold_.find_user(c.user_id);
  if (!u || u->token_version != c.token_version) {
    throw denied{401, "unauthorized", "the token is invalid or expired"};
  }
  if (!auth::verify_password(u->password_hash, password)) {
    spdlog::info("audit: wrong current password for {} ({})", u->name, u->id);
    throw denied{403, "forbidden", "the current password is wrong"};
  }
  return *u;
}

void accounts::sign_out_everywhere(const auth::claims& c) {
  const auto version = cold_.bump_token_version(c.user_id);
  if (!version) {
    throw denied{401, "unauthorized", "the account of this token does not exist"};
  }
  spdlog::info("audit: signed out everywhere {} ({})", c.user_name, c.user_id);
  events_.user_revoked(c.user_id, *version);
}

signed_in accounts::change_password(const auth::claims& c, std::string_view current_password,
                                    std::string_view new_password) {
  check_password(new_password, "new_password");
  auto u = verified_user(c, current_password);
  const auto version = cold_.set_password(u.id, auth::hash_password(new_password));
  if (!version) {
    throw denied{401, "unauthorized", "the account of this token does not exist"};
  }
  u.token_version = *version;
  spdlog::info("audit: password changed for {} ({})", u.name, u.id);
  events_.user_revoked(u.id, *version);
  return signed_in{u, issue(u)};
}

void accounts::delete_account(const auth::claims& c, std::string_view password) {
  const auto u = verified_user(c, password);
  const auto rooms = cold_.delete_user(u.id);
  if (!rooms) {
    throw denied{401, "unauthorized", "the account of this token does not exist"};
  }
  spdlog::info("audit: account deleted {} ({}) with {} owned rooms", u.name, u.id, rooms->size());
  for (const auto& room : *rooms) {
    events_.room_deleted(room);
  }
  events_.user_revoked(u.id, u.token_version + 1);
}

}  // namespace fun_notes::server::access

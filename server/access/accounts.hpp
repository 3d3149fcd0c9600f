// Accounts: registration, sign-in (throttled, the same answer and time for any name), and the
// changes that end older tokens (password change, sign-out everywhere, deletion). Every event
// is written to the audit log. All calls block (password hashing, the cold store): run them on
// the worker pool.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "access/room_access.hpp"
#include "auth/auth.hpp"
#include "auth/login_throttle.hpp"
#include "store/cold_store.hpp"

namespace fun_notes::server::access {

// A signed-in answer: the user and a fresh token.
struct signed_in {
  store::user user;
  std::string token;
};

enum class standing {
  current,     // the account exists and the token is of its current version
  revoked,     // no such account, or the token is older than a sign-out / password change
  unverified,  // the store could not answer: the signature stands (sessions survive an outage)
};

class accounts {
 public:
  accounts(store::cold_store& cold, const auth::token_service& tokens,
           auth::login_throttle& throttle, access_events& events)
      : cold_(cold), tokens_(tokens), throttle_(throttle), events_(events) {}

  // Throws denied (invalid: name or password shape; conflict: name taken without case).
  signed_in register_user(std::string_view name, std::string_view password,
                          std::string_view address);
  // Throws denied (unauthorized; rate_limited with retry_after_seconds).
  signed_in sign_in(std::string_view name, std::string_view password, std::string_view address);
  standing check(const auth::claims& c);
  // Ends every token of the user, this one included.
  void sign_out_everywhere(const auth::claims& c);
  // Ends every older token; the answer holds the one token that works now.
  signed_in change_password(const auth::claims& c, std::string_view current_password,
                            std::string_view new_password);
  // Deletes the account and the rooms it owns.
  void delete_account(const auth::claims& c, std::string_view password);

 private:
  store::user verified_user(const auth::claims& c, std::string_view password);
  std::string issue(const store::user& u) const;

  store::cold_store& cold_;
  const auth::token_service& tokens_;
  auth::login_throttle& throttle_;
  access_events& events_;
};

}  // namespace fun_notes::server::access

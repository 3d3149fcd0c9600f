// Moving an embedded instance (SQLite cold store and op log) into PostgreSQL.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "store/cold_store.hpp"
#include "store/hot_log.hpp"

namespace fun_notes::server::admin {

struct migrate_options {
  bool replace = false;  // overwrite a room the target holds in another state
};

struct migrate_report {
  std::size_t users_created = 0;
  std::size_t users_present = 0;
  std::size_t rooms_created = 0;
  std::size_t rooms_unchanged = 0;
  std::size_t rooms_replaced = 0;
  bool secret_copied = false;
  // Things the operator must look at; the exit code is non-zero when there are any.
  std::vector<std::string> problems;

  bool changed_anything() const {
    return users_created + rooms_created + rooms_replaced > 0 || secret_copied;
  }
};

// Copies every user (with the password hash and the token version, so tokens revoked in the
// source stay revoked), room (its state at the latest seq: snapshot plus the op log's
// unpersisted ops, folded with the core apply function), member, invite and the JWT secret
// from `source` into `target`. What the target already holds in the same state is
// left alone, so a second run changes nothing. Progress goes to `log`. Throws store_error.
migrate_report migrate(store::cold_store& source, store::hot_log& source_log,
                       store::cold_store& target, const migrate_options& options,
                       std::ostream& log);

}  // namespace fun_notes::server::admin

// The SQLite RAII layer: every failure becomes a store_error naming the file and the step.
#include "store/sqlite/sqlite_db.hpp"

#include <sqlite3.h>

#include <string>

#include "store/store_error.hpp"

namespace fun_notes::store::sqlite {

namespace {

std::string message(sqlite3* db, std::string_view what) {
  std::string text = "sqlite: ";
  text += what;
  text += ": ";
  text += db != nullptr ? sqlite3_errmsg(db) : "out of memory";
  const char* file = db != nullptr ? sqlite3_db_filename(db, "main") : nullptr;
  if (file != nullptr && *file != '\0') {
    text += " (";
    text += file;
    text += ")";
  }
  return text;
}

}  // namespace

statement::~statement() {
  if (stmt_ == nullptr) {
    return;  // moved from
  }
  // Errors of the last step were already reported by step(); reset only repeats them.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void statement::bind_int64(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) {
    fail("bind");
  }
}

void statement::bind_double(int index, double value) {
  if (sqlite3_bind_double(stmt_, index, value) != SQLITE_OK) {
    fail("bind");
  }
}

void statement::bind_text(int index, std::string_view value) {
  // SQLITE_TRANSIENT: SQLite copies the bytes, so temporaries may be bound.
  if (sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                          SQLITE_UTF8) != SQLITE_OK) {
    fail("bind");
  }
}

void statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) {
    fail("bind");
  }
}

bool statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  fail("step");
}

void statement::run() {
  while (step()) {
  }
}

std::int64_t statement::column_int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double statement::column_double(int column) const {
  return sqlite3_column_double(stmt_, column);
}

std::string statement::column_text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (text == nullptr) {
    return {};
  }
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

void statement::fail(std::string_view what) const {
  std::string context(what);
  context += " `";
  context += sqlite3_sql(stmt_);
  context += "`";
  throw store_error(message(db_, context));
}

database::database(const std::filesystem::path& path, const open_options& options)
    : path_(path.string()) {
  // NOMUTEX: the owner serialises access to this connection, so SQLite's own locking would
  // only cost time.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string text = message(db_, "open " + path_);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw store_error(text);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, options.busy_timeout_ms);
  try {
    exec("PRAGMA journal_mode = WAL");
    exec(options.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    exec("PRAGMA foreign_keys = ON");
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

database::~database() {
  for (auto& [sql, stmt] : statements_) {
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db_);
}

void database::exec(std::string_view sql) {
  const std::string text(sql);
  char* error = nullptr;
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string what = "exec `" + text + "`: ";
    what += error != nullptr ? error : sqlite3_errmsg(db_);
    sqlite3_free(error);
    throw store_error("sqlite: " + what + " (" + path_ + ")");
  }
}

sqlite3_stmt* database::prepare(std::string_view sql) {
  if (auto it = statements_.find(sql); it != statements_.end()) {
    return it->second;
  }
  sqlite3_stmt* stmt = nullptr;
  // PERSISTENT: these statements live as long as the connection.
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK) {
    fail("prepare `" + std::string(sql) + "`");
  }
  statements_.emplace(std::string(sql), stmt);
  return stmt;
}

std::int64_t database::changes() const {
  return sqlite3_changes64(db_);
}

bool database::in_transaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

void database::migrate(std::span<const std::string_view> migrations) {
  exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "  version INTEGER PRIMARY KEY,"
      "  applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))");
  // The pragma is a no-op inside a transaction, so it is set around them, and set back however
  // the migrations end.
  bool foreign_keys = false;
  {
    auto st = query("PRAGMA foreign_keys");
    foreign_keys = st.step() && st.column_bool(0);
  }
  struct restore_foreign_keys {
    database& db;
    bool on;
    ~restore_foreign_keys() {
      try {
        db.exec(on ? "PRAGMA foreign_keys = ON" : "PRAGMA foreign_keys = OFF");
      } catch (...) {  // NOLINT(bugprone-empty-catch): nothing better to do in a destructor
      }
    }
  } restore{*this, foreign_keys};
  exec("PRAGMA foreign_keys = OFF");
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    const auto version = static_cast<std::int64_t>(i + 1);
    // IMMEDIATE: two processes opening the same file must not both apply a migration.
    transaction tx(*this, transaction::kind::immediate);
    bool applied = false;
    {
      auto st = query("SELECT 1 FROM schema_migrations WHERE version = ?1", version);
      applied = st.step();
    }
    if (applied) {
      continue;
    }
    exec(migrations[i]);
    bool broken = false;
    {
      auto st = query("PRAGMA foreign_key_check");
      broken = st.step();
    }
    if (broken) {
      throw store_error("sqlite: migration " + std::to_string(version) + " of " + path_ +
                        " left rows whose foreign keys point at nothing");
    }
    query("INSERT INTO schema_migrations (version) VALUES (?1)", version).run();
    tx.commit();
  }
  std::int64_t newest = 0;
  {
    auto st = query("SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (st.step()) {
      newest = st.column_int64(0);
    }
  }
  if (newest > static_cast<std::int64_t>(migrations.size())) {
    throw store_error("sqlite: " + path_ + " has schema version " + std::to_string(newest) +
                      ", newer than this build knows (" + std::to_string(migrations.size()) + ")");
  }
}

void database::fail(std::string_view what) const {
  throw store_error(message(db_, what));
}

transaction::transaction(database& db, kind k) : db_(db) {
  db_.exec(k == kind::immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
}

transaction::~transaction() {
  // SQLite rolls some failures back by itself (I/O errors, a full disk); only roll back what
  // is still open.
  if (open_ && db_.in_transaction()) {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {  // NOLINT(bugprone-empty-catch): nothing better to do in a destructor
    }
  }
}

void transaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace fun_notes::store::sqlite

// A thin RAII layer over the SQLite C API shared by the SQLite adapters: a connection with
// cached prepared statements, transactions and versioned schema migrations.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

struct sqlite3;
struct sqlite3_stmt;

namespace fun_notes::store::sqlite {

// A prepared statement borrowed from its database's cache. It resets itself and clears its
// bindings when it goes out of scope, so the next user of the cached statement starts clean
// and no read cursor stays open past its scope. Every failure throws store_error.
class statement {
 public:
  statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  statement(statement&& other) noexcept
      : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  statement& operator=(statement&&) = delete;
  ~statement();

  // Binds 1-based parameter `index`; optionals bind NULL when empty.
  template <class T>
  statement& bind(int index, const T& value) {
    if constexpr (std::is_same_v<T, bool>) {
      bind_int64(index, value ? 1 : 0);
    } else if constexpr (std::is_integral_v<T>) {
      bind_int64(index, static_cast<std::int64_t>(value));
    } else if constexpr (std::is_floating_point_v<T>) {
      bind_double(index, static_cast<double>(value));
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      bind_text(index, std::string_view(value));
    } else {
      static_assert(std::is_same_v<T, std::optional<typename T::value_type>>,
                    "unsupported SQLite parameter type");
      if (value) {
        bind(index, *value);
      } else {
        bind_null(index);
      }
    }
    return *this;
  }

  // Steps once: true when a row is available, false when the statement has finished.
  bool step();
  // Steps to completion, for statements that return no rows.
  void run();

  std::int64_t column_int64(int column) const;
  double column_double(int column) const;
  bool column_bool(int column) const { return column_int64(column) != 0; }
  std::string column_text(int column) const;

 private:
  void bind_int64(int index, std::int64_t value);
  void bind_double(int index, double value);
  void bind_text(int index, std::string_view value);
  void bind_null(int index);
  [[noreturn]] void fail(std::string_view what) const;

  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

struct open_options {
  // FULL fsyncs the WAL on every commit (the hot log's durability contract); NORMAL may lose
  // the last commits on power loss, which is fine for data the hot log still holds.
  bool synchronous_full = false;
  int busy_timeout_ms = 5000;
};

// One connection. Not thread-safe: the owner serialises every use (statements included) with
// its own mutex.
class database {
 public:
  database(const std::filesystem::path& path, const open_options& options);
  database(const database&) = delete;
  database& operator=(const database&) = delete;
  ~database();

  // Runs one or more statements that return nothing worth reading.
  void exec(std::string_view sql);

  // A cached prepared statement with `args` bound to ?1, ?2, ...
  template <class... Args>
  statement query(std::string_view sql, const Args&... args) {
    statement st(db_, prepare(sql));
    int index = 0;
    (st.bind(++index, args), ...);
    return st;
  }

  // Rows changed by the last INSERT, UPDATE or DELETE on this connection.
  std::int64_t changes() const;
  bool in_transaction() const;

  // Brings the schema up to date: migration i (0-based) is schema version i + 1; each pending
  // one runs in its own transaction together with its row in `schema_migrations`. Migrations
  // run with foreign keys off, so one may rebuild a table the way SQLite documents (create the
  // new table, copy, drop the old one, rename) without the drop cascading into other tables;
  // each is checked with PRAGMA foreign_key_check before it commits.
  void migrate(std::span<const std::string_view> migrations);

  const std::string& path() const { return path_; }

 private:
  sqlite3_stmt* prepare(std::string_view sql);
  [[noreturn]] void fail(std::string_view what) const;

  std::string path_;
  sqlite3* db_ = nullptr;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
};

// BEGIN on construction, ROLLBACK on destruction unless commit() succeeded.
class transaction {
 public:
  // `deferred` for reads (the first SELECT takes the snapshot); `immediate` for writes, so a
  // writer waits for the write lock up front instead of failing to upgrade half-way through.
  enum class kind { deferred, immediate };

  transaction(database& db, kind k);
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction();

  void commit();

 private:
  database& db_;
  bool open_ = true;
};

}  // namespace fun_notes::store::sqlite

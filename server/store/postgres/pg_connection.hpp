// libpq in RAII: connections, results, transactions and the small blocking pool they live in.
#pragma once

#include <libpq-fe.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fun_notes::store::pg {

// One query parameter, sent in text format; nullopt is SQL NULL. Values only ever travel as
// parameters, never spliced into SQL text.
class param {
 public:
  // Implicit on purpose: call sites read like the SQL's parameter list.
  param(std::nullopt_t) {}
  param(const char* text) : text_(text) {}
  param(std::string_view text) : text_(std::string(text)) {}
  param(const std::string& text) : text_(text) {}
  param(std::string&& text) : text_(std::move(text)) {}
  param(const std::optional<std::string>& text) : text_(text) {}
  param(std::int64_t value) : text_(std::to_string(value)) {}
  param(double value);
  param(bool value) : text_(value ? "t" : "f") {}

  const char* c_str() const { return text_ ? text_->c_str() : nullptr; }

 private:
  std::optional<std::string> text_;
};

// The shortest text that parses back to exactly `value` (PostgreSQL's float8in reads it).
std::string format_double(double value);

// A text[] / float8[] / boolean[] literal, every element quoted, to pass a whole column of
// values as ONE parameter (unnest / ANY) instead of one placeholder per value.
std::string array_literal(const std::vector<std::string>& elements);

struct result_deleter {
  void operator()(PGresult* r) const { PQclear(r); }
};

// A successful result (a failed one is thrown as store_error by connection::exec).
class result {
 public:
  explicit result(PGresult* r) : result_(r) {}

  int rows() const { return PQntuples(result_.get()); }
  bool is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) == 1; }
  std::string text(int row, int column) const;
  std::int64_t int64(int row, int column) const;
  double float8(int row, int column) const;
  bool boolean(int row, int column) const;
  // Rows touched by INSERT / UPDATE / DELETE.
  std::int64_t affected() const;

 private:
  std::unique_ptr<PGresult, result_deleter> result_;
};

struct connection_deleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};

// One libpq connection, used by one thread at a time (the pool hands it out).
class connection {
 public:
  // Connects and configures the session; throws store_error with libpq's reason.
  explicit connection(const std::string& conninfo);

  result exec(const std::string& sql, const std::vector<param>& params = {});
  // Runs several statements at once (migrations); they take no parameters.
  void exec_script(const std::string& sql);

  // Connected and outside any transaction: safe to hand to the next caller as is.
  bool healthy() const;
  // Reconnects with the same parameters (a lost server, a connection left mid-transaction).
  void reset();

 private:
  void configure();
  [[noreturn]] void fail(std::string_view what, const PGresult* r) const;

  std::unique_ptr<PGconn, connection_deleter> conn_;
};

// BEGIN on construction, ROLLBACK on destruction unless committed.
class transaction {
 public:
  explicit transaction(connection& c, const std::string& begin = "BEGIN");
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction();

  void commit();

 private:
  connection& conn_;
  bool open_ = true;
};

// A fixed set of connections. acquire() blocks while all are lent out; the store's callers are
// worker-pool threads, so waiting here never stalls an io_context.
class pool {
 public:
  pool(const std::string& conninfo, std::size_t size);

  class lease {
   public:
    lease(pool& owner, std::unique_ptr<connection> conn) : owner_(owner), conn_(std::move(conn)) {}
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease() { owner_.release(std::move(conn_)); }

    connection& operator*() { return *conn_; }
    connection* operator->() { return conn_.get(); }

   private:
    pool& owner_;
    std::unique_ptr<connection> conn_;
  };

  // A connection that is connected and idle; a broken one is reconnected first.
  lease acquire();

 private:
  void release(std::unique_ptr<connection> conn);

  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<connection>> idle_;
};

}  // namespace fun_notes::store::pg

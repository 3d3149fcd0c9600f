// libpq in RAII: connections, results, transactions and the small blocking pool they live in.
#include "store/postgres/pg_connection.hpp"

#include <algorithm>
#include <charconv>
#include <string>
#include <system_error>
#include <utility>

#include "store/cold_store.hpp"
#include "store/histogram.hpp"

namespace fun_notes::store::pg {

namespace {

// libpq messages end with a newline; store_error texts do not.
std::string trimmed(const char* message) {
  std::string text = message != nullptr ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

param::param(double value) : text_(format_double(value)) {}

std::string format_double(double value) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc{}) {
    throw store_error("postgres: cannot format a double");
  }
  return std::string(buf, end);
}

std::string array_literal(const std::vector<std::string>& elements) {
  std::string literal = "{";
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (i > 0) {
      literal += ',';
    }
    // Quoted, so NULL, empty strings, commas and braces stay plain text.
    literal += '"';
    for (const char c : elements[i]) {
      if (c == '"' || c == '\\') {
        literal += '\\';
      }
      literal += c;
    }
    literal += '"';
  }
  literal += '}';
  return literal;
}

std::string result::text(int row, int column) const {
  const char* value = PQgetvalue(result_.get(), row, column);
  return std::string(value, static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::int64_t result::int64(int row, int column) const {
  const std::string value = text(row, column);
  std::int64_t parsed = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc{} || end != value.data() + value.size()) {
    throw store_error("postgres: expected an integer, got '" + value + "'");
  }
  return parsed;
}

double result::float8(int row, int column) const {
  const std::string value = text(row, column);
  double parsed = 0;
  // from_chars reads PostgreSQL's "Infinity" and "NaN" too.
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc{} || end != value.data() + value.size()) {
    throw store_error("postgres: expected a double, got '" + value + "'");
  }
  return parsed;
}

bool result::boolean(int row, int column) const {
  return text(row, column) == "t";
}

std::int64_t result::affected() const {
  const char* count = PQcmdTuples(result_.get());
  std::int64_t parsed = 0;
  std::from_chars(count, count + std::char_traits<char>::length(count), parsed);
  return parsed;
}

connection::connection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
  if (!conn_) {
    throw store_error("postgres: out of memory while connecting");
  }
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    throw store_error("postgres: cannot connect: " + trimmed(PQerrorMessage(conn_.get())));
  }
  configure();
}

void connection::configure() {
  // Notices ("relation already exists, skipping") are not errors; libpq would print them on
  // stderr.
  PQsetNoticeProcessor(
      conn_.get(), [](void*, const char*) {}, nullptr);
  if (PQsetClientEncoding(conn_.get(), "UTF8") != 0) {
    throw store_error("postgres: cannot use UTF8: " + trimmed(PQerrorMessage(conn_.get())));
  }
  // Any value above 0 makes PostgreSQL 12+ print the shortest text that round-trips a double
  // exactly (its default, 1, already does); a server configured with 0 would round to 15
  // digits and current_index would come back changed.
  exec("SET extra_float_digits = 3");
}

result connection::exec(const std::string& sql, const std::vector<param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) {
    values.push_back(p.c_str());
  }
  const auto started = std::chrono::steady_clock::now();
  PGresult* raw = PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0);
  timings().postgres.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  result r(raw);
  const auto status = PQresultStatus(raw);
  if (raw == nullptr || (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)) {
    fail(sql, raw);
  }
  return r;
}

void connection::exec_script(const std::string& sql) {
  const auto started = std::chrono::steady_clock::now();
  PGresult* raw = PQexec(conn_.get(), sql.c_str());
  timings().postgres.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  result r(raw);
  if (PQresultStatus(raw) != PGRES_COMMAND_OK) {
    fail(sql, raw);
  }
}

bool connection::healthy() const {
  return PQstatus(conn_.get()) == CONNECTION_OK && PQtransactionStatus(conn_.get()) == PQTRANS_IDLE;
}

void connection::reset() {
  PQreset(conn_.get());
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    throw store_error("postgres: cannot reconnect: " + trimmed(PQerrorMessage(conn_.get())));
  }
  configure();
}

void connection::fail(std::string_view what, const PGresult* r) const {
  const std::string reason =
      r != nullptr ? trimmed(PQresultErrorMessage(r)) : trimmed(PQerrorMessage(conn_.get()));
  // The statement's first line is enough to tell which query failed.
  what.remove_prefix(std::min(what.find_first_not_of(" \n"), what.size()));
  const std::string_view first_line = what.substr(0, what.find('\n'));
  throw store_error("postgres: " + reason + " (in: " + std::string(first_line.substr(0, 80)) + ")");
}

transaction::transaction(connection& c, const std::string& begin) : conn_(c) {
  conn_.exec(begin);
}

transaction::~transaction() {
  if (!open_) {
    return;
  }
  try {
    conn_.exec("ROLLBACK");
  } catch (const store_error&) {
    // The connection is gone or confused; the pool resets it before its next use.
  }
}

void transaction::commit() {
  open_ = false;
  conn_.exec("COMMIT");
}

pool::pool(const std::string& conninfo, std::size_t size) {
  const std::size_t count = size > 0 ? size : 1;
  idle_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    idle_.push_back(std::make_unique<connection>(conninfo));
  }
}

pool::lease pool::acquire() {
  std::unique_ptr<connection> conn;
  {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [this] { return !idle_.empty(); });
    conn = std::move(idle_.back());
    idle_.pop_back();
  }
  // Outside the lock: reconnecting blocks, and other callers may use other connections.
  if (!conn->healthy()) {
    try {
      conn->reset();
    } catch (const store_error&) {
      release(std::move(conn));  // still in the pool, to be retried by the next caller
      throw;
    }
  }
  return lease(*this, std::move(conn));
}

void pool::release(std::unique_ptr<connection> conn) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(conn));
  }
  available_.notify_one();
}

}  // namespace fun_notes::store::pg

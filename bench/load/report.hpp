// The result of a run: named fields in a fixed order, printed as a one-row table and written as
// JSON (a field that does not apply, such as the ack latency of a target without acks, is null).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace fun_notes::load {

class report {
 public:
  using value = std::variant<std::monostate, std::int64_t, double, std::string>;

  void set(const std::string& key, std::int64_t v) { put(key, value{v}); }
  void set(const std::string& key, int v) { put(key, value{std::int64_t{v}}); }
  void set(const std::string& key, double v) { put(key, value{v}); }
  void set(const std::string& key, std::optional<double> v) { put(key, v ? value{*v} : value{}); }
  void set(const std::string& key, std::string v) { put(key, value{std::move(v)}); }
  void set(const std::string& key, const char* v) { put(key, value{std::string(v)}); }
  void set_null(const std::string& key) { put(key, value{}); }

  // The table: the header line, then the row, of the columns listed (absent keys show "-").
  std::string table(const std::vector<std::string>& columns) const;
  std::string json() const;
  // Writes json() to path; false on failure.
  bool write_json(const std::string& path) const;

 private:
  void put(const std::string& key, value v);

  std::vector<std::pair<std::string, value>> fields_;
};

}  // namespace fun_notes::load

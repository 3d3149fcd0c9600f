#include "report.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

namespace fun_notes::load {
namespace {

std::string cell(const report::value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    return std::to_string(*i);
  }
  if (const auto* d = std::get_if<double>(&v)) {
    char buf[64];
    const double a = *d < 0 ? -*d : *d;
    std::snprintf(buf, sizeof buf, a >= 1000 ? "%.0f" : (a >= 10 ? "%.1f" : "%.3f"), *d);
    return buf;
  }
  if (const auto* s = std::get_if<std::string>(&v)) {
    return *s;
  }
  return "-";
}

}  // namespace

void report::put(const std::string& key, value v) {
  for (auto& [k, old] : fields_) {
    if (k == key) {
      old = std::move(v);
      return;
    }
  }
  fields_.emplace_back(key, std::move(v));
}

std::string report::table(const std::vector<std::string>& columns) const {
  std::string header;
  std::string row;
  for (const auto& c : columns) {
    std::string text = "-";
    for (const auto& [k, v] : fields_) {
      if (k == c) {
        text = cell(v);
      }
    }
    const std::size_t width = std::max(c.size(), text.size());
    if (!header.empty()) {
      header += "  ";
      row += "  ";
    }
    header += c + std::string(width - c.size(), ' ');
    row += std::string(width - text.size(), ' ') + text;
  }
  return header + "\n" + row + "\n";
}

std::string report::json() const {
  // By hand rather than through boost::json::serialize, which writes 900.0 as 9E2.
  std::string out = "{";
  for (const auto& [k, v] : fields_) {
    if (out.size() > 1) {
      out += ',';
    }
    out += boost::json::serialize(boost::json::value(k));
    out += ':';
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
      out += std::to_string(*i);
    } else if (const auto* d = std::get_if<double>(&v)) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.10g", *d);
      out += std::isfinite(*d) ? buf : "null";
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      out += boost::json::serialize(boost::json::value(*s));
    } else {
      out += "null";
    }
  }
  return out + "}";
}

bool report::write_json(const std::string& path) const {
  std::ofstream out(path, std::ios::trunc);
  out << json() << "\n";
  return static_cast<bool>(out.flush());
}

}  // namespace fun_notes::load

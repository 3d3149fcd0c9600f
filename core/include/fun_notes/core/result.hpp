// A value-or-error type used across the core and the server for untrusted input.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace fun_notes::core {

// `code` is one of the protocol's error codes: "invalid", "too_large", "forbidden", ...
struct error {
  std::string code;
  std::string message;
};

template <class T>
class result {
 public:
  result(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  result(error err) : v_(std::move(err)) {}          // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const error& err() const { return std::get<1>(v_); }

 private:
  std::variant<T, error> v_;
};

inline error invalid(std::string message) { return error{"invalid", std::move(message)}; }
inline error too_large(std::string message) { return error{"too_large", std::move(message)}; }

}  // namespace fun_notes::core

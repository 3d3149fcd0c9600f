// The one error type of the storage layer, shared by every port and adapter.
#pragma once

#include <stdexcept>

namespace fun_notes::store {

// Thrown by adapters when the backing store fails (I/O error, lost connection, ...).
// Callers above the ports turn it into `unavailable` / HTTP 503; it never reaches a client raw.
class store_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace fun_notes::store

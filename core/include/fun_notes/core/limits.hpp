// The size limits every replica applies to untrusted ops.
#pragma once

#include <cstddef>

namespace fun_notes::core {

struct limits {
  std::size_t max_title_bytes = 1024;
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_rebalance_entries = 10000;
  // Components of one text op: an edit spread over 5,000 places in a text; it bounds what one
  // op costs to transform against each concurrent op.
  std::size_t max_text_op_components = 10000;
};

}  // namespace fun_notes::core

// The visitor of many lambdas for std::visit, shared by the terminal client's code.
#pragma once

namespace fun_notes::cli {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace fun_notes::cli

// The GoogleTest fixture every integration test uses: it owns the servers a test starts and
// prints their logs when the test fails.
#pragma once

#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <vector>

#include "fun_notes_test.hpp"

namespace fun_notes::test {

class server_test : public ::testing::Test {
 protected:
  server_process& start_server(server_process::options opts = {}) {
    servers_.push_back(std::make_unique<server_process>(std::move(opts)));
    return *servers_.back();
  }

  static server_process::options with_args(std::vector<std::string> args) {
    server_process::options o;
    o.extra_args = std::move(args);
    return o;
  }

  void TearDown() override {
    for (const auto& s : servers_) {
      s->running();  // notices a crash
      EXPECT_EQ(s->unexpected_exit(), "") << "fun-notes-server died during the test";
    }
    if (HasFailure()) {
      for (const auto& s : servers_) {
        s->print_log(std::cerr);
      }
    }
  }

 private:
  std::vector<std::unique_ptr<server_process>> servers_;
};

// Unwraps an optional frame in a test, failing with `what` when it is missing.
#define FN_EXPECT_FRAME(var, expr, what)                      \
  auto var##_opt = (expr);                                    \
  ASSERT_TRUE(var##_opt.has_value()) << "no frame: " << what; \
  const json::object& var = *var##_opt

}  // namespace fun_notes::test

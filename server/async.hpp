// Runs blocking work (store calls, password hashing) on the worker pool from a coroutine.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace fun_notes::server {

// `co_await offload(pool, std::move(job))`: runs job() on the pool and resumes the coroutine on
// its own executor; an exception thrown by the job is rethrown there.
//
// g++ 12 destroys temporaries inside a co_await expression twice (GCC PR 99576), so callers
// pass a NAMED job (std::move(local)), never a lambda written inline in the co_await.
template <class F>
boost::asio::awaitable<std::invoke_result_t<F&>> offload(boost::asio::thread_pool& pool, F job) {
  using result_type = std::invoke_result_t<F&>;
  static_assert(std::is_default_constructible_v<result_type>);
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>,
                                     void(std::exception_ptr, result_type)>(
      [&pool](auto handler, F fn) {
        auto home = boost::asio::get_associated_executor(handler);
        boost::asio::post(pool, [handler = std::move(handler), fn = std::move(fn), home]() mutable {
          std::exception_ptr error;
          std::optional<result_type> value;
          try {
            value.emplace(fn());
          } catch (...) {
            error = std::current_exception();
          }
          boost::asio::post(
              home, [handler = std::move(handler), error, value = std::move(value)]() mutable {
                std::move(handler)(error, value ? std::move(*value) : result_type{});
              });
        });
      },
      boost::asio::use_awaitable, std::move(job));
}

}  // namespace fun_notes::server

// Runs blocking work (file I/O, hashing, image decoding, archive writing) on
// a thread pool from a coroutine on an I/O thread, and resumes the coroutine
// on its own executor with the result or the exception.
//
// `fn` is taken by reference, and callers pass a named local: GCC 12
// destroys a lambda temporary that owns resources twice when it is a
// coroutine's argument inside a co_await expression.
#pragma once

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace parley {

template <typename Fn>
boost::asio::awaitable<std::invoke_result_t<Fn&>> offload(boost::asio::thread_pool& pool, Fn& fn) {
  namespace asio = boost::asio;
  using Result = std::invoke_result_t<Fn&>;
  std::conditional_t<std::is_void_v<Result>, bool, std::optional<Result>> result{};
  std::exception_ptr error;
  // The coroutine stays suspended until the handler runs, so the worker may
  // use its locals by reference.
  co_await asio::async_initiate<const asio::use_awaitable_t<>, void()>(
      [&](auto handler) {
        asio::post(pool, [&, handler = std::move(handler)]() mutable {
          try {
            if constexpr (std::is_void_v<Result>) {
              fn();
            } else {
              result.emplace(fn());
            }
          } catch (...) {
            error = std::current_exception();
          }
          auto executor = asio::get_associated_executor(handler);
          asio::post(executor, std::move(handler));
        });
      },
      asio::use_awaitable);
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<Result>) co_return std::move(*result);
}

}  // namespace parley

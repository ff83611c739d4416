#include "storage/store.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace parley::storage {

boost::asio::awaitable<void> Store::await_write(std::function<void(Transaction&)> body) {
  auto initiate = [this, &body](auto handler) {
    // The handler is move-only and `done` must be copyable: share it.
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    submit_write(std::move(body), [shared](std::exception_ptr error) {
      auto executor = boost::asio::get_associated_executor(*shared);
      boost::asio::post(executor, [shared, error]() mutable { std::move (*shared)(error); });
    });
  };
  // With use_awaitable, a leading exception_ptr that is set is rethrown here.
  co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(std::exception_ptr)>(
      initiate, boost::asio::use_awaitable);
}

}  // namespace parley::storage

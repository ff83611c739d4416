// The strand a WebSocket connection runs on, held by its session in its own
// type: a strand<io_context::executor_type> is 24 bytes where the
// any_io_executor that sockets and streams report is 56.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <optional>

namespace parley::ws {

// What the HTTP server accepts every connection on (make_strand(io_context)).
using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

// Returns a copy of the strand `executor` wraps, or nothing if it wraps
// another type. Call it as strand_of(stream.get_executor()): the executor is
// returned by value, and any_executor's target<>() points into that object,
// so the strand must be copied out before the temporary is destroyed (a
// pointer kept past the statement reads a dead stack slot).
template <class Executor>
std::optional<Strand> strand_of(const Executor& executor) {
  if (const auto* strand = executor.template target<Strand>()) return *strand;
  return std::nullopt;
}

}  // namespace parley::ws

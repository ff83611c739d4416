// The error code a write's outcome carries, for tests of batched writes
// that collect each write's std::exception_ptr. Header-only: the unit tests
// use it without the black-box support library.
#pragma once

#include <exception>
#include <optional>

#include "core/error.hpp"

namespace parley::test {

// nullopt when the write did not fail; ErrorCode::kInternal for anything
// that is not an ApiError.
inline std::optional<ErrorCode> error_code_of(const std::exception_ptr& error) {
  if (!error) return std::nullopt;
  try {
    std::rethrow_exception(error);
  } catch (const ApiError& e) {
    return e.code();
  } catch (...) {
    return ErrorCode::kInternal;
  }
}

}  // namespace parley::test

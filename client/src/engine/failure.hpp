// Inside the engine's coroutines a failure travels as an exception carrying
// the public Error; every entry point catches it and hands the Error to the
// app's callback (or listener). Nothing else is thrown across components.
#pragma once

#include <exception>
#include <string>
#include <utility>

#include "parley/error.hpp"

namespace parley {

class Failure : public std::exception {
 public:
  explicit Failure(Error error) : error_(std::move(error)) {}
  Failure(Errc code, std::string message) : error_{code, std::move(message), 0} {}
  [[nodiscard]] const char* what() const noexcept override { return error_.message.c_str(); }
  [[nodiscard]] const Error& error() const { return error_; }

 private:
  Error error_;
};

}  // namespace parley

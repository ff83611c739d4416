// Named loggers, one per subsystem ("http", "auth", "storage", ...).
//
// Lines are logfmt: `time level logger message key=value ...`, so that they
// can be grepped by people and parsed by log shippers alike. An expected event
// (a client disconnecting, a wrong password) is logged at debug or info, never
// as an error: errors are for what an operator must act on.
#pragma once

#include <memory>
#include <string_view>

#include <spdlog/logger.h>

namespace parley::log {

// Sets the level of every logger, existing and future, and the output format.
// Call once at start, before other threads exist.
void init(std::string_view level);

// The logger of a subsystem, created on first use. Thread-safe; cheap to call,
// but callers on hot paths keep the pointer.
[[nodiscard]] std::shared_ptr<spdlog::logger> get(std::string_view subsystem);

}  // namespace parley::log

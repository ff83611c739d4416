#include "core/log.hpp"

#include <mutex>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace parley::log {

void init(std::string_view level) {
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ level=%l logger=%n %v", spdlog::pattern_time_type::utc);
}

std::shared_ptr<spdlog::logger> get(std::string_view subsystem) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::string name(subsystem);
  if (auto existing = spdlog::get(name)) return existing;
  // stderr, so that stdout stays free for machine-readable output.
  auto logger = spdlog::stderr_color_mt(name, spdlog::color_mode::never);
  logger->set_level(spdlog::get_level());
  return logger;
}

}  // namespace parley::log

// Fuzz target for the configuration parser (core/config.hpp).
//
// Property: whatever the bytes, apply_toml, apply_listen, apply_environment
// and validate either produce a Config or throw ConfigError; any other
// exception, crash, leak or undefined behaviour is a finding.
//
// The input is read three ways: whole, as a TOML file; its first line as a
// --listen value; and its lines of the form NAME=VALUE as environment
// variables.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.hpp"

namespace {

void expect_config_or_config_error(const auto& apply) {
  parley::Config config;
  try {
    apply(config);
    parley::validate(config);
  } catch (const parley::ConfigError&) {
    // The one accepted way to refuse input. Anything else escapes, and
    // libFuzzer reports it as a crash (uncaught exception).
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  expect_config_or_config_error([&](parley::Config& config) { parley::apply_toml(config, text, "fuzz.toml"); });

  std::string_view first_line = text.substr(0, text.find('\n'));
  expect_config_or_config_error([&](parley::Config& config) { parley::apply_listen(config, first_line); });

  std::map<std::string, std::string, std::less<>> environment;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (auto equals = line.find('='); equals != std::string_view::npos) {
      environment[std::string(line.substr(0, equals))] = std::string(line.substr(equals + 1));
    }
    start = end + 1;
  }
  expect_config_or_config_error([&](parley::Config& config) {
    parley::apply_environment(config, [&](std::string_view name) -> std::optional<std::string> {
      auto found = environment.find(name);
      if (found == environment.end()) return std::nullopt;
      return found->second;
    });
  });
  return 0;
}

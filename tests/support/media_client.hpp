// Streaming HTTP helpers for the media tests: bodies made on the fly from a
// deterministic pattern (so a 1 GiB upload needs no 1 GiB buffer in the test
// either), downloads hashed as they arrive, and requests cut off on purpose.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "support/http_client.hpp"

namespace parley::test {

// Byte `offset` of the test pattern: any range of it can be made again.
[[nodiscard]] char pattern_byte(std::uint64_t offset);
// Bytes [offset, offset + size) of the pattern.
[[nodiscard]] std::string pattern(std::uint64_t offset, std::size_t size);
// SHA-256 of pattern bytes [0, size), as lower-case hex.
[[nodiscard]] std::string pattern_sha256(std::uint64_t size);
[[nodiscard]] std::string sha256_hex(const std::string& data);
// A valid 8x8 RGB PNG (the smallest image the thumbnailer accepts as one).
extern const std::string kTinyPng;

struct StreamOptions {
  std::map<std::string, std::string> headers;
  std::string token;
  // Send with Transfer-Encoding: chunked instead of Content-Length.
  bool chunked = false;
  // Content-Length to announce instead of the real size (a lying client).
  std::optional<std::uint64_t> declared_length;
  // Stop after this many body bytes and close the connection without reading
  // an answer (a dropped connection). Returns a Reply with status 0.
  std::optional<std::uint64_t> cut_after;
  // Called after every 1 MiB sent, with the bytes sent so far.
  std::function<void(std::uint64_t)> progress;
};

// Options for a request by the user with `token`.
inline StreamOptions as_user(const std::string& token, std::map<std::string, std::string> headers = {},
                             bool chunked = false) {
  StreamOptions options;
  options.token = token;
  options.headers = std::move(headers);
  options.chunked = chunked;
  return options;
}

// Sends `method target` with a body of `size` pattern bytes starting at
// pattern offset `pattern_offset`, and reads the reply (its body whole: for
// JSON replies).
Reply send_pattern(std::uint16_t port, const std::string& method, const std::string& target, std::uint64_t size,
                   const StreamOptions& options, std::uint64_t pattern_offset = 0);

struct Download {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::uint64_t size = 0;
  std::string sha256;
  std::string body;  // only the first 64 KiB are kept
};

// GET (or HEAD) `target`, hashing the body as it arrives. `progress` is
// called after every 1 MiB received.
Download download(std::uint16_t port, const std::string& target, const std::string& token,
                  const std::map<std::string, std::string>& headers = {}, const std::string& method = "GET",
                  const std::function<void(std::uint64_t)>& progress = {});

// Regular files under `dir`, recursively (0 when it does not exist).
[[nodiscard]] std::size_t count_files(const std::filesystem::path& dir);

// VmRSS of a process in KiB, from /proc/PID/status.
[[nodiscard]] std::uint64_t rss_kib(pid_t pid);

}  // namespace parley::test

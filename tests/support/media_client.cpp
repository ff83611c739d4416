#include "support/media_client.hpp"

#include <array>
#include <fstream>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>

namespace parley::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr std::uint64_t kProgressEvery = 1 << 20;

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  void update(const void* data, std::size_t size) { EVP_DigestUpdate(ctx_, data, size); }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx_, digest.data(), &size);
    std::string out;
    for (unsigned int i = 0; i < size; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

char pattern_byte(std::uint64_t offset) {
  // Not periodic over small spans, so a misplaced part shows in the hash.
  std::uint64_t x = offset * 0x9E3779B97F4A7C15ULL;
  return static_cast<char>((x >> 29) ^ (offset >> 11));
}

std::string pattern(std::uint64_t offset, std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = pattern_byte(offset + i);
  return out;
}

std::string pattern_sha256(std::uint64_t size) {
  Sha256 hash;
  for (std::uint64_t offset = 0; offset < size; offset += kChunk) {
    std::string piece = pattern(offset, static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size - offset)));
    hash.update(piece.data(), piece.size());
  }
  return hash.hex();
}

std::string sha256_hex(const std::string& data) {
  Sha256 hash;
  hash.update(data.data(), data.size());
  return hash.hex();
}

Reply send_pattern(std::uint16_t port, const std::string& method, const std::string& target, std::uint64_t size,
                   const StreamOptions& options, std::uint64_t pattern_offset) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::minutes(5));
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  std::string head =
      fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n", method, target);
  if (!options.token.empty()) head += "Authorization: Bearer " + options.token + "\r\n";
  for (const auto& [name, value] : options.headers) head += name + ": " + value + "\r\n";
  if (options.chunked) {
    head += "Transfer-Encoding: chunked\r\n";
  } else {
    head += fmt::format("Content-Length: {}\r\n", options.declared_length.value_or(size));
  }
  head += "\r\n";
  boost::system::error_code ec;
  asio::write(stream.socket(), asio::buffer(head), ec);
  std::uint64_t sent = 0;
  std::uint64_t limit = std::min(size, options.cut_after.value_or(size));
  std::uint64_t next_progress = kProgressEvery;
  while (!ec && sent < limit) {
    std::string piece =
        pattern(pattern_offset + sent, static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, limit - sent)));
    if (options.chunked) piece = fmt::format("{:x}\r\n", piece.size()) + piece + "\r\n";
    asio::write(stream.socket(), asio::buffer(piece), ec);
    sent += std::min<std::uint64_t>(kChunk, limit - sent);
    if (options.progress && sent >= next_progress) {
      options.progress(sent);
      next_progress += kProgressEvery;
    }
  }
  if (options.cut_after) {
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.socket().close(ec);
    return Reply{};
  }
  if (options.chunked && !ec) asio::write(stream.socket(), asio::buffer(std::string("0\r\n\r\n")), ec);
  // The server may answer (and close) before the whole body was sent, e.g.
  // 413: the reply is read whatever happened to the writes.
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  http::read(stream, buffer, parser, ec);
  Reply reply;
  if (ec) return reply;
  reply.status = static_cast<int>(parser.get().result_int());
  for (const auto& field : parser.get()) reply.headers[lower(field.name_string())] = std::string(field.value());
  reply.body = parser.get().body();
  return reply;
}

Download download(std::uint16_t port, const std::string& target, const std::string& token,
                  const std::map<std::string, std::string>& headers, const std::string& method,
                  const std::function<void(std::uint64_t)>& progress) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::minutes(5));
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  std::string head = fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, target);
  if (!token.empty()) head += "Authorization: Bearer " + token + "\r\n";
  for (const auto& [name, value] : headers) head += name + ": " + value + "\r\n";
  head += "\r\n";
  asio::write(stream.socket(), asio::buffer(head));

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  if (method == "HEAD") parser.skip(true);
  http::read_header(stream, buffer, parser);
  Download result;
  result.status = static_cast<int>(parser.get().result_int());
  for (const auto& field : parser.get()) result.headers[lower(field.name_string())] = std::string(field.value());
  Sha256 hash;
  std::vector<char> chunk(kChunk);
  std::uint64_t next_progress = kProgressEvery;
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    boost::system::error_code ec;
    http::read(stream, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) throw boost::system::system_error(ec);
    std::size_t n = chunk.size() - parser.get().body().size;
    hash.update(chunk.data(), n);
    if (result.body.size() < kChunk) result.body.append(chunk.data(), std::min(n, kChunk - result.body.size()));
    result.size += n;
    if (progress && result.size >= next_progress) {
      progress(result.size);
      next_progress += kProgressEvery;
    }
  }
  result.sha256 = hash.hex();
  return result;
}

std::size_t count_files(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return 0;
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) n += entry.is_regular_file() ? 1 : 0;
  return n;
}

std::uint64_t rss_kib(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  throw std::runtime_error("no VmRSS");
}

namespace {
std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}
}  // namespace

const std::string kTinyPng = from_hex(
    "89504e470d0a1a0a0000000d49484452000000080000000808020000004b6d29dc0000006c49444154789c0dc94101003008033194a0"
    "a44aaa84e7a940094aaa68cb375545172a5c4cb1c51529aa9a6ed4b899669b6bd23f440b098b112b4e443f4c1b199b316bcec43f861e"
    "34789861871b323f965eb4789965975bb23f8e3e74f898638f3b723f42070587091b2e243cb02c548131c8e3ff0000000049454e44ae"
    "426082");

}  // namespace parley::test

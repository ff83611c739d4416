// Uploads through the server's resumable uploads (docs/openapi.yaml
// /api/v1/uploads): parts of 256 KiB, each acknowledged once on the
// server's disk; after a dropped connection the engine asks the server's
// offset and continues from there.
#include <fstream>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include "engine/account_impl.hpp"

namespace parley {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using namespace protocol;

namespace {

constexpr std::int64_t kPartBytes = 256 * 1024;
constexpr int kMaxAttempts = 5;

}  // namespace

awaitable<std::string> Account::Impl::upload(const std::filesystem::path& file,
                                             std::function<void(Progress)> progress) {
  auto self = shared_from_this();
  std::error_code error;
  const auto size = static_cast<std::int64_t>(std::filesystem::file_size(file, error));
  if (error) throw Failure(Errc::invalid_argument, "cannot read " + file.string() + ": " + error.message());
  if (size == 0) throw Failure(Errc::invalid_argument, file.string() + " is empty");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Failure(Errc::invalid_argument, "cannot open " + file.string());

  json::value body = json::object{{"size", size}, {"name", file.filename().string()}};
  auto created = co_await rest("POST", "/api/v1/uploads", &body);
  const auto& upload = get_object(as_object(created, "reply"), "upload");
  const auto id = get_string(upload, "id");
  auto offset = get_int(upload, "offset");
  const auto report = [&](std::int64_t done) {
    if (progress) deliver([progress, done, size] { progress(Progress{done, size}); });
  };
  report(offset);
  int attempts = 0;
  bool lost = false;
  std::string part;
  while (offset < size) {
    const auto length = std::min(kPartBytes, size - offset);
    part.resize(static_cast<std::size_t>(length));
    in.seekg(offset);
    if (!in.read(part.data(), length)) throw Failure(Errc::invalid_argument, "cannot read " + file.string());
    rest::Request request;
    request.method = "PATCH";
    request.target = "/api/v1/uploads/" + id;
    request.token = token;
    request.content_type = "application/octet-stream";
    request.body = part;
    request.headers.emplace_back("Content-Range", "bytes " + std::to_string(offset) + "-" +
                                                      std::to_string(offset + length - 1) + "/" + std::to_string(size));
    try {
      auto reply = co_await rest::perform(endpoint, std::move(request), std::chrono::seconds(60));
      if (closed) throw Failure(Errc::cancelled, "the account was closed");
      if (reply.status == 200) {
        offset = get_int(get_object(as_object(parse_json(reply.body), "reply"), "upload"), "offset");
        attempts = 0;
      } else if (reply.status == 409 && reply.headers.contains("upload-offset")) {
        offset = std::stoll(reply.headers["upload-offset"]);  // the server has a different part: follow it
      } else {
        json::value parsed;
        try {
          parsed = parse_json(reply.body);
        } catch (const ProtocolError&) {
        }
        throw Failure(parse_error(parsed, reply.status));
      }
    } catch (const Failure& failure) {
      const auto code = failure.error().code;
      if ((code != Errc::network && code != Errc::timeout) || ++attempts >= kMaxAttempts) throw;
      lost = true;
    }
    if (lost) {
      // What reached the server's disk is kept: ask where to go on.
      lost = false;
      asio::steady_timer pause(runtime.io, std::chrono::milliseconds(200 * attempts));
      co_await pause.async_wait(asio::use_awaitable);
      auto server = co_await rest("GET", "/api/v1/uploads/" + id);
      offset = get_int(get_object(as_object(server, "reply"), "upload"), "offset");
    }
    report(offset);
  }
  auto completed = co_await rest("POST", "/api/v1/uploads/" + id + "/complete");
  co_return get_string(get_object(as_object(completed, "reply"), "media"), "id");
}

}  // namespace parley

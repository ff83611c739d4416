// Uploads through the server's resumable uploads (docs/openapi.yaml
// /api/v1/uploads): parts of 256 KiB, each acknowledged once on the
// server's disk; after a dropped connection the engine asks the server's
// offset and continues from there. Each upload is recorded in the store
// (uploads table: the server's upload id, the confirmed offset, the file's
// path, size and mtime), so that a restart of the app continues it.
#include <fstream>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
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

// The file's size and modification time (ns); Failure(invalid_argument)
// when it cannot be read.
std::pair<std::int64_t, std::int64_t> stat_file(const std::filesystem::path& file) {
  std::error_code error;
  const auto size = std::filesystem::file_size(file, error);
  if (error) throw Failure(Errc::invalid_argument, "cannot read " + file.string() + ": " + error.message());
  const auto mtime = std::filesystem::last_write_time(file, error);
  if (error) throw Failure(Errc::invalid_argument, "cannot read " + file.string() + ": " + error.message());
  return {static_cast<std::int64_t>(size),
          std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count()};
}

bool keeps_record(Errc code) {
  // Worth continuing at the next connection; anything else will not get better.
  return code == Errc::network || code == Errc::timeout || code == Errc::cancelled || code == Errc::service_busy ||
         code == Errc::too_many_requests || code == Errc::internal || code == Errc::not_signed_in ||
         code == Errc::unauthorized;
}

}  // namespace

void Account::Impl::resume_uploads() {
  if (closed || !online) return;
  for (auto& record : store->uploads()) {
    if (active_uploads.contains(record.client_id)) continue;
    auto self = shared_from_this();
    spawn_detached([self, record]() -> awaitable<void> { co_await self->send_upload(record, nullptr); });
  }
}

awaitable<std::string> Account::Impl::send_upload(store::UploadRecord record, std::function<void(Progress)> progress) {
  auto self = shared_from_this();
  if (!active_uploads.insert(record.client_id).second) {
    throw Failure(Errc::conflict, "this file is already being sent");
  }
  Attachment attachment;
  try {
    attachment = co_await upload(record, progress);
  } catch (const Failure& failure) {
    active_uploads.erase(record.client_id);
    if (!closed && !keeps_record(failure.error().code)) {
      store::Store::Write write(*store);
      store->remove_upload(write, record.client_id);
      write.commit();
    }
    throw;
  } catch (...) {
    active_uploads.erase(record.client_id);
    throw;
  }
  active_uploads.erase(record.client_id);
  if (closed) throw Failure(Errc::cancelled, "the account was closed");
  store::OutboxEntry entry;
  entry.client_id = record.client_id;
  entry.conversation_id = record.conversation_id;
  entry.text = record.caption;
  entry.attachments.push_back(std::move(attachment));
  entry.created_at = record.created_at;
  {
    // The message is queued and the upload forgotten together: a crash
    // leaves one or the other, never both nor neither.
    store::Store::Write write(*store);
    store->outbox_add(write, entry);
    store->remove_upload(write, record.client_id);
    write.commit();
  }
  Changes changes;
  changes.conversations.push_back(record.conversation_id);
  emit_changes(changes);
  flush_outbox();
  co_return record.client_id;
}

awaitable<Attachment> Account::Impl::upload(store::UploadRecord& record, std::function<void(Progress)> progress) {
  auto self = shared_from_this();
  const auto& file = record.path;
  const auto stat = stat_file(file);
  const std::int64_t size = stat.first;
  const std::int64_t mtime = stat.second;
  if (size == 0) throw Failure(Errc::invalid_argument, file.string() + " is empty");
  // An upload without a client id (an avatar) is not recorded: it is not resumed.
  const bool recorded = !record.client_id.empty();
  const auto save = [&] {
    if (!recorded) return;
    store::Store::Write write(*store);
    store->put_upload(write, record);
    write.commit();
  };

  if (!record.upload_id.empty() && (size != record.size || mtime != record.mtime_ns)) {
    // The file changed since the upload began: its bytes on the server are
    // of another content. Drop that upload (best effort) and start over.
    try {
      co_await rest("DELETE", "/api/v1/uploads/" + record.upload_id);
    } catch (const Failure&) {
    }
    record.upload_id.clear();
    record.offset = 0;
  }
  record.size = size;
  record.mtime_ns = mtime;
  std::int64_t offset = 0;
  if (!record.upload_id.empty()) {
    // Continuing an earlier run's upload: the server says what it has.
    try {
      auto server = co_await rest("GET", "/api/v1/uploads/" + record.upload_id);
      offset = get_int(get_object(as_object(server, "reply"), "upload"), "offset");
    } catch (const Failure& failure) {
      if (failure.error().code != Errc::not_found) throw;
      record.upload_id.clear();  // expired on the server: start over
    }
  }
  if (record.upload_id.empty()) {
    json::value body = json::object{{"size", size}, {"name", file.filename().string()}};
    auto created = co_await rest("POST", "/api/v1/uploads", &body);
    const auto& upload = get_object(as_object(created, "reply"), "upload");
    record.upload_id = get_string(upload, "id");
    offset = get_int(upload, "offset");
  }
  record.offset = offset;
  save();
  const auto id = record.upload_id;

  std::ifstream in(file, std::ios::binary);
  if (!in) throw Failure(Errc::invalid_argument, "cannot open " + file.string());
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
    if (recorded) {
      store::Store::Write write(*store);
      store->set_upload_progress(write, record.client_id, id, offset);
      write.commit();
    }
    record.offset = offset;
    report(offset);
  }
  auto completed = co_await rest("POST", "/api/v1/uploads/" + id + "/complete");
  // The Media object has the fields of a message's attachment.
  const auto& media = get_object(as_object(completed, "reply"), "media");
  auto parsed = attachments_from_json(json::serialize(json::array{media}));
  co_return parsed.front();
}

}  // namespace parley
